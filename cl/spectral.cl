/*
 * spectral.cl - spectral normalisation (Miyato et al. 2018) of a layer's weight W viewed as a
 * matrix [rows][cols] (rows: output units or filters; row-major as stored): one power iteration
 * per training pass with persistent vectors u [rows] and v [cols] (non-trainable parameters),
 * sigma = u^T W v, W_sn = W / sigma for the layer's products, and the gradient through sigma.
 *
 * s is the layer's fixed scratch: W_sn [rows * cols], tin [cols], tout [rows], then sigma and
 * lambda, each part 16-aligned (offsets given). Work sizes: sn_power and sn_lambda exactly one
 * work-group of SN_WG work-items; sn_scale and sn_grad global >= rows * cols.
 */
#ifndef SN_WG
#define SN_WG 256
#endif
#define SN_EPS 1e-12f /* as PyTorch's normalize() */

/*
 * train: v = W^T u / |W^T u|, then u = W v / |W v|, both stored; sigma = u^T W v. Evaluation
 * (train 0): sigma = u^T W v with the stored vectors, which stay as they are.
 */
__kernel void sn_power(const __global float *restrict p, uint w_off, __global float *uv,
                       uint u_off, uint v_off, uint rows, uint cols, __global float *s,
                       uint tin_off, uint tout_off, uint sig_off, uint train) {
    __local float red[SN_WG];
    uint t = get_local_id(0);
    const __global float *W = p + w_off;
    __global float *u = uv + u_off, *v = uv + v_off, *tin = s + tin_off, *tout = s + tout_off;
    if (train) {
        float q = 0.0f;
        for (uint j = t; j < cols; j += SN_WG) {
            float a = 0.0f;
            for (uint i = 0; i < rows; i++) a += W[(size_t)i * cols + j] * u[i];
            tin[j] = a;
            q += a * a;
        }
        float inv = 1.0f / fmax(sqrt(group_sum(q, red, SN_WG)), SN_EPS);
        for (uint j = t; j < cols; j += SN_WG) v[j] = tin[j] * inv;
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    float q = 0.0f;
    for (uint i = t; i < rows; i += SN_WG) {
        const __global float *w = W + (size_t)i * cols;
        float a = 0.0f;
        for (uint j = 0; j < cols; j++) a += w[j] * v[j];
        tout[i] = a;
        q += a * a;
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    float sigma;
    if (train) {
        float nrm = fmax(sqrt(group_sum(q, red, SN_WG)), SN_EPS);
        for (uint i = t; i < rows; i += SN_WG) u[i] = tout[i] / nrm;
        barrier(CLK_GLOBAL_MEM_FENCE);
        float d = 0.0f;
        for (uint i = t; i < rows; i += SN_WG) d += u[i] * tout[i];
        sigma = group_sum(d, red, SN_WG);
    } else {
        float d = 0.0f;
        for (uint i = t; i < rows; i += SN_WG) d += u[i] * tout[i];
        sigma = group_sum(d, red, SN_WG);
    }
    if (t == 0) s[sig_off] = sigma;
}

/* W_sn = W / sigma. */
__kernel void sn_scale(const __global float *restrict p, uint w_off, __global float *s,
                       uint ws_off, uint sig_off, uint n) {
    uint k = get_global_id(0);
    if (k < n) s[ws_off + k] = p[w_off + k] / s[sig_off];
}

/* lambda = <G, W_sn>, G = dL/dW_sn (in the gradient buffer at w_off). */
__kernel void sn_lambda(const __global float *restrict g, uint w_off,
                        __global float *s, uint ws_off, uint lam_off, uint n) {
    __local float red[SN_WG];
    uint t = get_local_id(0);
    float a = 0.0f;
    for (uint k = t; k < n; k += SN_WG) a += g[w_off + k] * s[ws_off + k];
    a = group_sum(a, red, SN_WG);
    if (t == 0) s[lam_off] = a;
}

/*
 * Through W_sn = W / sigma with u, v held fixed (sigma = u^T W v):
 * dL/dW = (G - lambda u v^T) / sigma.
 */
__kernel void sn_grad(__global float *g, uint w_off, const __global float *restrict uv, uint u_off,
                      uint v_off, uint cols, const __global float *restrict s, uint sig_off,
                      uint lam_off, uint n) {
    uint k = get_global_id(0);
    if (k >= n) return;
    uint i = k / cols, j = k % cols;
    g[w_off + k] = (g[w_off + k] - s[lam_off] * uv[u_off + i] * uv[v_off + j]) / s[sig_off];
}
