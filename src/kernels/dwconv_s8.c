/* Depthwise int8 convolution: packing, the indirection driver, the scalar variant and the reference. */
#include "kernels/dwconv_s8.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/requant.h"
#include "util/mem.h"
#include "util/status.h"

static int32_t w_at(const ot_dwconv_params *p, int t, int c) {
    size_t T = (size_t)p->kh * (size_t)p->kw;
    size_t off = p->w_ckk ? (size_t)c * T + (size_t)t : (size_t)t * (size_t)p->C + (size_t)c;
    return p->w_signed ? ((const int8_t *)p->w)[off] : ((const uint8_t *)p->w)[off];
}

static int32_t zw_at(const ot_dwconv_params *p, int c) { return p->zw ? p->zw[p->zw_count == 1 ? 0 : c] : 0; }
static float scale_at(const ot_dwconv_params *p, int c) { return p->scale[p->scale_count == 1 ? 0 : c]; }

static octet_status check_params(const ot_dwconv_params *p) {
    if (!p || p->C <= 0 || p->kh <= 0 || p->kw <= 0 || !p->w || !p->scale)
        return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: bad parameters");
    if ((int64_t)p->kh * p->kw > 4096 || p->C > INT_MAX / 64)
        return ot_err(OCTET_ERR_UNSUPPORTED, "dwconv: kernel %dx%d or %d channels too large", p->kh, p->kw, p->C);
    if (p->zw && p->zw_count != 1 && p->zw_count != p->C)
        return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: weight zero point count %d", p->zw_count);
    if (p->scale_count != 1 && p->scale_count != p->C)
        return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: scale count %d", p->scale_count);
    int wl = p->w_signed ? -128 : 0, wh = p->w_signed ? 127 : 255;
    for (int i = 0; p->zw && i < p->zw_count; i++)
        if (p->zw[i] < wl || p->zw[i] > wh) return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: weight zero point range");
    int xl = p->x_signed ? -128 : 0, xh = p->x_signed ? 127 : 255;
    if (p->zx < xl || p->zx > xh) return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: input zero point range");
    int yl = p->y_signed ? -128 : 0, yh = p->y_signed ? 127 : 255;
    if (p->zy < yl || p->zy > yh || p->lo < yl || p->hi > yh || p->lo > p->hi)
        return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: output zero point / clamp out of range");
    return OCTET_OK;
}

static octet_status check_geom(const ot_dwconv_geom *g) {
    if (!g || g->N < 0 || g->H < 0 || g->W < 0 || g->OH < 0 || g->OW < 0 || g->stride_h < 1 || g->stride_w < 1 ||
        g->dil_h < 1 || g->dil_w < 1 || g->pad_top < 0 || g->pad_left < 0)
        return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: bad geometry");
    return OCTET_OK;
}

void ot_dwconv_s8_free(ot_dwconv_packed *p) {
    if (!p) return;
    ot_aligned_free(p->zrow);
    ot_aligned_free(p->w);
    free(p);
}

octet_status ot_dwconv_s8_pack_isa(ot_dwconv_packed **out, const ot_dwconv_params *prm, ot_isa isa_id) {
    if (!out) return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: NULL output");
    *out = NULL;
    OT_TRY(check_params(prm));
    const ot_kernels *kt = ot_kernels_for(isa_id);
    if (!kt) return ot_err(OCTET_ERR_UNSUPPORTED, "dwconv: this CPU cannot run the %s kernels", ot_isa_name(isa_id));
    int C = prm->C, T = prm->kh * prm->kw;
    ot_dwconv_packed *p = ot_calloc(1, sizeof *p);
    int16_t *wz = ot_malloc((size_t)T * C * sizeof *wz);
    int32_t *corr = ot_malloc((size_t)C * sizeof *corr);
    float *sc = ot_malloc((size_t)C * sizeof *sc);
    if (!p || !wz || !corr || !sc) goto nomem;
    p->isa = kt->dwconv;
    p->isa_id = isa_id;
    p->C = C;
    p->kh = prm->kh;
    p->kw = prm->kw;
    p->T = T;
    p->x_xor = prm->x_signed ? 0x80 : 0;
    p->zy = prm->zy;
    p->lo_f = (float)(prm->lo - prm->zy);
    p->hi_f = (float)(prm->hi - prm->zy);
    p->y_signed = prm->y_signed;
    p->zrow = ot_aligned_alloc((size_t)C + 64);
    p->w = ot_aligned_alloc(p->isa->w_size(C, T));
    if (!p->zrow || !p->w) goto nomem;
    memset(p->zrow, (uint8_t)prm->zx, (size_t)C + 64);
    int32_t zx_u = prm->x_signed ? prm->zx + 128 : prm->zx;
    for (int c = 0; c < C; c++) {
        uint32_t s = 0;
        for (int t = 0; t < T; t++) {
            int32_t v = w_at(prm, t, c) - zw_at(prm, c);
            wz[(size_t)t * C + c] = (int16_t)v;
            s += (uint32_t)v;
        }
        uint32_t b = prm->bias ? (uint32_t)prm->bias[c] : 0u;
        corr[c] = (int32_t)(b - (uint32_t)zx_u * s);
        sc[c] = scale_at(prm, c);
    }
    p->int_clamp = true;
    for (int c = 0; c < C; c++)
        if (!(fabsf(sc[c]) < 0.99f)) p->int_clamp = false;   /* (NaN too) */
    p->isa->pack(p->w, wz, corr, sc, C, T);
    free(wz);
    free(corr);
    free(sc);
    *out = p;
    return OCTET_OK;
nomem:
    free(wz);
    free(corr);
    free(sc);
    ot_dwconv_s8_free(p);
    return ot_err(OCTET_ERR_NOMEM, "dwconv: out of memory");
}

octet_status ot_dwconv_s8_pack(ot_dwconv_packed **out, const ot_dwconv_params *p) {
    return ot_dwconv_s8_pack_isa(out, p, ot_kernels_get()->isa);
}

/* Tap pointers for output row (n, oh): ptrs[ow][t]. Pixels whose window lies inside the image
 * horizontally reuse the previous pixel's pointers plus one stride (delta[t], 0 for padding rows). */
static void row_ptrs(const ot_dwconv_packed *p, const ot_dwconv_geom *g, const uint8_t *x, int n, int oh,
                     const uint8_t **ptrs, ptrdiff_t *delta) {
    size_t C = (size_t)p->C;
    int T = p->T;
    for (int i = 0; i < p->kh; i++) {
        int64_t ih = (int64_t)oh * g->stride_h - g->pad_top + (int64_t)i * g->dil_h;
        ptrdiff_t d = (ih >= 0 && ih < g->H) ? (ptrdiff_t)(g->stride_w * C) : 0;
        for (int j = 0; j < p->kw; j++) delta[i * p->kw + j] = d;
    }
    bool prev_in = false;
    for (int ow = 0; ow < g->OW; ow++) {
        const uint8_t **pp = ptrs + (size_t)ow * T;
        int64_t iw0 = (int64_t)ow * g->stride_w - g->pad_left;
        bool in = iw0 >= 0 && iw0 + (int64_t)(p->kw - 1) * g->dil_w < g->W;
        if (in && prev_in) {
            const uint8_t **prev = pp - T;
            for (int t = 0; t < T; t++) pp[t] = prev[t] + delta[t];
        } else {
            for (int i = 0; i < p->kh; i++) {
                int64_t ih = (int64_t)oh * g->stride_h - g->pad_top + (int64_t)i * g->dil_h;
                for (int j = 0; j < p->kw; j++) {
                    int64_t iw = iw0 + (int64_t)j * g->dil_w;
                    bool ok = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
                    *pp++ = ok ? x + (((size_t)n * g->H + (size_t)ih) * g->W + (size_t)iw) * C : p->zrow;
                }
            }
        }
        prev_in = in;
    }
}

octet_status ot_dwconv_s8_run(const ot_dwconv_packed *p, const ot_dwconv_geom *g, const void *x, void *y,
                              int threads) {
    if (!p) return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: NULL packed weights");
    OT_TRY(check_geom(g));
    int rows = g->N * g->OH;
    if (rows == 0 || g->OW == 0) return OCTET_OK;
    if (!x || !y) return ot_err(OCTET_ERR_INVALID_ARG, "dwconv: NULL tensor");
    if (threads < 1) threads = 1;
    if (threads > rows) threads = rows;
    size_t nptr = (size_t)g->OW * (size_t)p->T;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed) if (threads > 1)
    {
        const uint8_t **ptrs = ot_malloc(nptr * sizeof *ptrs);
        ptrdiff_t *delta = ot_malloc((size_t)p->T * sizeof *delta);
        if (!ptrs || !delta) failed = 1;
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            if (!ptrs || !delta) continue;
            int n = r / g->OH, oh = r % g->OH;
            row_ptrs(p, g, x, n, oh, ptrs, delta);
            uint8_t *yr = (uint8_t *)y + (size_t)r * g->OW * p->C;
            p->isa->pixels(p, ptrs, g->OW, yr);
        }
        free(ptrs);
        free(delta);
    }
    if (failed) return ot_err(OCTET_ERR_NOMEM, "dwconv: out of memory");
    return OCTET_OK;
}

/* ---- scalar variant: corr [C] int32, scale [C] float, then wz [T][C] int16 ---- */

static size_t ref_w_size(int C, int T) { return (size_t)C * ((size_t)T * 2 + 8); }

static void ref_pack(void *dst, const int16_t *wz, const int32_t *corr, const float *scale, int C, int T) {
    char *d = dst;
    memcpy(d, corr, (size_t)C * 4);
    memcpy(d + (size_t)C * 4, scale, (size_t)C * 4);
    memcpy(d + (size_t)C * 8, wz, (size_t)T * C * 2);
}

static void ref_pixels(const ot_dwconv_packed *p, const uint8_t *const *ptrs, int npix, uint8_t *y) {
    int C = p->C, T = p->T;
    const int32_t *corr = p->w;
    const float *sc = (const float *)(corr + C);
    const int16_t *wz = (const int16_t *)(sc + C);
    for (int i = 0; i < npix; i++) {
        const uint8_t *const *pp = ptrs + (size_t)i * T;
        for (int c = 0; c < C; c++) {
            uint32_t acc = (uint32_t)corr[c];
            for (int t = 0; t < T; t++)
                acc += (uint32_t)(int32_t)(uint8_t)(pp[t][c] ^ p->x_xor) * (uint32_t)(int32_t)wz[(size_t)t * C + c];
            int32_t q = ot_requant1((int32_t)acc, sc[c], p->lo_f, p->hi_f, p->zy);
            y[(size_t)i * C + c] = (uint8_t)q;   /* the int8 bit pattern when y is signed */
        }
    }
}

const ot_dwconv_isa ot_dwconv_ref = {.w_size = ref_w_size, .pack = ref_pack, .pixels = ref_pixels};

/* ---- reference on unpacked parameters ---- */

octet_status ot_dwconv_s8_ref(const ot_dwconv_params *p, const ot_dwconv_geom *g, const void *x, void *y) {
    OT_TRY(check_params(p));
    OT_TRY(check_geom(g));
    int C = p->C;
    float lo_f = (float)(p->lo - p->zy), hi_f = (float)(p->hi - p->zy);
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int c = 0; c < C; c++) {
                    uint32_t acc = p->bias ? (uint32_t)p->bias[c] : 0u;
                    for (int i = 0; i < p->kh; i++)
                        for (int j = 0; j < p->kw; j++) {
                            int64_t ih = (int64_t)oh * g->stride_h - g->pad_top + (int64_t)i * g->dil_h;
                            int64_t iw = (int64_t)ow * g->stride_w - g->pad_left + (int64_t)j * g->dil_w;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            size_t off = (((size_t)n * g->H + (size_t)ih) * g->W + (size_t)iw) * C + c;
                            int32_t xv = p->x_signed ? ((const int8_t *)x)[off] : ((const uint8_t *)x)[off];
                            acc += (uint32_t)((xv - p->zx) * (w_at(p, i * p->kw + j, c) - zw_at(p, c)));
                        }
                    int32_t q = ot_requant1((int32_t)acc, scale_at(p, c), lo_f, hi_f, p->zy);
                    ((uint8_t *)y)[(((size_t)n * g->OH + oh) * g->OW + ow) * C + c] = (uint8_t)q;
                }
    return OCTET_OK;
}
