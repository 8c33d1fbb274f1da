/* Depthwise int8 convolution: the reference against a naive int64 oracle, and every variant this CPU
 * runs against the reference, bit for bit, over random kernels, strides, dilations, pads and channels. */
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
#include "kernels/dwconv_s8.h"

static uint64_t rng = 0xD1B54A32D192ED03ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rin(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

typedef struct {
    ot_dwconv_params p;
    ot_dwconv_geom g;
    uint8_t *x, *w;
    int32_t *bias, *zw;
    float *scale;
} dwcase;

static void case_free(dwcase *c) {
    free(c->x);
    free(c->w);
    free(c->bias);
    free(c->zw);
    free(c->scale);
}

static void case_make(dwcase *c, int kh, int kw, int C) {
    memset(c, 0, sizeof *c);
    ot_dwconv_params *p = &c->p;
    ot_dwconv_geom *g = &c->g;
    p->C = C, p->kh = kh, p->kw = kw;
    p->w_signed = rnd() % 4 != 0;
    p->w_ckk = rnd() & 1;
    p->x_signed = rnd() & 1;
    p->y_signed = rnd() & 1;
    g->N = rin(1, 2);
    g->H = rin(1, 11);
    g->W = rin(1, 11);
    g->stride_h = rin(1, 3), g->stride_w = rin(1, 3);
    g->dil_h = rnd() % 4 ? 1 : 2, g->dil_w = rnd() % 4 ? 1 : 2;
    g->pad_top = rin(0, kh), g->pad_left = rin(0, kw);
    int pb = rin(0, kh), pr = rin(0, kw);
    g->OH = (g->H + g->pad_top + pb - (g->dil_h * (kh - 1) + 1)) / g->stride_h + 1;
    g->OW = (g->W + g->pad_left + pr - (g->dil_w * (kw - 1) + 1)) / g->stride_w + 1;
    if (g->OH < 1) g->OH = 1;   /* windows entirely in padding are allowed too */
    if (g->OW < 1) g->OW = 1;
    size_t xn = (size_t)g->N * g->H * g->W * C;
    c->x = malloc(xn + 1);
    for (size_t i = 0; i < xn; i++) c->x[i] = (uint8_t)rnd();
    c->w = malloc((size_t)kh * kw * C);
    for (int i = 0; i < kh * kw * C; i++) c->w[i] = (uint8_t)rnd();
    p->w = c->w;
    int xl = p->x_signed ? -128 : 0, wl = p->w_signed ? -128 : 0, yl = p->y_signed ? -128 : 0;
    p->zx = rin(xl, xl + 255);
    int zwmode = rnd() % 3;
    if (zwmode) {
        p->zw_count = zwmode == 1 ? 1 : C;
        c->zw = malloc(sizeof(int32_t) * p->zw_count);
        for (int i = 0; i < p->zw_count; i++) c->zw[i] = rin(wl, wl + 255);
        p->zw = c->zw;
    }
    if (rnd() & 1) {
        c->bias = malloc(sizeof(int32_t) * C);
        for (int i = 0; i < C; i++) c->bias[i] = rin(-300000, 300000);
        p->bias = c->bias;
    }
    p->scale_count = rnd() & 1 ? C : 1;
    c->scale = malloc(sizeof(float) * p->scale_count);
    for (int i = 0; i < p->scale_count; i++)
        c->scale[i] = rnd() % 4 == 0 ? ldexpf(1.0f, -rin(4, 10)) : (float)rin(1, 20000) * 1e-6f;
    p->scale = c->scale;
    p->zy = rin(yl, yl + 255);
    p->lo = yl, p->hi = yl + 255;
    if (rnd() % 3 == 0) p->lo = p->zy;                                 /* ReLU */
    if (rnd() % 4 == 0) p->hi = p->zy + (yl + 255 - p->zy) / 2;         /* ReLU6-like */
}

static size_t out_n(const dwcase *c) { return (size_t)c->g.N * c->g.OH * c->g.OW * c->p.C; }

static void oracle(const dwcase *c, uint8_t *y) {
    const ot_dwconv_params *p = &c->p;
    const ot_dwconv_geom *g = &c->g;
    int C = p->C;
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int ch = 0; ch < C; ch++) {
                    int64_t acc = p->bias ? p->bias[ch] : 0;
                    int32_t zw = p->zw ? p->zw[p->zw_count == 1 ? 0 : ch] : 0;
                    for (int i = 0; i < p->kh; i++)
                        for (int j = 0; j < p->kw; j++) {
                            int ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
                            int iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            uint8_t xb = c->x[(((size_t)n * g->H + ih) * g->W + iw) * C + ch];
                            size_t wo = p->w_ckk ? ((size_t)ch * p->kh + i) * p->kw + j : ((size_t)i * p->kw + j) * C + ch;
                            int64_t xv = p->x_signed ? (int8_t)xb : xb;
                            int64_t wv = p->w_signed ? (int8_t)c->w[wo] : c->w[wo];
                            acc += (xv - p->zx) * (wv - zw);
                        }
                    float sc = p->scale[p->scale_count == 1 ? 0 : ch];
                    float v = (float)((double)(float)acc * (double)sc);
                    double r = rint((double)v) + p->zy;
                    if (r < p->lo) r = p->lo;
                    if (r > p->hi) r = p->hi;
                    y[(((size_t)n * g->OH + oh) * g->OW + ow) * C + ch] = (uint8_t)(int)r;
                }
}

static const int kKernels[][2] = {{3, 3}, {3, 3}, {5, 5}, {1, 1}, {2, 2}, {1, 3}, {7, 7}, {3, 1}, {2, 5}};
static const int kChannels[] = {1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 40, 64};

static void test_ref_vs_oracle(void **state) {
    (void)state;
    for (int it = 0; it < 150; it++) {
        const int *k = kKernels[rnd() % 9];
        dwcase c;
        case_make(&c, k[0], k[1], kChannels[rnd() % 12]);
        size_t n = out_n(&c);
        uint8_t *y1 = malloc(n + 1), *y2 = malloc(n + 1);
        assert_int_equal(ot_dwconv_s8_ref(&c.p, &c.g, c.x, y1), OCTET_OK);
        oracle(&c, y2);
        assert_memory_equal(y1, y2, n);
        free(y1);
        free(y2);
        case_free(&c);
    }
}

/* Hand-computed 3x3, one channel, pad 1: x = 1..9 (zx 1), w = all 1, bias 0, scale 1. */
static void test_hand(void **state) {
    (void)state;
    uint8_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[9];
    int8_t w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float s = 1.0f;
    ot_dwconv_params p = {.C = 1, .kh = 3, .kw = 3, .w = w, .w_signed = true, .zx = 1, .scale = &s, .scale_count = 1,
                          .zy = 0, .lo = 0, .hi = 255};
    ot_dwconv_geom g = {.N = 1, .H = 3, .W = 3, .OH = 3, .OW = 3, .stride_h = 1, .stride_w = 1, .pad_top = 1,
                        .pad_left = 1, .dil_h = 1, .dil_w = 1};
    /* x - 1 = 0..8; sums of 3x3 neighbourhoods (zero padding). */
    static const uint8_t want[9] = {8, 15, 12, 21, 36, 27, 20, 33, 24};
    assert_int_equal(ot_dwconv_s8_ref(&p, &g, x, y), OCTET_OK);
    assert_memory_equal(y, want, 9);
    ot_dwconv_packed *pk;
    assert_int_equal(ot_dwconv_s8_pack(&pk, &p), OCTET_OK);
    memset(y, 0, 9);
    assert_int_equal(ot_dwconv_s8_run(pk, &g, x, y, 1), OCTET_OK);
    assert_memory_equal(y, want, 9);
    ot_dwconv_s8_free(pk);
}

static void check_variant(ot_isa isa) {
    if (!ot_cpu_isa_supported(isa)) {
        print_message("\n*** dwconv_s8 %s: NOT TESTED on this machine (the CPU/OS lacks it) ***\n\n", ot_isa_name(isa));
        skip();
    }
    int cases = 0;
    for (int it = 0; it < 250; it++) {
        const int *k = kKernels[rnd() % 9];
        int C = it % 25 == 0 ? rin(65, 200) : kChannels[rnd() % 12];
        static const int k99[2] = {9, 9};
        if (it % 50 == 1) k = k99;   /* more than 64 taps: the scalar channel tail */
        dwcase c;
        case_make(&c, k[0], k[1], C);
        if (it % 5 == 2) {   /* multipliers >= 0.99, huge, infinite, NaN: the float-clamp epilogue */
            static const float big[] = {0.99f, 1.0f, 1.5f, 300.0f, 1e9f, -3.0f, INFINITY, -INFINITY, NAN};
            for (int i = 0; i < c.p.scale_count; i++)
                if (rnd() % 2) c.scale[i] = big[rnd() % (sizeof big / sizeof big[0])];
        }
        size_t n = out_n(&c);
        uint8_t *y1 = malloc(n + 32), *y2 = malloc(n + 32);
        memset(y1, 0xCD, n + 32);
        memset(y2, 0xCD, n + 32);
        ot_dwconv_packed *pk;
        if (ot_dwconv_s8_pack_isa(&pk, &c.p, isa) != OCTET_OK) fail_msg("pack: %s", octet_last_error());
        assert_int_equal(ot_dwconv_s8_run(pk, &c.g, c.x, y1, 1 + it % 3), OCTET_OK);
        assert_int_equal(ot_dwconv_s8_ref(&c.p, &c.g, c.x, y2), OCTET_OK);
        for (size_t i = 0; i < n + 32; i++)
            if (y1[i] != y2[i])
                fail_msg("%s: k=%dx%d C=%d stride=%d,%d dil=%d,%d pad=%d,%d HxW=%dx%d: y[%zu] (channel %zu) = %d, want %d",
                         ot_isa_name(isa), c.p.kh, c.p.kw, C, c.g.stride_h, c.g.stride_w, c.g.dil_h, c.g.dil_w,
                         c.g.pad_top, c.g.pad_left, c.g.H, c.g.W, i, i % (size_t)C, y1[i], y2[i]);
        ot_dwconv_s8_free(pk);
        free(y1);
        free(y2);
        case_free(&c);
        cases++;
    }
    print_message("dwconv_s8 %s: %d cases bit-exact with the reference\n", ot_isa_name(isa), cases);
}

static void test_scalar(void **state) { (void)state, check_variant(OT_ISA_SCALAR); }
static void test_avx2(void **state) { (void)state, check_variant(OT_ISA_AVX2); }
static void test_avx512(void **state) { (void)state, check_variant(OT_ISA_AVX512VNNI); }

static void test_bad_args(void **state) {
    (void)state;
    int8_t w[9] = {0};
    float s = 1.0f;
    ot_dwconv_packed *pk = NULL;
    ot_dwconv_params p = {.C = 1, .kh = 3, .kw = 3, .w = w, .w_signed = true, .zx = 300, .scale = &s, .scale_count = 1,
                          .lo = 0, .hi = 255};
    assert_int_equal(ot_dwconv_s8_pack(&pk, &p), OCTET_ERR_INVALID_ARG);   /* zx out of uint8 */
    p.zx = 0;
    p.scale_count = 2;
    assert_int_equal(ot_dwconv_s8_pack(&pk, &p), OCTET_ERR_INVALID_ARG);   /* scale count */
    p.scale_count = 1;
    p.y_signed = true;
    assert_int_equal(ot_dwconv_s8_pack(&pk, &p), OCTET_ERR_INVALID_ARG);   /* hi 255 for int8 output */
    p.y_signed = false;
    assert_int_equal(ot_dwconv_s8_pack(&pk, &p), OCTET_OK);
    ot_dwconv_geom g = {.N = 1, .H = 3, .W = 3, .OH = 1, .OW = 1, .stride_h = 0, .stride_w = 1, .dil_h = 1, .dil_w = 1};
    uint8_t x[9] = {0}, y[1];
    assert_int_equal(ot_dwconv_s8_run(pk, &g, x, y, 1), OCTET_ERR_INVALID_ARG);   /* stride 0 */
    ot_dwconv_s8_free(pk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand),
        cmocka_unit_test(test_ref_vs_oracle),
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_avx512),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
