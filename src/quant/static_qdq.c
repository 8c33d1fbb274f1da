/* Static quantization, QDQ form: insert QuantizeLinear -> DequantizeLinear pairs on the activations that
 * calibration measured, and store weights as int8 with a DequantizeLinear, so any QDQ-aware runtime
 * (octet, ONNX Runtime, TensorRT) runs the quantized ops on integers. What gets quantized:
 * static_select.c; constants: static_weights.c; the QOperator form is made from this one (qoperator.c). */
#include "quant/static_qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "quant/opset_raise.h"
#include "quant/qoperator.h"
#include "quant/qparams.h"
#include "quant/static_internal.h"
#include "util/mem.h"

static octet_status add_scalar(ot_graph *g, const char *base, const char *suffix, octet_dtype dt, double v,
                               char **name) {
    octet_tensor *t = ot_tensor_new(dt, 0, NULL);
    *name = ot_graph_unique_name(g, base, suffix);
    if (!t || !*name) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    ot_tensor_set_f64(t, 0, v);
    return ot_graph_add_initializer(g, *name, t);
}

/* Rename every definition of `from` (node output) to `to`. */
static void rename_output(ot_graph *g, const char *from, const char *to) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], from) == 0) {
                char *d = ot_strdup(to);
                if (!d) continue;
                free(g->nodes[i]->outputs[o]);
                g->nodes[i]->outputs[o] = d;
            }
}

static void rename_reads(ot_graph *g, const char *from, const char *to, int skip_node) {
    for (int i = 0; i < g->n_nodes; i++) {
        if (i == skip_node) continue;
        for (int j = 0; j < g->nodes[i]->n_inputs; j++)
            if (strcmp(g->nodes[i]->inputs[j], from) == 0) {
                char *d = ot_strdup(to);
                if (!d) continue;
                free(g->nodes[i]->inputs[j]);
                g->nodes[i]->inputs[j] = d;
            }
    }
}

static bool is_graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    return false;
}

/* T -> Q -> DQ: a node output is renamed T_preq (so T becomes the DQ's output and readers keep their
 * names); a graph input keeps its name and its readers move to the DQ's output. */
static octet_status insert_qdq(ot_graph *g, const char *t, const ot_qdq_params *p, octet_dtype qt, char **float_name,
                               char **dq_name) {
    char *s = NULL, *z = NULL, *pre = NULL, *qname = NULL, *dq_out = NULL;
    octet_status st = add_scalar(g, t, "_scale", OCTET_FLOAT, p->scale, &s);
    if (st == OCTET_OK) st = add_scalar(g, t, "_zero_point", qt, p->zero_point, &z);
    if (st == OCTET_OK && !(qname = ot_graph_unique_name(g, t, "_quantized"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool input = is_graph_input(g, t);
    if (st == OCTET_OK) {
        if (input) {
            if (!(dq_out = ot_graph_unique_name(g, t, "_dequantized"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            if (st == OCTET_OK) rename_reads(g, t, dq_out, -1);
            pre = ot_strdup(t);
        } else {
            if (!(pre = ot_graph_unique_name(g, t, "_preq"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            if (st == OCTET_OK) {
                rename_output(g, t, pre);
                dq_out = ot_strdup(t);
            }
        }
    }
    if (st == OCTET_OK) {
        const char *qin[3] = {pre, s, z};
        char *qn = ot_graph_unique_name(g, t, "_QuantizeLinear");
        st = qn ? ot_sq_add_node(g, "QuantizeLinear", qn, 3, qin, qname, NULL) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(qn);
    }
    if (st == OCTET_OK) {
        const char *din[3] = {qname, s, z};
        char *dn = ot_graph_unique_name(g, t, "_DequantizeLinear");
        st = dn ? ot_sq_add_node(g, "DequantizeLinear", dn, 3, din, dq_out, NULL) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(dn);
    }
    free(s);
    free(z);
    free(qname);
    if (st == OCTET_OK) {
        *float_name = pre;
        *dq_name = dq_out;
    } else {
        free(pre);
        free(dq_out);
    }
    return st;
}

static bool excluded(const ot_static_config *cfg, const ot_node *n) {
    for (int i = 0; i < cfg->n_exclude; i++)
        if (cfg->exclude[i] && (strcmp(cfg->exclude[i], n->name) == 0 || strcmp(cfg->exclude[i], n->op_type) == 0))
            return true;
    return false;
}

/* An excluded node reads the float tensor before the QuantizeLinear, never the DequantizeLinear: it stays
 * float even where its neighbours quantize both its input and output (no DQ -> op -> Q for a runtime to
 * fuse), and it sees unrounded values. */
static octet_status unquantize_excluded(ot_graph *g, const ot_static_config *cfg, int n_nodes, const char *float_name,
                                        const char *dq_name) {
    for (int i = 0; i < n_nodes; i++) {
        ot_node *n = g->nodes[i];
        if (!excluded(cfg, n)) continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (strcmp(n->inputs[j], dq_name) == 0) {
                char *d = ot_strdup(float_name);
                if (!d) return ot_err(OCTET_ERR_NOMEM, "out of memory");
                free(n->inputs[j]);
                n->inputs[j] = d;
            }
    }
    return OCTET_OK;
}

ot_static_config ot_static_config_default(void) {
    ot_static_config c = {0};
    c.activation_type = OCTET_UINT8;
    c.weight_type = OCTET_INT8;
    c.per_channel = true;
    c.symmetric_weights = true;
    return c;
}

octet_status ot_quantize_static_qdq(octet_model *m, const ot_calib *cal, const ot_static_config *cfg, int *n_quantized) {
    if (n_quantized) *n_quantized = 0;
    if (cfg->activation_type != OCTET_UINT8 && cfg->activation_type != OCTET_INT8)
        return ot_err(OCTET_ERR_INVALID_ARG, "activations must be uint8 or int8");
    if (cfg->weight_type != OCTET_UINT8 && cfg->weight_type != OCTET_INT8)
        return ot_err(OCTET_ERR_INVALID_ARG, "weights must be int8 or uint8");
    /* per-axis DequantizeLinear (weights, biases) needs opset 13; octet_static_prepare raised it already
     * when it ran (before calibration, so the rewritten ops' tensors were observed) */
    OT_TRY(ot_raise_opset(m, 13));
    ot_graph *g = m->graph;
    ot_qplan p;
    OT_TRY(ot_sq_select(g, cal, cfg, &p));
    octet_status st = OCTET_OK;
    /* weights and biases (the bias scale needs the input activation's scale), constant operands */
    for (int i = 0; i < p.n_weighted && st == OCTET_OK; i++) {
        int xi = ot_qplan_find(&p, g->nodes[p.weighted[i]]->inputs[0]);
        st = ot_sq_quantize_weights(g, p.weighted[i], xi >= 0 ? p.t[xi].p.scale : 0.0f, cfg);
    }
    for (int i = 0; i < p.n_consts && st == OCTET_OK; i++) st = ot_sq_quantize_const(g, p.consts[i].node, p.consts[i].slot, cfg);
    int n_model_nodes = g->n_nodes;
    for (int i = 0; i < p.n && st == OCTET_OK; i++) {
        char *fl = NULL, *dq = NULL;
        st = insert_qdq(g, p.t[i].name, &p.t[i].p, cfg->activation_type, &fl, &dq);
        if (st == OCTET_OK && cfg->n_exclude) st = unquantize_excluded(g, cfg, n_model_nodes, fl, dq);
        free(fl);
        free(dq);
    }
    int nq = p.n_nodes;
    ot_qplan_free(&p);
    if (st == OCTET_OK) st = ot_pass_dce(m, NULL);
    if (st == OCTET_OK && cfg->qoperator) st = ot_qdq_to_qoperator_file(m, NULL);
    if (st == OCTET_OK && n_quantized) *n_quantized = nq;
    return st;
}
