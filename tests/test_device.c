/*
 * test_device.c - device listing and selection, and the program binary cache: a second build is
 * a cache hit, and a corrupted or truncated entry is rebuilt, never trusted.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "testutil.h"

START_TEST(list_and_select) {
    clgan_device_info *list;
    size_t n;
    char err[512];
    ck_assert_msg(clgan_device_list(&list, &n, err, sizeof err) == CLGAN_OK, "%s", err);
    ck_assert(n >= 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert(list[i].name[0] != '\0');
        ck_assert(list[i].compute_units > 0);
        ck_assert(list[i].global_mem > 0);
    }
    /* By index P:D */
    char sel[32];
    snprintf(sel, sizeof sel, "%d:%d", list[n - 1].platform, list[n - 1].index);
    clgan_device *dev;
    ck_assert_msg(clgan_device_open(sel, &dev) == CLGAN_OK, "%s", clgan_device_errmsg(dev));
    ck_assert_str_eq(clgan_device_get_info(dev)->name, list[n - 1].name);
    clgan_device_free(dev);
    /* By a case-insensitive part of the name */
    char part[8] = "";
    size_t len = strlen(list[0].name) < 5 ? strlen(list[0].name) : 5;
    for (size_t i = 0; i < len; i++)
        part[i] = (char)((i % 2) ? toupper((unsigned char)list[0].name[i])
                                 : tolower((unsigned char)list[0].name[i]));
    part[len] = '\0';
    ck_assert_msg(clgan_device_open(part, &dev) == CLGAN_OK, "%s", clgan_device_errmsg(dev));
    ck_assert(str_icontains(clgan_device_get_info(dev)->name, part));
    clgan_device_free(dev);
    clgan_device_list_free(list);
}
END_TEST

START_TEST(bad_selector_names_devices) {
    clgan_device *dev;
    ck_assert_int_eq(clgan_device_open("no-such-device-xyz", &dev), CLGAN_ERR_DEVICE);
    const char *msg = clgan_device_errmsg(dev);
    ck_assert_msg(strstr(msg, "--device: no OpenCL device matches 'no-such-device-xyz'; devices:"),
                  "%s", msg);
    ck_assert_msg(strstr(msg, "0:0"), "message lists no device: %s", msg);
    clgan_device_free(dev);
    ck_assert_int_eq(clgan_device_open("9:9", &dev), CLGAN_ERR_DEVICE);
    clgan_device_free(dev);
}
END_TEST

START_TEST(env_selector) {
    setenv("CLGAN_DEVICE", "definitely-not-a-device", 1);
    clgan_device *dev;
    ck_assert_int_eq(clgan_device_open(NULL, &dev), CLGAN_ERR_DEVICE);
    ck_assert_msg(strncmp(clgan_device_errmsg(dev), "CLGAN_DEVICE: ", 14) == 0, "%s",
                  clgan_device_errmsg(dev));
    clgan_device_free(dev);
    unsetenv("CLGAN_DEVICE");
}
END_TEST

static char cache_dir[256];

static void fresh_cache(void) {
    snprintf(cache_dir, sizeof cache_dir, "/tmp/clgan-test-cache-XXXXXX");
    ck_assert(mkdtemp(cache_dir) != NULL);
    setenv("CLGAN_CACHE_DIR", cache_dir, 1);
}

static void run_relu(clgan_device *dev) {
    /* A real use of the program: relu over 5 values. */
    cl_kernel k;
    ck_assert_msg(device_kernel(dev, "cl/activation.cl", "relu_fwd", &k) == CLGAN_OK, "%s",
                  dev->err.msg);
    float in[10] = {-2, -1, 0, 1, 2, 0, 0, 0, 0, 0}, out[5];
    cl_mem buf;
    ck_assert(device_alloc(dev, sizeof in, "test", &buf) == CLGAN_OK);
    ck_assert(device_write(dev, buf, 0, sizeof in, in, 1) == CLGAN_OK);
    cl_uint x_off = 0, y_off = 5, n = 5;
    float p = 0;
    karg a[] = {KA(buf), KA(x_off), KA(y_off), KA(n), KA(p)};
    ck_assert(device_set_args(dev, k, "relu_fwd", a, 5) == CLGAN_OK);
    ck_assert(device_run1d(dev, k, 5, "relu_fwd") == CLGAN_OK);
    ck_assert(device_read(dev, buf, 5 * sizeof(float), sizeof out, out) == CLGAN_OK);
    const float want[5] = {0, 0, 0, 1, 2};
    for (int i = 0; i < 5; i++) ck_assert(out[i] == want[i]);
    clReleaseKernel(k);
    clReleaseMemObject(buf);
}

START_TEST(cache_hit_and_corruption) {
    fresh_cache();
    clgan_device *dev = test_device();
    char path[1200];
    device_cache_path(dev, "cl/activation.cl", path, sizeof path);
    ck_assert_msg(strncmp(path, cache_dir, strlen(cache_dir)) == 0, "entry %s not under %s", path,
                  cache_dir);
    ck_assert(access(path, F_OK) != 0);

    run_relu(dev); /* cold: built from source, entry written */
    ck_assert_int_eq(dev->stats.built, 1);
    ck_assert_int_eq(dev->stats.loaded, 0);
    ck_assert_msg(access(path, R_OK) == 0, "no cache entry at %s", path);

    device_forget_programs(dev); /* warm: loaded from the entry */
    run_relu(dev);
    ck_assert_int_eq(dev->stats.built, 1);
    ck_assert_int_eq(dev->stats.loaded, 1);

    /* Flip bytes in the middle of the binary: rejected, rebuilt, entry rewritten. */
    FILE *f = fopen(path, "r+b");
    ck_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    unsigned char junk[16];
    for (int i = 0; i < 16; i++) junk[i] = (unsigned char)(0xA5 ^ i);
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    device_forget_programs(dev);
    run_relu(dev);
    ck_assert_int_eq(dev->stats.rejected, 1);
    ck_assert_int_eq(dev->stats.built, 2);

    /* The rewritten entry is good again. */
    device_forget_programs(dev);
    run_relu(dev);
    ck_assert_int_eq(dev->stats.loaded, 2);

    /* Truncated entry: rejected and rebuilt too. */
    ck_assert(truncate(path, 20) == 0);
    device_forget_programs(dev);
    run_relu(dev);
    ck_assert_int_eq(dev->stats.rejected, 2);
    ck_assert_int_eq(dev->stats.built, 3);

    /* A new process (a new device handle) hits the cache as well. */
    clgan_device_free(dev);
    dev = test_device();
    run_relu(dev);
    ck_assert_int_eq(dev->stats.built, 0);
    ck_assert_int_eq(dev->stats.loaded, 1);
    clgan_device_free(dev);
    unlink(path);
    rmdir(cache_dir);
}
END_TEST

START_TEST(unwritable_cache_still_builds) {
    setenv("CLGAN_CACHE_DIR", "/proc/no/such/place", 1);
    clgan_device *dev = test_device();
    ck_assert_str_eq(dev->cache_dir, "");
    run_relu(dev);
    ck_assert_int_eq(dev->stats.built, 1);
    clgan_device_free(dev);
}
END_TEST

START_TEST(build_failure_names_file_and_log) {
    clgan_device *dev = test_device();
    cl_program prog;
    const char *src = "__kernel void broken(__global float *x) {\n    x[0] = undefined_name;\n}\n";
    ck_assert_int_eq(device_build_source(dev, "cl/broken.cl", src, &prog), CLGAN_ERR_BUILD);
    const char *msg = clgan_device_errmsg(dev);
    ck_assert_msg(strncmp(msg, "building cl/broken.cl for '", 27) == 0, "%s", msg);
    ck_assert_msg(strstr(msg, "CL_BUILD_PROGRAM_FAILURE"), "%s", msg);
    ck_assert_msg(strstr(msg, "undefined_name"), "no build log in: %s", msg);
    clgan_device_free(dev);
}
END_TEST

START_TEST(allocation_beyond_max_alloc_names_both_sizes) {
    clgan_device *dev = test_device();
    cl_mem m;
    size_t want = (size_t)dev->info.max_alloc + 4096;
    ck_assert_int_eq(device_alloc(dev, want, "generator parameters", &m), CLGAN_ERR_CL);
    const char *msg = clgan_device_errmsg(dev);
    char num[64];
    snprintf(num, sizeof num, "(%zu bytes)", want);
    ck_assert_msg(strstr(msg, "generator parameters needs") && strstr(msg, num) &&
                      strstr(msg, "CL_DEVICE_MAX_MEM_ALLOC_SIZE"),
                  "%s", msg);
    clgan_device_free(dev);
}
END_TEST

START_TEST(no_platform) {
    /* An ICD loader that finds no driver. */
    char dir[] = "/tmp/clgan-novendors-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char cmd[512], msg[512] = "";
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS=%s OCL_ICD_FILENAMES= '%s' devices 2>&1 >/dev/null",
             dir, CLGAN_BINARY);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t n = fread(msg, 1, sizeof msg - 1, p);
    msg[n] = '\0';
    int ws = pclose(p);
    rmdir(dir);
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 1, "status %d: %s", ws, msg);
    ck_assert_msg(strncmp(msg, "clgan devices: no OpenCL platform found", 39) == 0, "%s", msg);
}
END_TEST

/*
 * The peak kernel does the work its rate counts (bench: every GEMM is read against it): each
 * item's sum against the same fused multiply-add chains on the host; the rate is positive.
 */
START_TEST(peak_kernel_against_host) {
    clgan_device *dev = test_device();
    enum { ITEMS = 2048, STEPS = 300 };
    float *got = malloc(ITEMS * sizeof *got);
    double *want = malloc(ITEMS * sizeof *want), seconds, gflops = 0;
    ck_assert(got && want);
    ck_assert_int_eq(bench_fma(dev, STEPS, ITEMS, 64, got, &seconds), CLGAN_OK);
    for (int id = 0; id < ITEMS; id++) {
        want[id] = 0;
        for (int k = 0; k < 8; k++)
            for (int l = 0; l < 16; l++) {
                float x = (float)l / 16.0f + (float)(id % 1024) / 1024.0f;
                x += (float)k;
                for (int t = 0; t < STEPS; t++) x = fmaf(x, 0.999f, 0.001f);
                want[id] += x;
            }
    }
    assert_close("fma_peak's sums", got, want, ITEMS, 1e-5, 0);
    ck_assert_int_eq(bench_peak(dev, &gflops), CLGAN_OK);
    ck_assert_msg(isfinite(gflops) && gflops > 0, "peak %g GFLOPS", gflops);
    free(got);
    free(want);
    clgan_device_free(dev);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("device");
    TCase *sel = tcase_create("select");
    tcase_add_test(sel, list_and_select);
    tcase_add_test(sel, bad_selector_names_devices);
    tcase_add_test(sel, env_selector);
    tcase_add_test(sel, build_failure_names_file_and_log);
    tcase_add_test(sel, allocation_beyond_max_alloc_names_both_sizes);
    tcase_add_test(sel, no_platform);
    tcase_add_test(sel, peak_kernel_against_host);
    suite_add_tcase(s, sel);
    TCase *cache = tcase_create("cache");
    tcase_add_test(cache, cache_hit_and_corruption);
    tcase_add_test(cache, unwritable_cache_still_builds);
    suite_add_tcase(s, cache);
    return run_suite(s, argc, argv, 1);
}
