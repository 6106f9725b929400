/*
 * compare.h - the same model, seed, weights and batches on two devices, side by side: per-layer
 * differences of activations and gradients after one iteration, the drift of the parameters over
 * more iterations, the first non-finite value, and the time per iteration on each.
 */
#ifndef CLGAN_COMPARE_H
#define CLGAN_COMPARE_H

#include "gan.h"

/* The report is clgan.h's (clgan_compare_report). */
typedef clgan_layer_diff layer_diff;
typedef clgan_compare_report compare_report;
_Static_assert(LAYER_PATH_MAX == sizeof(((clgan_layer_diff *)0)->path), "paths fit");

clgan_status compare_run(const char *sel_a, const char *sel_b, const clgan_model *m, int iters,
                         compare_report *r, clgan_err *e);
void compare_report_free(compare_report *r);

#endif /* CLGAN_COMPARE_H */
