/*
 * testutil.h - helpers shared by the Check suites: the device under test, fixture paths, and
 * array comparisons with named tolerances.
 */
#ifndef CLGAN_TESTUTIL_H
#define CLGAN_TESTUTIL_H

#include <check.h>

#include "clgan.h"
#include "device.h"

/* Opens the device the suite runs on ($CLGAN_DEVICE or the default), failing the test if none. */
clgan_device *test_device(void);

/* Path of a file in the source tree: CLGAN_SOURCE_DIR "/" rel (static buffer, rotating). */
const char *src_path(const char *rel);

/*
 * Compares got[i] (float, from the device) with want[i] (double, host reference):
 * |got - want| <= atol + rtol * |want| for every i, failing with the first offender.
 */
void assert_close(const char *what, const float *got, const double *want, size_t n, double rtol,
                  double atol);

/* Deterministic test numbers: uniform in [lo, hi) from a fixed-seed LCG. */
double test_uniform(unsigned *state, double lo, double hi);

/* Runs a suite. Arguments: a test case name runs only that case; --device SEL picks the device
 * (as clgan's --device). */
int run_suite(Suite *s, int argc, char **argv, int fork);

#endif /* CLGAN_TESTUTIL_H */
