/* Calibration observers (docs/OBSERVERS.md): hand-computed cases for each method, the exact histogram,
 * merges that must equal one calibration bit for bit, the MSE search against a brute force through the
 * real quantizer, bad options and never-observed tensors. PyTorch comparison: tests/interop/observers. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/histogram.h"
#include "quant/minmax.h"
#include "quant/observers.h"
#include "quant/qparams.h"

static uint64_t g_seed = 7;
static double urand(void) { /* (0, 1) */
    g_seed ^= g_seed << 13, g_seed ^= g_seed >> 7, g_seed ^= g_seed << 17;
    return ((double)(g_seed >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) { return (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand())); }

static octet_tensor *vec(const float *v, int64_t n) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 1, &n);
    if (n) memcpy(t->data, v, (size_t)n * sizeof(float));
    return t;
}

static void observe(ot_calib *c, const char *name, const float *v, int64_t n) {
    octet_tensor *t = vec(v, n);
    assert_int_equal(ot_calib_observe(c, name, t), OCTET_OK);
    octet_tensor_free(t);
}

static ot_calib *calib(ot_calib_method m, int bins) {
    ot_calib *c;
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.method = m, .bins = bins}), OCTET_OK);
    return c;
}

static void choose(const ot_calib *c, const char *name, octet_dtype qt, bool sym, float *lo, float *hi) {
    if (ot_calib_choose_range(c, name, qt, sym, false, lo, hi) != OCTET_OK) fail_msg("%s", octet_last_error());
}

/* ---- options and unknown tensors ---- */

static void test_bad_options(void **st) {
    (void)st;
    ot_calib *c = NULL;
    struct {
        ot_calib_options o;
        const char *word;
    } bad[] = {
        {{.percentile = -1}, "percentile"},     {{.percentile = 100.5}, "percentile"},
        {{.percentile = NAN}, "percentile"},    {{.ema_constant = -0.1}, "EMA"},
        {{.ema_constant = 1.5}, "EMA"},         {{.bins = 15}, "bins"},
        {{.bins = (1 << 20) + 1}, "bins"},      {{.bins = -3}, "bins"},
        {{.method = (ot_calib_method)6}, "method"}, {{.method = (ot_calib_method)-1}, "method"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ot_calib_create(&c, NULL, &bad[i].o), OCTET_ERR_INVALID_ARG);
        assert_null(c);
        assert_non_null(strstr(octet_last_error(), bad[i].word));
    }
    /* zeros are defaults; the edges of each range are accepted */
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.threads = 2}), OCTET_OK);
    const ot_calib_options *o = ot_calib_get_options(c);
    assert_true(o->percentile == 99.999 && o->ema_constant == 0.01 && o->bins == 2048 && o->threads == 2);
    assert_int_equal(o->method, OT_CALIB_MINMAX);
    ot_calib_free(c);
    ot_calib_options edge = {.percentile = 100, .ema_constant = 1, .bins = 16, .method = OT_CALIB_MSE};
    assert_int_equal(ot_calib_create(&c, NULL, &edge), OCTET_OK);
    ot_calib_free(c);
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.bins = 1 << 20, .percentile = 1e-9}), OCTET_OK);
    ot_calib_free(c);
    /* a calibrator without a model cannot run batches */
    c = calib(OT_CALIB_MINMAX, 0);
    octet_tensor *x = vec((float[]){1}, 1);
    assert_int_equal(ot_calib_feed(c, &x, 1), OCTET_ERR_INVALID_ARG);
    octet_tensor_free(x);
    ot_calib_free(c);
}

static void test_never_observed(void **st) {
    (void)st;
    for (int m = OT_CALIB_MINMAX; m <= OT_CALIB_MSE; m++) {
        ot_calib *c = calib((ot_calib_method)m, 64);
        float lo = 7, hi = 7;
        assert_int_equal(ot_calib_choose_range(c, "nope", OCTET_UINT8, false, false, &lo, &hi), OCTET_ERR_INVALID_ARG);
        assert_non_null(strstr(octet_last_error(), "nope"));
        assert_true(lo == 7 && hi == 7);
        assert_null(ot_calib_range(c, "nope"));
        /* seen, but never a finite value: an empty tensor, NaN and infinities */
        observe(c, "empty", (float[]){0}, 0);
        observe(c, "nan", (float[]){NAN, INFINITY, -INFINITY}, 3);
        for (int k = 0; k < 2; k++) {
            const char *name = k ? "nan" : "empty";
            assert_non_null(ot_calib_range(c, name));
            assert_true(ot_calib_range(c, name)->min > ot_calib_range(c, name)->max);
            choose(c, name, OCTET_INT8, false, &lo, &hi);
            assert_true(lo == 0 && hi == 0);
        }
        assert_int_equal(ot_calib_range(c, "nan")->count, 3);
        /* the quantized type must be an integer type the quantizer knows */
        observe(c, "x", (float[]){1, 2}, 2);
        assert_int_equal(ot_calib_choose_range(c, "x", OCTET_FLOAT, false, false, &lo, &hi), OCTET_ERR_INVALID_ARG);
        ot_calib_free(c);
    }
}

/* ---- min/max, per channel, EMA ---- */

static void test_minmax_hand(void **st) {
    (void)st;
    ot_calib *c = calib(OT_CALIB_MINMAX, 0);
    observe(c, "x", (float[]){0.5f, -1.5f, NAN, 2.0f, INFINITY}, 5);
    observe(c, "x", (float[]){0.25f, 3.0f, -INFINITY}, 3);
    float lo, hi;
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == -1.5f && hi == 3.0f);
    assert_int_equal(ot_calib_range(c, "x")->count, 8);
    assert_null(ot_calib_hist(c, "x")); /* min/max keeps no histogram */
    ot_calib_free(c);

    /* odd lengths through the vector loop and its tail, in parallel chunks */
    for (int64_t n = 1; n < 40; n += 3) {
        float v[40], mn, mx;
        for (int i = 0; i < n; i++) v[i] = (float)((i * 7919) % 23) - 11.0f;
        v[n / 2] = -20.0f;
        v[n - 1] = n > 1 ? 30.0f : v[n - 1];
        ot_minmax_f32(v, n, 2, &mn, &mx);
        float emn = INFINITY, emx = -INFINITY;
        for (int i = 0; i < n; i++) emn = fminf(emn, v[i]), emx = fmaxf(emx, v[i]);
        assert_true(mn == emn && mx == emx);
    }
    int64_t big = (1 << 18) + 5;
    float *v = malloc((size_t)big * sizeof *v);
    for (int64_t i = 0; i < big; i++) v[i] = (float)(i % 1000) * 0.001f;
    v[123457] = -4.0f, v[big - 1] = 9.0f, v[77] = NAN;
    float mn, mx;
    ot_minmax_f32(v, big, 2, &mn, &mx);
    assert_true(mn == -4.0f && mx == 9.0f);
    free(v);

    /* per channel: [outer 2, ch 3, inner 2] */
    float w[12] = {1, -2, 5, 0, 3, 3, /* outer 1 */ -7, 4, 0.5f, 6, NAN, 2};
    float cmn[3], cmx[3];
    ot_minmax_per_channel(w, 2, 3, 2, cmn, cmx);
    assert_true(cmn[0] == -7 && cmx[0] == 4);
    assert_true(cmn[1] == 0 && cmx[1] == 6);
    assert_true(cmn[2] == 2 && cmx[2] == 3);
}

static void test_ema_hand(void **st) {
    (void)st;
    ot_calib *c;
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.method = OT_CALIB_EMA, .ema_constant = 0.5}), OCTET_OK);
    observe(c, "x", (float[]){1, -2}, 2);  /* first batch sets: [-2, 1] */
    observe(c, "x", (float[]){5, 0}, 2);   /* [-2 + .5 * 2, 1 + .5 * 4] = [-1, 3] */
    observe(c, "x", (float[]){3, -1}, 2);  /* [-1, 3] */
    observe(c, "x", (float[]){-9, -5}, 2); /* [-1 + .5 * -8, 3 + .5 * -8] = [-5, -1] */
    float lo, hi;
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == -5.0f && hi == -1.0f);
    assert_true(ot_calib_range(c, "x")->min == -9.0f && ot_calib_range(c, "x")->max == 5.0f);
    ot_calib_free(c);

    /* default constant 0.01, in float arithmetic as PyTorch */
    c = calib(OT_CALIB_EMA, 0);
    observe(c, "x", (float[]){0.3f, -0.7f}, 2);
    observe(c, "x", (float[]){1.1f, 0.2f}, 2);
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    float k = 0.01f, e_lo = -0.7f + k * (0.2f - -0.7f), e_hi = 0.3f + k * (1.1f - 0.3f);
    assert_true(lo == e_lo && hi == e_hi);
    assert_true(lo != -0.7f);

    /* merge: the count-weighted mean of the two averages (not a sequential run: EMA depends on order) */
    ot_calib *d = calib(OT_CALIB_EMA, 0);
    observe(d, "x", (float[]){-3, 2, 1, 0, 0, 0}, 6);
    assert_int_equal(ot_calib_merge(c, d), OCTET_OK);
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == (float)((4.0 * e_lo + 6.0 * -3.0) / 10.0));
    assert_true(hi == (float)((4.0 * e_hi + 6.0 * 2.0) / 10.0));
    /* merging into an empty EMA calibrator copies */
    ot_calib *e = calib(OT_CALIB_EMA, 0);
    assert_int_equal(ot_calib_merge(e, d), OCTET_OK);
    choose(e, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == -3.0f && hi == 2.0f);
    /* EMA needs EMA state with the same constant */
    ot_calib *mm = calib(OT_CALIB_MINMAX, 0), *other;
    assert_int_equal(ot_calib_create(&other, NULL, &(ot_calib_options){.method = OT_CALIB_EMA, .ema_constant = 0.1}), OCTET_OK);
    assert_int_equal(ot_calib_merge(e, mm), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_calib_merge(e, other), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_calib_merge(mm, e), OCTET_OK); /* min/max takes anything */
    assert_true(ot_calib_range(mm, "x")->min == -3.0f);
    ot_calib_free(c);
    ot_calib_free(d);
    ot_calib_free(e);
    ot_calib_free(mm);
    ot_calib_free(other);
}

/* ---- the histogram ---- */

static void test_histogram_hand(void **st) {
    (void)st;
    ot_calib *c = calib(OT_CALIB_HISTOGRAM, 16);
    /* max|x| 3.9 in 16 bins: width 2^-2 (bins 0..15); 2^-3 would need 32 */
    observe(c, "x", (float[]){0.0f, 1.0f, 2.5f, NAN, 3.9f, INFINITY}, 6);
    const ot_hist *h = ot_calib_hist(c, "x");
    assert_non_null(h);
    assert_int_equal(h->k, -2);
    assert_int_equal(h->b0, 0);
    assert_int_equal(h->nb, 16);
    assert_int_equal(h->total, 4);
    uint64_t want1[16] = {[0] = 1, [4] = 1, [10] = 1, [15] = 1};
    assert_memory_equal(h->counts, want1, sizeof want1);
    /* -4 widens the range to [-4, 3.9]: width 2^-1, bins -8..7, pairs merged */
    observe(c, "x", (float[]){-4.0f}, 1);
    h = ot_calib_hist(c, "x");
    assert_int_equal(h->k, -1);
    assert_int_equal(h->b0, -8);
    assert_int_equal(h->nb, 16);
    uint64_t want2[16] = {[0] = 1, [8] = 1, [10] = 1, [13] = 1, [15] = 1};
    assert_memory_equal(h->counts, want2, sizeof want2);
    assert_int_equal(ot_hist_width_exp(-4.0f, 3.9f, 16), -1);
    assert_int_equal(ot_hist_width_exp(0.0f, 0.0f, 16), -170);
    assert_int_equal(ot_hist_width_exp(-1e-30f, 0.0f, 16), ot_hist_width_exp(-1e-30f, 1e-31f, 16));
    ot_calib_free(c);

    /* the big-array parallel path and the direct path give the same counts; negatives floor correctly */
    int64_t n = 300001;
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = gauss() * (i % 3 == 0 ? 0.001f : 3.0f);
    v[5] = -0.0f, v[6] = -1e-30f, v[7] = 1e-30f;
    ot_hist a, b;
    float mn, mx;
    ot_minmax_f32(v, n, 1, &mn, &mx);
    assert_true(ot_hist_init(&a, 2048) && ot_hist_init(&b, 2048));
    assert_true(ot_hist_add(&a, v, n, mn, mx, 2));
    for (int64_t i = 0; i < n; i += 1000) {
        int64_t m = n - i < 1000 ? n - i : 1000;
        float bmn, bmx;
        ot_minmax_f32(v + i, m, 1, &bmn, &bmx);
        assert_true(ot_hist_add(&b, v + i, m, bmn, bmx, 1));
    }
    assert_int_equal(a.k, b.k);
    assert_int_equal(a.b0, b.b0);
    assert_int_equal(a.nb, b.nb);
    assert_int_equal(a.total, (uint64_t)n);
    assert_memory_equal(a.counts, b.counts, (size_t)a.nb * sizeof *a.counts);
    /* every count where floor(x / w) says */
    uint64_t *ref = calloc((size_t)a.nb, sizeof *ref);
    for (int64_t i = 0; i < n; i++) ref[(int64_t)floor(ldexp((double)v[i], -a.k)) - a.b0]++;
    assert_memory_equal(a.counts, ref, (size_t)a.nb * sizeof *ref);
    free(ref);
    ot_hist_free(&a);
    ot_hist_free(&b);
    free(v);
}

/* ---- percentile ---- */

static void test_percentile_hand(void **st) {
    (void)st;
    float v[1000];
    for (int i = 0; i < 1000; i++) v[i] = (float)i;
    ot_calib *c;
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.method = OT_CALIB_PERCENTILE, .percentile = 99}),
                     OCTET_OK);
    observe(c, "x", v, 1000);
    /* width 1/2: value i alone in [i, i + 1/2). 0.5% tails = 5 values: the density reaches 5 at 4.5 and
     * 995 at 994.5 */
    float lo, hi;
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == 4.5f && hi == 994.5f);
    /* symmetric: 99% of |x| (990 values) lie in [0, 989.5]; clamped to the data */
    choose(c, "x", OCTET_INT8, true, &lo, &hi);
    assert_true(lo == 0.0f && hi == 989.5f);
    ot_calib_free(c);

    /* two-sided symmetric: |x| of -500..499; 90% = 900 values. |x| <= 449.5 holds 0..449 and -1..-449
     * (899); beyond, only the bin of -450 ([-450, -449.5)) adds mass, 2 per unit: 900 at t = 450 */
    for (int i = 0; i < 1000; i++) v[i] = (float)(i - 500);
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.method = OT_CALIB_PERCENTILE, .percentile = 90}),
                     OCTET_OK);
    observe(c, "x", v, 1000);
    choose(c, "x", OCTET_INT8, true, &lo, &hi);
    assert_true(hi == 450.0f && lo == -450.0f);
    ot_calib_free(c);

    /* 100: the whole range */
    assert_int_equal(ot_calib_create(&c, NULL, &(ot_calib_options){.method = OT_CALIB_PERCENTILE, .percentile = 100}),
                     OCTET_OK);
    observe(c, "x", v, 1000);
    choose(c, "x", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == -500.0f && hi == 499.0f);
    ot_calib_free(c);
}

/* ---- entropy ---- */

static void test_entropy_hand(void **st) {
    (void)st;
    /* uniform data: at the full range P and Q agree bin for bin (KL 0), every clip puts mass in the
     * last bin that Q cannot match, so the threshold is the maximum */
    enum { N = 1 << 16 };
    static float v[N];
    for (int i = 0; i < N; i++) v[i] = (float)i / N;
    ot_calib *c = calib(OT_CALIB_ENTROPY, 0);
    observe(c, "u", v, N);
    float lo, hi;
    choose(c, "u", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == 0.0f && hi == v[N - 1]);
    /* heavy tails (Laplace with rare far outliers): clipped, but never below 128 of the 2048 bins */
    for (int i = 0; i < N; i++) {
        double u = urand() - 0.5;
        v[i] = (float)(-(u < 0 ? -1 : 1) * log(1 - 2 * fabs(u)));
    }
    v[100] = 60.0f, v[200] = -40.0f;
    observe(c, "t", v, N);
    choose(c, "t", OCTET_INT8, true, &lo, &hi);
    assert_true(hi < 30.0f && hi >= 128.0f / 2048 * 60.0f);
    assert_true(lo == -hi);
    /* one-sided data, asymmetric: all 256 levels cover one side, so the minimum threshold is 256 bins */
    for (int i = 0; i < N; i++) v[i] = fabsf(v[i]);
    observe(c, "p", v, N);
    choose(c, "p", OCTET_UINT8, false, &lo, &hi);
    assert_true(lo == ot_calib_range(c, "p")->min && hi >= 256.0f / 2048 * 60.0f && hi < 30.0f);
    ot_calib_free(c);
}

/* ---- MSE: against a brute force through the real quantizer ---- */

static double data_mse(const float *x, int n, float lo, float hi, octet_dtype qt, bool sym) {
    ot_qparams p = ot_calc_qparams(lo, hi, qt, sym, false);
    uint8_t *q = malloc((size_t)n);
    ot_quantize_f32(x, n, p.scale, p.zero_point, qt, q);
    double e = 0;
    for (int i = 0; i < n; i++) {
        int qi = qt == OCTET_INT8 ? (int)(int8_t)q[i] : (int)q[i];
        double d = x[i] - (double)((float)(qi - p.zero_point) * p.scale);
        e += d * d;
    }
    free(q);
    return e / n;
}

static void test_mse_brute_force(void **st) {
    (void)st;
    enum { N = 20000 };
    static float v[N];
    for (int i = 0; i < N; i++) { /* Laplace: tails where clipping pays */
        double u = urand() - 0.5;
        v[i] = (float)(-(u < 0 ? -1 : 1) * log(1 - 2 * fabs(u)));
    }
    ot_calib *c = calib(OT_CALIB_MSE, 0);
    observe(c, "x", v, N);
    const ot_range *r = ot_calib_range(c, "x");
    for (int sym = 0; sym < 2; sym++) {
        octet_dtype qt = sym ? OCTET_INT8 : OCTET_UINT8;
        float lo, hi;
        choose(c, "x", qt, sym, &lo, &hi);
        double got = data_mse(v, N, lo, hi, qt, sym);
        /* brute force on the data: symmetric thresholds, or [a, b] pairs */
        double best = INFINITY;
        for (int i = 1; i <= 75; i++) {
            float t = 0.2f * i;
            if (sym) best = fmin(best, data_mse(v, N, -t, t, qt, true));
            else
                for (int j = 1; j <= 75; j++) best = fmin(best, data_mse(v, N, -0.2f * j, t, qt, false));
        }
        double full = data_mse(v, N, r->min, r->max, qt, sym);
        print_message("mse sym=%d: range [%g, %g] of [%g, %g]: mse %.4g, brute force best %.4g, min/max %.4g\n", sym,
                      lo, hi, r->min, r->max, got, best, full);
        assert_true(got <= best * 1.03);
        assert_true(got < full);
        if (sym) assert_true(hi == -lo && hi < fmaxf(-r->min, r->max));
        else assert_true(hi < r->max && lo > r->min);
    }
    ot_calib_free(c);

    /* uniform on [0, 1), uint8 [0, T]: s = T/255, error s^3/24 (first half cell) + 254 s^3/12 + the top
     * cell ((1-T)^3 + (s/2)^3)/3 = 21.25 s^3 + (1-T)^3/3; minimal at (1-T)^2 = 63.75 T^2 / 255^3,
     * T = 0.998043. Candidates are max * j / 2048. */
    enum { U = 1 << 16 };
    static float uv[U];
    for (int i = 0; i < U; i++) uv[i] = (float)i / U;
    c = calib(OT_CALIB_MSE, 0);
    observe(c, "u", uv, U);
    float ulo, uhi;
    choose(c, "u", OCTET_UINT8, false, &ulo, &uhi);
    double topt = 1.0 / (1.0 + sqrt(63.75 / (255.0 * 255.0 * 255.0)));
    print_message("uniform mse range [%g, %g], optimum %g\n", ulo, uhi, topt);
    assert_true(ulo == 0.0f && fabs(uhi - topt) <= 0.5 / 2048);
    ot_calib_free(c);

    /* the expected error: a point mass at 0.3 quantized with scale 0.25, zp 0 -> 0.25: error 0.05^2 */
    ot_hist h;
    assert_true(ot_hist_init(&h, 16));
    assert_true(ot_hist_add(&h, (float[]){0.3f, 0.3f}, 2, 0.3f, 0.3f, 1));
    ot_density d;
    assert_true(ot_density_init(&d, &h));
    double e = ot_density_qerror(&d, 0.25, 0, 0, 255);
    assert_true(fabs(e - 2 * (0.3f - 0.25) * (0.3f - 0.25)) < 1e-12);
    ot_density_free(&d);
    ot_hist_free(&h);
    /* 0, 1/2048, ..., 4094/2048 and 2: bins of width 1/4 (16 bins cannot hold 1/8), 512 values each but
     * [1.75, 2) with 511, and a point mass at 2 (the last bin is [2, 2]). Scale 1, zero point 0: cells
     * (-inf, .5] -> 0, (.5, 1.5] -> 1, (1.5, inf) -> 2 */
    assert_true(ot_hist_init(&h, 16));
    float u[4096];
    for (int i = 0; i < 4096; i++) u[i] = (float)i / 2048.0f;
    u[4095] = 2.0f;
    assert_true(ot_hist_add(&h, u, 4096, 0.0f, 2.0f, 1));
    assert_int_equal(h.k, -2);
    assert_true(ot_density_init(&d, &h));
    e = ot_density_qerror(&d, 1.0, 0, 0, 255);
    double want = 2048 * (0.125 / 3 + 0.25 / 3 + (0.125 - 0.015625) / 3) + 2044 * (0.015625 / 3);
    print_message("uniform qerror %.6f want %.6f\n", e, want);
    assert_true(fabs(e - want) < 1e-6 * want + 0.2);
    ot_density_free(&d);
    ot_hist_free(&h);
}

/* ---- L2 (HistogramObserver) properties; the numbers against PyTorch: tests/interop/observers ---- */

static void test_l2_properties(void **st) {
    (void)st;
    enum { N = 1 << 15 };
    static float v[N];
    ot_calib *c = calib(OT_CALIB_HISTOGRAM, 0);
    /* uniform [0, 1): cutting a few top bins trades a little clipping for finer steps (as for MSE) */
    for (int i = 0; i < N; i++) v[i] = (float)i / N;
    observe(c, "u", v, N);
    float lo, hi;
    choose(c, "u", OCTET_UINT8, false, &lo, &hi);
    print_message("l2 uniform [%g, %g]\n", lo, hi);
    assert_true(lo == 0.0f && hi > 0.99f && hi < v[N - 1]);
    /* one far outlier: the first step that cuts it raises the error, so the greedy walk stops and keeps it
     * (as PyTorch's does) */
    for (int i = 0; i < N; i++) v[i] = gauss();
    v[9] = 40.0f;
    observe(c, "g", v, N);
    choose(c, "g", OCTET_UINT8, false, &lo, &hi);
    print_message("l2 gauss+outlier [%g, %g]\n", lo, hi);
    assert_true(hi > 39.0f && lo < -3.0f);
    /* Laplace tails: clipped on both sides; symmetric is symmetric and never degenerate */
    for (int i = 0; i < N; i++) {
        double u = urand() - 0.5;
        v[i] = (float)(-(u < 0 ? -1 : 1) * log(1 - 2 * fabs(u))) + 0.5f;
    }
    observe(c, "t", v, N);
    const ot_range *r = ot_calib_range(c, "t");
    choose(c, "t", OCTET_UINT8, false, &lo, &hi);
    print_message("l2 laplace [%g, %g] of [%g, %g]\n", lo, hi, r->min, r->max);
    assert_true(lo >= r->min && hi < r->max && lo < -2.0f && hi > 3.0f);
    float slo, shi;
    choose(c, "t", OCTET_INT8, true, &slo, &shi);
    print_message("l2 laplace symmetric [%g, %g]\n", slo, shi);
    assert_true(shi > 3.0f && shi < r->max && (slo == -shi || slo == r->min));
    ot_calib_free(c);
}

/* ---- merging equals one calibration ---- */

/* x -> Mul(c) -> Relu -> Add(x) -> Neg -> y: elementwise ops only, so a sample's values do not depend
 * on the batch it is in */
static octet_model *ew_model(void) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t xd[2] = {-1, 6}, cd = 6;
    ot_graph_add_input(g, "x", OCTET_FLOAT, 2, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 2, xd);
    octet_tensor *ct = ot_tensor_new(OCTET_FLOAT, 1, &cd);
    for (int i = 0; i < 6; i++) ((float *)ct->data)[i] = 0.5f + (float)i;
    ot_graph_add_initializer(g, "c", ct);
    const char *ops[4][4] = {{"Mul", "x", "c", "m"}, {"Relu", "m", NULL, "r"}, {"Add", "r", "x", "a"}, {"Neg", "a", NULL, "y"}};
    for (int i = 0; i < 4; i++) {
        ot_node *n = ot_graph_add_node(g, ops[i][0], "", ops[i][3]);
        ot_node_set_inputs(n, ops[i][2] ? 2 : 1, (const char *[]){ops[i][1], ops[i][2]});
        ot_node_set_outputs(n, 1, (const char *[]){ops[i][3]});
    }
    return m;
}

enum { NS = 40 };

static void feed_rows(ot_calib *c, float (*data)[6], const int *order, int n, int batch) {
    for (int i = 0; i < n; i += batch) {
        int b = n - i < batch ? n - i : batch;
        int64_t d[2] = {b, 6};
        octet_tensor *x = ot_tensor_new(OCTET_FLOAT, 2, d);
        for (int r = 0; r < b; r++) memcpy((float *)x->data + r * 6, data[order[i + r]], sizeof data[0]);
        if (ot_calib_feed(c, &x, 1) != OCTET_OK) fail_msg("%s", octet_last_error());
        octet_tensor_free(x);
    }
}

static void assert_same(const ot_calib *a, const ot_calib *b) {
    assert_int_equal(ot_calib_count(a), ot_calib_count(b));
    for (int i = 0; i < ot_calib_count(a); i++) {
        const ot_range *ra = ot_calib_at(a, i), *rb = ot_calib_range(b, ra->name);
        assert_non_null(rb);
        assert_true(ra->min == rb->min && ra->max == rb->max && ra->count == rb->count);
        const ot_hist *ha = ot_calib_hist(a, ra->name), *hb = ot_calib_hist(b, ra->name);
        assert_true((ha == NULL) == (hb == NULL));
        if (ha) {
            assert_true(ha->k == hb->k && ha->b0 == hb->b0 && ha->nb == hb->nb && ha->total == hb->total);
            assert_memory_equal(ha->counts, hb->counts, (size_t)ha->cap * sizeof *ha->counts);
        }
        octet_dtype qts[3] = {OCTET_UINT8, OCTET_INT8, OCTET_INT16};
        for (int q = 0; q < 3; q++)
            for (int sym = 0; sym < 2; sym++)
                for (int rr = 0; rr < 2; rr++) {
                    float la, ha_, lb, hb_;
                    assert_int_equal(ot_calib_choose_range(a, ra->name, qts[q], sym, rr, &la, &ha_), OCTET_OK);
                    assert_int_equal(ot_calib_choose_range(b, ra->name, qts[q], sym, rr, &lb, &hb_), OCTET_OK);
                    assert_memory_equal(&la, &lb, sizeof la);
                    assert_memory_equal(&ha_, &hb_, sizeof ha_);
                }
    }
}

static void test_merge_equals_one_calibration(void **st) {
    (void)st;
    static float data[NS][6];
    for (int i = 0; i < NS; i++) /* scales that grow and shrink, so widths coarsen and ranges move */
        for (int j = 0; j < 6; j++) data[i][j] = gauss() * (float)(i % 7 == 3 ? 50.0 : i % 5 == 0 ? 0.01 : 1.0 + i % 4);
    data[17][2] = 1234.5f;
    int fwd[NS], rev[NS], mix[NS];
    for (int i = 0; i < NS; i++) fwd[i] = i, rev[i] = NS - 1 - i, mix[i] = (i * 17) % NS;
    octet_model *m = ew_model();
    for (int method = OT_CALIB_MINMAX; method <= OT_CALIB_MSE; method++) {
        if (method == OT_CALIB_EMA) continue; /* order dependent by definition: see test_ema_hand */
        ot_calib_options o = {.method = (ot_calib_method)method, .bins = method == OT_CALIB_PERCENTILE ? 0 : 512};
        ot_calib *whole, *p1, *p2, *p3;
        assert_int_equal(ot_calib_create(&whole, m, &o), OCTET_OK);
        feed_rows(whole, data, fwd, NS, 8);
        /* parts: other orders, other batch sizes, other thread counts */
        ot_calib_options o2 = o;
        o2.threads = 2;
        assert_int_equal(ot_calib_create(&p1, m, &o), OCTET_OK);
        assert_int_equal(ot_calib_create(&p2, m, &o2), OCTET_OK);
        assert_int_equal(ot_calib_create(&p3, m, &o), OCTET_OK);
        feed_rows(p1, data, rev, 11, 3);       /* rows 39..29 */
        int rest[NS], nr = 0;
        for (int i = 0; i < NS; i++)
            if (mix[i] < 29 && mix[i] >= 10) rest[nr++] = mix[i];
        feed_rows(p2, data, rest, nr, 5);       /* rows 10..28 */
        feed_rows(p3, data, rev + 30, 10, 1);   /* rows 9..0 one at a time */
        /* p3 <- p1, then p2 <- p3 */
        assert_int_equal(ot_calib_merge(p3, p1), OCTET_OK);
        assert_int_equal(ot_calib_merge(p2, p3), OCTET_OK);
        assert_same(whole, p2);
        /* and the other way round: merging into an empty calibrator */
        ot_calib *e;
        assert_int_equal(ot_calib_create(&e, m, &o), OCTET_OK);
        assert_int_equal(ot_calib_merge(e, p2), OCTET_OK);
        assert_same(whole, e);
        ot_calib_free(e);
        ot_calib_free(whole);
        ot_calib_free(p1);
        ot_calib_free(p2);
        ot_calib_free(p3);
    }
    /* histograms of different sizes, or a histogram method from min/max, do not merge */
    ot_calib *a, *b, *mm;
    assert_int_equal(ot_calib_create(&a, m, &(ot_calib_options){.method = OT_CALIB_ENTROPY, .bins = 512}), OCTET_OK);
    assert_int_equal(ot_calib_create(&b, m, &(ot_calib_options){.method = OT_CALIB_MSE, .bins = 1024}), OCTET_OK);
    assert_int_equal(ot_calib_create(&mm, m, NULL), OCTET_OK);
    assert_int_equal(ot_calib_merge(a, b), OCTET_ERR_INVALID_ARG);
    assert_non_null(strstr(octet_last_error(), "bins"));
    assert_int_equal(ot_calib_merge(a, mm), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_calib_merge(a, a), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_calib_merge(mm, b), OCTET_OK);
    ot_calib_free(a);
    ot_calib_free(b);
    ot_calib_free(mm);
    octet_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_never_observed),
        cmocka_unit_test(test_minmax_hand),
        cmocka_unit_test(test_ema_hand),
        cmocka_unit_test(test_histogram_hand),
        cmocka_unit_test(test_percentile_hand),
        cmocka_unit_test(test_entropy_hand),
        cmocka_unit_test(test_mse_brute_force),
        cmocka_unit_test(test_l2_properties),
        cmocka_unit_test(test_merge_equals_one_calibration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
