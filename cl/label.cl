/*
 * label.cl - the condition (each row's label) joined to a layer's input: label_concat.
 *
 * Layout: x[B][C][HW] in, y[B][C + D][HW] out (HW 1 for flat inputs), labels[B] bytes, the
 * label's vector of D values either one-hot (embed_on 0: D = classes) or row labels[r] of the
 * embedding E[classes][D] (params at e_off), repeated over the HW pixels.
 * Work sizes: label_concat_fwd global >= B (C + D) HW; label_concat_bwd_x global >= B C HW;
 * label_concat_bwd_e global >= classes D (each work-item walks every row: no atomics).
 */

__kernel void label_concat_fwd(__global float *acts, uint x_off, uint y_off, uint C, uint HW,
                               uint D, const __global uchar *restrict labels,
                               const __global float *restrict p, uint e_off, uint embed_on,
                               uint n) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = (C + D) * HW, r = i / per, rem = i % per, ch = rem / HW, px = rem % HW;
    float v;
    if (ch < C) {
        v = acts[x_off + ((size_t)r * C + ch) * HW + px];
    } else {
        uint d = ch - C, y = labels[r];
        v = embed_on ? p[e_off + (size_t)y * D + d] : (d == y ? 1.0f : 0.0f);
    }
    acts[y_off + i] = v;
}

/* dx = the input's part of dy. */
__kernel void label_concat_bwd_x(__global float *deltas, uint dy_off, uint dx_off, uint C, uint HW,
                                 uint D, uint n) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = C * HW, r = i / per, rem = i % per;
    deltas[dx_off + i] = deltas[dy_off + (size_t)r * (C + D) * HW + rem];
}

/* dE[c][d] = sum over rows labelled c and over pixels of dy's label part. */
__kernel void label_concat_bwd_e(const __global float *restrict deltas, uint dy_off,
                                 const __global uchar *restrict labels, __global float *g,
                                 uint e_off, uint C, uint HW, uint D, uint classes, uint batch) {
    uint i = get_global_id(0);
    if (i >= classes * D) return;
    uint c = i / D, d = i % D;
    float s = 0.0f;
    for (uint r = 0; r < batch; r++) {
        if (labels[r] != c) continue;
        const __global float *dy = deltas + dy_off + ((size_t)r * (C + D) + C + d) * HW;
        for (uint px = 0; px < HW; px++) s += dy[px];
    }
    g[e_off + i] = s;
}
