/*
 * activation.cl - element-wise activations: relu, leaky_relu, tanh, sigmoid.
 *
 * Layout: x and y are slots of the network's activation buffer, dx and dy slots of its
 * gradient buffer; all are flat arrays of n = rows * cols values.
 * Work size: global >= n, one work-item per value; any local size.
 * Signature (every pair): *_fwd(acts, x_off, y_off, n, p), *_bwd(acts, x_off, y_off, deltas,
 * dy_off, dx_off, n, p), where p is the layer's parameter (leaky_relu's slope) or unused.
 */

#define ACT_FWD(name, expr)                                                                        \
    __kernel void name##_fwd(__global float *acts, uint x_off, uint y_off, uint n, float p) {      \
        uint i = get_global_id(0);                                                                 \
        if (i >= n) return;                                                                        \
        float x = acts[x_off + i];                                                                 \
        acts[y_off + i] = (expr);                                                                  \
    }

/* dx from x, y (the output) and dy */
#define ACT_BWD(name, expr)                                                                        \
    __kernel void name##_bwd(const __global float *restrict acts, uint x_off, uint y_off,          \
                             __global float *deltas, uint dy_off, uint dx_off, uint n, float p) {  \
        uint i = get_global_id(0);                                                                 \
        if (i >= n) return;                                                                        \
        float x = acts[x_off + i], y = acts[y_off + i], dy = deltas[dy_off + i];                   \
        deltas[dx_off + i] = (expr);                                                               \
    }

inline float sigmoid_stable(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

ACT_FWD(relu, fmax(x, 0.0f))
ACT_BWD(relu, x > 0.0f ? dy : 0.0f)
ACT_FWD(leaky_relu, x > 0.0f ? x : p * x)
ACT_BWD(leaky_relu, x > 0.0f ? dy : p * dy)
ACT_FWD(tanh, tanh(x))
ACT_BWD(tanh, dy * (1.0f - y * y))
ACT_FWD(sigmoid, sigmoid_stable(x))
ACT_BWD(sigmoid, dy * y * (1.0f - y))
