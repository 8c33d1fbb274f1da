/* Op family 'pool': MaxPool (float32, int8, uint8; optional Indices), AveragePool,
 * GlobalAveragePool, GlobalMaxPool, LpPool, GlobalLpPool, with 1 to 3 spatial dimensions.
 * Output sizes, SAME padding and divisors follow ONNX Runtime (pool_attributes.h), which the
 * per-op tests check live. Planes (n, c) are independent and split across threads. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"

#define MAX_SP 3

typedef enum { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_geom {
    int nsp;
    int64_t planes;                 /* N * C */
    int64_t in[MAX_SP], out[MAX_SP]; /* leading dims padded with 1 to 3-D */
    int64_t k[MAX_SP], s[MAX_SP], d[MAX_SP], pb[MAX_SP], pe[MAX_SP];
} pool_geom;

static octet_status pool_geometry(const ot_kernel *k, const octet_tensor *x, bool global, pool_geom *g) {
    memset(g, 0, sizeof *g);
    if (x->ndim < 3)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 3 (N, C, spatial...), got rank %d", x->ndim);
    int nsp = x->ndim - 2;
    if (nsp > MAX_SP)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%d spatial dimensions; at most %d are supported", nsp, MAX_SP);
    g->nsp = nsp;
    g->planes = x->dims[0] * x->dims[1];
    for (int i = 0; i < MAX_SP; i++) g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
    int off = MAX_SP - nsp;
    for (int i = 0; i < nsp; i++) g->in[off + i] = x->dims[2 + i];
    if (global) {
        for (int i = 0; i < nsp; i++) g->k[off + i] = x->dims[2 + i];
        return OCTET_OK;
    }
    const ot_node *n = k->node;
    const int64_t *ks, *st, *dl, *pd;
    size_t nk = ot_node_attr_ints(n, "kernel_shape", &ks);
    size_t ns = ot_node_attr_ints(n, "strides", &st);
    size_t nd = ot_node_attr_ints(n, "dilations", &dl);
    size_t np = ot_node_attr_ints(n, "pads", &pd);
    if (nk != (size_t)nsp)
        return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape has %zu values for %d spatial dimensions", nk, nsp);
    if ((ns && ns != (size_t)nsp) || (nd && nd != (size_t)nsp) || (np && np != 2 * (size_t)nsp))
        return ot_node_err(k, OCTET_ERR_SHAPE, "strides/dilations/pads do not match %d spatial dimensions", nsp);
    const char *ap = ot_node_attr_string(n, "auto_pad", "NOTSET");
    bool same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0 && ap[0])
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown auto_pad '%s'", ap);
    bool ceil_mode = ot_node_attr_int(n, "ceil_mode", 0) != 0;
    for (int i = 0; i < nsp; i++) {
        int64_t kk = ks[i], ss = ns ? st[i] : 1, dd = nd ? dl[i] : 1;
        int64_t pb = np ? pd[i] : 0, pe = np ? pd[nsp + i] : 0, in = g->in[off + i];
        if (kk < 1 || ss < 1 || dd < 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape, strides and dilations must be >= 1");
        if (pb < 0 || pe < 0) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "negative pads are not supported");
        if (kk > INT_MAX / 4 || ss > INT_MAX / 4 || dd > INT_MAX / 4 || pb > INT_MAX / 4 || pe > INT_MAX / 4)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "pooling attributes are too large");
        int64_t need = 0;
        if (same_upper || same_lower) {
            /* as ONNX Runtime: the padding ignores the dilation, and may come out negative when the
             * kernel is smaller than the stride (the size formula then uses it as is) */
            int64_t target = (in + ss - 1) / ss;
            need = (target - 1) * ss + kk - in;
            pb = same_lower ? (need + 1) / 2 : need / 2;
            pe = need - pb;  /* (a negative start pad shifts the windows right, as in ONNX Runtime) */
        } else if (valid) {
            pb = pe = 0;
        } else if (pb >= kk || pe >= kk) {
            return ot_node_err(k, OCTET_ERR_SHAPE, "pads must be smaller than the kernel (pad %lld, kernel %lld)",
                               (long long)(pb > pe ? pb : pe), (long long)kk);
        } else {
            need = pb + pe;
        }
        int64_t span = in + need - dd * (kk - 1) - 1;
        int64_t o;
        if (span < 0) {
            o = 0;
        } else {
            o = ceil_mode ? (span + ss - 1) / ss + 1 : span / ss + 1;
            /* ceil_mode: a last window that would start in the end padding is dropped */
            if (ceil_mode && o > 0 && (o - 1) * ss >= in + pb) o--;
        }
        g->k[off + i] = kk;
        g->s[off + i] = ss;
        g->d[off + i] = dd;
        g->pb[off + i] = pb;
        g->pe[off + i] = pe;
        g->out[off + i] = o;
    }
    return OCTET_OK;
}

static int64_t plane_in(const pool_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }
static int64_t plane_out(const pool_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }

static octet_status alloc_out(const ot_kernel *k, const octet_tensor *x, const pool_geom *g, octet_tensor *y,
                              octet_dtype dt) {
    int64_t dims[2 + MAX_SP] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < g->nsp; i++) dims[2 + i] = g->out[MAX_SP - g->nsp + i];
    return ot_tensor_alloc(y, dt, x->ndim, dims);
}

static int plane_threads(const ot_kernel *k, const pool_geom *g) {
    double work = (double)g->planes * plane_out(g) * g->k[0] * g->k[1] * g->k[2];
    if (work < 65536.0 || g->planes < 2) return 1;
    return k->threads;
}

/* ---- fast float path for 1-D/2-D max and average pooling ---- */

/* Output positions o in [lo, hi) whose tap o*s - p + t reads inside [0, n). */
static void tap_range(int64_t n, int64_t out, int64_t s, int64_t p, int64_t t, int64_t *lo, int64_t *hi) {
    int64_t base = t - p;
    int64_t l = base >= 0 ? 0 : (-base + s - 1) / s;
    int64_t h = n - 1 - base < 0 ? 0 : (n - 1 - base) / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* One output row at a time: for every kernel tap (row a, column b) the valid output columns read a
 * strided run of one input row, so the inner loop is a plain max/add the compiler vectorizes. */
static bool pool2d_f32(const pool_geom *g, const float *x, float *y, bool is_max, bool include_pad, int threads) {
    const int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const int64_t kh = g->k[1], kw = g->k[2], sh = g->s[1], sw = g->s[2], dh = g->d[1], dw = g->d[2];
    const int64_t pt = g->pb[1], pl = g->pb[2];
    const int64_t pin = H * W, pout = OH * OW;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        /* per column: taps inside the input, and the average divisor's column factor with padding */
        float *cnt = ot_malloc(sizeof(float) * (size_t)(2 * OW + 1));
        if (!cnt) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t p = 0; p < g->planes; p++) {
            if (!cnt) continue;
            float *padcnt = cnt + OW;
            for (int64_t o = 0; o < OW; o++) {
                int64_t b = o * sw - pl, e = b + kw * dw;
                if (e > W + g->pe[2]) e = W + g->pe[2];
                padcnt[o] = e > b ? (float)(1 + (e - b - 1) / dw) : 0.0f;
                cnt[o] = 0;
            }
            for (int64_t t = 0; t < kw; t++) {
                int64_t lo, hi;
                tap_range(W, OW, sw, pl, t * dw, &lo, &hi);
                for (int64_t o = lo; o < hi; o++) cnt[o] += 1.0f;
            }
            const float *xp = x + p * pin;
            float *yp = y + p * pout;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *yr = yp + oh * OW;
                const float init = is_max ? -FLT_MAX : 0.0f;
                for (int64_t o = 0; o < OW; o++) yr[o] = init;
                int64_t rows = 0, b0 = oh * sh - pt;
                for (int64_t a = 0; a < kh; a++) {
                    int64_t ih = b0 + a * dh;
                    if (ih < 0 || ih >= H) continue;
                    rows++;
                    const float *xr = xp + ih * W;
                    for (int64_t t = 0; t < kw; t++) {
                        int64_t lo, hi, off = t * dw - pl;
                        tap_range(W, OW, sw, pl, t * dw, &lo, &hi);
                        if (is_max) {
                            if (sw == 1)
                                for (int64_t o = lo; o < hi; o++) yr[o] = yr[o] > xr[off + o] ? yr[o] : xr[off + o];
                            else
                                for (int64_t o = lo; o < hi; o++)
                                    yr[o] = yr[o] > xr[off + o * sw] ? yr[o] : xr[off + o * sw];
                        } else {
                            if (sw == 1)
                                for (int64_t o = lo; o < hi; o++) yr[o] += xr[off + o];
                            else
                                for (int64_t o = lo; o < hi; o++) yr[o] += xr[off + o * sw];
                        }
                    }
                }
                if (is_max) continue;
                if (include_pad) {
                    int64_t e = b0 + kh * dh;
                    if (e > H + g->pe[1]) e = H + g->pe[1];
                    float prow = e > b0 ? (float)(1 + (e - b0 - 1) / dh) : 0.0f;
                    for (int64_t o = 0; o < OW; o++) {
                        float d = prow * padcnt[o];
                        yr[o] = rows > 0 && cnt[o] > 0 && d > 0 ? yr[o] / d : 0.0f;
                    }
                } else {
                    for (int64_t o = 0; o < OW; o++) {
                        float d = (float)rows * cnt[o];
                        yr[o] = d > 0 ? yr[o] / d : 0.0f;
                    }
                }
            }
        }
        free(cnt);
    }
    return !failed;
}

/* ---- MaxPool ---- */

#define DEFINE_MAXPOOL(NAME, T, LOWEST)                                                                          \
    static void NAME(const pool_geom *g, const T *x, T *y, int64_t *idx, bool col_major, int threads) {           \
        const int64_t pin = plane_in(g), pout = plane_out(g);                                                    \
        _Pragma("omp parallel for num_threads(threads) if (threads > 1) schedule(static)")                       \
        for (int64_t p = 0; p < g->planes; p++) {                                                                \
            const T *xp = x + p * pin;                                                                           \
            T *yp = y + p * pout;                                                                                \
            int64_t o = 0;                                                                                       \
            for (int64_t o0 = 0; o0 < g->out[0]; o0++)                                                           \
                for (int64_t o1 = 0; o1 < g->out[1]; o1++)                                                       \
                    for (int64_t o2 = 0; o2 < g->out[2]; o2++, o++) {                                            \
                        int64_t b0 = o0 * g->s[0] - g->pb[0], b1 = o1 * g->s[1] - g->pb[1],                      \
                                b2 = o2 * g->s[2] - g->pb[2];                                                    \
                        T best = LOWEST;                                                                         \
                        int64_t bi0 = -1, bi1 = -1, bi2 = -1;                                                    \
                        for (int64_t a0 = 0; a0 < g->k[0]; a0++) {                                               \
                            int64_t i0 = b0 + a0 * g->d[0];                                                      \
                            if (i0 < 0 || i0 >= g->in[0]) continue;                                              \
                            for (int64_t a1 = 0; a1 < g->k[1]; a1++) {                                           \
                                int64_t i1 = b1 + a1 * g->d[1];                                                  \
                                if (i1 < 0 || i1 >= g->in[1]) continue;                                          \
                                const T *row = xp + (i0 * g->in[1] + i1) * g->in[2];                             \
                                for (int64_t a2 = 0; a2 < g->k[2]; a2++) {                                       \
                                    int64_t i2 = b2 + a2 * g->d[2];                                              \
                                    if (i2 < 0 || i2 >= g->in[2]) continue;                                      \
                                    if (row[i2] > best || bi0 < 0) {                                             \
                                        best = row[i2];                                                          \
                                        bi0 = i0;                                                                \
                                        bi1 = i1;                                                                \
                                        bi2 = i2;                                                                \
                                    }                                                                            \
                                }                                                                                \
                            }                                                                                    \
                        }                                                                                        \
                        yp[o] = best;                                                                            \
                        if (idx) {                                                                               \
                            int64_t v;                                                                           \
                            if (bi0 < 0)                                                                         \
                                v = -1;                                                                          \
                            else if (!col_major)                                                                 \
                                v = (bi0 * g->in[1] + bi1) * g->in[2] + bi2;                                     \
                            else                                                                                 \
                                v = idx_col_major(g, bi0, bi1, bi2);                                             \
                            idx[p * pout + o] = bi0 < 0 ? -1 : p * pin + v;                                      \
                        }                                                                                        \
                    }                                                                                            \
        }                                                                                                        \
    }

/* storage_order = 1: the index counts the first spatial axis fastest. */
static int64_t idx_col_major(const pool_geom *g, int64_t i0, int64_t i1, int64_t i2) {
    int64_t e[MAX_SP] = {i0, i1, i2}, v = 0, mul = 1;
    for (int i = MAX_SP - g->nsp; i < MAX_SP; i++) {
        v += e[i] * mul;
        mul *= g->in[i];
    }
    return v;
}

DEFINE_MAXPOOL(maxpool_f32, float, -FLT_MAX)
DEFINE_MAXPOOL(maxpool_u8, uint8_t, 0)
DEFINE_MAXPOOL(maxpool_s8, int8_t, INT8_MIN)

static octet_status maxpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    if (x->dtype != OCTET_FLOAT && x->dtype != OCTET_UINT8 && x->dtype != OCTET_INT8)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input is %s; float32, uint8 and int8 are supported",
                           octet_dtype_name(x->dtype));
    pool_geom g;
    OT_TRY(pool_geometry(k, x, false, &g));
    bool col_major = ot_node_attr_int(k->node, "storage_order", 0) != 0;
    octet_tensor *ind = n_out > 1 ? out[1] : NULL;
    if (out[0]) OT_TRY(alloc_out(k, x, &g, out[0], x->dtype));
    if (ind) OT_TRY(alloc_out(k, x, &g, ind, OCTET_INT64));
    octet_tensor tmp = {0};
    octet_tensor *y = out[0];
    if (!y) {  /* only Indices wanted */
        OT_TRY(alloc_out(k, x, &g, &tmp, x->dtype));
        y = &tmp;
    }
    int threads = plane_threads(k, &g);
    int64_t *idx = ind ? ind->data : NULL;
    if (!idx && x->dtype == OCTET_FLOAT && g.nsp <= 2) {
        bool ok = pool2d_f32(&g, x->data, y->data, true, false, threads);
        ot_tensor_reset(&tmp);
        return ok ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    switch (x->dtype) {
    case OCTET_FLOAT: maxpool_f32(&g, x->data, y->data, idx, col_major, threads); break;
    case OCTET_UINT8: maxpool_u8(&g, x->data, y->data, idx, col_major, threads); break;
    default: maxpool_s8(&g, x->data, y->data, idx, col_major, threads); break;
    }
    ot_tensor_reset(&tmp);
    return OCTET_OK;
}

/* ---- AveragePool / LpPool ---- */

static void avg_lp_pool(const pool_geom *g, const float *x, float *y, pool_kind kind, bool include_pad, float p,
                        int threads) {
    const int64_t pin = plane_in(g), pout = plane_out(g);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t pl = 0; pl < g->planes; pl++) {
        const float *xp = x + pl * pin;
        float *yp = y + pl * pout;
        int64_t o = 0;
        for (int64_t o0 = 0; o0 < g->out[0]; o0++)
            for (int64_t o1 = 0; o1 < g->out[1]; o1++)
                for (int64_t o2 = 0; o2 < g->out[2]; o2++, o++) {
                    int64_t b[MAX_SP] = {o0 * g->s[0] - g->pb[0], o1 * g->s[1] - g->pb[1], o2 * g->s[2] - g->pb[2]};
                    double acc = 0.0;
                    int64_t count = 0, padded = 1;
                    for (int i = 0; i < MAX_SP; i++) {
                        /* taps inside input + padding (a ceil_mode overhang past the end pad is not counted) */
                        int64_t end = b[i] + g->k[i] * g->d[i];
                        if (end > g->in[i] + g->pe[i]) end = g->in[i] + g->pe[i];
                        int64_t taps = end > b[i] ? 1 + (end - b[i] - 1) / g->d[i] : 0;
                        padded *= taps;
                    }
                    for (int64_t a0 = 0; a0 < g->k[0]; a0++) {
                        int64_t i0 = b[0] + a0 * g->d[0];
                        if (i0 < 0 || i0 >= g->in[0]) continue;
                        for (int64_t a1 = 0; a1 < g->k[1]; a1++) {
                            int64_t i1 = b[1] + a1 * g->d[1];
                            if (i1 < 0 || i1 >= g->in[1]) continue;
                            const float *row = xp + (i0 * g->in[1] + i1) * g->in[2];
                            for (int64_t a2 = 0; a2 < g->k[2]; a2++) {
                                int64_t i2 = b[2] + a2 * g->d[2];
                                if (i2 < 0 || i2 >= g->in[2]) continue;
                                float v = row[i2];
                                if (kind == POOL_AVG)
                                    acc += v;
                                else
                                    acc += p == 2.0f ? (double)v * v : pow(fabs((double)v), p);
                                count++;
                            }
                        }
                    }
                    if (kind == POOL_AVG) {
                        int64_t div = include_pad ? padded : count;
                        yp[o] = count > 0 && div > 0 ? (float)(acc / (double)div) : 0.0f;
                    } else {
                        yp[o] = p == 2.0f ? (float)sqrt(acc) : (float)pow(acc, 1.0 / p);
                    }
                }
    }
}

static octet_status avgpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    pool_geom g;
    OT_TRY(pool_geometry(k, in[0], false, &g));
    if (!out[0]) return OCTET_OK;
    OT_TRY(alloc_out(k, in[0], &g, out[0], OCTET_FLOAT));
    bool include_pad = ot_node_attr_int(k->node, "count_include_pad", 0) != 0;
    if (g.nsp <= 2) {
        if (!pool2d_f32(&g, in[0]->data, out[0]->data, false, include_pad, plane_threads(k, &g)))
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        return OCTET_OK;
    }
    avg_lp_pool(&g, in[0]->data, out[0]->data, POOL_AVG, include_pad, 0, plane_threads(k, &g));
    return OCTET_OK;
}

static octet_status lp_p(const ot_kernel *k, float *p) {
    *p = (float)ot_node_attr_int(k->node, "p", 2);
    if (!(*p > 0)) return ot_node_err(k, OCTET_ERR_SHAPE, "p must be positive");
    return OCTET_OK;
}

static octet_status lppool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    float p;
    OT_TRY(lp_p(k, &p));
    pool_geom g;
    OT_TRY(pool_geometry(k, in[0], false, &g));
    if (!out[0]) return OCTET_OK;
    OT_TRY(alloc_out(k, in[0], &g, out[0], OCTET_FLOAT));
    avg_lp_pool(&g, in[0]->data, out[0]->data, POOL_LP, false, p, plane_threads(k, &g));
    return OCTET_OK;
}

/* ---- Global pools ---- */

static octet_status global_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                               pool_kind kind) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    pool_geom g;
    OT_TRY(pool_geometry(k, in[0], true, &g));
    if (!out[0]) return OCTET_OK;
    OT_TRY(alloc_out(k, in[0], &g, out[0], OCTET_FLOAT));
    float p = 2.0f;
    if (kind == POOL_LP) OT_TRY(lp_p(k, &p));
    const int64_t pin = plane_in(&g);
    const float *x = in[0]->data;
    float *y = out[0]->data;
    int threads = (double)g.planes * pin < 65536.0 || g.planes < 2 ? 1 : k->threads;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t pl = 0; pl < g.planes; pl++) {
        const float *xp = x + pl * pin;
        if (kind == POOL_MAX) {
            float m = pin > 0 ? xp[0] : -FLT_MAX;
            for (int64_t i = 1; i < pin; i++) m = xp[i] > m ? xp[i] : m;
            y[pl] = m;
        } else if (kind == POOL_AVG) {
            /* 8 partial sums: vectorizes, and is more accurate than one running sum */
            float s[8] = {0};
            int64_t i = 0;
            for (; i + 8 <= pin; i += 8)
                for (int j = 0; j < 8; j++) s[j] += xp[i + j];
            double tot = 0;
            for (; i < pin; i++) tot += xp[i];
            for (int j = 0; j < 8; j++) tot += s[j];
            y[pl] = pin > 0 ? (float)(tot / (double)pin) : 0.0f;
        } else {
            double tot = 0;
            for (int64_t i = 0; i < pin; i++) tot += p == 2.0f ? (double)xp[i] * xp[i] : pow(fabs((double)xp[i]), p);
            y[pl] = p == 2.0f ? (float)sqrt(tot) : (float)pow(tot, 1.0 / p);
        }
    }
    return OCTET_OK;
}

static octet_status gap_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return global_run(k, in, n_in, out, POOL_AVG);
}
static octet_status gmp_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return global_run(k, in, n_in, out, POOL_MAX);
}
static octet_status glp_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return global_run(k, in, n_in, out, POOL_LP);
}

const ot_op_def ot_ops_pool[] = {
    {"", "MaxPool", NULL, maxpool_run, NULL},
    {"", "AveragePool", NULL, avgpool_run, NULL},
    {"", "LpPool", NULL, lppool_run, NULL},
    {"", "GlobalAveragePool", NULL, gap_run, NULL},
    {"", "GlobalMaxPool", NULL, gmp_run, NULL},
    {"", "GlobalLpPool", NULL, glp_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
