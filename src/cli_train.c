/*
 * cli_train.c - `clgan train`: the main job. Sets up device, data and trainer, runs Algorithm 1
 * and writes the run directory: config.yaml, log.csv, samples/, checkpoint.safetensors.
 *
 * The loop only enqueues; it meets the device once per log interval (statistics), and when it
 * writes samples or checkpoints.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "image.h"
#include "parzen.h"
#include "rng.h"

static void fmt_duration(double s, char *out, size_t len) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(out, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, len, "%02ld:%02ld", t / 60, t % 60);
}

int data_is_image(const clgan_model *m) {
    return m->data.format == DATA_IDX;
}

/* Writes what G makes of `rows` noise vectors: a grid, a scatter plot or a histogram. */
clgan_status draw_samples(const clgan_model *m, const dataset *data, const float *x, int rows,
                          const char *path, clgan_err *e) {
    if (data_is_image(m)) {
        int cols = (int)ceil(sqrt((double)rows));
        return image_grid_png(path, x, rows, m->data.shape, cols, 2, e);
    }
    long n = data ? (data->n < 5000 ? data->n : 5000) : 0;
    if (shape_size(m->data.shape) == 2)
        return image_scatter_png(path, data ? data->host : NULL, n, x, rows, e);
    return image_hist_png(path, data ? data->host : NULL, n, x, rows, e);
}

typedef struct run {
    char dir[1024];
    char *log; /* log.csv so far; rewritten whole (atomically) at each interval */
    size_t log_len, log_cap;
} run;

static int log_append(run *r, const char *line, clgan_err *e) {
    size_t n = strlen(line);
    if (r->log_len + n + 1 > r->log_cap) {
        size_t cap = (r->log_cap + n + 1) * 2;
        char *p = realloc(r->log, cap);
        if (!p) return err_set(e, CLGAN_ERR_NOMEM, "out of memory") != CLGAN_OK;
        r->log = p;
        r->log_cap = cap;
    }
    memcpy(r->log + r->log_len, line, n + 1);
    r->log_len += n;
    char path[1100];
    snprintf(path, sizeof path, "%s/log.csv", r->dir);
    return file_write_atomic(path, r->log, r->log_len, e) != CLGAN_OK;
}

static int dir_has_run(const char *dir) {
    char p[1100];
    const char *files[] = {"log.csv", "checkpoint.safetensors", "config.yaml"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (access(p, F_OK) == 0) return 1;
    }
    return 0;
}

/* SIGINT/SIGTERM: the loop finishes its iteration, saves and exits 130/143; a second SIGINT
 * exits at once (every file is written to a temporary and renamed, so none is left damaged). */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    if (stop_signal && sig == SIGINT) _exit(130);
    stop_signal = sig;
}

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "clgan train: %s%s%s\n", what ? what : "", what ? ": " : "", msg);
    return 1;
}

/* Saves checkpoint.safetensors (and the periodic copy) if the state is finite. 1 = saved. */
static int save_state(trainer *t, const run *r, int periodic, clgan_err *e, clgan_status *st) {
    int finite;
    char path[1200];
    *st = trainer_finite(t, &finite);
    if (*st != CLGAN_OK || !finite) return 0;
    if (periodic) {
        snprintf(path, sizeof path, "%s/checkpoints", r->dir);
        mkdir_p(path);
        snprintf(path, sizeof path, "%s/checkpoints/iter_%06llu.safetensors", r->dir,
                 (unsigned long long)t->iter);
        if ((*st = checkpoint_save(t, path, e)) != CLGAN_OK) return 0;
    }
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", r->dir);
    *st = checkpoint_save(t, path, e);
    return *st == CLGAN_OK;
}

int cmd_train(const cli_opts *o) {
    long epochs = 0, iters = 0;
    int has_e = opt_long(o, "--epochs", 1, 1L << 30, &epochs);
    int has_i = opt_long(o, "--iters", 1, 1L << 40, &iters);
    if (has_e < 0 || has_i < 0) return EXIT_USAGE;
    if (has_e && has_i) {
        fprintf(stderr, "clgan train: --epochs and --iters conflict: give one\n");
        return EXIT_USAGE;
    }
    /* From the start: a signal during the (possibly long) program builds and GEMM tuning stops
     * the run after its first iteration, instead of being lost, or ignored where the shell
     * started clgan in the background with SIGINT ignored. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* PoCL and its compiler do not expect EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *resume = opt_get(o, "--resume"), *out = opt_get(o, "--out");
    const char *on_nan = opt_get(o, "--on-nan");
    int rollback = 0;
    if (on_nan) {
        if (strcmp(on_nan, "rollback") == 0) {
            rollback = 1;
        } else if (strcmp(on_nan, "stop") != 0) {
            fprintf(stderr, "clgan train: --on-nan: expected stop or rollback, got '%s'\n", on_nan);
            return EXIT_USAGE;
        }
    }
    int quiet = opt_get(o, "--quiet") != NULL, force = opt_get(o, "--force") != NULL;

    clgan_model *m = NULL;
    clgan_device *dev = NULL;
    dataset data;
    memset(&data, 0, sizeof data);
    trainer t;
    memset(&t, 0, sizeof t);
    run r;
    memset(&r, 0, sizeof r);
    clgan_err e;
    err_clear(&e);
    int rc = 1;
    float *z = NULL, *x = NULL, *pz_valid = NULL, *pz_test = NULL;

    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        rc = fail(NULL, clgan_model_errmsg(m));
        goto done;
    }
    /* The run directory. */
    if (out) {
        snprintf(r.dir, sizeof r.dir, "%s", out);
    } else if (resume) {
        const char *slash = strrchr(resume, '/');
        snprintf(r.dir, sizeof r.dir, "%.*s", slash ? (int)(slash - resume) : 1,
                 slash ? resume : ".");
    } else {
        char stamp[32];
        time_t now_t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now_t));
        snprintf(r.dir, sizeof r.dir, "runs/%s-%s", m->name, stamp);
    }
    if (!resume && !force && dir_has_run(r.dir)) {
        fprintf(stderr,
                "clgan train: --out: %s already holds a run; use --force to write into "
                "it, or --resume %s/checkpoint.safetensors to continue it\n",
                r.dir, r.dir);
        rc = 1;
        goto done;
    }
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(NULL, clgan_device_errmsg(dev));
        goto done;
    }
    if (dataset_load(m, m->train.seed, &data, &e) != CLGAN_OK) {
        rc = fail(NULL, e.msg);
        goto done;
    }
    if (dataset_upload(&data, dev) != CLGAN_OK) {
        rc = fail(NULL, dev->err.msg);
        goto done;
    }
    const int sample_rows = data_is_image(m) ? 64 : 1024;
    double t_build = clock_seconds();
    /* G's capacity also serves sampling: larger chunks when the Parzen estimate needs 10^4. */
    int g_rows = m->train.parzen_samples > 0 && sample_rows < 1000 ? 1000 : sample_rows;
    if (trainer_init(&t, dev, m, &data, g_rows) != CLGAN_OK) {
        rc = fail(NULL, dev->err.msg);
        goto done;
    }
    t_build = clock_seconds() - t_build;
    if (resume && checkpoint_load(&t, resume, &e) != CLGAN_OK) {
        rc = fail("--resume", e.msg);
        goto done;
    }

    char path[1200];
    snprintf(path, sizeof path, "%s/samples", r.dir);
    if (mkdir_p(path) != 0) {
        rc = fail(r.dir, strerror(errno));
        goto done;
    }
    if (resume) { /* keep the earlier log rows up to the checkpoint */
        snprintf(path, sizeof path, "%s/log.csv", r.dir);
        char *old;
        size_t len;
        if (file_read_all(path, SIZE_MAX, &old, &len, NULL) == CLGAN_OK) {
            r.log = old;
            r.log_len = len;
            r.log_cap = len + 1;
            /* drop rows logged after the checkpoint's iteration */
            char *line = strchr(r.log, '\n');
            while (line && line[1]) {
                unsigned long long it = strtoull(line + 1, NULL, 10);
                if (it > t.iter) {
                    line[1] = '\0';
                    r.log_len = (size_t)(line + 1 - r.log);
                    break;
                }
                line = strchr(line + 1, '\n');
            }
        }
    }
    if (!r.log &&
        log_append(&r, "iter,epoch,seconds,lr_g,lr_d,d_loss,g_loss,d_real,d_fake,parzen_ll\n",
                   &e)) {
        rc = fail(NULL, e.msg);
        goto done;
    }
    {
        size_t cap = strlen(m->yaml_text) + 2048;
        char *cfg = malloc(cap);
        if (!cfg) goto done;
        snprintf(cfg, cap, "# clgan run: %s on '%s' (%s), seed %llu%s%s\n# length: %s %ld\n%s",
                 m->path, dev->info.name, dev->info.driver_version,
                 (unsigned long long)m->train.seed, resume ? ", resumed from " : "",
                 resume ? resume : "", has_i ? "iters" : "epochs",
                 has_i   ? iters
                 : has_e ? epochs
                         : m->train.epochs,
                 m->yaml_text);
        snprintf(path, sizeof path, "%s/config.yaml", r.dir);
        clgan_status st = file_write_atomic(path, cfg, strlen(cfg), &e);
        free(cfg);
        if (st != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }

    /* The run's total length: --iters, else --epochs, else the model's iters or epochs. */
    long n_epochs = has_e ? epochs : m->train.epochs;
    uint64_t total =
        has_i ? (uint64_t)iters
        : (!has_e && m->train.iters)
            ? (uint64_t)m->train.iters
            : (uint64_t)n_epochs * (uint64_t)t.batches_per_epoch / (uint64_t)m->train.k;
    if (total == 0) total = 1;
    z = malloc((size_t)sample_rows * m->noise.dim * sizeof *z);
    x = malloc((size_t)sample_rows * t.g->out.cols * sizeof *x);
    if (!z || !x) goto done;
    noise_fill_host(&m->noise, m->train.seed, 0, sample_rows, z);

    /* Parzen evaluation during and after training, if the model asks for it. */
    double pz_pending = NAN, sigmas[10];
    log_space(0.1, 1.0, 10, sigmas);
    long pz_last_epoch = 0;
    if (m->train.parzen_samples > 0) {
        idx_header h;
        if (idx_load(m->data.path, m->data.valid[0], m->data.valid[1], &h, &pz_valid, &e) !=
                CLGAN_OK ||
            idx_load(m->data.path, m->data.test[0], m->data.test[1], &h, &pz_test, &e) !=
                CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }

    if (t.iter >= total && !quiet)
        printf("clgan train: the run is already at iteration %llu of %llu; nothing to do (give "
               "a longer --iters or --epochs)\n",
               (unsigned long long)t.iter, (unsigned long long)total);
    int tty = isatty(STDOUT_FILENO), rollbacks = 0;
    if (!quiet)
        printf("clgan train: %s on %s; %ld samples, batch %d, k %d, %llu iterations "
               "(%ld per epoch); run directory %s\n",
               m->name, dev->info.name, data.n, m->train.batch, m->train.k,
               (unsigned long long)total, t.batches_per_epoch / m->train.k, r.dir);
    if (!quiet)
        printf("clgan train: programs %s in %.2f s (%d built, %d from cache)\n",
               dev->stats.built ? "built" : "loaded", t_build, dev->stats.built, dev->stats.loaded);
    fflush(stdout);
    double t0 = clock_seconds(), t_last = t0;
    uint64_t it_last = t.iter, it_start = t.iter;
    int log_every = m->train.log_every, sample_every = m->train.sample_every;
    int ck_every = m->train.checkpoint_every;
    while (t.iter < total) {
        if (trainer_iteration(&t) != CLGAN_OK) {
            rc = fail(NULL, dev->err.msg);
            goto done;
        }
        uint64_t it = t.iter;
        int last = it == total;
        long epochs_done = (long)(it * (uint64_t)m->train.k / (uint64_t)t.batches_per_epoch);
        int pz_now =
            m->train.parzen_samples > 0 && ((m->train.parzen_every && epochs_done > pz_last_epoch &&
                                             epochs_done % m->train.parzen_every == 0) ||
                                            last);
        if (pz_now) {
            pz_last_epoch = epochs_done;
            parzen_result pr;
            double te = clock_seconds();
            if (parzen_eval_generator(dev, t.g, &m->noise, m->train.seed, m->train.parzen_samples,
                                      pz_valid, m->data.valid[1] - m->data.valid[0], pz_test,
                                      m->data.test[1] - m->data.test[0], sigmas, 10,
                                      &pr) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            te = clock_seconds() - te;
            pz_pending = pr.test_mean;
            if (!quiet)
                printf("%sParzen log-likelihood after %ld epochs: %.1f +- %.1f nats (sigma %.3g, "
                       "%.1f s)\n",
                       tty ? "\n" : "", epochs_done, pr.test_mean, pr.test_se, pr.sigmas[pr.best],
                       te);
            if (last) {
                char js[512];
                snprintf(js, sizeof js,
                         "{\"iter\": %llu, \"epochs\": %ld, \"parzen_ll\": %.4f, \"stderr\": "
                         "%.4f, \"sigma\": %.6g, \"samples\": %ld, \"valid\": [%ld, %ld], "
                         "\"test\": [%ld, %ld], \"seconds\": %.2f}\n",
                         (unsigned long long)it, epochs_done, pr.test_mean, pr.test_se,
                         pr.sigmas[pr.best], m->train.parzen_samples, m->data.valid[0],
                         m->data.valid[1], m->data.test[0], m->data.test[1], te);
                snprintf(path, sizeof path, "%s/eval.json", r.dir);
                if (file_write_atomic(path, js, strlen(js), &e) != CLGAN_OK) {
                    rc = fail(NULL, e.msg);
                    goto done;
                }
            }
        }
        if (it % (uint64_t)log_every == 0 || last) {
            gan_stats s;
            if (trainer_read_stats(&t, &s) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            double tn = clock_seconds(), ips = (double)(it - it_last) / (tn - t_last);
            double eta = (double)(total - it) * (tn - t0) / (double)(it - it_start);
            t_last = tn;
            it_last = it;
            char line[512], etas[32];
            double lr_g = optim_lr(t.opt[0].spec, t.opt[0].t),
                   lr_d = optim_lr(t.opt[1].spec, t.opt[1].t);
            char pz_s[32] = "";
            if (!isnan(pz_pending)) snprintf(pz_s, sizeof pz_s, "%.3f", pz_pending);
            pz_pending = NAN;
            snprintf(line, sizeof line, "%llu,%ld,%.3f,%.6g,%.6g,%.6f,%.6f,%.6f,%.6f,%s\n",
                     (unsigned long long)it, t.epoch, tn - t0, lr_g, lr_d, s.d_loss, s.g_loss,
                     s.d_real, s.d_fake, pz_s);
            if (log_append(&r, line, &e)) {
                rc = fail(NULL, e.msg);
                goto done;
            }
            fmt_duration(eta, etas, sizeof etas);
            if (!quiet) {
                printf("%sepoch %ld  iter %llu/%llu  %.1f it/s  ETA %s  D loss %.4f  G loss %.4f"
                       "  D(x) %.3f  D(G(z)) %.3f%s",
                       tty ? "\r" : "", t.epoch + 1, (unsigned long long)it,
                       (unsigned long long)total, ips, etas, s.d_loss, s.g_loss, s.d_real, s.d_fake,
                       tty ? "   " : "\n");
                fflush(stdout);
            }
            if (s.nonfinite) {
                char where[256];
                if (trainer_locate_nonfinite(&t, where, sizeof where) != CLGAN_OK) {
                    rc = fail(NULL, dev->err.msg);
                    goto done;
                }
                if (tty && !quiet) printf("\n");
                snprintf(path, sizeof path, "%s/checkpoint.safetensors", r.dir);
                int have = access(path, R_OK) == 0;
                if (rollback && have && rollbacks < 5) {
                    rollbacks++;
                    for (int w = 0; w < 2; w++)
                        m->train.opt[w].lr *= 0.5f;
                    if (checkpoint_load(&t, path, &e) != CLGAN_OK) {
                        rc = fail(NULL, e.msg);
                        goto done;
                    }
                    trainer_read_stats(&t, &s); /* clear the flag */
                    fprintf(stderr,
                            "clgan train: NaN/Inf by iteration %llu in %s; rolled back to "
                            "iteration %llu and halved the learning rates (G %g, D %g)\n",
                            (unsigned long long)it, where, (unsigned long long)t.iter,
                            m->train.opt[0].lr, m->train.opt[1].lr);
                    it_last = it_start = t.iter;
                    t0 = t_last = clock_seconds();
                    continue;
                }
                fprintf(stderr, "clgan train: NaN/Inf by iteration %llu in %s; stopping (%s)\n",
                        (unsigned long long)it, where,
                        have ? "the last good checkpoint is kept"
                             : "no checkpoint was written yet");
                rc = 1;
                goto done;
            }
        }
        if (it % (uint64_t)sample_every == 0 || last) {
            if (trainer_generate(&t, z, sample_rows, x) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            snprintf(path, sizeof path, "%s/samples/iter_%06llu.png", r.dir,
                     (unsigned long long)it);
            if (draw_samples(m, &data, x, sample_rows, path, &e) != CLGAN_OK) {
                rc = fail(NULL, e.msg);
                goto done;
            }
        }
        int periodic = ck_every && it % (uint64_t)ck_every == 0;
        /* with rollback, a checkpoint at every log interval gives something to return to */
        int for_rollback = rollback && it % (uint64_t)log_every == 0;
        if (periodic || last || for_rollback || stop_signal) {
            clgan_status st;
            int saved = save_state(&t, &r, periodic, &e, &st);
            if (st != CLGAN_OK) {
                rc = fail(NULL, e.msg[0] ? e.msg : dev->err.msg);
                goto done;
            }
            if (!saved && !stop_signal) continue; /* non-finite: the next log interval reports it */
            if (stop_signal) {
                if (tty && !quiet) printf("\n");
                fprintf(stderr, "clgan train: %s at iteration %llu; %s\n",
                        stop_signal == SIGINT ? "interrupted" : "terminated",
                        (unsigned long long)it,
                        saved ? "checkpoint written: continue with --resume"
                              : "the state was not finite, the last good checkpoint is kept");
                rc = stop_signal == SIGINT ? 130 : 143;
                goto done;
            }
        }
    }
    if (!quiet) {
        double el = clock_seconds() - t0;
        char mem[32];
        human_bytes((double)dev->mem_peak, mem, sizeof mem);
        printf("%sclgan train: %llu iterations in %.1f s (%.1f s per epoch), %s of device memory "
               "at peak; "
               "wrote %s/\n",
               tty ? "\n" : "", (unsigned long long)(t.iter - it_start), el,
               el / ((double)(t.iter - it_start) * m->train.k / (double)t.batches_per_epoch), mem,
               r.dir);
    }
    rc = 0;
done:
    free(z);
    free(x);
    free(pz_valid);
    free(pz_test);
    free(r.log);
    trainer_free(&t);
    dataset_free(&data);
    clgan_device_free(dev);
    clgan_model_free(m);
    return rc;
}
