/*
 * peak.cl - the device's rate of fused multiply-adds, the ceiling every GEMM and convolution
 * figure of `clgan bench` is read against (src/eval/bench.c).
 *
 * Each item runs PEAK_CHAINS independent chains of float16 values (enough independent work to
 * hide an FMA's latency on a CPU core or a GPU lane), `steps` steps of x = fma(x, a, b) each, and
 * writes the sum of every lane of every chain: 2 * 16 * PEAK_CHAINS * steps FLOPs per item.
 * Lanes start apart (lane l of chain k at k + l / 16 + id / 1024) so no compiler can fold them
 * into one. Work size: global = items, any local size.
 */
#define PEAK_CHAINS 8

__kernel void fma_peak(__global float *out, uint steps, float a, float b) {
    uint id = get_global_id(0);
    const float16 lane = (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) / 16.0f;
    float base = (float)(id % 1024) / 1024.0f;
    float16 x0 = lane + base, x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f, x4 = x0 + 4.0f,
            x5 = x0 + 5.0f, x6 = x0 + 6.0f, x7 = x0 + 7.0f;
    for (uint s = 0; s < steps; s++) {
        x0 = fma(x0, a, b);
        x1 = fma(x1, a, b);
        x2 = fma(x2, a, b);
        x3 = fma(x3, a, b);
        x4 = fma(x4, a, b);
        x5 = fma(x5, a, b);
        x6 = fma(x6, a, b);
        x7 = fma(x7, a, b);
    }
    float16 t = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    float8 u = t.lo + t.hi;
    float4 v = u.lo + u.hi;
    float2 w = v.lo + v.hi;
    out[id] = w.x + w.y;
}
