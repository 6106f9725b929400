/*
 * activation.cl - element-wise activations: relu, leaky_relu, tanh, sigmoid.
 *
 * Layout: x and y are slots of the network's activation buffer, dx and dy slots of its
 * gradient buffer; all are flat arrays of n = rows * cols values.
 * Work size: global >= ceil(n / 16), 16 values per work-item as one float16 (the math library's
 * vector exp and tanh, which a value per item left scalar: sigmoid ran 6x slower); any local
 * size. Signature (every pair): *_fwd(acts, x_off, y_off, n, p), *_bwd(acts, x_off, y_off,
 * deltas, dy_off, dx_off, n, p), where p is the layer's parameter (leaky_relu's slope) or unused.
 */

#define ACT_FWD(name, expr)                                                                        \
    __kernel void name##_fwd(__global float *acts, uint x_off, uint y_off, uint n, float p) {      \
        uint i = 16 * get_global_id(0);                                                            \
        if (i >= n) return;                                                                        \
        uint cnt = min(16u, n - i);                                                                \
        float16 x = vload16_part(acts + x_off + i, cnt);                                           \
        vstore16_part(expr, acts + y_off + i, cnt);                                                \
    }

/* dx from x, y (the output) and dy */
#define ACT_BWD(name, expr)                                                                        \
    __kernel void name##_bwd(const __global float *restrict acts, uint x_off, uint y_off,          \
                             __global float *deltas, uint dy_off, uint dx_off, uint n, float p) {  \
        uint i = 16 * get_global_id(0);                                                            \
        if (i >= n) return;                                                                        \
        uint cnt = min(16u, n - i);                                                                \
        float16 x = vload16_part(acts + x_off + i, cnt), y = vload16_part(acts + y_off + i, cnt),  \
                dy = vload16_part(deltas + dy_off + i, cnt);                                       \
        vstore16_part(expr, deltas + dx_off + i, cnt);                                             \
    }

/* 1 / (1 + exp(-x)) without overflow: exp of -|x| only */
inline float16 sigmoid16(float16 x) {
    float16 e = exp(-fabs(x));
    return select(e / (1.0f + e), 1.0f / (1.0f + e), x >= 0.0f);
}

/* NaN passes through (fmax would make it 0, and a diverged network would look healthy) */
ACT_FWD(relu, select(x, (float16)(0.0f), x < 0.0f))
ACT_BWD(relu, select((float16)(0.0f), dy, x > 0.0f))
ACT_FWD(leaky_relu, select(p * x, x, x > 0.0f))
ACT_BWD(leaky_relu, select(p * dy, dy, x > 0.0f))
ACT_FWD(tanh, tanh(x))
ACT_BWD(tanh, dy * (1.0f - y * y))
ACT_FWD(sigmoid, sigmoid16(x))
ACT_BWD(sigmoid, dy * y * (1.0f - y))

/*
 * A gradient penalty's third pass (src/net/penalty.c): dx = f'(x) dy + f''(x) t dv, with dy the
 * values' adjoint, t the input's tangent (tan at x_off) and dv the backward pass's gradient of
 * the output (dvals at dy_off). tanh: f' = 1 - y^2, f'' = -2 y (1 - y^2); sigmoid:
 * f' = y (1 - y), f'' = y (1 - y) (1 - 2 y).
 */
#define ACT_BWD2(name, d1, d2)                                                                     \
    __kernel void name##_bwd2(const __global float *restrict acts, uint x_off, uint y_off,         \
                              __global float *deltas, uint dy_off, uint dx_off,                    \
                              const __global float *restrict tan,                                  \
                              const __global float *restrict dvals, uint n) {                      \
        uint i = 16 * get_global_id(0);                                                            \
        if (i >= n) return;                                                                        \
        uint cnt = min(16u, n - i);                                                                \
        float16 y = vload16_part(acts + y_off + i, cnt), dy = vload16_part(deltas + dy_off + i, cnt), \
                t = vload16_part(tan + x_off + i, cnt), dv = vload16_part(dvals + dy_off + i, cnt); \
        vstore16_part((d1) * dy + (d2) * t * dv, deltas + dx_off + i, cnt);                        \
    }
ACT_BWD2(tanh, 1.0f - y * y, -2.0f * y * (1.0f - y * y))
ACT_BWD2(sigmoid, y * (1.0f - y), y * (1.0f - y) * (1.0f - 2.0f * y))
