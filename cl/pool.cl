/*
 * pool.cl - pooling (src/layers/layer_avg_pool2d.c, layer_global_pool.c) of batch-major images
 * x[B][C][H][W] in the activation buffer; gradients in the gradient buffer at the same offsets.
 *
 * Work size: global >= the values written; any local size.
 */

/*
 * Average over KH x KW windows (stride SH, SW; zero padding PH, PW counted in the average, as
 * PyTorch's count_include_pad): y[B][C][OH][OW], one output row of one plane per item (no
 * division in the loops). Work size: global >= B*C*OH.
 */
__kernel void avg_pool_fwd(__global float *acts, uint x_off, uint y_off, uint BC, uint H, uint W,
                           uint OH, uint OW, uint KH, uint KW, uint SH, uint SW, uint PH, uint PW) {
    uint i = get_global_id(0);
    if (i >= BC * OH) return;
    uint p = i / OH, oy = i % OH;
    const __global float *x = acts + x_off + (size_t)p * H * W;
    __global float *y = acts + y_off + (size_t)i * OW;
    float scale = 1.0f / (float)(KH * KW);
    for (uint ox = 0; ox < OW; ox++) {
        float s = 0.0f;
        for (uint a = 0; a < KH; a++) {
            int yy = (int)(oy * SH + a) - (int)PH;
            if (yy < 0 || yy >= (int)H) continue;
            for (uint b = 0; b < KW; b++) {
                int xx = (int)(ox * SW + b) - (int)PW;
                if (xx >= 0 && xx < (int)W) s += x[(uint)yy * W + (uint)xx];
            }
        }
        y[ox] = s * scale;
    }
}

/*
 * dx[b][c][y][x] = the sum of dy over the windows that hold (y, x), / (KH*KW): one input row of
 * one plane per item, zeroed, then each output of the rows whose windows reach it added over
 * its window's columns. Work size: global >= B*C*H.
 */
__kernel void avg_pool_bwd(__global float *deltas, uint dy_off, uint dx_off, uint BC, uint H,
                           uint W, uint OH, uint OW, uint KH, uint KW, uint SH, uint SW, uint PH,
                           uint PW) {
    uint i = get_global_id(0);
    if (i >= BC * H) return;
    uint p = i / H, y = i % H;
    const __global float *dy = deltas + dy_off + (size_t)p * OH * OW;
    __global float *dx = deltas + dx_off + (size_t)i * W;
    float scale = 1.0f / (float)(KH * KW);
    for (uint x = 0; x < W; x++) dx[x] = 0.0f;
    /* output rows oy with oy*SH <= y + PH < oy*SH + KH */
    uint yp = y + PH;
    uint oy0 = yp + 1 > KH ? (yp + 1 - KH + SH - 1) / SH : 0, oy1 = min(yp / SH, OH - 1);
    for (uint oy = oy0; oy <= oy1 && oy < OH; oy++)
        for (uint ox = 0; ox < OW; ox++) {
            float g = dy[oy * OW + ox] * scale;
            for (uint b = 0; b < KW; b++) {
                int xx = (int)(ox * SW + b) - (int)PW;
                if (xx >= 0 && xx < (int)W) dx[xx] += g;
            }
        }
}

/* y[b][c] = scale * sum over the H*W positions of x[b][c]. Work size: global >= B*C. */
__kernel void global_pool_fwd(__global float *acts, uint x_off, uint y_off, uint BC, uint HW,
                              float scale) {
    uint i = get_global_id(0);
    if (i >= BC) return;
    const __global float *x = acts + x_off + (size_t)i * HW;
    float s = 0.0f;
    for (uint j = 0; j < HW; j++) s += x[j];
    acts[y_off + i] = scale * s;
}

/* dx[b][c][j] = scale * dy[b][c]. Work size: global >= B*C*HW. */
__kernel void global_pool_bwd(__global float *deltas, uint dy_off, uint dx_off, uint BC, uint HW,
                              float scale) {
    uint i = get_global_id(0);
    if (i < BC * HW) deltas[dx_off + i] = scale * deltas[dy_off + i / HW];
}
