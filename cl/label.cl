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

/*
 * projection (Miyato & Koyama 2018): h[B][F] -> y[B] = (w + E[label]) . h + b, with w [F],
 * b [1] and E [classes][F] at w_off, b_off, e_off of the parameters.
 * Work sizes: projection_fwd global >= B; projection_bwd_h global >= B F;
 * projection_bwd_w global >= F + 1 (item F: the bias); projection_bwd_e global >= classes F.
 */
__kernel void projection_fwd(__global float *acts, uint h_off, uint y_off, uint F,
                             const __global uchar *restrict labels,
                             const __global float *restrict p, uint w_off, uint b_off, uint e_off,
                             uint batch) {
    uint r = get_global_id(0);
    if (r >= batch) return;
    const __global float *h = acts + h_off + (size_t)r * F, *e = p + e_off + (size_t)labels[r] * F;
    float s = p[b_off];
    for (uint f = 0; f < F; f++) s += (p[w_off + f] + e[f]) * h[f];
    acts[y_off + r] = s;
}

__kernel void projection_bwd_h(__global float *deltas, uint dy_off, uint dh_off, uint F,
                               const __global uchar *restrict labels,
                               const __global float *restrict p, uint w_off, uint e_off, uint n) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint r = i / F, f = i % F;
    deltas[dh_off + i] = deltas[dy_off + r] * (p[w_off + f] + p[e_off + (size_t)labels[r] * F + f]);
}

__kernel void projection_bwd_w(const __global float *restrict acts, uint h_off,
                               const __global float *restrict deltas, uint dy_off,
                               __global float *g, uint w_off, uint b_off, uint F, uint batch) {
    uint f = get_global_id(0);
    if (f > F) return;
    float s = 0.0f;
    for (uint r = 0; r < batch; r++)
        s += deltas[dy_off + r] * (f < F ? acts[h_off + (size_t)r * F + f] : 1.0f);
    g[f < F ? w_off + f : b_off] = s;
}

__kernel void projection_bwd_e(const __global float *restrict acts, uint h_off,
                               const __global float *restrict deltas, uint dy_off,
                               const __global uchar *restrict labels, __global float *g,
                               uint e_off, uint F, uint classes, uint batch) {
    uint i = get_global_id(0);
    if (i >= classes * F) return;
    uint c = i / F, f = i % F;
    float s = 0.0f;
    for (uint r = 0; r < batch; r++)
        if (labels[r] == c) s += deltas[dy_off + r] * acts[h_off + (size_t)r * F + f];
    g[e_off + i] = s;
}
