/* Op family 'resize': Resize (opsets 10..19+) and Upsample (7..9).
 *
 * Every axis is resampled separably: for each output index along an axis we precompute up to 4
 * (input index, weight) taps (nearest 1, linear 2, cubic 4) with ONNX Runtime's coordinate
 * formulas, float for float. The output is then a sum over the product of the taps of all axes,
 * evaluated row by row (last axis inner); a row whose outer taps equal the previous row's is
 * copied instead of recomputed, which makes integer nearest upsampling (FPN 2x/4x/8x) cheap.
 * Nearest works on any element type; linear and cubic on float32. antialias is not supported. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"

#define MAX_R OCTET_MAX_DIMS
#define MAX_TAPS 4

typedef enum { M_NEAREST, M_LINEAR, M_CUBIC } rs_mode;
typedef enum {
    CT_HALF_PIXEL,
    CT_ASYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_ALIGN_CORNERS,
    CT_TF_CROP_AND_RESIZE,
    CT_HALF_PIXEL_SYMMETRIC
} rs_coord;
typedef enum { NM_SIMPLE, NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL } rs_nearest;
typedef enum { KP_STRETCH, KP_NOT_LARGER, KP_NOT_SMALLER } rs_policy;

typedef struct rs_attrs {
    bool upsample;  /* Upsample op (scales >= 1) */
    rs_mode mode;
    rs_coord coord;
    rs_nearest nearest;
    rs_policy policy;
    float cubic_a, extrapolation;
    bool exclude_outside;
    int n_axes;
    int64_t axes[MAX_R];
} rs_attrs;

static octet_status parse_attrs(const ot_kernel *k, bool upsample, rs_attrs *a) {
    memset(a, 0, sizeof *a);
    const ot_node *n = k->node;
    int64_t opset = k->opset;
    a->upsample = upsample;
    const char *mode = ot_node_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        a->mode = M_NEAREST;
    else if (strcmp(mode, "linear") == 0 || (upsample && strcmp(mode, "bilinear") == 0))
        a->mode = M_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && !upsample)
        a->mode = M_CUBIC;
    else
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown mode '%s'", mode);
    /* Before opset 11 (and in Upsample) the only transform was asymmetric with the legacy rounding. */
    const char *ct = (!upsample && opset >= 11) ? ot_node_attr_string(n, "coordinate_transformation_mode", "half_pixel")
                                                : "asymmetric";
    static const char *ct_names[] = {"half_pixel",    "asymmetric",         "pytorch_half_pixel",  "tf_half_pixel_for_nn",
                                     "align_corners", "tf_crop_and_resize", "half_pixel_symmetric"};
    a->coord = (rs_coord)-1;
    for (int i = 0; i < 7; i++)
        if (strcmp(ct, ct_names[i]) == 0) a->coord = (rs_coord)i;
    if ((int)a->coord < 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown coordinate_transformation_mode '%s'", ct);
    a->nearest = NM_SIMPLE;
    if (!upsample && opset >= 11 && a->mode == M_NEAREST) {
        const char *nm = ot_node_attr_string(n, "nearest_mode", "round_prefer_floor");
        if (strcmp(nm, "round_prefer_floor") == 0)
            a->nearest = NM_ROUND_PREFER_FLOOR;
        else if (strcmp(nm, "round_prefer_ceil") == 0)
            a->nearest = NM_ROUND_PREFER_CEIL;
        else if (strcmp(nm, "floor") == 0)
            a->nearest = NM_FLOOR;
        else if (strcmp(nm, "ceil") == 0)
            a->nearest = NM_CEIL;
        else
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown nearest_mode '%s'", nm);
    }
    a->cubic_a = ot_node_attr_float(n, "cubic_coeff_a", -0.75f);
    a->exclude_outside = ot_node_attr_int(n, "exclude_outside", 0) != 0;
    a->extrapolation = ot_node_attr_float(n, "extrapolation_value", 0.0f);
    if (a->exclude_outside && a->mode != M_CUBIC)
        return ot_node_err(k, OCTET_ERR_SHAPE, "exclude_outside=1 needs mode 'cubic'");
    if (!upsample && opset >= 18) {
        if (ot_node_attr_int(n, "antialias", 0) != 0)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "antialias=1 is not supported");
        const char *pol = ot_node_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(pol, "stretch") == 0)
            a->policy = KP_STRETCH;
        else if (strcmp(pol, "not_larger") == 0)
            a->policy = KP_NOT_LARGER;
        else if (strcmp(pol, "not_smaller") == 0)
            a->policy = KP_NOT_SMALLER;
        else
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown keep_aspect_ratio_policy '%s'", pol);
        const int64_t *ax;
        size_t na = ot_node_attr_ints(n, "axes", &ax);
        if (na > MAX_R) return ot_node_err(k, OCTET_ERR_SHAPE, "too many axes");
        a->n_axes = (int)na;
        for (size_t i = 0; i < na; i++) a->axes[i] = ax[i];
    }
    return OCTET_OK;
}

/* ---- ONNX Runtime's coordinate and rounding formulas ---- */

static float original_coord(rs_coord ct, float x, float scale, float len_out, float len_in, float roi_s, float roi_e) {
    switch (ct) {
    case CT_ASYMMETRIC: return x / scale;
    case CT_PYTORCH_HALF_PIXEL: return len_out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case CT_TF_HALF_PIXEL_FOR_NN: return (x + 0.5f) / scale;
    case CT_ALIGN_CORNERS: return len_out == 1 ? 0.0f : x * (len_in - 1) / (len_out - 1);
    case CT_TF_CROP_AND_RESIZE:
        return len_out > 1 ? roi_s * (len_in - 1) + (x * (roi_e - roi_s) * (len_in - 1)) / (len_out - 1)
                           : (float)(0.5 * (roi_s + roi_e) * (len_in - 1));
    case CT_HALF_PIXEL_SYMMETRIC: {
        float out_w = scale * len_in, adj = len_out / out_w, center = len_in / 2, off = center * (1 - adj);
        return (float)(off + (x + 0.5) / scale - 0.5);
    }
    default: return ((x + 0.5f) / scale) - 0.5f;
    }
}

static int64_t nearest_pixel(rs_nearest nm, float x, bool down) {
    switch (nm) {
    case NM_SIMPLE: return down ? (int64_t)ceilf(x) : (int64_t)x;
    case NM_ROUND_PREFER_CEIL: return (int64_t)roundf(x);
    case NM_FLOOR: return (int64_t)floorf(x);
    case NM_CEIL: return (int64_t)ceilf(x);
    default:
        if (x == (float)(int64_t)x + 0.5f) return (int64_t)floorf(x);
        return (int64_t)roundf(x);
    }
}

static void cubic_coeffs(float s, float A, float c[4]) {
    float t = fabsf(s);
    c[0] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
    c[3] = ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A;
}

/* Taps of one axis: for output index o, taps [o*MAX_TAPS, o*MAX_TAPS + n) with input offsets
 * already multiplied by the axis stride; extra[o] set when the extrapolation value is used. */
typedef struct axis_taps {
    int n;
    int64_t *off;
    float *w;
    unsigned char *extra;
} axis_taps;

static void build_axis(const rs_attrs *a, int64_t in, int64_t out, float scale, float roi_s, float roi_e,
                       int64_t stride, axis_taps *t) {
    bool extrap = a->coord == CT_TF_CROP_AND_RESIZE;
    t->n = a->mode == M_NEAREST ? 1 : (a->mode == M_LINEAR ? 2 : 4);
    for (int64_t o = 0; o < out; o++) {
        int64_t *off = t->off + o * MAX_TAPS;
        float *w = t->w + o * MAX_TAPS;
        /* scale 1 keeps the index (ONNX Runtime skips the transform there) */
        float x = scale == 1.0f ? (float)o
                                : original_coord(a->coord, (float)o, scale, (float)out, (float)in, roi_s, roi_e);
        t->extra[o] = extrap && scale != 1.0f && (x < 0 || x > (float)(in - 1));
        if (a->mode == M_NEAREST) {
            int64_t i = scale == 1.0f ? o : nearest_pixel(a->nearest, x, scale < 1);
            if (i > in - 1) i = in - 1;
            if (i < 0) i = 0;
            off[0] = i * stride;
            w[0] = 1.0f;
        } else if (a->mode == M_LINEAR) {
            float v = x < 0 ? 0.0f : (x > (float)(in - 1) ? (float)(in - 1) : x);
            int64_t i1 = (int64_t)v < in - 1 ? (int64_t)v : in - 1;
            int64_t i2 = i1 + 1 < in - 1 ? i1 + 1 : in - 1;
            float d1 = fabsf(v - (float)i1), d2 = fabsf(v - (float)i2);
            if (i1 == i2) d1 = d2 = 0.5f;
            off[0] = i1 * stride;
            w[0] = d2;
            off[1] = i2 * stride;
            w[1] = d1;
        } else {
            int64_t xi = (int64_t)floorf(x);
            float c[4], sum = 1.0f;
            cubic_coeffs(x - (float)xi, a->cubic_a, c);
            if (a->exclude_outside) {
                sum = 0;
                for (int j = 0; j < 4; j++) {
                    int64_t p = xi - 1 + j;
                    if (p < 0 || p >= in) c[j] = 0.0f;
                    sum += c[j];
                }
            }
            for (int j = 0; j < 4; j++) {
                int64_t p = xi - 1 + j;
                p = p < 0 ? 0 : (p > in - 1 ? in - 1 : p);
                off[j] = p * stride;
                w[j] = c[j] / sum;
            }
        }
    }
}

/* ---- shapes ---- */

typedef struct rs_plan {
    int rank;
    int64_t in[MAX_R], out[MAX_R];
    float scale[MAX_R], roi[2 * MAX_R];
} rs_plan;

static octet_status normalize_axes(const ot_kernel *k, const rs_attrs *a, int rank, int64_t *axes) {
    for (int i = 0; i < a->n_axes; i++) {
        int64_t ax = a->axes[i] < 0 ? a->axes[i] + rank : a->axes[i];
        if (ax < 0 || ax >= rank)
            return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)a->axes[i], rank);
        for (int j = 0; j < i; j++)
            if (axes[j] == ax) return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is repeated", (long long)ax);
        axes[i] = ax;
    }
    return OCTET_OK;
}

static octet_status make_plan(const ot_kernel *k, const rs_attrs *a, const octet_tensor *x, const octet_tensor *roi,
                              const octet_tensor *scales, const octet_tensor *sizes, const float *attr_scales,
                              int n_attr_scales, rs_plan *p) {
    memset(p, 0, sizeof *p);
    int r = x->ndim;
    if (r < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1");
    p->rank = r;
    for (int i = 0; i < r; i++) {
        p->in[i] = x->dims[i];
        p->scale[i] = 1.0f;
        p->roi[i] = 0.0f;
        p->roi[r + i] = 1.0f;
    }
    int64_t axes[MAX_R];
    int na = a->n_axes;
    OT_TRY(normalize_axes(k, a, r, axes));
    if (!na)
        for (int i = 0; i < r; i++) axes[i] = i;
    int nsel = na ? na : r;

    if (roi && ot_tensor_numel(roi) > 0 && a->coord == CT_TF_CROP_AND_RESIZE) {
        if (roi->dtype != OCTET_FLOAT && roi->dtype != OCTET_DOUBLE && roi->dtype != OCTET_FLOAT16)
            return ot_node_err(k, OCTET_ERR_SHAPE, "roi must be a float tensor");
        if (ot_tensor_numel(roi) != 2 * nsel)
            return ot_node_err(k, OCTET_ERR_SHAPE, "roi has %lld values, expected %d", (long long)ot_tensor_numel(roi),
                               2 * nsel);
        for (int i = 0; i < nsel; i++) {
            p->roi[axes[i]] = (float)ot_tensor_get_f64(roi, i);
            p->roi[r + axes[i]] = (float)ot_tensor_get_f64(roi, nsel + i);
        }
    } else if (a->coord == CT_TF_CROP_AND_RESIZE) {
        return ot_node_err(k, OCTET_ERR_SHAPE, "tf_crop_and_resize needs the roi input");
    }

    bool have_sizes = sizes && ot_tensor_numel(sizes) > 0;
    bool have_scales = (scales && ot_tensor_numel(scales) > 0) || attr_scales;
    if (have_sizes && have_scales && !attr_scales)
        return ot_node_err(k, OCTET_ERR_SHAPE, "only one of scales and sizes may be given");
    if (!have_sizes && !have_scales) return ot_node_err(k, OCTET_ERR_SHAPE, "one of scales and sizes is required");
    if (have_sizes) {
        if (!ot_dtype_is_int(sizes->dtype)) return ot_node_err(k, OCTET_ERR_SHAPE, "sizes must be int64");
        if (ot_tensor_numel(sizes) != nsel)
            return ot_node_err(k, OCTET_ERR_SHAPE, "sizes has %lld values, expected %d",
                               (long long)ot_tensor_numel(sizes), nsel);
        for (int i = 0; i < r; i++) p->out[i] = p->in[i];
        for (int i = 0; i < nsel; i++) {
            int64_t v = ot_tensor_get_i64(sizes, i);
            if (v < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "sizes must be >= 0");
            p->out[axes[i]] = v;
        }
        for (int i = 0; i < r; i++) {
            if (p->in[i] == 0) {
                if (p->out[i] != 0)
                    return ot_node_err(k, OCTET_ERR_SHAPE, "dimension %d is 0 but the requested size is not", i);
                p->scale[i] = 1.0f;
            } else {
                p->scale[i] = (float)p->out[i] / (float)p->in[i];
            }
        }
        if (a->policy != KP_STRETCH) {
            float s = a->policy == KP_NOT_LARGER ? 3.402823466e38f : 1.175494351e-38f;
            for (int i = 0; i < nsel; i++) {
                float v = p->scale[axes[i]];
                s = a->policy == KP_NOT_LARGER ? (v < s ? v : s) : (v > s ? v : s);
            }
            for (int i = 0; i < r; i++) {
                bool sel = false;
                for (int j = 0; j < nsel; j++) sel |= axes[j] == i;
                p->scale[i] = sel ? s : 1.0f;
                p->out[i] = sel ? (int64_t)roundf(s * (float)p->in[i]) : p->in[i];
            }
        }
    } else {
        int ns = attr_scales ? n_attr_scales : (int)ot_tensor_numel(scales);
        if (!attr_scales && scales->dtype != OCTET_FLOAT)
            return ot_node_err(k, OCTET_ERR_SHAPE, "scales must be float32");
        if (ns != nsel)
            return ot_node_err(k, OCTET_ERR_SHAPE, "scales has %d values for %d axes", ns, nsel);
        for (int i = 0; i < nsel; i++)
            p->scale[axes[i]] = attr_scales ? attr_scales[i] : ((const float *)scales->data)[i];
        for (int i = 0; i < r; i++) {
            float s = p->scale[i];
            if (!(s > 0) || (a->upsample && s < 1))
                return ot_node_err(k, OCTET_ERR_SHAPE, "scale %g on axis %d is invalid (must be %s)", (double)s, i,
                                   a->upsample ? ">= 1" : "> 0");
            double o = (double)(s * (float)p->in[i]);
            if (o > 9.0e15) return ot_node_err(k, OCTET_ERR_SHAPE, "output would be too large");
            p->out[i] = (int64_t)(s * (float)p->in[i]);
        }
    }
    for (int i = 0; i < r; i++)
        if (!(p->scale[i] > 0) && p->in[i] > 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "size 0 requested on axis %d", i);
    return OCTET_OK;
}

/* ---- evaluation ---- */

/* One output row of nearest resizing without extrapolation: y[o] = x[off[o]], or (rep > 0) each x[i]
 * written rep times in a row. */
#define NEAREST_ROW(T)                                                                     \
    do {                                                                                   \
        T *d = (T *)yr;                                                                    \
        const T *s = (const T *)xr;                                                        \
        if (rep > 0) {                                                                     \
            for (int64_t i = 0, o = 0; o < W; i++)                                         \
                for (int64_t j = 0; j < rep; j++) d[o++] = s[i];                           \
        } else {                                                                           \
            for (int64_t o = 0; o < W; o++) d[o] = s[off[o * MAX_TAPS]];                   \
        }                                                                                  \
    } while (0)
static void nearest_row(char *yr, const char *xr, size_t es, int64_t W, const int64_t *off, int64_t rep) {
    switch (es) {
    case 1: NEAREST_ROW(uint8_t); break;
    case 2: NEAREST_ROW(uint16_t); break;
    case 4: NEAREST_ROW(uint32_t); break;
    default: NEAREST_ROW(uint64_t); break;
    }
}
#undef NEAREST_ROW

/* Axis i of a nearest resize picks source o / rep for output o (rep = out / in, an integer; 1 keeps it). */
static bool nearest_repeats(const axis_taps *taps, const rs_plan *p, int i) {
    if (p->in[i] < 1 || p->out[i] % p->in[i] != 0) return false;
    int64_t rep = p->out[i] / p->in[i], stride = 1;
    for (int j = i + 1; j < p->rank; j++) stride *= p->in[j];
    for (int64_t o = 0; o < p->out[i]; o++)
        if (taps[i].extra[o] || taps[i].off[o * MAX_TAPS] != (o / rep) * stride) return false;
    return true;
}

static void nearest_upsample_nhwc(const rs_plan *p, size_t es, const char *x, char *y, int threads) {
    const int64_t N = p->in[0], H = p->in[1], W = p->in[2], OH = p->out[1], OW = p->out[2];
    const int64_t rh = OH / H, rw = OW / W;
    const size_t pix = (size_t)p->in[3] * es, orow = (size_t)OW * pix;
    const int64_t rows = N * H;
    if ((double)rows * (double)orow * (double)rh < 65536.0) threads = 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        int64_t n = row / H, ih = row % H;
        const char *src = x + (size_t)row * (size_t)W * pix;
        char *dst = y + (size_t)(n * OH + ih * rh) * orow;
        for (int64_t iw = 0; iw < W; iw++)
            for (int64_t j = 0; j < rw; j++) memcpy(dst + (size_t)(iw * rw + j) * pix, src + (size_t)iw * pix, pix);
        for (int64_t t = 1; t < rh; t++) memcpy(dst + (size_t)t * orow, dst, orow);
    }
}

static octet_status resize_eval(const ot_kernel *k, const rs_attrs *a, const rs_plan *p, const octet_tensor *x,
                                octet_tensor *y) {
    const int r = p->rank;
    OT_TRY(ot_tensor_alloc(y, x->dtype, r, p->out));
    int64_t total = ot_tensor_numel(y);
    if (total == 0) return OCTET_OK;
    bool same = true;
    for (int i = 0; i < r; i++) same &= p->in[i] == p->out[i];
    size_t es = octet_dtype_size(x->dtype);
    if (same) {
        memcpy(y->data, x->data, (size_t)total * es);
        return OCTET_OK;
    }
    if (a->mode != M_NEAREST && x->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "linear and cubic modes need float32 input, got %s",
                           octet_dtype_name(x->dtype));
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "element type %s is not supported", octet_dtype_name(x->dtype));

    /* per-axis taps */
    size_t cnt = 0;
    for (int i = 0; i < r; i++) cnt += (size_t)p->out[i];
    int64_t *offs = ot_malloc(cnt * MAX_TAPS * sizeof *offs);
    float *ws = ot_malloc(cnt * MAX_TAPS * sizeof *ws);
    unsigned char *ex = ot_malloc(cnt);
    if (!offs || !ws || !ex) {
        free(offs);
        free(ws);
        free(ex);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    axis_taps taps[MAX_R];
    int64_t stride = 1;
    size_t pos = 0;
    for (int i = r - 1; i >= 0; i--) {
        taps[i].off = offs + pos * MAX_TAPS;
        taps[i].w = ws + pos * MAX_TAPS;
        taps[i].extra = ex + pos;
        pos += (size_t)p->out[i];
        build_axis(a, p->in[i], p->out[i], p->scale[i], p->roi[i], p->roi[r + i], stride, &taps[i]);
        stride *= p->in[i];
    }
    /* channels-last integer upsampling (the int8 layout pass's NHWC nearest Resize): rank 4, N and C kept,
     * every output pixel a copy of source pixel (oh / rh, ow / rw): C-byte copies per pixel, then each
     * finished output row copied rh - 1 times */
    if (a->mode == M_NEAREST && r == 4 && p->out[0] == p->in[0] && p->out[3] == p->in[3] &&
        nearest_repeats(taps, p, 1) && nearest_repeats(taps, p, 2) && nearest_repeats(taps, p, 0) &&
        nearest_repeats(taps, p, 3)) {
        nearest_upsample_nhwc(p, es, x->data, y->data, k->threads);
        free(offs);
        free(ws);
        free(ex);
        return OCTET_OK;
    }
    /* rows = all output positions of the outer axes */
    const int64_t W = p->out[r - 1];
    const int64_t rows = total / W;
    const axis_taps *last = &taps[r - 1];
    /* nearest along the last axis: no extrapolated positions, and maybe every source repeated rep
     * times in order (an integer upsampling factor: y[o] = x[o / rep]) */
    bool last_extra = false;
    int64_t rep = a->mode == M_NEAREST && W % p->in[r - 1] == 0 ? W / p->in[r - 1] : 0;
    for (int64_t o = 0; o < W; o++) {
        last_extra |= last->extra[o] != 0;
        if (rep && last->off[o * MAX_TAPS] != o / rep) rep = 0;
    }
    int threads = (double)total * (a->mode == M_NEAREST ? 1 : 4) < 65536.0 || rows < 2 ? 1 : k->threads;
    const char *xd = x->data;
    char *yd = y->data;
    const float extrap = a->extrapolation;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        /* outer combos of this row: input offset and weight (product over the outer axes) */
        int max_combo = 1;
        for (int i = 0; i < r - 1; i++) max_combo *= taps[i].n;
        int64_t *coff = ot_malloc(sizeof(int64_t) * (size_t)max_combo * 2);
        float *cw = ot_malloc(sizeof(float) * (size_t)max_combo * 2);
        if (!coff || !cw) {
#pragma omp atomic write
            failed = 1;
        }
        int64_t prev_row = -2;
        int64_t *poff = coff ? coff + max_combo : NULL;  /* previous row's combos */
        float *pw = cw ? cw + max_combo : NULL;
        int pn = -1;
        bool prev_ex = false;
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++) {
            if (!coff || !cw) continue;
            /* decompose the row index into outer output indices */
            int64_t idx[MAX_R], rem = row;
            for (int i = r - 2; i >= 0; i--) {
                idx[i] = rem % p->out[i];
                rem /= p->out[i];
            }
            bool row_ex = false;
            int n = 1;
            coff[0] = 0;
            cw[0] = 1.0f;
            for (int i = 0; i < r - 1; i++) {
                const axis_taps *t = &taps[i];
                row_ex |= t->extra[idx[i]] != 0;
                const int64_t *to = t->off + idx[i] * MAX_TAPS;
                const float *tw = t->w + idx[i] * MAX_TAPS;
                if (t->n == 1) {
                    for (int c = 0; c < n; c++) coff[c] += to[0];
                    continue;
                }
                for (int c = n - 1; c >= 0; c--)
                    for (int j = t->n - 1; j >= 0; j--) {
                        coff[c * t->n + j] = coff[c] + to[j];
                        cw[c * t->n + j] = cw[c] * tw[j];
                    }
                n *= t->n;
            }
            char *yr = yd + (size_t)row * W * es;
            /* same sources as the previous row: copy it */
            bool dup = prev_row == row - 1 && pn == n && prev_ex == row_ex;
            for (int c = 0; dup && c < n; c++) dup = coff[c] == poff[c] && cw[c] == pw[c];
            prev_row = row;
            pn = n;
            prev_ex = row_ex;
            memcpy(poff, coff, sizeof(int64_t) * (size_t)n);
            memcpy(pw, cw, sizeof(float) * (size_t)n);
            if (dup) {
                memcpy(yr, yr - W * es, (size_t)W * es);
                continue;
            }
            if (a->mode == M_NEAREST && !row_ex && !last_extra) {
                nearest_row(yr, xd + (size_t)coff[0] * es, es, W, last->off, rep);
                continue;
            }
            if (a->mode == M_NEAREST) {
                const int64_t base = coff[0];
                const int64_t *lo = last->off;
                for (int64_t o = 0; o < W; o++) {
                    bool e = row_ex || last->extra[o];
                    int64_t src = base + lo[o * MAX_TAPS];
                    switch (es) {
                    case 1: ((uint8_t *)yr)[o] = e ? (uint8_t)(int)extrap : ((const uint8_t *)xd)[src]; break;
                    case 2: ((uint16_t *)yr)[o] = e ? 0 : ((const uint16_t *)xd)[src]; break;
                    case 4:
                        if (e && x->dtype == OCTET_FLOAT)
                            ((float *)yr)[o] = extrap;
                        else
                            ((uint32_t *)yr)[o] = e ? (uint32_t)(int32_t)extrap : ((const uint32_t *)xd)[src];
                        break;
                    default:
                        if (e && x->dtype == OCTET_DOUBLE)
                            ((double *)yr)[o] = extrap;
                        else
                            ((uint64_t *)yr)[o] = e ? (uint64_t)(int64_t)extrap : ((const uint64_t *)xd)[src];
                        break;
                    }
                }
                continue;
            }
            const float *xf = (const float *)xd;
            float *yf = (float *)yr;
            const int nt = last->n;
            for (int64_t o = 0; o < W; o++) {
                if (row_ex || last->extra[o]) {
                    yf[o] = extrap;
                    continue;
                }
                const int64_t *lo = last->off + o * MAX_TAPS;
                const float *lw = last->w + o * MAX_TAPS;
                float acc = 0.0f;
                for (int c = 0; c < n; c++) {
                    const float *src = xf + coff[c];
                    float s = 0.0f;
                    for (int j = 0; j < nt; j++) s += lw[j] * src[lo[j]];
                    acc += cw[c] * s;
                }
                yf[o] = acc;
            }
        }
        free(coff);
        free(cw);
    }
    free(offs);
    free(ws);
    free(ex);
    return failed ? ot_err(OCTET_ERR_NOMEM, "out of memory") : OCTET_OK;
}

static octet_status resize_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    rs_attrs a;
    OT_TRY(parse_attrs(k, false, &a));
    const octet_tensor *x, *roi = NULL, *scales = NULL, *sizes = NULL;
    if (k->opset < 11) {
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
        scales = in[1];
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 4));
        roi = n_in > 1 ? in[1] : NULL;
        scales = n_in > 2 ? in[2] : NULL;
        sizes = n_in > 3 ? in[3] : NULL;
    }
    x = in[0];
    rs_plan p;
    OT_TRY(make_plan(k, &a, x, roi, scales, sizes, NULL, 0, &p));
    if (!out[0]) return OCTET_OK;
    return resize_eval(k, &a, &p, x, out[0]);
}

static octet_status upsample_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                 int n_out) {
    rs_attrs a;
    OT_TRY(parse_attrs(k, true, &a));
    const float *sc = NULL;
    int ns = 0;
    const octet_tensor *scales = NULL;
    if (k->opset < 9) {
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        size_t n = ot_node_attr_floats(k->node, "scales", &sc);
        if (!n) return ot_node_err(k, OCTET_ERR_SHAPE, "the scales attribute is required");
        ns = (int)n;
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
        scales = in[1];
    }
    rs_plan p;
    OT_TRY(make_plan(k, &a, in[0], NULL, scales, NULL, sc, ns, &p));
    if (!out[0]) return OCTET_OK;
    return resize_eval(k, &a, &p, in[0], out[0]);
}

const ot_op_def ot_ops_resize[] = {
    {"", "Resize", NULL, resize_run, NULL},
    {"", "Upsample", NULL, upsample_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
