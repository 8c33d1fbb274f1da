/* com.microsoft QLinearGlobalAveragePool and QLinearAveragePool, as ONNX Runtime computes them:
 *   global:  acc = sum(x) - x_zp * image_size (int32), y = requant((float)acc * s), where
 *            s = x_scale / (y_scale * (float)image_size)   (MLAS QLinearGlobalAveragePool)
 *   window:  dequantize x_scale * (x - x_zp), a float sum in window order divided by the count,
 *            y = clamp((int)nearbyint(sum / y_scale + y_zp))   (ORT's QLinearPool tasks); a kernel
 *            covering the whole unpadded input takes the global path instead, as in ORT.
 * channels_last selects NHWC for both. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/requant.h"
#include "ops/broadcast.h"
#include "ops/qcontrib_internal.h"
#include "util/mem.h"

#define MAX_SP 3

typedef struct pool_q {
    octet_dtype dt;
    float xs, ys;
    int32_t xz, yz;
} pool_q;

static octet_status read_q(const ot_kernel *k, const octet_tensor *const *in, int n_in, pool_q *q) {
    const octet_tensor *x = in[0];
    if (!qc_is_q8(x->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input X must be uint8 or int8, got %s",
                           octet_dtype_name(x->dtype));
    q->dt = x->dtype;
    OT_TRY(qc_scale(k, in[1], 1, &q->xs));
    OT_TRY(qc_zero_point(k, n_in > 2 ? in[2] : NULL, 2, q->dt, &q->xz));
    OT_TRY(qc_scale(k, n_in > 3 ? in[3] : NULL, 3, &q->ys));
    OT_TRY(qc_zero_point(k, n_in > 4 ? in[4] : NULL, 4, q->dt, &q->yz));
    return OCTET_OK;
}

static inline int32_t ld8(const void *p, int64_t i, bool sgn) {
    return sgn ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

/* The global average of N * C channels of `image` values each (NCHW: channel-contiguous images; NHWC:
 * pixels of C interleaved channels). The int32 sums are exact, so the summation order is free. */
static octet_status global_avg(const void *x, void *y, int64_t N, int64_t C, int64_t image, bool channels_last,
                               const pool_q *q, int threads) {
    bool sgn = q->dt == OCTET_INT8;
    float scale = q->xs / (q->ys * (float)image);
    uint32_t bias = (uint32_t)(-q->xz) * (uint32_t)image;
    float lo_f = (float)(qc_qmin(q->dt) - q->yz), hi_f = (float)(qc_qmax(q->dt) - q->yz);
    if (!channels_last) {
        int64_t total = N * C;
        int T = ot_par_threads(threads, total * image);
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
        for (int64_t nc = 0; nc < total; nc++) {
            uint32_t sum = bias;
            for (int64_t i = 0; i < image; i++) sum += (uint32_t)ld8(x, nc * image + i, sgn);
            int32_t v = ot_requant1((int32_t)sum, scale, lo_f, hi_f, q->yz);
            if (sgn) ((int8_t *)y)[nc] = (int8_t)v;
            else ((uint8_t *)y)[nc] = (uint8_t)v;
        }
        return OCTET_OK;
    }
    int T = ot_par_threads(threads, N * C * image);
    if (T > N) T = (int)N;
    uint32_t *sums = ot_malloc((size_t)T * (size_t)C * sizeof *sums);
    if (!sums) return ot_err(OCTET_ERR_NOMEM, "out of memory");
#pragma omp parallel num_threads(T) if (T > 1)
    {
        uint32_t *sum = sums + (size_t)omp_get_thread_num() * (size_t)C;
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; n++) {
            for (int64_t c = 0; c < C; c++) sum[c] = bias;
            for (int64_t i = 0; i < image; i++) {
                int64_t base = (n * image + i) * C;
                for (int64_t c = 0; c < C; c++) sum[c] += (uint32_t)ld8(x, base + c, sgn);
            }
            for (int64_t c = 0; c < C; c++) {
                int32_t v = ot_requant1((int32_t)sum[c], scale, lo_f, hi_f, q->yz);
                if (sgn) ((int8_t *)y)[n * C + c] = (int8_t)v;
                else ((uint8_t *)y)[n * C + c] = (uint8_t)v;
            }
        }
    }
    free(sums);
    return OCTET_OK;
}

octet_status qc_gavgpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 4, 5));
    pool_q q;
    OT_TRY(read_q(k, in, n_in, &q));
    const octet_tensor *x = in[0];
    if (x->ndim < 3) return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 3, got %d", x->ndim);
    bool cl = ot_node_attr_int(k->node, "channels_last", 0) != 0;
    int64_t N = x->dims[0], C = cl ? x->dims[x->ndim - 1] : x->dims[1], image = 1;
    int64_t dims[OCTET_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    for (int d = cl ? 1 : 2; d < (cl ? x->ndim - 1 : x->ndim); d++) {
        image *= x->dims[d];
        dims[d] = 1;
    }
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], q.dt, x->ndim, dims));
    if (N * C == 0) return OCTET_OK;
    if (image == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "cannot average an empty image");
    return global_avg(x->data, out[0]->data, N, C, image, cl, &q, k->threads);
}

/* ---------------- QLinearAveragePool ---------------- */

typedef struct apool {
    int nsp;
    int64_t kernel[MAX_SP], stride[MAX_SP], pads[2 * MAX_SP];
    int64_t in[MAX_SP], out[MAX_SP];
    bool include_pad, channels_last;
    int64_t kernel_size;
} apool;

/* ORT's PoolAttributes: output size in float arithmetic (floor by truncation, or ceil), auto_pad. */
static octet_status apool_attrs(const ot_kernel *k, const octet_tensor *x, apool *p) {
    const int64_t *ks, *v;
    size_t nk = ot_node_attr_ints(k->node, "kernel_shape", &ks);
    if (nk < 1 || nk > MAX_SP) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape must have 1 to 3 entries");
    p->nsp = (int)nk;
    if (x->ndim != 2 + p->nsp)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input rank %d does not fit a %d-D kernel", x->ndim, p->nsp);
    p->channels_last = ot_node_attr_int(k->node, "channels_last", 0) != 0;
    p->include_pad = ot_node_attr_int(k->node, "count_include_pad", 0) != 0;
    int64_t ceil_mode = ot_node_attr_int(k->node, "ceil_mode", 0);
    size_t n = ot_node_attr_ints(k->node, "dilations", &v);
    for (size_t i = 0; i < n; i++)
        if (v[i] != 1) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "dilations other than 1 are not supported");
    if (n && n != nk) return ot_node_err(k, OCTET_ERR_SHAPE, "dilations must have %zu entries", nk);
    p->kernel_size = 1;
    for (int i = 0; i < p->nsp; i++) {
        p->kernel[i] = ks[i];
        if (ks[i] <= 0) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape must be positive");
        p->kernel_size *= ks[i];
        p->stride[i] = 1;
        p->pads[i] = p->pads[i + p->nsp] = 0;
        p->in[i] = x->dims[p->channels_last ? 1 + i : 2 + i];
    }
    n = ot_node_attr_ints(k->node, "strides", &v);
    if (n && n != nk) return ot_node_err(k, OCTET_ERR_SHAPE, "strides must have %zu entries", nk);
    for (size_t i = 0; i < n; i++) {
        if (v[i] <= 0) return ot_node_err(k, OCTET_ERR_SHAPE, "strides must be positive");
        p->stride[i] = v[i];
    }
    n = ot_node_attr_ints(k->node, "pads", &v);
    if (n && n != 2 * nk) return ot_node_err(k, OCTET_ERR_SHAPE, "pads must have %zu entries", 2 * nk);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "pads must be >= 0");
        p->pads[i] = v[i];
    }
    for (int i = 0; i < p->nsp; i++)
        if (p->pads[i] >= p->kernel[i] || p->pads[i + p->nsp] >= p->kernel[i])
            return ot_node_err(k, OCTET_ERR_SHAPE, "pads must be smaller than the kernel");
    const char *ap = ot_node_attr_string(k->node, "auto_pad", "NOTSET");
    int mode = strcmp(ap, "NOTSET") == 0 ? 0 : strcmp(ap, "VALID") == 0 ? 1 : strcmp(ap, "SAME_UPPER") == 0 ? 2
             : strcmp(ap, "SAME_LOWER") == 0 ? 3 : -1;
    if (mode < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "unknown auto_pad '%s'", ap);
    for (int i = 0; i < p->nsp; i++) {
        int64_t in = p->in[i], s = p->stride[i], kk = p->kernel[i], pad;
        if (mode == 1) {
            p->pads[i] = p->pads[i + p->nsp] = 0;
        } else if (mode >= 2) {
            int64_t target = (in + s - 1) / s, need = (target - 1) * s + kk - in;
            p->pads[i] = mode == 3 ? (need + 1) / 2 : need / 2;
            p->pads[i + p->nsp] = need - p->pads[i];
        }
        pad = p->pads[i] + p->pads[i + p->nsp];
        float t = (float)(in + pad - (kk - 1) - 1) / (float)s + 1.0f;
        int64_t o = (int64_t)(ceil_mode ? ceilf(t) : t);
        if (o < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "the kernel is larger than the padded input");
        p->out[i] = o;
    }
    return OCTET_OK;
}

typedef struct apool_run {
    const apool *p;
    const pool_q *q;
    const float *xf;   /* dequantized input, NCHW or NHWC as given */
    void *y;
    int64_t C, x_image, y_image;
} apool_run;

/* One output position (o[0..nsp)) of channel c in batch n: ORT's QLinearPool{1,2,3}DTask arithmetic. */
static void apool_point(const apool_run *r, int64_t n, int64_t c, const int64_t *o, int64_t yidx) {
    const apool *p = r->p;
    int64_t st[MAX_SP] = {0, 0, 0}, en[MAX_SP] = {1, 1, 1}, cnt = 1;
    for (int i = 0; i < p->nsp; i++) {
        int64_t s = o[i] * p->stride[i] - p->pads[i];
        int64_t e = s + p->kernel[i] < p->in[i] ? s + p->kernel[i] : p->in[i];
        st[i] = s > 0 ? s : 0;
        en[i] = e;
        cnt *= e - st[i];
    }
    int64_t in1 = p->nsp > 1 ? p->in[1] : 1, in2 = p->nsp > 2 ? p->in[2] : 1;
    float sum = 0.0f;
    for (int64_t h = st[0]; h < en[0]; h++)
        for (int64_t w = st[1]; w < en[1]; w++)
            for (int64_t d = st[2]; d < en[2]; d++) {
                int64_t sp = (h * in1 + w) * in2 + d;
                int64_t xi = p->channels_last ? (n * r->x_image + sp) * r->C + c : (n * r->C + c) * r->x_image + sp;
                sum += r->xf[xi];
            }
    sum /= (float)(p->include_pad ? p->kernel_size : cnt);
    float v = nearbyintf(sum / r->q->ys + (float)r->q->yz);
    int32_t iv = v >= -2147483648.0f && v < 2147483648.0f ? (int32_t)v : INT32_MIN;
    int32_t lo = qc_qmin(r->q->dt), hi = qc_qmax(r->q->dt);
    iv = iv < lo ? lo : iv > hi ? hi : iv;
    if (r->q->dt == OCTET_INT8) ((int8_t *)r->y)[yidx] = (int8_t)iv;
    else ((uint8_t *)r->y)[yidx] = (uint8_t)iv;
}

octet_status qc_avgpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 4, 5));
    pool_q q;
    OT_TRY(read_q(k, in, n_in, &q));
    const octet_tensor *x = in[0];
    if (x->ndim < 3) return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 3, got %d", x->ndim);
    apool p;
    OT_TRY(apool_attrs(k, x, &p));
    int64_t N = x->dims[0], C = p.channels_last ? x->dims[x->ndim - 1] : x->dims[1];
    int64_t dims[OCTET_MAX_DIMS] = {N};
    dims[p.channels_last ? x->ndim - 1 : 1] = C;
    int64_t x_image = 1, y_image = 1;
    for (int i = 0; i < p.nsp; i++) {
        dims[p.channels_last ? 1 + i : 2 + i] = p.out[i];
        x_image *= p.in[i];
        y_image *= p.out[i];
    }
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], q.dt, x->ndim, dims));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;
    /* a kernel equal to the unpadded input: ORT's global average path */
    bool global = true;
    for (int i = 0; i < p.nsp; i++) global = global && p.kernel[i] == p.in[i];
    for (int i = 0; i < 2 * p.nsp; i++) global = global && p.pads[i] == 0;
    if (global) {
        return global_avg(x->data, out[0]->data, N, C, x_image, p.channels_last, &q, k->threads);
    }
    int64_t nx = ot_tensor_numel(x);
    float *xf = ot_malloc((size_t)(nx > 0 ? nx : 1) * sizeof *xf);
    if (!xf) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool sgn = q.dt == OCTET_INT8;
    for (int64_t i = 0; i < nx; i++) xf[i] = q.xs * (float)(ld8(x->data, i, sgn) - q.xz);
    apool_run r = {&p, &q, xf, out[0]->data, C, x_image, y_image};
    int64_t total = N * C * y_image;
    int T = ot_par_threads(k->threads, total * p.kernel_size);
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
    for (int64_t idx = 0; idx < total; idx++) {
        /* idx in output memory order */
        int64_t n, c, sp;
        if (p.channels_last) {
            c = idx % C;
            sp = (idx / C) % y_image;
            n = idx / C / y_image;
        } else {
            sp = idx % y_image;
            c = (idx / y_image) % C;
            n = idx / y_image / C;
        }
        int64_t o[MAX_SP] = {0, 0, 0}, rest = sp;
        for (int i = p.nsp - 1; i >= 0; i--) {
            o[i] = rest % p.out[i];
            rest /= p.out[i];
        }
        apool_point(&r, n, c, o, idx);
    }
    free(xf);
    return OCTET_OK;
}
