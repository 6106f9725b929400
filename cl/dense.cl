/*
 * dense.cl - the bias part of dense and maxout layers (the products are GEMMs, src/runtime/gemm.c), and
 * whole one-unit dense layers (a discriminator's output), whose products are too small to pay
 * for a GEMM launch each on a CPU device (src/layers/layer_dense.c says where they run).
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

/*
 * db[c] = sum_r dy[r][c], summed in row order (deterministic). Work size: global >=
 * ceil(cols / 16), 16 columns per item.
 */
__kernel void bias_bwd(const __global float *restrict deltas, uint dy_off, __global float *grads,
                       uint b_off, uint rows, uint cols) {
    uint c0 = 16 * get_global_id(0);
    if (c0 >= cols) return;
    uint cnt = min(16u, cols - c0);
    const __global float *dy = deltas + dy_off + c0;
    float16 s = (float16)(0.0f);
    if (cnt == 16)
        for (uint r = 0; r < rows; r++) s += vload16(0, dy + (size_t)r * cols);
    else
        for (uint r = 0; r < rows; r++) s += vload16_part(dy + (size_t)r * cols, cnt);
    vstore16_part(s, grads + b_off + c0, cnt);
}

/*
 * One-unit layer forward: y[r] = x[r] . w + b, with x[rows][n_in], w[n_in] and b one value.
 * Work size: global >= rows, one row per item.
 */
__kernel void unit_fwd(__global float *acts, uint x_off, uint y_off,
                       const __global float *restrict params, uint w_off, uint b_off, uint rows,
                       uint n_in) {
    uint r = get_global_id(0);
    if (r >= rows) return;
    const __global float *x = acts + x_off + (size_t)r * n_in, *w = params + w_off;
    float16 s16 = (float16)(0.0f);
    uint j = 0;
    for (; j + 16 <= n_in; j += 16) s16 = fma(vload16(0, x + j), vload16(0, w + j), s16);
    float s = hsum16(s16);
    for (; j < n_in; j++) s = fma(x[j], w[j], s);
    acts[y_off + r] = s + params[b_off];
}

/*
 * One-unit layer backward, given dy[rows]: dx[r][c] = dy[r] w[c] (when need_dx) and, when
 * need_dw, dw[c] = sum_r dy[r] x[r][c] and db = sum_r dy[r], summed in row order
 * (deterministic). Work size: global >= ceil(n_in / 16), 16 columns per item.
 */
__kernel void unit_bwd(const __global float *restrict acts, uint x_off, __global float *deltas,
                       uint dy_off, uint dx_off, const __global float *restrict params,
                       uint w_off, __global float *restrict grads, uint gw_off, uint gb_off,
                       uint rows, uint n_in, uint need_dx, uint need_dw) {
    uint c0 = 16 * get_global_id(0);
    if (c0 >= n_in) return;
    uint cnt = min(16u, n_in - c0);
    const __global float *dy = deltas + dy_off, *x = acts + x_off + c0;
    __global float *dx = deltas + dx_off + c0;
    float16 w = vload16_part(params + w_off + c0, cnt), g = (float16)(0.0f);
    if (cnt == 16) {
        for (uint r = 0; r < rows; r++) {
            float d = dy[r];
            if (need_dx) vstore16(d * w, 0, dx + (size_t)r * n_in);
            if (need_dw) g = fma((float16)(d), vload16(0, x + (size_t)r * n_in), g);
        }
    } else {
        for (uint r = 0; r < rows; r++) {
            float d = dy[r];
            if (need_dx) vstore16_part(d * w, dx + (size_t)r * n_in, cnt);
            if (need_dw) g = fma((float16)(d), vload16_part(x + (size_t)r * n_in, cnt), g);
        }
    }
    if (!need_dw) return;
    vstore16_part(g, grads + gw_off + c0, cnt);
    if (c0 == 0) {
        float s = 0.0f;
        for (uint r = 0; r < rows; r++) s += dy[r];
        grads[gb_off] = s;
    }
}
