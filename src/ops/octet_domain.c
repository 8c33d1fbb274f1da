/* Op family 'octet_domain': ops in octet's own domain ai.octet (documented in docs/DYNAMIC.md).
 *
 *   DynamicQuantizeGRU (ai.octet, 1)   inputs X, W, R, B?, sequence_lens?, initial_h?,
 *                                      W_scale, W_zero_point, R_scale, R_zero_point; outputs Y?, Y_h?
 *   DynamicQuantizeRNN (ai.octet, 1)   the same inputs and outputs, for the plain RNN cell
 *
 * They follow com.microsoft DynamicQuantizeLSTM's conventions: W is int8/uint8 [dirs, input, G*hidden]
 * and R [dirs, hidden, G*hidden] (transposed against ONNX GRU/RNN, gates in ONNX order: GRU z, r, h);
 * scales and zero points are [dirs] (per tensor) or [dirs, G*hidden] (per output column); B,
 * sequence_lens, initial_h and every attribute are those of ONNX GRU/RNN (layout 0 only).
 *
 * Plan of a run: X (all steps) is quantized to uint8 once (DynamicQuantizeLinear's formulas) and
 * multiplied by W in one int8 GEMM per direction, scaled back to float with the folded biases added.
 * Each step then quantizes H_{t-1} (GRU without linear_before_reset: also r (.) H_{t-1}) the same way
 * and adds its int8 product with R before the float gate math. W and R are packed once when they are
 * constants; R also as an int8 GEMV (kernels/qgemv.h) when its zero points are uniform, which small
 * batches use per step instead of the GEMM (same int32 results, same float epilogue). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/qgemm.h"
#include "kernels/qgemv.h"
#include "kernels/quant_vec.h"
#include "kernels/rnn_f32.h"
#include "ops/op.h"
#include "ops/rnn_act.h"
#include "util/mem.h"

typedef enum { QR_RNN, QR_GRU } qr_cell;


typedef struct {
    qr_cell cell;
    int gates, nact, num_dir;
    bool reverse;
    int64_t hidden;        /* -1: from R */
    rnn_act act[2][2];      /* [direction][f, g] */
    bool has_clip;
    float clip;
    bool lbr;              /* GRU linear_before_reset */
} qr_cfg;

/* Packed weights of one direction. Part 0 = the columns multiplied by H_{t-1} (all, or GRU's z and r
 * when linear_before_reset is 0); part 1 = GRU's h columns, multiplied by r (.) H_{t-1}. */
typedef struct {
    ot_qgemm_packed *w;
    ot_qgemm_packed *r[2];
    ot_qgemv_packed *rv[2];   /* the same parts for one row at a time; NULL when their zero points differ */
} qr_pack;

typedef struct {
    qr_cfg cfg;
    const octet_tensor *src[4];   /* W, R, W_zero_point, R_zero_point the packs were made from */
    qr_pack pk[2];
    bool packed;
} qr_state;

/* ---- attributes ----------------------------------------------------------------------------- */


static octet_status parse_cfg(const ot_kernel *k, qr_cell cell, qr_cfg *c) {
    const ot_node *n = k->node;
    memset(c, 0, sizeof *c);
    c->cell = cell;
    c->gates = cell == QR_GRU ? 3 : 1;
    c->nact = cell == QR_GRU ? 2 : 1;
    const char *dir = ot_node_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) c->num_dir = 1;
    else if (strcmp(dir, "reverse") == 0) c->num_dir = 1, c->reverse = true;
    else if (strcmp(dir, "bidirectional") == 0) c->num_dir = 2;
    else return ot_node_err(k, OCTET_ERR_PARSE, "direction '%s' is not forward, reverse or bidirectional", dir);
    c->hidden = -1;
    if (ot_node_attr(n, "hidden_size")) {
        c->hidden = ot_node_attr_int(n, "hidden_size", -1);
        if (c->hidden <= 0) return ot_node_err(k, OCTET_ERR_PARSE, "hidden_size must be > 0");
    }
    if (ot_node_attr(n, "clip")) {
        c->has_clip = true;
        c->clip = ot_node_attr_float(n, "clip", 0.0f);
        if (!(c->clip > 0.0f)) return ot_node_err(k, OCTET_ERR_PARSE, "clip %g must be > 0", (double)c->clip);
    }
    c->lbr = cell == QR_GRU && ot_node_attr_int(n, "linear_before_reset", 0) != 0;
    if (ot_node_attr_int(n, "layout", 0) != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "layout must be 0 (sequence first)");
    for (int d = 0; d < 2; d++) {
        c->act[d][0] = (rnn_act){cell == QR_GRU ? ACT_SIGMOID : ACT_TANH, 0.0f, 0.0f};
        c->act[d][1] = (rnn_act){ACT_TANH, 0.0f, 0.0f};
    }
    const ot_attr *acts = ot_node_attr(n, "activations");
    if (acts && acts->n > 0) {
        if (acts->type != OT_ATTR_STRINGS) return ot_node_err(k, OCTET_ERR_PARSE, "activations must be strings");
        size_t cnt = acts->n, per = (size_t)c->nact;
        bool ok = cnt == per * (size_t)c->num_dir || cnt == per || (cell == QR_RNN && c->num_dir == 1 && cnt == 2);
        if (!ok || cnt > 4)
            return ot_node_err(k, OCTET_ERR_PARSE, "has %zu activations, expected %zu for %d direction(s)", cnt,
                               per * (size_t)c->num_dir, c->num_dir);
        const float *al = NULL, *be = NULL;
        size_t nal = ot_node_attr_floats(n, "activation_alpha", &al), nbe = ot_node_attr_floats(n, "activation_beta", &be);
        size_t ia = 0, ib = 0;
        rnn_act parsed[4];
        for (size_t i = 0; i < cnt; i++) OT_TRY(ot_rnn_act_parse(k, acts->strings[i], al, nal, &ia, be, nbe, &ib, &parsed[i]));
        for (int d = 0; d < c->num_dir; d++)
            for (size_t i = 0; i < per; i++) {
                size_t at = (size_t)d * per + i;
                c->act[d][i] = parsed[cnt >= per * (size_t)c->num_dir && at < cnt ? at : i];
            }
    }
    return OCTET_OK;
}

/* ---- elementwise ---------------------------------------------------------------------------- */

static void clip_vec(const qr_cfg *c, float *x, int n) {
    if (!c->has_clip) return;
    for (int i = 0; i < n; i++) x[i] = fmaxf(-c->clip, fminf(c->clip, x[i]));
}

/* ---- packing -------------------------------------------------------------------------------- */

static void free_packs(qr_pack pk[2]) {
    for (int d = 0; d < 2; d++) {
        ot_qgemm_packed_free(pk[d].w);
        ot_qgemm_packed_free(pk[d].r[0]);
        ot_qgemm_packed_free(pk[d].r[1]);
        ot_qgemv_free(pk[d].rv[0]);
        ot_qgemv_free(pk[d].rv[1]);
        memset(&pk[d], 0, sizeof pk[d]);
    }
}

/* Zero points of direction d as int32 (count 1 or n), into buf. */
static int zp_of(const octet_tensor *zp, int d, int n, int32_t *buf) {
    int cnt = zp->ndim == 2 ? n : 1;
    for (int i = 0; i < cnt; i++) buf[i] = (int32_t)ot_tensor_get_i64(zp, (int64_t)d * cnt + i);
    return cnt;
}

/* Columns [c0, c0+nc) of one direction's [K, GH] matrix. */
static octet_status pack_part(ot_qgemm_packed **out, const octet_tensor *m, const octet_tensor *zp, int d, int K, int GH,
                              int c0, int nc, int32_t za_hint) {
    int32_t *zb = ot_malloc((size_t)GH * sizeof *zb);
    if (!zb) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int cnt = zp_of(zp, d, GH, zb);
    const char *base = (const char *)m->data + (size_t)d * (size_t)K * (size_t)GH + (size_t)c0;
    ot_qgemm_b desc = {K, nc, base, GH, m->dtype == OCTET_INT8, false, cnt == 1 ? zb : zb + c0, cnt == 1 ? 1 : nc,
                       NULL, za_hint, false};
    octet_status s = ot_qgemm_pack_b(out, &desc);
    free(zb);
    return s;
}

/* The GEMV form of the same columns, when they share one zero point (else *out stays NULL). */
static octet_status pack_part_gemv(ot_qgemv_packed **out, const octet_tensor *m, const octet_tensor *zp, int d, int K,
                                   int GH, int c0, int nc) {
    *out = NULL;
    int32_t *zb = ot_malloc((size_t)GH * sizeof *zb);
    if (!zb) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int cnt = zp_of(zp, d, GH, zb);
    const int32_t *z = cnt == 1 ? zb : zb + c0;
    bool uniform = true;
    for (int j = 1; cnt > 1 && j < nc; j++) uniform &= z[j] == z[0];
    const char *base = (const char *)m->data + (size_t)d * (size_t)K * (size_t)GH + (size_t)c0;
    octet_status s = uniform ? ot_qgemv_pack(out, base, m->dtype == OCTET_INT8, K, nc, GH, z[0]) : OCTET_OK;
    free(zb);
    return s;
}

static octet_status make_packs(const qr_cfg *c, const octet_tensor *W, const octet_tensor *R, const octet_tensor *Wz,
                               const octet_tensor *Rz, qr_pack pk[2]) {
    int I = (int)W->dims[1], GH = (int)W->dims[2], H = (int)R->dims[1];
    bool split = c->cell == QR_GRU && !c->lbr;
    octet_status s = OCTET_OK;
    for (int d = 0; d < c->num_dir && s == OCTET_OK; d++) {
        s = pack_part(&pk[d].w, W, Wz, d, I, GH, 0, GH, 128);
        if (s == OCTET_OK) s = pack_part(&pk[d].r[0], R, Rz, d, H, GH, 0, split ? 2 * H : GH, 128);
        if (s == OCTET_OK && split) s = pack_part(&pk[d].r[1], R, Rz, d, H, GH, 2 * H, H, 128);
        if (s == OCTET_OK) s = pack_part_gemv(&pk[d].rv[0], R, Rz, d, H, GH, 0, split ? 2 * H : GH);
        if (s == OCTET_OK && split) s = pack_part_gemv(&pk[d].rv[1], R, Rz, d, H, GH, 2 * H, H);
    }
    if (s != OCTET_OK) free_packs(pk);
    return s;
}

/* ---- validation ----------------------------------------------------------------------------- */

static octet_status check_shape(const ot_kernel *k, const octet_tensor *t, const char *name, int rank, const int64_t *want) {
    char got[96];
    bool ok = t->ndim == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
    if (ok) return OCTET_OK;
    ot_shape_str(got, sizeof got, t->ndim, t->dims);
    if (rank == 1) return ot_node_err(k, OCTET_ERR_SHAPE, "%s must have shape [%lld], got %s", name, (long long)want[0], got);
    if (rank == 2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s must have shape [%lld,%lld], got %s", name, (long long)want[0],
                           (long long)want[1], got);
    return ot_node_err(k, OCTET_ERR_SHAPE, "%s must have shape [%lld,%lld,%lld], got %s", name, (long long)want[0],
                       (long long)want[1], (long long)want[2], got);
}

/* scale: float [dirs] or [dirs, GH]; zero point: the weight's type, same shape. */
static octet_status check_qparams(const ot_kernel *k, const octet_tensor *s, const octet_tensor *z, octet_dtype wt,
                                  int64_t nd, int64_t GH, const char *what) {
    if (s->dtype != OCTET_FLOAT) return ot_node_err(k, OCTET_ERR_SHAPE, "%s_scale must be float32", what);
    if (z->dtype != wt)
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s_zero_point must be %s like %s", what, octet_dtype_name(wt), what);
    bool s_ok = (s->ndim == 1 && s->dims[0] == nd) || (s->ndim == 2 && s->dims[0] == nd && s->dims[1] == GH);
    bool z_ok = z->ndim == s->ndim && (z->ndim < 1 || z->dims[0] == s->dims[0]) && (z->ndim < 2 || z->dims[1] == s->dims[1]);
    if (!s_ok || !z_ok)
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s_scale and %s_zero_point must both be [%lld] or [%lld,%lld]", what,
                           what, (long long)nd, (long long)nd, (long long)GH);
    return OCTET_OK;
}

/* ---- the run -------------------------------------------------------------------------------- */

typedef struct {
    const qr_cfg *c;
    int64_t T, B, H, GH, nd;
    const float *xw;        /* [T*B, nd*GH], biases folded */
    const float *bias;      /* B input or NULL */
    const float *h0;
    const int64_t *lens;
    float *y, *yh;
    int threads;
} qr_run;

/* acc[M, ncol] (ldc) = quantize(a[M, K]) x packed, scaled by a_scale * r_scale[col0 + n].
 * A few rows go through the GEMV (int8 bytes, no A packing; its strips split among the threads for one
 * or two rows); its (float)acc * mult + 0 equals qgemm's F32 epilogue with a zero bias. */
static octet_status rec_product(const qr_run *r, const ot_qgemm_packed *p, const ot_qgemv_packed *pv, const float *a,
                                int M, int K, uint8_t *aq, const float *rs, int rs_count, int col0,
                                float *mult, float *out, int ldc) {
    float s;
    uint8_t z;
    ot_qvec_dynamic_quantize_u8(a, (size_t)M * (size_t)K, aq, &s, &z);
    int n = ot_qgemm_packed_n(p);
    bool per_col = rs_count > 1;
    if (per_col)
        for (int j = 0; j < n; j++) mult[j] = s * rs[col0 + j];
    else
        mult[0] = s * rs[0];
    if (pv && (M <= 2 || (M <= 4 && (r->threads <= 1 || (double)M * K * n < 1e6)))) {
        /* one or two rows (batch 1): the GEMV, its column strips split among the threads when they pay */
        return ot_qgemv_rows_f32(pv, M, aq, false, K, z, mult, per_col, NULL, out, ldc, M <= 2 ? r->threads : 1);
    }
    ot_qgemm_out o = {OT_QGEMM_OUT_F32, out, ldc, mult, per_col, NULL, 0, 0, 0};
    return ot_qgemm(p, M, aq, K, z, false, &o, r->threads);
}

static octet_status run_direction(const qr_run *r, int d, const qr_pack *pk, const float *rs, int rs_count,
                                  float *work) {
    const qr_cfg *c = r->c;
    int64_t H = r->H, GH = r->GH, B = r->B;
    bool rev = d == 1 || c->reverse;
    float *h = work, *g = h + B * H, *acc = g + B * GH, *tmp = acc + B * GH, *mult = tmp + B * H;
    uint8_t *aq = (uint8_t *)(mult + GH);
    size_t hb = (size_t)H * sizeof(float);
    for (int64_t b = 0; b < B; b++) {
        if (r->h0) memcpy(h + b * H, r->h0 + ((size_t)d * B + b) * H, hb);
        else memset(h + b * H, 0, hb);
    }
    int64_t max_len = 0;
    for (int64_t b = 0; b < B; b++) max_len = r->lens[b] > max_len ? r->lens[b] : max_len;
    const float *rbh = c->lbr && r->bias ? r->bias + (size_t)d * 2 * GH + GH + 2 * H : NULL;
    for (int64_t s = 0; s < max_len; s++) {
        /* gates = XW row of each batch entry's own time step */
        for (int64_t b = 0; b < B; b++) {
            bool on = s < r->lens[b];
            int64_t t = on ? (rev ? r->lens[b] - 1 - s : s) : 0;
            if (on) memcpy(g + b * GH, r->xw + ((size_t)(t * B + b) * r->nd + d) * GH, (size_t)GH * sizeof *g);
            else memset(g + b * GH, 0, (size_t)GH * sizeof *g);
        }
        int n0 = ot_qgemm_packed_n(pk->r[0]);
        OT_TRY(rec_product(r, pk->r[0], pk->rv[0], h, (int)B, (int)H, aq, rs, rs_count, 0, mult, acc, (int)GH));
        if (c->cell == QR_RNN) {
            for (int64_t b = 0; b < B; b++) {
                if (s >= r->lens[b]) continue;
                float *gb = g + b * GH;
                for (int64_t j = 0; j < H; j++) gb[j] += acc[b * GH + j];
                clip_vec(c, gb, (int)H);
                ot_rnn_act_apply(&c->act[d][0], gb, (int)H);
                memcpy(h + b * H, gb, hb);
            }
        } else {
            /* z, r */
            for (int64_t b = 0; b < B; b++) {
                float *gb = g + b * GH;
                if (s >= r->lens[b]) {
                    memset(tmp + b * H, 0, hb);
                    continue;
                }
                for (int64_t j = 0; j < 2 * H; j++) gb[j] += acc[b * GH + j];
                clip_vec(c, gb, (int)(2 * H));
                ot_rnn_act_apply(&c->act[d][0], gb, (int)(2 * H));
                if (!c->lbr)
                    for (int64_t j = 0; j < H; j++) tmp[b * H + j] = gb[H + j] * h[b * H + j]; /* r (.) H */
            }
            if (!c->lbr) {
                OT_TRY(rec_product(r, pk->r[1], pk->rv[1], tmp, (int)B, (int)H, aq, rs, rs_count, n0, mult, acc, (int)GH));
                for (int64_t b = 0; b < B; b++)
                    for (int64_t j = 0; j < H; j++) g[b * GH + 2 * H + j] += acc[b * GH + j];
            } else {
                for (int64_t b = 0; b < B; b++) {
                    float *gb = g + b * GH;
                    const float *ah = acc + b * GH + 2 * H;
                    for (int64_t j = 0; j < H; j++) gb[2 * H + j] += gb[H + j] * (ah[j] + (rbh ? rbh[j] : 0.0f));
                }
            }
            for (int64_t b = 0; b < B; b++) {
                if (s >= r->lens[b]) continue;
                float *z = g + b * GH, *hh = z + 2 * H, *hb_ = h + b * H;
                clip_vec(c, hh, (int)H);
                ot_rnn_act_apply(&c->act[d][1], hh, (int)H);
                for (int64_t j = 0; j < H; j++) hb_[j] = (1.0f - z[j]) * hh[j] + z[j] * hb_[j];
            }
        }
        if (r->y)
            for (int64_t b = 0; b < B; b++) {
                if (s >= r->lens[b]) continue;
                int64_t t = rev ? r->lens[b] - 1 - s : s;
                memcpy(r->y + ((size_t)(t * r->nd + d) * B + b) * H, h + b * H, hb);
            }
    }
    if (r->yh)
        for (int64_t b = 0; b < B; b++) {
            float *dst = r->yh + ((size_t)d * B + b) * H;
            if (r->lens[b] > 0) memcpy(dst, h + b * H, hb);
            else memset(dst, 0, hb);
        }
    return OCTET_OK;
}

static octet_status qr_run_op(ot_kernel *k, qr_cell cell, const octet_tensor *const *in, int n_in, octet_tensor **out,
                              int n_out) {
    if (n_in != 10) return ot_node_err(k, OCTET_ERR_PARSE, "has %d inputs, needs 10", n_in);
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 10));
    if (!in[6] || !in[7] || !in[8] || !in[9])
        return ot_node_err(k, OCTET_ERR_PARSE, "W_scale, W_zero_point, R_scale and R_zero_point are required");
    if (n_out > 2) return ot_node_err(k, OCTET_ERR_PARSE, "has %d outputs, at most 2 (Y, Y_h)", n_out);
    qr_state *st = k->state;
    qr_cfg local;
    if (!st) OT_TRY(parse_cfg(k, cell, &local));
    const qr_cfg *c = st ? &st->cfg : &local;
    const octet_tensor *X = in[0], *W = in[1], *R = in[2], *Bi = in[3], *SL = in[4], *H0 = in[5];
    const octet_tensor *Ws = in[6], *Wz = in[7], *Rs = in[8], *Rz = in[9];
    OT_TRY(ot_check_dtype(k, X, 0, OCTET_FLOAT));
    if (X->ndim != 3) return ot_node_err(k, OCTET_ERR_SHAPE, "X must be [seq, batch, input], got rank %d", X->ndim);
    if ((W->dtype != OCTET_INT8 && W->dtype != OCTET_UINT8) || W->dtype != R->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "W and R must both be int8 or both uint8");
    if (R->ndim != 3) return ot_node_err(k, OCTET_ERR_SHAPE, "R must be [dirs, hidden, %d*hidden]", c->gates);
    int64_t T = X->dims[0], B = X->dims[1], I = X->dims[2], nd = c->num_dir, H = R->dims[1], GH = c->gates * H;
    if (H <= 0 || (c->hidden >= 0 && c->hidden != H))
        return ot_node_err(k, OCTET_ERR_SHAPE, "hidden_size %lld does not match R's %lld rows", (long long)c->hidden,
                           (long long)H);
    int64_t wd[3] = {nd, I, GH}, rd[3] = {nd, H, GH}, bd[2] = {nd, 2 * GH}, hd[3] = {nd, B, H};
    OT_TRY(check_shape(k, W, "W", 3, wd));
    OT_TRY(check_shape(k, R, "R", 3, rd));
    if (Bi) {
        OT_TRY(ot_check_dtype(k, Bi, 3, OCTET_FLOAT));
        OT_TRY(check_shape(k, Bi, "B", 2, bd));
    }
    if (H0) {
        OT_TRY(ot_check_dtype(k, H0, 5, OCTET_FLOAT));
        OT_TRY(check_shape(k, H0, "initial_h", 3, hd));
    }
    OT_TRY(check_qparams(k, Ws, Wz, W->dtype, nd, GH, "W"));
    OT_TRY(check_qparams(k, Rs, Rz, R->dtype, nd, GH, "R"));
    if (I > INT_MAX / 8 || GH > INT_MAX / 8 || T * B > INT_MAX / 8 || (double)T * B * I > 2e9 || (double)T * B * nd * GH > 2e9)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "sizes too large");

    int64_t *lens = ot_malloc((size_t)(B > 0 ? B : 1) * sizeof *lens);
    if (!lens) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool short_seq = false;
    for (int64_t b = 0; b < B; b++) lens[b] = T;
    if (SL) {
        if (!ot_dtype_is_int(SL->dtype) || SL->ndim != 1 || SL->dims[0] != B) {
            free(lens);
            return ot_node_err(k, OCTET_ERR_SHAPE, "sequence_lens must be int32 [%lld]", (long long)B);
        }
        for (int64_t b = 0; b < B; b++) {
            lens[b] = ot_tensor_get_i64(SL, b);
            if (lens[b] < 0 || lens[b] > T) {
                free(lens);
                return ot_node_err(k, OCTET_ERR_SHAPE, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                                   (long long)ot_tensor_get_i64(SL, b), (long long)T);
            }
            short_seq |= lens[b] < T;
        }
    }
    octet_status s = OCTET_OK;
    octet_tensor *Y = n_out > 0 ? out[0] : NULL, *Yh = n_out > 1 ? out[1] : NULL;
    int64_t ydims[4] = {T, nd, B, H};
    if (Y && (s = ot_tensor_alloc(Y, OCTET_FLOAT, 4, ydims)) != OCTET_OK) goto done_lens;
    if (Yh && (s = ot_tensor_alloc(Yh, OCTET_FLOAT, 3, hd)) != OCTET_OK) goto done_lens;
    if (Y && short_seq) memset(Y->data, 0, ot_tensor_nbytes(Y));

    qr_pack local_pk[2];
    memset(local_pk, 0, sizeof local_pk);
    const qr_pack *pk = local_pk;
    bool prepared = st && st->packed && st->src[0] == W && st->src[1] == R && st->src[2] == Wz && st->src[3] == Rz;
    if (prepared) pk = st->pk;
    else if ((s = make_packs(c, W, R, Wz, Rz, local_pk)) != OCTET_OK) goto done_lens;

    size_t rows = (size_t)(T * B), ncol = (size_t)(nd * GH);
    float *xw = ot_aligned_alloc((rows ? rows : 1) * ncol * sizeof *xw);
    uint8_t *xq = ot_aligned_alloc((rows ? rows : 1) * (size_t)(I ? I : 1));
    float *bias = ot_malloc(ncol * sizeof *bias), *mult = ot_malloc((size_t)GH * sizeof *mult);
    size_t bb = (size_t)(B ? B : 1);
    size_t work_f = bb * (size_t)H * 2 + bb * (size_t)GH * 2 + (size_t)GH; /* h, g, acc, tmp, mult */
    float *work = ot_aligned_alloc(work_f * sizeof(float) + bb * (size_t)H + 64 + ((size_t)H + 2) * sizeof(int16_t));
    if (!xw || !xq || !bias || !mult || !work) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* folded biases: Wb + Rb (GRU with linear_before_reset keeps Rbh inside r (.) (...)) */
    for (int64_t d = 0; d < nd; d++)
        for (int64_t j = 0; j < GH; j++) {
            const float *wb = Bi ? (const float *)Bi->data + d * 2 * GH : NULL;
            bool skip_rb = c->lbr && j >= 2 * H;
            bias[d * GH + j] = wb ? wb[j] + (skip_rb ? 0.0f : wb[GH + j]) : 0.0f;
        }
    const float *ws = Ws->data, *rsc = Rs->data;
    int ws_count = Ws->ndim == 2 ? (int)GH : 1, rs_count = Rs->ndim == 2 ? (int)GH : 1;
    int threads = k->threads > 0 ? k->threads : 1;
    if (rows && I > 0) {
        /* X for every step at once, one scale (as ONNX Runtime's quantized LSTM does) */
        float xs;
        uint8_t xz;
        ot_qvec_dynamic_quantize_u8(X->data, rows * (size_t)I, xq, &xs, &xz);
        for (int64_t d = 0; d < nd && s == OCTET_OK; d++) {
            for (int64_t j = 0; j < (ws_count > 1 ? GH : 1); j++) mult[j] = xs * ws[d * ws_count + j];
            ot_qgemm_out o = {OT_QGEMM_OUT_F32, xw + d * GH, (int)ncol, mult, ws_count > 1, bias + d * GH, 0, 0, 0};
            s = ot_qgemm(pk[d].w, (int)rows, xq, (int)I, xz, false, &o, threads);
        }
    } else {
        for (size_t i = 0; i < rows; i++) memcpy(xw + i * ncol, bias, ncol * sizeof *xw);
    }
    qr_run r = {c, T, B, H, GH, nd, xw, Bi ? Bi->data : NULL, H0 ? H0->data : NULL, lens,
                Y ? Y->data : NULL, Yh ? Yh->data : NULL, threads};
    for (int64_t d = 0; d < nd && s == OCTET_OK; d++)
        s = run_direction(&r, (int)d, &pk[d], rsc + d * rs_count, rs_count, work);
done:
    ot_aligned_free(xw);
    ot_aligned_free(xq);
    ot_aligned_free(work);
    free(bias);
    free(mult);
    free_packs(local_pk);
done_lens:
    free(lens);
    return s;
}

/* ---- entry points --------------------------------------------------------------------------- */

static octet_status qr_prepare(ot_kernel *k, qr_cell cell, const octet_tensor *const *consts, int n_in) {
    qr_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = parse_cfg(k, cell, &st->cfg);
    if (s != OCTET_OK) {
        free(st);
        return s;
    }
    k->state = st;
    if (n_in < 10) return OCTET_OK;
    const octet_tensor *W = consts[1], *R = consts[2], *Wz = consts[7], *Rz = consts[9], *Ws = consts[6], *Rs = consts[8];
    if (!W || !R || !Wz || !Rz || !Ws || !Rs) return OCTET_OK; /* packed per run */
    const qr_cfg *c = &st->cfg;
    /* pack only what run() will accept; it reports anything else */
    if (W->ndim != 3 || R->ndim != 3 || W->dtype != R->dtype || (W->dtype != OCTET_INT8 && W->dtype != OCTET_UINT8))
        return OCTET_OK;
    int64_t H = R->dims[1], GH = c->gates * H, nd = c->num_dir;
    if (H <= 0 || H > INT_MAX / 8 || W->dims[0] != nd || R->dims[0] != nd || W->dims[2] != GH || R->dims[2] != GH ||
        W->dims[1] > INT_MAX / 8 || (c->hidden >= 0 && c->hidden != H))
        return OCTET_OK;
    if (check_qparams(k, Ws, Wz, W->dtype, nd, GH, "W") != OCTET_OK || check_qparams(k, Rs, Rz, R->dtype, nd, GH, "R") != OCTET_OK)
        return OCTET_OK;
    OT_TRY(make_packs(c, W, R, Wz, Rz, st->pk));
    st->src[0] = W, st->src[1] = R, st->src[2] = Wz, st->src[3] = Rz;
    st->packed = true;
    return OCTET_OK;
}

static void qr_release(void *state) {
    qr_state *st = state;
    if (!st) return;
    free_packs(st->pk);
    free(st);
}

static octet_status gru_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return qr_prepare(k, QR_GRU, consts, n_in);
}
static octet_status rnn_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return qr_prepare(k, QR_RNN, consts, n_in);
}
static octet_status gru_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return qr_run_op(k, QR_GRU, in, n_in, out, n_out);
}
static octet_status rnn_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return qr_run_op(k, QR_RNN, in, n_in, out, n_out);
}

const ot_op_def ot_ops_octet_domain[] = {
    {"ai.octet", "DynamicQuantizeGRU", gru_prepare, gru_run, qr_release},
    {"ai.octet", "DynamicQuantizeRNN", rnn_prepare, rnn_run, qr_release},
    {NULL, NULL, NULL, NULL, NULL},
};
