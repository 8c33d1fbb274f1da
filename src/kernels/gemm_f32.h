/* octet's own fp32 GEMM for convolutions: C[M,N] = A[M,K] x B[K,N] + bias[M], clamped.
 *
 * A (the weights) is packed once, when the session is created, into panels of 6 rows. B is packed
 * per call in blocks of at most 256 x 128 into panels of 16 columns, either from a dense row-major
 * matrix (1x1 convolution: B is the image) or straight from the image as the columns of im2col
 * (so the column matrix never exists whole). A 6x16 register tile (AVX2+FMA, scalar twin) runs over
 * the panels; bias and the Relu/Clip clamp are applied when the tile is stored, so C is written once.
 * Callers split [m0, m1) x [n0, n1) across threads; every call is serial and thread-safe. */
#ifndef OT_GEMM_F32_H
#define OT_GEMM_F32_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/im2col.h"

#define OT_GEMM_F32_MR 6
#define OT_GEMM_F32_NR 16

/* A packed as [ceil(M/6)][K][6] (rows past M are zero). */
typedef struct ot_gemm_f32_a {
    int m, k;
    float *data;  /* 64-byte aligned, owned */
} ot_gemm_f32_a;

/* Pack rows of a (row-major, leading dimension lda). false on out of memory. */
bool ot_gemm_f32_pack_a(ot_gemm_f32_a *p, const float *a, int m, int k, int lda);
void ot_gemm_f32_free_a(ot_gemm_f32_a *p);

/* The B operand (K x N), one of three kinds:
 *  - direct (koff != NULL): B[k][n] = base[koff[k] + (n / row_w) * row_stride + n % row_w], read in
 *    place without packing (1x1 convolution: koff[k] = k * H*W; k x k convolution over a padded,
 *    stride-phase-split copy of the image, see ot_conv_pad_f32). Only elements of real columns are
 *    read, so base needs no slack;
 *  - dense (b, ldb), packed per block;
 *  - im2col (conv, image): the column matrix of one image under that geometry (row
 *    ((c*kD + a)*kH + b)*kW + e, column = output position), packed per block straight from the image. */
typedef struct ot_gemm_f32_b {
    const float *b;
    int ldb;
    const ot_conv_geom *conv;
    const float *image;
    const int *koff;
    const float *base;
    int row_w, row_stride;
} ot_gemm_f32_b;

/* Floats of scratch one call needs. */
size_t ot_gemm_f32_scratch(void);

/* C rows [m0, m1) (m0 a multiple of 6) x columns [n0, n1) = A x B + bias (bias may be NULL), then
 * clamped to [lo, hi] (use -INFINITY/INFINITY for none). C is written, not accumulated. */
void ot_gemm_f32(const ot_gemm_f32_a *a, int m0, int m1, const ot_gemm_f32_b *b, int n0, int n1, float *c, int ldc,
                 const float *bias, float lo, float hi, float *scratch);

/* Micro-kernel: tile C[mr<=6][nr<=16] (+)= A panel [kc][6] x B panel [kc][16]. first: start from
 * bias (or 0) instead of C; last: clamp before storing. */
typedef void (*ot_gemm_f32_kernel_fn)(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr,
                                      bool first, bool last, const float *bias, float lo, float hi);
void ot_gemm_f32_kernel_scalar(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool first,
                               bool last, const float *bias, float lo, float hi);
void ot_gemm_f32_kernel_avx2(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool first,
                             bool last, const float *bias, float lo, float hi);
/* Same over an unpacked full-width B tile: row k is b + koff[k], 16 floats. */
typedef void (*ot_gemm_f32_kernel_direct_fn)(int kc, const float *a, const float *b, const int *koff, float *c, int ldc,
                                             int mr, bool first, bool last, const float *bias, float lo, float hi);
void ot_gemm_f32_kernel_direct_scalar(int kc, const float *a, const float *b, const int *koff, float *c, int ldc,
                                      int mr, bool first, bool last, const float *bias, float lo, float hi);
void ot_gemm_f32_kernel_direct_avx2(int kc, const float *a, const float *b, const int *koff, float *c, int ldc, int mr,
                                    bool first, bool last, const float *bias, float lo, float hi);
/* AVX2 kernels are used when the CPU has them (unless OCTET_ISA=scalar); tests can force the
 * scalar twins (not thread-safe: set it before running). */
void ot_gemm_f32_force_scalar(bool on);

/* Direct B for a k x k convolution (1-D/2-D): a zero-padded copy of one image whose rows are split
 * into stride phases. Geometry comes from g (leading extent in[0] must be 1). */
typedef struct ot_conv_pad {
    int hp, wq;          /* padded rows, floats per phase row */
    size_t ch_stride;    /* floats per channel */
} ot_conv_pad;
void ot_conv_pad_dims(const ot_conv_geom *g, ot_conv_pad *p);
/* dst holds g->channels * p->ch_stride floats; fills it from image. */
void ot_conv_pad_f32(const ot_conv_geom *g, const ot_conv_pad *p, const float *image, float *dst);
/* koff[k] for every row of the im2col matrix (g->channels * kH * kW entries), and the direct-B
 * description over dst. */
void ot_conv_pad_direct(const ot_conv_geom *g, const ot_conv_pad *p, const float *dst, int *koff, ot_gemm_f32_b *b);

#endif
