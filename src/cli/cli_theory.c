/*
 * cli_theory.c - `clgan theory MODEL` (the paper's theory, checked numerically on a 1-D model)
 * and `clgan figure1 CKPT-or-RUN` (the paper's Figure 1 drawn from a real run): options and
 * report over clgan_theory and clgan_figure1 (clgan.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define TOL_D 0.05   /* (1): max |D - D*| */
#define TOL_V 0.02   /* (2), (3): nats */

int cmd_theory(const cli_opts *o) {
    long pre = 0, steps = 3000;
    if (opt_long(o, "--pre-iters", 0, 1L << 30, &pre) < 0 ||
        opt_long(o, "--d-steps", 1, 1L << 30, &steps) < 0)
        return EXIT_USAGE;
    clgan_model *m;
    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", clgan_model_errmsg(m));
        clgan_model_free(m);
        return 1;
    }
    clgan_device *dev;
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", clgan_device_errmsg(dev));
        clgan_device_free(dev);
        clgan_model_free(m);
        return 1;
    }
    clgan_theory_result *r = malloc(sizeof *r);
    if (!r || clgan_theory(m, dev, pre, steps, r) != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", r ? clgan_device_errmsg(dev) : "out of memory");
        free(r);
        clgan_device_free(dev);
        clgan_model_free(m);
        return 1;
    }
    const char *csv = opt_get(o, "--csv");
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            fprintf(stderr, "clgan theory: --csv: cannot write %s\n", csv);
        } else {
            fprintf(f, "x,p_data,p_g,d,d_star\n");
            for (int j = 0; j < r->n; j++)
                fprintf(f, "%.6f,%.6g,%.6g,%.6f,%.6f\n", r->x[j], r->p_data[j], r->p_g[j],
                        r->d[j], r->p_data[j] + r->p_g[j] > 0
                                     ? r->p_data[j] / (r->p_data[j] + r->p_g[j]) : 0.5);
            fclose(f);
        }
    }
    int ok1 = r->max_d_err <= TOL_D, ok2 = fabs(r->v - r->c_jsd) <= TOL_V,
        ok3 = fabs(r->v_equal + log(4.0)) <= TOL_V;
    printf("clgan theory: %s; G after %ld iterations of Algorithm 1, then D alone for %ld steps\n",
           clgan_model_name(m), pre, steps);
    printf("(1) optimal D: max |D(x) - p_data/(p_data+p_g)| = %.4f where p_data+p_g > 10%% of "
           "its peak (tolerance %.2f): %s\n", r->max_d_err, TOL_D, ok1 ? "ok" : "FAILED");
    printf("(2) V(D*, G) = %.4f nats, -log 4 + 2 JSD(p_data||p_g) = %.4f nats, |diff| %.4f "
           "(tolerance %.2f): %s\n", r->v, r->c_jsd, fabs(r->v - r->c_jsd), TOL_V,
           ok2 ? "ok" : "FAILED");
    printf("(3) p_g = p_data: max |D(x) - 1/2| = %.4f, C(G) = %.4f nats vs -log 4 = %.4f "
           "(tolerance %.2f): %s\n", r->max_half_err, r->v_equal, -log(4.0), TOL_V,
           ok3 ? "ok" : "FAILED");
    free(r);
    clgan_device_free(dev);
    clgan_model_free(m);
    return ok1 && ok2 && ok3 ? 0 : 1;
}

int cmd_figure1(const cli_opts *o) {
    const char *outp = opt_get(o, "-o") ? opt_get(o, "-o") : "figure1.png";
    clgan_device *dev = NULL;
    clgan_figure1_result *r = malloc(sizeof *r);
    int rc = 1;
    if (!r) {
        fprintf(stderr, "clgan figure1: out of memory\n");
        return 1;
    }
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        fprintf(stderr, "clgan figure1: %s\n", clgan_device_errmsg(dev));
        goto done;
    }
    clgan_status st = clgan_figure1(o->positional, dev, outp, r);
    for (int i = 0; i < r->panels; i++)
        printf("(%c) %s: iteration %llu\n", 'a' + i, r->path[i], (unsigned long long)r->iter[i]);
    if (st != CLGAN_OK) {
        fprintf(stderr, "clgan figure1: %s\n", clgan_device_errmsg(dev));
        goto done;
    }
    printf("clgan figure1: wrote %s (black dotted: p_data, green: p_g, blue dashed: D(x); "
           "below: z mapped to x = G(z))\n", outp);
    rc = 0;
done:
    free(r);
    clgan_device_free(dev);
    return rc;
}
