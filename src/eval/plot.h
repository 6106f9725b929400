/*
 * plot.h - a run's curves (`clgan plot`, and curves.png at the end of training): log.csv read
 * by column name, drawn as panels against iterations with axes, ticks, labels and legends.
 */
#ifndef CLGAN_PLOT_H
#define CLGAN_PLOT_H

#include "common.h"

#define RUN_LOG_COLS 13

/* The columns plot draws, one value per row (NaN where a row has none). Owns v. */
typedef struct run_log {
    double *v[RUN_LOG_COLS]; /* iter, d_loss, g_loss, d_real, d_fake, lr_g, lr_d, parzen_ll,
                                loss, train_acc, test_acc, lr, fid */
    int n, cap;
} run_log;

/*
 * Reads a log.csv: a header naming the columns (iter required; others clgan writes, and any it
 * does not know, are taken by name or skipped), then rows of as many fields, numbers or empty.
 * Errors name the file and line: no header, a repeated column, a row of another length, a
 * field that is not a number, no rows. nan and inf (a run that went non-finite) read as gaps.
 */
clgan_status run_log_read(const char *path, run_log *out, clgan_err *e);
void run_log_free(run_log *l);

/* Draws l (at least one row) into png, atomically, under title. */
clgan_status plot_run_log(const run_log *l, const char *title, const char *png, clgan_err *e);

#endif /* CLGAN_PLOT_H */
