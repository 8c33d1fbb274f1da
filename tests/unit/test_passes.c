/* IR passes: dead-code elimination, constant folding, shape probing and shape folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "ir/passes/passes.h"

static octet_tensor *i64_vec(int n, const int64_t *v) {
    int64_t d = n;
    octet_tensor *t = ot_tensor_new(OCTET_INT64, 1, &d);
    memcpy(t->data, v, (size_t)n * sizeof *v);
    return t;
}

static ot_node *node(ot_graph *g, const char *op, const char *name, int n_in, const char *const *in, const char *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
    return n;
}

static int count_op(const ot_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += strcmp(g->nodes[i]->op_type, op) == 0;
    return c;
}

/* x[N,3,4] -> Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape(x) -> y[N,12]; plus a dead Relu. */
static octet_model *reshape_chain_model(int64_t batch_dim) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t xd[3] = {batch_dim, 3, 4};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 3, xd);
    if (batch_dim < 0) g->inputs[0].dims[0].param = strdup("N");
    int64_t y_d[2] = {-1, 12};
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, y_d);
    int64_t zero = 0, m1 = -1, twelve = 12;
    octet_tensor *idx = ot_tensor_new(OCTET_INT64, 0, NULL);
    *(int64_t *)idx->data = zero;
    ot_graph_add_initializer(g, "idx0", idx);
    ot_graph_add_initializer(g, "axes0", i64_vec(1, &zero));
    ot_graph_add_initializer(g, "tail", i64_vec(1, &twelve));
    (void)m1;
    node(g, "Shape", "shape", 1, (const char *[]){"x"}, "s");
    node(g, "Gather", "gather", 2, (const char *[]){"s", "idx0"}, "n");
    node(g, "Unsqueeze", "unsq", 2, (const char *[]){"n", "axes0"}, "n1");
    ot_node *c = node(g, "Concat", "concat", 2, (const char *[]){"n1", "tail"}, "shape2");
    ot_node_add_attr_int(c, "axis", 0);
    node(g, "Reshape", "reshape", 2, (const char *[]){"x", "shape2"}, "y");
    node(g, "Relu", "dead", 1, (const char *[]){"x"}, "unused");
    return m;
}

static void test_dce_removes_dead_nodes(void **st) {
    (void)st;
    octet_model *m = reshape_chain_model(2);
    int removed = -1;
    assert_int_equal(ot_pass_dce(m, &removed), OCTET_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(count_op(m->graph, "Relu"), 0);
    assert_int_equal(count_op(m->graph, "Reshape"), 1);
    octet_model_free(m);
}

static void test_fold_shapes_static(void **st) {
    (void)st;
    octet_model *m = reshape_chain_model(2);
    assert_int_equal(ot_infer_shapes(m, NULL, 0, 1), OCTET_OK);
    const ot_value_info *vi = ot_graph_value_info(m->graph, "y");
    assert_non_null(vi);
    assert_int_equal(vi->ndim, 2);
    assert_int_equal(vi->dims[0].value, 2);
    assert_int_equal(vi->dims[1].value, 12);
    int folded = 0;
    assert_int_equal(ot_pass_fold_shapes(m, &folded), OCTET_OK);
    /* Shape, Gather, Unsqueeze, Concat fold; only Reshape is left. */
    assert_int_equal(m->graph->n_nodes, 1);
    assert_string_equal(m->graph->nodes[0]->op_type, "Reshape");
    const ot_initializer *s2 = ot_graph_find_initializer(m->graph, "shape2");
    assert_non_null(s2);
    assert_int_equal(((int64_t *)s2->tensor->data)[0], 2);
    assert_int_equal(((int64_t *)s2->tensor->data)[1], 12);
    octet_model_free(m);
}

static void test_infer_shapes_symbolic_batch(void **st) {
    (void)st;
    octet_model *m = reshape_chain_model(-1);
    assert_int_equal(ot_infer_shapes(m, NULL, 0, 1), OCTET_OK);
    const ot_value_info *vi = ot_graph_value_info(m->graph, "y");
    assert_non_null(vi);
    assert_int_equal(vi->ndim, 2);
    assert_int_equal(vi->dims[0].value, -1);
    assert_non_null(vi->dims[0].param);
    assert_string_equal(vi->dims[0].param, "N");
    assert_int_equal(vi->dims[1].value, 12);
    /* With a symbolic batch, the Shape chain must stay. */
    int folded = 0;
    assert_int_equal(ot_pass_fold_shapes(m, &folded), OCTET_OK);
    assert_int_equal(count_op(m->graph, "Shape"), 1);
    octet_model_free(m);
}

static void test_fold_constant_nodes(void **st) {
    (void)st;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t d = 3;
    ot_graph_add_input(g, "x", OCTET_FLOAT, 1, &d);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 1, &d);
    octet_tensor *c = ot_tensor_new(OCTET_FLOAT, 1, &d);
    float *cv = c->data;
    cv[0] = 1, cv[1] = 2, cv[2] = 3;
    ot_node *k = node(g, "Constant", "k", 0, NULL, "c");
    ot_node_add_attr_tensor(k, "value", c);
    node(g, "Add", "cc", 2, (const char *[]){"c", "c"}, "c2");
    node(g, "Add", "out", 2, (const char *[]){"x", "c2"}, "y");
    int folded = 0;
    assert_int_equal(ot_pass_fold_constants(m, 0, &folded), OCTET_OK);
    assert_int_equal(folded, 2);
    assert_int_equal(g->n_nodes, 1);
    const ot_initializer *c2 = ot_graph_find_initializer(g, "c2");
    assert_non_null(c2);
    assert_true(((float *)c2->tensor->data)[2] == 6.0f);
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dce_removes_dead_nodes),
        cmocka_unit_test(test_fold_shapes_static),
        cmocka_unit_test(test_infer_shapes_symbolic_batch),
        cmocka_unit_test(test_fold_constant_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
