/*
 * conv2d.cl - the data movement around the GEMMs of 2-D convolutions (src/layers/layer_conv2d.c)
 * and transposed convolutions (layer_conv_transpose2d.c): im2col and its adjoint col2im, the
 * permutations between batch-major NCHW activations and channel-major GEMM operands, and the
 * per-channel bias sums; and the route without column matrices, conv_gemm (an implicit GEMM)
 * with the weight packing it reads (conv_pack).
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

/* db[c] = sum over b, p of dy[b][c][p], the rows in order, each as row_sum sums it; one channel
 * per item. Work size: global >= C. */
__kernel void channel_sum(const __global float *restrict src, uint dy_off, __global float *grads,
                          uint b_off, uint batch, uint C, uint HW) {
    uint c = get_global_id(0);
    if (c >= C) return;
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) s += row_sum(src + dy_off + ((size_t)b * C + c) * HW, HW);
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

/*
 * The weight w[F][C][T] of a convolution (T = KH*KW taps) packed for conv_gemm (below) as
 * wp[t][ci][co]: along the convolution (against == 0) ci = c and co = f, against it (its
 * adjoint) ci = f and co = c; and the n_zero zeros conv_gemm reads outside its source at z_off.
 * Work size: global >= max(F*C*T, n_zero).
 */
__kernel void conv_pack(const __global float *restrict w, uint w_off, __global float *wp,
                        uint wp_off, uint F, uint C, uint T, uint against, uint z_off,
                        uint n_zero) {
    uint g = get_global_id(0);
    if (g < n_zero) wp[z_off + g] = 0.0f;
    if (g >= F * C * T) return;
    uint t = g % T, c = g / T % C, f = g / T / C;
    uint ci = against ? f : c, co = against ? c : f, n_ci = against ? F : C, n_co = against ? C : F;
    wp[wp_off + ((size_t)t * n_ci + ci) * n_co + co] = w[w_off + g];
}

/*
 * conv_gemm: a 2-D convolution, or its adjoint, as an implicit GEMM that never writes a column
 * matrix (src/layers/layer_conv2d.c). Rows are output pixels, columns output channels (32 per
 * work-item, CONV_TM rows, as gemm_nn's tiles); the reduction runs over kernel taps (outer) and
 * input channels (inner); op(A) is read straight from the source image, B is the weight packed as
 * wp[tap][ci][co] (conv_pack above).
 *   src[B][Ci][IH][IW] at s_off -> dst[B][Co][OH][OW] at d_off (both batch-major NCHW),
 *   plus bias[co] = params[b_off + co] when has_bias.
 * io = (batch, Ci, IH, IW, Co, OH, OW, -); gy and gx = (K, Q, OS, P, SA, A0, A1, SD) per axis:
 * the rows are the pixels (b, qy, qx) of a Q_y x Q_x grid, row (b, qy, qx) writes output pixel
 * (qy OS_y + P_y, qx OS_x + P_x), and tap i (of K_y) reads source row qy SA_y + (A0 + A1 i) / SD
 * when A0 + A1 i is a multiple of SD; a tap outside the source reads zeros at z_off, Ci*IH*IW of
 * them in src's buffer (so that no load is masked). A convolution is one grid (OS 1,
 * SA = stride, A0 = -padding, A1 = dilation, SD 1); its adjoint writes the stride_y x stride_x
 * phases of its output in separate launches (OS = stride, SA 1, A0 = phase + padding,
 * A1 = -dilation, SD = stride), so that each output pixel is written once, by one work-item.
 * Work size: global = (ceil(B Q_y Q_x / CONV_TM), ceil(Co / 32)); any size; local: any.
 */
#ifndef CONV_TM
#define CONV_TM 8 /* the host's CONV_TM (src/layers/layer_conv2d.c) */
#endif
/* a row's state across the taps: its source offset at tap offset (0, 0) and its source
 * coordinates there, y << 16 | x (the host keeps both below 2^15) */
#define CONV_DECL(i)                                                                               \
    float16 c0_##i = (float16)(0.0f), c1_##i = (float16)(0.0f);                                    \
    uint base##i, yx##i;                                                                           \
    {                                                                                              \
        uint r = min(mb + i, Q - 1), q = r % QQ;                                                   \
        uint ys = q / (uint)gx.s1 * (uint)gy.s4, xs = q % (uint)gx.s1 * (uint)gx.s4;              \
        base##i = s_off + r / QQ * (uint)io.s1 * IHW + ys * (uint)io.s3 + xs;                      \
        yx##i = ys << 16 | xs;                                                                     \
    }                                                                                              \
    const __global float *p##i;
#define CONV_ROWX(i)                                                                               \
    {                                                                                              \
        int sy = (int)(yx##i >> 16) + offy, sx = (int)(yx##i & 0xffffu) + offx;                    \
        int in = sy >= 0 && sy < io.s2 && sx >= 0 && sx < io.s3;                                   \
        p##i = src + (in ? base##i + (uint)(offy * io.s3 + offx) : z_off);                         \
    }
#define CONV_STEP(i)                                                                               \
    {                                                                                              \
        float16 av = (float16)(p##i[cc]);                                                          \
        c0_##i = fma(av, b0, c0_##i);                                                              \
        c1_##i = fma(av, b1, c1_##i);                                                              \
    }
#define CONV_TAPS(LOADB)                                                                           \
    for (int i = 0; i < gy.s0; i++) {                                                              \
        int ny = gy.s5 + gy.s6 * i;                                                                \
        if (ny % gy.s7) continue;                                                                  \
        int offy = ny / gy.s7;                                                                     \
        for (int j = 0; j < gx.s0; j++) {                                                          \
            int nx = gx.s5 + gx.s6 * j;                                                            \
            if (nx % gx.s7) continue;                                                              \
            int offx = nx / gx.s7;                                                                 \
            REP(CONV_TM, CONV_ROWX)                                                                \
            const __global float *w = wp + wp_off + (size_t)(i * gx.s0 + j) * io.s1 * io.s4 + n0; \
            for (uint c = 0; c < (uint)io.s1; c++, w += io.s4) { /* the input channels */          \
                const uint cc = c * IHW;                                                           \
                LOADB                                                                              \
                REP(CONV_TM, CONV_STEP)                                                            \
            }                                                                                      \
        }                                                                                          \
    }
#define CONV_STORE(i)                                                                              \
    if (mb + i >= m0 && mb + i < Q) {                                                              \
        uint r = mb + i, q = r % QQ, qy = q / (uint)gx.s1, qx = q % (uint)gx.s1;                   \
        float t[32];                                                                               \
        vstore16(c0_##i, 0, t);                                                                    \
        vstore16(c1_##i, 0, t + 16);                                                               \
        __global float *d = dst + d_off + ((size_t)(r / QQ) * io.s4 + n0) * OHW +                 \
                            (size_t)(qy * gy.s2 + gy.s3) * io.s6 + qx * gx.s2 + gx.s3;            \
        for (uint f = 0; f < cols; f++) d[f * OHW] = t[f] + bias[f];                               \
    }

__kernel void conv_gemm(const __global float *restrict src, uint s_off, uint z_off,
                        __global float *dst, uint d_off, const __global float *restrict wp,
                        uint wp_off,
                        const __global float *restrict params, uint b_off, uint has_bias,
                        int8 io, int8 gy, int8 gx) {
    const uint QQ = (uint)(gy.s1 * gx.s1), Q = (uint)io.s0 * QQ, Co = (uint)io.s4;
    uint m0 = get_global_id(0) * CONV_TM, n0 = get_global_id(1) * 32;
    if (n0 >= Co || m0 >= Q) return;
    uint mb = tile_base(m0, CONV_TM, Q), cols = min(32u, Co - n0);
    const uint IHW = (uint)(io.s2 * io.s3);
    const size_t OHW = (size_t)io.s5 * io.s6;
    REP(CONV_TM, CONV_DECL)
    if (cols == 32) {
        CONV_TAPS(float16 b0 = vload16(0, w); float16 b1 = vload16(1, w);)
    } else {
        CONV_TAPS(float16 b0 = vload16_part(w, min(cols, 16u));
                  float16 b1 = vload16_part(w + 16, cols > 16 ? cols - 16 : 0);)
    }
    float bias[32];
    for (uint f = 0; f < 32; f++) bias[f] = has_bias && f < cols ? params[b_off + n0 + f] : 0.0f;
    REP(CONV_TM, CONV_STORE)
}

/*
 * Weight gradients without a column matrix (stride 1, the implicit route's; conv_dw in
 * src/layers/layer_conv2d.c). For the convolution from an image (C channels) to a grid (F
 * channels, OH x OW): dW[f][c][i][j] = sum over b, oy, ox of grid[b][f][oy][ox] *
 * image[b][c][oy + i DH - PH][ox + j DW - PW] (0 outside the image). conv_pad copies both into
 * zero-padded planes so that every read is a whole vector, conv_dw sums one sample's products
 * 16 pixels at a time, conv_dw_sum adds the samples in order.
 */

/*
 * dst[b][q][y][x] = src[b][q][y - PY][x - PX] inside the source plane (H x W) and q < Qs, 0
 * elsewhere: Qd >= Qs planes of Hp x Wp per sample. One row per item.
 * Work size: global >= (Hp, batch * Qd).
 */
__kernel void conv_pad(const __global float *restrict src, uint s_off, __global float *dst,
                       uint d_off, uint batch, uint Qs, uint Qd, uint H, uint W, uint Hp, uint Wp,
                       uint PY, uint PX) {
    uint y = get_global_id(0), p = get_global_id(1);
    if (y >= Hp || p >= batch * Qd) return;
    uint b = p / Qd, q = p % Qd;
    __global float *out = dst + d_off + ((size_t)p * Hp + y) * Wp;
    int sy = (int)y - (int)PY;
    if (q >= Qs || sy < 0 || sy >= (int)H) {
        for (uint x = 0; x < Wp; x++) out[x] = 0.0f;
        return;
    }
    const __global float *in = src + s_off + ((size_t)(b * Qs + q) * H + (uint)sy) * W;
    for (uint x = 0; x < Wp; x++) {
        int sx = (int)x - (int)PX;
        out[x] = sx >= 0 && sx < (int)W ? in[sx] : 0.0f;
    }
}

/*
 * part[q][f][c*KH*KW + i KW + j] for the 4 filters f of block fb and the 3 taps j of block jb
 * (taps past KW computed and dropped): the sum over the samples b of chunk q (R of them, in
 * order) and their grid pixels of grid_p[b][f][oy][ox] * img_p[b][c][oy + i DH][ox + j DW],
 * with grid_p [B][Fp][OH][OWr] (OWr a multiple of 16, zeros past OW; Fp a multiple of 4, zero
 * planes past F) and img_p [B][C][Hp][Wp] (Hp >= OH + (KH - 1) DH, Wp >= OWr + (KWr - 1) DW,
 * KWr = KW rounded up to 3), from conv_pad. Lanes: 16 pixels of a grid row; each sum's lanes
 * folded as sum16 at the end: an order fixed by the code.
 * Work size: global >= (C*KH*ceil(KW / 3), Fp / 4, ceil(B / R)).
 */
__kernel void conv_dw(const __global float *restrict grid, uint g_off,
                      const __global float *restrict img, uint i_off, __global float *part,
                      uint p_off, uint B, uint R, uint F, uint Fp, uint C, uint OH, uint OWr, uint Hp,
                      uint Wp, uint KH, uint KW, uint DH, uint DW) {
    uint JB = (KW + 2) / 3, cij = get_global_id(0), fb = get_global_id(1), q = get_global_id(2);
    if (cij >= C * KH * JB || fb * 4 >= Fp || q * R >= B) return;
    uint c = cij / (KH * JB), i = cij / JB % KH, j0 = cij % JB * 3;
    size_t gs = (size_t)OH * OWr;
    float16 a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a20 = 0.0f,
            a21 = 0.0f, a22 = 0.0f, a30 = 0.0f, a31 = 0.0f, a32 = 0.0f;
    for (uint b = q * R; b < min(B, (q + 1) * R); b++) {
        const __global float *x =
            img + i_off + ((size_t)(b * C + c) * Hp + i * DH) * Wp + j0 * DW;
        const __global float *g = grid + g_off + ((size_t)b * Fp + fb * 4) * gs;
        for (uint oy = 0; oy < OH; oy++, x += Wp, g += OWr)
            for (uint ox = 0; ox < OWr; ox += 16) {
                float16 v0 = vload16(0, x + ox), v1 = vload16(0, x + ox + DW),
                        v2 = vload16(0, x + ox + 2 * DW);
                float16 g0 = vload16(0, g + ox), g1 = vload16(0, g + gs + ox),
                        g2 = vload16(0, g + 2 * gs + ox), g3 = vload16(0, g + 3 * gs + ox);
                a00 = fma(g0, v0, a00);
                a01 = fma(g0, v1, a01);
                a02 = fma(g0, v2, a02);
                a10 = fma(g1, v0, a10);
                a11 = fma(g1, v1, a11);
                a12 = fma(g1, v2, a12);
                a20 = fma(g2, v0, a20);
                a21 = fma(g2, v1, a21);
                a22 = fma(g2, v2, a22);
                a30 = fma(g3, v0, a30);
                a31 = fma(g3, v1, a31);
                a32 = fma(g3, v2, a32);
            }
    }
    float s[4][3] = {{sum16(a00), sum16(a01), sum16(a02)},
                     {sum16(a10), sum16(a11), sum16(a12)},
                     {sum16(a20), sum16(a21), sum16(a22)},
                     {sum16(a30), sum16(a31), sum16(a32)}};
    uint T = KH * KW;
    for (uint r = 0; r < 4 && fb * 4 + r < F; r++)
        for (uint jj = 0; jj < 3 && j0 + jj < KW; jj++)
            part[p_off + ((size_t)q * F + fb * 4 + r) * C * T + (c * KH + i) * KW + j0 + jj] =
                s[r][jj];
}

/* grads[w_off + k] = sum over the chunks q of part[q][k], in order, k < n (= F*C*KH*KW).
 * Work size: global >= n. */
__kernel void conv_dw_sum(const __global float *restrict part, uint p_off, __global float *grads,
                          uint w_off, uint batch, uint n) {
    uint k = get_global_id(0);
    if (k >= n) return;
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) s += part[p_off + (size_t)b * n + k];
    grads[w_off + k] = s;
}
