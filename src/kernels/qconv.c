/* 8-bit convolution driver: layout changes, im2col tiles, and the choice of kernel (see qconv.h). */
#include "kernels/qconv.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dwconv_s8.h"
#include "kernels/qwino.h"
#include "util/mem.h"
#include "util/status.h"

/* Bytes of im2col tile one thread fills before handing it to the qgemm (about half of L2). */
#define QCONV_COL_BUDGET (192 * 1024)
/* Bytes past an im2col tile that its fast copies may overwrite (see copy_run). */
#define QCONV_COL_SLACK 32
/* Channels per depthwise block for NCHW data. */
#define QCONV_DW_BLOCK 32

struct ot_qconv {
    ot_qconv_desc d;            /* pointer members cleared; the copies live below */
    int T, K, Cg, Mg;           /* taps, GEMM depth T*Cg, channels per group in and out */
    int kk[3];                  /* kernel extents as 3-D (leading 1s) */
    float *scale;               /* [M] (U8/S8) */
    ot_qgemm_packed **pb;       /* [G], GEMM path */
    ot_dwconv_packed **dw;      /* depthwise path: [n_dw] packs of channel blocks (NCHW) or one (NHWC) */
    int n_dw, dw_block;         /* packs, channels per pack */
    ot_qwino *wino;             /* Winograd path (3x3, unit stride): replaces pb */
};

static int type_lo(bool sgn) { return sgn ? -128 : 0; }
static int type_hi(bool sgn) { return sgn ? 127 : 255; }

int ot_qconv_out_elem(const ot_qconv *q) { return q->d.out_type == OT_QGEMM_OUT_S32 ? 4 : 1; }

void ot_qconv_free(ot_qconv *q) {
    if (!q) return;
    if (q->pb)
        for (int g = 0; g < q->d.G; g++) ot_qgemm_packed_free(q->pb[g]);
    free(q->pb);
    if (q->dw)
        for (int b = 0; b < q->n_dw; b++) ot_dwconv_s8_free(q->dw[b]);
    free(q->dw);
    ot_qwino_free(q->wino);
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

/* Winograd pads C to its AVX2 kernel's channel block (16), whose transforms and int16 products then
 * work on zeros: it beats im2col (by about 1.4x at C = 16) only when few of the padded channels are
 * zeros. Measured on Zen 3 (3x3, 14x14 to 56x56, M = 16 to 64) against im2col: C = 1 to 3 (a
 * first layer) 4-7x slower, 4 to 8 2-3.5x, 12 about even, 17 and 20 up to 1.3x slower, 24 and 33
 * even, 28 and 40 faster. So: C >= 16 with at least 3/4 of the padded channels real. */
static bool wino_pays(const ot_qconv_desc *d) {
    const int64_t blk = ot_qwino_avx2.kstep, cpad = ((int64_t)d->C + blk - 1) / blk * blk;
    return d->C >= 16 && 4 * (int64_t)d->C >= 3 * cpad;
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
        /* NCHW: blocks of channels, so each block's layout change stays in cache (see the run) */
        q->dw_block = d->channels_last ? d->C : QCONV_DW_BLOCK;
        q->n_dw = (d->C + q->dw_block - 1) / q->dw_block;
        q->dw = ot_calloc((size_t)q->n_dw, sizeof *q->dw);
        if (!q->dw) goto nomem;
        for (int b = 0; b < q->n_dw && st == OCTET_OK; b++) {
            int c0 = b * q->dw_block, cn = d->C - c0 < q->dw_block ? d->C - c0 : q->dw_block;
            ot_dwconv_params p = {0};
            p.C = cn;
            p.kh = d->nsp == 2 ? d->k[0] : 1;
            p.kw = d->k[d->nsp - 1];
            p.w = (const uint8_t *)d->w + (size_t)c0 * (size_t)q->T;
            p.w_signed = d->w_signed;
            p.w_ckk = true;            /* ONNX [C][1][kh][kw] */
            p.zw = d->zw ? (d->zw_count == 1 ? d->zw : d->zw + c0) : NULL;
            p.zw_count = d->zw ? (d->zw_count == 1 ? 1 : cn) : 0;
            p.bias = d->bias ? d->bias + c0 : NULL;
            p.zx = d->zx;
            p.x_signed = d->x_signed;
            p.scale = q->scale + c0;
            p.scale_count = cn;
            p.zy = d->zy;
            p.lo = d->lo;
            p.hi = d->hi;
            p.y_signed = d->out_type == OT_QGEMM_OUT_S8;
            st = ot_dwconv_s8_pack_isa(&q->dw[b], &p, isa);
        }
        if (st != OCTET_OK) goto fail;
        *out = q;
        return OCTET_OK;
    }

    if (d->unit_stride && wino_pays(d)) {
        st = ot_qwino_create(&q->wino, d, isa);
        if (st != OCTET_OK) goto fail;
        if (q->wino) {
            *out = q;
            return OCTET_OK;
        }
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

/* Small copies are common (a few channels per tap): overlapping fixed-size moves instead of a
 * memcpy call for them. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
    if (n >= 16) {
        if (n > 64) {
            memcpy(dst, src, n);
            return;
        }
        size_t i = 0;
        for (; i + 16 <= n; i += 16) memcpy(dst + i, src + i, 16);
        if (i < n) memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/* A run of n <= 32 bytes with one or two 16-byte moves when the source has that many bytes before
 * xend. The destination may be overwritten up to 32 bytes past the run: im2col writes each row left to
 * right, so the excess is rewritten by what follows (the tile buffer has 32 bytes of slack). */
static inline void copy_run(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *xend) {
    size_t avail = (size_t)(xend - src);
    if (n <= 16 && avail >= 16) {
        memcpy(dst, src, 16);
    } else if (n <= 32 && avail >= 32) {
        memcpy(dst, src, 32);
    } else {
        copy_bytes(dst, src, n);
    }
}

static inline void fill_run(uint8_t *dst, uint8_t v, size_t n) {
    if (n <= 16)
        memset(dst, v, 16);
    else if (n <= 32)
        memset(dst, v, 32);
    else
        memset(dst, v, n);
}

/* Rows [p0, p1) of the im2col matrix of group g: row = output pixel, K = T*Cg bytes, taps outer.
 * With dilation 1 along W and a group spanning all channels, the kw taps of a kernel row are one
 * contiguous run of kw*C bytes of the image, copied at once when it lies inside the image. The image
 * rows the kernel rows read are found once per output row (rows: scratch for kh*kd pointers). col must
 * have QCONV_COL_SLACK bytes past the last row. */
static void im2col_nhwc(const ot_qconv *q, const run_geom *r, const uint8_t *x, int g, int p0, int p1, uint8_t *col,
                        const uint8_t **rows) {
    const int C = q->d.C, Cg = q->Cg, K = q->K, kw = q->kk[2], kr = q->kk[0] * q->kk[1];
    const uint8_t zx = (uint8_t)q->d.zx;
    const size_t cg = (size_t)Cg, run = (size_t)kw * cg, C_ = (size_t)C;
    const int OW = r->out[2], OH = r->out[1], W = r->in[2], s2 = r->s[2], d2 = r->d[2], pl = r->p[2];
    const bool run_ok = d2 == 1 && Cg == C;
    const size_t in_img = r->S_in * C_;
    /* p counts pixels over all images: p = ((n * OD + o0) * OH + o1) * OW + o2 */
    int o2 = p0 % OW, rest = p0 / OW, o1 = rest % OH, o0 = rest / OH, img = o0 / r->out[0];
    o0 %= r->out[0];
    x += (size_t)img * in_img;
    const uint8_t *xend = x + in_img;
    bool fresh = true;
    for (int p = p0; p < p1; p++) {
        if (fresh) {   /* a new output row: the image row of each kernel row, or NULL in the padding */
            int t = 0;
            for (int a0 = 0; a0 < q->kk[0]; a0++) {
                int i0 = o0 * r->s[0] - r->p[0] + a0 * r->d[0];
                bool in0 = i0 >= 0 && i0 < r->in[0];
                for (int a1 = 0; a1 < q->kk[1]; a1++, t++) {
                    int i1 = o1 * r->s[1] - r->p[1] + a1 * r->d[1];
                    rows[t] = in0 && i1 >= 0 && i1 < r->in[1]
                                  ? x + ((size_t)i0 * r->in[1] + (size_t)i1) * (size_t)W * C_ + (size_t)g * cg
                                  : NULL;
                }
            }
            fresh = false;
        }
        uint8_t *dst = col + (size_t)(p - p0) * (size_t)K;
        int iw0 = o2 * s2 - pl;
        if (run_ok && iw0 >= 0 && iw0 + kw <= W) {
            const size_t off = (size_t)iw0 * C_;
            for (int t = 0; t < kr; t++, dst += run) {
                if (rows[t])
                    copy_run(dst, rows[t] + off, run, xend);
                else
                    fill_run(dst, zx, run);
            }
        } else {
            for (int t = 0; t < kr; t++) {
                for (int a2 = 0; a2 < kw; a2++, dst += cg) {
                    int i2 = iw0 + a2 * d2;
                    if (rows[t] && i2 >= 0 && i2 < W)
                        copy_run(dst, rows[t] + (size_t)i2 * C_, cg, xend);
                    else
                        fill_run(dst, zx, cg);
                }
            }
        }
        if (++o2 == OW) {
            o2 = 0;
            fresh = true;
            if (++o1 == OH) {
                o1 = 0;
                if (++o0 == r->out[0]) {   /* the next image */
                    o0 = 0;
                    x += in_img;
                    xend += in_img;
                }
            }
        }
    }
}

/* ---- im2col through a padded band (small runs) ----
 * A first layer has one to four channels: kw*C is a few bytes, and im2col_nhwc spends most of its
 * time on per-tap bookkeeping and on the pixels at the image edges. Here the image rows that a stretch
 * of output rows reads are first copied into a band with the padding filled in (zx), so that every
 * kernel row of every output pixel is one fixed 16- or 32-byte move with no edge cases. The moves
 * overshoot the kw*C bytes they are for; each is followed (in address order) by the next kernel row's
 * or the next pixel's, which rewrites the excess, and the last pixel's lands in the tile's slack. */

typedef struct band_geom {
    int Wb;          /* band row width in pixels: the left padding, the image row, the right padding */
    int rows;        /* band rows needed for a tile of P pixels at most */
    size_t bytes;    /* rows * Wb * C plus the slack the last moves read */
} band_geom;

/* Whether a tile of P pixels takes the band path, and its geometry: one group, 2-D or 1-D, more than
 * one tap (a strided 1x1 would copy rows it skips), dilation 1 along W, kw*C <= 32, and a band no
 * larger than the tile's im2col rows (a band is rebuilt for each tile: one long 1-D row would be
 * copied whole for every tile). */
static bool band_plan(const ot_qconv *q, const run_geom *r, int P, band_geom *b) {
    const size_t C = (size_t)q->d.C, run = (size_t)q->kk[2] * C;
    if (q->d.G != 1 || C == 0 || run > 32 || q->T < 2 || r->d[2] != 1 || q->kk[0] != 1 || r->in[0] != 1 ||
        r->out[0] != 1)
        return false;
    const int OH = r->out[1], OW = r->out[2];
    if (OW < 1 || OH < 1) return false;
    int64_t wb = (int64_t)(OW - 1) * r->s[2] + q->kk[2], img = (int64_t)r->p[2] + r->in[2];
    if (img > wb) wb = img;
    int64_t seg = (int64_t)(P - 1) / OW + 2;   /* output rows a tile of P pixels can touch */
    if (seg > OH) seg = OH;
    int64_t rows = (seg - 1) * r->s[1] + (int64_t)(q->kk[1] - 1) * r->d[1] + 1;
    int64_t bytes = rows * wb * (int64_t)C + QCONV_COL_SLACK;
    if (wb > INT_MAX || rows > INT_MAX || bytes > (int64_t)P * q->K + 64 * 1024) return false;
    b->Wb = (int)wb;
    b->rows = (int)rows;
    b->bytes = (size_t)bytes;
    return true;
}

/* Rows [p0, p1) of the im2col matrix (all images in one pixel space, as im2col_nhwc); band: b->bytes. */
static void im2col_band(const ot_qconv *q, const run_geom *r, const band_geom *b, const uint8_t *x, int p0, int p1,
                        uint8_t *col, uint8_t *band) {
    const size_t C = (size_t)q->d.C, K = (size_t)q->K, run = (size_t)q->kk[2] * C;
    const int kh = q->kk[1], H = r->in[1], W = r->in[2], OW = r->out[2], pt = r->p[1];
    const size_t S = r->S_out, in_img = r->S_in * C, row_bytes = (size_t)b->Wb * C;
    const size_t left = (size_t)r->p[2] * C, mid = (size_t)W * C, right = row_bytes - left - mid;
    const size_t step = (size_t)r->s[2] * C, tap = (size_t)r->d[1] * row_bytes, orow = (size_t)r->s[1] * row_bytes;
    const uint8_t zx = (uint8_t)q->d.zx;
    uint8_t *dst = col;
    for (int p = p0; p < p1;) {
        /* one image's part of the tile: output rows oa..ob, input rows ia .. ia + n - 1 */
        size_t img = (size_t)p / S, q0 = (size_t)p % S;
        int pe = (size_t)p1 - img * S < S ? p1 : (int)((img + 1) * S);
        int oa = (int)(q0 / (size_t)OW), ob = (int)(((size_t)pe - 1 - img * S) / (size_t)OW);
        int ia = oa * r->s[1] - pt, n = (ob - oa) * r->s[1] + (kh - 1) * r->d[1] + 1;
        const uint8_t *xi = x + img * in_img;
        for (int i = 0; i < n; i++) {
            uint8_t *d = band + (size_t)i * row_bytes;
            int iy = ia + i;
            if (iy < 0 || iy >= H) {
                memset(d, zx, row_bytes);
                continue;
            }
            memset(d, zx, left);
            memcpy(d + left, xi + (size_t)iy * mid, mid);
            memset(d + left + mid, zx, right);
        }
        int o2 = (int)(q0 % (size_t)OW);
        for (const uint8_t *src = band; p < pe; src += orow, o2 = 0) {
            int o2e = OW - o2 < pe - p ? OW : o2 + (pe - p);
            const uint8_t *s = src + (size_t)o2 * step;
            p += o2e - o2;
            if (run <= 16) {
                for (int o = o2; o < o2e; o++, s += step, dst += K)
                    for (int a = 0; a < kh; a++) memcpy(dst + (size_t)a * run, s + (size_t)a * tap, 16);
            } else {
                for (int o = o2; o < o2e; o++, s += step, dst += K)
                    for (int a = 0; a < kh; a++) memcpy(dst + (size_t)a * run, s + (size_t)a * tap, 32);
            }
        }
    }
}

/* ---- layout changes: [rows][cols] -> [cols][rows] ----
 * 16x16 byte tiles (4x4 for int32) with SSE2 unpacks: each round of unpacklo/hi(a[i], a[i+n/2])
 * rotates the (row, column) index bits by one, so log2(n) rounds transpose the tile. */

#if defined(__SSE2__)
#include <emmintrin.h>

static void tr_u8_16x16(uint8_t *dst, size_t ld_dst, const uint8_t *src, size_t ld_src) {
    __m128i a[16], t[16];
    for (int i = 0; i < 16; i++) a[i] = _mm_loadu_si128((const __m128i *)(src + (size_t)i * ld_src));
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm_unpacklo_epi8(a[i], a[i + 8]);
            t[2 * i + 1] = _mm_unpackhi_epi8(a[i], a[i + 8]);
        }
        for (int i = 0; i < 16; i++) a[i] = t[i];
    }
    for (int i = 0; i < 16; i++) _mm_storeu_si128((__m128i *)(dst + (size_t)i * ld_dst), a[i]);
}

static void tr_u32_4x4(uint32_t *dst, size_t ld_dst, const uint32_t *src, size_t ld_src) {
    __m128i a[4], t[4];
    for (int i = 0; i < 4; i++) a[i] = _mm_loadu_si128((const __m128i *)(src + (size_t)i * ld_src));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2; i++) {
            t[2 * i] = _mm_unpacklo_epi32(a[i], a[i + 2]);
            t[2 * i + 1] = _mm_unpackhi_epi32(a[i], a[i + 2]);
        }
        for (int i = 0; i < 4; i++) a[i] = t[i];
    }
    for (int i = 0; i < 4; i++) _mm_storeu_si128((__m128i *)(dst + (size_t)i * ld_dst), a[i]);
}
#endif

/* dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols; esz 1 or 4. */
static void transpose_block(void *dst, size_t ld_dst, const void *src, size_t ld_src, size_t rows, size_t cols,
                            size_t esz) {
    if (esz == 1 && rows <= 4) {   /* few channels (a network's first layer): interleave planes */
        uint8_t *d = dst;
        const uint8_t *s0 = src, *s1 = s0 + ld_src, *s2 = s1 + ld_src, *s3 = s2 + ld_src;
        switch (rows) {
        case 1: for (size_t c = 0; c < cols; c++) d[c * ld_dst] = s0[c]; break;
        case 2: for (size_t c = 0; c < cols; c++) d[c * ld_dst] = s0[c], d[c * ld_dst + 1] = s1[c]; break;
        case 3:
            for (size_t c = 0; c < cols; c++) d[c * ld_dst] = s0[c], d[c * ld_dst + 1] = s1[c], d[c * ld_dst + 2] = s2[c];
            break;
        case 4:
            for (size_t c = 0; c < cols; c++)
                d[c * ld_dst] = s0[c], d[c * ld_dst + 1] = s1[c], d[c * ld_dst + 2] = s2[c], d[c * ld_dst + 3] = s3[c];
            break;
        default: break;
        }
        return;
    }
    size_t rt = 0, ct = 0;
#if defined(__SSE2__)
    const size_t tile = esz == 1 ? 16 : 4;
    rt = rows / tile * tile;
    ct = cols / tile * tile;
    for (size_t r = 0; r < rt; r += tile)
        for (size_t c = 0; c < ct; c += tile) {
            if (esz == 1)
                tr_u8_16x16((uint8_t *)dst + c * ld_dst + r, ld_dst, (const uint8_t *)src + r * ld_src + c, ld_src);
            else
                tr_u32_4x4((uint32_t *)dst + c * ld_dst + r, ld_dst, (const uint32_t *)src + r * ld_src + c, ld_src);
        }
#endif
    /* edges: the columns right of the tiles for the tiled rows, then the remaining rows */
    if (esz == 1) {
        uint8_t *d = dst;
        const uint8_t *sp = src;
        for (size_t c = ct; c < cols; c++)
            for (size_t r = 0; r < rt; r++) d[c * ld_dst + r] = sp[r * ld_src + c];
        for (size_t r = rt; r < rows; r++)
            for (size_t c = 0; c < cols; c++) d[c * ld_dst + r] = sp[r * ld_src + c];
    } else {
        uint32_t *d = dst;
        const uint32_t *sp = src;
        for (size_t c = ct; c < cols; c++)
            for (size_t r = 0; r < rt; r++) d[c * ld_dst + r] = sp[r * ld_src + c];
        for (size_t r = rt; r < rows; r++)
            for (size_t c = 0; c < cols; c++) d[c * ld_dst + r] = sp[r * ld_src + c];
    }
}

/* Contiguous [rows][cols] -> [cols][rows]; blocks of columns (of dst rows) spread over threads. */
static void transpose(void *dst, const void *src, size_t rows, size_t cols, size_t esz, int threads) {
    const size_t blk = 256;
    size_t nblk = (cols + blk - 1) / blk;
    if (rows * cols * esz < (size_t)256 * 1024 || nblk < 2) threads = 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (size_t b = 0; b < nblk; b++) {
        size_t c0 = b * blk, c1 = c0 + blk < cols ? c0 + blk : cols;
        transpose_block((char *)dst + c0 * rows * esz, rows, (const char *)src + c0 * esz, cols, rows, c1 - c0, esz);
    }
}

void ot_qconv_transpose(void *dst, const void *src, size_t rows, size_t cols, size_t esz, int threads) {
    if (rows == 0 || cols == 0) return;
    transpose(dst, src, rows, cols, esz, threads < 1 ? 1 : threads);
}

/* ---- GEMM path ---- */

typedef struct gemm_job {
    const uint8_t *xh;     /* channels-last input, `images` images */
    void *y;               /* output: [images*S][M], or one image [M][S] when y_nchw */
    bool y_nchw;
    int images;            /* > 1 only for channels-last (y is then [images*S][M]) */
    bool pointwise;        /* 1x1, stride 1, no padding: the image itself is the GEMM's A */
} gemm_job;

static bool is_pointwise(const ot_qconv *q, const run_geom *r) {
    bool pw = q->T == 1 && q->d.C > 0;
    for (int i = 0; i < 3; i++)
        if (r->s[i] != 1 || r->p[i] != 0 || r->in[i] != r->out[i]) pw = false;
    return pw;
}

typedef struct gemm_tiles {
    int P, ntiles, items, S, lda;
    int inner;             /* threads each qgemm call may use */
} gemm_tiles;

/* The items (group, tile) of one thread: called by each thread of a team (the omp for splits the
 * items), or alone outside any parallel region. */
static octet_status gemm_worker(const ot_qconv *q, const run_geom *r, const gemm_job *j, const gemm_tiles *t) {
    const int esz = ot_qconv_out_elem(q), M = q->d.M, Mg = q->Mg, P = t->P, S = t->S, lda = t->lda;
    const size_t col_bytes = (size_t)P * (size_t)lda + QCONV_COL_SLACK;
    band_geom bg;
    const bool banded = !j->pointwise && band_plan(q, r, P, &bg);
    uint8_t *col = j->pointwise ? NULL : ot_aligned_alloc(col_bytes);
    uint8_t *band = banded ? ot_aligned_alloc(bg.bytes) : NULL;
    const uint8_t **rows = j->pointwise ? NULL : ot_malloc((size_t)q->kk[0] * (size_t)q->kk[1] * sizeof *rows);
    void *tbuf = j->y_nchw ? ot_aligned_alloc((size_t)P * (size_t)Mg * (size_t)esz) : NULL;
    octet_status mine = OCTET_OK;
    if ((!j->pointwise && (!col || !rows)) || (banded && !band) || (j->y_nchw && !tbuf)) mine = OCTET_ERR_NOMEM;
    /* Defined bytes where reads may go past what the tiles write (the qgemm's A loads, the band's
     * moves): the slack, the band's unused rows. Their values do not matter. */
    if (col) memset(col + col_bytes - QCONV_COL_SLACK, 0, QCONV_COL_SLACK);
    if (band) memset(band, 0, bg.bytes);
#pragma omp for schedule(dynamic, 1)
    for (int it = 0; it < t->items; it++) {
        if (mine != OCTET_OK) continue;
        int g = it / t->ntiles, p0 = (it % t->ntiles) * P, p1 = p0 + P < S ? p0 + P : S;
        const uint8_t *a;
        if (j->pointwise) {
            a = j->xh + (size_t)p0 * (size_t)q->d.C + (size_t)g * (size_t)q->Cg;
        } else if (banded) {
            im2col_band(q, r, &bg, j->xh, p0, p1, col, band);
            a = col;
        } else {
            im2col_nhwc(q, r, j->xh, g, p0, p1, col, rows);
            a = col;
        }
        ot_qgemm_out o = {0};
        o.type = q->d.out_type;
        if (j->y_nchw) {
            o.c = tbuf;
            o.ldc = Mg;
        } else {
            o.c = (char *)j->y + ((size_t)p0 * (size_t)M + (size_t)g * (size_t)Mg) * (size_t)esz;
            o.ldc = M;
        }
        o.scale = q->scale ? q->scale + (size_t)g * Mg : NULL;
        o.scale_per_col = true;
        o.zp = q->d.zy;
        o.lo = q->d.lo;
        o.hi = q->d.hi;
        mine = ot_qgemm(q->pb[g], p1 - p0, a, lda, q->d.zx, q->d.x_signed, &o, t->inner);
        if (mine == OCTET_OK && j->y_nchw)
            transpose_block((char *)j->y + ((size_t)g * Mg * (size_t)S + (size_t)p0) * (size_t)esz, (size_t)S, tbuf,
                            (size_t)Mg, (size_t)(p1 - p0), (size_t)Mg, (size_t)esz);
    }
    ot_aligned_free(col);
    ot_aligned_free(band);
    free(rows);
    ot_aligned_free(tbuf);
    return mine;
}

/* The GEMM over tiles of P output pixels per group; each tile's result goes straight to y (NHWC) or
 * through a small buffer transposed into y (NCHW), while it is still in cache. */
static octet_status gemm_run(const ot_qconv *q, const run_geom *r, const gemm_job *j, int threads) {
    const int esz = ot_qconv_out_elem(q), G = q->d.G, Mg = q->Mg;
    const int S = (int)r->S_out * j->images;
    const int lda = j->pointwise ? q->d.C : (q->K > 0 ? q->K : 1);
    /* P: the im2col tile (or the A rows read, for pointwise) and the output tile stay within L2 */
    int64_t big = (int64_t)Mg * esz > lda ? (int64_t)Mg * esz : lda;
    int P = (int)(QCONV_COL_BUDGET / (big > 0 ? big : 1));
    if (P < 16) P = 16;
    P = (P + 15) / 16 * 16;
    bool split_inside = false;   /* few rows: one tile at a time, the qgemm splits rows and columns */
    if (threads > 1) {
        if (G == 1 && S < 64 * threads) {
            split_inside = true;
        } else {
            /* equal tiles, a multiple of the thread count (two per thread at least), rows a multiple of
             * the micro-kernel's 6: tiles of 16-row granularity left whole threads idle at the end */
            int64_t want = ((int64_t)S + P - 1) / P;
            int64_t min_tiles = (2 * threads + G - 1) / G;
            if (want < min_tiles) want = min_tiles;
            if (G == 1) want = (want + threads - 1) / threads * threads;
            int64_t pt = ((int64_t)S + want - 1) / want;
            pt = (pt + 5) / 6 * 6;
            if (pt < P) P = (int)pt;
        }
    }
    if (P > S) P = S;
    if (P < 1) P = 1;
    const int ntiles = (S + P - 1) / P, items = G * ntiles;
    int outer = threads > 1 && !split_inside && items >= threads ? threads : 1;
    int inner = outer > 1 ? 1 : threads;
    gemm_tiles t = {P, ntiles, items, S, lda, inner};
    octet_status fail = OCTET_OK;
    if (outer > 1) {
#pragma omp parallel num_threads(outer)
        {
            octet_status mine = gemm_worker(q, r, j, &t);
            if (mine != OCTET_OK) {
#pragma omp critical(ot_qconv_fail)
                fail = mine;
            }
        }
    } else {
        /* not inside a parallel region: the qgemm's own threads are then a first-level team */
        fail = gemm_worker(q, r, j, &t);
    }
    if (fail != OCTET_OK) return ot_err(fail, "qconv: convolution failed (out of memory?)");
    return OCTET_OK;
}

typedef struct dw_job {
    const void *x;
    void *y;
    int N, items, inner;
} dw_job;

/* The (image, channel block) items of one thread (an omp for inside a team, or alone outside one). */
static octet_status dw_worker(const ot_qconv *q, const run_geom *r, const dw_job *jb) {
    const int C = q->d.C, Cb = q->dw_block;
    const size_t S_in = r->S_in, S_out = r->S_out;
    uint8_t *xb = ot_aligned_alloc(S_in * (size_t)Cb + 1), *yb = ot_aligned_alloc(S_out * (size_t)Cb + 1);
    octet_status mine = xb && yb ? OCTET_OK : OCTET_ERR_NOMEM;
#pragma omp for schedule(dynamic, 1)
    for (int it = 0; it < jb->items; it++) {
        if (mine != OCTET_OK) continue;
        int n = it / q->n_dw, b = it % q->n_dw, c0 = b * Cb, cn = C - c0 < Cb ? C - c0 : Cb;
        const uint8_t *xs = (const uint8_t *)jb->x + ((size_t)n * C + (size_t)c0) * S_in;
        uint8_t *ys = (uint8_t *)jb->y + ((size_t)n * C + (size_t)c0) * S_out;
        transpose_block(xb, (size_t)cn, xs, S_in, (size_t)cn, S_in, 1);
        ot_dwconv_geom dg = {1, r->in[1], r->in[2], r->out[1], r->out[2], r->s[1], r->s[2], r->p[1], r->p[2],
                             r->d[1], r->d[2]};
        mine = ot_dwconv_s8_run(q->dw[b], &dg, xb, yb, jb->inner);
        if (mine == OCTET_OK) transpose_block(ys, S_out, yb, (size_t)cn, S_out, (size_t)cn, 1);
    }
    ot_aligned_free(xb);
    ot_aligned_free(yb);
    return mine;
}

/* Depthwise on NCHW data: per (image, channel block), transpose the block's planes to
 * channels-last, run the depthwise kernel, transpose the result back; blocks run in parallel (or,
 * when there are fewer blocks than threads, each block's rows do). */
static octet_status dw_nchw(const ot_qconv *q, const run_geom *r, int N, const void *x, void *y, int threads) {
    const int items = N * q->n_dw;
    int outer = threads > 1 && items >= threads ? threads : 1;
    dw_job jb = {x, y, N, items, outer > 1 ? 1 : threads};
    octet_status fail = OCTET_OK;
    if (outer > 1) {
#pragma omp parallel num_threads(outer)
        {
            octet_status mine = dw_worker(q, r, &jb);
            if (mine != OCTET_OK) {
#pragma omp critical(ot_qconv_fail)
                fail = mine;
            }
        }
    } else {
        fail = dw_worker(q, r, &jb);   /* outside a team: the kernel's threads are a first-level team */
    }
    if (fail != OCTET_OK) return ot_err(fail, "qconv: depthwise convolution failed (out of memory?)");
    return OCTET_OK;
}

/* Winograd: NHWC directly; NCHW through an NHWC copy of each image and of its result. */
static octet_status wino_run(const ot_qconv *q, const run_geom *r, int N, const void *x, void *y, int threads) {
    ot_qwino_geom wg = {N, r->in[1], r->in[2], r->out[1], r->out[2], r->p[1], r->p[2]};
    if (q->d.channels_last) return ot_qwino_run(q->wino, &wg, x, y, threads);
    const size_t esz = (size_t)ot_qconv_out_elem(q), in_img = r->S_in * (size_t)q->d.C;
    const size_t out_img = r->S_out * (size_t)q->d.M * esz;
    uint8_t *xb = ot_aligned_alloc(in_img + 1), *yb = ot_aligned_alloc(out_img + 1);
    octet_status st = xb && yb ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "qconv: out of memory for the layout buffers");
    wg.N = 1;
    for (int n = 0; n < N && st == OCTET_OK; n++) {
        transpose(xb, (const uint8_t *)x + (size_t)n * in_img, (size_t)q->d.C, r->S_in, 1, threads);
        st = ot_qwino_run(q->wino, &wg, xb, yb, threads);
        if (st == OCTET_OK) transpose((char *)y + (size_t)n * out_img, yb, r->S_out, (size_t)q->d.M, esz, threads);
    }
    ot_aligned_free(xb);
    ot_aligned_free(yb);
    return st;
}

octet_status ot_qconv_run(const ot_qconv *q, const ot_qconv_geom *g, const void *x, void *y, int threads) {
    if (!q) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL convolution");
    run_geom r;
    OT_TRY(to_run_geom(q, g, &r));
    /* the promise is checked whichever kernel was chosen, so that breaking it never depends on that */
    for (int i = 0; i < 3 && q->d.unit_stride; i++)
        if (r.s[i] != 1 || r.d[i] != 1)
            return ot_err(OCTET_ERR_INVALID_ARG, "qconv: packed for unit strides and dilations, run with others");
    if (threads < 1) threads = 1;
    const int C = q->d.C, M = q->d.M, esz = ot_qconv_out_elem(q);
    const size_t in_img = r.S_in * (size_t)C, out_img = r.S_out * (size_t)M * (size_t)esz;
    if (g->N == 0 || out_img == 0) return OCTET_OK;
    if ((in_img && !x) || !y) return ot_err(OCTET_ERR_INVALID_ARG, "qconv: NULL tensor");
    if (q->wino) return wino_run(q, &r, g->N, x, y, threads);
    const bool cl = q->d.channels_last;
    const bool pw = !q->dw && is_pointwise(q, &r);

    if (cl) {   /* channels-last: no layout changes */
        if (q->dw) {
            ot_dwconv_geom dg = {g->N, r.in[1], r.in[2], r.out[1], r.out[2], r.s[1], r.s[2], r.p[1], r.p[2], r.d[1],
                                 r.d[2]};
            return ot_dwconv_s8_run(q->dw[0], &dg, x, y, threads);
        }
        if ((int64_t)g->N * (int64_t)r.S_out <= INT_MAX) {   /* all images in one tile space */
            gemm_job j = {x, y, false, g->N, pw};
            return gemm_run(q, &r, &j, threads);
        }
        for (int n = 0; n < g->N; n++) {
            gemm_job j = {(const uint8_t *)x + (size_t)n * in_img, (char *)y + (size_t)n * out_img, false, 1, pw};
            OT_TRY(gemm_run(q, &r, &j, threads));
        }
        return OCTET_OK;
    }

    if (q->dw) return dw_nchw(q, &r, g->N, x, y, threads);

    /* NCHW GEMM path: each image is transposed to channels-last first */
    uint8_t *xbuf = ot_aligned_alloc(in_img ? in_img : 1);
    if (!xbuf) return ot_err(OCTET_ERR_NOMEM, "qconv: out of memory for the layout buffer");
    octet_status st = OCTET_OK;
    for (int n = 0; n < g->N && st == OCTET_OK; n++) {
        transpose(xbuf, (const uint8_t *)x + (size_t)n * in_img, (size_t)C, r.S_in, 1, threads);
        gemm_job j = {xbuf, (uint8_t *)y + (size_t)n * out_img, true, 1, pw};
        st = gemm_run(q, &r, &j, threads);
    }
    ot_aligned_free(xbuf);
    return st;
}
