/*
 * conv2d.cl - the data movement around the GEMMs of 2-D convolutions (src/layers/layer_conv2d.c)
 * and transposed convolutions (layer_conv_transpose2d.c): im2col and its adjoint col2im, the
 * permutations between batch-major NCHW activations and channel-major GEMM operands, and the
 * per-channel bias sums.
 *
 * Layout: an image batch x[B][C][H][W] at x_off (batch-major, as every activation); a column
 * matrix col[C*KH*KW][B*OH*OW] (row: channel c, kernel tap (i, j); column: sample b, output
 * pixel (oy, ox)); a channel-major matrix t[C][B*HW].
 * Geometry: output pixel (oy, ox) reads input (oy*SH - PH + i*DH, ox*SW - PW + j*DW); taps
 * outside the input read 0.
 */

/*
 * col[(c*KH + i)*KW + j][b*OH*OW + oy*OW + ox] = x[b][c][iy][ix] (0 outside the input), one
 * (r, b) block of OH*OW contiguous values per item.
 * Work size: global >= (B, C*KH*KW).
 */
__kernel void im2col(const __global float *restrict src, uint x_off, __global float *dst,
                     uint col_off, uint batch, uint C, uint H, uint W, uint KH, uint KW, uint SH,
                     uint SW, uint PH, uint PW, uint DH, uint DW, uint OH, uint OW) {
    uint b = get_global_id(0), r = get_global_id(1);
    if (b >= batch || r >= C * KH * KW) return;
    uint c = r / (KH * KW), t = r % (KH * KW), i = t / KW, j = t % KW;
    __global float *out = dst + col_off + ((size_t)r * batch + b) * OH * OW;
    const __global float *plane = src + x_off + ((size_t)b * C + c) * H * W;
    /* the output columns whose input column lies inside: [ox0, ox1) */
    int x0 = (int)(j * DW) - (int)PW, sw = (int)SW;
    uint ox0 = x0 >= 0 ? 0 : (uint)((-x0 + sw - 1) / sw);
    int last = (int)W - 1 - x0; /* ox * SW <= last */
    uint ox1 = last < 0 ? 0 : min(OW, (uint)(last / sw) + 1);
    if (ox0 > ox1) ox0 = ox1;
    for (uint oy = 0; oy < OH; oy++, out += OW) {
        int iy = (int)(oy * SH + i * DH) - (int)PH;
        if (iy < 0 || iy >= (int)H) {
            for (uint ox = 0; ox < OW; ox++) out[ox] = 0.0f;
            continue;
        }
        const __global float *in = plane + (uint)iy * W + x0;
        for (uint ox = 0; ox < ox0; ox++) out[ox] = 0.0f;
        for (uint ox = ox0; ox < ox1; ox++) out[ox] = in[(int)ox * sw];
        for (uint ox = ox1; ox < OW; ox++) out[ox] = 0.0f;
    }
}

/*
 * The adjoint of im2col: x[b][c][.][.] (+)= every col entry im2col would read from it, one
 * (b, c) plane per item (planes are the item's own: no atomics, the same order on every
 * device). accumulate: add to what x holds instead of overwriting it.
 * Work size: global >= B*C.
 */
__kernel void col2im(const __global float *restrict src, uint col_off, __global float *dst,
                     uint x_off, uint batch, uint C, uint H, uint W, uint KH, uint KW, uint SH,
                     uint SW, uint PH, uint PW, uint DH, uint DW, uint OH, uint OW,
                     uint accumulate) {
    uint g = get_global_id(0);
    if (g >= batch * C) return;
    uint c = g % C, b = g / C;
    __global float *plane = dst + x_off + (size_t)g * H * W;
    if (!accumulate)
        for (uint p = 0; p < H * W; p++) plane[p] = 0.0f;
    int sw = (int)SW;
    for (uint i = 0; i < KH; i++)
        for (uint j = 0; j < KW; j++) {
            const __global float *in = src + col_off +
                                       ((size_t)((c * KH + i) * KW + j) * batch + b) * OH * OW;
            int x0 = (int)(j * DW) - (int)PW;
            uint ox0 = x0 >= 0 ? 0 : (uint)((-x0 + sw - 1) / sw);
            int last = (int)W - 1 - x0;
            uint ox1 = last < 0 ? 0 : min(OW, (uint)(last / sw) + 1);
            for (uint oy = 0; oy < OH; oy++, in += OW) {
                int iy = (int)(oy * SH + i * DH) - (int)PH;
                if (iy < 0 || iy >= (int)H) continue;
                __global float *row = plane + (uint)iy * W + x0;
                for (uint ox = ox0; ox < ox1; ox++) row[(int)ox * sw] += in[ox];
            }
        }
}

/*
 * y[b][c][p] = t[c][b*HW + p] (+ bias[c] if has_bias): a GEMM's channel-major result into a
 * batch-major activation, one (b, c) row of HW values per item. Work size: global >= (C, B).
 */
__kernel void chw_from_cbhw(const __global float *restrict src, uint t_off, __global float *dst,
                            uint y_off, const __global float *restrict params, uint b_off,
                            uint has_bias, uint batch, uint C, uint HW) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= batch) return;
    const __global float *in = src + t_off + ((size_t)c * batch + b) * HW;
    __global float *out = dst + y_off + ((size_t)b * C + c) * HW;
    float v = has_bias ? params[b_off + c] : 0.0f;
    for (uint p = 0; p < HW; p++) out[p] = in[p] + v;
}

/* t[c][b*HW + p] = y[b][c][p]: a batch-major activation as a channel-major GEMM operand, one
 * (b, c) row per item. Work size: global >= (C, B). */
__kernel void cbhw_from_chw(const __global float *restrict src, uint y_off, __global float *dst,
                            uint t_off, uint batch, uint C, uint HW) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= batch) return;
    const __global float *in = src + y_off + ((size_t)b * C + c) * HW;
    __global float *out = dst + t_off + ((size_t)c * batch + b) * HW;
    for (uint p = 0; p < HW; p++) out[p] = in[p];
}

/* db[c] = sum over b, p of dy[b][c][p], in order, one channel per item. Work size: global >= C. */
__kernel void channel_sum(const __global float *restrict src, uint dy_off, __global float *grads,
                          uint b_off, uint batch, uint C, uint HW) {
    uint c = get_global_id(0);
    if (c >= C) return;
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) {
        const __global float *row = src + dy_off + ((size_t)b * C + c) * HW;
        for (uint p = 0; p < HW; p++) s += row[p];
    }
    grads[b_off + c] = s;
}

/* y[b][c][p] += bias[c], one (b, c) row per item. Work size: global >= (C, B). */
__kernel void channel_bias(__global float *acts, uint y_off, const __global float *restrict params,
                           uint b_off, uint batch, uint C, uint HW) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= batch) return;
    __global float *row = acts + y_off + ((size_t)b * C + c) * HW;
    float v = params[b_off + c];
    for (uint p = 0; p < HW; p++) row[p] += v;
}
