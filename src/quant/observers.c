#include "quant/observers.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "quant/qparams.h"

static void qbounds(const ot_qtarget *t, int32_t *qmin, int32_t *qmax) {
    ot_qrange(t->qt, qmin, qmax);
    if (t->reduce_range) { /* as ot_calc_qparams */
        if (*qmin < 0) *qmin /= 2, *qmax /= 2;
        else *qmax /= 2;
    }
}

int ot_qlevels(const ot_qtarget *t) {
    int32_t qmin, qmax;
    qbounds(t, &qmin, &qmax);
    return qmax - qmin + 1;
}

static float clampf(double v, float lo, float hi) {
    float f = (float)v;
    return f < lo ? lo : (f > hi ? hi : f);
}

/* ---- L2: PyTorch HistogramObserver ---- */

typedef struct l2_ctx {
    const double *hist;
    int bins, dst;   /* source bins; destination (quantized) bins */
    double origin, width;
    bool pinned;     /* the grid starts at 0 (searching |x|, or one-sided data) */
} l2_ctx;

/* density * integral of x^2 over [b, e] */
static double l2_norm(double b, double e, double density) { return density * (e * e * e - b * b * b) / 3.0; }

/* HistogramObserver._compute_quantization_error for the clip [bin start, bin end + 1), with the grid the
 * quantizer will use: pinned at 0, or [a, b] widened to include 0. */
static double l2_error(const l2_ctx *c, int start, int end) {
    double a = c->origin + c->width * start, b = c->origin + c->width * (end + 1);
    double lo = a < 0 ? a : 0, hi = b > 0 ? b : 0;
    if (c->pinned) lo = 0, hi = b;
    double dw = (hi - lo) / c->dst;
    if (dw == 0.0) return 0.0;
    double norm = 0;
    for (int j = 0; j < c->bins; j++) {
        if (c->hist[j] == 0) continue;
        double sb = c->origin + c->width * j - lo, se = sb + c->width;
        double db = floor(sb / dw), de = floor(se / dw);
        db = db < 0 ? 0 : (db > c->dst - 1 ? c->dst - 1 : db);
        de = de < 0 ? 0 : (de > c->dst - 1 ? c->dst - 1 : de);
        double density = c->hist[j] / c->width;
        norm += l2_norm(sb - (db + 0.5) * dw, dw / 2, density);
        norm += (de - db - 1) * l2_norm(-dw / 2, dw / 2, density);
        norm += l2_norm(-dw / 2, se - (de + 0.5) * dw, density);
    }
    return norm;
}

/* _non_linear_param_search: walk the quantile bounds inward 1e-5 at a time, moving the side that cuts
 * more bins (only the upper one when pinned), until the error grows. */
static void l2_walk(const l2_ctx *c, const double *cs, int *start_out, int *end_out) {
    const double step = 1e-5, total = cs[c->bins - 1];
    double alpha = 0.0, beta = 1.0, norm_min = INFINITY;
    int start = 0, end = c->bins - 1;
    while (alpha < beta) {
        double na = alpha + step, nbeta = beta - step;
        int l = start, r = end;
        while (!c->pinned && l < end && cs[l] < na * total) l++;
        while (r > start && cs[r] > nbeta * total) r--;
        int ns = start, ne = end;
        if (l - start > end - r) ns = l, alpha = na;
        else ne = r, beta = nbeta;
        if (ns == start && ne == end) continue;
        double norm = l2_error(c, ns, ne);
        if (norm > norm_min) break;
        norm_min = norm;
        start = ns, end = ne;
    }
    *start_out = start;
    *end_out = end;
}

bool ot_range_l2(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi) {
    *lo = h->min, *hi = h->max;
    if (!(h->min < h->max)) return true;
    int nlev = ot_qlevels(t);
    bool two_sided = h->min < 0 && h->max > 0;
    /* symmetric grids, and one-sided data (widened to 0), fix the grid at 0: search |x| for its top */
    bool pinned = t->symmetric || !two_sided;
    double amax = fmax(-(double)h->min, h->max);
    ot_density d;
    double *hist = malloc((size_t)bins * sizeof *hist), *cs = malloc((size_t)bins * sizeof *cs);
    if (!hist || !cs || !ot_density_init(&d, h)) {
        free(hist);
        free(cs);
        return false;
    }
    l2_ctx c = {hist, bins, nlev, h->min, ((double)h->max - h->min) / bins, pinned};
    if (pinned) {
        ot_density_resample_abs(&d, amax, bins, hist);
        c.origin = 0, c.width = amax / bins;
        c.dst = t->symmetric ? nlev / 2 : nlev;
    } else {
        ot_density_resample(&d, h->min, h->max, bins, hist);
    }
    ot_density_free(&d);
    double total = 0;
    for (int j = 0; j < bins; j++) cs[j] = total += hist[j];
    int start, end;
    l2_walk(&c, cs, &start, &end);
    if (pinned) {
        double th = c.width * (end + 1);
        *lo = clampf(-th, h->min, h->max);
        *hi = clampf(th, h->min, h->max);
    } else {
        *lo = clampf(c.origin + c.width * start, h->min, h->max);
        *hi = clampf(c.origin + c.width * (end + 1), h->min, h->max);
    }
    free(hist);
    free(cs);
    return true;
}

/* ---- percentile ---- */

typedef double (*mass_fn)(const ot_density *d, double x);

static double mass_below(const ot_density *d, double x) { return ot_density_cdf(d, x, NULL, NULL); }
static double mass_abs(const ot_density *d, double t) {
    return ot_density_cdf(d, t, NULL, NULL) - ot_density_cdf(d, nextafter(-t, -INFINITY), NULL, NULL);
}

/* the smallest x in [a, b] with f(x) >= target (f nondecreasing), by bisection */
static double invert(const ot_density *d, mass_fn f, double target, double a, double b) {
    if (f(d, a) >= target) return a;
    for (int it = 0; it < 2000; it++) {
        double m = a + (b - a) / 2;
        if (m <= a || m >= b) break;
        if (f(d, m) >= target) b = m;
        else a = m;
    }
    return b;
}

bool ot_range_percentile(const ot_hist *h, double pct, const ot_qtarget *t, float *lo, float *hi) {
    *lo = h->min, *hi = h->max;
    if (!(h->min < h->max) || pct >= 100.0) return true;
    ot_density d;
    if (!ot_density_init(&d, h)) return false;
    double total = d.p0[h->nb];
    if (t->symmetric) {
        double amax = fmax(-(double)h->min, h->max);
        double th = invert(&d, mass_abs, total * pct / 100.0, 0, amax);
        *lo = clampf(-th, h->min, h->max);
        *hi = clampf(th, h->min, h->max);
    } else {
        double tail = total * (100.0 - pct) / 200.0;
        *lo = clampf(invert(&d, mass_below, tail, h->min, h->max), h->min, h->max);
        *hi = clampf(invert(&d, mass_below, total - tail, h->min, h->max), h->min, h->max);
    }
    ot_density_free(&d);
    return true;
}

/* ---- entropy (TensorRT) ---- */

#define KL_EPS 1e-4 /* the smoothing constant of MXNet's / ONNX Runtime's _smooth_distribution */

bool ot_range_entropy(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi) {
    *lo = h->min, *hi = h->max;
    if (!(h->min < h->max)) return true;
    int nlev = ot_qlevels(t);
    bool two_sided = h->min < 0 && h->max > 0;
    /* levels that cover one side: half the grid, unless an asymmetric grid spans one-sided data */
    int L = (t->symmetric || two_sided) ? nlev / 2 : nlev;
    double amax = fmax(-(double)h->min, h->max);
    if (bins < L) return true; /* too few bins to clip at this resolution */
    int B = bins;
    ot_density d;
    double *hb = malloc((size_t)B * sizeof *hb);
    double *H = malloc((size_t)(B + 1) * sizeof *H);      /* prefix mass */
    double *PL = malloc((size_t)(B + 1) * sizeof *PL);    /* prefix of m log m */
    int *NZ = malloc((size_t)(B + 1) * sizeof *NZ);       /* prefix count of nonzero bins */
    bool ok = hb && H && PL && NZ && ot_density_init(&d, h);
    if (ok) {
        ot_density_resample_abs(&d, amax, B, hb);
        ot_density_free(&d);
        H[0] = PL[0] = 0, NZ[0] = 0;
        for (int j = 0; j < B; j++) {
            H[j + 1] = H[j] + hb[j];
            PL[j + 1] = PL[j] + (hb[j] > 0 ? hb[j] * log(hb[j]) : 0);
            NZ[j + 1] = NZ[j] + (hb[j] > 0);
        }
        double total = H[B], best = INFINITY;
        int best_i = B;
        for (int i = L; i <= B; i++) {
            /* P: bins [0, i) with the outliers folded into bin i-1; Q: bins [0, i) merged into L levels,
             * each level's mass spread evenly over the bins where P is nonzero */
            double out = total - H[i], p_last = hb[i - 1] + out;
            bool last_nz = p_last > 0;
            double sum_plogp = PL[i - 1] + (last_nz ? p_last * log(p_last) : 0);
            double sum_plogq = 0, sq = H[i];
            int merged = i / L;
            for (int g = 0; g < L; g++) {
                int s = g * merged, e = g == L - 1 ? i : s + merged;
                double pg = H[e] - H[s], qsum = pg;
                int nz = NZ[e] - NZ[s];
                if (e == i) { /* the group holding bin i-1 */
                    pg += out;
                    nz += (hb[i - 1] > 0) != last_nz;
                }
                if (pg <= 0 || nz == 0) continue;
                if (qsum > 0) sum_plogq += pg * log(qsum / nz);
                else { /* Q is 0 where P is not (only bin i-1 can be): smooth it to KL_EPS */
                    sum_plogq += pg * log(KL_EPS);
                    sq += KL_EPS;
                }
            }
            double kl = (sum_plogp - sum_plogq) / total + log(sq) - log(total);
            if (kl < best) best = kl, best_i = i;
        }
        double th = amax * best_i / B;
        if (best_i == B) th = amax;
        *lo = clampf(-th, h->min, h->max);
        *hi = clampf(th, h->min, h->max);
    }
    free(hb);
    free(H);
    free(PL);
    free(NZ);
    return ok;
}

/* ---- MSE ---- */

double ot_density_qerror(const ot_density *d, double scale, int zero_point, int qmin, int qmax) {
    const ot_hist *h = d->h;
    double s = scale, z = zero_point;
    double m0_all = d->p0[h->nb], m1_all = d->p1[h->nb], m2_all = d->p2[h->nb];
    /* cells: value (q - z) * s takes x in ((q - z - 1/2) s, (q - z + 1/2) s]; the end cells extend to
     * +-inf (clipping). Only cells meeting [min, max] matter. */
    double qa_f = nearbyint(h->min / s) + z, qb_f = nearbyint(h->max / s) + z;
    int qa = qa_f < qmin ? qmin : (qa_f > qmax ? qmax : (int)qa_f);
    int qb = qb_f < qmin ? qmin : (qb_f > qmax ? qmax : (int)qb_f);
    double err = 0;
    if ((double)qb - qa > 8.0 * h->nb) {
        /* a grid far finer than the histogram: rounding error s^2/12 per unit of mass inside the grid,
         * the clipped tails exactly */
        double vlo = (qmin - z) * s, vhi = (qmax - z) * s, a1, a2, b1, b2;
        double a0 = ot_density_cdf(d, vlo, &a1, &a2), b0 = ot_density_cdf(d, vhi, &b1, &b2);
        err += a2 - 2 * vlo * a1 + vlo * vlo * a0;
        err += (m2_all - b2) - 2 * vhi * (m1_all - b1) + vhi * vhi * (m0_all - b0);
        err += (b0 - a0) * s * s / 12;
        return err > 0 ? err : 0;
    }
    double c0 = 0, c1 = 0, c2 = 0; /* moments below the current cell */
    for (int q = qa; q <= qb; q++) {
        double u0, u1, u2;
        if (q == qb) u0 = m0_all, u1 = m1_all, u2 = m2_all;
        else u0 = ot_density_cdf(d, (q - z + 0.5) * s, &u1, &u2);
        double v = (q - z) * s, m0 = u0 - c0, m1 = u1 - c1, m2 = u2 - c2;
        double e = m2 - 2 * v * m1 + v * v * m0;
        err += e > 0 ? e : 0;
        c0 = u0, c1 = u1, c2 = u2;
    }
    return err;
}

typedef struct mse_ctx {
    ot_density d;
    const ot_qtarget *t;
    int32_t qmin, qmax;
    double lo0, hi0; /* the extreme candidates: min(min, 0) and max(max, 0) */
    int steps;
} mse_ctx;

static double mse_eval(const mse_ctx *c, int jl, int jh) {
    float lo = (float)(c->lo0 * jl / c->steps), hi = (float)(c->hi0 * jh / c->steps);
    if (c->t->symmetric) lo = -hi;
    ot_qparams p = ot_calc_qparams(lo, hi, c->t->qt, c->t->symmetric, c->t->reduce_range);
    return ot_density_qerror(&c->d, p.scale, p.zero_point, c->qmin, c->qmax);
}

/* best j in [0, steps] for the coordinate `which` (0: lo, 1: hi), the other fixed; coarse then fine.
 * Ties keep the wider range. */
static int mse_search(const mse_ctx *c, int which, int other) {
    int n = c->steps, stride = n / 128 > 1 ? n / 128 : 1, best = n;
    double best_e = INFINITY;
    for (int j = n; j >= 0; j -= stride) {
        double e = which ? mse_eval(c, other, j) : mse_eval(c, j, other);
        if (e < best_e) best_e = e, best = j;
    }
    int a = best + stride - 1 < n ? best + stride - 1 : n, b = best - stride + 1 > 0 ? best - stride + 1 : 0;
    for (int j = a; j >= b; j--) {
        double e = which ? mse_eval(c, other, j) : mse_eval(c, j, other);
        if (e < best_e) best_e = e, best = j;
    }
    return best;
}

bool ot_range_mse(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi) {
    *lo = h->min, *hi = h->max;
    if (!(h->min < h->max)) return true;
    mse_ctx c = {.t = t, .steps = bins};
    if (!ot_density_init(&c.d, h)) return false;
    qbounds(t, &c.qmin, &c.qmax);
    c.lo0 = h->min < 0 ? h->min : 0;
    c.hi0 = h->max > 0 ? h->max : 0;
    int jl = bins, jh = bins;
    if (t->symmetric) {
        double amax = fmax(-c.lo0, c.hi0);
        c.hi0 = amax;
        jh = mse_search(&c, 1, jl);
        float th = (float)(amax * jh / bins);
        *lo = -th;
        *hi = th;
    } else {
        for (int round = 0; round < 4; round++) {
            int nh = c.hi0 > 0 ? mse_search(&c, 1, jl) : jh;
            int nl = c.lo0 < 0 ? mse_search(&c, 0, nh) : jl;
            bool same = nh == jh && nl == jl;
            jh = nh, jl = nl;
            if (same) break;
        }
        *lo = (float)(c.lo0 * jl / bins);
        *hi = (float)(c.hi0 * jh / bins);
        if (jl == bins) *lo = h->min < 0 ? h->min : *lo;
        if (jh == bins) *hi = h->max > 0 ? h->max : *hi;
    }
    ot_density_free(&c.d);
    return true;
}
