/*
 * gemm.cl - the engine's SGEMM, register-tiled for devices where CLBlast's defaults are slow
 * (PoCL's CPU device: see ../shared/notes/gemm-on-pocl.md).
 *
 * Row-major: C[M][N] = alpha * op(A) op(B) + beta * C, offsets and leading dimensions in floats.
 *   gemm_nn: op(A) = A[M][K],   op(B) = B[K][N]   (dX = dY W)
 *   gemm_tn: op(A) = A[K][M]^T, op(B) = B[K][N]   (dW = dY^T X)
 *   gemm_nt: op(A) = A[M][K],   op(B) = B[N][K]^T (Y = X W^T)
 * nn/tn: each work-item computes GEMM_TM rows x 32 columns (16 at the last block) as outer
 * products, B rows loaded as float16; global = (ceil((N / 16) / 2), ceil(M / GEMM_TM)), columns
 * from N / 16 * 16 on are left to gemm_edge. nt: each work-item computes GEMM_NT_TM x GEMM_NT_TN dot
 * products along k in float16 lanes;
 * global = (ceil(N / GEMM_NT_TN), ceil(M / GEMM_NT_TM)); any M, N, K. Local size: any (1 is fastest
 * on PoCL's CPU device). beta == 0 never reads C.
 */
#ifndef GEMM_TM
#define GEMM_TM 8
#endif
#ifndef GEMM_NT_TM
#define GEMM_NT_TM 8
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

/* A_AT(m, k): element (m, k) of op(A). Two float16 column blocks per work-item. */
#define GEMM_OUTER(NAME, A_AT)                                                                     \
    __kernel void NAME(GEMM_ARGS) {                                                                \
        uint n0 = get_global_id(0) * 32, m0 = get_global_id(1) * GEMM_TM;                          \
        if (n0 + 16 > N || m0 >= M) return;                                                        \
        int two = n0 + 32 <= N;                                                                    \
        float16 acc0[GEMM_TM], acc1[GEMM_TM];                                                      \
        uint rows[GEMM_TM];                                                                        \
        for (uint i = 0; i < GEMM_TM; i++) {                                                       \
            acc0[i] = (float16)(0.0f);                                                             \
            acc1[i] = (float16)(0.0f);                                                             \
            rows[i] = min(m0 + i, M - 1);                                                          \
        }                                                                                          \
        const __global float *b = B + b_off + n0;                                                  \
        if (two) {                                                                                 \
            for (uint k = 0; k < K; k++, b += ldb) {                                               \
                float16 b0 = vload16(0, b), b1 = vload16(1, b);                                    \
                for (uint i = 0; i < GEMM_TM; i++) {                                               \
                    float a = A_AT(rows[i], k);                                                    \
                    acc0[i] = fma((float16)(a), b0, acc0[i]);                                      \
                    acc1[i] = fma((float16)(a), b1, acc1[i]);                                      \
                }                                                                                  \
            }                                                                                      \
        } else {                                                                                   \
            for (uint k = 0; k < K; k++, b += ldb) {                                               \
                float16 b0 = vload16(0, b);                                                        \
                for (uint i = 0; i < GEMM_TM; i++)                                                 \
                    acc0[i] = fma((float16)(A_AT(rows[i], k)), b0, acc0[i]);                       \
            }                                                                                      \
        }                                                                                          \
        for (uint i = 0; i < GEMM_TM && m0 + i < M; i++) {                                         \
            __global float *c = C + c_off + (size_t)(m0 + i) * ldc + n0;                           \
            store16(c, acc0[i], alpha, beta);                                                      \
            if (two) store16(c + 16, acc1[i], alpha, beta);                                        \
        }                                                                                          \
    }

#define A_NN(m, k) A[a_off + (size_t)(m) * lda + (k)]
#define A_TN(m, k) A[a_off + (size_t)(k) * lda + (m)]
GEMM_OUTER(gemm_nn, A_NN)
GEMM_OUTER(gemm_tn, A_TN)

__kernel void gemm_nt(GEMM_ARGS) {
    uint n0 = get_global_id(0) * GEMM_NT_TN, m0 = get_global_id(1) * GEMM_NT_TM;
    if (n0 >= N || m0 >= M) return;
    const __global float *a[GEMM_NT_TM], *b[GEMM_NT_TN];
    for (uint i = 0; i < GEMM_NT_TM; i++) a[i] = A + a_off + (size_t)min(m0 + i, M - 1) * lda;
    for (uint j = 0; j < GEMM_NT_TN; j++) b[j] = B + b_off + (size_t)min(n0 + j, N - 1) * ldb;
    float16 acc[GEMM_NT_TM][GEMM_NT_TN];
    for (uint i = 0; i < GEMM_NT_TM; i++)
        for (uint j = 0; j < GEMM_NT_TN; j++) acc[i][j] = (float16)(0.0f);
    uint k = 0;
    for (; k + 16 <= K; k += 16) {
        float16 av[GEMM_NT_TM], bv[GEMM_NT_TN];
        for (uint i = 0; i < GEMM_NT_TM; i++) av[i] = vload16(0, a[i] + k);
        for (uint j = 0; j < GEMM_NT_TN; j++) bv[j] = vload16(0, b[j] + k);
        for (uint i = 0; i < GEMM_NT_TM; i++)
            for (uint j = 0; j < GEMM_NT_TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    for (uint i = 0; i < GEMM_NT_TM && m0 + i < M; i++)
        for (uint j = 0; j < GEMM_NT_TN && n0 + j < N; j++) {
            float16 v = acc[i][j];
            float8 h8 = v.lo + v.hi;
            float4 h4 = h8.lo + h8.hi;
            float s = (h4.x + h4.y) + (h4.z + h4.w);
            for (uint kk = k; kk < K; kk++) s = fma(a[i][kk], b[j][kk], s);
            __global float *c = C + c_off + (size_t)(m0 + i) * ldc + n0 + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
}

/* Columns [n_first, N) of an nn or tn product, one work-item per value (trans_a: tn). */
__kernel void gemm_edge(GEMM_ARGS, uint n_first, uint trans_a) {
    uint n = n_first + get_global_id(0), m = get_global_id(1);
    if (n >= N || m >= M) return;
    float s = 0.0f;
    for (uint k = 0; k < K; k++)
        s = fma(trans_a ? A_TN(m, k) : A_NN(m, k), B[b_off + (size_t)k * ldb + n], s);
    __global float *c = C + c_off + (size_t)m * ldc + n;
    *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
}
