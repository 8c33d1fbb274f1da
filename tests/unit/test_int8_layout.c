/* The int8 channels-last pass (ir/passes/int8_layout.c): which nodes it converts, how it rewires
 * them, and what it leaves alone. (Numerics of the rewritten graphs: tests/ops/cases_octet_int8.py
 * against live ONNX Runtime.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "ir/passes/int8_layout.h"
#include "ir/passes/passes.h"

static void add_weight(ot_graph *g, const char *name, int rank) {
    int64_t d[4] = {4, 4, 3, 3};
    octet_tensor *t = ot_tensor_new(OCTET_INT8, rank, d);
    assert_non_null(t);
    memset(t->data, 1, (size_t)ot_tensor_numel(t));
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}

static ot_node *node(ot_graph *g, const char *op, const char *domain, int n_in, const char *const *in, int n_out,
                     const char *const *out) {
    ot_node *n = ot_graph_add_node(g, op, domain, op);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, n_out, out), OCTET_OK);
    return n;
}

/* QLinearConv reading x, writing y, with weights w (scales/zero points are names only: the pass does
 * not look at them). */
static ot_node *conv(ot_graph *g, const char *x, const char *w, const char *y) {
    const char *in[9] = {x, "s", "z", w, "ws", "wz", "s", "z", ""};
    return node(g, "QLinearConv", "", 9, in, 1, (const char *[]){y});
}

static ot_node *qadd(ot_graph *g, const char *a, const char *b, const char *y) {
    const char *in[8] = {a, "s", "z", b, "s", "z", "s", "z"};
    return node(g, "QLinearAdd", "com.microsoft", 8, in, 1, (const char *[]){y});
}

static octet_model *model_new(void) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    ot_model_set_opset(m, "", 13);
    int64_t xd[4] = {1, 4, 8, 8};
    ot_graph_add_input(m->graph, "x", OCTET_UINT8, 4, xd);
    return m;
}

static const ot_node *producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return g->nodes[i];
    return NULL;
}

static int count_op(const ot_graph *g, const char *domain, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += strcmp(g->nodes[i]->op_type, op) == 0 && strcmp(g->nodes[i]->domain, domain) == 0;
    return c;
}

/* x -> conv1 -> a -> conv2 -> b; add(b, a) -> y; outputs y and a */
static void test_chain(void **st) {
    (void)st;
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    add_weight(g, "w1", 4);
    add_weight(g, "w2", 4);
    conv(g, "x", "w1", "a");
    conv(g, "a", "w2", "b");
    qadd(g, "b", "a", "y");
    ot_graph_add_output(g, "y", OCTET_UINT8, -1, NULL);
    ot_graph_add_output(g, "a", OCTET_UINT8, -1, NULL);
    int n = -1;
    assert_int_equal(ot_pass_int8_nhwc(m, &n), OCTET_OK);
    assert_int_equal(n, 3);
    assert_int_equal(count_op(g, "com.microsoft", "QLinearConv"), 2);
    assert_int_equal(count_op(g, "", "QLinearConv"), 0);
    assert_int_equal(count_op(g, "ai.octet", "NchwToNhwc"), 1);   /* x, once */
    assert_int_equal(count_op(g, "ai.octet", "NhwcToNchw"), 2);   /* y and a for the graph outputs */
    assert_true(ot_model_opset(m, "com.microsoft") >= 1);
    assert_true(ot_model_opset(m, "ai.octet") >= 1);
    /* the graph outputs keep their names, now made by the layout changes back */
    const ot_node *py = producer(g, "y"), *pa = producer(g, "a");
    assert_non_null(py);
    assert_non_null(pa);
    assert_string_equal(py->op_type, "NhwcToNchw");
    assert_string_equal(pa->op_type, "NhwcToNchw");
    /* the add reads both convolutions' NHWC outputs; conv2 reads conv1's */
    const ot_node *add = producer(g, py->inputs[0]);
    assert_non_null(add);
    assert_string_equal(add->op_type, "QLinearAdd");
    const ot_node *c2 = producer(g, add->inputs[0]), *c1 = producer(g, add->inputs[3]);
    assert_non_null(c2);
    assert_non_null(c1);
    assert_string_equal(c2->domain, "com.microsoft");
    assert_int_equal(ot_node_attr_int(c2, "channels_last", 0), 1);
    assert_string_equal(c2->inputs[0], c1->outputs[0]);
    assert_string_equal(pa->inputs[0], c1->outputs[0]);
    assert_string_equal(producer(g, c1->inputs[0])->op_type, "NchwToNhwc");
    assert_string_equal(producer(g, c1->inputs[0])->inputs[0], "x");
    /* nothing left reading the old NCHW names inside the chain */
    assert_int_equal(ot_graph_count_reads(g, "b"), 0);
    octet_model_free(m);
}

/* A lone convolution, and convolutions with 1-D kernels: untouched. */
static void test_left_alone(void **st) {
    (void)st;
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    add_weight(g, "w1", 4);
    add_weight(g, "w3", 3);
    conv(g, "x", "w1", "a");
    node(g, "DequantizeLinear", "", 3, (const char *[]){"a", "s", "z"}, 1, (const char *[]){"af"});
    conv(g, "x", "w3", "p");
    conv(g, "p", "w3", "q");
    ot_graph_add_output(g, "af", OCTET_FLOAT, -1, NULL);
    ot_graph_add_output(g, "q", OCTET_UINT8, -1, NULL);
    int n = -1;
    assert_int_equal(ot_pass_int8_nhwc(m, &n), OCTET_OK);
    assert_int_equal(n, 0);
    assert_int_equal(count_op(g, "", "QLinearConv"), 3);
    assert_int_equal(g->n_nodes, 4);
    octet_model_free(m);
}

/* MaxPool after a chain becomes NhwcMaxPool (storage_order dropped); with Indices it stays. A concat
 * on channels moves its axis; an add with an outside operand stays in ONNX layout. */
static void test_pool_concat_outside(void **st) {
    (void)st;
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    add_weight(g, "w1", 4);
    add_weight(g, "w2", 4);
    conv(g, "x", "w1", "a");
    conv(g, "a", "w2", "b");
    ot_node *mp = node(g, "MaxPool", "", 1, (const char *[]){"b"}, 1, (const char *[]){"mp"});
    ot_node_add_attr_ints(mp, "kernel_shape", (const int64_t[]){2, 2}, 2);
    ot_node_add_attr_int(mp, "storage_order", 1);
    ot_node *mpi = node(g, "MaxPool", "", 1, (const char *[]){"b"}, 2, (const char *[]){"mp2", "idx"});
    ot_node_add_attr_ints(mpi, "kernel_shape", (const int64_t[]){2, 2}, 2);
    const char *cin[8] = {"s", "z", "mp", "s", "z", "b", "s", "z"};
    ot_node *cat = node(g, "QLinearConcat", "com.microsoft", 8, cin, 1, (const char *[]){"cat"});
    ot_node_add_attr_int(cat, "axis", -3);
    qadd(g, "b", "x", "out");   /* x is NCHW from outside the chain */
    const char *outs[5] = {"cat", "mp2", "idx", "out", "mp"};
    for (int i = 0; i < 5; i++) ot_graph_add_output(g, outs[i], OCTET_UINT8, -1, NULL);
    int n = -1;
    assert_int_equal(ot_pass_int8_nhwc(m, &n), OCTET_OK);
    assert_int_equal(n, 4);   /* conv, conv, pool, concat */
    assert_int_equal(count_op(g, "com.microsoft", "NhwcMaxPool"), 1);
    assert_int_equal(count_op(g, "", "MaxPool"), 1);
    const ot_node *pool = NULL, *concat = NULL, *add = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!strcmp(g->nodes[i]->op_type, "NhwcMaxPool")) pool = g->nodes[i];
        if (!strcmp(g->nodes[i]->op_type, "QLinearConcat")) concat = g->nodes[i];
        if (!strcmp(g->nodes[i]->op_type, "QLinearAdd")) add = g->nodes[i];
    }
    assert_null(ot_node_attr(pool, "storage_order"));
    assert_int_equal(ot_node_attr_int(concat, "axis", 0), 3);
    assert_string_equal(add->inputs[0], "b");   /* the NCHW value, handed back by a layout change */
    assert_string_equal(add->inputs[3], "x");
    assert_string_equal(producer(g, "b")->op_type, "NhwcToNchw");
    assert_string_equal(producer(g, "out")->op_type, "QLinearAdd");
    /* the pass output runs through DCE cleanly */
    assert_int_equal(ot_pass_dce(m, NULL), OCTET_OK);
    octet_model_free(m);
}

/* A constant per-tensor QuantizeLinear read only by the chain quantizes straight into NHWC; one whose
 * result is also read elsewhere stays, followed by a layout change. */
static void test_quantize_fusion(void **st) {
    (void)st;
    for (int shared = 0; shared < 2; shared++) {
        octet_model *m = ot_model_new();
        ot_model_set_opset(m, "", 13);
        ot_graph *g = m->graph;
        int64_t xd[4] = {1, 4, 8, 8};
        ot_graph_add_input(g, "xf", OCTET_FLOAT, 4, xd);
        octet_tensor *sc = ot_tensor_new(OCTET_FLOAT, 0, NULL), *zp = ot_tensor_new(OCTET_UINT8, 0, NULL);
        *(float *)sc->data = 0.1f;
        *(uint8_t *)zp->data = 128;
        ot_graph_add_initializer(g, "qs", sc);
        ot_graph_add_initializer(g, "qz", zp);
        add_weight(g, "w1", 4);
        add_weight(g, "w2", 4);
        node(g, "QuantizeLinear", "", 3, (const char *[]){"xf", "qs", "qz"}, 1, (const char *[]){"x"});
        conv(g, "x", "w1", "a");
        conv(g, "a", "w2", "b");
        ot_graph_add_output(g, "b", OCTET_UINT8, -1, NULL);
        if (shared) ot_graph_add_output(g, "x", OCTET_UINT8, -1, NULL);
        int n = -1;
        assert_int_equal(ot_pass_int8_nhwc(m, &n), OCTET_OK);
        assert_int_equal(n, 2);
        assert_int_equal(ot_pass_dce(m, NULL), OCTET_OK);
        assert_int_equal(count_op(g, "ai.octet", "QuantizeLinearToNhwc"), shared ? 0 : 1);
        assert_int_equal(count_op(g, "", "QuantizeLinear"), shared ? 1 : 0);
        assert_int_equal(count_op(g, "ai.octet", "NchwToNhwc"), shared ? 1 : 0);
        octet_model_free(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_pool_concat_outside),
        cmocka_unit_test(test_quantize_fusion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
