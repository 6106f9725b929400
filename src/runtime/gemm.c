/*
 * gemm.c - SGEMM on two paths: CLBlast (the only file that includes it) and the engine's
 * register-tiled kernels of cl/gemm.cl, chosen per device and shape by measured speed.
 *
 * Tuning decisions live in a small table per device, loaded from and saved to
 * <cache>/gemm3-<key>.txt ("ta tb m n k path config engine_us clblast_us" per line), where
 * config is the engine's tile sizes (variants[] below, passed to cl/gemm.cl as -D build options)
 * and work-group shape (locals[]) that measured fastest: config = variant * N_LOCALS + local.
 */
#define _POSIX_C_SOURCE 200809L
#include "gemm.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct tuned {
    int ta, tb;
    size_t m, n, k;
    gemm_path path;
    int config; /* engine tile sizes and work-group shape (see the header) */
} tuned;

/* Tile sizes of cl/gemm.cl tried by gemm_tune: rows per nn/tn work-item; nt rows x columns. */
typedef struct gemm_variant {
    int tm, nt_tm, nt_tn;
} gemm_variant;
static const gemm_variant variants[] = {{8, 4, 4}, {12, 2, 8}, {6, 4, 6}};
#define N_VARIANTS ((int)ARRAY_LEN(variants))

/*
 * Work-group shapes tried with the fastest tiles. One work-item per group is best where a
 * work-item has much to do; on small products (K = 100) PoCL's cost per group shows, and
 * grouping 4 work-items doubled the speed of 100x1200x100 NT; the one-unit output layer's
 * products (K = 1 or N = 1) run 1.5-3x faster as one or two large groups (16x8).
 */
static const size_t locals[][2] = {{1, 1}, {1, 4}, {4, 1}, {16, 8}};
#define N_LOCALS ((int)ARRAY_LEN(locals))
#define N_CONFIGS (N_VARIANTS * N_LOCALS)

typedef struct engine_kernels {
    cl_program prog;
    cl_kernel k_nn, k_tn, k_nt;
    size_t max_group; /* the smallest CL_KERNEL_WORK_GROUP_SIZE of the three */
} engine_kernels;

struct gemm_state {
    gemm_path forced; /* $CLGAN_GEMM, read once */
    engine_kernels ek[N_VARIANTS];
    tuned *table;     /* grows: every shape a process meets is remembered */
    int n_tuned, cap_tuned;
    char *path;       /* the tuning file, NULL without a cache folder */
};

/* Remembers a decision; 0 when memory runs out (the shape is then measured again next time). */
static int table_add(struct gemm_state *g, tuned t) {
    if (g->n_tuned == g->cap_tuned) {
        int cap = g->cap_tuned ? 2 * g->cap_tuned : 64;
        tuned *v = realloc(g->table, (size_t)cap * sizeof *v);
        if (!v) return 0;
        g->table = v;
        g->cap_tuned = cap;
    }
    g->table[g->n_tuned++] = t;
    return 1;
}

static gemm_path read_forced(void) {
    const char *v = getenv("CLGAN_GEMM");
    if (v && strcmp(v, "engine") == 0) return GEMM_ENGINE;
    if (v && strcmp(v, "clblast") == 0) return GEMM_CLBLAST;
    return GEMM_AUTO;
}

static char *table_path(clgan_device *dev) {
    if (!dev->cache_dir || !dev->cache_dir[0]) return NULL;
    char key[1024];
    snprintf(key, sizeof key, "%s|%s|%s|%s", dev->info.platform_name, dev->info.name,
             dev->info.driver_version, dev->info.version);
    uint64_t h = hash_fnv1a(HASH_FNV_INIT, key, strlen(key));
    return str_fmt("%s/gemm3-%016llx.txt", dev->cache_dir, (unsigned long long)h);
}

static struct gemm_state *state(clgan_device *dev) {
    if (dev->gemm) return dev->gemm;
    struct gemm_state *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    dev->gemm = g;
    g->forced = read_forced();
    g->path = table_path(dev);
    char *text = NULL;
    /* a lost or damaged table only costs measurements: read what is readable, skip the rest */
    if (g->path && file_read_all(g->path, 64u << 20, &text, NULL, NULL) == CLGAN_OK) {
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            tuned t;
            int p, used = 0;
            double e, c;
            if (sscanf(line, "%d %d %zu %zu %zu %d %d %lf %lf%n", &t.ta, &t.tb, &t.m, &t.n, &t.k,
                       &p, &t.config, &e, &c, &used) == 9 &&
                line[used] == '\0' && (p == GEMM_ENGINE || p == GEMM_CLBLAST) && t.config >= 0 &&
                t.config < N_CONFIGS) {
                t.path = (gemm_path)p;
                if (!table_add(g, t)) break;
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    free(text);
    return g;
}

void gemm_release(clgan_device *dev) {
    /* CLBlast caches programs per context in a static table: released at exit, after clgan
     * released their context, they crash (Oclgrind: "corrupted double-linked list"). Empty it
     * while the context lives. */
    CLBlastClearCache();
    struct gemm_state *g = dev->gemm;
    if (!g) return;
    for (int v = 0; v < N_VARIANTS; v++) {
        engine_kernels *e = &g->ek[v];
        cl_kernel ks[] = {e->k_nn, e->k_tn, e->k_nt};
        for (size_t i = 0; i < ARRAY_LEN(ks); i++)
            if (ks[i]) clReleaseKernel(ks[i]);
        if (e->prog) clReleaseProgram(e->prog);
    }
    free(g->table);
    free(g->path);
    free(g);
    dev->gemm = NULL;
}

/* The decision remembered for a shape, or NULL. */
static const tuned *find_tuned(const struct gemm_state *g, int ta, int tb, size_t m, size_t n,
                               size_t k) {
    for (int i = 0; g && i < g->n_tuned; i++) {
        const tuned *t = &g->table[i];
        if (t->ta == ta && t->tb == tb && t->m == m && t->n == n && t->k == k) return t;
    }
    return NULL;
}

static gemm_path choose(clgan_device *dev, int ta, int tb, size_t m, size_t n, size_t k,
                        int *config) {
    *config = 0;
    struct gemm_state *g = state(dev);
    gemm_path forced = g ? g->forced : read_forced();
    const tuned *t = find_tuned(g, ta, tb, m, n, k);
    if (t) {
        *config = t->config;
        return forced != GEMM_AUTO ? forced : t->path;
    }
    if (forced != GEMM_AUTO) return forced;
    /* Untuned: CLBlast has no parameters for CPU devices, the engine's kernels target them. */
    return strcmp(dev->info.type, "CPU") == 0 ? GEMM_ENGINE : GEMM_CLBLAST;
}

static clgan_status engine_kernels_of(clgan_device *dev, int v, engine_kernels **out) {
    struct gemm_state *g = state(dev);
    if (!g) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    engine_kernels *e = &g->ek[v];
    *out = e;
    if (e->k_nn) return CLGAN_OK;
    char defs[128];
    snprintf(defs, sizeof defs, "-DGEMM_TM=%d -DGEMM_NT_TM=%d -DGEMM_NT_TN=%d", variants[v].tm,
             variants[v].nt_tm, variants[v].nt_tn);
    clgan_status st = device_program_defines(dev, "cl/gemm.cl", defs, &e->prog);
    static const char *const names[3] = {"gemm_nn", "gemm_tn", "gemm_nt"};
    cl_kernel *const ks[3] = {&e->k_nn, &e->k_tn, &e->k_nt};
    if (st == CLGAN_OK) st = device_create_kernels(dev, e->prog, "cl/gemm.cl", defs, names, ks, 3);
    e->max_group = (size_t)-1;
    for (int i = 0; i < 3 && st == CLGAN_OK; i++) {
        /* a GPU may allow fewer work-items per group for kernels with this many registers */
        size_t wg = 0;
        if (clGetKernelWorkGroupInfo(*ks[i], dev->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg,
                                     NULL) == CL_SUCCESS &&
            wg > 0 && wg < e->max_group)
            e->max_group = wg;
    }
    return st;
}

/* Rounds n up to a multiple of q. */
static size_t round_up(size_t n, size_t q) {
    return (n + q - 1) / q * q;
}

static clgan_status engine_gemm(clgan_device *dev, int config, int ta, int tb, size_t m, size_t n,
                                size_t k, float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b,
                                size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                                size_t ldc, const char *name, double flops) {
    if (ta && tb) return err_set(&dev->err, CLGAN_ERR_ARG, "GEMM with both operands transposed");
    int variant = config / N_LOCALS;
    const size_t *local = locals[config % N_LOCALS];
    engine_kernels *ek = NULL;
    clgan_status st = engine_kernels_of(dev, variant, &ek);
    if (st != CLGAN_OK) return st;
    if (local[0] * local[1] > ek->max_group) local = locals[0]; /* (the tuner never picks it) */
    cl_uint M = (cl_uint)m, N = (cl_uint)n, K = (cl_uint)k, ao = (cl_uint)a_off, la = (cl_uint)lda,
            bo = (cl_uint)b_off, lb = (cl_uint)ldb, co = (cl_uint)c_off, lc = (cl_uint)ldc;
    karg args[] = {KA(M), KA(N),  KA(K),  KA(alpha), KA(a), KA(ao), KA(la),
                   KA(b), KA(bo), KA(lb), KA(beta),  KA(c), KA(co), KA(lc)};
    const size_t tm = (size_t)variants[variant].tm, tm_nt = (size_t)variants[variant].nt_tm,
                 tn = (size_t)variants[variant].nt_tn;
    if (tb) {
        st = device_set_args(dev, ek->k_nt, "gemm_nt", args, 14);
        size_t global[2] = {round_up((m + tm_nt - 1) / tm_nt, local[0]),
                            round_up((n + tn - 1) / tn, local[1])};
        if (st == CLGAN_OK) st = device_run_nd(dev, ek->k_nt, 2, global, local, name, flops);
        return st;
    }
    cl_kernel kk = ta ? ek->k_tn : ek->k_nn;
    st = device_set_args(dev, kk, ta ? "gemm_tn" : "gemm_nn", args, 14);
    size_t global[2] = {round_up((m + tm - 1) / tm, local[0]), round_up((n + 31) / 32, local[1])};
    if (st == CLGAN_OK) st = device_run_nd(dev, kk, 2, global, local, name, flops);
    return st;
}

static clgan_status gemm_run(clgan_device *dev, gemm_path path, int config, int trans_a,
                             int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                             size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb,
                             float beta, cl_mem c, size_t c_off, size_t ldc) {
    if (m == 0 || n == 0) return CLGAN_OK;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    dev->gemm_flops += flops;
    char name[128];
    snprintf(name, sizeof name, "gemm %zux%zux%zu %s%s%s", m, n, k, trans_a ? "T" : "N",
             trans_b ? "T" : "N", path == GEMM_ENGINE ? "" : " clblast");
    if (path == GEMM_ENGINE)
        return engine_gemm(dev, config, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off,
                           ldb, beta, c, c_off, ldc, name, flops);
    CLBlastStatusCode rc = CLBlastSgemm(
        CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_off, lda, b, b_off,
        ldb, beta, c, c_off, ldc, &dev->queue, device_prof_event(dev, name, flops));
    if (rc != CLBlastSuccess)
        return err_cl(&dev->err, (cl_int)rc, "CLBlastSgemm", "GEMM %zux%zux%zu (%s%s) on '%s'", m,
                      n, k, trans_a ? "T" : "N", trans_b ? "T" : "N", dev->info.name);
    return CLGAN_OK;
}

clgan_status gemm_on(clgan_device *dev, gemm_path path, int trans_a, int trans_b, size_t m,
                     size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b,
                     size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc) {
    return gemm_run(dev, path, 0, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                    beta, c, c_off, ldc);
}

int gemm_n_configs(void) {
    return N_CONFIGS;
}

const char *gemm_config_name(int config) {
    static char names[N_CONFIGS][48];
    if (config < 0 || config >= N_CONFIGS) return "?";
    const gemm_variant *v = &variants[config / N_LOCALS];
    const size_t *l = locals[config % N_LOCALS];
    snprintf(names[config], sizeof names[config], "%dx32 nt %dx%d, group %zux%zu", v->tm, v->nt_tm,
             v->nt_tn, l[0], l[1]);
    return names[config];
}

clgan_status gemm_on_config(clgan_device *dev, int config, int trans_a, int trans_b, size_t m,
                            size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                            cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                            size_t ldc) {
    if (config < 0 || config >= N_CONFIGS)
        return err_set(&dev->err, CLGAN_ERR_ARG, "GEMM engine configuration %d of %d", config,
                       N_CONFIGS);
    return gemm_run(dev, GEMM_ENGINE, config, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b,
                    b_off, ldb, beta, c, c_off, ldc);
}

clgan_status gemm(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                  size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc) {
    int config;
    gemm_path p = choose(dev, trans_a, trans_b, m, n, k, &config);
    return gemm_run(dev, p, config, trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off, ldb,
                    beta, c, c_off, ldc);
}

/* Best of 3 timed runs after one warm-up (which also compiles CLBlast's kernels). */
static clgan_status time_path(clgan_device *dev, gemm_path p, int config, int ta, int tb, size_t m,
                              size_t n, size_t k, cl_mem a, cl_mem b, cl_mem c, double *best) {
    size_t lda = ta ? m : k, ldb = tb ? k : n;
    *best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = clock_seconds();
        clgan_status st =
            gemm_run(dev, p, config, ta, tb, m, n, k, 1.0f, a, 0, lda, b, 0, ldb, 0.0f, c, 0, n);
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
    const tuned *known = find_tuned(g, trans_a, trans_b, m, n, k);
    if (known) {
        if (chosen) *chosen = g->forced != GEMM_AUTO ? g->forced : known->path;
        return CLGAN_OK;
    }
    if (g->forced != GEMM_AUTO) { /* $CLGAN_GEMM decides: nothing to measure (Oclgrind, tests) */
        if (chosen) *chosen = g->forced;
        return CLGAN_OK;
    }
    cl_mem a = NULL, b = NULL, c = NULL;
    clgan_status st = device_alloc(dev, m * k * 4, "GEMM tuning", &a);
    if (st == CLGAN_OK) st = device_alloc(dev, k * n * 4, "GEMM tuning", &b);
    if (st == CLGAN_OK) st = device_alloc(dev, m * n * 4, "GEMM tuning", &c);
    if (st == CLGAN_OK) st = device_fill(dev, a, 0, m * k * 4);
    if (st == CLGAN_OK) st = device_fill(dev, b, 0, k * n * 4);
    double te = 1e30, tc = 0;
    int best = 0;
    double f0 = dev->gemm_flops;
    /* the tiles with one work-item per group, then the other group shapes with the best tiles */
    for (int v = 0; v < N_VARIANTS && st == CLGAN_OK; v++) {
        double t;
        st = time_path(dev, GEMM_ENGINE, v * N_LOCALS, trans_a, trans_b, m, n, k, a, b, c, &t);
        if (st == CLGAN_OK && t < te) {
            te = t;
            best = v * N_LOCALS;
        }
    }
    for (int l = 1, v = best / N_LOCALS; l < N_LOCALS && st == CLGAN_OK; l++) {
        engine_kernels *ek;
        st = engine_kernels_of(dev, v, &ek);
        if (st != CLGAN_OK || locals[l][0] * locals[l][1] > ek->max_group) continue;
        double t;
        st = time_path(dev, GEMM_ENGINE, v * N_LOCALS + l, trans_a, trans_b, m, n, k, a, b, c, &t);
        if (st == CLGAN_OK && t < te) {
            te = t;
            best = v * N_LOCALS + l;
        }
    }
    if (st == CLGAN_OK)
        st = time_path(dev, GEMM_CLBLAST, 0, trans_a, trans_b, m, n, k, a, b, c, &tc);
    dev->gemm_flops = f0; /* tuning is not the model's work */
    device_prof_reset(dev);
    device_release(dev, a);
    device_release(dev, b);
    device_release(dev, c);
    if (st != CLGAN_OK) return st;
    gemm_path p = te <= tc ? GEMM_ENGINE : GEMM_CLBLAST;
    table_add(g, (tuned){trans_a, trans_b, m, n, k, p, best});
    if (chosen) *chosen = p;
    if (g->path) { /* append; a lost line only costs a measurement next time */
        FILE *f = fopen(g->path, "a");
        if (f) {
            fprintf(f, "%d %d %zu %zu %zu %d %d %.1f %.1f\n", trans_a, trans_b, m, n, k, (int)p,
                    best, te * 1e6, tc * 1e6);
            fclose(f);
        }
    }
    return CLGAN_OK;
}
