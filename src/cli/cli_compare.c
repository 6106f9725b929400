/*
 * cli_compare.c - `clgan compare MODEL --devices A,B`: how exactly two devices agree.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_compare(const cli_opts *o) {
    const char *devs = opt_get(o, "--devices");
    long iters = 10;
    if (opt_long(o, "--iters", 1, 100000, &iters) < 0) return EXIT_USAGE;
    const char *tv = opt_get(o, "--tolerance");
    double tol = 0, tol_worst = 0;
    char tol_layer[sizeof ((clgan_layer_diff *)0)->path + 40] = "";
    int any_bias_into_norm = 0;
    if (tv) {
        char *end;
        tol = strtod(tv, &end);
        if (end == tv || *end || !(tol > 0 && tol < 1)) {
            fprintf(stderr,
                    "clgan compare: --tolerance: expected a relative difference in "
                    "(0, 1), such as 1e-4, got '%s'\n",
                    tv);
            return EXIT_USAGE;
        }
    }
    if (!devs) {
        fprintf(stderr, "clgan compare: --devices: give two devices, e.g. --devices 0:0,0:1 or "
                        "--devices pthread,basic\n");
        return EXIT_USAGE;
    }
    char a[128], b[128];
    const char *comma = strchr(devs, ',');
    if (!comma || comma == devs || !comma[1] || strchr(comma + 1, ',') ||
        (size_t)(comma - devs) >= sizeof a || strlen(comma + 1) >= sizeof b) {
        fprintf(stderr, "clgan compare: --devices: expected two devices as A,B, got '%s'\n", devs);
        return EXIT_USAGE;
    }
    snprintf(a, sizeof a, "%.*s", (int)(comma - devs), devs);
    snprintf(b, sizeof b, "%s", comma + 1);
    if (o->device) {
        fprintf(stderr, "clgan compare: --device and --devices conflict: give --devices A,B\n");
        return EXIT_USAGE;
    }
    clgan_model *m = load_model_shapes("compare", o->positional);
    if (!m) return 1;
    clgan_compare_report *r = calloc(1, sizeof *r);
    if (!r || clgan_compare(a, b, m, (int)iters, r) != CLGAN_OK) {
        fprintf(stderr, "clgan compare: %s\n", r ? clgan_model_errmsg(m) : "out of memory");
        if (r) clgan_compare_report_free(r);
        free(r);
        clgan_model_free(m);
        return 1;
    }
    clgan_model_info mi;
    clgan_model_get_info(m, &mi);
    printf("clgan compare: %s, seed %llu, batch %d\n  A: %s (%s)\n  B: %s (%s)\n", mi.name,
           (unsigned long long)mi.seed, mi.batch, r->dev[0].name,
           r->dev[0].driver_version, r->dev[1].name, r->dev[1].driver_version);
    printf(
        "\nafter one iteration, max |A - B| (relative to max |A|; normwise ||A - B|| / ||A||):\n");
    printf("  %-22s %-27s %-27s %-27s\n", "layer", "activations", "activation grads",
           "parameter grads");
    for (int i = 0; i < r->n_layers; i++) {
        const clgan_layer_diff *d = &r->layers[i];
        char name[sizeof tol_layer], w[48] = "";
        snprintf(name, sizeof name, "%s %s %s", d->net ? "D" : "G", d->path, d->kind);
        if (d->wgrad_abs >= 0)
            snprintf(w, sizeof w, "%.2e (%.1e; %.1e)", d->wgrad_abs, d->wgrad_rel, d->wgrad_norm);
        printf("  %-22s %.2e (%.1e; %.1e)  %.2e (%.1e; %.1e)  %s%s\n", name, d->act_abs, d->act_rel,
               d->act_norm, d->grad_abs, d->grad_rel, d->grad_norm, w,
               d->bias_into_norm ? " *" : "");
        double worst = d->act_norm > d->grad_norm ? d->act_norm : d->grad_norm;
        if (d->wgrad_norm > worst) worst = d->wgrad_norm;
        if (!(worst <= tol_worst)) { /* NaN too */
            tol_worst = worst;
            snprintf(tol_layer, sizeof tol_layer, "%s", name);
        }
        any_bias_into_norm |= d->bias_into_norm;
    }
    if (any_bias_into_norm)
        printf("  * its bias feeds a batch norm, which subtracts it again: the bias's gradient is "
               "zero but\n    for rounding, whose sign differs between devices, and Adam's first "
               "steps move it by\n    +-lr all the same; its output and the parameters drift "
               "apart by that much while\n    the batch norm's output agrees. `bias: false` "
               "removes the parameter.\n");
    printf("\nparameters after %d iterations: G max |A - B| %.2e (%.1e relative), D %.2e (%.1e)\n",
           r->iters, r->drift_abs[0], r->drift_rel[0], r->drift_abs[1], r->drift_rel[1]);
    if (any_bias_into_norm)
        printf("  (the biases marked * and their batch norms' running means apart: they differ "
               "by up to\n  G %.2e, D %.2e, which the batch norms subtract)\n",
               r->drift_norm_abs[0], r->drift_norm_abs[1]);
    if (r->nonfinite_iter)
        printf("first NaN/Inf: iteration %ld, %s\n", r->nonfinite_iter, r->nonfinite_where);
    else
        printf("no NaN or Inf in %d iterations\n", r->iters);
    printf("time per iteration: A %.2f ms, B %.2f ms (B/A %.2f)\n", r->ms[0], r->ms[1],
           r->ms[1] / r->ms[0]);
    int disagree = 0;
    if (tv) {
        disagree = !(tol_worst <= tol) || r->nonfinite_iter;
        if (r->nonfinite_iter)
            printf("disagree: a NaN or Inf\n");
        else if (disagree)
            printf("disagree: %s differs by %.1e (normwise) > --tolerance %g\n", tol_layer,
                   tol_worst, tol);
        else if (tol_worst == 0)
            printf("agree: every layer within %g (normwise) after one iteration: bit for bit\n",
                   tol);
        else
            printf("agree: every layer within %g (normwise) after one iteration; the largest, "
                   "%.1e, in %s\n",
                   tol, tol_worst, tol_layer);
    }
    clgan_compare_report_free(r);
    free(r);
    clgan_model_free(m);
    return disagree;
}
