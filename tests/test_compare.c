/*
 * test_compare.c - the two-device report on a tiny model: a device against itself agrees bit
 * for bit (the engine is deterministic), two devices agree within float tolerance, and a run
 * that blows up is caught at its first non-finite value.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "testutil.h"

#define AGREE_REL 1e-5

static clgan_model *load(const char *rel) {
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path(rel), &m) == CLGAN_OK, "%s", clgan_model_errmsg(m));
    return m;
}

static clgan_model *tiny(void) {
    return load("tests/data/tiny_gan.yaml");
}

static const char *second_device(void) {
    const char *b = getenv("CLGAN_COMPARE_B");
    return b ? b : getenv("CLGAN_DEVICE");
}

START_TEST(same_device_is_bit_identical) {
    clgan_model *m = tiny();
    compare_report *r = calloc(1, sizeof *r);
    clgan_err e;
    ck_assert_msg(compare_run(NULL, NULL, m, 3, r, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_int_eq(r->n_layers, m->net[0].n_layers + m->net[1].n_layers);
    for (int i = 0; i < r->n_layers; i++) {
        ck_assert_msg(r->layers[i].act_abs == 0 && r->layers[i].grad_abs == 0,
                      "layer %d differs", i);
        ck_assert(r->layers[i].wgrad_abs <= 0);
    }
    ck_assert(r->drift_abs[0] == 0 && r->drift_abs[1] == 0);
    ck_assert_int_eq(r->nonfinite_iter, 0);
    ck_assert(r->ms[0] > 0 && r->ms[1] > 0);
    compare_report_free(r);
    free(r);
    clgan_model_free(m);
}
END_TEST

/* Every layer kind agrees: dense, maxout and dropout (tiny_gan), then convolutions, batch norm,
 * upsample and reshapes (every_conv_kernel). */
START_TEST(two_devices_agree) {
    clgan_model *m = _i ? load("tests/data/every_conv_kernel.yaml") : tiny();
    compare_report *r = calloc(1, sizeof *r);
    clgan_err e;
    ck_assert_msg(compare_run(NULL, second_device(), m, 5, r, &e) == CLGAN_OK, "%s", e.msg);
    for (int i = 0; i < r->n_layers; i++) {
        const layer_diff *d = &r->layers[i];
        ck_assert_msg(d->act_rel <= AGREE_REL && d->grad_rel <= AGREE_REL &&
                          d->wgrad_rel <= AGREE_REL,
                      "%s layer %d (%s): %g %g %g", d->net ? "D" : "G", d->layer, d->kind,
                      d->act_rel, d->grad_rel, d->wgrad_rel);
    }
    ck_assert(r->drift_rel[0] <= 1e-4 && r->drift_rel[1] <= 1e-4);
    compare_report_free(r);
    free(r);
    clgan_model_free(m);
}
END_TEST

START_TEST(blow_up_is_located) {
    clgan_model *m = tiny();
    m->train.opt[1].lr = 1e30f; /* D's weights overflow after its first step */
    m->train.opt[1].max_col_norm = 0;
    compare_report *r = calloc(1, sizeof *r);
    clgan_err e;
    ck_assert_msg(compare_run(NULL, NULL, m, 4, r, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_msg(r->nonfinite_iter >= 1 && r->nonfinite_iter <= 2, "first at %ld",
                  r->nonfinite_iter);
    ck_assert_msg(strstr(r->nonfinite_where, "layer"), "%s", r->nonfinite_where);
    compare_report_free(r);
    free(r);
    clgan_model_free(m);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_test(tc, same_device_is_bit_identical);
    tcase_add_loop_test(tc, two_devices_agree, 0, 2);
    tcase_add_test(tc, blow_up_is_located);
    suite_add_tcase(s, tc);
    return run_suite(s, argc, argv, 1);
}
