/* Static quantization core: calibration (min/max, merging), the QDQ writer, and the QDQ -> integer-op
 * fusion, which must give what the literal QDQ graph gives, within one output quantization step. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "ir/passes/passes.h"
#include "ops/op.h"
#include "quant/calibrate.h"
#include "quant/static_qdq.h"

static uint64_t g_seed = 12345;
static float frand(void) {
    g_seed ^= g_seed << 13, g_seed ^= g_seed >> 7, g_seed ^= g_seed << 17;
    return (float)((double)(g_seed >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

static octet_tensor *rand_tensor(int ndim, const int64_t *dims, float scale) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) ((float *)t->data)[i] = frand() * scale;
    return t;
}

/* x[N,C,H,W] -> Conv(3x3, pad 1, C->M) -> Relu -> Conv(1x1, M->M) -> Add(residual) -> y */
static octet_model *conv_model(int C, int M) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t xd[4] = {-1, C, 9, 7};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    g->inputs[0].dims[0].param = strdup("N");
    ot_graph_add_output(g, "y", OCTET_FLOAT, 4, NULL);
    g->outputs[0].ndim = -1;
    int64_t w1d[4] = {M, C, 3, 3}, w2d[4] = {M, M, 1, 1}, bd = M;
    ot_graph_add_initializer(g, "w1", rand_tensor(4, w1d, 0.5f));
    ot_graph_add_initializer(g, "b1", rand_tensor(1, &bd, 0.1f));
    ot_graph_add_initializer(g, "w2", rand_tensor(4, w2d, 0.5f));
    ot_graph_add_initializer(g, "b2", rand_tensor(1, &bd, 0.1f));
    ot_node *c1 = ot_graph_add_node(g, "Conv", "", "conv1");
    ot_node_set_inputs(c1, 3, (const char *[]){"x", "w1", "b1"});
    ot_node_set_outputs(c1, 1, (const char *[]){"c1"});
    int64_t pads[4] = {1, 1, 1, 1};
    ot_node_add_attr_ints(c1, "pads", pads, 4);
    ot_node *r = ot_graph_add_node(g, "Relu", "", "relu1");
    ot_node_set_inputs(r, 1, (const char *[]){"c1"});
    ot_node_set_outputs(r, 1, (const char *[]){"r1"});
    ot_node *c2 = ot_graph_add_node(g, "Conv", "", "conv2");
    ot_node_set_inputs(c2, 3, (const char *[]){"r1", "w2", "b2"});
    ot_node_set_outputs(c2, 1, (const char *[]){"c2"});
    ot_node *a = ot_graph_add_node(g, "Add", "", "add");
    ot_node_set_inputs(a, 2, (const char *[]){"c2", "r1"});
    ot_node_set_outputs(a, 1, (const char *[]){"y"});
    return m;
}

static octet_tensor *run(const octet_model *m, octet_tensor *x, int disable_opt) {
    octet_session *s;
    octet_session_options o = {.threads = 1, .disable_graph_optimizations = disable_opt};
    assert_int_equal(octet_session_create(&s, m, &o), OCTET_OK);
    octet_tensor *y = NULL;
    if (octet_session_run(s, NULL, &x, 1, &y, 1) != OCTET_OK) fail_msg("%s", octet_last_error());
    octet_session_free(s);
    return y;
}

static void test_calibration_merge_equals_union(void **st) {
    (void)st;
    octet_model *m = conv_model(3, 5);
    int64_t d[4] = {2, 3, 9, 7};
    octet_tensor *a = rand_tensor(4, d, 1.0f), *b = rand_tensor(4, d, 3.0f);
    ot_calib *whole, *pa, *pb;
    assert_int_equal(ot_calib_create(&whole, m, NULL), OCTET_OK);
    assert_int_equal(ot_calib_create(&pa, m, NULL), OCTET_OK);
    assert_int_equal(ot_calib_create(&pb, m, &(ot_calib_options){.threads = 2}), OCTET_OK);
    assert_int_equal(ot_calib_feed(whole, &a, 1), OCTET_OK);
    assert_int_equal(ot_calib_feed(whole, &b, 1), OCTET_OK);
    assert_int_equal(ot_calib_feed(pa, &a, 1), OCTET_OK);
    assert_int_equal(ot_calib_feed(pb, &b, 1), OCTET_OK);
    assert_int_equal(ot_calib_merge(pa, pb), OCTET_OK);
    assert_int_equal(ot_calib_count(whole), ot_calib_count(pa));
    assert_true(ot_calib_count(whole) >= 4); /* x, c1, r1, c2, y */
    for (int i = 0; i < ot_calib_count(whole); i++) {
        const ot_range *w = ot_calib_at(whole, i), *p = ot_calib_range(pa, w->name);
        assert_non_null(p);
        assert_true(w->min == p->min && w->max == p->max && w->count == p->count);
    }
    /* relu output never negative; x's range comes from the data */
    assert_true(ot_calib_range(whole, "r1")->min >= 0.0f);
    assert_true(ot_calib_range(whole, "x")->max > 1.0f);
    ot_calib_free(whole);
    ot_calib_free(pa);
    ot_calib_free(pb);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_model_free(m);
}

static int count_op(const ot_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += strcmp(g->nodes[i]->op_type, op) == 0;
    return c;
}

static double sqnr(const octet_tensor *ref, const octet_tensor *x) {
    double s = 0, e = 0;
    for (int64_t i = 0; i < ot_tensor_numel(ref); i++) {
        double r = ((float *)ref->data)[i], d = r - ((float *)x->data)[i];
        s += r * r;
        e += d * d;
    }
    return 10.0 * log10(s / (e > 0 ? e : 1e-30));
}

static void test_static_qdq_and_fusion(void **st) {
    (void)st;
    for (int per_channel = 0; per_channel < 2; per_channel++) {
        octet_model *m = conv_model(3, 6);
        int64_t d[4] = {4, 3, 9, 7};
        octet_tensor *calib = rand_tensor(4, d, 1.0f);
        octet_model *fm = ot_model_clone(m);
        ot_calib *cal;
        assert_int_equal(ot_calib_create(&cal, m, NULL), OCTET_OK);
        assert_int_equal(ot_calib_feed(cal, &calib, 1), OCTET_OK);
        ot_static_config cfg = ot_static_config_default();
        cfg.per_channel = per_channel;
        int nq = 0;
        assert_int_equal(ot_quantize_static_qdq(m, cal, &cfg, &nq), OCTET_OK);
        assert_int_equal(nq, 3); /* conv1, conv2, add */
        /* weights are int8 initializers now, per channel when asked */
        const ot_initializer *wq = ot_graph_find_initializer(m->graph, "w1_quantized");
        assert_non_null(wq);
        assert_int_equal(wq->tensor->dtype, OCTET_INT8);
        assert_non_null(ot_graph_find_initializer(m->graph, "b1_quantized"));
        assert_null(ot_graph_find_initializer(m->graph, "w1"));
        assert_int_equal(ot_tensor_numel(ot_graph_find_initializer(m->graph, "w1_scale")->tensor), per_channel ? 6 : 1);
        /* x, r1 (relu output, not c1), c2, y are quantized */
        assert_int_equal(count_op(m->graph, "QuantizeLinear"), 4);
        assert_null(ot_graph_find_initializer(m->graph, "c1_scale"));
        assert_non_null(ot_graph_find_initializer(m->graph, "r1_scale"));

        int64_t td[4] = {2, 3, 9, 7};
        octet_tensor *x = rand_tensor(4, td, 1.0f);
        octet_tensor *yf = run(fm, x, 0), *yq_literal = run(m, x, 1), *yq_fused = run(m, x, 0);
        double s_lit = sqnr(yf, yq_literal);
        print_message("per_channel=%d: SQNR of QDQ vs float %.1f dB\n", per_channel, s_lit);
        assert_true(s_lit > 25.0);
        /* The fused integer graph rounds once (in the requantization) where the literal QDQ graph
         * computes in float: allow one step of the output scale. */
        float ys = *(float *)ot_graph_find_initializer(m->graph, "y_scale")->tensor->data;
        for (int64_t i = 0; i < ot_tensor_numel(yf); i++)
            assert_true(fabsf(((float *)yq_fused->data)[i] - ((float *)yq_literal->data)[i]) <= 1.0001f * ys);
        octet_tensor_free(x);
        octet_tensor_free(yf);
        octet_tensor_free(yq_literal);
        octet_tensor_free(yq_fused);
        octet_tensor_free(calib);
        ot_calib_free(cal);
        octet_model_free(fm);
        octet_model_free(m);
    }
}

static void test_qdq_fusion_rewrites_to_integer_ops(void **st) {
    (void)st;
    octet_model *m = conv_model(4, 8);
    int64_t d[4] = {2, 4, 9, 7};
    octet_tensor *calib = rand_tensor(4, d, 1.0f);
    ot_calib *cal;
    assert_int_equal(ot_calib_create(&cal, m, NULL), OCTET_OK);
    assert_int_equal(ot_calib_feed(cal, &calib, 1), OCTET_OK);
    ot_static_config cfg = ot_static_config_default();
    assert_int_equal(ot_quantize_static_qdq(m, cal, &cfg, NULL), OCTET_OK);
    int fused = 0;
    assert_int_equal(ot_pass_qdq_to_qoperator(m, &fused), OCTET_OK);
    assert_non_null(ot_op_find("", "QLinearConv"));
    assert_int_equal(count_op(m->graph, "QLinearConv"), 2);
    assert_int_equal(count_op(m->graph, "Conv"), 0);
    assert_int_equal(count_op(m->graph, "Relu"), 0); /* folded into conv1's clamp */
    ot_calib_free(cal);
    octet_tensor_free(calib);
    octet_model_free(m);
}

/* The same flow through the public API only (include/octet.h). */
static void test_public_api(void **st) {
    (void)st;
    octet_model *m = conv_model(3, 4);
    assert_int_equal(octet_static_prepare(m), OCTET_OK);
    int64_t d[4] = {3, 3, 9, 7};
    octet_tensor *a = rand_tensor(4, d, 1.0f), *b = rand_tensor(4, d, 2.0f);
    octet_calibrator *c1, *c2;
    assert_int_equal(octet_calibrator_create(&c1, m, NULL), OCTET_OK);
    assert_int_equal(octet_calibrator_create(&c2, m, NULL), OCTET_OK);
    assert_int_equal(octet_calibrator_feed(c1, &a, 1), OCTET_OK);
    assert_int_equal(octet_calibrator_feed(c2, &b, 1), OCTET_OK);
    assert_int_equal(octet_calibrator_merge(c1, c2), OCTET_OK);
    assert_int_equal(octet_calibrator_feed(c1, NULL, 0), OCTET_ERR_INVALID_ARG);
    octet_static_config cfg = octet_static_config_default();
    assert_int_equal(octet_quantize_static(m, c1, &cfg), OCTET_OK);
    assert_int_equal(count_op(m->graph, "QuantizeLinear"), 4);
    assert_int_equal(octet_quantize_static(NULL, c1, &cfg), OCTET_ERR_INVALID_ARG);
    octet_calibrator_free(c1);
    octet_calibrator_free(c2);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calibration_merge_equals_union),
        cmocka_unit_test(test_static_qdq_and_fusion),
        cmocka_unit_test(test_qdq_fusion_rewrites_to_integer_ops),
        cmocka_unit_test(test_public_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
