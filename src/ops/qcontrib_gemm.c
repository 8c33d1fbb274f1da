/* com.microsoft QGemm, MatMulIntegerToFloat and DynamicQuantizeMatMul on octet's qgemm, as ONNX Runtime
 * computes them: the exact int32 accumulation sum (a - za)(b - zb) (+ QGemm's int32 C), then
 *   QGemm, float out:      (float)acc * (alpha * a_scale * b_scale[n])
 *   QGemm, quantized out:  requantize with (alpha * a_scale * b_scale[n]) / y_scale, round half even, + zp
 *   MatMulIntegerToFloat:  (float)acc * (a_scale * b_scale[n]) + bias[n]
 *   DynamicQuantizeMatMul: A quantized first with DynamicQuantizeLinear's parameters, then as above.
 * Constant B is packed once in prepare(); for MatMulIntegerToFloat / DynamicQuantizeMatMul also as an
 * int8 GEMV (kernels/qgemv.h) when its zero point is uniform, which one or two rows of A (batch 1) use:
 * half the bytes of qgemm's int16 panels and the columns split among the threads; same results. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qgemm.h"
#include "kernels/qgemv.h"
#include "kernels/quant_vec.h"
#include "ops/broadcast.h"
#include "ops/qcontrib_internal.h"
#include "quant/qparams.h"
#include "util/mem.h"

/* ORT's IsScalarOr1ElementVector */
static bool is_scalar1(const octet_tensor *t) { return t->ndim == 0 || (t->ndim == 1 && t->dims[0] == 1); }

static bool input_given(const ot_kernel *k, int i) {
    return i < k->node->n_inputs && k->node->inputs[i] && k->node->inputs[i][0];
}

/* A B matrix packed once, and what it was packed from (run() reuses it only for these very tensors). */
typedef struct gemm_state {
    ot_qgemm_packed *pb;
    ot_qgemv_packed *pv;      /* MatMulIntegerToFloat / DynamicQuantizeMatMul: B for a row or two, or NULL */
    const void *b_data, *zb_data, *bias_data;
    octet_dtype b_dtype;
} gemm_state;

void qc_gemm_release(void *state) {
    gemm_state *st = state;
    if (!st) return;
    ot_qgemm_packed_free(st->pb);
    ot_qgemv_free(st->pv);
    free(st);
}

static bool state_matches(const gemm_state *st, const octet_tensor *b, const octet_tensor *zb,
                          const void *bias_data) {
    return st && st->pb && st->b_data == b->data && st->b_dtype == b->dtype &&
           st->zb_data == (zb ? zb->data : NULL) && st->bias_data == bias_data;
}

/* Zero points of B as int32: 1 or N of them. */
/* Zero points of B as int32: 1, or N starting at element `off` (one batch's row of a per-batch tensor). */
static octet_status b_zero_points(const ot_kernel *k, const octet_tensor *zb, int idx, octet_dtype bt, int N,
                                  int64_t off, int32_t **out, int *count) {
    *out = NULL;
    *count = 1;
    if (!zb) return OCTET_OK;
    int64_t nz = ot_tensor_numel(zb) == 1 ? 1 : N;
    if (zb->dtype != bt)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (B's zero point) must be %s, got %s", idx,
                           octet_dtype_name(bt), octet_dtype_name(zb->dtype));
    if (nz != 1 && off + nz > ot_tensor_numel(zb))
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (B's zero point) must have 1 or N=%d elements", idx, N);
    int32_t *z = ot_malloc((size_t)nz * sizeof *z);
    if (!z) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < nz; i++) z[i] = (int32_t)ot_tensor_get_i64(zb, (nz == 1 ? 0 : off) + i);
    *out = z;
    *count = (int)nz;
    return OCTET_OK;
}

static octet_status pack_at(const ot_kernel *k, ot_qgemm_packed **pb, const octet_tensor *b, const void *bdata,
                            int K, int N, bool b_trans, const octet_tensor *zb, int zb_idx, int64_t zb_off,
                            const int32_t *bias, int32_t za, bool a_signed) {
    int32_t *z;
    int nz;
    OT_TRY(b_zero_points(k, zb, zb_idx, b->dtype, N, zb_off, &z, &nz));
    ot_qgemm_b d = {.K = K, .N = N, .b = bdata, .ldb = b_trans ? (K > 0 ? K : 1) : (N > 0 ? N : 1),
                    .b_signed = b->dtype == OCTET_INT8, .b_trans = b_trans, .zb = z, .zb_count = nz,
                    .bias = bias, .za_hint = za, .a_signed_hint = a_signed};
    octet_status s = ot_qgemm_pack_b(pb, &d);
    free(z);
    return s;
}

static octet_status pack(const ot_kernel *k, ot_qgemm_packed **pb, const octet_tensor *b, const void *bdata, int K,
                         int N, bool b_trans, const octet_tensor *zb, int zb_idx, const int32_t *bias, int32_t za,
                         bool a_signed) {
    return pack_at(k, pb, b, bdata, K, N, b_trans, zb, zb_idx, 0, bias, za, a_signed);
}

/* ---------------- QGemm ---------------- */

enum { G_A, G_AS, G_AZ, G_B, G_BS, G_BZ, G_C, G_YS, G_YZ };

typedef struct qgemm_shape {
    int M, N, K;
    bool ta, tb;
    int c_kind;   /* 0 none, 1 per column (numel 1 or N: into the packed bias), 2 [M,1] or [M,N] */
} qgemm_shape;

static octet_status qgemm_shape_of(const ot_kernel *k, const octet_tensor *a, const octet_tensor *b,
                                   const octet_tensor *c, qgemm_shape *s) {
    s->ta = ot_node_attr_int(k->node, "transA", 0) != 0;
    s->tb = ot_node_attr_int(k->node, "transB", 0) != 0;
    if (a->ndim != 2 || b->ndim != 2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "A and B must be 2-D (got ranks %d and %d)", a->ndim, b->ndim);
    int64_t M = s->ta ? a->dims[1] : a->dims[0], K = s->ta ? a->dims[0] : a->dims[1];
    int64_t K2 = s->tb ? b->dims[1] : b->dims[0], N = s->tb ? b->dims[0] : b->dims[1];
    if (K != K2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inner dimensions differ: A gives K=%lld, B gives K=%lld",
                           (long long)K, (long long)K2);
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "matrices too large");
    s->M = (int)M;
    s->N = (int)N;
    s->K = (int)K;
    s->c_kind = 0;
    if (c) {
        if (c->dtype != OCTET_INT32)
            return ot_node_err(k, OCTET_ERR_SHAPE, "C must be int32, got %s", octet_dtype_name(c->dtype));
        int64_t nc = ot_tensor_numel(c);
        bool ok = c->ndim <= 2;
        if (ok && nc == 1) s->c_kind = 1;
        else if (ok && c->ndim >= 1 && c->dims[c->ndim - 1] == N && (c->ndim == 1 || c->dims[0] == 1)) s->c_kind = 1;
        else if (ok && c->ndim == 2 && c->dims[0] == M && (c->dims[1] == 1 || c->dims[1] == N)) s->c_kind = 2;
        else
            return ot_node_err(k, OCTET_ERR_SHAPE, "C does not broadcast to [M, N] = [%lld, %lld]", (long long)M,
                               (long long)N);
    }
    return OCTET_OK;
}

/* C as a per-column bias vector (c_kind 1); *owned is set when a copy had to be made. */
static octet_status bias_vector(const octet_tensor *c, int N, const int32_t **bias, int32_t **owned) {
    *owned = NULL;
    *bias = NULL;
    if (!c) return OCTET_OK;
    if (ot_tensor_numel(c) == N) {
        *bias = c->data;
        return OCTET_OK;
    }
    int32_t *v = ot_malloc((size_t)(N > 0 ? N : 1) * sizeof *v);
    if (!v) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int n = 0; n < N; n++) v[n] = *(const int32_t *)c->data;
    *owned = v;
    *bias = v;
    return OCTET_OK;
}

/* Rows of A up to which QGemm and MatMulIntegerToFloat use the int8 GEMV copy of a constant B instead of
 * qgemm (which reads B as int16 panels: twice the bytes, and one thread for a single row). */
#define GEMV_MAX_ROWS 2

/* The GEMV copy of B ([K, N], or [N, K] when tb) when its zero point is one number; else none. */
static void pack_gemv(gemm_state *st, const octet_tensor *b, const octet_tensor *zb, int K, int N, bool tb) {
    if (K < 1 || N < 1) return;
    for (int64_t i = 1; zb && i < ot_tensor_numel(zb); i++)
        if (ot_tensor_get_i64(zb, i) != ot_tensor_get_i64(zb, 0)) return;
    const uint8_t *src = b->data;
    uint8_t *tmp = NULL;
    if (tb) {
        tmp = ot_malloc((size_t)K * (size_t)N);
        if (!tmp) return;
        for (int n = 0; n < N; n++)
            for (int kk = 0; kk < K; kk++) tmp[(size_t)kk * N + n] = src[(size_t)n * K + kk];
        src = tmp;
    }
    if (ot_qgemv_pack(&st->pv, src, b->dtype == OCTET_INT8, K, N, N, zb ? (int32_t)ot_tensor_get_i64(zb, 0) : 0) !=
        OCTET_OK) {
        ot_err_clear();   /* qgemm serves every row count */
        st->pv = NULL;
    }
    free(tmp);
}

/* acc[M][N] = the int32 products of M (<= GEMV_MAX_ROWS) rows of A with the GEMV copy of B. */
static octet_status gemv_s32(const ot_qgemv_packed *pv, int M, const void *a, bool a_signed, int lda, int32_t za,
                             int32_t *acc) {
    int16_t *a16 = ot_aligned_alloc((size_t)ot_qgemv_kpad(pv) * sizeof *a16);
    if (!a16) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int m = 0; m < M; m++) {
        int32_t corr = ot_qgemv_prep_a_q8(pv, (const uint8_t *)a + (size_t)m * lda, a_signed, za, a16);
        ot_qgemv_s32(pv, a16, corr, acc + (size_t)m * pv->N, 0, pv->nstrips);
    }
    ot_aligned_free(a16);
    return OCTET_OK;
}

octet_status qc_qgemm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    if (n_in <= G_BS || !consts[G_B] || consts[G_B]->ndim != 2 || !qc_is_q8(consts[G_B]->dtype)) return OCTET_OK;
    if (input_given(k, G_BZ) && !consts[G_BZ]) return OCTET_OK;
    const octet_tensor *b = consts[G_B], *zb = n_in > G_BZ ? consts[G_BZ] : NULL;
    const octet_tensor *c = n_in > G_C ? consts[G_C] : NULL;
    if (input_given(k, G_C) && !c) return OCTET_OK;
    bool tb = ot_node_attr_int(k->node, "transB", 0) != 0;
    int64_t K = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K > INT_MAX || N > INT_MAX) return OCTET_OK;
    const int32_t *bias = NULL;
    int32_t *owned = NULL;
    if (c) {
        int64_t nc = ot_tensor_numel(c);
        bool per_col = c->dtype == OCTET_INT32 && c->ndim <= 2 &&
                       (nc == 1 || (c->ndim >= 1 && c->dims[c->ndim - 1] == N && (c->ndim == 1 || c->dims[0] == 1)));
        if (!per_col) return OCTET_OK;   /* [M, 1] / [M, N]: added at run time */
        OT_TRY(bias_vector(c, (int)N, &bias, &owned));
    }
    const octet_tensor *za = n_in > G_AZ ? consts[G_AZ] : NULL;
    int32_t za_hint = za && qc_is_q8(za->dtype) && ot_tensor_numel(za) == 1 ? (int32_t)ot_tensor_get_i64(za, 0) : 0;
    gemm_state *st = ot_calloc(1, sizeof *st);
    if (!st) {
        free(owned);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    octet_status s = pack(k, &st->pb, b, b->data, (int)K, (int)N, tb, zb, G_BZ, bias, za_hint,
                          za ? za->dtype == OCTET_INT8 : false);
    free(owned);
    if (s != OCTET_OK) {   /* leave it to run() to report */
        ot_err_clear();
        free(st);
        return OCTET_OK;
    }
    pack_gemv(st, b, zb, (int)K, (int)N, tb);
    st->b_data = b->data;
    st->b_dtype = b->dtype;
    st->zb_data = zb ? zb->data : NULL;
    st->bias_data = c ? c->data : NULL;
    k->state = st;
    return OCTET_OK;
}

octet_status qc_qgemm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 9));
    if (n_in <= G_BS || !in[G_B] || !in[G_BS]) return ot_node_err(k, OCTET_ERR_PARSE, "needs A, a_scale, B and b_scale");
    const octet_tensor *a = in[G_A], *b = in[G_B];
    const octet_tensor *c = n_in > G_C ? in[G_C] : NULL, *ysc = n_in > G_YS ? in[G_YS] : NULL;
    const octet_tensor *yzt = n_in > G_YZ ? in[G_YZ] : NULL, *bs = in[G_BS], *bz = n_in > G_BZ ? in[G_BZ] : NULL;
    if (!qc_is_q8(a->dtype) || !qc_is_q8(b->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "A and B must be uint8 or int8 (got %s, %s)",
                           octet_dtype_name(a->dtype), octet_dtype_name(b->dtype));
    qgemm_shape s = {0};
    OT_TRY(qgemm_shape_of(k, a, b, c, &s));
    float as;
    int32_t za;
    OT_TRY(qc_scale(k, in[G_AS], G_AS, &as));
    OT_TRY(qc_zero_point(k, in[G_AZ], G_AZ, a->dtype, &za));
    if (bs->dtype != OCTET_FLOAT || bs->ndim > 1 || (ot_tensor_numel(bs) != 1 && ot_tensor_numel(bs) != s.N))
        return ot_node_err(k, OCTET_ERR_SHAPE, "b_scale must be float32 with 1 or N=%d elements", s.N);
    if (bz && (bz->ndim > 1 || (ot_tensor_numel(bz) != 1 && ot_tensor_numel(bz) != s.N)))
        return ot_node_err(k, OCTET_ERR_SHAPE, "b_zero_point must have 1 or N=%d elements", s.N);
    if ((ysc == NULL) != (yzt == NULL))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "y_scale and y_zero_point must be given together");
    float ys = 1.0f;
    int32_t yz = 0;
    octet_dtype yt = OCTET_FLOAT;
    if (ysc) {
        yt = yzt->dtype;
        if (!qc_is_q8(yt))
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "y_zero_point must be uint8 or int8, got %s",
                               octet_dtype_name(yt));
        OT_TRY(qc_scale(k, ysc, G_YS, &ys));
        OT_TRY(qc_zero_point(k, yzt, G_YZ, yt, &yz));
    }
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], yt, 2, (const int64_t[]){s.M, s.N}));
    if (s.M == 0 || s.N == 0) return OCTET_OK;
    /* per-column multipliers: (alpha * a_scale) * b_scale[n], then / y_scale */
    float alpha = ot_node_attr_float(k->node, "alpha", 1.0f);
    int nsc = (int)ot_tensor_numel(bs);
    float *scale = ot_malloc((size_t)nsc * sizeof *scale);
    if (!scale) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nsc; i++) {
        scale[i] = alpha * as * ((const float *)bs->data)[i];
        if (ysc) scale[i] /= ys;
    }
    octet_status st_ = OCTET_OK;
    ot_qgemm_packed *local = NULL;
    const ot_qgemm_packed *pb = NULL;
    uint8_t *at = NULL;
    int32_t *acc = NULL, *owned_bias = NULL;
    const gemm_state *st = k->state;
    const int32_t *bias = NULL;
    if (s.c_kind == 1) st_ = bias_vector(c, s.N, &bias, &owned_bias);
    if (st_ == OCTET_OK && state_matches(st, b, bz, s.c_kind == 1 ? c->data : NULL)) pb = st->pb;
    else if (st_ == OCTET_OK) {
        st_ = pack(k, &local, b, b->data, s.K, s.N, s.tb, bz, G_BZ, bias, za, a->dtype == OCTET_INT8);
        pb = local;
    }
    /* A^T: transpose into a [M, K] copy */
    const void *adata = a->data;
    if (st_ == OCTET_OK && s.ta && s.K > 0) {
        at = ot_malloc((size_t)s.M * (size_t)s.K);
        if (!at) st_ = ot_err(OCTET_ERR_NOMEM, "out of memory");
        else {
            const uint8_t *src = a->data;
            for (int m = 0; m < s.M; m++)
                for (int kk = 0; kk < s.K; kk++) at[(size_t)m * s.K + kk] = src[(size_t)kk * s.M + m];
            adata = at;
        }
    }
    int lda = s.K > 0 ? s.K : 1;
    /* one or two rows (batch 1) against a prepared B: the int8 GEMV gives the int32 sums, then C and the
     * same epilogue as below */
    bool gemv = st_ == OCTET_OK && st && pb == st->pb && st->pv && s.M <= GEMV_MAX_ROWS;
    if (gemv) {
        acc = ot_malloc((size_t)s.M * (size_t)s.N * sizeof *acc);
        st_ = acc ? gemv_s32(st->pv, s.M, adata, a->dtype == OCTET_INT8, lda, za, acc)
                  : ot_err(OCTET_ERR_NOMEM, "out of memory");
        for (int m = 0; st_ == OCTET_OK && bias && m < s.M; m++)
            for (int n = 0; n < s.N; n++) {
                size_t i = (size_t)m * s.N + n;
                acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)bias[n]);
            }
    }
    if (st_ == OCTET_OK && s.c_kind != 2 && !gemv) {
        ot_qgemm_out o = {.type = !ysc ? OT_QGEMM_OUT_F32 : yt == OCTET_INT8 ? OT_QGEMM_OUT_S8 : OT_QGEMM_OUT_U8,
                          .c = out[0]->data, .ldc = s.N, .scale = scale, .scale_per_col = nsc > 1,
                          .zp = yz, .lo = qc_qmin(yt), .hi = qc_qmax(yt)};
        st_ = ot_qgemm(pb, s.M, adata, lda, za, a->dtype == OCTET_INT8, &o, k->threads);
    } else if (st_ == OCTET_OK) {
        /* C of [M, 1] or [M, N] (or the GEMV's sums): int32 result, add C, then the epilogue */
        if (!gemv) {
            acc = ot_malloc((size_t)s.M * (size_t)s.N * sizeof *acc);
            if (!acc) st_ = ot_err(OCTET_ERR_NOMEM, "out of memory");
            ot_qgemm_out o = {.type = OT_QGEMM_OUT_S32, .c = acc, .ldc = s.N};
            if (st_ == OCTET_OK) st_ = ot_qgemm(pb, s.M, adata, lda, za, a->dtype == OCTET_INT8, &o, k->threads);
        }
        if (st_ == OCTET_OK) {
            const int32_t *cd = s.c_kind == 2 ? c->data : NULL;
            bool col1 = cd && c->dims[1] == 1;
            for (int m = 0; cd && m < s.M; m++)
                for (int n = 0; n < s.N; n++) {
                    size_t i = (size_t)m * s.N + n;
                    acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)cd[col1 ? (size_t)m : i]);
                }
            if (ysc) {
                ot_qvec_requantize_s32(acc, s.M, s.N, s.N, NULL, scale, nsc > 1, yz, qc_qmin(yt), qc_qmax(yt),
                                       yt == OCTET_INT8, out[0]->data, s.N);
            } else {
                float *y = out[0]->data;
                for (size_t i = 0; i < (size_t)s.M * s.N; i++) y[i] = (float)acc[i] * scale[nsc > 1 ? i % s.N : 0];
            }
        }
    }
    ot_qgemm_packed_free(local);
    free(scale);
    free(at);
    free(acc);
    free(owned_bias);
    return st_;
}

/* ---------------- MatMulIntegerToFloat / DynamicQuantizeMatMul ---------------- */

/* numpy matmul shapes: A [..., M, K] (or [K]), B [..., K, N] (or [K]); batch dims broadcast. */
typedef struct mm_shape {
    int64_t M, K, N;
    int nb;                       /* output batch rank */
    int64_t batch[OCTET_MAX_DIMS];
    int64_t nbatch;
    int out_nd;
    int64_t out_dims[OCTET_MAX_DIMS];
    bool b_2d;                    /* B has no batch dims: one GEMM over all rows of A */
} mm_shape;

static octet_status mm_shape_of(const ot_kernel *k, const int64_t *ad, int an, const octet_tensor *b, mm_shape *s) {
    if (an < 1 || b->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "A and B must have rank >= 1");
    s->M = an >= 2 ? ad[an - 2] : 1;
    s->K = ad[an - 1];
    int64_t Kb = b->ndim >= 2 ? b->dims[b->ndim - 2] : b->dims[0];
    s->N = b->ndim >= 2 ? b->dims[b->ndim - 1] : 1;
    if (Kb != s->K)
        return ot_node_err(k, OCTET_ERR_SHAPE, "inner dimensions differ: A has K=%lld, B has K=%lld",
                           (long long)s->K, (long long)Kb);
    int abn = an > 2 ? an - 2 : 0, bbn = b->ndim > 2 ? b->ndim - 2 : 0;
    s->nb = abn > bbn ? abn : bbn;
    s->nbatch = 1;
    for (int i = 0; i < s->nb; i++) {
        int ia = i - (s->nb - abn), ib = i - (s->nb - bbn);
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "batch dimensions %lld and %lld do not broadcast", (long long)da,
                               (long long)db);
        s->batch[i] = da == 1 ? db : da;
        s->nbatch *= s->batch[i];
    }
    s->b_2d = bbn == 0;
    s->out_nd = 0;
    for (int i = 0; i < s->nb; i++) s->out_dims[s->out_nd++] = s->batch[i];
    if (an >= 2) s->out_dims[s->out_nd++] = s->M;
    if (b->ndim >= 2) s->out_dims[s->out_nd++] = s->N;
    if (s->M * (s->b_2d ? s->nbatch : 1) > INT_MAX || s->N > INT_MAX || s->K > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "matrices too large");
    return OCTET_OK;
}

/* Offset (in matrices) of batch index `bi` of the output into an operand with batch dims d[0..n). */
static int64_t batch_offset(const mm_shape *s, int64_t bi, const int64_t *d, int n) {
    int64_t off = 0, stride = 1;
    for (int i = s->nb - 1; i >= 0; i--) {
        int64_t idx = bi % s->batch[i];
        bi /= s->batch[i];
        int j = i - (s->nb - n);
        if (j >= 0) {
            if (d[j] != 1) off += idx * stride;
            stride *= d[j];
        }
    }
    return off;
}

/* ORT's IsBQuantParamSupported: 0 = one value; 1 = per column of a 2-D B ([N]); 2 = B's shape with the
 * second-to-last dim 1 (per batch and column); -1 = none of these. */
static int b_param_kind(const octet_tensor *t, const octet_tensor *b) {
    if (t->ndim == 0 || (t->ndim == 1 && t->dims[0] == 1)) return 0;
    if (t->ndim == 1 && b->ndim == 2 && t->dims[0] == b->dims[1]) return 1;
    if (t->ndim != b->ndim || t->ndim <= 1 || t->dims[t->ndim - 2] != 1) return -1;
    for (int i = 0; i < t->ndim; i++)
        if (i != t->ndim - 2 && t->dims[i] != b->dims[i]) return -1;
    return 2;
}

/* y = s * y with s broadcast to y's shape (ORT's ScaleOutput, for scale layouts its GEMM cannot take). */
static void scale_mul(void *ctx, int64_t n, char *const *p, const int64_t *s) {
    float *y = (float *)p[0];
    const float *sv = (const float *)p[1], *yv = (const float *)p[2];
    for (int64_t i = 0; i < n; i++) y[i] = sv[i * s[1]] * yv[i * s[2]];
}

static octet_status scale_output(const ot_kernel *k, const octet_tensor *scale, octet_tensor *y) {
    ot_bcast bc;
    OT_TRY(ot_bcast_plan(k, &bc, y->ndim, y->dims, 2, (const octet_tensor *[]){scale, y}));
    ot_bcast_run(&bc, k->threads, y->data, (const void *[]){scale->data, y->data}, (size_t[]){4, 4, 4}, scale_mul,
                 NULL);
    return OCTET_OK;
}

/* y = (float)(sum (a - za)(b - zb)) * (a_scale * b_scale[n]) + bias[n] over the matmul batches; a_bcast
 * (a non-scalar a_scale) and an unsupported b_scale layout multiply the result afterwards, as ORT. */
static octet_status mm_to_float(ot_kernel *k, const void *a, bool a_signed, const int64_t *ad, int an, int32_t za,
                                float a_scale, const octet_tensor *a_bcast, const octet_tensor *b, int b_idx,
                                const octet_tensor *bs, int bs_idx, const octet_tensor *bz, int bz_idx,
                                const octet_tensor *bias, octet_tensor *y) {
    if (!qc_is_q8(b->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "B must be uint8 or int8, got %s", octet_dtype_name(b->dtype));
    mm_shape s;
    OT_TRY(mm_shape_of(k, ad, an, b, &s));
    if (bs->dtype != OCTET_FLOAT) return ot_node_err(k, OCTET_ERR_SHAPE, "input %d must be float32", bs_idx);
    int sk = b_param_kind(bs, b), zk = bz ? b_param_kind(bz, b) : 0;
    if (zk < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (B's zero point) has an unsupported shape", bz_idx);
    if (bias && (bias->dtype != OCTET_FLOAT || ot_tensor_numel(bias) != s.N || bias->ndim != 1))
        return ot_node_err(k, OCTET_ERR_SHAPE, "bias must be float32 of shape [N=%lld]", (long long)s.N);
    OT_TRY(ot_tensor_alloc(y, OCTET_FLOAT, s.out_nd, s.out_dims));
    if (ot_tensor_numel(y) == 0) return OCTET_OK;
    /* multipliers: a_scale * b_scale[n] (per tensor: one value) */
    int64_t nsc = sk <= 0 ? 1 : ot_tensor_numel(bs);
    float *scale = ot_malloc((size_t)nsc * sizeof *scale);
    if (!scale) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < nsc; i++) scale[i] = sk < 0 ? a_scale : a_scale * ((const float *)bs->data)[i];
    const gemm_state *st = k->state;
    octet_status r = OCTET_OK;
    int N = (int)s.N, K = (int)s.K, lda = K > 0 ? K : 1;
    ot_qgemm_out o = {.type = OT_QGEMM_OUT_F32, .ldc = N, .scale = scale, .scale_per_col = sk > 0,
                      .bias_f = bias ? bias->data : NULL};
    int abn = an > 2 ? an - 2 : 0, bbn = b->ndim > 2 ? b->ndim - 2 : 0;
    size_t a_mat = (size_t)s.M * (size_t)s.K, b_mat = (size_t)s.K * (size_t)s.N, y_mat = (size_t)s.M * (size_t)s.N;
    int rows = (int)(s.M * s.nbatch);
    if (s.b_2d && rows <= GEMV_MAX_ROWS && state_matches(st, b, bz, NULL) && st->pv) {
        /* a row or two (batch 1): the int8 GEMV streams B once as bytes, split among the threads */
        r = ot_qgemv_rows_f32(st->pv, rows, a, a_signed, lda, za, scale, sk > 0, bias ? bias->data : NULL, y->data,
                              N, k->threads);
    } else if (s.b_2d) {
        ot_qgemm_packed *local = NULL;
        const ot_qgemm_packed *pb = state_matches(st, b, bz, NULL) ? st->pb : NULL;
        if (!pb) {
            r = pack(k, &local, b, b->data, K, N, false, bz, bz_idx, NULL, za, a_signed);
            pb = local;
        }
        /* A's batches are contiguous rows: one GEMM of nbatch * M rows */
        if (r == OCTET_OK) {
            o.c = y->data;
            r = ot_qgemm(pb, (int)(s.M * s.nbatch), a, lda, za, a_signed, &o, k->threads);
        }
        ot_qgemm_packed_free(local);
    } else {
        for (int64_t bi = 0; r == OCTET_OK && bi < s.nbatch; bi++) {
            ot_qgemm_packed *pb = NULL;
            int64_t boff = batch_offset(&s, bi, b->dims, bbn);
            const uint8_t *bptr = (const uint8_t *)b->data + (size_t)boff * b_mat;
            r = pack_at(k, &pb, b, bptr, K, N, false, bz, bz_idx, zk == 2 ? boff * N : 0, NULL, za, a_signed);
            if (r == OCTET_OK) {
                o.c = (float *)y->data + (size_t)bi * y_mat;
                o.scale = scale + (sk == 2 ? boff * N : 0);
                const uint8_t *aptr = (const uint8_t *)a + (size_t)batch_offset(&s, bi, ad, abn) * a_mat;
                r = ot_qgemm(pb, (int)s.M, aptr, lda, za, a_signed, &o, k->threads);
            }
            ot_qgemm_packed_free(pb);
        }
    }
    free(scale);
    if (r == OCTET_OK && a_bcast) r = scale_output(k, a_bcast, y);
    if (r == OCTET_OK && sk < 0) r = scale_output(k, bs, y);
    return r;
}

/* Pack a constant 2-D B once (B input index bi, its zero point zi). */
static octet_status mm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in, int bi, int zi,
                               int azi) {
    if (n_in <= bi || !consts[bi] || consts[bi]->ndim != 2 || !qc_is_q8(consts[bi]->dtype)) return OCTET_OK;
    if (input_given(k, zi) && (zi >= n_in || !consts[zi])) return OCTET_OK;
    const octet_tensor *b = consts[bi], *zb = zi < n_in ? consts[zi] : NULL;
    if (b->dims[0] > INT_MAX || b->dims[1] > INT_MAX) return OCTET_OK;
    int32_t za = 0;
    bool a_signed = false;
    if (azi >= 0 && azi < n_in && consts[azi] && qc_is_q8(consts[azi]->dtype) && ot_tensor_numel(consts[azi]) == 1) {
        za = (int32_t)ot_tensor_get_i64(consts[azi], 0);
        a_signed = consts[azi]->dtype == OCTET_INT8;
    }
    gemm_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int N = (int)b->dims[1];
    if (zb && (zb->dtype != b->dtype || zb->ndim > 2 || (ot_tensor_numel(zb) != 1 && ot_tensor_numel(zb) != N))) {
        free(st);
        return OCTET_OK;
    }
    octet_status s = pack(k, &st->pb, b, b->data, (int)b->dims[0], N, false, zb, zi, NULL, za, a_signed);
    if (s != OCTET_OK) {
        ot_err_clear();
        free(st);
        return OCTET_OK;
    }
    pack_gemv(st, b, zb, (int)b->dims[0], N, false);
    st->b_data = b->data;
    st->b_dtype = b->dtype;
    st->zb_data = zb ? zb->data : NULL;
    k->state = st;
    return OCTET_OK;
}

enum { F_A, F_B, F_AS, F_BS, F_AZ, F_BZ, F_BIAS };

octet_status qc_mm2f_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return mm_prepare(k, consts, n_in, F_B, F_BZ, F_AZ);
}

octet_status qc_mm2f_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 4, 7));
    const octet_tensor *a = in[F_A], *as = in[F_AS], *bs = in[F_BS];
    if (!qc_is_q8(a->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "A must be uint8 or int8, got %s", octet_dtype_name(a->dtype));
    /* ORT swaps the two scales when the per-column one was wired as a_scale (a fusion artefact) */
    if (!is_scalar1(as)) {
        if (as->ndim == 1 || as->dims[as->ndim - 1] != 1) {
            const octet_tensor *t = as;
            as = bs;
            bs = t;
        }
    } else if (!is_scalar1(bs) && bs->ndim > 1 && bs->dims[bs->ndim - 2] != 1) {
        const octet_tensor *t = as;
        as = bs;
        bs = t;
    }
    /* a non-scalar a_scale multiplies the output afterwards (ORT's ScaleOutput) */
    float a_scale = 1.0f;
    int32_t za;
    bool a_scalar = is_scalar1(as);
    if (as->dtype != OCTET_FLOAT) return ot_node_err(k, OCTET_ERR_SHAPE, "a_scale must be float32");
    if (a_scalar) OT_TRY(qc_scale(k, as, F_AS, &a_scale));
    OT_TRY(qc_zero_point(k, n_in > F_AZ ? in[F_AZ] : NULL, F_AZ, a->dtype, &za));
    if (!out[0]) return OCTET_OK;
    return mm_to_float(k, a->data, a->dtype == OCTET_INT8, a->dims, a->ndim, za, a_scale, a_scalar ? NULL : as,
                       in[F_B], F_B, bs, F_BS, n_in > F_BZ ? in[F_BZ] : NULL, F_BZ, n_in > F_BIAS ? in[F_BIAS] : NULL,
                       out[0]);
}

enum { D_A, D_B, D_BS, D_BZ, D_BIAS };

octet_status qc_dqmm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return mm_prepare(k, consts, n_in, D_B, D_BZ, -1);
}

octet_status qc_dqmm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 5));
    const octet_tensor *a = in[D_A];
    OT_TRY(ot_check_dtype(k, a, D_A, OCTET_FLOAT));
    if (!out[0]) return OCTET_OK;
    int64_t n = ot_tensor_numel(a);
    uint8_t *aq = ot_malloc((size_t)(n > 0 ? n : 1));
    if (!aq) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    /* A's parameters and quantization exactly as DynamicQuantizeLinear */
    float a_scale;
    uint8_t za;
    ot_qvec_dynamic_quantize_u8(a->data, (size_t)n, aq, &a_scale, &za);
    octet_status s = mm_to_float(k, aq, false, a->dims, a->ndim, za, a_scale, NULL, in[D_B], D_B, in[D_BS], D_BS,
                                 n_in > D_BZ ? in[D_BZ] : NULL, D_BZ, n_in > D_BIAS ? in[D_BIAS] : NULL, out[0]);
    free(aq);
    return s;
}
