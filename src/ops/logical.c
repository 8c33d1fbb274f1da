/* Op family 'logical': comparisons (numeric -> bool), Not And Or Xor on bool, and Where.
 * All broadcast like numpy (see broadcast.h); bool is one byte holding 0 or 1. */
#include <string.h>

#include "ops/broadcast.h"

#define CMP_TYPES(X)                                                                              \
    X(OCTET_FLOAT, float, f32) X(OCTET_DOUBLE, double, f64) X(OCTET_INT8, int8_t, i8)              \
    X(OCTET_INT16, int16_t, i16) X(OCTET_INT32, int32_t, i32) X(OCTET_INT64, int64_t, i64)         \
    X(OCTET_UINT8, uint8_t, u8) X(OCTET_UINT16, uint16_t, u16) X(OCTET_UINT32, uint32_t, u32)      \
    X(OCTET_UINT64, uint64_t, u64) X(OCTET_BOOL, uint8_t, b8)

enum { CMP_EQ, CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_COUNT };

/* Output is uint8 (bool); inputs T. One loop per stride pattern. */
#define CMP_LOOP(NAME, T, EXPR)                                                               \
    static void NAME(void *ctx, int64_t n, char *const *p, const int64_t *s) {                \
        (void)ctx;                                                                            \
        uint8_t *o = (uint8_t *)p[0];                                                         \
        const T *a = (const T *)p[1], *b = (const T *)p[2];                                   \
        if (s[1] && s[2]) {                                                                   \
            for (int64_t i = 0; i < n; i++) { T x = a[i], y = b[i]; o[i] = (uint8_t)(EXPR); } \
        } else if (s[1]) {                                                                    \
            const T y = b[0];                                                                 \
            for (int64_t i = 0; i < n; i++) { T x = a[i]; o[i] = (uint8_t)(EXPR); }           \
        } else if (s[2]) {                                                                    \
            const T x = a[0];                                                                 \
            for (int64_t i = 0; i < n; i++) { T y = b[i]; o[i] = (uint8_t)(EXPR); }           \
        } else {                                                                              \
            const T x = a[0], y = b[0];                                                       \
            memset(o, (uint8_t)(EXPR), (size_t)n);                                            \
        }                                                                                     \
    }

#define GEN_CMP(E, T, S)                 \
    CMP_LOOP(eq_##S, T, x == y)          \
    CMP_LOOP(gt_##S, T, x > y)           \
    CMP_LOOP(ge_##S, T, x >= y)          \
    CMP_LOOP(lt_##S, T, x < y)           \
    CMP_LOOP(le_##S, T, x <= y)
CMP_TYPES(GEN_CMP)

/* Bools are compared as truth values, so a stray nonzero byte still counts as true. */
CMP_LOOP(and_b8, uint8_t, (x != 0) & (y != 0))
CMP_LOOP(or_b8, uint8_t, (x != 0) | (y != 0))
CMP_LOOP(xor_b8, uint8_t, (x != 0) ^ (y != 0))

static ot_bcast_fn cmp_fn(int op, octet_dtype dt) {
    switch (dt) {
#define CASE_CMP(E, T, S) \
    case E: { static const ot_bcast_fn f[CMP_COUNT] = {eq_##S, gt_##S, ge_##S, lt_##S, le_##S}; return f[op]; }
        CMP_TYPES(CASE_CMP)
    default: return NULL;
    }
}

static octet_status run_bool_binary(ot_kernel *k, ot_bcast_fn fn, const octet_tensor *const *in, int n_in,
                                    octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    if (in[0]->dtype != in[1]->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inputs are %s and %s; they must have the same type",
                           octet_dtype_name(in[0]->dtype), octet_dtype_name(in[1]->dtype));
    if (!fn)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s tensors are not supported", octet_dtype_name(in[0]->dtype));
    int nd;
    int64_t dims[OCTET_MAX_DIMS];
    OT_TRY(ot_broadcast_shape(k, 2, in, &nd, dims));
    OT_TRY(ot_tensor_alloc(out[0], OCTET_BOOL, nd, dims));
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, in));
    size_t es = octet_dtype_size(in[0]->dtype);
    ot_bcast_run(&bc, k->threads, out[0]->data, (const void *[]){in[0]->data, in[1]->data}, (size_t[]){1, es, es}, fn,
                 NULL);
    return OCTET_OK;
}

static octet_status run_cmp(ot_kernel *k, int op, const octet_tensor *const *in, int n_in, octet_tensor **out,
                            int n_out) {
    octet_dtype dt = (n_in >= 1 && in[0]) ? in[0]->dtype : OCTET_UNDEFINED;
    return run_bool_binary(k, cmp_fn(op, dt), in, n_in, out, n_out);
}

#define CMP_RUN(NAME, OP)                                                                                  \
    static octet_status NAME(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,   \
                             int n_out) {                                                                  \
        return run_cmp(k, OP, in, n_in, out, n_out);                                                       \
    }
CMP_RUN(run_equal, CMP_EQ)
CMP_RUN(run_greater, CMP_GT)
CMP_RUN(run_greater_equal, CMP_GE)
CMP_RUN(run_less, CMP_LT)
CMP_RUN(run_less_equal, CMP_LE)

static octet_status run_logic(ot_kernel *k, ot_bcast_fn fn, const octet_tensor *const *in, int n_in,
                              octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    for (int i = 0; i < 2; i++) OT_TRY(ot_check_dtype(k, in[i], i, OCTET_BOOL));
    return run_bool_binary(k, fn, in, n_in, out, n_out);
}

static octet_status run_and(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_logic(k, and_b8, in, n_in, out, n_out);
}
static octet_status run_or(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_logic(k, or_b8, in, n_in, out, n_out);
}
static octet_status run_xor(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_logic(k, xor_b8, in, n_in, out, n_out);
}

static octet_status run_not(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_BOOL));
    OT_TRY(ot_tensor_alloc(out[0], OCTET_BOOL, in[0]->ndim, in[0]->dims));
    const uint8_t *x = in[0]->data;
    uint8_t *o = out[0]->data;
    int64_t n = ot_tensor_numel(in[0]);
    for (int64_t i = 0; i < n; i++) o[i] = x[i] == 0;
    return OCTET_OK;
}

/* ---- Where: out = cond ? x : y, by element size so it serves every dtype ---- */

#define WHERE_LOOP(NAME, T)                                                               \
    static void NAME(void *ctx, int64_t n, char *const *p, const int64_t *s) {            \
        (void)ctx;                                                                        \
        T *o = (T *)p[0];                                                                 \
        const uint8_t *c = (const uint8_t *)p[1];                                         \
        const T *x = (const T *)p[2], *y = (const T *)p[3];                               \
        if (s[1] && s[2] && s[3]) {                                                       \
            for (int64_t i = 0; i < n; i++) o[i] = c[i] ? x[i] : y[i];                    \
        } else if (!s[1]) {                                                               \
            const T *src = c[0] ? x : y;                                                  \
            int64_t ss = c[0] ? s[2] : s[3];                                              \
            for (int64_t i = 0; i < n; i++) o[i] = src[i * ss];                           \
        } else {                                                                          \
            for (int64_t i = 0; i < n; i++) o[i] = c[i] ? x[i * s[2]] : y[i * s[3]];      \
        }                                                                                 \
    }
WHERE_LOOP(where_1, uint8_t)
WHERE_LOOP(where_2, uint16_t)
WHERE_LOOP(where_4, uint32_t)
WHERE_LOOP(where_8, uint64_t)

static octet_status run_where(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 3));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_BOOL));
    if (in[1]->dtype != in[2]->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "X is %s but Y is %s; they must have the same type",
                           octet_dtype_name(in[1]->dtype), octet_dtype_name(in[2]->dtype));
    size_t es = octet_dtype_size(in[1]->dtype);
    ot_bcast_fn fn = es == 1 ? where_1 : es == 2 ? where_2 : es == 4 ? where_4 : es == 8 ? where_8 : NULL;
    if (!fn)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Where of %s tensors is not supported",
                           octet_dtype_name(in[1]->dtype));
    int nd;
    int64_t dims[OCTET_MAX_DIMS];
    OT_TRY(ot_broadcast_shape(k, 3, in, &nd, dims));
    OT_TRY(ot_tensor_alloc(out[0], in[1]->dtype, nd, dims));
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 3, in));
    ot_bcast_run(&bc, k->threads, out[0]->data, (const void *[]){in[0]->data, in[1]->data, in[2]->data},
                 (size_t[]){es, 1, es, es}, fn, NULL);
    return OCTET_OK;
}

const ot_op_def ot_ops_logical[] = {
    {"", "Equal", NULL, run_equal, NULL},
    {"", "Greater", NULL, run_greater, NULL},
    {"", "GreaterOrEqual", NULL, run_greater_equal, NULL},
    {"", "Less", NULL, run_less, NULL},
    {"", "LessOrEqual", NULL, run_less_equal, NULL},
    {"", "Not", NULL, run_not, NULL},
    {"", "And", NULL, run_and, NULL},
    {"", "Or", NULL, run_or, NULL},
    {"", "Xor", NULL, run_xor, NULL},
    {"", "Where", NULL, run_where, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
