/* Comparison metrics (src/quant/compare.h) against hand-computed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "quant/compare.h"

static void test_sqnr_cosine_maxabs(void **state) {
    (void)state;
    const float x[3] = {1, 2, 3}, y[3] = {1, 2, 4};
    ot_cmp_acc a = {0};
    ot_cmp_add(&a, x, y, 3);
    /* |x|^2 = 14, |x-y|^2 = 1, x.y = 17, |y|^2 = 21 */
    assert_float_equal(ot_cmp_sqnr_db(&a), 10 * log10(14.0), 1e-12);
    assert_float_equal(ot_cmp_cosine(&a), 17 / sqrt(14.0 * 21.0), 1e-12);
    assert_float_equal(a.max_abs, 1.0, 0);
    assert_int_equal(a.n, 3);
    /* the same numbers in two pieces, and merged from two accumulators */
    ot_cmp_acc b = {0}, c = {0}, d = {0};
    ot_cmp_add(&b, x, y, 2);
    ot_cmp_add(&b, x + 2, y + 2, 1);
    assert_float_equal(ot_cmp_sqnr_db(&b), ot_cmp_sqnr_db(&a), 1e-12);
    ot_cmp_add(&c, x, y, 1);
    ot_cmp_add(&d, x + 1, y + 1, 2);
    ot_cmp_merge(&c, &d);
    assert_float_equal(ot_cmp_sqnr_db(&c), ot_cmp_sqnr_db(&a), 1e-12);
    assert_float_equal(c.max_abs, 1.0, 0);
}

static void test_edges(void **state) {
    (void)state;
    const float x[4] = {0.5f, -1, 2, 0}, z[4] = {0};
    ot_cmp_acc a = {0};
    assert_true(isnan(ot_cmp_sqnr_db(&a)));   /* nothing summed */
    ot_cmp_add(&a, x, x, 4);
    assert_true(isinf(ot_cmp_sqnr_db(&a)) && ot_cmp_sqnr_db(&a) > 0);
    assert_float_equal(ot_cmp_cosine(&a), 1.0, 1e-15);
    assert_float_equal(a.max_abs, 0.0, 0);
    ot_cmp_acc b = {0};   /* reference all zero, test not */
    ot_cmp_add(&b, z, x, 4);
    assert_true(isinf(ot_cmp_sqnr_db(&b)) && ot_cmp_sqnr_db(&b) < 0);
    assert_float_equal(ot_cmp_cosine(&b), 0.0, 0);
    ot_cmp_acc c = {0};   /* both zero */
    ot_cmp_add(&c, z, z, 4);
    assert_true(isinf(ot_cmp_sqnr_db(&c)));
    assert_float_equal(ot_cmp_cosine(&c), 1.0, 0);
    ot_cmp_acc d = {0};   /* anti-parallel */
    const float y[4] = {-0.5f, 1, -2, 0};
    ot_cmp_add(&d, x, y, 4);
    assert_float_equal(ot_cmp_cosine(&d), -1.0, 1e-12);
    assert_float_equal(ot_cmp_sqnr_db(&d), 10 * log10(1 / 4.0), 1e-12);
}

static void test_nonfinite(void **state) {
    (void)state;
    const float x[4] = {1, NAN, 3, INFINITY}, y[4] = {1, 2, 2, INFINITY};
    ot_cmp_acc a = {0};
    ot_cmp_add(&a, x, y, 4);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.nonfinite, 2);
    assert_float_equal(ot_cmp_sqnr_db(&a), 10 * log10(10.0 / 1.0), 1e-12);
}

static void test_argmax_top1(void **state) {
    (void)state;
    const float tie[4] = {1, 3, 3, 0}, nanv[3] = {1, NAN, 5};
    assert_int_equal(ot_argmax_f32(tie, 4), 1);   /* first maximum, as numpy */
    assert_int_equal(ot_argmax_f32(nanv, 3), 1);  /* NaN wins, as numpy */
    /* 3 rows x 3 classes: argmax x = 2, 0, 1; argmax y = 2, 1, 1 */
    const float x[9] = {0, 1, 2, 5, 1, 1, 0, 9, 8}, y[9] = {0, 1, 2, 1, 5, 1, 0, 9, 8};
    const int64_t labels[3] = {2, 1, 0};
    ot_cmp_acc a = {0};
    ot_cmp_add_top1(&a, x, y, 3, 3, labels);
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.agree, 2);
    assert_int_equal(a.labeled, 3);
    assert_int_equal(a.correct_ref, 1);
    assert_int_equal(a.correct_test, 2);
    ot_cmp_add_top1(&a, x, y, 3, 3, NULL);
    assert_int_equal(a.rows, 6);
    assert_int_equal(a.agree, 4);
    assert_int_equal(a.labeled, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqnr_cosine_maxabs),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_argmax_top1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
