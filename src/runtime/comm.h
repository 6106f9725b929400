/*
 * comm.h - the processes of a data-parallel run (issue 16): Open MPI's world when clgan runs
 * under mpirun and was built with it (CLGAN_MPI), else one process alone, where every call
 * below is a no-op that succeeds.
 *
 * No MPI library takes OpenCL buffers, so everything reduced here is host memory: the caller
 * reads a bucket of gradients from its device, starts its sum here (comm_isum), goes on with
 * other work, and waits for every sum it started (comm_wait) before writing them back. Every
 * wait is bounded by timeout_s: a rank that stops answering ends the wait with an error naming
 * the rank that waited and what for, and the caller then ends the whole job (comm_abort), so
 * no rank hangs. A rank that dies is reported by mpirun, which ends the others.
 */
#ifndef CLGAN_COMM_H
#define CLGAN_COMM_H

#include <stdint.h>

#include "common.h"

/* The public clgan_ranks (clgan.h) is this struct. */
typedef struct clgan_ranks {
    clgan_err err;         /* clgan_ranks_start's message */
    int rank, size;        /* this process and how many (1 without MPI) */
    int local_rank;        /* among the processes of this machine */
    int mpi;               /* MPI was initialised here (finalised by comm_end) */
    double timeout_s;      /* bound on every wait, seconds */
    double wait_s;         /* seconds spent blocked in comm_wait and comm_sum */
    double bytes;          /* bytes this rank contributed to sums */
    void *reqs;            /* the sums in flight (MPI requests), n_reqs of cap_reqs */
    int n_reqs, cap_reqs;
} comm;

/*
 * Joins the MPI world if this process was started by mpirun (its environment says so) and
 * clgan was built with Open MPI; else one process. Refuses to run as one of several copies
 * started by mpirun in a build without MPI (each would train alone). Messages go to e.
 */
clgan_status comm_start(comm *c, clgan_err *e);
/* Leaves the MPI world (after every rank's last sum). */
void comm_end(comm *c);
/* Ends every rank of the job with exit status code (MPI_Abort); returns without MPI. */
void comm_abort(comm *c, int code);
/* Several processes? */
int comm_active(const comm *c);

/* Starts the sum over the ranks of n floats at buf, in place; in flight until comm_wait. */
clgan_status comm_isum(comm *c, float *buf, size_t n, clgan_err *e);
/* Lets the sums in flight progress (Open MPI advances them only inside its calls). */
void comm_progress(comm *c);
/* Waits, within timeout_s, for every sum in flight; `what` names them in the message. */
clgan_status comm_wait(comm *c, const char *what, clgan_err *e);
/* A sum over the ranks of n floats, in place, waited for. */
clgan_status comm_sum(comm *c, float *buf, size_t n, const char *what, clgan_err *e);
/* The largest of every rank's *v, into *v. */
clgan_status comm_max(comm *c, int *v, const char *what, clgan_err *e);

/*
 * Whether every rank holds the same n values h (hashes of what must agree: the model, the
 * binary, the parameters); names[i] says what h[i] is. On a difference every rank returns
 * CLGAN_ERR_ARG with a message naming the first rank and item that differ from rank 0's.
 */
clgan_status comm_same(comm *c, const uint64_t *h, int n, const char *const *names,
                       clgan_err *e);

/* FNV-1a, 64 bits, of n bytes, continuing from h (start with COMM_HASH_INIT). */
#define COMM_HASH_INIT 0xcbf29ce484222325ULL
uint64_t comm_hash(uint64_t h, const void *p, size_t n);
/* Of a file's bytes (0 if it cannot be read). */
uint64_t comm_hash_file(const char *path);

#endif /* CLGAN_COMM_H */
