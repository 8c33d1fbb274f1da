/* Op family 'unary': elementwise functions of one tensor (activations, math functions, Clip),
 * Identity, Cast and CastLike.
 *
 * Each function is one plain loop per dtype generated from one expression (float and double through
 * <tgmath.h>, so float stays float: expf, tanhf, erff from libm). Big tensors are split into
 * contiguous ranges across threads; an element's value never depends on the split. */
#include <float.h>
#include <string.h>
#include <tgmath.h>

#include "kernels/cpu.h"
#include "ops/broadcast.h"

#include "ops/unary_internal.h"

#define UN_LOOP(NAME, T, TO, EXPR)                                                   \
    static void NAME(const un_params *c, int64_t n, void *out, const void *in) {     \
        (void)c;                                                                     \
        TO *o = (TO *)out;                                                           \
        const T *px = (const T *)in;                                                 \
        typedef T elem_t;                                                            \
        (void)sizeof(elem_t);                                                        \
        for (int64_t i = 0; i < n; i++) {                                            \
            const T x = px[i];                                                       \
            o[i] = (TO)(EXPR);                                                       \
        }                                                                            \
    }

/* float and double versions from one expression; K(v) makes a constant of the element type. */
#define UN_F(NAME, EXPR)                            \
    UN_LOOP(NAME##_f32, float, float, EXPR)         \
    UN_LOOP(NAME##_f64, double, double, EXPR)
#define K(v) ((elem_t)(v))

UN_F(sigmoid, x >= 0 ? K(1) / (K(1) + exp(-x)) : exp(x) / (K(1) + exp(x)))
UN_F(tanh, tanh(x))
UN_F(erf, erf(x))
UN_F(log, log(x))
UN_F(exp, exp(x))
UN_F(sqrt, sqrt(x))
UN_F(reciprocal, K(1) / x)
UN_F(floor, floor(x))
UN_F(ceil, ceil(x))
UN_F(round, nearbyint(x)) /* half to even in the default rounding mode */
UN_F(leaky_relu, x < 0 ? K(c->alpha) * x : x)
UN_F(hard_sigmoid, K(c->alpha) * x + K(c->beta) < 0 ? K(0)
                   : K(c->alpha) * x + K(c->beta) > 1 ? K(1) : K(c->alpha) * x + K(c->beta))
UN_F(hard_swish, x * (x / K(6) + K(0.5) < 0 ? K(0) : x / K(6) + K(0.5) > 1 ? K(1) : x / K(6) + K(0.5)))
UN_F(elu, x < 0 ? K(c->alpha) * expm1(x) : x)
UN_F(selu, x > 0 ? K(c->gamma) * x : K(c->gamma) * K(c->alpha) * expm1(x))
UN_F(softplus, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
UN_F(softsign, x / (K(1) + fabs(x)))
UN_F(gelu, K(0.5) * x * (K(1) + erf(x * K(0.70710678118654752440))))
UN_F(gelu_tanh, K(0.5) * x * (K(1) + tanh(K(0.79788456080286535588) * (x + K(0.044715) * x * x * x))))
UN_F(sin, sin(x))
UN_F(cos, cos(x))
UN_F(tan, tan(x))
UN_F(asin, asin(x))
UN_F(acos, acos(x))
UN_F(atan, atan(x))
UN_F(sinh, sinh(x))
UN_F(cosh, cosh(x))
UN_F(asinh, asinh(x))
UN_F(acosh, acosh(x))
UN_F(atanh, atanh(x))
UN_F(thresholded_relu, x > K(c->alpha) ? x : K(0))
UN_F(celu, (x > 0 ? x : K(0)) + (x < 0 ? K(c->alpha) * expm1(x / K(c->alpha)) : K(0)))
UN_F(mish, x * tanh(x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))))
UN_F(shrink, x < -K(c->alpha) ? x + K(c->beta) : x > K(c->alpha) ? x - K(c->beta) : K(0))
UN_F(relu, x < 0 ? K(0) : x) /* NaN stays NaN */
UN_F(neg, -x)
UN_F(abs, fabs(x))
UN_F(sign, x > 0 ? K(1) : x < 0 ? K(-1) : x) /* 0 -> 0, NaN -> NaN */
/* max then min, so min > max gives max everywhere as the spec says; NaN stays NaN */
#define CLAMP(x, lo, hi) ((x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x))
UN_F(clip, CLAMP(x, K(c->lo), K(c->hi)))
UN_LOOP(isnan_f32, float, uint8_t, x != x)
UN_LOOP(isnan_f64, double, uint8_t, x != x)
UN_LOOP(isinf_f32, float, uint8_t, (isinf(x) && ((x > 0 && c->flag_b) || (x < 0 && c->flag_a))))
UN_LOOP(isinf_f64, double, uint8_t, (isinf(x) && ((x > 0 && c->flag_b) || (x < 0 && c->flag_a))))

/* Integer versions. Negation is done unsigned so INT_MIN wraps instead of overflowing. */
#define SINT_TYPES(X) \
    X(int8_t, i8, uint32_t) X(int16_t, i16, uint32_t) X(int32_t, i32, uint32_t) X(int64_t, i64, uint64_t)
#define UINT_TYPES(X) X(uint8_t, u8) X(uint16_t, u16) X(uint32_t, u32) X(uint64_t, u64)
#define GEN_SINT(T, S, U)                                                  \
    UN_LOOP(relu_##S, T, T, x < 0 ? 0 : x)                                 \
    UN_LOOP(neg_##S, T, T, 0 - (U)x)                                       \
    UN_LOOP(abs_##S, T, T, x < 0 ? (T)(0 - (U)x) : x)                      \
    UN_LOOP(sign_##S, T, T, (x > 0) - (x < 0))                             \
    UN_LOOP(clip_##S, T, T, CLAMP((int64_t)x, c->ilo, c->ihi))
SINT_TYPES(GEN_SINT)
#define GEN_UINT(T, S)                                                     \
    UN_LOOP(abs_##S, T, T, x)                                              \
    UN_LOOP(sign_##S, T, T, x > 0)                                         \
    UN_LOOP(clip_##S, T, T, CLAMP((uint64_t)x, c->ulo, c->uhi))
UINT_TYPES(GEN_UINT)

/* ---- AVX2 versions of the hot functions: the transcendental ones through glibc's libmvec ----
 * _ZGVdN8v_expf / tanhf / erff are libmvec's 8-wide AVX2 variants (within ~3 ulp, so ~3e-7
 * relative); a ragged tail goes through the same vector call on a padded copy, so an element's value
 * never depends on where a thread's range starts. HardSigmoid and HardSwish are bit-identical to the
 * scalar loops. Used when the kernel table is AVX2 or better (OCTET_ISA=scalar forces the loops above). */
#if defined(__x86_64__) && defined(__GLIBC__)
/* AVX2 loops: src/ops/unary_avx2.c (compiled with -mavx2 -mfma) */

static bool use_mvec(void) { return ot_kernels_get()->isa >= OT_ISA_AVX2; }
#else
#define sigmoid_v8 NULL
#define tanh_v8 NULL
#define erf_v8 NULL
#define exp_v8 NULL
#define gelu_v8 NULL
#define gelu_tanh_v8 NULL
#define hard_sigmoid_v8 NULL
#define hard_swish_v8 NULL
static bool use_mvec(void) { return false; }
#endif

/* ---- op table ---- */

enum {
    U_SIGMOID, U_TANH, U_ERF, U_LOG, U_EXP, U_SQRT, U_RECIPROCAL, U_FLOOR, U_CEIL, U_ROUND, U_LEAKY_RELU,
    U_HARD_SIGMOID, U_HARD_SWISH, U_ELU, U_SELU, U_SOFTPLUS, U_SOFTSIGN, U_GELU, U_SIN, U_COS, U_TAN, U_ASIN,
    U_ACOS, U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH, U_ATANH, U_THRESHOLDED_RELU, U_CELU, U_MISH, U_SHRINK,
    U_RELU, U_NEG, U_ABS, U_SIGN, U_CLIP, U_ISNAN, U_ISINF, U_COUNT
};

typedef struct un_op {
    const char *name;
    un_fn f32, f64;
    un_fn s[4];      /* int8 int16 int32 int64 */
    un_fn u[4];      /* uint8 uint16 uint32 uint64 */
    double alpha, beta, gamma;  /* attribute defaults */
    int cost;        /* rough work per element, for the threading threshold */
    bool to_bool;    /* output is bool */
    un_fn v8;        /* float32 AVX2 version, if any */
} un_op;

#define FL(n) n##_f32, n##_f64
#define NO_INT {NULL, NULL, NULL, NULL}
static const un_op un_ops[U_COUNT] = {
    [U_SIGMOID] = {"Sigmoid", FL(sigmoid), NO_INT, NO_INT, 0, 0, 0, 16, false, sigmoid_v8},
    [U_TANH] = {"Tanh", FL(tanh), NO_INT, NO_INT, 0, 0, 0, 16, false, tanh_v8},
    [U_ERF] = {"Erf", FL(erf), NO_INT, NO_INT, 0, 0, 0, 16, false, erf_v8},
    [U_LOG] = {"Log", FL(log), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_EXP] = {"Exp", FL(exp), NO_INT, NO_INT, 0, 0, 0, 16, false, exp_v8},
    [U_SQRT] = {"Sqrt", FL(sqrt), NO_INT, NO_INT, 0, 0, 0, 2, false},
    [U_RECIPROCAL] = {"Reciprocal", FL(reciprocal), NO_INT, NO_INT, 0, 0, 0, 2, false},
    [U_FLOOR] = {"Floor", FL(floor), NO_INT, NO_INT, 0, 0, 0, 1, false},
    [U_CEIL] = {"Ceil", FL(ceil), NO_INT, NO_INT, 0, 0, 0, 1, false},
    [U_ROUND] = {"Round", FL(round), NO_INT, NO_INT, 0, 0, 0, 1, false},
    [U_LEAKY_RELU] = {"LeakyRelu", FL(leaky_relu), NO_INT, NO_INT, 0.01, 0, 0, 1, false},
    [U_HARD_SIGMOID] = {"HardSigmoid", FL(hard_sigmoid), NO_INT, NO_INT, 0.2, 0.5, 0, 1, false, hard_sigmoid_v8},
    [U_HARD_SWISH] = {"HardSwish", FL(hard_swish), NO_INT, NO_INT, 0, 0, 0, 1, false, hard_swish_v8},
    [U_ELU] = {"Elu", FL(elu), NO_INT, NO_INT, 1.0, 0, 0, 16, false},
    [U_SELU] = {"Selu", FL(selu), NO_INT, NO_INT, 1.67326319217681884765625, 0, 1.05070102214813232421875, 16,
                false},
    [U_SOFTPLUS] = {"Softplus", FL(softplus), NO_INT, NO_INT, 0, 0, 0, 32, false},
    [U_SOFTSIGN] = {"Softsign", FL(softsign), NO_INT, NO_INT, 0, 0, 0, 2, false},
    [U_GELU] = {"Gelu", FL(gelu), NO_INT, NO_INT, 0, 0, 0, 16, false, gelu_v8},
    [U_SIN] = {"Sin", FL(sin), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_COS] = {"Cos", FL(cos), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_TAN] = {"Tan", FL(tan), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ASIN] = {"Asin", FL(asin), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ACOS] = {"Acos", FL(acos), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ATAN] = {"Atan", FL(atan), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_SINH] = {"Sinh", FL(sinh), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_COSH] = {"Cosh", FL(cosh), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ASINH] = {"Asinh", FL(asinh), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ACOSH] = {"Acosh", FL(acosh), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_ATANH] = {"Atanh", FL(atanh), NO_INT, NO_INT, 0, 0, 0, 16, false},
    [U_THRESHOLDED_RELU] = {"ThresholdedRelu", FL(thresholded_relu), NO_INT, NO_INT, 1.0, 0, 0, 1, false},
    [U_CELU] = {"Celu", FL(celu), NO_INT, NO_INT, 1.0, 0, 0, 16, false},
    [U_MISH] = {"Mish", FL(mish), NO_INT, NO_INT, 0, 0, 0, 32, false},
    [U_SHRINK] = {"Shrink", FL(shrink), NO_INT, NO_INT, 0.5, 0.0, 0, 1, false},
    [U_RELU] = {"Relu", FL(relu), {relu_i8, relu_i16, relu_i32, relu_i64}, NO_INT, 0, 0, 0, 1, false},
    [U_NEG] = {"Neg", FL(neg), {neg_i8, neg_i16, neg_i32, neg_i64}, NO_INT, 0, 0, 0, 1, false},
    [U_ABS] = {"Abs", FL(abs), {abs_i8, abs_i16, abs_i32, abs_i64}, {abs_u8, abs_u16, abs_u32, abs_u64}, 0, 0, 0, 1,
               false},
    [U_SIGN] = {"Sign", FL(sign), {sign_i8, sign_i16, sign_i32, sign_i64}, {sign_u8, sign_u16, sign_u32, sign_u64},
                0, 0, 0, 1, false},
    [U_CLIP] = {"Clip", FL(clip), {clip_i8, clip_i16, clip_i32, clip_i64}, {clip_u8, clip_u16, clip_u32, clip_u64},
                0, 0, 0, 1, false},
    [U_ISNAN] = {"IsNaN", FL(isnan), NO_INT, NO_INT, 0, 0, 0, 1, true},
    [U_ISINF] = {"IsInf", FL(isinf), NO_INT, NO_INT, 0, 0, 0, 1, true},
};

static un_fn pick_fn(const un_op *op, octet_dtype dt) {
    switch (dt) {
    case OCTET_FLOAT: return op->v8 && use_mvec() ? op->v8 : op->f32;
    case OCTET_DOUBLE: return op->f64;
    case OCTET_INT8: return op->s[0];
    case OCTET_INT16: return op->s[1];
    case OCTET_INT32: return op->s[2];
    case OCTET_INT64: return op->s[3];
    case OCTET_UINT8: return op->u[0];
    case OCTET_UINT16: return op->u[1];
    case OCTET_UINT32: return op->u[2];
    case OCTET_UINT64: return op->u[3];
    default: return NULL;
    }
}

un_fn ot_unary_f32_loop(const char *op_type, bool vec) {
    for (int i = 0; i < U_COUNT; i++)
        if (strcmp(un_ops[i].name, op_type) == 0) return vec ? un_ops[i].v8 : un_ops[i].f32;
    return NULL;
}

/* ---- applying a loop over a whole tensor, split across threads ---- */

typedef void (*range_fn)(const void *ctx, int64_t n, void *out, const void *in);

/* Split [0, n) into one contiguous range per thread. */
static void apply_ranges(int threads, int64_t n, int cost, size_t eo, size_t ei, void *out, const void *in,
                         range_fn fn, const void *ctx) {
    if (n <= 0) return;
    int T = ot_par_threads(threads, n * (cost > 0 ? cost : 1));
    if (T > n) T = (int)n;
    if (T <= 1) {
        fn(ctx, n, out, in);
        return;
    }
#pragma omp parallel for num_threads(T) schedule(static)
    for (int t = 0; t < T; t++) {
        int64_t lo = n * t / T, hi = n * (t + 1) / T;
        fn(ctx, hi - lo, (char *)out + (size_t)lo * eo, (const char *)in + (size_t)lo * ei);
    }
}

typedef struct un_job {
    un_fn fn;
    const un_params *c;
} un_job;

static void un_job_fn(const void *ctx, int64_t n, void *out, const void *in) {
    const un_job *j = ctx;
    j->fn(j->c, n, out, in);
}

static octet_status apply_unary(ot_kernel *k, const un_op *op, un_fn fn, const un_params *c, const octet_tensor *x,
                                octet_tensor *out) {
    if (!fn)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s of %s tensors is not supported", op->name,
                           octet_dtype_name(x->dtype));
    octet_dtype odt = op->to_bool ? OCTET_BOOL : x->dtype;
    OT_TRY(ot_tensor_alloc(out, odt, x->ndim, x->dims));
    un_job j = {fn, c};
    apply_ranges(k->threads, ot_tensor_numel(x), op->cost, octet_dtype_size(odt), octet_dtype_size(x->dtype),
                 out->data, x->data, un_job_fn, &j);
    return OCTET_OK;
}

static octet_status run_unary(ot_kernel *k, int which, const octet_tensor *const *in, int n_in, octet_tensor **out,
                              int n_out) {
    const un_op *op = &un_ops[which];
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    un_params c = {0};
    c.alpha = ot_node_attr_float(k->node, "alpha", (float)op->alpha);
    c.beta = ot_node_attr_float(k->node, "beta", (float)op->beta);
    c.gamma = ot_node_attr_float(k->node, "gamma", (float)op->gamma);
    /* defaults in double precision where the spec gives more digits than float holds */
    if (!ot_node_attr(k->node, "alpha")) c.alpha = op->alpha;
    if (!ot_node_attr(k->node, "gamma")) c.gamma = op->gamma;
    un_fn fn = pick_fn(op, in[0]->dtype);
    if (which == U_SHRINK) {
        c.alpha = ot_node_attr_float(k->node, "lambd", 0.5f);
        c.beta = ot_node_attr_float(k->node, "bias", 0.0f);
    } else if (which == U_GELU) {
        const char *ap = ot_node_attr_string(k->node, "approximate", "none");
        if (strcmp(ap, "tanh") == 0) {
            un_fn v8 = gelu_tanh_v8;
            fn = in[0]->dtype == OCTET_FLOAT ? (v8 && use_mvec() ? v8 : gelu_tanh_f32)
                 : in[0]->dtype == OCTET_DOUBLE ? gelu_tanh_f64 : NULL;
        }
        else if (strcmp(ap, "none") != 0)
            return ot_node_err(k, OCTET_ERR_INVALID_ARG, "approximate must be \"none\" or \"tanh\", got \"%s\"", ap);
    } else if (which == U_ISINF) {
        c.flag_a = ot_node_attr_int(k->node, "detect_negative", 1) != 0;
        c.flag_b = ot_node_attr_int(k->node, "detect_positive", 1) != 0;
    } else if (which == U_CELU && c.alpha == 0) {
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "alpha must not be 0");
    }
    return apply_unary(k, op, fn, &c, in[0], out[0]);
}

#define UN_RUN(NAME, IDX)                                                                                         \
    static octet_status run_##NAME(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,    \
                                   int n_out) {                                                                   \
        return run_unary(k, IDX, in, n_in, out, n_out);                                                           \
    }
UN_RUN(sigmoid, U_SIGMOID)
UN_RUN(tanh, U_TANH)
UN_RUN(erf, U_ERF)
UN_RUN(log, U_LOG)
UN_RUN(exp, U_EXP)
UN_RUN(sqrt, U_SQRT)
UN_RUN(reciprocal, U_RECIPROCAL)
UN_RUN(floor, U_FLOOR)
UN_RUN(ceil, U_CEIL)
UN_RUN(round, U_ROUND)
UN_RUN(leaky_relu, U_LEAKY_RELU)
UN_RUN(hard_sigmoid, U_HARD_SIGMOID)
UN_RUN(hard_swish, U_HARD_SWISH)
UN_RUN(elu, U_ELU)
UN_RUN(selu, U_SELU)
UN_RUN(softplus, U_SOFTPLUS)
UN_RUN(softsign, U_SOFTSIGN)
UN_RUN(gelu, U_GELU)
UN_RUN(sin, U_SIN)
UN_RUN(cos, U_COS)
UN_RUN(tan, U_TAN)
UN_RUN(asin, U_ASIN)
UN_RUN(acos, U_ACOS)
UN_RUN(atan, U_ATAN)
UN_RUN(sinh, U_SINH)
UN_RUN(cosh, U_COSH)
UN_RUN(asinh, U_ASINH)
UN_RUN(acosh, U_ACOSH)
UN_RUN(atanh, U_ATANH)
UN_RUN(thresholded_relu, U_THRESHOLDED_RELU)
UN_RUN(celu, U_CELU)
UN_RUN(mish, U_MISH)
UN_RUN(shrink, U_SHRINK)
UN_RUN(relu, U_RELU)
UN_RUN(neg, U_NEG)
UN_RUN(abs, U_ABS)
UN_RUN(sign, U_SIGN)
UN_RUN(isnan, U_ISNAN)
UN_RUN(isinf, U_ISINF)

/* ---- Clip: bounds are attributes before opset 11, optional scalar inputs from 11 on ---- */

static octet_status run_clip(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    const un_op *op = &un_ops[U_CLIP];
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    un_params c = {0};
    const octet_tensor *x = n_in >= 1 ? in[0] : NULL;
    if (k->opset < 11) {
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        c.lo = ot_node_attr_float(k->node, "min", -FLT_MAX);
        c.hi = ot_node_attr_float(k->node, "max", FLT_MAX);
        if (x->dtype != OCTET_FLOAT && x->dtype != OCTET_DOUBLE)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Clip of %s tensors is not supported before opset 11",
                               octet_dtype_name(x->dtype));
        return apply_unary(k, op, pick_fn(op, x->dtype), &c, x, out[0]);
    }
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 3));
    c.lo = -INFINITY;
    c.hi = INFINITY;
    c.ilo = INT64_MIN;
    c.ihi = INT64_MAX;
    c.ulo = 0;
    c.uhi = UINT64_MAX;
    for (int i = 1; i < n_in; i++) {
        const octet_tensor *b = in[i];
        if (!b) continue;
        if (b->dtype != x->dtype)
            return ot_node_err(k, OCTET_ERR_SHAPE, "%s is %s but the input is %s", i == 1 ? "min" : "max",
                               octet_dtype_name(b->dtype), octet_dtype_name(x->dtype));
        int64_t nb = ot_tensor_numel(b);
        if (nb == 0) continue; /* an empty tensor counts as not given */
        if (nb != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be a scalar, got %lld elements", i == 1 ? "min" : "max",
                               (long long)nb);
        double d = ot_tensor_get_f64(b, 0);
        if (i == 1) {
            c.lo = d;
            c.ilo = ot_tensor_get_i64(b, 0);
            c.ulo = (uint64_t)ot_tensor_get_i64(b, 0);
        } else {
            c.hi = d;
            c.ihi = ot_tensor_get_i64(b, 0);
            c.uhi = (uint64_t)ot_tensor_get_i64(b, 0);
        }
    }
    return apply_unary(k, op, pick_fn(op, x->dtype), &c, x, out[0]);
}

/* ---- Identity ---- */

static octet_status run_identity(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                 int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    if (octet_dtype_size(in[0]->dtype) == 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s tensors are not supported", octet_dtype_name(in[0]->dtype));
    return ot_tensor_copy_into(out[0], in[0]);
}

/* ---- Cast ---- */

/* IEEE half <-> float, round to nearest even, subnormals, inf and NaN kept. */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) {
        float f = (float)man * 5.9604644775390625e-08f; /* 2^-24 */
        return sign ? -f : f;
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {                                    /* below the smallest normal half: subnormal */
        float a;
        memcpy(&a, &ax, sizeof a);
        /* adding 0.5 puts the subnormal's bits in the low mantissa, rounded to nearest even by the FPU */
        a += 0.5f;
        uint32_t b;
        memcpy(&b, &a, sizeof b);
        return (uint16_t)(sign | (b - 0x3f000000u));
    }
    uint32_t mant_odd = (ax >> 13) & 1u;
    ax += 0xc8000fffu + mant_odd; /* rebias exponent (-112 << 23) and round to nearest even */
    return (uint16_t)(sign | (ax >> 13));
}

/* float -> int64 with C truncation; out-of-range and NaN give INT64_MIN as x86's cvttsd2si does. */
static inline int64_t f2i64(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}
static inline uint64_t f2u64(double x) {
    if (x >= 9223372036854775808.0 && x < 18446744073709551616.0) return (uint64_t)x;
    return (uint64_t)f2i64(x);
}

typedef enum { CAT_F, CAT_I, CAT_U } cast_cat;

#define CAST_CHUNK 512

typedef struct cast_ctx {
    octet_dtype from, to;
} cast_ctx;

static cast_cat cat_of(octet_dtype d) {
    if (d == OCTET_FLOAT || d == OCTET_DOUBLE || d == OCTET_FLOAT16) return CAT_F;
    return d == OCTET_UINT64 ? CAT_U : CAT_I;
}

static void store_f(octet_dtype to, const double *fb, int64_t n, void *dst) {
    switch (to) {
    case OCTET_UINT64: for (int64_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = f2u64(fb[i]); break;
    case OCTET_FLOAT: for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = (float)fb[i]; break;
    case OCTET_DOUBLE: memcpy(dst, fb, (size_t)n * sizeof *fb); break;
    case OCTET_FLOAT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = float_to_half((float)fb[i]); break;
    case OCTET_BOOL: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = fb[i] != 0; break;
    case OCTET_INT8: for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)f2i64(fb[i]); break;
    case OCTET_INT16: for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)f2i64(fb[i]); break;
    case OCTET_INT32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)f2i64(fb[i]); break;
    case OCTET_INT64: for (int64_t i = 0; i < n; i++) ((int64_t *)dst)[i] = f2i64(fb[i]); break;
    case OCTET_UINT8: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)f2i64(fb[i]); break;
    case OCTET_UINT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)f2i64(fb[i]); break;
    case OCTET_UINT32: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)f2i64(fb[i]); break;
    default: break;
    }
}

#define STORE_INT(NAME, ST)                                                                                  \
    static void NAME(octet_dtype to, const ST *v, int64_t n, void *dst) {                                    \
        switch (to) {                                                                                        \
        case OCTET_FLOAT: for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = (float)v[i]; break;            \
        case OCTET_DOUBLE: for (int64_t i = 0; i < n; i++) ((double *)dst)[i] = (double)v[i]; break;         \
        case OCTET_FLOAT16:                                                                                  \
            for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = float_to_half((float)v[i]);               \
            break;                                                                                           \
        case OCTET_BOOL: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = v[i] != 0; break;             \
        case OCTET_INT8: for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)v[i]; break;           \
        case OCTET_INT16: for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)v[i]; break;        \
        case OCTET_INT32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)v[i]; break;        \
        case OCTET_INT64: for (int64_t i = 0; i < n; i++) ((int64_t *)dst)[i] = (int64_t)v[i]; break;        \
        case OCTET_UINT8: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)v[i]; break;        \
        case OCTET_UINT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)v[i]; break;     \
        case OCTET_UINT32: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)v[i]; break;     \
        case OCTET_UINT64: for (int64_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = (uint64_t)v[i]; break;     \
        default: break;                                                                                      \
        }                                                                                                    \
    }
STORE_INT(store_i, int64_t)
STORE_INT(store_u, uint64_t)

static void cast_range(const void *ctx, int64_t n, void *out, const void *in) {
    const cast_ctx *c = ctx;
    size_t ei = octet_dtype_size(c->from), eo = octet_dtype_size(c->to);
    cast_cat cat = cat_of(c->from);
    for (int64_t i0 = 0; i0 < n; i0 += CAST_CHUNK) {
        int64_t m = n - i0 < CAST_CHUNK ? n - i0 : CAST_CHUNK;
        const char *src = (const char *)in + (size_t)i0 * ei;
        char *dst = (char *)out + (size_t)i0 * eo;
        if (cat == CAT_F) {
            double fb[CAST_CHUNK];
            if (c->from == OCTET_FLOAT16)
                for (int64_t i = 0; i < m; i++) fb[i] = half_to_float(((const uint16_t *)src)[i]);
            else
                ot_load_f64(c->from, src, m, fb);
            store_f(c->to, fb, m, dst);
        } else if (cat == CAT_U) {
            store_u(c->to, (const uint64_t *)src, m, dst);
        } else {
            int64_t ib[CAST_CHUNK];
            ot_load_i64(c->from, src, m, ib);
            store_i(c->to, ib, m, dst);
        }
    }
}

static bool castable(octet_dtype d) {
    return d == OCTET_FLOAT16 || d == OCTET_BOOL || ot_dtype_is_float(d) || ot_dtype_is_int(d);
}

static octet_status do_cast(ot_kernel *k, const octet_tensor *x, octet_dtype to, octet_tensor *out) {
    if (!castable(x->dtype) || !castable(to))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "cast from %s to %s is not supported", octet_dtype_name(x->dtype),
                           octet_dtype_name(to));
    if (x->dtype == to) return ot_tensor_copy_into(out, x);
    OT_TRY(ot_tensor_alloc(out, to, x->ndim, x->dims));
    cast_ctx c = {x->dtype, to};
    apply_ranges(k->threads, ot_tensor_numel(x), 1, octet_dtype_size(to), octet_dtype_size(x->dtype), out->data,
                 x->data, cast_range, &c);
    return OCTET_OK;
}

static octet_status run_cast(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    const ot_attr *to = ot_node_attr(k->node, "to");
    if (!to || to->type != OT_ATTR_INT) return ot_node_err(k, OCTET_ERR_PARSE, "needs an int attribute 'to'");
    if (to->i <= 0 || to->i > 64)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "cast to type %lld is not supported", (long long)to->i);
    return do_cast(k, in[0], (octet_dtype)to->i, out[0]);
}

static octet_status run_cast_like(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    return do_cast(k, in[0], in[1]->dtype, out[0]);
}

const ot_op_def ot_ops_unary[] = {
    {"", "Relu", NULL, run_relu, NULL},
    {"", "Sigmoid", NULL, run_sigmoid, NULL},
    {"", "Tanh", NULL, run_tanh, NULL},
    {"", "Erf", NULL, run_erf, NULL},
    {"", "Log", NULL, run_log, NULL},
    {"", "Exp", NULL, run_exp, NULL},
    {"", "Sqrt", NULL, run_sqrt, NULL},
    {"", "Neg", NULL, run_neg, NULL},
    {"", "Abs", NULL, run_abs, NULL},
    {"", "Reciprocal", NULL, run_reciprocal, NULL},
    {"", "Floor", NULL, run_floor, NULL},
    {"", "Ceil", NULL, run_ceil, NULL},
    {"", "Round", NULL, run_round, NULL},
    {"", "Sign", NULL, run_sign, NULL},
    {"", "Clip", NULL, run_clip, NULL},
    {"", "LeakyRelu", NULL, run_leaky_relu, NULL},
    {"", "HardSigmoid", NULL, run_hard_sigmoid, NULL},
    {"", "HardSwish", NULL, run_hard_swish, NULL},
    {"", "Elu", NULL, run_elu, NULL},
    {"", "Selu", NULL, run_selu, NULL},
    {"", "Softplus", NULL, run_softplus, NULL},
    {"", "Softsign", NULL, run_softsign, NULL},
    {"", "Gelu", NULL, run_gelu, NULL},
    {"", "Sin", NULL, run_sin, NULL},
    {"", "Cos", NULL, run_cos, NULL},
    {"", "Tan", NULL, run_tan, NULL},
    {"", "Asin", NULL, run_asin, NULL},
    {"", "Acos", NULL, run_acos, NULL},
    {"", "Atan", NULL, run_atan, NULL},
    {"", "Sinh", NULL, run_sinh, NULL},
    {"", "Cosh", NULL, run_cosh, NULL},
    {"", "Asinh", NULL, run_asinh, NULL},
    {"", "Acosh", NULL, run_acosh, NULL},
    {"", "Atanh", NULL, run_atanh, NULL},
    {"", "ThresholdedRelu", NULL, run_thresholded_relu, NULL},
    {"", "Celu", NULL, run_celu, NULL},
    {"", "Mish", NULL, run_mish, NULL},
    {"", "Shrink", NULL, run_shrink, NULL},
    {"", "IsNaN", NULL, run_isnan, NULL},
    {"", "IsInf", NULL, run_isinf, NULL},
    {"", "Identity", NULL, run_identity, NULL},
    {"", "Cast", NULL, run_cast, NULL},
    {"", "CastLike", NULL, run_cast_like, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
