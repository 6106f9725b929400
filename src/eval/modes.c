/*
 * modes.c - mode coverage of samples of a mixture (modes.h). The data's modes come from the
 * model's data section: ring_2d's modes on the circle, mixture_1d's components, gaussian_1d's
 * single mode. Non-finite samples count as samples but never as high-quality.
 */
#include "modes.h"

#include <math.h>
#include <string.h>

clgan_status modes_count(const data_spec *d, const float *x, long n, long min_count,
                         mode_stats *out, clgan_err *e) {
    memset(out, 0, sizeof *out);
    double cx[MODES_MAX], cy[MODES_MAX], sd[MODES_MAX];
    int k = d->n_comp, dim = 1;
    switch (d->format) {
    case DATA_RING_2D:
        dim = 2;
        for (int i = 0; i < k; i++) {
            double a = 2.0 * CLGAN_PI * i / k;
            cx[i] = d->radius * cos(a);
            cy[i] = d->radius * sin(a);
            sd[i] = d->stddev[0];
        }
        break;
    case DATA_MIXTURE_1D:
    case DATA_GAUSSIAN_1D:
        dim = 1;
        for (int i = 0; i < k; i++) {
            cx[i] = d->mean[i];
            cy[i] = 0;
            sd[i] = d->stddev[i];
        }
        break;
    case DATA_IDX:
    case DATA_STACKED_IDX:
        return err_set(e, CLGAN_ERR_ARG, "the model's data are images, not a mixture of known "
                       "modes (ring_2d, mixture_1d, gaussian_1d)");
    }
    out->modes = k;
    out->samples = n;
    for (long s = 0; s < n; s++) {
        double px = x[(size_t)s * dim], py = dim == 2 ? x[(size_t)s * dim + 1] : 0;
        if (!isfinite(px) || !isfinite(py)) {
            out->nonfinite++;
            continue;
        }
        int best = 0;
        double bd = INFINITY;
        for (int i = 0; i < k; i++) {
            double dd = hypot(px - cx[i], py - cy[i]);
            if (dd < bd) bd = dd, best = i;
        }
        if (bd <= 3 * sd[best]) {
            out->count[best]++;
            out->high_quality++;
        }
    }
    for (int i = 0; i < k; i++) out->covered += out->count[i] >= min_count;
    return CLGAN_OK;
}
