/* Integer Winograd F(2x2, 3x3), AVX2 (arithmetic in qwino.h; the scalar twin is in qwino.c).
 *
 * Per block of tiles: the input transform writes V[16][tile][kpad] (int16, 16 channels per ymm, the
 * transform is adds only); then per strip of 16 output channels, 16 GEMMs (one per transform point)
 * of the qgemm AVX2 shape -- 6 tiles x 16 channels, int16 pairs by vpmaddwd -- into a small int32
 * buffer, followed at once by the output transform and the requantization epilogue.
 * Packed U: per transform point, qgemm_avx2's B layout (strips of 16 columns; per pair of channels
 * 32 int16: columns 0-7 then 8-15, each 32-bit lane holding channels 2p and 2p+1). */
#include <immintrin.h>
#include <string.h>

#include "kernels/qwino.h"

#define MR 6
#define NR 16
#define CB 16

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

static size_t u_size(int kpad, int npad) { return (size_t)16 * kpad * npad * sizeof(int16_t); }

static void pack(void *dst, const int16_t *u, int C, int M, int kpad, int npad) {
    int16_t *d = dst;
    int kp = kpad / 2;
    for (int ij = 0; ij < 16; ij++) {
        const int16_t *src = u + (size_t)ij * C * M;
        int16_t *o0 = d + (size_t)ij * kpad * npad;
        for (int s = 0; s < npad / NR; s++)
            for (int p = 0; p < kp; p++)
                for (int j = 0; j < NR; j++) {
                    int n = s * NR + j, c = 2 * p;
                    int16_t *o = o0 + ((size_t)s * kp + p) * 2 * NR + (size_t)(j / 8) * 16 + (size_t)(j % 8) * 2;
                    o[0] = (n < M && c < C) ? src[(size_t)c * M + n] : 0;
                    o[1] = (n < M && c + 1 < C) ? src[(size_t)(c + 1) * M + n] : 0;
                }
    }
}

static size_t scratch_size(int tiles, int kpad, int npad) {
    (void)npad;
    size_t rows = (size_t)round_up(tiles, MR);
    return (size_t)16 * rows * kpad * sizeof(int16_t) + (size_t)16 * MR * NR * sizeof(int32_t) + 64;
}

/* ---- input transform: 16 channels of one tile ---- */

static inline void input_tile(const uint8_t *const px[16], int c0, int C, __m128i vx, int16_t *v, size_t vstride) {
    __m256i d[16];
    if (c0 + CB <= C) {
        for (int i = 0; i < 16; i++)
            d[i] = _mm256_cvtepu8_epi16(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(px[i] + c0)), vx));
    } else {   /* last channels: copy so that no load runs past the tensor */
        uint8_t buf[CB];
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < 16; i++) {
            memcpy(buf, px[i] + c0, (size_t)(C - c0));
            d[i] = _mm256_cvtepu8_epi16(_mm_xor_si128(_mm_loadu_si128((const __m128i *)buf), vx));
        }
    }
    __m256i t[16];
    for (int j = 0; j < 4; j++) {
        t[0 + j] = _mm256_sub_epi16(d[0 + j], d[8 + j]);
        t[4 + j] = _mm256_add_epi16(d[4 + j], d[8 + j]);
        t[8 + j] = _mm256_sub_epi16(d[8 + j], d[4 + j]);
        t[12 + j] = _mm256_sub_epi16(d[4 + j], d[12 + j]);
    }
    for (int i = 0; i < 4; i++) {
        const __m256i *r = t + 4 * i;
        _mm256_store_si256((__m256i *)(v + (size_t)(4 * i + 0) * vstride), _mm256_sub_epi16(r[0], r[2]));
        _mm256_store_si256((__m256i *)(v + (size_t)(4 * i + 1) * vstride), _mm256_add_epi16(r[1], r[2]));
        _mm256_store_si256((__m256i *)(v + (size_t)(4 * i + 2) * vstride), _mm256_sub_epi16(r[2], r[1]));
        _mm256_store_si256((__m256i *)(v + (size_t)(4 * i + 3) * vstride), _mm256_sub_epi16(r[1], r[3]));
    }
}

/* ---- the 6x16 int16 micro-kernel (as qgemm_avx2.c's) ---- */

static inline __m256i bcast32(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* pf (not NULL): the panel the next call will read, fetched one cache line per step so it arrives
 * from memory while this one computes (only the first chunk of tiles of a strip reads U from memory). */
static inline __attribute__((always_inline)) void kernel_rx16(const int16_t *a, size_t lda, const int16_t *b, int kp,
                                                              int32_t *c, int R, const int16_t *pf) {
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda,
                  *a5 = a + 5 * lda;
    for (int p = 0; p < kp; p++) {
        __m256i b0 = _mm256_load_si256((const __m256i *)(b + 32 * (size_t)p));
        __m256i b1 = _mm256_load_si256((const __m256i *)(b + 32 * (size_t)p + 16));
        if (pf) _mm_prefetch((const char *)(pf + 32 * (size_t)p), _MM_HINT_T0);
        __m256i x;
#define ROW(i)                                                         \
    if (R > i) {                                                       \
        x = bcast32(a##i + 2 * (size_t)p);                             \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(x, b0)); \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(x, b1)); \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
#define OUT(i)                                                            \
    if (R > i) {                                                          \
        _mm256_store_si256((__m256i *)(c + (size_t)i * NR), c##i##0);     \
        _mm256_store_si256((__m256i *)(c + (size_t)i * NR + 8), c##i##1); \
    }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
#undef OUT
}

/* (R and "pf is NULL" are constants in each inlined copy) */
static void kernel(const int16_t *a, size_t lda, const int16_t *b, int kp, int32_t *c, int rows, const int16_t *pf) {
#define ROWS(R)                                          \
    if (pf) kernel_rx16(a, lda, b, kp, c, R, pf);        \
    else kernel_rx16(a, lda, b, kp, c, R, NULL);         \
    break;
    switch (rows) {
    case 1: ROWS(1)
    case 2: ROWS(2)
    case 3: ROWS(3)
    case 4: ROWS(4)
    case 5: ROWS(5)
    default: ROWS(6)
    }
#undef ROWS
}

/* ---- output transform + epilogue: one tile, 16 output channels from n ---- */

/* the 2x2 outputs (4*S) of 8 channels from m[ij] = mb + ij * mstride */
static inline void output_half(const int32_t *mb, size_t mstride, __m256i cc, __m256i y[4]) {
    __m256i m[16], s[8];
    for (int ij = 0; ij < 16; ij++) m[ij] = _mm256_load_si256((const __m256i *)(mb + (size_t)ij * mstride));
    for (int j = 0; j < 4; j++) {
        s[j] = _mm256_add_epi32(_mm256_add_epi32(m[j], m[4 + j]), m[8 + j]);
        s[4 + j] = _mm256_sub_epi32(_mm256_sub_epi32(m[4 + j], m[8 + j]), m[12 + j]);
    }
    for (int i = 0; i < 2; i++) {
        const __m256i *r = s + 4 * i;
        __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(r[0], r[1]), r[2]);
        __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(r[1], r[2]), r[3]);
        /* 4*S is exact (qwino.h): the arithmetic shift gives S; then the zero-point/bias correction */
        y[2 * i] = _mm256_add_epi32(_mm256_srai_epi32(y0, 2), cc);
        y[2 * i + 1] = _mm256_add_epi32(_mm256_srai_epi32(y1, 2), cc);
    }
}

static inline __m128i requant16(__m256i a0, __m256i a1, __m256 s0, __m256 s1, __m256 lo, __m256 hi, __m256i zp, bool u8) {
    __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0);
    __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1);
    f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
    f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
    __m256i i0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zp);
    __m256i i1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zp);
    __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
    __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
    return u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh);
}

static void output_tile(const ot_qwino *w, const ot_qwino_geom *g, uint8_t *y, const int32_t *mb, size_t mstride,
                        int n, int oy, int ox, int n0) {
    const int M = w->M, nv = M - n0 < NR ? M - n0 : NR;
    __m256i lo4[4], hi4[4];
    output_half(mb, mstride, _mm256_loadu_si256((const __m256i *)(w->corr + n0)), lo4);
    output_half(mb + 8, mstride, _mm256_loadu_si256((const __m256i *)(w->corr + n0 + 8)), hi4);
    const bool s32 = w->type == OT_QGEMM_OUT_S32;
    const __m256 s0 = _mm256_loadu_ps(w->scale + n0), s1 = _mm256_loadu_ps(w->scale + n0 + 8);
    const __m256 lo = _mm256_set1_ps(w->lo_f), hi = _mm256_set1_ps(w->hi_f);
    const __m256i zp = _mm256_set1_epi32(w->zy);
    for (int p = 0; p < 4; p++) {
        int yy = oy + p / 2, xx = ox + p % 2;
        if (yy >= g->OH || xx >= g->OW) continue;
        size_t off = (((size_t)n * g->OH + (size_t)yy) * g->OW + (size_t)xx) * M + (size_t)n0;
        if (s32) {
            int32_t *c = (int32_t *)y + off;
            if (nv == NR) {
                _mm256_storeu_si256((__m256i *)c, lo4[p]);
                _mm256_storeu_si256((__m256i *)(c + 8), hi4[p]);
            } else {
                int32_t t[NR];
                _mm256_storeu_si256((__m256i *)t, lo4[p]);
                _mm256_storeu_si256((__m256i *)(t + 8), hi4[p]);
                memcpy(c, t, (size_t)nv * sizeof *t);
            }
        } else {
            __m128i b = requant16(lo4[p], hi4[p], s0, s1, lo, hi, zp, w->type == OT_QGEMM_OUT_U8);
            if (nv == NR) {
                _mm_storeu_si128((__m128i *)(y + off), b);
            } else {
                uint8_t t[NR];
                _mm_storeu_si128((__m128i *)t, b);
                memcpy(y + off, t, (size_t)nv);
            }
        }
    }
}

static void tiles(const ot_qwino *w, const ot_qwino_geom *g, const uint8_t *x, uint8_t *y, int t0, int t1, int m0,
                  int m1, void *scratch) {
    const int nt = t1 - t0, rows = round_up(nt, MR), kpad = w->kpad, kp = kpad / 2;
    int16_t *v = scratch;                                              /* [16][rows][kpad] */
    int32_t *mbuf = (int32_t *)(v + (size_t)16 * rows * kpad);         /* [16][MR][16]: one row chunk */
    const size_t vstride = (size_t)rows * kpad, mstride = (size_t)MR * NR;
    const __m128i vx = _mm_set1_epi8((char)w->x_xor);
    for (int i = 0; i < nt; i++) {
        const uint8_t *px[16];
        int n, oy, ox;
        ot_qwino_tile_ptrs(w, g, x, t0 + i, px, &n, &oy, &ox);
        for (int c0 = 0; c0 < kpad; c0 += CB) input_tile(px, c0, w->C, vx, v + (size_t)i * kpad + c0, vstride);
    }
    const int16_t *u = w->u;
    const size_t ij_stride = (size_t)kpad * w->npad;
    /* per strip of 16 output channels and chunk of 6 tiles: the 16 products, then at once the output
     * transform, while the int32 sums are in L1 (the strip's weights for all 16 points stay in L2) */
    for (int n0 = m0; n0 < m1; n0 += NR) {
        const int16_t *us = u + (size_t)(n0 / NR) * kpad * NR;
        for (int r0 = 0; r0 < nt; r0 += MR) {
            int R = nt - r0 < MR ? nt - r0 : MR;
            for (int ij = 0; ij < 16; ij++) {
                const int16_t *a = v + (size_t)ij * vstride + (size_t)r0 * kpad, *b = us + (size_t)ij * ij_stride;
                int32_t *c = mbuf + (size_t)ij * mstride;
                /* the first chunk fetches the next panel: point ij + 1, or point 0 of the next strip */
                const int16_t *pf = NULL;
                if (r0 == 0 && (ij < 15 || n0 + NR < m1)) pf = ij < 15 ? b + ij_stride : us + (size_t)kpad * NR;
                kernel(a, (size_t)kpad, b, kp, c, R, pf);
            }
            for (int i = 0; i < R; i++) {
                int n, oy, ox;
                ot_qwino_tile_origin(g, t0 + r0 + i, &n, &oy, &ox);
                output_tile(w, g, y, mbuf + (size_t)i * NR, mstride, n, oy, ox, n0);
            }
        }
    }
}

const ot_qwino_isa ot_qwino_avx2 = {
    .kstep = CB, .nstep = NR, .mr = MR,
    .u_size = u_size, .pack = pack, .scratch_size = scratch_size, .tiles = tiles,
};
