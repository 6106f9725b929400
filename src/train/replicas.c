/*
 * replicas.c - data parallelism (issue 16): one trainer's replicas on several devices of this
 * process and on the other MPI ranks; their start, their checks, and the sum of their
 * gradients before every update. gan.c states each step for one replica; this group drives the
 * replicas from outside, through the replica_driver (gan.h) it installs on each: gan.c calls
 * nothing here, so the two files make no circle.
 *
 * The sum is bucketed and overlapped with the backward pass, as in Horovod and llm.c: as a
 * replica's backward pass enqueues a layer's parameter gradients (net.grads_ready), the layer's
 * range of the network's contiguous gradient buffer joins the open bucket; a bucket of
 * BUCKET_FLOATS or more is read to the host without waiting (an event). Once every replica's
 * pass is enqueued, the host takes the buckets in the order the passes made them (the last
 * layers first): as each one's reads complete, it sums this process's replicas in replica
 * order in double precision and starts the sum over the ranks (MPI_Iallreduce), while the
 * devices still compute the layers below. After the last bucket, it waits for the ranks' sums
 * and writes the whole sum into every replica's gradients.
 */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"
#include "gan.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A bucket closes once it holds this many gradients (256 kB): larger layers are one each, and
 * the small ones (biases, batch norm's scales) travel together. */
#define BUCKET_FLOATS ((size_t)1 << 16)

/*
 * dst[lo, hi) = src[0] + src[1] + ... + src[L - 1] there, added in that order in double, so
 * the sum is the same bits whichever thread takes it and however the host runs (dst may be
 * src[0]).
 */
static void sum_in_order(float *dst, const float *const *src, int L, size_t lo, size_t hi) {
    for (size_t j = lo; j < hi; j++) {
        double a = src[0][j];
        for (int i = 1; i < L; i++) a += src[i][j];
        dst[j] = (float)a;
    }
}

/*
 * This process's replicas, each running its passes in a thread of its own: they meet inside
 * the passes (batch norm), where every one leaves its floats and waits; replica 0's thread (the
 * caller's, which alone calls MPI) sums them in replica order in double, sums that over the
 * ranks and hands the result to every one. A replica that fails breaks the group, and every
 * wait in it ends with an error; every wait is bounded by the comm's timeout.
 */
typedef struct replica_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int L;
    int arrived;             /* replicas that left their floats for the sum in progress */
    unsigned long gen;       /* sums done */
    int broken;              /* a replica failed: nobody waits any more */
    int first_failed;        /* which, -1 none */
    float **bufs;            /* each replica's floats */
    comm *comm;
    double timeout_s;
} replica_group;

static replica_group *group_new(int L, comm *c) {
    replica_group *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->bufs = calloc((size_t)L, sizeof *g->bufs);
    if (!g->bufs || pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g->bufs);
        free(g);
        return NULL;
    }
    pthread_cond_init(&g->cv, NULL);
    g->L = L;
    g->first_failed = -1;
    g->comm = c;
    g->timeout_s = c ? c->timeout_s : 600;
    return g;
}

static void group_free(replica_group *g) {
    if (!g) return;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->bufs);
    free(g);
}

/* Replica `who` failed: every wait in the group ends (the lock held). */
static void break_locked(replica_group *g, int who) {
    if (!g->broken) g->first_failed = who;
    g->broken = 1;
    pthread_cond_broadcast(&g->cv);
}

static void group_break(replica_group *g, int who) {
    pthread_mutex_lock(&g->mu);
    break_locked(g, who);
    pthread_mutex_unlock(&g->mu);
}

/* Waits on the group's condition until *done (under the lock) or the deadline: 0 or ETIMEDOUT. */
static int group_wait(replica_group *g, const struct timespec *deadline, int (*done)(const
                      replica_group *, unsigned long), unsigned long arg) {
    while (!g->broken && !done(g, arg))
        if (pthread_cond_timedwait(&g->cv, &g->mu, deadline) == ETIMEDOUT)
            return done(g, arg) ? 0 : ETIMEDOUT;
    return 0;
}

static int all_arrived(const replica_group *g, unsigned long unused) {
    (void)unused;
    return g->arrived == g->L;
}

static int sum_done(const replica_group *g, unsigned long gen) {
    return g->gen != gen;
}

/* Replica r's floats h summed over every replica of the process and over the ranks. */
static clgan_status group_sum(trainer *r, float *h, size_t count, const char *what) {
    replica_group *g = r->grp;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)g->timeout_s;
    pthread_mutex_lock(&g->mu);
    g->bufs[r->local] = h;
    g->arrived++;
    unsigned long gen = g->gen;
    pthread_cond_broadcast(&g->cv);
    int late = group_wait(g, &deadline, r->local == 0 ? all_arrived : sum_done, gen);
    clgan_status st = CLGAN_OK;
    if (g->broken || late) {
        break_locked(g, r->local);
        pthread_mutex_unlock(&g->mu);
        return late ? err_set(&r->dev->err, CLGAN_ERR_DEVICE, "waited %.0f s for the other "
                              "devices' %s: one of them hangs", g->timeout_s, what)
                    : err_set(&r->dev->err, CLGAN_ERR_DEVICE, "another device failed");
    }
    if (r->local == 0) { /* every replica's floats are here: the sum, in replica order */
        sum_in_order(h, (const float *const *)g->bufs, g->L, 0, count);
        pthread_mutex_unlock(&g->mu); /* the others wait for gen: the ranks' sum unlocked */
        st = comm_sum(g->comm, h, count, what, &r->dev->err);
        pthread_mutex_lock(&g->mu);
        for (int i = 1; i < g->L && st == CLGAN_OK; i++)
            memcpy(g->bufs[i], h, count * sizeof *h);
        if (st != CLGAN_OK) break_locked(g, 0);
        g->arrived = 0;
        g->gen++;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

/* net.sum of a replica's networks: over the process's replicas and the ranks. */
static clgan_status replica_sum(net *n, float *h, size_t count, const char *what, void *ctx) {
    trainer *r = ctx;
    (void)n;
    return r->grp ? group_sum(r, h, count, what) : comm_sum(r->comm, h, count, what,
                                                              &r->dev->err);
}

typedef struct replica_job {
    trainer *r;
    clgan_status (*fn)(trainer *);
    clgan_status st;
} replica_job;

static void *run_job(void *p) {
    replica_job *j = p;
    j->st = j->fn(j->r);
    if (j->st != CLGAN_OK) group_break(j->r->grp, j->r->local);
    return NULL;
}

/*
 * Runs fn on every replica of this process, each in a thread of its own (they may meet inside
 * their passes: batch norm's statistics over the global batch), replica 0 in the caller's (the
 * one that calls MPI); one replica runs in the caller's alone. The first failure is returned,
 * on t's device with the failing device named.
 */
static clgan_status replicas_each(trainer *t, clgan_status (*fn)(trainer *)) {
    const int L = t->n_peers + 1;
    clgan_status st = CLGAN_OK;
    if (!t->grp) {
        for (int i = 0; i < L && st == CLGAN_OK; i++) st = fn(trainer_replica(t, i));
        return st;
    }
    replica_job *jobs = calloc((size_t)L, sizeof *jobs);
    pthread_t *th = calloc((size_t)L, sizeof *th);
    if (!jobs || !th) {
        free(jobs);
        free(th);
        return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    int started = 1;
    for (int i = 0; i < L; i++) jobs[i] = (replica_job){trainer_replica(t, i), fn, CLGAN_OK};
    for (; started < L; started++)
        if (pthread_create(&th[started], NULL, run_job, &jobs[started]) != 0) {
            group_break(t->grp, 0); /* the started ones stop at their first meeting */
            jobs[0].st = err_set(&t->dev->err, CLGAN_ERR_NOMEM, "cannot start a thread for "
                                 "device %d", started);
            break;
        }
    if (started == L) run_job(&jobs[0]);
    for (int i = 1; i < started; i++) pthread_join(th[i], NULL);
    int bad = t->grp->first_failed; /* the failure the others' errors follow from */
    if (bad < 0)
        for (int i = 0; i < L && bad < 0; i++)
            if (jobs[i].st != CLGAN_OK) bad = i;
    if (bad > 0 && bad < started)
        st = err_set(&t->dev->err, jobs[bad].st, "device %d (%s): %s", bad,
                     jobs[bad].r->dev->info.name, jobs[bad].r->dev->err.msg);
    else if (bad == 0 || jobs[0].st != CLGAN_OK)
        st = jobs[0].st;
    free(jobs);
    free(th);
    return st;
}

/* n floats of buffer a on replica 0 into buffer b of replica r (through the host). */
static clgan_status copy_to_replica(trainer *t, cl_mem a, trainer *r, cl_mem b, size_t n,
                                    float *tmp) {
    clgan_status st = device_read(t->dev, a, 0, n * sizeof(float), tmp);
    return st == CLGAN_OK ? device_write(r->dev, b, 0, n * sizeof(float), tmp, 1) : st;
}

static size_t larger_net(const trainer *t) {
    return t->g->n_params > t->d->n_params ? t->g->n_params : t->d->n_params;
}

/*
 * Every replica of this process holds replica 0's parameters, bit for bit, and every rank's
 * replica 0 holds rank 0's (compared by hash); `when` says at what point, for the message.
 */
static clgan_status check_same_params(trainer *t, const char *when) {
    size_t most = larger_net(t);
    float *a = malloc(most * sizeof *a), *b = malloc(most * sizeof *b);
    clgan_status st = a && b ? CLGAN_OK : err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    uint64_t h[2] = {COMM_HASH_INIT, COMM_HASH_INIT};
    for (int w = 0; w < 2 && st == CLGAN_OK; w++) {
        net *x = trainer_net(t, (clgan_net)w);
        size_t bytes = x->n_params * sizeof(float);
        st = device_read(t->dev, x->params, 0, bytes, a);
        if (st == CLGAN_OK) h[w] = comm_hash(h[w], a, bytes);
        for (int i = 0; i < t->n_peers && st == CLGAN_OK; i++) {
            net *y = trainer_net(&t->peers[i], (clgan_net)w);
            st = device_read(y->dev, y->params, 0, bytes, b);
            if (st == CLGAN_OK && memcmp(a, b, bytes) != 0)
                st = err_set(&t->dev->err, CLGAN_ERR_DEVICE, "--devices: device %d (%s) holds "
                             "other %s parameters %s than device 0 (%s)", i + 1,
                             y->dev->info.name, model_net_name((clgan_net)w), when,
                             t->dev->info.name);
        }
    }
    free(a);
    free(b);
    if (st == CLGAN_OK) {
        char gn[96], dn[96];
        snprintf(gn, sizeof gn, "generator parameters %s", when);
        snprintf(dn, sizeof dn, "discriminator parameters %s", when);
        const char *names[2] = {gn, dn};
        st = comm_same(t->comm, h, 2, names, &t->dev->err);
    }
    return st;
}

clgan_status trainer_sync_replicas(trainer *t) {
    if (t->replicas < 2) return CLGAN_OK;
    float *tmp = malloc(larger_net(t) * sizeof *tmp);
    if (!tmp) return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < t->n_peers && st == CLGAN_OK; i++) {
        trainer *r = &t->peers[i];
        for (int w = 0; w < 2 && st == CLGAN_OK; w++) {
            net *a = trainer_net(t, (clgan_net)w), *b = trainer_net(r, (clgan_net)w);
            st = copy_to_replica(t, a->params, r, b->params, a->n_params, tmp);
            for (int k = 0; k < optim_state_count(&t->opt[w]) && st == CLGAN_OK; k++)
                st = copy_to_replica(t, optim_state_buf(&t->opt[w], k), r,
                                     optim_state_buf(&r->opt[w], k), a->n_train, tmp);
            r->opt[w].t = t->opt[w].t;
        }
        if (st == CLGAN_OK && t->ema)
            st = copy_to_replica(t, t->ema, r, r->ema, t->g->n_params, tmp);
        r->stream = t->stream;
        r->iter = t->iter;
        r->epoch = t->epoch;
        r->batch_in_epoch = t->batch_in_epoch;
        if (st == CLGAN_OK) st = trainer_seek(r);
    }
    free(tmp);
    /* every rank read the same checkpoint: the same state everywhere, checked */
    return st == CLGAN_OK ? check_same_params(t, "after the resume") : st;
}

/* Global replica g of G's share of the batch: rows, the first row, and its networks' draws. */
static void set_share(trainer *t, int g, int G) {
    const int m = t->m->train.batch, pack = t->m->train.pack;
    t->rows = m / G;
    t->row0 = (long)g * t->rows;
    t->g->row0 = t->row0;
    t->g->rows_global = m;
    t->d->row0 = t->row0 / pack; /* D's rows hold pack samples */
    t->d->rows_global = m / pack;
}

/* The layer's trainable gradients, [lo, hi) of its network's buffer, join the open bucket. */
static clgan_status bucket_close(trainer *r, net *n);

static clgan_status bucket_add(net *n, int layer, void *ctx) {
    trainer *r = ctx;
    grad_buckets *b = &r->bk;
    const struct layer *l = &n->layers[layer];
    size_t lo = SIZE_MAX, hi = 0;
    for (int j = 0; j < l->n_params; j++)
        if (l->params[j].trainable) {
            size_t a = l->param_off[j], z = a + (size_t)l->params[j].count;
            lo = a < lo ? a : lo;
            hi = z > hi ? z : hi;
        }
    if (lo >= hi) return CLGAN_OK;
    clgan_status st = CLGAN_OK;
    if (b->hi > b->lo && hi != b->lo) st = bucket_close(r, n); /* not adjacent: apart */
    if (b->hi == b->lo) b->hi = hi;
    b->lo = lo;
    if (st == CLGAN_OK && b->hi - b->lo >= BUCKET_FLOATS) st = bucket_close(r, n);
    return st;
}

static clgan_status bucket_close(trainer *r, net *n) {
    grad_buckets *b = &r->bk;
    if (b->hi <= b->lo) return CLGAN_OK;
    if (b->n == b->cap) { /* grows: every bucket is kept */
        int cap = b->cap ? 2 * b->cap : 32;
        size_t *lo = realloc(b->b_lo, (size_t)cap * sizeof *lo);
        if (lo) b->b_lo = lo;
        size_t *hi = realloc(b->b_hi, (size_t)cap * sizeof *hi);
        if (hi) b->b_hi = hi;
        cl_event *ev = realloc(b->ev, (size_t)cap * sizeof *ev);
        if (ev) b->ev = ev;
        if (!lo || !hi || !ev) return err_set(&r->dev->err, CLGAN_ERR_NOMEM, "out of memory");
        b->cap = cap;
    }
    clgan_status st = device_read_start(r->dev, n->grads, b->lo * sizeof(float),
                                        (b->hi - b->lo) * sizeof(float), b->stage + b->lo,
                                        &b->ev[b->n]);
    if (st != CLGAN_OK) return st;
    b->b_lo[b->n] = b->lo;
    b->b_hi[b->n] = b->hi;
    b->n++;
    b->lo = b->hi = 0;
    return CLGAN_OK;
}

/* After replica r's backward pass of network w is enqueued: reads its last, open bucket. */
static clgan_status replicas_flush(trainer *r, clgan_net w) {
    return r->replicas > 1 ? bucket_close(r, trainer_net(r, w)) : CLGAN_OK;
}

static void buckets_release(grad_buckets *b) {
    for (int i = 0; i < b->n; i++) clReleaseEvent(b->ev[i]);
    b->n = 0;
    b->lo = b->hi = 0;
}

/* Frees replica 0's peers, replica r's bucket reads and host copy, and replica 0's group of
 * threads. */
static void replicas_release(trainer *r) {
    for (int i = 0; i < r->n_peers; i++) { /* replica 0's peers, each finished and freed */
        trainer_free(&r->peers[i]);
        dataset_free(&r->peer_data[i]);
    }
    free(r->peers);
    free(r->peer_data);
    r->peers = NULL;
    r->peer_data = NULL;
    r->n_peers = 0;
    if (r->dev) device_finish(r->dev); /* no read in flight into the stage freed below */
    if (r->local == 0) group_free(r->grp); /* replica 0 owns it */
    r->grp = NULL;
    grad_buckets *b = &r->bk;
    buckets_release(b);
    free(b->stage);
    free(b->b_lo);
    free(b->b_hi);
    free(b->ev);
    memset(b, 0, sizeof *b);
}

/* Waits for bucket k's read on replica r, letting the ranks' sums in flight progress. */
static clgan_status bucket_wait(trainer *t, trainer *r, int k) {
    if (!comm_active(t->comm) || t->comm->n_reqs == 0) { /* nothing to progress: block */
        cl_int rc = clWaitForEvents(1, &r->bk.ev[k]);
        int done;
        return rc == CL_SUCCESS ? device_event_done(r->dev, r->bk.ev[k], &done)
                                : err_cl(&r->dev->err, rc, "clWaitForEvents",
                                         "a read of the gradients from '%s'", r->dev->info.name);
    }
    struct timespec nap = {0, 20000}; /* from 20 us, doubling up to 320 us */
    for (;;) {
        int done;
        clgan_status st = device_event_done(r->dev, r->bk.ev[k], &done);
        if (st != CLGAN_OK || done) return st;
        comm_progress(t->comm);
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 250000) nap.tv_nsec *= 2;
    }
}

/*
 * Sums every replica's gradients of network w, over this process's devices and the ranks, as
 * their buckets reach the host, and writes the sum into every replica's gradients (a no-op with
 * one replica). Waits for every device.
 */
static clgan_status replicas_reduce(trainer *t, clgan_net w) {
    if (t->replicas < 2) return CLGAN_OK;
    const int L = t->n_peers + 1, nb = t->bk.n;
    for (int i = 1; i < L; i++)
        if (t->peers[i - 1].bk.n != nb)
            return err_set(&t->dev->err, CLGAN_ERR_DEVICE, "internal: replica %d read %d "
                           "gradient buckets, replica 0 %d", i, t->peers[i - 1].bk.n, nb);
    float *sum = t->bk.stage;
    const float **stages = malloc((size_t)L * sizeof *stages);
    if (!stages) return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < L; i++) stages[i] = trainer_replica(t, i)->bk.stage;
    clgan_status st = CLGAN_OK;
    double t_first = clock_seconds();
    for (int k = 0; k < nb && st == CLGAN_OK; k++) {
        for (int i = 0; i < L && st == CLGAN_OK; i++) st = bucket_wait(t, trainer_replica(t, i), k);
        if (st != CLGAN_OK) break;
        if (k == 0) t_first = clock_seconds();
        size_t lo = t->bk.b_lo[k], hi = t->bk.b_hi[k];
        if (L > 1) sum_in_order(sum, stages, L, lo, hi); /* this process's replicas */
        st = comm_isum(t->comm, sum + lo, hi - lo, &t->dev->err);
    }
    double t_dev = clock_seconds(); /* every pass has ended: its last bucket is on the host */
    if (st == CLGAN_OK) {
        char what[96];
        snprintf(what, sizeof what, "%s gradients at iteration %llu", model_net_name(w),
                 (unsigned long long)t->iter + 1);
        st = comm_wait(t->comm, what, &t->dev->err);
    }
    /* bucket by bucket: the gaps between layers' tensors (alignment) are not the step's */
    size_t n = 0;
    for (int k = 0; k < nb; k++) {
        size_t lo = t->bk.b_lo[k], hi = t->bk.b_hi[k];
        for (int i = 0; i < L && st == CLGAN_OK; i++) {
            trainer *r = trainer_replica(t, i);
            st = device_write(r->dev, trainer_net(r, w)->grads, lo * sizeof(float),
                              (hi - lo) * sizeof(float), sum + lo, 1);
        }
        n += hi - lo;
    }
    for (int i = 0; i < L; i++) buckets_release(&trainer_replica(t, i)->bk);
    free(stages);
    double t_end = clock_seconds();
    t->comm_s += t_end - t_first;
    t->comm_exposed_s += t_end - t_dev;
    t->comm_bytes += (double)(n * sizeof(float));
    return st;
}

/*
 * The relativistic loss over several replicas: after every replica's forward pass of a step
 * (g_part: a G step's), the means of the real and generated logits over every replica's rows,
 * and the sums that move them (cl/loss.cl's ra), into every replica's loss, which takes them
 * instead of its own rows'. Waits for every device.
 */
static clgan_status replicas_relativistic(trainer *t, int g_part) {
    if (t->replicas < 2) return CLGAN_OK;
    const int L = t->n_peers + 1, n = t->step_n, n_real = t->step_real;
    float *z = malloc((size_t)L * (size_t)n * sizeof *z);
    if (!z) return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = CLGAN_OK;
    double sum[2] = {0, 0}; /* this process's replicas in order, in double */
    for (int i = 0; i < L && st == CLGAN_OK; i++) {
        trainer *r = trainer_replica(t, i);
        tensor lz = net_logits(r->d);
        float *zi = z + (size_t)i * n;
        st = device_read(r->dev, lz.buf, lz.off * sizeof(float), (size_t)n * sizeof(float), zi);
        for (int j = 0; j < n && st == CLGAN_OK; j++) sum[j >= n_real] += zi[j];
    }
    /* the means over every rank's rows: sums and counts */
    float f[4] = {(float)sum[0], (float)sum[1], (float)(L * n_real), (float)(L * (n - n_real))};
    if (st == CLGAN_OK) st = comm_sum(t->comm, f, 4, "relativistic means", &t->dev->err);
    const double mr = f[0] / f[2], mf = f[1] / f[3], t_r = g_part ? 0 : 1, t_f = 1 - t_r;
    sum[0] = sum[1] = 0; /* SR and SF (cl/loss.cl's gan_loss) */
    for (int i = 0; i < L && st == CLGAN_OK; i++)
        for (int j = 0; j < n; j++) {
            double v = z[(size_t)i * n + j];
            sum[j >= n_real] += j < n_real ? 1 / (1 + exp(mf - v)) - t_r /* sigmoid(v - mf) */
                                           : 1 / (1 + exp(mr - v)) - t_f;
        }
    float ra[RA_VALUES] = {(float)mr, (float)mf, (float)sum[1], (float)sum[0], f[2], f[3]};
    if (st == CLGAN_OK) st = comm_sum(t->comm, ra + 2, 2, "relativistic sums", &t->dev->err);
    for (int i = 0; i < L && st == CLGAN_OK; i++) {
        trainer *r = trainer_replica(t, i);
        st = device_write(r->dev, r->loss.ra, 0, sizeof ra, ra, 1);
        r->loss.ra_given = 1;
    }
    free(z);
    return st;
}

/* What gan.c's steps call where the replicas meet. */
static const replica_driver driver = {replicas_each, replicas_relativistic, replicas_flush,
                                      replicas_reduce, replicas_release};

clgan_status trainer_check_split(const clgan_model *m, int L, const comm *c, clgan_err *e) {
    const train_spec *ts = &m->train;
    const int ranks = comm_active(c) ? c->size : 1, G = L * ranks;
    if (G < 2) return CLGAN_OK;
    char who[64]; /* what splits the batch, for the messages */
    if (ranks == 1)
        snprintf(who, sizeof who, "--devices: %d devices", L);
    else if (L == 1)
        snprintf(who, sizeof who, "mpirun: %d ranks", ranks);
    else
        snprintf(who, sizeof who, "mpirun and --devices: %d ranks x %d devices", ranks, L);
    if (m->kind != MODEL_GAN)
        return err_set(e, CLGAN_ERR_ARG, "%s: %s trains a classifier; several devices train "
                       "GANs only", who, m->name);
    if (ts->batch % (G * ts->pack) != 0)
        return err_set(e, CLGAN_ERR_ARG, "%s: train.batch %d does not split into %d replicas "
                       "x pack %d rows", who, ts->batch, G, ts->pack);
    return CLGAN_OK;
}

clgan_status trainer_init_replicas(trainer *t, clgan_device **devs, int L, const clgan_model *m,
                                   dataset *data, int sample_rows, comm *c) {
    memset(t, 0, sizeof *t);
    clgan_device *d0 = devs[0];
    const int ranks = comm_active(c) ? c->size : 1, G = L * ranks;
    if (G < 2) return trainer_init(t, d0, m, data, sample_rows);
    if (trainer_check_split(m, L, c, &d0->err) != CLGAN_OK) return d0->err.status;
    clgan_status st = trainer_init(t, d0, m, data, sample_rows);
    if (st != CLGAN_OK) return st;
    t->driver = &driver; /* from here, trainer_free frees the peers through it */
    t->peers = calloc((size_t)L, sizeof *t->peers);
    t->peer_data = calloc((size_t)L, sizeof *t->peer_data);
    size_t most = larger_net(t);
    if (!t->peers || !t->peer_data) {
        trainer_free(t);
        return err_set(&d0->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    clgan_err e;
    for (int i = 0; i < L - 1; i++) {
        clgan_device *dv = devs[i + 1];
        if (dataset_share(data, &t->peer_data[i], &e) != CLGAN_OK) {
            st = err_set(&d0->err, CLGAN_ERR_NOMEM, "%s", e.msg);
        } else if ((st = dataset_upload(&t->peer_data[i], dv)) != CLGAN_OK ||
                   (st = trainer_init(&t->peers[i], dv, m, &t->peer_data[i], sample_rows)) !=
                       CLGAN_OK) {
            err_set(&d0->err, st, "device %d (%s): %s", i + 1, dv->info.name, dv->err.msg);
        }
        if (st != CLGAN_OK) {
            t->n_peers = i + 1; /* frees what was made */
            trainer_free(t);
            return st;
        }
        t->n_peers = i + 1;
        memcpy(t->peers[i].run_id, t->run_id, sizeof t->run_id);
    }
    const int rank = comm_active(c) ? c->rank : 0;
    for (int i = 0; i < L; i++) {
        trainer *r = trainer_replica(t, i);
        set_share(r, rank * L + i, G);
        r->comm = c;
        r->replicas = G;
        r->bk.stage = malloc(most * sizeof *r->bk.stage);
        if (!r->bk.stage) {
            trainer_free(t);
            return err_set(&d0->err, CLGAN_ERR_NOMEM, "out of memory");
        }
        r->local = i;
        r->driver = &driver;
        for (int w = 0; w < 2; w++) {
            net *n = trainer_net(r, (clgan_net)w);
            n->grads_ready = bucket_add;
            n->grads_ctx = r;
            n->sum = replica_sum; /* batch statistics over every replica's rows */
            n->sum_ctx = r;
        }
    }
    if (L > 1) { /* a thread per replica: they may meet inside their passes (net.sum) */
        t->grp = group_new(L, c);
        if (!t->grp) {
            trainer_free(t);
            return err_set(&d0->err, CLGAN_ERR_NOMEM, "out of memory");
        }
        for (int i = 1; i < L; i++) t->peers[i - 1].grp = t->grp;
    }
    /* the same parameters everywhere by construction (the seed's draws); checked */
    st = check_same_params(t, "at the start");
    if (st != CLGAN_OK) trainer_free(t);
    return st;
}
