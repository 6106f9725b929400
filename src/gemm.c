/*
 * gemm.c - SGEMM on two paths: CLBlast (the only file that includes it) and the engine's
 * register-tiled kernels of cl/gemm.cl, chosen per device and shape by measured speed.
 *
 * Tuning decisions live in a small table per device, loaded from and saved to
 * <cache>/gemm-<key>.txt ("ta tb m n k path engine_us clblast_us" per line).
 */
#define _POSIX_C_SOURCE 200809L
#include "gemm.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEMM_MAX_TUNED 256

typedef struct tuned {
    int ta, tb;
    size_t m, n, k;
    gemm_path path;
} tuned;

struct gemm_state {
    cl_kernel k_nn, k_tn, k_nt, k_edge;
    tuned table[GEMM_MAX_TUNED];
    int n_tuned;
    int loaded;
    char path[1200];
};

static gemm_path forced(void) {
    const char *v = getenv("CLGAN_GEMM");
    if (v && strcmp(v, "engine") == 0) return GEMM_ENGINE;
    if (v && strcmp(v, "clblast") == 0) return GEMM_CLBLAST;
    return GEMM_AUTO;
}

static void table_path(clgan_device *dev, char *out, size_t len) {
    out[0] = '\0';
    if (!dev->cache_dir[0]) return;
    char key[1024];
    snprintf(key, sizeof key, "%s|%s|%s|%s", dev->info.platform_name, dev->info.name,
             dev->info.driver_version, dev->info.version);
    uint64_t h = hash_fnv1a(HASH_FNV_INIT, key, strlen(key));
    h = hash_fnv1a(h, cl_sources[0].text, 0); /* keep the key stable across builds */
    snprintf(out, len, "%s/gemm-%016llx.txt", dev->cache_dir, (unsigned long long)h);
}

static struct gemm_state *state(clgan_device *dev) {
    if (dev->gemm) return dev->gemm;
    struct gemm_state *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    dev->gemm = g;
    table_path(dev, g->path, sizeof g->path);
    FILE *f = g->path[0] ? fopen(g->path, "r") : NULL;
    if (f) {
        tuned t;
        int p;
        double e, c;
        while (g->n_tuned < GEMM_MAX_TUNED &&
               fscanf(f, "%d %d %zu %zu %zu %d %lf %lf", &t.ta, &t.tb, &t.m, &t.n, &t.k, &p, &e,
                      &c) == 8) {
            if (p != GEMM_ENGINE && p != GEMM_CLBLAST) continue; /* damaged line: measure again */
            t.path = (gemm_path)p;
            g->table[g->n_tuned++] = t;
        }
        fclose(f);
    }
    return g;
}

void gemm_release(clgan_device *dev) {
    struct gemm_state *g = dev->gemm;
    if (!g) return;
    cl_kernel ks[] = {g->k_nn, g->k_tn, g->k_nt, g->k_edge};
    for (size_t i = 0; i < ARRAY_LEN(ks); i++)
        if (ks[i]) clReleaseKernel(ks[i]);
    free(g);
    dev->gemm = NULL;
}

static gemm_path choose(clgan_device *dev, int ta, int tb, size_t m, size_t n, size_t k) {
    gemm_path f = forced();
    if (f != GEMM_AUTO) return f;
    struct gemm_state *g = state(dev);
    for (int i = 0; g && i < g->n_tuned; i++) {
        const tuned *t = &g->table[i];
        if (t->ta == ta && t->tb == tb && t->m == m && t->n == n && t->k == k) return t->path;
    }
    /* Untuned: CLBlast has no parameters for CPU devices, the engine's kernels target them. */
    return strcmp(dev->info.type, "CPU") == 0 ? GEMM_ENGINE : GEMM_CLBLAST;
}

static clgan_status engine_gemm(clgan_device *dev, int ta, int tb, size_t m, size_t n, size_t k,
                                float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b,
                                size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                                size_t ldc, const char *name, double flops) {
    struct gemm_state *g = state(dev);
    if (!g) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    if (ta && tb)
        return err_set(&dev->err, CLGAN_ERR_ARG, "GEMM with both operands transposed");
    clgan_status st = CLGAN_OK;
    if (!g->k_nn) {
        st = device_kernel(dev, "cl/gemm.cl", "gemm_nn", &g->k_nn);
        if (st == CLGAN_OK) st = device_kernel(dev, "cl/gemm.cl", "gemm_tn", &g->k_tn);
        if (st == CLGAN_OK) st = device_kernel(dev, "cl/gemm.cl", "gemm_nt", &g->k_nt);
        if (st == CLGAN_OK) st = device_kernel(dev, "cl/gemm.cl", "gemm_edge", &g->k_edge);
        if (st != CLGAN_OK) return st;
    }
    cl_uint M = (cl_uint)m, N = (cl_uint)n, K = (cl_uint)k, ao = (cl_uint)a_off,
            la = (cl_uint)lda, bo = (cl_uint)b_off, lb = (cl_uint)ldb, co = (cl_uint)c_off,
            lc = (cl_uint)ldc;
    karg args[] = {KA(M), KA(N), KA(K), KA(alpha), KA(a), KA(ao), KA(la), KA(b),
                   KA(bo), KA(lb), KA(beta), KA(c), KA(co), KA(lc)};
    /* the tile sizes cl/gemm.cl defaults to: GEMM_TM; GEMM_NT_TM x GEMM_NT_TN */
    const size_t tm = 8, tm_nt = 8, tn = 4;
    if (tb) {
        st = device_set_args(dev, g->k_nt, "gemm_nt", args, 14);
        size_t global[2] = {(n + tn - 1) / tn, (m + tm_nt - 1) / tm_nt}, local[2] = {1, 1};
        if (st == CLGAN_OK) st = device_run_nd(dev, g->k_nt, 2, global, local, name, flops);
        return st;
    }
    cl_kernel kk = ta ? g->k_tn : g->k_nn;
    size_t n16 = n / 16 * 16;
    if (n16 > 0) {
        st = device_set_args(dev, kk, ta ? "gemm_tn" : "gemm_nn", args, 14);
        size_t global[2] = {(n16 / 16 + 1) / 2, (m + tm - 1) / tm}, local[2] = {1, 1};
        if (st == CLGAN_OK) st = device_run_nd(dev, kk, 2, global, local, name,
                                                  flops * (double)n16 / (double)n);
    }
    if (st == CLGAN_OK && n16 < n) {
        cl_uint first = (cl_uint)n16, t = (cl_uint)ta;
        karg eargs[] = {KA(M), KA(N), KA(K), KA(alpha), KA(a), KA(ao), KA(la), KA(b),
                        KA(bo), KA(lb), KA(beta), KA(c), KA(co), KA(lc), KA(first), KA(t)};
        st = device_set_args(dev, g->k_edge, "gemm_edge", eargs, 16);
        size_t global[2] = {n - n16, m};
        if (st == CLGAN_OK) st = device_run_nd(dev, g->k_edge, 2, global, NULL, "gemm_edge",
                                                  flops * (double)(n - n16) / (double)n);
    }
    return st;
}

clgan_status gemm_on(clgan_device *dev, gemm_path path, int trans_a, int trans_b, size_t m,
                     size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b,
                     size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc) {
    if (m == 0 || n == 0) return CLGAN_OK;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    dev->gemm_flops += flops;
    char name[128];
    snprintf(name, sizeof name, "gemm %zux%zux%zu %s%s%s", m, n, k, trans_a ? "T" : "N",
             trans_b ? "T" : "N", path == GEMM_ENGINE ? "" : " clblast");
    if (path == GEMM_ENGINE)
        return engine_gemm(dev, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                           beta, c, c_off, ldc, name, flops);
    CLBlastStatusCode rc =
        CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                     trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_off,
                     lda, b, b_off, ldb, beta, c, c_off, ldc, &dev->queue,
                     device_prof_event(dev, name, flops));
    if (rc != CLBlastSuccess)
        return err_cl(&dev->err, (cl_int)rc, "CLBlastSgemm", "GEMM %zux%zux%zu (%s%s) on '%s'", m,
                      n, k, trans_a ? "T" : "N", trans_b ? "T" : "N", dev->info.name);
    return CLGAN_OK;
}

clgan_status gemm(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                  size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc) {
    return gemm_on(dev, choose(dev, trans_a, trans_b, m, n, k), trans_a, trans_b, m, n, k, alpha,
                   a, a_off, lda, b, b_off, ldb, beta, c, c_off, ldc);
}

/* Best of 3 timed runs after one warm-up (which also compiles CLBlast's kernels). */
static clgan_status time_path(clgan_device *dev, gemm_path p, int ta, int tb, size_t m, size_t n,
                              size_t k, cl_mem a, cl_mem b, cl_mem c, double *best) {
    size_t lda = ta ? m : k, ldb = tb ? k : n;
    *best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = clock_seconds();
        clgan_status st = gemm_on(dev, p, ta, tb, m, n, k, 1.0f, a, 0, lda, b, 0, ldb, 0.0f, c, 0, n);
        if (st == CLGAN_OK) st = device_finish(dev);
        if (st != CLGAN_OK) return st;
        if (r > 0 && clock_seconds() - t0 < *best) *best = clock_seconds() - t0;
    }
    return CLGAN_OK;
}

clgan_status gemm_tune(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                       gemm_path *chosen) {
    struct gemm_state *g = state(dev);
    if (!g) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_tuned; i++) {
        const tuned *t = &g->table[i];
        if (t->ta == trans_a && t->tb == trans_b && t->m == m && t->n == n && t->k == k) {
            if (chosen) *chosen = t->path;
            return CLGAN_OK;
        }
    }
    cl_mem a = NULL, b = NULL, c = NULL;
    clgan_status st = device_alloc(dev, m * k * 4, "GEMM tuning", &a);
    if (st == CLGAN_OK) st = device_alloc(dev, k * n * 4, "GEMM tuning", &b);
    if (st == CLGAN_OK) st = device_alloc(dev, m * n * 4, "GEMM tuning", &c);
    if (st == CLGAN_OK) st = device_fill(dev, a, 0, m * k * 4);
    if (st == CLGAN_OK) st = device_fill(dev, b, 0, k * n * 4);
    double te = 0, tc = 0;
    double f0 = dev->gemm_flops;
    if (st == CLGAN_OK) st = time_path(dev, GEMM_ENGINE, trans_a, trans_b, m, n, k, a, b, c, &te);
    if (st == CLGAN_OK) st = time_path(dev, GEMM_CLBLAST, trans_a, trans_b, m, n, k, a, b, c, &tc);
    dev->gemm_flops = f0; /* tuning is not the model's work */
    device_prof_reset(dev);
    device_release(dev, a);
    device_release(dev, b);
    device_release(dev, c);
    if (st != CLGAN_OK) return st;
    gemm_path p = te <= tc ? GEMM_ENGINE : GEMM_CLBLAST;
    if (g->n_tuned < GEMM_MAX_TUNED)
        g->table[g->n_tuned++] = (tuned){trans_a, trans_b, m, n, k, p};
    if (chosen) *chosen = p;
    if (g->path[0]) { /* append; a lost line only costs a measurement next time */
        FILE *f = fopen(g->path, "a");
        if (f) {
            fprintf(f, "%d %d %zu %zu %zu %d %.1f %.1f\n", trans_a, trans_b, m, n, k, (int)p,
                    te * 1e6, tc * 1e6);
            fclose(f);
        }
    }
    return CLGAN_OK;
}
