/*
 * upsample.cl - nearest-neighbour upsampling (src/layers/layer_upsample.c) of x[B][C][H][W] by
 * (FH, FW) into y[B][C][H*FH][W*FW]; activations batch-major.
 */

/* y[b][c][oy][ox] = x[b][c][oy / FH][ox / FW]. Work size: global >= B*C*H*FH*W*FW. */
__kernel void upsample_fwd(__global float *acts, uint x_off, uint y_off, uint BC, uint H, uint W,
                           uint FH, uint FW) {
    uint i = get_global_id(0), OW = W * FW, OHW = H * FH * OW;
    if (i >= BC * OHW) return;
    uint p = i / OHW, q = i % OHW, oy = q / OW, ox = q % OW;
    acts[y_off + i] = acts[x_off + ((size_t)p * H + oy / FH) * W + ox / FW];
}

/* dx[b][c][y][x] = the sum of dy over its FH x FW block. Work size: global >= B*C*H*W. */
__kernel void upsample_bwd(__global float *deltas, uint dy_off, uint dx_off, uint BC, uint H,
                           uint W, uint FH, uint FW) {
    uint i = get_global_id(0), HW = H * W, OW = W * FW;
    if (i >= BC * HW) return;
    uint p = i / HW, y = (i % HW) / W, x = i % W;
    const __global float *dy = deltas + dy_off + (size_t)p * HW * FH * FW;
    float s = 0.0f;
    for (uint a = 0; a < FH; a++)
        for (uint b = 0; b < FW; b++) s += dy[(size_t)(y * FH + a) * OW + x * FW + b];
    deltas[dx_off + i] = s;
}
