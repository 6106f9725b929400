/*
 * device.h - the OpenCL device behind a clgan_device handle: platform, context, in-order queue,
 * and the programs built from the cl/ sources, cached as binaries on disk.
 *
 * The device owns its context, queue, programs and kernels-by-name cache; everything else that
 * allocates on the device (graphs, trainers) borrows the context and queue and must be freed
 * before the device.
 */
#ifndef CLGAN_DEVICE_H
#define CLGAN_DEVICE_H

#include "common.h"

/* An embedded kernel source file (generated at build time from cl/). */
typedef struct cl_source {
    const char *name; /* "cl/rng.cl" */
    const char *text;
    size_t len;
} cl_source;
extern const cl_source cl_sources[];
extern const size_t cl_sources_count;

typedef struct cache_stats {
    int built;    /* programs built from source */
    int loaded;   /* programs loaded from a valid cache entry */
    int rejected; /* cache entries found corrupt or stale and rebuilt */
} cache_stats;

/* One profiled command (bench): its event, a label and the FLOPs it does. */
typedef struct prof_event {
    cl_event ev;
    char name[48];
    double flops;
} prof_event;

struct clgan_device {
    clgan_err err;
    clgan_device_info info;
    cl_platform_id platform;
    cl_device_id id;
    cl_context ctx;
    cl_command_queue queue;
    cl_program *programs; /* cl_sources_count of them, by index into cl_sources, built lazily */
    char *cache_dir;      /* "" when no cache directory could be made (owned) */
    cache_stats stats;
    int profiling; /* queue created with CL_QUEUE_PROFILING_ENABLE */
    prof_event *prof; /* when profiling: every enqueued kernel since the last collect */
    int n_prof, cap_prof;
    const char *prof_part; /* where set: the profile's label of the kernels enqueued now, in
                              front of their names ("penalty": a gradient penalty's passes) */
    double gemm_flops;     /* FLOPs of every GEMM enqueued so far (2 m n k each) */
    size_t mem_allocated;  /* bytes allocated through device_alloc and not released */
    size_t mem_peak;       /* the most mem_allocated has been */
    struct gemm_state *gemm; /* owned by gemm.c: engine kernels and tuning table */
    /*
     * 1 where one-unit dense layers run as two fused kernels (cl/dense.cl) instead of GEMMs and
     * bias kernels: CPU devices, where a launch costs more than such a layer's arithmetic.
     * Set at open; tests clear it to run the other route.
     */
    int unit_kernels;
    /*
     * How convolutions run (src/layers/layer_conv2d.c): CONV_COLUMNS, through column matrices and
     * the GEMMs; CONV_IMPLICIT, as implicit GEMMs that write none; CONV_AUTO (the default), each
     * layer the route conv_route picks for its geometry. $CLGAN_CONV=auto, columns or implicit
     * sets it at open; tests set it to run every route.
     */
    int conv_path;
};
enum { CONV_COLUMNS, CONV_IMPLICIT, CONV_AUTO };

/*
 * When the queue profiles, a slot for the event of the command about to be enqueued (NULL
 * otherwise, which OpenCL and CLBlast accept as "no event").
 */
cl_event *device_prof_event(clgan_device *dev, const char *name, double flops);

typedef clgan_kernel_stat prof_stat; /* clgan.h's */

/*
 * Waits for the device and sums the profiled commands by name into *stats (malloc'd, one entry
 * per name, sorted by time, largest first; NULL when there are none or memory runs out);
 * returns the number of entries. Releases the events.
 */
int device_prof_collect(clgan_device *dev, prof_stat **stats);
/* Drops the profiled events without reading them. */
void device_prof_reset(clgan_device *dev);

/* Opens a device with a profiling queue (for bench); otherwise as clgan_device_open. */
clgan_status device_open(const char *selector, int profiling, clgan_device **out);

/*
 * The program built from the embedded file `file` ("cl/rng.cl"), building it (or loading its
 * cached binary) on first use. The program stays owned by the device.
 */
clgan_status device_program(clgan_device *dev, const char *file, cl_program *out);

/*
 * Builds `source` (labelled `file` in messages) with the engine's build options, no cache. On a
 * failure the message names the file and the device and carries the build log.
 */
clgan_status device_build_source(clgan_device *dev, const char *file, const char *source,
                                 cl_program *out);

/*
 * The program of `file` built with extra build options (tile sizes: "-DGEMM_TM=12"), cached on
 * disk like the others; the caller owns it (clReleaseProgram).
 */
clgan_status device_program_defines(clgan_device *dev, const char *file, const char *defines,
                                    cl_program *out);

/*
 * Creates the kernels names[0..n) of prog, a program of `file` built with `defines` (both named
 * in messages), into *out[i]; the caller owns them. Stops at the first failure.
 */
clgan_status device_create_kernels(clgan_device *dev, cl_program prog, const char *file,
                                   const char *defines, const char *const *names,
                                   cl_kernel *const *out, int n);

/* Creates a kernel of `file`; the caller owns it (clReleaseKernel). */
clgan_status device_kernel(clgan_device *dev, const char *file, const char *name, cl_kernel *out);

/* Drops built programs (not the disk cache), so the next device_program builds or loads again. */
void device_forget_programs(clgan_device *dev);

/* Path of the cache entry for `file` on this device (for tests); "" if caching is off. */
void device_cache_path(clgan_device *dev, const char *file, char *out, size_t outlen);

/* Device memory helpers: allocation with a message naming the device and both sizes. */
clgan_status device_alloc(clgan_device *dev, size_t bytes, const char *what, cl_mem *out);
/* Releases a buffer made by device_alloc (NULL is fine) and accounts for its memory. */
void device_release(clgan_device *dev, cl_mem buf);
clgan_status device_write(clgan_device *dev, cl_mem buf, size_t off_bytes, size_t bytes,
                          const void *src, int blocking);
clgan_status device_read(clgan_device *dev, cl_mem buf, size_t off_bytes, size_t bytes, void *dst);
clgan_status device_fill(clgan_device *dev, cl_mem buf, size_t off_bytes, size_t bytes);
clgan_status device_finish(clgan_device *dev);
/*
 * Enqueues a read that does not wait (the queue is flushed): *ev completes when dst holds the
 * bytes; the caller releases it. dst must stay until then.
 */
clgan_status device_read_start(clgan_device *dev, cl_mem buf, size_t off_bytes, size_t bytes,
                               void *dst, cl_event *ev);
/* Whether the command of ev completed (*done 1) or not yet (0); an error if it failed. */
clgan_status device_event_done(clgan_device *dev, cl_event ev, int *done);

/* Enqueue a 1-D kernel over n work-items (rounded up to the local size). */
clgan_status device_run1d(clgan_device *dev, cl_kernel k, size_t n, const char *name);
/* Enqueue one work-group of `local` work-items. */
clgan_status device_run_group(clgan_device *dev, cl_kernel k, size_t local, const char *name);
/* Enqueue with explicit sizes (local may be NULL); flops labels the profile. */
clgan_status device_run_nd(clgan_device *dev, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, const char *name, double flops);
/* Enqueue a 2-D kernel over n0 x n1 work-items. */
clgan_status device_run2d(clgan_device *dev, cl_kernel k, size_t n0, size_t n1, const char *name);



/* Kernel arguments set in one call: karg a[] = {KA(buf), KA(n)}; device_set_args(...). */
typedef struct karg {
    size_t size;
    const void *ptr;
} karg;
#define KA(v) ((karg){sizeof(v), &(v)})
clgan_status device_set_args(clgan_device *dev, cl_kernel k, const char *name, const karg *args,
                             int n);
#endif /* CLGAN_DEVICE_H */
