/*
 * bench.c - see bench.h. The only place besides tests where iterations are waited for one by
 * one: that is how they are timed.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = str_fmt("%s/%s", dir, e->d_name);
        if (p) unlink(p);
        free(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* Opens the device, builds everything and runs one iteration; returns the seconds it took. */
static clgan_status start(synthetic_run *s, const char *selector, const clgan_model *m, int profiling,
                          const char *cache_dir, double *seconds, clgan_err *e) {
    memset(s, 0, sizeof *s);
    double t0 = clock_seconds();
    clgan_status st = device_open(selector, profiling, &s->dev);
    if (st != CLGAN_OK) return err_set(e, st, "%s", clgan_device_errmsg(s->dev));
    if (cache_dir) {
        free(s->dev->cache_dir);
        s->dev->cache_dir = str_dup(cache_dir);
        if (!s->dev->cache_dir) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    }
    st = synthetic_run_start(s, m, e);
    if (st != CLGAN_OK) return st;
    st = trainer_iteration(&s->t);
    if (st == CLGAN_OK) st = device_finish(s->dev);
    if (st != CLGAN_OK) return err_set(e, st, "%s", s->dev->err.msg);
    *seconds = clock_seconds() - t0;
    return CLGAN_OK;
}

clgan_status bench_fma(clgan_device *dev, unsigned steps, size_t items, size_t local,
                       float *sums, double *seconds) {
    cl_kernel k = NULL;
    cl_mem out = NULL;
    cl_uint n = steps;
    float a = 0.999f, b = 0.001f; /* x = fma(x, a, b) stays near 1: no overflow, no denormals */
    const karg args[] = {KA(out), KA(n), KA(a), KA(b)};
    size_t most = 0;
    clgan_status st = device_kernel(dev, "cl/peak.cl", "fma_peak", &k);
    if (st == CLGAN_OK &&
        clGetKernelWorkGroupInfo(k, dev->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof most, &most,
                                 NULL) == CL_SUCCESS)
        while (local > 1 && (local > most || items % local)) local /= 2;
    if (st == CLGAN_OK) st = device_alloc(dev, items * sizeof(float), "the peak's sums", &out);
    if (st == CLGAN_OK) st = device_set_args(dev, k, "fma_peak", args, (int)ARRAY_LEN(args));
    double t0 = clock_seconds();
    if (st == CLGAN_OK) st = device_run_nd(dev, k, 1, &items, &local, "fma_peak", 0);
    if (st == CLGAN_OK) st = device_finish(dev);
    *seconds = clock_seconds() - t0;
    if (st == CLGAN_OK && sums) st = device_read(dev, out, 0, items * sizeof(float), sums);
    device_release(dev, out);
    if (k) clReleaseKernel(k);
    return st;
}

clgan_status bench_peak(clgan_device *dev, double *gflops) {
    /* 256 items per compute unit: every core's vector lanes (or a GPU's warps) kept busy */
    size_t items = (size_t)(dev->info.compute_units ? dev->info.compute_units : 1) * 256;
    /* work-group sizes differ by devices and drivers (PoCL's CPU device: 1 and 256 reach the
     * cores' rate, 4 to 64 a third of it): the best of a few */
    static const size_t locals[] = {1, 64, 256};
    clgan_status st = CLGAN_OK;
    double best = 0;
    *gflops = 0;
    for (size_t l = 0; l < ARRAY_LEN(locals) && st == CLGAN_OK; l++) {
        unsigned steps = 64;
        double s = 0;
        /* grow the run to at least 50 ms, so a launch's cost is lost in it; then best of 3 */
        while ((st = bench_fma(dev, steps, items, locals[l], NULL, &s)) == CLGAN_OK &&
               s < 0.05 && steps < (1u << 24))
            steps *= s < 0.005 ? 8 : 2;
        for (int i = 0; i < 3 && st == CLGAN_OK; i++) {
            if (i) st = bench_fma(dev, steps, items, locals[l], NULL, &s);
            double r = (double)items * steps * FMA_PEAK_FLOPS_PER_STEP / s * 1e-9;
            if (st == CLGAN_OK && r > best) best = r;
        }
    }
    if (st == CLGAN_OK) *gflops = best;
    return st;
}

clgan_status bench_run(const char *selector, const clgan_model *m, int iters, int warmup,
                       bench_result *r, clgan_err *e) {
    memset(r, 0, sizeof *r);
    synthetic_run s;
    /* Cold: a fresh, empty program cache. */
    char tmp[] = "/tmp/clgan-bench-cache-XXXXXX";
    if (!mkdtemp(tmp)) return err_set(e, CLGAN_ERR_IO, "cannot make a temporary cache folder");
    clgan_status st = start(&s, selector, m, 0, tmp, &r->cold_start_s, e);
    if (st == CLGAN_OK) r->cold_built = s.dev->stats.built;
    synthetic_run_free(&s);
    rm_dir(tmp);
    if (st != CLGAN_OK) return st;
    /* Warm: the user's cache (filled now if it was empty), profiling queue for what follows. */
    double ignore;
    st = start(&s, selector, m, 1, NULL, &ignore, e); /* fills the cache if needed */
    synthetic_run_free(&s);
    if (st != CLGAN_OK) return st;
    st = start(&s, selector, m, 1, NULL, &r->warm_start_s, e);
    if (st != CLGAN_OK) {
        synthetic_run_free(&s);
        return st;
    }
    r->warm_built = s.dev->stats.built;
    r->device = s.dev->info;
    st = bench_peak(s.dev, &r->peak_gflops);
    device_prof_reset(s.dev); /* the peak's launches are not the model's */
    for (int i = 0; i < warmup && st == CLGAN_OK; i++) st = trainer_iteration(&s.t);
    if (st == CLGAN_OK) st = device_finish(s.dev);
    device_prof_reset(s.dev);
    double *times = malloc((size_t)iters * sizeof *times);
    double f0 = s.dev->gemm_flops;
    for (int i = 0; i < iters && st == CLGAN_OK; i++) {
        double t0 = clock_seconds();
        st = trainer_iteration(&s.t);
        if (st == CLGAN_OK) st = device_finish(s.dev);
        times[i] = clock_seconds() - t0;
    }
    if (st == CLGAN_OK) {
        r->iters = iters;
        r->gemm_gflop = (s.dev->gemm_flops - f0) / iters * 1e-9;
        r->n_kernels = device_prof_collect(s.dev, &r->kernels);
        r->profiled_iters = iters;
        for (int k = 0; k < r->n_kernels; k++) r->profiled_s += r->kernels[k].seconds;
        r->median_s = median(times, iters);
        r->min_s = times[0]; /* median() sorted them */
        r->samples_per_s = (double)m->train.batch * m->train.k / r->median_s;
        r->gflops = r->gemm_gflop / r->median_s;
        r->device_bytes = s.dev->mem_peak;
    } else {
        err_set(e, st, "%s", s.dev->err.msg);
    }
    free(times);
    synthetic_run_free(&s);
    return st;
}

void bench_result_free(bench_result *r) {
    free(r->kernels);
    r->kernels = NULL;
    r->n_kernels = 0;
}

clgan_status bench_devices(clgan_device **devs, int n, const clgan_model *m, int iters,
                           int warmup, struct clgan_ranks *c, bench_devices_result *r, clgan_err *e) {
    memset(r, 0, sizeof *r);
    dataset data;
    trainer t;
    memset(&t, 0, sizeof t);
    clgan_status st = synthetic_data(m, devs[0], &data, e);
    if (st != CLGAN_OK) return st;
    if ((st = trainer_init_replicas(&t, devs, n, m, &data, m->train.batch, c)) != CLGAN_OK) {
        err_set(e, st, "%s", devs[0]->err.msg);
        dataset_free(&data);
        return st;
    }
    double *times = malloc((size_t)iters * sizeof *times);
    if (!times) st = err_set(&devs[0]->err, CLGAN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < warmup + iters && st == CLGAN_OK; i++) {
        if (i == warmup) t.comm_s = t.comm_exposed_s = t.comm_bytes = 0;
        double t0 = clock_seconds();
        st = trainer_iteration(&t);
        for (int d = 0; d < n && st == CLGAN_OK; d++) st = device_finish(devs[d]);
        if (i >= warmup) times[i - warmup] = clock_seconds() - t0;
    }
    if (st == CLGAN_OK) {
        r->n_devices = n;
        r->replicas = t.replicas > 1 ? t.replicas : 1;
        r->iters = iters;
        r->comm_s = t.comm_s / iters;
        r->exposed_s = t.comm_exposed_s / iters;
        r->comm_bytes = t.comm_bytes / iters;
        r->hidden = t.comm_s > 0 ? 1 - t.comm_exposed_s / t.comm_s : 0;
        r->median_s = median(times, iters);
        r->min_s = times[0];
    } else {
        err_set(e, st, "%s", devs[0]->err.msg);
    }
    free(times);
    trainer_free(&t);
    dataset_free(&data);
    return st;
}

clgan_status clgan_bench(const char *selector, clgan_model *m, int iters, int warmup,
                         clgan_bench_result *r) {
    err_clear(&m->err);
    return bench_run(selector, m, iters, warmup, r, &m->err);
}

void clgan_bench_result_free(clgan_bench_result *r) {
    bench_result_free(r);
}

clgan_status clgan_bench_devices(clgan_device *const *devs, int n, clgan_model *m, int iters,
                                 int warmup, clgan_ranks *ranks, clgan_bench_devices_result *r) {
    err_clear(&m->err);
    return bench_devices((clgan_device **)devs, n, m, iters, warmup, ranks, r, &m->err);
}
