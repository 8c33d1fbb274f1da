/* 8-bit convolution driver: layout changes, im2col tiles, and the choice of kernel (see qconv.h). */
#include "kernels/qconv.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dwconv_s8.h"
#include "kernels/strided_copy.h"
#include "util/mem.h"
#include "util/status.h"

/* Bytes of im2col tile one thread fills before handing it to the qgemm (about half of L2). */
#define QCONV_COL_BUDGET (192 * 1024)

struct ot_qconv {
    ot_qconv_desc d;            /* pointer members cleared; the copies live below */
    int T, K, Cg, Mg;           /* taps, GEMM depth T*Cg, channels per group in and out */
    int kk[3];                  /* kernel extents as 3-D (leading 1s) */
    float *scale;               /* [M] (U8/S8) */
    ot_qgemm_packed **pb;       /* [G], GEMM path */
    ot_dwconv_packed *dw;       /* depthwise path */
};

static int type_lo(bool sgn) { return sgn ? -128 : 0; }
static int type_hi(bool sgn) { return sgn ? 127 : 255; }

int ot_qconv_out_elem(const ot_qconv *q) { return q->d.out_type == OT_QGEMM_OUT_S32 ? 4 : 1; }

void ot_qconv_free(ot_qconv *q) {
    if (!q) return;
    if (q->pb)
        for (int g = 0; g < q->d.G; g++) ot_qgemm_packed_free(q->pb[g]);
    free(q->pb);
    ot_dwconv_s8_free(q->dw);
    free(q->scale);
    free(q);
}

static octet_status check_desc(const ot_qconv_desc *d) {
    if (!d || d->nsp < 1 || d->nsp > OT_QCONV_MAX_SP)
        return ot_err(OCTET_ERR_INVALID_ARG, "qconv: 1 to %d spatial dimensions", OT_QCONV_MAX_SP);
    if (d->C < 0 || d->M < 1 || d->G < 1 || d->C % d->G || d->M % d->G)
        return ot_err(OCTET_ERR_INVALID_ARG, "qconv: bad channel counts C=%d M=%d G=%d", d->C, d->M, d->G);
    int64_t T = 1;
    for (int i = 0; i < d->nsp; i++) {
        if (d->k[i] < 1) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: kernel extent %d", d->k[i]);
        T *= d->k[i];
        if (T > INT_MAX / 2) return ot_err(OCTET_ERR_UNSUPPORTED, "qconv: kernel too large");
    }
    if (T * (d->C / d->G) > INT_MAX / 2) return ot_err(OCTET_ERR_UNSUPPORTED, "qconv: kernel too large");
    if (T * d->C > 0 && !d->w) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL weights");
    if (d->zw && d->zw_count != 1 && d->zw_count != d->M)
        return ot_err(OCTET_ERR_INVALID_ARG, "qconv: weight zero point count %d is neither 1 nor M=%d", d->zw_count,
                      d->M);
    for (int i = 0; d->zw && i < d->zw_count; i++)
        if (d->zw[i] < type_lo(d->w_signed) || d->zw[i] > type_hi(d->w_signed))
            return ot_err(OCTET_ERR_INVALID_ARG, "qconv: weight zero point %d out of range", (int)d->zw[i]);
    if (d->zx < type_lo(d->x_signed) || d->zx > type_hi(d->x_signed))
        return ot_err(OCTET_ERR_INVALID_ARG, "qconv: input zero point %d out of range", (int)d->zx);
    if (d->out_type == OT_QGEMM_OUT_U8 || d->out_type == OT_QGEMM_OUT_S8) {
        bool ys = d->out_type == OT_QGEMM_OUT_S8;
        if (!d->scale || (d->scale_count != 1 && d->scale_count != d->M))
            return ot_err(OCTET_ERR_INVALID_ARG, "qconv: %d output scales for %d channels", d->scale_count, d->M);
        if (d->zy < type_lo(ys) || d->zy > type_hi(ys) || d->lo < type_lo(ys) || d->hi > type_hi(ys) || d->lo > d->hi)
            return ot_err(OCTET_ERR_INVALID_ARG, "qconv: output zero point %d / clamp [%d, %d] out of range",
                          (int)d->zy, (int)d->lo, (int)d->hi);
    } else if (d->out_type != OT_QGEMM_OUT_S32) {
        return ot_err(OCTET_ERR_INVALID_ARG, "qconv: output type must be int32, uint8 or int8");
    }
    return OCTET_OK;
}

static bool is_depthwise(const ot_qconv_desc *d) {
    return d->G == d->C && d->M == d->C && d->nsp <= 2 && d->out_type != OT_QGEMM_OUT_S32;
}

octet_status ot_qconv_create(ot_qconv **out, const ot_qconv_desc *d, ot_isa isa) {
    if (!out) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL output");
    *out = NULL;
    OT_TRY(check_desc(d));
    ot_qconv *q = ot_calloc(1, sizeof *q);
    if (!q) return ot_err(OCTET_ERR_NOMEM, "qconv: out of memory");
    q->d = *d;
    q->d.w = NULL;
    q->d.zw = NULL;
    q->d.bias = NULL;
    q->d.scale = NULL;
    q->Cg = d->C / d->G;
    q->Mg = d->M / d->G;
    q->T = 1;
    for (int i = 0; i < 3; i++) q->kk[i] = 1;
    for (int i = 0; i < d->nsp; i++) {
        q->T *= d->k[i];
        q->kk[3 - d->nsp + i] = d->k[i];
    }
    q->K = q->T * q->Cg;
    octet_status st = OCTET_OK;
    bool quant_out = d->out_type != OT_QGEMM_OUT_S32;
    if (quant_out) {
        q->scale = ot_malloc((size_t)d->M * sizeof(float));
        if (!q->scale) goto nomem;
        for (int m = 0; m < d->M; m++) q->scale[m] = d->scale[d->scale_count == 1 ? 0 : m];
    }

    if (is_depthwise(d)) {
        ot_dwconv_params p = {0};
        p.C = d->C;
        p.kh = d->nsp == 2 ? d->k[0] : 1;
        p.kw = d->k[d->nsp - 1];
        p.w = d->w;
        p.w_signed = d->w_signed;
        p.w_ckk = true;            /* ONNX [C][1][kh][kw] */
        p.zw = d->zw;
        p.zw_count = d->zw_count;
        p.bias = d->bias;
        p.zx = d->zx;
        p.x_signed = d->x_signed;
        p.scale = q->scale;
        p.scale_count = d->M;
        p.zy = d->zy;
        p.lo = d->lo;
        p.hi = d->hi;
        p.y_signed = d->out_type == OT_QGEMM_OUT_S8;
        st = ot_dwconv_s8_pack_isa(&q->dw, &p, isa);
        if (st != OCTET_OK) goto fail;
        *out = q;
        return OCTET_OK;
    }

    /* GEMM path: per group, B = weights reordered to [Mg][T][Cg] (b_trans, K = T*Cg). */
    q->pb = ot_calloc((size_t)d->G, sizeof *q->pb);
    size_t wbytes = (size_t)q->Mg * (size_t)q->K;
    uint8_t *wr = ot_malloc(wbytes ? wbytes : 1);
    if (!q->pb || !wr) {
        free(wr);
        goto nomem;
    }
    const uint8_t *w = d->w;
    for (int g = 0; g < d->G && st == OCTET_OK; g++) {
        for (int m = 0; m < q->Mg; m++) {
            const uint8_t *src = w + ((size_t)g * q->Mg + (size_t)m) * (size_t)q->K;   /* [Cg][T] */
            uint8_t *dst = wr + (size_t)m * q->K;                                      /* [T][Cg] */
            for (int c = 0; c < q->Cg; c++)
                for (int t = 0; t < q->T; t++) dst[(size_t)t * q->Cg + c] = src[(size_t)c * q->T + t];
        }
        ot_qgemm_b b = {0};
        b.K = q->K;
        b.N = q->Mg;
        b.b = wr;
        b.ldb = q->K > 0 ? q->K : 1;
        b.b_signed = d->w_signed;
        b.b_trans = true;
        if (d->zw) {
            b.zb = d->zw_count == 1 ? d->zw : d->zw + (size_t)g * q->Mg;
            b.zb_count = d->zw_count == 1 ? 1 : q->Mg;
        }
        b.bias = d->bias ? d->bias + (size_t)g * q->Mg : NULL;
        b.za_hint = d->zx;
        b.a_signed_hint = d->x_signed;
        st = ot_qgemm_pack_b_isa(&q->pb[g], &b, isa);
    }
    free(wr);
    if (st != OCTET_OK) goto fail;
    *out = q;
    return OCTET_OK;
nomem:
    st = ot_err(OCTET_ERR_NOMEM, "qconv: out of memory packing weights");
fail:
    ot_qconv_free(q);
    return st;
}

/* ---- run ---- */

typedef struct run_geom {
    int in[3], out[3], s[3], d[3], p[3];   /* 3-D, leading extents 1 */
    size_t S_in, S_out;
} run_geom;

static octet_status to_run_geom(const ot_qconv *q, const ot_qconv_geom *g, run_geom *r) {
    if (!g || g->N < 0) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: bad geometry");
    int nsp = q->d.nsp, off = 3 - nsp;
    for (int i = 0; i < 3; i++) r->in[i] = r->out[i] = r->s[i] = r->d[i] = 1, r->p[i] = 0;
    r->S_in = r->S_out = 1;
    for (int i = 0; i < nsp; i++) {
        if (g->in[i] < 0 || g->out[i] < 0 || g->s[i] < 1 || g->d[i] < 1 || g->p[i] < 0)
            return ot_err(OCTET_ERR_INVALID_ARG, "qconv: bad geometry");
        r->in[off + i] = g->in[i];
        r->out[off + i] = g->out[i];
        r->s[off + i] = g->s[i];
        r->d[off + i] = g->d[i];
        r->p[off + i] = g->p[i];
        r->S_in *= (size_t)g->in[i];
        r->S_out *= (size_t)g->out[i];
    }
    if (r->S_in > INT_MAX || r->S_out > INT_MAX) return ot_err(OCTET_ERR_UNSUPPORTED, "qconv: image too large");
    return OCTET_OK;
}

/* Rows [p0, p1) of the im2col matrix of group g: row = output pixel, K = T*Cg bytes, taps outer. */
static void im2col_nhwc(const ot_qconv *q, const run_geom *r, const uint8_t *x, int g, int p0, int p1, uint8_t *col) {
    const int C = q->d.C, Cg = q->Cg, K = q->K;
    const uint8_t zx = (uint8_t)q->d.zx;
    const size_t cg = (size_t)Cg;
    const int OW = r->out[2], OH = r->out[1];
    for (int p = p0; p < p1; p++) {
        int o2 = p % OW, rest = p / OW, o1 = rest % OH, o0 = rest / OH;
        uint8_t *dst = col + (size_t)(p - p0) * (size_t)K;
        for (int a0 = 0; a0 < q->kk[0]; a0++) {
            int i0 = o0 * r->s[0] - r->p[0] + a0 * r->d[0];
            bool in0 = i0 >= 0 && i0 < r->in[0];
            for (int a1 = 0; a1 < q->kk[1]; a1++) {
                int i1 = o1 * r->s[1] - r->p[1] + a1 * r->d[1];
                bool in01 = in0 && i1 >= 0 && i1 < r->in[1];
                size_t rowbase = in01 ? ((size_t)i0 * r->in[1] + (size_t)i1) * (size_t)r->in[2] : 0;
                for (int a2 = 0; a2 < q->kk[2]; a2++, dst += cg) {
                    int i2 = o2 * r->s[2] - r->p[2] + a2 * r->d[2];
                    if (in01 && i2 >= 0 && i2 < r->in[2])
                        memcpy(dst, x + (rowbase + (size_t)i2) * (size_t)C + (size_t)g * cg, cg);
                    else
                        memset(dst, zx, cg);
                }
            }
        }
    }
}

static ot_qgemm_out gemm_out(const ot_qconv *q, int g, void *yh, int esz) {
    ot_qgemm_out o = {0};
    o.type = q->d.out_type;
    o.c = (char *)yh + (size_t)g * q->Mg * esz;
    o.ldc = q->d.M;
    o.scale = q->scale ? q->scale + (size_t)g * q->Mg : NULL;
    o.scale_per_col = true;
    o.zp = q->d.zy;
    o.lo = q->d.lo;
    o.hi = q->d.hi;
    return o;
}

/* One channels-last image (or N images when rows_images > 1 in the pointwise case). */
static octet_status gemm_image(const ot_qconv *q, const run_geom *r, const uint8_t *xh, void *yh, int images,
                               int threads) {
    const int esz = ot_qconv_out_elem(q), G = q->d.G, K = q->K;
    bool pointwise = q->T == 1 && q->d.C > 0;
    for (int i = 0; i < 3; i++)
        if (r->s[i] != 1 || r->p[i] != 0 || r->in[i] != r->out[i]) pointwise = false;
    if (pointwise) {
        int rows = (int)r->S_out * images;
        for (int g = 0; g < G; g++) {
            ot_qgemm_out o = gemm_out(q, g, yh, esz);
            OT_TRY(ot_qgemm(q->pb[g], rows, xh + (size_t)g * q->Cg, q->d.C, q->d.zx, q->d.x_signed, &o, threads));
        }
        return OCTET_OK;
    }
    /* Tiles of P output pixels; enough work items to keep every thread busy. */
    const int S = (int)r->S_out, lda = K > 0 ? K : 1;
    int P = QCONV_COL_BUDGET / lda;
    if (P < 8) P = 8;
    if (P > S) P = S;
    if (threads > 1) {
        int want = (2 * threads + G - 1) / G;  /* tiles per group */
        int pmax = (S + want - 1) / want;
        if (pmax < 8) pmax = 8;
        if (P > pmax) P = pmax;
    }
    if (P < 1) P = 1;
    const int ntiles = (S + P - 1) / P, items = G * ntiles;
    int outer = threads > 1 && items >= threads ? threads : 1;
    int inner = outer > 1 ? 1 : threads;
    octet_status fail = OCTET_OK;
#pragma omp parallel num_threads(outer) if (outer > 1)
    {
        uint8_t *col = ot_aligned_alloc((size_t)P * (size_t)lda);
        octet_status mine = col ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "qconv: out of memory for im2col");
#pragma omp for schedule(dynamic, 1)
        for (int it = 0; it < items; it++) {
            if (mine != OCTET_OK) continue;
            int g = it / ntiles, p0 = (it % ntiles) * P, p1 = p0 + P < S ? p0 + P : S;
            im2col_nhwc(q, r, xh, g, p0, p1, col);
            ot_qgemm_out o = gemm_out(q, g, (char *)yh + (size_t)p0 * q->d.M * esz, esz);
            mine = ot_qgemm(q->pb[g], p1 - p0, col, lda, q->d.zx, q->d.x_signed, &o, inner);
        }
        ot_aligned_free(col);
        if (mine != OCTET_OK) {
#pragma omp critical(ot_qconv_fail)
            fail = mine;
        }
    }
    if (fail != OCTET_OK) return ot_err(fail, "qconv: convolution failed (out of memory?)");
    return OCTET_OK;
}

/* [rows][cols] -> [cols][rows], elements of esz bytes. */
static void transpose(void *dst, const void *src, size_t rows, size_t cols, size_t esz, int threads) {
    int64_t dims[2] = {(int64_t)cols, (int64_t)rows};
    int64_t ds[2] = {(int64_t)rows, 1}, ss[2] = {1, (int64_t)cols};
    ot_strided_copy(dst, ds, src, ss, 2, dims, esz, threads);
}

octet_status ot_qconv_run(const ot_qconv *q, const ot_qconv_geom *g, const void *x, void *y, int threads) {
    if (!q) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL convolution");
    run_geom r;
    OT_TRY(to_run_geom(q, g, &r));
    if (threads < 1) threads = 1;
    const int C = q->d.C, M = q->d.M, esz = ot_qconv_out_elem(q);
    const size_t in_img = r.S_in * (size_t)C, out_img = r.S_out * (size_t)M * (size_t)esz;
    if (g->N == 0 || out_img == 0) return OCTET_OK;
    if ((in_img && !x) || !y) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL tensor");
    const bool cl = q->d.channels_last;
    uint8_t *xbuf = NULL, *ybuf = NULL;
    if (!cl) {
        xbuf = ot_aligned_alloc(in_img ? in_img : 1);
        ybuf = ot_aligned_alloc(out_img);
        if (!xbuf || !ybuf) {
            ot_aligned_free(xbuf);
            ot_aligned_free(ybuf);
            return ot_err(OCTET_ERR_NOMEM, "qconv: out of memory for layout buffers");
        }
    }
    octet_status st = OCTET_OK;
    int n_step = 1;
    if (cl && !q->dw) n_step = g->N;   /* pointwise runs all images as one GEMM; others loop below */
    for (int n = 0; n < g->N && st == OCTET_OK; n += n_step) {
        const uint8_t *xn = (const uint8_t *)x + (size_t)n * in_img;
        uint8_t *yn = (uint8_t *)y + (size_t)n * out_img;
        const uint8_t *xh = xn;
        uint8_t *yh = yn;
        if (!cl) {
            transpose(xbuf, xn, (size_t)C, r.S_in, 1, threads);
            xh = xbuf;
            yh = ybuf;
        }
        if (q->dw) {
            ot_dwconv_geom dg = {1, r.in[1], r.in[2], r.out[1], r.out[2], r.s[1], r.s[2], r.p[1], r.p[2], r.d[1], r.d[2]};
            st = ot_dwconv_s8_run(q->dw, &dg, xh, yh, threads);
        } else if (n_step > 1) {
            /* channels-last: pointwise takes every image at once, others image by image */
            bool pointwise = q->T == 1 && C > 0;
            for (int i = 0; i < 3; i++)
                if (r.s[i] != 1 || r.p[i] != 0 || r.in[i] != r.out[i]) pointwise = false;
            if (pointwise) {
                st = gemm_image(q, &r, xh, yh, g->N, threads);
            } else {
                for (int i = 0; i < g->N && st == OCTET_OK; i++)
                    st = gemm_image(q, &r, xh + (size_t)i * in_img, yh + (size_t)i * out_img, 1, threads);
            }
        } else {
            st = gemm_image(q, &r, xh, yh, 1, threads);
        }
        if (st == OCTET_OK && !cl) transpose(yn, ybuf, r.S_out, (size_t)M, (size_t)esz, threads);
    }
    ot_aligned_free(xbuf);
    ot_aligned_free(ybuf);
    return st;
}
