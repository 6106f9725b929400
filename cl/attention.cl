/*
 * attention.cl - self-attention (SAGAN, Zhang et al. 2019; src/layers/layer_self_attention.c)
 * over the N = H*W positions of batch-major images x[B][C][N]. The layer's GEMMs (per sample)
 * make qkv[B][2D + C][N] (query, key, value rows), the scores, and o[B][C][N]; these kernels
 * do the rest. Each sample's qkv, scores and o lie in its scratch row, `stride` floats apart.
 * Work size: global >= the values written (or rows, or sums); any local size.
 */

/* qkv[b][r][p] += bias[r], R = 2D + C rows of N positions. Work size: global >= B*R*N. */
__kernel void attn_bias_fwd(__global float *acts, uint qkv_off, uint stride,
                            const __global float *restrict p, uint bias_off, uint B, uint R,
                            uint N) {
    uint i = get_global_id(0);
    if (i >= B * R * N) return;
    uint b = i / (R * N), q = i % (R * N);
    acts[qkv_off + (size_t)b * stride + q] += p[bias_off + q / N];
}

/* Each of the N rows of N scores of each of B samples becomes its softmax, in place (the max
 * first). Work size: global >= B*N. */
__kernel void attn_softmax_fwd(__global float *acts, uint a_off, uint stride, uint B, uint N) {
    uint r = get_global_id(0);
    if (r >= B * N) return;
    __global float *a = acts + a_off + (size_t)(r / N) * stride + (size_t)(r % N) * N;
    float m = a[0];
    for (uint j = 1; j < N; j++) m = fmax(m, a[j]);
    float s = 0.0f;
    for (uint j = 0; j < N; j++) {
        a[j] = exp(a[j] - m);
        s += a[j];
    }
    float inv = 1.0f / s;
    for (uint j = 0; j < N; j++) a[j] *= inv;
}

/* y = gamma o + x over B samples of n values. Work size: global >= B*n. */
__kernel void attn_out_fwd(__global float *acts, uint x_off, uint o_off, uint stride, uint y_off,
                           const __global float *restrict p, uint gamma_off, uint n, uint B) {
    uint i = get_global_id(0);
    if (i >= B * n) return;
    acts[y_off + i] = p[gamma_off] * acts[o_off + (size_t)(i / n) * stride + i % n] +
                      acts[x_off + i];
}

/* do = gamma dy, and (with_dx) dx = dy (the residual; the GEMMs add the rest) over B samples
 * of n values. Work size: global >= B*n. */
__kernel void attn_out_bwd(__global float *deltas, uint dy_off, uint do_off, uint stride,
                           uint dx_off, const __global float *restrict p, uint gamma_off, uint n,
                           uint B, uint with_dx) {
    uint i = get_global_id(0);
    if (i >= B * n) return;
    float dy = deltas[dy_off + i];
    deltas[do_off + (size_t)(i / n) * stride + i % n] = p[gamma_off] * dy;
    if (with_dx) deltas[dx_off + i] = dy;
}

/* dgamma = the sum of dy * o over B samples of n values, one item, in order.
 * Work size: global >= 1. */
__kernel void attn_gamma_bwd(const __global float *restrict acts, uint o_off, uint stride,
                             const __global float *restrict deltas, uint dy_off, uint n,
                             __global float *grads, uint gamma_off, uint B) {
    if (get_global_id(0) != 0) return;
    float s = 0.0f;
    for (uint b = 0; b < B; b++)
        for (uint i = 0; i < n; i++)
            s += deltas[dy_off + (size_t)b * n + i] * acts[o_off + (size_t)b * stride + i];
    grads[gamma_off] = s;
}

/* Softmax backward per row, in place on the score gradients (at the same offsets in deltas):
 * dE = A (dA - sum_j dA_j A_j). Work size: global >= B*N. */
__kernel void attn_softmax_bwd(const __global float *restrict acts, __global float *deltas,
                               uint a_off, uint stride, uint B, uint N) {
    uint r = get_global_id(0);
    if (r >= B * N) return;
    size_t at = a_off + (size_t)(r / N) * stride + (size_t)(r % N) * N;
    const __global float *a = acts + at;
    __global float *d = deltas + at;
    float s = 0.0f;
    for (uint j = 0; j < N; j++) s += d[j] * a[j];
    for (uint j = 0; j < N; j++) d[j] = a[j] * (d[j] - s);
}

/* dbias[r] = sum over samples and positions of dqkv[b][r][p], one item per row, in order.
 * Work size: global >= R. */
__kernel void attn_bias_bwd(const __global float *restrict deltas, uint dqkv_off, uint stride,
                            __global float *grads, uint bias_off, uint B, uint R, uint N) {
    uint r = get_global_id(0);
    if (r >= R) return;
    float s = 0.0f;
    for (uint b = 0; b < B; b++) {
        const __global float *d = deltas + dqkv_off + (size_t)b * stride + (size_t)r * N;
        for (uint p = 0; p < N; p++) s += d[p];
    }
    grads[bias_off + r] = s;
}
