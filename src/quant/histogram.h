/* A histogram that merges exactly (docs/OBSERVERS.md, "The histogram").
 *
 * Bins have width w = 2^k and are aligned to multiples of w: bin b holds [b*w, (b+1)*w). k is the smallest
 * integer such that the bins covering [min, max] number at most `bins` (and w >= 2^-25 * the largest
 * |value|, so indexes stay small). k depends on the global min and max only, and coarsening from k to k+1
 * merges bin pairs exactly, so a histogram over any batches, in any order, merged from any parts, is the
 * same integer array. Non-finite values (NaN, +-inf) are not counted. */
#ifndef OT_HISTOGRAM_H
#define OT_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ot_hist {
    int cap;           /* most bins held (the `bins` option) */
    int k;             /* bin width 2^k */
    int64_t b0;        /* absolute index of counts[0] */
    int nb;            /* bins in use: counts[0..nb) covers [min, max]; 0 while empty */
    float min, max;    /* finite values seen (min > max while empty) */
    uint64_t total;    /* values counted */
    uint64_t *counts;  /* [cap] */
} ot_hist;

bool ot_hist_init(ot_hist *h, int bins);
void ot_hist_free(ot_hist *h);
/* Add x[0..n); bmin/bmax are x's finite min and max (ot_minmax_f32), bmin > bmax if it has none.
 * threads > 1 bins big arrays in parallel. False on out of memory (h unchanged then). */
bool ot_hist_add(ot_hist *h, const float *x, int64_t n, float bmin, float bmax, int threads);
/* dst += src (same cap). False on out of memory or different caps. */
bool ot_hist_merge(ot_hist *dst, const ot_hist *src);
/* The width exponent a histogram over [mn, mx] with `bins` bins uses (mn <= mx). */
int ot_hist_width_exp(float mn, float mx, int bins);

/* The histogram as a density: each bin's count spread uniformly over the part of the bin inside
 * [min, max] (a point mass where that part is a single point). Prefix moments make the mass and the
 * first and second moments over (-inf, x] O(1) to evaluate. */
typedef struct ot_density {
    const ot_hist *h;
    double w, inv_w;
    double *p0, *p1, *p2;  /* [nb + 1] prefix sums of count, sum x, sum x^2 over whole bins */
} ot_density;

bool ot_density_init(ot_density *d, const ot_hist *h);
void ot_density_free(ot_density *d);
/* Mass and moments of the density over (-inf, x]. m1, m2 may be NULL. */
double ot_density_cdf(const ot_density *d, double x, double *m1, double *m2);
/* out[j] = mass in [lo + j*(hi-lo)/n, lo + (j+1)*(hi-lo)/n), j < n (the last bin closed at hi). */
void ot_density_resample(const ot_density *d, double lo, double hi, int n, double *out);
/* out[j] = mass with |x| in [j*a/n, (j+1)*a/n), the last closed at a. */
void ot_density_resample_abs(const ot_density *d, double a, int n, double *out);

#endif
