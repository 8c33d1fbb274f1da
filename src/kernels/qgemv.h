/* 8-bit GEMV for one activation row at a time (the recurrent step of the dynamic LSTM/GRU/RNN, batch 1):
 *   acc[n] = sum_k (a[k] - za) * (B[k,n] - zb)        a: uint8 [K], B: int8 or uint8 [K,N], one zb
 * exact in int32 (wrapping modulo 2^32 like qgemm), then the float epilogue
 *   y[n] = (float)acc[n] * scale[n or 0] + y[n]        (accumulate: one multiply, then one add)
 * B is packed once in int8 (half the bytes of qgemm's int16 panels: the step streams the whole matrix,
 * so its size is the cost). The AVX2 kernel widens both operands to int16 and uses vpmaddwd, which is
 * exact (|a - za| <= 255, |B - shift| <= 128); no saturating vpmaddubsw. Scalar and AVX2 read the same
 * packed layout and give identical results.
 *
 * With 7-bit B (every pair of k fits vpmaddubsw exactly: ot_qgemm_b_fits_u8s7's rule, e.g. reduce_range
 * weights) the AVX2 variant packs B by 4 k instead and runs u8 A x s7 B with vpmaddubsw + vpmaddwd by
 * ones: half the instructions per multiply-add, same results. The prepared A then holds the bytes of A
 * (as uint8) and its zero point instead of a - za; callers treat it as opaque and only size it with
 * ot_qgemv_kpad, so every pack that shares one prepared A must be of one kind (ot_qgemv_pack_split).
 *
 * With full 8-bit B the AVX2 variant packs both layouts (split): per call, ot_qgemv_prep_a splits A as the
 * split GEMM kernel does (A_u = L + u + r, qgemm_avx2.c) into bytes u, (za_u - L) and a list of residual
 * entries, and the strips run vpmaddubsw on u plus the entries; when the residual passes ~3 % of K the
 * prepared A takes the int16 form instead, for the pairs layout. A flag after kpad says which.
 *
 * Columns are processed in strips of OT_QGEMV_NB; a caller may split the strips among threads. */
#ifndef OT_QGEMV_H
#define OT_QGEMV_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "octet.h"

#define OT_QGEMV_NB 32

typedef struct ot_qgemv_packed {
    int K, N, kpad, nstrips;
    int32_t zbk;          /* zb - shift (shift = 128 for uint8 B, else 0): the row-sum correction */
    int8_t *data;         /* [nstrips][kpad/2][NB][2]: B[k,n] - shift, pairs of k per column;
                           * u8s7 and split: [nstrips][kpad/4][NB][4], 4 k per column */
    int8_t *data2;        /* split: the pairs layout too (the int16 fallback) */
    ot_isa isa;           /* the variant that runs it (scalar or AVX2) */
    bool u8s7;            /* AVX2 with 7-bit B: vpmaddubsw */
    bool split;           /* AVX2 with full 8-bit B: vpmaddubsw on A split per call (qgemm_avx2.c) */
    int32_t *colsum;      /* u8s7, split: [nstrips * NB] sums of B[k,n] - shift over k (the za correction) */
} ot_qgemv_packed;

/* Pack B[K,N] (row-major, leading dimension ldb) with zero point zb in B's type range. */
octet_status ot_qgemv_pack(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb, int32_t zb);
/* Same, forcing a variant (tests): OT_ISA_SCALAR, or AVX2 and above (the AVX2 kernel; u8s7 when B fits). */
octet_status ot_qgemv_pack_isa(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb,
                               int32_t zb, ot_isa isa);
/* ot_qgemv_pack with the split kernel even when B fits u8s7 (for packs that share a prepared A with one
 * that does not fit). */
octet_status ot_qgemv_pack_split(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb,
                                 int32_t zb);
void ot_qgemv_free(ot_qgemv_packed *p);

/* Elements of int16 scratch ot_qgemv_prep_a needs (the prepared A): kpad, + 4 for the split kernel's
 * flag (which form the prepared A took). */
static inline int ot_qgemv_kpad(const ot_qgemv_packed *p) { return p->kpad + (p->split ? 4 : 0); }

/* Prepare A: a16[k] = a[k] - za (zero padded to kpad), or for u8s7 the bytes of a and za; returns the
 * correction term zbk * sum_k (a[k] - za). */
int32_t ot_qgemv_prep_a(const ot_qgemv_packed *p, const uint8_t *a, int32_t za, int16_t *a16);

/* The same for 8-bit A of either type: a16[k] = a[k] - za, with za in A's type range. */
int32_t ot_qgemv_prep_a_q8(const ot_qgemv_packed *p, const void *a, bool a_signed, int32_t za, int16_t *a16);

/* Strips [s0, s1) of y = (float)acc * scale + add[n], acc the exact int32 a16 * B (corr from prep_a),
 * scale per column or [1]: one float multiply, then one add. add may be y itself (accumulate), another
 * vector (a bias), or NULL for + 0.0f -- qgemm's OT_QGEMM_OUT_F32 epilogue, bit for bit (-0 gives +0).
 * y has N entries (columns past N are never written). */
void ot_qgemv_f32(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                  bool scale_per_col, const float *add, float *y, int s0, int s1);
/* ot_qgemv_f32 with add = y. */
void ot_qgemv_f32_acc(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                      bool scale_per_col, float *y, int s0, int s1);

/* y[m][n] = (float)(sum_k (a[m][k] - za) * (B[k][n] - zb)) * scale[n or 0] + (bias ? bias[n] : 0.0f)
 * for M rows of 8-bit A (lda apart) into y (ldy apart): the batch-1 MatMulIntegerToFloat, equal to
 * ot_qgemm's F32 output. The column strips are split among up to `threads` OpenMP threads when the
 * product is big enough to pay for the fork (results do not depend on the count). */
octet_status ot_qgemv_rows_f32(const ot_qgemv_packed *p, int M, const void *a, bool a_signed, int lda, int32_t za,
                               const float *scale, bool scale_per_col, const float *bias, float *y, int ldy,
                               int threads);
/* Strips [s0, s1) of the raw int32 result (tests). */
void ot_qgemv_s32(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, int32_t *y, int s0, int s1);

/* Internal: the per-variant strip kernel, acc[NB] for strip s. */
void ot_qgemv_strip_scalar(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[OT_QGEMV_NB]);
void ot_qgemv_strip_avx2(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[OT_QGEMV_NB]);
void ot_qgemv_strip_avx2_u8s7(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[OT_QGEMV_NB]);
void ot_qgemv_strip_avx2_split(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[OT_QGEMV_NB]);
/* Split packs: the windowed form of a prepared A from a (XOR x: the bytes as uint8); false when its residual
 * is too long (the int16 form then). *asum: sum of A_u over k < K. */
bool ot_qgemv_window_avx2(const ot_qgemv_packed *p, const uint8_t *a, uint8_t x, int32_t za_u, uint8_t *dst,
                          uint32_t *asum);
/* Split packs: whether a prepared A took the windowed form (else the int16 one, on data2). */
static inline bool ot_qgemv_a_windowed(const ot_qgemv_packed *p, const int16_t *a16) { return a16[p->kpad] != 0; }
void ot_qgemv_f32_avx2(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                       bool scale_per_col, const float *add, float *y, int s0, int s1);

#endif
