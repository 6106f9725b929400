/*
 * cli_plot.c - `clgan plot RUN|LOG.csv`: a run's curves (losses, D(x) and D(G(z)), learning
 * rates, Parzen when measured) against iterations, from its log.csv, into a PNG.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

int cmd_plot(const cli_opts *o) {
    const char *outp = opt_get(o, "-o") ? opt_get(o, "-o") : "curves.png";
    char err[1024];
    int rows;
    if (clgan_plot_run(o->positional, outp, &rows, err, sizeof err) != CLGAN_OK) {
        fprintf(stderr, "clgan plot: %s\n", err);
        return 1;
    }
    struct stat sb;
    int is_dir = stat(o->positional, &sb) == 0 && S_ISDIR(sb.st_mode);
    printf("clgan plot: wrote %s (%d rows of %s%s)\n", outp, rows, o->positional,
           is_dir ? "/log.csv" : "");
    return 0;
}
