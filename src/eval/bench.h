/*
 * bench.h - measuring real training iterations of a model on a device: time per iteration,
 * samples per second, GEMM throughput, memory, program build times, and a per-kernel profile
 * from OpenCL events. Synthetic data of the model's shape, so no data file is needed.
 */
#ifndef CLGAN_BENCH_H
#define CLGAN_BENCH_H

#include "gan.h"

typedef clgan_bench_result bench_result; /* clgan.h's */

/*
 * Benchmarks model m on the device `selector` names: warmup iterations, then `iters` timed
 * ones (each waited for), then a profiled pass. Messages go to e.
 */
clgan_status bench_run(const char *selector, const clgan_model *m, int iters, int warmup,
                       bench_result *r, clgan_err *e);
void bench_result_free(bench_result *r);

/* FLOPs of one item's step of cl/peak.cl's fma_peak: 8 chains of float16 fused multiply-adds. */
#define FMA_PEAK_FLOPS_PER_STEP (2.0 * 16 * 8)

/*
 * One launch of fma_peak: `items` items of `steps` steps each in work-groups of `local` (halved
 * until the kernel and items allow it), waited for; its wall time into *seconds and, where sums
 * is not NULL, each item's sum of its lanes into sums[items].
 */
clgan_status bench_fma(clgan_device *dev, unsigned steps, size_t items, size_t local,
                       float *sums, double *seconds);
/*
 * The device's measured rate of fused multiply-adds, in GFLOPS: fma_peak on 256 items per compute
 * unit in a few work-group sizes, each run grown to at least 50 ms, the best run. The ceiling of
 * every GEMM's rate.
 */
clgan_status bench_peak(clgan_device *dev, double *gflops);

/* One model on several devices at once (train --devices, or under mpirun): per iteration. */
typedef clgan_bench_devices_result bench_devices_result; /* clgan.h's */

struct clgan_ranks;
/*
 * Times iterations of m on synthetic data with one replica per device of devs (open; the
 * caller's) and, through c (NULL: alone), per MPI rank, as bench_run does for one device (no
 * cold start, no profile).
 */
clgan_status bench_devices(clgan_device **devs, int n, const clgan_model *m, int iters,
                           int warmup, struct clgan_ranks *c, bench_devices_result *r, clgan_err *e);

#endif /* CLGAN_BENCH_H */
