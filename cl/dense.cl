/*
 * dense.cl - the bias part of dense and maxout layers (the products are GEMMs, src/gemm.c).
 *
 * Layout: activations batch-major, y[row][col] at y_off + row * cols + col; bias[col].
 */

/* y[r][c] += b[c]. Work size: global >= (ceil(cols / 16), rows), 16 values of a row per item. */
__kernel void bias_fwd(__global float *acts, uint y_off, const __global float *restrict params,
                       uint b_off, uint rows, uint cols) {
    uint c0 = 16 * get_global_id(0), r = get_global_id(1);
    if (c0 >= cols || r >= rows) return;
    __global float *y = acts + y_off + (size_t)r * cols + c0;
    const __global float *b = params + b_off + c0;
    if (c0 + 16 <= cols) {
        vstore16(vload16(0, y) + vload16(0, b), 0, y);
        return;
    }
    for (uint c = 0; c < cols - c0; c++) y[c] += b[c];
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
