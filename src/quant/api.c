/* The public quantization API (include/octet.h) over the internal passes. */
#include <stdlib.h>

#include "ir/passes/passes.h"
#include "quant/calibrate.h"
#include "quant/dynamic.h"
#include "quant/static_qdq.h"

octet_dynamic_config octet_dynamic_config_default(void) {
    ot_dynamic_config d = ot_dynamic_config_default();
    octet_dynamic_config c = {0};
    c.weight_type = d.weight_type;
    c.per_channel = d.per_channel;
    c.symmetric_weights = d.symmetric_weights;
    c.reduce_range = d.reduce_range;
    c.form = (octet_dynamic_form)d.form;
    c.ort_compatible = d.ort_compatible;
    return c;
}

octet_status octet_quantize_dynamic(octet_model *m, const octet_dynamic_config *cfg) {
    if (!m) return ot_err(OCTET_ERR_INVALID_ARG, "octet_quantize_dynamic: NULL model");
    octet_dynamic_config c = cfg ? *cfg : octet_dynamic_config_default();
    ot_dynamic_config d = ot_dynamic_config_default();
    d.op_types = c.op_types;
    d.n_op_types = c.n_op_types;
    d.weight_type = c.weight_type ? c.weight_type : OCTET_INT8;
    d.per_channel = c.per_channel != 0;
    d.symmetric_weights = c.symmetric_weights != 0;
    d.reduce_range = c.reduce_range != 0;
    d.exclude = c.exclude;
    d.n_exclude = c.n_exclude;
    d.form = (ot_dynamic_form)c.form;
    d.ort_compatible = c.ort_compatible != 0;
    return ot_quantize_dynamic(m, &d, NULL);
}

struct octet_calibrator {
    ot_calib *c;
};

octet_static_config octet_static_config_default(void) {
    ot_static_config d = ot_static_config_default();
    octet_static_config c = {0};
    c.activation_type = d.activation_type;
    c.weight_type = d.weight_type;
    c.per_channel = d.per_channel;
    c.symmetric_weights = d.symmetric_weights;
    c.symmetric_activations = d.symmetric_activations;
    c.reduce_range = d.reduce_range;
    c.weight_bits = d.weights_7bit ? 7 : 8;
    return c;
}

octet_status octet_static_prepare(octet_model *m) {
    if (!m) return ot_err(OCTET_ERR_INVALID_ARG, "octet_static_prepare: NULL model");
    return ot_static_prepare(m, NULL);
}

octet_calibrator_options octet_calibrator_options_default(void) {
    ot_calib_options d = ot_calib_options_default();
    octet_calibrator_options o = {0};
    o.threads = d.threads;
    o.method = (octet_calib_method)d.method;
    o.percentile = d.percentile;
    o.ema_constant = d.ema_constant;
    o.bins = d.bins;
    return o;
}

octet_status octet_calibrator_create(octet_calibrator **out, const octet_model *m, const octet_calibrator_options *opts) {
    if (!out || !m) return ot_err(OCTET_ERR_INVALID_ARG, "octet_calibrator_create: NULL argument");
    octet_calibrator_options p = opts ? *opts : octet_calibrator_options_default();
    ot_calib_options o = ot_calib_options_default();
    o.threads = p.threads > 0 ? p.threads : 1;
    o.method = (ot_calib_method)p.method;
    o.percentile = p.percentile;   /* 0 = default; ot_calib_create rejects values out of range */
    o.ema_constant = p.ema_constant;
    o.bins = p.bins;
    *out = calloc(1, sizeof **out);
    if (!*out) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = ot_calib_create(&(*out)->c, m, &o);
    if (s != OCTET_OK) {
        free(*out);
        *out = NULL;
    }
    return s;
}

octet_status octet_calibrator_feed(octet_calibrator *c, octet_tensor *const *inputs, int n_in) {
    if (!c || (n_in && !inputs)) return ot_err(OCTET_ERR_INVALID_ARG, "octet_calibrator_feed: NULL argument");
    return ot_calib_feed(c->c, inputs, n_in);
}

octet_status octet_calibrator_merge(octet_calibrator *dst, const octet_calibrator *src) {
    if (!dst || !src) return ot_err(OCTET_ERR_INVALID_ARG, "octet_calibrator_merge: NULL argument");
    return ot_calib_merge(dst->c, src->c);
}

void octet_calibrator_free(octet_calibrator *c) {
    if (!c) return;
    ot_calib_free(c->c);
    free(c);
}

octet_status octet_quantize_static(octet_model *m, const octet_calibrator *c, const octet_static_config *cfg) {
    if (!m || !c) return ot_err(OCTET_ERR_INVALID_ARG, "octet_quantize_static: NULL argument");
    octet_static_config p = cfg ? *cfg : octet_static_config_default();
    ot_static_config s = ot_static_config_default();
    s.activation_type = p.activation_type ? p.activation_type : OCTET_UINT8;
    s.weight_type = p.weight_type ? p.weight_type : OCTET_INT8;
    s.per_channel = p.per_channel != 0;
    s.symmetric_weights = p.symmetric_weights != 0;
    s.symmetric_activations = p.symmetric_activations != 0;
    s.reduce_range = p.reduce_range != 0;
    if (p.weight_bits != 0 && p.weight_bits != 7 && p.weight_bits != 8)
        return ot_err(OCTET_ERR_INVALID_ARG, "octet_quantize_static: weight_bits %d is neither 8 nor 7", p.weight_bits);
    s.weights_7bit = p.weight_bits == 7;
    s.exclude = p.exclude;
    s.n_exclude = p.n_exclude;
    if (p.format != OCTET_FORMAT_QDQ && p.format != OCTET_FORMAT_QOPERATOR)
        return ot_err(OCTET_ERR_INVALID_ARG, "octet_quantize_static: unknown format %d", (int)p.format);
    s.qoperator = p.format == OCTET_FORMAT_QOPERATOR;
    return ot_quantize_static_qdq(m, c->c, &s, NULL);
}
