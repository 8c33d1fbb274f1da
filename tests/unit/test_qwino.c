/* Integer Winograd F(2x2, 3x3) (kernels/qwino.h): every variant this CPU runs, and the conv driver
 * that picks it, against a naive int64 convolution, bit for bit, over random channel counts (not
 * multiples of the vector widths), image sizes (odd, tiny), paddings, zero points, clamps and output
 * types; threads 1 and 2. Also: the range check that refuses weights Winograd could not do exactly,
 * and the driver's refusal of strides it was not packed for. */
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
#include "kernels/qconv.h"
#include "kernels/qwino.h"
#include "kernels/requant.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rin(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

typedef struct wcase {
    ot_qconv_desc d;
    int N, H, W, OH, OW, pt, pl;
    uint8_t *x, *w;
    int32_t zw[80], bias[80];
    float scale[80];
    size_t ny, esz;
} wcase;

static void wcase_make(wcase *c, int Cmax, int Mmax, int Smax) {
    memset(c, 0, sizeof *c);
    ot_qconv_desc *d = &c->d;
    d->nsp = 2;
    d->C = rin(1, Cmax);
    d->M = rin(1, Mmax);
    d->G = 1;
    d->k[0] = d->k[1] = 3;
    d->w_signed = rnd() % 4 != 0;
    d->x_signed = rnd() % 2;
    int ot = rin(0, 2);
    d->out_type = ot == 0 ? OT_QGEMM_OUT_S32 : ot == 1 ? OT_QGEMM_OUT_U8 : OT_QGEMM_OUT_S8;
    d->unit_stride = true;
    d->channels_last = true;
    c->N = rin(1, 2);
    c->H = rin(1, Smax);
    c->W = rin(1, Smax);
    c->pt = rin(0, 2);
    c->pl = rin(0, 2);
    int pb = rin(0, 2), pr = rin(0, 2);
    c->OH = c->H + c->pt + pb - 2;
    c->OW = c->W + c->pl + pr - 2;
    if (c->OH < 1) c->OH = 1;   /* (windows in the padding only are allowed too) */
    if (c->OW < 1) c->OW = 1;
    size_t xn = (size_t)c->N * c->H * c->W * d->C, wn = (size_t)d->M * d->C * 9;
    c->x = malloc(xn + 1);
    c->w = malloc(wn + 1);
    for (size_t i = 0; i < xn; i++) c->x[i] = (uint8_t)rnd();
    for (size_t i = 0; i < wn; i++) c->w[i] = (uint8_t)rnd();
    d->w = c->w;
    int xl = d->x_signed ? -128 : 0, wl = d->w_signed ? -128 : 0, yl = ot == 2 ? -128 : 0;
    d->zx = rin(xl, xl + 255);
    int zwmode = rnd() % 3;
    if (zwmode) {
        d->zw_count = zwmode == 1 ? 1 : d->M;
        for (int i = 0; i < d->zw_count; i++) c->zw[i] = rin(wl, wl + 255);
        d->zw = c->zw;
    }
    for (int m = 0; m < d->M; m++) {
        c->bias[m] = rin(-300000, 300000);
        c->scale[m] = (float)rin(1, 1000) * 1e-6f;
    }
    d->bias = rnd() % 2 ? c->bias : NULL;
    d->scale = c->scale;
    d->scale_count = rnd() % 2 ? d->M : 1;
    d->zy = rin(yl, yl + 255);
    d->lo = yl + (rnd() % 3 == 0 ? rin(0, 60) : 0);
    d->hi = yl + 255 - (rnd() % 3 == 0 ? rin(0, 60) : 0);
    c->esz = d->out_type == OT_QGEMM_OUT_S32 ? 4 : 1;
    c->ny = (size_t)c->N * c->OH * c->OW * d->M;
}

static void wcase_free(wcase *c) {
    free(c->x);
    free(c->w);
}

/* Naive int64 convolution + the scalar epilogue; NHWC (cl) or NCHW output order, NHWC input. */
static void reference(const wcase *c, bool cl_out, void *y) {
    const ot_qconv_desc *d = &c->d;
    const int C = d->C, M = d->M;
    float lo_f = (float)(d->lo - d->zy), hi_f = (float)(d->hi - d->zy);
    for (int n = 0; n < c->N; n++)
        for (int oy = 0; oy < c->OH; oy++)
            for (int ox = 0; ox < c->OW; ox++)
                for (int m = 0; m < M; m++) {
                    int64_t acc = d->bias ? d->bias[m] : 0;
                    int32_t zw = d->zw ? d->zw[d->zw_count == 1 ? 0 : m] : 0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy - c->pt + ky, ix = ox - c->pl + kx;
                            if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W) continue;
                            for (int ch = 0; ch < C; ch++) {
                                size_t xo = (((size_t)n * c->H + iy) * c->W + ix) * C + ch;
                                size_t wo = (((size_t)m * C + ch) * 3 + ky) * 3 + kx;
                                int32_t xv = d->x_signed ? (int8_t)c->x[xo] : c->x[xo];
                                int32_t wv = d->w_signed ? (int8_t)c->w[wo] : c->w[wo];
                                acc += (int64_t)(xv - d->zx) * (wv - zw);
                            }
                        }
                    size_t o = cl_out ? (((size_t)n * c->OH + oy) * c->OW + ox) * M + m
                                      : (((size_t)n * M + m) * c->OH + oy) * c->OW + ox;
                    if (d->out_type == OT_QGEMM_OUT_S32)
                        ((int32_t *)y)[o] = (int32_t)acc;
                    else
                        ((uint8_t *)y)[o] = (uint8_t)ot_requant1((int32_t)acc, d->scale[d->scale_count == 1 ? 0 : m],
                                                                 lo_f, hi_f, d->zy);
                }
}

static void nhwc_to_nchw(const uint8_t *src, uint8_t *dst, int N, int S, int C) {
    for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++)
            for (int ch = 0; ch < C; ch++) dst[((size_t)n * C + ch) * S + s] = src[((size_t)n * S + s) * C + ch];
}

static void check_variant(ot_isa isa, int iters, int Cmax, int Mmax, int Smax) {
    if (!ot_cpu_isa_supported(isa)) {
        print_message("  (%s not supported here, skipped)\n", ot_isa_name(isa));
        return;
    }
    for (int it = 0; it < iters; it++) {
        wcase c;
        wcase_make(&c, Cmax, Mmax, Smax);
        size_t nb = c.ny * c.esz + 1;
        uint8_t *want = malloc(nb), *got = malloc(nb), *want_nchw = malloc(nb);
        uint8_t *x_nchw = malloc((size_t)c.N * c.H * c.W * c.d.C + 1);
        assert_true(want && got && want_nchw && x_nchw);
        reference(&c, true, want);
        reference(&c, false, want_nchw);
        char what[160];
        snprintf(what, sizeof what, "%s it %d: N %d C %d M %d H %d W %d pads %d,%d out %d %s%s", ot_isa_name(isa), it,
                 c.N, c.d.C, c.d.M, c.H, c.W, c.pt, c.pl, (int)c.d.out_type, c.d.x_signed ? "xs" : "xu",
                 c.d.w_signed ? "ws" : "wu");
        /* the kernel directly */
        ot_qwino *w = NULL;
        assert_int_equal(ot_qwino_create(&w, &c.d, isa), OCTET_OK);
        if (!w) fail_msg("%s: Winograd refused an ordinary case", what);
        ot_qwino_geom g = {c.N, c.H, c.W, c.OH, c.OW, c.pt, c.pl};
        for (int threads = 1; threads <= 2; threads++) {
            memset(got, 0xA5, nb);
            assert_int_equal(ot_qwino_run(w, &g, c.x, got, threads), OCTET_OK);
            if (memcmp(got, want, c.ny * c.esz)) fail_msg("%s, %d threads: kernel differs from the reference", what, threads);
        }
        ot_qwino_free(w);
        /* through the driver, NHWC and NCHW */
        ot_qconv_geom qg = {0};
        qg.N = c.N;
        qg.in[0] = c.H, qg.in[1] = c.W, qg.out[0] = c.OH, qg.out[1] = c.OW;
        qg.s[0] = qg.s[1] = qg.d[0] = qg.d[1] = 1;
        qg.p[0] = c.pt, qg.p[1] = c.pl;
        for (int cl = 0; cl < 2; cl++) {
            c.d.channels_last = cl;
            ot_qconv *q = NULL;
            assert_int_equal(ot_qconv_create(&q, &c.d, isa), OCTET_OK);
            const uint8_t *xin = c.x;
            if (!cl) {
                nhwc_to_nchw(c.x, x_nchw, c.N, c.H * c.W, c.d.C);
                xin = x_nchw;
            }
            memset(got, 0xA5, nb);
            assert_int_equal(ot_qconv_run(q, &qg, xin, got, 2), OCTET_OK);
            if (memcmp(got, cl ? want : want_nchw, c.ny * c.esz)) fail_msg("%s: driver (%s) differs", what, cl ? "NHWC" : "NCHW");
            ot_qconv_free(q);
        }
        free(want);
        free(got);
        free(want_nchw);
        free(x_nchw);
        wcase_free(&c);
    }
}

static void test_scalar(void **state) {
    (void)state;
    check_variant(OT_ISA_SCALAR, 150, 40, 40, 9);
}

static void test_avx2(void **state) {
    (void)state;
    check_variant(OT_ISA_AVX2, 300, 40, 40, 9);
    check_variant(OT_ISA_AVX2, 12, 300, 70, 15);   /* several tile blocks, channel groups, strips */
}

/* Weights whose accumulator could exceed what 4*S in int32 holds: Winograd declines, the driver
 * still computes them (by im2col), exactly. */
static void test_range_fallback(void **state) {
    (void)state;
    wcase c;
    wcase_make(&c, 1, 1, 1);
    free(c.x);
    free(c.w);
    c.d.C = 1000;
    c.d.M = 3;
    c.d.w_signed = false;
    c.d.zw = NULL;
    c.d.x_signed = false;
    c.d.zx = 0;
    c.N = 1, c.H = 3, c.W = 4, c.pt = 1, c.pl = 1, c.OH = 3, c.OW = 4;
    c.ny = (size_t)c.N * c.OH * c.OW * c.d.M;
    size_t xn = (size_t)c.H * c.W * c.d.C, wn = (size_t)c.d.M * c.d.C * 9;
    c.x = malloc(xn);
    c.w = malloc(wn);
    for (size_t i = 0; i < xn; i++) c.x[i] = (uint8_t)(200 + rnd() % 56);
    for (size_t i = 0; i < wn; i++) c.w[i] = (uint8_t)(250 + rnd() % 6);
    c.d.w = c.w;
    for (int isa = 0; isa < OT_ISA_COUNT; isa++) {
        if (!ot_cpu_isa_supported((ot_isa)isa)) continue;
        ot_qwino *w = (ot_qwino *)1;
        assert_int_equal(ot_qwino_create(&w, &c.d, (ot_isa)isa), OCTET_OK);
        assert_null(w);
        ot_qconv *q = NULL;
        assert_int_equal(ot_qconv_create(&q, &c.d, (ot_isa)isa), OCTET_OK);
        size_t nb = c.ny * c.esz + 1;
        uint8_t *want = malloc(nb), *got = malloc(nb);
        reference(&c, true, want);
        ot_qconv_geom qg = {0};
        qg.N = 1, qg.in[0] = c.H, qg.in[1] = c.W, qg.out[0] = c.OH, qg.out[1] = c.OW;
        qg.s[0] = qg.s[1] = qg.d[0] = qg.d[1] = 1, qg.p[0] = qg.p[1] = 1;
        assert_int_equal(ot_qconv_run(q, &qg, c.x, got, 1), OCTET_OK);
        assert_memory_equal(got, want, c.ny * c.esz);
        free(want);
        free(got);
        ot_qconv_free(q);
    }
    wcase_free(&c);
}

/* Packed for unit strides: a strided run is an error, not a wrong result. */
static void test_stride_refused(void **state) {
    (void)state;
    wcase c;
    wcase_make(&c, 8, 8, 6);
    ot_qconv *q = NULL;
    assert_int_equal(ot_qconv_create(&q, &c.d, ot_cpu_isa_best() == OT_ISA_AVX512VNNI ? OT_ISA_AVX2 : ot_cpu_isa_best()),
                     OCTET_OK);
    ot_qconv_geom qg = {0};
    qg.N = 1, qg.in[0] = 6, qg.in[1] = 6, qg.out[0] = 2, qg.out[1] = 2;
    qg.s[0] = qg.s[1] = 2, qg.d[0] = qg.d[1] = 1;
    uint8_t x[6 * 6 * 8] = {0}, y[2 * 2 * 8 * 4];
    assert_int_equal(ot_qconv_run(q, &qg, x, y, 1), OCTET_ERR_INVALID_ARG);
    ot_qconv_free(q);
    wcase_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_range_fallback),
        cmocka_unit_test(test_stride_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
