/* Conv + activation -> com.microsoft FusedConv, so the activation runs in the convolution's epilogue
 * while the output is still in cache instead of as a second pass over memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"

/* Clip bounds from attributes (opset < 11) or constant inputs; false if they are not constant. */
static bool clip_bounds(const ot_graph *g, const ot_node *clip, int64_t opset, float *lo, float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (opset < 11) {
        *lo = ot_node_attr_float(clip, "min", -INFINITY);
        *hi = ot_node_attr_float(clip, "max", INFINITY);
        return true;
    }
    for (int j = 1; j < 3; j++) {
        const char *name = ot_node_input(clip, j);
        if (!name) continue;
        const ot_initializer *in = ot_graph_find_initializer(g, name);
        if (!in || in->tensor->dtype != OCTET_FLOAT || ot_tensor_numel(in->tensor) != 1) return false;
        for (int i = 0; i < g->n_inputs; i++)
            if (strcmp(g->inputs[i].name, name) == 0) return false;
        *(j == 1 ? lo : hi) = *(const float *)in->tensor->data;
    }
    return true;
}

octet_status ot_pass_fuse_conv_activation(octet_model *m, int *fused) {
    ot_graph *g = m->graph;
    int64_t opset = ot_model_opset(m, "");
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node *c = g->nodes[i];
        if (!ot_domain_is_onnx(c->domain) || strcmp(c->op_type, "Conv") != 0 || c->n_outputs != 1) continue;
        if (ot_graph_count_reads(g, c->outputs[0]) != 1) continue;
        int ai = ot_graph_find_reader(g, c->outputs[0]);
        if (ai < 0) continue;
        ot_node *a = g->nodes[ai];
        if (!ot_domain_is_onnx(a->domain) || a->n_outputs != 1 || strcmp(a->inputs[0], c->outputs[0]) != 0) continue;
        float params[2];
        int np = 0;
        const char *act = a->op_type;
        if (strcmp(act, "Relu") == 0 || strcmp(act, "Sigmoid") == 0 || strcmp(act, "Tanh") == 0) {
            np = 0;
        } else if (strcmp(act, "Clip") == 0) {
            if (!clip_bounds(g, a, opset, &params[0], &params[1])) continue;
            np = 2;
        } else if (strcmp(act, "LeakyRelu") == 0) {
            params[0] = ot_node_attr_float(a, "alpha", 0.01f);
            np = 1;
        } else if (strcmp(act, "HardSigmoid") == 0) {
            params[0] = ot_node_attr_float(a, "alpha", 0.2f);
            params[1] = ot_node_attr_float(a, "beta", 0.5f);
            np = 2;
        } else {
            continue;
        }
        /* Rewrite in place: Conv keeps its inputs and attributes, takes the activation's output. */
        OT_TRY(ot_node_set_op(c, "com.microsoft", "FusedConv"));
        OT_TRY(ot_node_add_attr_string(c, "activation", act));
        if (np) OT_TRY(ot_node_add_attr_floats(c, "activation_params", params, (size_t)np));
        const char *out = a->outputs[0];
        OT_TRY(ot_node_set_outputs(c, 1, &out));
        ot_graph_remove_node(g, ai);
        if (ai < i) i--;
        n++;
    }
    if (n && ot_model_opset(m, "com.microsoft") == 0) OT_TRY(ot_model_set_opset(m, "com.microsoft", 1));
    if (fused) *fused = n;
    return OCTET_OK;
}
