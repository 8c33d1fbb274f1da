/* src/kernels/qgemv*.c and qrnn_act_avx2.c: the int8 GEMV of the quantized recurrent ops against a plain
 * int64 reference (exact), the AVX2 variant against the scalar one (bit-identical, also in the float
 * epilogues: accumulate, store with a bias or + 0), odd K/N, int8 and uint8 A and B with zero points,
 * strip ranges as threads split them, the multi-row driver at 1-3 threads; the AVX2 logistic / tanh
 * against qc_logistic / qc_tanh and the fused LSTM cell against the op's scalar steps, bit for bit
 * (including NaN, infinities, clamp edges). */
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

/* When set, gemv_case draws 7-bit B (B - shift mostly in [-64, 64], k pairs on the edge of what
 * vpmaddubsw sums exactly), which the AVX2 variant must run on its u8s7 kernel. */
static bool g_b7;

static void fill_b7(uint8_t *b, bool b_signed, int K, int N, int ldb) {
    static const int edge[][2] = {{127, 1}, {1, 127}, {-128, 0}, {0, -128}, {64, 64}, {-64, -64}, {127, -128}};
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k += 2) {
            int e = rint_in(0, 9), b0 = e < 7 ? edge[e][0] : rint_in(-64, 64), b1 = e < 7 ? edge[e][1] : rint_in(-64, 64);
            if (k + 1 == K) b1 = 0;
            b[(size_t)k * ldb + n] = (uint8_t)(b_signed ? b0 : b0 + 128);
            if (k + 1 < K) b[(size_t)(k + 1) * ldb + n] = (uint8_t)(b_signed ? b1 : b1 + 128);
        }
}

/* When set, gemv_case draws a like activations: mostly within the split kernel's window [L, L + 127]
 * (L = za - 80, or 0) with a sparse residual on its edges (just below L, 0, pairs over 256, 255s), so
 * the AVX2 split kernel takes its windowed form; g_windowed counts the cases that did. */
static bool g_asparse;
static int g_windowed, g_split_cases;

static void fill_a_sparse(uint8_t *a, int K, int32_t za) {
    int L = za > 80 ? za - 80 : 0;
    for (int k = 0; k < K; k += 2) {
        int u0 = rint_in(0, 127), u1 = rint_in(0, 127);
        switch (rint_in(0, 255)) {
        case 0: u0 = -1; break;
        case 1: u1 = -L; break;
        case 2: u0 = 129, u1 = 128; break;
        case 3: u0 = u1 = 255 - L; break;
        case 4: u0 = u1 = 128; break;   /* exactly 256: no residual */
        default: break;
        }
        int a0 = L + u0, a1 = L + u1;
        a[k] = (uint8_t)(a0 < 0 ? 0 : a0 > 255 ? 255 : a0);
        if (k + 1 < K) a[k + 1] = (uint8_t)(a1 < 0 ? 0 : a1 > 255 ? 255 : a1);
    }
}

/* One case: B [K, N] (ldb = N + pad), random a and za; every variant, whole and split strip ranges. */
static void gemv_case(int K, int N, bool b_signed, int32_t zb, int blo, int bhi) {
    int ldb = N + rint_in(0, 3);
    uint8_t *b = malloc((size_t)K * ldb + 1), *a = malloc((size_t)K + 1);
    for (int i = 0; i < K * ldb; i++) b[i] = (uint8_t)rint_in(blo, bhi);
    if (g_b7) fill_b7(b, b_signed, K, N, ldb);
    int32_t za = rint_in(0, 255);
    for (int k = 0; k < K; k++) a[k] = (uint8_t)rint_in(0, 255);
    if (K > 2) a[0] = 255, a[1] = 0;   /* the extremes of the quantized range */
    if (g_asparse) fill_a_sparse(a, K, za);
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
        if (g_b7 && K > 0) assert_true(p->u8s7 == (isas[vi] == OT_ISA_AVX2));
        if (!g_b7 && K > 0 && isas[vi] == OT_ISA_AVX2) assert_true(p->u8s7 || p->split);
        int16_t *a16 = malloc(sizeof(int16_t) * (size_t)(ot_qgemv_kpad(p) + 1));
        int32_t corr = ot_qgemv_prep_a(p, a, za, a16);
        if (p->split) g_split_cases++, g_windowed += ot_qgemv_a_windowed(p, a16);
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

/* Every K x N: int8 B over its full range (incl. -128), int8 with a zero point, uint8 with one. */
static void gemv_grid(const int *Ks, size_t nk, const int *Ns, size_t nn) {
    for (size_t ki = 0; ki < nk; ki++)
        for (size_t ni = 0; ni < nn; ni++) {
            gemv_case(Ks[ki], Ns[ni], true, 0, 0, 255);
            gemv_case(Ks[ki], Ns[ni], true, rint_in(-128, 127), 0, 255);
            gemv_case(Ks[ki], Ns[ni], false, rint_in(0, 255), 0, 255);
        }
}

static void test_gemv(void **st) {
    (void)st;
    static const int Ks[] = {1, 2, 3, 7, 32, 33, 64, 255, 512, 513};
    static const int Ns[] = {1, 5, 8, 31, 32, 33, 63, 64, 65, 100, 130};
    gemv_grid(Ks, sizeof Ks / sizeof *Ks, Ns, sizeof Ns / sizeof *Ns);
    /* worst-case magnitudes: every product at its extreme */
    gemv_case(1024, 64, true, 127, 128, 128);   /* B = -128, B - zb = -255 */
    gemv_case(1024, 64, false, 0, 255, 255);
    gemv_case(0, 40, true, 0, 0, 255);          /* K = 0: all zero */
}

/* Full-range B with activation-like a: the AVX2 split kernel's windowed form and residual entries
 * (test_gemv's uniform a mostly takes its int16 form), bit-identical to the scalar kernel. */
static void test_gemv_split(void **st) {
    (void)st;
    if (!have_avx2()) skip();
    g_asparse = true;
    g_windowed = g_split_cases = 0;
    static const int Ks[] = {1, 3, 8, 33, 64, 255, 512, 513, 1024};
    static const int Ns[] = {1, 31, 33, 64, 97, 130};
    for (int rep = 0; rep < 3; rep++) gemv_grid(Ks, sizeof Ks / sizeof *Ks, Ns, sizeof Ns / sizeof *Ns);
    g_asparse = false;
    print_message("qgemv split: %d of %d cases on the windowed form\n", g_windowed, g_split_cases);
    assert_true(g_windowed > g_split_cases / 3 && g_windowed < g_split_cases);   /* both forms ran */
}

/* The same with 7-bit B: the AVX2 variant runs the u8s7 kernel, bit-identical to the scalar one. */
static void test_gemv_u8s7(void **st) {
    (void)st;
    g_b7 = true;
    static const int Ks[] = {1, 2, 3, 4, 5, 7, 32, 33, 64, 255, 512, 513};
    static const int Ns[] = {1, 5, 8, 31, 32, 33, 64, 65, 100, 130};
    gemv_grid(Ks, sizeof Ks / sizeof *Ks, Ns, sizeof Ns / sizeof *Ns);
    g_b7 = false;
}

/* ot_qgemv_f32 (store with a bias or + 0) and ot_qgemv_rows_f32 (rows, int8/uint8 A, threads) against the
 * exact int64 product and qgemm's F32 epilogue formula; every variant and thread count bit-identical. */
static void rows_case(int M, int K, int N, bool a_signed, bool b_signed, bool per_col, bool with_bias) {
    int lda = K + rint_in(0, 3), ldy = N + rint_in(0, 2);
    uint8_t *b = malloc((size_t)K * N + 1), *a = malloc((size_t)M * lda + 1);
    for (int i = 0; i < K * N; i++) b[i] = (uint8_t)rint_in(0, 255);
    if (g_b7) fill_b7(b, b_signed, K, N, N);
    for (int i = 0; i < M * lda; i++) a[i] = (uint8_t)rint_in(0, 255);
    int32_t zb = b_signed ? rint_in(-128, 127) : rint_in(0, 255), za = a_signed ? rint_in(-128, 127) : rint_in(0, 255);
    if (rint_in(0, 1)) zb = b_signed ? 0 : 128;
    float *scale = malloc(sizeof(float) * (size_t)(N + 1)), *bias = malloc(sizeof(float) * (size_t)(N + 1));
    for (int n = 0; n < N; n++) {
        scale[n] = 1e-4f * (float)rint_in(-1000, 1000);
        bias[n] = rint_in(0, 4) ? 0.01f * (float)rint_in(-500, 500) : -0.0f;
    }
    float *want = malloc(sizeof(float) * ((size_t)M * ldy + 1));
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int64_t acc = 0;
            for (int k = 0; k < K; k++) {
                uint8_t av = a[(size_t)m * lda + k], bv = b[(size_t)k * N + n];
                acc += (int64_t)((a_signed ? (int32_t)(int8_t)av : (int32_t)av) - za) *
                       ((b_signed ? (int32_t)(int8_t)bv : (int32_t)bv) - zb);
            }
            float v = (float)(int32_t)acc * scale[per_col ? n : 0];
            want[(size_t)m * ldy + n] = v + (with_bias ? bias[n] : 0.0f);
        }
    ot_isa isas[2] = {OT_ISA_SCALAR, OT_ISA_AVX2};
    float *y = malloc(sizeof(float) * ((size_t)M * ldy + 1));
    for (int vi = 0; vi < (have_avx2() ? 2 : 1); vi++) {
        ot_qgemv_packed *p = NULL;
        assert_int_equal(ot_qgemv_pack_isa(&p, b, b_signed, K, N, N, zb, isas[vi]), OCTET_OK);
        for (int threads = 1; threads <= 3; threads++) {
            for (int i = 0; i < M * ldy; i++) y[i] = 12345.0f;
            assert_int_equal(ot_qgemv_rows_f32(p, M, a, a_signed, lda, za, scale, per_col, with_bias ? bias : NULL, y,
                                               ldy, threads),
                             OCTET_OK);
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) {
                    size_t i = (size_t)m * ldy + n;
                    if (memcmp(&want[i], &y[i], sizeof(float)) != 0)
                        fail_msg("%s rows M=%d K=%d N=%d T=%d [%d][%d]: %.9g, want %.9g", ot_isa_name(isas[vi]), M, K,
                                 N, threads, m, n, y[i], want[i]);
                }
                for (int n = N; n < ldy; n++) assert_true(y[(size_t)m * ldy + n] == 12345.0f);   /* untouched */
            }
        }
        /* ot_qgemv_f32 on one row with a split strip range */
        if (M > 0) {
            int16_t *a16 = malloc(sizeof(int16_t) * (size_t)(ot_qgemv_kpad(p) + 1));
            int32_t corr = ot_qgemv_prep_a_q8(p, a, a_signed, za, a16);
            int split = rint_in(0, p->nstrips);
            ot_qgemv_f32(p, a16, corr, scale, per_col, with_bias ? bias : NULL, y, 0, split);
            ot_qgemv_f32(p, a16, corr, scale, per_col, with_bias ? bias : NULL, y, split, p->nstrips);
            for (int n = 0; n < N; n++)
                if (memcmp(&want[n], &y[n], sizeof(float)) != 0)
                    fail_msg("%s f32 K=%d N=%d column %d: %.9g, want %.9g", ot_isa_name(isas[vi]), K, N, n, y[n], want[n]);
            free(a16);
        }
        ot_qgemv_free(p);
    }
    free(a), free(b), free(scale), free(bias), free(want), free(y);
}

static void test_rows(void **st) {
    (void)st;
    static const int Ks[] = {1, 2, 3, 31, 64, 255, 1023};
    static const int Ns[] = {1, 7, 32, 33, 64, 65, 97, 130, 300};
    for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
            rows_case(rint_in(1, 3), Ks[ki], Ns[ni], rint_in(0, 1), rint_in(0, 1), rint_in(0, 1), rint_in(0, 1));
    rows_case(1, 1024, 1024, false, true, false, true);   /* big enough to run on several threads */
    rows_case(2, 700, 517, true, false, true, false);
    rows_case(3, 0, 40, false, true, true, true);         /* K = 0: the bias (or + 0) alone */
    rows_case(0, 16, 16, false, true, false, false);      /* M = 0: nothing */
    g_b7 = true;                                          /* and on the u8s7 kernel */
    for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
            rows_case(rint_in(1, 3), Ks[ki], Ns[ni], rint_in(0, 1), rint_in(0, 1), rint_in(0, 1), rint_in(0, 1));
    rows_case(1, 1024, 1024, false, true, false, true);
    rows_case(2, 700, 517, true, false, true, false);
    g_b7 = false;
}

static void test_rows_errors(void **st) {
    (void)st;
    int8_t b[4] = {1, 2, 3, 4};
    uint8_t a[2] = {1, 2};
    float sc = 1.0f, y[2];
    ot_qgemv_packed *p = NULL;
    assert_int_equal(ot_qgemv_pack(&p, b, true, 2, 2, 2, 0), OCTET_OK);
    assert_int_not_equal(ot_qgemv_rows_f32(p, 1, a, false, 1, 0, &sc, false, NULL, y, 2, 1), OCTET_OK);  /* lda < K */
    assert_int_not_equal(ot_qgemv_rows_f32(p, 1, a, false, 2, 0, &sc, false, NULL, y, 1, 1), OCTET_OK);  /* ldy < N */
    assert_int_not_equal(ot_qgemv_rows_f32(p, 1, a, false, 2, 256, &sc, false, NULL, y, 2, 1), OCTET_OK);
    assert_int_not_equal(ot_qgemv_rows_f32(p, 1, a, true, 2, 128, &sc, false, NULL, y, 2, 1), OCTET_OK);
    assert_int_not_equal(ot_qgemv_rows_f32(NULL, 1, a, false, 2, 0, &sc, false, NULL, y, 2, 1), OCTET_OK);
    assert_int_equal(ot_qgemv_rows_f32(p, 1, a, false, 2, 0, &sc, false, NULL, y, 2, 1), OCTET_OK);
    assert_true(y[0] == 7.0f && y[1] == 10.0f);   /* [1 2] x [[1 2] [3 4]] */
    ot_qgemv_free(p);
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

/* The fused AVX2 LSTM cell against the op's scalar steps (qc_logistic / qc_tanh, ORT's clip selects),
 * bit for bit, with and without a bias, a tight and the default clip, NaN / inf / huge inputs. */
static void ref_clip_bias(float clip, const float *b, float *x, int n) {
    for (int i = 0; i < n; i++) {
        if (b) {
            float v = x[i] + b[i];
            v = v < clip ? v : clip;
            x[i] = -clip < v ? v : -clip;
        } else {
            x[i] = x[i] > clip ? clip : x[i] < -clip ? -clip : x[i];
        }
    }
}

static void test_lstm_cell(void **st) {
    (void)st;
    if (!have_avx2() || !qc_ort_fma()) skip();
    enum { H = 83 };
    static const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, -0.0f, 20.0f, -20.0f, 3.0f};
    for (int variant = 0; variant < 4; variant++) {
        bool with_bias = variant & 1;
        float clip = variant & 2 ? 2.5f : 3.402823466e38f;
        float g[4 * H], bias[4 * H], c0[H], c1[H], c2[H], h1[H], h2[H];
        for (int i = 0; i < 4 * H; i++) {
            g[i] = 0.001f * (float)rint_in(-8000, 8000);
            bias[i] = 0.001f * (float)rint_in(-2000, 2000);
        }
        for (int i = 0; i < H; i++) c0[i] = 0.001f * (float)rint_in(-3000, 3000);
        for (int i = 0; i < 10; i++) g[rint_in(0, 4 * H - 1)] = special[i], c0[rint_in(0, H - 1)] = special[9 - i];
        memcpy(c1, c0, sizeof c0);
        memcpy(c2, c0, sizeof c0);
        const float *b = with_bias ? bias : NULL;
        int done = ot_qrnn_lstm_cell_fma_avx2(g, g + H, g + 2 * H, g + 3 * H, b, H, clip, c1, h1, H);
        assert_int_equal(done, H / 8 * 8);
        /* the scalar steps, in the op's order (gates i, o, f, c) */
        float gi[H], go[H], gf[H], gc[H];
        memcpy(gi, g, sizeof gi), memcpy(go, g + H, sizeof go), memcpy(gf, g + 2 * H, sizeof gf), memcpy(gc, g + 3 * H, sizeof gc);
        ref_clip_bias(clip, b, gi, H), qc_logistic(gi, H, NULL);
        ref_clip_bias(clip, b ? b + 2 * H : NULL, gf, H), qc_logistic(gf, H, NULL);
        ref_clip_bias(clip, b ? b + 3 * H : NULL, gc, H), qc_tanh(gc, H, NULL);
        for (int i = 0; i < H; i++) {
            float keep = c2[i] * gf[i], add = gi[i] * gc[i];
            c2[i] = keep + add;
        }
        ref_clip_bias(clip, b ? b + H : NULL, go, H), qc_logistic(go, H, NULL);
        memcpy(h2, c2, sizeof h2);
        qc_tanh(h2, H, NULL);
        for (int i = 0; i < H; i++) h2[i] *= go[i];
        for (int i = 0; i < done; i++) {
            bool same_c = memcmp(&c1[i], &c2[i], sizeof(float)) == 0 || (isnan(c1[i]) && isnan(c2[i]));
            bool same_h = memcmp(&h1[i], &h2[i], sizeof(float)) == 0 || (isnan(h1[i]) && isnan(h2[i]));
            if (!same_c || !same_h)
                fail_msg("variant %d unit %d: c %.9g / %.9g, h %.9g / %.9g", variant, i, c1[i], c2[i], h1[i], h2[i]);
        }
        for (int i = done; i < H; i++) assert_memory_equal(&c1[i], &c0[i], sizeof(float));   /* tail untouched */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_gemv_u8s7),
        cmocka_unit_test(test_gemv_split),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_rows_errors),
        cmocka_unit_test(test_pack_errors),
        cmocka_unit_test(test_act),
        cmocka_unit_test(test_lstm_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
