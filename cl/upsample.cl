/*
 * upsample.cl - nearest-neighbour upsampling (src/layers/layer_upsample.c) of x[B][C][H][W] by
 * (FH, FW) into y[B][C][H*FH][W*FW]; activations batch-major. One row per work-item, so that
 * no division runs per value.
 */

/* y[b][c][oy][ox] = x[b][c][oy / FH][ox / FW], one output row of one plane per item.
 * Work size: global >= B*C*H*FH. */
__kernel void upsample_fwd(__global float *acts, uint x_off, uint y_off, uint BC, uint H, uint W,
                           uint FH, uint FW) {
    uint i = get_global_id(0), OW = W * FW;
    if (i >= BC * H * FH) return;
    uint p = i / (H * FH), oy = i % (H * FH);
    const __global float *x = acts + x_off + ((size_t)p * H + oy / FH) * W;
    __global float *y = acts + y_off + (size_t)i * OW;
    for (uint c = 0; c < W; c++) {
        float v = x[c];
        for (uint b = 0; b < FW; b++) y[c * FW + b] = v;
    }
}

/* dx[b][c][y][x] = the sum of dy over its FH x FW block, one input row of one plane per item.
 * Work size: global >= B*C*H. */
__kernel void upsample_bwd(__global float *deltas, uint dy_off, uint dx_off, uint BC, uint H,
                           uint W, uint FH, uint FW) {
    uint i = get_global_id(0), OW = W * FW;
    if (i >= BC * H) return;
    uint p = i / H, y = i % H;
    const __global float *dy = deltas + dy_off + ((size_t)p * H + y) * FH * OW;
    __global float *dx = deltas + dx_off + (size_t)i * W;
    for (uint c = 0; c < W; c++) {
        float s = 0.0f;
        for (uint a = 0; a < FH; a++)
            for (uint b = 0; b < FW; b++) s += dy[(size_t)a * OW + c * FW + b];
        dx[c] = s;
    }
}
