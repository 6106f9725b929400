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
 * col[(c*KH + i)*KW + j][b*OH*OW + oy*OW + ox] = x[b][c][iy][ix] (0 outside the input).
 * Work size: global >= (B*OH*OW, C*KH*KW), one value per item.
 */
__kernel void im2col(const __global float *restrict src, uint x_off, __global float *dst,
                     uint col_off, uint batch, uint C, uint H, uint W, uint KH, uint KW, uint SH,
                     uint SW, uint PH, uint PW, uint DH, uint DW, uint OH, uint OW) {
    uint n = get_global_id(0), r = get_global_id(1);
    uint ohw = OH * OW, cols = batch * ohw;
    if (n >= cols || r >= C * KH * KW) return;
    uint b = n / ohw, p = n % ohw, oy = p / OW, ox = p % OW;
    uint c = r / (KH * KW), t = r % (KH * KW), i = t / KW, j = t % KW;
    int iy = (int)(oy * SH + i * DH) - (int)PH, ix = (int)(ox * SW + j * DW) - (int)PW;
    float v = 0.0f;
    if (iy >= 0 && iy < (int)H && ix >= 0 && ix < (int)W)
        v = src[x_off + (((size_t)b * C + c) * H + (uint)iy) * W + (uint)ix];
    dst[col_off + (size_t)r * cols + n] = v;
}

/*
 * The adjoint of im2col: x[b][c][y][x] (+)= the sum of the col entries im2col would read from it
 * (a gather per input value: no atomics, the same order on every device). accumulate: add to
 * what x holds instead of overwriting it.
 * Work size: global >= B*C*H*W, one value per item.
 */
__kernel void col2im(const __global float *restrict src, uint col_off, __global float *dst,
                     uint x_off, uint batch, uint C, uint H, uint W, uint KH, uint KW, uint SH,
                     uint SW, uint PH, uint PW, uint DH, uint DW, uint OH, uint OW,
                     uint accumulate) {
    uint g = get_global_id(0);
    if (g >= batch * C * H * W) return;
    uint ix = g % W, iy = (g / W) % H, c = (g / (W * H)) % C, b = g / (W * H * C);
    uint ohw = OH * OW, cols = batch * ohw;
    float s = 0.0f;
    for (uint i = 0; i < KH; i++) {
        int ty = (int)(iy + PH) - (int)(i * DH); /* = oy * SH */
        if (ty < 0 || ty % (int)SH != 0) continue;
        uint oy = (uint)ty / SH;
        if (oy >= OH) continue;
        for (uint j = 0; j < KW; j++) {
            int tx = (int)(ix + PW) - (int)(j * DW);
            if (tx < 0 || tx % (int)SW != 0) continue;
            uint ox = (uint)tx / SW;
            if (ox >= OW) continue;
            s += src[col_off + (size_t)((c * KH + i) * KW + j) * cols + b * ohw + oy * OW + ox];
        }
    }
    size_t at = x_off + (size_t)g;
    dst[at] = accumulate ? dst[at] + s : s;
}

/*
 * y[b][c][p] = t[c][b*HW + p] (+ bias[c] if has_bias): a GEMM's channel-major result into a
 * batch-major activation. Work size: global >= (B*HW, C).
 */
__kernel void chw_from_cbhw(const __global float *restrict src, uint t_off, __global float *dst,
                            uint y_off, const __global float *restrict params, uint b_off,
                            uint has_bias, uint batch, uint C, uint HW) {
    uint n = get_global_id(0), c = get_global_id(1);
    if (n >= batch * HW || c >= C) return;
    uint b = n / HW, p = n % HW;
    float v = src[t_off + (size_t)c * batch * HW + n];
    if (has_bias) v += params[b_off + c];
    dst[y_off + ((size_t)b * C + c) * HW + p] = v;
}

/* t[c][b*HW + p] = y[b][c][p]: a batch-major activation as a channel-major GEMM operand.
 * Work size: global >= (B*HW, C). */
__kernel void cbhw_from_chw(const __global float *restrict src, uint y_off, __global float *dst,
                            uint t_off, uint batch, uint C, uint HW) {
    uint n = get_global_id(0), c = get_global_id(1);
    if (n >= batch * HW || c >= C) return;
    uint b = n / HW, p = n % HW;
    dst[t_off + (size_t)c * batch * HW + n] = src[y_off + ((size_t)b * C + c) * HW + p];
}

#ifndef CONV_GROUP
#define CONV_GROUP 64
#endif

/*
 * db[c] = sum over b, p of dy[b][c][p], one work-group of CONV_GROUP items per channel, each
 * summing a fixed stride of the channel's values, then a fixed tree: the same order on every
 * run. Work size: global = C * CONV_GROUP, local = CONV_GROUP.
 */
__kernel void channel_sum(const __global float *restrict src, uint dy_off, __global float *grads,
                          uint b_off, uint batch, uint C, uint HW) {
    __local float part[CONV_GROUP];
    uint c = get_group_id(0), l = get_local_id(0);
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) {
        const __global float *row = src + dy_off + ((size_t)b * C + c) * HW;
        for (uint p = l; p < HW; p += CONV_GROUP) s += row[p];
    }
    part[l] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = CONV_GROUP / 2; w > 0; w /= 2) {
        if (l < w) part[l] += part[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) grads[b_off + c] = part[0];
}

/* y[b][c][p] += bias[c]. Work size: global >= (B*HW, C). */
__kernel void channel_bias(__global float *acts, uint y_off, const __global float *restrict params,
                           uint b_off, uint batch, uint C, uint HW) {
    uint n = get_global_id(0), c = get_global_id(1);
    if (n >= batch * HW || c >= C) return;
    acts[y_off + ((size_t)(n / HW) * C + c) * HW + n % HW] += params[b_off + c];
}
