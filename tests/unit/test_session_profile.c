/* Per-node profiling through the public API: entries per node of the run graph, run counts, reset,
 * and nothing when profiling is off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "octet.h"

/* x[2,3] -> Relu "r" -> Neg "n" -> Sigmoid "s" -> y: three nodes no session rewrite removes. */
static octet_model *chain_model(void) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t d[2] = {2, 3};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, d);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, d);
    const char *ops[3] = {"Relu", "Neg", "Sigmoid"}, *names[3] = {"r", "n", "s"};
    const char *vals[4] = {"x", "a", "b", "y"};
    for (int i = 0; i < 3; i++) {
        ot_node *n = ot_graph_add_node(g, ops[i], "", names[i]);
        assert_non_null(n);
        assert_int_equal(ot_node_set_inputs(n, 1, &vals[i]), OCTET_OK);
        assert_int_equal(ot_node_set_outputs(n, 1, &vals[i + 1]), OCTET_OK);
    }
    return m;
}

static void run_n(octet_session *s, octet_tensor *x, int n) {
    for (int i = 0; i < n; i++) {
        octet_tensor *y = NULL;
        assert_int_equal(octet_session_run(s, NULL, &x, 1, &y, 1), OCTET_OK);
        octet_tensor_free(y);
    }
}

static void profile_counts_and_reset(void **state) {
    (void)state;
    octet_model *m = chain_model();
    int64_t d[2] = {2, 3};
    octet_tensor *x = NULL;
    assert_int_equal(octet_tensor_create(&x, OCTET_FLOAT, 2, d), OCTET_OK);
    octet_session_options o = {.threads = 1, .profile = 1};
    octet_session *s = NULL;
    assert_int_equal(octet_session_create(&s, m, &o), OCTET_OK);
    run_n(s, x, 5);
    assert_int_equal(octet_session_profile(s, NULL, 0), 3);
    octet_node_profile p[4];
    memset(p, 0, sizeof p);
    assert_int_equal(octet_session_profile(s, p, 2), 3);   /* fills only what fits */
    assert_null(p[2].name);
    assert_int_equal(octet_session_profile(s, p, 4), 3);
    const char *want[3] = {"r", "n", "s"}, *want_op[3] = {"Relu", "Neg", "Sigmoid"};
    for (int i = 0; i < 3; i++) {   /* run order */
        assert_string_equal(p[i].name, want[i]);
        assert_string_equal(p[i].op_type, want_op[i]);
        assert_string_equal(p[i].domain, "");
        assert_int_equal(p[i].runs, 5);
        assert_true(p[i].total_ms >= 0);
    }
    octet_session_profile_reset(s);
    assert_int_equal(octet_session_profile(s, p, 4), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].runs, 0);
        assert_true(p[i].total_ms == 0);
    }
    run_n(s, x, 2);
    octet_session_profile(s, p, 4);
    for (int i = 0; i < 3; i++) assert_int_equal(p[i].runs, 2);
    octet_session_free(s);

    /* not profiled: no entries, and the calls are harmless */
    o.profile = 0;
    assert_int_equal(octet_session_create(&s, m, &o), OCTET_OK);
    run_n(s, x, 1);
    assert_int_equal(octet_session_profile(s, p, 4), 0);
    octet_session_profile_reset(s);
    assert_int_equal(octet_session_profile(NULL, p, 4), 0);
    octet_session_profile_reset(NULL);
    octet_session_free(s);
    octet_tensor_free(x);
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(profile_counts_and_reset)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
