/* qgemm driver: validation, B packing (shared part), zero-point folding, blocking and threads.
 * The arithmetic each variant does is described in qgemm_internal.h. */
#include <limits.h>
#include <omp.h>
#include <stdlib.h>

#include "kernels/qgemm_internal.h"
#include "util/mem.h"
#include "util/status.h"

/* Bytes of packed A a thread keeps per block; with the B strip this stays in L2. */
#define OT_QGEMM_A_BUDGET (160 * 1024)

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

static int32_t b_at(const ot_qgemm_b *d, int k, int n) {
    size_t off = d->b_trans ? (size_t)n * (size_t)d->ldb + (size_t)k : (size_t)k * (size_t)d->ldb + (size_t)n;
    return d->b_signed ? (int32_t)((const int8_t *)d->b)[off] : (int32_t)((const uint8_t *)d->b)[off];
}

static int32_t zb_at(const ot_qgemm_b *d, int n) {
    if (!d->zb) return 0;
    return d->zb[d->zb_count == 1 ? 0 : n];
}

static octet_status check_b(const ot_qgemm_b *d) {
    if (!d || d->K < 0 || d->N < 0) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: bad B shape");
    if (d->K > 0 && d->N > 0 && !d->b) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: B is NULL");
    if (d->ldb < (d->b_trans ? d->K : d->N) || d->ldb < 1)
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: ldb %d too small", d->ldb);
    if (d->zb && d->zb_count != 1 && d->zb_count != d->N)
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: B zero point count %d is neither 1 nor N=%d", d->zb_count,
                      d->N);
    int lo = d->b_signed ? -128 : 0, hi = d->b_signed ? 127 : 255;
    for (int n = 0; d->zb && n < d->zb_count; n++)
        if (d->zb[n] < lo || d->zb[n] > hi)
            return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: B zero point %d out of range", (int)d->zb[n]);
    /* Packed panels hold up to 2 bytes per element; keep all index math in int/size_t range. */
    if ((int64_t)(d->K + 4) * (int64_t)(d->N + 32) > (int64_t)INT_MAX / 4)
        return ot_err(OCTET_ERR_UNSUPPORTED, "qgemm: B of %d x %d is too large", d->K, d->N);
    return OCTET_OK;
}

static int32_t za_u_of(int32_t za, bool a_signed) { return a_signed ? za + 128 : za; }

/* colcorr[n] = bias[n] - za_u * colsum[n], wrapping. */
static void fold_bias(int32_t *dst, const ot_qgemm_packed *p, int32_t za_u) {
    for (int n = 0; n < p->npad; n++)
        dst[n] = (int32_t)((uint32_t)p->bias[n] - (uint32_t)za_u * (uint32_t)p->colsum[n]);
}

void ot_qgemm_packed_free(ot_qgemm_packed *p) {
    if (!p) return;
    ot_aligned_free(p->colsum);
    ot_aligned_free(p->bias);
    ot_aligned_free(p->zbk);
    ot_aligned_free(p->colcorr);
    ot_aligned_free(p->data);
    ot_aligned_free(p->data2);
    free(p);
}

void ot_qgemm_pack_b_quads(void *dst, const int16_t *bk, int K, int N, int kpad, int npad, int nr) {
    int8_t *d = dst;
    int kq = kpad / 4;
    for (int s = 0; s < npad / nr; s++)
        for (int q = 0; q < kq; q++)
            for (int j = 0; j < nr; j++) {
                int n = s * nr + j;
                int8_t *o = d + ((size_t)s * kq + q) * 4 * (size_t)nr + (size_t)j * 4;
                for (int t = 0; t < 4; t++) {
                    int k = 4 * q + t;
                    o[t] = (n < N && k < K) ? (int8_t)bk[(size_t)k * N + n] : 0;
                }
            }
}

/* Whether vpmaddubsw on (A_u, Bk) is exact for every A_u in [0, 255]: Bk = B - (unsigned ? 128 : 0),
 * and for each column and each pair of k (2p, 2p + 1) the positive parts add up to at most 128 and so
 * do the negative parts (255 * 128 <= 32767 and >= -32768). */
bool ot_qgemm_b_fits_u8s7(const ot_qgemm_b *d) {
    int32_t shift = d->b_signed ? 0 : 128;
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k += 2) {
            int32_t b0 = b_at(d, k, n) - shift, b1 = k + 1 < d->K ? b_at(d, k + 1, n) - shift : 0;
            int32_t pos = (b0 > 0 ? b0 : 0) + (b1 > 0 ? b1 : 0), neg = (b0 < 0 ? -b0 : 0) + (b1 < 0 ? -b1 : 0);
            if (pos > 128 || neg > 128) return false;
        }
    return true;
}

int ot_qgemm_packed_k(const ot_qgemm_packed *p) { return p->K; }
int ot_qgemm_packed_n(const ot_qgemm_packed *p) { return p->N; }
ot_isa ot_qgemm_packed_isa(const ot_qgemm_packed *p) { return p->isa_id; }
const char *ot_qgemm_packed_kernel(const ot_qgemm_packed *p) { return p->isa->name; }

static octet_status pack_with(ot_qgemm_packed **out, const ot_qgemm_b *d, ot_isa isa_id, const ot_qgemm_isa *isa);

octet_status ot_qgemm_pack_b_isa(ot_qgemm_packed **out, const ot_qgemm_b *d, ot_isa isa_id) {
    if (!out) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: NULL output");
    *out = NULL;
    OT_TRY(check_b(d));
    const ot_kernels *kt = ot_kernels_for(isa_id);
    if (!kt) return ot_err(OCTET_ERR_UNSUPPORTED, "qgemm: this CPU cannot run the %s kernels", ot_isa_name(isa_id));
    const ot_qgemm_isa *isa = kt->qgemm;
    /* AVX2: vpmaddubsw (exact) on B as it is when it fits, else on A split per call -- unless K or N is
     * small, where splitting A costs more than the kernel saves (mobilenet_v2's 96 -> 24 and 192 -> 32
     * 1x1 convs ran 1.1-1.4x slower split; K >= 147 with N >= 64 ran 0.75-0.97x). */
    if (isa == &ot_qgemm_isa_avx2) {
        if (ot_qgemm_b_fits_u8s7(d)) isa = &ot_qgemm_isa_avx2_u8s7;
        else if (d->K >= 128 && d->N >= 48) isa = &ot_qgemm_isa_avx2_split;
    }
    return pack_with(out, d, isa_id, isa);
}

octet_status ot_qgemm_pack_b_kernel(ot_qgemm_packed **out, const ot_qgemm_b *d, const char *kernel) {
    if (!out) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: NULL output");
    *out = NULL;
    OT_TRY(check_b(d));
    static const struct { const ot_qgemm_isa *isa; ot_isa id; } all[] = {
        {&ot_qgemm_isa_scalar, OT_ISA_SCALAR},         {&ot_qgemm_isa_avx2, OT_ISA_AVX2},
        {&ot_qgemm_isa_avx2_u8s7, OT_ISA_AVX2},        {&ot_qgemm_isa_avx2_split, OT_ISA_AVX2},
        {&ot_qgemm_isa_avx512vnni, OT_ISA_AVX512VNNI},
    };
    for (size_t i = 0; kernel && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i].isa->name, kernel) != 0) continue;
        if (!ot_kernels_for(all[i].id))
            return ot_err(OCTET_ERR_UNSUPPORTED, "qgemm: this CPU cannot run the %s kernel", kernel);
        if (all[i].isa == &ot_qgemm_isa_avx2_u8s7 && !ot_qgemm_b_fits_u8s7(d))
            return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: B does not fit the avx2-u8s7 kernel");
        return pack_with(out, d, all[i].id, all[i].isa);
    }
    return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: no kernel named '%s'", kernel ? kernel : "(null)");
}

static octet_status pack_with(ot_qgemm_packed **out, const ot_qgemm_b *d, ot_isa isa_id, const ot_qgemm_isa *isa) {
    int K = d->K, N = d->N;
    ot_qgemm_packed *p = ot_calloc(1, sizeof *p);
    if (!p) return ot_err(OCTET_ERR_NOMEM, "qgemm: out of memory");
    p->isa = isa;
    p->isa_id = isa_id;
    p->K = K;
    p->N = N;
    p->kpad = round_up(K, isa->kstep);
    p->npad = round_up(N > 0 ? N : 1, isa->nr);
    size_t nbytes = (size_t)p->npad * sizeof(int32_t);
    p->colsum = ot_aligned_alloc(nbytes);
    p->bias = ot_aligned_alloc(nbytes);
    p->colcorr = ot_aligned_alloc(nbytes);
    p->data = ot_aligned_alloc(isa->b_size(p->kpad, p->npad));
    int16_t *bk = ot_malloc((size_t)K * (size_t)N * sizeof(int16_t));
    if (!p->colsum || !p->bias || !p->colcorr || !p->data || !bk) goto nomem;
    memset(p->colsum, 0, nbytes);
    memset(p->bias, 0, nbytes);

    /* Kernel-domain B and the per-column sums. */
    int32_t shift = (isa->bk_kind == OT_QGEMM_BK_S8 && !d->b_signed) ? 128 : 0;
    bool any_zbk = false;
    for (int n = 0; n < N; n++) {
        int32_t zb = zb_at(d, n);
        uint32_t sum = 0;
        for (int k = 0; k < K; k++) {
            int32_t v = b_at(d, k, n);
            sum += (uint32_t)(v - zb);
            bk[(size_t)k * N + n] = (int16_t)(isa->bk_kind == OT_QGEMM_BK_ZB ? v - zb : v - shift);
        }
        p->colsum[n] = (int32_t)sum;
        if (d->bias) p->bias[n] = d->bias[n];
        if (isa->bk_kind == OT_QGEMM_BK_S8 && zb - shift != 0) any_zbk = true;
    }
    if (any_zbk) {
        p->zbk = ot_aligned_alloc(nbytes);
        if (!p->zbk) goto nomem;
        memset(p->zbk, 0, nbytes);
        for (int n = 0; n < N; n++) p->zbk[n] = zb_at(d, n) - shift;
    }
    isa->pack_b(p->data, bk, K, N, p->kpad, p->npad);
    if (isa->pack_b2) {
        p->data2 = ot_aligned_alloc(isa->b2_size(p->kpad, p->npad));
        if (!p->data2) goto nomem;
        for (int k = 0; k < K && p->zbk; k++)
            for (int n = 0; n < N; n++) bk[(size_t)k * N + n] = (int16_t)(bk[(size_t)k * N + n] - p->zbk[n]);
        isa->pack_b2(p->data2, bk, K, N, p->kpad, p->npad);
    }
    free(bk);
    p->za_u_hint = za_u_of(d->za_hint, d->a_signed_hint);
    fold_bias(p->colcorr, p, p->za_u_hint);
    *out = p;
    return OCTET_OK;
nomem:
    free(bk);
    ot_qgemm_packed_free(p);
    return ot_err(OCTET_ERR_NOMEM, "qgemm: out of memory packing B (%d x %d)", K, N);
}

octet_status ot_qgemm_pack_b(ot_qgemm_packed **out, const ot_qgemm_b *d) {
    return ot_qgemm_pack_b_isa(out, d, ot_kernels_get()->isa);
}

static octet_status check_out(const ot_qgemm_out *o, int N) {
    if (!o) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: NULL output description");
    if (o->type < OT_QGEMM_OUT_S32 || o->type > OT_QGEMM_OUT_S8)
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: bad output type %d", (int)o->type);
    if (o->ldc < N) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: ldc %d < N %d", o->ldc, N);
    if (o->type != OT_QGEMM_OUT_S32 && !o->scale) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: scale is NULL");
    if (o->type == OT_QGEMM_OUT_U8 || o->type == OT_QGEMM_OUT_S8) {
        int lo = o->type == OT_QGEMM_OUT_U8 ? 0 : -128, hi = o->type == OT_QGEMM_OUT_U8 ? 255 : 127;
        if (o->lo < lo || o->hi > hi || o->lo > o->hi || o->zp < lo || o->zp > hi)
            return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: output zero point %d / clamp [%d, %d] out of range",
                          (int)o->zp, (int)o->lo, (int)o->hi);
    }
    return OCTET_OK;
}

static octet_status check_a(int M, const void *a, int lda, int K, int32_t za, bool a_signed) {
    if (M < 0) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: M < 0");
    if (M > 0 && K > 0 && !a) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: A is NULL");
    if (lda < K || lda < 1) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: lda %d < K %d", lda, K);
    if (a_signed ? (za < -128 || za > 127) : (za < 0 || za > 255))
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: A zero point %d out of range", (int)za);
    return OCTET_OK;
}

/* Per-call padded column parameters (scale, bias_f, colcorr for another za). */
typedef struct {
    float *scale, *biasf;
    int32_t *colcorr;
} col_params;

static void col_params_free(col_params *c) {
    ot_aligned_free(c->scale);
    ot_aligned_free(c->biasf);
    ot_aligned_free(c->colcorr);
}

octet_status ot_qgemm(const ot_qgemm_packed *p, int M, const void *a, int lda, int32_t za, bool a_signed,
                      const ot_qgemm_out *o, int threads) {
    if (!p) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: packed B is NULL");
    int K = p->K, N = p->N;
    OT_TRY(check_a(M, a, lda, K, za, a_signed));
    OT_TRY(check_out(o, N));
    if (M == 0 || N == 0) return OCTET_OK;
    if (!o->c) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: C is NULL");

    const ot_qgemm_isa *isa = p->isa;
    col_params cp = {0};
    ot_qgemm_run r = {0};
    r.M = M;
    r.a = a;
    r.lda = lda;
    r.a_xor = a_signed ? 0x80 : 0;
    r.zbk = p->zbk;
    r.colsum = p->colsum;
    r.type = o->type;
    r.c = o->c;
    r.ldc = o->ldc;
    r.zp = o->zp;
    r.lo_f = (float)(o->lo - o->zp);
    r.hi_f = (float)(o->hi - o->zp);
    int32_t za_u = za_u_of(za, a_signed);
    r.za_u = za_u;
    size_t fbytes = (size_t)p->npad * sizeof(float);
    if (za_u == p->za_u_hint) {
        r.colcorr = p->colcorr;
    } else {
        cp.colcorr = ot_aligned_alloc(fbytes);
        if (!cp.colcorr) goto nomem;
        fold_bias(cp.colcorr, p, za_u);
        r.colcorr = cp.colcorr;
    }
    if (o->type != OT_QGEMM_OUT_S32 && o->type != OT_QGEMM_OUT_F32 && o->scale_per_col && p->npad == N) {
        /* N needs no padding: the caller's multipliers serve as they are (no bias_f for 8-bit outputs) */
        r.scale = o->scale;
        r.int_clamp = true;
        for (int n = 0; n < N; n++)
            if (!(fabsf(o->scale[n]) < 0.99f)) r.int_clamp = false;
    } else if (o->type != OT_QGEMM_OUT_S32) {
        cp.scale = ot_aligned_alloc(fbytes);
        cp.biasf = ot_aligned_alloc(fbytes);
        if (!cp.scale || !cp.biasf) goto nomem;
        r.int_clamp = true;
        for (int n = 0; n < p->npad; n++) {
            cp.scale[n] = n < N ? o->scale[o->scale_per_col ? n : 0] : 0.0f;
            cp.biasf[n] = (n < N && o->bias_f) ? o->bias_f[n] : 0.0f;
            if (!(fabsf(cp.scale[n]) < 0.99f)) r.int_clamp = false;   /* (NaN too) */
        }
        r.scale = cp.scale;
        r.biasf = cp.biasf;
    }

    /* Blocking: mb rows of packed A per block (L2), all columns unless threads need more blocks. */
    int mr = isa->mr, nr = isa->nr;
    int mtot = round_up(M, mr);
    size_t per_panel = isa->a_bytes ? isa->a_bytes(mr, p->kpad) : isa->scratch_size(mr, p->kpad, p->npad);
    int mb = mr * (int)(OT_QGEMM_A_BUDGET / (per_panel ? per_panel : 1));
    if (mb < mr) mb = mr;
    if (mb > mtot) mb = mtot;
    if (threads < 1) threads = 1;
    int target = threads > 1 ? threads * 4 : 1;
    int nbm = (M + mb - 1) / mb;
    if (nbm < target) {
        mb = round_up((M + target - 1) / target, mr);
        nbm = (M + mb - 1) / mb;
    }
    int nb = p->npad, nbn = 1;
    if (nbm < target) {
        int want = (target + nbm - 1) / nbm, strips = p->npad / nr;
        if (want > strips) want = strips;
        nb = round_up((p->npad + want - 1) / want, nr);
        nbn = (p->npad + nb - 1) / nb;
    }
    int nblocks = nbm * nbn;
    if (threads > nblocks) threads = nblocks;
    size_t scratch_bytes = isa->scratch_size(mb, p->kpad, p->npad);
    int failed = 0;

    if (threads <= 1) {
        void *scratch = ot_aligned_alloc(scratch_bytes);
        if (!scratch) goto nomem;
        for (int bi = 0; bi < nblocks; bi++) {
            int bm = bi / nbn, bn = bi % nbn;
            int m0 = bm * mb, m1 = m0 + mb < M ? m0 + mb : M;
            int n0 = bn * nb, n1 = n0 + nb < N ? n0 + nb : N;
            isa->block(p, &r, m0, m1, n0, n1, scratch);
        }
        ot_aligned_free(scratch);
    } else {
#pragma omp parallel num_threads(threads) reduction(| : failed)
        {
            void *scratch = ot_aligned_alloc(scratch_bytes);
            if (!scratch) failed = 1;
#pragma omp for schedule(dynamic, 1)
            for (int bi = 0; bi < nblocks; bi++) {
                if (!scratch) continue;
                int bm = bi / nbn, bn = bi % nbn;
                int m0 = bm * mb, m1 = m0 + mb < M ? m0 + mb : M;
                int n0 = bn * nb, n1 = n0 + nb < N ? n0 + nb : N;
                isa->block(p, &r, m0, m1, n0, n1, scratch);
            }
            ot_aligned_free(scratch);
        }
        if (failed) goto nomem;
    }
    col_params_free(&cp);
    return OCTET_OK;
nomem:
    col_params_free(&cp);
    return ot_err(OCTET_ERR_NOMEM, "qgemm: out of memory (M=%d K=%d N=%d)", M, K, N);
}

/* The reference: straight loops on the unpacked operands, wrapping int32 sums, scalar epilogue. */
octet_status ot_qgemm_ref(const ot_qgemm_b *d, int M, const void *a, int lda, int32_t za, bool a_signed,
                          const ot_qgemm_out *o) {
    OT_TRY(check_b(d));
    OT_TRY(check_a(M, a, lda, d->K, za, a_signed));
    OT_TRY(check_out(o, d->N));
    if (M == 0 || d->N == 0) return OCTET_OK;
    if (!o->c) return ot_err(OCTET_ERR_INVALID_ARG, "qgemm: C is NULL");
    int K = d->K, N = d->N;
    float lo_f = (float)(o->lo - o->zp), hi_f = (float)(o->hi - o->zp);
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            uint32_t acc = d->bias ? (uint32_t)d->bias[n] : 0u;
            int32_t zb = zb_at(d, n);
            for (int k = 0; k < K; k++) {
                size_t off = (size_t)m * (size_t)lda + (size_t)k;
                int32_t av = a_signed ? ((const int8_t *)a)[off] : ((const uint8_t *)a)[off];
                acc += (uint32_t)((av - za) * (b_at(d, k, n) - zb));
            }
            float sc = 0.0f, bf = 0.0f;
            if (o->type != OT_QGEMM_OUT_S32) sc = o->scale[o->scale_per_col ? n : 0];
            if (o->type == OT_QGEMM_OUT_F32 && o->bias_f) bf = o->bias_f[n];
            ot_qgemm_store_at(o->type, o->c, (size_t)m * (size_t)o->ldc + (size_t)n, (int32_t)acc, sc, bf, lo_f,
                              hi_f, o->zp);
        }
    }
    return OCTET_OK;
}
