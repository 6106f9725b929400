/*
 * cli.c - the clgan command: subcommands, options, and the only place that prints messages or
 * chooses exit codes. Exit codes: 0 success, 1 a failure while running (model, data, device),
 * 2 a usage error (unknown option, missing or bad value).
 */
#define _POSIX_C_SOURCE 200809L
#include "clgan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

typedef struct cli_opts {
    const char *device;
    const char *positional;
    int help;
} cli_opts;

typedef struct cli_cmd {
    const char *name;
    const char *args;
    const char *summary;
    const char *help;
    int (*run)(const cli_opts *o);
    int needs_positional;
} cli_cmd;

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "clgan%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'clgan %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

static void human_bytes(double b, char *out, size_t len) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024.0 && i < 4) {
        b /= 1024.0;
        i++;
    }
    snprintf(out, len, i == 0 ? "%.0f %s" : "%.1f %s", b, u[i]);
}

/* 1234567 -> "1,234,567" */
static void with_commas(uint64_t v, char *out, size_t len) {
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n && j + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
}

/* ---- devices ------------------------------------------------------------------------------ */

static int cmd_devices(const cli_opts *o) {
    clgan_device_info *list;
    size_t n;
    char err[1024];
    if (clgan_device_list(&list, &n, err, sizeof err) != CLGAN_OK) {
        fprintf(stderr, "clgan devices: %s\n", err);
        return 1;
    }
    /* Mark the device a plain run would use (or the one --device names). */
    clgan_device *dev = NULL;
    int sel_p = -1, sel_d = -1;
    if (clgan_device_open(o->device, &dev) == CLGAN_OK) {
        sel_p = clgan_device_get_info(dev)->platform;
        sel_d = clgan_device_get_info(dev)->index;
    } else if (o->device) {
        fprintf(stderr, "clgan devices: %s\n", clgan_device_errmsg(dev));
        clgan_device_free(dev);
        clgan_device_list_free(list);
        return 1;
    }
    clgan_device_free(dev);
    int last_p = -1;
    for (size_t i = 0; i < n; i++) {
        const clgan_device_info *d = &list[i];
        if (d->platform != last_p) {
            printf("platform %d: %s\n", d->platform, d->platform_name);
            last_p = d->platform;
        }
        char mem[32], alloc[32];
        human_bytes((double)d->global_mem, mem, sizeof mem);
        human_bytes((double)d->max_alloc, alloc, sizeof alloc);
        int chosen = d->platform == sel_p && d->index == sel_d;
        printf("%c %d:%d  %-4s %s\n", chosen ? '*' : ' ', d->platform, d->index, d->type, d->name);
        printf("        vendor %s, driver %s, %s\n", d->vendor, d->driver_version, d->version);
        printf("        %u compute units, %s global memory (max buffer %s), fp64 %s, fp16 %s\n",
               d->compute_units, mem, alloc, d->fp64 ? "yes" : "no", d->fp16 ? "yes" : "no");
    }
    printf("(* = selected%s; choose with --device P:D or part of the name)\n",
           o->device ? " by --device" : " by default");
    clgan_device_list_free(list);
    return 0;
}

/* ---- check -------------------------------------------------------------------------------- */

static void print_net(const clgan_model *m, clgan_net net, const char *title) {
    int c, h, w;
    clgan_model_input_shape(m, net, &c, &h, &w);
    int batch = clgan_model_batch(m);
    printf("\n%s (input %dx%dx%d, batch %d)\n", title, c, h, w, batch);
    printf("  %-3s %-11s %-10s %-14s %12s %14s %12s\n", "#", "layer", "", "output", "params",
           "FLOPs/sample", "activations");
    uint64_t tp = 0, ta = 0;
    double tf = 0;
    for (int i = 0; i < clgan_model_layers(m, net); i++) {
        clgan_layer_info L;
        clgan_model_layer_info(m, net, i, &L);
        char shape[48], params[32], flops[32], act[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", L.out_c, L.out_h, L.out_w);
        with_commas(L.params, params, sizeof params);
        with_commas((uint64_t)L.flops, flops, sizeof flops);
        human_bytes((double)L.act_bytes, act, sizeof act);
        printf("  %-3d %-11s %-10s %-14s %12s %14s %12s\n", i, L.kind, L.detail, shape, params,
               flops, act);
        tp += L.params;
        tf += L.flops;
        ta += L.act_bytes;
    }
    char params[32], flops[32], act[32], pmem[32];
    with_commas(tp, params, sizeof params);
    with_commas((uint64_t)tf, flops, sizeof flops);
    human_bytes((double)ta, act, sizeof act);
    human_bytes((double)tp * 4.0, pmem, sizeof pmem);
    printf("  %-3s %-11s %-10s %-14s %12s %14s %12s\n", "", "total", "", "", params, flops, act);
    printf("  %s parameters: %s (%s of float32)\n", title, params, pmem);
}

static int cmd_check(const cli_opts *o) {
    clgan_model *m;
    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        fprintf(stderr, "clgan check: %s\n", clgan_model_errmsg(m));
        clgan_model_free(m);
        return 1;
    }
    printf("%s: model '%s' is valid\n", o->positional, clgan_model_name(m));
    print_net(m, CLGAN_GENERATOR, "generator");
    print_net(m, CLGAN_DISCRIMINATOR, "discriminator");
    clgan_model_free(m);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static const cli_cmd commands[] = {
    {"devices", "", "list OpenCL platforms and devices",
     "Lists every OpenCL platform and device with its index P:D, type, vendor, name, driver,\n"
     "compute units, memory and fp64/fp16 support. '*' marks the device clgan would use.",
     cmd_devices, 0},
    {"check", "MODEL", "validate a model file and print its layers",
     "Parses and validates MODEL without running it, then prints for the generator and the\n"
     "discriminator a table of layers: output shape, parameters, forward FLOPs per sample and\n"
     "activation memory per batch, with totals.",
     cmd_check, 1},
};

static void print_help(void) {
    printf("usage: clgan [--device SEL] COMMAND [ARGS] [OPTIONS]\n\n"
           "Trains Generative Adversarial Networks declared in YAML on any OpenCL device.\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-8s %-7s %s\n", commands[i].name, commands[i].args, commands[i].summary);
    printf("\noptions for every command:\n"
           "  --device SEL  device as P:D (see 'clgan devices') or part of its name;\n"
           "                default: $CLGAN_DEVICE, else the first GPU, else the first CPU\n"
           "  --help        help for the command\n\n"
           "environment: CLGAN_DEVICE, CLGAN_CACHE_DIR (program cache; default\n"
           "$XDG_CACHE_HOME/clgan or ~/.cache/clgan)\n");
}

static void print_cmd_help(const cli_cmd *c) {
    printf("usage: clgan %s%s%s [--device SEL]\n\n%s\n\noptions:\n"
           "  --device SEL  device as P:D or part of its name\n"
           "  --help        this help\n",
           c->name, c->args[0] ? " " : "", c->args, c->help);
}

int main(int argc, char **argv) {
    cli_opts o = {0};
    const cli_cmd *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *cname = cmd ? cmd->name : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o.help = 1;
        } else if (strcmp(a, "--device") == 0 || strncmp(a, "--device=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v) return usage_error(cname, "%s: expected a device (P:D or a name)",
                                              "--device");
            o.device = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(cname, "unknown option '%s'", a);
        } else if (!cmd) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
                if (strcmp(a, commands[k].name) == 0) cmd = &commands[k];
            if (!cmd) return usage_error(NULL, "unknown command '%s'", a);
        } else if (!o.positional && cmd->needs_positional) {
            o.positional = a;
        } else {
            return usage_error(cname, "unexpected argument '%s'", a);
        }
    }
    if (!cmd) {
        print_help();
        return o.help ? 0 : EXIT_USAGE;
    }
    if (o.help) {
        print_cmd_help(cmd);
        return 0;
    }
    if (cmd->needs_positional && !o.positional)
        return usage_error(cmd->name, "missing %s", cmd->args);
    return cmd->run(&o);
}
