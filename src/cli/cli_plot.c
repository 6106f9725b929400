/*
 * cli_plot.c - `clgan plot RUN|LOG.csv`: a run's curves (losses, D(x) and D(G(z)), learning
 * rates, Parzen when measured) against iterations, from its log.csv, into a PNG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "plot.h"

int cmd_plot(const cli_opts *o) {
    const char *outp = opt_get(o, "-o") ? opt_get(o, "-o") : "curves.png";
    struct stat sb;
    int is_dir = stat(o->positional, &sb) == 0 && S_ISDIR(sb.st_mode);
    char *log = is_dir ? str_fmt("%s/log.csv", o->positional) : str_dup(o->positional);
    if (!log) {
        fprintf(stderr, "clgan plot: out of memory\n");
        return 1;
    }
    run_log l;
    clgan_err e;
    err_clear(&e);
    int rc = 1;
    if (run_log_read(log, &l, &e) != CLGAN_OK) {
        fprintf(stderr, "clgan plot: %s\n", e.msg);
        goto done;
    }
    if (plot_run_log(&l, o->positional, outp, &e) != CLGAN_OK) {
        fprintf(stderr, "clgan plot: %s\n", e.msg);
        run_log_free(&l);
        goto done;
    }
    printf("clgan plot: wrote %s (%d rows of %s)\n", outp, l.n, log);
    run_log_free(&l);
    rc = 0;
done:
    free(log);
    return rc;
}
