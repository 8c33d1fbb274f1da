/* Shape and tensor-manipulation ops (src/ops/shape.c, src/ops/tensor_ops.c): hand-computed cases,
 * the spec's corners, error cases, and randomized checks of the copy paths against naive
 * per-element references written here. Every case runs twice: with its inputs fed at run time,
 * and with its inputs as initializers, which the session folds at plan time. */
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
#include "tensor/tensor.h"
#include "test_tensors.h"

/* ---- tensors (test_tensors.h pools them) ---- */

static octet_tensor *tf(int nd, const int64_t *dims, const float *v) { return tnew(OCTET_FLOAT, nd, dims, v); }
static octet_tensor *ti64(int nd, const int64_t *dims, const int64_t *v) { return tnew(OCTET_INT64, nd, dims, v); }
static octet_tensor *ti32(int nd, const int64_t *dims, const int32_t *v) { return tnew(OCTET_INT32, nd, dims, v); }
static octet_tensor *vec64(int n, const int64_t *v) { return ti64(1, D(n), v); }
static octet_tensor *scalar64(int64_t v) { return ti64(0, NULL, &v); }

/* 0, 1, 2, ... in any dtype (float16 gets the raw bit patterns, which is all a copy needs) */
static octet_tensor *iota(octet_dtype dt, int nd, const int64_t *dims) {
    octet_tensor *t = keep(ot_tensor_new(dt, nd, dims));
    int64_t n = ot_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        if (dt == OCTET_FLOAT16) ((uint16_t *)t->data)[i] = (uint16_t)(i * 7 + 1);
        else ot_tensor_set_f64(t, i, dt == OCTET_BOOL ? (double)(i % 3 == 0) : (double)(i % 250));
    }
    return t;
}

/* ---- building and running a one-node model ---- */

typedef struct attr {
    const char *name;
    char kind; /* i f s I F t */
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    const float *floats;
    size_t n;
    const octet_tensor *t;
} attr;

#define A_INT(nm, v) {.name = (nm), .kind = 'i', .i = (v)}
#define A_FLOAT(nm, v) {.name = (nm), .kind = 'f', .f = (v)}
#define A_STR(nm, v) {.name = (nm), .kind = 's', .s = (v)}
#define A_INTS(nm, ...) \
    {.name = (nm), .kind = 'I', .ints = D(__VA_ARGS__), .n = sizeof(D(__VA_ARGS__)) / sizeof(int64_t)}
#define A_NOINTS(nm) {.name = (nm), .kind = 'I', .ints = NULL, .n = 0}
#define A_FLOATS(nm, ...) \
    {.name = (nm), .kind = 'F', .floats = (const float[]){__VA_ARGS__}, .n = sizeof((const float[]){__VA_ARGS__}) / sizeof(float)}
#define A_TENSOR(nm, v) {.name = (nm), .kind = 't', .t = (v)}

typedef struct call {
    const char *op;
    int64_t opset;
    int n_attrs;
    const attr *attrs;
    int n_in;
    octet_tensor *const *in; /* NULL entry = omitted optional input */
    int n_out;
    const bool *unused_out;  /* optional: outputs left unnamed */
} call;

#define ATTRS(...) .n_attrs = sizeof((const attr[]){__VA_ARGS__}) / sizeof(attr), .attrs = (const attr[]){__VA_ARGS__}
#define INS(...)                                                                          \
    .n_in = sizeof((octet_tensor *const[]){__VA_ARGS__}) / sizeof(octet_tensor *), \
    .in = (octet_tensor *const[]) { __VA_ARGS__ }

static octet_model *build(const call *c, bool fold) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    assert_int_equal(ot_model_set_opset(m, "", c->opset), OCTET_OK);
    ot_graph *g = m->graph;
    ot_node *n = ot_graph_add_node(g, c->op, "", "node");
    assert_non_null(n);
    const char *in_names[16], *out_names[16];
    char ib[16][16], ob[16][16];
    assert_true(c->n_in <= 16 && c->n_out <= 16);
    for (int i = 0; i < c->n_in; i++) {
        snprintf(ib[i], sizeof ib[i], "in%d", i);
        in_names[i] = c->in[i] ? ib[i] : "";
        if (!c->in[i]) continue;
        if (fold) {
            assert_int_equal(ot_graph_add_initializer(g, ib[i], ot_tensor_clone(c->in[i])), OCTET_OK);
        } else {
            assert_int_equal(ot_graph_add_input(g, ib[i], c->in[i]->dtype, c->in[i]->ndim, c->in[i]->dims), OCTET_OK);
        }
    }
    for (int i = 0; i < c->n_out; i++) {
        snprintf(ob[i], sizeof ob[i], "out%d", i);
        bool unused = c->unused_out && c->unused_out[i];
        out_names[i] = unused ? "" : ob[i];
        if (!unused) assert_int_equal(ot_graph_add_output(g, ob[i], OCTET_UNDEFINED, -1, NULL), OCTET_OK);
    }
    assert_int_equal(ot_node_set_inputs(n, c->n_in, in_names), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, c->n_out, out_names), OCTET_OK);
    for (int i = 0; i < c->n_attrs; i++) {
        const attr *a = &c->attrs[i];
        octet_status s = OCTET_OK;
        switch (a->kind) {
        case 'i': s = ot_node_add_attr_int(n, a->name, a->i); break;
        case 'f': s = ot_node_add_attr_float(n, a->name, a->f); break;
        case 's': s = ot_node_add_attr_string(n, a->name, a->s); break;
        case 'I': s = ot_node_add_attr_ints(n, a->name, a->ints, a->n); break;
        case 'F': s = ot_node_add_attr_floats(n, a->name, a->floats, a->n); break;
        case 't': s = ot_node_add_attr_tensor(n, a->name, ot_tensor_clone(a->t)); break;
        }
        assert_int_equal(s, OCTET_OK);
    }
    return m;
}

/* Run c; outputs (used ones, in order) are registered in the pool. */
static octet_status run(const call *c, bool fold, int threads, octet_tensor **out, int *n_got) {
    octet_model *m = build(c, fold);
    octet_session *s = NULL;
    octet_session_options o = {threads};
    octet_status st = octet_session_create(&s, m, &o);
    int n_out = m->graph->n_outputs;
    *n_got = n_out;
    if (st == OCTET_OK) {
        octet_tensor **fed = NULL;
        int n_fed = 0;
        if (!fold) {
            fed = calloc((size_t)c->n_in + 1, sizeof *fed);
            for (int i = 0; i < c->n_in; i++)
                if (c->in[i]) fed[n_fed++] = c->in[i];
        }
        st = octet_session_run(s, NULL, fed, n_fed, out, n_out);
        free(fed);
        if (st == OCTET_OK)
            for (int i = 0; i < n_out; i++) keep(out[i]);
    }
    octet_session_free(s);
    octet_model_free(m);
    return st;
}

static void print_tensor(const char *what, const octet_tensor *t) {
    char sh[128];
    fprintf(stderr, "  %s %s%s:", what, octet_dtype_name(t->dtype), ot_shape_str(sh, sizeof sh, t->ndim, t->dims));
    int64_t n = ot_tensor_numel(t);
    for (int64_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %g", ot_tensor_get_f64(t, i));
    fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

static bool same(const octet_tensor *a, const octet_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    size_t n = ot_tensor_nbytes(a);
    return n == 0 || memcmp(a->data, b->data, n) == 0;
}

/* Expect success with exactly these outputs (want[i] for each used output), fed and folded,
 * with one thread and with two. */
static void expect_n(const call *c, int n_want, octet_tensor *const *want) {
    static const struct { bool fold; int threads; } modes[] = {{false, 1}, {true, 1}, {false, 2}};
    for (size_t mi = 0; mi < sizeof modes / sizeof *modes; mi++) {
        octet_tensor *got[16];
        int n_got;
        octet_status s = run(c, modes[mi].fold, modes[mi].threads, got, &n_got);
        if (s != OCTET_OK) fail_msg("%s (opset %lld, %s): %s", c->op, (long long)c->opset,
                                    modes[mi].fold ? "folded" : "fed", octet_last_error());
        assert_int_equal(n_got, n_want);
        for (int i = 0; i < n_want; i++)
            if (!same(got[i], want[i])) {
                fprintf(stderr, "%s (opset %lld, %s, %d threads) output %d differs\n", c->op, (long long)c->opset,
                        modes[mi].fold ? "folded" : "fed", modes[mi].threads, i);
                print_tensor("got ", got[i]);
                print_tensor("want", want[i]);
                fail();
            }
    }
}
static void expect(const call *c, octet_tensor *want) { expect_n(c, 1, &want); }

/* Expect a clean failure with this status whose message contains `needle`, fed and folded. */
static void expect_error(const call *c, octet_status want, const char *needle) {
    for (int fold = 0; fold < 2; fold++) {
        octet_tensor *got[16];
        int n_got;
        octet_status s = run(c, fold, 1, got, &n_got);
        if (s == OCTET_OK) fail_msg("%s (opset %lld): expected an error containing '%s'", c->op, (long long)c->opset, needle);
        const char *msg = octet_last_error();
        if (s != want || !strstr(msg, needle))
            fail_msg("%s: got %s '%s', expected %s containing '%s'", c->op, octet_status_name(s), msg,
                     octet_status_name(want), needle);
    }
}

/* ---- Shape, Size ---- */

static void test_shape(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_FLOAT, 3, D(2, 3, 4));
    expect(&(call){"Shape", 13, INS(x), .n_out = 1}, vec64(3, D(2, 3, 4)));
    expect(&(call){"Shape", 15, ATTRS(A_INT("start", 1)), INS(x), .n_out = 1}, vec64(2, D(3, 4)));
    expect(&(call){"Shape", 15, ATTRS(A_INT("end", -1)), INS(x), .n_out = 1}, vec64(2, D(2, 3)));
    expect(&(call){"Shape", 15, ATTRS(A_INT("start", -10), A_INT("end", 10)), INS(x), .n_out = 1}, vec64(3, D(2, 3, 4)));
    expect(&(call){"Shape", 15, ATTRS(A_INT("start", 2), A_INT("end", 1)), INS(x), .n_out = 1}, vec64(0, NULL));
    expect(&(call){"Shape", 13, INS(scalar64(5)), .n_out = 1}, vec64(0, NULL));
    expect(&(call){"Shape", 13, INS(iota(OCTET_INT8, 2, D(0, 7))), .n_out = 1}, vec64(2, D(0, 7)));
    expect(&(call){"Size", 13, INS(x), .n_out = 1}, scalar64(24));
    expect(&(call){"Size", 13, INS(iota(OCTET_FLOAT, 2, D(0, 3))), .n_out = 1}, scalar64(0));
    expect(&(call){"Size", 13, INS(scalar64(3)), .n_out = 1}, scalar64(1));
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */

static void test_reshape(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_FLOAT, 3, D(2, 3, 4));
    expect(&(call){"Reshape", 13, INS(x, vec64(2, D(4, -1))), .n_out = 1}, iota(OCTET_FLOAT, 2, D(4, 6)));
    expect(&(call){"Reshape", 13, INS(x, vec64(2, D(0, -1))), .n_out = 1}, iota(OCTET_FLOAT, 2, D(2, 12)));
    expect(&(call){"Reshape", 13, INS(x, vec64(3, D(0, 0, -1))), .n_out = 1}, iota(OCTET_FLOAT, 3, D(2, 3, 4)));
    expect(&(call){"Reshape", 13, INS(x, vec64(1, D(-1))), .n_out = 1}, iota(OCTET_FLOAT, 1, D(24)));
    expect(&(call){"Reshape", 5, INS(x, vec64(4, D(1, 2, 12, 1))), .n_out = 1}, iota(OCTET_FLOAT, 4, D(1, 2, 12, 1)));
    /* a 0 in shape copies the input's dimension ... */
    octet_tensor *e = iota(OCTET_INT64, 3, D(0, 2, 2));
    expect(&(call){"Reshape", 14, INS(e, vec64(2, D(0, 4))), .n_out = 1}, iota(OCTET_INT64, 2, D(0, 4)));
    /* ... unless allowzero=1, where it is a real 0 */
    expect(&(call){"Reshape", 14, ATTRS(A_INT("allowzero", 1)), INS(e, vec64(3, D(4, 0, 1))), .n_out = 1},
           iota(OCTET_INT64, 3, D(4, 0, 1)));
    expect(&(call){"Reshape", 14, INS(iota(OCTET_UINT8, 1, D(1)), vec64(0, NULL)), .n_out = 1}, iota(OCTET_UINT8, 0, NULL));
}

static void test_reshape_errors(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_FLOAT, 3, D(2, 3, 4));
    expect_error(&(call){"Reshape", 13, INS(x, vec64(2, D(5, 5))), .n_out = 1}, OCTET_ERR_SHAPE, "cannot be reshaped");
    expect_error(&(call){"Reshape", 13, INS(x, vec64(2, D(5, -1))), .n_out = 1}, OCTET_ERR_SHAPE, "cannot be reshaped");
    expect_error(&(call){"Reshape", 13, INS(x, vec64(2, D(-1, -1))), .n_out = 1}, OCTET_ERR_SHAPE, "more than one -1");
    expect_error(&(call){"Reshape", 13, INS(x, vec64(2, D(-2, 12))), .n_out = 1}, OCTET_ERR_SHAPE, "invalid dimension");
    expect_error(&(call){"Reshape", 13, INS(iota(OCTET_FLOAT, 1, D(6)), vec64(2, D(6, 0))), .n_out = 1},
                 OCTET_ERR_SHAPE, "does not have");
    expect_error(&(call){"Reshape", 14, ATTRS(A_INT("allowzero", 1)), INS(x, vec64(2, D(0, -1))), .n_out = 1},
                 OCTET_ERR_SHAPE, "cannot infer");
    expect_error(&(call){"Reshape", 13, INS(x, tf(1, D(2), (float[]){4, 6})), .n_out = 1}, OCTET_ERR_SHAPE, "integer");
    expect_error(&(call){"Reshape", 13, INS(x, iota(OCTET_INT64, 1, D(9))), .n_out = 1}, OCTET_ERR_UNSUPPORTED, "at most");
    /* the size-6 tensor into shape [] (1 element) */
    expect_error(&(call){"Reshape", 13, INS(iota(OCTET_FLOAT, 1, D(6)), vec64(0, NULL)), .n_out = 1}, OCTET_ERR_SHAPE,
                 "cannot be reshaped");
}

static void test_flatten(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_INT16, 3, D(2, 3, 4));
    expect(&(call){"Flatten", 13, INS(x), .n_out = 1}, iota(OCTET_INT16, 2, D(2, 12)));
    expect(&(call){"Flatten", 13, ATTRS(A_INT("axis", 0)), INS(x), .n_out = 1}, iota(OCTET_INT16, 2, D(1, 24)));
    expect(&(call){"Flatten", 13, ATTRS(A_INT("axis", -1)), INS(x), .n_out = 1}, iota(OCTET_INT16, 2, D(6, 4)));
    expect(&(call){"Flatten", 13, ATTRS(A_INT("axis", 3)), INS(x), .n_out = 1}, iota(OCTET_INT16, 2, D(24, 1)));
    expect(&(call){"Flatten", 13, ATTRS(A_INT("axis", -3)), INS(x), .n_out = 1}, iota(OCTET_INT16, 2, D(1, 24)));
    expect(&(call){"Flatten", 13, ATTRS(A_INT("axis", 0)), INS(iota(OCTET_FLOAT, 0, NULL)), .n_out = 1},
           iota(OCTET_FLOAT, 2, D(1, 1)));
    expect_error(&(call){"Flatten", 13, ATTRS(A_INT("axis", 4)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"Flatten", 13, ATTRS(A_INT("axis", -4)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
}

static void test_squeeze_unsqueeze(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_DOUBLE, 4, D(1, 3, 1, 2));
    expect(&(call){"Squeeze", 11, ATTRS(A_INTS("axes", 0, -2)), INS(x), .n_out = 1}, iota(OCTET_DOUBLE, 2, D(3, 2)));
    expect(&(call){"Squeeze", 13, INS(x, vec64(1, D(2))), .n_out = 1}, iota(OCTET_DOUBLE, 3, D(1, 3, 2)));
    expect(&(call){"Squeeze", 13, INS(x), .n_out = 1}, iota(OCTET_DOUBLE, 2, D(3, 2)));
    expect(&(call){"Squeeze", 13, INS(x, NULL), .n_out = 1}, iota(OCTET_DOUBLE, 2, D(3, 2)));
    expect(&(call){"Squeeze", 11, INS(x), .n_out = 1}, iota(OCTET_DOUBLE, 2, D(3, 2)));
    expect(&(call){"Squeeze", 13, INS(iota(OCTET_BOOL, 2, D(1, 1))), .n_out = 1}, iota(OCTET_BOOL, 0, NULL));
    expect_error(&(call){"Squeeze", 13, INS(x, vec64(1, D(1))), .n_out = 1}, OCTET_ERR_SHAPE, "cannot squeeze axis 1");
    expect_error(&(call){"Squeeze", 13, INS(x, vec64(1, D(4))), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"Squeeze", 11, ATTRS(A_INTS("axes", 0, -4)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE, "repeated");

    octet_tensor *y = iota(OCTET_FLOAT16, 2, D(3, 2));
    expect(&(call){"Unsqueeze", 11, ATTRS(A_INTS("axes", 0, 3)), INS(y), .n_out = 1}, iota(OCTET_FLOAT16, 4, D(1, 3, 2, 1)));
    expect(&(call){"Unsqueeze", 13, INS(y, vec64(2, D(-1, 0))), .n_out = 1}, iota(OCTET_FLOAT16, 4, D(1, 3, 2, 1)));
    expect(&(call){"Unsqueeze", 13, INS(y, vec64(2, D(1, 2))), .n_out = 1}, iota(OCTET_FLOAT16, 4, D(3, 1, 1, 2)));
    expect(&(call){"Unsqueeze", 13, INS(scalar64(0), vec64(1, D(0))), .n_out = 1}, vec64(1, D(0)));
    expect_error(&(call){"Unsqueeze", 13, INS(y, vec64(2, D(0, -4))), .n_out = 1}, OCTET_ERR_SHAPE, "repeated");
    expect_error(&(call){"Unsqueeze", 13, INS(y, vec64(1, D(3))), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"Unsqueeze", 13, INS(y, vec64(7, D(0, 1, 2, 3, 4, 5, 6))), .n_out = 1}, OCTET_ERR_UNSUPPORTED,
                 "exceeds");
}

/* ---- Transpose, Expand ---- */

static void test_transpose(void **st) {
    (void)st;
    expect(&(call){"Transpose", 13, INS(iota(OCTET_FLOAT, 2, D(2, 3))), .n_out = 1},
           tf(2, D(3, 2), (float[]){0, 3, 1, 4, 2, 5}));
    expect(&(call){"Transpose", 13, ATTRS(A_INTS("perm", 1, 0, 2)), INS(iota(OCTET_INT8, 3, D(2, 2, 2))), .n_out = 1},
           tnew(OCTET_INT8, 3, D(2, 2, 2), (int8_t[]){0, 1, 4, 5, 2, 3, 6, 7}));
    /* NCHW -> NHWC on [1,2,2,3] */
    expect(&(call){"Transpose", 13, ATTRS(A_INTS("perm", 0, 2, 3, 1)), INS(iota(OCTET_INT64, 4, D(1, 2, 2, 3))), .n_out = 1},
           ti64(4, D(1, 2, 3, 2), D(0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11)));
    expect(&(call){"Transpose", 13, INS(iota(OCTET_FLOAT, 2, D(0, 3))), .n_out = 1}, iota(OCTET_FLOAT, 2, D(3, 0)));
    expect(&(call){"Transpose", 13, INS(scalar64(4)), .n_out = 1}, scalar64(4));
    octet_tensor *x = iota(OCTET_FLOAT, 3, D(2, 3, 4));
    expect_error(&(call){"Transpose", 13, ATTRS(A_INTS("perm", 0, 1)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE, "perm has 2");
    expect_error(&(call){"Transpose", 13, ATTRS(A_INTS("perm", 0, 1, 1)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE,
                 "not a permutation");
    expect_error(&(call){"Transpose", 13, ATTRS(A_INTS("perm", 0, 1, 3)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE,
                 "not a permutation");
}

static void test_expand(void **st) {
    (void)st;
    octet_tensor *x = tf(2, D(3, 1), (float[]){1, 2, 3});
    expect(&(call){"Expand", 13, INS(x, vec64(2, D(3, 4))), .n_out = 1},
           tf(2, D(3, 4), (float[]){1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
    expect(&(call){"Expand", 13, INS(x, vec64(3, D(2, 1, 2))), .n_out = 1},
           tf(3, D(2, 3, 2), (float[]){1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
    /* bidirectional: the shape may be smaller than the input's */
    expect(&(call){"Expand", 13, INS(x, vec64(1, D(1))), .n_out = 1}, x);
    expect(&(call){"Expand", 13, INS(x, vec64(3, D(1, 1, 2))), .n_out = 1},
           tf(3, D(1, 3, 2), (float[]){1, 1, 2, 2, 3, 3}));
    expect(&(call){"Expand", 8, INS(iota(OCTET_UINT16, 2, D(1, 3)), vec64(2, D(0, 3))), .n_out = 1},
           iota(OCTET_UINT16, 2, D(0, 3)));
    expect(&(call){"Expand", 13, INS(scalar64(9), vec64(1, D(3))), .n_out = 1}, vec64(3, D(9, 9, 9)));
    expect(&(call){"Expand", 13, INS(x, vec64(1, D(2))), .n_out = 1}, tf(2, D(3, 2), (float[]){1, 1, 2, 2, 3, 3}));
    expect_error(&(call){"Expand", 13, INS(x, vec64(2, D(2, 1))), .n_out = 1}, OCTET_ERR_SHAPE, "cannot be broadcast");
    expect_error(&(call){"Expand", 13, INS(x, vec64(1, D(-1))), .n_out = 1}, OCTET_ERR_SHAPE, "negative");
}

/* ---- ConstantOfShape, Constant ---- */

static void test_constants(void **st) {
    (void)st;
    expect(&(call){"ConstantOfShape", 9, INS(vec64(2, D(2, 3))), .n_out = 1}, tf(2, D(2, 3), (float[]){0, 0, 0, 0, 0, 0}));
    expect(&(call){"ConstantOfShape", 9, ATTRS(A_TENSOR("value", vec64(1, D(7)))), INS(vec64(2, D(1, 3))), .n_out = 1},
           ti64(2, D(1, 3), D(7, 7, 7)));
    expect(&(call){"ConstantOfShape", 20, ATTRS(A_TENSOR("value", tf(1, D(1), (float[]){1.5f}))), INS(vec64(1, D(5))),
                   .n_out = 1},
           tf(1, D(5), (float[]){1.5f, 1.5f, 1.5f, 1.5f, 1.5f}));
    expect(&(call){"ConstantOfShape", 9, ATTRS(A_TENSOR("value", tnew(OCTET_INT8, 1, D(1), (int8_t[]){-3}))),
                   INS(vec64(0, NULL)), .n_out = 1},
           tnew(OCTET_INT8, 0, NULL, (int8_t[]){-3}));
    expect(&(call){"ConstantOfShape", 9, INS(vec64(2, D(4, 0))), .n_out = 1}, tf(2, D(4, 0), NULL));
    expect_error(&(call){"ConstantOfShape", 9, INS(vec64(2, D(4, -1))), .n_out = 1}, OCTET_ERR_SHAPE, "negative");
    expect_error(&(call){"ConstantOfShape", 9, ATTRS(A_TENSOR("value", vec64(2, D(1, 2)))), INS(vec64(1, D(2))),
                         .n_out = 1},
                 OCTET_ERR_SHAPE, "one element");

    octet_tensor *v = iota(OCTET_UINT8, 2, D(2, 3));
    expect(&(call){"Constant", 13, ATTRS(A_TENSOR("value", v)), .n_out = 1}, v);
    expect(&(call){"Constant", 13, ATTRS(A_FLOAT("value_float", 2.5f)), .n_out = 1}, tf(0, NULL, (float[]){2.5f}));
    expect(&(call){"Constant", 13, ATTRS(A_FLOATS("value_floats", 1, -2)), .n_out = 1}, tf(1, D(2), (float[]){1, -2}));
    expect(&(call){"Constant", 13, ATTRS(A_INT("value_int", -7)), .n_out = 1}, scalar64(-7));
    expect(&(call){"Constant", 13, ATTRS(A_INTS("value_ints", 4, 5, 6)), .n_out = 1}, vec64(3, D(4, 5, 6)));
    expect(&(call){"Constant", 13, ATTRS(A_NOINTS("value_ints")), .n_out = 1}, vec64(0, NULL));
    expect_error(&(call){"Constant", 13, ATTRS(A_STR("value_string", "hi")), .n_out = 1}, OCTET_ERR_UNSUPPORTED, "string");
    expect_error(&(call){"Constant", 13, ATTRS(A_TENSOR("sparse_value", v)), .n_out = 1}, OCTET_ERR_UNSUPPORTED, "sparse");
    expect_error(&(call){"Constant", 13, .n_out = 1}, OCTET_ERR_PARSE, "no value");
}

/* ---- Concat, Split ---- */

static void test_concat(void **st) {
    (void)st;
    octet_tensor *a = tf(2, D(2, 1), (float[]){1, 2}), *b = tf(2, D(2, 3), (float[]){3, 4, 5, 6, 7, 8});
    octet_tensor *ab = tf(2, D(2, 4), (float[]){1, 3, 4, 5, 2, 6, 7, 8});
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", 1)), INS(a, b), .n_out = 1}, ab);
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", -1)), INS(a, b), .n_out = 1}, ab);
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", 1)), INS(a, tf(2, D(2, 0), NULL), b), .n_out = 1}, ab);
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(vec64(2, D(1, 2)), vec64(0, NULL), vec64(1, D(3))), .n_out = 1},
           vec64(3, D(1, 2, 3)));
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(tf(2, D(0, 3), NULL), tf(2, D(0, 3), NULL)), .n_out = 1},
           tf(2, D(0, 3), NULL));
    expect(&(call){"Concat", 4, ATTRS(A_INT("axis", 0)), INS(a, a), .n_out = 1}, tf(2, D(4, 1), (float[]){1, 2, 1, 2}));
    expect(&(call){"Concat", 13, ATTRS(A_INT("axis", 1)), INS(a), .n_out = 1}, a);
    expect_error(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(a, b), .n_out = 1}, OCTET_ERR_SHAPE, "does not match");
    expect_error(&(call){"Concat", 13, ATTRS(A_INT("axis", 2)), INS(a, b), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(a, vec64(1, D(1))), .n_out = 1}, OCTET_ERR_SHAPE,
                 "is int64");
    expect_error(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(a, tf(1, D(2), (float[]){1, 2})), .n_out = 1},
                 OCTET_ERR_SHAPE, "rank");
    expect_error(&(call){"Concat", 13, ATTRS(A_INT("axis", 0)), INS(scalar64(1), scalar64(2)), .n_out = 1},
                 OCTET_ERR_SHAPE, "scalars");
    expect_error(&(call){"Concat", 13, INS(a, b), .n_out = 1}, OCTET_ERR_PARSE, "axis");
}

static void test_split(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_INT32, 1, D(6));
    expect_n(&(call){"Split", 13, INS(x), .n_out = 3}, 3,
             (octet_tensor *[]){ti32(1, D(2), (int32_t[]){0, 1}), ti32(1, D(2), (int32_t[]){2, 3}),
                                ti32(1, D(2), (int32_t[]){4, 5})});
    expect_n(&(call){"Split", 11, ATTRS(A_INTS("split", 1, 2, 3)), INS(x), .n_out = 3}, 3,
             (octet_tensor *[]){ti32(1, D(1), (int32_t[]){0}), ti32(1, D(2), (int32_t[]){1, 2}),
                                ti32(1, D(3), (int32_t[]){3, 4, 5})});
    expect_n(&(call){"Split", 13, INS(x, vec64(2, D(4, 2))), .n_out = 2}, 2,
             (octet_tensor *[]){ti32(1, D(4), (int32_t[]){0, 1, 2, 3}), ti32(1, D(2), (int32_t[]){4, 5})});
    expect_n(&(call){"Split", 13, INS(x, vec64(2, D(0, 6))), .n_out = 2}, 2,
             (octet_tensor *[]){ti32(1, D(0), NULL), ti32(1, D(6), (int32_t[]){0, 1, 2, 3, 4, 5})});
    /* opset 18 num_outputs: ceil-sized chunks, the last one shorter */
    octet_tensor *y = iota(OCTET_FLOAT, 2, D(2, 7));
    expect_n(&(call){"Split", 18, ATTRS(A_INT("axis", -1), A_INT("num_outputs", 3)), INS(y), .n_out = 3}, 3,
             (octet_tensor *[]){tf(2, D(2, 3), (float[]){0, 1, 2, 7, 8, 9}), tf(2, D(2, 3), (float[]){3, 4, 5, 10, 11, 12}),
                                tf(2, D(2, 1), (float[]){6, 13})});
    expect_n(&(call){"Split", 2, ATTRS(A_INT("axis", 0)), INS(y), .n_out = 2}, 2,
             (octet_tensor *[]){tf(2, D(1, 7), (float[]){0, 1, 2, 3, 4, 5, 6}),
                                tf(2, D(1, 7), (float[]){7, 8, 9, 10, 11, 12, 13})});
    /* an unused middle output */
    expect_n(&(call){"Split", 13, INS(x), .n_out = 3, .unused_out = (const bool[]){false, true, false}}, 2,
             (octet_tensor *[]){ti32(1, D(2), (int32_t[]){0, 1}), ti32(1, D(2), (int32_t[]){4, 5})});
    expect_error(&(call){"Split", 13, INS(x), .n_out = 4}, OCTET_ERR_SHAPE, "evenly");
    expect_error(&(call){"Split", 13, INS(x, vec64(2, D(4, 1))), .n_out = 2}, OCTET_ERR_SHAPE, "sum to 5");
    expect_error(&(call){"Split", 13, INS(x, vec64(2, D(7, -1))), .n_out = 2}, OCTET_ERR_SHAPE, "negative");
    expect_error(&(call){"Split", 13, INS(x, vec64(3, D(2, 2, 2))), .n_out = 2}, OCTET_ERR_SHAPE, "entries");
    expect_error(&(call){"Split", 18, ATTRS(A_INT("num_outputs", 2)), INS(x), .n_out = 3}, OCTET_ERR_SHAPE, "num_outputs");
    expect_error(&(call){"Split", 13, ATTRS(A_INT("axis", 1)), INS(x), .n_out = 2}, OCTET_ERR_SHAPE, "out of range");
}

/* ---- Slice ---- */

static void test_slice(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_INT64, 1, D(10));
    int64_t big = INT64_MAX, small = INT64_MIN;
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(2)), vec64(1, &big)), .n_out = 1}, vec64(8, D(2, 3, 4, 5, 6, 7, 8, 9)));
    /* reverse everything: start -1, end INT64_MIN, step -1 */
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(-1)), vec64(1, &small), vec64(1, D(0)), vec64(1, D(-1))), .n_out = 1},
           vec64(10, D(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(8)), vec64(1, D(1)), NULL, vec64(1, D(-3))), .n_out = 1},
           vec64(3, D(8, 5, 2)));
    /* starts past the end clamp to dim-1 for negative steps */
    expect(&(call){"Slice", 13, INS(x, vec64(1, &big), vec64(1, D(6)), NULL, vec64(1, D(-2))), .n_out = 1},
           vec64(2, D(9, 7)));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(3)), vec64(1, D(-1)), NULL, vec64(1, &big)), .n_out = 1}, vec64(1, D(3)));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(7)), vec64(1, D(-20)), NULL, vec64(1, &small)), .n_out = 1},
           vec64(1, D(7)));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(12)), vec64(1, D(20))), .n_out = 1}, vec64(0, NULL));
    /* an empty axis stays empty with negative steps too (start clamps into [0, -1]) */
    expect(&(call){"Slice", 13, INS(vec64(0, NULL), vec64(1, D(-1)), vec64(1, &small), NULL, vec64(1, D(-1))), .n_out = 1},
           vec64(0, NULL));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(5)), vec64(1, D(2))), .n_out = 1}, vec64(0, NULL));
    expect(&(call){"Slice", 13, INS(x, vec64(1, D(-3)), vec64(1, D(-1))), .n_out = 1}, vec64(2, D(7, 8)));
    expect(&(call){"Slice", 13, INS(x, ti32(1, D(1), (int32_t[]){1}), ti32(1, D(1), (int32_t[]){INT32_MAX}), NULL,
                                    ti32(1, D(1), (int32_t[]){4})),
                   .n_out = 1},
           vec64(3, D(1, 5, 9)));
    /* the spec's examples */
    octet_tensor *d = tf(2, D(2, 4), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    expect(&(call){"Slice", 13, INS(d, vec64(2, D(1, 0)), vec64(2, D(2, 3)), vec64(2, D(0, 1)), vec64(2, D(1, 2))), .n_out = 1},
           tf(2, D(1, 2), (float[]){5, 7}));
    expect(&(call){"Slice", 13, INS(d, vec64(2, D(0, 1)), vec64(2, D(-1, 1000))), .n_out = 1},
           tf(2, D(1, 3), (float[]){2, 3, 4}));
    expect(&(call){"Slice", 13, INS(d, vec64(1, D(1)), vec64(1, D(3)), vec64(1, D(-1))), .n_out = 1},
           tf(2, D(2, 2), (float[]){2, 3, 6, 7}));
    expect(&(call){"Slice", 13, INS(d, vec64(2, D(-1, -1)), vec64(2, D(INT64_MIN, INT64_MIN)), vec64(2, D(1, 0)), vec64(2, D(-1, -1))),
                   .n_out = 1},
           tf(2, D(2, 4), (float[]){8, 7, 6, 5, 4, 3, 2, 1}));
    /* opset < 10: attributes */
    expect(&(call){"Slice", 9, ATTRS(A_INTS("starts", 1), A_INTS("ends", 100), A_INTS("axes", 1)), INS(d), .n_out = 1},
           tf(2, D(2, 3), (float[]){2, 3, 4, 6, 7, 8}));
    expect(&(call){"Slice", 1, ATTRS(A_INTS("starts", 0, -2), A_INTS("ends", 1, -1)), INS(d), .n_out = 1},
           tf(2, D(1, 1), (float[]){3}));
    expect_error(&(call){"Slice", 13, INS(x, vec64(1, D(0)), vec64(1, D(5)), NULL, vec64(1, D(0))), .n_out = 1},
                 OCTET_ERR_SHAPE, "step");
    expect_error(&(call){"Slice", 13, INS(d, vec64(2, D(0, 0)), vec64(2, D(1, 1)), vec64(2, D(1, -1))), .n_out = 1},
                 OCTET_ERR_SHAPE, "repeated");
    expect_error(&(call){"Slice", 13, INS(d, vec64(1, D(0)), vec64(1, D(1)), vec64(1, D(2))), .n_out = 1}, OCTET_ERR_SHAPE,
                 "out of range");
    expect_error(&(call){"Slice", 13, INS(d, vec64(2, D(0, 0)), vec64(1, D(1))), .n_out = 1}, OCTET_ERR_SHAPE, "ends 1");
    expect_error(&(call){"Slice", 9, ATTRS(A_INTS("starts", 1)), INS(d), .n_out = 1}, OCTET_ERR_PARSE, "starts and ends");
}

/* ---- Gather, GatherElements ---- */

static void test_gather(void **st) {
    (void)st;
    octet_tensor *d = tf(2, D(3, 2), (float[]){1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
    expect(&(call){"Gather", 13, INS(d, ti64(2, D(2, 2), D(0, 1, 1, 2))), .n_out = 1},
           tf(3, D(2, 2, 2), (float[]){1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f}));
    expect(&(call){"Gather", 13, INS(d, ti32(2, D(2, 2), (int32_t[]){0, -2, -1, 2})), .n_out = 1},
           tf(3, D(2, 2, 2), (float[]){1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
    octet_tensor *e = tf(2, D(3, 3), (float[]){1.0f, 1.2f, 1.9f, 2.3f, 3.4f, 3.9f, 4.5f, 5.7f, 5.9f});
    expect(&(call){"Gather", 13, ATTRS(A_INT("axis", 1)), INS(e, ti64(2, D(1, 2), D(0, 2))), .n_out = 1},
           tf(3, D(3, 1, 2), (float[]){1.0f, 1.9f, 2.3f, 3.9f, 4.5f, 5.9f}));
    expect(&(call){"Gather", 13, ATTRS(A_INT("axis", -1)), INS(e, scalar64(-1)), .n_out = 1},
           tf(1, D(3), (float[]){1.9f, 3.9f, 5.9f}));
    expect(&(call){"Gather", 13, INS(iota(OCTET_INT8, 1, D(5)), vec64(0, NULL)), .n_out = 1}, iota(OCTET_INT8, 1, D(0)));
    expect(&(call){"Gather", 11, INS(iota(OCTET_INT16, 3, D(3, 2, 2)), vec64(3, D(2, 0, 2))), .n_out = 1},
           tnew(OCTET_INT16, 3, D(3, 2, 2), (int16_t[]){8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
    expect(&(call){"Gather", 11, ATTRS(A_INT("axis", 1)), INS(iota(OCTET_INT16, 3, D(2, 3, 2)), vec64(2, D(2, -3))),
                   .n_out = 1},
           tnew(OCTET_INT16, 3, D(2, 2, 2), (int16_t[]){4, 5, 0, 1, 10, 11, 6, 7}));
    expect_error(&(call){"Gather", 13, INS(d, vec64(1, D(3))), .n_out = 1}, OCTET_ERR_SHAPE, "index 3 is out of range");
    expect_error(&(call){"Gather", 13, INS(d, vec64(1, D(-4))), .n_out = 1}, OCTET_ERR_SHAPE, "index -4 is out of range");
    expect_error(&(call){"Gather", 13, ATTRS(A_INT("axis", 2)), INS(d, vec64(1, D(0))), .n_out = 1}, OCTET_ERR_SHAPE,
                 "axis 2 is out of range");
    expect_error(&(call){"Gather", 13, INS(d, tf(1, D(1), (float[]){0})), .n_out = 1}, OCTET_ERR_SHAPE, "int32 or int64");
    expect_error(&(call){"Gather", 13, INS(scalar64(1), vec64(1, D(0))), .n_out = 1}, OCTET_ERR_SHAPE, "rank");

    octet_tensor *g = tf(2, D(2, 2), (float[]){1, 2, 3, 4});
    expect(&(call){"GatherElements", 13, ATTRS(A_INT("axis", 1)), INS(g, ti64(2, D(2, 2), D(0, 0, 1, 0))), .n_out = 1},
           tf(2, D(2, 2), (float[]){1, 1, 4, 3}));
    octet_tensor *h = tf(2, D(3, 3), (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    expect(&(call){"GatherElements", 13, INS(h, ti32(2, D(2, 3), (int32_t[]){1, 2, 0, 2, 0, 0})), .n_out = 1},
           tf(2, D(2, 3), (float[]){4, 8, 3, 7, 2, 3}));
    expect(&(call){"GatherElements", 13, INS(h, ti64(2, D(2, 3), D(-1, -2, 0, -3, 0, 0))), .n_out = 1},
           tf(2, D(2, 3), (float[]){7, 5, 3, 1, 2, 3}));
    expect(&(call){"GatherElements", 13, ATTRS(A_INT("axis", -1)), INS(h, ti64(2, D(2, 1), D(2, 0))), .n_out = 1},
           tf(2, D(2, 1), (float[]){3, 4}));
    expect_error(&(call){"GatherElements", 13, INS(h, ti64(2, D(1, 1), D(3))), .n_out = 1}, OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"GatherElements", 13, INS(h, vec64(1, D(0))), .n_out = 1}, OCTET_ERR_SHAPE, "rank");
    expect_error(&(call){"GatherElements", 13, INS(h, ti64(2, D(1, 4), D(0, 0, 0, 0))), .n_out = 1}, OCTET_ERR_SHAPE,
                 "exceed");
}

/* ---- Tile, Pad, Range ---- */

static void test_tile(void **st) {
    (void)st;
    octet_tensor *x = tf(2, D(2, 2), (float[]){0, 1, 2, 3});
    expect(&(call){"Tile", 13, INS(x, vec64(2, D(2, 2))), .n_out = 1},
           tf(2, D(4, 4), (float[]){0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3}));
    expect(&(call){"Tile", 6, INS(x, vec64(2, D(1, 3))), .n_out = 1},
           tf(2, D(2, 6), (float[]){0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3}));
    expect(&(call){"Tile", 13, INS(x, vec64(2, D(1, 0))), .n_out = 1}, tf(2, D(2, 0), NULL));
    expect(&(call){"Tile", 13, INS(scalar64(3), vec64(0, NULL)), .n_out = 1}, scalar64(3));
    expect_error(&(call){"Tile", 13, INS(x, vec64(1, D(2))), .n_out = 1}, OCTET_ERR_SHAPE, "repeats has 1");
    expect_error(&(call){"Tile", 13, INS(x, vec64(2, D(1, -1))), .n_out = 1}, OCTET_ERR_SHAPE, "negative");
}

static void test_pad(void **st) {
    (void)st;
    /* the spec's three examples */
    octet_tensor *x = tf(2, D(3, 2), (float[]){1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
    octet_tensor *pads = vec64(4, D(0, 2, 0, 0));
    expect(&(call){"Pad", 13, INS(x, pads, tf(0, NULL, (float[]){0})), .n_out = 1},
           tf(2, D(3, 4), (float[]){0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}));
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "reflect")), INS(x, pads), .n_out = 1},
           tf(2, D(3, 4), (float[]){1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "edge")), INS(x, pads), .n_out = 1},
           tf(2, D(3, 4), (float[]){1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
    /* reflect up to the edge: pads of dim-1 on a length-3 axis */
    octet_tensor *v = tf(1, D(3), (float[]){1, 2, 3});
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "reflect")), INS(v, vec64(2, D(2, 2))), .n_out = 1},
           tf(1, D(7), (float[]){3, 2, 1, 2, 3, 2, 1}));
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "edge")), INS(v, vec64(2, D(2, 1))), .n_out = 1},
           tf(1, D(6), (float[]){1, 1, 1, 2, 3, 3}));
    expect(&(call){"Pad", 19, ATTRS(A_STR("mode", "wrap")), INS(v, vec64(2, D(2, 1))), .n_out = 1},
           tf(1, D(6), (float[]){2, 3, 1, 2, 3, 1}));
    expect(&(call){"Pad", 13, INS(v, vec64(2, D(1, 2)), tf(0, NULL, (float[]){9})), .n_out = 1},
           tf(1, D(6), (float[]){9, 1, 2, 3, 9, 9}));
    /* negative pads crop */
    expect(&(call){"Pad", 13, INS(v, vec64(2, D(-1, 2))), .n_out = 1}, tf(1, D(4), (float[]){2, 3, 0, 0}));
    expect(&(call){"Pad", 13, INS(x, vec64(4, D(-1, 1, -1, 0)), tf(0, NULL, (float[]){-1})), .n_out = 1},
           tf(2, D(1, 3), (float[]){-1, 2.3f, 3.4f}));
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "edge")), INS(v, vec64(2, D(-1, 2))), .n_out = 1},
           tf(1, D(4), (float[]){2, 3, 3, 3}));
    expect(&(call){"Pad", 13, INS(v, vec64(2, D(-3, 0))), .n_out = 1}, tf(1, D(0), NULL));
    /* opset 2: attributes */
    expect(&(call){"Pad", 2, ATTRS(A_INTS("pads", 1, 0, 0, 1), A_FLOAT("value", 7)), INS(x), .n_out = 1},
           tf(2, D(4, 3), (float[]){7, 7, 7, 1.0f, 1.2f, 7, 2.3f, 3.4f, 7, 4.5f, 5.7f, 7}));
    expect(&(call){"Pad", 2, ATTRS(A_INTS("pads", 0, 1, 0, 1), A_STR("mode", "reflect")), INS(x), .n_out = 1},
           tf(2, D(3, 4), (float[]){1.2f, 1.0f, 1.2f, 1.0f, 3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f}));
    /* opset 18: axes */
    expect(&(call){"Pad", 18, INS(x, vec64(2, D(1, 0)), tnew(OCTET_FLOAT, 1, D(1), (float[]){5}), vec64(1, D(-1))), .n_out = 1},
           tf(2, D(3, 3), (float[]){5, 1.0f, 1.2f, 5, 2.3f, 3.4f, 5, 4.5f, 5.7f}));
    /* other dtypes keep their bytes */
    expect(&(call){"Pad", 13, INS(ti64(1, D(2), D(INT64_MAX, -5)), vec64(2, D(1, 1)), scalar64(INT64_MIN)), .n_out = 1},
           ti64(1, D(4), D(INT64_MIN, INT64_MAX, -5, INT64_MIN)));
    expect(&(call){"Pad", 13, ATTRS(A_STR("mode", "reflect")), INS(iota(OCTET_UINT8, 2, D(2, 3)), vec64(4, D(1, 1, 1, 2))),
                   .n_out = 1},
           tnew(OCTET_UINT8, 2, D(4, 6), (uint8_t[]){4, 3, 4, 5, 4, 3, 1, 0, 1, 2, 1, 0, 4, 3, 4, 5, 4, 3, 1, 0, 1, 2, 1, 0}));
    expect_error(&(call){"Pad", 13, INS(v, vec64(2, D(-2, -2))), .n_out = 1}, OCTET_ERR_SHAPE, "crop more");
    expect_error(&(call){"Pad", 13, INS(v, vec64(1, D(1))), .n_out = 1}, OCTET_ERR_SHAPE, "pads has 1");
    expect_error(&(call){"Pad", 13, ATTRS(A_STR("mode", "mirror")), INS(v, vec64(2, D(1, 1))), .n_out = 1},
                 OCTET_ERR_UNSUPPORTED, "mirror");
    expect_error(&(call){"Pad", 13, ATTRS(A_STR("mode", "edge")), INS(tf(1, D(0), NULL), vec64(2, D(1, 1))), .n_out = 1},
                 OCTET_ERR_SHAPE, "non-empty");
    expect_error(&(call){"Pad", 13, INS(v, vec64(2, D(1, 1)), scalar64(1)), .n_out = 1}, OCTET_ERR_SHAPE, "constant_value");
    expect_error(&(call){"Pad", 18, INS(x, vec64(2, D(1, 0)), NULL, vec64(1, D(2))), .n_out = 1}, OCTET_ERR_SHAPE,
                 "out of range");
}

static void test_range(void **st) {
    (void)st;
    expect(&(call){"Range", 11, INS(scalar64(3), scalar64(9), scalar64(3)), .n_out = 1}, vec64(2, D(3, 6)));
    expect(&(call){"Range", 11, INS(scalar64(10), scalar64(4), scalar64(-2)), .n_out = 1}, vec64(3, D(10, 8, 6)));
    expect(&(call){"Range", 11, INS(scalar64(1), scalar64(1), scalar64(1)), .n_out = 1}, vec64(0, NULL));
    expect(&(call){"Range", 11, INS(scalar64(1), scalar64(5), scalar64(-1)), .n_out = 1}, vec64(0, NULL));
    expect(&(call){"Range", 11, INS(ti32(0, NULL, (int32_t[]){-3}), ti32(0, NULL, (int32_t[]){4}), ti32(0, NULL, (int32_t[]){5})),
                   .n_out = 1},
           ti32(1, D(2), (int32_t[]){-3, 2}));
    expect(&(call){"Range", 11,
                   INS(tf(0, NULL, (float[]){0}), tf(0, NULL, (float[]){1}), tf(0, NULL, (float[]){0.25f})), .n_out = 1},
           tf(1, D(4), (float[]){0, 0.25f, 0.5f, 0.75f}));
    expect(&(call){"Range", 11,
                   INS(tf(0, NULL, (float[]){1}), tf(0, NULL, (float[]){-1.1f}), tf(0, NULL, (float[]){-1})), .n_out = 1},
           tf(1, D(3), (float[]){1, 0, -1}));
    expect_error(&(call){"Range", 11, INS(scalar64(1), scalar64(5), scalar64(0)), .n_out = 1}, OCTET_ERR_SHAPE, "delta is 0");
    expect_error(&(call){"Range", 11, INS(scalar64(1), tf(0, NULL, (float[]){5}), scalar64(1)), .n_out = 1}, OCTET_ERR_SHAPE,
                 "limit is float32");
    expect_error(&(call){"Range", 11, INS(scalar64(1), vec64(2, D(5, 6)), scalar64(1)), .n_out = 1}, OCTET_ERR_SHAPE,
                 "scalar");
}

/* ---- DepthToSpace, SpaceToDepth, TopK, NonZero, ScatterND, Trilu ---- */

static void test_depth_space(void **st) {
    (void)st;
    /* the spec's example: x[0, c, h, w] = 9c + 3h + w, shape [1, 8, 2, 3] */
    octet_tensor *x = keep(ot_tensor_new(OCTET_FLOAT, 4, D(1, 8, 2, 3)));
    for (int c = 0; c < 8; c++)
        for (int h = 0; h < 2; h++)
            for (int w = 0; w < 3; w++) ((float *)x->data)[c * 6 + h * 3 + w] = (float)(9 * c + 3 * h + w);
    octet_tensor *dcr = tf(4, D(1, 2, 4, 6),
                           (float[]){0,  18, 1,  19, 2,  20, 36, 54, 37, 55, 38, 56, 3,  21, 4,  22,
                                     5,  23, 39, 57, 40, 58, 41, 59, 9,  27, 10, 28, 11, 29, 45, 63,
                                     46, 64, 47, 65, 12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68});
    octet_tensor *crd = tf(4, D(1, 2, 4, 6),
                           (float[]){0,  9,  1,  10, 2,  11, 18, 27, 19, 28, 20, 29, 3,  12, 4,  13,
                                     5,  14, 21, 30, 22, 31, 23, 32, 36, 45, 37, 46, 38, 47, 54, 63,
                                     55, 64, 56, 65, 39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68});
    expect(&(call){"DepthToSpace", 13, ATTRS(A_INT("blocksize", 2)), INS(x), .n_out = 1}, dcr);
    expect(&(call){"DepthToSpace", 13, ATTRS(A_INT("blocksize", 2), A_STR("mode", "DCR")), INS(x), .n_out = 1}, dcr);
    expect(&(call){"DepthToSpace", 11, ATTRS(A_INT("blocksize", 2), A_STR("mode", "CRD")), INS(x), .n_out = 1}, crd);
    /* SpaceToDepth undoes DepthToSpace in DCR mode */
    expect(&(call){"SpaceToDepth", 13, ATTRS(A_INT("blocksize", 2)), INS(dcr), .n_out = 1}, x);
    expect(&(call){"DepthToSpace", 13, ATTRS(A_INT("blocksize", 1)), INS(x), .n_out = 1}, x);
    expect_error(&(call){"DepthToSpace", 13, ATTRS(A_INT("blocksize", 3)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE,
                 "divisible");
    expect_error(&(call){"SpaceToDepth", 13, ATTRS(A_INT("blocksize", 2)), INS(x), .n_out = 1}, OCTET_ERR_SHAPE,
                 "divisible");
    expect_error(&(call){"DepthToSpace", 13, ATTRS(A_INT("blocksize", 2), A_STR("mode", "XYZ")), INS(x), .n_out = 1},
                 OCTET_ERR_UNSUPPORTED, "mode");
    expect_error(&(call){"SpaceToDepth", 13, ATTRS(A_INT("blocksize", 2)), INS(iota(OCTET_FLOAT, 3, D(2, 2, 2))),
                         .n_out = 1},
                 OCTET_ERR_SHAPE, "4-D");
}

static void test_topk(void **st) {
    (void)st;
    octet_tensor *x = iota(OCTET_FLOAT, 2, D(3, 4));
    expect_n(&(call){"TopK", 11, ATTRS(A_INT("axis", 1)), INS(x, vec64(1, D(3))), .n_out = 2}, 2,
             (octet_tensor *[]){tf(2, D(3, 3), (float[]){3, 2, 1, 7, 6, 5, 11, 10, 9}),
                                ti64(2, D(3, 3), D(3, 2, 1, 3, 2, 1, 3, 2, 1))});
    expect_n(&(call){"TopK", 11, ATTRS(A_INT("axis", 0), A_INT("largest", 0)), INS(x, vec64(1, D(2))), .n_out = 2}, 2,
             (octet_tensor *[]){tf(2, D(2, 4), (float[]){0, 1, 2, 3, 4, 5, 6, 7}), ti64(2, D(2, 4), D(0, 0, 0, 0, 1, 1, 1, 1))});
    /* ties: the lower index first */
    octet_tensor *t = ti32(1, D(5), (int32_t[]){3, 1, 3, 1, 2});
    expect_n(&(call){"TopK", 11, ATTRS(A_INT("largest", 0)), INS(t, vec64(1, D(3))), .n_out = 2}, 2,
             (octet_tensor *[]){ti32(1, D(3), (int32_t[]){1, 1, 2}), vec64(3, D(1, 3, 4))});
    expect_n(&(call){"TopK", 10, INS(t, vec64(1, D(2))), .n_out = 2}, 2,
             (octet_tensor *[]){ti32(1, D(2), (int32_t[]){3, 3}), vec64(2, D(0, 2))});
    expect_n(&(call){"TopK", 7, ATTRS(A_INT("k", 1)), INS(ti64(1, D(3), D(INT64_MIN, INT64_MAX, INT64_MAX - 1))), .n_out = 2},
             2, (octet_tensor *[]){vec64(1, D(INT64_MAX)), vec64(1, D(1))});
    expect_n(&(call){"TopK", 11, INS(t, vec64(1, D(0))), .n_out = 2}, 2,
             (octet_tensor *[]){ti32(1, D(0), NULL), vec64(0, NULL)});
    expect_error(&(call){"TopK", 11, INS(t, vec64(1, D(6))), .n_out = 2}, OCTET_ERR_SHAPE, "outside");
    expect_error(&(call){"TopK", 11, ATTRS(A_INT("axis", 1)), INS(t, vec64(1, D(1))), .n_out = 2}, OCTET_ERR_SHAPE,
                 "out of range");
}

static void test_nonzero_scatter_trilu(void **st) {
    (void)st;
    expect(&(call){"NonZero", 13, INS(tf(2, D(2, 2), (float[]){1, 0, 1, -0.0f})), .n_out = 1}, ti64(2, D(2, 2), D(0, 1, 0, 0)));
    expect(&(call){"NonZero", 13, INS(tnew(OCTET_BOOL, 2, D(2, 3), (uint8_t[]){0, 1, 1, 0, 0, 1})), .n_out = 1},
           ti64(2, D(2, 3), D(0, 0, 1, 1, 2, 2)));
    expect(&(call){"NonZero", 13, INS(tf(0, NULL, (float[]){3})), .n_out = 1}, ti64(2, D(1, 1), D(0)));
    expect(&(call){"NonZero", 13, INS(vec64(3, D(0, 0, 0))), .n_out = 1}, ti64(2, D(1, 0), NULL));

    octet_tensor *d = tf(1, D(8), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    expect(&(call){"ScatterND", 11, INS(d, ti64(2, D(4, 1), D(4, 3, 1, 7)), tf(1, D(4), (float[]){9, 10, 11, 12})), .n_out = 1},
           tf(1, D(8), (float[]){1, 11, 3, 10, 9, 6, 7, 12}));
    expect(&(call){"ScatterND", 16, ATTRS(A_STR("reduction", "add")),
                   INS(d, ti64(2, D(2, 1), D(0, 0)), tf(1, D(2), (float[]){5, 6})), .n_out = 1},
           tf(1, D(8), (float[]){12, 2, 3, 4, 5, 6, 7, 8}));
    expect(&(call){"ScatterND", 16, ATTRS(A_STR("reduction", "mul")),
                   INS(d, ti64(2, D(2, 1), D(1, -1)), tf(1, D(2), (float[]){5, 6})), .n_out = 1},
           tf(1, D(8), (float[]){1, 10, 3, 4, 5, 6, 7, 48}));
    expect(&(call){"ScatterND", 18, ATTRS(A_STR("reduction", "max")),
                   INS(vec64(3, D(5, 5, 5)), ti64(2, D(2, 1), D(0, 2)), vec64(2, D(9, 1))), .n_out = 1},
           vec64(3, D(9, 5, 5)));
    expect(&(call){"ScatterND", 13, INS(iota(OCTET_INT8, 2, D(2, 3)), ti64(2, D(1, 1), D(1)), tnew(OCTET_INT8, 2, D(1, 3), (int8_t[]){7, 8, 9})),
                   .n_out = 1},
           tnew(OCTET_INT8, 2, D(2, 3), (int8_t[]){0, 1, 2, 7, 8, 9}));
    expect(&(call){"ScatterND", 13, INS(iota(OCTET_INT8, 2, D(2, 3)), ti64(2, D(2, 2), D(0, 2, 1, 0)), tnew(OCTET_INT8, 1, D(2), (int8_t[]){-1, -2})),
                   .n_out = 1},
           tnew(OCTET_INT8, 2, D(2, 3), (int8_t[]){0, 1, -1, -2, 4, 5}));
    expect_error(&(call){"ScatterND", 13, INS(d, ti64(2, D(1, 1), D(8)), tf(1, D(1), (float[]){1})), .n_out = 1},
                 OCTET_ERR_SHAPE, "out of range");
    expect_error(&(call){"ScatterND", 13, INS(d, ti64(2, D(1, 1), D(0)), tf(1, D(2), (float[]){1, 2})), .n_out = 1},
                 OCTET_ERR_SHAPE, "do not fit");

    octet_tensor *m = iota(OCTET_FLOAT, 2, D(3, 4));
    expect(&(call){"Trilu", 14, INS(m), .n_out = 1}, tf(2, D(3, 4), (float[]){0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11}));
    expect(&(call){"Trilu", 14, ATTRS(A_INT("upper", 0)), INS(m, scalar64(-1)), .n_out = 1},
           tf(2, D(3, 4), (float[]){0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0}));
    expect(&(call){"Trilu", 14, INS(m, scalar64(2)), .n_out = 1}, tf(2, D(3, 4), (float[]){0, 0, 2, 3, 0, 0, 0, 7, 0, 0, 0, 0}));
    expect(&(call){"Trilu", 14, INS(m, scalar64(INT64_MIN)), .n_out = 1}, m);
    expect(&(call){"Trilu", 14, ATTRS(A_INT("upper", 0)), INS(m, scalar64(INT64_MAX)), .n_out = 1}, m);
    expect_error(&(call){"Trilu", 14, INS(vec64(2, D(1, 2))), .n_out = 1}, OCTET_ERR_SHAPE, "rank");
}

/* ---- randomized checks against naive per-element references ---- */

static uint64_t g_rng = 12345;
static int64_t rnd(int64_t lo, int64_t hi) { /* inclusive */
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (int64_t)((g_rng >> 33) % (uint64_t)(hi - lo + 1));
}

static void unravel(int64_t i, int nd, const int64_t *dims, int64_t *idx) {
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = dims[d] ? i % dims[d] : 0;
        i = dims[d] ? i / dims[d] : 0;
    }
}
static int64_t ravel(int nd, const int64_t *dims, const int64_t *idx) {
    int64_t o = 0;
    for (int d = 0; d < nd; d++) o = o * dims[d] + idx[d];
    return o;
}

static octet_dtype rnd_dtype(void) {
    static const octet_dtype t[] = {OCTET_FLOAT, OCTET_INT8, OCTET_INT16, OCTET_INT64, OCTET_DOUBLE, OCTET_BOOL};
    return t[rnd(0, 5)];
}

static void copy_elem(octet_tensor *dst, int64_t di, const octet_tensor *src, int64_t si) {
    size_t es = octet_dtype_size(src->dtype);
    memcpy((char *)dst->data + di * (int64_t)es, (const char *)src->data + si * (int64_t)es, es);
}

static void test_random_transpose(void **st) {
    (void)st;
    for (int iter = 0; iter < 60; iter++) {
        int r = (int)rnd(1, 6);
        int64_t dims[8], perm[8], od[8], idx[8], src[8];
        int64_t budget = iter < 5 ? 400000 : 3000; /* a few big ones take the threaded and tiled paths */
        for (int i = 0; i < r; i++) dims[i] = rnd(1, iter < 5 ? 90 : 7);
        while (ot_shape_numel(r, dims) > budget)
            for (int i = 0; i < r; i++) dims[i] = dims[i] > 1 ? dims[i] - 1 : 1;
        for (int i = 0; i < r; i++) perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)rnd(0, i);
            int64_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        octet_tensor *x = iota(rnd_dtype(), r, dims);
        for (int i = 0; i < r; i++) od[i] = dims[perm[i]];
        octet_tensor *want = keep(ot_tensor_new(x->dtype, r, od));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r, od, idx);
            for (int d = 0; d < r; d++) src[perm[d]] = idx[d];
            copy_elem(want, i, x, ravel(r, dims, src));
        }
        attr a = {.name = "perm", .kind = 'I', .ints = perm, .n = (size_t)r};
        expect(&(call){"Transpose", 13, .n_attrs = 1, .attrs = &a, INS(x), .n_out = 1}, want);
    }
}

static void test_random_slice(void **st) {
    (void)st;
    for (int iter = 0; iter < 80; iter++) {
        int r = (int)rnd(1, 4);
        int64_t dims[8], s[8], e[8], stp[8], ax[8], od[8], idx[8], src[8], b[8], step[8];
        for (int i = 0; i < r; i++) dims[i] = rnd(0, iter < 3 ? 120 : 9);
        octet_tensor *x = iota(rnd_dtype(), r, dims);
        for (int i = 0; i < r; i++) {
            ax[i] = i - (rnd(0, 1) ? r : 0);
            int64_t dm = dims[i];
            s[i] = rnd(-dm - 2, dm + 2);
            e[i] = rnd(-dm - 2, dm + 2);
            stp[i] = rnd(0, 1) ? rnd(1, 4) : -rnd(1, 4);
            if (rnd(0, 5) == 0) e[i] = stp[i] > 0 ? INT64_MAX : INT64_MIN;
            /* Python slicing semantics, written independently of the kernel */
            int64_t st0 = s[i] < 0 ? s[i] + dm : s[i], en = e[i] < 0 ? e[i] + dm : e[i];
            if (stp[i] > 0) {
                st0 = st0 < 0 ? 0 : st0 > dm ? dm : st0;
                en = en < 0 ? 0 : en > dm ? dm : en;
                od[i] = en > st0 ? (en - st0 + stp[i] - 1) / stp[i] : 0;
            } else {
                if (st0 < 0) st0 = 0; /* the spec clamps start to [0, dim-1], unlike Python */
                if (st0 > dm - 1) st0 = dm - 1;
                en = en < -1 ? -1 : en > dm - 1 ? dm - 1 : en;
                od[i] = st0 > en ? (st0 - en - stp[i] - 1) / -stp[i] : 0;
            }
            b[i] = st0;
            step[i] = stp[i];
        }
        /* permute the axes order (the slice parameters travel with their axis) */
        int64_t ps[8], pe[8], pst[8], pax[8], order[8];
        for (int i = 0; i < r; i++) order[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)rnd(0, i);
            int64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < r; i++) {
            ps[i] = s[order[i]];
            pe[i] = e[order[i]];
            pst[i] = stp[order[i]];
            pax[i] = ax[order[i]];
        }
        octet_tensor *want = keep(ot_tensor_new(x->dtype, r, od));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r, od, idx);
            for (int d = 0; d < r; d++) src[d] = b[d] + idx[d] * step[d];
            copy_elem(want, i, x, ravel(r, dims, src));
        }
        expect(&(call){"Slice", 13, INS(x, vec64(r, ps), vec64(r, pe), vec64(r, pax), vec64(r, pst)), .n_out = 1}, want);
    }
}

static int64_t pad_ref_index(int mode, int64_t t, int64_t n) {
    if (t >= 0 && t < n) return t;
    if (mode == 1) { /* edge */
        return t < 0 ? 0 : n - 1;
    }
    if (mode == 2) { /* reflect by walking back and forth */
        int64_t p = 0, dir = 1;
        int64_t steps = t < 0 ? -t : t - (n - 1);
        p = t < 0 ? 0 : n - 1;
        dir = t < 0 ? 1 : -1;
        while (steps--) {
            if (n == 1) break;
            if (p + dir < 0 || p + dir >= n) dir = -dir;
            p += dir;
        }
        return p;
    }
    return ((t % n) + n) % n; /* wrap */
}

static void test_random_pad(void **st) {
    (void)st;
    static const char *const modes[] = {"constant", "edge", "reflect", "wrap"};
    for (int iter = 0; iter < 80; iter++) {
        int r = (int)rnd(1, 4), mode = (int)rnd(0, 3);
        int64_t dims[8], pads[16], od[8], idx[8], src[8], n[8], cs[8];
        for (int i = 0; i < r; i++) dims[i] = rnd(1, iter < 3 ? 100 : 6);
        for (int i = 0; i < r; i++) {
            int64_t lo = mode == 0 ? -dims[i] / 2 : -(dims[i] - 1) / 2;
            pads[i] = rnd(lo, 3);
            pads[i + r] = rnd(lo, 3);
            cs[i] = pads[i] < 0 ? -pads[i] : 0;
            n[i] = dims[i] - cs[i] - (pads[i + r] < 0 ? -pads[i + r] : 0);
            od[i] = dims[i] + pads[i] + pads[i + r];
        }
        octet_tensor *x = iota(rnd_dtype(), r, dims);
        octet_tensor *cv = keep(ot_tensor_new(x->dtype, 0, NULL));
        ot_tensor_set_f64(cv, 0, 1);
        octet_tensor *want = keep(ot_tensor_new(x->dtype, r, od));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r, od, idx);
            bool outside = false;
            for (int d = 0; d < r; d++) {
                int64_t t = idx[d] - (pads[d] > 0 ? pads[d] : 0); /* relative to the kept interior */
                if (mode == 0) {
                    outside |= t < 0 || t >= n[d];
                    src[d] = cs[d] + t;
                } else {
                    src[d] = cs[d] + pad_ref_index(mode == 1 ? 1 : mode == 2 ? 2 : 3, t, n[d]);
                }
            }
            if (outside) copy_elem(want, i, cv, 0);
            else copy_elem(want, i, x, ravel(r, dims, src));
        }
        attr a = A_STR("mode", modes[mode]);
        expect(&(call){"Pad", 19, .n_attrs = 1, .attrs = &a, INS(x, vec64(2 * r, pads), mode == 0 ? cv : NULL), .n_out = 1},
               want);
    }
}

static void test_random_tile_expand_concat(void **st) {
    (void)st;
    for (int iter = 0; iter < 60; iter++) {
        int r = (int)rnd(1, 5);
        int64_t dims[8], rep[8], od[8], idx[8], src[8];
        for (int i = 0; i < r; i++) {
            dims[i] = rnd(1, iter < 3 ? 60 : 5);
            rep[i] = rnd(0, 3) ? rnd(1, 3) : 1;
            od[i] = dims[i] * rep[i];
        }
        octet_tensor *x = iota(rnd_dtype(), r, dims);
        /* Tile */
        octet_tensor *want = keep(ot_tensor_new(x->dtype, r, od));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r, od, idx);
            for (int d = 0; d < r; d++) src[d] = idx[d] % dims[d];
            copy_elem(want, i, x, ravel(r, dims, src));
        }
        expect(&(call){"Tile", 13, INS(x, vec64(r, rep)), .n_out = 1}, want);
        /* Expand: the input's dims where rep == 1 stay, the others become 1 in the input */
        int64_t xd[8], ed[8];
        for (int i = 0; i < r; i++) {
            xd[i] = rep[i] == 1 ? dims[i] : 1;
            ed[i] = rep[i] == 1 ? (rnd(0, 1) ? dims[i] : 1) : od[i];
        }
        octet_tensor *y = iota(x->dtype, r, xd);
        for (int i = 0; i < r; i++) od[i] = xd[i] == 1 ? ed[i] : xd[i];
        want = keep(ot_tensor_new(x->dtype, r + 1, (int64_t[]){2, od[0], od[1], od[2], od[3], od[4], od[5], od[6]}));
        int64_t wd[9] = {2};
        memcpy(wd + 1, od, (size_t)r * sizeof *od);
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r + 1, wd, idx);
            for (int d = 0; d < r; d++) src[d] = xd[d] == 1 ? 0 : idx[d + 1];
            copy_elem(want, i, y, ravel(r, xd, src));
        }
        int64_t shp[9] = {2};
        memcpy(shp + 1, ed, (size_t)r * sizeof *ed);
        expect(&(call){"Expand", 13, INS(y, vec64(r + 1, shp)), .n_out = 1}, want);
        /* Concat of x with a copy of itself of a different length on a random axis */
        int axis = (int)rnd(0, r - 1);
        int64_t zd[8], cd[8];
        memcpy(zd, dims, sizeof zd);
        zd[axis] = rnd(0, 4);
        octet_tensor *z = iota(x->dtype, r, zd);
        memcpy(cd, dims, sizeof cd);
        cd[axis] += 2 * zd[axis];
        want = keep(ot_tensor_new(x->dtype, r, cd));
        for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
            unravel(i, r, cd, idx);
            memcpy(src, idx, sizeof src);
            int64_t a = idx[axis];
            if (a < zd[axis]) {
                copy_elem(want, i, z, ravel(r, zd, src));
            } else if (a < zd[axis] + dims[axis]) {
                src[axis] = a - zd[axis];
                copy_elem(want, i, x, ravel(r, dims, src));
            } else {
                src[axis] = a - zd[axis] - dims[axis];
                copy_elem(want, i, z, ravel(r, zd, src));
            }
        }
        attr ax = A_INT("axis", axis - (rnd(0, 1) ? r : 0));
        expect(&(call){"Concat", 13, .n_attrs = 1, .attrs = &ax, INS(z, x, z), .n_out = 1}, want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shape, free_pool),
        cmocka_unit_test_teardown(test_reshape, free_pool),
        cmocka_unit_test_teardown(test_reshape_errors, free_pool),
        cmocka_unit_test_teardown(test_flatten, free_pool),
        cmocka_unit_test_teardown(test_squeeze_unsqueeze, free_pool),
        cmocka_unit_test_teardown(test_transpose, free_pool),
        cmocka_unit_test_teardown(test_expand, free_pool),
        cmocka_unit_test_teardown(test_constants, free_pool),
        cmocka_unit_test_teardown(test_concat, free_pool),
        cmocka_unit_test_teardown(test_split, free_pool),
        cmocka_unit_test_teardown(test_slice, free_pool),
        cmocka_unit_test_teardown(test_gather, free_pool),
        cmocka_unit_test_teardown(test_tile, free_pool),
        cmocka_unit_test_teardown(test_pad, free_pool),
        cmocka_unit_test_teardown(test_range, free_pool),
        cmocka_unit_test_teardown(test_depth_space, free_pool),
        cmocka_unit_test_teardown(test_topk, free_pool),
        cmocka_unit_test_teardown(test_nonzero_scatter_trilu, free_pool),
        cmocka_unit_test_teardown(test_random_transpose, free_pool),
        cmocka_unit_test_teardown(test_random_slice, free_pool),
        cmocka_unit_test_teardown(test_random_pad, free_pool),
        cmocka_unit_test_teardown(test_random_tile_expand_concat, free_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
