/* What the qgemm driver (qgemm.c) shares with its ISA variants (qgemm_ref.c, qgemm_avx2.c,
 * qgemm_avx512vnni.c). Not for op code: use qgemm.h.
 *
 * Arithmetic, identical in every variant (all int32 ops wrap modulo 2^32):
 *   A_u[m,k] = A[m,k] ^ a_xor          (int8 activations become uint8 + 128; za_u = za + 128)
 *   Bk[k,n]  = B in the variant's kernel domain:
 *              OT_QGEMM_BK_ZB : B[k,n] - zb[n]             (int16, |.| <= 255; no row term needed)
 *              OT_QGEMM_BK_S8 : B[k,n] - (B unsigned ? 128 : 0) (int8 for vpdpbusd), zbk[n] = zb[n] - that
 *   acc[m,n] = sum_k A_u[m,k] * Bk[k,n] - zbk[n] * rowsum_u[m] + colcorr[n]
 *   colcorr[n] = bias[n] - za_u * colsum[n],   colsum[n] = sum_k (B[k,n] - zb[n])
 * which equals sum_k (A - za)(B - zb) + bias. The epilogue (ot_qgemm_epi_*) then maps acc to C. */
#ifndef OT_QGEMM_INTERNAL_H
#define OT_QGEMM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qgemm.h"
#include "kernels/requant.h"

typedef enum { OT_QGEMM_BK_ZB = 0, OT_QGEMM_BK_S8 = 1 } ot_qgemm_bk_kind;

/* Everything one ot_qgemm call needs, per-column arrays padded to npad (a multiple of nr). */
typedef struct ot_qgemm_run {
    int M;
    const uint8_t *a;
    int lda;
    uint8_t a_xor;            /* 0x80 when A is int8 */
    const int32_t *colcorr;   /* [npad] */
    const int32_t *colsum;    /* [npad] sums of B - zb per column (the split variant's window shift) */
    int32_t za_u;             /* A's zero point as uint8 (za + 128 for int8 A) */
    const int32_t *zbk;       /* [npad] or NULL when all zero */
    const float *scale;       /* [npad] (F32, U8, S8) */
    const float *biasf;       /* [npad] (F32; zeros when the caller gave none) */
    ot_qgemm_out_type type;
    void *c;
    int ldc;
    int32_t zp;
    float lo_f, hi_f;         /* lo - zp, hi - zp */
    bool int_clamp;           /* U8/S8: every scale finite, |scale| < 0.99, so |acc * scale| < 2^31 and a
                               * variant may clamp after converting to int (same results, see qgemm_avx2.c) */
} ot_qgemm_run;

typedef struct ot_qgemm_isa {
    const char *name;         /* for tests and benchmarks: "scalar", "avx2", "avx2-u8s7", "avx512vnni" */
    int mr, nr;               /* register tile: rows x columns */
    int kstep;                /* K is padded with zeros to a multiple of this */
    ot_qgemm_bk_kind bk_kind;
    /* Bytes of packed B data for kpad x npad, and packing from Bk ([K][N] int16, row-major). */
    size_t (*b_size)(int kpad, int npad);
    void (*pack_b)(void *dst, const int16_t *bk, int K, int N, int kpad, int npad);
    /* Optional second copy of B, packed from B - zb[n] (the OT_QGEMM_BK_ZB domain): the split variant's
     * fallback for blocks whose residual is dense. NULL when the variant has none. */
    size_t (*b2_size)(int kpad, int npad);
    void (*pack_b2)(void *dst, const int16_t *bk_zb, int K, int N, int kpad, int npad);
    /* Per-thread scratch bytes for a block of mb rows (mb a multiple of mr) and up to npad columns. */
    size_t (*scratch_size)(int mb, int kpad, int npad);
    /* Bytes of packed A a block of mb rows streams through the cache, when less than its scratch (NULL:
     * the scratch); the driver sizes blocks by it. */
    size_t (*a_bytes)(int mb, int kpad);
    /* Compute rows [m0,m1) x columns [n0,n1) of C (n0, n1 multiples of nr or n1 = N). */
    void (*block)(const struct ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1,
                  void *scratch);
} ot_qgemm_isa;

struct ot_qgemm_packed {
    const ot_qgemm_isa *isa;
    ot_isa isa_id;
    int K, N, kpad, npad;
    int32_t *colsum;          /* [npad] */
    int32_t *bias;            /* [npad] (zeros if none) */
    int32_t *zbk;             /* [npad], NULL when all zero */
    int32_t *colcorr;         /* [npad] folded for za_u_hint */
    int32_t za_u_hint;
    void *data;               /* ISA layout */
    void *data2;              /* the second copy (pack_b2), or NULL */
};

extern const ot_qgemm_isa ot_qgemm_isa_scalar;
extern const ot_qgemm_isa ot_qgemm_isa_avx2;
extern const ot_qgemm_isa ot_qgemm_isa_avx512vnni;
/* AVX2 with vpmaddubsw, for B whose k pairs cannot saturate it (see qgemm_avx2.c); the driver picks it
 * in place of ot_qgemm_isa_avx2 when ot_qgemm_b_fits_u8s7 holds. */
extern const ot_qgemm_isa ot_qgemm_isa_avx2_u8s7;
/* AVX2 with vpmaddubsw for any int8 B: A is split per call into a part whose k pairs add up to at most
 * 256 and a sparse residual (see qgemm_avx2.c); the driver picks it in place of ot_qgemm_isa_avx2 when B
 * does not fit u8s7. */
extern const ot_qgemm_isa ot_qgemm_isa_avx2_split;

/* Bk ([K][N] int16, values in int8) in strips of nr columns, per 4 consecutive k one 32-bit lane per
 * column holding Bk[4q..4q+3][n]; zero past K and N. The layout of vpdpbusd and of vpmaddubsw pairs. */
void ot_qgemm_pack_b_quads(void *dst, const int16_t *bk, int K, int N, int kpad, int npad, int nr);

/* Scalar epilogues: the definition every SIMD variant reproduces op for op (see requant.h). */
static inline float ot_qgemm_epi_f32(int32_t acc, float scale, float biasf) {
    float v = (float)acc * scale;
    return v + biasf;
}

static inline int32_t ot_qgemm_epi_q(int32_t acc, float scale, float lo_f, float hi_f, int32_t zp) {
    return ot_requant1(acc, scale, lo_f, hi_f, zp);
}

/* Write one accumulator to element off of C by out type (scalar paths and the reference). */
static inline void ot_qgemm_store_at(ot_qgemm_out_type t, void *c, size_t off, int32_t acc, float scale, float biasf,
                                     float lo_f, float hi_f, int32_t zp) {
    switch (t) {
    case OT_QGEMM_OUT_S32: ((int32_t *)c)[off] = acc; break;
    case OT_QGEMM_OUT_F32: ((float *)c)[off] = ot_qgemm_epi_f32(acc, scale, biasf); break;
    case OT_QGEMM_OUT_U8: ((uint8_t *)c)[off] = (uint8_t)ot_qgemm_epi_q(acc, scale, lo_f, hi_f, zp); break;
    case OT_QGEMM_OUT_S8: ((int8_t *)c)[off] = (int8_t)ot_qgemm_epi_q(acc, scale, lo_f, hi_f, zp); break;
    }
}

static inline void ot_qgemm_store1(const ot_qgemm_run *r, int m, int n, int32_t acc) {
    size_t off = (size_t)m * (size_t)r->ldc + (size_t)n;
    float sc = r->scale ? r->scale[n] : 0.0f, bf = r->biasf ? r->biasf[n] : 0.0f;
    ot_qgemm_store_at(r->type, r->c, off, acc, sc, bf, r->lo_f, r->hi_f, r->zp);
}

static inline size_t ot_qgemm_out_elem(ot_qgemm_out_type t) {
    return (t == OT_QGEMM_OUT_S32 || t == OT_QGEMM_OUT_F32) ? 4 : 1;
}

#endif
