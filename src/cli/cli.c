/*
 * cli.c - the clgan command: option parsing, dispatch, and the inspection commands (devices,
 * check). cli_train.c and cli_sample.c hold the commands that run models. Only the cli_*.c files
 * print messages or choose exit codes: 0 success, 1 a failure while running (model, data,
 * device), 2 a usage error (unknown option, missing or bad value).
 */
#define _POSIX_C_SOURCE 200809L
#include "clgan.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* 1234567 -> "1,234,567" */
static void with_commas(uint64_t v, char *out, size_t len) {
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n && j + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
}

/* ---- devices ------------------------------------------------------------------------------ */

int cmd_devices(const cli_opts *o) {
    clgan_device_info *list;
    size_t n;
    char err[1024];
    if (clgan_device_list(&list, &n, err, sizeof err) != CLGAN_OK) {
        fprintf(stderr, "clgan devices: %s\n", err);
        return 1;
    }
    /* Mark the device a plain run would use (or the one --device names). */
    clgan_device *dev = NULL;
    int sel_p = -1, sel_d = -1;
    if (clgan_device_open(o->device, &dev) == CLGAN_OK) {
        sel_p = clgan_device_get_info(dev)->platform;
        sel_d = clgan_device_get_info(dev)->index;
    } else if (o->device) {
        fprintf(stderr, "clgan devices: %s\n", clgan_device_errmsg(dev));
        clgan_device_free(dev);
        clgan_device_list_free(list);
        return 1;
    }
    clgan_device_free(dev);
    int last_p = -1;
    for (size_t i = 0; i < n; i++) {
        const clgan_device_info *d = &list[i];
        if (d->platform != last_p) {
            printf("platform %d: %s\n", d->platform, d->platform_name);
            last_p = d->platform;
        }
        char mem[32], alloc[32];
        clgan_format_bytes((double)d->global_mem, mem, sizeof mem);
        clgan_format_bytes((double)d->max_alloc, alloc, sizeof alloc);
        int chosen = d->platform == sel_p && d->index == sel_d;
        printf("%c %d:%d  %-4s %s\n", chosen ? '*' : ' ', d->platform, d->index, d->type, d->name);
        printf("        vendor %s, driver %s, %s\n", d->vendor, d->driver_version, d->version);
        printf("        %u compute units, %s global memory (max buffer %s), fp64 %s, fp16 %s\n",
               d->compute_units, mem, alloc, d->fp64 ? "yes" : "no", d->fp16 ? "yes" : "no");
    }
    if (o->device)
        printf("(* = selected by --device; choose with --device P:D or part of the name)\n");
    else
        printf("(* = selected by default: the GPU with the most compute units, else the CPU device "
               "with the most on the first platform that has one; choose with --device P:D or "
               "part of the name)\n");
    clgan_device_list_free(list);
    return 0;
}

/* ---- check -------------------------------------------------------------------------------- */

static void print_net(const clgan_model *m, clgan_net net, const char *title) {
    int c, h, w;
    clgan_model_input_shape(m, net, &c, &h, &w);
    int batch = clgan_model_batch(m);
    printf("\n%s (input %dx%dx%d, batch %d)\n", title, c, h, w, batch);
    /* a graph: a column of paths, and each layer's inputs where not the one before */
    int graph = 0, pw = 4;
    for (int i = 0; i < clgan_model_layers(m, net); i++) {
        clgan_layer_info L;
        clgan_model_layer_info(m, net, i, &L);
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        graph |= L.from[0] || strcmp(L.path, idx) != 0;
        if ((int)strlen(L.path) > pw) pw = (int)strlen(L.path);
    }
    if (graph)
        printf("  %-3s %-*s %-16s %-18s %-14s %12s %14s %12s  %s\n", "#", pw, "path", "layer", "",
               "output", "params", "FLOPs/sample", "activations", "from");
    else
        printf("  %-3s %-16s %-18s %-14s %12s %14s %12s\n", "#", "layer", "", "output", "params",
               "FLOPs/sample", "activations");
    uint64_t tp = 0, ta = 0;
    double tf = 0;
    for (int i = 0; i < clgan_model_layers(m, net); i++) {
        clgan_layer_info L;
        clgan_model_layer_info(m, net, i, &L);
        char shape[48], params[32], flops[32], act[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", L.out_c, L.out_h, L.out_w);
        with_commas(L.params, params, sizeof params);
        with_commas((uint64_t)L.flops, flops, sizeof flops);
        clgan_format_bytes((double)L.act_bytes, act, sizeof act);
        if (graph)
            printf("  %-3d %-*s %-16s %-18s %-14s %12s %14s %12s  %s\n", i, pw, L.path, L.kind,
                   L.detail, shape, params, flops, act, L.from);
        else
            printf("  %-3d %-16s %-18s %-14s %12s %14s %12s\n", i, L.kind, L.detail, shape,
                   params, flops, act);
        tp += L.params;
        tf += L.flops;
        ta += L.act_bytes;
    }
    char params[32], flops[32], act[32], pmem[32];
    with_commas(tp, params, sizeof params);
    with_commas((uint64_t)tf, flops, sizeof flops);
    clgan_format_bytes((double)ta, act, sizeof act);
    clgan_format_bytes((double)tp * 4.0, pmem, sizeof pmem);
    if (graph)
        printf("  %-3s %-*s %-16s %-18s %-14s %12s %14s %12s\n", "", pw, "", "total", "", "",
               params, flops, act);
    else
        printf("  %-3s %-16s %-18s %-14s %12s %14s %12s\n", "", "total", "", "", params, flops,
               act);
    printf("  %s parameters: %s (%s of float32)\n", title, params, pmem);
}

int cmd_check(const cli_opts *o) {
    clgan_model *m;
    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        fprintf(stderr, "clgan check: %s\n", clgan_model_errmsg(m));
        clgan_model_free(m);
        return 1;
    }
    printf("%s: model '%s' is valid\n", o->positional, clgan_model_name(m));
    for (int w = 0; w <= CLGAN_CLASSIFIER; w++)
        if (clgan_model_layers(m, (clgan_net)w) > 0)
            print_net(m, (clgan_net)w, clgan_net_name((clgan_net)w));
    size_t need = clgan_model_remarks(m, NULL, 0);
    char *remarks = malloc(need + 1);
    if (remarks) {
        clgan_model_remarks(m, remarks, need + 1);
        fputs(remarks, stdout);
    }
    free(remarks);
    clgan_model_free(m);
    if (!remarks) {
        fprintf(stderr, "clgan check: out of memory\n");
        return 1;
    }
    return 0;
}

/* ---- options and dispatch ------------------------------------------------------------------ */

int print_json(void *o) {
    char *s = o ? cJSON_PrintUnformatted((cJSON *)o) : NULL;
    cJSON_Delete((cJSON *)o);
    if (!s) return -1;
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "clgan%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'clgan %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

const char *opt_get(const cli_opts *o, const char *name) {
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->names[i], name) == 0) return o->values[i];
    return NULL;
}

clgan_model *load_model_shapes(const char *cmd, const char *path) {
    clgan_model *m;
    if (clgan_model_load_shapes(path, &m) != CLGAN_OK) {
        fprintf(stderr, "clgan %s: %s\n", cmd, clgan_model_errmsg(m));
        clgan_model_free(m);
        return NULL;
    }
    clgan_model_info mi;
    clgan_model_get_info(m, &mi);
    if (mi.classifier) {
        fprintf(stderr, "clgan %s: %s declares a classifier; %s runs GANs (train the classifier "
                        "with clgan train)\n", cmd, path, cmd);
        clgan_model_free(m);
        return NULL;
    }
    if (mi.data_unread[0])
        fprintf(stderr, "clgan %s: note: %s:%s; running on synthetic data of the model's "
                        "shape (%dx%dx%d)\n", cmd, path, mi.data_unread, mi.data_c, mi.data_h,
                mi.data_w);
    return m;
}

int write_text_atomic(const char *path, const char *text) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (!tmp) return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%s\n", text) >= 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0) ok = 0;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int opt_long(const cli_opts *o, const char *name, long lo, long hi, long *out) {
    const char *v = opt_get(o, name);
    if (!v) return 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "clgan %s: %s: expected an integer in [%ld, %ld], got '%s'\n",
                o->cmd->name, name, lo, hi, v);
        return -1;
    }
    *out = (long)x;
    return 1;
}

int open_device_list(const cli_opts *o, clgan_device ***devs, int *n) {
    const char *list = opt_get(o, "--devices"), *cmd = o->cmd->name;
    *devs = NULL;
    *n = 0;
    if (o->device) {
        fprintf(stderr, "clgan %s: --device and --devices conflict: give one\n", cmd);
        return EXIT_USAGE;
    }
    int count = 1;
    for (const char *c = list; *c; c++) count += *c == ',';
    for (const char *a = list;; a = strchr(a, ',') + 1) {
        const char *b = strchr(a, ',');
        if ((b ? b : a + strlen(a)) == a) {
            fprintf(stderr, "clgan %s: --devices: an empty selector in '%s'\n", cmd, list);
            return EXIT_USAGE;
        }
        if (!b) break;
    }
    char *sel = strdup(list), *save = NULL;
    clgan_device **d = calloc((size_t)count, sizeof *d);
    if (!sel || !d) {
        free(sel);
        free(d);
        fprintf(stderr, "clgan %s: out of memory\n", cmd);
        return 1;
    }
    for (int i = 0; i < count; i++) {
        const char *one = strtok_r(i == 0 ? sel : NULL, ",", &save);
        if (clgan_device_open(one, &d[i]) != CLGAN_OK) {
            const char *why = clgan_device_errmsg(d[i]);
            if (strncmp(why, "--device: ", 10) == 0) why += 10;
            fprintf(stderr, "clgan %s: --devices: %s\n", cmd, why);
            for (int j = 0; j <= i; j++) clgan_device_free(d[j]);
            free(d);
            free(sel);
            return 1;
        }
    }
    free(sel);
    *devs = d;
    *n = count;
    return 0;
}

int open_one_device(const cli_opts *o, clgan_device ***devs, int *n) {
    clgan_device **d = calloc(1, sizeof *d);
    *devs = NULL;
    *n = 0;
    if (!d) {
        fprintf(stderr, "clgan %s: out of memory\n", o->cmd->name);
        return 1;
    }
    if (clgan_device_open(o->device, &d[0]) != CLGAN_OK) {
        fprintf(stderr, "clgan %s: %s\n", o->cmd->name, clgan_device_errmsg(d[0]));
        clgan_device_free(d[0]);
        free(d);
        return 1;
    }
    *devs = d;
    *n = 1;
    return 0;
}

int open_rank_device(const cli_opts *o, const clgan_ranks *c, clgan_device ***devs, int *n) {
    const char *list = opt_get(o, "--devices"), *cmd = o->cmd->name;
    char sel[64] = "";
    *devs = NULL;
    *n = 0;
    if (list && o->device) {
        fprintf(stderr, "clgan %s: --device and --devices conflict: give one\n", cmd);
        return EXIT_USAGE;
    }
    if (list) { /* one selector per rank */
        int count = 1;
        for (const char *p = list; *p; p++) count += *p == ',';
        if (count != clgan_ranks_size(c)) {
            fprintf(stderr, "clgan %s: --devices under mpirun: one selector per rank, %d given "
                    "for %d ranks\n", cmd, count, clgan_ranks_size(c));
            return EXIT_USAGE;
        }
        const char *a = list;
        for (int i = 0; i < clgan_ranks_rank(c); i++) a = strchr(a, ',') + 1;
        size_t len = strcspn(a, ",");
        if (len == 0 || len >= sizeof sel) {
            fprintf(stderr, "clgan %s: --devices: rank %d's selector is %s\n", cmd, clgan_ranks_rank(c),
                    len ? "too long" : "empty");
            return EXIT_USAGE;
        }
        memcpy(sel, a, len);
        sel[len] = '\0';
    } else if (!o->device) { /* the local rank's device among those this machine has */
        clgan_device_info *all;
        size_t count;
        char err[512];
        if (clgan_device_list(&all, &count, err, sizeof err) != CLGAN_OK) {
            fprintf(stderr, "clgan %s (rank %d): %s\n", cmd, clgan_ranks_rank(c), err);
            return 1;
        }
        if (count > 0) {
            const clgan_device_info *d = &all[(size_t)clgan_ranks_local(c) % count];
            snprintf(sel, sizeof sel, "%d:%d", d->platform, d->index);
        }
        clgan_device_list_free(all);
    }
    clgan_device **d = calloc(1, sizeof *d);
    if (!d) return 1;
    if (clgan_device_open(sel[0] ? sel : o->device, &d[0]) != CLGAN_OK) {
        fprintf(stderr, "clgan %s (rank %d): %s\n", cmd, clgan_ranks_rank(c), clgan_device_errmsg(d[0]));
        clgan_device_free(d[0]);
        free(d);
        return 1;
    }
    *devs = d;
    *n = 1;
    return 0;
}

static const cli_opt common_opts[] = {
    {"--device", "SEL", "device as P:D (see 'clgan devices') or part of its name"},
    {"--help", NULL, "this help"},
};

static const cli_opt train_opts[] = {
    {"--out", "DIR", "run directory (default runs/<model>-<date>-<time>)"},
    {"--force", NULL, "write into an existing run directory"},
    {"--epochs", "N", "train for N epochs in all (overrides the model's train.epochs)"},
    {"--iters", "N", "train for N iterations in all (overrides the model's length)"},
    {"--resume", "CKPT", "continue the run saved in CKPT (its run is the run directory)"},
    {"--seed", "S", "the run's seed (overrides train.seed; recorded in config.yaml)"},
    {"--quiet", NULL, "print nothing but errors"},
    {"--on-nan", "WHAT", "stop (default), or rollback: reload the last checkpoint, halve the "
                         "learning rates"},
    {"--devices", "A,B,..", "train on several devices at once, each on its share of every "
                            "batch (selectors as --device takes them; under mpirun, one per "
                            "rank)"},
    {"--comm-timeout", "S", "under mpirun: seconds a rank waits for the others before it ends "
                            "the job (default 600)"},
};

static const cli_opt sample_opts[] = {
    {"-n", "N", "number of samples (default 64)"},
    {"-o", "FILE", "output PNG (default samples.png)"},
    {"--seed", "S", "noise seed (default: the run's seed, which redraws its sample grids)"},
    {"--interpolate", NULL, "rows walk linearly between two noise vectors (paper, Figure 3)"},
    {"--nearest", "IDX", "put each sample beside its nearest image of IDX (paper, Figure 2)"},
    {"--npy", "PREFIX", "also write the noise and samples as PREFIX.z.npy and PREFIX.x.npy"},
    {"--class", "K", "a conditional model: every sample of class K (default: a row of 8 per "
                     "class)"},
};

static const cli_opt eval_opts[] = {
    {"--parzen", NULL, "the Parzen-window log-likelihood (the paper's Table 1)"},
    {"--modes", NULL, "mode coverage on a mixture (ring_2d, mixture_1d): modes covered and the "
                      "share of high-quality samples; on stacked_idx data, with --classifier"},
    {"--samples", "S", "generator samples (default 10000; --modes 2500, 26000 when stacked)"},
    {"--sigmas", "LIST", "bandwidths to choose from, comma-separated (default 10 log-spaced "
                         "on [0.1, 1])"},
    {"--valid", "A:B", "images [A, B) choose sigma (default: the model's data.valid)"},
    {"--test", "A:B", "images [A, B) are measured (default: the model's data.test)"},
    {"--data", "IDX", "image file (default: the model's data.path)"},
    {"--real", NULL, "measure training images instead of samples: the reference figure"},
    {"--fid", NULL, "the Frechet distance in the classifier's features"},
    {"--kid", NULL, "the kernel distance (unbiased polynomial-kernel MMD^2 over subsets)"},
    {"--prdc", NULL, "precision, recall, density and coverage (k nearest neighbours)"},
    {"--score", NULL, "the classifier score only (it comes with every feature figure)"},
    {"--classifier", "CKPT", "the classifier whose features are measured (a clgan classifier "
                             "checkpoint)"},
    {"--feature-layer", "N", "features: the output of classifier layer N (default: the input of "
                             "its last layer with parameters)"},
    {"--split", "NAME", "real images: test (default), valid or train split of the model's data"},
    {"--images", "FILE", "measure these images instead of a checkpoint (IDX, or .npy)"},
    {"--features-npy", "PREFIX", "write the features as PREFIX.gen.npy and PREFIX.real.npy"},
    {"--k", "K", "neighbours of --prdc's balls (default 5)"},
    {"--kid-subsets", "N", "subsets of --kid (default 100)"},
    {"--kid-size", "M", "samples per subset of --kid (default 1000)"},
    {"--seed", "S", "noise seed of the samples (default: the run's seed)"},
    {"--json", NULL, "print the result as JSON"},
};

static const cli_opt theory_opts[] = {
    {"--pre-iters", "N", "iterations of Algorithm 1 before G is frozen (default 0: G as initialised)"},
    {"--d-steps", "N", "steps of D alone towards D* (default 3000)"},
    {"--csv", "FILE", "write the curves of check (1): x, p_data, p_g, D, D*"},
};

static const cli_opt plot_opts[] = {
    {"-o", "FILE", "output PNG (default curves.png)"},
};

static const cli_opt layers_opts[] = {
    {"--markdown", NULL, "write the reference page (docs/model_language.md) instead"},
};

static const cli_opt figure1_opts[] = {
    {"-o", "FILE", "output PNG (default figure1.png)"},
};

static const cli_opt bench_opts[] = {
    {"--iters", "N", "timed iterations (default 20)"},
    {"--warmup", "N", "untimed iterations first (default 3)"},
    {"--all-devices", NULL, "every device, side by side"},
    {"--devices", "A,B,..", "the model on these devices at once (train --devices), against the "
                            "first alone; under mpirun, one per rank"},
    {"--json", "FILE", "also write the results as JSON"},
    {"--comm-timeout", "S", "under mpirun: seconds a rank waits for the others (default 600)"},
};

static const cli_opt compare_opts[] = {
    {"--devices", "A,B", "the two devices (P:D or part of the name), e.g. pthread,basic"},
    {"--iters", "N", "iterations for the drift of the parameters (default 10)"},
    {"--tolerance", "R",
     "exit 1 unless every layer's normwise differences after one "
     "iteration are within R (and no NaN or Inf), e.g. 1e-4"},
};

#define OPTS(a) a, (int)(sizeof a / sizeof a[0])

static const cli_cmd commands[] = {
    {"devices", "", "list OpenCL platforms and devices",
     "Lists every OpenCL platform and device with its index P:D, type, vendor, name, driver,\n"
     "compute units, memory and fp64/fp16 support. '*' marks the device clgan would use.",
     cmd_devices, 0, NULL, 0},
    {"check", "MODEL", "validate a model file and print its layers",
     "Parses and validates MODEL without running it, then prints for the generator and the\n"
     "discriminator a table of layers: output shape, parameters, forward FLOPs per sample and\n"
     "activation memory per batch, with totals.",
     cmd_check, 1, NULL, 0},
    {"train", "MODEL", "train a model (Algorithm 1) and write samples, log, checkpoints",
     "Trains MODEL on its data with Algorithm 1 of Goodfellow et al. (2014): k discriminator\n"
     "steps, then one generator step, per iteration. Writes into the run directory:\n"
     "config.yaml, log.csv, samples/iter_NNNNNN.png and checkpoint.safetensors (plus\n"
     "checkpoints/iter_NNNNNN.safetensors every train.checkpoint_every iterations).\n"
     "--epochs/--iters give the run's total length, also when resuming.",
     cmd_train, 1, OPTS(train_opts)},
    {"sample", "CKPT", "draw samples of a trained generator into a PNG",
     "Loads the generator of checkpoint CKPT and draws a grid of samples (a scatter plot or\n"
     "a histogram for 2-D or 1-D data).",
     cmd_sample, 1, OPTS(sample_opts)},
    {"eval", "[CKPT]", "evaluate a generator: FID, KID, precision/recall; Parzen; modes",
     "--parzen measures CKPT's generator as the paper's Table 1 does: a Gaussian Parzen window\n"
     "on S generator samples, its bandwidth chosen by the mean log-likelihood of validation\n"
     "images, reported as the mean log-likelihood of test images in nats with its standard\n"
     "error. --modes counts, on a mixture (ring_2d, mixture_1d), the modes with at least 20\n"
     "high-quality samples per 2,500 (within 3 stddev of their nearest mode), and the share of\n"
     "high-quality samples, as PacGAN and VEEGAN report them; on stacked data (Stacked MNIST)\n"
     "it labels each channel of 26,000 samples with --classifier and reports the modes covered\n"
     "and KL(p || uniform).\n"
     "--fid, --kid, --prdc and --score measure S generator samples against S real images of a\n"
     "split of the model's data in the features of --classifier (a classifier model trained by\n"
     "clgan train): the Frechet distance, the kernel distance (mean and spread over subsets),\n"
     "precision, recall, density and coverage with k-NN balls, and the classifier score (the\n"
     "Inception Score's formula). Instead of CKPT: --images FILE (IDX bytes, or .npy N x C x H x\n"
     "W or N x H x W in the data's range) from anywhere, or --real (training images, the\n"
     "reference figures).",
     cmd_eval, 2, OPTS(eval_opts)},
    {"bench", "MODEL", "measure training speed on one device or all of them",
     "Runs real training iterations of MODEL on synthetic data of its shape and reports the\n"
     "median time per iteration, samples/s, GEMM GFLOPS against the device's peak (its rate of\n"
     "fused multiply-adds, measured first), device memory, the time from start to the first\n"
     "iteration with an empty and with a filled program cache, and a per-kernel profile from\n"
     "OpenCL events. The data file need not be present: without it, the shape is the data's\n"
     "'shape' or the generator's output.",
     cmd_bench, 1, OPTS(bench_opts)},
    {"compare", "MODEL", "run a model on two devices and report how they differ",
     "Same seed, weights and batches on devices A and B: per layer, the largest absolute and\n"
     "relative differences of activations, activation gradients and parameter gradients after\n"
     "one iteration, and the normwise ||A - B|| / ||A|| (a few entries at a ReLU's kink, where\n"
     "rounding puts them on either side, move the largest and not this); the drift of the\n"
     "parameters after N iterations; the first NaN or Inf; the time per iteration on each.\n"
     "With --tolerance R, exit status 1 unless every normwise difference is within R.\n"
     "Synthetic data, as for bench: the data file need not be present.",
     cmd_compare, 1, OPTS(compare_opts)},
    {"theory", "MODEL", "check the paper's theory numerically on a 1-D model",
     "On a model with 1-D data: (1) with G frozen, trains D and compares D(x) with\n"
     "p_data/(p_data + p_g); (2) compares V(D*, G) with -log 4 + 2 JSD(p_data || p_g) by\n"
     "quadrature; (3) with p_g = p_data, checks D* = 1/2 and C(G) = -log 4. Exits 1 if a\n"
     "check misses its tolerance.",
     cmd_theory, 1, OPTS(theory_opts)},
    {"figure1", "CKPT|RUN", "draw the paper's Figure 1 from a 1-D run",
     "Draws p_data (black, dotted), p_g (green) and D(x) (blue, dashed), with the mapping\n"
     "x = G(z) below, for a checkpoint; for a run directory, four panels (a)-(d) from its\n"
     "checkpoints/ spread over the run.",
     cmd_figure1, 1, OPTS(figure1_opts)},
    {"plot", "RUN|LOG", "draw a run's curves from its log.csv into a PNG",
     "Draws the log.csv of run directory RUN (or the file LOG) against iterations, one panel\n"
     "each: the D and G losses, D(x) and D(G(z)), the learning rates, and the Parzen\n"
     "log-likelihood when the run measured it, with axes, ticks and legends. Training writes\n"
     "the same picture as RUN/curves.png when it ends.",
     cmd_plot, 1, OPTS(plot_opts)},
    {"layers", "", "list every layer kind with its keys, types, ranges and defaults",
     "Lists the layer kinds of the model language, each with its YAML keys: their types,\n"
     "ranges, defaults, and what the kind is beyond them (a merge, a reader of the label,\n"
     "whether gradient penalties pass it). The kinds' own key tables are the source, so the\n"
     "list is what the parser accepts. --markdown writes the reference page of the model\n"
     "language's layers (docs/model_language.md).",
     cmd_layers, 0, OPTS(layers_opts)},
};

/* clgan --version: the engine, its build, CLBlast and the OpenCL platforms this machine has. */
static int print_version(void) {
    printf("clgan %s (git %s)\nCLBlast %s (built against)\n", clgan_version(),
           clgan_build_revision(), clgan_clblast_version());
    clgan_device_info *list;
    size_t n;
    char err[1024];
    if (clgan_device_list(&list, &n, err, sizeof err) != CLGAN_OK) {
        printf("OpenCL: %s\n", err);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (i == 0 || list[i].platform != list[i - 1].platform)
            printf("OpenCL platform %d: %s (%s, driver %s)\n", list[i].platform,
                   list[i].platform_name, list[i].version, list[i].driver_version);
    clgan_device_list_free(list);
    return 0;
}

static void print_help(void) {
    printf("usage: clgan [--device SEL] COMMAND [ARGS] [OPTIONS]\n\n"
           "Trains Generative Adversarial Networks declared in YAML on any OpenCL device.\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-8s %-7s %s\n", commands[i].name, commands[i].args, commands[i].summary);
    printf("\noptions for every command:\n"
           "  --device SEL  device as P:D (see 'clgan devices') or part of its name;\n"
           "                default: $CLGAN_DEVICE, else the first GPU, else the first CPU\n"
           "  --help        help for the command\n"
           "  --version     version, git revision, CLBlast and the OpenCL platforms\n\n"
           "environment: CLGAN_DEVICE, CLGAN_CACHE_DIR (program cache; default\n"
           "$XDG_CACHE_HOME/clgan or ~/.cache/clgan)\n");
}

static void print_opt(const cli_opt *o) {
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    printf("  %-16s %s\n", left, o->help);
}

static void print_cmd_help(const cli_cmd *c) {
    printf("usage: clgan %s%s%s [OPTIONS]\n\n%s\n\noptions:\n", c->name, c->args[0] ? " " : "",
           c->args, c->help);
    for (int i = 0; i < c->n_opts; i++) print_opt(&c->opts[i]);
    for (size_t i = 0; i < sizeof common_opts / sizeof common_opts[0]; i++)
        print_opt(&common_opts[i]);
}

static const cli_opt *find_opt(const cli_cmd *c, const char *name) {
    for (size_t i = 0; i < sizeof common_opts / sizeof common_opts[0]; i++)
        if (strcmp(common_opts[i].name, name) == 0) return &common_opts[i];
    for (int i = 0; c && i < c->n_opts; i++)
        if (strcmp(c->opts[i].name, name) == 0) return &c->opts[i];
    return NULL;
}

int main(int argc, char **argv) {
    /* A closed pipe (clgan ... | head) must not kill a run: writes fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    /* Started with stdin, stdout or stderr closed, the first file clgan opens would become
     * that descriptor and receive its messages: hold them with /dev/null first. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0) {
            int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (nfd >= 0 && nfd != fd) close(nfd); /* (only ever lands on the lowest free fd) */
        }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) return print_version();
    cli_opts o;
    memset(&o, 0, sizeof o);
    static const char *names[4096], *values[4096];
    if ((size_t)argc > ARRAY_LEN(names)) {
        fprintf(stderr, "clgan: %d arguments; clgan takes at most %zu\n", argc - 1,
                ARRAY_LEN(names) - 1);
        return EXIT_USAGE;
    }
    o.names = names;
    o.values = values;
    const cli_cmd *cmd = NULL;
    int help = 0;
    /* Options may come before the command only if they are common ones (--device, --help). */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *cname = cmd ? cmd->name : NULL;
        if (a[0] == '-' && a[1] != '\0') {
            char name[64];
            const char *eq = strchr(a, '=');
            size_t nl = eq ? (size_t)(eq - a) : strlen(a);
            if (nl >= sizeof name) return usage_error(cname, "unknown option '%s'", a);
            memcpy(name, a, nl);
            name[nl] = '\0';
            if (strcmp(name, "-h") == 0) strcpy(name, "--help");
            const cli_opt *opt = find_opt(cmd, name);
            if (!opt) return usage_error(cname, "unknown option '%s'", name);
            if (strcmp(name, "--help") == 0) {
                help = 1;
                continue;
            }
            const char *val = NULL;
            if (opt->arg) {
                val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!val || !*val) {
                    fprintf(stderr, "clgan%s%s: %s: missing value (%s)\n", cname ? " " : "",
                            cname ? cname : "", name, opt->arg);
                    return EXIT_USAGE;
                }
            } else if (eq) {
                return usage_error(cname, "option '%s' takes no value", name);
            }
            if (opt_get(&o, opt->name))
                return usage_error(cname, "option '%s' given twice", opt->name);
            o.names[o.n] = opt->name;
            o.values[o.n++] = val ? val : "";
        } else if (!cmd) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
                if (strcmp(a, commands[k].name) == 0) cmd = &commands[k];
            if (!cmd) return usage_error(NULL, "unknown command '%s'", a);
        } else if (!o.positional && cmd->needs_positional) {
            o.positional = a;
        } else {
            return usage_error(cname, "unexpected argument '%s'", a);
        }
    }
    if (!cmd) {
        print_help();
        return help ? 0 : EXIT_USAGE;
    }
    o.cmd = cmd;
    o.device = opt_get(&o, "--device");
    if (help) {
        print_cmd_help(cmd);
        return 0;
    }
    if (cmd->needs_positional == 1 && !o.positional)
        return usage_error(cmd->name, "missing %s", cmd->args);
    return cmd->run(&o);
}
