/* Op family 'reduce': ReduceSum Mean Max Min Prod L1 L2 SumSquare LogSum LogSumExp, ArgMax ArgMin.
 *
 * The reduced axes are coalesced into groups; each group is one pass over an [O, R, I] view (O outer
 * kept elements, R reduced, I inner kept) that writes [O, I]. Passes accumulate in double (float
 * inputs) or int64 (integer inputs, wrapping). Work is split over output elements only, so every
 * output is summed in the same order whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/broadcast.h"
#include "util/mem.h"

enum { K_SUM, K_SUMSQ, K_ABSSUM, K_MAX, K_MIN, K_PROD, K_LSE };
enum { F_NONE, F_MEAN, F_SQRT, F_LOG };

typedef struct red_op {
    const char *name;
    int first, rest, final;   /* pass kind on the input, on partial results, and the final transform */
    int64_t axes_input_opset; /* from this opset on, axes is an input */
    bool float_only;
} red_op;

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LSE, R_COUNT };
static const red_op red_ops[R_COUNT] = {
    [R_SUM] = {"ReduceSum", K_SUM, K_SUM, F_NONE, 13, false},
    [R_MEAN] = {"ReduceMean", K_SUM, K_SUM, F_MEAN, 18, false},
    [R_MAX] = {"ReduceMax", K_MAX, K_MAX, F_NONE, 18, false},
    [R_MIN] = {"ReduceMin", K_MIN, K_MIN, F_NONE, 18, false},
    [R_PROD] = {"ReduceProd", K_PROD, K_PROD, F_NONE, 18, false},
    [R_L1] = {"ReduceL1", K_ABSSUM, K_SUM, F_NONE, 18, false},
    [R_L2] = {"ReduceL2", K_SUMSQ, K_SUM, F_SQRT, 18, false},
    [R_SUMSQ] = {"ReduceSumSquare", K_SUMSQ, K_SUM, F_NONE, 18, false},
    [R_LOGSUM] = {"ReduceLogSum", K_SUM, K_SUM, F_LOG, 18, true},
    [R_LSE] = {"ReduceLogSumExp", K_LSE, K_LSE, F_NONE, 18, true},
};

/* accumulation steps: F_ for double accumulators, I_ for int64 ones (wrapping, done unsigned) */
#define F_SUM(acc, v) acc += v
#define F_SUMSQ(acc, v) acc += v * v
#define F_ABSSUM(acc, v) acc += fabs(v)
#define F_MAX(acc, v) acc = (v > acc || v != v) ? v : acc /* NaN propagates */
#define F_MIN(acc, v) acc = (v < acc || v != v) ? v : acc
#define F_PROD(acc, v) acc *= v
#define F_LOWEST (-INFINITY)
#define F_HIGHEST INFINITY
#define I_SUM(acc, v) acc = (int64_t)((uint64_t)acc + (uint64_t)v)
#define I_SUMSQ(acc, v) acc = (int64_t)((uint64_t)acc + (uint64_t)v * (uint64_t)v)
#define I_ABSSUM(acc, v) acc = (int64_t)((uint64_t)acc + (v < 0 ? 0 - (uint64_t)v : (uint64_t)v))
#define I_MAX(acc, v) acc = v > acc ? v : acc
#define I_MIN(acc, v) acc = v < acc ? v : acc
#define I_PROD(acc, v) acc = (int64_t)((uint64_t)acc * (uint64_t)v)
#define I_LOWEST INT64_MIN
#define I_HIGHEST INT64_MAX

/* Inner kept elements are processed in chunks so a pass with few outer rows still splits. */
#define RED_ICHUNK 1024

#define RED_LOOPS(T, A, STEP, INIT)                                                            \
    do {                                                                                       \
        int64_t nchunk = I == 1 ? 1 : (I + RED_ICHUNK - 1) / RED_ICHUNK;                       \
        int64_t tasks = O * nchunk;                                                            \
        int nt = ot_par_threads(threads, O * R * I);                                           \
        if (nt > tasks) nt = (int)(tasks > 0 ? tasks : 1);                                     \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")               \
        for (int64_t t = 0; t < tasks; t++) {                                                  \
            int64_t o = t / nchunk, ch = t % nchunk;                                           \
            if (I == 1) {                                                                      \
                const T *xr = x + o * R;                                                       \
                A acc = INIT;                                                                  \
                for (int64_t r = 0; r < R; r++) {                                              \
                    A v = (A)xr[r];                                                            \
                    STEP(acc, v);                                                              \
                }                                                                              \
                y[o] = acc;                                                                    \
            } else {                                                                           \
                int64_t i0 = ch * RED_ICHUNK, i1 = i0 + RED_ICHUNK < I ? i0 + RED_ICHUNK : I;  \
                A *yr = y + o * I;                                                             \
                for (int64_t i = i0; i < i1; i++) yr[i] = INIT;                                \
                for (int64_t r = 0; r < R; r++) {                                              \
                    const T *xr = x + (o * R + r) * I;                                         \
                    for (int64_t i = i0; i < i1; i++) {                                        \
                        A v = (A)xr[i];                                                        \
                        STEP(yr[i], v);                                                        \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    } while (0)

/* y[o, i] = reduce over r of x[o, r, i] */
#define RED_PASS(NAME, T, A, P)                                                                \
    static void NAME(int kind, const void *xv, void *yv, int64_t O, int64_t R, int64_t I, int threads) { \
        const T *x = (const T *)xv;                                                            \
        A *y = (A *)yv;                                                                        \
        switch (kind) {                                                                        \
        case K_SUM: RED_LOOPS(T, A, P##_SUM, 0); break;                                        \
        case K_SUMSQ: RED_LOOPS(T, A, P##_SUMSQ, 0); break;                                    \
        case K_ABSSUM: RED_LOOPS(T, A, P##_ABSSUM, 0); break;                                  \
        case K_MAX: RED_LOOPS(T, A, P##_MAX, P##_LOWEST); break;                               \
        case K_MIN: RED_LOOPS(T, A, P##_MIN, P##_HIGHEST); break;                              \
        case K_PROD: RED_LOOPS(T, A, P##_PROD, 1); break;                                      \
        default: break;                                                                        \
        }                                                                                      \
    }
RED_PASS(pass_f32, float, double, F)
RED_PASS(pass_f64, double, double, F)
RED_PASS(pass_i8, int8_t, int64_t, I)
RED_PASS(pass_i16, int16_t, int64_t, I)
RED_PASS(pass_i32, int32_t, int64_t, I)
RED_PASS(pass_i64, int64_t, int64_t, I)
RED_PASS(pass_u8, uint8_t, int64_t, I)
RED_PASS(pass_u16, uint16_t, int64_t, I)
RED_PASS(pass_u32, uint32_t, int64_t, I)

/* log-sum-exp, stable: m + log(sum exp(x - m)); tmp holds O*I doubles */
#define LSE_PASS(NAME, T)                                                                         \
    static void NAME(const void *xv, double *y, double *tmp, int64_t O, int64_t R, int64_t I, int threads) { \
        const T *x = (const T *)xv;                                                               \
        int nt = ot_par_threads(threads, 8 * O * R * I);                                          \
        if (nt > O) nt = (int)(O > 0 ? O : 1);                                                    \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")                  \
        for (int64_t o = 0; o < O; o++) {                                                         \
            double *m = y + o * I, *s = tmp + o * I;                                              \
            for (int64_t i = 0; i < I; i++) { m[i] = -INFINITY; s[i] = 0; }                        \
            for (int64_t r = 0; r < R; r++)                                                       \
                for (int64_t i = 0; i < I; i++) { double v = (double)x[(o * R + r) * I + i]; F_MAX(m[i], v); } \
            for (int64_t r = 0; r < R; r++)                                                       \
                for (int64_t i = 0; i < I; i++)                                                   \
                    if (isfinite(m[i])) s[i] += exp((double)x[(o * R + r) * I + i] - m[i]);       \
            for (int64_t i = 0; i < I; i++)                                                       \
                if (isfinite(m[i])) m[i] += log(s[i]);                                            \
        }                                                                                         \
    }
LSE_PASS(lse_f32, float)
LSE_PASS(lse_f64, double)

typedef void (*pass_fn)(int kind, const void *x, void *y, int64_t O, int64_t R, int64_t I, int threads);

static bool pick_pass(octet_dtype dt, pass_fn *fn) {
    switch (dt) {
    case OCTET_FLOAT: *fn = pass_f32; return true;
    case OCTET_DOUBLE: *fn = pass_f64; return true;
    case OCTET_INT8: *fn = pass_i8; return true;
    case OCTET_INT16: *fn = pass_i16; return true;
    case OCTET_INT32: *fn = pass_i32; return true;
    case OCTET_INT64: *fn = pass_i64; return true;
    case OCTET_UINT8: *fn = pass_u8; return true;
    case OCTET_UINT16: *fn = pass_u16; return true;
    case OCTET_UINT32: *fn = pass_u32; return true;
    default: return false;
    }
}

/* Read the axes (attribute or input by opset) into mask[]; *all when none were given. */
static octet_status read_axes(const ot_kernel *k, const red_op *op, const octet_tensor *const *in, int n_in, int rank,
                              bool *mask, bool *none) {
    memset(mask, 0, sizeof(bool) * OCTET_MAX_DIMS);
    *none = true;
    int64_t buf[OCTET_MAX_DIMS * 2];
    const int64_t *axes = NULL;
    int64_t n = 0;
    if (k->opset >= op->axes_input_opset) {
        if (n_in >= 2 && in[1]) {
            const octet_tensor *a = in[1];
            if (a->dtype != OCTET_INT64) return ot_node_err(k, OCTET_ERR_SHAPE, "axes must be int64, got %s", octet_dtype_name(a->dtype));
            if (a->ndim > 1) return ot_node_err(k, OCTET_ERR_SHAPE, "axes must be 1-D, got rank %d", a->ndim);
            n = ot_tensor_numel(a);
            axes = a->data;
        }
    } else {
        if (n_in > 1 && in[1]) return ot_node_err(k, OCTET_ERR_PARSE, "takes axes as an attribute before opset %lld",
                                                  (long long)op->axes_input_opset);
        n = (int64_t)ot_node_attr_ints(k->node, "axes", &axes);
    }
    if (n > rank) return ot_node_err(k, OCTET_ERR_SHAPE, "%lld axes for a rank-%d input", (long long)n, rank);
    for (int64_t i = 0; i < n; i++) buf[i] = axes[i];
    for (int64_t i = 0; i < n; i++) {
        int a;
        OT_TRY(ot_norm_axis(k, buf[i], rank, &a));
        if (rank == 0) continue;
        if (mask[a]) return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is repeated", (long long)buf[i]);
        mask[a] = true;
    }
    *none = n == 0;
    return OCTET_OK;
}

/* acc (O*I values, double or int64) -> output dtype, applying the final transform. */
static void finish(const red_op *op, octet_dtype dt, const void *acc, int64_t n, int64_t count, void *out) {
    if (dt == OCTET_FLOAT || dt == OCTET_DOUBLE) {
        const double *a = acc;
        for (int64_t i = 0; i < n; i++) {
            double v = a[i];
            if (op->final == F_MEAN) v /= (double)count;
            else if (op->final == F_SQRT) v = sqrt(v);
            else if (op->final == F_LOG) v = log(v);
            if (dt == OCTET_FLOAT) ((float *)out)[i] = (float)v;
            else ((double *)out)[i] = v;
        }
        return;
    }
    const int64_t *a = acc;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = a[i];
        if (op->final == F_MEAN) v = count ? v / count : 0;
        else if (op->final == F_SQRT) {
            double r = sqrt((double)v); /* a wrapped (negative) sum of squares gives NaN: write 0 */
            v = r >= 0 && r < 9.2e18 ? (int64_t)r : 0;
        }
        switch (dt) {
        case OCTET_INT8: ((int8_t *)out)[i] = (int8_t)v; break;
        case OCTET_INT16: ((int16_t *)out)[i] = (int16_t)v; break;
        case OCTET_INT32: ((int32_t *)out)[i] = (int32_t)v; break;
        case OCTET_INT64: ((int64_t *)out)[i] = v; break;
        case OCTET_UINT8: ((uint8_t *)out)[i] = (uint8_t)v; break;
        case OCTET_UINT16: ((uint16_t *)out)[i] = (uint16_t)v; break;
        case OCTET_UINT32: ((uint32_t *)out)[i] = (uint32_t)v; break;
        default: break;
        }
    }
}

/* An empty reduction gives the identity of the op (ONNX 18): 0, 1, the lowest / highest value. */
static void fill_empty(const red_op *op, octet_dtype dt, int64_t n, void *out) {
    int kind = op->first;
    for (int64_t i = 0; i < n; i++) {
        if (ot_dtype_is_float(dt)) {
            double v = kind == K_PROD ? 1 : kind == K_MAX || kind == K_LSE ? -INFINITY : kind == K_MIN ? INFINITY : 0;
            if (op->final == F_MEAN) v = NAN;
            else if (op->final == F_LOG) v = -INFINITY;
            if (dt == OCTET_FLOAT) ((float *)out)[i] = (float)v;
            else ((double *)out)[i] = v;
            continue;
        }
        octet_tensor t = {.dtype = dt, .data = out};
        double lo, hi;
        switch (dt) {
        case OCTET_INT8: lo = INT8_MIN; hi = INT8_MAX; break;
        case OCTET_INT16: lo = INT16_MIN; hi = INT16_MAX; break;
        case OCTET_INT32: lo = INT32_MIN; hi = INT32_MAX; break;
        case OCTET_UINT8: lo = 0; hi = UINT8_MAX; break;
        case OCTET_UINT16: lo = 0; hi = UINT16_MAX; break;
        case OCTET_UINT32: lo = 0; hi = UINT32_MAX; break;
        default: lo = 0; hi = 0; break;
        }
        if (dt == OCTET_INT64) {
            ((int64_t *)out)[i] = kind == K_PROD ? 1 : kind == K_MAX ? INT64_MIN : kind == K_MIN ? INT64_MAX : 0;
            continue;
        }
        ot_tensor_set_f64(&t, i, kind == K_PROD ? 1 : kind == K_MAX ? lo : kind == K_MIN ? hi : 0);
    }
}

static octet_status run_reduce(ot_kernel *k, int which, const octet_tensor *const *in, int n_in, octet_tensor **out,
                               int n_out) {
    const red_op *op = &red_ops[which];
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 2));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    const octet_tensor *x = in[0];
    octet_dtype dt = x->dtype;
    pass_fn pass = NULL;
    if (!pick_pass(dt, &pass) || (op->float_only && dt != OCTET_FLOAT && dt != OCTET_DOUBLE))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s of %s tensors is not supported", op->name, octet_dtype_name(dt));
    int rank = x->ndim;
    bool mask[OCTET_MAX_DIMS], none;
    OT_TRY(read_axes(k, op, in, n_in, rank, mask, &none));
    bool keep = ot_node_attr_int(k->node, "keepdims", 1) != 0;
    if (none) {
        if (ot_node_attr_int(k->node, "noop_with_empty_axes", 0)) return ot_tensor_copy_into(out[0], x);
        for (int d = 0; d < rank; d++) mask[d] = true;
    }
    int64_t odims[OCTET_MAX_DIMS];
    int ond = 0;
    int64_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (mask[d]) {
            count *= x->dims[d];
            if (keep) odims[ond++] = 1;
        } else {
            odims[ond++] = x->dims[d];
        }
    }
    OT_TRY(ot_tensor_alloc(out[0], dt, ond, odims));
    int64_t on = ot_tensor_numel(out[0]);
    if (on == 0) return OCTET_OK;
    if (count == 0) {
        fill_empty(op, dt, on, out[0]->data);
        return OCTET_OK;
    }

    /* groups: drop size-1 dims, merge neighbours with the same mask */
    int ng = 0;
    int64_t gsize[OCTET_MAX_DIMS];
    bool gred[OCTET_MAX_DIMS];
    for (int d = 0; d < rank; d++) {
        if (x->dims[d] == 1) continue;
        if (ng > 0 && gred[ng - 1] == mask[d]) {
            gsize[ng - 1] *= x->dims[d];
        } else {
            gsize[ng] = x->dims[d];
            gred[ng++] = mask[d];
        }
    }
    int last = -1;
    for (int g = 0; g < ng; g++)
        if (gred[g]) last = g;
    if (last < 0) { /* nothing to reduce across: one pass with R = 1 still applies the element transform */
        gsize[0] = ot_tensor_numel(x);
        gred[0] = false;
        gsize[1] = 1;
        gred[1] = true;
        ng = 2;
        last = 1;
    }

    size_t asz = sizeof(double); /* double and int64 accumulators are both 8 bytes */
    void *cur = NULL, *tmp = NULL;
    const void *src = x->data;
    bool first = true;
    octet_status s = OCTET_OK;
    while (last >= 0) {
        int64_t O = 1, I = 1, R = gsize[last];
        for (int g = 0; g < last; g++) O *= gsize[g];
        for (int g = last + 1; g < ng; g++) I *= gsize[g];
        void *dst = ot_malloc((size_t)(O * I) * asz);
        if (!dst) {
            s = ot_node_err(k, OCTET_ERR_NOMEM, "out of memory");
            break;
        }
        int kind = first ? op->first : op->rest;
        if (kind == K_LSE) {
            free(tmp);
            tmp = ot_malloc((size_t)(O * I) * asz);
            if (!tmp) {
                free(dst);
                s = ot_node_err(k, OCTET_ERR_NOMEM, "out of memory");
                break;
            }
            if (first && dt == OCTET_FLOAT) lse_f32(src, dst, tmp, O, R, I, k->threads);
            else lse_f64(src, dst, tmp, O, R, I, k->threads);
        } else if (first) {
            pass(kind, src, dst, O, R, I, k->threads);
        } else if (ot_dtype_is_float(dt)) {
            pass_f64(kind, src, dst, O, R, I, k->threads);
        } else {
            pass_i64(kind, src, dst, O, R, I, k->threads);
        }
        free(cur);
        cur = dst;
        src = cur;
        first = false;
        /* remove the reduced group */
        for (int g = last; g < ng - 1; g++) {
            gsize[g] = gsize[g + 1];
            gred[g] = gred[g + 1];
        }
        ng--;
        int nl = -1;
        for (int g = 0; g < ng; g++)
            if (gred[g]) nl = g;
        last = nl;
    }
    if (s == OCTET_OK) finish(op, dt, cur, on, count, out[0]->data);
    free(cur);
    free(tmp);
    return s;
}

#define RED_RUN(NAME, IDX)                                                                                        \
    static octet_status run_##NAME(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,    \
                                   int n_out) {                                                                   \
        return run_reduce(k, IDX, in, n_in, out, n_out);                                                          \
    }
RED_RUN(sum, R_SUM)
RED_RUN(mean, R_MEAN)
RED_RUN(max, R_MAX)
RED_RUN(min, R_MIN)
RED_RUN(prod, R_PROD)
RED_RUN(l1, R_L1)
RED_RUN(l2, R_L2)
RED_RUN(sumsq, R_SUMSQ)
RED_RUN(logsum, R_LOGSUM)
RED_RUN(lse, R_LSE)

/* ---- ArgMax / ArgMin ---- */

#define ARG_TYPES(X)                                                                                \
    X(OCTET_FLOAT, float, f32) X(OCTET_DOUBLE, double, f64) X(OCTET_INT8, int8_t, i8)                \
    X(OCTET_INT16, int16_t, i16) X(OCTET_INT32, int32_t, i32) X(OCTET_INT64, int64_t, i64)           \
    X(OCTET_UINT8, uint8_t, u8) X(OCTET_UINT16, uint16_t, u16) X(OCTET_UINT32, uint32_t, u32)        \
    X(OCTET_UINT64, uint64_t, u64)

/* First (or last) index of the max (is_min: min) along R of x[O, R, I]. */
#define GEN_ARG(E, T, S)                                                                                 \
    static void arg_##S(const void *xv, int64_t *y, int64_t O, int64_t R, int64_t I, bool is_min, bool last, \
                        int threads) {                                                                   \
        const T *x = (const T *)xv;                                                                      \
        int64_t tasks = O * I;                                                                           \
        int nt = ot_par_threads(threads, tasks * R);                                                     \
        if (nt > tasks) nt = (int)(tasks > 0 ? tasks : 1);                                               \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")                         \
        for (int64_t t = 0; t < tasks; t++) {                                                            \
            int64_t o = t / I, i = t % I;                                                                \
            const T *p = x + o * R * I + i;                                                              \
            T best = p[0];                                                                               \
            int64_t bi = 0;                                                                              \
            for (int64_t r = 1; r < R; r++) {                                                            \
                T v = p[r * I];                                                                          \
                bool better = is_min ? (last ? v <= best : v < best) : (last ? v >= best : v > best);    \
                if (better) { best = v; bi = r; }                                                        \
            }                                                                                            \
            y[t] = bi;                                                                                   \
        }                                                                                                \
    }
ARG_TYPES(GEN_ARG)

static octet_status run_arg(ot_kernel *k, bool is_min, const octet_tensor *const *in, int n_in, octet_tensor **out,
                            int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    const octet_tensor *x = in[0];
    void (*fn)(const void *, int64_t *, int64_t, int64_t, int64_t, bool, bool, int) = NULL;
    switch (x->dtype) {
#define CASE_ARG(E, T, S) case E: fn = arg_##S; break;
        ARG_TYPES(CASE_ARG)
    default:
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s of %s tensors is not supported", k->node->op_type,
                           octet_dtype_name(x->dtype));
    }
    if (x->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1");
    int axis;
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", 0), x->ndim, &axis));
    bool keep = ot_node_attr_int(k->node, "keepdims", 1) != 0;
    bool last = ot_node_attr_int(k->node, "select_last_index", 0) != 0;
    int64_t R = x->dims[axis], O = 1, I = 1;
    for (int d = 0; d < axis; d++) O *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++) I *= x->dims[d];
    int64_t odims[OCTET_MAX_DIMS];
    int ond = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis) odims[ond++] = x->dims[d];
        else if (keep) odims[ond++] = 1;
    }
    if (R == 0 && O * I > 0) return ot_node_err(k, OCTET_ERR_SHAPE, "cannot take %s over an empty axis", k->node->op_type);
    OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, ond, odims));
    if (O * I > 0) fn(x->data, out[0]->data, O, R, I, is_min, last, k->threads);
    return OCTET_OK;
}

static octet_status run_argmax(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_arg(k, false, in, n_in, out, n_out);
}
static octet_status run_argmin(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_arg(k, true, in, n_in, out, n_out);
}

const ot_op_def ot_ops_reduce[] = {
    {"", "ReduceSum", NULL, run_sum, NULL},
    {"", "ReduceMean", NULL, run_mean, NULL},
    {"", "ReduceMax", NULL, run_max, NULL},
    {"", "ReduceMin", NULL, run_min, NULL},
    {"", "ReduceProd", NULL, run_prod, NULL},
    {"", "ReduceL1", NULL, run_l1, NULL},
    {"", "ReduceL2", NULL, run_l2, NULL},
    {"", "ReduceSumSquare", NULL, run_sumsq, NULL},
    {"", "ReduceLogSum", NULL, run_logsum, NULL},
    {"", "ReduceLogSumExp", NULL, run_lse, NULL},
    {"", "ArgMax", NULL, run_argmax, NULL},
    {"", "ArgMin", NULL, run_argmin, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
