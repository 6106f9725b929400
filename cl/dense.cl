/*
 * dense.cl - the bias part of dense and maxout layers (the products are GEMMs, src/gemm.c).
 *
 * Layout: activations batch-major, y[row][col] at y_off + row * cols + col; bias[col].
 */

/* y[r][c] += b[c]. Work size: global >= rows * cols, one work-item per value. */
__kernel void bias_fwd(__global float *acts, uint y_off, const __global float *restrict params,
                       uint b_off, uint rows, uint cols) {
    uint i = get_global_id(0);
    if (i >= rows * cols) return;
    acts[y_off + i] += params[b_off + i % cols];
}

/* db[c] = sum_r dy[r][c], summed in row order (deterministic). Work size: global >= cols. */
__kernel void bias_bwd(const __global float *restrict deltas, uint dy_off, __global float *grads,
                       uint b_off, uint rows, uint cols) {
    uint c = get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (uint r = 0; r < rows; r++) s += deltas[dy_off + r * cols + c];
    grads[b_off + c] = s;
}
