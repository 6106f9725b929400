/*
 * optim.cl - parameter updates over a network's whole parameter buffer, and the max column
 * norm constraint. Layout: p, g and the state buffers are flat arrays of n floats.
 * Work size: global >= ceil(n / 16) (16 parameters per work-item), or >= rows for max_norm.
 */

/*
 * Classic momentum (as pylearn2 and the paper's code): v = mu v - lr g;  p += v.
 * 16 parameters per work-item (in vectors on CPU devices, where this pass is memory-bound).
 */
__kernel void sgd_momentum(__global float *p, const __global float *restrict g, __global float *v,
                           uint n, float lr, float mu) {
    uint i0 = 16 * get_global_id(0);
    if (i0 >= n) return;
    if (i0 + 16 <= n) {
        float16 vi = mu * vload16(0, v + i0) - lr * vload16(0, g + i0);
        vstore16(vi, 0, v + i0);
        vstore16(vload16(0, p + i0) + vi, 0, p + i0);
        return;
    }
    for (uint i = i0; i < n; i++) {
        float vi = mu * v[i] - lr * g[i];
        v[i] = vi;
        p[i] += vi;
    }
}

/*
 * Adam (Kingma & Ba), as PyTorch computes it: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps), with bc1 = 1 - b1^t and bc2 = 1 - b2^t.
 */
__kernel void adam(__global float *p, const __global float *restrict g, __global float *m,
                   __global float *v, uint n, float lr, float b1, float b2, float eps, float bc1,
                   float bc2) {
    uint i0 = 16 * get_global_id(0);
    if (i0 >= n) return;
    if (i0 + 16 <= n) {
        float16 gi = vload16(0, g + i0);
        float16 mi = b1 * vload16(0, m + i0) + (1.0f - b1) * gi;
        float16 vi = b2 * vload16(0, v + i0) + (1.0f - b2) * gi * gi;
        vstore16(mi, 0, m + i0);
        vstore16(vi, 0, v + i0);
        vstore16(vload16(0, p + i0) - lr * (mi / bc1) / (sqrt(vi / bc2) + eps), 0, p + i0);
        return;
    }
    for (uint i = i0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
    }
}

/*
 * RMSProp as PyTorch computes it (no momentum, not centred): v = alpha v + (1-alpha) g^2;
 * p -= lr g / (sqrt(v) + eps). The optimizer of the Wasserstein GAN (Arjovsky et al. 2017).
 */
__kernel void rmsprop(__global float *p, const __global float *restrict g, __global float *v,
                      uint n, float lr, float alpha, float eps) {
    uint i0 = 16 * get_global_id(0);
    if (i0 >= n) return;
    if (i0 + 16 <= n) {
        float16 gi = vload16(0, g + i0);
        float16 vi = alpha * vload16(0, v + i0) + (1.0f - alpha) * gi * gi;
        vstore16(vi, 0, v + i0);
        vstore16(vload16(0, p + i0) - lr * gi / (sqrt(vi) + eps), 0, p + i0);
        return;
    }
    for (uint i = i0; i < n; i++) {
        float gi = g[i];
        float vi = alpha * v[i] + (1.0f - alpha) * gi * gi;
        v[i] = vi;
        p[i] -= lr * gi / (sqrt(vi) + eps);
    }
}

/*
 * Weight clipping (the Wasserstein GAN's critic): every value of p[0..n) into [-c, c].
 */
__kernel void clip_values(__global float *p, uint n, float c) {
    uint i = get_global_id(0);
    if (i < n) p[i] = clamp(p[i], -c, c);
}

/*
 * An exponential moving average of weights: a = decay a + (1 - decay) p over a[0..n)
 * (train.ema: G's averaged weights, Karras et al. 2018, Yazici et al. 2019).
 * Work size: global >= ceil(n / 16).
 */
__kernel void ema_update(__global float *a, const __global float *restrict p, uint n, float decay) {
    uint i0 = 16 * get_global_id(0);
    if (i0 >= n) return;
    uint end = min(i0 + 16, n);
    for (uint i = i0; i < end; i++) a[i] = decay * a[i] + (1.0f - decay) * p[i];
}

/*
 * Max norm per output unit: the weight tensor at p + w_off viewed as W[outer][units][inner]
 * (dense and conv2d: outer 1, a unit's weights are one row; conv_transpose2d: [C_in][C_out][k]);
 * a unit u whose weights W[.][u][.] have an L2 norm above max_norm is scaled back to it
 * (pylearn2's max column norm). Work size: global >= units.
 */
__kernel void max_norm(__global float *p, uint w_off, uint outer, uint units, uint inner,
                       float max_norm) {
    uint u = get_global_id(0);
    if (u >= units) return;
    uint c16 = inner / 16 * 16;
    float s = 0.0f;
    for (uint a = 0; a < outer; a++) {
        __global const float *w = p + w_off + ((size_t)a * units + u) * inner;
        float16 s16 = (float16)(0.0f);
        for (uint c = 0; c < c16; c += 16) {
            float16 v = vload16(0, w + c);
            s16 += v * v;
        }
        s += hsum16(s16);
        for (uint c = c16; c < inner; c++) s += w[c] * w[c];
    }
    float norm = sqrt(s);
    if (norm > max_norm) {
        float k = max_norm / (norm + 1e-7f);
        for (uint a = 0; a < outer; a++) {
            __global float *w = p + w_off + ((size_t)a * units + u) * inner;
            for (uint c = 0; c < c16; c += 16) vstore16(vload16(0, w + c) * k, 0, w + c);
            for (uint c = c16; c < inner; c++) w[c] *= k;
        }
    }
}
