/* QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (ONNX), per-tensor and per-axis.
 * Numerics as the ONNX spec and ONNX Runtime: q = saturate(round_half_even(x / scale) + zp) computed in
 * float32 (a division, not a multiply by the reciprocal); dq = (q - zp) * scale. */
#include <math.h>
#include <string.h>

#include "ops/op.h"
#include "kernels/quant_vec.h"
#include "quant/qparams.h"

static bool is_q_type(octet_dtype d) {
    return d == OCTET_UINT8 || d == OCTET_INT8 || d == OCTET_UINT16 || d == OCTET_INT16;
}

/* Resolve the per-tensor / per-axis layout of scale (and zero point) against x:
 * outer x axis_len x inner, where scale has axis_len entries (1 for per-tensor). */
static octet_status qaxis_layout(const ot_kernel *k, const octet_tensor *x, const octet_tensor *scale,
                                 const octet_tensor *zp, int64_t *outer, int64_t *axis_len, int64_t *inner) {
    int64_t ns = ot_tensor_numel(scale);
    if (zp && ot_tensor_numel(zp) != ns)
        return ot_node_err(k, OCTET_ERR_SHAPE, "zero point has %lld elements, scale has %lld",
                           (long long)ot_tensor_numel(zp), (long long)ns);
    if (ot_node_attr_int(k->node, "block_size", 0) != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "blocked quantization (block_size) is not supported");
    if (scale->ndim == 0 || (scale->ndim == 1 && ns == 1 && k->opset < 13)) {
        *outer = 1;
        *axis_len = 1;
        *inner = ot_tensor_numel(x);
        return OCTET_OK;
    }
    if (scale->ndim != 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "scale must be a scalar or 1-D, got rank %d", scale->ndim);
    if (ns == 1 && x->ndim == 0) {
        *outer = *axis_len = *inner = 1;
        return OCTET_OK;
    }
    int axis;
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", 1), x->ndim, &axis));
    if (x->dims[axis] != ns) {
        if (ns == 1) { /* a 1-element 1-D scale is per-tensor */
            *outer = 1;
            *axis_len = 1;
            *inner = ot_tensor_numel(x);
            return OCTET_OK;
        }
        return ot_node_err(k, OCTET_ERR_SHAPE, "scale has %lld entries but axis %d of the input has %lld",
                           (long long)ns, axis, (long long)x->dims[axis]);
    }
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= x->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) *inner *= x->dims[i];
    *axis_len = ns;
    return OCTET_OK;
}

static octet_status quantize_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 3));
    const octet_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    OT_TRY(ot_check_dtype(k, scale, 1, OCTET_FLOAT));
    octet_dtype qt = zp ? zp->dtype : OCTET_UINT8;
    if (ot_node_attr(k->node, "output_dtype") && !zp) qt = (octet_dtype)ot_node_attr_int(k->node, "output_dtype", 2);
    if (!is_q_type(qt))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "quantized type %s is not supported", octet_dtype_name(qt));
    int64_t outer, alen, inner;
    OT_TRY(qaxis_layout(k, x, scale, zp, &outer, &alen, &inner));
    OT_TRY(ot_tensor_alloc(out[0], qt, x->ndim, x->dims));
    const float *xs = x->data, *ss = scale->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t a = 0; a < alen; a++) {
            float s = ss[a];
            int32_t z = zp ? (int32_t)ot_tensor_get_i64(zp, a) : 0;
            int64_t base = (o * alen + a) * inner;
            ot_quantize_f32(xs + base, inner, s, z, qt, (char *)out[0]->data + base * (int64_t)octet_dtype_size(qt));
        }
    return OCTET_OK;
}

static octet_status dequantize_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 3));
    const octet_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
    OT_TRY(ot_check_dtype(k, scale, 1, OCTET_FLOAT));
    if (!is_q_type(x->dtype) && x->dtype != OCTET_INT32)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "cannot dequantize %s", octet_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "zero point is %s but input is %s", octet_dtype_name(zp->dtype),
                           octet_dtype_name(x->dtype));
    int64_t outer, alen, inner;
    OT_TRY(qaxis_layout(k, x, scale, zp, &outer, &alen, &inner));
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    const float *ss = scale->data;
    float *y = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t a = 0; a < alen; a++) {
            float s = ss[a];
            int32_t z = zp ? (int32_t)ot_tensor_get_i64(zp, a) : 0;
            int64_t base = (o * alen + a) * inner;
            if (x->dtype == OCTET_UINT8 || x->dtype == OCTET_INT8) {
                ot_qvec_dequantize((const int8_t *)x->data + base, x->dtype == OCTET_INT8, (size_t)inner, s, z, y + base);
                continue;
            }
            for (int64_t i = 0; i < inner; i++)
                y[base + i] = (float)((int32_t)ot_tensor_get_i64(x, base + i) - z) * s;
        }
    return OCTET_OK;
}

static octet_status dynq_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    if (n_out < 3 || !out[0])
        return ot_node_err(k, OCTET_ERR_PARSE, "needs outputs y, y_scale, y_zero_point");
    const octet_tensor *x = in[0];
    OT_TRY(ot_tensor_alloc(out[0], OCTET_UINT8, x->ndim, x->dims));
    float scale;
    uint8_t zp;
    ot_qvec_dynamic_quantize_u8(x->data, (size_t)ot_tensor_numel(x), out[0]->data, &scale, &zp);
    if (out[1]) {
        OT_TRY(ot_tensor_alloc(out[1], OCTET_FLOAT, 0, NULL));
        *(float *)out[1]->data = scale;
    }
    if (out[2]) {
        OT_TRY(ot_tensor_alloc(out[2], OCTET_UINT8, 0, NULL));
        *(uint8_t *)out[2]->data = zp;
    }
    return OCTET_OK;
}

const ot_op_def ot_ops_quantize[] = {
    {"", "QuantizeLinear", NULL, quantize_run, NULL},
    {"", "DequantizeLinear", NULL, dequantize_run, NULL},
    {"", "DynamicQuantizeLinear", NULL, dynq_run, NULL},
    {"com.microsoft", "QuantizeLinear", NULL, quantize_run, NULL},
    {"com.microsoft", "DequantizeLinear", NULL, dequantize_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
