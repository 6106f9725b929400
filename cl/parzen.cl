/*
 * parzen.cl - the Parzen-window (isotropic Gaussian kernel density) log-likelihood.
 *
 * For points x (rows) and centres mu (S of them), after a GEMM has put dot[r][i] = x_r . mu_i:
 *   d2 = |x_r|^2 + |mu_i|^2 - 2 dot  (clamped at 0),
 *   out[r] = logsumexp_i(-d2 / (2 sigma^2)) - log S - d log(sigma sqrt(2 pi)) = ... + bias,
 * with the log-sum-exp taken around its maximum so that far-away points do not underflow.
 * Work size: row_sqnorm and parzen_lse: global >= rows, one work-item per row.
 */

__kernel void row_sqnorm(const __global float *restrict x, uint rows, uint cols,
                         __global float *out) {
    uint r = get_global_id(0);
    if (r >= rows) return;
    const __global float *p = x + (size_t)r * cols;
    float s = 0.0f;
    for (uint c = 0; c < cols; c++) s += p[c] * p[c];
    out[r] = s;
}

__kernel void parzen_lse(const __global float *restrict dot, const __global float *restrict xn,
                         const __global float *restrict mun, uint rows, uint S, float inv2s2,
                         float bias, __global float *out, uint out_off) {
    uint r = get_global_id(0);
    if (r >= rows) return;
    const __global float *d = dot + (size_t)r * S;
    float xr = xn[r], m = -INFINITY;
    for (uint i = 0; i < S; i++) m = fmax(m, -fmax(xr + mun[i] - 2.0f * d[i], 0.0f) * inv2s2);
    float s = 0.0f;
    for (uint i = 0; i < S; i++) s += exp(-fmax(xr + mun[i] - 2.0f * d[i], 0.0f) * inv2s2 - m);
    out[out_off + r] = m + log(s) + bias;
}
