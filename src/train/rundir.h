/*
 * rundir.h - the run directory of `clgan train`: where a run lives, who holds it, which run it
 * is, and its log.
 *
 * A run directory holds config.yaml (its first line "# run_id: <16 hex digits>" names the run),
 * log.csv, samples/, checkpoint.safetensors and checkpoints/. While a run writes into it, it
 * holds an fcntl lock on <dir>/.lock, which also records the holder (pid, host, start time) for
 * the message a second run gets; the lock goes with the process, so a killed run leaves none.
 *
 * log.csv is appended to, one whole row per write(2), and synced at every checkpoint: after a
 * crash it holds at least every row up to the last checkpoint, and at most a torn last row,
 * which the next open drops.
 */
#ifndef CLGAN_RUNDIR_H
#define CLGAN_RUNDIR_H

#include <stdint.h>

#include "common.h"

typedef struct rundir {
    char *path;   /* owned */
    int lock_fd;  /* -1: not locked (or the file system has no locks) */
    int log_fd;   /* -1: log not open */
    int created;  /* rundir_lock made the folder: rundir_close removes it if nothing came of it */
} rundir;

/*
 * The run directory a checkpoint belongs to: the folder it is in, or, for a periodic checkpoint
 * in <run>/checkpoints/, the run above it. malloc'd (NULL when memory runs out).
 */
char *rundir_of_checkpoint(const char *ckpt_path);

/* Whether path holds a run (log.csv, checkpoint.safetensors or config.yaml). */
int rundir_has_run(const char *path);

/*
 * The run id of the run in path from its config.yaml: *known 0 when there is none (no
 * config.yaml, or one written by an earlier clgan).
 */
void rundir_read_id(const char *path, char id[17], int *known);

/* A new run id: 16 hex digits from the system's random source (time and pid without one). */
void rundir_new_id(char id[17]);

/*
 * Creates path (mkdir -p) and locks it for this process. A directory locked by another process
 * is refused (CLGAN_ERR_IO) with a message naming the holder. r is set even on failure and must
 * be closed with rundir_close.
 */
clgan_status rundir_lock(rundir *r, const char *path, clgan_err *e);

/*
 * Opens log.csv for appending. keep: the existing log is this run's; its rows after iteration
 * keep_upto (and a torn last row) are dropped, atomically. Otherwise (or when there is none) a
 * new log holding only `header` replaces it.
 */
clgan_status rundir_log_open(rundir *r, const char *header, int keep, uint64_t keep_upto,
                             clgan_err *e);
/* Drops the log's rows after iteration upto (a rollback) and goes on appending. */
clgan_status rundir_log_rewind(rundir *r, const char *header, uint64_t upto, clgan_err *e);
/* Appends one row (with its newline) in one write. */
clgan_status rundir_log_append(rundir *r, const char *row, clgan_err *e);
/* Makes the rows appended so far durable (fdatasync). */
clgan_status rundir_log_sync(rundir *r, clgan_err *e);

/*
 * Syncs and closes the log, releases the lock, frees the path; a folder rundir_lock made that
 * holds nothing but the lock file (a run that failed before it wrote anything) is removed.
 * A no-op on a zeroed rundir.
 */
void rundir_close(rundir *r);

#endif /* CLGAN_RUNDIR_H */
