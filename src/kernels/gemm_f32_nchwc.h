/* Float convolution in the blocked channel layout NCHWc (c = 8): a tensor [N, C, H, W] is stored as
 * [N, ceil(C/8), H, W, 8], so the 8 channels of a block sit in one AVX2 vector and every pixel of a
 * block is contiguous. The lanes past C in the last block are padding with unspecified values:
 * the direct kernels never read them, and write them as if the padded output channels had zero
 * weights and zero bias; depthwise kernels compute them from the input's padding lanes.
 *
 * Kernels (AVX2+FMA, each with a scalar twin that computes bit-identical results):
 *  - direct convolution (group 1, any kernel/stride/dilation/padding): a register tile of P output
 *    pixels x nf output blocks (nf <= 3, P * nf <= 12); the input is read in place, either blocked or
 *    plain NCHW (first layers, or a producer outside the blocked region), as one broadcast per pixel
 *    and tap; no im2col, no packing per call. Taps are summed in chunks whose weights stay in L1
 *    (partial sums wait in the output); border pixels get their own tap lists (the taps that land
 *    inside the image), small images a zero-padded copy of the input instead;
 *  - depthwise (group = C = M): 8 channels per vector, up to 8 pixels per step, over input rows
 *    staged with their zero padding;
 *  - max pooling, reorders NCHW <-> NCHWc, and elementwise programs (below) for the epilogue.
 * Every output element is bias + the taps in ascending order of (input channel, kernel row, kernel
 * column), one fused multiply-add each, as octet's GEMM path (gemm_f32.h) and depthwise kernels
 * (dwconv_f32.h) sum them: the layouts agree bit for bit (the direct kernels skip taps over padding,
 * where the GEMM adds exact zeros: that only changes the sign of an exact zero). Then + Z (same layout
 * as the output), then the clamp [lo, hi] (Relu, Clip), then the elementwise program if any. */
#ifndef OT_GEMM_F32_NCHWC_H
#define OT_GEMM_F32_NCHWC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OT_NCHWC 8

static inline int ot_nchwc_blocks(int64_t c) { return (int)((c + OT_NCHWC - 1) / OT_NCHWC); }

/* ---- elementwise programs ----
 * A short chain of per-element float ops applied to a tensor (or a convolution's output while it is
 * still in cache), each op exactly as octet's plain op computes it: registers r[0] = the input,
 * r[i+1] = result of instruction i; operands are registers or constants (a scalar, or one value per
 * channel: 8 floats per channel block, [blocks][8]). Made by the elementwise fusion (nchwc.h). */
typedef enum ot_ew_op {
    OT_EW_ADD, OT_EW_SUB, OT_EW_MUL, OT_EW_DIV,  /* a op b */
    OT_EW_MAX, OT_EW_MIN,                        /* Max / Min (a NaN a wins) */
    OT_EW_PRELU,                                 /* a < 0 ? a * b : a */
    OT_EW_RELU,                                  /* a < 0 ? 0 : a */
    OT_EW_LEAKY,                                 /* a < 0 ? p0 * a : a */
    OT_EW_CLIP,                                  /* (a < p0 ? p0 : a) > p1 ? p1 : ... */
    OT_EW_HARDSIGMOID,                           /* v = p0 * a + p1; v < 0 ? 0 : v > 1 ? 1 : v */
    OT_EW_HARDSWISH,                             /* a * hardsigmoid(a) with 1/6, 0.5 (a / 6 + 0.5) */
    OT_EW_OPS
} ot_ew_op;

#define OT_EW_MAX_INS 16
#define OT_EW_MAX_CONST 8

/* Operand: a register (>= 0) or constant k as -1 - k. */
typedef struct ot_ew_ins {
    int op, a, b;
    float p0, p1;
} ot_ew_ins;

typedef struct ot_ewprog {
    int n;                                   /* instructions; the result is r[n] */
    ot_ew_ins ins[OT_EW_MAX_INS];
    int nconst;
    bool per_channel[OT_EW_MAX_CONST];       /* else a scalar: value[0] */
    const float *value[OT_EW_MAX_CONST];     /* per channel: [blocks][8] */
    size_t image_stride[OT_EW_MAX_CONST];    /* per-channel values per image (runtime operands) */
} ot_ewprog;

/* Apply pg in place to nblk x n vectors of 8 floats: vector v of block f at y + f*bstride + v*stride;
 * per-channel constants take channel block block0 + f. */
void ot_ewprog_run(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride, int block0);
void ot_ewprog_run_scalar(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride,
                          int block0);
void ot_ewprog_run_avx2(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride,
                        int block0);
/* Apply pg to n single floats (a plain tensor's tail; scalar constants only). */
void ot_ewprog_run_floats(const ot_ewprog *pg, float *y, size_t n);

/* One image's geometry (2-D; 1-D is H = 1). */
typedef struct ot_nchwc_geom {
    int C, H, W;         /* input channels (real count) and extents */
    int M, OH, OW;       /* output channels and extents */
    int kh, kw, sh, sw, dh, dw, pt, pl;
    bool nchw_in;        /* input is plain NCHW [C][H][W] (direct convolution only) */
} ot_nchwc_geom;

/* Weights packed for the kernels. Direct: output blocks in groups of nf (3, 2 or 1); group j is
 * [K][nf][8] with K = C*kh*kw taps in the order k = (c*kh + a)*kw + b, or, when lane_major (C a
 * multiple of 8 and more than one tap), k = ((c/8*kh + a)*kw + b)*8 + c%8: the 8 channels of a
 * block next to each other, so a blocked input's 8 lanes at one kernel position are 8 consecutive
 * taps (ot_nchwc_tile8_*). Depthwise: [C/8 blocks][kh*kw][8]. bias: [mb][8], zero padded (zeros
 * without a bias). */
typedef struct ot_nchwc_w {
    int M, C, kh, kw, mb, K;
    bool depthwise;
    bool lane_major;
    int ngroups;
    int *gblock;               /* first block of each group, plus mb at the end (direct); group j
                                * is at data + gblock[j] * K * 8 */
    float *data, *bias;        /* 64-byte aligned, owned */
} ot_nchwc_w;

/* w: [M][C][kh][kw] (depthwise: [M][1][kh][kw], M = C); bias [M] or NULL. false on out of memory. */
bool ot_nchwc_pack(ot_nchwc_w *p, const float *w, const float *bias, int M, int C, int kh, int kw, bool depthwise);
void ot_nchwc_free(ot_nchwc_w *p);

/* y[ceil(M/8)][OH][OW][8] = conv(x) (+ z, same layout as y, may be NULL), clamped to [lo, hi], then
 * the program post (may be NULL) while the output is in cache; one image, over up to `threads`
 * OpenMP threads. false on out of memory. */
bool ot_nchwc_conv(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y, float lo,
                   float hi, const ot_ewprog *post, int threads);

/* Max pooling of blocked planes (planes = N * blocks, each [H][W][8]) with the window of g (C, M
 * unused): y = max over the window's valid taps in (row, column) order, as pool.c computes it
 * (start from -FLT_MAX, y = y > x ? y : x). */
void ot_nchwc_maxpool(const ot_nchwc_geom *g, int64_t planes, const float *x, float *y, int threads);
typedef void (*ot_nchwc_maxrow_fn)(const ot_nchwc_geom *g, const float *xb, int oh, float *yr);
void ot_nchwc_maxrow_scalar(const ot_nchwc_geom *g, const float *xb, int oh, float *yr);
void ot_nchwc_maxrow_avx2(const ot_nchwc_geom *g, const float *xb, int oh, float *yr);

/* Taps [lo, hi) of a kernel axis of k taps (dilation d) inside [0, n) for a window starting at i0. */
static inline void ot_nchwc_tap_range(int i0, int k, int d, int n, int *lo, int *hi) {
    int l = 0, h = k;
    if (i0 < 0) l = (-i0 + d - 1) / d;
    if (i0 + (h - 1) * d > n - 1) h = i0 > n - 1 ? 0 : (n - 1 - i0) / d + 1;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* [C][HW] <-> [ceil(C/8)][HW][8] for one image (padding lanes written as 0). */
void ot_nchwc_reorder_in(const float *x, int C, size_t hw, float *y);
void ot_nchwc_reorder_out(const float *x, int C, size_t hw, float *y);

/* ---- the kernels (exposed for the tests) ---- */

/* One tap of a direct tile: input offset (floats, relative to the tile's origin) and the tap's index
 * k in [0, K) (its weights are the nf*8 floats at w + k*nf*8). */
typedef struct ot_nchwc_tap {
    int xoff, k;
} ot_nchwc_tap;

#define OT_NCHWC_TILE_MAX 12

/* Direct tile: P pixels x nf blocks (nf in 1..3, P <= 12 / nf). Input of pixel p, tap t is
 * x[o + p*pstep + taps[t].xoff] (non-negative for every tap listed); weights w + taps[t].k*nf*8.
 * Output pixel p of block f is y + f*ybs + p*ys (8 floats; ys = 8 along a row). The taps may be one
 * chunk of the sum: first starts from bias (nf*8 floats), else from the partial sums in y; last adds
 * z (laid out like y, may be NULL) and clamps, else y keeps the partial sums. */
typedef void ot_nchwc_tile_kernel(int nf, int P, int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o,
                                  ptrdiff_t pstep, const float *w, const float *bias, float *y, size_t ybs,
                                  ptrdiff_t ys, const float *z, bool first, bool last, float lo, float hi);
typedef ot_nchwc_tile_kernel *ot_nchwc_tile_fn;
ot_nchwc_tile_kernel ot_nchwc_tile_scalar, ot_nchwc_tile_avx2;

/* Grouped direct tile (blocked input, lane_major weights): each entry t stands for the 8 taps of
 * one kernel position and channel block, lane l reading x[o + p*pstep + taps[t].xoff + l] with
 * weights w + (taps[t].k + l)*nf*8 -- the same sums in the same order as the 8 taps listed one by
 * one, without reading a list entry per tap. */
ot_nchwc_tile_kernel ot_nchwc_tile8_scalar, ot_nchwc_tile8_avx2;

/* Pointwise tile (1x1, stride 1, blocked input): like the direct tile with the taps being input
 * channels [c0, c0 + nc) (c0 a multiple of 8) of the pixels at x + p*8 (x: block 0, pixel 0 of the
 * tile; blocks plane floats apart); weights w + (c - c0)*nf*8 for channel c. No tap list to read. */
typedef void (*ot_nchwc_pw_fn)(int nf, int P, int c0, int nc, const float *x, ptrdiff_t plane, const float *w,
                               const float *bias, float *y, size_t ybs, const float *z, bool first, bool last,
                               float lo, float hi);
void ot_nchwc_pw_scalar(int nf, int P, int c0, int nc, const float *x, ptrdiff_t plane, const float *w,
                        const float *bias, float *y, size_t ybs, const float *z, bool first, bool last, float lo,
                        float hi);
void ot_nchwc_pw_avx2(int nf, int P, int c0, int nc, const float *x, ptrdiff_t plane, const float *w,
                      const float *bias, float *y, size_t ybs, const float *z, bool first, bool last, float lo,
                      float hi);

/* Depthwise: P (<= 8) pixels of one block. Tap t of pixel p reads x[o + p*pstep + xoff[t]] (8
 * floats) with weights w + 8*widx[t]. */
typedef void (*ot_nchwc_dw_fn)(int P, int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o,
                               ptrdiff_t pstep, const float *w, const float *bias, float *y, const float *z, float lo,
                               float hi);
void ot_nchwc_dw_scalar(int P, int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o, ptrdiff_t pstep,
                        const float *w, const float *bias, float *y, const float *z, float lo, float hi);
void ot_nchwc_dw_avx2(int P, int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o, ptrdiff_t pstep,
                      const float *w, const float *bias, float *y, const float *z, float lo, float hi);

void ot_nchwc_reorder_in_avx2(const float *x, int C, size_t hw, float *y);
void ot_nchwc_reorder_out_avx2(const float *x, int C, size_t hw, float *y);

/* Force the scalar kernels (tests; not thread-safe: set before running). */
void ot_nchwc_force_scalar(bool on);

#endif
