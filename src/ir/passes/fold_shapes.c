/* Shape folding: once every value's shape is known and static, Shape and Size are constants, and the
 * shape arithmetic that follows them (Gather, Unsqueeze, Concat, ... into Reshape) folds away. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"

static bool static_shape(const ot_value_info *vi) {
    if (!vi || vi->ndim < 0) return false;
    for (int d = 0; d < vi->ndim; d++)
        if (vi->dims[d].value < 0) return false;
    return true;
}

octet_status ot_pass_fold_shapes(octet_model *m, int *folded) {
    ot_graph *g = m->graph;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node *node = g->nodes[i];
        bool is_shape = strcmp(node->op_type, "Shape") == 0, is_size = strcmp(node->op_type, "Size") == 0;
        if (!ot_domain_is_onnx(node->domain) || (!is_shape && !is_size) || node->n_inputs < 1 || node->n_outputs < 1)
            continue;
        const ot_value_info *vi = ot_graph_value_info(g, node->inputs[0]);
        const ot_initializer *init = ot_graph_find_initializer(g, node->inputs[0]);
        int ndim;
        int64_t dims[OCTET_MAX_DIMS];
        if (init) {
            ndim = init->tensor->ndim;
            memcpy(dims, init->tensor->dims, sizeof dims);
        } else if (static_shape(vi)) {
            ndim = vi->ndim;
            for (int d = 0; d < ndim; d++) dims[d] = vi->dims[d].value;
        } else {
            continue;
        }
        octet_tensor *t;
        if (is_shape) {
            int64_t start = ot_node_attr_int(node, "start", 0), end = ot_node_attr_int(node, "end", ndim);
            if (start < 0) start += ndim;
            if (end < 0) end += ndim;
            if (start < 0) start = 0;
            if (end > ndim) end = ndim;
            int64_t len = end > start ? end - start : 0;
            t = ot_tensor_new(OCTET_INT64, 1, &len);
            if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            for (int64_t d = 0; d < len; d++) ((int64_t *)t->data)[d] = dims[start + d];
        } else {
            t = ot_tensor_new(OCTET_INT64, 0, NULL);
            if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            *(int64_t *)t->data = ot_shape_numel(ndim, dims);
        }
        OT_TRY(ot_graph_add_initializer(g, node->outputs[0], t));
        ot_graph_remove_node(g, i);
        i--;
        n++;
    }
    int f = 0, r = 0;
    OT_TRY(ot_pass_fold_constants(m, 0, &f));
    OT_TRY(ot_pass_dce(m, &r));
    if (folded) *folded = n + f;
    return OCTET_OK;
}
