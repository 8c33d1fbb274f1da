/* 8-bit integer GEMM: C[M,N] = epilogue( sum_k (A[m,k] - za) * (B[k,n] - zb[n]) + bias[n] ).
 *
 *   A  activations, uint8 or int8, [M,K] row-major with leading dimension lda, one zero point za.
 *   B  weights, int8 or uint8, [K,N] (or [N,K] when b_trans, e.g. Conv weights [Cout][Cin*kh*kw]),
 *      zero point per tensor or per output column (zb, usually 0 = symmetric).
 *   bias  optional int32 [N] (ONNX QLinearConv bias, scale s_x*s_w[n]).
 * The int32 accumulation is exact (arithmetic modulo 2^32 if a result ever exceeds int32), and every
 * variant (scalar, AVX2, AVX-512 VNNI) and every thread count gives bit-identical output.
 *
 * Epilogues (what is written to C, per element, acc = the int32 value above):
 *   OT_QGEMM_OUT_S32  C = acc                                   (MatMulInteger, ConvInteger)
 *   OT_QGEMM_OUT_F32  C = (float)acc * scale[n] + bias_f[n]       (MatMulIntegerToFloat; one float
 *                     multiply then one add, as ORT's MLAS does; bias_f may be NULL)
 *   OT_QGEMM_OUT_U8 / OT_QGEMM_OUT_S8
 *                     C = clamp(round_half_even((float)acc * scale[n]) + zp, lo, hi)
 *                     scale[n] is the float multiplier s_x*s_w[n]/s_y (see ot_requant_scale); the
 *                     clamp is done in float before rounding as MLAS does (same result for finite
 *                     values, and a NaN product gives lo). Fused ReLU / ReLU6 / Clip = tighter lo, hi.
 * scale is per column (scale_per_col) or one value.
 *
 * Usage: pack B once (e.g. at session creation), then call ot_qgemm per run:
 *     ot_qgemm_packed *pb;  OT_TRY(ot_qgemm_pack_b(&pb, &(ot_qgemm_b){...}));
 *     OT_TRY(ot_qgemm(pb, M, a, lda, za, a_signed, &(ot_qgemm_out){...}, threads));
 *     ot_qgemm_packed_free(pb);
 */
#ifndef OT_QGEMM_H
#define OT_QGEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "kernels/requant.h"   /* ot_requant_scale */
#include "octet.h"

typedef struct ot_qgemm_packed ot_qgemm_packed;

/* Description of B for packing. */
typedef struct ot_qgemm_b {
    int K, N;
    const void *b;            /* int8_t or uint8_t data */
    int ldb;                  /* elements between rows of the stored matrix (N, or K when b_trans) */
    bool b_signed;            /* true: int8, false: uint8 */
    bool b_trans;             /* stored as [N,K] */
    const int32_t *zb;        /* NULL (= 0), or zb_count values in B's own type range */
    int zb_count;             /* 1 (per tensor) or N (per column) */
    const int32_t *bias;      /* NULL or [N] */
    int32_t za_hint;          /* the activation zero point expected at run time (folded in once; */
    bool a_signed_hint;       /*  another za still works, at O(N) extra per call) */
} ot_qgemm_b;

typedef enum ot_qgemm_out_type {
    OT_QGEMM_OUT_S32 = 0,
    OT_QGEMM_OUT_F32,
    OT_QGEMM_OUT_U8,
    OT_QGEMM_OUT_S8
} ot_qgemm_out_type;

typedef struct ot_qgemm_out {
    ot_qgemm_out_type type;
    void *c;                  /* int32_t / float / uint8_t / int8_t [M, ldc] */
    int ldc;                  /* elements between rows of C (>= N) */
    const float *scale;       /* F32, U8, S8: scale_per_col ? [N] : [1] */
    bool scale_per_col;
    const float *bias_f;      /* F32 only: NULL or [N] */
    int32_t zp, lo, hi;       /* U8, S8: output zero point and clamp bounds (within the type's range) */
} ot_qgemm_out;

/* Pack B with the kernel variant in use (ot_kernels_get()). */
octet_status ot_qgemm_pack_b(ot_qgemm_packed **out, const ot_qgemm_b *desc);
/* Pack B for one specific variant (tests, benchmarks); UNSUPPORTED when the CPU lacks it. */
octet_status ot_qgemm_pack_b_isa(ot_qgemm_packed **out, const ot_qgemm_b *desc, ot_isa isa);
/* Pack B for one kernel by name (tests, benchmarks): "scalar", "avx2" (int16 vpmaddwd), "avx2-u8s7"
 * (B must fit it), "avx2-split", "avx512vnni"; UNSUPPORTED when the CPU lacks it. */
octet_status ot_qgemm_pack_b_kernel(ot_qgemm_packed **out, const ot_qgemm_b *desc, const char *kernel);
void ot_qgemm_packed_free(ot_qgemm_packed *p);
int ot_qgemm_packed_k(const ot_qgemm_packed *p);
int ot_qgemm_packed_n(const ot_qgemm_packed *p);
ot_isa ot_qgemm_packed_isa(const ot_qgemm_packed *p);
/* The kernel that runs it: the ISA's name, or on AVX2 "avx2-u8s7" when B fits vpmaddubsw exactly (7-bit
 * weights, see ot_qgemm_b_fits_u8s7) and "avx2-split" otherwise (A split per call, qgemm_avx2.c). */
const char *ot_qgemm_packed_kernel(const ot_qgemm_packed *p);
/* The AVX2 split kernels' window start for activations with zero point za_u (as uint8): activations
 * cluster around it, so starting 80 steps below leaves few values under the window and few k pairs over
 * 256 above it (qgemm_avx2.c). Shared by the GEMM and the GEMV. */
static inline int ot_qsplit_window_start(int32_t za_u) { return za_u > 80 ? (int)za_u - 80 : 0; }
/* True when every pair of consecutive k of every column of B (int8, or uint8 - 128) has positive parts
 * summing to at most 128 and negative parts too: then u8 x s8 pair sums cannot leave int16. */
bool ot_qgemm_b_fits_u8s7(const ot_qgemm_b *desc);

/* C = epilogue(A * B). a: [M, lda] uint8 (a_signed false) or int8; za in A's type range.
 * threads <= 1 runs on the calling thread; results do not depend on it. */
octet_status ot_qgemm(const ot_qgemm_packed *pb, int M, const void *a, int lda, int32_t za, bool a_signed,
                      const ot_qgemm_out *out, int threads);

/* Scalar reference on unpacked operands (the oracle the fast variants are tested against). */
octet_status ot_qgemm_ref(const ot_qgemm_b *desc, int M, const void *a, int lda, int32_t za, bool a_signed,
                          const ot_qgemm_out *out);

#endif
