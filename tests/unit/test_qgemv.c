/* src/kernels/qgemv*.c and qrnn_act_avx2.c: the int8 GEMV of the quantized recurrent ops against a plain
 * int64 reference (exact), the AVX2 variant against the scalar one (bit-identical, also in the float
 * epilogue), odd K/N, int8 and uint8 B with zero points, strip ranges as threads split them; and the AVX2
 * logistic / tanh against qc_logistic / qc_tanh bit for bit (including NaN, infinities, clamp edges). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/qgemv.h"
#include "kernels/qrnn_act.h"
#include "ops/qcontrib_internal.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 33);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static bool have_avx2(void) { return ot_cpu_isa_supported(OT_ISA_AVX2); }

/* One case: B [K, N] (ldb = N + pad), random a and za; every variant, whole and split strip ranges. */
static void gemv_case(int K, int N, bool b_signed, int32_t zb, int blo, int bhi) {
    int ldb = N + rint_in(0, 3);
    uint8_t *b = malloc((size_t)K * ldb + 1), *a = malloc((size_t)K + 1);
    for (int i = 0; i < K * ldb; i++) b[i] = (uint8_t)rint_in(blo, bhi);
    int32_t za = rint_in(0, 255);
    for (int k = 0; k < K; k++) a[k] = (uint8_t)rint_in(0, 255);
    if (K > 2) a[0] = 255, a[1] = 0;   /* the extremes of the quantized range */
    int64_t *want = malloc(sizeof(int64_t) * (size_t)(N + 1));
    for (int n = 0; n < N; n++) {
        int64_t s = 0;
        for (int k = 0; k < K; k++) {
            int32_t bv = b_signed ? (int8_t)b[(size_t)k * ldb + n] : b[(size_t)k * ldb + n];
            s += (int64_t)((int32_t)a[k] - za) * (bv - zb);
        }
        want[n] = s;
    }
    float *scale = malloc(sizeof(float) * (size_t)(N + 1));
    for (int n = 0; n < N; n++) scale[n] = 1e-4f * (float)rint_in(1, 1000);
    float *y0 = malloc(sizeof(float) * (size_t)(N + 1)), *yref[2] = {NULL, NULL};
    for (int n = 0; n < N; n++) y0[n] = 0.01f * (float)rint_in(-500, 500);
    ot_isa isas[2] = {OT_ISA_SCALAR, OT_ISA_AVX2};
    for (int vi = 0; vi < (have_avx2() ? 2 : 1); vi++) {
        ot_qgemv_packed *p = NULL;
        assert_int_equal(ot_qgemv_pack_isa(&p, b, b_signed, K, N, ldb, zb, isas[vi]), OCTET_OK);
        int16_t *a16 = malloc(sizeof(int16_t) * (size_t)(ot_qgemv_kpad(p) + 1));
        int32_t corr = ot_qgemv_prep_a(p, a, za, a16);
        int32_t *got = malloc(sizeof(int32_t) * (size_t)(N + 1));
        int split = rint_in(0, p->nstrips);
        ot_qgemv_s32(p, a16, corr, got, 0, split);
        ot_qgemv_s32(p, a16, corr, got, split, p->nstrips);
        for (int n = 0; n < N; n++)
            if (got[n] != (int32_t)want[n])
                fail_msg("%s K=%d N=%d zb=%d za=%d: column %d is %d, want %lld", ot_isa_name(isas[vi]), K, N, (int)zb,
                         (int)za, n, (int)got[n], (long long)want[n]);
        /* float epilogue, per column and per tensor scale, accumulated onto y */
        for (int pc = 0; pc < 2; pc++) {
            float *y = malloc(sizeof(float) * (size_t)(N + 1));
            memcpy(y, y0, sizeof(float) * (size_t)N);
            ot_qgemv_f32_acc(p, a16, corr, scale, pc, y, 0, split);
            ot_qgemv_f32_acc(p, a16, corr, scale, pc, y, split, p->nstrips);
            for (int n = 0; n < N; n++) {
                float v = (float)(int32_t)want[n] * scale[pc ? n : 0];
                float w = v + y0[n];
                if (memcmp(&w, &y[n], sizeof w) != 0)
                    fail_msg("%s f32 K=%d N=%d column %d: %.9g, want %.9g", ot_isa_name(isas[vi]), K, N, n, y[n], w);
            }
            if (pc == 1) {
                if (!yref[vi]) yref[vi] = y;
                else free(y);
            } else {
                free(y);
            }
        }
        free(got);
        free(a16);
        ot_qgemv_free(p);
    }
    if (yref[1]) assert_memory_equal(yref[0], yref[1], sizeof(float) * (size_t)N);
    free(yref[0]);
    free(yref[1]);
    free(b), free(a), free(want), free(scale), free(y0);
}

static void test_gemv(void **st) {
    (void)st;
    static const int Ks[] = {1, 2, 3, 7, 32, 33, 64, 255, 512, 513};
    static const int Ns[] = {1, 5, 8, 31, 32, 33, 63, 64, 65, 100, 130};
    for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++) {
            gemv_case(Ks[ki], Ns[ni], true, 0, 0, 255);                      /* int8, full range incl. -128 */
            gemv_case(Ks[ki], Ns[ni], true, rint_in(-128, 127), 0, 255);     /* int8 with a zero point */
            gemv_case(Ks[ki], Ns[ni], false, rint_in(0, 255), 0, 255);       /* uint8 */
        }
    /* worst-case magnitudes: every product at its extreme */
    gemv_case(1024, 64, true, 127, 128, 128);   /* B = -128, B - zb = -255 */
    gemv_case(1024, 64, false, 0, 255, 255);
    gemv_case(0, 40, true, 0, 0, 255);          /* K = 0: all zero */
}

static void test_pack_errors(void **st) {
    (void)st;
    ot_qgemv_packed *p = (ot_qgemv_packed *)1;
    int8_t b[4] = {0};
    assert_int_not_equal(ot_qgemv_pack(&p, b, true, 2, 2, 2, 128), OCTET_OK);   /* zb outside int8 */
    assert_null(p);
    assert_int_not_equal(ot_qgemv_pack(&p, b, false, 2, 2, 2, -1), OCTET_OK);
    assert_int_not_equal(ot_qgemv_pack(&p, NULL, true, 2, 2, 2, 0), OCTET_OK);
    assert_int_not_equal(ot_qgemv_pack(&p, b, true, 2, 2, 1, 0), OCTET_OK);     /* ldb < N */
    assert_int_not_equal(ot_qgemv_pack(&p, b, true, -1, 2, 2, 0), OCTET_OK);
    ot_qgemv_free(NULL);
}

/* AVX2 logistic / tanh vs the scalar fused (FMA) branch, bit for bit. */
static void test_act(void **st) {
    (void)st;
    if (!have_avx2() || !qc_ort_fma()) skip();
    enum { N = 4099 };
    static float x[N], v1[N], v2[N];
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 9.0f, -9.0f, 9.0001f, -9.0001f, 18.0f, -18.0f,
                                    18.5f, -18.5f, 1e-30f, -1e-30f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 0.5f};
    int ns = (int)(sizeof special / sizeof *special);
    for (int i = 0; i < N; i++) {
        if (i < ns) x[i] = special[i];
        else x[i] = ldexpf((float)rint_in(-(1 << 23), 1 << 23), -(int)rint_in(18, 30)) * 2.0f;
    }
    for (int f = 0; f < 2; f++) {
        memcpy(v1, x, sizeof x);
        memcpy(v2, x, sizeof x);
        int done = f ? ot_qrnn_tanh_fma_avx2(v1, N) : ot_qrnn_logistic_fma_avx2(v1, N);
        assert_int_equal(done, N / 8 * 8);
        if (f) qc_tanh(v2, N, NULL);
        else qc_logistic(v2, N, NULL);
        for (int i = 0; i < done; i++)
            if (memcmp(&v1[i], &v2[i], sizeof(float)) != 0 && !(isnan(v1[i]) && isnan(v2[i])))
                fail_msg("%s(%.9g): avx2 %.9g, scalar %.9g", f ? "tanh" : "logistic", x[i], v1[i], v2[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_pack_errors),
        cmocka_unit_test(test_act),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
