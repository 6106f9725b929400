/*
 * test_gemm.c - both GEMM paths (the engine's kernels and CLBlast) against a host reference in
 * double, in the three layouts the layers use, on shapes with every kind of edge (sizes not
 * multiples of the tiles, offsets, padded leading dimensions, alpha and beta); and tuning.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"
#include "testutil.h"

#define GEMM_RTOL 1e-5
#define GEMM_ATOL 1e-5

static clgan_device *dev;
static void setup(void) {
    dev = test_device();
}
static void teardown(void) {
    clgan_device_free(dev);
}

typedef struct shape {
    size_t m, n, k;
} shape;

static const shape shapes[] = {{1, 1, 1},       {5, 17, 3},   {4, 16, 8},   {7, 33, 9},
                               {100, 100, 100}, {13, 48, 31}, {64, 240, 1}, {3, 5, 130},
                               {26, 37, 45},    {12, 32, 16}};

static void check(gemm_path path, int config, int ta, int tb, shape s, float alpha, float beta) {
    const size_t pad = 3, a_off = 5, b_off = 2, c_off = 7;
    size_t ar = ta ? s.k : s.m, ac = ta ? s.m : s.k, br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
    size_t lda = ac + pad, ldb = bc + 1, ldc = s.n + 2;
    size_t na = a_off + ar * lda, nb = b_off + br * ldb, nc = c_off + s.m * ldc;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *got = malloc(nc * 4);
    double *want = malloc(nc * sizeof *want);
    unsigned seed = (unsigned)(s.m * 131 + s.n * 7 + s.k);
    for (size_t i = 0; i < na; i++)
        a[i] = (float)test_uniform(&seed, -1, 1);
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)test_uniform(&seed, -1, 1);
    for (size_t i = 0; i < nc; i++)
        c[i] = (float)test_uniform(&seed, -1, 1);
    for (size_t i = 0; i < nc; i++)
        want[i] = c[i]; /* outside the product: untouched */
    for (size_t i = 0; i < s.m; i++)
        for (size_t j = 0; j < s.n; j++) {
            double acc = 0;
            for (size_t p = 0; p < s.k; p++) {
                double x = ta ? a[a_off + p * lda + i] : a[a_off + i * lda + p];
                double y = tb ? b[b_off + j * ldb + p] : b[b_off + p * ldb + j];
                acc += x * y;
            }
            size_t ci = c_off + i * ldc + j;
            want[ci] = alpha * acc + (beta != 0 ? beta * (double)c[ci] : 0);
        }
    cl_mem da, db, dc;
    ck_assert(device_alloc(dev, na * 4, "a", &da) == CLGAN_OK);
    ck_assert(device_alloc(dev, nb * 4, "b", &db) == CLGAN_OK);
    ck_assert(device_alloc(dev, nc * 4, "c", &dc) == CLGAN_OK);
    ck_assert(device_write(dev, da, 0, na * 4, a, 1) == CLGAN_OK);
    ck_assert(device_write(dev, db, 0, nb * 4, b, 1) == CLGAN_OK);
    ck_assert(device_write(dev, dc, 0, nc * 4, c, 1) == CLGAN_OK);
    clgan_status st = path == GEMM_ENGINE
                          ? gemm_on_config(dev, config, ta, tb, s.m, s.n, s.k, alpha, da, a_off,
                                           lda, db, b_off, ldb, beta, dc, c_off, ldc)
                          : gemm_on(dev, path, ta, tb, s.m, s.n, s.k, alpha, da, a_off, lda, db,
                                    b_off, ldb, beta, dc, c_off, ldc);
    ck_assert_msg(st == CLGAN_OK, "%s", dev->err.msg);
    ck_assert(device_read(dev, dc, 0, nc * 4, got) == CLGAN_OK);
    char what[128];
    snprintf(what, sizeof what, "%s %s %s%s %zux%zux%zu",
             path == GEMM_ENGINE ? "engine" : "clblast",
             path == GEMM_ENGINE ? gemm_config_name(config) : "", ta ? "T" : "N", tb ? "T" : "N",
             s.m, s.n, s.k);
    assert_close(what, got, want, nc, GEMM_RTOL, GEMM_ATOL * sqrt((double)s.k));
    clReleaseMemObject(da);
    clReleaseMemObject(db);
    clReleaseMemObject(dc);
    free(a);
    free(b);
    free(c);
    free(got);
    free(want);
}

static void all_shapes(gemm_path p, int config) {
    static const int layouts[3][2] = {{0, 0}, {1, 0}, {0, 1}};
    for (size_t i = 0; i < ARRAY_LEN(shapes); i++)
        for (int l = 0; l < 3; l++) {
            check(p, config, layouts[l][0], layouts[l][1], shapes[i], 1.0f, 0.0f);
            check(p, config, layouts[l][0], layouts[l][1], shapes[i], 0.5f, -1.5f);
        }
}

/* Every configuration: each tile size is built with its own -D sizes and has its own edge
 * cases; each work-group shape pads the grid differently. */
START_TEST(engine_matches_host) {
    /* $CLGAN_TEST_GEMM_CHEAPEST (rusticl's run, tests/CMakeLists.txt): only the tiles the tuner
     * builds on a compiler that takes minutes over the larger ones */
    const char *why = getenv("CLGAN_TEST_GEMM_CHEAPEST");
    for (int v = 0; v < gemm_n_configs(); v++) {
        if (why && !gemm_config_cheapest(v)) {
            printf("engine_matches_host: %s skipped: %s\n", gemm_config_name(v), why);
            continue;
        }
        all_shapes(GEMM_ENGINE, v);
    }
}
END_TEST
START_TEST(clblast_matches_host) {
    all_shapes(GEMM_CLBLAST, 0);
}
END_TEST

START_TEST(tuning_is_remembered) {
    gemm_path p1, p2;
    ck_assert_msg(gemm_tune(dev, 0, 1, 32, 48, 40, &p1) == CLGAN_OK, "%s", dev->err.msg);
    ck_assert(p1 == GEMM_ENGINE || p1 == GEMM_CLBLAST);
    ck_assert(gemm_tune(dev, 0, 1, 32, 48, 40, &p2) == CLGAN_OK);
    ck_assert_int_eq(p1, p2);
}
END_TEST

/* Lines of the tuning file(s) in a cache folder. */
static int tuning_lines(const char *cache) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat '%s'/gemm3-*.txt 2>/dev/null | grep -vc '^b '", cache);
    FILE *p = popen(cmd, "r");
    int n = -1;
    ck_assert(p && fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

/* Sets or (value NULL) unsets an environment variable; returns its old value (malloc'd). */
static char *swap_env(const char *name, const char *value) {
    char *old = str_dup(getenv(name));
    if (value) setenv(name, value, 1);
    else unsetenv(name);
    return old;
}

/* A device on a cache folder of its own with $CLGAN_GEMM as given (NULL: unset); the suite's
 * device and the environment stay as they were. */
static clgan_device *device_on_cache(const char *cache, const char *forced) {
    char *cache0 = swap_env("CLGAN_CACHE_DIR", cache), *gemm0 = swap_env("CLGAN_GEMM", forced);
    clgan_device *d = test_device();
    gemm_tune(d, 0, 0, 1, 1, 1, NULL); /* reads the environment once, here */
    free(swap_env("CLGAN_CACHE_DIR", cache0));
    free(swap_env("CLGAN_GEMM", gemm0));
    free(cache0);
    free(gemm0);
    return d;
}

/*
 * A path whose product is wrong is never chosen: the tuner checks each against the host, says
 * which it refused, and stops with the shape when none is right. (The fault is the tests' hook
 * in gemm.c: the named path's last entry taken as off by one.)
 */
START_TEST(wrong_paths_refused) {
    char cache[] = "/tmp/clgan-gemm-fault-XXXXXX";
    ck_assert(mkdtemp(cache) != NULL);
    setenv("CLGAN_TEST_GEMM_FAULT", "clblast", 1);
    clgan_device *d = device_on_cache(cache, NULL);
    gemm_path p;
    ck_assert_msg(gemm_tune(d, 0, 1, 37, 41, 23, &p) == CLGAN_OK, "%s", d->err.msg);
    ck_assert_int_eq(p, GEMM_ENGINE);
    const char *notes = gemm_notes(d);
    ck_assert_msg(notes && strstr(notes, "GEMM 37x41x23 NT on '") &&
                      strstr(notes, "CLBlast's SGEMM refused: C[36][40] is "),
                  "%s", notes ? notes : "(no notes)");
    setenv("CLGAN_TEST_GEMM_FAULT", "engine", 1);
    ck_assert(gemm_tune(d, 1, 0, 19, 33, 7, &p) == CLGAN_OK);
    ck_assert_int_eq(p, GEMM_CLBLAST);
    setenv("CLGAN_TEST_GEMM_FAULT", "engine,clblast", 1);
    ck_assert_int_eq(gemm_tune(d, 0, 0, 5, 6, 7, &p), CLGAN_ERR_DEVICE);
    ck_assert_msg(strstr(d->err.msg, "no GEMM path computes 5x6x7 NN right on '"), "%s",
                  d->err.msg);
    unsetenv("CLGAN_TEST_GEMM_FAULT");
    /* without the fault, no path is refused */
    clgan_device_free(d);
    d = device_on_cache(cache, NULL);
    ck_assert(gemm_tune(d, 0, 0, 9, 10, 11, &p) == CLGAN_OK);
    ck_assert_msg(gemm_notes(d) == NULL, "%s", gemm_notes(d));
    clgan_device_free(d);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    ck_assert(system(cmd) == 0);
}
END_TEST

/* More shapes than the table once held (256): every one is remembered across a restart. */
START_TEST(tuning_table_grows) {
    char cache[] = "/tmp/clgan-gemm-tune-XXXXXX";
    ck_assert(mkdtemp(cache) != NULL);
    const int n = 300;
    clgan_device *d = device_on_cache(cache, NULL);
    for (int i = 1; i <= n; i++)
        ck_assert_msg(gemm_tune(d, 0, 1, 1, 2, (size_t)i, NULL) == CLGAN_OK, "%s", d->err.msg);
    clgan_device_free(d);
    int lines = tuning_lines(cache);
    ck_assert_int_eq(lines, n + 1); /* and the 1x1x1 of device_on_cache */
    d = device_on_cache(cache, NULL);
    for (int i = n; i >= 1; i--) ck_assert(gemm_tune(d, 0, 1, 1, 2, (size_t)i, NULL) == CLGAN_OK);
    clgan_device_free(d);
    ck_assert_int_eq(tuning_lines(cache), lines); /* nothing measured again */
    /* $CLGAN_GEMM decides without measuring (what Oclgrind's CI step relies on) */
    d = device_on_cache(cache, "engine");
    gemm_path p;
    ck_assert(gemm_tune(d, 1, 0, 7, 9, 11, &p) == CLGAN_OK);
    ck_assert_int_eq(p, GEMM_ENGINE);
    clgan_device_free(d);
    ck_assert_int_eq(tuning_lines(cache), lines);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    ck_assert(system(cmd) == 0);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("gemm");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, engine_matches_host);
    tcase_add_test(tc, clblast_matches_host);
    tcase_add_test(tc, tuning_is_remembered);
    suite_add_tcase(s, tc);
    TCase *tune = tcase_create("tuning"); /* 300 shapes measured: not for the simulator */
    tcase_add_unchecked_fixture(tune, setup, teardown);
    tcase_add_test(tune, tuning_table_grows);
    tcase_add_test(tune, wrong_paths_refused);
    suite_add_tcase(s, tune);
    return run_suite(s, argc, argv, 0);
}
