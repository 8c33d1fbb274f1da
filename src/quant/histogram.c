#include "quant/histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define K_MIN (-170) /* below float's smallest spacing (2^-149): the width of an all-zero histogram */

/* floor(j / 2^s) for s >= 0 */
static int64_t floor_shift(int64_t j, int s) {
    if (s <= 0) return j;
    if (s > 62) return j < 0 ? -1 : 0;
    return j >= 0 ? (j >> s) : -(((-j) - 1) >> s) - 1;
}

/* the bin of x at width 2^k; exact: scaling by a power of two in double neither rounds nor underflows */
static int64_t bin_of(double x, int k) { return (int64_t)floor(ldexp(x, -k)); }

int ot_hist_width_exp(float mn, float mx, int bins) {
    double amax = fmax(fabs((double)mn), fabs((double)mx));
    int k = K_MIN;
    if (amax > 0) {
        int e;
        frexp(amax, &e); /* amax < 2^e: with k >= e - 25 every |index| < 2^25 */
        if (e - 25 > k) k = e - 25;
    }
    while (bin_of(mx, k) - bin_of(mn, k) + 1 > bins) k++;
    return k;
}

bool ot_hist_init(ot_hist *h, int bins) {
    memset(h, 0, sizeof *h);
    h->cap = bins;
    h->min = INFINITY;
    h->max = -INFINITY;
    h->counts = calloc((size_t)bins, sizeof *h->counts);
    return h->counts != NULL;
}

void ot_hist_free(ot_hist *h) {
    free(h->counts);
    h->counts = NULL;
}

/* Move h onto the grid of width 2^k covering [mn, mx] (k >= h->k, [mn, mx] contains h's range). */
static bool regrid(ot_hist *h, int k, float mn, float mx) {
    int64_t b0 = bin_of(mn, k);
    int nb = (int)(bin_of(mx, k) - b0 + 1);
    if (h->nb > 0 && (k != h->k || b0 != h->b0)) {
        uint64_t *c = calloc((size_t)h->cap, sizeof *c);
        if (!c) return false;
        for (int i = 0; i < h->nb; i++)
            if (h->counts[i]) c[floor_shift(h->b0 + i, k - h->k) - b0] += h->counts[i];
        free(h->counts);
        h->counts = c;
    }
    h->k = k;
    h->b0 = b0;
    h->nb = nb;
    h->min = mn;
    h->max = mx;
    return true;
}

/* idx[i] = floor(x[i] * inv_w) - b0, as unsigned: NaN and +-inf land far outside [0, nb). */
static void bin_index(const float *x, int n, double inv_w, int32_t b0, uint32_t *idx) {
    int i = 0;
#if defined(__SSE2__)
    const __m128d s = _mm_set1_pd(inv_w), hi = _mm_set1_pd(1e9), lo = _mm_set1_pd(-1e9);
    const __m128i base = _mm_set1_epi32(b0);
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm_loadu_ps(x + i);
        __m128d a = _mm_mul_pd(_mm_cvtps_pd(v), s), b = _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(v, v)), s);
        a = _mm_max_pd(_mm_min_pd(a, hi), lo); /* min_pd returns hi for NaN */
        b = _mm_max_pd(_mm_min_pd(b, hi), lo);
        __m128i ta = _mm_cvttpd_epi32(a), tb = _mm_cvttpd_epi32(b);
        /* truncation -> floor: subtract 1 where the value is below its truncation */
        __m128d ma = _mm_cmplt_pd(a, _mm_cvtepi32_pd(ta)), mb = _mm_cmplt_pd(b, _mm_cvtepi32_pd(tb));
        __m128i m = _mm_castps_si128(_mm_shuffle_ps(_mm_castpd_ps(ma), _mm_castpd_ps(mb), _MM_SHUFFLE(2, 0, 2, 0)));
        __m128i t = _mm_unpacklo_epi64(ta, tb);
        _mm_storeu_si128((__m128i *)(idx + i), _mm_sub_epi32(_mm_add_epi32(t, m), base));
    }
#endif
    for (; i < n; i++) {
        double y = (double)x[i] * inv_w;
        if (!(y > -1e9 && y < 1e9)) {
            idx[i] = 0x80000000u;
            continue;
        }
        int32_t t = (int32_t)y;
        t -= y < (double)t;
        idx[i] = (uint32_t)t - (uint32_t)b0;
    }
}

#define BLK 256

/* Bin x into four interleaved 32-bit histograms (sub[s * nb + i]), so runs of one value (a ReLU's
 * zeros) do not serialize on one counter. n < 2^32. */
static void bin_sub(const float *x, int64_t n, double inv_w, int32_t b0, uint32_t nb, uint32_t *sub) {
    uint32_t idx[BLK];
    uint32_t *h0 = sub, *h1 = sub + nb, *h2 = sub + 2 * (size_t)nb, *h3 = sub + 3 * (size_t)nb;
    for (int64_t s = 0; s < n; s += BLK) {
        int m = n - s < BLK ? (int)(n - s) : BLK;
        bin_index(x + s, m, inv_w, b0, idx);
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            if (idx[j] < nb) h0[idx[j]]++;
            if (idx[j + 1] < nb) h1[idx[j + 1]]++;
            if (idx[j + 2] < nb) h2[idx[j + 2]]++;
            if (idx[j + 3] < nb) h3[idx[j + 3]]++;
        }
        for (; j < m; j++)
            if (idx[j] < nb) h0[idx[j]]++;
    }
}

static uint64_t bin_direct(const float *x, int64_t n, double inv_w, int32_t b0, uint32_t nb, uint64_t *c) {
    uint32_t idx[BLK];
    uint64_t added = 0;
    for (int64_t s = 0; s < n; s += BLK) {
        int m = n - s < BLK ? (int)(n - s) : BLK;
        bin_index(x + s, m, inv_w, b0, idx);
        for (int j = 0; j < m; j++)
            if (idx[j] < nb) c[idx[j]]++, added++;
    }
    return added;
}

bool ot_hist_add(ot_hist *h, const float *x, int64_t n, float bmin, float bmax, int threads) {
    if (!(bmin <= bmax)) return true; /* nothing finite */
    float mn = h->nb && h->min < bmin ? h->min : bmin, mx = h->nb && h->max > bmax ? h->max : bmax;
    if (!regrid(h, ot_hist_width_exp(mn, mx, h->cap), mn, mx)) return false;
    double inv_w = ldexp(1.0, -h->k);
    int32_t b0 = (int32_t)h->b0;
    uint32_t nb = (uint32_t)h->nb;
    int T = threads > 1 && n >= (1 << 16) ? threads : 1;
    if (T > 64) T = 64;
    if (T == 1 && n < 8 * (int64_t)nb) {
        h->total += bin_direct(x, n, inv_w, b0, nb, h->counts);
        return true;
    }
    size_t per = 4 * (size_t)nb;
    uint32_t *sub = malloc((size_t)T * per * sizeof *sub);
    if (!sub) return false;
    const int64_t piece = (int64_t)1 << 30; /* keeps each 32-bit counter below 2^32 */
    for (int64_t p = 0; p < n; p += piece) {
        int64_t len = n - p < piece ? n - p : piece;
        memset(sub, 0, (size_t)T * per * sizeof *sub);
#pragma omp parallel for num_threads(T) schedule(static, 1)
        for (int t = 0; t < T; t++) {
            int64_t lo = len * t / T, hi = len * (t + 1) / T;
            bin_sub(x + p + lo, hi - lo, inv_w, b0, nb, sub + (size_t)t * per);
        }
        for (size_t j = 0; j < (size_t)T * per; j++) {
            h->counts[j % nb] += sub[j];
            h->total += sub[j];
        }
    }
    free(sub);
    return true;
}

bool ot_hist_merge(ot_hist *dst, const ot_hist *src) {
    if (dst->cap != src->cap) return false;
    if (src->nb == 0) return true;
    float mn = dst->nb && dst->min < src->min ? dst->min : src->min;
    float mx = dst->nb && dst->max > src->max ? dst->max : src->max;
    int k = ot_hist_width_exp(mn, mx, dst->cap);
    if (!regrid(dst, k, mn, mx)) return false;
    for (int i = 0; i < src->nb; i++)
        if (src->counts[i]) dst->counts[floor_shift(src->b0 + i, k - src->k) - dst->b0] += src->counts[i];
    dst->total += src->total;
    return true;
}

/* ---- the density ---- */

/* The part of bin i inside [min, max]. */
static void bin_span(const ot_density *d, int i, double *a, double *c) {
    const ot_hist *h = d->h;
    double lo = (double)(h->b0 + i) * d->w, hi = lo + d->w;
    *a = lo > h->min ? lo : h->min;
    *c = hi < h->max ? hi : h->max;
}

bool ot_density_init(ot_density *d, const ot_hist *h) {
    memset(d, 0, sizeof *d);
    d->h = h;
    d->w = ldexp(1.0, h->k);
    d->inv_w = ldexp(1.0, -h->k);
    size_t n = (size_t)h->nb + 1;
    d->p0 = malloc(n * sizeof(double));
    d->p1 = malloc(n * sizeof(double));
    d->p2 = malloc(n * sizeof(double));
    if (!d->p0 || !d->p1 || !d->p2) {
        ot_density_free(d);
        return false;
    }
    d->p0[0] = d->p1[0] = d->p2[0] = 0;
    for (int i = 0; i < h->nb; i++) {
        double a, c, n_i = (double)h->counts[i];
        bin_span(d, i, &a, &c);
        d->p0[i + 1] = d->p0[i] + n_i;
        d->p1[i + 1] = d->p1[i] + n_i * (a + c) / 2;
        d->p2[i + 1] = d->p2[i] + n_i * (a * a + a * c + c * c) / 3;
    }
    return true;
}

void ot_density_free(ot_density *d) {
    free(d->p0);
    free(d->p1);
    free(d->p2);
    d->p0 = d->p1 = d->p2 = NULL;
}

double ot_density_cdf(const ot_density *d, double x, double *m1, double *m2) {
    const ot_hist *h = d->h;
    int nb = h->nb;
    if (nb == 0 || x < h->min) {
        if (m1) *m1 = 0;
        if (m2) *m2 = 0;
        return 0;
    }
    if (x >= h->max) {
        if (m1) *m1 = d->p1[nb];
        if (m2) *m2 = d->p2[nb];
        return d->p0[nb];
    }
    int64_t i = (int64_t)floor(x * d->inv_w) - h->b0;
    i = i < 0 ? 0 : (i >= nb ? nb - 1 : i);
    double a, c, cnt = (double)h->counts[i];
    bin_span(d, (int)i, &a, &c);
    double f0 = 0, f1 = 0, f2 = 0;
    if (c > a) {
        double t = x < a ? a : (x > c ? c : x), r = cnt / (c - a);
        f0 = r * (t - a);
        f1 = r * (t * t - a * a) / 2;
        f2 = r * (t * t * t - a * a * a) / 3;
    } else if (x >= a) { /* a point mass */
        f0 = cnt, f1 = cnt * a, f2 = cnt * a * a;
    }
    if (m1) *m1 = d->p1[i] + f1;
    if (m2) *m2 = d->p2[i] + f2;
    return d->p0[i] + f0;
}

void ot_density_resample(const ot_density *d, double lo, double hi, int n, double *out) {
    double total = d->p0[d->h->nb], prev = 0;
    for (int j = 0; j < n; j++) {
        double cur = j == n - 1 ? total : ot_density_cdf(d, lo + (hi - lo) * (j + 1) / n, NULL, NULL);
        out[j] = cur - prev;
        prev = cur;
    }
}

/* mass with |x| <= t */
static double abs_cdf(const ot_density *d, double t) {
    return ot_density_cdf(d, t, NULL, NULL) - ot_density_cdf(d, nextafter(-t, -INFINITY), NULL, NULL);
}

void ot_density_resample_abs(const ot_density *d, double a, int n, double *out) {
    double total = d->p0[d->h->nb], prev = 0;
    for (int j = 0; j < n; j++) {
        double cur = j == n - 1 ? total : abs_cdf(d, a * (j + 1) / n);
        out[j] = cur - prev;
        prev = cur;
    }
}
