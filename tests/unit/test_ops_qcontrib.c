/* com.microsoft int8 contrib ops (src/ops/qcontrib*.c): one-node models built with the IR API, run fed,
 * folded (all inputs constant) and prepared (every input but the first constant, so prepare() packs
 * weights / builds tables), on 1 and 2 threads, against plain references written here:
 *   - integer GEMM results exactly (int64 accumulation, then the documented float epilogue);
 *   - QLinearAdd / QLinearMul exactly against ONNX Runtime's MLAS formula re-derived here, and within
 *     1 of the ideal real-number result;
 *   - table ops, pooling, concat and softmax against the ideal math (within the stated tolerance).
 * Also: error handling, and the AVX2 loops against the scalar definition. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "octet.h"
#include "ops/qcontrib_internal.h"
#include "tensor/tensor.h"
#include "test_tensors.h"

/* ---- tensors (test_tensors.h pools them) ---- */

static octet_tensor *f32(float v) { return tnew(OCTET_FLOAT, 0, NULL, &v); }
static octet_tensor *u8s(uint8_t v) { return tnew(OCTET_UINT8, 0, NULL, &v); }
static octet_tensor *s8s(int8_t v) { return tnew(OCTET_INT8, 0, NULL, &v); }
static octet_tensor *q8s(bool sgn, int v) { return sgn ? s8s((int8_t)v) : u8s((uint8_t)v); }

static uint64_t g_rng = 0x243f6a8885a308d3ull;
static uint32_t rnd(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 33);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rfloat(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 8) / 16777216.0f; }

/* random 8-bit tensor with values in [lo, hi] */
static octet_tensor *rq8(octet_dtype dt, int nd, const int64_t *dims, int lo, int hi) {
    octet_tensor *t = keep(ot_tensor_new(dt, nd, dims));
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) ot_tensor_set_f64(t, i, rint_in(lo, hi));
    return t;
}
static octet_tensor *rf32(int nd, const int64_t *dims, float lo, float hi) {
    octet_tensor *t = keep(ot_tensor_new(OCTET_FLOAT, nd, dims));
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) ((float *)t->data)[i] = rfloat(lo, hi);
    return t;
}
static int32_t q(const octet_tensor *t, int64_t i) { return (int32_t)ot_tensor_get_i64(t, i); }

/* ---- one-node com.microsoft models ---- */

typedef struct attr {
    const char *name;
    char kind; /* i f s I */
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    size_t n;
} attr;

#define A_INT(nm, v) {.name = (nm), .kind = 'i', .i = (v)}
#define A_FLOAT(nm, v) {.name = (nm), .kind = 'f', .f = (v)}
#define A_STR(nm, v) {.name = (nm), .kind = 's', .s = (v)}
#define A_INTS(nm, ...) {.name = (nm), .kind = 'I', .ints = D(__VA_ARGS__), .n = sizeof(D(__VA_ARGS__)) / sizeof(int64_t)}

#define MAX_IN 16
typedef struct call {
    const char *op;
    int n_attrs;
    const attr *attrs;
    int n_in;
    octet_tensor *in[MAX_IN]; /* NULL = omitted optional input */
    int out_idx;              /* the node output checked; the ones before it are left unused */
} call;

enum { FED, FOLDED, PREPARED };

static octet_model *build(const call *c, int mode) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    assert_int_equal(ot_model_set_opset(m, "", 13), OCTET_OK);
    assert_int_equal(ot_model_set_opset(m, "com.microsoft", 1), OCTET_OK);
    ot_graph *g = m->graph;
    ot_node *n = ot_graph_add_node(g, c->op, "com.microsoft", "node");
    assert_non_null(n);
    const char *names[MAX_IN];
    char buf[MAX_IN][16];
    for (int i = 0; i < c->n_in; i++) {
        snprintf(buf[i], sizeof buf[i], "in%d", i);
        names[i] = c->in[i] ? buf[i] : "";
        if (!c->in[i]) continue;
        bool init = mode == FOLDED || (mode == PREPARED && i > 0);
        if (init) assert_int_equal(ot_graph_add_initializer(g, buf[i], ot_tensor_clone(c->in[i])), OCTET_OK);
        else assert_int_equal(ot_graph_add_input(g, buf[i], c->in[i]->dtype, c->in[i]->ndim, c->in[i]->dims), OCTET_OK);
    }
    const char *outs[4] = {"", "", "", ""};
    assert_true(c->out_idx < 4);
    outs[c->out_idx] = "out";
    assert_int_equal(ot_graph_add_output(g, "out", OCTET_UNDEFINED, -1, NULL), OCTET_OK);
    assert_int_equal(ot_node_set_inputs(n, c->n_in, names), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, c->out_idx + 1, outs), OCTET_OK);
    for (int i = 0; i < c->n_attrs; i++) {
        const attr *a = &c->attrs[i];
        octet_status s = OCTET_OK;
        switch (a->kind) {
        case 'i': s = ot_node_add_attr_int(n, a->name, a->i); break;
        case 'f': s = ot_node_add_attr_float(n, a->name, a->f); break;
        case 's': s = ot_node_add_attr_string(n, a->name, a->s); break;
        case 'I': s = ot_node_add_attr_ints(n, a->name, a->ints, a->n); break;
        }
        assert_int_equal(s, OCTET_OK);
    }
    return m;
}

static octet_status run(const call *c, int mode, int threads, octet_tensor **out) {
    octet_model *m = build(c, mode);
    octet_session *s = NULL;
    octet_session_options o = {threads, 0};
    *out = NULL;
    octet_status st = octet_session_create(&s, m, &o);
    if (st == OCTET_OK) {
        octet_tensor *fed[MAX_IN];
        int n_fed = 0;
        for (int i = 0; i < c->n_in; i++)
            if (c->in[i] && (mode == FED || (mode == PREPARED && i == 0))) fed[n_fed++] = c->in[i];
        st = octet_session_run(s, NULL, fed, n_fed, out, 1);
        if (st == OCTET_OK) keep(*out);
    }
    octet_session_free(s);
    octet_model_free(m);
    return st;
}

static const struct { int mode, threads; } MODES[] = {{FED, 1}, {FOLDED, 1}, {PREPARED, 1}, {FED, 2}, {PREPARED, 2}};
#define N_MODES ((int)(sizeof MODES / sizeof *MODES))
static const char *mode_name(int m) { return m == FED ? "fed" : m == FOLDED ? "folded" : "prepared"; }

/* Every mode must give `want` (dtype, shape, and values within tol; tol 0 = bit-exact). */
static void expect_tol(const call *c, const octet_tensor *want, double tol) {
    for (int mi = 0; mi < N_MODES; mi++) {
        octet_tensor *got;
        octet_status s = run(c, MODES[mi].mode, MODES[mi].threads, &got);
        if (s != OCTET_OK) fail_msg("%s (%s): %s", c->op, mode_name(MODES[mi].mode), octet_last_error());
        char a[128], b[128];
        if (got->dtype != want->dtype || got->ndim != want->ndim ||
            memcmp(got->dims, want->dims, (size_t)want->ndim * sizeof(int64_t)) != 0)
            fail_msg("%s: got %s%s, want %s%s", c->op, octet_dtype_name(got->dtype),
                     ot_shape_str(a, sizeof a, got->ndim, got->dims), octet_dtype_name(want->dtype),
                     ot_shape_str(b, sizeof b, want->ndim, want->dims));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            double g = ot_tensor_get_f64(got, i), w = ot_tensor_get_f64(want, i);
            bool ok = tol == 0 ? (g == w || (isnan(g) && isnan(w))) : fabs(g - w) <= tol;
            if (!ok)
                fail_msg("%s (%s, %d threads): element %lld is %.9g, want %.9g", c->op, mode_name(MODES[mi].mode),
                         MODES[mi].threads, (long long)i, g, w);
        }
    }
}
static void expect_exact(const call *c, const octet_tensor *want) { expect_tol(c, want, 0); }

static void expect_fail(const call *c) {
    for (int mode = FED; mode <= FOLDED; mode++) {
        octet_tensor *got;
        if (run(c, mode, 1, &got) == OCTET_OK) fail_msg("%s (%s): succeeded, expected an error", c->op, mode_name(mode));
        assert_true(strlen(octet_last_error()) > 0);
    }
}

static int32_t clampi(int64_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : (int32_t)v; }
static int32_t qlo(bool sgn) { return sgn ? -128 : 0; }
static int32_t qhi(bool sgn) { return sgn ? 127 : 255; }

/* ---- QGemm ---- */

/* Reference: exact int64 sum, + C broadcast, then (float)acc * (alpha*as*bs[n]) [/ ys, round, + yz]. */
static void qgemm_case(bool a_sgn, bool b_sgn, int out_kind /* 0 float, 1 quantized */, bool ta, bool tb, int M,
                       int K, int N, int c_kind /* 0 none 1 scalar 2 [N] 3 [M,1] 4 [M,N] */, bool per_col,
                       float alpha) {
    octet_dtype at = a_sgn ? OCTET_INT8 : OCTET_UINT8, bt = b_sgn ? OCTET_INT8 : OCTET_UINT8;
    octet_tensor *a = rq8(at, 2, ta ? D(K, M) : D(M, K), qlo(a_sgn), qhi(a_sgn));
    octet_tensor *b = rq8(bt, 2, tb ? D(N, K) : D(K, N), qlo(b_sgn), qhi(b_sgn));
    int za = rint_in(qlo(a_sgn), qhi(a_sgn));
    octet_tensor *bs = per_col ? rf32(1, D(N), 0.001f, 0.02f) : f32(rfloat(0.001f, 0.02f));
    octet_tensor *bz = per_col ? rq8(bt, 1, D(N), qlo(b_sgn), qhi(b_sgn)) : q8s(b_sgn, rint_in(qlo(b_sgn), qhi(b_sgn)));
    float as = rfloat(0.005f, 0.05f);
    octet_tensor *c = NULL;
    switch (c_kind) {
    case 1: c = keep(ot_tensor_new(OCTET_INT32, 0, NULL)); break;
    case 2: c = keep(ot_tensor_new(OCTET_INT32, 1, D(N))); break;
    case 3: c = keep(ot_tensor_new(OCTET_INT32, 2, D(M, 1))); break;
    case 4: c = keep(ot_tensor_new(OCTET_INT32, 2, D(M, N))); break;
    }
    for (int64_t i = 0; c && i < ot_tensor_numel(c); i++) ((int32_t *)c->data)[i] = rint_in(-5000, 5000);
    float ys = rfloat(0.05f, 0.5f);
    bool yq = out_kind == 1, ysg = a_sgn;
    int yz = rint_in(qlo(ysg), qhi(ysg));
    octet_tensor *want = keep(ot_tensor_new(yq ? at : OCTET_FLOAT, 2, D(M, N)));
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int64_t acc = 0;
            for (int k = 0; k < K; k++) {
                int32_t av = q(a, ta ? (int64_t)k * M + m : (int64_t)m * K + k);
                int32_t bv = q(b, tb ? (int64_t)n * K + k : (int64_t)k * N + n);
                acc += (int64_t)(av - za) * (bv - q(bz, per_col ? n : 0));
            }
            if (c) acc += q(c, c_kind == 1 ? 0 : c_kind == 2 ? n : c_kind == 3 ? m : (int64_t)m * N + n);
            float scale = alpha * as * ((const float *)bs->data)[per_col ? n : 0];
            if (yq) scale /= ys;
            float v = (float)(int32_t)acc * scale;
            if (yq) {
                float lo_f = (float)(qlo(ysg) - yz), hi_f = (float)(qhi(ysg) - yz);
                v = v < lo_f ? lo_f : v > hi_f ? hi_f : v;
                ot_tensor_set_f64(want, (int64_t)m * N + n, (int32_t)nearbyintf(v) + yz);
            } else {
                ((float *)want->data)[(int64_t)m * N + n] = v;
            }
        }
    call cl = {.op = "QGemm", .n_in = yq ? 9 : (c ? 7 : 6),
               .in = {a, f32(as), q8s(a_sgn, za), b, bs, bz, c, yq ? f32(ys) : NULL, yq ? q8s(ysg, yz) : NULL},
               .n_attrs = 3,
               .attrs = (const attr[]){A_INT("transA", ta), A_INT("transB", tb), A_FLOAT("alpha", alpha)}};
    expect_exact(&cl, want);
}

static void test_qgemm(void **st) {
    (void)st;
    const bool combos[3][2] = {{false, false}, {false, true}, {true, true}};
    int j = 0;
    for (int ci = 0; ci < 3; ci++)
        for (int ok = 0; ok < 2; ok++)
            for (int t = 0; t < 4; t++)
                for (int ck = 0; ck <= 4; ck++, j++)
                    qgemm_case(combos[ci][0], combos[ci][1], ok, t & 1, t >> 1, 1 + j % 7, 1 + (j * 7) % 37,
                               1 + (j * 5) % 19, ck, j % 2, j % 3 == 0 ? 1.0f : 0.75f);
    /* bigger: packing blocks and threads */
    qgemm_case(false, true, 1, false, false, 70, 300, 130, 2, true, 1.0f);
    qgemm_case(true, true, 0, true, true, 33, 129, 65, 4, false, 0.5f);
    /* K = 0: the result is the bias alone through the same epilogue */
    qgemm_case(false, false, 1, false, false, 3, 0, 4, 2, false, 2.0f);
    qgemm_case(false, false, 0, false, false, 3, 0, 4, 0, false, 1.0f);
}

static void test_qgemm_errors(void **st) {
    (void)st;
    octet_tensor *a = rq8(OCTET_UINT8, 2, D(3, 4), 0, 255), *b = rq8(OCTET_UINT8, 2, D(5, 4), 0, 255);
    call bad_k = {.op = "QGemm", .n_in = 6, .in = {a, f32(0.1f), u8s(1), b, f32(0.1f), u8s(2)}};
    expect_fail(&bad_k);
    call bad_bs = {.op = "QGemm", .n_in = 6,
                   .in = {a, f32(0.1f), u8s(1), rq8(OCTET_UINT8, 2, D(4, 5), 0, 255), rf32(1, D(3), 0.1f, 0.2f), u8s(2)}};
    expect_fail(&bad_bs);
    call bad_c = {.op = "QGemm", .n_in = 7,
                  .in = {a, f32(0.1f), u8s(1), rq8(OCTET_UINT8, 2, D(4, 5), 0, 255), f32(0.1f), u8s(2),
                         keep(ot_tensor_new(OCTET_INT32, 1, D(4)))}};
    expect_fail(&bad_c);
    call float_a = {.op = "QGemm", .n_in = 6,
                    .in = {rf32(2, D(3, 4), 0, 1), f32(0.1f), u8s(1), rq8(OCTET_UINT8, 2, D(4, 5), 0, 255), f32(0.1f),
                           u8s(2)}};
    expect_fail(&float_a);
    call y_no_zp = {.op = "QGemm", .n_in = 8,
                    .in = {a, f32(0.1f), u8s(1), rq8(OCTET_UINT8, 2, D(4, 5), 0, 255), f32(0.1f), u8s(2), NULL,
                           f32(0.2f)}};
    expect_fail(&y_no_zp);
}

/* ---- MatMulIntegerToFloat / DynamicQuantizeMatMul ---- */

static void test_matmul_integer_to_float(void **st) {
    (void)st;
    for (int j = 0; j < 12; j++) {
        bool sgn = j % 3 == 2, bsg = j % 3 != 0, per_col = j % 2, batched_a = j % 4 >= 2;
        int M = 1 + j % 5, K = 3 + (j * 7) % 40, N = 1 + (j * 3) % 17, B0 = batched_a ? 2 : 1;
        octet_dtype at = sgn ? OCTET_INT8 : OCTET_UINT8, bt = bsg ? OCTET_INT8 : OCTET_UINT8;
        octet_tensor *a = batched_a ? rq8(at, 3, D(B0, M, K), qlo(sgn), qhi(sgn)) : rq8(at, 2, D(M, K), qlo(sgn), qhi(sgn));
        octet_tensor *b = rq8(bt, 2, D(K, N), qlo(bsg), qhi(bsg));
        float as = rfloat(0.01f, 0.1f);
        octet_tensor *bs = per_col ? rf32(1, D(N), 0.001f, 0.01f) : f32(rfloat(0.001f, 0.01f));
        int za = rint_in(qlo(sgn), qhi(sgn));
        octet_tensor *bz = per_col ? rq8(bt, 1, D(N), qlo(bsg), qhi(bsg)) : q8s(bsg, rint_in(qlo(bsg), qhi(bsg)));
        octet_tensor *bias = j % 3 ? rf32(1, D(N), -2, 2) : NULL;
        octet_tensor *want = keep(batched_a ? ot_tensor_new(OCTET_FLOAT, 3, D(B0, M, N))
                                            : ot_tensor_new(OCTET_FLOAT, 2, D(M, N)));
        for (int r = 0; r < B0 * M; r++)
            for (int n = 0; n < N; n++) {
                int64_t acc = 0;
                for (int k = 0; k < K; k++)
                    acc += (int64_t)(q(a, (int64_t)r * K + k) - za) * (q(b, (int64_t)k * N + n) - q(bz, per_col ? n : 0));
                float scale = as * ((const float *)bs->data)[per_col ? n : 0];
                float v = (float)acc * scale;
                if (bias) v = v + ((const float *)bias->data)[n];
                ((float *)want->data)[(int64_t)r * N + n] = v;
            }
        call c = {.op = "MatMulIntegerToFloat", .n_in = bias ? 7 : 6, .in = {a, b, f32(as), bs, q8s(sgn, za), bz, bias}};
        expect_exact(&c, want);
    }
}

static void test_dynamic_quantize_matmul(void **st) {
    (void)st;
    for (int j = 0; j < 6; j++) {
        int M = 2 + j, K = 5 + 3 * j, N = 3 + j;
        bool bsg = j % 2;
        octet_dtype bt = bsg ? OCTET_INT8 : OCTET_UINT8;
        octet_tensor *a = rf32(2, D(M, K), -1.5f + 0.5f * j, 2.0f);
        octet_tensor *b = rq8(bt, 2, D(K, N), qlo(bsg), qhi(bsg));
        octet_tensor *bs = j % 3 ? rf32(1, D(N), 0.001f, 0.01f) : f32(0.004f);
        octet_tensor *bias = rf32(1, D(N), -1, 1);
        /* DynamicQuantizeLinear by hand: range widened to 0, scale (max - min) / 255, zp rounded */
        const float *x = a->data;
        float mn = 0, mx = 0;
        for (int i = 0; i < M * K; i++) mn = x[i] < mn ? x[i] : mn, mx = x[i] > mx ? x[i] : mx;
        float as = (mx - mn) / 255.0f;
        int za = (int)nearbyintf(fminf(255.0f, fmaxf(0.0f, 0.0f - mn / as)));
        octet_tensor *want = keep(ot_tensor_new(OCTET_FLOAT, 2, D(M, N)));
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                int64_t acc = 0;
                for (int k = 0; k < K; k++) {
                    int qa = clampi((int64_t)nearbyintf(x[m * K + k] / as) + za, 0, 255);
                    acc += (int64_t)(qa - za) * q(b, (int64_t)k * N + n);
                }
                float scale = as * ((const float *)bs->data)[ot_tensor_numel(bs) > 1 ? n : 0];
                ((float *)want->data)[m * N + n] = (float)acc * scale + ((const float *)bias->data)[n];
            }
        call c = {.op = "DynamicQuantizeMatMul", .n_in = 5, .in = {a, b, bs, NULL, bias}};
        expect_exact(&c, want);
    }
    /* float A is required */
    call bad = {.op = "DynamicQuantizeMatMul", .n_in = 3,
                .in = {rq8(OCTET_UINT8, 2, D(2, 3), 0, 255), rq8(OCTET_INT8, 2, D(3, 2), -5, 5), f32(0.1f)}};
    expect_fail(&bad);
}

/* ---- QLinearAdd / QLinearMul ---- */

/* ORT's x86 formulas written out independently: Add (AVX2 path) fixed = zc - fma(rx, zx, ry*zy) with
 * (x, y) = (B, A) when A is the repeated operand; Mul: (float)prod * (sa*sb/sc) + zc. */
static int32_t ref_add(bool sgn, float sa, int za, float sb, int zb, float sc, int zc, int av, int bv, bool a_rep) {
    float rac = sa / sc, rbc = sb / sc;
    float rx = a_rep ? rbc : rac, ry = a_rep ? rac : rbc, x = (float)(a_rep ? bv : av), y = (float)(a_rep ? av : bv);
    float zx = (float)(a_rep ? zb : za), zy = (float)(a_rep ? za : zb);
    float fixed = (float)zc - fmaf(rx, zx, ry * zy);
    return qc_cvt_sat(fmaf(x, rx, fmaf(y, ry, fixed)), qlo(sgn), qhi(sgn));
}

static void binary_case(const char *op, bool sgn, int nda, const int64_t *da, int ndb, const int64_t *db, int ndo,
                        const int64_t *dout) {
    octet_dtype dt = sgn ? OCTET_INT8 : OCTET_UINT8;
    octet_tensor *a = rq8(dt, nda, da, qlo(sgn), qhi(sgn)), *b = rq8(dt, ndb, db, qlo(sgn), qhi(sgn));
    float sa = rfloat(0.01f, 0.2f), sb = rfloat(0.01f, 0.2f), sc = rfloat(0.02f, 0.3f);
    int za = rint_in(qlo(sgn), qhi(sgn)), zb = rint_in(qlo(sgn), qhi(sgn)), zc = rint_in(qlo(sgn), qhi(sgn));
    bool mul = strcmp(op, "QLinearMul") == 0;
    octet_tensor *want = keep(ot_tensor_new(dt, ndo, dout)), *ideal = keep(ot_tensor_new(dt, ndo, dout));
    int64_t n = ot_tensor_numel(want);
    bool a_rep_all = ot_tensor_numel(a) == 1;
    for (int64_t i = 0; i < n; i++) {
        /* broadcast index by hand */
        int64_t rem = i, ia = 0, ib = 0, sta = 1, stb = 1;
        bool a_rep_inner = false;
        for (int d = ndo - 1; d >= 0; d--) {
            int64_t idx = rem % dout[d];
            rem /= dout[d];
            int dA = d - (ndo - nda), dB = d - (ndo - ndb);
            if (dA >= 0) {
                if (da[dA] != 1) ia += idx * sta;
                sta *= da[dA];
            }
            if (dB >= 0) {
                if (db[dB] != 1) ib += idx * stb;
                stb *= db[dB];
            }
        }
        /* the innermost non-1 output dim decides which operand repeats (ORT's spans) */
        for (int d = ndo - 1; d >= 0; d--) {
            if (dout[d] == 1) continue;
            int dA = d - (ndo - nda);
            a_rep_inner = dA < 0 || da[dA] == 1;
            break;
        }
        int av = q(a, ia), bv = q(b, ib);
        double exact;
        if (mul) {
            int32_t prod = (av - za) * (bv - zb);
            float v = (float)prod * (sa * sb / sc);
            ot_tensor_set_f64(want, i, qc_cvt_sat(v + (float)zc, qlo(sgn), qhi(sgn)));
            exact = (double)sa * (av - za) * sb * (bv - zb) / sc + zc;
        } else {
            bool a_rep = a_rep_all || (ot_tensor_numel(b) != 1 && a_rep_inner);
            ot_tensor_set_f64(want, i, ref_add(sgn, sa, za, sb, zb, sc, zc, av, bv, a_rep));
            exact = ((double)sa * (av - za) + (double)sb * (bv - zb)) / sc + zc;
        }
        ot_tensor_set_f64(ideal, i, clampi((int64_t)nearbyint(exact), qlo(sgn), qhi(sgn)));
    }
    call c = {.op = op, .n_in = 8, .in = {a, f32(sa), q8s(sgn, za), b, f32(sb), q8s(sgn, zb), f32(sc), q8s(sgn, zc)}};
    expect_tol(&c, ideal, 1);
    if (qc_ort_fma() || mul) expect_exact(&c, want);
}

/* Scales where ORT's operand order matters (found by search: the swapped or unfused formula rounds at
 * least one of the 256 values differently): a repeated A (mode 1) or B (mode 2) against every value. */
static const struct { float sa, sb, sc; int za, zb, zc, x0; } ADD_TIES[2][2][2] = {
    {{{0.521501184f, 0.749859691f, 0.0684180334f, 165, 251, 41, 200},
      {0.465951383f, 0.0909518823f, 0.163074598f, 123, 147, 164, 116}},
     {{0.0510846712f, 0.234423429f, 0.0338952057f, 106, 84, -111, 26},
      {0.0219674613f, 0.482217938f, 0.0572061166f, 85, 91, -34, 106}}},
    {{{0.0108316299f, 0.0928586498f, 0.255542994f, 31, 179, 127, 57},
      {0.0671724752f, 0.200500682f, 0.0291615911f, 195, 168, 240, 231}},
     {{0.0159496777f, 0.237299904f, 0.0309192203f, -75, -52, 70, -55},
      {0.0380482227f, 0.677964747f, 0.0155116869f, 28, -62, -5, -56}}},
};

static void test_qlinear_add_ties(void **st) {
    (void)st;
    if (!qc_ort_fma()) skip();
    for (int mode = 0; mode < 2; mode++)
        for (int sgn = 0; sgn < 2; sgn++)
            for (int j = 0; j < 2; j++) {
                octet_dtype dt = sgn ? OCTET_INT8 : OCTET_UINT8;
                const __typeof__(ADD_TIES[0][0][0]) *p = &ADD_TIES[mode][sgn][j];
                octet_tensor *all = keep(ot_tensor_new(dt, 1, D(256))), *one = keep(ot_tensor_new(dt, 1, D(1)));
                for (int i = 0; i < 256; i++) ot_tensor_set_f64(all, i, qlo(sgn) + i);
                ot_tensor_set_f64(one, 0, p->x0);
                octet_tensor *a = mode == 0 ? one : all, *b = mode == 0 ? all : one;
                octet_tensor *want = keep(ot_tensor_new(dt, 1, D(256)));
                for (int i = 0; i < 256; i++)
                    ot_tensor_set_f64(want, i, ref_add(sgn, p->sa, p->za, p->sb, p->zb, p->sc, p->zc, q(a, mode ? i : 0),
                                                       q(b, mode ? 0 : i), mode == 0));
                call c = {.op = "QLinearAdd", .n_in = 8,
                          .in = {a, f32(p->sa), q8s(sgn, p->za), b, f32(p->sb), q8s(sgn, p->zb), f32(p->sc),
                                 q8s(sgn, p->zc)}};
                expect_exact(&c, want);
            }
}

static void test_qlinear_add_mul(void **st) {
    (void)st;
    const char *ops[2] = {"QLinearAdd", "QLinearMul"};
    for (int o = 0; o < 2; o++)
        for (int s = 0; s < 2; s++) {
            binary_case(ops[o], s, 3, D(2, 3, 37), 3, D(2, 3, 37), 3, D(2, 3, 37));
            binary_case(ops[o], s, 3, D(2, 3, 37), 2, D(3, 1), 3, D(2, 3, 37));
            binary_case(ops[o], s, 2, D(3, 1), 3, D(2, 3, 37), 3, D(2, 3, 37));
            binary_case(ops[o], s, 0, D(0), 2, D(5, 41), 2, D(5, 41));
            binary_case(ops[o], s, 2, D(5, 41), 1, D(1), 2, D(5, 41));
            binary_case(ops[o], s, 1, D(1), 1, D(1), 1, D(1));
            binary_case(ops[o], s, 3, D(2, 1, 3), 3, D(1, 4, 1), 3, D(2, 4, 3));
            binary_case(ops[o], s, 2, D(300, 257), 2, D(300, 257), 2, D(300, 257)); /* threads, vector body */
            binary_case(ops[o], s, 1, D(1), 1, D(70001), 1, D(70001));
        }
    /* zero points omitted: 0 */
    octet_tensor *a = rq8(OCTET_UINT8, 1, D(9), 0, 255), *b = rq8(OCTET_UINT8, 1, D(9), 0, 255);
    octet_tensor *want = keep(ot_tensor_new(OCTET_UINT8, 1, D(9)));
    for (int i = 0; i < 9; i++) ot_tensor_set_f64(want, i, clampi((int64_t)nearbyint((q(a, i) + q(b, i)) / 2.0), 0, 255));
    call c = {.op = "QLinearAdd", .n_in = 7, .in = {a, f32(0.5f), NULL, b, f32(0.5f), NULL, f32(1.0f)}};
    expect_tol(&c, want, 1);
    /* mixed types, missing C_scale */
    call mixed = {.op = "QLinearMul", .n_in = 8,
                  .in = {a, f32(1), u8s(0), rq8(OCTET_INT8, 1, D(9), -5, 5), f32(1), s8s(0), f32(1), u8s(0)}};
    expect_fail(&mixed);
    call no_cs = {.op = "QLinearAdd", .n_in = 6, .in = {a, f32(1), u8s(0), b, f32(1), u8s(0)}};
    expect_fail(&no_cs);
    call bad_bcast = {.op = "QLinearAdd", .n_in = 8,
                      .in = {a, f32(1), u8s(0), rq8(OCTET_UINT8, 1, D(4), 0, 9), f32(1), u8s(0), f32(1), u8s(0)}};
    expect_fail(&bad_bcast);
    call vec_scale = {.op = "QLinearAdd", .n_in = 8,
                      .in = {a, rf32(1, D(2), 1, 2), u8s(0), b, f32(1), u8s(0), f32(1), u8s(0)}};
    expect_fail(&vec_scale);
}

/* The AVX2 loops against the scalar formula, every tail length. */
static void test_avx2_loops(void **st) {
    (void)st;
    if (!qc_use_avx2()) skip();
    uint8_t x[100], y[100], o1[100];
    for (int i = 0; i < 100; i++) x[i] = (uint8_t)rnd(), y[i] = (uint8_t)rnd();
    for (int sgn = 0; sgn < 2; sgn++)
        for (int n = 0; n <= 100; n += 7)
            for (int sy = 0; sy <= 1; sy++) {
                float rx = rfloat(0.05f, 3), ry = rfloat(0.05f, 3), fixed = rfloat(-200, 200);
                qc_add_fma_avx2(x, y, sy, n, sgn, rx, ry, fixed, o1);
                for (int i = 0; i < n; i++) {
                    float xv = sgn ? (int8_t)x[i] : x[i], yv = sgn ? (int8_t)y[i * sy] : y[i * sy];
                    int32_t w = qc_cvt_sat(fmaf(xv, rx, fmaf(yv, ry, fixed)), qlo(sgn), qhi(sgn));
                    assert_int_equal(sgn ? (int8_t)o1[i] : o1[i], w);
                }
                int za = rint_in(qlo(sgn), qhi(sgn)), zb = rint_in(qlo(sgn), qhi(sgn));
                float ratio = rfloat(1e-4f, 0.05f), zc = (float)rint_in(qlo(sgn), qhi(sgn));
                qc_mul_avx2(x, 1, y, sy, n, sgn, za, zb, ratio, zc, o1);
                for (int i = 0; i < n; i++) {
                    int32_t xv = sgn ? (int8_t)x[i] : x[i], yv = sgn ? (int8_t)y[i * sy] : y[i * sy];
                    float p = (float)((xv - za) * (yv - zb)) * ratio;
                    assert_int_equal(sgn ? (int8_t)o1[i] : o1[i], qc_cvt_sat(p + zc, qlo(sgn), qhi(sgn)));
                }
            }
}

/* ---- lookup-table ops ---- */

static void table_case(const char *op, bool sgn, float alpha, bool with_xz) {
    octet_dtype dt = sgn ? OCTET_INT8 : OCTET_UINT8;
    octet_tensor *x = keep(ot_tensor_new(dt, 2, D(2, 256)));
    for (int i = 0; i < 512; i++) ot_tensor_set_f64(x, i, qlo(sgn) + i % 256);
    float xs = rfloat(0.01f, 0.1f), ys = strcmp(op, "QLinearSigmoid") == 0 ? 1.0f / 256 : rfloat(0.01f, 0.1f);
    int xz = with_xz ? rint_in(qlo(sgn), qhi(sgn)) : 0, yz = rint_in(qlo(sgn), qhi(sgn) / 2);
    octet_tensor *want = keep(ot_tensor_new(dt, 2, D(2, 256)));
    for (int i = 0; i < 512; i++) {
        double v = (double)xs * (q(x, i) - xz);
        double f = strcmp(op, "QLinearSigmoid") == 0 ? 1.0 / (1.0 + exp(-v)) : (v >= 0 ? v : alpha * v);
        ot_tensor_set_f64(want, i, clampi((int64_t)nearbyint(f / ys) + yz, qlo(sgn), qhi(sgn)));
    }
    call c = {.op = op, .n_in = 5, .in = {x, f32(xs), with_xz ? q8s(sgn, xz) : NULL, f32(ys), q8s(sgn, yz)},
              .n_attrs = 1, .attrs = (const attr[]){A_FLOAT("alpha", alpha)}};
    expect_tol(&c, want, 1);
}

static void test_tables(void **st) {
    (void)st;
    for (int s = 0; s < 2; s++) {
        table_case("QLinearSigmoid", s, 0, true);
        table_case("QLinearSigmoid", s, 0, false);
        table_case("QLinearLeakyRelu", s, 0.1f, true);
        table_case("QLinearLeakyRelu", s, 1.5f, false);
    }
    call bad = {.op = "QLinearSigmoid", .n_in = 5, .in = {rf32(1, D(3), 0, 1), f32(0.1f), NULL, f32(0.1f), NULL}};
    expect_fail(&bad);
    call zp_type = {.op = "QLinearLeakyRelu", .n_in = 5,
                    .in = {rq8(OCTET_UINT8, 1, D(3), 0, 9), f32(0.1f), s8s(1), f32(0.1f), u8s(1)}};
    expect_fail(&zp_type);
}

/* ---- QLinearConcat ---- */

static void test_concat(void **st) {
    (void)st;
    for (int s = 0; s < 2; s++) {
        octet_dtype dt = s ? OCTET_INT8 : OCTET_UINT8;
        octet_tensor *x0 = rq8(dt, 3, D(2, 3, 4), qlo(s), qhi(s)), *x1 = rq8(dt, 3, D(2, 5, 4), qlo(s), qhi(s));
        float ys = 0.05f, s0 = 0.03f;
        int yz = rint_in(qlo(s), qhi(s)), z0 = rint_in(qlo(s), qhi(s));
        octet_tensor *want = keep(ot_tensor_new(dt, 3, D(2, 8, 4)));
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 8; c++)
                for (int w = 0; w < 4; w++) {
                    int32_t v;
                    if (c < 3) {   /* requantized: QuantizeLinear(s0 * (x - z0)) with a true division */
                        float f = s0 * (float)(q(x0, (n * 3 + c) * 4 + w) - z0);
                        v = clampi((int64_t)nearbyintf(f / ys) + yz, qlo(s), qhi(s));
                    } else {       /* same scale and zero point: copied */
                        v = q(x1, (n * 5 + c - 3) * 4 + w);
                    }
                    ot_tensor_set_f64(want, (n * 8 + c) * 4 + w, v);
                }
        call cl = {.op = "QLinearConcat", .n_in = 8,
                   .in = {f32(ys), q8s(s, yz), x0, f32(s0), q8s(s, z0), x1, f32(ys), q8s(s, yz)},
                   .n_attrs = 1, .attrs = (const attr[]){A_INT("axis", -2)}};
        expect_exact(&cl, want);
    }
    octet_tensor *x = rq8(OCTET_UINT8, 2, D(2, 3), 0, 255);
    call bad_rank = {.op = "QLinearConcat", .n_in = 8,
                     .in = {f32(1), u8s(0), x, f32(1), u8s(0), rq8(OCTET_UINT8, 1, D(3), 0, 1), f32(1), u8s(0)},
                     .n_attrs = 1, .attrs = (const attr[]){A_INT("axis", 0)}};
    expect_fail(&bad_rank);
    call bad_tuple = {.op = "QLinearConcat", .n_in = 4, .in = {f32(1), u8s(0), x, f32(1)}};
    expect_fail(&bad_tuple);
    call bad_type = {.op = "QLinearConcat", .n_in = 5, .in = {f32(1), u8s(0), rq8(OCTET_INT8, 1, D(3), 0, 1), f32(1), s8s(0)}};
    expect_fail(&bad_type);
}

/* ---- QLinearSoftmax ---- */

static void test_softmax(void **st) {
    (void)st;
    for (int s = 0; s < 2; s++)
        for (int opset = 12; opset <= 13; opset++) {
            octet_dtype dt = s ? OCTET_INT8 : OCTET_UINT8;
            octet_tensor *x = rq8(dt, 3, D(3, 4, 21), qlo(s), qhi(s));
            float xs = 0.08f;
            int yz = s ? -128 : 0, axis = 1;
            /* opset 12 normalizes over dims 1..2 together, opset 13 over dim 1 alone */
            octet_tensor *want = keep(ot_tensor_new(dt, 3, D(3, 4, 21)));
            for (int n = 0; n < 3; n++)
                for (int w = 0; w < (opset < 13 ? 1 : 21); w++) {
                    int cnt = opset < 13 ? 84 : 4, step = opset < 13 ? 1 : 21;
                    int64_t base = n * 84 + w;
                    double mx = -1e30, sum = 0;
                    for (int i = 0; i < cnt; i++) mx = fmax(mx, xs * q(x, base + i * step));
                    for (int i = 0; i < cnt; i++) sum += exp(xs * q(x, base + i * step) - mx);
                    for (int i = 0; i < cnt; i++) {
                        double p = exp(xs * q(x, base + i * step) - mx) / sum;
                        ot_tensor_set_f64(want, base + i * step, clampi((int64_t)nearbyint(p * 256) + yz, qlo(s), qhi(s)));
                    }
                }
            call c = {.op = "QLinearSoftmax", .n_in = 5, .in = {x, f32(xs), q8s(s, 7), f32(1.0f / 256), q8s(s, yz)},
                      .n_attrs = 2, .attrs = (const attr[]){A_INT("opset", opset), A_INT("axis", axis)}};
            expect_tol(&c, want, 1);
        }
    call no_opset = {.op = "QLinearSoftmax", .n_in = 5,
                     .in = {rq8(OCTET_UINT8, 1, D(4), 0, 9), f32(0.1f), NULL, f32(1.0f / 256), u8s(0)}};
    expect_fail(&no_opset);
}

/* ---- pooling ---- */

static void test_global_avgpool(void **st) {
    (void)st;
    for (int s = 0; s < 2; s++)
        for (int cl = 0; cl < 2; cl++) {
            octet_dtype dt = s ? OCTET_INT8 : OCTET_UINT8;
            octet_tensor *x = rq8(dt, 4, D(2, 5, 7, 3), qlo(s), qhi(s));   /* NCHW: C=5; NHWC: C=3 */
            int64_t C = cl ? 3 : 5, img = cl ? 35 : 21;
            float xs = 0.04f, ys = 0.03f;
            int xz = rint_in(qlo(s), qhi(s)), yz = rint_in(qlo(s), qhi(s));
            octet_tensor *want = keep(ot_tensor_new(dt, 4, cl ? D(2, 1, 1, 3) : D(2, 5, 1, 1)));
            for (int n = 0; n < 2; n++)
                for (int c = 0; c < C; c++) {
                    int64_t sum = 0;
                    for (int i = 0; i < img; i++) sum += q(x, cl ? (n * img + i) * C + c : (n * C + c) * img + i) - xz;
                    double avg = (double)xs * (double)sum / (double)img / ys;
                    ot_tensor_set_f64(want, n * C + c, clampi((int64_t)nearbyint(avg) + yz, qlo(s), qhi(s)));
                }
            call c = {.op = "QLinearGlobalAveragePool", .n_in = 5, .in = {x, f32(xs), q8s(s, xz), f32(ys), q8s(s, yz)},
                      .n_attrs = 1, .attrs = (const attr[]){A_INT("channels_last", cl)}};
            expect_tol(&c, want, 1);
        }
    call rank2 = {.op = "QLinearGlobalAveragePool", .n_in = 5,
                  .in = {rq8(OCTET_UINT8, 2, D(2, 3), 0, 9), f32(0.1f), u8s(0), f32(0.1f), u8s(0)}};
    expect_fail(&rank2);
}

static void test_avgpool(void **st) {
    (void)st;
    for (int s = 0; s < 2; s++)
        for (int inc = 0; inc < 2; inc++)
            for (int cl = 0; cl < 2; cl++) {
                octet_dtype dt = s ? OCTET_INT8 : OCTET_UINT8;
                int64_t H = 7, W = 6, C = 3, N = 2;
                octet_tensor *x = rq8(dt, 4, cl ? D(N, H, W, C) : D(N, C, H, W), qlo(s), qhi(s));
                float xs = 0.05f, ys = 0.04f;
                int xz = rint_in(qlo(s), qhi(s)), yz = rint_in(qlo(s), qhi(s));
                /* kernel 3x2, strides 2x2, pads (1,0,1,1): out H = (7+2-3)/2+1 = 4, W = (6+1-2)/2+1 = 3 */
                int64_t OH = 4, OW = 3;
                octet_tensor *want = keep(ot_tensor_new(dt, 4, cl ? D(N, OH, OW, C) : D(N, C, OH, OW)));
                for (int n = 0; n < N; n++)
                    for (int c = 0; c < C; c++)
                        for (int oh = 0; oh < OH; oh++)
                            for (int ow = 0; ow < OW; ow++) {
                                int h0 = oh * 2 - 1, w0 = ow * 2 - 0, cnt = 0;
                                float sum = 0;
                                for (int h = h0 < 0 ? 0 : h0; h < h0 + 3 && h < H; h++)
                                    for (int w = w0 < 0 ? 0 : w0; w < w0 + 2 && w < W; w++) {
                                        int64_t xi = cl ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
                                        sum += xs * (float)(q(x, xi) - xz);
                                        cnt++;
                                    }
                                sum /= (float)(inc ? 6 : cnt);
                                int64_t yi = cl ? ((n * OH + oh) * OW + ow) * C + c : ((n * C + c) * OH + oh) * OW + ow;
                                ot_tensor_set_f64(want, yi,
                                                  clampi((int64_t)nearbyintf(sum / ys + (float)yz), qlo(s), qhi(s)));
                            }
                call cc = {.op = "QLinearAveragePool", .n_in = 5, .in = {x, f32(xs), q8s(s, xz), f32(ys), q8s(s, yz)},
                           .n_attrs = 5,
                           .attrs = (const attr[]){A_INTS("kernel_shape", 3, 2), A_INTS("strides", 2, 2),
                                                   A_INTS("pads", 1, 0, 1, 1), A_INT("count_include_pad", inc),
                                                   A_INT("channels_last", cl)}};
                expect_exact(&cc, want);
            }
    octet_tensor *x = rq8(OCTET_UINT8, 4, D(1, 1, 4, 4), 0, 255);
    call dil = {.op = "QLinearAveragePool", .n_in = 5, .in = {x, f32(0.1f), u8s(0), f32(0.1f), u8s(0)}, .n_attrs = 2,
                .attrs = (const attr[]){A_INTS("kernel_shape", 2, 2), A_INTS("dilations", 2, 2)}};
    expect_fail(&dil);
    call big_pad = {.op = "QLinearAveragePool", .n_in = 5, .in = {x, f32(0.1f), u8s(0), f32(0.1f), u8s(0)}, .n_attrs = 2,
                    .attrs = (const attr[]){A_INTS("kernel_shape", 2, 2), A_INTS("pads", 2, 0, 0, 0)}};
    expect_fail(&big_pad);
    call no_kernel = {.op = "QLinearAveragePool", .n_in = 5, .in = {x, f32(0.1f), u8s(0), f32(0.1f), u8s(0)}};
    expect_fail(&no_kernel);
}

/* ---- DynamicQuantizeLSTM ---- */

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Plain float LSTM on the dequantized weights (W [D, I, 4H], R [D, H, 4H], gates i, o, f, c): octet's
 * 8-bit result must stay within the quantization error of it. out: Y [S, D, B, H], Y_h, Y_c [D, B, H]. */
static void ref_lstm(int D, int S, int B, int I, int H, const float *x, const octet_tensor *w, const octet_tensor *r,
                     const float *ws, const float *rs, int wz, int rz, const float *bias, const int *lens,
                     const float *h0, const float *c0, const float *peep, bool reverse1, double *y, double *yh,
                     double *yc) {
    memset(y, 0, sizeof(double) * (size_t)S * D * B * H);
    for (int d = 0; d < D; d++) {
        bool rev = d == 1 || reverse1;
        for (int b = 0; b < B; b++) {
            double h[64], c[64], g[256];
            for (int j = 0; j < H; j++) {
                h[j] = h0 ? h0[(d * B + b) * H + j] : 0;
                c[j] = c0 ? c0[(d * B + b) * H + j] : 0;
            }
            for (int step = 0; step < lens[b]; step++) {
                int t = rev ? lens[b] - 1 - step : step;
                for (int n = 0; n < 4 * H; n++) {
                    double acc = bias ? (double)bias[d * 8 * H + n] + bias[d * 8 * H + 4 * H + n] : 0;
                    for (int k = 0; k < I; k++)
                        acc += x[(t * B + b) * I + k] * (double)ws[d] * (q(w, ((int64_t)d * I + k) * 4 * H + n) - wz);
                    for (int k = 0; k < H; k++)
                        acc += h[k] * (double)rs[d] * (q(r, ((int64_t)d * H + k) * 4 * H + n) - rz);
                    g[n] = acc;
                }
                for (int j = 0; j < H; j++) {
                    double gi = g[j] + (peep ? peep[d * 3 * H + j] * c[j] : 0);
                    double gf = g[2 * H + j] + (peep ? peep[d * 3 * H + 2 * H + j] * c[j] : 0);
                    double i_ = sigm(gi), f_ = sigm(gf), cc = tanh(g[3 * H + j]);
                    c[j] = f_ * c[j] + i_ * cc;
                    double o_ = sigm(g[H + j] + (peep ? peep[d * 3 * H + H + j] * c[j] : 0));
                    h[j] = o_ * tanh(c[j]);
                    y[(((size_t)t * D + d) * B + b) * H + j] = h[j];
                }
            }
            for (int j = 0; j < H; j++) {
                yh[(d * B + b) * H + j] = lens[b] ? h[j] : 0;
                yc[(d * B + b) * H + j] = lens[b] ? c[j] : 0;
            }
        }
    }
}

static void lstm_case(const char *direction, int S, int B, int I, int H, bool extras, const int *lens_in) {
    int D = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
    bool rev1 = strcmp(direction, "reverse") == 0;
    octet_tensor *x = rf32(3, D(S, B, I), -1.5f, 1.5f);
    octet_tensor *w = rq8(OCTET_INT8, 3, D(D, I, 4 * H), -60, 60), *r = rq8(OCTET_INT8, 3, D(D, H, 4 * H), -60, 60);
    octet_tensor *ws = rf32(1, D(D), 0.004f, 0.008f), *rs = rf32(1, D(D), 0.004f, 0.008f);
    octet_tensor *wz = keep(ot_tensor_new(OCTET_INT8, 1, D(D))), *rz = keep(ot_tensor_new(OCTET_INT8, 1, D(D)));
    octet_tensor *bias = extras ? rf32(2, D(D, 8 * H), -0.5f, 0.5f) : NULL;
    octet_tensor *h0 = extras ? rf32(3, D(D, B, H), -0.5f, 0.5f) : NULL, *c0 = extras ? rf32(3, D(D, B, H), -0.5f, 0.5f) : NULL;
    octet_tensor *p = extras ? rf32(2, D(D, 3 * H), -0.3f, 0.3f) : NULL;
    octet_tensor *lens = NULL;
    int lv[16];
    for (int b = 0; b < B; b++) lv[b] = lens_in ? lens_in[b] : S;
    if (lens_in) {
        lens = keep(ot_tensor_new(OCTET_INT32, 1, D(B)));
        memcpy(lens->data, lv, (size_t)B * sizeof(int));
    }
    double *y = calloc((size_t)S * D * B * H, sizeof(double)), yh[512], yc[512];
    ref_lstm(D, S, B, I, H, x->data, w, r, ws->data, rs->data, 0, 0, bias ? bias->data : NULL, lv,
             h0 ? h0->data : NULL, c0 ? c0->data : NULL, p ? p->data : NULL, rev1, y, yh, yc);
    octet_tensor *want[3] = {keep(ot_tensor_new(OCTET_FLOAT, 4, D(S, D, B, H))),
                             keep(ot_tensor_new(OCTET_FLOAT, 3, D(D, B, H))), keep(ot_tensor_new(OCTET_FLOAT, 3, D(D, B, H)))};
    for (int64_t i = 0; i < ot_tensor_numel(want[0]); i++) ((float *)want[0]->data)[i] = (float)y[i];
    for (int64_t i = 0; i < ot_tensor_numel(want[1]); i++) {
        ((float *)want[1]->data)[i] = (float)yh[i];
        ((float *)want[2]->data)[i] = (float)yc[i];
    }
    free(y);
    for (int o = 0; o < 3; o++) {
        call c = {.op = "DynamicQuantizeLSTM", .n_in = 12,
                  .in = {x, w, r, bias, lens, h0, c0, p, ws, wz, rs, rz}, .out_idx = o, .n_attrs = 2,
                  .attrs = (const attr[]){A_INT("hidden_size", H), A_STR("direction", direction)}};
        expect_tol(&c, want[o], 0.03);
    }
}

/* Sizes where the recurrence splits its hidden units across threads (several GEMV strips, a partial
 * last one): every output bit-identical in every mode (fed: packed per call; prepared: packed once) and
 * thread count, for int8 and uint8 weights with zero points, per-tensor and per-column scales. */
static void lstm_threads_case(const char *direction, int S, int B, int I, int H, bool u8, bool per_col,
                              const int *lens_in) {
    int D = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
    octet_dtype wt = u8 ? OCTET_UINT8 : OCTET_INT8;
    octet_tensor *x = rf32(3, D(S, B, I), -1.5f, 1.5f);
    octet_tensor *w = rq8(wt, 3, D(D, I, 4 * H), u8 ? 0 : -128, u8 ? 255 : 127);
    octet_tensor *r = rq8(wt, 3, D(D, H, 4 * H), u8 ? 0 : -128, u8 ? 255 : 127);
    octet_tensor *ws, *rs, *wz, *rz;
    if (per_col) {
        ws = rf32(2, D(D, 4 * H), 0.001f, 0.004f), rs = rf32(2, D(D, 4 * H), 0.001f, 0.004f);
        wz = keep(ot_tensor_new(wt, 2, D(D, 4 * H))), rz = keep(ot_tensor_new(wt, 2, D(D, 4 * H)));
    } else {
        ws = rf32(1, D(D), 0.001f, 0.004f), rs = rf32(1, D(D), 0.001f, 0.004f);
        wz = keep(ot_tensor_new(wt, 1, D(D))), rz = keep(ot_tensor_new(wt, 1, D(D)));
    }
    if (u8) { /* one zero point per tensor (ORT's rule for per-column ones) */
        int zw = rint_in(100, 156), zr = rint_in(100, 156);
        for (int64_t i = 0; i < ot_tensor_numel(wz); i++) ot_tensor_set_f64(wz, i, zw);
        for (int64_t i = 0; i < ot_tensor_numel(rz); i++) ot_tensor_set_f64(rz, i, zr);
    }
    octet_tensor *bias = rf32(2, D(D, 8 * H), -0.5f, 0.5f);
    octet_tensor *h0 = rf32(3, D(D, B, H), -0.5f, 0.5f), *c0 = rf32(3, D(D, B, H), -0.5f, 0.5f);
    octet_tensor *p = rf32(2, D(D, 3 * H), -0.3f, 0.3f);
    octet_tensor *lens = NULL;
    if (lens_in) {
        lens = keep(ot_tensor_new(OCTET_INT32, 1, D(B)));
        memcpy(lens->data, lens_in, (size_t)B * sizeof(int));
    }
    for (int o = 0; o < 3; o++) {
        call c = {.op = "DynamicQuantizeLSTM", .n_in = 12,
                  .in = {x, w, r, bias, lens, h0, c0, p, ws, wz, rs, rz}, .out_idx = o, .n_attrs = 2,
                  .attrs = (const attr[]){A_INT("hidden_size", H), A_STR("direction", direction)}};
        octet_tensor *want;
        if (run(&c, FED, 1, &want) != OCTET_OK) fail_msg("DynamicQuantizeLSTM: %s", octet_last_error());
        double mx = 0;
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) mx = fmax(mx, fabs(ot_tensor_get_f64(want, i)));
        assert_true(mx > 0.05 && mx < 50);   /* a live recurrence, not all zeros or saturated */
        expect_exact(&c, want);
    }
}

static void test_dynamic_quantize_lstm(void **st) {
    (void)st;
    lstm_case("forward", 5, 3, 7, 6, false, NULL);
    lstm_case("reverse", 4, 2, 5, 4, true, (const int[]){4, 2});
    lstm_case("bidirectional", 6, 3, 9, 5, true, (const int[]){6, 1, 3});
    lstm_case("bidirectional", 3, 2, 4, 3, false, (const int[]){0, 2});
    lstm_threads_case("forward", 5, 3, 37, 150, false, false, NULL);
    lstm_threads_case("bidirectional", 6, 3, 20, 150, true, true, (const int[]){6, 2, 4});
    lstm_threads_case("reverse", 4, 1, 16, 290, true, false, NULL);
    /* shape errors */
    octet_tensor *x = rf32(3, D(2, 1, 3), -1, 1);
    octet_tensor *w = rq8(OCTET_INT8, 3, D(1, 3, 8), -5, 5), *r = rq8(OCTET_INT8, 3, D(1, 2, 8), -5, 5);
    octet_tensor *sc1 = rf32(1, D(1), 0.01f, 0.02f), *z1 = keep(ot_tensor_new(OCTET_INT8, 1, D(1)));
    call ok = {.op = "DynamicQuantizeLSTM", .n_in = 12, .in = {x, w, r, NULL, NULL, NULL, NULL, NULL, sc1, z1, sc1, z1},
               .n_attrs = 1, .attrs = (const attr[]){A_INT("hidden_size", 2)}};
    octet_tensor *got;
    assert_int_equal(run(&ok, FED, 1, &got), OCTET_OK);
    call bad_h = ok;
    bad_h.attrs = (const attr[]){A_INT("hidden_size", 3)};
    expect_fail(&bad_h);
    call bad_w = ok;
    bad_w.in[1] = rq8(OCTET_INT8, 3, D(1, 8, 3), -5, 5);   /* ONNX LSTM's [dirs, 4H, I] layout */
    expect_fail(&bad_w);
    call bad_zp = ok;
    bad_zp.in[9] = keep(ot_tensor_new(OCTET_UINT8, 1, D(1)));
    expect_fail(&bad_zp);
    call bad_lens = ok;
    bad_lens.in[4] = keep(ot_tensor_new(OCTET_INT32, 1, D(1)));
    ((int32_t *)bad_lens.in[4]->data)[0] = 3;
    expect_fail(&bad_lens);
    call bad_dir = ok;
    bad_dir.n_attrs = 2;
    bad_dir.attrs = (const attr[]){A_INT("hidden_size", 2), A_STR("direction", "sideways")};
    expect_fail(&bad_dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_qgemm, free_pool),
        cmocka_unit_test_teardown(test_qgemm_errors, free_pool),
        cmocka_unit_test_teardown(test_matmul_integer_to_float, free_pool),
        cmocka_unit_test_teardown(test_dynamic_quantize_matmul, free_pool),
        cmocka_unit_test_teardown(test_qlinear_add_mul, free_pool),
        cmocka_unit_test_teardown(test_qlinear_add_ties, free_pool),
        cmocka_unit_test_teardown(test_avx2_loops, free_pool),
        cmocka_unit_test_teardown(test_tables, free_pool),
        cmocka_unit_test_teardown(test_concat, free_pool),
        cmocka_unit_test_teardown(test_softmax, free_pool),
        cmocka_unit_test_teardown(test_global_avgpool, free_pool),
        cmocka_unit_test_teardown(test_avgpool, free_pool),
        cmocka_unit_test_teardown(test_dynamic_quantize_lstm, free_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
