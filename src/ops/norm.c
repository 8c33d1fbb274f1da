/* Op family 'norm': BatchNormalization (inference), LayerNormalization, InstanceNormalization,
 * LpNormalization; float32. Statistics are accumulated in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"

/* ---- BatchNormalization: y = (x - mean) / sqrt(var + eps) * scale + B, per channel ---- */

static octet_status batchnorm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 5, 5));
    if (ot_node_attr_int(k->node, "training_mode", 0) != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
    for (int i = 0; i < 5; i++) OT_TRY(ot_check_dtype(k, in[i], i, OCTET_FLOAT));
    const octet_tensor *x = in[0];
    if (x->ndim < 2) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 2, got %d", x->ndim);
    float eps = ot_node_attr_float(k->node, "epsilon", 1e-5f);
    /* opset < 9: spatial=0 gives every element of one sample its own statistics */
    bool spatial = k->opset >= 9 || ot_node_attr_int(k->node, "spatial", 1) != 0;
    int64_t N = x->dims[0], C = x->dims[1], inner = 1;
    for (int i = 2; i < x->ndim; i++) inner *= x->dims[i];
    int64_t nparam = spatial ? C : C * inner;
    for (int i = 1; i < 5; i++)
        if (ot_tensor_numel(in[i]) != nparam || (spatial && in[i]->ndim != 1))
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d must hold %lld values (one per channel%s), got %lld", i,
                               (long long)nparam, spatial ? "" : " and position", (long long)ot_tensor_numel(in[i]));
    for (int i = 3; i < n_out; i++)
        if (out[i]) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "saved mean/variance outputs exist only in training");
    /* running mean / var outputs in inference are just the inputs */
    for (int i = 1; i < n_out && i < 3; i++)
        if (out[i]) OT_TRY(ot_tensor_copy_into(out[i], in[i + 2]));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    float *a = ot_malloc(sizeof(float) * (size_t)nparam * 2);
    if (!a) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    float *b = a + nparam;
    const float *sc = in[1]->data, *bi = in[2]->data, *mu = in[3]->data, *var = in[4]->data;
    for (int64_t c = 0; c < nparam; c++) {
        a[c] = (float)(sc[c] / sqrt((double)var[c] + eps));
        b[c] = bi[c] - mu[c] * a[c];
    }
    const float *xd = x->data;
    float *yd = out[0]->data;
    int64_t planes = N * C;
    int threads = (double)planes * inner < 65536.0 || planes < 2 ? 1 : k->threads;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        int64_t c = p % C;
        const float *xp = xd + p * inner;
        float *yp = yd + p * inner;
        if (spatial) {
            const float ac = a[c], bc = b[c];
            for (int64_t i = 0; i < inner; i++) yp[i] = xp[i] * ac + bc;
        } else {
            const float *ac = a + c * inner, *bc = b + c * inner;
            for (int64_t i = 0; i < inner; i++) yp[i] = xp[i] * ac[i] + bc[i];
        }
    }
    free(a);
    return OCTET_OK;
}

/* ---- InstanceNormalization: per (n, c) plane statistics ---- */

static octet_status instnorm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                 int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 3));
    for (int i = 0; i < 3; i++) OT_TRY(ot_check_dtype(k, in[i], i, OCTET_FLOAT));
    const octet_tensor *x = in[0];
    if (x->ndim < 3) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 3, got %d", x->ndim);
    int64_t N = x->dims[0], C = x->dims[1], inner = 1;
    for (int i = 2; i < x->ndim; i++) inner *= x->dims[i];
    for (int i = 1; i < 3; i++)
        if (in[i]->ndim != 1 || in[i]->dims[0] != C)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d must have shape [%lld]", i, (long long)C);
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    float eps = ot_node_attr_float(k->node, "epsilon", 1e-5f);
    const float *xd = x->data, *sc = in[1]->data, *bi = in[2]->data;
    float *yd = out[0]->data;
    int64_t planes = N * C;
    int threads = (double)planes * inner < 65536.0 || planes < 2 ? 1 : k->threads;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        int64_t c = p % C;
        const float *xp = xd + p * inner;
        float *yp = yd + p * inner;
        double s = 0, ss = 0;
        for (int64_t i = 0; i < inner; i++) s += xp[i];
        double mean = inner ? s / (double)inner : 0;
        for (int64_t i = 0; i < inner; i++) {
            double d = xp[i] - mean;
            ss += d * d;
        }
        double var = inner ? ss / (double)inner : 0;
        float a = (float)(sc[c] / sqrt(var + eps)), b = (float)(bi[c] - mean * (sc[c] / sqrt(var + eps)));
        for (int64_t i = 0; i < inner; i++) yp[i] = xp[i] * a + b;
    }
    return OCTET_OK;
}

/* ---- LayerNormalization: statistics over axes [axis, rank) ---- */

/* Strides (in elements) to read a tensor p that broadcasts (right-aligned) to dims[0..n). */
static bool bcast_strides(const octet_tensor *p, int n, const int64_t *dims, int64_t *str) {
    if (p->ndim > n) {
        /* leading dims of p beyond n must be 1 */
        for (int i = 0; i < p->ndim - n; i++)
            if (p->dims[i] != 1) return false;
    }
    int64_t acc = 1;
    for (int i = n - 1; i >= 0; i--) {
        int pi = i - (n - p->ndim);
        int64_t d = pi >= 0 ? p->dims[pi] : 1;
        if (d != 1 && d != dims[i]) return false;
        str[i] = d == 1 ? 0 : acc;
        acc *= d;
    }
    return true;
}

static octet_status layernorm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 3));
    const octet_tensor *x = in[0], *sc = in[1], *bi = n_in > 2 ? in[2] : NULL;
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    OT_TRY(ot_check_dtype(k, sc, 1, OCTET_FLOAT));
    if (bi) OT_TRY(ot_check_dtype(k, bi, 2, OCTET_FLOAT));
    int axis;
    if (x->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1");
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", -1), x->ndim, &axis));
    float eps = ot_node_attr_float(k->node, "epsilon", 1e-5f);
    int64_t outer = 1, norm = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis; i < x->ndim; i++) norm *= x->dims[i];
    /* Scale/B broadcast against the whole of X (usually they are exactly X[axis:]). */
    int64_t ss[OCTET_MAX_DIMS], bs[OCTET_MAX_DIMS];
    if (!bcast_strides(sc, x->ndim, x->dims, ss) || (bi && !bcast_strides(bi, x->ndim, x->dims, bs))) {
        char a[96], b[96];
        return ot_node_err(k, OCTET_ERR_SHAPE, "Scale %s / B do not broadcast to X %s",
                           ot_shape_str(a, sizeof a, sc->ndim, sc->dims), ot_shape_str(b, sizeof b, x->ndim, x->dims));
    }
    /* Fast case: Scale and B vary only inside the normalized block and cover it contiguously. */
    bool simple = ot_tensor_numel(sc) == norm && (!bi || ot_tensor_numel(bi) == norm);
    for (int i = 0; i < axis && simple; i++)
        if (ss[i] != 0 || (bi && bs[i] != 0)) simple = false;
    int64_t sdims[OCTET_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) sdims[i] = i < axis ? x->dims[i] : 1;
    if (out[0]) OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    octet_tensor *om = n_out > 1 ? out[1] : NULL, *oi = n_out > 2 ? out[2] : NULL;
    if (om) OT_TRY(ot_tensor_alloc(om, OCTET_FLOAT, x->ndim, sdims));
    if (oi) OT_TRY(ot_tensor_alloc(oi, OCTET_FLOAT, x->ndim, sdims));
    const float *xd = x->data, *sd = sc->data, *bd = bi ? bi->data : NULL;
    float *yd = out[0] ? out[0]->data : NULL;
    int threads = (double)outer * norm < 65536.0 || outer < 2 ? 1 : k->threads;
    int nd = x->ndim;
    const int64_t *dims = x->dims;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t r = 0; r < outer; r++) {
        const float *xp = xd + r * norm;
        double s = 0, sq = 0;
        for (int64_t i = 0; i < norm; i++) s += xp[i];
        double mean = norm ? s / (double)norm : 0;
        for (int64_t i = 0; i < norm; i++) {
            double d = xp[i] - mean;
            sq += d * d;
        }
        double inv = 1.0 / sqrt((norm ? sq / (double)norm : 0) + eps);
        if (om) ((float *)om->data)[r] = (float)mean;
        if (oi) ((float *)oi->data)[r] = (float)inv;
        if (!yd) continue;
        float *yp = yd + r * norm;
        const float fm = (float)mean, fi = (float)inv;
        if (simple) {
            for (int64_t i = 0; i < norm; i++) yp[i] = (xp[i] - fm) * fi * sd[i] + (bd ? bd[i] : 0.0f);
            continue;
        }
        /* general broadcast: walk the element's multi-index */
        for (int64_t i = 0; i < norm; i++) {
            int64_t flat = r * norm + i, so = 0, bo = 0;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t idx = flat % dims[d];
                flat /= dims[d];
                so += idx * ss[d];
                if (bd) bo += idx * bs[d];
            }
            yp[i] = (xp[i] - fm) * fi * sd[so] + (bd ? bd[bo] : 0.0f);
        }
    }
    return OCTET_OK;
}

/* ---- LpNormalization: x / ||x||_p along one axis ---- */

static octet_status lpnorm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    if (x->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1");
    int axis;
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", -1), x->ndim, &axis));
    int64_t p = ot_node_attr_int(k->node, "p", 2);
    if (p != 1 && p != 2) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "p must be 1 or 2, got %lld", (long long)p);
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    int64_t outer = 1, n = x->dims[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) inner *= x->dims[i];
    const float *xd = x->data;
    float *yd = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xp = xd + o * n * inner + j;
            float *yp = yd + o * n * inner + j;
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += p == 1 ? fabs((double)xp[i * inner]) : (double)xp[i * inner] * xp[i * inner];
            double nv = p == 1 ? s : sqrt(s);
            for (int64_t i = 0; i < n; i++) yp[i * inner] = nv != 0 ? (float)(xp[i * inner] / nv) : 0.0f;
        }
    return OCTET_OK;
}

const ot_op_def ot_ops_norm[] = {
    {"", "BatchNormalization", NULL, batchnorm_run, NULL},
    {"", "InstanceNormalization", NULL, instnorm_run, NULL},
    {"", "LayerNormalization", NULL, layernorm_run, NULL},
    {"", "LpNormalization", NULL, lpnorm_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
