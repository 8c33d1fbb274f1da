#include "quant/minmax.h"

#include <math.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* NaN never wins a comparison, so it is skipped; +-inf are caught by the caller. */
static void minmax_chunk(const float *x, int64_t n, float *omn, float *omx) {
    float mn = INFINITY, mx = -INFINITY;
    int64_t i = 0;
#if defined(__SSE2__)
    /* _mm_min_ps(v, acc) returns acc when v is NaN: the same NaN rule as the scalar loop */
    __m128 a0 = _mm_set1_ps(INFINITY), a1 = a0, b0 = _mm_set1_ps(-INFINITY), b1 = b0;
    for (; i + 8 <= n; i += 8) {
        __m128 v0 = _mm_loadu_ps(x + i), v1 = _mm_loadu_ps(x + i + 4);
        a0 = _mm_min_ps(v0, a0);
        a1 = _mm_min_ps(v1, a1);
        b0 = _mm_max_ps(v0, b0);
        b1 = _mm_max_ps(v1, b1);
    }
    float ta[4], tb[4];
    _mm_storeu_ps(ta, _mm_min_ps(a0, a1));
    _mm_storeu_ps(tb, _mm_max_ps(b0, b1));
    for (int j = 0; j < 4; j++) {
        mn = ta[j] < mn ? ta[j] : mn;
        mx = tb[j] > mx ? tb[j] : mx;
    }
#endif
    for (; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (isinf(mn) || isinf(mx)) { /* an infinity (or nothing finite): redo, skipping non-finite values */
        mn = INFINITY, mx = -INFINITY;
        for (i = 0; i < n; i++)
            if (isfinite(x[i])) {
                mn = x[i] < mn ? x[i] : mn;
                mx = x[i] > mx ? x[i] : mx;
            }
    }
    *omn = mn;
    *omx = mx;
}

void ot_minmax_f32(const float *x, int64_t n, int threads, float *mn, float *mx) {
    int T = threads > 1 && n >= (1 << 17) ? threads : 1;
    if (T > 64) T = 64;
    if (T == 1) {
        minmax_chunk(x, n, mn, mx);
        return;
    }
    float pmn[64], pmx[64];
#pragma omp parallel for num_threads(T) schedule(static, 1)
    for (int t = 0; t < T; t++) {
        int64_t lo = n * t / T, hi = n * (t + 1) / T;
        minmax_chunk(x + lo, hi - lo, &pmn[t], &pmx[t]);
    }
    float a = INFINITY, b = -INFINITY;
    for (int t = 0; t < T; t++) {
        a = pmn[t] < a ? pmn[t] : a;
        b = pmx[t] > b ? pmx[t] : b;
    }
    *mn = a;
    *mx = b;
}

void ot_minmax_per_channel(const float *x, int64_t outer, int64_t nch, int64_t inner, float *mn, float *mx) {
    for (int64_t c = 0; c < nch; c++) {
        float a = INFINITY, b = -INFINITY;
        for (int64_t o = 0; o < outer; o++) {
            float pa, pb;
            minmax_chunk(x + (o * nch + c) * inner, inner, &pa, &pb);
            a = pa < a ? pa : a;
            b = pb > b ? pb : b;
        }
        mn[c] = a;
        mx[c] = b;
    }
}

float ot_ema_step(float v, float batch, float c) {
    /* PyTorch: min_val + averaging_constant * (min_val_cur - min_val) on float32 tensors, the Python
     * float constant taken as float32. Separate statements: no fused multiply-add. */
    float d = batch - v;
    float t = c * d;
    return v + t;
}
