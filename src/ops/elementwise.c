/* Op family 'elementwise': binary arithmetic with numpy broadcasting.
 * Add Sub Mul Div Pow Mod PRelu, and the variadic Max Min Sum Mean.
 *
 * Every kernel is one inner loop over a run of the output (see broadcast.h): both inputs contiguous,
 * or one of them repeated, so same-shape, scalar and per-channel ([N,C,H,W] with [C,1,1]) cases all
 * reduce to tight loops the compiler vectorizes. Integer arithmetic wraps (computed unsigned) and
 * integer division by zero is an error, never a trap. */
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_FMOD, OP_PMOD, OP_COUNT };

#define FLOAT_TYPES(X) X(OCTET_FLOAT, float, f32) X(OCTET_DOUBLE, double, f64)
/* integer types with the unsigned type their arithmetic is done in (no signed overflow, no promotion
 * of uint16*uint16 to a signed int) */
#define SINT_TYPES(X) \
    X(OCTET_INT8, int8_t, i8, uint32_t) X(OCTET_INT16, int16_t, i16, uint32_t) \
    X(OCTET_INT32, int32_t, i32, uint32_t) X(OCTET_INT64, int64_t, i64, uint64_t)
#define UINT_TYPES(X) \
    X(OCTET_UINT8, uint8_t, u8, uint32_t) X(OCTET_UINT16, uint16_t, u16, uint32_t) \
    X(OCTET_UINT32, uint32_t, u32, uint32_t) X(OCTET_UINT64, uint64_t, u64, uint64_t)

/* One loop per stride pattern so each is a plain vectorizable loop. */
#define BIN_LOOP(NAME, T, EXPR)                                                   \
    static void NAME(void *ctx, int64_t n, char *const *p, const int64_t *s) {    \
        (void)ctx;                                                                \
        T *o = (T *)p[0];                                                         \
        const T *a = (const T *)p[1], *b = (const T *)p[2];                       \
        if (s[1] && s[2]) {                                                       \
            for (int64_t i = 0; i < n; i++) { T x = a[i], y = b[i]; o[i] = (T)(EXPR); } \
        } else if (s[1]) {                                                        \
            const T y = b[0];                                                     \
            for (int64_t i = 0; i < n; i++) { T x = a[i]; o[i] = (T)(EXPR); }     \
        } else if (s[2]) {                                                        \
            const T x = a[0];                                                     \
            for (int64_t i = 0; i < n; i++) { T y = b[i]; o[i] = (T)(EXPR); }     \
        } else {                                                                  \
            const T x = a[0], y = b[0];                                           \
            const T v = (T)(EXPR);                                                \
            for (int64_t i = 0; i < n; i++) o[i] = v;                             \
        }                                                                         \
    }

#define FMOD(x, y) _Generic((x), float: fmodf, default: fmod)((x), (y))

/* NaN propagates through Max/Min as in numpy's maximum/minimum. */
#define GEN_FLOAT(E, T, S)                                     \
    BIN_LOOP(add_##S, T, x + y)                                \
    BIN_LOOP(sub_##S, T, x - y)                                \
    BIN_LOOP(mul_##S, T, x * y)                                \
    BIN_LOOP(div_##S, T, x / y)                                \
    BIN_LOOP(max_##S, T, (x > y || x != x) ? x : y)            \
    BIN_LOOP(min_##S, T, (x < y || x != x) ? x : y)            \
    BIN_LOOP(fmod_##S, T, FMOD(x, y))
FLOAT_TYPES(GEN_FLOAT)

/* Signed: x / -1 is negation (INT_MIN / -1 wraps instead of trapping); y == 0 is caught before the
 * loop, the guard only keeps the loop trap-free. Python-style modulo takes the divisor's sign. */
static inline int64_t py_mod(int64_t x, int64_t y) {
    if (y == 0 || y == -1) return 0;
    int64_t r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}
#define GEN_SINT(E, T, S, U)                                                        \
    BIN_LOOP(add_##S, T, (U)x + (U)y)                                               \
    BIN_LOOP(sub_##S, T, (U)x - (U)y)                                               \
    BIN_LOOP(mul_##S, T, (U)x * (U)y)                                               \
    BIN_LOOP(div_##S, T, y == 0 ? 0 : y == -1 ? (T)(0 - (U)x) : x / y)              \
    BIN_LOOP(max_##S, T, x > y ? x : y)                                             \
    BIN_LOOP(min_##S, T, x < y ? x : y)                                             \
    BIN_LOOP(fmod_##S, T, (y == 0 || y == -1) ? 0 : x % y)                          \
    BIN_LOOP(pmod_##S, T, py_mod(x, y))
SINT_TYPES(GEN_SINT)

#define GEN_UINT(E, T, S, U)                           \
    BIN_LOOP(add_##S, T, (U)x + (U)y)                  \
    BIN_LOOP(sub_##S, T, (U)x - (U)y)                  \
    BIN_LOOP(mul_##S, T, (U)x * (U)y)                  \
    BIN_LOOP(div_##S, T, y == 0 ? 0 : x / y)           \
    BIN_LOOP(max_##S, T, x > y ? x : y)                \
    BIN_LOOP(min_##S, T, x < y ? x : y)                \
    BIN_LOOP(fmod_##S, T, y == 0 ? 0 : x % y)
UINT_TYPES(GEN_UINT)

static ot_bcast_fn binary_fn(int op, octet_dtype dt) {
    switch (dt) {
#define CASE_F(E, T, S) \
    case E: { static const ot_bcast_fn f[OP_COUNT] = {add_##S, sub_##S, mul_##S, div_##S, max_##S, min_##S, fmod_##S, NULL}; return f[op]; }
#define CASE_S(E, T, S, U) \
    case E: { static const ot_bcast_fn f[OP_COUNT] = {add_##S, sub_##S, mul_##S, div_##S, max_##S, min_##S, fmod_##S, pmod_##S}; return f[op]; }
#define CASE_U(E, T, S, U) \
    case E: { static const ot_bcast_fn f[OP_COUNT] = {add_##S, sub_##S, mul_##S, div_##S, max_##S, min_##S, fmod_##S, fmod_##S}; return f[op]; }
        FLOAT_TYPES(CASE_F)
        SINT_TYPES(CASE_S)
        UINT_TYPES(CASE_U)
    default: return NULL;
    }
}

static const char *const op_names[OP_COUNT] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Mod", "Mod"};

static bool has_zero(const octet_tensor *t) {
    size_t es = octet_dtype_size(t->dtype);
    const unsigned char *p = t->data;
    int64_t n = ot_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        bool z = true;
        for (size_t b = 0; b < es && z; b++) z = p[(size_t)i * es + b] == 0;
        if (z) return true;
    }
    return false;
}

static octet_status check_same_dtype(const ot_kernel *k, const octet_tensor *const *in, int n_in) {
    for (int i = 1; i < n_in; i++)
        if (in[i]->dtype != in[0]->dtype)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d is %s but input 0 is %s", i, octet_dtype_name(in[i]->dtype),
                               octet_dtype_name(in[0]->dtype));
    return OCTET_OK;
}

/* out = a (op) b, or with n_in > 2 inputs folded left to right into out (the variadic ops). */
static octet_status run_fold(const ot_kernel *k, int op, const octet_tensor *const *in, int n_in, octet_tensor *out) {
    OT_TRY(check_same_dtype(k, in, n_in));
    octet_dtype dt = in[0]->dtype;
    ot_bcast_fn fn = binary_fn(op, dt);
    if (!fn)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s of %s tensors is not supported", op_names[op], octet_dtype_name(dt));
    if ((op == OP_DIV || op == OP_FMOD || op == OP_PMOD) && ot_dtype_is_int(dt) && has_zero(in[1]))
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "integer division by zero");
    int nd;
    int64_t dims[OCTET_MAX_DIMS];
    OT_TRY(ot_broadcast_shape(k, n_in, in, &nd, dims));
    OT_TRY(ot_tensor_alloc(out, dt, nd, dims));
    if (n_in == 1) {
        if (ot_tensor_nbytes(out)) memcpy(out->data, in[0]->data, ot_tensor_nbytes(out));
        return OCTET_OK;
    }
    size_t es = octet_dtype_size(dt);
    size_t esz[3] = {es, es, es};
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, in));
    ot_bcast_run(&bc, k->threads, out->data, (const void *[]){in[0]->data, in[1]->data}, esz, fn, NULL);
    for (int i = 2; i < n_in; i++) {
        OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, (const octet_tensor *[]){out, in[i]}));
        ot_bcast_run(&bc, k->threads, out->data, (const void *[]){out->data, in[i]->data}, esz, fn, NULL);
    }
    return OCTET_OK;
}

static octet_status run_binary_op(ot_kernel *k, int op, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    return run_fold(k, op, in, n_in, out[0]);
}

static octet_status run_add(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_binary_op(k, OP_ADD, in, n_in, out, n_out);
}
static octet_status run_sub(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_binary_op(k, OP_SUB, in, n_in, out, n_out);
}
static octet_status run_mul(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_binary_op(k, OP_MUL, in, n_in, out, n_out);
}
static octet_status run_div(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_binary_op(k, OP_DIV, in, n_in, out, n_out);
}

static octet_status run_mod(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    int64_t fm = ot_node_attr_int(k->node, "fmod", 0);
    if (fm != 0 && fm != 1) return ot_node_err(k, OCTET_ERR_INVALID_ARG, "fmod must be 0 or 1, got %lld", (long long)fm);
    if (fm == 0 && ot_dtype_is_float(in[0]->dtype))
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "fmod must be 1 for floating-point inputs");
    return run_binary_op(k, fm ? OP_FMOD : OP_PMOD, in, n_in, out, n_out);
}

static octet_status run_variadic(ot_kernel *k, int op, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                 int n_out) {
    if (n_in < 1) return ot_node_err(k, OCTET_ERR_PARSE, "needs at least one input");
    OT_TRY(ot_check_inputs(k, in, n_in, n_in, n_in));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    return run_fold(k, op, in, n_in, out[0]);
}

static octet_status run_max(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_variadic(k, OP_MAX, in, n_in, out, n_out);
}
static octet_status run_min(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_variadic(k, OP_MIN, in, n_in, out, n_out);
}
static octet_status run_sum(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_variadic(k, OP_ADD, in, n_in, out, n_out);
}

static octet_status run_mean(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    if (n_in >= 1 && in[0] && !ot_dtype_is_float(in[0]->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Mean of %s tensors is not supported",
                           octet_dtype_name(in[0]->dtype));
    OT_TRY(run_variadic(k, OP_ADD, in, n_in, out, n_out));
    int64_t n = ot_tensor_numel(out[0]);
    if (out[0]->dtype == OCTET_FLOAT) {
        float *o = out[0]->data;
        const float c = (float)n_in;
        for (int64_t i = 0; i < n; i++) o[i] /= c;
    } else if (out[0]->dtype == OCTET_DOUBLE) {
        double *o = out[0]->data;
        for (int64_t i = 0; i < n; i++) o[i] /= (double)n_in;
    } else {
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Mean of %s tensors is not supported",
                           octet_dtype_name(out[0]->dtype));
    }
    return OCTET_OK;
}

/* ---- Pow: float or int base, exponent of any numeric type ---- */

typedef struct pow_ctx {
    octet_dtype edt;  /* exponent dtype */
    size_t es;
} pow_ctx;

#define POW_CHUNK 256

/* Exponents are read into doubles a chunk at a time (exact for float and for |ints| < 2^53). */
#define POW_LOOP(NAME, T, EXPR)                                                        \
    static void NAME(void *ctx, int64_t n, char *const *p, const int64_t *s) {         \
        const pow_ctx *c = ctx;                                                        \
        T *o = (T *)p[0];                                                              \
        const T *a = (const T *)p[1];                                                  \
        double ybuf[POW_CHUNK];                                                        \
        if (!s[2]) ot_load_f64(c->edt, p[2], 1, ybuf);                                 \
        for (int64_t i0 = 0; i0 < n; i0 += POW_CHUNK) {                                \
            int64_t m = n - i0 < POW_CHUNK ? n - i0 : POW_CHUNK;                       \
            if (s[2]) ot_load_f64(c->edt, p[2] + (size_t)i0 * c->es, m, ybuf);         \
            for (int64_t i = 0; i < m; i++) {                                          \
                double xd = (double)a[s[1] ? i0 + i : 0];                              \
                double y = ybuf[s[2] ? i : 0];                                         \
                (void)xd;                                                              \
                o[i0 + i] = (EXPR);                                                    \
            }                                                                          \
        }                                                                              \
    }

static inline int64_t f2i(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}

/* float base with float exponent: direct loops, squaring for the common Pow(x, 2) */
static void pow_ff32(void *ctx, int64_t n, char *const *p, const int64_t *s) {
    (void)ctx;
    float *o = (float *)p[0];
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    if (!s[2] && b[0] == 2.0f && s[1]) {
        for (int64_t i = 0; i < n; i++) o[i] = a[i] * a[i];
    } else if (!s[2] && b[0] == 1.0f && s[1]) {
        for (int64_t i = 0; i < n; i++) o[i] = a[i];
    } else {
        for (int64_t i = 0; i < n; i++) o[i] = powf(a[s[1] ? i : 0], b[s[2] ? i : 0]);
    }
}

POW_LOOP(pow_f32, float, powf(a[s[1] ? i0 + i : 0], (float)y))
POW_LOOP(pow_f64, double, pow(xd, y))
POW_LOOP(pow_i32, int32_t, (int32_t)f2i(pow(xd, y)))
POW_LOOP(pow_i64, int64_t, f2i(pow(xd, y)))

static octet_status run_pow(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    const octet_tensor *a = in[0], *b = in[1];
    ot_bcast_fn fn;
    switch (a->dtype) {
    case OCTET_FLOAT: fn = b->dtype == OCTET_FLOAT ? pow_ff32 : pow_f32; break;
    case OCTET_DOUBLE: fn = pow_f64; break;
    case OCTET_INT32: fn = pow_i32; break;
    case OCTET_INT64: fn = pow_i64; break;
    default:
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Pow with a %s base is not supported", octet_dtype_name(a->dtype));
    }
    if (b->dtype == OCTET_BOOL || (!ot_dtype_is_int(b->dtype) && b->dtype != OCTET_FLOAT && b->dtype != OCTET_DOUBLE))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Pow with a %s exponent is not supported", octet_dtype_name(b->dtype));
    int nd;
    int64_t dims[OCTET_MAX_DIMS];
    OT_TRY(ot_broadcast_shape(k, 2, in, &nd, dims));
    OT_TRY(ot_tensor_alloc(out[0], a->dtype, nd, dims));
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, in));
    pow_ctx c = {b->dtype, octet_dtype_size(b->dtype)};
    size_t esz[3] = {octet_dtype_size(a->dtype), octet_dtype_size(a->dtype), c.es};
    ot_bcast_run(&bc, k->threads, out[0]->data, (const void *[]){a->data, b->data}, esz, fn, &c);
    return OCTET_OK;
}

/* ---- PRelu: slope broadcasts to X (unidirectionally) ---- */

#define PRELU_TYPES(X) X(OCTET_FLOAT, float, f32) X(OCTET_DOUBLE, double, f64) \
    X(OCTET_INT32, int32_t, i32) X(OCTET_INT64, int64_t, i64)
#define GEN_PRELU(E, T, S) BIN_LOOP(prelu_##S, T, x < 0 ? x * y : x)
PRELU_TYPES(GEN_PRELU)

static octet_status run_prelu(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    OT_TRY(check_same_dtype(k, in, 2));
    const octet_tensor *x = in[0];
    ot_bcast_fn fn = NULL;
    switch (x->dtype) {
#define CASE_PRELU(E, T, S) case E: fn = prelu_##S; break;
        PRELU_TYPES(CASE_PRELU)
    default:
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "PRelu of %s tensors is not supported", octet_dtype_name(x->dtype));
    }
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, x->ndim, x->dims, 2, in));
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, x->dims));
    size_t es = octet_dtype_size(x->dtype);
    ot_bcast_run(&bc, k->threads, out[0]->data, (const void *[]){x->data, in[1]->data}, (size_t[]){es, es, es}, fn,
                 NULL);
    return OCTET_OK;
}

const ot_op_def ot_ops_elementwise[] = {
    {"", "Add", NULL, run_add, NULL},
    {"", "Sub", NULL, run_sub, NULL},
    {"", "Mul", NULL, run_mul, NULL},
    {"", "Div", NULL, run_div, NULL},
    {"", "Pow", NULL, run_pow, NULL},
    {"", "Mod", NULL, run_mod, NULL},
    {"", "Max", NULL, run_max, NULL},
    {"", "Min", NULL, run_min, NULL},
    {"", "Sum", NULL, run_sum, NULL},
    {"", "Mean", NULL, run_mean, NULL},
    {"", "PRelu", NULL, run_prelu, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
