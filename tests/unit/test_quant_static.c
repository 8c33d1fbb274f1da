/* Static quantization core: calibration (min/max, merging), the QDQ writer, and the QDQ -> integer-op
 * fusion, which must give what the literal QDQ graph gives, within one output quantization step. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
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
#include "quant/opset_raise.h"
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

/* 7-bit weights: every weight in [-64, 64] (the symmetric scale amax / 63.5 puts the extreme at 64, as in
 * ONNX Runtime's 7-bit range; pairs of such weights still fit vpmaddubsw) and the range used (each
 * channel's largest |q| is 63 or 64). */
static void check_weights_7bit(const ot_graph *g) {
    for (int w = 1; w <= 2; w++) {
        char name[32];
        snprintf(name, sizeof name, "w%d_quantized", w);
        const octet_tensor *q = ot_graph_find_initializer(g, name)->tensor;
        int64_t per = ot_tensor_numel(q) / q->dims[0];
        for (int64_t c = 0; c < q->dims[0]; c++) {
            int big = 0;
            for (int64_t i = 0; i < per; i++) {
                int v = ((const int8_t *)q->data)[c * per + i];
                assert_true(v >= -64 && v <= 64);
                big = abs(v) > big ? abs(v) : big;
            }
            assert_true(big >= 63);
        }
    }
}

static void test_static_qdq_and_fusion(void **st) {
    (void)st;
    for (int variant = 0; variant < 3; variant++) {   /* per tensor, per channel, per channel 7-bit */
        int per_channel = variant > 0;
        octet_model *m = conv_model(3, 6);
        int64_t d[4] = {4, 3, 9, 7};
        octet_tensor *calib = rand_tensor(4, d, 1.0f);
        octet_model *fm = ot_model_clone(m);
        ot_calib *cal;
        assert_int_equal(ot_calib_create(&cal, m, NULL), OCTET_OK);
        assert_int_equal(ot_calib_feed(cal, &calib, 1), OCTET_OK);
        ot_static_config cfg = ot_static_config_default();
        cfg.per_channel = per_channel;
        cfg.weights_7bit = variant == 2;
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
        if (cfg.weights_7bit) check_weights_7bit(m->graph);
        /* x, r1 (relu output, not c1), c2, y are quantized */
        assert_int_equal(count_op(m->graph, "QuantizeLinear"), 4);
        assert_null(ot_graph_find_initializer(m->graph, "c1_scale"));
        assert_non_null(ot_graph_find_initializer(m->graph, "r1_scale"));

        int64_t td[4] = {2, 3, 9, 7};
        octet_tensor *x = rand_tensor(4, td, 1.0f);
        octet_tensor *yf = run(fm, x, 0), *yq_literal = run(m, x, 1), *yq_fused = run(m, x, 0);
        double s_lit = sqnr(yf, yq_literal);
        print_message("per_channel=%d%s: SQNR of QDQ vs float %.1f dB\n", per_channel,
                      cfg.weights_7bit ? " (7-bit weights)" : "", s_lit);
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

/* The public API's weight_bits: 8 by default, 7 or 8 accepted, other widths refused. */
static void test_weight_bits_api(void **st) {
    (void)st;
    octet_model *m = conv_model(3, 6);
    octet_static_config pc = octet_static_config_default();
    assert_int_equal(pc.weight_bits, 8);
    pc.weight_bits = 6;
    assert_int_equal(octet_quantize_static(m, (const octet_calibrator *)1, &pc), OCTET_ERR_INVALID_ARG);
    octet_model_free(m);
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


/* ---- graph building helpers ---- */
static ot_node *add(ot_graph *g, const char *op, const char *name, int n_in, const char **ins, const char *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, ins), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
    return n;
}
#define NODE(g, op, name, out, ...) \
    add(g, op, name, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}, out)

static void init_rand(ot_graph *g, const char *name, int ndim, const int64_t *dims, float scale, float offset) {
    octet_tensor *t = rand_tensor(ndim, dims, scale);
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) ((float *)t->data)[i] += offset;
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}
static void init_ints(ot_graph *g, const char *name, int64_t n, const int64_t *v) {
    octet_tensor *t = ot_tensor_new(OCTET_INT64, 1, &n);
    memcpy(t->data, v, (size_t)n * sizeof *v);
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}
static void init_scalar(ot_graph *g, const char *name, float v) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    *(float *)t->data = v;
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}
static void add_bn(ot_graph *g, const char *name, const char *x, const char *y, int64_t c) {
    char b[5][64];
    const char *sfx[4] = {"_s", "_b", "_m", "_v"};
    for (int i = 0; i < 4; i++) {
        snprintf(b[i], sizeof b[i], "%s%s", name, sfx[i]);
        init_rand(g, b[i], 1, &c, i == 3 ? 0.4f : 1.0f, i == 3 ? 0.6f : 0.0f); /* var in [0.2, 1.0] */
    }
    ot_node *n = NODE(g, "BatchNormalization", name, y, x, b[0], b[1], b[2], b[3]);
    ot_node_add_attr_float(n, "epsilon", 1e-3f);
}

static int run_n(const octet_model *m, octet_tensor *x, int disable_opt, octet_tensor **ys, int n) {
    octet_session *s;
    octet_session_options o = {.threads = 1, .disable_graph_optimizations = disable_opt};
    if (octet_session_create(&s, m, &o) != OCTET_OK) fail_msg("%s", octet_last_error());
    if (octet_session_run(s, NULL, &x, 1, ys, n) != OCTET_OK) fail_msg("%s", octet_last_error());
    octet_session_free(s);
    return n;
}

static double max_rel_err(const octet_tensor *a, const octet_tensor *b) {
    assert_int_equal(ot_tensor_numel(a), ot_tensor_numel(b));
    double e = 0;
    for (int64_t i = 0; i < ot_tensor_numel(a); i++) {
        double r = ((float *)a->data)[i], d = fabs(r - ((float *)b->data)[i]) / (1.0 + fabs(r));
        e = d > e ? d : e;
    }
    return e;
}

/* BatchNormalization after Conv, ConvTranspose (groups, behind an Add of its bias), Gemm (alpha, beta, then
 * a Mul), a 2-D MatMul, and before a Gemm (after Flatten): folded, the graph computes the same. */
static void test_prepare_folds(void **st) {
    (void)st;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 11);
    ot_graph *g = m->graph;
    int64_t xd[4] = {2, 3, 7, 5};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    const char *outs[5] = {"y1", "y2", "y3", "y4", "y5"};
    for (int i = 0; i < 5; i++) {
        ot_graph_add_output(g, outs[i], OCTET_FLOAT, 4, NULL);
        g->outputs[i].ndim = -1;
    }
    int64_t w1[4] = {6, 3, 3, 3}, c6 = 6, wt[4] = {6, 2, 3, 3}, bt[4] = {1, 4, 1, 1}, wg[2] = {7, 105}, c7 = 7,
            wm[2] = {105, 5}, wf[2] = {105, 4}, c4 = 4, pads[4] = {1, 1, 1, 1}, st2[2] = {2, 2};
    init_rand(g, "w1", 4, w1, 0.5f, 0), init_rand(g, "b1", 1, &c6, 0.2f, 0);
    ot_node_add_attr_ints(NODE(g, "Conv", "conv", "c1", "x", "w1", "b1"), "pads", pads, 4);
    add_bn(g, "bn1", "c1", "y1", 6);
    init_rand(g, "wt", 4, wt, 0.5f, 0), init_rand(g, "bt", 4, bt, 0.3f, 0);
    ot_node *ct = NODE(g, "ConvTranspose", "convt", "t1", "y1", "wt");
    ot_node_add_attr_int(ct, "group", 2);
    ot_node_add_attr_ints(ct, "strides", st2, 2);
    NODE(g, "Add", "convt_bias", "t2", "t1", "bt");
    add_bn(g, "bn2", "t2", "y2", 4);
    NODE(g, "Flatten", "flat", "f", "x");
    init_rand(g, "wg", 2, wg, 0.2f, 0), init_rand(g, "cg", 1, &c7, 0.2f, 0), init_rand(g, "k7", 1, &c7, 1.0f, 0.5f);
    ot_node *gm = NODE(g, "Gemm", "gemm", "g1", "f", "wg", "cg");
    ot_node_add_attr_int(gm, "transB", 1);
    ot_node_add_attr_float(gm, "alpha", 0.7f);
    ot_node_add_attr_float(gm, "beta", 0.5f);
    add_bn(g, "bn3", "g1", "g2", 7);
    NODE(g, "Mul", "gemm_scale", "y3", "k7", "g2");
    init_rand(g, "wm", 2, wm, 0.2f, 0);
    NODE(g, "MatMul", "matmul", "m1", "f", "wm");
    add_bn(g, "bn4", "m1", "y4", 5);
    add_bn(g, "bn5", "f", "f5", 105);
    init_rand(g, "wf", 2, wf, 0.2f, 0), init_rand(g, "cf", 1, &c4, 0.2f, 0);
    NODE(g, "Gemm", "gemm2", "y5", "f5", "wf", "cf");

    octet_tensor *x = rand_tensor(4, xd, 1.0f), *ref[5], *got[5];
    run_n(m, x, 1, ref, 5);
    octet_model *p = ot_model_clone(m);
    ot_static_prep rep;
    assert_int_equal(ot_static_prepare(p, &rep), OCTET_OK);
    print_message("prepare: %d BatchNormalization, %d Mul/Add folded; opset %lld -> %lld\n", rep.batchnorms, rep.affines,
                  (long long)rep.opset_from, (long long)rep.opset_to);
    assert_int_equal(rep.batchnorms, 5);
    assert_int_equal(rep.affines, 2);
    assert_int_equal(ot_model_opset(p, ""), 13);
    assert_int_equal(count_op(p->graph, "BatchNormalization") + count_op(p->graph, "Mul") + count_op(p->graph, "Add") +
                         count_op(p->graph, "MatMul"),
                     0);
    run_n(p, x, 1, got, 5);
    for (int i = 0; i < 5; i++) {
        double e = max_rel_err(ref[i], got[i]);
        print_message("  %s: max relative error %.2e\n", outs[i], e);
        assert_true(e < 2e-5);
        octet_tensor_free(ref[i]);
        octet_tensor_free(got[i]);
    }
    octet_tensor_free(x);
    octet_model_free(p);
    octet_model_free(m);
}

/* Opset 9 -> 13: Clip/Slice/Pad attributes become inputs, Softmax over "everything from axis 1" becomes
 * Flatten -> Softmax -> Reshape. The results stay the same. */
static void test_opset_raise(void **st) {
    (void)st;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 9);
    ot_graph *g = m->graph;
    int64_t xd[4] = {2, 5, 3, 4};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 4, NULL);
    g->outputs[0].ndim = -1;
    ot_node *c = NODE(g, "Clip", "clip", "c", "x");
    ot_node_add_attr_float(c, "min", -0.5f);
    ot_node_add_attr_float(c, "max", 0.7f);
    ot_node *s = NODE(g, "Slice", "slice", "s", "c");
    int64_t starts = 1, ends = 4, axes = 1, pads[8] = {0, 0, 1, 0, 0, 0, 2, 1};
    ot_node_add_attr_ints(s, "starts", &starts, 1);
    ot_node_add_attr_ints(s, "ends", &ends, 1);
    ot_node_add_attr_ints(s, "axes", &axes, 1);
    ot_node *pd = NODE(g, "Pad", "pad", "p", "s");
    ot_node_add_attr_ints(pd, "pads", pads, 8);
    ot_node_add_attr_float(pd, "value", 0.25f);
    NODE(g, "Softmax", "softmax", "y", "p"); /* opset 9 default axis 1: softmax over [3,6,5] per batch row */
    octet_tensor *x = rand_tensor(4, xd, 2.0f), *ref, *got;
    run_n(m, x, 1, &ref, 1);
    assert_int_equal(ot_raise_opset(m, 13), OCTET_OK);
    assert_int_equal(ot_model_opset(m, ""), 13);
    assert_int_equal(count_op(g, "Flatten"), 1);
    for (int i = 0; i < g->n_nodes; i++) assert_true(g->nodes[i]->n_attrs <= 1 || !strcmp(g->nodes[i]->op_type, "Pad"));
    run_n(m, x, 1, &got, 1);
    assert_int_equal(ref->ndim, got->ndim);
    assert_true(max_rel_err(ref, got) < 1e-6);
    octet_tensor_free(ref);
    octet_tensor_free(got);
    octet_tensor_free(x);
    /* what cannot be converted is refused, model unchanged */
    octet_model *u = ot_model_new();
    ot_model_set_opset(u, "", 9);
    ot_graph_add_input(u->graph, "x", OCTET_FLOAT, 4, xd);
    NODE(u->graph, "Upsample", "up", "y", "x");
    assert_int_equal(ot_raise_opset(u, 13), OCTET_ERR_UNSUPPORTED);
    assert_int_equal(ot_model_opset(u, ""), 9);
    octet_model_free(u);
    octet_model_free(m);
}

/* Every op of the coverage list in one graph (odd sizes). */
static octet_model *coverage_model(void) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 14);
    ot_graph *g = m->graph;
    int64_t xd[4] = {1, 3, 11, 9};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, NULL);
    g->outputs[0].ndim = -1;
    int64_t w1[4] = {8, 3, 3, 3}, c8 = 8, w2[4] = {8, 8, 1, 1}, wt[4] = {8, 4, 2, 2}, w3[2] = {20, 10}, w4[2] = {6, 20},
            c6 = 6, pads[4] = {1, 1, 1, 1}, k2[2] = {2, 2}, k3[2] = {3, 3};
    init_rand(g, "w1", 4, w1, 0.5f, 0), init_rand(g, "b1", 1, &c8, 0.2f, 0);
    ot_node_add_attr_ints(NODE(g, "Conv", "conv1", "c1", "x", "w1", "b1"), "pads", pads, 4);
    NODE(g, "Relu", "relu1", "r1", "c1");
    ot_node *mp = NODE(g, "MaxPool", "maxpool", "mp", "r1"); /* [1,8,5,4] */
    ot_node_add_attr_ints(mp, "kernel_shape", k2, 2);
    ot_node_add_attr_ints(mp, "strides", k2, 2);
    init_scalar(g, "three", 3.0f), init_scalar(g, "zero", 0.0f), init_scalar(g, "six", 6.0f);
    NODE(g, "Add", "add3", "a0", "mp", "three"); /* constant operand */
    init_rand(g, "w2", 4, w2, 0.5f, 0), init_rand(g, "b2", 1, &c8, 0.2f, 0);
    NODE(g, "Conv", "conv2", "c2", "a0", "w2", "b2");
    NODE(g, "Clip", "relu6", "cl", "c2", "zero", "six");
    NODE(g, "Sigmoid", "sigmoid", "sg", "cl");
    NODE(g, "Mul", "mul", "m1", "cl", "sg");
    NODE(g, "HardSigmoid", "hsig", "hs", "m1");
    NODE(g, "HardSwish", "hswish", "hw", "hs");
    ot_node_add_attr_float(NODE(g, "LeakyRelu", "leaky", "lr", "hw"), "alpha", 0.1f);
    float sc[4] = {1, 1, 2, 2};
    octet_tensor *scales = ot_tensor_new(OCTET_FLOAT, 1, (int64_t[]){4});
    memcpy(scales->data, sc, sizeof sc);
    ot_graph_add_initializer(g, "scales", scales);
    ot_node_add_attr_string(NODE(g, "Resize", "resize", "rs", "lr", "", "scales"), "mode", "nearest"); /* [1,8,10,8] */
    int64_t pp[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    init_ints(g, "pads", 8, pp);
    NODE(g, "Pad", "pad", "pd", "rs", "pads"); /* [1,8,12,10] */
    ot_node_add_attr_ints(NODE(g, "AveragePool", "avgpool", "ap", "pd"), "kernel_shape", k3, 2); /* [1,8,10,8] */
    init_rand(g, "wt", 4, wt, 0.5f, 0);
    ot_node *ct = NODE(g, "ConvTranspose", "convt", "ct", "mp", "wt"); /* [1,4,10,8] */
    ot_node_add_attr_ints(ct, "strides", k2, 2);
    ot_node_add_attr_int(NODE(g, "Concat", "concat", "cc", "ap", "rs", "ct"), "axis", 1); /* [1,20,10,8] */
    NODE(g, "GlobalAveragePool", "gap", "gp", "cc");
    NODE(g, "Flatten", "flatten", "fl", "gp");                   /* [1,20] */
    init_rand(g, "w3", 2, w3, 0.5f, 0);
    NODE(g, "MatMul", "matmul", "mm", "fl", "w3");               /* [1,10] */
    init_rand(g, "w4", 2, w4, 0.5f, 0), init_rand(g, "b4", 1, &c6, 0.2f, 0);
    ot_node_add_attr_int(NODE(g, "Gemm", "gemm", "gm", "fl", "w4", "b4"), "transB", 1); /* [1,6] */
    NODE(g, "Transpose", "transpose", "tr", "mm");               /* [10,1] */
    NODE(g, "MatMul", "matmul_aa", "m2", "tr", "gm");           /* [10,6] activation x activation */
    NODE(g, "Softmax", "softmax", "y", "m2");
    return m;
}

/* The coverage model prepared, calibrated on 4 random images, and quantized as QDQ (*qdq) and QOperator
 * (returned) with the same parameters; *float_out: the prepared float model. */
static octet_model *quantized_coverage(ot_static_config cfg, octet_model **float_out, octet_model **qdq, int *nq) {
    octet_model *m = coverage_model();
    assert_int_equal(ot_static_prepare(m, NULL), OCTET_OK);
    int64_t d[4] = {1, 3, 11, 9};
    ot_calib *cal;
    assert_int_equal(ot_calib_create(&cal, m, NULL), OCTET_OK);
    for (int i = 0; i < 4; i++) {
        octet_tensor *c = rand_tensor(4, d, 1.0f);
        assert_int_equal(ot_calib_feed(cal, &c, 1), OCTET_OK);
        octet_tensor_free(c);
    }
    octet_model *op = ot_model_clone(m);
    if (qdq) {
        *qdq = ot_model_clone(m);
        cfg.qoperator = false;
        if (ot_quantize_static_qdq(*qdq, cal, &cfg, nq) != OCTET_OK) fail_msg("%s", octet_last_error());
    }
    cfg.qoperator = true;
    if (ot_quantize_static_qdq(op, cal, &cfg, NULL) != OCTET_OK) fail_msg("%s", octet_last_error());
    ot_calib_free(cal);
    if (float_out) *float_out = m;
    else octet_model_free(m);
    return op;
}

static bool has_octet_attr(const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i]->n_attrs; a++)
            if (!strncmp(g->nodes[i]->attrs[a].name, "octet_", 6)) return true;
    return false;
}

static const ot_node *producer_of(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (!strcmp(g->nodes[i]->outputs[o], name)) return g->nodes[i];
    return NULL;
}

/* QDQ and QOperator forms of the coverage graph: the QOperator file has the integer op of every covered op,
 * nothing octet-specific, and computes what octet's fused QDQ run computes; both are close to float. */
static void test_coverage_qdq_and_qoperator(void **st) {
    (void)st;
    for (int s8 = 0; s8 < 2; s8++) {
        ot_static_config cfg = ot_static_config_default();
        if (s8) cfg.activation_type = OCTET_INT8;
        octet_model *fm = NULL, *qdq = NULL;
        int nq = 0;
        octet_model *qop = quantized_coverage(cfg, &fm, &qdq, &nq);
        /* every node but Relu/Clip (folded into the producer's range) and MaxPool/Pad/Flatten/Transpose
         * (they follow their input's parameters) */
        assert_int_equal(nq, 17);
        const ot_graph *g = qop->graph;
        const char *want[] = {"QLinearConv", "QLinearMatMul", "QGemm", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
                              "QLinearLeakyRelu", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearConcat",
                              "QLinearSoftmax"};
        int nwant[] = {2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            if (count_op(g, want[i]) != nwant[i]) fail_msg("%s: %d, want %d", want[i], count_op(g, want[i]), nwant[i]);
        }
        assert_int_equal(count_op(g, "Conv") + count_op(g, "MatMul") + count_op(g, "Gemm") + count_op(g, "Relu") +
                             count_op(g, "Clip"),
                         0);
        assert_false(has_octet_attr(g));
        /* MaxPool, Resize, Pad, Flatten, Transpose run on the quantized tensor */
        const char *moved[] = {"maxpool", "resize", "pad", "flatten", "transpose"};
        for (int i = 0; i < g->n_nodes; i++)
            for (size_t k = 0; k < sizeof moved / sizeof *moved; k++)
                if (!strcmp(g->nodes[i]->name, moved[k])) {
                    const ot_node *p = producer_of(g, g->nodes[i]->inputs[0]);
                    assert_non_null(p);
                    assert_true(strncmp(p->op_type, "QLinear", 7) == 0 || strcmp(p->op_type, "QuantizeLinear") == 0 ||
                                strcmp(p->op_type, "MaxPool") == 0 || strcmp(p->op_type, "Resize") == 0 ||
                                strcmp(p->op_type, "Pad") == 0 || strcmp(p->op_type, "Flatten") == 0);
                }
        /* HardSigmoid, HardSwish, ConvTranspose have no integer op: float between DQ and Q */
        assert_int_equal(count_op(g, "HardSigmoid") + count_op(g, "HardSwish") + count_op(g, "ConvTranspose"), 3);

        int64_t d[4] = {1, 3, 11, 9};
        octet_tensor *x = rand_tensor(4, d, 1.0f), *yf, *ylit, *yfused, *yop;
        run_n(fm, x, 1, &yf, 1);
        run_n(qdq, x, 1, &ylit, 1);
        run_n(qdq, x, 0, &yfused, 1);
        run_n(qop, x, 0, &yop, 1);
        double s_lit = sqnr(yf, ylit), s_fused = sqnr(ylit, yfused), s_op = sqnr(yfused, yop);
        print_message("%s activations: QDQ vs float %.1f dB, fused vs literal %.1f dB, QOperator vs fused %.1f dB\n",
                      s8 ? "int8" : "uint8", s_lit, s_fused, s_op);
        assert_true(s_lit > 20.0);
        assert_true(s_fused > 25.0);
        assert_true(max_rel_err(yfused, yop) == 0.0); /* the same integer ops */
        octet_tensor_free(x), octet_tensor_free(yf), octet_tensor_free(ylit), octet_tensor_free(yfused), octet_tensor_free(yop);
        octet_model_free(fm), octet_model_free(qdq), octet_model_free(qop);
    }
}

/* --exclude by node name and by op type keeps those nodes float. */
static void test_exclude(void **st) {
    (void)st;
    ot_static_config cfg = ot_static_config_default();
    const char *ex[2] = {"conv2", "Sigmoid"};
    cfg.exclude = ex;
    cfg.n_exclude = 2;
    octet_model *m = quantized_coverage(cfg, NULL, NULL, NULL);
    assert_int_equal(count_op(m->graph, "QLinearConv"), 1);
    assert_int_equal(count_op(m->graph, "Conv"), 1);
    assert_int_equal(count_op(m->graph, "QLinearSigmoid"), 0);
    assert_int_equal(count_op(m->graph, "Sigmoid"), 1);
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
    cfg.format = (octet_static_format)7;
    assert_int_equal(octet_quantize_static(m, c1, &cfg), OCTET_ERR_INVALID_ARG);
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
        cmocka_unit_test(test_weight_bits_api),
        cmocka_unit_test(test_qdq_fusion_rewrites_to_integer_ops),
        cmocka_unit_test(test_prepare_folds),
        cmocka_unit_test(test_opset_raise),
        cmocka_unit_test(test_coverage_qdq_and_qoperator),
        cmocka_unit_test(test_exclude),
        cmocka_unit_test(test_public_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
