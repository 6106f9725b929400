/*
 * test_theory.c - the paper's theory, numerically, on models/toy1d_theory.yaml: the optimal
 * discriminator, the JSD form of the criterion, and the equilibrium p_g = p_data.
 * Tolerances are those the issue states: 0.05 for D, 0.02 nats for the criteria.
 */
#include <math.h>

#include "theory.h"
#include "testutil.h"

START_TEST(quadrature_identities) {
    /* JSD of identical densities is 0, of disjoint ones log 2. */
    double p[200], q[200], d[200];
    for (int j = 0; j < 200; j++) {
        double x = -10 + 20.0 * j / 199;
        p[j] = exp(-0.5 * (x + 5) * (x + 5)) / sqrt(2 * CLGAN_PI);
        q[j] = exp(-0.5 * (x - 5) * (x - 5)) / sqrt(2 * CLGAN_PI);
        d[j] = p[j] / (p[j] + q[j]);
    }
    double dx = 20.0 / 199;
    ck_assert_double_eq_tol(jsd_on_grid(p, p, 200, dx), 0.0, 1e-9);
    ck_assert_double_eq_tol(jsd_on_grid(p, q, 200, dx), log(2.0), 1e-3);
    /* V(D*, G) = -log 4 + 2 JSD at the optimal D */
    ck_assert_double_eq_tol(v_on_grid(p, q, d, 200, dx), -log(4.0) + 2 * jsd_on_grid(p, q, 200, dx),
                            1e-6);
}
END_TEST

START_TEST(optimal_discriminator_and_criterion) {
    clgan_device *dev = test_device();
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path("models/toy1d_theory.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    theory_result r;
    ck_assert_msg(theory_run(dev, m, 0, 3000, &r) == CLGAN_OK, "%s", dev->err.msg);
    /* a non-trivial case: p_g overlaps p_data without equalling it */
    double jsd = (r.c_jsd + log(4.0)) / 2;
    ck_assert_msg(jsd > 0.05 && jsd < 0.6, "JSD %g: the frozen G is not a useful test case", jsd);
    ck_assert_msg(r.max_d_err <= 0.05, "(1) max |D - D*| = %g", r.max_d_err);
    ck_assert_msg(fabs(r.v - r.c_jsd) <= 0.02, "(2) V(D*, G) = %g, -log 4 + 2 JSD = %g", r.v,
                  r.c_jsd);
    ck_assert_msg(r.max_half_err <= 0.05, "(3) max |D - 1/2| = %g", r.max_half_err);
    ck_assert_msg(fabs(r.v_equal + log(4.0)) <= 0.02, "(3) C(G) = %g, want -log 4", r.v_equal);
    clgan_model_free(m);
    clgan_device_free(dev);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("theory");
    TCase *tc = tcase_create("theory");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, quadrature_identities);
    tcase_add_test(tc, optimal_discriminator_and_criterion);
    suite_add_tcase(s, tc);
    return run_suite(s, argc, argv, 1);
}
