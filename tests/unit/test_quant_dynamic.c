/* Dynamic quantization (src/quant/dynamic.c) on small models built here, and the ai.octet
 * DynamicQuantizeGRU / DynamicQuantizeRNN ops (src/ops/octet_domain.c).
 *
 * Each model is run float and quantized in octet: the structure must be what docs/DYNAMIC.md says
 * (which ops, shared weights quantized once, float weights gone, excluded nodes float) and the relative
 * L2 error small. The quantized recurrent ops are also checked against a straightforward scalar
 * implementation of their definition written here (uint8 activations quantized per call, exact int32
 * products, one float scale) on odd sizes, every direction, linear_before_reset, sequence_lens,
 * per-channel/affine/uint8 weights. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "kernels/rnn_f32.h"
#include "ops/op.h"
#include "quant/dynamic.h"
#include "tensor/tensor.h"

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static float runif(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 100001) / 100000.0f; }

static octet_tensor *ftensor(int ndim, const int64_t *dims, float lo, float hi) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    assert_non_null(t);
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) ((float *)t->data)[i] = runif(lo, hi);
    return t;
}

static void init_f(ot_graph *g, const char *name, int ndim, const int64_t *dims, float lo, float hi) {
    assert_int_equal(ot_graph_add_initializer(g, name, ftensor(ndim, dims, lo, hi)), OCTET_OK);
}

static ot_node *node(ot_graph *g, const char *op, const char *name, int n_in, const char *const *in, int n_out,
                     const char *const *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, n_out, out), OCTET_OK);
    return n;
}

static octet_model *new_model(int opset) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    assert_int_equal(ot_model_set_opset(m, "", opset), OCTET_OK);
    return m;
}

/* Run m on inputs (graph order); returns output `which` (others freed). */
static octet_tensor *run(const octet_model *m, octet_tensor *const *in, int n_in, int which) {
    octet_session *s = NULL;
    octet_session_options o = {1, 0};
    if (octet_session_create(&s, m, &o) != OCTET_OK) fail_msg("session: %s", octet_last_error());
    int n_out = octet_model_output_count(m);
    octet_tensor *outs[8] = {0};
    if (octet_session_run(s, NULL, in, n_in, outs, n_out) != OCTET_OK) fail_msg("run: %s", octet_last_error());
    octet_session_free(s);
    for (int i = 0; i < n_out; i++)
        if (i != which) octet_tensor_free(outs[i]);
    return outs[which];
}

static double rel_l2(const octet_tensor *a, const octet_tensor *ref) {
    assert_int_equal(ot_tensor_numel(a), ot_tensor_numel(ref));
    double num = 0, den = 0;
    for (int64_t i = 0; i < ot_tensor_numel(a); i++) {
        double d = (double)((const float *)a->data)[i] - ((const float *)ref->data)[i];
        num += d * d;
        den += (double)((const float *)ref->data)[i] * ((const float *)ref->data)[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static double max_abs_diff(const octet_tensor *a, const octet_tensor *b) {
    double m = 0;
    for (int64_t i = 0; i < ot_tensor_numel(a); i++) {
        double d = fabs((double)((const float *)a->data)[i] - ((const float *)b->data)[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

static int count_ops(const ot_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        c += strcmp(n->op_type, op) == 0;
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) c += count_ops(n->attrs[a].g, op);
    }
    return c;
}

static const ot_dynamic_entry *entry(const ot_dynamic_report *r, const char *node) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->entries[i].node, node) == 0) return &r->entries[i];
    fail_msg("no report entry for %s", node);
    return NULL;
}

/* Quantize a clone of m with cfg, check it runs, return the relative error of output 0 vs float. */
static double dyn_error(const octet_model *m, const ot_dynamic_config *cfg, octet_tensor *const *in, int n_in,
                        ot_dynamic_report *rep, octet_model **qout) {
    octet_model *q = ot_model_clone(m);
    assert_non_null(q);
    if (ot_quantize_dynamic(q, cfg, rep) != OCTET_OK) fail_msg("quantize: %s", octet_last_error());
    octet_tensor *yf = run(m, in, n_in, 0), *yq = run(q, in, n_in, 0);
    double e = rel_l2(yq, yf);
    octet_tensor_free(yf);
    octet_tensor_free(yq);
    if (qout) *qout = q;
    else octet_model_free(q);
    return e;
}

static ot_dynamic_config cfg_with(bool contrib, bool per_channel, octet_dtype wt, bool sym) {
    ot_dynamic_config c = ot_dynamic_config_default();
    c.form = contrib ? OT_DYNAMIC_FORM_CONTRIB : OT_DYNAMIC_FORM_ONNX;
    c.per_channel = per_channel;
    c.weight_type = wt;
    c.symmetric_weights = sym;
    return c;
}

/* ---- MatMul ----------------------------------------------------------------------------------- */

/* x[M,K] -> MatMul(W[K,N]) -> y */
static octet_model *matmul_model(int64_t M, int64_t K, int64_t N) {
    octet_model *m = new_model(13);
    ot_graph *g = m->graph;
    int64_t xd[2] = {M, K}, wd[2] = {K, N}, yd[2] = {M, N};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, yd);
    init_f(g, "W", 2, wd, -0.5f, 0.5f);
    node(g, "MatMul", "mm", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"y"});
    return m;
}

static void test_matmul_forms(void **state) {
    (void)state;
    int64_t M = 5, K = 37, N = 23, xd[2] = {M, K};
    octet_model *m = matmul_model(M, K, N);
    octet_tensor *x = ftensor(2, xd, -2.0f, 2.0f);
    for (int v = 0; v < 16; v++) {
        bool contrib = v & 1, pc = v & 2, sym = !(v & 8);
        octet_dtype wt = (v & 4) ? OCTET_UINT8 : OCTET_INT8;
        ot_dynamic_config cfg = cfg_with(contrib, pc, wt, sym);
        ot_dynamic_report rep;
        octet_model *q = NULL;
        double e = dyn_error(m, &cfg, &x, 1, &rep, &q);
        if (e > 0.02) fail_msg("variant %d: relative error %g", v, e);
        assert_int_equal(rep.n, 1);
        assert_true(rep.entries[0].quantized);
        assert_int_equal(rep.n_weights, 1);
        assert_int_equal(count_ops(q->graph, "MatMul"), 0);
        assert_int_equal(count_ops(q->graph, "DynamicQuantizeMatMul"), contrib ? 1 : 0);
        assert_int_equal(count_ops(q->graph, "MatMulInteger"), contrib ? 0 : 1);
        assert_int_equal(count_ops(q->graph, "DynamicQuantizeLinear"), contrib ? 0 : 1);
        assert_null(ot_graph_find_initializer(q->graph, "W")); /* the float weight is gone */
        const ot_initializer *wq = ot_graph_find_initializer(q->graph, "W_quantized");
        assert_non_null(wq);
        assert_int_equal(wq->tensor->dtype, wt);
        assert_int_equal(wq->tensor->dims[0], K);
        assert_int_equal(wq->tensor->dims[1], N);
        const ot_initializer *sc = ot_graph_find_initializer(q->graph, "W_scale");
        assert_int_equal(ot_tensor_numel(sc->tensor), pc ? N : 1);
        assert_int_equal(rep.needs_contrib, contrib);
        assert_false(rep.needs_octet);
        assert_true(ot_model_opset(q, "com.microsoft") == (contrib ? 1 : 0));
        assert_true(rep.weight_bytes_after < rep.weight_bytes_before);
        ot_dynamic_report_free(&rep);
        octet_model_free(q);
    }
    octet_tensor_free(x);
    octet_model_free(m);
}

/* The int8 weights are what ot_calc_qparams says: symmetric per tensor, scale = max|w| / 127.5. */
/* DynamicQuantizeMatMul runs one or two rows through the int8 GEMV and more through qgemm: with every
 * row of x the same (so the dynamic quantization parameters do not change with the row count), each
 * output row must equal the one-row result bit for bit, at 1 and 2 threads, per-tensor and per-channel
 * weights, and a product big enough for the GEMV to split its columns among threads. */
static void test_matmul_row_paths(void **state) {
    (void)state;
    static const int64_t shapes[][2] = {{37, 23}, {301, 77}, {700, 401}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (int pc = 0; pc < 2; pc++) {
            int64_t K = shapes[si][0], N = shapes[si][1];
            octet_tensor *row = NULL;
            float *want = NULL;
            uint64_t seed = g_rng;
            for (int64_t M = 1; M <= 4; M++) {
                g_rng = seed;   /* the same weights for every row count */
                octet_model *m = matmul_model(M, K, N);
                ot_dynamic_config cfg = cfg_with(true, pc == 1, OCTET_INT8, true);
                assert_int_equal(ot_quantize_dynamic(m, &cfg, NULL), OCTET_OK);
                assert_int_equal(count_ops(m->graph, "DynamicQuantizeMatMul"), 1);
                int64_t xd[2] = {M, K};
                if (!row) row = ftensor(2, (int64_t[]){1, K}, -3.0f, 2.0f);
                octet_tensor *x = ot_tensor_new(OCTET_FLOAT, 2, xd);
                for (int64_t r = 0; r < M; r++) memcpy((float *)x->data + r * K, row->data, (size_t)K * sizeof(float));
                for (int threads = 1; threads <= 2; threads++) {
                    octet_session *s = NULL;
                    octet_session_options o = {threads, 0, 0};
                    if (octet_session_create(&s, m, &o) != OCTET_OK) fail_msg("session: %s", octet_last_error());
                    octet_tensor *y = NULL;
                    if (octet_session_run(s, NULL, &x, 1, &y, 1) != OCTET_OK) fail_msg("run: %s", octet_last_error());
                    octet_session_free(s);
                    if (!want) {
                        want = malloc((size_t)N * sizeof(float));
                        memcpy(want, y->data, (size_t)N * sizeof(float));
                    }
                    for (int64_t r = 0; r < M; r++)
                        if (memcmp((const float *)y->data + r * N, want, (size_t)N * sizeof(float)) != 0)
                            fail_msg("K=%lld N=%lld per_channel=%d M=%lld threads=%d: row %lld differs from the "
                                     "one-row result", (long long)K, (long long)N, pc, (long long)M, threads,
                                     (long long)r);
                    octet_tensor_free(y);
                }
                octet_tensor_free(x);
                octet_model_free(m);
            }
            octet_tensor_free(row);
            free(want);
        }
}

static void test_weight_values(void **state) {
    (void)state;
    float w[6] = {-1.0f, 0.5f, 0.25f, 1.275f, 0.0f, -0.01f};
    octet_tensor *q, *s, *z;
    assert_int_equal(ot_quantize_weights_kn(w, 1, 2, 3, OCTET_INT8, false, true, false, true, &q, &s, &z), OCTET_OK);
    float scale = *(float *)s->data;
    assert_float_equal(scale, 1.275f / 127.5f, 1e-9);
    assert_int_equal(s->ndim, 0);
    const int8_t *qv = q->data;
    int8_t want[6] = {-100, 50, 25, 127, 0, -1};
    for (int i = 0; i < 6; i++) assert_int_equal(qv[i], want[i]);
    assert_int_equal(*(int8_t *)z->data, 0);
    octet_tensor_free(q), octet_tensor_free(s), octet_tensor_free(z);
    /* per channel uint8 affine: column 1 = {0.5, 0.0}: range [0, 0.5] -> zp 0 */
    assert_int_equal(ot_quantize_weights_kn(w, 1, 2, 3, OCTET_UINT8, true, false, false, true, &q, &s, &z), OCTET_OK);
    assert_int_equal(s->ndim, 1);
    assert_int_equal(s->dims[0], 3);
    assert_float_equal(((float *)s->data)[1], 0.5f / 255.0f, 1e-9);
    assert_int_equal(((uint8_t *)z->data)[1], 0);
    assert_int_equal(((uint8_t *)q->data)[1], 255);
    assert_int_equal(((uint8_t *)q->data)[4], 0);
    /* column 0 = {-1, 1.275}: zp = round(1/scale) */
    float s0 = ((float *)s->data)[0];
    assert_float_equal(s0, 2.275f / 255.0f, 1e-7);
    assert_int_equal(((uint8_t *)z->data)[0], (int)lrintf(1.0f / s0));
    octet_tensor_free(q), octet_tensor_free(s), octet_tensor_free(z);
    /* reduce_range: 7 bits */
    assert_int_equal(ot_quantize_weights_kn(w, 1, 2, 3, OCTET_INT8, false, true, true, true, &q, &s, &z), OCTET_OK);
    assert_float_equal(*(float *)s->data, 1.275f / 63.5f, 1e-7);
    assert_int_equal(((int8_t *)q->data)[3], 63);
    octet_tensor_free(q), octet_tensor_free(s), octet_tensor_free(z);
    /* NaN refused */
    w[2] = NAN;
    assert_int_equal(ot_quantize_weights_kn(w, 1, 2, 3, OCTET_INT8, false, true, false, true, &q, &s, &z),
                     OCTET_ERR_INVALID_ARG);
}

/* ---- Gemm ------------------------------------------------------------------------------------- */

typedef struct {
    int transB;
    float alpha, beta;
    int c_kind;       /* 0 none, 1 const [N], 2 const [1,N], 3 const scalar, 4 const [M,N], 5 computed [M,N] */
    bool expect_quantized;
} gemm_case;

static void test_gemm(void **state) {
    (void)state;
    int64_t M = 6, K = 19, N = 13;
    const gemm_case cases[] = {
        {0, 1.0f, 1.0f, 0, true},  {1, 1.0f, 1.0f, 1, true},  {1, 0.5f, 1.0f, 1, true},  {0, 0.3f, 2.0f, 2, true},
        {1, 1.0f, -1.5f, 3, true}, {0, 2.0f, 0.5f, 4, true},  {1, 1.0f, 1.0f, 5, true},  {1, 1.0f, 2.0f, 5, false},
        {1, 1.0f, 0.0f, 1, true},  {0, -0.75f, 1.0f, 2, true},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const gemm_case *gc = &cases[ci];
        for (int form = 0; form < 2; form++) {
            octet_model *m = new_model(13);
            ot_graph *g = m->graph;
            int64_t xd[2] = {M, K}, yd[2] = {M, N}, wd[2] = {gc->transB ? N : K, gc->transB ? K : N};
            ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
            ot_graph_add_output(g, "y", OCTET_FLOAT, 2, yd);
            init_f(g, "W", 2, wd, -0.4f, 0.4f);
            int64_t n1 = N, row[2] = {1, N}, mn[2] = {M, N};
            const char *cn = "";
            switch (gc->c_kind) {
            case 1: init_f(g, "C", 1, &n1, -1, 1), cn = "C"; break;
            case 2: init_f(g, "C", 2, row, -1, 1), cn = "C"; break;
            case 3: init_f(g, "C", 0, NULL, -1, 1), cn = "C"; break;
            case 4: init_f(g, "C", 2, mn, -1, 1), cn = "C"; break;
            case 5:
                ot_graph_add_input(g, "c_in", OCTET_FLOAT, 2, mn);
                node(g, "Relu", "relu", 1, (const char *[]){"c_in"}, 1, (const char *[]){"C"});
                cn = "C";
                break;
            default: break;
            }
            ot_node *n = node(g, "Gemm", "gemm", cn[0] ? 3 : 2, (const char *[]){"x", "W", cn}, 1, (const char *[]){"y"});
            ot_node_add_attr_int(n, "transB", gc->transB);
            ot_node_add_attr_float(n, "alpha", gc->alpha);
            ot_node_add_attr_float(n, "beta", gc->beta);
            octet_tensor *in[2] = {ftensor(2, xd, -1.5f, 1.5f), ftensor(2, mn, -1, 1)};
            ot_dynamic_config cfg = cfg_with(form == 0, ci % 2 == 1, OCTET_INT8, true);
            ot_dynamic_report rep;
            octet_model *q = NULL;
            double e = dyn_error(m, &cfg, in, gc->c_kind == 5 ? 2 : 1, &rep, &q);
            const ot_dynamic_entry *en = entry(&rep, "gemm");
            if (en->quantized != gc->expect_quantized)
                fail_msg("case %zu form %d: quantized %d (%s)", ci, form, en->quantized, en->reason ? en->reason : "");
            if (gc->expect_quantized) {
                if (e > 0.02) fail_msg("case %zu form %d: error %g", ci, form, e);
                assert_int_equal(count_ops(q->graph, "Gemm"), 0);
                if (gc->alpha != 1.0f) assert_non_null(strstr(en->reason, "alpha"));
            } else {
                assert_true(e == 0.0);
                assert_int_equal(count_ops(q->graph, "Gemm"), 1);
                assert_non_null(strstr(en->reason, "beta"));
            }
            ot_dynamic_report_free(&rep);
            octet_model_free(q);
            octet_tensor_free(in[0]);
            octet_tensor_free(in[1]);
            octet_model_free(m);
        }
    }
}

static void test_gemm_transA_and_excluded(void **state) {
    (void)state;
    octet_model *m = new_model(13);
    ot_graph *g = m->graph;
    int64_t xd[2] = {7, 5}, wd[2] = {7, 4}, yd[2] = {5, 4};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, yd);
    ot_graph_add_output(g, "y2", OCTET_FLOAT, 2, yd);
    ot_graph_add_output(g, "y3", OCTET_FLOAT, 2, yd);
    init_f(g, "W", 2, wd, -1, 1);
    int64_t w2d[2] = {5, 4};
    init_f(g, "W2", 2, w2d, -1, 1);
    ot_node *n = node(g, "Gemm", "ta", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"y"});
    ot_node_add_attr_int(n, "transA", 1);
    node(g, "Transpose", "t", 1, (const char *[]){"x"}, 1, (const char *[]){"xt"});
    node(g, "MatMul", "keep_me", 2, (const char *[]){"xt", "W2"}, 1, (const char *[]){"y2"});
    node(g, "MatMul", "mm", 2, (const char *[]){"xt", "W2"}, 1, (const char *[]){"y3"});
    const char *ex[1] = {"keep_me"};
    ot_dynamic_config cfg = ot_dynamic_config_default();
    cfg.exclude = ex;
    cfg.n_exclude = 1;
    ot_dynamic_report rep;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, &rep), OCTET_OK);
    assert_false(entry(&rep, "ta")->quantized);
    assert_non_null(strstr(entry(&rep, "ta")->reason, "transA"));
    assert_false(entry(&rep, "keep_me")->quantized);
    assert_string_equal(entry(&rep, "keep_me")->reason, "excluded");
    assert_true(entry(&rep, "mm")->quantized);
    /* W2 still read by the excluded float MatMul: both copies stay */
    assert_non_null(ot_graph_find_initializer(g, "W2"));
    assert_non_null(ot_graph_find_initializer(g, "W2_quantized"));
    assert_int_equal(count_ops(g, "MatMul"), 1);
    ot_dynamic_report_free(&rep);
    octet_model_free(m);

    /* excluding an op type; and --ops without MatMul */
    m = matmul_model(3, 4, 5);
    const char *ex2[1] = {"MatMul"};
    cfg.exclude = ex2;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, &rep), OCTET_OK);
    assert_int_equal(rep.n_quantized, 0);
    assert_int_equal(count_ops(m->graph, "MatMul"), 1);
    ot_dynamic_report_free(&rep);
    cfg.n_exclude = 0;
    const char *ops[1] = {"LSTM"};
    cfg.op_types = ops;
    cfg.n_op_types = 1;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, &rep), OCTET_OK);
    assert_int_equal(rep.n_quantized, 0);
    assert_string_equal(rep.entries[0].reason, "op type not selected");
    ot_dynamic_report_free(&rep);
    /* bad configurations */
    const char *bad[1] = {"Softmax"};
    cfg.op_types = bad;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, NULL), OCTET_ERR_INVALID_ARG);
    cfg = ot_dynamic_config_default();
    cfg.weight_type = OCTET_FLOAT;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, NULL), OCTET_ERR_INVALID_ARG);
    octet_model_free(m);
}

/* ---- shared weights, Constant nodes, computed weights -------------------------------------------- */

static void test_shared_and_constant_weights(void **state) {
    (void)state;
    for (int form = 0; form < 2; form++) {
        octet_model *m = new_model(13);
        ot_graph *g = m->graph;
        int64_t xd[2] = {4, 9}, wd[2] = {9, 9}, yd[2] = {4, 9};
        ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
        ot_graph_add_output(g, "y", OCTET_FLOAT, 2, yd);
        init_f(g, "W", 2, wd, -0.6f, 0.6f);
        /* a weight held in a Constant node, and one computed from constants (Transpose of a Constant) */
        ot_node *c1 = node(g, "Constant", "c1", 0, NULL, 1, (const char *[]){"Wc"});
        ot_node_add_attr_tensor(c1, "value", ftensor(2, wd, -0.6f, 0.6f));
        ot_node *c2 = node(g, "Constant", "c2", 0, NULL, 1, (const char *[]){"Wt_src"});
        ot_node_add_attr_tensor(c2, "value", ftensor(2, wd, -0.6f, 0.6f));
        node(g, "Transpose", "tr", 1, (const char *[]){"Wt_src"}, 1, (const char *[]){"Wt"});
        node(g, "MatMul", "m1", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"h1"});
        node(g, "Relu", "r1", 1, (const char *[]){"h1"}, 1, (const char *[]){"a1"});
        node(g, "MatMul", "m2", 2, (const char *[]){"a1", "W"}, 1, (const char *[]){"h2"}); /* same W */
        ot_node *gm = node(g, "Gemm", "g3", 2, (const char *[]){"h2", "W"}, 1, (const char *[]){"h3"}); /* same W, KN */
        (void)gm;
        node(g, "MatMul", "m4", 2, (const char *[]){"h3", "Wc"}, 1, (const char *[]){"h4"});
        node(g, "MatMul", "m5", 2, (const char *[]){"h4", "Wt"}, 1, (const char *[]){"y"});
        octet_tensor *x = ftensor(2, xd, -1, 1);
        ot_dynamic_config cfg = cfg_with(form == 0, false, OCTET_INT8, true);
        ot_dynamic_report rep;
        octet_model *q = NULL;
        double e = dyn_error(m, &cfg, &x, 1, &rep, &q);
        if (e > 0.05) fail_msg("form %d: error %g", form, e);
        assert_int_equal(rep.n_quantized, 5);
        assert_int_equal(rep.n_weights, 3); /* W once for m1, m2, g3 */
        assert_true(rep.folded_constants >= 1);
        assert_int_equal(count_ops(q->graph, "Constant"), 0);
        assert_int_equal(count_ops(q->graph, "Transpose"), 0);
        assert_null(ot_graph_find_initializer(q->graph, "W"));
        /* onnx form: one DynamicQuantizeLinear per activation: x, a1, h2, h3, h4 */
        if (form == 1) assert_int_equal(count_ops(q->graph, "DynamicQuantizeLinear"), 5);
        int n8 = 0;
        for (int i = 0; i < q->graph->n_inits; i++) n8 += q->graph->inits[i].tensor->dtype == OCTET_INT8 && q->graph->inits[i].tensor->ndim == 2;
        assert_int_equal(n8, 3);
        ot_dynamic_report_free(&rep);
        octet_model_free(q);
        octet_tensor_free(x);
        octet_model_free(m);
    }
}

/* Two MatMuls reading the same activation in the onnx form share one DynamicQuantizeLinear; a MatMul
 * whose B is computed stays float. */
static void test_activation_sharing(void **state) {
    (void)state;
    octet_model *m = new_model(13);
    ot_graph *g = m->graph;
    int64_t xd[2] = {8, 8}, wd[2] = {8, 8};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, xd);
    init_f(g, "Wa", 2, wd, -1, 1);
    init_f(g, "Wb", 2, wd, -1, 1);
    node(g, "MatMul", "qa", 2, (const char *[]){"x", "Wa"}, 1, (const char *[]){"a"});
    node(g, "MatMul", "qb", 2, (const char *[]){"x", "Wb"}, 1, (const char *[]){"b"});
    node(g, "Transpose", "t", 1, (const char *[]){"b"}, 1, (const char *[]){"bt"});
    node(g, "MatMul", "ab", 2, (const char *[]){"a", "bt"}, 1, (const char *[]){"y0"});
    node(g, "MatMul", "yy", 2, (const char *[]){"y0", "Wa"}, 1, (const char *[]){"y1"});
    node(g, "Identity", "id", 1, (const char *[]){"y1"}, 1, (const char *[]){"y"});
    (void)g;
    octet_tensor *x = ftensor(2, xd, -1, 1);
    ot_dynamic_config cfg = cfg_with(false, false, OCTET_INT8, true);
    ot_dynamic_report rep;
    octet_model *q = NULL;
    double e = dyn_error(m, &cfg, &x, 1, &rep, &q);
    if (e > 0.05) fail_msg("error %g", e);
    assert_int_equal(count_ops(q->graph, "DynamicQuantizeLinear"), 2); /* x once, y0 */
    assert_false(entry(&rep, "ab")->quantized);
    assert_non_null(strstr(entry(&rep, "ab")->reason, "not a constant"));
    assert_int_equal(rep.n_weights, 2);
    ot_dynamic_report_free(&rep);
    octet_model_free(q);
    octet_tensor_free(x);
    octet_model_free(m);
}

/* ---- If subgraphs ----------------------------------------------------------------------------- */

static void add_graph_attr(ot_node *n, const char *name, ot_graph *sub) {
    assert_int_equal(ot_node_add_attr_int(n, name, 0), OCTET_OK);
    ot_attr *a = &n->attrs[n->n_attrs - 1];
    a->type = OT_ATTR_GRAPH;
    a->g = sub;
}

/* If(cond): then = MatMul with a weight of the main graph; else = a nested If whose branches hold a
 * MatMul on the else branch's own weight and one on the main graph's weight again. */
static void test_if_branches(void **state) {
    (void)state;
    octet_model *m = new_model(13);
    ot_graph *g = m->graph;
    int64_t xd[2] = {2, 11}, wd[2] = {11, 6}, yd[2] = {2, 6};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
    ot_graph_add_input(g, "cond", OCTET_BOOL, 0, NULL);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, yd);
    init_f(g, "W_outer", 2, wd, -1, 1);
    ot_graph *tb = ot_graph_new("then"), *eb = ot_graph_new("else");
    ot_graph_add_output(tb, "yt", OCTET_FLOAT, 2, yd);
    node(tb, "MatMul", "then_mm", 2, (const char *[]){"x", "W_outer"}, 1, (const char *[]){"yt"});
    ot_graph_add_output(eb, "ye", OCTET_FLOAT, 2, yd);
    init_f(eb, "W_inner", 2, wd, -1, 1);
    ot_graph *nt = ot_graph_new("nested_then"), *ne = ot_graph_new("nested_else");
    ot_graph_add_output(nt, "ynt", OCTET_FLOAT, 2, yd);
    node(nt, "MatMul", "nested_mm", 2, (const char *[]){"x", "W_inner"}, 1, (const char *[]){"ynt"});
    ot_graph_add_output(ne, "yne", OCTET_FLOAT, 2, yd);
    node(ne, "MatMul", "nested_mm2", 2, (const char *[]){"x", "W_outer"}, 1, (const char *[]){"yne"});
    ot_node *nif = node(eb, "If", "nested_if", 1, (const char *[]){"cond"}, 1, (const char *[]){"ye0"});
    add_graph_attr(nif, "then_branch", nt);
    add_graph_attr(nif, "else_branch", ne);
    node(eb, "Neg", "neg", 1, (const char *[]){"ye0"}, 1, (const char *[]){"ye"});
    ot_node *top = node(g, "If", "top_if", 1, (const char *[]){"cond"}, 1, (const char *[]){"y"});
    add_graph_attr(top, "then_branch", tb);
    add_graph_attr(top, "else_branch", eb);

    for (int form = 0; form < 2; form++) {
        octet_model *q = ot_model_clone(m);
        ot_dynamic_config cfg = cfg_with(form == 0, form == 1, OCTET_INT8, true);
        ot_dynamic_report rep;
        assert_int_equal(ot_quantize_dynamic(q, &cfg, &rep), OCTET_OK);
        assert_int_equal(rep.n_quantized, 3);
        assert_int_equal(rep.n_weights, 2); /* W_outer once for both of its readers */
        assert_string_equal(entry(&rep, "nested_mm")->graph, "top_if.else_branch/nested_if.then_branch");
        assert_string_equal(entry(&rep, "then_mm")->graph, "top_if.then_branch");
        /* each quantized weight lives where its float tensor lived */
        assert_null(ot_graph_find_initializer(q->graph, "W_outer"));
        assert_non_null(ot_graph_find_initializer(q->graph, "W_outer_quantized"));
        const ot_graph *qeb = q->graph->nodes[0]->attrs[1].g;
        assert_null(ot_graph_find_initializer(qeb, "W_inner"));
        assert_non_null(ot_graph_find_initializer(qeb, "W_inner_quantized"));
        assert_int_equal(count_ops(q->graph, "MatMul"), 0);
        for (int cv = 0; cv < 2; cv++) {
            octet_tensor *in[2] = {ftensor(2, xd, -1, 1), ot_tensor_new(OCTET_BOOL, 0, NULL)};
            *(uint8_t *)in[1]->data = (uint8_t)cv;
            octet_tensor *yf = run(m, in, 2, 0), *yq = run(q, in, 2, 0);
            double e = rel_l2(yq, yf);
            if (e > 0.03) fail_msg("form %d cond %d: error %g", form, cv, e);
            octet_tensor_free(yf), octet_tensor_free(yq), octet_tensor_free(in[0]), octet_tensor_free(in[1]);
        }
        /* a save/load round trip keeps it runnable (opsets, domains, subgraph initializers) */
        char path[] = "/tmp/octet_test_dyn_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(octet_model_save(q, path), OCTET_OK);
        octet_model *r = NULL;
        assert_int_equal(octet_model_load(&r, path), OCTET_OK);
        unlink(path);
        octet_tensor *in[2] = {ftensor(2, xd, -1, 1), ot_tensor_new(OCTET_BOOL, 0, NULL)};
        octet_tensor *a = run(q, in, 2, 0), *b = run(r, in, 2, 0);
        assert_true(max_abs_diff(a, b) == 0.0);
        octet_tensor_free(a), octet_tensor_free(b), octet_tensor_free(in[0]), octet_tensor_free(in[1]);
        octet_model_free(r);
        ot_dynamic_report_free(&rep);
        octet_model_free(q);
    }
    octet_model_free(m);
}

/* ---- recurrent ops ------------------------------------------------------------------------------ */

typedef struct {
    int gates;            /* 4 LSTM, 3 GRU, 1 RNN */
    int64_t T, B, I, H;
    const char *direction;
    bool lbr, with_b, with_h0, with_lens, per_channel, sym, clip;
    octet_dtype wt;
    const char *act;      /* RNN activation or NULL */
} rec_case;

static int64_t n_dirs(const rec_case *c) { return strcmp(c->direction, "bidirectional") == 0 ? 2 : 1; }

/* X [T,B,I] (+ h0) -> LSTM/GRU/RNN -> Y, Y_h */
static octet_model *rec_model(const rec_case *c) {
    octet_model *m = new_model(14);
    ot_graph *g = m->graph;
    int64_t nd = n_dirs(c), GH = c->gates * c->H;
    int64_t xd[3] = {c->T, c->B, c->I}, wd[3] = {nd, GH, c->I}, rd[3] = {nd, GH, c->H}, bd[2] = {nd, 2 * GH},
            hd[3] = {nd, c->B, c->H}, yd[4] = {c->T, nd, c->B, c->H};
    ot_graph_add_input(g, "X", OCTET_FLOAT, 3, xd);
    if (c->with_h0) ot_graph_add_input(g, "h0", OCTET_FLOAT, 3, hd);
    ot_graph_add_output(g, "Y", OCTET_FLOAT, 4, yd);
    ot_graph_add_output(g, "Y_h", OCTET_FLOAT, 3, hd);
    init_f(g, "W", 3, wd, -0.6f, 0.6f);
    init_f(g, "R", 3, rd, -0.6f, 0.6f);
    if (c->with_b) init_f(g, "B", 2, bd, -0.3f, 0.3f);
    if (c->with_lens) {
        int64_t bb = c->B;
        octet_tensor *l = ot_tensor_new(OCTET_INT32, 1, &bb);
        for (int64_t b = 0; b < bb; b++) ((int32_t *)l->data)[b] = (int32_t)(b % 3 == 1 ? c->T / 2 : (b % 3 == 2 ? 0 : c->T));
        ot_graph_add_initializer(g, "lens", l);
    }
    const char *op = c->gates == 4 ? "LSTM" : (c->gates == 3 ? "GRU" : "RNN");
    const char *in[6] = {"X", "W", "R", c->with_b ? "B" : "", c->with_lens ? "lens" : "", c->with_h0 ? "h0" : ""};
    ot_node *n = node(g, op, "rec", 6, in, 2, (const char *[]){"Y", "Y_h"});
    ot_node_add_attr_string(n, "direction", c->direction);
    ot_node_add_attr_int(n, "hidden_size", c->H);
    if (c->lbr) ot_node_add_attr_int(n, "linear_before_reset", 1);
    if (c->clip) ot_node_add_attr_float(n, "clip", 0.8f);
    if (c->act) {
        assert_int_equal(ot_node_add_attr_ints(n, "activations", NULL, 0), OCTET_OK);
        ot_attr *a = &n->attrs[n->n_attrs - 1];
        free(a->ints);
        a->ints = NULL;
        a->type = OT_ATTR_STRINGS;
        a->n = (size_t)nd;
        a->strings = calloc(2, sizeof *a->strings);
        for (int64_t d = 0; d < nd; d++) a->strings[d] = strdup(c->act);
    }
    return m;
}

/* DynamicQuantizeLinear's uint8 quantization of a whole buffer. */
static void ref_dynq(const float *x, int64_t n, uint8_t *q, float *scale, int32_t *zp) {
    float mn = 0.0f, mx = 0.0f;
    for (int64_t i = 0; i < n; i++) mn = x[i] < mn ? x[i] : mn, mx = x[i] > mx ? x[i] : mx;
    float s = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float z = nearbyintf(fminf(255.0f, fmaxf(0.0f, 0.0f - mn / s)));
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] / s) + z;
        q[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
    *scale = s;
    *zp = (int32_t)z;
}

static int32_t wq_at(const octet_tensor *w, int64_t i) {
    return w->dtype == OCTET_INT8 ? ((const int8_t *)w->data)[i] : ((const uint8_t *)w->data)[i];
}

/* out[m, n] = (float)sum_k (qa - za)(w[d][k][col0+n] - zw) * (sa * sw[col0+n]) for the columns of one
 * direction of a [dirs, K, GH] weight. */
static void ref_qmm(const uint8_t *qa, int32_t za, float sa, int64_t M, int64_t K, const octet_tensor *w,
                    const octet_tensor *ws, const octet_tensor *wz, int64_t d, int64_t GH, int64_t col0, int64_t ncol,
                    float *out, int64_t ldo) {
    bool pc = ws->ndim == 2;
    for (int64_t mm = 0; mm < M; mm++)
        for (int64_t n = 0; n < ncol; n++) {
            int64_t col = col0 + n, si = pc ? d * GH + col : d;
            int32_t zw = (int32_t)ot_tensor_get_i64(wz, si);
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++) acc += ((int32_t)qa[mm * K + k] - za) * (wq_at(w, (d * K + k) * GH + col) - zw);
            out[mm * ldo + n] = (float)acc * (sa * ((const float *)ws->data)[si]);
        }
}

static void ref_act(const char *a, float *x, int n) {
    if (!a || strcmp(a, "Tanh") == 0) ot_rnn_tanh(x, n);
    else if (strcmp(a, "Sigmoid") == 0) ot_rnn_sigmoid(x, n);
    else if (strcmp(a, "Relu") == 0)
        for (int i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
    else fail_msg("activation %s not in the reference", a);
}

static void ref_clip(const rec_case *c, float *x, int64_t n) {
    for (int64_t i = 0; c->clip && i < n; i++) x[i] = fmaxf(-0.8f, fminf(0.8f, x[i]));
}

/* The definition of DynamicQuantizeGRU / DynamicQuantizeRNN (docs/DYNAMIC.md), step by step. */
static void ref_qrec(const rec_case *c, const octet_tensor *X, const octet_tensor *W, const octet_tensor *R,
                     const octet_tensor *Bi, const octet_tensor *lens_t, const octet_tensor *h0, const octet_tensor *Ws,
                     const octet_tensor *Wz, const octet_tensor *Rs, const octet_tensor *Rz, float *Y, float *Yh) {
    int64_t T = c->T, B = c->B, I = c->I, H = c->H, nd = n_dirs(c), GH = c->gates * H;
    bool gru = c->gates == 3;
    uint8_t *xq = malloc((size_t)(T * B * I) + 1);
    float xs;
    int32_t xz;
    ref_dynq(X->data, T * B * I, xq, &xs, &xz);
    float *xw = malloc(sizeof(float) * (size_t)(T * B * GH));
    float *h = malloc(sizeof(float) * (size_t)(B * H)), *g = malloc(sizeof(float) * (size_t)(B * GH));
    float *rec = malloc(sizeof(float) * (size_t)(B * GH)), *tmp = calloc((size_t)(B * H), sizeof(float));
    uint8_t *hq = malloc((size_t)(B * H) + 1);
    memset(Y, 0, sizeof(float) * (size_t)(T * nd * B * H));
    for (int64_t d = 0; d < nd; d++) {
        bool rev = d == 1 || strcmp(c->direction, "reverse") == 0;
        ref_qmm(xq, xz, xs, T * B, I, W, Ws, Wz, d, GH, 0, GH, xw, GH);
        for (int64_t r = 0; r < T * B; r++)
            for (int64_t j = 0; j < GH; j++) {
                const float *bb = Bi ? (const float *)Bi->data + d * 2 * GH : NULL;
                float bias = bb ? bb[j] + ((gru && c->lbr && j >= 2 * H) ? 0.0f : bb[GH + j]) : 0.0f;
                xw[r * GH + j] += bias;
            }
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) h[b * H + j] = h0 ? ((const float *)h0->data)[(d * B + b) * H + j] : 0.0f;
        int64_t maxl = 0;
        for (int64_t b = 0; b < B; b++) {
            int64_t l = lens_t ? ot_tensor_get_i64(lens_t, b) : T;
            maxl = l > maxl ? l : maxl;
        }
        for (int64_t s = 0; s < maxl; s++) {
            float hs;
            int32_t hz;
            ref_dynq(h, B * H, hq, &hs, &hz);
            int64_t ncol = gru && !c->lbr ? 2 * H : GH;
            ref_qmm(hq, hz, hs, B, H, R, Rs, Rz, d, GH, 0, ncol, rec, GH);
            for (int64_t b = 0; b < B; b++) {
                int64_t l = lens_t ? ot_tensor_get_i64(lens_t, b) : T;
                bool on = s < l;
                int64_t t = on ? (rev ? l - 1 - s : s) : 0;
                for (int64_t j = 0; j < GH; j++) g[b * GH + j] = on ? xw[(t * B + b) * GH + j] : 0.0f;
                if (!on) {
                    memset(tmp + b * H, 0, sizeof(float) * (size_t)H);
                    continue;
                }
                if (!gru) {
                    for (int64_t j = 0; j < H; j++) g[b * GH + j] += rec[b * GH + j];
                    ref_clip(c, g + b * GH, H);
                    ref_act(c->act, g + b * GH, (int)H);
                    memcpy(h + b * H, g + b * GH, sizeof(float) * (size_t)H);
                    continue;
                }
                for (int64_t j = 0; j < 2 * H; j++) g[b * GH + j] += rec[b * GH + j];
                ref_clip(c, g + b * GH, 2 * H);
                ot_rnn_sigmoid(g + b * GH, (int)(2 * H));
                for (int64_t j = 0; j < H; j++) tmp[b * H + j] = g[b * GH + H + j] * h[b * H + j];
            }
            if (gru) {
                if (!c->lbr) {
                    ref_dynq(tmp, B * H, hq, &hs, &hz);
                    ref_qmm(hq, hz, hs, B, H, R, Rs, Rz, d, GH, 2 * H, H, rec, GH);
                }
                for (int64_t b = 0; b < B; b++) {
                    int64_t l = lens_t ? ot_tensor_get_i64(lens_t, b) : T;
                    if (s >= l) continue;
                    float *z = g + b * GH, *hh = z + 2 * H;
                    const float *rbh = Bi ? (const float *)Bi->data + d * 2 * GH + GH + 2 * H : NULL;
                    for (int64_t j = 0; j < H; j++) {
                        if (c->lbr) hh[j] += z[H + j] * (rec[b * GH + 2 * H + j] + (rbh ? rbh[j] : 0.0f));
                        else hh[j] += rec[b * GH + j];
                    }
                    ref_clip(c, hh, H);
                    ot_rnn_tanh(hh, (int)H);
                    for (int64_t j = 0; j < H; j++) h[b * H + j] = (1.0f - z[j]) * hh[j] + z[j] * h[b * H + j];
                }
            }
            for (int64_t b = 0; b < B; b++) {
                int64_t l = lens_t ? ot_tensor_get_i64(lens_t, b) : T;
                if (s >= l) continue;
                int64_t t = rev ? l - 1 - s : s;
                memcpy(Y + ((t * nd + d) * B + b) * H, h + b * H, sizeof(float) * (size_t)H);
            }
        }
        for (int64_t b = 0; b < B; b++) {
            int64_t l = lens_t ? ot_tensor_get_i64(lens_t, b) : T;
            for (int64_t j = 0; j < H; j++) Yh[(d * B + b) * H + j] = l > 0 ? h[b * H + j] : 0.0f;
        }
    }
    free(xq), free(xw), free(h), free(g), free(rec), free(tmp), free(hq);
}

static const octet_tensor *init_of(const ot_graph *g, const char *name) {
    if (!name || !name[0]) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

static void check_recurrent(const rec_case *c, int idx) {
    octet_model *m = rec_model(c);
    int64_t nd = n_dirs(c), GH = c->gates * c->H;
    int64_t xd[3] = {c->T, c->B, c->I}, hd[3] = {nd, c->B, c->H};
    octet_tensor *in[2] = {ftensor(3, xd, -2, 2), ftensor(3, hd, -0.5f, 0.5f)};
    ot_dynamic_config cfg = cfg_with(true, c->per_channel, c->wt, c->sym);
    ot_dynamic_report rep;
    octet_model *q = ot_model_clone(m);
    assert_int_equal(ot_quantize_dynamic(q, &cfg, &rep), OCTET_OK);
    const char *want = c->gates == 4 ? "DynamicQuantizeLSTM" : (c->gates == 3 ? "DynamicQuantizeGRU" : "DynamicQuantizeRNN");
    assert_int_equal(rep.n_quantized, 1);
    assert_int_equal(count_ops(q->graph, want), 1);
    const ot_node *qn = NULL;
    for (int i = 0; i < q->graph->n_nodes; i++)
        if (strcmp(q->graph->nodes[i]->op_type, want) == 0) qn = q->graph->nodes[i];
    assert_string_equal(qn->domain, c->gates == 4 ? "com.microsoft" : "ai.octet");
    assert_int_equal(ot_node_attr_int(qn, "hidden_size", -1), c->H);
    int base = c->gates == 4 ? 8 : 6;
    assert_int_equal(qn->n_inputs, base + 4);
    const octet_tensor *Wq = init_of(q->graph, qn->inputs[1]), *Rq = init_of(q->graph, qn->inputs[2]);
    assert_non_null(Wq);
    assert_int_equal(Wq->dtype, c->wt);
    assert_int_equal(Wq->dims[0], nd);
    assert_int_equal(Wq->dims[1], c->I); /* transposed: [dirs, input, G*hidden] */
    assert_int_equal(Wq->dims[2], GH);
    assert_int_equal(Rq->dims[1], c->H);
    const octet_tensor *Ws = init_of(q->graph, qn->inputs[base]), *Wz = init_of(q->graph, qn->inputs[base + 1]);
    const octet_tensor *Rs = init_of(q->graph, qn->inputs[base + 2]), *Rz = init_of(q->graph, qn->inputs[base + 3]);
    assert_int_equal(ot_tensor_numel(Ws), c->per_channel ? nd * GH : nd);
    assert_null(ot_graph_find_initializer(q->graph, "W"));
    assert_null(ot_graph_find_initializer(q->graph, "R"));
    if (c->gates != 4) assert_true(rep.needs_octet);

    int n_in = c->with_h0 ? 2 : 1;
    octet_tensor *yf = run(m, in, n_in, 0), *yq = run(q, in, n_in, 0);
    octet_tensor *hf = run(m, in, n_in, 1), *hq = run(q, in, n_in, 1);
    double e = rel_l2(yq, yf), eh = rel_l2(hq, hf);
    if (e > 0.06 || eh > 0.06) fail_msg("case %d (%s): error vs float Y %g, Y_h %g", idx, want, e, eh);
    if (c->gates != 4) {
        float *Y = malloc(sizeof(float) * (size_t)ot_tensor_numel(yq)), *Yh = malloc(sizeof(float) * (size_t)ot_tensor_numel(hq));
        ref_qrec(c, in[0], Wq, Rq, init_of(q->graph, c->with_b ? "B" : NULL), init_of(q->graph, c->with_lens ? "lens" : NULL),
                 c->with_h0 ? in[1] : NULL, Ws, Wz, Rs, Rz, Y, Yh);
        double dm = 0;
        for (int64_t i = 0; i < ot_tensor_numel(yq); i++) dm = fmax(dm, fabs(Y[i] - ((float *)yq->data)[i]));
        for (int64_t i = 0; i < ot_tensor_numel(hq); i++) dm = fmax(dm, fabs(Yh[i] - ((float *)hq->data)[i]));
        if (!(dm < 2e-4)) fail_msg("case %d (%s): differs from the reference definition by %g", idx, want, dm);
        free(Y), free(Yh);
    }
    octet_tensor_free(yf), octet_tensor_free(yq), octet_tensor_free(hf), octet_tensor_free(hq);
    octet_tensor_free(in[0]), octet_tensor_free(in[1]);
    ot_dynamic_report_free(&rep);
    octet_model_free(q);
    octet_model_free(m);
}

static void test_gru_rnn(void **state) {
    (void)state;
    const rec_case cases[] = {
        {3, 7, 3, 13, 9, "forward", false, true, true, false, false, true, false, OCTET_INT8, NULL},
        {3, 5, 2, 6, 11, "reverse", true, true, false, false, true, true, false, OCTET_INT8, NULL},
        {3, 6, 4, 10, 7, "bidirectional", false, true, true, true, false, false, false, OCTET_UINT8, NULL},
        {3, 4, 5, 9, 5, "bidirectional", true, false, true, true, true, true, true, OCTET_INT8, NULL},
        {3, 1, 1, 3, 17, "forward", false, true, false, false, true, false, false, OCTET_INT8, NULL},
        {1, 8, 3, 12, 10, "forward", false, true, true, false, false, true, false, OCTET_INT8, NULL},
        {1, 6, 4, 7, 9, "bidirectional", false, true, false, true, true, true, true, OCTET_UINT8, "Relu"},
        {1, 5, 2, 5, 6, "reverse", false, false, true, false, true, false, false, OCTET_INT8, "Sigmoid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_recurrent(&cases[i], (int)i);
}

static void test_lstm(void **state) {
    (void)state;
    const rec_case cases[] = {
        {4, 6, 2, 10, 8, "forward", false, true, true, false, false, true, false, OCTET_INT8, NULL},
        {4, 5, 3, 7, 9, "bidirectional", false, true, true, false, true, true, false, OCTET_INT8, NULL},
        {4, 4, 1, 5, 6, "reverse", false, false, false, false, false, false, false, OCTET_UINT8, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_recurrent(&cases[i], (int)i);
}

/* --ort-compatible keeps GRU/RNN float, and a batch-first RNN is not quantized. */
static void test_recurrent_left_float(void **state) {
    (void)state;
    rec_case c = {3, 3, 2, 4, 5, "forward", false, true, false, false, false, true, false, OCTET_INT8, NULL};
    octet_model *m = rec_model(&c);
    ot_dynamic_config cfg = ot_dynamic_config_default();
    cfg.ort_compatible = true;
    ot_dynamic_report rep;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, &rep), OCTET_OK);
    assert_false(entry(&rep, "rec")->quantized);
    assert_non_null(strstr(entry(&rep, "rec")->reason, "ONNX Runtime"));
    assert_false(rep.needs_octet);
    assert_int_equal(count_ops(m->graph, "GRU"), 1);
    ot_dynamic_report_free(&rep);
    ot_node_add_attr_int(m->graph->nodes[0], "layout", 1);
    cfg.ort_compatible = false;
    assert_int_equal(ot_quantize_dynamic(m, &cfg, &rep), OCTET_OK);
    assert_false(entry(&rep, "rec")->quantized);
    assert_non_null(strstr(entry(&rep, "rec")->reason, "layout"));
    ot_dynamic_report_free(&rep);
    octet_model_free(m);
}

/* Malformed DynamicQuantizeGRU nodes are errors, not crashes. */
static void test_octet_op_errors(void **state) {
    (void)state;
    rec_case c = {3, 3, 2, 4, 5, "forward", false, true, false, false, false, true, false, OCTET_INT8, NULL};
    octet_model *m = rec_model(&c);
    assert_int_equal(ot_quantize_dynamic(m, NULL, NULL), OCTET_OK);
    ot_node *n = m->graph->nodes[0];
    assert_string_equal(n->op_type, "DynamicQuantizeGRU");
    int64_t xd[3] = {3, 2, 4};
    octet_tensor *x = ftensor(3, xd, -1, 1);
    /* wrong scale shape */
    const ot_initializer *s = ot_graph_find_initializer(m->graph, n->inputs[6]);
    int64_t bad = 2;
    ot_graph_add_initializer(m->graph, n->inputs[6], ot_tensor_new(OCTET_FLOAT, 1, &bad));
    (void)s;
    octet_session *ss = NULL;
    octet_status st = octet_session_create(&ss, m, NULL);
    if (st == OCTET_OK) {
        octet_tensor *outs[2] = {0};
        st = octet_session_run(ss, NULL, &x, 1, outs, 2);
        octet_session_free(ss);
    }
    assert_int_equal(st, OCTET_ERR_SHAPE);
    assert_non_null(strstr(octet_last_error(), "W_scale"));
    /* wrong input size */
    octet_model *m2 = rec_model(&c);
    assert_int_equal(ot_quantize_dynamic(m2, NULL, NULL), OCTET_OK);
    int64_t xd2[3] = {3, 2, 5};
    octet_tensor *x2 = ftensor(3, xd2, -1, 1);
    st = octet_session_create(&ss, m2, NULL);
    assert_int_equal(st, OCTET_OK);
    octet_tensor *outs[2] = {0};
    assert_int_equal(octet_session_run(ss, NULL, &x2, 1, outs, 2), OCTET_ERR_SHAPE);
    octet_session_free(ss);
    octet_tensor_free(x), octet_tensor_free(x2);
    octet_model_free(m), octet_model_free(m2);
}


/* ---- Conv (opt-in) ------------------------------------------------------------------------------ */

static void test_conv(void **state) {
    (void)state;
    octet_model *m = new_model(13);
    ot_graph *g = m->graph;
    int64_t xd[4] = {2, 3, 9, 8}, w1[4] = {4, 3, 3, 3}, w2[4] = {4, 1, 3, 3}, b = 4, yd[4] = {2, 4, 5, 4};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 4, yd);
    init_f(g, "W1", 4, w1, -0.5f, 0.5f);
    init_f(g, "B1", 1, &b, -0.2f, 0.2f);
    init_f(g, "W2", 4, w2, -0.5f, 0.5f);
    ot_node *c1 = node(g, "Conv", "c1", 3, (const char *[]){"x", "W1", "B1"}, 1, (const char *[]){"h"});
    int64_t pads[4] = {1, 1, 1, 1}, st[2] = {2, 2};
    ot_node_add_attr_ints(c1, "pads", pads, 4);
    node(g, "Relu", "r", 1, (const char *[]){"h"}, 1, (const char *[]){"a"});
    ot_node *c2 = node(g, "Conv", "c2", 2, (const char *[]){"a", "W2"}, 1, (const char *[]){"y"});
    ot_node_add_attr_int(c2, "group", 4);
    ot_node_add_attr_ints(c2, "pads", pads, 4);
    ot_node_add_attr_ints(c2, "strides", st, 2);
    octet_tensor *x = ftensor(4, xd, -1, 1);
    /* not selected by default */
    ot_dynamic_report rep;
    octet_model *q = NULL;
    assert_true(dyn_error(m, NULL, &x, 1, &rep, &q) == 0.0);
    assert_int_equal(rep.n_quantized, 0);
    assert_non_null(strstr(entry(&rep, "c1")->reason, "opt-in"));
    ot_dynamic_report_free(&rep);
    octet_model_free(q);
    static const char *const ops[] = {"Conv"};
    for (int v = 0; v < 4; v++) {
        ot_dynamic_config cfg = cfg_with(true, v & 1, (v & 2) ? OCTET_UINT8 : OCTET_INT8, true);
        cfg.op_types = ops, cfg.n_op_types = 1;
        double e = dyn_error(m, &cfg, &x, 1, &rep, &q);
        if (e > 0.03) fail_msg("variant %d: error %g", v, e);
        assert_int_equal(rep.n_quantized, 2);
        assert_int_equal(count_ops(q->graph, "ConvInteger"), 2);
        assert_int_equal(count_ops(q->graph, "Conv"), 0);
        const octet_tensor *z = ot_graph_find_initializer(q->graph, "W1_zero_point")->tensor;
        const octet_tensor *sc = ot_graph_find_initializer(q->graph, "W1_scale")->tensor;
        assert_int_equal(z->ndim, 0); /* symmetric: one zero point even per channel */
        assert_int_equal(ot_tensor_numel(sc), (v & 1) ? 4 : 1);
        if (v & 1) assert_int_equal(sc->ndim, 3); /* [M,1,1] */
        ot_node *ci = NULL;
        for (int i = 0; i < q->graph->n_nodes; i++)
            if (strcmp(q->graph->nodes[i]->op_type, "ConvInteger") == 0 && strstr(q->graph->nodes[i]->name, "c2")) ci = q->graph->nodes[i];
        assert_non_null(ci);
        assert_int_equal(ot_node_attr_int(ci, "group", 1), 4);
        ot_dynamic_report_free(&rep);
        octet_model_free(q);
    }
    /* affine per channel: per-channel zero points, made symmetric for ONNX Runtime */
    ot_dynamic_config cfg = cfg_with(true, true, OCTET_UINT8, false);
    cfg.op_types = ops, cfg.n_op_types = 1;
    double e = dyn_error(m, &cfg, &x, 1, &rep, &q);
    assert_true(e < 0.03);
    assert_int_equal(ot_graph_find_initializer(q->graph, "W1_zero_point")->tensor->ndim, 1);
    ot_dynamic_report_free(&rep);
    octet_model_free(q);
    cfg.ort_compatible = true;
    e = dyn_error(m, &cfg, &x, 1, &rep, &q);
    assert_true(e < 0.03);
    assert_int_equal(ot_graph_find_initializer(q->graph, "W1_zero_point")->tensor->ndim, 0);
    assert_non_null(strstr(entry(&rep, "c1")->reason, "symmetric"));
    ot_dynamic_report_free(&rep);
    octet_model_free(q);
    octet_tensor_free(x);
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight_values),
        cmocka_unit_test(test_matmul_forms),
        cmocka_unit_test(test_matmul_row_paths),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_transA_and_excluded),
        cmocka_unit_test(test_shared_and_constant_weights),
        cmocka_unit_test(test_activation_sharing),
        cmocka_unit_test(test_if_branches),
        cmocka_unit_test(test_gru_rnn),
        cmocka_unit_test(test_lstm),
        cmocka_unit_test(test_recurrent_left_float),
        cmocka_unit_test(test_octet_op_errors),
        cmocka_unit_test(test_conv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
