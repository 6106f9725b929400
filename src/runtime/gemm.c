/*
 * gemm.c - SGEMM on two paths: CLBlast (the only file that includes it) and the engine's
 * register-tiled kernels of cl/gemm.cl, chosen per device and shape by measured speed.
 *
 * Tuning decisions live in a small table per device, loaded from and saved to
 * <cache>/gemm3-<key>.txt ("ta tb m n k path config engine_us clblast_us" per line), where
 * config is the engine's tile sizes (variants[] below, passed to cl/gemm.cl as -D build options)
 * and work-group shape (locals[]) that measured fastest: config = variant * N_LOCALS + local.
 * A path whose product was wrong is recorded with -1 as its time. Lines "b variant seconds"
 * record how long a variant's kernels took to build on this driver.
 *
 * Every path a shape is tuned on is checked against the host (double) at sampled entries of a
 * product of random operands, the corners and the last row and column among them: a path that
 * disagrees is never chosen for that shape on that device (gemm_notes says which and by how
 * much), and a shape no path computes right fails the tuning with that message. A driver whose
 * compiler takes longer than GEMM_BUILD_BUDGET_S for one variant's kernels (Mesa's rusticl:
 * minutes for the larger tiles) gets no larger variant: variants are built cheapest first.
 */
#define _POSIX_C_SOURCE 200809L
#include "gemm.h"
#include "rng.h"

#include <clblast_c.h>
#include <math.h>
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
static const gemm_variant variants[] = {{8, 4, 4}, {12, 2, 8}, {6, 4, 6}, {2, 2, 2}};
#define N_VARIANTS ((int)ARRAY_LEN(variants))
/*
 * The variants in the order of their build times on Mesa's rusticl (llvmpipe, which compiles a
 * kernel at its first launch: 2x32 nt 2x2 in 4-8 s a kernel, 8x32 nt 4x4 in 55-96 s, 6x32
 * nt 4x6 in 41-174 s, 12x32 nt 2x8 past 13 minutes); PoCL builds each in about a second.
 * A variant's cost is its build plus the slowest first launch of its kernels seen. They are
 * built in this order, each only while the one before cost at most GEMM_SLOW_BUILD_S: past
 * that, the driver's compiler is one the larger tiles would keep from starting for minutes.
 * One that costs more than GEMM_BUILD_BUDGET_S is never chosen. Costs are remembered in the
 * tuning file. Mesa's drivers get the cheapest alone: Mesa keeps compiled kernels in a cache
 * of its own, which makes a variant it holds build fast and tells nothing of the next, so a
 * tuning file started afresh beside a warm Mesa cache (every test's) would walk up the order
 * one slow build at a time to the 12x32 tiles.
 */
static const int build_order[N_VARIANTS] = {3, 0, 2, 1};
#define GEMM_SLOW_BUILD_S 5.0
#define GEMM_BUILD_BUDGET_S 10.0
/* The check of a path against the host: sampled entries, and how far they may be off (the
 * operands are uniform on [-1, 1]; a float sum of k products errs by about 1e-7 sqrt(k)). */
#define GEMM_CHECK_SAMPLES 64
#define GEMM_CHECK_TOL(k, want) (1e-4 * sqrt((double)(k)) + 1e-4 * fabs(want))

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
    double build_s[N_VARIANTS]; /* each variant's cost: its build or the slowest first launch
                                   of its kernels, seconds (0: unknown) */
    char *notes;                /* the paths refused so far, a line each (malloc'd; NULL: none) */
    int said_slow;    /* the notes say the driver builds too slowly for the larger tiles */
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
            int p, used = 0, v;
            double e, c, bs;
            if (sscanf(line, "b %d %lf%n", &v, &bs, &used) == 2 && line[used] == '\0' && v >= 0 &&
                v < N_VARIANTS && bs > 0) {
                g->build_s[v] = fmax(g->build_s[v], bs);
            } else if (sscanf(line, "%d %d %zu %zu %zu %d %d %lf %lf%n", &t.ta, &t.tb, &t.m, &t.n,
                              &t.k, &p, &t.config, &e, &c, &used) == 9 &&
                       line[used] == '\0' && (p == GEMM_ENGINE || p == GEMM_CLBLAST) &&
                       t.config >= 0 && t.config < N_CONFIGS) {
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
    free(g->notes);
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

/* Whether dev is one of Mesa's OpenCL drivers (rusticl, Clover): see build_order. */
static int mesa_driver(const clgan_device *dev) {
    return strstr(dev->info.platform_name, "rusticl") ||
           strstr(dev->info.platform_name, "Clover") || strstr(dev->info.vendor, "Mesa");
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
    /* Untuned: CLBlast has no parameters for CPU devices, the engine's kernels target them;
     * but not where their build was too slow, nor on Mesa's drivers, whose compiler takes
     * minutes over configuration 0's tiles (see build_order) */
    int slow = mesa_driver(dev);
    for (int v = 0; g && v < N_VARIANTS; v++)
        slow |= g->build_s[v] > GEMM_BUILD_BUDGET_S;
    return strcmp(dev->info.type, "CPU") == 0 && !slow ? GEMM_ENGINE : GEMM_CLBLAST;
}

/* Variant v cost s seconds (a build, a first launch): its cost rises to it, remembered. */
static void raise_cost(struct gemm_state *g, int v, double s) {
    if (!(s > g->build_s[v])) return;
    g->build_s[v] = s;
    if (g->path) { /* a driver's slow builds are not paid twice to learn it */
        FILE *f = fopen(g->path, "a");
        if (f) {
            fprintf(f, "b %d %.3f\n", v, s);
            fclose(f);
        }
    }
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
    double t0 = clock_seconds();
    clgan_status st = device_program_defines(dev, "cl/gemm.cl", defs, &e->prog);
    static const char *const names[3] = {"gemm_nn", "gemm_tn", "gemm_nt"};
    cl_kernel *const ks[3] = {&e->k_nn, &e->k_tn, &e->k_nt};
    /* (some drivers, rusticl among them, compile at kernel creation: timed with the build) */
    if (st == CLGAN_OK) st = device_create_kernels(dev, e->prog, "cl/gemm.cl", defs, names, ks, 3);
    if (st == CLGAN_OK) raise_cost(g, v, clock_seconds() - t0);
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

int gemm_config_cheapest(int config) {
    return config >= 0 && config < N_CONFIGS && config / N_LOCALS == build_order[0];
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

/* Best of 3 timed runs after one warm-up (which also compiles CLBlast's kernels, and the
 * engine's on a driver that compiles at the first launch: its time in *first). */
static clgan_status time_path(clgan_device *dev, gemm_path p, int config, int ta, int tb, size_t m,
                              size_t n, size_t k, cl_mem a, cl_mem b, cl_mem c, double *best,
                              double *first) {
    size_t lda = ta ? m : k, ldb = tb ? k : n;
    *best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = clock_seconds();
        clgan_status st =
            gemm_run(dev, p, config, ta, tb, m, n, k, 1.0f, a, 0, lda, b, 0, ldb, 0.0f, c, 0, n);
        if (st == CLGAN_OK) st = device_finish(dev);
        if (st != CLGAN_OK) return st;
        double dt = clock_seconds() - t0;
        if (r == 0)
            *first = dt;
        else if (dt < *best)
            *best = dt;
    }
    return CLGAN_OK;
}

/* Appends a line to the device's notes on refused paths. */
static void note(struct gemm_state *g, const char *line) {
    size_t have = g->notes ? strlen(g->notes) : 0, len = strlen(line);
    char *n = realloc(g->notes, have + len + 2);
    if (!n) return;
    memcpy(n + have, line, len);
    n[have + len] = '\n';
    n[have + len + 1] = '\0';
    g->notes = n;
}

const char *gemm_notes(const clgan_device *dev) {
    return dev->gemm ? dev->gemm->notes : NULL;
}

/* The check's random numbers: Philox (rng.h) on a stream of its own per shape. */
static rng_stream check_stream(size_t m, size_t n, size_t k) {
    rng_stream r = {
        {0x9e3779b9u, 0x7f4a7c15u}, (uint64_t)m * 1000003u ^ (uint64_t)n * 131u ^ k, RNG_TAG_CHECK};
    return r;
}

/*
 * Whether the product in c (m x n, row stride n) of host operands a and b (stored as the GEMM
 * reads them) agrees with the host at GEMM_CHECK_SAMPLES entries: the corners, the last row and
 * column, and positions from a fixed stream. On disagreement, why (the worst entry) in why.
 */
static int product_right(const float *c, const float *a, const float *b, int ta, int tb, size_t m,
                         size_t n, size_t k, char *why, size_t len) {
    double worst = 0;
    size_t wi = 0, wj = 0;
    double wgot = 0, wwant = 0;
    rng_stream r = check_stream(m, n, k);
    for (int s = 0; s < GEMM_CHECK_SAMPLES; s++) {
        size_t i, j;
        if (s < 4) {
            i = s & 1 ? m - 1 : 0;
            j = s & 2 ? n - 1 : 0;
        } else {
            i = s < 12 ? m - 1 : rng_bits(&r, 2 * (uint64_t)s) % m;
            j = s >= 12 && s < 20 ? n - 1 : rng_bits(&r, 2 * (uint64_t)s + 1) % n;
        }
        double want = 0;
        for (size_t p = 0; p < k; p++)
            want += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
        double got = c[i * n + j], err = fabs(got - want);
        if (!(err <= GEMM_CHECK_TOL(k, want))) { /* NaN too */
            double rel = isnan(err) ? INFINITY : err / GEMM_CHECK_TOL(k, want);
            if (rel > worst || worst == 0) {
                worst = rel, wi = i, wj = j, wgot = got, wwant = want;
            }
        }
    }
    if (worst == 0) return 1;
    snprintf(why, len, "C[%zu][%zu] is %.6g, the host's %.6g", wi, wj, wgot, wwant);
    return 0;
}

/* A shape under tuning: its operands on the host and the device. */
typedef struct tune_bufs {
    int ta, tb;
    size_t m, n, k;
    const float *ha, *hb;
    float *hc;
    cl_mem a, b, c;
    const char *shape;
} tune_bufs;

/* Notes that `what` was refused for shape u on dev, and why. */
static void refuse(clgan_device *dev, struct gemm_state *g, const tune_bufs *u, const char *what,
                   const char *why) {
    char line[640];
    snprintf(line, sizeof line, "GEMM %s on '%.100s': %s refused: %.300s", u->shape, dev->info.name,
             what, why);
    note(g, line);
}

/*
 * One candidate: timed, then its product checked against the host. 1 and its time in *t; 0 if
 * it failed or computed another product (noted, with why).
 */
static int try_path(clgan_device *dev, struct gemm_state *g, const tune_bufs *u, gemm_path path,
                    int config, double *t) {
    char why[256];
    double first = 0;
    clgan_status st =
        time_path(dev, path, config, u->ta, u->tb, u->m, u->n, u->k, u->a, u->b, u->c, t, &first);
    /* a first launch far slower than the others compiled the kernel (rusticl does so) */
    if (path == GEMM_ENGINE && st == CLGAN_OK) raise_cost(g, config / N_LOCALS, first - *t);
    if (st == CLGAN_OK) st = device_read(dev, u->c, 0, u->m * u->n * 4, u->hc);
    /* the tests' fault: $CLGAN_TEST_GEMM_FAULT names paths whose product is taken as off by one
     * in its last entry, as a broken driver's would be (tests/test_gemm.c) */
    const char *fault = getenv("CLGAN_TEST_GEMM_FAULT");
    if (st == CLGAN_OK && fault && strstr(fault, path == GEMM_ENGINE ? "engine" : "clblast"))
        u->hc[u->m * u->n - 1] += 1.0f;
    if (st == CLGAN_OK &&
        product_right(u->hc, u->ha, u->hb, u->ta, u->tb, u->m, u->n, u->k, why, sizeof why))
        return 1;
    if (st != CLGAN_OK) snprintf(why, sizeof why, "%.200s", dev->err.msg);
    refuse(dev, g, u, path == GEMM_ENGINE ? gemm_config_name(config) : "CLBlast's SGEMM", why);
    return 0;
}

/* An engine configuration: its variant built (a build that fails is noted), then try_path. */
static int try_engine(clgan_device *dev, struct gemm_state *g, const tune_bufs *u, int config,
                      double *t) {
    engine_kernels *ek;
    if (engine_kernels_of(dev, config / N_LOCALS, &ek) != CLGAN_OK) {
        refuse(dev, g, u, gemm_config_name(config), dev->err.msg);
        return 0;
    }
    return try_path(dev, g, u, GEMM_ENGINE, config, t);
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
    char shape[96];
    snprintf(shape, sizeof shape, "%zux%zux%zu %s%s", m, n, k, trans_a ? "T" : "N",
             trans_b ? "T" : "N");
    float *ha = malloc(m * k * sizeof *ha), *hb = malloc(k * n * sizeof *hb);
    float *hc = malloc(m * n * sizeof *hc);
    cl_mem a = NULL, b = NULL, c = NULL;
    clgan_status st =
        ha && hb && hc ? CLGAN_OK : err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    if (st == CLGAN_OK) {
        rng_stream r = check_stream(m, n, k);
        for (size_t i = 0; i < m * k; i++) /* a, then b, from one stream */
            ha[i] = rng_uniform(&r, 1024 + i, -1.0f, 1.0f);
        for (size_t i = 0; i < k * n; i++)
            hb[i] = rng_uniform(&r, 1024 + m * k + i, -1.0f, 1.0f);
        st = device_alloc(dev, m * k * 4, "GEMM tuning", &a);
    }
    if (st == CLGAN_OK) st = device_alloc(dev, k * n * 4, "GEMM tuning", &b);
    if (st == CLGAN_OK) st = device_alloc(dev, m * n * 4, "GEMM tuning", &c);
    if (st == CLGAN_OK) st = device_write(dev, a, 0, m * k * 4, ha, 1);
    if (st == CLGAN_OK) st = device_write(dev, b, 0, k * n * 4, hb, 1);
    double te = 1e30, tc = -1;
    int best = -1, clblast_ok = 0;
    double f0 = dev->gemm_flops;
    const tune_bufs tb = {trans_a, trans_b, m, n, k, ha, hb, hc, a, b, c, shape};
    /* the tiles with one work-item per group, cheapest to build first (see build_order), each
     * only if the one before it built in GEMM_SLOW_BUILD_S (a driver's own cache of compiled
     * kernels can make one fast and leave the next to take minutes: at most one slow build is
     * paid, then remembered); then the other group shapes with the best */
    for (int o = 0; o < N_VARIANTS && st == CLGAN_OK; o++) {
        int v = build_order[o], cheapest = build_order[0], prev = o ? build_order[o - 1] : -1;
        double t = 0;
        if (prev >= 0 && mesa_driver(dev)) break; /* see build_order */
        if (prev >= 0 && g->build_s[prev] > GEMM_SLOW_BUILD_S) {
            if (!g->said_slow && g->build_s[prev] <= GEMM_BUILD_BUDGET_S) {
                char line[640];
                snprintf(line, sizeof line,
                         "'%.100s' took %.1f s to build the engine's GEMM "
                         "tiles %s: its compiler would take minutes over the larger ones, which "
                         "are not built there",
                         dev->info.name, g->build_s[prev], gemm_config_name(prev * N_LOCALS));
                note(g, line);
                g->said_slow = 1;
            }
            break;
        }
        if (g->build_s[v] > GEMM_BUILD_BUDGET_S) continue; /* over the budget: never chosen */
        if (!try_engine(dev, g, &tb, v * N_LOCALS, &t)) continue;
        if (g->build_s[v] > GEMM_BUILD_BUDGET_S) { /* learnt now, at its first launch */
            char line[640];
            snprintf(line, sizeof line,
                     "'%.100s' took %.0f s to build the engine's %sGEMM "
                     "tiles %s (budget %.0f s): %s",
                     dev->info.name, g->build_s[v], v == cheapest ? "smallest " : "",
                     gemm_config_name(v * N_LOCALS), GEMM_BUILD_BUDGET_S,
                     v == cheapest ? "the engine's GEMMs are not used "
                                     "there (CLBlast's are)"
                                   : "they are not used there");
            note(g, line);
            continue;
        }
        if (t < te) {
            te = t;
            best = v * N_LOCALS;
        }
    }
    for (int l = 1, v = best / N_LOCALS; best >= 0 && l < N_LOCALS && st == CLGAN_OK; l++) {
        engine_kernels *ek;
        if (engine_kernels_of(dev, v, &ek) != CLGAN_OK ||
            locals[l][0] * locals[l][1] > ek->max_group)
            continue;
        double t = 0;
        if (try_engine(dev, g, &tb, v * N_LOCALS + l, &t) && t < te) {
            te = t;
            best = v * N_LOCALS + l;
        }
    }
    if (st == CLGAN_OK) clblast_ok = try_path(dev, g, &tb, GEMM_CLBLAST, 0, &tc);
    dev->gemm_flops = f0; /* tuning is not the model's work */
    device_prof_reset(dev);
    device_release(dev, a);
    device_release(dev, b);
    device_release(dev, c);
    free(ha);
    free(hb);
    free(hc);
    if (st != CLGAN_OK) return st;
    if (best < 0 && !clblast_ok)
        return err_set(&dev->err, CLGAN_ERR_DEVICE,
                       "no GEMM path computes %s right on '%s' "
                       "(%s): %s",
                       shape, dev->info.name, dev->info.driver_version, g->notes ? g->notes : "");
    gemm_path p = best >= 0 && (!clblast_ok || te <= tc) ? GEMM_ENGINE : GEMM_CLBLAST;
    if (best < 0) best = 0;
    table_add(g, (tuned){trans_a, trans_b, m, n, k, p, best});
    if (chosen) *chosen = p;
    if (g->path) { /* append; a lost line only costs a measurement next time */
        FILE *f = fopen(g->path, "a");
        if (f) {
            fprintf(f, "%d %d %zu %zu %zu %d %d %.1f %.1f\n", trans_a, trans_b, m, n, k, (int)p,
                    best, te < 1e30 ? te * 1e6 : -1.0, clblast_ok ? tc * 1e6 : -1.0);
            fclose(f);
        }
    }
    return CLGAN_OK;
}
