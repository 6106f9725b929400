/*
 * bench.h - measuring real training iterations of a model on a device: time per iteration,
 * samples per second, GEMM throughput, memory, program build times, and a per-kernel profile
 * from OpenCL events. Synthetic data of the model's shape, so no data file is needed.
 */
#ifndef CLGAN_BENCH_H
#define CLGAN_BENCH_H

#include "gan.h"

typedef struct bench_result {
    clgan_device_info device;
    double cold_start_s;      /* open, build every program from source, first iteration */
    double warm_start_s;      /* the same with the program cache filled */
    int cold_built, warm_built; /* programs built from source in each */
    int iters;
    double median_s, min_s;   /* per iteration */
    double samples_per_s;     /* real samples (k * batch per iteration) per second */
    double gemm_gflop;        /* GEMM work per iteration */
    double gflops;            /* gemm_gflop / median */
    size_t device_bytes;      /* allocated by clgan on the device */
    prof_stat *kernels;       /* one per kernel or GEMM name (malloc'd; bench_result_free) */
    int n_kernels;
    double profiled_s;        /* sum of kernel times over the profiled iterations */
    int profiled_iters;
} bench_result;

/*
 * Benchmarks model m on the device `selector` names: warmup iterations, then `iters` timed
 * ones (each waited for), then a profiled pass. Messages go to e.
 */
clgan_status bench_run(const char *selector, const clgan_model *m, int iters, int warmup,
                       bench_result *r, clgan_err *e);
void bench_result_free(bench_result *r);

/* One model on several devices at once (train --devices, or under mpirun): per iteration. */
typedef struct bench_devices_result {
    int n_devices;            /* of this process */
    int replicas;             /* over every rank */
    int iters;
    double median_s, min_s;   /* per iteration, every device finished */
    double comm_s;            /* per iteration: from the first gradient bucket on the host to
                                 the last sum written back (docs/design_data_parallel.md) */
    double exposed_s;         /* its part after the devices finished their passes */
    double comm_bytes;        /* bytes of gradients summed over the replicas */
    double hidden;            /* 1 - exposed / comm: the share behind the backward pass */
} bench_devices_result;

struct clgan_ranks;
/*
 * Times iterations of m on synthetic data with one replica per device of devs (open; the
 * caller's) and, through c (NULL: alone), per MPI rank, as bench_run does for one device (no
 * cold start, no profile).
 */
clgan_status bench_devices(clgan_device **devs, int n, const clgan_model *m, int iters,
                           int warmup, struct clgan_ranks *c, bench_devices_result *r, clgan_err *e);

#endif /* CLGAN_BENCH_H */
