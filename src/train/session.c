/*
 * session.c - a training run as the public clgan_trainer: the model's copy, its data, the
 * replicas (gan.c, replicas.c) and everything around Algorithm 1 that makes a run of it: the
 * run directory (config.yaml, log.csv, samples/, checkpoints, eval.json, curves.png), the
 * evaluation schedule (a classifier's accuracy, Parzen, FID and KID), exact resume, --on-nan
 * rollback, and rank 0's writing under mpirun. The CLI's `train` is options and progress lines
 * over it (cli_train.c); nothing here prints.
 *
 * The loop only enqueues; it meets the device once per log interval (statistics), and when it
 * writes samples or checkpoints.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "comm.h"
#include "feature_space.h"
#include "gemm.h"
#include "image.h"
#include "parzen.h"
#include "plot.h"
#include "rng.h"
#include "rundir.h"
#include "session.h"

#define LOG_HEADER "iter,epoch,seconds,lr_g,lr_d,d_loss,g_loss,d_real,d_fake,parzen_ll\n"
/* with train.eval: FID and KID where they were measured since the row before */
#define LOG_HEADER_EVAL \
    "iter,epoch,seconds,lr_g,lr_d,d_loss,g_loss,d_real,d_fake,parzen_ll,fid,kid\n"
/* a classifier's: test_acc where an epoch ended since the row before */
#define LOG_HEADER_CLS "iter,epoch,seconds,lr,loss,train_acc,test_acc\n"

struct clgan_trainer {
    clgan_err err;
    clgan_train_params p;
    clgan_model *m;          /* the trainer's own copy (its seed is the run's) */
    clgan_device **devs;     /* the caller's devices (the array is this copy) */
    int n_devs;
    comm *cm;                /* p.ranks, or alone */
    comm alone;
    int lead;                /* rank 0: writes the run */
    int alone_failed;        /* the last failure was this rank's alone */
    dataset data;
    trainer t;
    rundir r;                /* r.path NULL: the run writes nothing (or this is not rank 0) */
    int keep_log;
    char *own;               /* this run's last saved state (NULL: none to return to) */
    uint64_t saved_at;       /* the iteration of the last checkpoint written or resumed */
    int rollbacks;
    char log_header[160];
    int cls, fid_on;
    int sample_rows;         /* rows of a sample grid (a scatter plot's points) */
    float *z, *x;            /* the grid's noise, and what G makes of it */
    float *pz_valid, *pz_test, *test_x;
    uint8_t *test_y;
    long test_n;
    fid_monitor fm;
    cJSON *eval_json;        /* eval.json's figures, written at the end */
    double acc_pending, acc_last, fid_pending, kid_pending, pz_pending, sigmas[10];
    long fid_last_epoch, acc_epoch, pz_last_epoch;
    uint64_t total;
    double t0, t_last, t_build;
    uint64_t it_last, it_start;
    char *where;
    clgan_train_progress last; /* the last log interval's */
    int finished;            /* eval.json and curves written, DONE reported */
    int stopped_by;          /* the stop callback's value that stopped the run (every rank's
                                largest) */
};

clgan_train_params clgan_train_default_params(void) {
    clgan_train_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static void tell(clgan_trainer *s, clgan_train_progress *ev) {
    if (!s->p.progress) return;
    ev->total = s->total;
    s->p.progress(ev, s->p.user);
}

static void note(clgan_trainer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(clgan_trainer *s, const char *fmt, ...) {
    if (!s->lead || !s->p.progress) return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    clgan_train_progress ev = {.event = CLGAN_EVENT_NOTE, .iter = s->t.iter, .text = text};
    tell(s, &ev);
}

/* A failure of the device behind the trainer: its message onto the handle. */
static clgan_status dev_fail(clgan_trainer *s, clgan_status st) {
    const clgan_err *de = &s->devs[0]->err;
    s->err = *de;
    if (!s->err.msg[0]) err_set(&s->err, st, "%s", clgan_status_str(st));
    s->err.status = st;
    return st;
}

clgan_status draw_samples(const clgan_model *m, const dataset *data, const float *x, int rows,
                          const char *path, clgan_err *e) {
    if (data_is_images(&m->data)) {
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
    const char *names[5] = {model, "clgan binary", "seed", "resume checkpoint",
                            "length (iterations, epochs)"};
    return comm_same(c, h, 5, names, e);
}

/*
 * Saves checkpoint.safetensors (and the periodic copy) if the state is finite, then syncs the
 * log so that it holds every row up to the checkpoint. s->own becomes the path of what was
 * saved: the checkpoint on_nan rollback may return to. 1 = saved.
 */
static int save_state(clgan_trainer *s, int periodic, clgan_err *e, clgan_status *st) {
    trainer *t = &s->t;
    rundir *r = &s->r;
    int finite;
    *st = trainer_finite(t, &finite);
    if (*st != CLGAN_OK) {
        dev_fail(s, *st);
        *e = s->err;
        return 0;
    }
    if (!finite) return 0;
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
    free(s->own);
    s->own = p;
    s->saved_at = t->iter;
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

/* "runs/<name>-<date>-<time>" for a new run without a run directory given. malloc'd. */
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
 * given up by force. s->keep_log says whether its log.csv is this run's to continue.
 */
static clgan_status take_run_dir(clgan_trainer *s, const char *dir, const ckpt *resume) {
    clgan_err e;
    err_clear(&e);
    s->keep_log = 0;
    if (rundir_lock(&s->r, dir, &e) != CLGAN_OK)
        return err_set(&s->err, e.status, "run_dir: %s", e.msg);
    if (!rundir_has_run(dir)) return CLGAN_OK;
    char id[17];
    int known;
    rundir_read_id(dir, id, &known);
    if (!resume) {
        if (s->p.force) return CLGAN_OK;
        char *ck = str_fmt("%s/checkpoint.safetensors", dir);
        int has_ck = ck && access(ck, F_OK) == 0;
        free(ck);
        if (has_ck)
            return err_set(&s->err, CLGAN_ERR_ARG, "run_dir: %s already holds a run; use force "
                           "to write into it, or resume %s/checkpoint.safetensors to continue "
                           "it", dir, dir);
        return err_set(&s->err, CLGAN_ERR_ARG, "run_dir: %s already holds a run that wrote "
                       "no checkpoint; use force to write over it", dir);
    }
    /* A resume continues the checkpoint's own run; another run's folder needs force. */
    char *own = rundir_of_checkpoint(resume->path);
    int mine = known ? strcmp(id, resume->run_id) == 0 : own && same_dir(own, dir);
    free(own);
    if (mine) {
        s->keep_log = 1;
        return CLGAN_OK;
    }
    if (s->p.force) return CLGAN_OK;
    return err_set(&s->err, CLGAN_ERR_ARG, "run_dir: %s holds another run (%s%s) than the one "
                   "%s continues (run %s); give another run directory, or force to write over "
                   "it", dir, known ? "run " : "", known ? id : "no run id", resume->path,
                   resume->run_id);
}

/*
 * A resume goes on with the run's loss: another in the model than in the checkpoint's model is
 * refused. Other training settings that changed are said, and taken from the model
 * (config.yaml records the model as run).
 */
static clgan_status check_resume_settings(clgan_trainer *s, const ckpt *ck) {
    const clgan_model *m = s->m, *cm = ckpt_model(ck);
    if (m->kind == MODEL_GAN && cm->train.loss != m->train.loss)
        return err_set(&s->err, CLGAN_ERR_ARG, "resume: %s was trained with 'loss: %s'; %s "
                       "says '%s': a resumed run goes on with its loss (start a new run to "
                       "change it)", ck->path, gan_loss_name(cm->train.loss), m->path,
                       gan_loss_name(m->train.loss));
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
        if (changed[i].was != changed[i].is)
            note(s, "%s is %g in %s, %g in %s's model; the resumed run takes %g",
                 changed[i].what, changed[i].is, m->path, changed[i].was, ck->path,
                 changed[i].is);
    return CLGAN_OK;
}

/* "A + B", and under mpirun "A + B and 3 other ranks": the devices, for messages. */
static char *describe_devices(clgan_trainer *s) {
    char *where = str_dup(s->devs[0]->info.name);
    for (int i = 1; i < s->n_devs && where; i++) {
        char *w = str_fmt("%s + %s", where, s->devs[i]->info.name);
        free(where);
        where = w;
    }
    if (where && comm_active(s->cm)) {
        char *w = str_fmt("%s and %d other rank%s", where, s->cm->size - 1,
                          s->cm->size > 2 ? "s" : "");
        free(where);
        where = w;
    }
    return where;
}

/* log.csv's header: with gradient penalties a column each, with adaptive augmentation its p */
static void make_log_header(clgan_trainer *s) {
    const clgan_model *m = s->m;
    char *h = s->log_header;
    size_t cap = sizeof s->log_header;
    snprintf(h, cap, "%s", s->cls ? LOG_HEADER_CLS : s->fid_on ? LOG_HEADER_EVAL : LOG_HEADER);
    for (int k = 0; !s->cls && k < PENALTY_KINDS; k++)
        if (m->train.penalty[k].weight > 0) {
            size_t at = strlen(h) - 1; /* over the newline */
            snprintf(h + at, cap - at, ",%s\n", penalty_name(k));
        }
    if (!s->cls && m->train.augment.target > 0) {
        size_t at = strlen(h) - 1;
        snprintf(h + at, cap - at, ",augment_p\n");
    }
}

/* The run's length: iters, else epochs, else the model's iters or epochs. */
static uint64_t run_length(const clgan_trainer *s) {
    const clgan_model *m = s->m;
    const trainer *t = &s->t;
    long n_epochs = s->p.epochs ? s->p.epochs : m->train.epochs;
    uint64_t total = s->p.iters ? s->p.iters
                     : (!s->p.epochs && m->train.iters)
                         ? (uint64_t)m->train.iters
                         : (uint64_t)n_epochs * (uint64_t)t->batches_per_epoch /
                               (uint64_t)m->train.k;
    return total ? total : 1;
}

/* What the run reads beside its training set: a classifier's test images, Parzen's splits,
 * the grid's noise; and the FID monitor. */
static clgan_status load_side_data(clgan_trainer *s) {
    const clgan_model *m = s->m;
    if (s->cls) { /* the images a classifier reports its accuracy on */
        if (data_load_split(&m->data, data_test_path(&m->data), data_test_labels(&m->data),
                            m->data.test[0], m->data.test[1], m->classes, &s->test_x, &s->test_y,
                            &s->test_n, &s->err) != CLGAN_OK)
            return s->err.status;
    } else {
        s->z = malloc((size_t)s->sample_rows * m->noise.dim * sizeof *s->z);
        s->x = malloc((size_t)s->sample_rows * s->t.g->out.cols * sizeof *s->x);
        if (!s->z || !s->x) return err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        noise_fill_host(&m->noise, m->train.seed, 0, s->sample_rows, s->z);
    }
    clgan_err e;
    err_clear(&e);
    if (s->lead && s->fid_on && fid_monitor_open(&s->fm, s->devs[0], m, &e) != CLGAN_OK)
        return err_set(&s->err, e.status, "%s:%d:%d: 'classifier' in 'train.eval': %s", m->path,
                       m->train.eval_line, m->train.eval_col, e.msg);
    if (s->lead && m->train.parzen_samples > 0) {
        idx_header h;
        if (idx_load(m->data.path, m->data.valid[0], m->data.valid[1], &h, &s->pz_valid,
                     &s->err) != CLGAN_OK ||
            idx_load(m->data.path, m->data.test[0], m->data.test[1], &h, &s->pz_test,
                     &s->err) != CLGAN_OK)
            return s->err.status;
    }
    return CLGAN_OK;
}

/* config.yaml: the run's id, where and how it ran, its length, and the model as run. */
static clgan_status write_config(clgan_trainer *s) {
    const clgan_model *m = s->m;
    char *mpath = path_absolute(m->path);
    double scale = s->t.opt[s->cls ? CLGAN_CLASSIFIER : 0].lr_scale;
    char rates[96] = "";
    if (scale != 1)
        snprintf(rates, sizeof rates, "# learning rates: %g of the model's (--on-nan "
                 "rollback)\n", scale);
    char *cfg = str_fmt("# run_id: %s\n# clgan %s: %s on '%s' (%s), seed %llu%s%s\n"
                        "# length: %llu iterations\n%s%s",
                        s->t.run_id, CLGAN_VERSION, mpath ? mpath : m->path, s->where,
                        s->devs[0]->info.driver_version, (unsigned long long)m->train.seed,
                        s->p.resume ? ", resumed from " : "", s->p.resume ? s->p.resume : "",
                        (unsigned long long)s->total, rates, m->yaml_text);
    free(mpath);
    return write_run_file(&s->r, "config.yaml", cfg, &s->err);
}

static clgan_status open_run(clgan_trainer *s, const clgan_model *model) {
    const clgan_train_params *p = &s->p;
    if (p->on_nan == CLGAN_ON_NAN_ROLLBACK && comm_active(s->cm))
        return err_set(&s->err, CLGAN_ERR_ARG, "on_nan: rollback under mpirun is not built: "
                       "stop, and resume from the last checkpoint");
    if (p->on_nan == CLGAN_ON_NAN_ROLLBACK && !p->run_dir && !p->new_run_dir)
        return err_set(&s->err, CLGAN_ERR_ARG, "on_nan: rollback returns to the run's last "
                       "checkpoint: give a run directory");
    s->alone_failed = 1;
    if (model_load_text(model->path, model->yaml_text, strlen(model->yaml_text), NULL, &s->m) !=
        CLGAN_OK) {
        s->err = s->m ? s->m->err : s->err;
        return s->m ? s->m->err.status : err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    clgan_model *m = s->m;
    clgan_status st;
    ckpt ck;
    memset(&ck, 0, sizeof ck);
    /* A resume is read whole first: it says which run this is, its seed and its folder. */
    if (p->resume) {
        clgan_err e;
        err_clear(&e);
        if (ckpt_open(p->resume, &ck, &e) != CLGAN_OK) {
            st = err_set(&s->err, e.status, "resume: %s", e.msg);
            goto out;
        }
        if (p->has_seed && p->seed != ck.n.seed) {
            st = err_set(&s->err, CLGAN_ERR_ARG, "seed: %s was trained with seed %llu; a "
                         "resumed run keeps its seed", p->resume,
                         (unsigned long long)ck.n.seed);
            goto out;
        }
        m->train.seed = ck.n.seed;
        s->alone_failed = 0; /* every rank reads the same files and refuses alike */
        if ((st = check_resume_settings(s, &ck)) != CLGAN_OK) goto out;
    } else if (p->has_seed) {
        m->train.seed = p->seed;
    }
    /* refusals every rank makes alike: rank 0 says, and they all stop */
    const long length[4] = {p->epochs > 0, p->epochs, p->iters > 0, (long)p->iters};
    s->alone_failed = 0;
    if ((st = check_ranks(s->cm, m, p->resume, length, &s->err)) != CLGAN_OK ||
        (st = trainer_check_split(m, s->n_devs, s->cm, &s->err)) != CLGAN_OK) {
        if (!s->lead) s->err.msg[0] = '\0';
        goto out;
    }
    s->alone_failed = 1;
    /* The run directory: the one given, else the checkpoint's own run, else a new folder. */
    if (s->lead && (p->run_dir || p->new_run_dir)) {
        char *dir = p->run_dir ? str_dup(p->run_dir)
                    : p->resume ? rundir_of_checkpoint(p->resume) : default_dir(m);
        st = dir ? take_run_dir(s, dir, p->resume ? &ck : NULL)
                 : err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        free(dir);
        if (st != CLGAN_OK) goto out;
    }
    clgan_device *dev = s->devs[0];
    if (!(s->where = describe_devices(s))) {
        st = err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = dataset_load(m, m->train.seed, &s->data, &s->err)) != CLGAN_OK) goto out;
    if ((st = dataset_upload(&s->data, dev)) != CLGAN_OK) {
        dev_fail(s, st);
        goto out;
    }
    s->cls = m->kind == MODEL_CLASSIFIER;
    s->fid_on = !s->cls && m->train.eval_classifier;
    /* a conditional image model's grid: a row of 8 per class */
    s->sample_rows = !data_is_images(&m->data) ? 1024 : m->condition_classes ? 8 * m->condition_classes
                                                                      : 64;
    s->t_build = clock_seconds();
    /* G's capacity also serves sampling: larger chunks when the Parzen estimate needs 10^4. */
    int g_rows = m->train.parzen_samples > 0 && s->sample_rows < 1000 ? 1000 : s->sample_rows;
    if ((st = trainer_init_replicas(&s->t, s->devs, s->n_devs, m, &s->data, g_rows, s->cm)) !=
        CLGAN_OK) {
        dev_fail(s, st);
        goto out;
    }
    s->t_build = clock_seconds() - s->t_build;
    for (int i = 0; i < s->n_devs; i++) { /* the GEMM paths the tuner refused */
        const char *n = gemm_notes(s->devs[i]);
        while (n && *n) {
            const char *nl = strchr(n, '\n');
            int len = nl ? (int)(nl - n) : (int)strlen(n);
            note(s, "%.*s", len, n);
            n += len + (nl != NULL);
        }
    }
    if (p->resume) {
        clgan_err e;
        err_clear(&e);
        if ((st = checkpoint_restore(&s->t, &ck, &e)) != CLGAN_OK) {
            err_set(&s->err, st, "resume: %s", e.msg);
            goto out;
        }
        s->own = str_dup(p->resume); /* this run's own state, to roll back to */
    } else if (s->lead) {
        rundir_new_id(s->t.run_id);
    }
    make_log_header(s);
    if ((st = load_side_data(s)) != CLGAN_OK) goto out;
    s->total = run_length(s);
    const clgan_model *mc = m;
    s->fid_last_epoch = (long)(s->t.iter * (uint64_t)mc->train.k / (uint64_t)s->t.batches_per_epoch);
    s->acc_epoch = (long)(s->t.iter / (uint64_t)s->t.batches_per_epoch);
    log_space(0.1, 1.0, 10, s->sigmas);
    s->acc_pending = s->acc_last = s->fid_pending = s->kid_pending = s->pz_pending = NAN;

    /* Only now, with everything that can refuse the start done, does the run write into its
     * folder: a start that fails leaves nothing (a folder it made goes), never a run without a
     * checkpoint that the next start would be told to resume. */
    if (s->r.path) {
        char *sp = s->cls ? NULL : str_fmt("%s/samples", s->r.path);
        if (!s->cls && (!sp || mkdir_p(sp) != 0)) {
            st = err_set(&s->err, CLGAN_ERR_IO, "%s: %s", sp ? sp : s->r.path,
                         sp ? strerror(errno) : "out of memory");
            free(sp);
            goto out;
        }
        free(sp);
        if ((st = rundir_log_open(&s->r, s->log_header, s->keep_log, s->t.iter, &s->err)) !=
                CLGAN_OK ||
            (st = write_config(s)) != CLGAN_OK)
            goto out;
    }
    s->saved_at = s->t.iter;
    s->t0 = s->t_last = clock_seconds();
    s->it_last = s->it_start = s->t.iter;
    st = CLGAN_OK;
out:
    ckpt_close(&ck);
    return st;
}

clgan_status clgan_trainer_open(const clgan_model *model, clgan_device *const *devs, int n_devs,
                                const clgan_train_params *p, clgan_trainer **out) {
    clgan_trainer *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) return CLGAN_ERR_NOMEM;
    s->p = p ? *p : clgan_train_default_params();
    /* the paths are the trainer's own copies (freed with it) from here on */
    s->p.resume = p && p->resume ? str_dup(p->resume) : NULL;
    s->p.run_dir = p && p->run_dir ? str_dup(p->run_dir) : NULL;
    s->r.lock_fd = s->r.log_fd = -1;
    s->alone.size = 1;
    s->alone.timeout_s = 600;
    s->cm = s->p.ranks ? s->p.ranks : &s->alone;
    s->lead = s->cm->rank == 0;
    if (!model || !devs || n_devs < 1)
        return err_set(&s->err, CLGAN_ERR_ARG, "clgan_trainer_open: %s", !model ? "no model"
                                                                              : "no device");
    if (model->err.status != CLGAN_OK || !model->yaml_text)
        return err_set(&s->err, CLGAN_ERR_ARG, "clgan_trainer_open: the model did not load");
    s->devs = calloc((size_t)n_devs, sizeof *s->devs);
    if (!s->devs) return err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_devs; i++) s->devs[i] = devs[i];
    s->n_devs = n_devs;
    if ((p && p->resume && !s->p.resume) || (p && p->run_dir && !s->p.run_dir))
        return err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = open_run(s, model);
    if (st == CLGAN_OK) err_clear(&s->err);
    return st;
}

const char *clgan_trainer_errmsg(const clgan_trainer *t) {
    return t ? t->err.msg : "out of memory";
}

void clgan_trainer_info(const clgan_trainer *s, clgan_train_info *info) {
    memset(info, 0, sizeof *info);
    const clgan_model *m = s->m;
    if (!m) return;
    info->name = m->name;
    info->where = s->where;
    info->driver = s->devs[0]->info.driver_version;
    info->run_dir = s->r.path;
    info->classifier = s->cls;
    info->samples = s->data.n;
    info->batch = m->train.batch;
    info->k = m->train.k;
    info->classes = m->classes;
    info->test_images = s->test_n;
    info->batches_per_epoch = s->t.batches_per_epoch;
    info->iter = s->t.iter;
    info->total = s->total;
    info->programs_built = s->devs[0]->stats.built;
    info->programs_loaded = s->devs[0]->stats.loaded;
    info->build_seconds = s->t_build;
    info->mem_peak = (uint64_t)s->devs[0]->mem_peak;
}

void clgan_trainer_stats(const clgan_trainer *s, clgan_train_progress *out) {
    *out = s->last;
}

int clgan_trainer_stopped_by(const clgan_trainer *s) {
    return s ? s->stopped_by : 0;
}

int clgan_trainer_failed_alone(const clgan_trainer *s) {
    return s && s->alone_failed && comm_active(s->cm);
}

clgan_status clgan_trainer_save(clgan_trainer *s, const char *path) {
    clgan_status st = trainer_ada_sync(&s->t);
    if (st != CLGAN_OK) return dev_fail(s, st);
    int finite;
    if ((st = trainer_finite(&s->t, &finite)) != CLGAN_OK) return dev_fail(s, st);
    if (!finite)
        return err_set(&s->err, CLGAN_ERR_NONFINITE, "%s: the state at iteration %llu holds "
                       "NaN or Inf; not saved", path, (unsigned long long)s->t.iter);
    return checkpoint_save(&s->t, path, &s->err);
}

/* A classifier's accuracy on its test images where an epoch ended (or the run's last). */
static clgan_status eval_accuracy(clgan_trainer *s, long epochs_done, int last) {
    if (!(epochs_done > s->acc_epoch || last)) return CLGAN_OK;
    s->acc_epoch = epochs_done;
    double te = clock_seconds();
    clgan_status st = classifier_accuracy(trainer_net(&s->t, CLGAN_CLASSIFIER), s->test_x, s->test_y, s->test_n, &s->acc_last);
    if (st != CLGAN_OK) return dev_fail(s, st);
    s->acc_pending = s->acc_last;
    clgan_train_progress ev = {.event = CLGAN_EVENT_ACCURACY, .iter = s->t.iter,
                               .epoch = epochs_done, .seconds = clock_seconds() - te,
                               .epochs = (double)s->t.iter / (double)s->t.batches_per_epoch,
                               .value = s->acc_last, .count = s->test_n};
    tell(s, &ev);
    return CLGAN_OK;
}

static cJSON *eval_object(clgan_trainer *s) {
    if (!s->eval_json) s->eval_json = cJSON_CreateObject();
    return s->eval_json;
}

/* The Parzen window estimate on train.parzen's schedule (rank 0). */
static clgan_status eval_parzen(clgan_trainer *s, long epochs_done, int last) {
    const clgan_model *m = s->m;
    if (!(s->lead && m->train.parzen_samples > 0 &&
          ((m->train.parzen_every && epochs_done > s->pz_last_epoch &&
            epochs_done % m->train.parzen_every == 0) || last)))
        return CLGAN_OK;
    s->pz_last_epoch = epochs_done;
    parzen_result pr;
    double te = clock_seconds();
    net *sg;
    clgan_status st = trainer_sampler(&s->t, &sg);
    if (st == CLGAN_OK)
        st = parzen_eval_generator(s->devs[0], sg, &m->noise, m->train.seed, &m->data,
                                   m->train.parzen_samples, s->pz_valid,
                                   m->data.valid[1] - m->data.valid[0], s->pz_test,
                                   m->data.test[1] - m->data.test[0], s->sigmas, 10, &pr);
    if (st != CLGAN_OK) return dev_fail(s, st);
    te = clock_seconds() - te;
    /* an estimate that is not finite is said, never logged as a figure */
    int pz_ok = isfinite(pr.test_mean) && isfinite(pr.test_se);
    s->pz_pending = pz_ok ? pr.test_mean : NAN;
    clgan_train_progress ev = {.event = CLGAN_EVENT_PARZEN, .iter = s->t.iter,
                               .epoch = epochs_done, .seconds = te,
                               .value = pz_ok ? pr.test_mean : NAN, .value2 = pr.test_se,
                               .value3 = pr.sigmas[pr.best], .count = m->train.parzen_samples};
    tell(s, &ev);
    if (last && pz_ok) {
        cJSON *j = eval_object(s);
        if (!j) return err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        cJSON_AddNumberToObject(j, "parzen_ll", pr.test_mean);
        cJSON_AddNumberToObject(j, "stderr", pr.test_se);
        cJSON_AddNumberToObject(j, "sigma", pr.sigmas[pr.best]);
        cJSON_AddNumberToObject(j, "samples", (double)m->train.parzen_samples);
        cJSON_AddItemToObject(j, "valid", cJSON_CreateDoubleArray(
            (double[2]){(double)m->data.valid[0], (double)m->data.valid[1]}, 2));
        cJSON_AddItemToObject(j, "test", cJSON_CreateDoubleArray(
            (double[2]){(double)m->data.test[0], (double)m->data.test[1]}, 2));
        cJSON_AddNumberToObject(j, "seconds", te);
    }
    return CLGAN_OK;
}

/* FID and KID in the classifier's features on train.eval's schedule (rank 0). */
static clgan_status eval_fid(clgan_trainer *s, long epochs_done, int last) {
    const clgan_model *m = s->m;
    if (!(s->lead && s->fid_on && ((m->train.eval_every && epochs_done > s->fid_last_epoch &&
                                    epochs_done % m->train.eval_every == 0) || last)))
        return CLGAN_OK;
    s->fid_last_epoch = epochs_done;
    double te = clock_seconds(), fid;
    kid_result kid;
    net *sg;
    clgan_status st = trainer_sampler(&s->t, &sg);
    if (st != CLGAN_OK) return dev_fail(s, st);
    clgan_err e;
    err_clear(&e);
    if ((st = fid_monitor_run(&s->fm, sg, &fid, &kid, &e)) != CLGAN_OK)
        return err_set(&s->err, st, "train.eval: %s", e.msg);
    te = clock_seconds() - te;
    s->fid_pending = fid;
    s->kid_pending = kid.mean;
    clgan_train_progress ev = {.event = CLGAN_EVENT_FID, .iter = s->t.iter, .epoch = epochs_done,
                               .seconds = te, .value = fid, .value2 = kid.mean,
                               .value3 = kid.std, .count = s->fm.samples, .count2 = s->fm.n_ref,
                               .text = m->train.eval_split};
    tell(s, &ev);
    if (last) {
        cJSON *j = eval_object(s);
        if (!j) return err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        cJSON_AddNumberToObject(j, "fid", fid);
        cJSON_AddNumberToObject(j, "kid", kid.mean);
        cJSON_AddNumberToObject(j, "kid_std", kid.std);
        cJSON_AddNumberToObject(j, "fid_samples", (double)s->fm.samples);
        cJSON_AddStringToObject(j, "fid_reference", m->train.eval_split);
        cJSON_AddStringToObject(j, "fid_classifier", m->train.eval_classifier);
        cJSON_AddNumberToObject(j, "fid_reference_images", (double)s->fm.n_ref);
        cJSON_AddNumberToObject(j, "fid_seconds", te);
    }
    return CLGAN_OK;
}

/* NaN or Inf in the statistics: back to the run's own last checkpoint with the rates halved
 * (on_nan rollback, at most 5 times), else the run stops. CLGAN_OK: rolled back. */
static clgan_status nonfinite(clgan_trainer *s, uint64_t it) {
    char where[256];
    clgan_status st = trainer_locate_nonfinite(&s->t, where, sizeof where);
    if (st != CLGAN_OK) return dev_fail(s, st);
    s->alone_failed = 0; /* the statistics are every rank's */
    /* only to a state this run saved (or resumed from): never another run's */
    if (s->p.on_nan != CLGAN_ON_NAN_ROLLBACK || !s->own || s->rollbacks >= 5)
        return err_set(&s->err, CLGAN_ERR_NONFINITE, "NaN/Inf by iteration %llu in %s; "
                       "stopping (%s)", (unsigned long long)it, where,
                       s->own ? "the last good checkpoint is kept"
                              : "this run wrote no checkpoint yet");
    s->rollbacks++;
    s->alone_failed = 1;
    trainer *t = &s->t;
    /* the rates as they were, halved: the checkpoint records the scale (the loaded one is
     * older), so a resume goes on with it; and the log forgets the iterations given up */
    double scale = t->opt[s->cls ? CLGAN_CLASSIFIER : 0].lr_scale * 0.5;
    if ((st = checkpoint_load(t, s->own, &s->err)) != CLGAN_OK ||
        (st = rundir_log_rewind(&s->r, s->log_header, t->iter, &s->err)) != CLGAN_OK)
        return st;
    trainer_set_lr_scale(t, scale);
    gan_stats g;
    trainer_read_stats(t, &g); /* clear the flag */
    /* the state rolled back to, with its new rates: what a resume continues */
    if (!save_state(s, 0, &s->err, &st))
        return st != CLGAN_OK ? st : err_set(&s->err, CLGAN_ERR_NONFINITE, "the rolled-back "
                                                                          "state is not finite");
    char rates[96], text[640];
    if (s->cls)
        snprintf(rates, sizeof rates, "%g", optim_rate(&t->opt[CLGAN_CLASSIFIER]));
    else
        snprintf(rates, sizeof rates, "G %g, D %g", optim_rate(&t->opt[0]),
                 optim_rate(&t->opt[1]));
    snprintf(text, sizeof text, "NaN/Inf by iteration %llu in %s; rolled back to iteration %llu "
             "and halved the learning rate%s (now %s, %g of the model's; checkpoints record it)",
             (unsigned long long)it, where, (unsigned long long)t->iter, s->cls ? "" : "s", rates,
             scale);
    s->it_last = s->it_start = t->iter;
    s->t0 = s->t_last = clock_seconds();
    clgan_train_progress ev = {.event = CLGAN_EVENT_ROLLBACK, .iter = t->iter, .value = scale,
                               .text = text};
    tell(s, &ev);
    return CLGAN_OK;
}

/* A log interval: the statistics into log.csv and the progress callback. *rolled: NaN or Inf
 * was met and the run rolled back. */
static clgan_status log_interval(clgan_trainer *s, uint64_t it, int *rolled) {
    const clgan_model *m = s->m;
    trainer *t = &s->t;
    gan_stats g;
    clgan_status st = trainer_read_stats(t, &g);
    if (st != CLGAN_OK) return dev_fail(s, st);
    double tn = clock_seconds();
    clgan_train_progress ev = {.event = CLGAN_EVENT_LOG, .iter = it, .epoch = t->epoch,
                               .epochs = (double)it * m->train.k / (double)t->batches_per_epoch,
                               .seconds = tn - s->t0};
    ev.it_per_s = (double)(it - s->it_last) / (tn - s->t_last);
    ev.eta_s = (double)(s->total - it) * (tn - s->t0) / (double)(it - s->it_start);
    s->t_last = tn;
    s->it_last = it;
    char line[512];
    char pz_s[32] = "";
    if (!isnan(s->pz_pending)) snprintf(pz_s, sizeof pz_s, "%.3f", s->pz_pending);
    s->pz_pending = NAN;
    if (s->cls) {
        if (!isnan(s->acc_pending)) snprintf(pz_s, sizeof pz_s, "%.5f", s->acc_pending);
        s->acc_pending = NAN;
        ev.lr = optim_rate(&t->opt[CLGAN_CLASSIFIER]);
        ev.loss = g.c_loss;
        ev.accuracy = g.c_acc;
        snprintf(line, sizeof line, "%llu,%ld,%.3f,%.6g,%.6f,%.6f,%s\n", (unsigned long long)it,
                 t->epoch, ev.seconds, ev.lr, g.c_loss, g.c_acc, pz_s);
    } else {
        ev.lr_g = optim_rate(&t->opt[0]);
        ev.lr_d = optim_rate(&t->opt[1]);
        ev.d_loss = g.d_loss;
        ev.g_loss = g.g_loss;
        ev.d_real = g.d_real;
        ev.d_fake = g.d_fake;
        char fid_s[64] = "";
        if (s->fid_on && !isnan(s->fid_pending))
            snprintf(fid_s, sizeof fid_s, ",%.4f,%.6f", s->fid_pending, s->kid_pending);
        else if (s->fid_on)
            snprintf(fid_s, sizeof fid_s, ",,");
        s->fid_pending = s->kid_pending = NAN;
        char pen_s[96] = "";
        for (int k = 0; k < PENALTY_KINDS; k++) {
            if (m->train.penalty[k].weight <= 0) continue;
            size_t at = strlen(pen_s);
            if (isnan(g.penalty[k])) snprintf(pen_s + at, sizeof pen_s - at, ",");
            else snprintf(pen_s + at, sizeof pen_s - at, ",%.6g", g.penalty[k]);
        }
        if (m->train.augment.target > 0) {
            size_t at = strlen(pen_s);
            snprintf(pen_s + at, sizeof pen_s - at, ",%.6f", g.augment_p);
        }
        snprintf(line, sizeof line, "%llu,%ld,%.3f,%.6g,%.6g,%.6f,%.6f,%.6f,%.6f,%s%s%s\n",
                 (unsigned long long)it, t->epoch, ev.seconds, ev.lr_g, ev.lr_d, g.d_loss,
                 g.g_loss, g.d_real, g.d_fake, pz_s, fid_s, pen_s);
    }
    if (s->r.path && (st = rundir_log_append(&s->r, line, &s->err)) != CLGAN_OK) return st;
    s->last = ev;
    tell(s, &ev);
    *rolled = 0;
    if (!g.nonfinite) return CLGAN_OK;
    if ((st = nonfinite(s, it)) != CLGAN_OK) return st;
    *rolled = 1;
    return CLGAN_OK;
}

/* The run's end: eval.json and curves.png (rank 0), and the DONE event. */
static clgan_status finish(clgan_trainer *s) {
    const clgan_model *m = s->m;
    trainer *t = &s->t;
    s->finished = 1;
    if (s->r.path && s->eval_json) {
        cJSON *j = cJSON_CreateObject();
        char *text = NULL;
        if (j) {
            cJSON_AddNumberToObject(j, "iter", (double)t->iter);
            cJSON_AddNumberToObject(j, "epochs",
                                    (double)t->iter * m->train.k / (double)t->batches_per_epoch);
            for (cJSON *x = s->eval_json->child; x; x = x->next)
                cJSON_AddItemReferenceToObject(j, x->string, x);
            text = cJSON_Print(j);
            cJSON_Delete(j);
        }
        char *js = text ? str_fmt("%s\n", text) : NULL;
        cJSON_free(text);
        clgan_status st = write_run_file(&s->r, "eval.json", js, &s->err);
        if (st != CLGAN_OK) return st;
    }
    if (s->r.path && s->cls && !isnan(s->acc_last)) {
        char *js = str_fmt("{\"iter\": %llu, \"epochs\": %.3f, \"test_accuracy\": %.5f, "
                           "\"test_images\": %ld}\n", (unsigned long long)t->iter,
                           (double)t->iter / (double)t->batches_per_epoch, s->acc_last,
                           s->test_n);
        clgan_status st = write_run_file(&s->r, "eval.json", js, &s->err);
        if (st != CLGAN_OK) return st;
    }
    if (s->r.path) { /* the run's curves from its log (a run too short to log a row has none) */
        char *logp = str_fmt("%s/log.csv", s->r.path), *png = str_fmt("%s/curves.png", s->r.path);
        run_log rl;
        clgan_err pe;
        if (logp && png && run_log_read(logp, &rl, &pe) == CLGAN_OK) {
            if (plot_run_log(&rl, s->r.path, png, &pe) != CLGAN_OK)
                note(s, "curves.png not drawn: %s", pe.msg);
            run_log_free(&rl);
        }
        free(logp);
        free(png);
    }
    clgan_train_progress ev = {.event = CLGAN_EVENT_DONE, .iter = t->iter,
                               .seconds = clock_seconds() - s->t0,
                               .count = (long)(t->iter - s->it_start)};
    ev.epochs = (double)(t->iter - s->it_start) * m->train.k / (double)t->batches_per_epoch;
    tell(s, &ev);
    return CLGAN_OK;
}

/* One iteration and what follows it on the run's schedules. *stop: the run stops here. */
static clgan_status step(clgan_trainer *s, int *whole, int *stop) {
    const clgan_model *m = s->m;
    trainer *t = &s->t;
    *whole = 0;
    *stop = 0;
    clgan_status st = trainer_iteration(t);
    if (st != CLGAN_OK) return dev_fail(s, st);
    *whole = 1;
    uint64_t it = t->iter;
    int last = it == s->total;
    long epochs_done = (long)(it * (uint64_t)m->train.k / (uint64_t)t->batches_per_epoch);
    if (s->cls && (st = eval_accuracy(s, epochs_done, last)) != CLGAN_OK) return st;
    if ((st = eval_parzen(s, epochs_done, last)) != CLGAN_OK ||
        (st = eval_fid(s, epochs_done, last)) != CLGAN_OK)
        return st;
    if (it % (uint64_t)m->train.log_every == 0 || last) {
        int rolled = 0;
        if ((st = log_interval(s, it, &rolled)) != CLGAN_OK) return st;
        if (rolled) return CLGAN_OK;
    }
    if (s->r.path && !s->cls && (it % (uint64_t)m->train.sample_every == 0 || last)) {
        if ((st = trainer_generate(t, s->z, s->sample_rows, s->x)) != CLGAN_OK)
            return dev_fail(s, st);
        char *path = str_fmt("%s/samples/iter_%06llu.png", s->r.path, (unsigned long long)it);
        st = path ? draw_samples(m, &s->data, s->x, s->sample_rows, path, &s->err)
                  : err_set(&s->err, CLGAN_ERR_NOMEM, "out of memory");
        free(path);
        if (st != CLGAN_OK) return st;
    }
    int ck_every = m->train.checkpoint_every;
    int periodic = ck_every && it % (uint64_t)ck_every == 0;
    /* with rollback, a checkpoint at every log interval gives something to return to */
    int for_rollback = s->p.on_nan == CLGAN_ON_NAN_ROLLBACK &&
                       it % (uint64_t)m->train.log_every == 0;
    int stop_now = s->p.stop ? s->p.stop(s->p.user) : 0;
    /* under mpirun: any rank's request stops every rank here */
    if ((st = comm_max(s->cm, &stop_now, "stop flags", &s->err)) != CLGAN_OK) return st;
    if (!(periodic || last || for_rollback || stop_now)) return CLGAN_OK;
    /* every rank: ADA's sums over the ranks, which rank 0's checkpoint keeps */
    if ((st = trainer_ada_sync(t)) != CLGAN_OK) return dev_fail(s, st);
    int saved = 1;
    if (s->r.path) {
        saved = save_state(s, periodic, &s->err, &st);
        if (st != CLGAN_OK) return st;
    }
    if (stop_now) {
        *stop = 1;
        s->stopped_by = stop_now;
        s->alone_failed = 0;
        if (!s->lead) s->err.msg[0] = '\0';
        else if (!s->r.path)
            err_set(&s->err, CLGAN_STOPPED, "at iteration %llu", (unsigned long long)it);
        else
            err_set(&s->err, CLGAN_STOPPED, "at iteration %llu; %s", (unsigned long long)it,
                    saved ? "checkpoint written: continue with --resume"
                          : "the state was not finite, the last good checkpoint is kept");
        return CLGAN_STOPPED;
    }
    /* not saved: not finite; the next log interval reports it */
    return CLGAN_OK;
}

clgan_status clgan_trainer_run(clgan_trainer *s, uint64_t n) {
    if (!s->m || !s->t.dev)
        return err_set(&s->err, CLGAN_ERR_ARG, "clgan_trainer_run: the trainer did not open");
    err_clear(&s->err);
    s->alone_failed = 1;
    uint64_t end = n && s->t.iter + n < s->total ? s->t.iter + n : s->total;
    clgan_status st = CLGAN_OK;
    int whole = 0, stop = 0;
    while (s->t.iter < end && st == CLGAN_OK) st = step(s, &whole, &stop);
    if (st == CLGAN_OK && s->t.iter >= s->total && !s->finished) st = finish(s);
    if (st == CLGAN_OK) {
        err_clear(&s->err);
        return CLGAN_OK;
    }
    if (!s->alone_failed && !s->lead) s->err.msg[0] = '\0'; /* rank 0 says it */
    /* a failure after a whole iteration (a sum over the ranks, a log row, an evaluation) keeps
     * that iteration: rank 0's state is finished, and its checkpoint needs no other rank */
    if (!stop && whole && s->lead && s->r.path && s->t.iter > s->saved_at) {
        clgan_err se = s->err;
        clgan_status sst;
        if (save_state(s, 0, &se, &sst))
            note(s, "the checkpoint of iteration %llu was written before stopping: continue "
                 "with --resume", (unsigned long long)s->t.iter);
    }
    return st;
}

void clgan_trainer_free(clgan_trainer *s) {
    if (!s) return;
    free(s->z);
    free(s->x);
    free(s->pz_valid);
    free(s->pz_test);
    free(s->test_x);
    free(s->test_y);
    cJSON_Delete(s->eval_json);
    fid_monitor_close(&s->fm);
    free(s->own);
    rundir_close(&s->r);
    trainer_free(&s->t);
    dataset_free(&s->data);
    free(s->where);
    clgan_model_free(s->m);
    free(s->devs);
    free((char *)s->p.resume);
    free((char *)s->p.run_dir);
    free(s);
}
