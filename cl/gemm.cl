/*
 * gemm.cl - the engine's SGEMM, register-tiled for devices where CLBlast's defaults are slow
 * (PoCL's CPU device: see ../shared/notes/gemm-on-pocl.md).
 *
 * Row-major: C[M][N] = alpha * op(A) op(B) + beta * C, offsets and leading dimensions in floats.
 *   gemm_nn: op(A) = A[M][K],   op(B) = B[K][N]   (dX = dY W)
 *   gemm_tn: op(A) = A[K][M]^T, op(B) = B[K][N]   (dW = dY^T X)
 *   gemm_nt: op(A) = A[M][K],   op(B) = B[N][K]^T (Y = X W^T)
 * nn/tn: each work-item computes GEMM_TM rows x 16 columns as outer products, B rows loaded as
 * two float8; global = (N / 16, ceil(M / GEMM_TM)), columns from N / 16 * 16 on are left to
 * gemm_edge. nt: each work-item computes GEMM_TM x GEMM_TN dot products along k in float8 lanes;
 * global = (ceil(N / GEMM_TN), ceil(M / GEMM_TM)); any M, N, K. Local size: any (1 is fastest
 * on PoCL's CPU device). beta == 0 never reads C.
 */
#ifndef GEMM_TM
#define GEMM_TM 4
#endif
#ifndef GEMM_TN
#define GEMM_TN 4
#endif

#define GEMM_ARGS                                                                                  \
    uint M, uint N, uint K, float alpha, const __global float *restrict A, uint a_off, uint lda,   \
        const __global float *restrict B, uint b_off, uint ldb, float beta, __global float *C,     \
        uint c_off, uint ldc

inline void store16(__global float *c, float8 v0, float8 v1, float alpha, float beta) {
    if (beta == 0.0f) {
        vstore8(alpha * v0, 0, c);
        vstore8(alpha * v1, 1, c);
    } else {
        vstore8(alpha * v0 + beta * vload8(0, c), 0, c);
        vstore8(alpha * v1 + beta * vload8(1, c), 1, c);
    }
}

/* A_AT(m, k): element (m, k) of op(A) */
#define GEMM_OUTER(NAME, A_AT)                                                                     \
    __kernel void NAME(GEMM_ARGS) {                                                                \
        uint n0 = get_global_id(0) * 16, m0 = get_global_id(1) * GEMM_TM;                          \
        if (n0 + 16 > N || m0 >= M) return;                                                        \
        float8 acc0[GEMM_TM], acc1[GEMM_TM];                                                       \
        uint rows[GEMM_TM];                                                                        \
        for (uint i = 0; i < GEMM_TM; i++) {                                                       \
            acc0[i] = (float8)(0.0f);                                                              \
            acc1[i] = (float8)(0.0f);                                                              \
            rows[i] = min(m0 + i, M - 1);                                                          \
        }                                                                                          \
        const __global float *b = B + b_off + n0;                                                  \
        for (uint k = 0; k < K; k++, b += ldb) {                                                   \
            float8 b0 = vload8(0, b), b1 = vload8(1, b);                                           \
            for (uint i = 0; i < GEMM_TM; i++) {                                                   \
                float a = A_AT(rows[i], k);                                                        \
                acc0[i] = fma((float8)(a), b0, acc0[i]);                                           \
                acc1[i] = fma((float8)(a), b1, acc1[i]);                                           \
            }                                                                                      \
        }                                                                                          \
        for (uint i = 0; i < GEMM_TM && m0 + i < M; i++)                                           \
            store16(C + c_off + (size_t)(m0 + i) * ldc + n0, acc0[i], acc1[i], alpha, beta);       \
    }

#define A_NN(m, k) A[a_off + (size_t)(m) * lda + (k)]
#define A_TN(m, k) A[a_off + (size_t)(k) * lda + (m)]
GEMM_OUTER(gemm_nn, A_NN)
GEMM_OUTER(gemm_tn, A_TN)

__kernel void gemm_nt(GEMM_ARGS) {
    uint n0 = get_global_id(0) * GEMM_TN, m0 = get_global_id(1) * GEMM_TM;
    if (n0 >= N || m0 >= M) return;
    const __global float *a[GEMM_TM], *b[GEMM_TN];
    for (uint i = 0; i < GEMM_TM; i++) a[i] = A + a_off + (size_t)min(m0 + i, M - 1) * lda;
    for (uint j = 0; j < GEMM_TN; j++) b[j] = B + b_off + (size_t)min(n0 + j, N - 1) * ldb;
    float8 acc[GEMM_TM][GEMM_TN];
    for (uint i = 0; i < GEMM_TM; i++)
        for (uint j = 0; j < GEMM_TN; j++) acc[i][j] = (float8)(0.0f);
    uint k = 0;
    for (; k + 8 <= K; k += 8) {
        float8 av[GEMM_TM], bv[GEMM_TN];
        for (uint i = 0; i < GEMM_TM; i++) av[i] = vload8(0, a[i] + k);
        for (uint j = 0; j < GEMM_TN; j++) bv[j] = vload8(0, b[j] + k);
        for (uint i = 0; i < GEMM_TM; i++)
            for (uint j = 0; j < GEMM_TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    for (uint i = 0; i < GEMM_TM && m0 + i < M; i++)
        for (uint j = 0; j < GEMM_TN && n0 + j < N; j++) {
            float8 v = acc[i][j];
            float s = (v.s0 + v.s1) + (v.s2 + v.s3) + (v.s4 + v.s5) + (v.s6 + v.s7);
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
