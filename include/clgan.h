/*
 * clgan.h - the public interface of clgan, a GAN engine on OpenCL.
 *
 * Opaque handles: clgan_device (an OpenCL device with its context, queue and program cache),
 * clgan_model (a model file parsed and shape-checked), clgan_trainer (a training run on one or
 * several devices), clgan_generator (a trained generator, sampled), clgan_evaluator (figures
 * in a domain classifier's features) and clgan_ranks (the processes of a run under mpirun). No OpenCL or libyaml type appears here. Every function that
 * can fail returns a clgan_status; the message that goes with a failure lives on the handle
 * (read it with *_errmsg), or in a caller-supplied buffer where no handle exists yet. The
 * library never prints and never exits.
 */
#ifndef CLGAN_H
#define CLGAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clgan_status {
    CLGAN_OK = 0,
    CLGAN_ERR_NOMEM,  /* host allocation failed */
    CLGAN_ERR_IO,     /* a file could not be read or written */
    CLGAN_ERR_YAML,   /* model file: syntax or schema error (message has file:line:col) */
    CLGAN_ERR_MODEL,  /* model is well-formed YAML but inconsistent (shapes, sizes) */
    CLGAN_ERR_DEVICE, /* no OpenCL platform, or the selector matched no device */
    CLGAN_ERR_CL,     /* an OpenCL or CLBlast call failed (message has the call and code) */
    CLGAN_ERR_BUILD,  /* a kernel program failed to build (message has the file and log) */
    CLGAN_ERR_DATA,   /* a data file is malformed or does not fit the model */
    CLGAN_ERR_ARG,    /* an argument is out of range */
    CLGAN_ERR_NONFINITE, /* training met NaN or Inf (message has the iteration and the tensor) */
    CLGAN_STOPPED     /* a run stopped where its caller asked (clgan_train_params.stop) */
} clgan_status;

/* A short, static name for a status ("yaml error", ...). Never NULL. */
const char *clgan_status_str(clgan_status status);

/* clgan's version ("0.1.0"), the git revision it was built from, and the CLBlast version it
 * was built against. */
const char *clgan_version(void);
const char *clgan_build_revision(void);
const char *clgan_clblast_version(void);

/* ---- devices ------------------------------------------------------------------------------ */

typedef struct clgan_device clgan_device;

typedef struct clgan_device_info {
    int platform;           /* platform index (the P of P:D) */
    int index;              /* device index within the platform (the D of P:D) */
    char platform_name[128];
    char name[256];
    char vendor[128];
    char driver_version[128];
    char version[128];      /* CL_DEVICE_VERSION */
    const char *type;       /* "GPU", "CPU", "ACCELERATOR" or "OTHER" */
    unsigned compute_units;
    uint64_t global_mem;    /* bytes */
    uint64_t max_alloc;     /* bytes, CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    int fp64;               /* 1 if double precision is supported */
    int fp16;               /* 1 if cl_khr_fp16 is supported */
} clgan_device_info;

/*
 * Lists every device of every platform. On success *out is a malloc'd array of *n entries
 * (free with clgan_device_list_free). On failure (no platform) a message goes to err.
 */
clgan_status clgan_device_list(clgan_device_info **out, size_t *n, char *err, size_t errlen);
void clgan_device_list_free(clgan_device_info *list);

/*
 * Opens a device: selector is "P:D", a case-insensitive substring of the device name, or NULL
 * (then $CLGAN_DEVICE, else the GPU with the most compute units, else the CPU device with the
 * most on the first platform that has one, else the first device).
 * *out is set even on failure (unless memory runs out) so the message can be read; free it
 * with clgan_device_free.
 */
clgan_status clgan_device_open(const char *selector, clgan_device **out);
const char *clgan_device_errmsg(const clgan_device *dev);
const clgan_device_info *clgan_device_get_info(const clgan_device *dev);
void clgan_device_free(clgan_device *dev);

/* ---- models ------------------------------------------------------------------------------- */

typedef struct clgan_model clgan_model;

/* The networks a model may declare: a GAN has a generator and a discriminator, a classifier (a
 * domain classifier for FID and friends) has one classifier network. */
typedef enum clgan_net {
    CLGAN_GENERATOR = 0,
    CLGAN_DISCRIMINATOR = 1,
    CLGAN_CLASSIFIER = 2
} clgan_net;

/*
 * Parses and validates a model file: syntax, schema, value ranges and shapes. *out is set even
 * on failure so the message ("file:line:col: ...") can be read; free with clgan_model_free.
 */
clgan_status clgan_model_load(const char *path, clgan_model **out);
const char *clgan_model_errmsg(const clgan_model *model);
void clgan_model_free(clgan_model *model);

typedef struct clgan_layer_info {
    const char *kind;       /* "dense", "relu", ... */
    char detail[96];        /* e.g. "240x5", "keep 0.5" */
    int out_c, out_h, out_w;
    uint64_t params;        /* trainable parameters */
    double flops;           /* forward FLOPs per sample (multiply-add = 2) */
    uint64_t act_bytes;     /* activation memory for one batch, bytes */
    char path[96];          /* its path in a graph ("res_up#2.conv1"), or its index ("3") */
    char from[192];         /* the layers it reads when not just the one before: their paths
                               joined by ", " ("input" for the network's input); else "" */
} clgan_layer_info;

/* Number of layers of a network (0 where the model has no such network), and the description of layer i (0-based). */
int clgan_model_layers(const clgan_model *model, clgan_net net);
clgan_status clgan_model_layer_info(const clgan_model *model, clgan_net net, int i,
                                    clgan_layer_info *info);
/* Batch size declared in train.batch; input size (C, H, W) of a network. */
int clgan_model_batch(const clgan_model *model);
void clgan_model_input_shape(const clgan_model *model, clgan_net net, int *c, int *h, int *w);
const char *clgan_model_name(const clgan_model *model);
/* "generator", "discriminator" or "classifier". */
const char *clgan_net_name(clgan_net net);

/* A model file loaded for commands that run on synthetic data of its shape (bench, compare):
 * as clgan_model_load, but a data file that cannot be read is no error (the info says why). */
clgan_status clgan_model_load_shapes(const char *path, clgan_model **out);

typedef struct clgan_model_info {
    const char *name, *path;
    int classifier;          /* 1: a classifier model; 0: a GAN */
    int batch, k;            /* train.batch, and D steps per iteration */
    uint64_t seed;           /* train.seed */
    int data_c, data_h, data_w;
    int noise_dim, classes;  /* a GAN's noise; the condition's (or a classifier's) classes */
    const char *data_unread; /* "" or, from clgan_model_load_shapes, why the data were not read
                                ("file:line:col: ...") */
} clgan_model_info;

void clgan_model_get_info(const clgan_model *model, clgan_model_info *info);
/*
 * What `clgan check` says beside the layers: the gradient penalties and the augmentation it
 * trains with ("train: ..." lines) and layers whose bias a batch norm removes ("note: ..."),
 * newline-terminated lines into buf (len bytes, cut to fit). Returns the length the whole text
 * needs, as snprintf does.
 */
size_t clgan_model_remarks(const clgan_model *model, char *buf, size_t len);

/* ---- ranks: the processes of a data-parallel run under mpirun -------------------------------- */

typedef struct clgan_ranks clgan_ranks;

/*
 * Joins the MPI world where this process was started by mpirun (and clgan was built with Open
 * MPI); else a group of one. *out is set even on failure so the message can be read (a build
 * without MPI under mpirun is refused: each copy would train alone). End with clgan_ranks_end.
 */
clgan_status clgan_ranks_start(clgan_ranks **out);
const char *clgan_ranks_errmsg(const clgan_ranks *r);
/* This process's rank, the number of ranks, and its rank among those of its machine. */
int clgan_ranks_rank(const clgan_ranks *r);
int clgan_ranks_size(const clgan_ranks *r);
int clgan_ranks_local(const clgan_ranks *r);
/* The bound on every wait for the other ranks, seconds (600 by default). */
void clgan_ranks_set_timeout(clgan_ranks *r, double seconds);
/* Waits until every rank has come here (what: for the message of a rank that never does). */
clgan_status clgan_ranks_wait_all(clgan_ranks *r, const char *what);
/*
 * Ends every rank's process with exit status code (MPI_Abort): for a failure this rank met
 * alone (clgan_trainer_failed_alone), which would leave the others waiting on it. The one call
 * that need not return; with a single rank it does nothing.
 */
void clgan_ranks_abort(clgan_ranks *r, int code);
void clgan_ranks_end(clgan_ranks *r);

/* ---- trainers: Algorithm 1 (or a classifier's training) on one or several devices ------------ */

typedef struct clgan_trainer clgan_trainer;

/* What a progress callback is told. */
typedef enum clgan_train_event {
    CLGAN_EVENT_NOTE,      /* text: something to know (a GEMM path refused on a device, a
                              setting a resume takes from the model) */
    CLGAN_EVENT_LOG,       /* a log interval: the statistics since the one before */
    CLGAN_EVENT_ACCURACY,  /* a classifier's test accuracy after an epoch: value (0..1), count
                              (images) */
    CLGAN_EVENT_PARZEN,    /* Parzen log-likelihood: value (nats; NaN: not finite at any
                              bandwidth, not logged), value2 (its standard error), value3 (sigma) */
    CLGAN_EVENT_FID,       /* train.eval: value FID, value2 KID, value3 KID's std; count
                              samples against count2 reference images */
    CLGAN_EVENT_ROLLBACK,  /* NaN/Inf, rolled back (on_nan rollback): text says where and to
                              what; iter is the iteration rolled back to */
    CLGAN_EVENT_DONE       /* the run reached its length: count iterations in seconds */
} clgan_train_event;

typedef struct clgan_train_progress {
    clgan_train_event event;
    uint64_t iter, total;  /* iterations done, and the run's length */
    long epoch;            /* the epoch under way (0-based) */
    double epochs;         /* epochs done (D's minibatches / those of an epoch) */
    double seconds;        /* since the run (or its last rollback) started here */
    double it_per_s, eta_s;
    double lr_g, lr_d, lr; /* learning rates now (a classifier's in lr) */
    double d_loss, g_loss, d_real, d_fake; /* a GAN's means over the interval */
    double loss, accuracy; /* a classifier's, per training row */
    double value, value2, value3; /* the event's figures (see the events) */
    long count, count2;
    const char *text;      /* the event's text; NULL where it has none */
} clgan_train_progress;

/* Called by clgan_trainer_open and clgan_trainer_run as things happen; user is the params'. */
typedef void (*clgan_progress_fn)(const clgan_train_progress *p, void *user);
/* Asked after every iteration: nonzero stops the run there, with a checkpoint where the run
 * writes one (clgan_trainer_run then returns CLGAN_STOPPED, and clgan_trainer_stopped_by gives
 * the value: under mpirun the largest any rank's callback returned, on every rank). */
typedef int (*clgan_stop_fn)(void *user);

typedef enum clgan_on_nan {
    CLGAN_ON_NAN_STOP = 0, /* stop, keeping the last good checkpoint */
    CLGAN_ON_NAN_ROLLBACK  /* return to the run's last checkpoint with the learning rates
                              halved (at most 5 times; needs a run directory) */
} clgan_on_nan;

typedef struct clgan_train_params {
    const char *run_dir;   /* where the run writes config.yaml, log.csv, samples/, checkpoints
                              and eval.json; NULL (default): nothing is written */
    int new_run_dir;       /* run_dir NULL: 1 writes into runs/<model>-<date>-<time>, or a
                              resumed checkpoint's own run directory */
    int force;             /* write into a run_dir that holds another run */
    const char *resume;    /* a checkpoint to continue exactly; NULL: a new run */
    int has_seed;          /* seed below replaces train.seed (a resume keeps its own) */
    uint64_t seed;
    uint64_t iters;        /* the run's length in iterations; 0: epochs, else the model's */
    long epochs;
    clgan_on_nan on_nan;
    clgan_ranks *ranks;    /* NULL: this process alone; else one replica per rank, rank 0
                              writing the run */
    clgan_progress_fn progress;
    clgan_stop_fn stop;
    void *user;
} clgan_train_params;

clgan_train_params clgan_train_default_params(void);

/*
 * Sets up a run of model on devs[0 .. n_devs) (one replica per device, the batch split among
 * them): a copy of the model, its data, the compiled networks, a resumed state, the run
 * directory locked and its config.yaml written. devs and model stay the caller's (devs must
 * outlive the trainer). *out is set even on failure (unless memory ran out) so the message
 * can be read; free it either way.
 */
clgan_status clgan_trainer_open(const clgan_model *model, clgan_device *const *devs, int n_devs,
                                const clgan_train_params *p, clgan_trainer **out);
const char *clgan_trainer_errmsg(const clgan_trainer *t);

typedef struct clgan_train_info {
    const char *name;      /* the model's */
    const char *where;     /* the devices ("A + B", and the other ranks) */
    const char *driver;    /* the first device's driver version */
    const char *run_dir;   /* NULL where nothing is written */
    int classifier;        /* 1: a classifier model (loss and accuracy, no G or D) */
    long samples;          /* training rows (images) */
    int batch, k, classes;
    long test_images;      /* a classifier's accuracy set */
    long batches_per_epoch;
    uint64_t iter, total;  /* done, and the run's length */
    int programs_built, programs_loaded; /* kernel programs built, and taken from the cache */
    double build_seconds;
    uint64_t mem_peak;     /* device memory at peak, bytes (the first device) */
} clgan_train_info;

void clgan_trainer_info(const clgan_trainer *t, clgan_train_info *info);
/*
 * Runs up to n more iterations (0: to the run's length); at the run's length writes eval.json
 * and curves.png and reports CLGAN_EVENT_DONE. CLGAN_OK; CLGAN_STOPPED where p->stop asked;
 * else an error (its message on the handle; NaN/Inf is CLGAN_ERR_NONFINITE). After an error
 * past a finished iteration, that iteration's checkpoint is written where the run writes one.
 */
clgan_status clgan_trainer_run(clgan_trainer *t, uint64_t n);
/* The last log interval's figures (event CLGAN_EVENT_LOG; iter 0 before the first). */
void clgan_trainer_stats(const clgan_trainer *t, clgan_train_progress *out);
/* Writes the state (parameters, optimizer, average, data order, streams) to a checkpoint that
 * resume continues exactly; a state holding NaN or Inf is refused. Under mpirun every rank
 * calls it (adaptive augmentation's sums are every rank's); rank 0's file is the run's. */
clgan_status clgan_trainer_save(clgan_trainer *t, const char *path);
/* The stop callback's value that stopped the run (0: none did). */
int clgan_trainer_stopped_by(const clgan_trainer *t);
/* Under mpirun: whether the last failure was this rank's alone (clgan_ranks_abort it). */
int clgan_trainer_failed_alone(const clgan_trainer *t);
void clgan_trainer_free(clgan_trainer *t);

/* ---- the model language's layer kinds ------------------------------------------------------- */

typedef struct clgan_kind_info {
    const char *name;       /* its YAML name ("dense") */
    char traits[160];       /* inputs merged, labels read, whether gradient penalties pass it */
    int n_keys;
} clgan_kind_info;

typedef struct clgan_key_info {
    const char *name;       /* "units" */
    const char *type;       /* "integer", "number", "integer or [h, w]", ... */
    char range[96];         /* "[1, 2^30]", "(0, 1]", "-" */
    char def[32];           /* its default, or "required" */
    int init_only;          /* it sets initial values only */
} clgan_key_info;

/* The number of layer kinds; kind k's description (0 <= k < that), and its key i's. */
int clgan_layer_kinds(void);
clgan_status clgan_layer_kind_info(int kind, clgan_kind_info *out);
clgan_status clgan_layer_key_info(int kind, int i, clgan_key_info *out);

/* ---- a run's curves ----------------------------------------------------------------------- */

/*
 * Draws a run's curves (losses, D(x) and D(G(z)), learning rates, the evaluations) against
 * iterations from its log.csv into a PNG at png: run_or_log is a run directory or a log.csv.
 * *rows: the log's rows. Where no handle exists, the message goes to err (errlen bytes).
 */
clgan_status clgan_plot_run(const char *run_or_log, const char *png, int *rows, char *err,
                            size_t errlen);

/* ---- devices compared: how exactly two devices agree on one model ------------------------- */

typedef struct clgan_layer_diff {
    int net;                 /* CLGAN_GENERATOR or CLGAN_DISCRIMINATOR */
    int layer;
    char path[96];       /* its path in a graph, or its index */
    const char *kind;
    double act_abs, act_rel; /* max |a - b|, and that over max |a| */
    double grad_abs, grad_rel; /* activation gradients */
    double wgrad_abs, wgrad_rel; /* parameter gradients (layers with parameters; else -1),
                                  * relative to the largest over all the layer's tensors */
    /* normwise: ||a - b|| / ||a|| (a few entries on either side of a kink, where ReLU's
     * gradient is 1 on one device and 0 on the other, move the maxima and not this) */
    double act_norm, grad_norm, wgrad_norm; /* (wgrad_norm -1 without parameters) */
    int bias_into_norm;                     /* its bias feeds a batch norm, which removes it */
} clgan_layer_diff;

typedef struct clgan_compare_report {
    clgan_device_info dev[2];
    clgan_layer_diff *layers; /* one per layer of G, then D (clgan_compare_report_free) */
    int n_layers;
    int iters;
    /* parameters of G and D after `iters` iterations: every tensor but the biases that feed a
     * batch norm and its running mean (drift_*), and those (drift_norm_abs; 0 if none) */
    double drift_abs[2], drift_rel[2], drift_norm_abs[2];
    long nonfinite_iter;     /* first iteration with a NaN/Inf (1-based), 0 if none */
    char nonfinite_where[400];
    double ms[2];            /* median time per iteration */
} clgan_compare_report;

/*
 * One iteration of model m on the devices sel_a and sel_b from the same state, each layer's
 * activations and gradients compared, then `iters` iterations and the parameters compared (as
 * `clgan compare`). The message of a failure is the model's (clgan_model_errmsg).
 */
clgan_status clgan_compare(const char *sel_a, const char *sel_b, clgan_model *m, int iters,
                           clgan_compare_report *r);
void clgan_compare_report_free(clgan_compare_report *r);

/* ---- the paper's theory and its Figure 1, on a 1-D model ------------------------------------ */

typedef struct clgan_theory_result {
    double max_d_err;         /* (1) max |D - p_data/(p_data + p_g)| where p_data + p_g > 10%
                                 of its peak */
    double v, c_jsd;          /* (2) V(D, G) by quadrature with the trained D, and
                                 -log 4 + 2 JSD(p_data || p_g) */
    double max_half_err;      /* (3) with p_g = p_data: max |D - 1/2| ... */
    double v_equal;           /* ... and V(D, G), -log 4 in theory */
    int n;                    /* the curves of (1) and (2) on a grid of n points */
    double x[400], p_data[400], p_g[400], d[400];
} clgan_theory_result;

/*
 * The paper's Proposition 1 and Theorem 1 checked numerically (`clgan theory`): G trained for
 * pre_iters iterations of Algorithm 1 on model (a GAN on 1-D data, cross-entropy, one D per
 * sample), then D alone for d_steps steps. The message of a failure is dev's.
 */
clgan_status clgan_theory(const clgan_model *model, clgan_device *dev, long pre_iters,
                          long d_steps, clgan_theory_result *r);

typedef struct clgan_figure1_result {
    int panels;               /* drawn: (a), (b), ... */
    char path[4][4096];       /* each panel's checkpoint */
    uint64_t iter[4];         /* and its iteration */
} clgan_figure1_result;

/*
 * The paper's Figure 1 (p_data, p_g, D and x = G(z)) into a PNG at png: of one checkpoint, or
 * of a run directory four panels from its checkpoints/ spread over the run (`clgan figure1`).
 * The message of a failure is dev's; r holds the panels drawn before it.
 */
clgan_status clgan_figure1(const char *ckpt_or_run, clgan_device *dev, const char *png,
                           clgan_figure1_result *r);

/* ---- benchmarks ----------------------------------------------------------------------------- */

typedef struct clgan_kernel_stat {
    char name[48];           /* a kernel, or a GEMM path and shape class */
    long calls;              /* over the profiled iterations */
    double seconds, flops;   /* its time, and its work (0: not counted) */
} clgan_kernel_stat;

typedef struct clgan_bench_result {
    clgan_device_info device;
    double cold_start_s;      /* open, build every program from source, first iteration */
    double warm_start_s;      /* the same with the program cache filled */
    int cold_built, warm_built; /* programs built from source in each */
    int iters;
    double median_s, min_s;   /* per iteration */
    double samples_per_s;     /* real samples (k * batch per iteration) per second */
    double gemm_gflop;        /* GEMM work per iteration */
    double gflops;            /* gemm_gflop / median */
    double peak_gflops;       /* the device's measured rate of fused multiply-adds (cl/peak.cl),
                                 the ceiling gflops and every GEMM's rate are read against */
    size_t device_bytes;      /* allocated by clgan on the device */
    clgan_kernel_stat *kernels; /* one per kernel or GEMM name (clgan_bench_result_free) */
    int n_kernels;
    double profiled_s;        /* sum of kernel times over the profiled iterations */
    int profiled_iters;
} clgan_bench_result;

/*
 * How fast model m trains on the device `selector` (as clgan_device_open takes it) on synthetic
 * data of its shape: the start cold and warm, `iters` timed iterations after `warmup`, the
 * kernels' profile (`clgan bench`). The message of a failure is the model's.
 */
clgan_status clgan_bench(const char *selector, clgan_model *m, int iters, int warmup,
                         clgan_bench_result *r);
void clgan_bench_result_free(clgan_bench_result *r);

typedef struct clgan_bench_devices_result {
    int n_devices;            /* of this process */
    int replicas;             /* over every rank */
    int iters;
    double median_s, min_s;   /* per iteration, every device finished */
    double comm_s;            /* per iteration: from the first gradient bucket on the host to
                                 the last sum written back (docs/design_data_parallel.md) */
    double exposed_s;         /* its part after the devices finished their passes */
    double comm_bytes;        /* bytes of gradients summed over the replicas */
    double hidden;            /* 1 - exposed / comm: the share behind the backward pass */
} clgan_bench_devices_result;

/* One model on n devices at once (and under mpirun on every rank's: ranks, else NULL), the
 * batch split among them: per iteration, and the gradient reductions' cost. The message of a
 * failure is the model's. */
clgan_status clgan_bench_devices(clgan_device *const *devs, int n, clgan_model *m, int iters,
                                 int warmup, clgan_ranks *ranks, clgan_bench_devices_result *r);

/* "1.5 GiB", "312 KiB": a byte count as people read it. */
void clgan_format_bytes(double bytes, char *out, size_t len);

/* ---- generators: samples of a trained model's generator -------------------------------------- */

typedef struct clgan_generator clgan_generator;

/* How clgan_generator_sample draws. clgan_sample_default_params() gives the defaults. */
typedef struct clgan_sample_params {
    uint64_t seed;      /* the noise's seed where has_seed (below); else the run's own seed */
    uint64_t stream;    /* the noise stream; 0, the default, is the batch a run's grids show */
    int cls;            /* a conditional model: every sample of class cls; -1 (default): sample
                           i of class (i / 8) mod classes, a row of 8 per class */
    const float *noise; /* NULL (default): drawn from seed and stream; else n x noise_dim values */
    int interpolate;    /* 1: rows of 8, each walking in equal steps from one noise vector to
                           another (drawn from seed, stream 1); 0 (default): independent draws */
    int has_seed;       /* 1: seed above; 0 (default): the run's seed, as `clgan sample` */
} clgan_sample_params;

clgan_sample_params clgan_sample_default_params(void);

/*
 * Opens the generator of a checkpoint on dev (its averaged weights where the run kept an
 * average): CLGAN_OK, or an error whose message clgan_generator_errmsg gives (*out is set
 * unless memory ran out; free it either way). dev stays the caller's.
 */
clgan_status clgan_generator_open(const char *checkpoint, clgan_device *dev,
                                  clgan_generator **out);
const char *clgan_generator_errmsg(const clgan_generator *g);
/* The noise's values per sample; each sample's shape (C, H, W); the condition's classes (0:
 * none). */
int clgan_generator_noise_dim(const clgan_generator *g);
void clgan_generator_sample_shape(const clgan_generator *g, int *c, int *h, int *w);
int clgan_generator_classes(const clgan_generator *g);
/*
 * n samples into out (n x C x H x W floats, in the model's data range, as G makes them);
 * p NULL: the defaults. The same as `clgan sample -n N --npy` draws. A sample holding NaN or
 * Inf is an error, and out is then unspecified.
 */
clgan_status clgan_generator_sample(clgan_generator *g, int n, const clgan_sample_params *p,
                                    float *out);
/* The noise clgan_generator_sample uses for n samples of p (n x noise_dim values into z). */
clgan_status clgan_generator_noise(clgan_generator *g, int n, const clgan_sample_params *p,
                                   float *z);
/*
 * n samples of p drawn into a PNG at path as `clgan sample` draws them: a grid (a row of 8 per
 * class for a conditional model; rows of 8 for interpolate), each sample beside its nearest
 * image of the IDX file `nearest` (NULL: none), or for 1-D and 2-D data a histogram or a
 * scatter plot.
 */
clgan_status clgan_generator_write_png(clgan_generator *g, int n, const clgan_sample_params *p,
                                       const char *nearest, const char *path);
/* The noise and the samples of p as PREFIX.z.npy (n x noise_dim) and PREFIX.x.npy (n x C*H*W,
 * G's values), as `clgan sample --npy PREFIX` writes them. */
clgan_status clgan_generator_write_npy(clgan_generator *g, int n, const clgan_sample_params *p,
                                       const char *prefix);
void clgan_generator_free(clgan_generator *g);

/* ---- a generator's Parzen estimate and mode counts ----------------------------------------- */

/* How clgan_generator_parzen measures. clgan_parzen_default_params() gives the defaults. */
typedef struct clgan_parzen_params {
    long samples;             /* the generator's samples as the centres (10,000) */
    int has_seed;             /* seed below draws them (else the run's seed) */
    uint64_t seed;
    int real;                 /* 1: the training images as the centres (the reference) */
    const char *data;         /* an IDX file of the model's images (NULL: its data file) */
    long valid[2], test[2];   /* image ranges [a, b) of it ({0, 0}: data.valid, data.test) */
    const double *sigmas;     /* the bandwidths tried (NULL: 10 from 0.1 to 1, log-spaced) */
    int n_sigmas;             /* up to 64 */
} clgan_parzen_params;

clgan_parzen_params clgan_parzen_default_params(void);

typedef struct clgan_parzen_result {
    double ll, se;            /* the test images' mean log-likelihood (nats) and its std error */
    double sigma;             /* the bandwidth chosen on the validation images */
    int best;                 /* its index in sigmas */
    long centres;
    long valid[2], test[2];   /* the ranges measured */
    char data[512];           /* the file measured */
    int n_sigmas;
    double sigmas[64], valid_ll[64]; /* each bandwidth's validation mean */
    uint64_t iter;            /* the checkpoint's iteration */
    char note[512];           /* "" or lines to know (held-out ranges overlapping training) */
    double seconds;
} clgan_parzen_result;

/* The Parzen window log-likelihood of held-out images under the generator's samples (the
 * paper's Table 1), as `clgan eval --parzen` measures it. */
clgan_status clgan_generator_parzen(clgan_generator *g, const clgan_parzen_params *p,
                                    clgan_parzen_result *r);

typedef struct clgan_modes_params {
    long samples;             /* 0: 2,500 on a mixture, 26,000 on stacked digits */
    int has_seed;
    uint64_t seed;
    const char *classifier;   /* stacked digits: a digit classifier's checkpoint (needed) */
    int real;                 /* stacked digits: the training set's samples (the reference) */
} clgan_modes_params;

clgan_modes_params clgan_modes_default_params(void);

typedef struct clgan_modes_result {
    int stacked;              /* digits per sample on stacked data; 0: a mixture */
    long modes, covered;      /* of a mixture: covered by at least min_count good samples */
    double kl_uniform;        /* stacked: KL(p || uniform) over the modes (nats) */
    double high_quality_pct;  /* mixture: samples within 3 stddev of their nearest mode */
    long min_count, nonfinite, samples;
    long per_mode[16];        /* mixture: its modes' high-quality samples (a model declares at
                                 most 16 components) */
    uint64_t iter;            /* the checkpoint's iteration */
    double seconds;
} clgan_modes_result;

/* The modes the generator covers, as `clgan eval --modes` counts them: of a mixture of known
 * modes (ring_2d, mixture_1d, gaussian_1d), or Stacked MNIST's digits read by a classifier. */
clgan_status clgan_generator_modes(clgan_generator *g, const clgan_modes_params *p,
                                   clgan_modes_result *r);

/* ---- evaluators: FID, KID, PRDC and the classifier score in a domain classifier's features -- */

typedef struct clgan_evaluator clgan_evaluator;

/* What clgan_evaluator_* measure and how. clgan_eval_default_params() gives the defaults. */
typedef struct clgan_eval_params {
    int fid, kid, prdc;       /* the figures wanted (1: measure); the classifier score always */
    const char *split;        /* the reference images: "test" (default), "train" or "valid" of the
                                 measured generator's data, else of the classifier's */
    long samples;             /* a generator's samples, and the most reference images (10,000) */
    int has_seed;             /* seed below draws the generator's noise (else the run's seed) */
    uint64_t seed;
    int k;                    /* PRDC's nearest neighbours (5) */
    int kid_subsets, kid_size; /* KID over 100 subsets of 1,000 */
    const char *features_npy; /* NULL, or a prefix: the features go to PREFIX.gen.npy and
                                 PREFIX.real.npy (never over an input of the evaluation) */
} clgan_eval_params;

clgan_eval_params clgan_eval_default_params(void);

typedef struct clgan_eval_result {
    char measured[512];       /* "10000 generator samples of ...", "600 images of ..." */
    char reference[512];      /* "10000 test images (path [a, b))" */
    int feature_layer;        /* the classifier layer whose output the features are */
    const char *feature_kind; /* its kind */
    int features;             /* values per feature vector */
    double fid;               /* NaN where not asked */
    double kid, kid_std, kid_se;
    int kid_subsets, kid_subset_size;
    double precision, recall, density, coverage;
    int k;
    double score, score_std;  /* the classifier score (exp of the mean KL of p(y|x) from p(y)),
                                 over 10 splits */
    double score_reference;   /* the reference images' own */
    double mean_confidence;   /* the mean top-class probability of the measured images */
    int classes;              /* a conditional generator's classes where the classifier has as
                                 many (0: none): class_accuracy is then the share of samples drawn
                                 for class k classified as k, and per class in the array */
    double class_accuracy;
    double class_accuracy_per_class[256];
    char note[256];           /* "" or something to know (why there is no class accuracy) */
    double seconds_features, seconds_metrics;
} clgan_eval_result;

/*
 * Opens the features of a classifier trained by clgan (its checkpoint) on dev: the output of
 * layer feature_layer, or (-1) of the layer before its last layer with parameters. *out is set
 * even on failure so the message can be read; free it either way. dev stays the caller's.
 */
clgan_status clgan_evaluator_open(const char *classifier, int feature_layer, clgan_device *dev,
                                  clgan_evaluator **out);
const char *clgan_evaluator_errmsg(const clgan_evaluator *ev);
/* p NULL: the defaults. A figure that is not finite is an error: no figure is made of NaN. */
/* A GAN checkpoint's generator, p->samples of it, against its data's p->split. */
clgan_status clgan_evaluator_generator(clgan_evaluator *ev, const char *checkpoint,
                                       const clgan_eval_params *p, clgan_eval_result *r);
/* Images from a file against the classifier's data: IDX bytes, or .npy in its data range. */
clgan_status clgan_evaluator_file(clgan_evaluator *ev, const char *path,
                                  const clgan_eval_params *p, clgan_eval_result *r);
/* n images (n x C x H x W floats in [0, 1]) of the caller's, against the classifier's data. */
clgan_status clgan_evaluator_images(clgan_evaluator *ev, const float *x, long n,
                                    const clgan_eval_params *p, clgan_eval_result *r);
/* The classifier's own training images (p->samples of them) against its p->split: the figures
 * real data reach. */
clgan_status clgan_evaluator_real(clgan_evaluator *ev, const clgan_eval_params *p,
                                  clgan_eval_result *r);
void clgan_evaluator_free(clgan_evaluator *ev);

#ifdef __cplusplus
}
#endif

#endif /* CLGAN_H */
