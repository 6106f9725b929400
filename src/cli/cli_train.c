/*
 * cli_train.c - `clgan train`: the main job. Sets up device, data and trainer, runs Algorithm 1
 * and writes the run directory: config.yaml, log.csv, samples/, checkpoint.safetensors.
 *
 * The loop only enqueues; it meets the device once per log interval (statistics), and when it
 * writes samples or checkpoints.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "comm.h"
#include "rundir.h"
#include "image.h"
#include "feature_space.h"
#include "parzen.h"
#include "plot.h"
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
    return data_is_images(&m->data);
}

/* Writes what G makes of `rows` noise vectors: a grid, a scatter plot or a histogram. */
clgan_status draw_samples(const clgan_model *m, const dataset *data, const float *x, int rows,
                          const char *path, clgan_err *e) {
    if (data_is_image(m)) {
        int cols = m->condition_classes ? 8 : (int)ceil(sqrt((double)rows));
        size_t n = (size_t)rows * (size_t)shape_size(m->data.shape);
        float *u = malloc(n * sizeof *u); /* pixels: the data's range back to [0, 1] */
        if (!u) return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
        memcpy(u, x, n * sizeof *u);
        data_to_unit(&m->data, u, n);
        clgan_status st = image_grid_png(path, u, rows, m->data.shape, cols, 2, e);
        free(u);
        return st;
    }
    long n = data ? (data->n < 5000 ? data->n : 5000) : 0;
    if (shape_size(m->data.shape) == 2)
        return image_scatter_png(path, data ? data->host : NULL, n, x, rows, e);
    return image_hist_png(path, data ? data->host : NULL, n, x, rows, e);
}

/*
 * SIGINT, SIGTERM and SIGHUP (a closed terminal): the loop finishes its iteration, saves and
 * exits 128 + the signal; a second SIGINT exits at once (every file is written to a temporary
 * and renamed, so none is left damaged). SIGPIPE is ignored by main(): a closed stdout or
 * stderr (`clgan train ... | head`) costs the progress lines, never the run.
 *
 * The three are blocked in every thread from the start (PoCL's and Open MPI's threads inherit
 * the mask) and taken by one thread in sigwait: no handler ever runs inside the driver. A
 * handler did, once: LLVM, inside PoCL's compiler, hooks SIGINT to delete its temporary files
 * and then calls the previous handler, so a Ctrl-C during a kernel build failed the build
 * ("unable to rename temporary ...") instead of stopping the run after its first iteration.
 * Threads that libraries start before main() (OpenBLAS's pool, when Debian's BLAS alternative
 * is libopenblas0-pthread) have them unblocked: one of those may take the signal, and its
 * handler hands it on to the sigwait thread (pthread_kill is async-signal-safe), which would
 * otherwise never see it (with OpenBLAS's threads, Ctrl-C was lost).
 */
static _Atomic int stop_signal;
static sigset_t stop_set;
static pthread_t signal_taker;

static void *signal_thread(void *arg) {
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&stop_set, &sig) != 0) continue;
        int first = 0;
        /* the first signal names the exit; a second SIGINT leaves at once */
        if (!atomic_compare_exchange_strong(&stop_signal, &first, sig) && sig == SIGINT)
            _exit(130);
    }
    return NULL;
}

/* Runs only in a thread that has the signals unblocked (one a library started before main):
 * hands the signal to the sigwait thread. Installed also so that none is ignored (a shell
 * starts background jobs with SIGINT ignored, which would discard it unseen). */
static void hand_on(int sig) {
    pthread_kill(signal_taker, sig);
}

/* Blocks SIGINT, SIGTERM and SIGHUP in this thread (and the threads it starts from now on) and
 * starts the thread that takes them. 0, or -1 (then signals stay as they were). */
static int catch_stop_signals(void) {
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0) return -1;
    pthread_t th;
    pthread_attr_t at;
    if (pthread_attr_init(&at) != 0) return -1;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, signal_thread, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
        return -1;
    }
    signal_taker = th; /* before the handler that hands signals to it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hand_on;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

static const char *signal_word(int sig) {
    return sig == SIGINT ? "interrupted" : sig == SIGHUP ? "hung up" : "terminated";
}

/* "clgan train", or under mpirun "clgan train (rank R of N)": what messages start with */
static char who[48] = "clgan train";

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "%s: %s%s%s\n", who, what ? what : "", what ? ": " : "", msg);
    return 1;
}

/*
 * Under mpirun: every rank must run the same clgan (its binary, hence its kernels) on the same
 * model file with the same seed and resume from the same checkpoint; compared by hash, refused
 * on every rank with a message naming the first rank that differs.
 */
static clgan_status check_ranks(comm *c, const clgan_model *m, const char *resume,
                                const long length[4], clgan_err *e) {
    if (!comm_active(c)) return CLGAN_OK;
    uint64_t h[5];
    h[0] = comm_hash(COMM_HASH_INIT, m->yaml_text, strlen(m->yaml_text));
    h[1] = comm_hash_file("/proc/self/exe");
    h[1] = comm_hash(h[1], clgan_git_revision, strlen(clgan_git_revision));
    h[2] = comm_hash(COMM_HASH_INIT, &m->train.seed, sizeof m->train.seed);
    h[3] = resume ? comm_hash_file(resume) : 0;
    /* the run's length: ranks that stop at different iterations would wait on each other's
     * sums until the job died, between checkpoints */
    h[4] = comm_hash(COMM_HASH_INIT, length, 4 * sizeof *length);
    char model[300];
    snprintf(model, sizeof model, "model file (%s)", m->path);
    const char *names[5] = {model, "clgan binary", "seed", "--resume checkpoint",
                            "length (--iters, --epochs)"};
    return comm_same(c, h, 5, names, e);
}

/*
 * Saves checkpoint.safetensors (and the periodic copy) if the state is finite, then syncs the
 * log so that it holds every row up to the checkpoint. *own (malloc'd) becomes the path of what
 * was saved: the checkpoint --on-nan rollback may return to. 1 = saved.
 */
static int save_state(trainer *t, rundir *r, int periodic, char **own, clgan_err *e,
                      clgan_status *st) {
    int finite;
    *st = trainer_finite(t, &finite);
    if (*st != CLGAN_OK || !finite) return 0;
    if (periodic) {
        char *dir = str_fmt("%s/checkpoints", r->path);
        char *p =
            str_fmt("%s/checkpoints/iter_%06llu.safetensors", r->path, (unsigned long long)t->iter);
        if (!dir || !p)
            *st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        else if (mkdir_p(dir) != 0)
            *st = err_set(e, CLGAN_ERR_IO, "%s: %s", dir, strerror(errno));
        else
            *st = checkpoint_save(t, p, e);
        free(dir);
        free(p);
        if (*st != CLGAN_OK) return 0;
    }
    char *p = str_fmt("%s/checkpoint.safetensors", r->path);
    *st = p ? checkpoint_save(t, p, e) : err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    if (*st == CLGAN_OK) *st = rundir_log_sync(r, e);
    if (*st != CLGAN_OK) {
        free(p);
        return 0;
    }
    free(*own);
    *own = p;
    return 1;
}

/* Writes text (owned, freed; NULL: out of memory) to <run>/name, atomically. */
static clgan_status write_run_file(const rundir *r, const char *name, char *text, clgan_err *e) {
    char *path = str_fmt("%s/%s", r->path, name);
    clgan_status st = text && path ? file_write_atomic(path, text, strlen(text), e)
                                   : err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    free(path);
    free(text);
    return st;
}

#define LOG_HEADER "iter,epoch,seconds,lr_g,lr_d,d_loss,g_loss,d_real,d_fake,parzen_ll\n"
/* with train.eval: FID and KID where they were measured since the row before */
#define LOG_HEADER_EVAL \
    "iter,epoch,seconds,lr_g,lr_d,d_loss,g_loss,d_real,d_fake,parzen_ll,fid,kid\n"
/* a classifier's: test_acc where an epoch ended since the row before */
#define LOG_HEADER_CLS "iter,epoch,seconds,lr,loss,train_acc,test_acc\n"

/* "runs/<name>-<date>-<time>" for a new run without --out. malloc'd. */
static char *default_dir(const clgan_model *m) {
    char stamp[32];
    time_t now_t = time(NULL);
    struct tm tm;
    localtime_r(&now_t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return str_fmt("runs/%s-%s", m->name, stamp);
}

/* Whether a and b name the same directory (both exist). */
static int same_dir(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * Takes the run directory for this run: locked, and either new, this run's own (a resume), or
 * given up by --force. *keep_log says whether its log.csv is this run's to continue.
 */
static int take_run_dir(rundir *r, const char *dir, const ckpt *resume, int force, int *keep_log) {
    clgan_err e;
    err_clear(&e);
    *keep_log = 0;
    if (rundir_lock(r, dir, &e) != CLGAN_OK) return fail("--out", e.msg);
    if (!rundir_has_run(dir)) return 0;
    char id[17];
    int known;
    rundir_read_id(dir, id, &known);
    if (!resume) {
        if (force) return 0;
        char *ck = str_fmt("%s/checkpoint.safetensors", dir);
        int has_ck = ck && access(ck, F_OK) == 0;
        free(ck);
        if (has_ck)
            fprintf(stderr,
                    "clgan train: --out: %s already holds a run; use --force to write into "
                    "it, or --resume %s/checkpoint.safetensors to continue it\n",
                    dir, dir);
        else
            fprintf(stderr, "clgan train: --out: %s already holds a run that wrote no "
                    "checkpoint; use --force to write over it\n", dir);
        return 1;
    }
    /* A resume continues the checkpoint's own run; another run's folder needs --force. */
    char *own = rundir_of_checkpoint(resume->path);
    int mine = known ? strcmp(id, resume->run_id) == 0 : own && same_dir(own, dir);
    free(own);
    if (mine) {
        *keep_log = 1;
        return 0;
    }
    if (force) return 0;
    fprintf(stderr,
            "clgan train: --out: %s holds another run (%s%s) than the one %s continues "
            "(run %s); give another --out, or --force to write over it\n",
            dir, known ? "run " : "", known ? id : "no run id", resume->path, resume->run_id);
    return 1;
}

/*
 * A resume goes on with the run's loss: another in MODEL than in the checkpoint's model is
 * refused (1). Other training settings that changed are said, and taken from MODEL
 * (config.yaml records the model as run).
 */
static int check_resume_settings(const clgan_model *m, const ckpt *ck, int lead) {
    const clgan_model *cm = ckpt_model(ck);
    if (m->kind == MODEL_GAN && cm->train.loss != m->train.loss) {
        if (lead) fprintf(stderr, "%s: --resume: %s was trained with 'loss: %s'; %s says '%s': a resumed "
                "run goes on with its loss (start a new run to change it)\n", who, ck->path,
                gan_loss_name(cm->train.loss), m->path, gan_loss_name(m->train.loss));
        return 1;
    }
    const struct {
        const char *what;
        double was, is;
    } changed[] = {
        {"the label smoothing", cm->train.label_smoothing, m->train.label_smoothing},
        {"the critic's clip", cm->train.clip, m->train.clip},
        {"the generator's learning rate", cm->train.opt[CLGAN_GENERATOR].lr,
         m->train.opt[CLGAN_GENERATOR].lr},
        {"the discriminator's learning rate", cm->train.opt[CLGAN_DISCRIMINATOR].lr,
         m->train.opt[CLGAN_DISCRIMINATOR].lr},
        {"the classifier's learning rate", cm->train.opt[CLGAN_CLASSIFIER].lr,
         m->train.opt[CLGAN_CLASSIFIER].lr},
    };
    for (size_t i = 0; i < ARRAY_LEN(changed); i++)
        if (lead && changed[i].was != changed[i].is)
            fprintf(stderr, "%s: note: %s is %g in %s, %g in %s's model; the resumed run takes "
                    "%g\n", who, changed[i].what, changed[i].is, m->path, changed[i].was,
                    ck->path, changed[i].is);
    return 0;
}

int cmd_train(const cli_opts *o) {
    long epochs = 0, iters = 0, seed_l = 0;
    int has_e = opt_long(o, "--epochs", 1, 1L << 30, &epochs);
    int has_i = opt_long(o, "--iters", 1, 1L << 40, &iters);
    int has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l);
    if (has_e < 0 || has_i < 0 || has_seed < 0) return EXIT_USAGE;
    if (has_e && has_i) {
        fprintf(stderr, "clgan train: --epochs and --iters conflict: give one\n");
        return EXIT_USAGE;
    }
    /* From the start: a signal during the (possibly long) program builds and GEMM tuning stops
     * the run after its first iteration, instead of being lost, or ignored where the shell
     * started clgan in the background with SIGINT ignored. */
    if (catch_stop_signals() != 0) {
        fprintf(stderr, "clgan train: cannot start the thread that takes signals\n");
        return 1;
    }
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
    long timeout = 600;
    if (opt_long(o, "--comm-timeout", 1, 1L << 30, &timeout) < 0) return EXIT_USAGE;
    /* mpirun -n R clgan train: one replica per rank; rank 0 alone writes the run */
    comm cm;
    clgan_err ce;
    if (comm_start(&cm, &ce) != CLGAN_OK) return fail(NULL, ce.msg);
    cm.timeout_s = (double)timeout;
    const int lead = cm.rank == 0;
    if (comm_active(&cm)) {
        snprintf(who, sizeof who, "clgan train (rank %d of %d)", cm.rank, cm.size);
        if (!lead) quiet = 1;
        if (rollback) {
            if (lead)
                fprintf(stderr, "%s: --on-nan rollback under mpirun is not built: give "
                        "--on-nan stop and resume from the last checkpoint\n", who);
            comm_end(&cm);
            return EXIT_USAGE;
        }
    }
    int agreed = 1; /* an exit every rank takes at once (else one rank's ends the job) */

    /* --devices A,B,...: one replica per device (opened before the run directory is taken) */
    const char *dev_list = opt_get(o, "--devices");
    if (dev_list && o->device) {
        fprintf(stderr, "clgan train: --device and --devices conflict: give one\n");
        comm_end(&cm);
        return EXIT_USAGE;
    }
    clgan_device **devs = NULL;
    int n_devs = 0;
    char *where = NULL;
    clgan_model *m = NULL;
    clgan_device *dev = NULL;
    dataset data;
    memset(&data, 0, sizeof data);
    trainer t;
    memset(&t, 0, sizeof t);
    rundir r;
    memset(&r, 0, sizeof r);
    ckpt ck;
    memset(&ck, 0, sizeof ck);
    char *own = NULL; /* this run's last saved state (NULL: none of this run's to return to) */
    int whole = 0;    /* the trainer holds a finished iteration (no step half-applied) */
    uint64_t saved_at = 0; /* the iteration of the last checkpoint this run wrote or resumed */
    clgan_err e;
    err_clear(&e);
    int rc = 1;
    float *z = NULL, *x = NULL, *pz_valid = NULL, *pz_test = NULL, *test_x = NULL;
    fid_monitor fm;
    memset(&fm, 0, sizeof fm);
    cJSON *eval_json = NULL; /* eval.json's figures, written at the end */
    uint8_t *test_y = NULL;
    long test_n = 0;
    char *dir = NULL, *path = NULL;

    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        rc = fail(NULL, clgan_model_errmsg(m));
        goto done;
    }
    agreed = 0;
    /* A resume is read whole first: it says which run this is, its seed and its folder. */
    if (resume) {
        if (ckpt_open(resume, &ck, &e) != CLGAN_OK) {
            rc = fail("--resume", e.msg);
            goto done;
        }
        if (has_seed && (uint64_t)seed_l != ck.n.seed) {
            fprintf(stderr,
                    "clgan train: --seed: %s was trained with seed %llu; a resumed run "
                    "keeps its seed\n",
                    resume, (unsigned long long)ck.n.seed);
            rc = EXIT_USAGE;
            goto done;
        }
        m->train.seed = ck.n.seed;
        if (check_resume_settings(m, &ck, lead)) {
            agreed = 1; /* every rank reads the same files and refuses alike */
            goto done;
        }
    } else if (has_seed) {
        m->train.seed = (uint64_t)seed_l;
    }
    if (comm_active(&cm)) {
        int why = open_rank_device(o, &cm, &devs, &n_devs);
        if (why) {
            rc = why;
            goto done;
        }
    } else if (dev_list) {
        int why = open_device_list(o, &devs, &n_devs);
        if (why) {
            rc = why;
            goto done;
        }
    } else {
        devs = calloc(1, sizeof *devs);
        if (!devs) goto done;
        n_devs = 1;
        if (clgan_device_open(o->device, &devs[0]) != CLGAN_OK) {
            rc = fail(NULL, clgan_device_errmsg(devs[0]));
            goto done;
        }
    }
    /* refusals every rank makes alike: rank 0 says, and they all stop */
    const long length[4] = {has_e, has_e ? epochs : 0, has_i, has_i ? iters : 0};
    if (check_ranks(&cm, m, resume, length, &e) != CLGAN_OK ||
        trainer_check_split(m, n_devs, &cm, &e) != CLGAN_OK) {
        agreed = 1;
        rc = lead ? fail(NULL, e.msg) : 1;
        goto done;
    }
    /* The run directory: --out, else the checkpoint's own run, else a new folder in runs/. */
    dir = out ? str_dup(out) : resume ? rundir_of_checkpoint(resume) : default_dir(m);
    if (!dir) goto done;
    int keep_log = 0;
    if (lead && take_run_dir(&r, dir, resume ? &ck : NULL, force, &keep_log)) goto done;
    dev = devs[0];
    where = str_dup(dev->info.name);
    for (int i = 1; i < n_devs && where; i++) {
        char *w = str_fmt("%s + %s", where, devs[i]->info.name);
        free(where);
        where = w;
    }
    if (where && comm_active(&cm)) {
        char *w = str_fmt("%s and %d other rank%s", where, cm.size - 1, cm.size > 2 ? "s" : "");
        free(where);
        where = w;
    }
    if (!where) goto done;
    if (dataset_load(m, m->train.seed, &data, &e) != CLGAN_OK) {
        rc = fail(NULL, e.msg);
        goto done;
    }
    if (dataset_upload(&data, dev) != CLGAN_OK) {
        rc = fail(NULL, dev->err.msg);
        goto done;
    }
    /* a conditional image model's grid: a row of 8 per class */
    const int sample_rows = !data_is_image(m) ? 1024
                            : m->condition_classes ? 8 * m->condition_classes : 64;
    double t_build = clock_seconds();
    /* G's capacity also serves sampling: larger chunks when the Parzen estimate needs 10^4. */
    int g_rows = m->train.parzen_samples > 0 && sample_rows < 1000 ? 1000 : sample_rows;
    if (trainer_init_replicas(&t, devs, n_devs, m, &data, g_rows, &cm) != CLGAN_OK) {
        rc = fail(NULL, dev->err.msg);
        goto done;
    }
    t_build = clock_seconds() - t_build;
    for (int i = 0; lead && i < n_devs; i++)
        print_gemm_notes("train", devs[i]);
    if (resume) {
        if (checkpoint_restore(&t, &ck, &e) != CLGAN_OK) {
            rc = fail("--resume", e.msg);
            goto done;
        }
        own = str_dup(resume); /* this run's own state, to roll back to */
        ckpt_close(&ck);
    } else if (lead) {
        rundir_new_id(t.run_id);
    }

    const int cls = m->kind == MODEL_CLASSIFIER;
    const int fid_on = !cls && m->train.eval_classifier;
    /* with gradient penalties: a column each (its mean value over the applications since the
     * row before; empty where none was applied) */
    char log_header[160];
    snprintf(log_header, sizeof log_header, "%s",
             cls ? LOG_HEADER_CLS : fid_on ? LOG_HEADER_EVAL : LOG_HEADER);
    for (int k = 0; !cls && k < PENALTY_KINDS; k++)
        if (m->train.penalty[k].weight > 0) {
            size_t at = strlen(log_header) - 1; /* over the newline */
            snprintf(log_header + at, sizeof log_header - at, ",%s\n", penalty_name(k));
        }
    if (!cls && m->train.augment.target > 0) { /* adaptive augmentation: its p */
        size_t at = strlen(log_header) - 1;
        snprintf(log_header + at, sizeof log_header - at, ",augment_p\n");
    }
    if (cls) { /* the images a classifier reports its accuracy on */
        if (data_load_split(&m->data, data_test_path(&m->data), data_test_labels(&m->data),
                            m->data.test[0], m->data.test[1], m->classes, &test_x, &test_y,
                            &test_n, &e) != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    } else {
        z = malloc((size_t)sample_rows * m->noise.dim * sizeof *z);
        x = malloc((size_t)sample_rows * t.g->out.cols * sizeof *x);
        if (!z || !x) goto done;
        noise_fill_host(&m->noise, m->train.seed, 0, sample_rows, z);
    }
    double acc_pending = NAN, acc_last = NAN;
    /* FID and KID in a classifier's features during and after training (train.eval) */
    double fid_pending = NAN, kid_pending = NAN;
    long fid_last_epoch = (long)(t.iter * (uint64_t)m->train.k / (uint64_t)t.batches_per_epoch);
    if (lead && fid_on && fid_monitor_open(&fm, dev, m, &e) != CLGAN_OK) {
        fprintf(stderr, "clgan train: %s:%d:%d: 'classifier' in 'train.eval': %s\n", m->path,
                m->train.eval_line, m->train.eval_col, e.msg);
        goto done;
    }
    long acc_epoch = (long)(t.iter / (uint64_t)t.batches_per_epoch);

    /* Parzen evaluation during and after training, if the model asks for it. */
    double pz_pending = NAN, sigmas[10];
    log_space(0.1, 1.0, 10, sigmas);
    long pz_last_epoch = 0;
    if (lead && m->train.parzen_samples > 0) {
        idx_header h;
        if (idx_load(m->data.path, m->data.valid[0], m->data.valid[1], &h, &pz_valid, &e) !=
                CLGAN_OK ||
            idx_load(m->data.path, m->data.test[0], m->data.test[1], &h, &pz_test, &e) !=
                CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }

    /* Only now, with everything that can refuse the start done, does the run write into its
     * folder: a start that fails leaves nothing (a folder it made goes), never a run without a
     * checkpoint that the next start would be told to resume. */
    free(path);
    path = lead ? str_fmt("%s/samples", r.path) : NULL;
    if (lead && !cls && (!path || mkdir_p(path) != 0)) {
        rc = fail(path ? path : r.path, strerror(errno));
        goto done;
    }
    if (lead && rundir_log_open(&r, log_header, keep_log, t.iter, &e) != CLGAN_OK) {
        rc = fail(NULL, e.msg);
        goto done;
    }
    /* The run's total length: --iters, else --epochs, else the model's iters or epochs. */
    long n_epochs = has_e ? epochs : m->train.epochs;
    uint64_t total =
        has_i ? (uint64_t)iters
        : (!has_e && m->train.iters)
            ? (uint64_t)m->train.iters
            : (uint64_t)n_epochs * (uint64_t)t.batches_per_epoch / (uint64_t)m->train.k;
    if (total == 0) total = 1;
    {
        char *mpath = path_absolute(m->path);
        double scale = t.opt[cls ? CLGAN_CLASSIFIER : 0].lr_scale;
        char rates[96] = "";
        if (scale != 1)
            snprintf(rates, sizeof rates, "# learning rates: %g of the model's (--on-nan "
                     "rollback)\n", scale);
        char *cfg = str_fmt("# run_id: %s\n# clgan %s: %s on '%s' (%s), seed %llu%s%s\n"
                            "# length: %llu iterations\n%s%s",
                            t.run_id, CLGAN_VERSION, mpath ? mpath : m->path, where,
                            dev->info.driver_version, (unsigned long long)m->train.seed,
                            resume ? ", resumed from " : "", resume ? resume : "",
                            (unsigned long long)total, rates, m->yaml_text);
        free(mpath);
        if (!lead) {
            free(cfg);
        } else if (write_run_file(&r, "config.yaml", cfg, &e) != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }

    if (t.iter >= total && !quiet)
        printf("clgan train: the run is already at iteration %llu of %llu; nothing to do (give "
               "a longer --iters or --epochs)\n",
               (unsigned long long)t.iter, (unsigned long long)total);
    int tty = isatty(STDOUT_FILENO), rollbacks = 0;
    if (!quiet && cls)
        printf("clgan train: classifier %s on %s; %ld labelled images, %d classes, batch %d, "
               "%llu steps (%ld per epoch), accuracy on %ld test images; run directory %s\n",
               m->name, dev->info.name, data.n, m->classes, m->train.batch,
               (unsigned long long)total, t.batches_per_epoch, test_n, r.path);
    else if (!quiet)
        printf("clgan train: %s on %s; %ld samples, batch %d, k %d, %llu iterations "
               "(%ld per epoch); run directory %s\n",
               m->name, where, data.n, m->train.batch, m->train.k,
               (unsigned long long)total, t.batches_per_epoch / m->train.k, r.path);
    if (!quiet)
        printf("clgan train: programs %s in %.2f s (%d built, %d from cache)\n",
               dev->stats.built ? "built" : "loaded", t_build, dev->stats.built, dev->stats.loaded);
    fflush(stdout);
    double t0 = clock_seconds(), t_last = t0;
    uint64_t it_last = t.iter, it_start = t.iter;
    int log_every = m->train.log_every, sample_every = m->train.sample_every;
    int ck_every = m->train.checkpoint_every;
    saved_at = t.iter;
    while (t.iter < total) {
        whole = 0;
        if (trainer_iteration(&t) != CLGAN_OK) {
            rc = fail(NULL, dev->err.msg);
            goto done;
        }
        whole = 1;
        uint64_t it = t.iter;
        int last = it == total;
        long epochs_done = (long)(it * (uint64_t)m->train.k / (uint64_t)t.batches_per_epoch);
        if (cls && (epochs_done > acc_epoch || last)) {
            acc_epoch = epochs_done;
            double te = clock_seconds();
            if (classifier_accuracy(t.c, test_x, test_y, test_n, &acc_last) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            acc_pending = acc_last;
            if (!quiet)
                printf("%stest accuracy after %ld epoch%s (%.2f epochs): %.2f%% of %ld images "
                       "(%.1f s)\n", tty ? "\n" : "", epochs_done, epochs_done == 1 ? "" : "s",
                       (double)it / (double)t.batches_per_epoch, 100 * acc_last, test_n,
                       clock_seconds() - te);
        }
        int pz_now =
            lead && m->train.parzen_samples > 0 &&
            ((m->train.parzen_every && epochs_done > pz_last_epoch &&
              epochs_done % m->train.parzen_every == 0) ||
             last);
        if (pz_now) {
            pz_last_epoch = epochs_done;
            parzen_result pr;
            double te = clock_seconds();
            net *sg;
            if (trainer_sampler(&t, &sg) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            if (parzen_eval_generator(dev, sg, &m->noise, m->train.seed, &m->data,
                                      m->train.parzen_samples,
                                      pz_valid, m->data.valid[1] - m->data.valid[0], pz_test,
                                      m->data.test[1] - m->data.test[0], sigmas, 10,
                                      &pr) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            te = clock_seconds() - te;
            /* an estimate that is not finite is said, never logged as a figure */
            int pz_ok = isfinite(pr.test_mean) && isfinite(pr.test_se);
            pz_pending = pz_ok ? pr.test_mean : NAN;
            if (!quiet && pz_ok)
                printf("%sParzen log-likelihood after %ld epochs: %.1f +- %.1f nats (sigma %.3g, "
                       "%.1f s)\n",
                       tty ? "\n" : "", epochs_done, pr.test_mean, pr.test_se, pr.sigmas[pr.best],
                       te);
            else if (!quiet)
                printf("%sParzen log-likelihood after %ld epochs: not finite at any bandwidth; "
                       "not logged\n", tty ? "\n" : "", epochs_done);
            if (last && pz_ok) {
                if (!eval_json && !(eval_json = cJSON_CreateObject())) goto done;
                cJSON_AddNumberToObject(eval_json, "parzen_ll", pr.test_mean);
                cJSON_AddNumberToObject(eval_json, "stderr", pr.test_se);
                cJSON_AddNumberToObject(eval_json, "sigma", pr.sigmas[pr.best]);
                cJSON_AddNumberToObject(eval_json, "samples", (double)m->train.parzen_samples);
                cJSON_AddItemToObject(eval_json, "valid", cJSON_CreateDoubleArray(
                    (double[2]){(double)m->data.valid[0], (double)m->data.valid[1]}, 2));
                cJSON_AddItemToObject(eval_json, "test", cJSON_CreateDoubleArray(
                    (double[2]){(double)m->data.test[0], (double)m->data.test[1]}, 2));
                cJSON_AddNumberToObject(eval_json, "seconds", te);
            }
        }
        int fid_now = lead && fid_on && ((m->train.eval_every && epochs_done > fid_last_epoch &&
                                  epochs_done % m->train.eval_every == 0) ||
                                 last);
        if (fid_now) {
            fid_last_epoch = epochs_done;
            double te = clock_seconds(), fid;
            kid_result kid;
            net *sg;
            if (trainer_sampler(&t, &sg) != CLGAN_OK || fid_monitor_run(&fm, sg, &fid, &kid, &e) !=
                                                            CLGAN_OK) {
                rc = fail("train.eval", e.msg);
                goto done;
            }
            te = clock_seconds() - te;
            fid_pending = fid;
            kid_pending = kid.mean;
            if (!quiet)
                printf("%sFID after %ld epochs: %.3f, KID %.5f +- %.5f (%ld samples against %ld "
                       "%s images, %.1f s)\n", tty ? "\n" : "", epochs_done, fid, kid.mean,
                       kid.std, fm.samples, fm.n_ref, m->train.eval_split, te);
            if (last) {
                if (!eval_json && !(eval_json = cJSON_CreateObject())) goto done;
                cJSON_AddNumberToObject(eval_json, "fid", fid);
                cJSON_AddNumberToObject(eval_json, "kid", kid.mean);
                cJSON_AddNumberToObject(eval_json, "kid_std", kid.std);
                cJSON_AddNumberToObject(eval_json, "fid_samples", (double)fm.samples);
                cJSON_AddStringToObject(eval_json, "fid_reference", m->train.eval_split);
                cJSON_AddStringToObject(eval_json, "fid_classifier", m->train.eval_classifier);
                cJSON_AddNumberToObject(eval_json, "fid_reference_images", (double)fm.n_ref);
                cJSON_AddNumberToObject(eval_json, "fid_seconds", te);
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
            double lr_g = cls ? 0 : optim_rate(&t.opt[0]), lr_d = cls ? 0 : optim_rate(&t.opt[1]);
            char pz_s[32] = "";
            if (!isnan(pz_pending)) snprintf(pz_s, sizeof pz_s, "%.3f", pz_pending);
            pz_pending = NAN;
            if (cls) {
                if (!isnan(acc_pending)) snprintf(pz_s, sizeof pz_s, "%.5f", acc_pending);
                acc_pending = NAN;
                const optim *oc = &t.opt[CLGAN_CLASSIFIER];
                snprintf(line, sizeof line, "%llu,%ld,%.3f,%.6g,%.6f,%.6f,%s\n",
                         (unsigned long long)it, t.epoch, tn - t0, optim_rate(oc),
                         s.c_loss, s.c_acc, pz_s);
            } else {
                char fid_s[64] = "";
                if (fid_on && !isnan(fid_pending))
                    snprintf(fid_s, sizeof fid_s, ",%.4f,%.6f", fid_pending, kid_pending);
                else if (fid_on)
                    snprintf(fid_s, sizeof fid_s, ",,");
                fid_pending = kid_pending = NAN;
                char pen_s[96] = "";
                for (int k = 0; k < PENALTY_KINDS; k++) {
                    if (m->train.penalty[k].weight <= 0) continue;
                    size_t at = strlen(pen_s);
                    if (isnan(s.penalty[k])) snprintf(pen_s + at, sizeof pen_s - at, ",");
                    else snprintf(pen_s + at, sizeof pen_s - at, ",%.6g", s.penalty[k]);
                }
                if (m->train.augment.target > 0) {
                    size_t at = strlen(pen_s);
                    snprintf(pen_s + at, sizeof pen_s - at, ",%.6f", s.augment_p);
                }
                snprintf(line, sizeof line, "%llu,%ld,%.3f,%.6g,%.6g,%.6f,%.6f,%.6f,%.6f,%s%s%s\n",
                         (unsigned long long)it, t.epoch, tn - t0, lr_g, lr_d, s.d_loss,
                         s.g_loss, s.d_real, s.d_fake, pz_s, fid_s, pen_s);
            }
            if (lead && rundir_log_append(&r, line, &e) != CLGAN_OK) {
                rc = fail(NULL, e.msg);
                goto done;
            }
            fmt_duration(eta, etas, sizeof etas);
            if (!quiet && cls) {
                printf("%sepoch %ld  step %llu/%llu  %.1f it/s  ETA %s  loss %.4f  accuracy %.3f%s",
                       tty ? "\r" : "", t.epoch + 1, (unsigned long long)it,
                       (unsigned long long)total, ips, etas, s.c_loss, s.c_acc,
                       tty ? "   " : "\n");
                fflush(stdout);
            } else if (!quiet) {
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
                /* only to a state this run saved (or resumed from): never another run's */
                if (rollback && own && rollbacks < 5) {
                    rollbacks++;
                    /* the rates as they were, halved: the checkpoint records the scale (the
                     * loaded one is older), so a --resume goes on with it */
                    double scale = t.opt[cls ? CLGAN_CLASSIFIER : 0].lr_scale * 0.5;
                    /* and the log forgets the iterations given up */
                    if (checkpoint_load(&t, own, &e) != CLGAN_OK ||
                        rundir_log_rewind(&r, log_header, t.iter, &e) != CLGAN_OK) {
                        rc = fail(NULL, e.msg);
                        goto done;
                    }
                    trainer_set_lr_scale(&t, scale);
                    trainer_read_stats(&t, &s); /* clear the flag */
                    /* the state rolled back to, with its new rates: what --resume continues */
                    clgan_status sst;
                    if (!save_state(&t, &r, 0, &own, &e, &sst)) {
                        rc = fail(NULL, sst != CLGAN_OK ? e.msg : "the rolled-back state is "
                                                                  "not finite");
                        goto done;
                    }
                    saved_at = t.iter;
                    char rates[96];
                    if (cls)
                        snprintf(rates, sizeof rates, "%g", optim_rate(&t.opt[CLGAN_CLASSIFIER]));
                    else
                        snprintf(rates, sizeof rates, "G %g, D %g", optim_rate(&t.opt[0]),
                                 optim_rate(&t.opt[1]));
                    fprintf(stderr,
                            "clgan train: NaN/Inf by iteration %llu in %s; rolled back to "
                            "iteration %llu and halved the learning rate%s (now %s, %g of the "
                            "model's; checkpoints record it)\n",
                            (unsigned long long)it, where, (unsigned long long)t.iter,
                            cls ? "" : "s", rates, scale);
                    it_last = it_start = t.iter;
                    t0 = t_last = clock_seconds();
                    continue;
                }
                if (lead)
                    fprintf(stderr, "%s: NaN/Inf by iteration %llu in %s; stopping (%s)\n",
                            who, (unsigned long long)it, where,
                            own ? "the last good checkpoint is kept"
                                : "this run wrote no checkpoint yet");
                rc = 1;
                agreed = 1; /* the statistics are every rank's */
                goto done;
            }
        }
        if (lead && !cls && (it % (uint64_t)sample_every == 0 || last)) {
            if (trainer_generate(&t, z, sample_rows, x) != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            free(path);
            path = str_fmt("%s/samples/iter_%06llu.png", r.path, (unsigned long long)it);
            if (!path || draw_samples(m, &data, x, sample_rows, path, &e) != CLGAN_OK) {
                rc = fail(NULL, path ? e.msg : "out of memory");
                goto done;
            }
        }
        int periodic = ck_every && it % (uint64_t)ck_every == 0;
        /* with rollback, a checkpoint at every log interval gives something to return to */
        int for_rollback = rollback && it % (uint64_t)log_every == 0;
        int stop_now = atomic_load(&stop_signal); /* under mpirun: any rank's signal stops
                                                     every rank here */
        if (comm_max(&cm, &stop_now, "stop flags", &e) != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
        if (periodic || last || for_rollback || stop_now) {
            /* every rank: ADA's sums over the ranks, which rank 0's checkpoint keeps */
            clgan_status st = trainer_ada_sync(&t);
            if (st != CLGAN_OK) {
                rc = fail(NULL, dev->err.msg);
                goto done;
            }
            int saved = lead ? save_state(&t, &r, periodic, &own, &e, &st) : 1;
            if (saved) saved_at = t.iter;
            if (st != CLGAN_OK) {
                rc = fail(NULL, e.msg[0] ? e.msg : dev->err.msg);
                goto done;
            }
            if (!saved && !stop_now) continue; /* non-finite: the next log interval reports it */
            if (stop_now) {
                if (tty && !quiet) printf("\n");
                if (lead)
                    fprintf(stderr, "%s: %s at iteration %llu; %s\n", who,
                            signal_word(stop_now), (unsigned long long)it,
                            saved ? "checkpoint written: continue with --resume"
                                  : "the state was not finite, the last good checkpoint is kept");
                rc = 128 + stop_now;
                agreed = 1;
                goto done;
            }
        }
    }
    if (lead && eval_json) {
        cJSON *j = cJSON_CreateObject();
        char *text = NULL;
        if (j) {
            cJSON_AddNumberToObject(j, "iter", (double)t.iter);
            cJSON_AddNumberToObject(j, "epochs",
                                    (double)t.iter * m->train.k / (double)t.batches_per_epoch);
            for (cJSON *x = eval_json->child; x; x = x->next)
                cJSON_AddItemReferenceToObject(j, x->string, x);
            text = cJSON_Print(j);
            cJSON_Delete(j);
        }
        char *js = text ? str_fmt("%s\n", text) : NULL;
        cJSON_free(text);
        if (write_run_file(&r, "eval.json", js, &e) != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }
    if (lead && cls && !isnan(acc_last)) {
        char *js = str_fmt("{\"iter\": %llu, \"epochs\": %.3f, \"test_accuracy\": %.5f, "
                           "\"test_images\": %ld}\n", (unsigned long long)t.iter,
                           (double)t.iter / (double)t.batches_per_epoch, acc_last, test_n);
        if (write_run_file(&r, "eval.json", js, &e) != CLGAN_OK) {
            rc = fail(NULL, e.msg);
            goto done;
        }
    }
    if (lead) { /* the run's curves from its log (a run too short to log a row has none) */
        char *logp = str_fmt("%s/log.csv", r.path), *png = str_fmt("%s/curves.png", r.path);
        run_log rl;
        clgan_err pe;
        if (logp && png && run_log_read(logp, &rl, &pe) == CLGAN_OK) {
            if (plot_run_log(&rl, r.path, png, &pe) != CLGAN_OK)
                fprintf(stderr, "clgan train: curves.png not drawn: %s\n", pe.msg);
            run_log_free(&rl);
        }
        free(logp);
        free(png);
    }
    if (!quiet) {
        double el = clock_seconds() - t0;
        char mem[32];
        human_bytes((double)dev->mem_peak, mem, sizeof mem);
        printf("%sclgan train: %llu iterations in %.1f s (%.1f s per epoch), %s of device memory "
               "at peak; wrote %s/\n",
               tty ? "\n" : "", (unsigned long long)(t.iter - it_start), el,
               el / ((double)(t.iter - it_start) * m->train.k / (double)t.batches_per_epoch), mem,
               r.path);
    }
    rc = 0;
    agreed = 1;
done:
    /* a failure after a whole iteration (a sum over the ranks, a log row, an evaluation) keeps
     * that iteration: rank 0's state is finished, and its checkpoint needs no other rank */
    if (rc != 0 && whole && lead && r.path && t.iter > saved_at) {
        clgan_err se;
        clgan_status sst;
        err_clear(&se);
        if (save_state(&t, &r, 0, &own, &se, &sst))
            fprintf(stderr, "%s: the checkpoint of iteration %llu was written before stopping: "
                    "continue with --resume\n", who, (unsigned long long)t.iter);
    }
    if (rc != 0 && !agreed) comm_abort(&cm, rc); /* one rank's failure ends every rank */
    free(z);
    free(x);
    free(pz_valid);
    free(pz_test);
    free(test_x);
    free(test_y);
    cJSON_Delete(eval_json);
    fid_monitor_close(&fm);
    free(path);
    free(dir);
    free(own);
    ckpt_close(&ck);
    rundir_close(&r);
    trainer_free(&t);
    dataset_free(&data);
    for (int i = 0; i < n_devs; i++) clgan_device_free(devs[i]);
    free(devs);
    free(where);
    clgan_model_free(m);
    comm_end(&cm);
    return rc;
}
