/* Op family 'qlinear': the standard ONNX 8-bit integer operators on octet's int8 kernels.
 *
 *   MatMulInteger (10)        int32 Y = (A - a_zp) x (B - b_zp), numpy batching as MatMul
 *   QLinearMatMul (10, 21)    Y = requant((a - a_zp) x (b - b_zp)) with multiplier a_s * b_s[n] / y_s
 *   ConvInteger (10)          int32 Y = conv(X - x_zp, W - w_zp), NCHW, all Conv attributes
 *   QLinearConv (10)          Y = requant(conv(X - x_zp, W - w_zp) + B), NCHW
 *   com.microsoft QLinearConv the same, NHWC when its attribute channels_last is 1
 *
 * Numerics are ONNX Runtime's: exact int32 accumulation, then (8-bit outputs)
 *   y = clamp(round_half_even((float)acc * ((s_x * s_w[m]) / s_y)) + y_zp)     (requant.h)
 * The float multiplier is computed in float32 in that order, as ORT does.
 * (ORT on AVX2 CPUs without VNNI saturates some uint8 x int8 products in int16; octet does not.)
 *
 * Zero points: A's / X's must be a scalar (MatMulInteger also takes a per-row vector whose values
 * are all equal); B's / W's may be per column / per output channel. Scales are float32.
 * Constant weights are packed once in prepare(); otherwise they are packed for each run. */
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "ops/conv_geom.h"
#include "ops/op.h"
#include "ops/qcontrib_internal.h"
#include "util/mem.h"

/* ---- common checks ---- */

static bool is_q8(octet_dtype d) { return d == OCTET_UINT8 || d == OCTET_INT8; }
static bool is_scalar_shape(const octet_tensor *t) { return t->ndim == 0 || (t->ndim == 1 && t->dims[0] == 1); }

static bool input_given(const ot_kernel *k, int i) {
    return i < k->node->n_inputs && k->node->inputs[i] && k->node->inputs[i][0];
}

static octet_status check_q8(const ot_kernel *k, const octet_tensor *t, int idx, const char *name) {
    if (!is_q8(t->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (%s) must be uint8 or int8, got %s", idx, name,
                           octet_dtype_name(t->dtype));
    return OCTET_OK;
}

/* A zero point of the same type as its tensor (t_dtype); NULL means 0. */
static octet_status check_zp_type(const ot_kernel *k, const octet_tensor *zp, octet_dtype t_dtype, int idx,
                                  const char *name) {
    if (zp && zp->dtype != t_dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (%s) is %s but the tensor it belongs to is %s", idx, name,
                           octet_dtype_name(zp->dtype), octet_dtype_name(t_dtype));
    return OCTET_OK;
}

static octet_status scalar_zp(const ot_kernel *k, const octet_tensor *zp, octet_dtype t_dtype, int idx,
                              const char *name, int32_t *out) {
    *out = 0;
    if (!zp) return OCTET_OK;
    OT_TRY(check_zp_type(k, zp, t_dtype, idx, name));
    if (!is_scalar_shape(zp))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (%s) must be a scalar, got %lld values", idx, name,
                           (long long)ot_tensor_numel(zp));
    *out = (int32_t)ot_tensor_get_i64(zp, 0);
    return OCTET_OK;
}

static octet_status scalar_scale(const ot_kernel *k, const octet_tensor *t, int idx, const char *name, float *out) {
    if (t->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (%s) must be float32, got %s", idx, name,
                           octet_dtype_name(t->dtype));
    if (!is_scalar_shape(t))
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (%s) must be a scalar, got %lld values", idx, name,
                           (long long)ot_tensor_numel(t));
    *out = *(const float *)t->data;
    return OCTET_OK;
}

/* int32 copy of an 8-bit tensor's values. */
static int32_t *q8_to_i32(const octet_tensor *t) {
    int64_t n = ot_tensor_numel(t);
    int32_t *v = ot_malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = t->dtype == OCTET_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
    return v;
}

/* ---- MatMulInteger / QLinearMatMul ---- */

typedef struct mm_plan {
    int64_t M, K, N;
    int nb;                                    /* broadcast batch rank */
    int64_t bdims[OCTET_MAX_DIMS], astr[OCTET_MAX_DIMS], bstr[OCTET_MAX_DIMS];   /* strides in matrices */
    int64_t batches, b_mats;                   /* output matrices; matrices stored in B */
    bool a_full;                               /* A holds every batch in order (no broadcasting of A) */
    int yn;
    int64_t ydims[OCTET_MAX_DIMS];
} mm_plan;

/* B's own matrix shape: [K] is [K,1]. */
static void b_matrix_shape(const octet_tensor *B, int64_t *K, int64_t *N, int64_t *mats) {
    *K = B->ndim == 1 ? B->dims[0] : B->dims[B->ndim - 2];
    *N = B->ndim == 1 ? 1 : B->dims[B->ndim - 1];
    *mats = 1;
    for (int i = 0; i < B->ndim - 2; i++) *mats *= B->dims[i];
}

static octet_status mm_plan_make(const ot_kernel *k, const octet_tensor *A, const octet_tensor *B, mm_plan *p) {
    memset(p, 0, sizeof *p);
    char sa[96], sb[96];
    if (A->ndim < 1 || B->ndim < 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "operands must have rank >= 1, got %d and %d", A->ndim, B->ndim);
    p->M = A->ndim == 1 ? 1 : A->dims[A->ndim - 2];
    p->K = A->dims[A->ndim - 1];
    int64_t KB;
    b_matrix_shape(B, &KB, &p->N, &p->b_mats);
    if (p->K != KB)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inner dimensions differ: A is %s, B is %s",
                           ot_shape_str(sa, sizeof sa, A->ndim, A->dims), ot_shape_str(sb, sizeof sb, B->ndim, B->dims));
    int ba = A->ndim > 2 ? A->ndim - 2 : 0, bb = B->ndim > 2 ? B->ndim - 2 : 0;
    p->nb = ba > bb ? ba : bb;
    int64_t acc_a = 1, acc_b = 1;
    for (int i = p->nb - 1; i >= 0; i--) {
        int ia = i - (p->nb - ba), ib = i - (p->nb - bb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "batch dimensions do not broadcast: A is %s, B is %s",
                               ot_shape_str(sa, sizeof sa, A->ndim, A->dims),
                               ot_shape_str(sb, sizeof sb, B->ndim, B->dims));
        p->bdims[i] = da == 1 ? db : da;
        p->astr[i] = da == 1 ? 0 : acc_a;
        p->bstr[i] = db == 1 ? 0 : acc_b;
        acc_a *= da;
        acc_b *= db;
    }
    if (p->M > INT_MAX || p->N > INT_MAX || p->K > INT_MAX / 2)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "matrix dimensions are too large");
    p->batches = 1;
    p->a_full = true;
    for (int i = 0; i < p->nb; i++) {
        p->batches *= p->bdims[i];
        if (p->astr[i] == 0 && p->bdims[i] != 1) p->a_full = false;
    }
    for (int i = 0; i < p->nb; i++) p->ydims[p->yn++] = p->bdims[i];
    if (A->ndim > 1) p->ydims[p->yn++] = p->M;
    if (B->ndim > 1) p->ydims[p->yn++] = p->N;
    if (p->yn > OCTET_MAX_DIMS) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "result rank is too large");
    return OCTET_OK;
}

/* Layout of a B-side quantization parameter (zero point or scale): value n of B matrix ob is
 * v[ob * stride + (count == 1 ? 0 : n)]. As ORT: a scalar, a [N] vector, or B's shape with the
 * K dimension set to 1 ([..., 1, N]). */
typedef struct bq_layout {
    int64_t stride;
    int count;
} bq_layout;

static octet_status bq_layout_of(const ot_kernel *k, const octet_tensor *t, const octet_tensor *B, int idx,
                                 const char *name, bq_layout *l) {
    int64_t K, N, mats;
    b_matrix_shape(B, &K, &N, &mats);
    l->stride = 0;
    l->count = 1;
    if (!t || ot_tensor_numel(t) == 1) return OCTET_OK;
    if (t->ndim == 1 && t->dims[0] == N) {
        l->count = (int)N;
        return OCTET_OK;
    }
    bool ok = B->ndim >= 2 && t->ndim == B->ndim && t->dims[t->ndim - 2] == 1 && t->dims[t->ndim - 1] == N;
    for (int i = 0; ok && i < t->ndim - 2; i++) ok = t->dims[i] == B->dims[i];
    if (!ok) {
        char st[96], sb[96];
        return ot_node_err(k, OCTET_ERR_SHAPE,
                           "input %d (%s) has shape %s; B is %s, so it must be a scalar, [N] or B's shape with K = 1",
                           idx, name, ot_shape_str(st, sizeof st, t->ndim, t->dims),
                           ot_shape_str(sb, sizeof sb, B->ndim, B->dims));
    }
    l->stride = N;
    l->count = (int)N;
    return OCTET_OK;
}

typedef struct mm_state {
    const void *b_data, *bzp_data;    /* the constants the packs were made from */
    int64_t n_packs;
    ot_qgemm_packed **packs;
} mm_state;

static void free_packs(ot_qgemm_packed **packs, int64_t n) {
    if (!packs) return;
    for (int64_t i = 0; i < n; i++) ot_qgemm_packed_free(packs[i]);
    free(packs);
}

static void mm_release(void *state) {
    mm_state *st = state;
    if (!st) return;
    free_packs(st->packs, st->n_packs);
    free(st);
}

/* Pack every matrix of B. */
static octet_status mm_pack(const ot_kernel *k, const octet_tensor *B, const octet_tensor *bzp, int bzp_idx,
                            int32_t za_hint, bool a_signed_hint, ot_qgemm_packed ***out, int64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    int64_t K, N, mats;
    b_matrix_shape(B, &K, &N, &mats);
    if (K > INT_MAX / 2 || N > INT_MAX) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "B is too large");
    bq_layout zl;
    OT_TRY(check_zp_type(k, bzp, B->dtype, bzp_idx, "b_zero_point"));
    OT_TRY(bq_layout_of(k, bzp, B, bzp_idx, "b_zero_point", &zl));
    int32_t *zb = bzp ? q8_to_i32(bzp) : NULL;
    ot_qgemm_packed **packs = ot_calloc((size_t)(mats > 0 ? mats : 1), sizeof *packs);
    if (!packs || (bzp && !zb)) {
        free(zb);
        free(packs);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    octet_status s = OCTET_OK;
    size_t esz = 1, mat = (size_t)K * (size_t)N;
    for (int64_t i = 0; i < mats && s == OCTET_OK; i++) {
        ot_qgemm_b d = {0};
        d.K = (int)K;
        d.N = (int)N;
        d.b = (const uint8_t *)B->data + (size_t)i * mat * esz;
        d.ldb = N > 0 ? (int)N : 1;
        d.b_signed = B->dtype == OCTET_INT8;
        d.zb = zb ? zb + i * zl.stride : NULL;
        d.zb_count = zl.count;
        d.za_hint = za_hint;
        d.a_signed_hint = a_signed_hint;
        s = ot_qgemm_pack_b(&packs[i], &d);
    }
    free(zb);
    if (s != OCTET_OK) {
        free_packs(packs, mats);
        return s;
    }
    *out = packs;
    *n_out = mats;
    return OCTET_OK;
}

/* prepare for both MatMul ops: pack B when it (and its zero point) are constants. */
static octet_status mm_prepare_common(ot_kernel *k, const octet_tensor *const *consts, int n_in, int azp_idx,
                                      int b_idx, int bzp_idx) {
    const octet_tensor *B = n_in > b_idx ? consts[b_idx] : NULL;
    const octet_tensor *bzp = n_in > bzp_idx ? consts[bzp_idx] : NULL;
    const octet_tensor *azp = n_in > azp_idx ? consts[azp_idx] : NULL;
    if (!B || !is_q8(B->dtype) || B->ndim < 1) return OCTET_OK;
    if (input_given(k, bzp_idx) && !bzp) return OCTET_OK;   /* zero point computed at run time */
    int32_t za = 0;
    bool a_signed = false;
    if (azp && is_q8(azp->dtype) && ot_tensor_numel(azp) >= 1) {
        za = (int32_t)ot_tensor_get_i64(azp, 0);
        a_signed = azp->dtype == OCTET_INT8;
    }
    mm_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = mm_pack(k, B, bzp, bzp_idx, za, a_signed, &st->packs, &st->n_packs);
    if (s != OCTET_OK) {
        free(st);
        /* invalid constants are reported by run(); only running out of memory fails here */
        return s == OCTET_ERR_NOMEM ? s : OCTET_OK;
    }
    st->b_data = B->data;
    st->bzp_data = bzp ? bzp->data : NULL;
    k->state = st;
    return OCTET_OK;
}

typedef struct mm_args {
    const octet_tensor *A, *B, *bzp;
    int bzp_idx;
    int32_t za;
    ot_qgemm_out_type type;
    const float *scale;       /* U8/S8: output multipliers laid out as sl */
    bq_layout sl;
    int32_t zy, lo, hi;
    void *y;
} mm_args;

static octet_status mm_exec(ot_kernel *k, const mm_plan *p, const mm_args *a) {
    if (p->batches == 0 || p->M == 0 || p->N == 0) return OCTET_OK;
    const bool a_signed = a->A->dtype == OCTET_INT8;
    const mm_state *st = k->state;
    ot_qgemm_packed **packs = NULL, **own = NULL;
    int64_t n_own = 0;
    if (st && st->packs && st->b_data == a->B->data && st->bzp_data == (a->bzp ? a->bzp->data : NULL) &&
        st->n_packs == p->b_mats && ot_qgemm_packed_k(st->packs[0]) == p->K &&
        ot_qgemm_packed_n(st->packs[0]) == p->N) {
        packs = st->packs;
    } else {
        OT_TRY(mm_pack(k, a->B, a->bzp, a->bzp_idx, a->za, a_signed, &own, &n_own));
        packs = own;
    }
    const size_t esz = a->type == OT_QGEMM_OUT_S32 ? 4 : 1;
    const size_t amat = (size_t)p->M * (size_t)p->K, ymat = (size_t)p->M * (size_t)p->N * esz;
    const int lda = p->K > 0 ? (int)p->K : 1;
    octet_status s = OCTET_OK;
    ot_qgemm_out o = {0};
    o.type = a->type;
    o.ldc = (int)p->N;
    o.scale_per_col = a->sl.count > 1;
    o.zp = a->zy;
    o.lo = a->lo;
    o.hi = a->hi;
    if (p->b_mats == 1 && p->a_full && p->batches * p->M <= INT_MAX) {
        /* every batch against the one B: a single GEMM over all rows */
        o.c = a->y;
        o.scale = a->scale;
        s = ot_qgemm(packs[0], (int)(p->batches * p->M), a->A->data, lda, a->za, a_signed, &o, k->threads);
    } else {
        int threads = k->threads;
        bool par = threads > 1 && p->batches >= threads && (double)p->M * p->N * p->K < 4e6;
        octet_status fail = OCTET_OK;
#pragma omp parallel for num_threads(threads) if (par) schedule(static)
        for (int64_t bi = 0; bi < p->batches; bi++) {
            int64_t rem = bi, oa = 0, ob = 0;
            for (int i = p->nb - 1; i >= 0; i--) {
                int64_t idx = rem % p->bdims[i];
                rem /= p->bdims[i];
                oa += idx * p->astr[i];
                ob += idx * p->bstr[i];
            }
            ot_qgemm_out ob_out = o;
            ob_out.c = (char *)a->y + (size_t)bi * ymat;
            ob_out.scale = a->scale ? a->scale + ob * a->sl.stride : NULL;
            octet_status r = ot_qgemm(packs[ob], (int)p->M, (const uint8_t *)a->A->data + (size_t)oa * amat, lda,
                                      a->za, a_signed, &ob_out, par ? 1 : threads);
            if (r != OCTET_OK) {
#pragma omp critical(ot_qlinear_mm_fail)
                fail = r;
            }
        }
        if (fail != OCTET_OK) s = ot_node_err(k, fail, "matrix product failed (out of memory?)");
    }
    free_packs(own, n_own);
    return s;
}

/* A's zero point: a scalar, or a per-row vector whose values are all equal. */
static octet_status a_zero_point(const ot_kernel *k, const octet_tensor *zp, const octet_tensor *A, int idx,
                                 int32_t *out) {
    *out = 0;
    if (!zp) return OCTET_OK;
    OT_TRY(check_zp_type(k, zp, A->dtype, idx, "a_zero_point"));
    int64_t n = ot_tensor_numel(zp);
    if (n < 1 || zp->ndim > 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "a_zero_point must be a scalar or a 1-D vector, got rank %d with %lld "
                           "values", zp->ndim, (long long)n);
    *out = (int32_t)ot_tensor_get_i64(zp, 0);
    for (int64_t i = 1; i < n; i++)
        if (ot_tensor_get_i64(zp, i) != *out)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED,
                               "a per-row a_zero_point with different values is not supported (only a scalar)");
    return OCTET_OK;
}

static octet_status mmi_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return mm_prepare_common(k, consts, n_in, 2, 1, 3);
}

static octet_status mmi_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 4));
    const octet_tensor *A = in[0], *B = in[1], *azp = n_in > 2 ? in[2] : NULL, *bzp = n_in > 3 ? in[3] : NULL;
    OT_TRY(check_q8(k, A, 0, "A"));
    OT_TRY(check_q8(k, B, 1, "B"));
    mm_plan p;
    OT_TRY(mm_plan_make(k, A, B, &p));
    mm_args a = {0};
    a.A = A;
    a.B = B;
    a.bzp = bzp;
    a.bzp_idx = 3;
    OT_TRY(a_zero_point(k, azp, A, 2, &a.za));
    OT_TRY(check_zp_type(k, bzp, B->dtype, 3, "b_zero_point"));
    bq_layout zl;
    OT_TRY(bq_layout_of(k, bzp, B, 3, "b_zero_point", &zl));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_INT32, p.yn, p.ydims));
    a.type = OT_QGEMM_OUT_S32;
    a.y = out[0]->data;
    return mm_exec(k, &p, &a);
}

/* QLinearMatMul inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point. */
static octet_status qmm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return mm_prepare_common(k, consts, n_in, 2, 3, 5);
}

static octet_status qmm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 8, 8));
    const octet_tensor *A = in[0], *B = in[3], *bsc = in[4], *bzp = in[5], *yzp = in[7];
    OT_TRY(check_q8(k, A, 0, "a"));
    OT_TRY(check_q8(k, B, 3, "b"));
    float sa, sy;
    OT_TRY(scalar_scale(k, in[1], 1, "a_scale", &sa));
    OT_TRY(scalar_scale(k, in[6], 6, "y_scale", &sy));
    if (bsc->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input 4 (b_scale) must be float32, got %s",
                           octet_dtype_name(bsc->dtype));
    if (!is_q8(yzp->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input 7 (y_zero_point) must be uint8 or int8, got %s",
                           octet_dtype_name(yzp->dtype));
    mm_plan p;
    OT_TRY(mm_plan_make(k, A, B, &p));
    mm_args a = {0};
    a.A = A;
    a.B = B;
    a.bzp = bzp;
    a.bzp_idx = 5;
    OT_TRY(scalar_zp(k, in[2], A->dtype, 2, "a_zero_point", &a.za));
    OT_TRY(scalar_zp(k, yzp, yzp->dtype, 7, "y_zero_point", &a.zy));
    OT_TRY(check_zp_type(k, bzp, B->dtype, 5, "b_zero_point"));
    bq_layout zl;
    OT_TRY(bq_layout_of(k, bzp, B, 5, "b_zero_point", &zl));
    OT_TRY(bq_layout_of(k, bsc, B, 4, "b_scale", &a.sl));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], yzp->dtype, p.yn, p.ydims));
    a.type = yzp->dtype == OCTET_INT8 ? OT_QGEMM_OUT_S8 : OT_QGEMM_OUT_U8;
    a.lo = qc_qmin(yzp->dtype);
    a.hi = qc_qmax(yzp->dtype);
    a.y = out[0]->data;
    /* output multipliers, laid out like b_scale */
    int64_t ns = ot_tensor_numel(bsc);
    float *sc = ot_malloc((size_t)(ns > 0 ? ns : 1) * sizeof *sc);
    if (!sc) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    const float *bs = bsc->data;
    for (int64_t i = 0; i < ns; i++) sc[i] = ot_requant_scale(sa, bs[i], sy);
    a.scale = sc;
    octet_status s = mm_exec(k, &p, &a);
    free(sc);
    return s;
}

/* ---- ConvInteger / QLinearConv ----
 *
 * QLinearConv inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
 * ConvInteger inputs: x, w, x_zero_point, w_zero_point.
 *
 * Fused activation (octet-internal): a graph pass that folds a following Relu / Clip into a
 * QLinearConv sets the int attributes "octet_act_lo" and "octet_act_hi", bounds already in the
 * output's quantized domain (e.g. Relu: lo = y_zero_point). The requantized output is clamped to
 * [max(lo, type min), min(hi, type max)] in the qgemm / dwconv epilogue. Either may be given alone. */

typedef struct qc_params {
    ot_qconv_desc d;
    int32_t *zw;       /* owned copies behind d.zw, d.scale */
    float *scale;
} qc_params;

static void qc_params_free(qc_params *p) {
    free(p->zw);
    free(p->scale);
}

/* Everything but X: index of each input by op. */
typedef struct qc_idx {
    int xs, xzp, w, ws, wzp, ys, yzp, b;   /* -1 = the op has no such input */
} qc_idx;

static const qc_idx QLINEAR_IDX = {1, 2, 3, 4, 5, 6, 7, 8};
static const qc_idx CONVINT_IDX = {-1, 2, 1, -1, 3, -1, -1, -1};

static const octet_tensor *inp(const octet_tensor *const *in, int n_in, int i) {
    return i >= 0 && i < n_in ? in[i] : NULL;
}

/* com.microsoft QLinearConv's channels_last: X and Y are [N, spatial..., C] (ONNX Runtime's NHWC form). */
static bool qc_channels_last(const ot_kernel *k) {
    return !ot_domain_is_onnx(k->node->domain) && ot_node_attr_int(k->node, "channels_last", 0) != 0;
}

/* Strides and dilations all 1 (attributes absent or 1): the kernel may then use Winograd for 3x3. */
static bool qc_unit_stride(const ot_kernel *k) {
    const char *names[2] = {"strides", "dilations"};
    for (int a = 0; a < 2; a++) {
        const int64_t *v;
        size_t n = ot_node_attr_ints(k->node, names[a], &v);
        for (size_t i = 0; i < n; i++)
            if (v[i] != 1) return false;
    }
    return true;
}

/* Check the constant-side inputs and build the kernel descriptor; x_dtype is X's type. */
static octet_status qc_read_impl(const ot_kernel *k, bool qlinear, const octet_tensor *const *in, int n_in,
                                 octet_dtype x_dtype, int64_t group, qc_params *p) {
    const qc_idx ix = qlinear ? QLINEAR_IDX : CONVINT_IDX;
    const octet_tensor *w = inp(in, n_in, ix.w), *xzp = inp(in, n_in, ix.xzp), *wzp = inp(in, n_in, ix.wzp);
    const octet_tensor *bias = inp(in, n_in, ix.b);
    if (!is_q8(x_dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input 0 (x) must be uint8 or int8, got %s",
                           octet_dtype_name(x_dtype));
    OT_TRY(check_q8(k, w, ix.w, "w"));
    if (w->ndim < 3 || w->ndim > 2 + OT_QCONV_MAX_SP)
        return ot_node_err(k, OCTET_ERR_SHAPE, "weight W must have rank 3 to %d, got %d", 2 + OT_QCONV_MAX_SP, w->ndim);
    int64_t M = w->dims[0], C = w->dims[1] * group, T = 1;
    for (int i = 2; i < w->ndim; i++) T *= w->dims[i];
    if (M < 1 || M % group != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "output channels %lld are not a positive multiple of group %lld",
                           (long long)M, (long long)group);
    if (M > INT_MAX || C > INT_MAX || T > INT_MAX / 2 || (C / group) * T > INT_MAX / 2)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "weights are too large");
    ot_qconv_desc *d = &p->d;
    d->nsp = w->ndim - 2;
    d->C = (int)C;
    d->M = (int)M;
    d->G = (int)group;
    for (int i = 0; i < d->nsp; i++) {
        if (w->dims[2 + i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel dimension %d is empty", i);
        d->k[i] = (int)w->dims[2 + i];
    }
    d->w = w->data;
    d->w_signed = w->dtype == OCTET_INT8;
    d->channels_last = qc_channels_last(k);
    d->unit_stride = qc_unit_stride(k);
    d->x_signed = x_dtype == OCTET_INT8;
    OT_TRY(scalar_zp(k, xzp, x_dtype, ix.xzp, "x_zero_point", &d->zx));
    if (wzp) {
        OT_TRY(check_zp_type(k, wzp, w->dtype, ix.wzp, "w_zero_point"));
        int64_t n = ot_tensor_numel(wzp);
        if (!(n == 1 && wzp->ndim <= 1) && !(wzp->ndim == 1 && n == M))
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (w_zero_point) must be a scalar or have %lld values, got "
                               "rank %d with %lld", ix.wzp, (long long)M, wzp->ndim, (long long)n);
        p->zw = q8_to_i32(wzp);
        if (!p->zw) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        d->zw = p->zw;
        d->zw_count = (int)n;
    }
    if (bias) {
        if (bias->dtype != OCTET_INT32)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (B) must be int32, got %s", ix.b,
                               octet_dtype_name(bias->dtype));
        if (bias->ndim != 1 || bias->dims[0] != M)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (B) must have shape [%lld], got rank %d with %lld values",
                               ix.b, (long long)M, bias->ndim, (long long)ot_tensor_numel(bias));
        d->bias = bias->data;
    }
    if (!qlinear) {
        d->out_type = OT_QGEMM_OUT_S32;
        return OCTET_OK;
    }
    const octet_tensor *wsc = in[ix.ws], *yzp = in[ix.yzp];
    float sx, sy;
    OT_TRY(scalar_scale(k, in[ix.xs], ix.xs, "x_scale", &sx));
    OT_TRY(scalar_scale(k, in[ix.ys], ix.ys, "y_scale", &sy));
    if (wsc->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (w_scale) must be float32, got %s", ix.ws,
                           octet_dtype_name(wsc->dtype));
    int64_t ns = ot_tensor_numel(wsc);
    if (!(ns == 1 && wsc->ndim <= 1) && !(wsc->ndim == 1 && ns == M))
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (w_scale) must be a scalar or have %lld values, got rank %d "
                           "with %lld", ix.ws, (long long)M, wsc->ndim, (long long)ns);
    if (!is_q8(yzp->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d (y_zero_point) must be uint8 or int8, got %s", ix.yzp,
                           octet_dtype_name(yzp->dtype));
    OT_TRY(scalar_zp(k, yzp, yzp->dtype, ix.yzp, "y_zero_point", &d->zy));
    p->scale = ot_malloc((size_t)ns * sizeof *p->scale);
    if (!p->scale) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    const float *ws = wsc->data;
    for (int64_t i = 0; i < ns; i++) p->scale[i] = ot_requant_scale(sx, ws[i], sy);
    d->scale = p->scale;
    d->scale_count = (int)ns;
    d->out_type = yzp->dtype == OCTET_INT8 ? OT_QGEMM_OUT_S8 : OT_QGEMM_OUT_U8;
    return qc_act_bounds(k, yzp->dtype, &d->lo, &d->hi);
}

octet_status qc_act_bounds(const ot_kernel *k, octet_dtype yt, int32_t *lo, int32_t *hi) {
    *lo = qc_qmin(yt);
    *hi = qc_qmax(yt);
    /* fused activation bounds (see the comment above) */
    if (ot_node_attr(k->node, "octet_act_lo")) {
        int64_t v = ot_node_attr_int(k->node, "octet_act_lo", *lo);
        if (v > *lo) *lo = v > *hi ? *hi + 1 : (int32_t)v;
    }
    if (ot_node_attr(k->node, "octet_act_hi")) {
        int64_t v = ot_node_attr_int(k->node, "octet_act_hi", *hi);
        if (v < *hi) *hi = v < qc_qmin(yt) ? qc_qmin(yt) - 1 : (int32_t)v;
    }
    if (*lo > *hi)
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "fused activation range octet_act_lo..octet_act_hi is empty");
    return OCTET_OK;
}

/* qc_read_impl, with p's buffers freed on failure (p is always safe to qc_params_free). */
static octet_status qc_read(const ot_kernel *k, bool qlinear, const octet_tensor *const *in, int n_in,
                            octet_dtype x_dtype, int64_t group, qc_params *p) {
    memset(p, 0, sizeof *p);
    octet_status s = qc_read_impl(k, qlinear, in, n_in, x_dtype, group, p);
    if (s != OCTET_OK) {
        qc_params_free(p);
        memset(p, 0, sizeof *p);
    }
    return s;
}

typedef struct qc_state {
    ot_conv_attrs a;
    ot_qconv *qc;                 /* packed from constants, or NULL */
    octet_dtype x_dtype;          /* X's type it was packed for */
    const void *src[9];           /* data of the inputs it was packed from (NULL: omitted) */
} qc_state;

static void qc_release(void *state) {
    qc_state *st = state;
    if (!st) return;
    ot_qconv_free(st->qc);
    free(st);
}

static octet_status qc_prepare_common(ot_kernel *k, const octet_tensor *const *consts, int n_in, bool qlinear) {
    qc_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = ot_conv_attrs_parse(k, &st->a);
    if (s != OCTET_OK) {
        free(st);
        return s;
    }
    k->state = st;
    /* pack only when every input but X is a constant (or omitted) */
    for (int i = 1; i < n_in && i < 9; i++)
        if (input_given(k, i) && !consts[i]) return OCTET_OK;
    const qc_idx ix = qlinear ? QLINEAR_IDX : CONVINT_IDX;
    if (n_in <= ix.w || (qlinear && n_in < 8)) return OCTET_OK;
    for (int i = 1; i < (qlinear ? 8 : 2); i++)
        if (!consts[i]) return OCTET_OK;   /* a required input is missing: run() says so */
    /* X's type: that of its zero point, else (ConvInteger without one) uint8, re-packed if wrong */
    const octet_tensor *xzp = inp(consts, n_in, ix.xzp);
    octet_dtype xt = xzp ? xzp->dtype : OCTET_UINT8;
    qc_params p;
    s = qc_read(k, qlinear, consts, n_in, xt, st->a.group, &p);
    if (s == OCTET_OK) s = ot_qconv_create(&st->qc, &p.d, ot_kernels_get()->isa);
    qc_params_free(&p);
    if (s != OCTET_OK) return s == OCTET_ERR_NOMEM ? s : OCTET_OK;   /* run() reports bad constants */
    st->x_dtype = xt;
    for (int i = 1; i < n_in && i < 9; i++) st->src[i] = consts[i] ? consts[i]->data : NULL;
    return OCTET_OK;
}

static octet_status qc_run_common(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  bool qlinear) {
    if (qlinear)
        OT_TRY(ot_check_inputs(k, in, n_in, 8, 9));
    else
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 4));
    const qc_idx ix = qlinear ? QLINEAR_IDX : CONVINT_IDX;
    const qc_state *st = k->state;
    ot_conv_attrs local;
    const ot_conv_attrs *a = st ? &st->a : NULL;
    if (!a) {
        OT_TRY(ot_conv_attrs_parse(k, &local));
        a = &local;
    }
    const octet_tensor *x = in[0], *w = in[ix.w];
    OT_TRY(check_q8(k, x, 0, "x"));
    OT_TRY(check_q8(k, w, ix.w, "w"));
    ot_conv_shape s;
    const bool cl = qc_channels_last(k);
    OT_TRY(ot_conv_shape_resolve(k, a, x->ndim, x->dims, cl, w->ndim, w->dims, OT_QCONV_MAX_SP, &s));

    /* the prepared kernel, if it was made from these very inputs */
    const ot_qconv *qc = NULL;
    if (st && st->qc && st->x_dtype == x->dtype) {
        qc = st->qc;
        for (int i = 1; i < n_in && i < 9 && qc; i++)
            if (st->src[i] != (in[i] ? in[i]->data : NULL)) qc = NULL;
    }
    /* (a prepared kernel was made from these constants by the same qc_read: they are valid) */
    ot_qconv *own = NULL;
    if (!qc) {
        qc_params p;
        OT_TRY(qc_read(k, qlinear, in, n_in, x->dtype, a->group, &p));
        octet_status cs = ot_qconv_create(&own, &p.d, ot_kernels_get()->isa);
        qc_params_free(&p);
        if (cs != OCTET_OK) return cs;
        qc = own;
    }
    octet_status rs = OCTET_OK;
    octet_dtype yt = !qlinear ? OCTET_INT32 : in[ix.yzp]->dtype;
    if (out[0]) {
        int64_t dims[2 + OT_CONV_MAX_SP] = {s.N};
        dims[cl ? 1 + s.nsp : 1] = s.M;
        for (int i = 0; i < s.nsp; i++) dims[(cl ? 1 : 2) + i] = s.out[i];
        rs = ot_tensor_alloc(out[0], yt, 2 + s.nsp, dims);
        if (rs == OCTET_OK && ot_tensor_numel(out[0]) > 0) {
            ot_qconv_geom g = {0};
            g.N = (int)s.N;
            for (int i = 0; i < s.nsp; i++) {
                g.in[i] = (int)s.in[i];
                g.out[i] = (int)s.out[i];
                g.s[i] = (int)s.s[i];
                g.d[i] = (int)s.d[i];
                g.p[i] = (int)s.pb[i];
            }
            rs = ot_qconv_run(qc, &g, x->data, out[0]->data, k->threads);
        }
    }
    ot_qconv_free(own);
    return rs;
}

static octet_status convint_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return qc_prepare_common(k, consts, n_in, false);
}
static octet_status convint_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    return qc_run_common(k, in, n_in, out, false);
}
static octet_status qlinearconv_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return qc_prepare_common(k, consts, n_in, true);
}
static octet_status qlinearconv_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                    int n_out) {
    (void)n_out;
    return qc_run_common(k, in, n_in, out, true);
}

const ot_op_def ot_ops_qlinear[] = {
    {"", "MatMulInteger", mmi_prepare, mmi_run, mm_release},
    {"", "QLinearMatMul", qmm_prepare, qmm_run, mm_release},
    {"", "ConvInteger", convint_prepare, convint_run, qc_release},
    {"", "QLinearConv", qlinearconv_prepare, qlinearconv_run, qc_release},
    /* ONNX Runtime's NHWC form (attribute channels_last), made by the int8 layout pass */
    {"com.microsoft", "QLinearConv", qlinearconv_prepare, qlinearconv_run, qc_release},
    {NULL, NULL, NULL, NULL, NULL},
};
