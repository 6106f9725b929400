#define _POSIX_C_SOURCE 200809L
/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clgan_device *test_device(void) {
    clgan_device *dev;
    clgan_status st = clgan_device_open(NULL, &dev);
    ck_assert_msg(st == CLGAN_OK, "opening the test device: %s", clgan_device_errmsg(dev));
    const char *expect = getenv("CLGAN_EXPECT_DEVICE");
    if (expect)
        ck_assert_msg(str_icontains(dev->info.name, expect), "expected device '%s', got '%s'",
                      expect, dev->info.name);
    return dev;
}

const char *src_path(const char *rel) {
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", CLGAN_SOURCE_DIR, rel);
    return b;
}

void assert_close(const char *what, const float *got, const double *want, size_t n, double rtol,
                  double atol) {
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        ck_assert_msg(isfinite(got[i]) && d <= atol + rtol * fabs(want[i]),
                      "%s[%zu]: got %.9g, want %.9g (|diff| %.3g > %.3g + %.3g * |want|)", what, i,
                      (double)got[i], want[i], d, atol, rtol);
    }
}

double test_uniform(unsigned *state, double lo, double hi) {
    *state = *state * 1664525u + 1013904223u;
    return lo + (hi - lo) * ((*state >> 8) / 16777216.0);
}

int run_suite(Suite *s, int argc, char **argv, int fork) {
    SRunner *sr = srunner_create(s);
    if (!fork) srunner_set_fork_status(sr, CK_NOFORK);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            setenv("CLGAN_DEVICE", argv[++i], 1); /* as clgan's --device */
        else
            setenv("CK_RUN_CASE", argv[i], 1);
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
