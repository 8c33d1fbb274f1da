/* qgemv driver, packing and the scalar variant (see qgemv.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "kernels/qgemm.h"   /* ot_qgemm_b_fits_u8s7 */
#include "kernels/qgemv.h"
#include "util/mem.h"
#include "util/status.h"

#define NB OT_QGEMV_NB

/* u8s7 layout: B[k][n] - shift at data[((s * kq + k / 4) * NB + j) * 4 + k % 4], and the column sums. */
static void pack_u8s7(ot_qgemv_packed *p, const void *b, bool b_signed, int ldb) {
    int kq = p->kpad / 4, K = p->K, N = p->N;
    int8_t flip = b_signed ? 0 : (int8_t)0x80;
    memset(p->colsum, 0, (size_t)p->nstrips * NB * sizeof(int32_t));
    for (int k = 0; k < K; k++) {
        const int8_t *row = (const int8_t *)b + (size_t)k * (size_t)ldb;
        for (int n = 0; n < N; n++) {
            int s = n / NB, j = n % NB;
            int8_t v = (int8_t)(row[n] ^ flip);
            p->data[(((size_t)s * kq + (size_t)(k / 4)) * NB + (size_t)j) * 4 + (size_t)(k % 4)] = v;
            p->colsum[n] += v;
        }
    }
}

/* Pairs layout: B[k][n] - shift at dst[((s * kp + k / 2) * NB + j) * 2 + k % 2], n = s * NB + j, walked in
 * B's row order; the padding (k >= K, n >= N) is zero. */
static void pack_pairs(int8_t *dst, const ot_qgemv_packed *p, const void *b, bool b_signed, int ldb) {
    int kp = p->kpad / 2, K = p->K, N = p->N;
    memset(dst, 0, (size_t)p->nstrips * (size_t)p->kpad * NB);
    int8_t flip = b_signed ? 0 : (int8_t)0x80;   /* uint8 v - 128 as int8 is v ^ 0x80 */
    for (int k = 0; k < K; k++) {
        const int8_t *row = (const int8_t *)b + (size_t)k * (size_t)ldb;
        int8_t *dk = dst + (size_t)(k / 2) * NB * 2 + (size_t)(k % 2);
        for (int s = 0; s < p->nstrips; s++) {
            int8_t *d = dk + (size_t)s * kp * NB * 2;
            int jn = N - s * NB < NB ? N - s * NB : NB;
            for (int j = 0; j < jn; j++) d[2 * j] = (int8_t)(row[s * NB + j] ^ flip);
        }
    }
}

/* mode 0: u8s7 when B fits, else split (AVX2); 1: split even when B fits. */
static octet_status pack_impl(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb, int32_t zb,
                              ot_isa isa, int mode) {
    if (!out) return ot_err(OCTET_ERR_INVALID_ARG, "qgemv: NULL output");
    *out = NULL;
    if (K < 0 || N < 0 || ldb < N || (K > 0 && N > 0 && !b))
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemv: bad B (%d x %d, ldb %d)", K, N, ldb);
    if (b_signed ? (zb < -128 || zb > 127) : (zb < 0 || zb > 255))
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemv: B zero point %d out of range", (int)zb);
    if ((int64_t)(K + 4) * (int64_t)(N + NB) > (int64_t)INT_MAX / 2)
        return ot_err(OCTET_ERR_UNSUPPORTED, "qgemv: B of %d x %d is too large", K, N);
    if (isa != OT_ISA_SCALAR && !ot_cpu_isa_supported(OT_ISA_AVX2))
        return ot_err(OCTET_ERR_UNSUPPORTED, "qgemv: this CPU cannot run the AVX2 kernel");
    ot_qgemv_packed *p = ot_calloc(1, sizeof *p);
    if (!p) return ot_err(OCTET_ERR_NOMEM, "qgemv: out of memory");
    p->K = K;
    p->N = N;
    p->nstrips = (N + NB - 1) / NB;
    p->isa = isa == OT_ISA_SCALAR ? OT_ISA_SCALAR : OT_ISA_AVX2;
    if (p->isa == OT_ISA_AVX2 && K > 0) {
        ot_qgemm_b d = {.K = K, .N = N, .b = b, .ldb = ldb, .b_signed = b_signed};
        p->u8s7 = mode == 0 && ot_qgemm_b_fits_u8s7(&d);
        p->split = !p->u8s7;
    }
    p->kpad = (p->u8s7 || p->split) ? (K + 3) / 4 * 4 : (K + 1) / 2 * 2;
    int32_t shift = b_signed ? 0 : 128;
    p->zbk = zb - shift;
    size_t bytes = (size_t)p->nstrips * (size_t)p->kpad * NB;
    p->data = ot_aligned_alloc(bytes ? bytes : 1);
    if (p->split) p->data2 = ot_aligned_alloc(bytes ? bytes : 1);
    if (p->u8s7 || p->split) p->colsum = ot_aligned_alloc((size_t)p->nstrips * NB * sizeof(int32_t) + 1);
    if (!p->data || (p->split && !p->data2) || ((p->u8s7 || p->split) && !p->colsum)) {
        ot_qgemv_free(p);
        return ot_err(OCTET_ERR_NOMEM, "qgemv: out of memory packing B (%d x %d)", K, N);
    }
    if (p->u8s7 || p->split) {
        memset(p->data, 0, bytes);
        pack_u8s7(p, b, b_signed, ldb);
    }
    if (p->split) pack_pairs(p->data2, p, b, b_signed, ldb);
    if (!p->u8s7 && !p->split) pack_pairs(p->data, p, b, b_signed, ldb);
    *out = p;
    return OCTET_OK;
}

octet_status ot_qgemv_pack_isa(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb,
                               int32_t zb, ot_isa isa) {
    return pack_impl(out, b, b_signed, K, N, ldb, zb, isa, 0);
}

static ot_isa default_isa(void) { return ot_kernels_get()->isa >= OT_ISA_AVX2 ? OT_ISA_AVX2 : OT_ISA_SCALAR; }

octet_status ot_qgemv_pack(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb, int32_t zb) {
    return pack_impl(out, b, b_signed, K, N, ldb, zb, default_isa(), 0);
}

octet_status ot_qgemv_pack_split(ot_qgemv_packed **out, const void *b, bool b_signed, int K, int N, int ldb,
                                 int32_t zb) {
    return pack_impl(out, b, b_signed, K, N, ldb, zb, default_isa(), 1);
}

void ot_qgemv_free(ot_qgemv_packed *p) {
    if (!p) return;
    ot_aligned_free(p->data);
    ot_aligned_free(p->data2);
    ot_aligned_free(p->colsum);
    free(p);
}

/* a16 = a - za (widened, zero past K); returns zbk * sum(a - za). sgn is a constant in each copy.
 * u8s7: bytes a_u = a (+ 128 when signed), zero past K, then za_u as int32 at byte kpad (kpad int16
 * hold 2 kpad bytes, and kpad >= 4 whenever K > 0). */
static inline __attribute__((always_inline)) int32_t prep_a(const ot_qgemv_packed *p, const void *a, bool sgn,
                                                            int32_t za, int16_t *a16) {
    uint32_t sum = 0;
    if (p->split) {   /* windowed when the residual is short (sum (a - za) = sum A_u - K za_u), else int16 */
        int32_t za_u = sgn ? za + 128 : za;
        if (ot_qgemv_window_avx2(p, a, sgn ? 0x80 : 0, za_u, (uint8_t *)a16, &sum)) {
            a16[p->kpad] = 1;
            return (int32_t)((uint32_t)p->zbk * (sum - (uint32_t)p->K * (uint32_t)za_u));
        }
        a16[p->kpad] = 0;   /* the int16 form below, for data2 */
    } else if (p->u8s7) {
        uint8_t *au = (uint8_t *)a16;
        uint8_t x = sgn ? 0x80 : 0;
        for (int k = 0; k < p->K; k++) {
            au[k] = (uint8_t)(((const uint8_t *)a)[k] ^ x);
            sum += (uint32_t)((sgn ? (int32_t)((const int8_t *)a)[k] : (int32_t)au[k]) - za);
        }
        for (int k = p->K; k < p->kpad; k++) au[k] = 0;
        int32_t za_u = sgn ? za + 128 : za;
        memcpy(au + p->kpad, &za_u, sizeof za_u);
        return (int32_t)((uint32_t)p->zbk * sum);
    }
    for (int k = 0; k < p->K; k++) {
        int32_t v = (sgn ? (int32_t)((const int8_t *)a)[k] : (int32_t)((const uint8_t *)a)[k]) - za;
        a16[k] = (int16_t)v;
        sum += (uint32_t)v;
    }
    for (int k = p->K; k < p->kpad; k++) a16[k] = 0;
    return (int32_t)((uint32_t)p->zbk * sum);
}

int32_t ot_qgemv_prep_a(const ot_qgemv_packed *p, const uint8_t *a, int32_t za, int16_t *a16) {
    return prep_a(p, a, false, za, a16);
}

int32_t ot_qgemv_prep_a_q8(const ot_qgemv_packed *p, const void *a, bool a_signed, int32_t za, int16_t *a16) {
    return a_signed ? prep_a(p, a, true, za, a16) : prep_a(p, a, false, za, a16);
}

void ot_qgemv_strip_scalar(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[NB]) {
    int kp = p->kpad / 2;
    const int8_t *b = p->data + (size_t)s * kp * NB * 2;
    uint32_t u[NB] = {0};
    for (int q = 0; q < kp; q++, b += 2 * NB) {
        int32_t a0 = a16[2 * q], a1 = a16[2 * q + 1];
        for (int j = 0; j < NB; j++) u[j] += (uint32_t)(a0 * b[2 * j] + a1 * b[2 * j + 1]);
    }
    for (int j = 0; j < NB; j++) acc[j] = (int32_t)u[j];
}

static void strip(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t acc[NB]) {
    if (p->split) ot_qgemv_strip_avx2_split(p, a16, s, acc);
    else if (p->u8s7) ot_qgemv_strip_avx2_u8s7(p, a16, s, acc);
    else if (p->isa == OT_ISA_SCALAR) ot_qgemv_strip_scalar(p, a16, s, acc);
    else ot_qgemv_strip_avx2(p, a16, s, acc);
}

void ot_qgemv_s32(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, int32_t *y, int s0, int s1) {
    for (int s = s0; s < s1; s++) {
        int32_t acc[NB];
        strip(p, a16, s, acc);
        for (int j = 0; j < NB && s * NB + j < p->N; j++) y[s * NB + j] = (int32_t)((uint32_t)acc[j] - (uint32_t)corr);
    }
}

void ot_qgemv_f32(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                  bool scale_per_col, const float *add, float *y, int s0, int s1) {
    if (p->isa != OT_ISA_SCALAR) {
        ot_qgemv_f32_avx2(p, a16, corr, scale, scale_per_col, add, y, s0, s1);
        return;
    }
    for (int s = s0; s < s1; s++) {
        int32_t acc[NB];
        ot_qgemv_strip_scalar(p, a16, s, acc);
        for (int j = 0; j < NB && s * NB + j < p->N; j++) {
            int n = s * NB + j;
            float v = (float)(int32_t)((uint32_t)acc[j] - (uint32_t)corr) * scale[scale_per_col ? n : 0];
            y[n] = v + (add ? add[n] : 0.0f);
        }
    }
}

void ot_qgemv_f32_acc(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                      bool scale_per_col, float *y, int s0, int s1) {
    ot_qgemv_f32(p, a16, corr, scale, scale_per_col, y, y, s0, s1);
}

/* Below this many multiply-adds a product stays on the calling thread (a fork/join costs a few us). */
#define MT_MIN_MACS (256.0 * 1024)

octet_status ot_qgemv_rows_f32(const ot_qgemv_packed *p, int M, const void *a, bool a_signed, int lda, int32_t za,
                               const float *scale, bool scale_per_col, const float *bias, float *y, int ldy,
                               int threads) {
    if (!p || M < 0 || (M > 0 && (!a || !y || !scale)) || lda < p->K || ldy < p->N)
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemv: bad rows call (M %d, lda %d, ldy %d)", M, lda, ldy);
    if (a_signed ? (za < -128 || za > 127) : (za < 0 || za > 255))
        return ot_err(OCTET_ERR_INVALID_ARG, "qgemv: A zero point %d out of range", (int)za);
    if (M == 0 || p->N == 0) return OCTET_OK;
    /* every row of A as int16 once (a few KiB), then the strips */
    size_t kpad = (size_t)ot_qgemv_kpad(p);
    int16_t stack_a16[4096];
    int32_t stack_corr[16];
    bool on_stack = kpad * (size_t)M <= sizeof stack_a16 / sizeof *stack_a16 && M <= 16;
    int16_t *a16 = on_stack ? stack_a16 : ot_malloc(kpad * (size_t)M * sizeof *a16 + 1);
    int32_t *corr = on_stack ? stack_corr : ot_malloc((size_t)M * sizeof *corr);
    if (!a16 || !corr) {
        if (!on_stack) free(a16), free(corr);
        return ot_err(OCTET_ERR_NOMEM, "qgemv: out of memory");
    }
    size_t esz = a_signed ? sizeof(int8_t) : sizeof(uint8_t);
    for (int m = 0; m < M; m++)
        corr[m] = ot_qgemv_prep_a_q8(p, (const char *)a + (size_t)m * (size_t)lda * esz, a_signed, za,
                                     a16 + (size_t)m * kpad);
    int ns = p->nstrips;
    int T = threads < ns ? threads : ns;
    if (T < 1 || (double)M * p->K * p->N < MT_MIN_MACS) T = 1;
    if (T == 1) {
        for (int m = 0; m < M; m++)
            ot_qgemv_f32(p, a16 + (size_t)m * kpad, corr[m], scale, scale_per_col, bias, y + (size_t)m * ldy, 0, ns);
    } else {
#pragma omp parallel num_threads(T)
        {
            int tid = omp_get_thread_num(), nt = omp_get_num_threads();
            int s0 = ns * tid / nt, s1 = ns * (tid + 1) / nt;
            for (int m = 0; m < M; m++)
                ot_qgemv_f32(p, a16 + (size_t)m * kpad, corr[m], scale, scale_per_col, bias, y + (size_t)m * ldy,
                             s0, s1);
        }
    }
    if (!on_stack) {
        free(a16);
        free(corr);
    }
    return OCTET_OK;
}
