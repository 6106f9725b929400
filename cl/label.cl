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
                               uint n, uint tangent) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = (C + D) * HW, r = i / per, rem = i % per, ch = rem / HW, px = rem % HW;
    float v;
    if (ch < C) {
        v = acts[x_off + ((size_t)r * C + ch) * HW + px];
    } else if (tangent) { /* a penalty's tangent pass: the label's part does not move */
        v = 0.0f;
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
 * b [1] and E [classes][F] at w_off, b_off, e_off of the parameters (has_bias 0: without b, a
 * penalty's tangent pass). 16 features per work-item, as dense.cl's one-unit kernels.
 * Work sizes: projection_fwd global >= B; projection_bwd global >= ceil(F / 16).
 */
__kernel void projection_fwd(__global float *acts, uint h_off, uint y_off, uint F,
                             const __global uchar *restrict labels,
                             const __global float *restrict p, uint w_off, uint b_off, uint e_off,
                             uint batch, uint has_bias) {
    uint r = get_global_id(0);
    if (r >= batch) return;
    const __global float *h = acts + h_off + (size_t)r * F, *w = p + w_off,
                         *e = p + e_off + (size_t)labels[r] * F;
    float16 s16 = (float16)(0.0f);
    uint f = 0;
    for (; f + 16 <= F; f += 16)
        s16 = fma(vload16(0, w + f) + vload16(0, e + f), vload16(0, h + f), s16);
    float s = hsum16(s16);
    for (; f < F; f++) s = fma(w[f] + e[f], h[f], s);
    acts[y_off + r] = has_bias ? s + p[b_off] : s;
}

/*
 * Backward over features c0 .. c0 + 15, every row in order (deterministic, no atomics): when
 * need_dx, dh[r] = dy[r] (w + E[label r]); when need_dw, dw = sum_r dy[r] h[r],
 * db = sum_r dy[r] and dE[c] = the sum over the rows labelled c (zero for a class without rows).
 */
__kernel void projection_bwd(const __global float *restrict acts, uint h_off,
                             __global float *deltas, uint dy_off, uint dh_off,
                             const __global uchar *restrict labels,
                             const __global float *restrict p, uint w_off, uint e_off,
                             __global float *restrict g, uint gw_off, uint gb_off, uint ge_off,
                             uint F, uint classes, uint batch, uint need_dx, uint need_dw) {
    uint c0 = 16 * get_global_id(0);
    if (c0 >= F) return;
    uint cnt = min(16u, F - c0);
    const __global float *dy = deltas + dy_off, *h = acts + h_off + c0;
    __global float *dh = deltas + dh_off + c0, *ge = g + ge_off + c0;
    float16 w = vload16_part(p + w_off + c0, cnt), gw = (float16)(0.0f);
    if (need_dw)
        for (uint c = 0; c < classes; c++) vstore16_part((float16)(0.0f), ge + (size_t)c * F, cnt);
    for (uint r = 0; r < batch; r++) {
        float d = dy[r];
        size_t lab = (size_t)labels[r] * F;
        if (need_dx)
            vstore16_part(d * (w + vload16_part(p + e_off + lab + c0, cnt)), dh + (size_t)r * F,
                          cnt);
        if (need_dw) {
            float16 dx = (float16)(d) * vload16_part(h + (size_t)r * F, cnt);
            gw += dx;
            vstore16_part(vload16_part(ge + lab, cnt) + dx, ge + lab, cnt);
        }
    }
    if (!need_dw) return;
    vstore16_part(gw, g + gw_off + c0, cnt);
    if (c0 == 0) {
        float s = 0.0f;
        for (uint r = 0; r < batch; r++) s += dy[r];
        g[gb_off] = s;
    }
}
