/*
 * cli.h - shared parts of the clgan command (cli*.c): parsed options and the commands.
 */
#ifndef CLGAN_CLI_H
#define CLGAN_CLI_H

#include <stddef.h>

#include "clgan.h" /* the CLI stands on the public API alone */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define EXIT_USAGE 2

typedef struct cli_opt {
    const char *name; /* "--epochs" */
    const char *arg;  /* "N", or NULL for a flag */
    const char *help;
} cli_opt;

struct cli_cmd;

typedef struct cli_opts {
    const struct cli_cmd *cmd;
    const char *device;
    const char *positional;
    const char **names;  /* room for every argument (an option is given at most once) */
    const char **values; /* "" for flags */
    int n;
} cli_opts;

typedef struct cli_cmd {
    const char *name;
    const char *args;
    const char *summary;
    const char *help;
    int (*run)(const cli_opts *o);
    int needs_positional;
    const cli_opt *opts;
    int n_opts;
} cli_cmd;

int usage_error(const char *cmd, const char *fmt, const char *arg);

/*
 * Prints JSON object o (a cJSON *, taken and freed) on one line of stdout: every string escaped
 * (a path with a quote or a backslash stays JSON), NaN and Inf as null. 0, or -1 out of memory
 * (o NULL too).
 */
int print_json(void *o);

/* Writes text and a newline to path through path.tmp and a rename: 0, or -1 (errno set). */
int write_text_atomic(const char *path, const char *text);

/* The value of an option, "" for a flag that is set, NULL if absent. */
const char *opt_get(const cli_opts *o, const char *name);
/* 0 absent, 1 parsed into *out, -1 bad (message printed: the option and what was expected). */
int opt_long(const cli_opts *o, const char *name, long lo, long hi, long *out);

/*
 * Opens every device of --devices A,B,... (selectors as --device takes them) into *devs (n of
 * them; clgan_device_free each, then free the array). --device beside it, an empty selector
 * or a device that does not open is refused with a message naming the option: returns
 * EXIT_USAGE or 1, else 0.
 */
int open_device_list(const cli_opts *o, struct clgan_device ***devs, int *n);

/* Opens --device (or the default device) into *devs (n = 1): 0, or 1 after the message. */
int open_one_device(const cli_opts *o, struct clgan_device ***devs, int *n);

/*
 * Under mpirun (c of several ranks): opens this rank's device into *devs (n = 1): its own selector of
 * --devices A,B,... (one per rank), else --device, else the device of its local rank among
 * those `clgan devices` lists. Messages name the rank; returns EXIT_USAGE or 1, else 0.
 */
int open_rank_device(const cli_opts *o, const clgan_ranks *c, struct clgan_device ***devs,
                     int *n);

struct clgan_model;
/*
 * Loads MODEL for a command that trains on synthetic data of its shape (bench, compare): an
 * unreadable data file only gets a note on stderr. NULL after printing the error.
 */
struct clgan_model *load_model_shapes(const char *cmd, const char *path);

int cmd_devices(const cli_opts *o);
int cmd_check(const cli_opts *o);
int cmd_train(const cli_opts *o);
int cmd_sample(const cli_opts *o);
int cmd_eval(const cli_opts *o);
/* eval --fid/--kid/--prdc/--score (cli_features.c). */
int eval_features(const cli_opts *o);
int cmd_bench(const cli_opts *o);
int cmd_compare(const cli_opts *o);
int cmd_theory(const cli_opts *o);
int cmd_figure1(const cli_opts *o);
int cmd_plot(const cli_opts *o);
int cmd_layers(const cli_opts *o);

#endif /* CLGAN_CLI_H */
