/* Blocked-layout (NCHWc) float convolution kernels (kernels/gemm_f32_nchwc.h): random geometries at
 * odd sizes (channels not multiples of 8, pads, strides, dilations, kernels wider than the image,
 * enough taps to be summed in several chunks), plain and blocked inputs, Z and clamps, 1 and 2
 * threads. The reference is a naive loop written here that sums in the documented order (bias, then
 * the valid taps by (channel, row, column), or by (channel block, row, column, lane) when the channels
 * are whole blocks of 8 and the kernel has more than one tap (lane_major weights), fmaf each), so the
 * kernels must match it exactly; the
 * AVX2 and scalar kernels must match each other bit for bit. The padding lanes of blocked inputs are
 * filled with NaN: a kernel that reads them fails. */
#include <float.h>
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
#include "kernels/gemm_f32_nchwc.h"
#include "util/mem.h"

static uint64_t g_rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rfloat(void) { return (float)((int)(rnd() % 2001) - 1000) / 997.0f; }

static float *falloc(size_t n) {
    float *p = ot_aligned_alloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

/* NCHW reference in the documented order. */
static void ref_conv(const ot_nchwc_geom *g, bool dw, const float *x, const float *w, const float *b, const float *z,
                     float lo, float hi, float *y) {
    const int cin = dw ? 1 : g->C, taps = g->kh * g->kw;
    const int lanes = !dw && cin % 8 == 0 && taps > 1 ? 8 : 1;  /* lane_major: lanes innermost */
    for (int m = 0; m < g->M; m++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                float acc = b ? b[m] : 0.0f;
                for (int k = 0; k < cin * taps; k++) {
                    const int c = k / lanes / taps * lanes + k % lanes, a = k / lanes % taps / g->kw,
                              e = k / lanes % g->kw;
                    const int ih = oh * g->sh - g->pt + a * g->dh, iw = ow * g->sw - g->pl + e * g->dw;
                    if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                    const int xc = dw ? m : c;
                    acc = fmaf(x[((size_t)xc * g->H + ih) * g->W + iw],
                               w[(((size_t)m * cin + c) * g->kh + a) * g->kw + e], acc);
                }
                size_t i = ((size_t)m * g->OH + oh) * g->OW + ow;
                if (z) acc += z[i];
                y[i] = acc < lo ? lo : (acc > hi ? hi : acc);
            }
}

/* blocked copy with NaN in the padding lanes */
static float *to_blocked(const float *x, int C, size_t hw) {
    float *b = falloc((size_t)ot_nchwc_blocks(C) * 8 * hw);
    ot_nchwc_reorder_in(x, C, hw, b);
    for (int c = C; c < ot_nchwc_blocks(C) * 8; c++)
        for (size_t p = 0; p < hw; p++) b[((size_t)(c / 8) * hw + p) * 8 + c % 8] = NAN;
    return b;
}

static void check_case(const ot_nchwc_geom *g0, bool dw, bool with_z, bool with_b, float lo, float hi) {
    ot_nchwc_geom g = *g0;
    const int cin = dw ? 1 : g.C;
    const size_t hw = (size_t)g.H * g.W, ohw = (size_t)g.OH * g.OW;
    const size_t nw = (size_t)g.M * cin * g.kh * g.kw;
    float *x = falloc((size_t)g.C * hw), *w = falloc(nw), *b = falloc((size_t)g.M), *z = falloc((size_t)g.M * ohw);
    for (size_t i = 0; i < (size_t)g.C * hw; i++) x[i] = rfloat();
    for (size_t i = 0; i < nw; i++) w[i] = rfloat();
    for (int i = 0; i < g.M; i++) b[i] = rfloat();
    for (size_t i = 0; i < (size_t)g.M * ohw; i++) z[i] = rfloat();
    float *want = falloc((size_t)g.M * ohw);
    ref_conv(&g, dw, x, w, with_b ? b : NULL, with_z ? z : NULL, lo, hi, want);

    ot_nchwc_w pw;
    assert_true(ot_nchwc_pack(&pw, w, with_b ? b : NULL, g.M, cin, g.kh, g.kw, dw));
    const size_t ysz = (size_t)ot_nchwc_blocks(g.M) * 8 * ohw;
    float *xb = to_blocked(x, g.C, hw), *zb = to_blocked(z, g.M, ohw);
    float *y[2][2], *plain = falloc((size_t)g.M * ohw);
    for (int isa = 0; isa < 2; isa++)
        for (int t = 0; t < 2; t++) y[isa][t] = falloc(ysz);
    const bool avx2 = ot_cpu_isa_supported(OT_ISA_AVX2);
    for (int nchw = 0; nchw < (dw ? 1 : 2); nchw++) {
        g.nchw_in = nchw;
        for (int isa = 0; isa < (avx2 ? 2 : 1); isa++) {
            ot_nchwc_force_scalar(isa == 0);
            for (int t = 0; t < 2; t++) {
                for (size_t i = 0; i < ysz; i++) y[isa][t][i] = -12345.0f;
                assert_true(ot_nchwc_conv(&g, &pw, nchw ? x : xb, with_z ? zb : NULL, y[isa][t], lo, hi, NULL, t + 1));
                ot_nchwc_reorder_out(y[isa][t], g.M, ohw, plain);
                for (size_t i = 0; i < (size_t)g.M * ohw; i++)
                    if (!(plain[i] == want[i]))
                        fail_msg("C%d %dx%d M%d k%dx%d s%d,%d d%d,%d p%d,%d dw%d nchw%d isa%d threads%d z%d: "
                                 "element %zu: got %.9g want %.9g",
                                 g.C, g.H, g.W, g.M, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, dw, nchw, isa,
                                 t + 1, with_z, i, plain[i], want[i]);
                /* padded output channels of a direct convolution: as if their weights and bias were zero
                 * (depthwise ones come from the input's padding lanes) */
                for (int m = dw ? INT32_MAX : g.M; m < ot_nchwc_blocks(g.M) * 8; m++)
                    for (size_t p = 0; p < ohw; p++) {
                        float v = y[isa][t][((size_t)(m / 8) * ohw + p) * 8 + m % 8];
                        if (!with_z) assert_true(v == (0.0f < lo ? lo : (0.0f > hi ? hi : 0.0f)));
                    }
            }
            if (isa == 1) assert_memory_equal(y[0][0], y[1][0], ysz * sizeof(float));
            assert_memory_equal(y[isa][0], y[isa][1], ysz * sizeof(float));
        }
    }
    ot_nchwc_force_scalar(false);
    for (int isa = 0; isa < 2; isa++)
        for (int t = 0; t < 2; t++) ot_aligned_free(y[isa][t]);
    ot_nchwc_free(&pw);
    ot_aligned_free(x);
    ot_aligned_free(w);
    ot_aligned_free(b);
    ot_aligned_free(z);
    ot_aligned_free(want);
    ot_aligned_free(xb);
    ot_aligned_free(zb);
    ot_aligned_free(plain);
}

static bool random_geom(ot_nchwc_geom *g, bool dw, bool big) {
    memset(g, 0, sizeof *g);
    g->C = big ? rint_in(20, 70) : rint_in(1, 19);
    g->M = dw ? g->C : (big ? rint_in(1, 40) : rint_in(1, 30));
    g->H = rint_in(1, 13);
    g->W = rint_in(1, 17);
    g->kh = rint_in(1, 5);
    g->kw = rint_in(1, 5);
    g->sh = rint_in(1, 3);
    g->sw = rint_in(1, 3);
    g->dh = rint_in(1, 2);
    g->dw = rint_in(1, 2);
    g->pt = rint_in(0, 3);
    g->pl = rint_in(0, 3);
    int pb = rint_in(0, 3), pr = rint_in(0, 3);
    int eh = (g->kh - 1) * g->dh + 1, ew = (g->kw - 1) * g->dw + 1;
    int sh = g->H + g->pt + pb - eh, sw = g->W + g->pl + pr - ew;
    if (sh < 0 || sw < 0) return false;
    g->OH = sh / g->sh + 1;
    g->OW = sw / g->sw + 1;
    return true;
}

static float pick_lo(void) { return rnd() % 3 == 0 ? 0.0f : -INFINITY; }
static float pick_hi(void) { return rnd() % 4 == 0 ? 0.75f : INFINITY; }

static void test_direct_random(void **state) {
    (void)state;
    for (int i = 0, done = 0; done < 150 && i < 1000; i++) {
        ot_nchwc_geom g;
        if (!random_geom(&g, false, done % 5 == 4)) continue;
        if (done % 3 == 1) g.C = 8 * rint_in(1, 6);  /* whole channel blocks: the grouped (tile8) kernels */
        check_case(&g, false, rnd() % 3 == 0, rnd() % 4 != 0, pick_lo(), pick_hi());
        done++;
    }
}

static void test_depthwise_random(void **state) {
    (void)state;
    for (int i = 0, done = 0; done < 150 && i < 1000; i++) {
        ot_nchwc_geom g;
        if (!random_geom(&g, true, done % 5 == 4)) continue;
        check_case(&g, true, rnd() % 3 == 0, rnd() % 4 != 0, pick_lo(), pick_hi());
        done++;
    }
}

/* Shapes of the real models: flat 1x1, 3x3 with 1-pixel borders, 7x7 first layers, small images. */
static void test_direct_shapes(void **state) {
    (void)state;
    static const int S[][8] = {
        /* C, H, W, M, k, s, p, dw */
        {16, 14, 14, 24, 1, 1, 0, 0}, {40, 7, 7, 48, 1, 1, 0, 0},   {64, 7, 7, 24, 3, 1, 1, 0},
        {3, 23, 21, 16, 7, 2, 3, 0},  {3, 17, 19, 32, 3, 2, 1, 0},  {96, 9, 11, 24, 3, 1, 1, 0},
        {24, 15, 15, 24, 3, 1, 1, 1}, {32, 14, 13, 32, 3, 2, 1, 1}, {48, 6, 7, 48, 5, 1, 2, 1},
        {200, 3, 5, 10, 1, 1, 0, 0},  {20, 5, 6, 100, 3, 1, 1, 0},  {13, 9, 10, 20, 1, 1, 0, 0},
        {203, 4, 5, 17, 1, 1, 0, 0},  {1, 6, 6, 9, 1, 1, 0, 0},     {611, 2, 3, 5, 1, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        ot_nchwc_geom g = {0};
        g.C = S[i][0];
        g.H = S[i][1];
        g.W = S[i][2];
        g.M = S[i][3];
        g.kh = g.kw = S[i][4];
        g.sh = g.sw = S[i][5];
        g.pt = g.pl = S[i][6];
        g.dh = g.dw = 1;
        g.OH = (g.H + 2 * g.pt - g.kh) / g.sh + 1;
        g.OW = (g.W + 2 * g.pl - g.kw) / g.sw + 1;
        check_case(&g, S[i][7], i % 2 == 0, true, i % 3 == 0 ? 0.0f : -INFINITY, i % 4 == 1 ? 6.0f : INFINITY);
    }
}

static void test_reorder(void **state) {
    (void)state;
    for (int i = 0; i < 40; i++) {
        int C = rint_in(1, 37);
        size_t hw = (size_t)rint_in(1, 70);
        float *x = falloc((size_t)C * hw), *b[2], *back = falloc((size_t)C * hw);
        for (size_t j = 0; j < (size_t)C * hw; j++) x[j] = rfloat();
        const size_t bs = (size_t)ot_nchwc_blocks(C) * 8 * hw;
        for (int isa = 0; isa < 2; isa++) {
            b[isa] = falloc(bs);
            ot_nchwc_force_scalar(isa == 0);
            ot_nchwc_reorder_in(x, C, hw, b[isa]);
            for (int c = 0; c < ot_nchwc_blocks(C) * 8; c++)
                for (size_t p = 0; p < hw; p++) {
                    float v = b[isa][((size_t)(c / 8) * hw + p) * 8 + c % 8];
                    assert_true(v == (c < C ? x[(size_t)c * hw + p] : 0.0f));
                }
            for (size_t j = 0; j < (size_t)C * hw; j++) back[j] = NAN;
            ot_nchwc_reorder_out(b[isa], C, hw, back);
            assert_memory_equal(back, x, (size_t)C * hw * sizeof(float));
        }
        assert_memory_equal(b[0], b[1], bs * sizeof(float));
        ot_nchwc_force_scalar(false);
        ot_aligned_free(x);
        ot_aligned_free(back);
        ot_aligned_free(b[0]);
        ot_aligned_free(b[1]);
    }
}

/* Elementwise programs: random chains of every op on values that include NaN, +-0, +-inf and
 * ties, scalar and per-channel constants; the AVX2 interpreter must match the scalar one bit for bit,
 * and the scalar one must match the ops' formulas (evaluated here one op at a time). */
static float clamp01(float v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : v; }
static float fminf_nan(float a, float lo, float hi) {
    float t = a < lo ? lo : a;
    return t > hi ? hi : t;
}

static float special(void) {
    static const float sp[] = {0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f, 6.0f, 0.5f, INFINITY, -INFINITY, NAN};
    return rnd() % 4 == 0 ? sp[rnd() % (sizeof sp / sizeof sp[0])] : rfloat() * 8.0f;
}

static float ref_op(int op, float a, float b, float p0, float p1) {
    switch (op) {
    case OT_EW_ADD: return a + b;
    case OT_EW_SUB: return a - b;
    case OT_EW_MUL: return a * b;
    case OT_EW_DIV: return a / b;
    case OT_EW_MAX: return isnan(a) ? a : (a > b ? a : b);
    case OT_EW_MIN: return isnan(a) ? a : (a < b ? a : b);
    case OT_EW_PRELU: return a < 0 ? a * b : a;
    case OT_EW_RELU: return a < 0 ? 0.0f : a;
    case OT_EW_LEAKY: return a < 0 ? p0 * a : a;
    case OT_EW_CLIP: return fminf_nan(a, p0, p1);
    case OT_EW_HARDSIGMOID: return clamp01(p0 * a + p1);
    case OT_EW_HARDSWISH: return a * clamp01(a / 6.0f + 0.5f);
    }
    return a;
}

static void test_ewprog(void **state) {
    (void)state;
    const bool avx2 = ot_cpu_isa_supported(OT_ISA_AVX2);
    for (int it = 0; it < 300; it++) {
        ot_ewprog pg;
        memset(&pg, 0, sizeof pg);
        const int blocks = rint_in(1, 4), nv = rint_in(1, 21), nblk = rint_in(1, blocks);
        float consts[OT_EW_MAX_CONST][32];
        pg.nconst = rint_in(0, OT_EW_MAX_CONST);
        for (int c = 0; c < pg.nconst; c++) {
            pg.per_channel[c] = rnd() % 2;
            for (int j = 0; j < 32; j++) consts[c][j] = special();
            pg.value[c] = consts[c];
        }
        pg.n = rint_in(1, OT_EW_MAX_INS);
        for (int i = 0; i < pg.n; i++) {
            ot_ew_ins *e = &pg.ins[i];
            e->op = rint_in(0, OT_EW_OPS - 1);
            e->a = rint_in(0, i);
            e->b = pg.nconst && rnd() % 2 ? -1 - rint_in(0, pg.nconst - 1) : rint_in(0, i);
            e->p0 = special();
            e->p1 = special();
            if (e->op == OT_EW_CLIP && !(e->p0 <= e->p1)) e->p1 = e->p0 + 1.0f;
        }
        const ptrdiff_t stride = 8 + 8 * rint_in(0, 1), bstride = stride * nv + 8;
        const size_t len = (size_t)(bstride * nblk + 8);
        float *y0 = falloc(len), *y1 = falloc(len), *want = falloc(len);
        for (size_t i = 0; i < len; i++) y0[i] = y1[i] = want[i] = special();
        /* reference: one op at a time */
        const int b0 = blocks - nblk;
        for (int f = 0; f < nblk; f++)
            for (int v = 0; v < nv; v++)
                for (int l = 0; l < 8; l++) {
                    float r[OT_EW_MAX_INS + 1];
                    float *e = want + f * bstride + v * stride + l;
                    r[0] = *e;
                    for (int i = 0; i < pg.n; i++) {
                        const ot_ew_ins *in = &pg.ins[i];
                        float a = in->a >= 0 ? r[in->a] : 0, b = in->b >= 0 ? r[in->b] : 0;
                        if (in->b < 0) {
                            int k = -1 - in->b;
                            b = pg.per_channel[k] ? consts[k][(b0 + f) * 8 + l] : consts[k][0];
                        }
                        r[i + 1] = ref_op(in->op, a, b, in->p0, in->p1);
                    }
                    *e = r[pg.n];
                }
        ot_ewprog_run_scalar(&pg, y0, nv, stride, nblk, bstride, b0);
        for (size_t i = 0; i < len; i++)
            if (!(y0[i] == want[i] || (isnan(y0[i]) && isnan(want[i])) ))
                fail_msg("program %d: element %zu: scalar %.9g, reference %.9g", it, i, y0[i], want[i]);
        if (avx2) {
            ot_ewprog_run_avx2(&pg, y1, nv, stride, nblk, bstride, b0);
            for (size_t i = 0; i < len; i++)
                if (memcmp(&y0[i], &y1[i], 4) != 0 && !(isnan(y0[i]) && isnan(y1[i])))
                    fail_msg("program %d: element %zu: avx2 %.9g, scalar %.9g", it, i, y1[i], y0[i]);
        }
        ot_aligned_free(y0);
        ot_aligned_free(y1);
        ot_aligned_free(want);
    }
}

/* Max pooling rows: AVX2 and scalar against a naive loop (pool.c's order and comparison), with NaN,
 * infinities and -FLT_MAX-sized values in the input. */
static void test_maxpool(void **state) {
    (void)state;
    const bool avx2 = ot_cpu_isa_supported(OT_ISA_AVX2);
    for (int it = 0, done = 0; done < 120 && it < 1000; it++) {
        ot_nchwc_geom g;
        if (!random_geom(&g, true, false)) continue;
        done++;
        const int planes = rint_in(1, 3);
        const size_t in = (size_t)g.H * g.W * 8, out = (size_t)g.OH * g.OW * 8;
        float *x = falloc(planes * in), *want = falloc(planes * out);
        float *y[2] = {falloc(planes * out), falloc(planes * out)};
        for (size_t i = 0; i < planes * in; i++) x[i] = rnd() % 50 == 0 ? (rnd() % 2 ? NAN : -INFINITY) : special();
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    for (int l = 0; l < 8; l++) {
                        float m = -FLT_MAX;
                        for (int a = 0; a < g.kh; a++)
                            for (int b = 0; b < g.kw; b++) {
                                int ih = oh * g.sh - g.pt + a * g.dh, iw = ow * g.sw - g.pl + b * g.dw;
                                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                float v = x[p * in + ((size_t)ih * g.W + iw) * 8 + l];
                                m = m > v ? m : v;
                            }
                        want[p * out + ((size_t)oh * g.OW + ow) * 8 + l] = m;
                    }
        for (int isa = 0; isa < (avx2 ? 2 : 1); isa++) {
            ot_nchwc_force_scalar(isa == 0);
            ot_nchwc_maxpool(&g, planes, x, y[isa], rint_in(1, 2));
            for (size_t i = 0; i < planes * out; i++)
                if (memcmp(&y[isa][i], &want[i], 4) != 0 && !(isnan(y[isa][i]) && isnan(want[i])))
                    fail_msg("maxpool %dx%d k%dx%d s%d,%d d%d,%d p%d,%d isa%d: element %zu: got %.9g want %.9g", g.H,
                             g.W, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, isa, i, y[isa][i], want[i]);
        }
        ot_nchwc_force_scalar(false);
        ot_aligned_free(x);
        ot_aligned_free(want);
        ot_aligned_free(y[0]);
        ot_aligned_free(y[1]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_direct_shapes),
        cmocka_unit_test(test_direct_random),
        cmocka_unit_test(test_depthwise_random),
        cmocka_unit_test(test_ewprog),
        cmocka_unit_test(test_maxpool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
