/* com.microsoft DynamicQuantizeLSTM, as ONNX Runtime's DeepCPU LSTM computes it with 8-bit weights:
 *   W [num_dir, input_size, 4*hidden] and R [num_dir, hidden, 4*hidden] (transposed against ONNX LSTM,
 *   gates in i, o, f, c order), W_scale / R_scale per direction ([num_dir]) or per column
 *   ([num_dir, 4*hidden]), zero points likewise (ORT uses one zero point per direction: the first).
 *   1. X * W for all steps at once: X (the first max(sequence_lens) steps) quantized to uint8 with
 *      DynamicQuantizeLinear's parameters, the int32 product scaled by x_scale * w_scale[n].
 *   2. Per step: H_{t-1} (every batch row, finished ones included) quantized the same way, times R,
 *      scaled and added: gates += (float)acc * (h_scale * r_scale[n]).
 *   3. The gates exactly as ORT: bias Wb + Rb added and clipped, MLAS's logistic / tanh approximations,
 *      C = C_prev * f + i * g, H = h(C) * o, peepholes, input_forget, sequence_lens, reverse direction.
 * ORT splits the batch across threads for the recurrent quantization when it has several; octet always
 * quantizes the whole batch together, which is ORT's single-thread result, for any thread count.
 * Speed: W is packed for qgemm and R as four int8 GEMV matrices (one per gate) once in prepare(); the
 * gates are computed in place in the X * W buffer. With several threads and enough work per step, one
 * parallel region runs all steps: each thread owns a range of hidden units, quantizes H_{t-1} itself
 * (identical bytes in every thread), computes its units' four gate columns and their cell update, and
 * the threads meet at one barrier per step. Results do not depend on the thread count. The default cell
 * (sigmoid/tanh/tanh, no peepholes, no input_forget) runs as one fused AVX2 pass (qrnn_act.h), the same
 * operations as the scalar steps; one forward direction writes Y in place (no step-major copy). */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <omp.h>

#include "kernels/qgemm.h"
#include "kernels/qgemv.h"
#include "kernels/qrnn_act.h"
#include "kernels/quant_vec.h"
#include "ops/qcontrib_internal.h"
#include "util/mem.h"

enum { L_X, L_W, L_R, L_B, L_SEQ, L_H0, L_C0, L_P, L_WS, L_WZ, L_RS, L_RZ, L_N };

enum { ACT_SIGMOID, ACT_TANH, ACT_RELU };

typedef struct lstm_attrs {
    int dirs;          /* 1 or 2 */
    bool reverse;      /* single direction: reverse */
    int H;
    float clip;
    bool input_forget;
    int act[6];        /* f, g, h per direction */
} lstm_attrs;

static octet_status parse_act(const ot_kernel *k, const char *s, int *out) {
    if (strcasecmp(s, "sigmoid") == 0) *out = ACT_SIGMOID;
    else if (strcasecmp(s, "tanh") == 0) *out = ACT_TANH;
    else if (strcasecmp(s, "relu") == 0) *out = ACT_RELU;
    else return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "activation '%s' is not supported (Sigmoid, Tanh, Relu)", s);
    return OCTET_OK;
}

static octet_status lstm_parse(const ot_kernel *k, lstm_attrs *a) {
    const char *dir = ot_node_attr_string(k->node, "direction", "forward");
    if (strcmp(dir, "forward") == 0) a->dirs = 1, a->reverse = false;
    else if (strcmp(dir, "reverse") == 0) a->dirs = 1, a->reverse = true;
    else if (strcmp(dir, "bidirectional") == 0) a->dirs = 2, a->reverse = false;
    else return ot_node_err(k, OCTET_ERR_SHAPE, "unknown direction '%s'", dir);
    int64_t h = ot_node_attr_int(k->node, "hidden_size", 0);
    if (h <= 0 || h > INT_MAX / 8) return ot_node_err(k, OCTET_ERR_SHAPE, "hidden_size must be positive");
    a->H = (int)h;
    a->clip = ot_node_attr_float(k->node, "clip", FLT_MAX);
    if (!(a->clip > 0.0f)) return ot_node_err(k, OCTET_ERR_SHAPE, "clip must be positive");
    a->input_forget = ot_node_attr_int(k->node, "input_forget", 0) != 0;
    if (ot_node_attr_int(k->node, "layout", 0) != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "layout 1 (batch first) is not supported");
    const ot_attr *acts = ot_node_attr(k->node, "activations");
    for (int d = 0; d < a->dirs; d++) {
        a->act[3 * d] = ACT_SIGMOID;
        a->act[3 * d + 1] = a->act[3 * d + 2] = ACT_TANH;
    }
    if (acts) {
        if ((int)acts->n != 3 * a->dirs)
            return ot_node_err(k, OCTET_ERR_SHAPE, "activations must list %d functions", 3 * a->dirs);
        for (int i = 0; i < 3 * a->dirs; i++) OT_TRY(parse_act(k, acts->strings[i], &a->act[i]));
    }
    return OCTET_OK;
}

/* ---- packed weights ---- */

typedef struct lstm_state {
    ot_qgemm_packed *w[2];
    ot_qgemv_packed *r[2][4];   /* R per direction and gate (i, o, f, c), each [H, H] */
    const void *w_data, *wz_data, *r_data, *rz_data;
} lstm_state;

static void free_r(ot_qgemv_packed *r[4]) {
    for (int g = 0; g < 4; g++) {
        ot_qgemv_free(r[g]);
        r[g] = NULL;
    }
}

void qc_dqlstm_release(void *state) {
    lstm_state *st = state;
    if (!st) return;
    for (int d = 0; d < 2; d++) {
        ot_qgemm_packed_free(st->w[d]);
        free_r(st->r[d]);
    }
    free(st);
}

/* The zero point ORT uses for direction d: the first of that direction's row. */
static int32_t dir_zero_point(const octet_tensor *z, int d) {
    int64_t row = z->ndim == 2 ? z->dims[1] : 1;
    return (int32_t)ot_tensor_get_i64(z, d * row);
}

/* Pack direction d of a weight tensor [dirs, K, N]. */
static octet_status pack_dir(ot_qgemm_packed **pb, const octet_tensor *w, const octet_tensor *z, int d) {
    int K = (int)w->dims[1], N = (int)w->dims[2];
    int32_t zb = dir_zero_point(z, d);
    ot_qgemm_b desc = {.K = K, .N = N, .b = (const uint8_t *)w->data + (size_t)d * (size_t)K * (size_t)N,
                       .ldb = N, .b_signed = w->dtype == OCTET_INT8, .zb = &zb, .zb_count = 1, .za_hint = 128};
    return ot_qgemm_pack_b(pb, &desc);
}

/* Pack direction d of R [dirs, H, 4H] as four GEMV matrices, one per gate (a thread owns a range of
 * hidden units and computes all four of its gates' columns, so a step needs no barrier in the middle).
 * The four share one prepared A, so they use the 7-bit (u8s7) kernel all or none (else the split one). */
static octet_status pack_r(ot_qgemv_packed *out[4], const octet_tensor *r, const octet_tensor *z, int d) {
    int H = (int)r->dims[1];
    const uint8_t *base = (const uint8_t *)r->data + (size_t)d * (size_t)H * 4 * (size_t)H;
    octet_status s = OCTET_OK;
    bool b_signed = r->dtype == OCTET_INT8;
    int32_t zb = dir_zero_point(z, d);
    for (int g = 0; g < 4 && s == OCTET_OK; g++)
        s = ot_qgemv_pack(&out[g], base + (size_t)g * H, b_signed, H, H, 4 * H, zb);
    if (s == OCTET_OK && !(out[0]->u8s7 && out[1]->u8s7 && out[2]->u8s7 && out[3]->u8s7)) {
        for (int g = 0; g < 4 && s == OCTET_OK; g++)
            if (out[g]->u8s7) {
                ot_qgemv_free(out[g]);
                out[g] = NULL;
                s = ot_qgemv_pack_split(&out[g], base + (size_t)g * H, b_signed, H, H, 4 * H, zb);
            }
    }
    if (s != OCTET_OK) free_r(out);
    return s;
}

static bool weights_ok(const octet_tensor *w, const octet_tensor *z, int dirs, int H, int64_t K) {
    return w && z && qc_is_q8(w->dtype) && z->dtype == w->dtype && w->ndim == 3 && w->dims[0] == dirs &&
           w->dims[2] == 4 * (int64_t)H && (K < 0 || w->dims[1] == K) && w->dims[1] <= INT_MAX &&
           (z->ndim == 1 || z->ndim == 2) && z->dims[0] == dirs && (z->ndim == 1 || z->dims[1] == 4 * (int64_t)H);
}

octet_status qc_dqlstm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    lstm_attrs a;
    if (n_in < L_N || lstm_parse(k, &a) != OCTET_OK) {
        ot_err_clear();
        return OCTET_OK;
    }
    const octet_tensor *w = consts[L_W], *wz = consts[L_WZ], *r = consts[L_R], *rz = consts[L_RZ];
    bool pw = weights_ok(w, wz, a.dirs, a.H, -1), pr = weights_ok(r, rz, a.dirs, a.H, a.H);
    if (!pw && !pr) return OCTET_OK;
    lstm_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = OCTET_OK;
    for (int d = 0; d < a.dirs && s == OCTET_OK; d++) {
        if (pw) s = pack_dir(&st->w[d], w, wz, d);
        if (pr && s == OCTET_OK) s = pack_r(st->r[d], r, rz, d);
    }
    if (s != OCTET_OK) {
        qc_dqlstm_release(st);
        ot_err_clear();
        return OCTET_OK;
    }
    if (pw) st->w_data = w->data, st->wz_data = wz->data;
    if (pr) st->r_data = r->data, st->rz_data = rz->data;
    k->state = st;
    return OCTET_OK;
}

/* ---- the recurrence ---- */

static void activate(int act, float *v, int n, bool vec) {
    switch (act) {
    case ACT_SIGMOID: {
        int done = vec ? ot_qrnn_logistic_fma_avx2(v, n) : 0;
        qc_logistic(v + done, n - done, NULL);
        break;
    }
    case ACT_TANH: {
        int done = vec ? ot_qrnn_tanh_fma_avx2(v, n) : 0;
        qc_tanh(v + done, n - done, NULL);
        break;
    }
    default:
        for (int i = 0; i < n; i++) v[i] = v[i] > 0.0f ? v[i] : 0.0f;
        break;
    }
}

/* ORT's clip_add_bias / clip_ignore_bias */
static void clip_bias(float clip, const float *b, float *x, int n) {
    if (b) {
        for (int i = 0; i < n; i++) {
            float v = x[i] + b[i];
            v = v < clip ? v : clip;
            v = -clip < v ? v : -clip;
            x[i] = v;
        }
    } else {
        for (int i = 0; i < n; i++) x[i] = x[i] > clip ? clip : x[i] < -clip ? -clip : x[i];
    }
}

typedef struct lstm_dir {
    const lstm_attrs *a;
    int d, seq, batch, in_size;
    bool reverse, y_out;
    const float *x;               /* [seq, batch, in] */
    const int32_t *lens;          /* [batch] */
    int max_len;
    const ot_qgemm_packed *pw;
    ot_qgemv_packed *const *pr;   /* [4] */
    const float *ws, *rs;         /* scales of this direction: 1 or 4H */
    bool ws_col, rs_col;
    const float *bias;            /* fused Wb + Rb [4H] (i, o, f, c) or NULL */
    const float *peep;            /* [3H] (i, o, f) or NULL */
    const float *h0, *c0;         /* [batch, H] or NULL */
    float *ybuf;                  /* [seq, batch, H] (y_out) */
    float *final_h, *final_c;     /* [batch, H] */
    int threads;
} lstm_dir;

/* What the steps share: gate buffer, states, and per-thread scratch. */
typedef struct lstm_run {
    const lstm_dir *L;
    float *xw;                    /* [max_len, batch, 4H]: X * W, then the gates (in place) */
    float *c;                     /* [batch, H] */
    float *h;                     /* [batch, H]: initial h */
    float *hb[2];                 /* [batch, H] each: h per step when Y is not wanted */
    uint8_t *q;                   /* [threads][batch * H] */
    int16_t *a16;                 /* [threads][kpad] */
    float *mult;                  /* [threads][4H] */
    size_t kpad;
    bool vec;                     /* AVX2 + FMA gate math */
    bool cell_vec;                /* ... and the default cell: one fused AVX2 pass (qrnn_act.h) */
} lstm_run;

/* y = scale-multiplied product of the dynamically quantized rows a[m x k] with packed b. */
static octet_status qgemm_dyn(const float *a, int m, int kdim, const ot_qgemm_packed *pb, const float *wscale,
                              bool per_col, int n, float *y, int threads, uint8_t *qbuf, float *mult) {
    float as;
    uint8_t za;
    ot_qvec_dynamic_quantize_u8(a, (size_t)m * (size_t)kdim, qbuf, &as, &za);
    int nm = per_col ? n : 1;
    for (int i = 0; i < nm; i++) mult[i] = as * wscale[i];
    ot_qgemm_out o = {.type = OT_QGEMM_OUT_F32, .c = y, .ldc = n, .scale = mult, .scale_per_col = per_col};
    return ot_qgemm(pb, m, qbuf, kdim > 0 ? kdim : 1, za, false, &o, threads);
}

/* The gates of units [h0, h0 + n) of one batch row, in place in its gate row gb (i, o, f, c blocks of H):
 * the cell state cb and the output ob (both at unit h0) are updated. */
static void lstm_cell(const lstm_run *R, float *gb, float *cb, float *ob, int h0, int n) {
    const lstm_dir *L = R->L;
    const lstm_attrs *a = L->a;
    int H = a->H, act_f = a->act[3 * L->d], act_g = a->act[3 * L->d + 1], act_h = a->act[3 * L->d + 2];
    float *pi = gb + h0, *po = pi + H, *pf = po + H, *pc = pf + H;
    const float *peep = L->peep, *bias = L->bias;
    if (peep)
        for (int i = 0; i < n; i++) pi[i] += cb[i] * peep[h0 + i];
    clip_bias(a->clip, bias ? bias + h0 : NULL, pi, n);
    activate(act_f, pi, n, R->vec);
    if (a->input_forget) {
        for (int i = 0; i < n; i++) pf[i] = 1.0f - pi[i];
    } else {
        if (peep)
            for (int i = 0; i < n; i++) pf[i] += cb[i] * peep[2 * H + h0 + i];
        clip_bias(a->clip, bias ? bias + 2 * H + h0 : NULL, pf, n);
        activate(act_f, pf, n, R->vec);
    }
    clip_bias(a->clip, bias ? bias + 3 * H + h0 : NULL, pc, n);
    activate(act_g, pc, n, R->vec);
    for (int i = 0; i < n; i++) {
        float keep = cb[i] * pf[i], add = pi[i] * pc[i];
        cb[i] = keep + add;
    }
    if (peep)
        for (int i = 0; i < n; i++) po[i] += cb[i] * peep[H + h0 + i];
    clip_bias(a->clip, bias ? bias + H + h0 : NULL, po, n);
    activate(act_f, po, n, R->vec);
    memcpy(ob, cb, (size_t)n * sizeof(float));
    activate(act_h, ob, n, R->vec);
    for (int i = 0; i < n; i++) ob[i] *= po[i];
}

/* Step t for the hidden units of strips [s0, s1) (all batch rows). Every thread quantizes the whole
 * previous h itself (the same bytes in each), so a step needs one barrier, at its end. */
static void lstm_step(const lstm_run *R, int t, int tid, int s0, int s1) {
    const lstm_dir *L = R->L;
    const lstm_attrs *a = L->a;
    int H = a->H, H4 = 4 * H, B = L->batch;
    int h0 = s0 * OT_QGEMV_NB, h1 = s1 * OT_QGEMV_NB < H ? s1 * OT_QGEMV_NB : H, n = h1 - h0;
    if (n <= 0) return;
    const float *prev = t == 0 ? R->h : L->y_out ? L->ybuf + (size_t)(t - 1) * B * H : R->hb[(t - 1) & 1];
    float *out = L->y_out ? L->ybuf + (size_t)t * B * H : R->hb[t & 1];
    uint8_t *q = R->q + (size_t)tid * B * H;
    int16_t *a16 = R->a16 + (size_t)tid * R->kpad;
    float *mult = R->mult + (size_t)tid * H4;
    float as;
    uint8_t za;
    /* 2. H_{t-1} * R, quantized over the whole batch (finished rows included), added onto X * W */
    ot_qvec_dynamic_quantize_u8(prev, (size_t)B * H, q, &as, &za);
    if (L->rs_col) {
        for (int g = 0; g < 4; g++)
            for (int i = h0; i < h1; i++) mult[g * H + i] = as * L->rs[g * H + i];
    } else {
        mult[0] = as * L->rs[0];
    }
    /* 3. the gates, row by row (finished rows keep their state; their Y rows are zero) */
    for (int b = 0; b < B; b++) {
        float *ob = out + (size_t)b * H + h0;
        if (t >= L->lens[b]) {
            if (L->y_out) memset(ob, 0, (size_t)n * sizeof(float));
            else memcpy(ob, prev + (size_t)b * H + h0, (size_t)n * sizeof(float));
            continue;
        }
        /* the reverse direction walks each sequence backwards */
        int len = L->lens[b], src = L->reverse ? len - 1 - t : t;
        float *gb = R->xw + ((size_t)src * B + b) * H4;
        int32_t corr = ot_qgemv_prep_a(L->pr[0], q + (size_t)b * H, za, a16);
        for (int gi = 0; gi < 4; gi++)
            ot_qgemv_f32_acc(L->pr[gi], a16, corr, L->rs_col ? mult + gi * H : mult, L->rs_col, gb + gi * H, s0, s1);
        float *cb = R->c + (size_t)b * H + h0;
        int done = R->cell_vec ? ot_qrnn_lstm_cell_fma_avx2(gb + h0, gb + H + h0, gb + 2 * H + h0, gb + 3 * H + h0,
                                                            L->bias ? L->bias + h0 : NULL, H, a->clip, cb, ob, n)
                               : 0;
        if (done < n) lstm_cell(R, gb, cb + done, ob + done, h0 + done, n - done);
        if (t + 1 == L->lens[b])
            memcpy(L->final_c + (size_t)b * H + h0, cb, (size_t)n * sizeof(float));
    }
}

/* Threads for the steps: one parallel region for all of them, worth it when a step has enough work. */
static int step_threads(const lstm_dir *L, int nstrips) {
    int T = L->threads < nstrips ? L->threads : nstrips;
    double work = 4.0 * L->a->H * (double)L->a->H * L->batch;
    return T < 1 || work < 256.0 * 1024 ? 1 : T;
}

static octet_status lstm_direction(const lstm_dir *L) {
    const lstm_attrs *a = L->a;
    int H = a->H, H4 = 4 * H, B = L->batch, nstrips = L->pr[0]->nstrips, T = step_threads(L, nstrips);
    size_t rows = (size_t)L->max_len * (size_t)B, kpad = (size_t)ot_qgemv_kpad(L->pr[0]);
    size_t qn = rows * (size_t)L->in_size > (size_t)B * (size_t)H ? rows * (size_t)L->in_size : (size_t)B * H;
    lstm_run R = {.L = L, .kpad = kpad,
                  .vec = ot_kernels_get()->isa >= OT_ISA_AVX2 && qc_ort_fma()};
    int d3 = 3 * L->d;
    R.cell_vec = R.vec && !L->peep && !a->input_forget && a->act[d3] == ACT_SIGMOID && a->act[d3 + 1] == ACT_TANH &&
                 a->act[d3 + 2] == ACT_TANH;
    R.xw = ot_malloc(rows * H4 * sizeof(float));
    R.mult = ot_malloc((size_t)T * H4 * sizeof(float));
    R.h = ot_malloc((size_t)B * H * sizeof(float));
    R.c = ot_malloc((size_t)B * H * sizeof(float));
    R.hb[0] = ot_malloc((size_t)B * H * sizeof(float));
    R.hb[1] = ot_malloc((size_t)B * H * sizeof(float));
    R.q = ot_malloc(qn > (size_t)T * B * H ? qn : (size_t)T * B * H);
    R.a16 = ot_malloc((size_t)T * kpad * sizeof(int16_t) + 1);
    octet_status s = OCTET_OK;
    if (!R.xw || !R.mult || !R.h || !R.c || !R.hb[0] || !R.hb[1] || !R.q || !R.a16) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* 1. all inputs of the first max_len steps times W (one quantization over all of them) */
    s = qgemm_dyn(L->x, (int)rows, L->in_size, L->pw, L->ws, L->ws_col, H4, R.xw, L->threads, R.q, R.mult);
    if (s != OCTET_OK) goto done;
    for (size_t i = 0; i < (size_t)B * H; i++) {
        R.h[i] = L->h0 ? L->h0[i] : 0.0f;
        R.c[i] = L->c0 ? L->c0[i] : 0.0f;
    }
    for (int b = 0; b < B; b++)
        if (L->lens[b] == 0) memset(L->final_c + (size_t)b * H, 0, (size_t)H * sizeof(float));
    if (T <= 1) {
        for (int t = 0; t < L->max_len; t++) lstm_step(&R, t, 0, 0, nstrips);
    } else {
#pragma omp parallel num_threads(T)
        {
            int tid = omp_get_thread_num(), nt = omp_get_num_threads();
            int s0 = nstrips * tid / nt, s1 = nstrips * (tid + 1) / nt;
            for (int t = 0; t < L->max_len; t++) {
                lstm_step(&R, t, tid, s0, s1);
#pragma omp barrier
            }
        }
    }
    const float *hlast = L->max_len > 0 ? R.hb[(L->max_len - 1) & 1] : R.h;
    for (int b = 0; b < B; b++) {
        int len = L->lens[b];
        float *dst = L->final_h + (size_t)b * H;
        if (len == 0) memset(dst, 0, (size_t)H * sizeof(float));
        else memcpy(dst, (L->y_out ? L->ybuf + ((size_t)(len - 1) * B) * H : hlast) + (size_t)b * H,
                    (size_t)H * sizeof(float));
    }
done:
    free(R.xw);
    free(R.mult);
    free(R.h);
    free(R.c);
    free(R.hb[0]);
    free(R.hb[1]);
    free(R.q);
    free(R.a16);
    return s;
}

/* A scale or zero point tensor: [dirs] or [dirs, 4H]. */
static octet_status check_qparam(const ot_kernel *k, const octet_tensor *t, int idx, int dirs, int H) {
    bool ok = (t->ndim == 1 && t->dims[0] == dirs) || (t->ndim == 2 && t->dims[0] == dirs && t->dims[1] == 4 * (int64_t)H);
    if (!ok)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d must have shape [%d] or [%d, %d]", idx, dirs, dirs, 4 * H);
    return OCTET_OK;
}

octet_status qc_dqlstm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, L_N));
    if (n_in < L_N || !in[L_WS] || !in[L_WZ] || !in[L_RS] || !in[L_RZ])
        return ot_node_err(k, OCTET_ERR_PARSE, "needs W_scale, W_zero_point, R_scale and R_zero_point");
    lstm_attrs a;
    OT_TRY(lstm_parse(k, &a));
    const octet_tensor *x = in[L_X], *w = in[L_W], *r = in[L_R], *bias = in[L_B], *lens = in[L_SEQ];
    const octet_tensor *h0 = in[L_H0], *c0 = in[L_C0], *p = in[L_P];
    OT_TRY(ot_check_dtype(k, x, L_X, OCTET_FLOAT));
    if (x->ndim != 3) return ot_node_err(k, OCTET_ERR_SHAPE, "X must be [seq_length, batch_size, input_size]");
    int64_t seq = x->dims[0], batch = x->dims[1], isz = x->dims[2];
    int H = a.H, D = a.dirs;
    if (seq > INT_MAX || batch > INT_MAX || isz > INT_MAX || seq * batch * isz > INT_MAX || batch * 4 * H > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input too large");
    if (!weights_ok(w, in[L_WZ], D, H, isz))
        return ot_node_err(k, OCTET_ERR_SHAPE, "W must be int8/uint8 [%d, %lld, %d] with a zero point of its type", D,
                           (long long)isz, 4 * H);
    if (!weights_ok(r, in[L_RZ], D, H, H))
        return ot_node_err(k, OCTET_ERR_SHAPE, "R must be int8/uint8 [%d, %d, %d] with a zero point of its type", D, H,
                           4 * H);
    OT_TRY(check_qparam(k, in[L_WS], L_WS, D, H));
    OT_TRY(check_qparam(k, in[L_RS], L_RS, D, H));
    OT_TRY(check_qparam(k, in[L_WZ], L_WZ, D, H));
    OT_TRY(check_qparam(k, in[L_RZ], L_RZ, D, H));
    if (in[L_WS]->dtype != OCTET_FLOAT || in[L_RS]->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_SHAPE, "W_scale and R_scale must be float32");
    /* ORT: with per-column zero points, int8 ones must be 0 and uint8 ones all equal */
    for (int zi = L_WZ; zi <= L_RZ; zi += 2) {
        const octet_tensor *z = in[zi];
        if (z->ndim != 2) continue;
        for (int64_t i = 0; i < ot_tensor_numel(z); i++)
            if (z->dtype == OCTET_INT8 ? ot_tensor_get_i64(z, i) != 0 : ot_tensor_get_i64(z, i) != ot_tensor_get_i64(z, 0))
                return ot_node_err(k, OCTET_ERR_SHAPE, "input %d: per-column zero points must be %s", zi,
                                   z->dtype == OCTET_INT8 ? "zero" : "all equal");
    }
    if (bias && (bias->dtype != OCTET_FLOAT || bias->ndim != 2 || bias->dims[0] != D || bias->dims[1] != 8 * (int64_t)H))
        return ot_node_err(k, OCTET_ERR_SHAPE, "B must be float32 [%d, %d]", D, 8 * H);
    if (lens && (lens->dtype != OCTET_INT32 || lens->ndim != 1 || lens->dims[0] != batch))
        return ot_node_err(k, OCTET_ERR_SHAPE, "sequence_lens must be int32 [%lld]", (long long)batch);
    const octet_tensor *hc[2] = {h0, c0};
    for (int i = 0; i < 2; i++)
        if (hc[i] && (hc[i]->dtype != OCTET_FLOAT || hc[i]->ndim != 3 || hc[i]->dims[0] != D || hc[i]->dims[1] != batch ||
                      hc[i]->dims[2] != H))
            return ot_node_err(k, OCTET_ERR_SHAPE, "initial_%c must be float32 [%d, %lld, %d]", i ? 'c' : 'h', D,
                               (long long)batch, H);
    if (p && (p->dtype != OCTET_FLOAT || p->ndim != 2 || p->dims[0] != D || p->dims[1] != 3 * (int64_t)H))
        return ot_node_err(k, OCTET_ERR_SHAPE, "P must be float32 [%d, %d]", D, 3 * H);
    int S = (int)seq, Bn = (int)batch;
    int32_t *len = ot_malloc((size_t)(Bn > 0 ? Bn : 1) * sizeof *len);
    if (!len) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int max_len = 0;
    for (int b = 0; b < Bn; b++) {
        len[b] = lens ? ((const int32_t *)lens->data)[b] : S;
        if (len[b] < 0 || len[b] > S) {
            int bad = (int)len[b];
            free(len);
            return ot_node_err(k, OCTET_ERR_SHAPE, "sequence_lens[%d] = %d is outside [0, %d]", b, bad, S);
        }
        max_len = len[b] > max_len ? len[b] : max_len;
    }
    octet_tensor *y = n_out > 0 ? out[0] : NULL, *yh = n_out > 1 ? out[1] : NULL, *yc = n_out > 2 ? out[2] : NULL;
    octet_status s = OCTET_OK;
    if (y) s = ot_tensor_alloc(y, OCTET_FLOAT, 4, (const int64_t[]){seq, D, batch, H});
    if (s == OCTET_OK && yh) s = ot_tensor_alloc(yh, OCTET_FLOAT, 3, (const int64_t[]){D, batch, H});
    if (s == OCTET_OK && yc) s = ot_tensor_alloc(yc, OCTET_FLOAT, 3, (const int64_t[]){D, batch, H});
    size_t dir_bh = (size_t)Bn * H;
    float *fh = ot_calloc(dir_bh * D + 1, sizeof(float)), *fc = ot_calloc(dir_bh * D + 1, sizeof(float));
    /* one forward direction: the steps write Y itself (same layout), else a step-major buffer per direction */
    bool y_direct = y && s == OCTET_OK && D == 1 && !a.reverse;
    float *ybuf = y && !y_direct ? ot_calloc((size_t)S * dir_bh + 1, sizeof(float)) : NULL;
    float *fbias = ot_malloc((size_t)4 * H * sizeof(float));
    if (s == OCTET_OK && (!fh || !fc || (y && !y_direct && !ybuf) || !fbias))
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    /* the steps write Y up to max_len (zeros for finished sequences); the rest is zero */
    if (s == OCTET_OK && y_direct)
        memset((float *)y->data + (size_t)max_len * dir_bh, 0, (size_t)(S - max_len) * dir_bh * sizeof(float));
    else if (s == OCTET_OK && y)
        memset(y->data, 0, ot_tensor_nbytes(y));
    const lstm_state *st = k->state;
    for (int d = 0; s == OCTET_OK && d < D && max_len > 0; d++) {
        ot_qgemm_packed *lw = NULL;
        ot_qgemv_packed *lr[4] = {NULL, NULL, NULL, NULL};
        const ot_qgemm_packed *pw = st && st->w[d] && st->w_data == w->data && st->wz_data == in[L_WZ]->data ? st->w[d] : NULL;
        ot_qgemv_packed *const *pr = st && st->r[d][0] && st->r_data == r->data && st->rz_data == in[L_RZ]->data ? st->r[d] : NULL;
        if (!pw && (s = pack_dir(&lw, w, in[L_WZ], d)) == OCTET_OK) pw = lw;
        if (s == OCTET_OK && !pr && (s = pack_r(lr, r, in[L_RZ], d)) == OCTET_OK) pr = lr;
        if (s == OCTET_OK) {
            /* fused bias: Wb + Rb, gates i, o, f, c */
            if (bias) {
                const float *bd = (const float *)bias->data + (size_t)d * 8 * H;
                for (int i = 0; i < 4 * H; i++) fbias[i] = bd[i] + bd[4 * H + i];
            }
            const octet_tensor *ws = in[L_WS], *rs = in[L_RS];
            bool wcol = ws->ndim == 2, rcol = rs->ndim == 2;
            lstm_dir L = {.a = &a, .d = d, .seq = S, .batch = Bn, .in_size = (int)isz,
                          .reverse = a.reverse || d == 1, .y_out = y != NULL, .x = x->data, .lens = len,
                          .max_len = max_len, .pw = pw, .pr = pr,
                          .ws = (const float *)ws->data + (wcol ? (size_t)d * 4 * H : (size_t)d), .ws_col = wcol,
                          .rs = (const float *)rs->data + (rcol ? (size_t)d * 4 * H : (size_t)d), .rs_col = rcol,
                          .bias = bias ? fbias : NULL, .peep = p ? (const float *)p->data + (size_t)d * 3 * H : NULL,
                          .h0 = h0 ? (const float *)h0->data + d * dir_bh : NULL,
                          .c0 = c0 ? (const float *)c0->data + d * dir_bh : NULL,
                          .ybuf = y_direct ? (float *)y->data : ybuf,
                          .final_h = fh + d * dir_bh, .final_c = fc + d * dir_bh, .threads = k->threads};
            s = lstm_direction(&L);
            /* Y[t][d] from the step-major buffer, reversed back per sequence for the reverse direction */
            if (s == OCTET_OK && y && !y_direct) {
                float *yd = y->data;
                for (int t = 0; t < S; t++)
                    for (int b = 0; b < Bn; b++) {
                        int src = L.reverse && t < len[b] ? len[b] - 1 - t : t;
                        memcpy(yd + (((size_t)t * D + d) * Bn + b) * H, ybuf + ((size_t)src * Bn + b) * H,
                               (size_t)H * sizeof(float));
                    }
                memset(ybuf, 0, (size_t)S * dir_bh * sizeof(float));
            }
        }
        ot_qgemm_packed_free(lw);
        free_r(lr);
    }
    if (s == OCTET_OK && yh) memcpy(yh->data, fh, dir_bh * D * sizeof(float));
    if (s == OCTET_OK && yc) memcpy(yc->data, fc, dir_bh * D * sizeof(float));
    free(len);
    free(fh);
    free(fc);
    free(ybuf);
    free(fbias);
    return s;
}
