/* Quantization vector loops: golden outputs recorded from ONNX Runtime 1.30 (QuantizeLinear,
 * DynamicQuantizeLinear), a double-precision oracle, and every variant bit-exact with the reference. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/cpu.h"
#include "kernels/quant_vec.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* ---- oracle: float division / multiplication done in double and rounded once (exact for +-*÷) ---- */
static int32_t oracle_quantize(float x, float scale, int32_t zp, bool s8) {
    int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    if (isnan(x / scale)) return lo;
    float v = (float)((double)x / (double)scale);
    double r = rint((double)v) + zp;
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

static int32_t oracle_requant(int32_t acc, float scale, int32_t zp, int32_t lo, int32_t hi) {
    float v = (float)((double)(float)acc * (double)scale);
    if (isnan(v)) return lo;
    double r = rint((double)v) + zp;
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

static const ot_quant_vec_isa *variant(ot_isa isa) {
    const ot_kernels *k = ot_kernels_for(isa);
    return k ? k->qvec : NULL;
}

static float special(void) {
    static const float s[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e30f, -1e30f, 3e9f, -3e9f, 1e-40f};
    return s[rnd() % 10];
}

/* ---- golden outputs from ONNX Runtime (recorded with onnxruntime-node 1.30 on x86-64) ---- */
static const float kOrtX[] = {NAN, INFINITY, -INFINITY, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1e30f, -1e30f, 3e9f,
                              -3e9f, 127.5f, 128.5f, -128.5f, 255.5f, NAN, NAN, 1, 2, 3};
static const int kOrtU8z0[] = {0, 255, 0, 0, 2, 2, 0, 0, 255, 0, 255, 0, 128, 128, 0, 255, 0, 0, 1, 2, 3};
static const int kOrtU8z128[] = {0, 255, 0, 128, 130, 130, 128, 126, 255, 0, 255, 0, 255, 255, 0, 255, 0, 0, 129, 130, 131};
static const int kOrtS8z0[] = {-128, 127, -128, 0, 2, 2, 0, -2, 127, -128, 127, -128, 127, 127, -128, 127, -128, -128, 1, 2, 3};
static const int kOrtS8zm3[] = {-128, 127, -128, -3, -1, -1, -3, -5, 127, -128, 127, -128, 125, 125, -128, 127, -128, -128, -2, -1, 0};
#define NORT 21

static void golden_quantize(const ot_quant_vec_isa *q, const char *name) {
    struct { int32_t zp; bool s8; const int *want; } cases[] = {
        {0, false, kOrtU8z0}, {128, false, kOrtU8z128}, {0, true, kOrtS8z0}, {-3, true, kOrtS8zm3}};
    /* Repeat the vector so both the SIMD body and the tails see every value. */
    enum { REP = 5 };
    float x[NORT * REP];
    uint8_t y[NORT * REP + 1];
    for (int i = 0; i < NORT * REP; i++) x[i] = kOrtX[i % NORT];
    for (int c = 0; c < 4; c++)
        for (int off = 0; off < 3; off++) {
            int n = NORT * REP - off;
            q->quantize(x + off, (size_t)n, 1.0f, cases[c].zp, cases[c].s8, y);
            for (int i = 0; i < n; i++) {
                int got = cases[c].s8 ? (int8_t)y[i] : y[i], want = cases[c].want[(i + off) % NORT];
                if (got != want)
                    fail_msg("%s quantize zp=%d s8=%d x=%g: got %d, ORT gives %d", name, cases[c].zp, cases[c].s8,
                             (double)x[i + off], got, want);
            }
        }
    /* scale 0: x/0 = +-inf or NaN. */
    float z[4] = {1, -1, 0, NAN};
    uint8_t yz[4];
    q->quantize(z, 4, 0.0f, 5, false, yz);
    assert_int_equal(yz[0], 255);
    assert_int_equal(yz[1], 0);
    assert_int_equal(yz[2], 0);
    assert_int_equal(yz[3], 0);
}

static void golden_dynamic(void **state) {
    (void)state;
    struct {
        int n;
        float x[4];
        int y[4];
        float scale;
        int zp;
    } cases[] = {
        {4, {1, 2, NAN, -3}, {204, 255, 0, 0}, 0.019607843831181526f, 153},
        {3, {0, 0, 0}, {0, 0, 0}, 1.0f, 0},
        {0, {0}, {0}, 1.0f, 0},
        {3, {1, 2, 3}, {85, 170, 255}, 0.0117647061124444f, 0},
        {2, {-1, -2}, {128, 0}, 0.007843137718737125f, 255},
        {1, {NAN}, {0}, 1.0f, 0},
        {2, {-INFINITY, 1}, {0, 255}, INFINITY, 255},
        {2, {INFINITY, 1}, {0, 0}, INFINITY, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t y[4];
        float s;
        uint8_t zp;
        ot_qvec_dynamic_quantize_u8(cases[c].x, (size_t)cases[c].n, y, &s, &zp);
        if (memcmp(&s, &cases[c].scale, 4) != 0) fail_msg("case %zu: scale %.9g, ORT %.9g", c, (double)s, (double)cases[c].scale);
        assert_int_equal(zp, cases[c].zp);
        for (int i = 0; i < cases[c].n; i++) assert_int_equal(y[i], cases[c].y[i]);
    }
}

/* ---- randomized: oracle and variants ---- */
static void fill_random(float *x, int n, float scale) {
    for (int i = 0; i < n; i++) {
        uint32_t r = rnd() % 16;
        if (r == 0) x[i] = special();
        else if (r < 5) x[i] = ((float)(int)(rnd() % 600) - 300.0f + 0.5f) * scale;   /* exact ties */
        else x[i] = ((float)(rnd() % 2000001) - 1000000.0f) * 1e-3f * scale * 0.3f;
    }
}

static void check_quantize(const ot_quant_vec_isa *q, const char *name) {
    const ot_quant_vec_isa *ref = &ot_quant_vec_ref;
    for (int n = 0; n <= 300; n += (n < 67 ? 1 : 77)) {
        float *x = malloc(sizeof(float) * (n + 1));
        uint8_t *y1 = malloc(n + 16), *y2 = malloc(n + 16);
        for (int rep = 0; rep < 4; rep++) {
            bool s8 = rep & 1;
            float scale = (rep & 2) ? ldexpf(1.0f, (int)(rnd() % 9) - 4) : (float)(rnd() % 100000 + 1) * 1e-5f;
            int32_t zp = s8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
            fill_random(x, n, scale);
            memset(y1, 0xEE, n + 16);
            memset(y2, 0xEE, n + 16);
            q->quantize(x, (size_t)n, scale, zp, s8, y1);
            ref->quantize(x, (size_t)n, scale, zp, s8, y2);
            for (int i = 0; i < n; i++) {
                int32_t want = oracle_quantize(x[i], scale, zp, s8), got = s8 ? (int8_t)y1[i] : y1[i];
                if (got != want)
                    fail_msg("%s quantize n=%d x=%.9g scale=%.9g zp=%d s8=%d: got %d want %d", name, n, (double)x[i],
                             (double)scale, zp, s8, got, want);
            }
            assert_memory_equal(y1, y2, (size_t)n + 16);   /* also: nothing written past n */
        }
        free(x);
        free(y1);
        free(y2);
    }
}

static void check_dequantize(const ot_quant_vec_isa *q, const char *name) {
    for (int n = 0; n <= 300; n += (n < 67 ? 1 : 77)) {
        uint8_t *in = malloc(n + 1);
        float *y1 = malloc(sizeof(float) * (n + 4)), *y2 = malloc(sizeof(float) * (n + 4));
        for (int i = 0; i < n; i++) in[i] = (uint8_t)rnd();
        for (int rep = 0; rep < 2; rep++) {
            bool s8 = rep;
            float scale = (float)(rnd() % 100000 + 1) * 1e-5f;
            int32_t zp = s8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
            memset(y1, 0x7F, sizeof(float) * (n + 4));
            memset(y2, 0x7F, sizeof(float) * (n + 4));
            q->dequantize(in, s8, (size_t)n, scale, zp, y1);
            ot_quant_vec_ref.dequantize(in, s8, (size_t)n, scale, zp, y2);
            for (int i = 0; i < n; i++) {
                int32_t v = s8 ? (int8_t)in[i] : in[i];
                float want = (float)((double)(v - zp) * (double)scale);
                if (memcmp(&y1[i], &want, 4)) fail_msg("%s dequantize: %.9g want %.9g", name, (double)y1[i], (double)want);
            }
            assert_memory_equal(y1, y2, sizeof(float) * (n + 4));
        }
        free(in);
        free(y1);
        free(y2);
    }
}

static void check_minmax(const ot_quant_vec_isa *q, const char *name) {
    for (int n = 0; n <= 300; n += (n < 67 ? 1 : 77)) {
        float *x = malloc(sizeof(float) * (n + 1));
        for (int rep = 0; rep < 3; rep++) {
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < n; i++) {
                x[i] = ((float)(rnd() % 20001) - 10000.0f) * 0.37f;
                if (rep > 0 && rnd() % 5 == 0) x[i] = NAN;   /* NaN anywhere, incl. next to the extremes */
                if (rep == 2 && rnd() % 9 == 0) x[i] = (rnd() & 1) ? INFINITY : -INFINITY;
                if (!isnan(x[i])) {
                    if (x[i] < lo) lo = x[i];
                    if (x[i] > hi) hi = x[i];
                }
            }
            float mn, mx;
            q->minmax(x, (size_t)n, &mn, &mx);
            if ((double)mn != lo || (double)mx != hi)
                fail_msg("%s minmax n=%d: (%g, %g) want (%g, %g)", name, n, (double)mn, (double)mx, lo, hi);
        }
        free(x);
    }
}

static void check_requantize(const ot_quant_vec_isa *q, const char *name) {
    for (int n = 0; n <= 300; n += (n < 67 ? 1 : 77)) {
        int32_t *x = malloc(sizeof(int32_t) * (n + 1)), *bias = malloc(sizeof(int32_t) * (n + 1));
        float *scale = malloc(sizeof(float) * (n + 1));
        uint8_t *y1 = malloc(n + 16), *y2 = malloc(n + 16);
        for (int rep = 0; rep < 4; rep++) {
            bool s8 = rep & 1, per_col = rep & 2, with_bias = rnd() & 1;
            for (int i = 0; i < n; i++) {
                x[i] = (int32_t)(rnd() % 2000001) - 1000000;
                if (rnd() % 20 == 0) x[i] = (rnd() & 1) ? INT32_MAX : INT32_MIN + 5;
                bias[i] = (int32_t)(rnd() % 20001) - 10000;
                scale[i] = (rnd() % 4 == 0) ? ldexpf(1.0f, -(int)(rnd() % 12)) : (float)(rnd() % 10000 + 1) * 1e-6f;
            }
            if (n == 0) scale[0] = 0.5f;
            int32_t lo0 = s8 ? -128 : 0, hi0 = s8 ? 127 : 255;
            int32_t zp = lo0 + (int32_t)(rnd() % 256), lo = rnd() & 1 ? zp : lo0, hi = hi0;
            float lo_f = (float)(lo - zp), hi_f = (float)(hi - zp);
            memset(y1, 0xEE, n + 16);
            memset(y2, 0xEE, n + 16);
            q->requantize_row(x, (size_t)n, with_bias ? bias : NULL, scale, per_col, zp, lo_f, hi_f, s8, y1);
            ot_quant_vec_ref.requantize_row(x, (size_t)n, with_bias ? bias : NULL, scale, per_col, zp, lo_f, hi_f, s8, y2);
            for (int i = 0; i < n; i++) {
                int32_t acc = with_bias ? (int32_t)((uint32_t)x[i] + (uint32_t)bias[i]) : x[i];
                int32_t want = oracle_requant(acc, scale[per_col ? i : 0], zp, lo, hi);
                int32_t got = s8 ? (int8_t)y1[i] : y1[i];
                if (got != want) fail_msg("%s requantize n=%d i=%d: got %d want %d", name, n, i, got, want);
            }
            assert_memory_equal(y1, y2, (size_t)n + 16);
        }
        free(x);
        free(bias);
        free(scale);
        free(y1);
        free(y2);
    }
}

static void check_isa(ot_isa isa) {
    const ot_quant_vec_isa *q = variant(isa);
    if (!q) {
        print_message("\n*** quant_vec %s: NOT TESTED on this machine (the CPU/OS lacks it) ***\n\n", ot_isa_name(isa));
        skip();
    }
    const char *name = ot_isa_name(isa);
    golden_quantize(q, name);
    check_quantize(q, name);
    check_dequantize(q, name);
    check_minmax(q, name);
    check_requantize(q, name);
    print_message("quant_vec %s: ORT goldens, oracle and reference all match\n", name);
}

static void test_scalar(void **state) { (void)state, check_isa(OT_ISA_SCALAR); }
static void test_avx2(void **state) { (void)state, check_isa(OT_ISA_AVX2); }
static void test_avx512(void **state) { (void)state, check_isa(OT_ISA_AVX512VNNI); }

/* DynamicQuantizeLinear parameters against the formula in double where it is unambiguous. */
/* QuantizeLinear into channels-last: the variant's 3-plane kernel (when it has one) and the generic loop,
 * against the scalar QuantizeLinear element by element; odd lengths, special values. */
static void test_quantize_nhwc(void **state) {
    (void)state;
    /* isa = OT_ISA_COUNT: the dispatching entry point (any C; C = 3 through the chosen variant) */
    for (int isa = 0; isa <= OT_ISA_COUNT; isa++) {
        const ot_kernels *k = isa < OT_ISA_COUNT ? ot_kernels_for((ot_isa)isa) : ot_kernels_get();
        if (!k || (isa < OT_ISA_COUNT && !k->qvec->quantize_nhwc3)) continue;
        for (int it = 0; it < 200; it++) {
            int C = isa < OT_ISA_COUNT ? 3 : 1 + (int)(rnd() % 6);
            size_t n = (size_t)(rnd() % 150), plane = n + rnd() % 5;
            float *x = malloc(sizeof(float) * (plane * (size_t)C + 1));
            uint8_t *got = malloc(n * (size_t)C + 1), *want = malloc(n * (size_t)C + 1);
            for (size_t i = 0; i < plane * (size_t)C; i++) {
                int r = (int)(rnd() % 50);
                x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : ((float)(rnd() % 20001) - 10000.0f) * 0.03f;
            }
            float scale = (float)(rnd() % 1000 + 1) * 0.01f;
            bool s8 = rnd() & 1;
            int32_t zp = s8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
            for (int c = 0; c < C; c++) {
                uint8_t t[160];
                ot_qvec_quantize_ref(x + (size_t)c * plane, n, scale, zp, s8, t);
                for (size_t i = 0; i < n; i++) want[i * (size_t)C + (size_t)c] = t[i];
            }
            memset(got, 0xA5, n * (size_t)C + 1);
            if (isa < OT_ISA_COUNT)
                k->qvec->quantize_nhwc3(x, plane, n, scale, zp, s8, got);
            else
                ot_qvec_quantize_nhwc(x, plane, C, n, scale, zp, s8, got);
            if (memcmp(got, want, n * (size_t)C) != 0)
                fail_msg("%s: quantize_nhwc C=%d n=%zu differs",
                         isa < OT_ISA_COUNT ? ot_isa_name((ot_isa)isa) : "dispatch", C, n);
            free(x);
            free(got);
            free(want);
        }
    }
}

static void test_dynamic_params(void **state) {
    (void)state;
    for (int i = 0; i < 2000; i++) {
        float mn = -(float)(rnd() % 100000) * 1e-3f, mx = (float)(rnd() % 100000) * 1e-3f;
        if (i % 7 == 0) mn = -mn;   /* range entirely positive */
        if (i % 11 == 0) mx = -mx;  /* entirely negative */
        float s;
        uint8_t zp;
        ot_qvec_dynamic_qparams_u8(mn, mx, &s, &zp);
        float lo = mn < 0 ? mn : 0, hi = mx > 0 ? mx : 0;
        float range = (float)((double)hi - (double)lo);   /* one rounding per float op, as ORT */
        float ws = lo == hi ? 1.0f : (float)((double)range / 255.0);
        if (s != ws) fail_msg("scale %.9g want %.9g", (double)s, (double)ws);
        float izp = (float)(0.0 - (double)(float)((double)lo / (double)ws));
        double c = izp < 0 ? 0 : izp > 255 ? 255 : izp;
        assert_int_equal(zp, (int)rint(c));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_avx512),
        cmocka_unit_test(golden_dynamic),
        cmocka_unit_test(test_dynamic_params),
        cmocka_unit_test(test_quantize_nhwc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
