/* Op family 'rnn': LSTM, GRU and RNN (ai.onnx, float32), with every attribute of the spec:
 * direction, activations (+alpha/beta), clip, input_forget, linear_before_reset, layout, and the
 * optional inputs B, sequence_lens, initial_h, initial_c, P.
 *
 * Plan of a run: X·W^T for every time step and both directions is one sgemm (biases folded in);
 * then each step adds H_{t-1}·R^T (R packed once in prepare when it is constant, see
 * kernels/rnn_f32.h) and applies the gate nonlinearities row by row. A batch row whose
 * sequence_lens entry is shorter stops updating; its outputs past the length stay zero. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/rnn_f32.h"
#include "kernels/sgemm.h"
#include "ops/op.h"
#include "ops/rnn_act.h"
#include "util/mem.h"

typedef enum { CELL_RNN, CELL_GRU, CELL_LSTM } cell_kind;

static const int k_gates[] = {1, 3, 4};   /* gate blocks in W, R: i / zrh / iofc */
static const int k_nact[] = {1, 2, 3};    /* activations per direction: f / f,g / f,g,h */

typedef struct {
    cell_kind cell;
    int gates, num_dir;
    bool reverse;          /* direction == "reverse" (a single direction run backwards) */
    int64_t hidden;        /* hidden_size attribute, -1 when absent */
    rnn_act act[2][3];     /* [direction][f, g, h] */
    bool has_clip;
    float clip;
    bool input_forget;     /* LSTM */
    bool lbr;              /* GRU linear_before_reset */
    int layout;            /* 0: [seq, batch, ...]; 1: [batch, seq, ...] */
} rnn_cfg;

/* Recurrent weights of one direction in the form the step loop wants: part 0 = every gate (GRU: z
 * and r), part 1 = GRU's h gate, which must be multiplied separately. */
typedef struct {
    int n[2], k;
    const float *src[2];   /* rows of R (row-major, stride k) */
    float *packed[2];      /* NULL: use src with sgemm */
} rec_weights;

typedef struct {
    rnn_cfg cfg;
    const octet_tensor *r_const;  /* the R these packs were made from */
    float *packed[2][2];
    const octet_tensor *w_const;  /* the W wpack was made from */
    float *wpack;                 /* W of all directions as one [nd*G*H, I] matrix, packed */
} rnn_state;

/* ---- attributes ---------------------------------------------------------------------------- */


static octet_status parse_cfg(const ot_kernel *k, cell_kind cell, rnn_cfg *c) {
    const ot_node *n = k->node;
    memset(c, 0, sizeof *c);
    c->cell = cell;
    c->gates = k_gates[cell];
    const char *dir = ot_node_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) c->num_dir = 1;
    else if (strcmp(dir, "reverse") == 0) c->num_dir = 1, c->reverse = true;
    else if (strcmp(dir, "bidirectional") == 0) c->num_dir = 2;
    else return ot_node_err(k, OCTET_ERR_PARSE, "direction '%s' is not forward, reverse or bidirectional", dir);

    c->hidden = -1;
    if (ot_node_attr(n, "hidden_size")) {
        c->hidden = ot_node_attr_int(n, "hidden_size", -1);
        if (c->hidden <= 0)
            return ot_node_err(k, OCTET_ERR_PARSE, "hidden_size %lld must be > 0", (long long)c->hidden);
    }
    const ot_attr *clip = ot_node_attr(n, "clip");
    if (clip) {
        c->has_clip = true;
        c->clip = ot_node_attr_float(n, "clip", 0.0f);
        if (!(c->clip > 0.0f)) return ot_node_err(k, OCTET_ERR_PARSE, "clip %g must be > 0", (double)c->clip);
    }
    int64_t v = ot_node_attr_int(n, "input_forget", 0);
    if (v != 0 && v != 1) return ot_node_err(k, OCTET_ERR_PARSE, "input_forget must be 0 or 1, got %lld", (long long)v);
    c->input_forget = v == 1 && cell == CELL_LSTM;
    v = ot_node_attr_int(n, "linear_before_reset", 0);
    c->lbr = v != 0 && cell == CELL_GRU;
    v = ot_node_attr_int(n, "layout", 0);
    if (v != 0 && v != 1) return ot_node_err(k, OCTET_ERR_PARSE, "layout must be 0 or 1, got %lld", (long long)v);
    c->layout = (int)v;

    /* activations: per direction f (, g (, h)); alpha/beta are consumed in list order by the
     * activations that take them */
    static const act_kind defaults[3][3] = {
        {ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, ACT_TANH}};
    int per = k_nact[cell];
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < per; i++) c->act[d][i] = (rnn_act){defaults[cell][i], 0.0f, 0.0f};
    const ot_attr *acts = ot_node_attr(n, "activations");
    if (acts && acts->n > 0) {
        if (acts->type != OT_ATTR_STRINGS)
            return ot_node_err(k, OCTET_ERR_PARSE, "activations must be a list of strings");
        size_t cnt = acts->n;
        /* exactly per*num_dir; or one set for both directions; RNN's historical default lists two */
        bool ok = cnt == (size_t)(per * c->num_dir) || cnt == (size_t)per ||
                  (cell == CELL_RNN && c->num_dir == 1 && cnt == 2);
        if (!ok)
            return ot_node_err(k, OCTET_ERR_PARSE, "has %zu activations, expected %d for %d direction(s)", cnt,
                               per * c->num_dir, c->num_dir);
        const float *alphas = NULL, *betas = NULL;
        size_t na = ot_node_attr_floats(n, "activation_alpha", &alphas);
        size_t nb = ot_node_attr_floats(n, "activation_beta", &betas);
        size_t ia = 0, ib = 0;
        rnn_act parsed[6];
        for (size_t i = 0; i < cnt && i < 6; i++)
            OT_TRY(ot_rnn_act_parse(k, acts->strings[i] ? acts->strings[i] : "", alphas, na, &ia, betas, nb, &ib, &parsed[i]));
        for (int d = 0; d < c->num_dir; d++)
            for (int i = 0; i < per; i++) {
                size_t at = (size_t)d * per + i;
                c->act[d][i] = parsed[at < cnt && cnt >= (size_t)(per * c->num_dir) ? at : (size_t)i];
            }
    }
    return OCTET_OK;
}

/* ---- elementwise pieces -------------------------------------------------------------------- */

static void clip_vec(const rnn_cfg *c, float *x, int n) {
    if (!c->has_clip) return;
    float b = c->clip;
    for (int i = 0; i < n; i++) x[i] = fmaxf(-b, fminf(b, x[i]));
}

/* out += a · R^T for one part of one direction's recurrent weights. */
static void rec_mm(const rec_weights *w, int part, int m, const float *a, int lda, float *c, int ldc, int threads) {
    if (w->packed[part]) ot_rnn_gemm_acc(m, w->n[part], w->k, a, lda, w->packed[part], c, ldc, threads);
    else ot_sgemm_mt(threads, false, true, m, w->n[part], w->k, 1.0f, a, lda, w->src[part], w->k, 1.0f, c, ldc);
}

/* Row ranges of R[d] for the two parts. */
static void rec_parts(const rnn_cfg *c, int64_t H, int n[2], int64_t first[2]) {
    if (c->cell == CELL_GRU) {
        n[0] = (int)(2 * H), first[0] = 0;
        n[1] = (int)H, first[1] = 2 * H;
    } else {
        n[0] = (int)(c->gates * H), first[0] = 0;
        n[1] = 0, first[1] = 0;
    }
}

/* Small batches use the packed kernel; large ones are a real GEMM for the BLAS. */
#define RNN_PACKED_MAX_BATCH 8
/* The input projection uses packed W (no per-run packing by the BLAS) while X fits in L2. */
#define RNN_PACKED_MAX_X_FLOATS (128 * 1024)

static void free_packs(float *p[2][2]) {
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 2; j++) {
            ot_aligned_free(p[d][j]);
            p[d][j] = NULL;
        }
}

static octet_status make_packs(const rnn_cfg *c, const float *r, int64_t H, float *p[2][2]) {
    int n[2];
    int64_t first[2];
    rec_parts(c, H, n, first);
    size_t per_dir = (size_t)c->gates * H * H;
    for (int d = 0; d < c->num_dir; d++)
        for (int j = 0; j < 2; j++) {
            if (n[j] == 0) continue;
            p[d][j] = ot_aligned_alloc(ot_rnn_pack_floats(n[j], (int)H) * sizeof(float));
            if (!p[d][j]) {
                free_packs(p);
                return ot_err(OCTET_ERR_NOMEM, "out of memory packing recurrent weights");
            }
            ot_rnn_pack(r + d * per_dir + first[j] * H, n[j], (int)H, (int)H, p[d][j]);
        }
    return OCTET_OK;
}

/* ---- the step loops ----------------------------------------------------------------------- */

typedef struct {
    const rnn_cfg *cfg;
    int64_t T, B, I, H, GH, nd;
    const float *xw;       /* [rows][nd*GH], row = layout ? b*T+t : t*B+b, biases included */
    const float *bias;     /* B input or NULL */
    const float *peep;     /* P input or NULL */
    const float *init_h, *init_c;
    const int64_t *lens;
    float *y, *y_h, *y_c;  /* outputs or NULL */
    int threads;
    /* scratch */
    float *h, *c, *g, *tmp;
} rnn_run_ctx;

static size_t state_off(const rnn_run_ctx *r, int64_t d, int64_t b) {
    return (size_t)(r->cfg->layout ? b * r->nd + d : d * r->B + b) * (size_t)r->H;
}

static size_t y_off(const rnn_run_ctx *r, int64_t t, int64_t d, int64_t b) {
    return (size_t)(r->cfg->layout ? (b * r->T + t) * r->nd + d : (t * r->nd + d) * r->B + b) * (size_t)r->H;
}

static const float *xw_row(const rnn_run_ctx *r, int64_t t, int64_t b, int64_t d) {
    int64_t row = r->cfg->layout ? b * r->T + t : t * r->B + b;
    return r->xw + (size_t)row * (size_t)(r->nd * r->GH) + (size_t)(d * r->GH);
}

static void lstm_rows(const rnn_run_ctx *r, int d, const bool *active) {
    const rnn_cfg *c = r->cfg;
    int64_t H = r->H;
    const rnn_act *af = &c->act[d][0], *ag = &c->act[d][1], *ah = &c->act[d][2];
    const float *pi = r->peep ? r->peep + (size_t)d * 3 * H : NULL;
    const float *po = pi ? pi + H : NULL, *pf = pi ? pi + 2 * H : NULL;
    for (int64_t b = 0; b < r->B; b++) {
        if (!active[b]) continue;
        float *gi = r->g + (size_t)b * r->GH, *go = gi + H, *gf = gi + 2 * H, *gc = gi + 3 * H;
        float *cb = r->c + (size_t)b * H, *hb = r->h + (size_t)b * H, *tmp = r->tmp + (size_t)b * H;
        if (pi)
            for (int64_t j = 0; j < H; j++) {
                gi[j] += pi[j] * cb[j];
                if (!c->input_forget) gf[j] += pf[j] * cb[j];
            }
        clip_vec(c, gi, (int)H);
        ot_rnn_act_apply(af, gi, (int)H);
        if (c->input_forget) {
            for (int64_t j = 0; j < H; j++) gf[j] = 1.0f - gi[j];
        } else {
            clip_vec(c, gf, (int)H);
            ot_rnn_act_apply(af, gf, (int)H);
        }
        clip_vec(c, gc, (int)H);
        ot_rnn_act_apply(ag, gc, (int)H);
        for (int64_t j = 0; j < H; j++) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
        if (po)
            for (int64_t j = 0; j < H; j++) go[j] += po[j] * cb[j];
        clip_vec(c, go, (int)H);
        ot_rnn_act_apply(af, go, (int)H);
        memcpy(tmp, cb, (size_t)H * sizeof *tmp);
        ot_rnn_act_apply(ah, tmp, (int)H);
        for (int64_t j = 0; j < H; j++) hb[j] = go[j] * tmp[j];
    }
}

/* One direction over the whole sequence. */
static void run_direction(const rnn_run_ctx *r, int d, const rec_weights *w, bool *active, int64_t *tb) {
    const rnn_cfg *c = r->cfg;
    int64_t H = r->H, GH = r->GH, B = r->B;
    bool rev = d == 1 || c->reverse;
    size_t hb_bytes = (size_t)H * sizeof(float);

    for (int64_t b = 0; b < B; b++) {
        if (r->init_h) memcpy(r->h + b * H, r->init_h + state_off(r, d, b), hb_bytes);
        else memset(r->h + b * H, 0, hb_bytes);
        if (c->cell == CELL_LSTM) {
            if (r->init_c) memcpy(r->c + b * H, r->init_c + state_off(r, d, b), hb_bytes);
            else memset(r->c + b * H, 0, hb_bytes);
        }
    }
    int64_t max_len = 0;
    for (int64_t b = 0; b < B; b++) max_len = r->lens[b] > max_len ? r->lens[b] : max_len;

    for (int64_t s = 0; s < max_len; s++) {
        for (int64_t b = 0; b < B; b++) {
            active[b] = s < r->lens[b];
            tb[b] = active[b] ? (rev ? r->lens[b] - 1 - s : s) : 0;
            float *gb = r->g + (size_t)b * GH;
            if (active[b]) memcpy(gb, xw_row(r, tb[b], b, d), (size_t)GH * sizeof *gb);
            else memset(gb, 0, (size_t)GH * sizeof *gb);
        }
        switch (c->cell) {
        case CELL_LSTM:
            rec_mm(w, 0, (int)B, r->h, (int)H, r->g, (int)GH, r->threads);
            lstm_rows(r, d, active);
            break;
        case CELL_RNN:
            rec_mm(w, 0, (int)B, r->h, (int)H, r->g, (int)GH, r->threads);
            for (int64_t b = 0; b < B; b++) {
                if (!active[b]) continue;
                float *gb = r->g + (size_t)b * GH;
                clip_vec(c, gb, (int)H);
                ot_rnn_act_apply(&c->act[d][0], gb, (int)H);
                memcpy(r->h + b * H, gb, hb_bytes);
            }
            break;
        case CELL_GRU: {
            const float *rbh = r->bias ? r->bias + (size_t)d * 2 * GH + GH + 2 * H : NULL;
            rec_mm(w, 0, (int)B, r->h, (int)H, r->g, (int)GH, r->threads); /* z, r */
            if (c->lbr) {
                memset(r->tmp, 0, (size_t)B * hb_bytes);
                rec_mm(w, 1, (int)B, r->h, (int)H, r->tmp, (int)H, r->threads); /* H·Rh^T */
            }
            for (int64_t b = 0; b < B; b++) {
                float *gb = r->g + (size_t)b * GH, *tmp = r->tmp + (size_t)b * H, *hb = r->h + (size_t)b * H;
                if (!active[b]) {
                    if (!c->lbr) memset(tmp, 0, hb_bytes);
                    continue;
                }
                clip_vec(c, gb, (int)(2 * H));
                ot_rnn_act_apply(&c->act[d][0], gb, (int)(2 * H));
                if (!c->lbr)
                    for (int64_t j = 0; j < H; j++) tmp[j] = gb[H + j] * hb[j]; /* r ⊙ H */
            }
            if (!c->lbr) rec_mm(w, 1, (int)B, r->tmp, (int)H, r->g + 2 * H, (int)GH, r->threads);
            for (int64_t b = 0; b < B; b++) {
                if (!active[b]) continue;
                float *z = r->g + (size_t)b * GH, *rg = z + H, *gh = z + 2 * H;
                float *tmp = r->tmp + (size_t)b * H, *hb = r->h + (size_t)b * H;
                if (c->lbr)
                    for (int64_t j = 0; j < H; j++) gh[j] += rg[j] * (tmp[j] + (rbh ? rbh[j] : 0.0f));
                clip_vec(c, gh, (int)H);
                ot_rnn_act_apply(&c->act[d][1], gh, (int)H);
                for (int64_t j = 0; j < H; j++) hb[j] = (1.0f - z[j]) * gh[j] + z[j] * hb[j];
            }
            break;
        }
        }
        if (r->y)
            for (int64_t b = 0; b < B; b++)
                if (active[b]) memcpy(r->y + y_off(r, tb[b], d, b), r->h + b * H, hb_bytes);
    }
    for (int64_t b = 0; b < B; b++) {
        bool any = r->lens[b] > 0; /* a zero-length sequence gives zero final states (as ONNX Runtime) */
        if (r->y_h) {
            float *dst = r->y_h + state_off(r, d, b);
            if (any) memcpy(dst, r->h + b * H, hb_bytes);
            else memset(dst, 0, hb_bytes);
        }
        if (r->y_c) {
            float *dst = r->y_c + state_off(r, d, b);
            if (any) memcpy(dst, r->c + b * H, hb_bytes);
            else memset(dst, 0, hb_bytes);
        }
    }
}

/* run_direction with this direction's own scratch (h, c, tmp, gates laid out in ws). */
static void run_with_scratch(const rnn_run_ctx *r, int d, const rec_weights *w, float *ws, bool *active, int64_t *tb) {
    rnn_run_ctx rd = *r;
    size_t bh = (size_t)(r->B ? r->B : 1) * (size_t)r->H;
    rd.h = ws, rd.c = ws + bh, rd.tmp = ws + 2 * bh, rd.g = ws + 3 * bh;
    run_direction(&rd, d, w, active, tb);
}

/* ---- validation and the run --------------------------------------------------------------- */

static octet_status check_float(const ot_kernel *k, const octet_tensor *t, int i, const char *name, int rank) {
    if (!t) return OCTET_OK;
    if (t->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %s is %s; only float32 is supported", name,
                           octet_dtype_name(t->dtype));
    if (t->ndim != rank)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %s (input %d) must have rank %d, got %d", name, i, rank, t->ndim);
    return OCTET_OK;
}

static octet_status check_dims(const ot_kernel *k, const octet_tensor *t, const char *name, int64_t d0, int64_t d1,
                               int64_t d2) {
    if (!t) return OCTET_OK;
    int64_t want[3] = {d0, d1, d2};
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] != want[i]) {
            char got[96];
            ot_shape_str(got, sizeof got, t->ndim, t->dims);
            if (t->ndim == 2)
                return ot_node_err(k, OCTET_ERR_SHAPE, "input %s must have shape [%lld,%lld], got %s", name,
                                   (long long)d0, (long long)d1, got);
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %s must have shape [%lld,%lld,%lld], got %s", name,
                               (long long)d0, (long long)d1, (long long)d2, got);
        }
    return OCTET_OK;
}

static octet_status rnn_run(ot_kernel *k, cell_kind cell, const octet_tensor *const *in, int n_in, octet_tensor **out,
                            int n_out) {
    int max_in = cell == CELL_LSTM ? 8 : 6, max_out = cell == CELL_LSTM ? 3 : 2;
    OT_TRY(ot_check_inputs(k, in, n_in, 3, max_in));
    if (n_out > max_out) return ot_node_err(k, OCTET_ERR_PARSE, "has %d outputs, at most %d allowed", n_out, max_out);
    rnn_state *st = k->state;
    rnn_cfg local;
    if (!st) OT_TRY(parse_cfg(k, cell, &local)); /* folded at plan time: no prepare */
    const rnn_cfg *c = st ? &st->cfg : &local;

    const octet_tensor *X = in[0], *W = in[1], *R = in[2];
    const octet_tensor *Bi = n_in > 3 ? in[3] : NULL, *SL = n_in > 4 ? in[4] : NULL;
    const octet_tensor *H0 = n_in > 5 ? in[5] : NULL, *C0 = n_in > 6 ? in[6] : NULL, *P = n_in > 7 ? in[7] : NULL;
    OT_TRY(check_float(k, X, 0, "X", 3));
    OT_TRY(check_float(k, W, 1, "W", 3));
    OT_TRY(check_float(k, R, 2, "R", 3));
    OT_TRY(check_float(k, Bi, 3, "B", 2));
    OT_TRY(check_float(k, H0, 5, "initial_h", 3));
    OT_TRY(check_float(k, C0, 6, "initial_c", 3));
    OT_TRY(check_float(k, P, 7, "P", 2));

    int64_t T = c->layout ? X->dims[1] : X->dims[0], B = c->layout ? X->dims[0] : X->dims[1], I = X->dims[2];
    int64_t nd = c->num_dir, G = c->gates, H = R->dims[2];
    if (c->hidden >= 0 && c->hidden != H)
        return ot_node_err(k, OCTET_ERR_SHAPE, "hidden_size is %lld but R has %lld columns", (long long)c->hidden,
                           (long long)H);
    if (H <= 0) return ot_node_err(k, OCTET_ERR_SHAPE, "R has no columns (hidden size 0)");
    int64_t GH = G * H;
    OT_TRY(check_dims(k, W, "W", nd, GH, I));
    OT_TRY(check_dims(k, R, "R", nd, GH, H));
    OT_TRY(check_dims(k, Bi, "B", nd, 2 * GH, 0));
    int64_t s0 = c->layout ? B : nd, s1 = c->layout ? nd : B;
    OT_TRY(check_dims(k, H0, "initial_h", s0, s1, H));
    OT_TRY(check_dims(k, C0, "initial_c", s0, s1, H));
    OT_TRY(check_dims(k, P, "P", nd, 3 * H, 0));
    /* the GEMMs take int sizes */
    if (T * B > INT_MAX / 8 || nd * GH > INT_MAX / 8 || I > INT_MAX / 8 || H > INT_MAX / 8 ||
        (double)T * B * nd * GH > 1e10)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "sizes too large (seq %lld, batch %lld, hidden %lld)",
                           (long long)T, (long long)B, (long long)H);

    octet_status s = OCTET_OK;
    int64_t *lens = ot_malloc((size_t)(B > 0 ? B : 1) * sizeof *lens);
    if (!lens) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool short_seq = false;
    if (SL) {
        if (!ot_dtype_is_int(SL->dtype) || SL->ndim != 1 || SL->dims[0] != B) {
            char got[96];
            ot_shape_str(got, sizeof got, SL->ndim, SL->dims);
            free(lens);
            return ot_node_err(k, OCTET_ERR_SHAPE, "sequence_lens must be int32[%lld], got %s%s", (long long)B,
                               octet_dtype_name(SL->dtype), got);
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
    } else {
        for (int64_t b = 0; b < B; b++) lens[b] = T;
    }

    /* outputs */
    octet_tensor *Y = n_out > 0 ? out[0] : NULL, *Yh = n_out > 1 ? out[1] : NULL, *Yc = n_out > 2 ? out[2] : NULL;
    int64_t ydims[4] = {T, nd, B, H}, ydims1[4] = {B, T, nd, H}, hdims[3] = {s0, s1, H};
    if (Y && (s = ot_tensor_alloc(Y, OCTET_FLOAT, 4, c->layout ? ydims1 : ydims)) != OCTET_OK) goto done;
    if (Yh && (s = ot_tensor_alloc(Yh, OCTET_FLOAT, 3, hdims)) != OCTET_OK) goto done;
    if (Yc && (s = ot_tensor_alloc(Yc, OCTET_FLOAT, 3, hdims)) != OCTET_OK) goto done;
    if (Y && short_seq) memset(Y->data, 0, ot_tensor_nbytes(Y));

    rnn_run_ctx r = {c, T, B, I, H, GH, nd, NULL, Bi ? Bi->data : NULL, P ? P->data : NULL,
                     H0 ? H0->data : NULL, C0 ? C0->data : NULL, lens,
                     Y ? Y->data : NULL, Yh ? Yh->data : NULL, Yc ? Yc->data : NULL,
                     k->threads > 0 ? k->threads : 1, NULL, NULL, NULL, NULL};
    float *xw = NULL, *work = NULL, *packs[2][2] = {{NULL, NULL}, {NULL, NULL}};
    bool *active = NULL;
    int64_t *tb = NULL;
    size_t rows = (size_t)(T * B), ncol = (size_t)(nd * GH), bb = (size_t)(B ? B : 1);
    size_t bh = bb * (size_t)H, per_dir = bh * 3 + bb * (size_t)GH; /* h, c, tmp, gates */
    xw = ot_aligned_alloc((rows ? rows : 1) * ncol * sizeof *xw);
    work = ot_aligned_alloc(per_dir * (size_t)nd * sizeof *work);
    active = ot_malloc(bb * (size_t)nd * sizeof *active);
    tb = ot_malloc(bb * (size_t)nd * sizeof *tb);
    if (!xw || !work || !active || !tb) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    r.xw = xw;

    /* XW = X·W^T + folded biases, for every step and direction in one GEMM */
    if (rows) {
        float *bias_row = xw; /* fill row 0, then copy it down */
        for (int64_t d = 0; d < nd; d++) {
            float *dst = bias_row + d * GH;
            const float *wb = Bi ? (const float *)Bi->data + d * 2 * GH : NULL, *rb = wb ? wb + GH : NULL;
            for (int64_t j = 0; j < GH; j++) {
                bool skip_rb = c->lbr && j >= 2 * H; /* GRU linear_before_reset: Rbh stays inside r ⊙ (...) */
                dst[j] = wb ? wb[j] + (skip_rb ? 0.0f : rb[j]) : 0.0f;
            }
        }
        for (size_t i = 1; i < rows; i++) memcpy(xw + i * ncol, bias_row, ncol * sizeof *xw);
        if (st && st->w_const == W && st->wpack && rows * (size_t)I <= RNN_PACKED_MAX_X_FLOATS)
            ot_rnn_gemm_acc((int)rows, (int)ncol, (int)I, X->data, (int)I, st->wpack, xw, (int)ncol, r.threads);
        else
            ot_sgemm_mt(r.threads, false, true, (int)rows, (int)ncol, (int)I, 1.0f, X->data, (int)I, W->data, (int)I,
                        1.0f, xw, (int)ncol);
    }

    /* recurrent weights: prepared packs when R is the constant they came from */
    bool use_packed = B <= RNN_PACKED_MAX_BATCH;
    bool prepared = st && st->r_const == R && st->packed[0][0];
    if (use_packed && !prepared && (s = make_packs(c, R->data, H, packs)) != OCTET_OK) goto cleanup;
    int pn[2];
    int64_t first[2];
    rec_parts(c, H, pn, first);
    rec_weights w[2];
    for (int d = 0; d < (int)nd; d++) {
        const float *Rd = (const float *)R->data + (size_t)d * GH * H;
        w[d] = (rec_weights){{pn[0], pn[1]}, (int)H, {Rd + first[0] * H, Rd + first[1] * H}, {NULL, NULL}};
        if (use_packed)
            for (int j = 0; j < 2; j++) w[d].packed[j] = pn[j] ? (prepared ? st->packed[d][j] : packs[d][j]) : NULL;
    }
    /* Two directions with two or more threads: one direction per thread, no per-step barriers
     * (each writes its own half of the outputs and has its own scratch). Otherwise the threads go
     * to the per-step products. */
    if (nd == 2 && r.threads >= 2 && !omp_in_parallel()) {
        r.threads /= 2;
#pragma omp parallel for num_threads(2) schedule(static, 1)
        for (int d = 0; d < 2; d++)
            run_with_scratch(&r, d, &w[d], work + per_dir * (size_t)d, active + bb * d, tb + bb * d);
    } else {
        for (int d = 0; d < (int)nd; d++)
            run_with_scratch(&r, d, &w[d], work + per_dir * (size_t)d, active + bb * d, tb + bb * d);
    }

cleanup:
    free_packs(packs);
    ot_aligned_free(xw);
    ot_aligned_free(work);
    free(active);
    free(tb);
done:
    free(lens);
    return s;
}

/* ---- op entry points ---------------------------------------------------------------------- */

static void rnn_release(void *state) {
    rnn_state *st = state;
    if (!st) return;
    free_packs(st->packed);
    ot_aligned_free(st->wpack);
    free(st);
}

static octet_status rnn_prepare(ot_kernel *k, cell_kind cell, const octet_tensor *const *consts, int n_in) {
    rnn_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = parse_cfg(k, cell, &st->cfg);
    if (s != OCTET_OK) {
        free(st);
        return s;
    }
    const octet_tensor *R = n_in > 2 ? consts[2] : NULL;
    const rnn_cfg *c = &st->cfg;
    /* pack only a well-formed R; run() reports anything else */
    if (R && R->dtype == OCTET_FLOAT && R->ndim == 3 && R->dims[0] == c->num_dir && R->dims[2] > 0 &&
        R->dims[2] < INT_MAX / 8 && R->dims[1] == c->gates * R->dims[2] && (c->hidden < 0 || c->hidden == R->dims[2])) {
        s = make_packs(c, R->data, R->dims[2], st->packed);
        if (s != OCTET_OK) {
            free(st);
            return s;
        }
        st->r_const = R;
    }
    const octet_tensor *W = n_in > 1 ? consts[1] : NULL;
    if (W && W->dtype == OCTET_FLOAT && W->ndim == 3 && W->dims[0] == c->num_dir && W->dims[1] % c->gates == 0 &&
        W->dims[2] > 0 && W->dims[0] * W->dims[1] > 0 && W->dims[0] * W->dims[1] < INT_MAX / 8 &&
        W->dims[2] < INT_MAX / 8) {
        int n = (int)(W->dims[0] * W->dims[1]), kk = (int)W->dims[2];
        st->wpack = ot_aligned_alloc(ot_rnn_pack_floats(n, kk) * sizeof(float));
        if (!st->wpack) {
            rnn_release(st);
            return ot_err(OCTET_ERR_NOMEM, "out of memory packing input weights");
        }
        ot_rnn_pack(W->data, n, kk, kk, st->wpack);
        st->w_const = W;
    }
    k->state = st;
    return OCTET_OK;
}

static octet_status lstm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return rnn_prepare(k, CELL_LSTM, consts, n_in);
}
static octet_status gru_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return rnn_prepare(k, CELL_GRU, consts, n_in);
}
static octet_status rnn1_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return rnn_prepare(k, CELL_RNN, consts, n_in);
}
static octet_status lstm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return rnn_run(k, CELL_LSTM, in, n_in, out, n_out);
}
static octet_status gru_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return rnn_run(k, CELL_GRU, in, n_in, out, n_out);
}
static octet_status rnn1_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return rnn_run(k, CELL_RNN, in, n_in, out, n_out);
}

const ot_op_def ot_ops_rnn[] = {
    {"", "LSTM", lstm_prepare, lstm_run, rnn_release},
    {"", "GRU", gru_prepare, gru_run, rnn_release},
    {"", "RNN", rnn1_prepare, rnn1_run, rnn_release},
    {NULL, NULL, NULL, NULL, NULL},
};
