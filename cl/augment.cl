/*
 * augment.cl - differentiable augmentation (src/train/augment.c): DiffAugment's ops (Zhao et
 * al. 2020) on samples of C x H x W values, forward and the adjoint of their linear part.
 *
 * Sample i's draws are the uniforms of words 16 (e0 + i) + j of Philox stream
 * (key, s, RNG_TAG_AUGMENT = 10): j 0-2 brightness, saturation, contrast; 3, 4 the shifts in x
 * and y; 5, 6 the cutout's centre in x and y; 8, 9, 10 whether color, translation, cutout
 * apply (u < p). e0 is the sample's global index: the same draws on every device.
 *
 *   color: x' = k s x + k (1 - s) mc + (1 - k) M + b, b = u0 - 1/2, s = 2 u1, k = u2 + 1/2, mc
 *          the pixel's mean over channels, M the sample's mean (brightness, saturation, then
 *          contrast, as DiffAugment applies them);
 *   translation by (tx, ty), |t| <= round(size / 8), zero padding: x''(y, x) = x'(y - ty, x - tx);
 *   cutout: a round(size / 2) square at a random centre set to zero.
 * backward: dx = the color part's adjoint (k s d + k (1 - s) mc(d) + (1 - k) M(d)) of d = the
 * translation's adjoint of dy with the square zeroed.
 * Work size: one work-group of AUG_WG work-items per sample (global = n AUG_WG); the sums
 * over a sample in a fixed order (the same figures run after run).
 */
#ifndef AUG_WG
#define AUG_WG 64
#endif

typedef struct aug_params {
    float b, s, k;
    int tx, ty;
    int cx0, cy0, cw, ch; /* the cutout: [cx0, cx0 + cw) x [cy0, cy0 + ch); cw 0: none */
} aug_params;

inline float aug_u(uint e, uint key0, uint key1, uint s_lo, uint s_hi) {
    return rng_u01(rng_lane(rng_block(e, key0, key1, s_lo, s_hi, 10u), e & 3u));
}

inline aug_params aug_draw(uint e0, uint i, uint H, uint W, uint policy, float p, uint key0,
                           uint key1, uint s_lo, uint s_hi) {
    uint w0 = (e0 + i) * 16u;
    aug_params a = {0.0f, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0};
    if ((policy & 1u) && aug_u(w0 + 8u, key0, key1, s_lo, s_hi) < p) {
        a.b = aug_u(w0, key0, key1, s_lo, s_hi) - 0.5f;
        a.s = 2.0f * aug_u(w0 + 1u, key0, key1, s_lo, s_hi);
        a.k = aug_u(w0 + 2u, key0, key1, s_lo, s_hi) + 0.5f;
    }
    if ((policy & 2u) && aug_u(w0 + 9u, key0, key1, s_lo, s_hi) < p) {
        int sx = (int)((float)W * 0.125f + 0.5f), sy = (int)((float)H * 0.125f + 0.5f);
        a.tx = (int)(aug_u(w0 + 3u, key0, key1, s_lo, s_hi) * (float)(2 * sx + 1)) - sx;
        a.ty = (int)(aug_u(w0 + 4u, key0, key1, s_lo, s_hi) * (float)(2 * sy + 1)) - sy;
    }
    if ((policy & 4u) && aug_u(w0 + 10u, key0, key1, s_lo, s_hi) < p) {
        a.cw = (int)((float)W * 0.5f + 0.5f);
        a.ch = (int)((float)H * 0.5f + 0.5f);
        int ox = (int)(aug_u(w0 + 5u, key0, key1, s_lo, s_hi) * (float)(W + 1 - a.cw % 2)),
            oy = (int)(aug_u(w0 + 6u, key0, key1, s_lo, s_hi) * (float)(H + 1 - a.ch % 2));
        a.cx0 = ox - a.cw / 2;
        a.cy0 = oy - a.ch / 2;
    }
    return a;
}

inline int aug_cut(const aug_params *a, int y, int x) {
    return a->cw > 0 && x >= a->cx0 && x < a->cx0 + a->cw && y >= a->cy0 && y < a->cy0 + a->ch;
}

/* forward (backward 0): dst = aug(src); backward 1: dst = aug's adjoint of src (gradients). */
__kernel void augment(const __global float *restrict src, uint s_off, __global float *dst,
                      uint d_off, uint C, uint H, uint W, uint e0, uint key0, uint key1, uint s_lo,
                      uint s_hi, uint policy, float p, uint backward) {
    __local float sh[AUG_WG];
    __local aug_params la;
    uint i = get_group_id(0), t = get_local_id(0), HW = H * W, N = C * HW;
    if (t == 0) la = aug_draw(e0, i, H, W, policy, p, key0, key1, s_lo, s_hi); /* drawn once */
    barrier(CLK_LOCAL_MEM_FENCE);
    aug_params a = la;
    const __global float *x = src + s_off + (size_t)i * N;
    __global float *y = dst + d_off + (size_t)i * N;
    if (!backward) {
        float m = 0.0f;
        for (uint j = t; j < N; j += AUG_WG) m += x[j];
        float M = group_sum(m, sh, AUG_WG) / (float)N;
        for (uint j = t; j < N; j += AUG_WG) {
            int c = (int)(j / HW), q = (int)(j % HW), yy = q / (int)W, xx = q % (int)W;
            int sy = yy - a.ty, sx = xx - a.tx;
            float v = 0.0f;
            if (!aug_cut(&a, yy, xx) && sy >= 0 && sy < (int)H && sx >= 0 && sx < (int)W) {
                uint sq = (uint)(sy * (int)W + sx);
                float mc = 0.0f;
                for (uint cc = 0; cc < C; cc++) mc += x[cc * HW + sq];
                mc /= (float)C;
                v = a.k * a.s * x[(uint)c * HW + sq] + a.k * (1.0f - a.s) * mc +
                    (1.0f - a.k) * M + a.b;
            }
            y[j] = v;
        }
        return;
    }
    /* d(c, q) = dy at q shifted on by t, where that lies in the image outside the square */
    float m = 0.0f;
    for (uint j = t; j < N; j += AUG_WG) {
        int c = (int)(j / HW), q = (int)(j % HW), yy = q / (int)W + a.ty, xx = q % (int)W + a.tx;
        if (yy >= 0 && yy < (int)H && xx >= 0 && xx < (int)W && !aug_cut(&a, yy, xx))
            m += x[(uint)c * HW + (uint)(yy * (int)W + xx)];
    }
    float M = group_sum(m, sh, AUG_WG) / (float)N;
    for (uint j = t; j < N; j += AUG_WG) {
        int c = (int)(j / HW), q = (int)(j % HW), yy = q / (int)W + a.ty, xx = q % (int)W + a.tx;
        float v = 0.0f;
        if (yy >= 0 && yy < (int)H && xx >= 0 && xx < (int)W && !aug_cut(&a, yy, xx)) {
            uint sq = (uint)(yy * (int)W + xx);
            float mc = 0.0f;
            for (uint cc = 0; cc < C; cc++) mc += x[cc * HW + sq];
            mc /= (float)C;
            v = a.k * a.s * x[(uint)c * HW + sq] + a.k * (1.0f - a.s) * mc;
        }
        y[j] = v + (1.0f - a.k) * M;
    }
}
