/*
 * gemm.cl - the engine's SGEMM, register-tiled for devices where CLBlast's defaults are slow
 * (PoCL's CPU device; measurements in docs/benchmarks.md).
 *
 * Row-major: C[M][N] = alpha * op(A) op(B) + beta * C, offsets and leading dimensions in floats.
 *   gemm_nn: op(A) = A[M][K],   op(B) = B[K][N]   (dX = dY W)
 *   gemm_tn: op(A) = A[K][M]^T, op(B) = B[K][N]   (dW = dY^T X)
 *   gemm_nt: op(A) = A[M][K],   op(B) = B[N][K]^T (Y = X W^T)
 * nn/tn: each work-item computes GEMM_TM rows x 32 columns (fewer at the last block) as outer
 * products, B rows loaded as float16; global = (ceil(M / GEMM_TM), ceil(N / 32)); any M, N, K. nt: each work-item computes GEMM_NT_TM x GEMM_NT_TN
 * dot products along k in float16 lanes; global = (ceil(M / GEMM_NT_TM), ceil(N / GEMM_NT_TN));
 * any M, N, K. Rows run along dimension 0 so that neighbouring work-items share their B panel
 * while it is in cache. Local size: any (1 is fastest on PoCL's CPU device). beta == 0 never
 * reads C.
 *
 * The tiles are written out with the REP macros rather than as loops over arrays: PoCL's
 * compiler leaves such loops rolled and keeps the accumulators in memory, which halved the speed.
 * A tile at the bottom edge is moved up to end at row M - 1 (when M >= its height) and stores only
 * the rows no other work-item stores.
 */
#ifndef GEMM_TM
#define GEMM_TM 8
#endif
#ifndef GEMM_NT_TM
#define GEMM_NT_TM 4
#endif
#ifndef GEMM_NT_TN
#define GEMM_NT_TN 4
#endif


#define GEMM_ARGS                                                                                  \
    uint M, uint N, uint K, float alpha, const __global float *restrict A, uint a_off, uint lda,   \
        const __global float *restrict B, uint b_off, uint ldb, float beta, __global float *C,     \
        uint c_off, uint ldc

inline void store16(__global float *c, float16 v, float alpha, float beta) {
    if (beta == 0.0f)
        vstore16(alpha * v, 0, c);
    else
        vstore16(alpha * v + beta * vload16(0, c), 0, c);
}

inline void store1(__global float *c, float v, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * v : alpha * v + beta * *c;
}

inline void store_part(__global float *c, float16 v, uint cnt, float alpha, float beta) {
    if (cnt >= 16) {
        store16(c, v, alpha, beta);
        return;
    }
    float t[16];
    vstore16(v, 0, t);
    for (uint i = 0; i < cnt; i++) store1(c + i, t[i], alpha, beta);
}

/* nn/tn: row i of the tile reads op(A)(m, k) at A[a_off + m * ROW_STRIDE + k * K_STRIDE]. */
#define OUTER_DECL(i)                                                                              \
    float16 c0_##i = (float16)(0.0f), c1_##i = (float16)(0.0f);                                     \
    const size_t o##i = (size_t)min(mb + i, M - 1) * rs;
#define OUTER_STEP2(i)                                                                             \
    {                                                                                              \
        float16 av = (float16)(a[o##i]);                                                           \
        c0_##i = fma(av, b0, c0_##i);                                                              \
        c1_##i = fma(av, b1, c1_##i);                                                              \
    }
#define OUTER_STEP1(i) c0_##i = fma((float16)(a[o##i]), b0, c0_##i);
#define OUTER_STORE(i)                                                                             \
    if (mb + i >= m0 && mb + i < M) {                                                              \
        __global float *c = C + c_off + (size_t)(mb + i) * ldc + n0;                               \
        store_part(c, c0_##i, min(cols, 16u), alpha, beta);                                        \
        if (cols > 16) store_part(c + 16, c1_##i, cols - 16, alpha, beta);                         \
    }

#define GEMM_OUTER(NAME, ROW_STRIDE, K_STRIDE)                                                     \
    __kernel void NAME(GEMM_ARGS) {                                                                \
        uint m0 = get_global_id(0) * GEMM_TM, n0 = get_global_id(1) * 32;                          \
        if (n0 >= N || m0 >= M) return;                                                            \
        uint mb = tile_base(m0, GEMM_TM, M), cols = min(32u, N - n0);                              \
        const size_t rs = ROW_STRIDE, ks = K_STRIDE;                                               \
        REP(GEMM_TM, OUTER_DECL)                                                                   \
        const __global float *a = A + a_off, *b = B + b_off + n0;                                  \
        if (cols == 32) {                                                                          \
            for (uint k = 0; k < K; k++, a += ks, b += ldb) {                                      \
                float16 b0 = vload16(0, b), b1 = vload16(1, b);                                    \
                REP(GEMM_TM, OUTER_STEP2)                                                          \
            }                                                                                      \
        } else if (cols == 16) {                                                                   \
            for (uint k = 0; k < K; k++, a += ks, b += ldb) {                                      \
                float16 b0 = vload16(0, b);                                                        \
                REP(GEMM_TM, OUTER_STEP1)                                                          \
            }                                                                                      \
        } else { /* the last block of a width that is not a multiple of 16 */                      \
            for (uint k = 0; k < K; k++, a += ks, b += ldb) {                                      \
                float16 b0 = vload16_part(b, min(cols, 16u));                                      \
                float16 b1 = vload16_part(b + 16, cols > 16 ? cols - 16 : 0);                      \
                REP(GEMM_TM, OUTER_STEP2)                                                          \
            }                                                                                      \
        }                                                                                          \
        REP(GEMM_TM, OUTER_STORE)                                                                  \
    }

GEMM_OUTER(gemm_nn, lda, 1)
GEMM_OUTER(gemm_tn, 1, lda)

/* nt: accumulator (i, j) holds 16 partial sums of row i of A times row j of B. */
#define NT_DECL_J(i, j) float16 s##i##_##j = (float16)(0.0f);
#define NT_DECL(i)                                                                                 \
    const __global float *a##i = A + a_off + (size_t)min(mb + i, M - 1) * lda;                     \
    REPJ(GEMM_NT_TN, NT_DECL_J, i)
#define NT_BROW(j) const __global float *b##j = B + b_off + (size_t)min(nb + j, N - 1) * ldb;
#define NT_LOADB(j) float16 bv##j = vload16(0, b##j + k);
#define NT_FMA_J(i, j) s##i##_##j = fma(av, bv##j, s##i##_##j);
#define NT_STEP(i)                                                                                 \
    {                                                                                              \
        float16 av = vload16(0, a##i + k);                                                         \
        REPJ(GEMM_NT_TN, NT_FMA_J, i)                                                              \
    }
#define NT_STEP_MASKED(i)                                                                          \
    {                                                                                              \
        float16 av = select((float16)(0.0f), vload16(0, a##i + k), keep);                          \
        REPJ(GEMM_NT_TN, NT_FMA_J, i)                                                              \
    }
#define NT_STORE_J(i, j)                                                                           \
    if (nb + j >= n0 && nb + j < N) {                                                              \
        float s = hsum16(s##i##_##j);                                                              \
        for (uint kk = k; kk < K; kk++) s = fma(a##i[kk], b##j[kk], s);                           \
        store1(C + c_off + (size_t)(mb + i) * ldc + nb + j, s, alpha, beta);                       \
    }
#define NT_STORE(i)                                                                                \
    if (mb + i >= m0 && mb + i < M) {                                                              \
        REPJ(GEMM_NT_TN, NT_STORE_J, i)                                                            \
    }

__kernel void gemm_nt(GEMM_ARGS) {
    uint m0 = get_global_id(0) * GEMM_NT_TM, n0 = get_global_id(1) * GEMM_NT_TN;
    if (n0 >= N || m0 >= M) return;
    uint mb = tile_base(m0, GEMM_NT_TM, M), nb = tile_base(n0, GEMM_NT_TN, N);
    REP(GEMM_NT_TM, NT_DECL)
    REP(GEMM_NT_TN, NT_BROW)
    uint k = 0;
    for (; k + 16 <= K; k += 16) {
        REP(GEMM_NT_TN, NT_LOADB)
        REP(GEMM_NT_TM, NT_STEP)
    }
    if (k < K && K >= 16) { /* the last 16 values again, those already summed masked off in A */
        const int16 keep = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >=
                           (int16)(k + 16 - K);
        k = K - 16;
        REP(GEMM_NT_TN, NT_LOADB)
        REP(GEMM_NT_TM, NT_STEP_MASKED)
        k = K;
    }
    REP(GEMM_NT_TM, NT_STORE)
}
