/* Elementwise com.microsoft int8 ops, as ONNX Runtime computes them on x86:
 *   QLinearAdd, QLinearMul   (MLAS qladd / qlmul; numpy broadcasting)
 *   QLinearSigmoid, QLinearLeakyRelu   (a 256-entry table: dequantize, f, QuantizeLinear)
 *   QLinearConcat   (a copy when scale and zero point equal the output's, else a requantizing table)
 *   QLinearSoftmax   (ORT's exp table and integer-free float pipeline, quirks included) */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant_vec.h"
#include "ops/broadcast.h"
#include "ops/qcontrib_internal.h"
#include "util/mem.h"

static bool input_given(const ot_kernel *k, int i) {
    return i < k->node->n_inputs && k->node->inputs[i] && k->node->inputs[i][0];
}

static inline int32_t load_q(const char *p, int64_t i, octet_dtype dt) {
    switch (dt) {
    case OCTET_INT8: return ((const int8_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

static inline void store_q(char *p, int64_t i, octet_dtype dt, int32_t v) {
    switch (dt) {
    case OCTET_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    default: ((uint8_t *)p)[i] = (uint8_t)v; break;
    }
}

/* ---------------- QLinearAdd / QLinearMul ---------------- */

typedef struct bin_ctx {
    bool mul;
    octet_dtype dt;
    bool a_scalar, b_scalar;   /* the whole tensor has one element (ORT's scalar functors) */
    bool fma, avx2;
    float sa, sb, sc;
    int32_t za, zb, zc, lo, hi;
    float r_ac, r_bc;          /* Add: sa / sc, sb / sc */
    float fixed_ab, fixed_ba;  /* Add: zc - (r_x * zx + r_y * zy) for (x, y) = (A, B) and (B, A) */
    float ratio;               /* Mul: sa * sb / sc */
} bin_ctx;

/* ORT hands MLAS the operand that is walked as "A" and a repeated one as "B" (swapping them when its
 * first input is the repeated one); the AVX2 kernel then computes, with fused multiply-adds,
 *     v = fma(x, r_x, fma(y, r_y, zc - fma(r_x, zx, r_y * zy)))
 * (the fixed part's a*b + c*d is contracted to one FMA by the compiler). The SSE2 kernel (CPUs without
 * AVX2) rounds every step: (fixed + x*r_x) + y*r_y, or (fixed + y0*r_y) + x*r_x for a repeated y. */
static void add_span(void *vctx, int64_t n, char *const *p, const int64_t *s) {
    const bin_ctx *c = vctx;
    char *out = p[0];
    bool a_rep = c->a_scalar || (!c->b_scalar && s[1] == 0);
    bool b_rep = !a_rep && (c->b_scalar || s[2] == 0);
    /* x: the operand MLAS walks; y: the other one */
    const char *xp = a_rep ? p[2] : p[1], *yp = a_rep ? p[1] : p[2];
    int64_t sx = a_rep ? s[2] : s[1], sy = a_rep ? s[1] : s[2];
    float rx = a_rep ? c->r_bc : c->r_ac, ry = a_rep ? c->r_ac : c->r_bc;
    float fixed = a_rep ? c->fixed_ba : c->fixed_ab;
    bool sgn = c->dt == OCTET_INT8;
    if (c->fma) {
        if (c->avx2 && sx == 1) {
            qc_add_fma_avx2(xp, yp, sy, n, sgn, rx, ry, fixed, out);
            return;
        }
        for (int64_t i = 0; i < n; i++) {
            float x = (float)load_q(xp, i * sx, c->dt), y = (float)load_q(yp, i * sy, c->dt);
            store_q(out, i, c->dt, qc_cvt_sat(fmaf(x, rx, fmaf(y, ry, fixed)), c->lo, c->hi));
        }
        return;
    }
    bool y_rep = a_rep || b_rep;
    for (int64_t i = 0; i < n; i++) {
        float x = (float)load_q(xp, i * sx, c->dt), y = (float)load_q(yp, i * sy, c->dt);
        float v = y_rep ? (fixed + y * ry) + x * rx : (fixed + x * rx) + y * ry;
        store_q(out, i, c->dt, qc_cvt_sat(v, c->lo, c->hi));
    }
}

/* MLAS qlmul (x86): the exact integer product (a-za)*(b-zb), times (sa*sb/sc), plus zc, each step
 * rounded to float (no fusion), then round half to even and saturate. Symmetric in A and B. */
static void mul_span(void *vctx, int64_t n, char *const *p, const int64_t *s) {
    const bin_ctx *c = vctx;
    if (c->avx2) {
        qc_mul_avx2(p[1], s[1], p[2], s[2], n, c->dt == OCTET_INT8, c->za, c->zb, c->ratio, (float)c->zc, p[0]);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t prod = (load_q(p[1], i * s[1], c->dt) - c->za) * (load_q(p[2], i * s[2], c->dt) - c->zb);
        float v = (float)prod * c->ratio;
        v = v + (float)c->zc;
        store_q(p[0], i, c->dt, qc_cvt_sat(v, c->lo, c->hi));
    }
}

/* A full tensor [N, ..., C] and a per-image channel vector ([N or 1, 1, ..., 1, C], the squeeze-excite
 * gate of a channels-last chain): the broadcast walk would make one span of C elements per pixel.
 * Instead the vector is repeated into a row of several pixels, and each span covers that many -- the
 * same element pairs in the same roles, so the same results. The vector's side (1: A, 2: B) or 0. */
#define ROW_BYTES 1024
static int channel_vector(const octet_tensor *a, const octet_tensor *b, int nd, const int64_t *dims, int64_t *per_img) {
    const int64_t C = dims[nd - 1];
    if (nd < 3 || C < 2 || C > ROW_BYTES / 2) return 0;
    for (int side = 1; side <= 2; side++) {
        const octet_tensor *full = side == 1 ? b : a, *vec = side == 1 ? a : b;
        if (full->ndim != nd || vec->ndim > nd || vec->ndim < 1 || vec->dims[vec->ndim - 1] != C) continue;
        bool ok = true;
        for (int i = 0; i < nd && ok; i++) ok = full->dims[i] == dims[i];
        const int off = nd - vec->ndim;
        for (int i = 0; i < vec->ndim - 1 && ok; i++) ok = vec->dims[i] == 1 || (i + off == 0 && vec->dims[i] == dims[0]);
        if (!ok) continue;
        *per_img = vec->ndim == nd && vec->dims[0] == dims[0] && dims[0] > 1;
        return side;
    }
    return 0;
}

static void channel_rows(const ot_kernel *k, int side, bool per_img, int64_t N, int64_t C, int64_t total, size_t es,
                         void *out, const void *full, const void *vec, ot_bcast_fn fn, void *ctx) {
    const int64_t reps = ROW_BYTES / (C * (int64_t)es), imgs = per_img ? N : 1, pix = total / (imgs * C);
    const int64_t chunks = (pix + reps - 1) / reps;
    char row[ROW_BYTES];
    for (int64_t n = 0; n < imgs; n++) {
        for (int64_t r = 0; r < reps; r++) memcpy(row + r * C * es, (const char *)vec + n * C * es, (size_t)C * es);
        const int T = ot_par_threads(k->threads, pix * C);
#pragma omp parallel for num_threads(T) if (T > 1) schedule(static)
        for (int64_t ch = 0; ch < chunks; ch++) {
            const int64_t p0 = ch * reps, np = pix - p0 < reps ? pix - p0 : reps;
            const size_t off = (size_t)((n * pix + p0) * C) * es;
            char *p[3] = {(char *)out + off, NULL, NULL};
            p[side] = row;
            p[3 - side] = (char *)full + off;
            fn(ctx, np * C, p, (const int64_t[]){1, 1, 1});
        }
    }
}

static octet_status binary_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                               bool mul) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 8));
    if (n_in < 7 || !in[3] || !in[4] || !in[6])
        return ot_node_err(k, OCTET_ERR_PARSE, "needs A, A_scale, B, B_scale and C_scale");
    const octet_tensor *a = in[0], *b = in[3];
    octet_dtype dt = a->dtype;
    if (!qc_is_q8(dt))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input A must be uint8 or int8, got %s", octet_dtype_name(dt));
    if (b->dtype != dt)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inputs A and B must have the same type (%s vs %s)",
                           octet_dtype_name(dt), octet_dtype_name(b->dtype));
    bin_ctx c = {.mul = mul, .dt = dt, .lo = qc_qmin(dt), .hi = qc_qmax(dt)};
    OT_TRY(qc_scale(k, in[1], 1, &c.sa));
    OT_TRY(qc_zero_point(k, in[2], 2, dt, &c.za));
    OT_TRY(qc_scale(k, in[4], 4, &c.sb));
    OT_TRY(qc_zero_point(k, in[5], 5, dt, &c.zb));
    OT_TRY(qc_scale(k, in[6], 6, &c.sc));
    OT_TRY(qc_zero_point(k, n_in > 7 ? in[7] : NULL, 7, dt, &c.zc));
    if (!out[0]) return OCTET_OK;
    int nd;
    int64_t dims[OCTET_MAX_DIMS];
    OT_TRY(ot_broadcast_shape(k, 2, (const octet_tensor *[]){a, b}, &nd, dims));
    OT_TRY(ot_tensor_alloc(out[0], dt, nd, dims));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, (const octet_tensor *[]){a, b}));
    c.a_scalar = ot_tensor_numel(a) == 1;
    c.b_scalar = !c.a_scalar && ot_tensor_numel(b) == 1;
    c.fma = qc_ort_fma();
    c.avx2 = qc_use_avx2();
    if (mul) {
        c.ratio = c.sa * c.sb / c.sc;
    } else {
        c.r_ac = c.sa / c.sc;
        c.r_bc = c.sb / c.sc;
        float fza = (float)c.za, fzb = (float)c.zb, fzc = (float)c.zc;
        if (c.fma) {
            c.fixed_ab = fzc - fmaf(c.r_ac, fza, c.r_bc * fzb);
            c.fixed_ba = fzc - fmaf(c.r_bc, fzb, c.r_ac * fza);
        } else {
            float pa = c.r_ac * fza, pb = c.r_bc * fzb;
            c.fixed_ab = fzc - (pa + pb);
            c.fixed_ba = fzc - (pb + pa);
        }
    }
    size_t es = octet_dtype_size(dt);
    int64_t per_img = 0;
    int side = channel_vector(a, b, nd, dims, &per_img);
    if (side) {
        channel_rows(k, side, per_img, dims[0], dims[nd - 1], ot_tensor_numel(out[0]), es, out[0]->data,
                     side == 1 ? b->data : a->data, side == 1 ? a->data : b->data, mul ? mul_span : add_span, &c);
        return OCTET_OK;
    }
    ot_bcast_run(&bc, k->threads, out[0]->data, (const void *[]){a->data, b->data}, (size_t[]){es, es, es},
                 mul ? mul_span : add_span, &c);
    return OCTET_OK;
}

octet_status qc_add_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return binary_run(k, in, n_in, out, false);
}

octet_status qc_mul_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return binary_run(k, in, n_in, out, true);
}

/* ---------------- QLinearSigmoid / QLinearLeakyRelu (lookup tables) ---------------- */

typedef struct table_state {
    bool have[2];              /* [0] uint8, [1] int8 */
    uint8_t table[2][256];
} table_state;

void qc_table_release(void *state) { free(state); }

static void leaky_fn(float *v, int n, const void *arg) {
    float alpha = *(const float *)arg;
    for (int i = 0; i < n; i++) v[i] = v[i] >= 0.0f ? v[i] : alpha * v[i];
}

/* The table from inputs (X_scale, X_zp, Y_scale, Y_zp) = t[1..4] for the given signedness. */
static octet_status unary_table(const ot_kernel *k, const octet_tensor *const *t, int n, bool sgn, qc_float_fn f,
                                const void *arg, uint8_t table[256]) {
    octet_dtype dt = sgn ? OCTET_INT8 : OCTET_UINT8;
    float xs, ys;
    int32_t xz, yz;
    OT_TRY(qc_scale(k, t[1], 1, &xs));
    OT_TRY(qc_zero_point(k, n > 2 ? t[2] : NULL, 2, dt, &xz));
    OT_TRY(qc_scale(k, n > 3 ? t[3] : NULL, 3, &ys));
    OT_TRY(qc_zero_point(k, n > 4 ? t[4] : NULL, 4, dt, &yz));
    qc_build_table(xs, xz, ys, yz, sgn, f, arg, table);
    return OCTET_OK;
}

/* Build the tables once when the scales and zero points are constants (or omitted). */
static octet_status unary_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in, qc_float_fn f,
                                  const void *arg) {
    if (n_in < 4 || !consts[1] || !consts[3]) return OCTET_OK;
    for (int i = 2; i <= 4; i += 2)
        if (input_given(k, i) && (i >= n_in || !consts[i])) return OCTET_OK;
    table_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int sgn = 0; sgn < 2; sgn++) {
        /* a zero point given fixes the type; a table that fails validation is left for run() to report */
        octet_status s = unary_table(k, consts, n_in, sgn, f, arg, st->table[sgn]);
        st->have[sgn] = s == OCTET_OK;
    }
    ot_err_clear();
    k->state = st;
    return OCTET_OK;
}

static octet_status unary_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                              qc_float_fn f, const void *arg) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 5));
    const octet_tensor *x = in[0];
    if (!qc_is_q8(x->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input X must be uint8 or int8, got %s",
                           octet_dtype_name(x->dtype));
    bool sgn = x->dtype == OCTET_INT8;
    const table_state *st = k->state;
    uint8_t local[256];
    const uint8_t *table = local;
    if (st && st->have[sgn]) table = st->table[sgn];
    else OT_TRY(unary_table(k, in, n_in, sgn, f, arg, local));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, x->dims));
    qc_apply_table(x->data, out[0]->data, ot_tensor_numel(x), table, k->threads);
    return OCTET_OK;
}

octet_status qc_sigmoid_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return unary_prepare(k, consts, n_in, qc_logistic, NULL);
}

octet_status qc_sigmoid_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return unary_run(k, in, n_in, out, qc_logistic, NULL);
}

octet_status qc_leaky_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    float alpha = ot_node_attr_float(k->node, "alpha", 0.01f);
    return unary_prepare(k, consts, n_in, leaky_fn, &alpha);
}

octet_status qc_leaky_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    float alpha = ot_node_attr_float(k->node, "alpha", 0.01f);
    return unary_run(k, in, n_in, out, leaky_fn, &alpha);
}

/* ---------------- QLinearConcat ---------------- */

octet_status qc_concat_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    if (n_in < 5 || (n_in - 2) % 3 != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "needs Y_scale, Y_zero_point and (X, X_scale, X_zero_point) "
                                               "triples, got %d inputs", n_in);
    OT_TRY(ot_check_inputs(k, in, n_in, n_in, n_in));
    const octet_tensor *yzt = in[1];
    octet_dtype dt = yzt->dtype;
    if (!qc_is_q8(dt))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Y_zero_point must be uint8 or int8, got %s",
                           octet_dtype_name(dt));
    float ys;
    int32_t yz;
    OT_TRY(qc_scale(k, in[0], 0, &ys));
    OT_TRY(qc_zero_point(k, yzt, 1, dt, &yz));
    int n = (n_in - 2) / 3;
    const octet_tensor *x0 = in[2];
    int rank = x0->ndim, axis;
    if (rank < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "cannot concatenate scalars");
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", 0), rank, &axis));
    int64_t dims[OCTET_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int j = 0; j < n; j++) {
        const octet_tensor *x = in[2 + 3 * j];
        if (x->dtype != dt)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d is %s, the output type is %s", 2 + 3 * j,
                               octet_dtype_name(x->dtype), octet_dtype_name(dt));
        if (x->ndim != rank)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d has rank %d, expected %d", 2 + 3 * j, x->ndim, rank);
        for (int d = 0; d < rank; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return ot_node_err(k, OCTET_ERR_SHAPE, "input %d has dim %d = %lld, expected %lld", 2 + 3 * j, d,
                                   (long long)x->dims[d], (long long)x0->dims[d]);
        dims[axis] += x->dims[axis];
    }
    /* per input: copy when its scale and zero point equal the output's (exact float compare, as ORT),
     * else requantize through a table */
    uint8_t(*tables)[256] = ot_malloc((size_t)n * sizeof *tables);
    bool *copy = ot_malloc((size_t)n * sizeof *copy);
    octet_status s = tables && copy ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int j = 0; s == OCTET_OK && j < n; j++) {
        float xs;
        int32_t xz;
        if ((s = qc_scale(k, in[3 + 3 * j], 3 + 3 * j, &xs)) != OCTET_OK) break;
        if ((s = qc_zero_point(k, in[4 + 3 * j], 4 + 3 * j, dt, &xz)) != OCTET_OK) break;
        copy[j] = xs == ys && xz == yz;
        if (!copy[j]) qc_build_table(xs, xz, ys, yz, dt == OCTET_INT8, NULL, NULL, tables[j]);
    }
    if (s == OCTET_OK && out[0]) s = ot_tensor_alloc(out[0], dt, rank, dims);
    if (s == OCTET_OK && out[0] && ot_tensor_numel(out[0]) > 0) {
        int64_t outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= dims[d];
        for (int d = axis + 1; d < rank; d++) inner *= dims[d];
        int64_t out_pitch = dims[axis] * inner, off = 0;
        uint8_t *y = out[0]->data;
        for (int j = 0; j < n; j++) {
            const octet_tensor *x = in[2 + 3 * j];
            int64_t pitch = x->dims[axis] * inner;
            const uint8_t *xd = x->data;
            if (pitch > 0) {
                int T = ot_par_threads(k->threads, outer * pitch);
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
                for (int64_t o = 0; o < outer; o++) {
                    const uint8_t *src = xd + o * pitch;
                    uint8_t *dst = y + o * out_pitch + off;
                    if (copy[j]) memcpy(dst, src, (size_t)pitch);
                    else for (int64_t i = 0; i < pitch; i++) dst[i] = tables[j][src[i]];
                }
            }
            off += pitch;
        }
    }
    free(tables);
    free(copy);
    return s;
}

/* ---------------- QLinearSoftmax ---------------- */

/* ORT's table: table[q] = (float)exp((i - 255 + shift) * x_scale) for the index i of byte q (q = i, or
 * i - 128 for int8), shift = max(0, log(FLT_MAX / D) - 5) / x_scale, in double, so that a row sum of D
 * terms cannot overflow. */
static void softmax_table(float x_scale, int64_t D, bool sgn, float table[256]) {
    double shift = log((double)(FLT_MAX / (float)D));
    shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)x_scale;
    for (int i = 0; i < 256; i++) {
        double e = exp(((double)i - 255.0 + shift) * (double)x_scale);
        table[(uint8_t)(sgn ? i - 128 : i)] = (float)e;
    }
}

typedef struct smax_ctx {
    const void *x;
    void *y;
    int64_t D, inner;          /* reduced length and its stride in elements */
    const float *table;
    float y_scale;             /* floor(1 / Y_scale) */
    int32_t yzp;
    bool sgn;
} smax_ctx;

/* One row (D elements at stride `inner`), as QlinearSoftmaxCPU: the max, a float sum of table values in
 * order, then nearbyint(t * y_scale / sum) + zp saturated above only (min(v, 255) or min(v, 127); the
 * value is never below zp). */
static void smax_row(const smax_ctx *c, int64_t base) {
    if (!c->sgn) {
        const uint8_t *x = (const uint8_t *)c->x + base;
        uint8_t *y = (uint8_t *)c->y + base;
        uint8_t mx = 0;
        for (int64_t i = 0; i < c->D; i++) mx = x[i * c->inner] > mx ? x[i * c->inner] : mx;
        const float *t = c->table + 255 - mx;
        float sum = 0.0f;
        for (int64_t i = 0; i < c->D; i++) sum += t[x[i * c->inner]];
        if (sum == 0.0f) return;   /* ORT leaves the row unwritten; cannot happen for finite scales */
        for (int64_t i = 0; i < c->D; i++) {
            float v = nearbyintf(t[x[i * c->inner]] * c->y_scale / sum);
            /* float -> uint32 as x86-64 compilers emit it: a 64-bit cvttss2si, low 32 bits kept */
            int64_t w = v >= -9.2233720368547758e18f && v < 9.2233720368547758e18f ? (int64_t)v : INT64_MIN;
            uint32_t q = (uint32_t)w + (uint32_t)c->yzp;
            y[i * c->inner] = q > 255 ? 255 : (uint8_t)q;
        }
    } else {
        const int8_t *x = (const int8_t *)c->x + base;
        int8_t *y = (int8_t *)c->y + base;
        int8_t mx = -128;
        for (int64_t i = 0; i < c->D; i++) mx = x[i * c->inner] > mx ? x[i * c->inner] : mx;
        int32_t adj = 127 - mx;
        float sum = 0.0f;
        for (int64_t i = 0; i < c->D; i++) sum += c->table[(uint8_t)(adj + x[i * c->inner])];
        if (sum == 0.0f) return;
        for (int64_t i = 0; i < c->D; i++) {
            float v = nearbyintf(c->table[(uint8_t)(adj + x[i * c->inner])] * c->y_scale / sum);
            int32_t q = (int32_t)((uint32_t)(v >= -2147483648.0f && v < 2147483648.0f ? (int32_t)v : INT32_MIN) +
                                  (uint32_t)c->yzp);
            y[i * c->inner] = (int8_t)(q > 127 ? 127 : q);
        }
    }
}

octet_status qc_softmax_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 5));
    const octet_tensor *x = in[0];
    if (!qc_is_q8(x->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input X must be uint8 or int8, got %s",
                           octet_dtype_name(x->dtype));
    const ot_attr *opa = ot_node_attr(k->node, "opset");
    if (!opa) return ot_node_err(k, OCTET_ERR_PARSE, "attribute 'opset' is required");
    int64_t opset = opa->i;
    bool sgn = x->dtype == OCTET_INT8;
    float xs, ys;
    int32_t yz;
    OT_TRY(qc_scale(k, in[1], 1, &xs));
    if (n_in > 2 && in[2] && in[2]->dtype != x->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "x_zero_point must be %s", octet_dtype_name(x->dtype));
    OT_TRY(qc_scale(k, n_in > 3 ? in[3] : NULL, 3, &ys));
    OT_TRY(qc_zero_point(k, n_in > 4 ? in[4] : NULL, 4, x->dtype, &yz));
    if (x->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 1");
    int axis;
    /* the schema's default axis is -1 for every 'opset' (ORT's opset-dependent default never applies) */
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", -1), x->ndim, &axis));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, x->dims));
    int64_t numel = ot_tensor_numel(x);
    if (numel == 0) return OCTET_OK;
    /* opset < 13: rows of everything from `axis` on; else the one axis (ORT transposes it last) */
    int64_t D = 1, inner = 1;
    if (opset < 13) {
        for (int d = axis; d < x->ndim; d++) D *= x->dims[d];
    } else {
        D = x->dims[axis];
        for (int d = axis + 1; d < x->ndim; d++) inner *= x->dims[d];
    }
    float table[256];
    softmax_table(xs, D, sgn, table);
    smax_ctx c = {x->data, out[0]->data, D, inner, table, floorf(1.0f / ys), yz, sgn};
    int64_t rows = numel / D;
    int T = ot_par_threads(k->threads, numel);
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / inner, i = r % inner;
        smax_row(&c, o * D * inner + i);
    }
    return OCTET_OK;
}
