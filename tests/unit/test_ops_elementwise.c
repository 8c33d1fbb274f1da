/* Elementwise, unary, logical, reduce and softmax ops: hand-computed cases, broadcasting corners
 * (rank mismatch, size-1 dims, scalars, zero-size dims), integer arithmetic, opset differences,
 * error cases, and thread-count independence on big tensors. Each case is a one-node model run
 * through the public session API with its inputs fed, and again with them as initializers (which
 * the planner folds at plan time). */
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
#include "ops/broadcast.h"
#include "tensor/tensor.h"
#include "test_tensors.h"

/* ---- tensors, freed after each test ---- */

#define NO_DIMS ((const int64_t *)NULL)

#define TF(nd, dims, ...) tnew(OCTET_FLOAT, nd, dims, (const float[]){__VA_ARGS__})
#define TD(nd, dims, ...) tnew(OCTET_DOUBLE, nd, dims, (const double[]){__VA_ARGS__})
#define TI64(nd, dims, ...) tnew(OCTET_INT64, nd, dims, (const int64_t[]){__VA_ARGS__})
#define TI32(nd, dims, ...) tnew(OCTET_INT32, nd, dims, (const int32_t[]){__VA_ARGS__})
#define TU8(nd, dims, ...) tnew(OCTET_UINT8, nd, dims, (const uint8_t[]){__VA_ARGS__})
#define TB(nd, dims, ...) tnew(OCTET_BOOL, nd, dims, (const uint8_t[]){__VA_ARGS__})

/* deterministic pseudo-random floats in [-range, range) */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float frand(float range) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((float)(g_rng >> 40) / (float)(1ull << 24) * 2.0f - 1.0f) * range;
}
static octet_tensor *trand(int nd, const int64_t *dims, float range) {
    octet_tensor *t = keep(ot_tensor_new(OCTET_FLOAT, nd, dims));
    float *p = t->data;
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) p[i] = frand(range);
    return t;
}

/* ---- one-node models ---- */

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

typedef struct call {
    const char *op;
    int64_t opset;
    int n_attrs;
    const attr *attrs;
    int n_in;
    octet_tensor *const *in; /* NULL = omitted optional input */
} call;

#define ATTRS(...) .n_attrs = sizeof((const attr[]){__VA_ARGS__}) / sizeof(attr), .attrs = (const attr[]){__VA_ARGS__}
#define INS(...) .n_in = sizeof((octet_tensor *const[]){__VA_ARGS__}) / sizeof(octet_tensor *), \
                 .in = (octet_tensor *const[]){__VA_ARGS__}

static octet_model *build(const call *c, bool fold) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    assert_int_equal(ot_model_set_opset(m, "", c->opset), OCTET_OK);
    ot_graph *g = m->graph;
    ot_node *n = ot_graph_add_node(g, c->op, "", "node");
    assert_non_null(n);
    const char *names[8];
    char buf[8][16];
    assert_true(c->n_in <= 8);
    for (int i = 0; i < c->n_in; i++) {
        snprintf(buf[i], sizeof buf[i], "in%d", i);
        names[i] = c->in[i] ? buf[i] : "";
        if (!c->in[i]) continue;
        if (fold) assert_int_equal(ot_graph_add_initializer(g, buf[i], ot_tensor_clone(c->in[i])), OCTET_OK);
        else assert_int_equal(ot_graph_add_input(g, buf[i], c->in[i]->dtype, c->in[i]->ndim, c->in[i]->dims), OCTET_OK);
    }
    const char *out = "out";
    assert_int_equal(ot_graph_add_output(g, out, OCTET_UNDEFINED, -1, NULL), OCTET_OK);
    assert_int_equal(ot_node_set_inputs(n, c->n_in, names), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
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

static octet_status run(const call *c, bool fold, int threads, octet_tensor **out) {
    octet_model *m = build(c, fold);
    octet_session *s = NULL;
    octet_session_options o = {threads};
    *out = NULL;
    octet_status st = octet_session_create(&s, m, &o);
    if (st == OCTET_OK) {
        octet_tensor *fed[8];
        int n_fed = 0;
        for (int i = 0; i < c->n_in && !fold; i++)
            if (c->in[i]) fed[n_fed++] = c->in[i];
        st = octet_session_run(s, NULL, fed, n_fed, out, 1);
        if (st == OCTET_OK) keep(*out);
    }
    octet_session_free(s);
    octet_model_free(m);
    return st;
}

static bool close_enough(const octet_tensor *got, const octet_tensor *want, double tol, int64_t *bad) {
    int64_t n = ot_tensor_numel(want);
    for (int64_t i = 0; i < n; i++) {
        double g = ot_tensor_get_f64(got, i), w = ot_tensor_get_f64(want, i);
        if (isnan(w) && isnan(g)) continue;
        if (isinf(w) && g == w) continue;
        if (!(fabs(g - w) <= tol * (1 + fabs(w)))) {
            *bad = i;
            return false;
        }
    }
    return true;
}

/* Expect `want` (dtype, shape, values within tol relative; tol 0 = exact) fed and folded, 1 and 2 threads. */
static void expect_tol(const call *c, const octet_tensor *want, double tol) {
    static const struct { bool fold; int threads; } modes[] = {{false, 1}, {true, 1}, {false, 2}};
    for (size_t mi = 0; mi < sizeof modes / sizeof *modes; mi++) {
        octet_tensor *got;
        octet_status s = run(c, modes[mi].fold, modes[mi].threads, &got);
        if (s != OCTET_OK)
            fail_msg("%s (opset %lld, %s): %s", c->op, (long long)c->opset, modes[mi].fold ? "folded" : "fed",
                     octet_last_error());
        char a[128], b[128];
        if (got->dtype != want->dtype || got->ndim != want->ndim ||
            memcmp(got->dims, want->dims, (size_t)want->ndim * sizeof(int64_t)) != 0)
            fail_msg("%s (opset %lld): got %s%s, want %s%s", c->op, (long long)c->opset, octet_dtype_name(got->dtype),
                     ot_shape_str(a, sizeof a, got->ndim, got->dims), octet_dtype_name(want->dtype),
                     ot_shape_str(b, sizeof b, want->ndim, want->dims));
        int64_t bad = -1;
        if (!close_enough(got, want, tol, &bad))
            fail_msg("%s (opset %lld, %s): element %lld is %.9g, want %.9g", c->op, (long long)c->opset,
                     modes[mi].fold ? "folded" : "fed", (long long)bad, ot_tensor_get_f64(got, bad),
                     ot_tensor_get_f64(want, bad));
    }
}
static void EXPECT(const call *c, const octet_tensor *want) { expect_tol(c, want, 0); }

/* Expect failure with this status, fed and folded. */
static void expect_err(const call *c, octet_status want) {
    for (int fold = 0; fold < 2; fold++) {
        octet_tensor *got;
        octet_status s = run(c, fold, 1, &got);
        if (s != want)
            fail_msg("%s (opset %lld, %s): status %s, want %s (%s)", c->op, (long long)c->opset, fold ? "folded" : "fed",
                     octet_status_name(s), octet_status_name(want), octet_last_error());
        assert_true(strlen(octet_last_error()) > 0);
    }
}

/* Expect any failure (the exact status is not the point: no crash, no success). */
static void expect_fail(const call *c) {
    octet_tensor *got;
    assert_int_not_equal(run(c, false, 1, &got), OCTET_OK);
    assert_true(strlen(octet_last_error()) > 0);
}

/* ---- broadcasting ---- */

static void test_broadcast_helper(void **st) {
    (void)st;
    int nd;
    int64_t d[OCTET_MAX_DIMS];
    int nds[3] = {4, 3, 0};
    const int64_t *ds[3] = {D(2, 1, 4, 1), D(3, 1, 5), NO_DIMS};
    assert_int_equal(ot_broadcast_dims(NULL, 3, nds, ds, &nd, d), OCTET_OK);
    assert_int_equal(nd, 4);
    assert_memory_equal(d, D(2, 3, 4, 5), 4 * sizeof(int64_t));
    int nds2[2] = {2, 1};
    const int64_t *ds2[2] = {D(2, 3), D(4)};
    assert_int_equal(ot_broadcast_dims(NULL, 2, nds2, ds2, &nd, d), OCTET_ERR_SHAPE);
    assert_non_null(strstr(octet_last_error(), "[2,3]"));
    /* zero-size: 0 with 1 gives 0; 0 with 3 does not broadcast */
    const int64_t *ds3[2] = {D(0, 3), D(1)};
    assert_int_equal(ot_broadcast_dims(NULL, 2, nds2, ds3, &nd, d), OCTET_OK);
    assert_int_equal(d[0], 0);
    const int64_t *ds4[2] = {D(0, 3), D(3)};
    nds2[1] = 1;
    assert_int_equal(ot_broadcast_dims(NULL, 2, nds2, ds4, &nd, d), OCTET_OK);
    const int64_t *ds5[2] = {D(3, 0), D(3)};
    assert_int_equal(ot_broadcast_dims(NULL, 2, nds2, ds5, &nd, d), OCTET_ERR_SHAPE);

    /* [N,C,H,W] + [C,1,1] coalesces to N*C runs of H*W with the second operand repeated */
    octet_tensor *a = tnew(OCTET_FLOAT, 4, D(2, 3, 4, 5), NULL), *b = tnew(OCTET_FLOAT, 3, D(3, 1, 1), NULL);
    ot_bcast bc;
    assert_int_equal(ot_bcast_plan(NULL, &bc, 4, D(2, 3, 4, 5), 2, (const octet_tensor *[]){a, b}), OCTET_OK);
    assert_int_equal(bc.ndim, 3);
    assert_int_equal(bc.shape[2], 20);
    assert_int_equal(bc.stride[2][2], 0);
    assert_int_equal(bc.stride[2][1], 1);
    assert_int_equal(bc.stride[1][2], 1);
    /* same shape: one run */
    assert_int_equal(ot_bcast_plan(NULL, &bc, 4, D(2, 3, 4, 5), 2, (const octet_tensor *[]){a, a}), OCTET_OK);
    assert_int_equal(bc.ndim, 1);
    assert_int_equal(bc.shape[0], 120);
}

static void test_add_broadcast(void **st) {
    (void)st;
    /* rank mismatch and size-1 dims: [2,1,3] + [2,1] -> [2,2,3] */
    octet_tensor *a = TF(3, D(2, 1, 3), 1, 2, 3, 4, 5, 6);
    octet_tensor *b = TF(2, D(2, 1), 10, 20);
    EXPECT(&(call){"Add", 13, INS(a, b)},
           TF(3, D(2, 2, 3), 11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26));
    EXPECT(&(call){"Add", 7, INS(b, a)},
           TF(3, D(2, 2, 3), 11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26));
    /* scalar (rank 0) on either side */
    octet_tensor *s = TF(0, NO_DIMS, 0.5f);
    EXPECT(&(call){"Sub", 14, INS(a, s)}, TF(3, D(2, 1, 3), 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f));
    EXPECT(&(call){"Sub", 14, INS(s, a)}, TF(3, D(2, 1, 3), -0.5f, -1.5f, -2.5f, -3.5f, -4.5f, -5.5f));
    EXPECT(&(call){"Mul", 14, INS(s, s)}, TF(0, NO_DIMS, 0.25f));
    /* per-channel: [1,2,2,2] * [2,1,1] */
    octet_tensor *x = TF(4, D(1, 2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
    octet_tensor *c = TF(3, D(2, 1, 1), 2, -1);
    EXPECT(&(call){"Mul", 14, INS(x, c)}, TF(4, D(1, 2, 2, 2), 2, 4, 6, 8, -5, -6, -7, -8));
    /* row: [2,3] / [3] */
    EXPECT(&(call){"Div", 14, INS(TF(2, D(2, 3), 2, 4, 6, 8, 10, 12), TF(1, D(3), 2, 4, 8))},
           TF(2, D(2, 3), 1, 1, 0.75f, 4, 2.5f, 1.5f));
    /* outer product: [3,1] - [1,2] */
    EXPECT(&(call){"Sub", 14, INS(TF(2, D(3, 1), 1, 2, 3), TF(2, D(1, 2), 10, 20))},
           TF(2, D(3, 2), -9, -19, -8, -18, -7, -17));
    /* zero-size dims: [0,3] + [1,3] -> [0,3]; [2,0] + [2,1] -> [2,0] */
    EXPECT(&(call){"Add", 14, INS(TF(2, D(0, 3), 0), TF(2, D(1, 3), 1, 2, 3))}, TF(2, D(0, 3), 0));
    EXPECT(&(call){"Add", 14, INS(TF(2, D(2, 0), 0), TF(2, D(2, 1), 1, 2))}, TF(2, D(2, 0), 0));
}

static void test_broadcast_errors(void **st) {
    (void)st;
    expect_err(&(call){"Add", 14, INS(TF(2, D(2, 3), 1, 2, 3, 4, 5, 6), TF(1, D(4), 1, 2, 3, 4))}, OCTET_ERR_SHAPE);
    expect_err(&(call){"Mul", 14, INS(TF(2, D(2, 0), 0), TF(1, D(3), 1, 2, 3))}, OCTET_ERR_SHAPE);
    expect_err(&(call){"Where", 16, INS(TB(1, D(2), 1, 0), TF(1, D(3), 1, 2, 3), TF(1, D(1), 0))}, OCTET_ERR_SHAPE);
    expect_err(&(call){"Equal", 13, INS(TI64(1, D(2), 1, 2), TI64(1, D(3), 1, 2, 3))}, OCTET_ERR_SHAPE);
    /* PRelu's slope must broadcast to X, not the other way */
    expect_err(&(call){"PRelu", 16, INS(TF(1, D(2), 1, 2), TF(2, D(2, 2), 1, 2, 3, 4))}, OCTET_ERR_SHAPE);
    /* dtype mismatches and unsupported dtypes fail cleanly */
    expect_fail(&(call){"Add", 14, INS(TF(1, D(2), 1, 2), TI64(1, D(2), 1, 2))});
    expect_fail(&(call){"Sigmoid", 13, INS(TI32(1, D(2), 1, 2))});
    expect_fail(&(call){"And", 7, INS(TF(1, D(2), 1, 0), TB(1, D(2), 1, 0))});
    expect_fail(&(call){"Where", 16, INS(TF(1, D(2), 1, 0), TF(1, D(2), 1, 2), TF(1, D(2), 1, 2))});
    expect_fail(&(call){"Mod", 13, INS(TF(1, D(2), 1, 2), TF(1, D(2), 1, 2))}); /* fmod=0 on floats */
    expect_fail(&(call){"Div", 14, INS(TI64(1, D(2), 1, 2), TI64(1, D(2), 1, 0))}); /* integer / 0 */
    expect_fail(&(call){"Cast", 13, ATTRS(A_INT("to", 8)), INS(TF(1, D(2), 1, 2))}); /* to string */
    expect_fail(&(call){"Softmax", 13, ATTRS(A_INT("axis", 3)), INS(TF(2, D(1, 2), 1, 2))});
    expect_fail(&(call){"ReduceSum", 13, INS(TF(2, D(1, 2), 1, 2), TI64(1, D(1), 2))});
    expect_fail(&(call){"ReduceMax", 13, ATTRS(A_INTS("axes", 0, 0)), INS(TF(2, D(1, 2), 1, 2))});
}

static void test_int_arith(void **st) {
    (void)st;
    octet_tensor *a = TI64(1, D(6), 7, -7, 7, -7, INT64_MAX, INT64_MIN);
    octet_tensor *b = TI64(1, D(6), 2, 2, -2, -2, 1, -1);
    EXPECT(&(call){"Add", 14, INS(a, b)}, TI64(1, D(6), 9, -5, 5, -9, INT64_MIN, INT64_MAX)); /* wraps */
    EXPECT(&(call){"Sub", 14, INS(a, b)}, TI64(1, D(6), 5, -9, 9, -5, INT64_MAX - 1, INT64_MIN + 1));
    EXPECT(&(call){"Mul", 14, INS(a, b)}, TI64(1, D(6), 14, -14, -14, 14, INT64_MAX, INT64_MIN));
    EXPECT(&(call){"Div", 14, INS(a, b)}, TI64(1, D(6), 3, -3, -3, 3, INT64_MAX, INT64_MIN)); /* truncates */
    EXPECT(&(call){"Mod", 13, INS(a, b)}, TI64(1, D(6), 1, 1, -1, -1, 0, 0));                 /* divisor's sign */
    EXPECT(&(call){"Mod", 13, ATTRS(A_INT("fmod", 1)), INS(a, b)}, TI64(1, D(6), 1, -1, 1, -1, 0, 0));
    EXPECT(&(call){"Max", 13, INS(a, b)}, TI64(1, D(6), 7, 2, 7, -2, INT64_MAX, -1));
    EXPECT(&(call){"Min", 13, INS(a, b, TI64(0, NO_DIMS, 0))}, TI64(1, D(6), 0, -7, -2, -7, 0, INT64_MIN));
    /* shape arithmetic: [4] int64 * scalar, int32 broadcast */
    EXPECT(&(call){"Mul", 14, INS(TI64(1, D(4), 1, 3, 224, 224), TI64(0, NO_DIMS, 2))}, TI64(1, D(4), 2, 6, 448, 448));
    EXPECT(&(call){"Div", 14, INS(TI32(2, D(2, 2), 9, -9, 100, 5), TI32(1, D(2), 4, 3))}, TI32(2, D(2, 2), 2, -3, 25, 1));
    EXPECT(&(call){"Add", 14, INS(TU8(1, D(2), 250, 3), TU8(1, D(1), 10))}, TU8(1, D(2), 4, 13));
    /* Pow with an integer base and exponent, and float base with int exponent */
    EXPECT(&(call){"Pow", 15, INS(TI64(1, D(3), 2, -3, 5), TI64(1, D(3), 10, 3, 0))}, TI64(1, D(3), 1024, -27, 1));
    EXPECT(&(call){"Pow", 15, INS(TF(1, D(3), 2, -3, 0.5f), TI32(0, NO_DIMS, 2))}, TF(1, D(3), 4, 9, 0.25f));
    EXPECT(&(call){"Pow", 7, INS(TF(1, D(3), 4, 9, 2), TF(1, D(3), 0.5f, 0.5f, -1))}, TF(1, D(3), 2, 3, 0.5f));
}

static void test_variadic_prelu(void **st) {
    (void)st;
    octet_tensor *a = TF(2, D(2, 1), 1, 2), *b = TF(1, D(3), 10, 20, 30), *c = TF(0, NO_DIMS, 100);
    EXPECT(&(call){"Sum", 13, INS(a, b, c)}, TF(2, D(2, 3), 111, 121, 131, 112, 122, 132));
    EXPECT(&(call){"Sum", 13, INS(b)}, TF(1, D(3), 10, 20, 30));
    EXPECT(&(call){"Mean", 13, INS(a, b, c)}, TF(2, D(2, 3), 37, 121.0f / 3, 131.0f / 3, 112.0f / 3, 122.0f / 3, 44));
    EXPECT(&(call){"Max", 8, INS(a, b, c, TF(1, D(1), 125))}, TF(2, D(2, 3), 125, 125, 125, 125, 125, 125));
    EXPECT(&(call){"Min", 8, INS(b, a)}, TF(2, D(2, 3), 1, 1, 1, 2, 2, 2));
    EXPECT(&(call){"Max", 13, INS(TF(1, D(2), NAN, 1), TF(1, D(2), 0, NAN))}, TF(1, D(2), NAN, NAN));
    /* PRelu with a per-channel slope [C,1,1] and a scalar slope */
    octet_tensor *x = TF(3, D(2, 1, 2), -1, 2, -3, 4);
    EXPECT(&(call){"PRelu", 9, INS(x, TF(3, D(2, 1, 1), 0.5f, 0.25f))}, TF(3, D(2, 1, 2), -0.5f, 2, -0.75f, 4));
    EXPECT(&(call){"PRelu", 16, INS(x, TF(1, D(1), 0.1f))}, TF(3, D(2, 1, 2), -0.1f, 2, -0.3f, 4));
}

static void test_logical(void **st) {
    (void)st;
    octet_tensor *a = TI64(2, D(2, 2), 1, 2, 3, 4), *b = TI64(1, D(2), 2, 3);
    EXPECT(&(call){"Equal", 13, INS(a, b)}, TB(2, D(2, 2), 0, 0, 0, 0));
    EXPECT(&(call){"Greater", 13, INS(a, b)}, TB(2, D(2, 2), 0, 0, 1, 1));
    EXPECT(&(call){"GreaterOrEqual", 16, INS(a, b)}, TB(2, D(2, 2), 0, 0, 1, 1));
    EXPECT(&(call){"Less", 13, INS(a, b)}, TB(2, D(2, 2), 1, 1, 0, 0));
    EXPECT(&(call){"LessOrEqual", 16, INS(a, TI64(0, NO_DIMS, 2))}, TB(2, D(2, 2), 1, 1, 0, 0));
    EXPECT(&(call){"Equal", 11, INS(TF(1, D(3), 1, NAN, 2), TF(1, D(3), 1, NAN, 3))}, TB(1, D(3), 1, 0, 0));
    EXPECT(&(call){"Equal", 11, INS(TB(1, D(2), 1, 0), TB(1, D(2), 1, 1))}, TB(1, D(2), 1, 0));
    octet_tensor *p = TB(2, D(2, 2), 0, 0, 1, 1), *q = TB(1, D(2), 0, 1);
    EXPECT(&(call){"And", 7, INS(p, q)}, TB(2, D(2, 2), 0, 0, 0, 1));
    EXPECT(&(call){"Or", 7, INS(p, q)}, TB(2, D(2, 2), 0, 1, 1, 1));
    EXPECT(&(call){"Xor", 7, INS(p, q)}, TB(2, D(2, 2), 0, 1, 1, 0));
    EXPECT(&(call){"Not", 1, INS(q)}, TB(1, D(2), 1, 0));
    /* Where: three-way broadcasting, int64 and float values */
    octet_tensor *cond = TB(2, D(2, 1), 1, 0);
    EXPECT(&(call){"Where", 16, INS(cond, TI64(1, D(3), 1, 2, 3), TI64(0, NO_DIMS, -1))},
           TI64(2, D(2, 3), 1, 2, 3, -1, -1, -1));
    EXPECT(&(call){"Where", 9, INS(TB(1, D(3), 1, 0, 1), TF(2, D(2, 1), 5, 6), TF(1, D(3), 7, 8, 9))},
           TF(2, D(2, 3), 5, 8, 5, 6, 8, 6));
    EXPECT(&(call){"Where", 16, INS(TB(0, NO_DIMS, 0), TU8(1, D(2), 1, 2), TU8(1, D(2), 3, 4))}, TU8(1, D(2), 3, 4));
}

/* ---- unary ---- */

typedef double (*ref_fn)(double);
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double r_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double r_gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
static double r_softplus(double x) { return log(1 + exp(x)); }
static double r_softsign(double x) { return x / (1 + fabs(x)); }
static double r_hswish(double x) { return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double r_hsig(double x) { return fmax(0, fmin(1, 0.3 * x + 0.4)); }
static double r_elu(double x) { return x < 0 ? 2 * (exp(x) - 1) : x; }
static double r_selu(double x) {
    return x > 0 ? 1.0507009873554804934193349852946 * x
                 : 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * (exp(x) - 1);
}
static double r_leaky(double x) { return x < 0 ? 0.2 * x : x; }
static double r_relu(double x) { return x < 0 ? 0 : x; }
static double r_neg(double x) { return -x; }
static double r_recip(double x) { return 1 / x; }

static void check_unary(const char *op, int64_t opset, int n_attrs, const attr *attrs, ref_fn f, float range,
                        double tol) {
    int64_t n = 1001;
    octet_tensor *x = trand(1, D(n), range);
    octet_tensor *want = keep(ot_tensor_new(OCTET_FLOAT, 1, D(n)));
    for (int64_t i = 0; i < n; i++) ((float *)want->data)[i] = (float)f(((float *)x->data)[i]);
    expect_tol(&(call){op, opset, n_attrs, attrs, 1, (octet_tensor *const[]){x}}, want, tol);
}

static void test_unary_float(void **st) {
    (void)st;
    check_unary("Sigmoid", 13, 0, NULL, r_sigmoid, 20, 1e-6);
    check_unary("Tanh", 13, 0, NULL, tanh, 10, 1e-6);
    check_unary("Erf", 13, 0, NULL, erf, 4, 1e-6);
    check_unary("Exp", 13, 0, NULL, exp, 20, 1e-6);
    check_unary("Relu", 14, 0, NULL, r_relu, 5, 0);
    check_unary("Neg", 13, 0, NULL, r_neg, 5, 0);
    check_unary("Reciprocal", 13, 0, NULL, r_recip, 5, 1e-6);
    check_unary("Gelu", 20, 0, NULL, r_gelu, 6, 1e-6);
    check_unary("Gelu", 20, 1, (const attr[]){A_STR("approximate", "tanh")}, r_gelu_tanh, 6, 1e-6);
    check_unary("Softplus", 1, 0, NULL, r_softplus, 30, 1e-6);
    check_unary("Softsign", 1, 0, NULL, r_softsign, 30, 1e-6);
    check_unary("HardSwish", 14, 0, NULL, r_hswish, 5, 1e-6);
    check_unary("HardSigmoid", 6, 2, (const attr[]){A_FLOAT("alpha", 0.3f), A_FLOAT("beta", 0.4f)}, r_hsig, 5, 1e-6);
    check_unary("Elu", 6, 1, (const attr[]){A_FLOAT("alpha", 2.0f)}, r_elu, 5, 1e-6);
    check_unary("Selu", 6, 0, NULL, r_selu, 5, 1e-6);
    check_unary("LeakyRelu", 6, 1, (const attr[]){A_FLOAT("alpha", 0.2f)}, r_leaky, 5, 1e-7);
    octet_tensor *x = TF(1, D(8), -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.7f, -0.f);
    EXPECT(&(call){"Round", 11, INS(x)}, TF(1, D(8), -2, -2, -0.f, 0, 2, 2, 3, 0));
    EXPECT(&(call){"Floor", 13, INS(x)}, TF(1, D(8), -3, -2, -1, 0, 1, 2, 2, 0));
    EXPECT(&(call){"Ceil", 13, INS(x)}, TF(1, D(8), -2, -1, 0, 1, 2, 3, 3, 0));
    EXPECT(&(call){"Sign", 13, INS(x)}, TF(1, D(8), -1, -1, -1, 1, 1, 1, 1, 0));
    EXPECT(&(call){"Abs", 13, INS(x)}, TF(1, D(8), 2.5f, 1.5f, 0.5f, 0.5f, 1.5f, 2.5f, 2.7f, 0));
    EXPECT(&(call){"Sqrt", 13, INS(TF(1, D(3), 4, 0, 2.25f))}, TF(1, D(3), 2, 0, 1.5f));
    expect_tol(&(call){"Log", 13, INS(TF(1, D(3), 1, 2.718281828f, 0))}, TF(1, D(3), 0, 1, -INFINITY), 1e-6);
    EXPECT(&(call){"Identity", 16, INS(TI64(2, D(1, 2), 5, 6))}, TI64(2, D(1, 2), 5, 6));
    EXPECT(&(call){"Tanh", 13, INS(TD(1, D(2), 0, 1))}, TD(1, D(2), 0, tanh(1.0)));
}

static void test_unary_int(void **st) {
    (void)st;
    octet_tensor *x = TI32(1, D(5), -5, -1, 0, 3, INT32_MIN);
    EXPECT(&(call){"Relu", 14, INS(x)}, TI32(1, D(5), 0, 0, 0, 3, 0));
    EXPECT(&(call){"Neg", 13, INS(x)}, TI32(1, D(5), 5, 1, 0, -3, INT32_MIN));
    EXPECT(&(call){"Abs", 13, INS(x)}, TI32(1, D(5), 5, 1, 0, 3, INT32_MIN));
    EXPECT(&(call){"Sign", 13, INS(x)}, TI32(1, D(5), -1, -1, 0, 1, -1));
    expect_fail(&(call){"Exp", 13, INS(x)});
}

static void test_clip(void **st) {
    (void)st;
    octet_tensor *x = TF(1, D(5), -3, -1, 0, 1, 3);
    /* opset 6: attributes */
    EXPECT(&(call){"Clip", 6, ATTRS(A_FLOAT("min", -1.5f), A_FLOAT("max", 2)), INS(x)}, TF(1, D(5), -1.5f, -1, 0, 1, 2));
    EXPECT(&(call){"Clip", 6, ATTRS(A_FLOAT("max", 0)), INS(x)}, TF(1, D(5), -3, -1, 0, 0, 0));
    /* opset 11+: optional inputs; omitted min, empty max */
    EXPECT(&(call){"Clip", 13, INS(x, TF(0, NO_DIMS, -1.5f), TF(0, NO_DIMS, 2))}, TF(1, D(5), -1.5f, -1, 0, 1, 2));
    EXPECT(&(call){"Clip", 11, INS(x, NULL, TF(0, NO_DIMS, 0.5f))}, TF(1, D(5), -3, -1, 0, 0.5f, 0.5f));
    EXPECT(&(call){"Clip", 12, INS(x, TF(0, NO_DIMS, 0))}, TF(1, D(5), 0, 0, 0, 1, 3));
    EXPECT(&(call){"Clip", 13, INS(x)}, TF(1, D(5), -3, -1, 0, 1, 3));
    /* min > max: everything becomes max */
    EXPECT(&(call){"Clip", 13, INS(x, TF(0, NO_DIMS, 2), TF(0, NO_DIMS, 1))}, TF(1, D(5), 1, 1, 1, 1, 1));
    /* integers */
    EXPECT(&(call){"Clip", 13, INS(TI64(1, D(4), -100, 5, 7, INT64_MAX), TI64(0, NO_DIMS, 0), TI64(0, NO_DIMS, 6))},
           TI64(1, D(4), 0, 5, 6, 6));
    EXPECT(&(call){"Clip", 12, INS(TU8(1, D(3), 0, 100, 255), TU8(0, NO_DIMS, 10))}, TU8(1, D(3), 10, 100, 255));
    expect_fail(&(call){"Clip", 13, INS(x, TF(1, D(2), 0, 1))});
    expect_fail(&(call){"Clip", 13, INS(x, TI64(0, NO_DIMS, 0))});
}

static void test_cast(void **st) {
    (void)st;
    octet_tensor *x = TF(1, D(6), -2.7f, -0.5f, 0, 0.5f, 2.7f, 300.9f);
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_INT32)), INS(x)}, TI32(1, D(6), -2, 0, 0, 0, 2, 300));
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_INT64)), INS(x)}, TI64(1, D(6), -2, 0, 0, 0, 2, 300));
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_BOOL)), INS(x)}, TB(1, D(6), 1, 1, 0, 1, 1, 1));
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_UINT8)), INS(x)}, TU8(1, D(6), 254, 0, 0, 0, 2, 44));
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_DOUBLE)), INS(x)},
           TD(1, D(6), -2.7f, -0.5f, 0, 0.5f, 2.7f, 300.9f));
    EXPECT(&(call){"Cast", 6, ATTRS(A_INT("to", OCTET_FLOAT)), INS(TI64(1, D(3), -3, 16777217, 0))},
           TF(1, D(3), -3, 16777216, 0));
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_INT32)), INS(TB(1, D(2), 1, 0))}, TI32(1, D(2), 1, 0));
    EXPECT(&(call){"Cast", 19, ATTRS(A_INT("to", OCTET_INT8)), INS(TI64(1, D(3), 127, 128, -129))},
           tnew(OCTET_INT8, 1, D(3), (const int8_t[]){127, -128, 127}));
    /* float16 round trip: exact values survive; 1/3 rounds to the nearest half; big -> inf */
    octet_tensor *h = TF(1, D(6), 1, -2.5f, 65504, 1.0f / 3, 1e6f, 6e-8f);
    call to_half = {"Cast", 13, ATTRS(A_INT("to", OCTET_FLOAT16)), INS(h)};
    octet_tensor *got;
    assert_int_equal(run(&to_half, false, 1, &got), OCTET_OK);
    const uint16_t *hb = got->data;
    assert_int_equal(hb[0], 0x3c00);
    assert_int_equal(hb[1], 0xc100);
    assert_int_equal(hb[2], 0x7bff);
    assert_int_equal(hb[3], 0x3555);
    assert_int_equal(hb[4], 0x7c00);
    assert_int_equal(hb[5], 0x0001);
    EXPECT(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_FLOAT)), INS(got)},
           TF(1, D(6), 1, -2.5f, 65504, 0.333251953125f, INFINITY, 5.9604644775390625e-08f));
    EXPECT(&(call){"CastLike", 15, INS(TF(1, D(2), 1.9f, -1.9f), TI64(0, NO_DIMS, 0))}, TI64(1, D(2), 1, -1));
}

/* ---- reduce ---- */

static void test_reduce(void **st) {
    (void)st;
    /* x[2,3,2] = 1..12 */
    octet_tensor *x = TF(3, D(2, 3, 2), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    EXPECT(&(call){"ReduceSum", 11, ATTRS(A_INTS("axes", 1)), INS(x)}, TF(3, D(2, 1, 2), 9, 12, 27, 30));
    EXPECT(&(call){"ReduceSum", 13, INS(x, TI64(1, D(1), 1))}, TF(3, D(2, 1, 2), 9, 12, 27, 30));
    EXPECT(&(call){"ReduceSum", 13, ATTRS(A_INT("keepdims", 0)), INS(x, TI64(1, D(2), 0, -1))}, TF(1, D(3), 18, 26, 34));
    EXPECT(&(call){"ReduceSum", 13, ATTRS(A_INT("keepdims", 0)), INS(x)}, TF(0, NO_DIMS, 78));
    EXPECT(&(call){"ReduceSum", 13, INS(x, TI64(1, D(0), 0))}, TF(3, D(1, 1, 1), 78));
    EXPECT(&(call){"ReduceSum", 13, ATTRS(A_INT("noop_with_empty_axes", 1)), INS(x, TI64(1, D(0), 0))}, x);
    /* non-adjacent axes take two passes */
    EXPECT(&(call){"ReduceMean", 13, ATTRS(A_INTS("axes", 0, 2), A_INT("keepdims", 0)), INS(x)},
           TF(1, D(3), 4.5f, 6.5f, 8.5f));
    EXPECT(&(call){"ReduceMean", 18, INS(x, TI64(1, D(2), 2, 0))}, TF(3, D(1, 3, 1), 4.5f, 6.5f, 8.5f));
    EXPECT(&(call){"ReduceMax", 13, ATTRS(A_INTS("axes", -1)), INS(x)}, TF(3, D(2, 3, 1), 2, 4, 6, 8, 10, 12));
    EXPECT(&(call){"ReduceMin", 18, INS(x, TI64(1, D(1), 0))}, TF(3, D(1, 3, 2), 1, 2, 3, 4, 5, 6));
    EXPECT(&(call){"ReduceProd", 13, ATTRS(A_INTS("axes", 1), A_INT("keepdims", 0)), INS(x)},
           TF(2, D(2, 2), 15, 48, 693, 960));
    expect_tol(&(call){"ReduceL2", 13, ATTRS(A_INTS("axes", 2), A_INT("keepdims", 0)), INS(x)},
               TF(2, D(2, 3), sqrtf(5), 5, sqrtf(61), sqrtf(113), sqrtf(181), sqrtf(265)), 1e-6);
    EXPECT(&(call){"ReduceSumSquare", 13, ATTRS(A_INTS("axes", 0, 1, 2)), INS(x)}, TF(3, D(1, 1, 1), 650));
    EXPECT(&(call){"ReduceL1", 18, INS(TF(1, D(3), -1, 2, -3), TI64(1, D(1), 0))}, TF(1, D(1), 6));
    expect_tol(&(call){"ReduceLogSumExp", 13, ATTRS(A_INTS("axes", 0)), INS(TF(2, D(2, 2), 1000, 0, 1000, 0))},
               TF(2, D(1, 2), 1000 + logf(2), logf(2)), 1e-6);
    expect_tol(&(call){"ReduceLogSum", 13, INS(TF(1, D(2), 1, 2))}, TF(1, D(1), logf(3)), 1e-6);
    /* integers: int64 sums, int32 mean truncates */
    EXPECT(&(call){"ReduceSum", 13, INS(TI64(2, D(2, 2), 1, 2, 3, INT64_MAX - 10), TI64(1, D(1), 0))},
           TI64(2, D(1, 2), 4, INT64_MAX - 8));
    EXPECT(&(call){"ReduceMean", 13, ATTRS(A_INT("keepdims", 0)), INS(TI32(1, D(3), 1, 2, 4))}, TI32(0, NO_DIMS, 2));
    EXPECT(&(call){"ReduceMax", 13, INS(TI32(2, D(2, 2), -5, -7, 3, -1))}, TI32(2, D(1, 1), 3));
    /* empty reductions give the op's identity; size-1 reduced axes still apply the element op */
    EXPECT(&(call){"ReduceSum", 13, INS(TF(2, D(2, 0), 0), TI64(1, D(1), 1))}, TF(2, D(2, 1), 0, 0));
    EXPECT(&(call){"ReduceProd", 18, INS(TF(2, D(2, 0), 0), TI64(1, D(1), 1))}, TF(2, D(2, 1), 1, 1));
    EXPECT(&(call){"ReduceSumSquare", 13, ATTRS(A_INTS("axes", 0)), INS(TF(2, D(1, 2), -3, 2))}, TF(2, D(1, 2), 9, 4));
    EXPECT(&(call){"ReduceMax", 13, ATTRS(A_INTS("axes", 1)), INS(TF(2, D(2, 0), 0))}, TF(2, D(2, 1), -INFINITY, -INFINITY));
}

static void test_argmax(void **st) {
    (void)st;
    octet_tensor *x = TF(2, D(2, 4), 1, 3, 3, 0, 5, 5, -1, 5);
    EXPECT(&(call){"ArgMax", 13, ATTRS(A_INT("axis", 1)), INS(x)}, TI64(2, D(2, 1), 1, 0));
    EXPECT(&(call){"ArgMax", 12, ATTRS(A_INT("axis", -1), A_INT("select_last_index", 1), A_INT("keepdims", 0)), INS(x)},
           TI64(1, D(2), 2, 3));
    EXPECT(&(call){"ArgMin", 13, INS(x)}, TI64(2, D(1, 4), 0, 0, 1, 0));
    EXPECT(&(call){"ArgMin", 13, ATTRS(A_INT("axis", 1), A_INT("select_last_index", 1)), INS(x)}, TI64(2, D(2, 1), 3, 2));
    EXPECT(&(call){"ArgMax", 11, ATTRS(A_INT("keepdims", 0)), INS(TI64(1, D(3), -5, 9, 9))}, TI64(0, NO_DIMS, 1));
    expect_fail(&(call){"ArgMax", 13, ATTRS(A_INT("axis", 2)), INS(x)});
}

/* ---- softmax ---- */

static void test_softmax(void **st) {
    (void)st;
    octet_tensor *x = TF(2, D(1, 3), 1, 2, 3);
    double e1 = exp(-2.0), e2 = exp(-1.0), z = e1 + e2 + 1;
    octet_tensor *want = TF(2, D(1, 3), (float)(e1 / z), (float)(e2 / z), (float)(1 / z));
    expect_tol(&(call){"Softmax", 13, INS(x)}, want, 1e-6);
    expect_tol(&(call){"Softmax", 11, INS(x)}, want, 1e-6);
    expect_tol(&(call){"LogSoftmax", 13, INS(x)},
               TF(2, D(1, 3), (float)(-2 - log(z)), (float)(-1 - log(z)), (float)(-log(z))), 1e-6);
    /* large values do not overflow */
    expect_tol(&(call){"Softmax", 13, INS(TF(1, D(2), 1000, 1000))}, TF(1, D(2), 0.5f, 0.5f), 1e-7);
    /* axis 1 of [2,2,2]: per-axis at opset 13, rows of 4 at opset 11 */
    octet_tensor *y = TF(3, D(2, 2, 2), 0, 0, 0, 0, 1, 1, 1, 1);
    expect_tol(&(call){"Softmax", 13, ATTRS(A_INT("axis", 1)), INS(y)}, TF(3, D(2, 2, 2), .5f, .5f, .5f, .5f, .5f, .5f, .5f, .5f), 1e-7);
    expect_tol(&(call){"Softmax", 11, ATTRS(A_INT("axis", 1)), INS(y)},
               TF(3, D(2, 2, 2), .25f, .25f, .25f, .25f, .25f, .25f, .25f, .25f), 1e-7);
    octet_tensor *w = TF(3, D(1, 2, 2), 0, 1, 0, 2);
    double a = 1 / (1 + exp(-1.0)), b = 1 / (1 + exp(-2.0));
    expect_tol(&(call){"Softmax", 13, ATTRS(A_INT("axis", 2)), INS(w)},
               TF(3, D(1, 2, 2), (float)(1 - a), (float)a, (float)(1 - b), (float)b), 1e-6);
    expect_tol(&(call){"Softmax", 13, ATTRS(A_INT("axis", 1)), INS(w)}, TF(3, D(1, 2, 2), .5f, (float)(1 - a), .5f, (float)a), 1e-6);
    double zz = 2 + exp(1) + exp(2); /* opset 1, axis 1: one row of 4 */
    expect_tol(&(call){"Softmax", 1, INS(w)},
               TF(3, D(1, 2, 2), (float)(1 / zz), (float)(exp(1) / zz), (float)(1 / zz), (float)(exp(2) / zz)), 1e-6);
}

/* ---- threads: big tensors split across threads give bit-identical results ---- */

static void same_for_threads(const call *c) {
    octet_tensor *o1, *o2;
    assert_int_equal(run(c, false, 1, &o1), OCTET_OK);
    assert_int_equal(run(c, false, 2, &o2), OCTET_OK);
    assert_int_equal(o1->ndim, o2->ndim);
    assert_int_equal(ot_tensor_nbytes(o1), ot_tensor_nbytes(o2));
    assert_memory_equal(o1->data, o2->data, ot_tensor_nbytes(o1));
}

static void test_threads(void **st) {
    (void)st;
    octet_tensor *big = trand(4, D(2, 16, 67, 61), 4), *ch = trand(3, D(16, 1, 1), 2);
    octet_tensor *row = trand(1, D(61), 2);
    same_for_threads(&(call){"Add", 14, INS(big, ch)});
    same_for_threads(&(call){"Mul", 14, INS(big, row)});
    same_for_threads(&(call){"Sigmoid", 13, INS(big)});
    same_for_threads(&(call){"Softmax", 13, ATTRS(A_INT("axis", 1)), INS(big)});
    same_for_threads(&(call){"LogSoftmax", 13, INS(big)});
    same_for_threads(&(call){"ReduceMean", 13, ATTRS(A_INTS("axes", 2, 3)), INS(big)});
    same_for_threads(&(call){"ReduceSum", 13, INS(big, TI64(1, D(1), 0))});
    same_for_threads(&(call){"ReduceMax", 13, ATTRS(A_INTS("axes", 1)), INS(big)});
    same_for_threads(&(call){"ArgMax", 13, ATTRS(A_INT("axis", 1)), INS(big)});
    same_for_threads(&(call){"Cast", 13, ATTRS(A_INT("to", OCTET_FLOAT16)), INS(big)});
    /* and the channel broadcast is right on the big tensor too */
    octet_tensor *o;
    assert_int_equal(run(&(call){"Add", 14, INS(big, ch)}, false, 2, &o), OCTET_OK);
    const float *pb = big->data, *pc = ch->data, *po = o->data;
    for (int64_t i = 0; i < ot_tensor_numel(big); i++) assert_true(po[i] == pb[i] + pc[(i / (67 * 61)) % 16]);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_broadcast_helper, free_pool),
        cmocka_unit_test_teardown(test_add_broadcast, free_pool),
        cmocka_unit_test_teardown(test_broadcast_errors, free_pool),
        cmocka_unit_test_teardown(test_int_arith, free_pool),
        cmocka_unit_test_teardown(test_variadic_prelu, free_pool),
        cmocka_unit_test_teardown(test_logical, free_pool),
        cmocka_unit_test_teardown(test_unary_float, free_pool),
        cmocka_unit_test_teardown(test_unary_int, free_pool),
        cmocka_unit_test_teardown(test_clip, free_pool),
        cmocka_unit_test_teardown(test_cast, free_pool),
        cmocka_unit_test_teardown(test_reduce, free_pool),
        cmocka_unit_test_teardown(test_argmax, free_pool),
        cmocka_unit_test_teardown(test_softmax, free_pool),
        cmocka_unit_test_teardown(test_threads, free_pool),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* The float32 Sigmoid/Tanh/Erf/Exp/Gelu kernels have an AVX2 (libmvec) and a libm version; the
     * kernel table is chosen once per process, so check the scalar one in a second run. */
    if (rc == 0 && argc > 0 && !getenv("OCTET_ISA")) {
        char cmd[4200];
        if (strchr(argv[0], '\'') || snprintf(cmd, sizeof cmd, "OCTET_ISA=scalar '%s'", argv[0]) >= (int)sizeof cmd)
            return 1;
        printf("--- again with OCTET_ISA=scalar ---\n");
        fflush(stdout);
        rc = system(cmd) != 0;
    }
    return rc;
}
