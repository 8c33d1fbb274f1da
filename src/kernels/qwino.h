/* Exact integer Winograd F(2x2, 3x3) for 8-bit 3x3 convolutions with stride 1 and dilation 1
 * (channels-last; used by qconv.c, not by op code).
 *
 * The convolution's accumulator over one 2x2 output tile and one output channel m is
 *     S = sum over c, 3x3 taps of a_u * wk            a_u: input byte (XOR 0x80 for int8), wk = w - zw[m]
 *     acc = S + corr[m],  corr[m] = bias[m] - za_u * sum(wk)   (as in the qgemm: padding reads a_u = za_u)
 * Winograd computes 4*S with integer transforms (G scaled by 2 so that every entry is an integer):
 *     V = Bt d B   (d: the 4x4 input patch, |V| <= 1020)      U = (2G) g (2G)t   (|U| <= 2295)
 *     4*S = At [ sum over c of U (.) V ] A
 * 16 products per tile and channel pair instead of 36 (2.25x fewer multiplies), all in int16 x int16 ->
 * int32 (vpmaddwd on AVX2). Every step is a ring operation modulo 2^32, so intermediate wrap-around
 * cancels; the result is exact as long as |4*S| < 2^31, which create() checks for every channel from
 * the weights (sum |wk| * 255 * 4 < 2^31). S, corr and the epilogue (requant.h) are then the same
 * integers and float operations as the im2col path's: outputs are bit-identical to it. */
#ifndef OT_QWINO_H
#define OT_QWINO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/qconv.h"

typedef struct ot_qwino ot_qwino;

typedef struct ot_qwino_geom {
    int N, H, W;        /* input [N][H][W][C] */
    int OH, OW;         /* output [N][OH][OW][M] */
    int pt, pl;         /* top / left padding; bottom / right follow from OH, OW */
} ot_qwino_geom;

/* Pack the transformed weights when the descriptor fits (2-D 3x3, one group, 8-bit or int32 output,
 * accumulator range above, a variant for isa); otherwise *out = NULL and OCTET_OK. */
octet_status ot_qwino_create(ot_qwino **out, const ot_qconv_desc *d, ot_isa isa);
void ot_qwino_free(ot_qwino *w);
/* y = conv(x), stride 1, dilation 1, NHWC; tiles spread over threads (results do not depend on it). */
octet_status ot_qwino_run(const ot_qwino *w, const ot_qwino_geom *g, const void *x, void *y, int threads);

/* ---- shared with the variants (qwino.c, qwino_avx2.c) ---- */

typedef struct ot_qwino_isa {
    int kstep;                                          /* C is padded to a multiple of this */
    int nstep;                                          /* M is padded to a multiple of this */
    int mr;                                             /* tiles per block are a multiple of this */
    size_t (*u_size)(int kpad, int npad);
    /* u: [16][C][M] int16, the transformed weights; dst: the variant's layout */
    void (*pack)(void *dst, const int16_t *u, int C, int M, int kpad, int npad);
    size_t (*scratch_size)(int tiles, int kpad, int npad);
    /* compute the tiles [t0, t1) of the flattened (n, tile row, tile column) order, output channels
     * [m0, m1) (m0 a multiple of nstep) */
    void (*tiles)(const ot_qwino *w, const ot_qwino_geom *g, const uint8_t *x, uint8_t *y, int t0, int t1, int m0,
                  int m1, void *scratch);
} ot_qwino_isa;

struct ot_qwino {
    const ot_qwino_isa *isa;
    int C, M, kpad, npad;
    uint8_t x_xor;              /* 0x80 for int8 x */
    ot_qgemm_out_type type;     /* S32, U8, S8 */
    int32_t zy;
    float lo_f, hi_f;           /* lo - zy, hi - zy */
    int32_t *corr;              /* [npad] */
    float *scale;               /* [npad] (U8, S8) */
    uint8_t *zrow;              /* kpad + 64 bytes of the raw input zero point, for padding pixels */
    void *u;
};

extern const ot_qwino_isa ot_qwino_scalar;
extern const ot_qwino_isa ot_qwino_avx2;

/* Tiles per image row and column. */
static inline int ot_qwino_tiles_h(const ot_qwino_geom *g) { return (g->OH + 1) / 2; }
static inline int ot_qwino_tiles_w(const ot_qwino_geom *g) { return (g->OW + 1) / 2; }

/* The output origin of tile t. */
static inline void ot_qwino_tile_origin(const ot_qwino_geom *g, int t, int *n, int *oy, int *ox) {
    int th = ot_qwino_tiles_h(g), tw = ot_qwino_tiles_w(g);
    int tx = t % tw, rest = t / tw;
    *n = rest / th;
    *oy = 2 * (rest % th);
    *ox = 2 * tx;
}

/* The 16 input pixel pointers of tile t (row-major 4x4; padding pixels point at zrow) and the tile's
 * output origin. */
static inline void ot_qwino_tile_ptrs(const ot_qwino *w, const ot_qwino_geom *g, const uint8_t *x, int t,
                                      const uint8_t *px[16], int *n, int *oy, int *ox) {
    int th = ot_qwino_tiles_h(g), tw = ot_qwino_tiles_w(g);
    int tx = t % tw, rest = t / tw, ty = rest % th;
    *n = rest / th;
    *oy = 2 * ty;
    *ox = 2 * tx;
    int iy0 = *oy - g->pt, ix0 = *ox - g->pl;
    size_t C = (size_t)w->C;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            int iy = iy0 + r, ix = ix0 + c;
            bool in = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W;
            px[r * 4 + c] = in ? x + (((size_t)*n * g->H + (size_t)iy) * g->W + (size_t)ix) * C : w->zrow;
        }
}

#endif
