/* ai.octet QLinearLookup and the fusion that makes it (ops/octet_lookup.c, ir/passes/qdq_fuse.c):
 *  - the AVX2 byte-table loop against the scalar one (odd lengths, offsets, in place);
 *  - the AVX2 HardSwish / HardSigmoid loops of unary.c against the scalar ones, bit for bit, on ±0, ±inf,
 *    NaN, values around -3 and 3 and the HardSigmoid corners;
 *  - every lookup op, uint8/int8 in and out, scales and zero points at their extremes: a session (fused
 *    into one QLinearLookup) gives the same bytes as the same graph run literally (DequantizeLinear, the
 *    float op, QuantizeLinear) on all 256 input codes, at 1 and 2 threads;
 *  - what is and is not fused (portable mode, per-axis, non-constant Clip bounds, shared DequantizeLinear)
 *    and that the NHWC pass keeps a lookup inside an int8 chain. (ONNX Runtime on the same islands:
 *    tests/ops/cases_qlookup.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "ir/graph.h"
#include "ir/passes/int8_layout.h"
#include "ir/passes/qdq_fuse.h"
#include "kernels/cpu.h"
#include "octet.h"
#include "ops/octet_lookup.h"
#include "ops/unary_internal.h"
#include "runtime/exec.h"

static uint32_t g_seed = 12345u;
static uint32_t rnd(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed >> 8;
}

static bool have_avx2(void) { return ot_cpu_isa_supported(OT_ISA_AVX2); }

/* ---------------------------------------------------------------- the byte table */

static void test_lut8_avx2_vs_ref(void **st) {
    (void)st;
    if (!have_avx2()) skip();
    enum { MAX = 4099 };
    uint8_t table[256], *x = malloc(MAX + 64), *a = malloc(MAX + 64), *b = malloc(MAX + 64);
    assert_non_null(x);
    assert_non_null(a);
    assert_non_null(b);
    for (int rep = 0; rep < 4; rep++) {
        for (int i = 0; i < 256; i++) table[i] = (uint8_t)(rep == 0 ? (uint32_t)(255 - i) : rnd());
        for (size_t i = 0; i < MAX + 64; i++) x[i] = (uint8_t)(i < 256 ? i : rnd());
        static const size_t lens[] = {0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 127, 255, 256, 257, 1001, MAX};
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
            for (size_t off = 0; off < 3; off++) {
                size_t n = lens[li];
                memset(a, 0xA5, MAX + 64);
                memset(b, 0xA5, MAX + 64);
                ot_lut8_ref(table, x + off, a + off, n);
                ot_lut8_avx2(table, x + off, b + off, n);
                assert_memory_equal(a, b, MAX + 64);   /* same bytes, nothing written past n */
                for (size_t i = 0; i < n; i++) assert_int_equal(a[off + i], table[x[off + i]]);
            }
    }
    /* in place, and the threaded entry point */
    memcpy(a, x, MAX);
    ot_lut8_avx2(table, a, a, MAX);
    for (size_t i = 0; i < MAX; i++) assert_int_equal(a[i], table[x[i]]);
    size_t big = (size_t)3 << 19 | 7;
    uint8_t *bx = malloc(big), *by = malloc(big);
    assert_non_null(bx);
    assert_non_null(by);
    for (size_t i = 0; i < big; i++) bx[i] = (uint8_t)(i * 131u + (i >> 9));
    ot_lut8(table, bx, by, (int64_t)big, 2);
    for (size_t i = 0; i < big; i++)
        if (by[i] != table[bx[i]]) fail_msg("ot_lut8 differs at %zu", i);
    free(bx);
    free(by);
    free(x);
    free(a);
    free(b);
}

/* ---------------------------------------------------------------- AVX2 HardSwish / HardSigmoid */

static void check_avx2_unary(const char *op, const un_params *c, const float *x, int n) {
    un_fn ref = ot_unary_f32_loop(op, false), vec = ot_unary_f32_loop(op, true);
    assert_non_null(ref);
    if (!vec) skip();
    float *a = malloc(sizeof(float) * (size_t)(n + 1)), *b = malloc(sizeof(float) * (size_t)(n + 1));
    assert_non_null(a);
    assert_non_null(b);
    for (int len = 0; len <= n; len += len < 40 ? 1 : 37) {   /* odd lengths and ragged tails */
        for (int s = 0; s + len <= n && s < 3; s++) {
            ref(c, len, a, x + s);
            vec(c, len, b, x + s);
            for (int i = 0; i < len; i++) {
                uint32_t ua, ub;
                memcpy(&ua, &a[i], 4);
                memcpy(&ub, &b[i], 4);
                if (ua != ub)
                    fail_msg("%s(%a): scalar %a (0x%08x), AVX2 %a (0x%08x), len %d", op, (double)x[s + i], (double)a[i],
                             ua, (double)b[i], ub, len);
            }
        }
    }
    free(a);
    free(b);
}

static void test_hard_avx2_vs_scalar(void **st) {
    (void)st;
    if (!have_avx2()) skip();
    enum { N = 1201 };
    float *x = malloc(sizeof(float) * N);
    assert_non_null(x);
    int n = 0;
    const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN,
                              1e-45f, -1e-45f, 1.0f, -1.0f, 0.5f, 6.0f, -6.0f, 2.5f, -2.5f, 5.0f, -5.0f};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) x[n++] = specials[i];
    const float corners[] = {-3.0f, 3.0f, 0.0f, -2.5f, 2.5f, 2.0f / 3.0f, -1.0f / 0.3f, 1.0f / 0.3f};
    for (size_t ci = 0; ci < sizeof corners / sizeof *corners; ci++) {   /* the ulps around each corner */
        float v = corners[ci];
        for (int k = 0; k < 8; k++) v = nextafterf(v, -INFINITY);
        for (int k = 0; k < 17; k++, v = nextafterf(v, INFINITY)) x[n++] = v;
    }
    while (n < N) {
        uint32_t r = rnd();
        x[n++] = (r & 3) ? ((float)(r % 2000001) / 1e5f - 10.0f) : ((float)(r % 1000) - 500.0f) * 1e3f;
    }
    un_params c = {0};
    check_avx2_unary("HardSwish", &c, x, N);
    const double ab[][2] = {{0.2, 0.5}, {1.0 / 6.0, 0.5}, {0.3, 0.4}, {-0.7, 0.1}, {2.0, -1.0}, {0.0, 0.25}};
    for (size_t i = 0; i < sizeof ab / sizeof *ab; i++) {
        c.alpha = (float)ab[i][0];
        c.beta = (float)ab[i][1];
        check_avx2_unary("HardSigmoid", &c, x, N);
    }
    free(x);
}

/* ---------------------------------------------------------------- fused == unfused */

typedef struct op_case {
    const char *op;
    int64_t opset;
    const char *attr_f[2];   /* float attributes */
    float attr_v[2];
    const char *attr_s;      /* Gelu's approximate */
    int clip;                /* Clip: 1 = min/max inputs, 2 = min only, 3 = max only */
} op_case;

static const op_case OPS[] = {
    {"HardSwish", 17, {0}, {0}, NULL, 0},
    {"HardSigmoid", 17, {0}, {0}, NULL, 0},
    {"HardSigmoid", 17, {"alpha", "beta"}, {0.31f, 0.42f}, NULL, 0},
    {"Tanh", 17, {0}, {0}, NULL, 0},
    {"Erf", 17, {0}, {0}, NULL, 0},
    {"Gelu", 20, {0}, {0}, NULL, 0},
    {"Gelu", 20, {0}, {0}, "tanh", 0},
    {"Elu", 17, {"alpha"}, {0.7f}, NULL, 0},
    {"Selu", 17, {0}, {0}, NULL, 0},
    {"Celu", 17, {"alpha"}, {1.3f}, NULL, 0},
    {"Softplus", 17, {0}, {0}, NULL, 0},
    {"Softsign", 17, {0}, {0}, NULL, 0},
    {"Mish", 18, {0}, {0}, NULL, 0},
    {"Exp", 17, {0}, {0}, NULL, 0},
    {"Log", 17, {0}, {0}, NULL, 0},
    {"Sqrt", 17, {0}, {0}, NULL, 0},
    {"Reciprocal", 17, {0}, {0}, NULL, 0},
    {"Sin", 17, {0}, {0}, NULL, 0},
    {"Cos", 17, {0}, {0}, NULL, 0},
    {"Tan", 17, {0}, {0}, NULL, 0},
    {"Asin", 17, {0}, {0}, NULL, 0},
    {"Acos", 17, {0}, {0}, NULL, 0},
    {"Atan", 17, {0}, {0}, NULL, 0},
    {"Sinh", 17, {0}, {0}, NULL, 0},
    {"Cosh", 17, {0}, {0}, NULL, 0},
    {"Asinh", 17, {0}, {0}, NULL, 0},
    {"Acosh", 17, {0}, {0}, NULL, 0},
    {"Atanh", 17, {0}, {0}, NULL, 0},
    {"Floor", 17, {0}, {0}, NULL, 0},
    {"Ceil", 17, {0}, {0}, NULL, 0},
    {"Round", 17, {0}, {0}, NULL, 0},
    {"Neg", 17, {0}, {0}, NULL, 0},
    {"Abs", 17, {0}, {0}, NULL, 0},
    {"Sign", 17, {0}, {0}, NULL, 0},
    {"Shrink", 17, {"lambd", "bias"}, {0.8f, 0.3f}, NULL, 0},
    {"ThresholdedRelu", 17, {"alpha"}, {0.6f}, NULL, 0},
    {"Relu", 17, {0}, {0}, NULL, 0},
    {"Clip", 17, {0}, {0}, NULL, 1},
    {"Clip", 17, {0}, {0}, NULL, 2},
    {"Clip", 17, {0}, {0}, NULL, 3},
    {"Clip", 10, {"min", "max"}, {-0.4f, 0.9f}, NULL, 0},
    /* with a QLinear twin, but not for mixed types: then a table */
    {"Sigmoid", 17, {0}, {0}, NULL, 0},
    {"LeakyRelu", 17, {"alpha"}, {0.13f}, NULL, 0},
};

typedef struct qp {
    float xs;
    int xz;
    float ys;
    int yz;
} qp;

static octet_tensor *scalar_t(octet_dtype dt, double v) {
    octet_tensor *t = ot_tensor_new(dt, 0, NULL);
    assert_non_null(t);
    ot_tensor_set_f64(t, 0, v);
    return t;
}

static void add_init(ot_graph *g, const char *name, octet_tensor *t) {
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}

static ot_node *add_node(ot_graph *g, const char *op, const char *name, int n_in, const char *const *in,
                         const char *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
    return n;
}

/* x [1, 256] -> DequantizeLinear -> op -> QuantizeLinear -> y; `omit_zp`: both zero points left out
 * (then X and Y are uint8 and X's type comes from the tensor). */
static octet_model *island(const op_case *oc, octet_dtype xt, octet_dtype yt, qp p, bool omit_zp) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    ot_model_set_opset(m, "", oc->opset);
    ot_graph *g = m->graph;
    int64_t d[2] = {1, 256};
    ot_graph_add_input(g, "x", xt, 2, d);
    ot_graph_add_output(g, "y", yt, 2, d);
    add_init(g, "xs", scalar_t(OCTET_FLOAT, p.xs));
    add_init(g, "ys", scalar_t(OCTET_FLOAT, p.ys));
    if (!omit_zp) {
        add_init(g, "xz", scalar_t(xt, p.xz));
        add_init(g, "yz", scalar_t(yt, p.yz));
    }
    add_node(g, "DequantizeLinear", "dq", omit_zp ? 2 : 3, (const char *[]){"x", "xs", "xz"}, "f");
    const char *ins[3] = {"f", "", ""};
    int n_in = 1;
    if (oc->clip) {
        add_init(g, "lo", scalar_t(OCTET_FLOAT, -0.37));
        add_init(g, "hi", scalar_t(OCTET_FLOAT, 0.81));
        ins[1] = oc->clip == 3 ? "" : "lo";
        ins[2] = oc->clip == 2 ? "" : "hi";
        n_in = oc->clip == 2 ? 2 : 3;
    }
    ot_node *op = add_node(g, oc->op, "op", n_in, ins, "g");
    for (int a = 0; a < 2; a++)
        if (oc->attr_f[a]) assert_int_equal(ot_node_add_attr_float(op, oc->attr_f[a], oc->attr_v[a]), OCTET_OK);
    if (oc->attr_s) assert_int_equal(ot_node_add_attr_string(op, "approximate", oc->attr_s), OCTET_OK);
    add_node(g, "QuantizeLinear", "q", omit_zp ? 2 : 3, (const char *[]){"g", "ys", "yz"}, "y");
    return m;
}

static int count_op(const ot_graph *g, const char *domain, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += strcmp(g->nodes[i]->op_type, op) == 0 && strcmp(g->nodes[i]->domain, domain) == 0;
    return c;
}

static octet_tensor *run_model(const octet_model *m, octet_tensor *x, bool literal, int threads) {
    octet_session_options o = {.threads = threads, .disable_graph_optimizations = literal};
    octet_session *s = NULL;
    if (octet_session_create(&s, m, &o) != OCTET_OK) fail_msg("session: %s", octet_last_error());
    octet_tensor *y = NULL;
    if (octet_session_run(s, NULL, &x, 1, &y, 1) != OCTET_OK) fail_msg("run: %s", octet_last_error());
    octet_session_free(s);
    return y;
}

static void check_island(const op_case *oc, octet_dtype xt, octet_dtype yt, qp p, bool omit_zp) {
    octet_model *m = island(oc, xt, yt, p, omit_zp);
    /* the session's graph: one QLinearLookup, nothing else */
    octet_model *opt = ot_model_clone(m);
    assert_non_null(opt);
    assert_int_equal(ot_session_optimize(opt, true), OCTET_OK);
    if (opt->graph->n_nodes != 1 || count_op(opt->graph, "ai.octet", "QLinearLookup") != 1)
        fail_msg("%s: %d nodes after fusion, first %s", oc->op, opt->graph->n_nodes, opt->graph->nodes[0]->op_type);
    octet_model_free(opt);
    int64_t d[2] = {1, 256};
    octet_tensor *x = ot_tensor_new(xt, 2, d);
    assert_non_null(x);
    for (int i = 0; i < 256; i++) ((uint8_t *)x->data)[i] = (uint8_t)(i * 97 + 13);   /* every code once */
    octet_tensor *want = run_model(m, x, true, 1);
    for (int threads = 1; threads <= 2; threads++) {
        octet_tensor *got = run_model(m, x, false, threads);
        assert_int_equal(got->dtype, yt);
        assert_int_equal(ot_tensor_numel(got), 256);
        for (int i = 0; i < 256; i++) {
            uint8_t a = ((uint8_t *)got->data)[i], b = ((uint8_t *)want->data)[i];
            if (a != b)
                fail_msg("%s %s->%s xs=%g xz=%d ys=%g yz=%d: code %d gives %d fused, %d literal", oc->op,
                         octet_dtype_name(xt), octet_dtype_name(yt), (double)p.xs, p.xz, (double)p.ys, p.yz,
                         xt == OCTET_INT8 ? (int8_t)((uint8_t *)x->data)[i] : ((uint8_t *)x->data)[i],
                         yt == OCTET_INT8 ? (int8_t)a : a, yt == OCTET_INT8 ? (int8_t)b : b);
        }
        octet_tensor_free(got);
    }
    octet_tensor_free(want);
    octet_tensor_free(x);
    octet_model_free(m);
}

static void test_fused_equals_literal(void **st) {
    (void)st;
    const octet_dtype types[4][2] = {
        {OCTET_UINT8, OCTET_UINT8}, {OCTET_INT8, OCTET_INT8}, {OCTET_UINT8, OCTET_INT8}, {OCTET_INT8, OCTET_UINT8}};
    for (size_t o = 0; o < sizeof OPS / sizeof *OPS; o++) {
        const op_case *oc = &OPS[o];
        bool twin = strcmp(oc->op, "Sigmoid") == 0 || strcmp(oc->op, "LeakyRelu") == 0;
        for (int t = twin ? 2 : 0; t < 4; t++) {   /* same types: the QLinear twin (qcontrib tests) */
            octet_dtype xt = types[t][0], yt = types[t][1];
            int xlo = xt == OCTET_INT8 ? -128 : 0, xhi = xlo + 255, ylo = yt == OCTET_INT8 ? -128 : 0, yhi = ylo + 255;
            const qp ps[] = {
                {3.0f / 127.0f, (xlo + xhi + 1) / 2, 2.0f / 255.0f, (ylo + yhi + 1) / 2},
                {0.0371f, xlo + 17, 0.0123f, yhi - 40},
                {1.0f / 64.0f, xlo, 1.0f / 128.0f, ylo},          /* zero points at the type's ends */
                {0.5f, xhi, 0.25f, yhi},
                {1e-30f, xlo + 3, 1e-32f, ylo + 200},            /* tiny scales: subnormal products */
                {3e36f, xhi - 9, 1e37f, ylo + 5},                /* huge scales: infinities saturate */
                {7.0f, xlo + 100, 1e-3f, ylo + 128},             /* most outputs saturate */
            };
            for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++) check_island(oc, xt, yt, ps[pi], false);
        }
        if (!twin) {
            check_island(oc, OCTET_UINT8, OCTET_UINT8, (qp){0.05f, 0, 0.02f, 0}, true);
            check_island(oc, OCTET_INT8, OCTET_UINT8, (qp){0.05f, 0, 0.02f, 0}, true);   /* X's type at run time */
        }
    }
}

/* ---------------------------------------------------------------- what is fused */

static int lookups_after(octet_model *m, bool portable) {
    ot_qdq_fuse_options o = {.portable = portable};
    int fused = 0;
    assert_int_equal(ot_pass_qdq_fuse(m, &o, &fused), OCTET_OK);
    return count_op(m->graph, "ai.octet", "QLinearLookup");
}

static void test_fusion_rules(void **st) {
    (void)st;
    qp p = {0.02f, 128, 0.01f, 100};
    const op_case hs = {"HardSwish", 17, {0}, {0}, NULL, 0};
    /* session: fused, with the op's attributes, type and opset; files (portable): left alone */
    octet_model *m = island(&OPS[2], OCTET_UINT8, OCTET_UINT8, p, false);
    assert_int_equal(lookups_after(m, false), 1);
    const ot_node *n = m->graph->nodes[0];
    assert_int_equal(m->graph->n_nodes, 1);
    assert_string_equal(n->op_type, "QLinearLookup");
    assert_string_equal(n->domain, "ai.octet");
    assert_string_equal(n->name, "op");
    assert_string_equal(ot_node_attr_string(n, "op_type", ""), "HardSigmoid");
    assert_int_equal(ot_node_attr_int(n, "opset", 0), 17);
    assert_true(ot_node_attr_float(n, "alpha", 0.0f) == 0.31f);
    assert_true(ot_model_opset(m, "ai.octet") >= 1);
    octet_model_free(m);
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, false);
    assert_int_equal(lookups_after(m, true), 0);
    assert_int_equal(count_op(m->graph, "", "HardSwish"), 1);
    octet_model_free(m);
    /* Clip with constant bounds: they become inputs 5 and 6; a bound fed at run time: not fused */
    m = island(&OPS[37], OCTET_INT8, OCTET_INT8, p, false);
    assert_int_equal(lookups_after(m, false), 1);
    assert_int_equal(m->graph->nodes[0]->n_inputs, 7);
    assert_string_equal(m->graph->nodes[0]->inputs[5], "lo");
    octet_model_free(m);
    m = island(&OPS[37], OCTET_INT8, OCTET_INT8, p, false);
    ot_graph_add_input(m->graph, "lo", OCTET_FLOAT, 0, NULL);   /* an initializer that can be overridden */
    assert_int_equal(lookups_after(m, false), 0);
    octet_model_free(m);
    /* per-axis output quantization: not a table */
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, false);
    int64_t two = 2;
    octet_tensor *s2 = ot_tensor_new(OCTET_FLOAT, 1, &two), *z2 = ot_tensor_new(OCTET_UINT8, 1, &two);
    ((float *)s2->data)[0] = ((float *)s2->data)[1] = 0.1f;
    add_init(m->graph, "ys2", s2);
    add_init(m->graph, "yz2", z2);
    ot_node *q = m->graph->nodes[2];
    assert_int_equal(ot_node_set_inputs(q, 3, (const char *[]){"g", "ys2", "yz2"}), OCTET_OK);
    assert_int_equal(ot_node_add_attr_int(q, "axis", 1), OCTET_OK);
    assert_int_equal(lookups_after(m, false), 0);
    octet_model_free(m);
    /* the op's float output also read elsewhere: not fused (the Q is not its only reader) */
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, false);
    ot_graph_add_output(m->graph, "g", OCTET_FLOAT, -1, NULL);
    add_node(m->graph, "Relu", "r", 1, (const char *[]){"g"}, "g2");
    assert_int_equal(lookups_after(m, false), 0);
    octet_model_free(m);
    /* no zero point: fused only when X is known to be 8-bit (an int32 input dequantizes too) */
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, true);
    m->graph->inputs[0].dtype = OCTET_INT32;
    assert_int_equal(lookups_after(m, false), 0);
    octet_model_free(m);
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, true);   /* X from a QuantizeLinear without zero point */
    m->graph->inputs[0].dtype = OCTET_FLOAT;
    assert_int_equal(ot_node_set_inputs(m->graph->nodes[0], 2, (const char *[]){"xq", "xs"}), OCTET_OK);
    add_node(m->graph, "QuantizeLinear", "qx", 2, (const char *[]){"x", "xs"}, "xq");
    assert_int_equal(lookups_after(m, false), 1);
    octet_model_free(m);
    /* a DequantizeLinear with another reader stays for it */
    m = island(&hs, OCTET_UINT8, OCTET_UINT8, p, false);
    ot_graph_add_output(m->graph, "f", OCTET_FLOAT, -1, NULL);
    assert_int_equal(lookups_after(m, false), 1);
    assert_int_equal(count_op(m->graph, "", "DequantizeLinear"), 1);
    octet_model_free(m);
}

/* QLinearConv -> lookup -> QLinearMul by a one-element constant -> QLinearConv: one channels-last group,
 * no layout change inside it. */
static void test_nhwc_chain(void **st) {
    (void)st;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 17);
    ot_graph *g = m->graph;
    int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {4, 4, 3, 3}, one = 1;
    ot_graph_add_input(g, "x", OCTET_UINT8, 4, xd);
    octet_tensor *w = ot_tensor_new(OCTET_INT8, 4, wd);
    memset(w->data, 1, (size_t)ot_tensor_numel(w));
    add_init(g, "w", w);
    add_init(g, "s", scalar_t(OCTET_FLOAT, 0.05));
    add_init(g, "z", scalar_t(OCTET_UINT8, 128));
    add_init(g, "ws", scalar_t(OCTET_FLOAT, 0.01));
    add_init(g, "wz", scalar_t(OCTET_INT8, 0));
    octet_tensor *k = ot_tensor_new(OCTET_UINT8, 1, &one);
    ((uint8_t *)k->data)[0] = 200;
    add_init(g, "k", k);
    const char *c1[8] = {"x", "s", "z", "w", "ws", "wz", "s", "z"}, *c2[8] = {"m", "s", "z", "w", "ws", "wz", "s", "z"};
    add_node(g, "QLinearConv", "c1", 8, c1, "a");
    ot_node *lk = ot_graph_add_node(g, "QLinearLookup", "ai.octet", "lk");
    assert_int_equal(ot_node_set_inputs(lk, 5, (const char *[]){"a", "s", "z", "s", "z"}), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(lk, 1, (const char *[]){"h"}), OCTET_OK);
    ot_node *mul = ot_graph_add_node(g, "QLinearMul", "com.microsoft", "mul");
    assert_int_equal(ot_node_set_inputs(mul, 8, (const char *[]){"k", "s", "z", "h", "s", "z", "s", "z"}), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(mul, 1, (const char *[]){"m"}), OCTET_OK);
    add_node(g, "QLinearConv", "c2", 8, c2, "y");
    ot_graph_add_output(g, "y", OCTET_UINT8, -1, NULL);
    int n = 0;
    assert_int_equal(ot_pass_int8_nhwc(m, &n), OCTET_OK);
    assert_int_equal(n, 4);
    assert_int_equal(count_op(g, "ai.octet", "NchwToNhwc"), 1);   /* x */
    assert_int_equal(count_op(g, "ai.octet", "NhwcToNchw"), 1);   /* y */
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->op_type, "QLinearMul") == 0) assert_string_equal(g->nodes[i]->inputs[0], "k");
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lut8_avx2_vs_ref),
        cmocka_unit_test(test_hard_avx2_vs_scalar),
        cmocka_unit_test(test_fused_equals_literal),
        cmocka_unit_test(test_fusion_rules),
        cmocka_unit_test(test_nhwc_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
