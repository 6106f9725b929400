/*
 * comm.c - the ranks of a data-parallel run: Open MPI when built with CLGAN_MPI and started by
 * mpirun, else one process (see comm.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CLGAN_MPI
#include <mpi.h>
#endif

/* How many processes mpirun (Open MPI's, or a PMI launcher's) says it started; 0: none. */
static long launched_size(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < ARRAY_LEN(vars); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    return 0;
}

int comm_active(const comm *c) {
    return c && c->size > 1;
}

uint64_t comm_hash(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t comm_hash_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buf[1 << 16];
    uint64_t h = COMM_HASH_INIT;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) h = comm_hash(h, buf, got);
    fclose(f);
    return h;
}

#ifndef CLGAN_MPI

clgan_status comm_start(comm *c, clgan_err *e) {
    memset(c, 0, sizeof *c); /* before any message, which may go to c->err */
    c->size = 1;
    c->timeout_s = 600;
    long n = launched_size();
    if (n > 1)
        return err_set(e, CLGAN_ERR_ARG, "mpirun started %ld copies of clgan, but this clgan was "
                       "built without Open MPI, so each would train alone: install "
                       "libopenmpi-dev and rebuild (cmake -B build -DCLGAN_MPI=ON)", n);
    return CLGAN_OK;
}

void comm_end(comm *c) {
    (void)c;
}

void comm_abort(comm *c, int code) {
    (void)c, (void)code;
}

clgan_status comm_isum(comm *c, float *buf, size_t n, clgan_err *e) {
    (void)c, (void)buf, (void)n, (void)e;
    return CLGAN_OK;
}

void comm_progress(comm *c) {
    (void)c;
}

clgan_status comm_wait(comm *c, const char *what, clgan_err *e) {
    (void)c, (void)what, (void)e;
    return CLGAN_OK;
}

clgan_status comm_max(comm *c, int *v, const char *what, clgan_err *e) {
    (void)c, (void)v, (void)what, (void)e;
    return CLGAN_OK;
}

clgan_status comm_same(comm *c, const uint64_t *h, int n, const char *const *names,
                       clgan_err *e) {
    (void)c, (void)h, (void)n, (void)names, (void)e;
    return CLGAN_OK;
}

#else /* CLGAN_MPI */

clgan_status comm_start(comm *c, clgan_err *e) {
    memset(c, 0, sizeof *c); /* before any message, which may go to c->err */
    c->size = 1;
    c->timeout_s = 600;
    if (launched_size() < 1) return CLGAN_OK; /* not under mpirun: no MPI at all */
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return err_set(e, CLGAN_ERR_DEVICE, "MPI_Init_thread failed");
    c->mpi = 1;
    /* errors come back as codes (a bounded wait ends the job, not MPI's default handler) */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL,
                            &local) == MPI_SUCCESS) {
        MPI_Comm_rank(local, &c->local_rank);
        MPI_Comm_free(&local);
    }
    return CLGAN_OK;
}

void comm_end(comm *c) {
    free(c->reqs);
    c->reqs = NULL;
    c->n_reqs = c->cap_reqs = 0;
    if (c->mpi) MPI_Finalize();
    c->mpi = 0;
}

void comm_abort(comm *c, int code) {
    if (c && c->mpi && c->size > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
}

static clgan_status mpi_err(clgan_err *e, int rc, const char *call, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return err_set(e, CLGAN_ERR_DEVICE, "%s (%s) failed: %.*s", call, what, len, msg);
}

clgan_status comm_isum(comm *c, float *buf, size_t n, clgan_err *e) {
    if (!comm_active(c) || n == 0) return CLGAN_OK;
    if (n > (size_t)0x7fffffff)
        return err_set(e, CLGAN_ERR_ARG, "a sum of %zu floats is over MPI's count", n);
    if (c->n_reqs == c->cap_reqs) { /* grows: no sum is ever left out */
        int cap = c->cap_reqs ? 2 * c->cap_reqs : 64;
        MPI_Request *r = realloc(c->reqs, (size_t)cap * sizeof *r);
        if (!r) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        c->reqs = r;
        c->cap_reqs = cap;
    }
    MPI_Request *r = (MPI_Request *)c->reqs + c->n_reqs;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, r);
    if (rc != MPI_SUCCESS) return mpi_err(e, rc, "MPI_Iallreduce", "gradients");
    c->n_reqs++;
    c->bytes += (double)n * sizeof(float);
    return CLGAN_OK;
}

void comm_progress(comm *c) {
    if (!comm_active(c) || c->n_reqs == 0) return;
    int done;
    MPI_Testall(c->n_reqs, c->reqs, &done, MPI_STATUSES_IGNORE);
}

/* Waits for n requests within the timeout, polling (Open MPI progresses them in its calls). */
static clgan_status bounded_wait(comm *c, MPI_Request *r, int n, const char *what,
                                 clgan_err *e) {
    double t0 = clock_seconds();
    /* polls from 20 us, doubling up to 320 us: prompt on a short wait, idle on a long one */
    struct timespec nap = {0, 20000};
    for (;;) {
        int done = 0;
        int rc = MPI_Testall(n, r, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_err(e, rc, "MPI_Testall", what);
        if (done) break;
        if (clock_seconds() - t0 > c->timeout_s)
            return err_set(e, CLGAN_ERR_DEVICE, "waited %.0f s for the other ranks' %s and "
                           "got no answer: a rank died, hangs or lost its device "
                           "(--comm-timeout sets the wait)", c->timeout_s, what);
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 250000) nap.tv_nsec *= 2;
    }
    c->wait_s += clock_seconds() - t0;
    return CLGAN_OK;
}

clgan_status comm_wait(comm *c, const char *what, clgan_err *e) {
    if (!comm_active(c) || c->n_reqs == 0) return CLGAN_OK;
    clgan_status st = bounded_wait(c, c->reqs, c->n_reqs, what, e);
    if (st == CLGAN_OK) c->n_reqs = 0;
    return st;
}

clgan_status comm_max(comm *c, int *v, const char *what, clgan_err *e) {
    if (!comm_active(c)) return CLGAN_OK;
    MPI_Request r;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &r);
    return rc == MPI_SUCCESS ? bounded_wait(c, &r, 1, what, e)
                             : mpi_err(e, rc, "MPI_Iallreduce", what);
}

clgan_status comm_same(comm *c, const uint64_t *h, int n, const char *const *names,
                       clgan_err *e) {
    if (!comm_active(c)) return CLGAN_OK;
    uint64_t *all = malloc((size_t)c->size * (size_t)n * sizeof *all);
    if (!all) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    MPI_Request req;
    int rc = MPI_Iallgather(h, n, MPI_UINT64_T, all, n, MPI_UINT64_T, MPI_COMM_WORLD, &req);
    clgan_status st = rc == MPI_SUCCESS ? bounded_wait(c, &req, 1, "start checks", e)
                                        : mpi_err(e, rc, "MPI_Iallgather", "start checks");
    for (int r = 1; r < c->size && st == CLGAN_OK; r++)
        for (int i = 0; i < n && st == CLGAN_OK; i++)
            if (all[(size_t)r * n + i] != all[i])
                st = err_set(e, CLGAN_ERR_ARG, "rank %d's %s differs from rank 0's: every rank "
                             "must run the same clgan on the same model", r, names[i]);
    free(all);
    return st;
}

#endif /* CLGAN_MPI */

clgan_status comm_sum(comm *c, float *buf, size_t n, const char *what, clgan_err *e) {
    clgan_status st = comm_isum(c, buf, n, e);
    return st == CLGAN_OK ? comm_wait(c, what, e) : st;
}

/* ---- the public handle ---- */

clgan_status clgan_ranks_start(clgan_ranks **out) {
    comm *c = calloc(1, sizeof *c);
    *out = c;
    if (!c) return CLGAN_ERR_NOMEM;
    return comm_start(c, &c->err);
}

const char *clgan_ranks_errmsg(const clgan_ranks *r) {
    return r ? r->err.msg : "out of memory";
}

int clgan_ranks_rank(const clgan_ranks *r) {
    return r->rank;
}

int clgan_ranks_size(const clgan_ranks *r) {
    return r->size;
}

int clgan_ranks_local(const clgan_ranks *r) {
    return r->local_rank;
}

void clgan_ranks_set_timeout(clgan_ranks *r, double seconds) {
    r->timeout_s = seconds;
}

clgan_status clgan_ranks_wait_all(clgan_ranks *r, const char *what) {
    int v = 0;
    return comm_max(r, &v, what, &r->err);
}

void clgan_ranks_abort(clgan_ranks *r, int code) {
    comm_abort(r, code);
}

void clgan_ranks_end(clgan_ranks *r) {
    if (!r) return;
    comm_end(r);
    free(r);
}
