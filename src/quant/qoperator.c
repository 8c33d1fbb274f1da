/* QDQ -> QOperator for files: the session-time fusion (ir/passes/qdq_fuse.c) in its portable mode, then a
 * check that nothing octet-specific is left (an attribute or op ONNX Runtime would refuse). */
#include "quant/qoperator.h"

#include <string.h>

#include "ir/passes/qdq_fuse.h"

static octet_status check_portable(const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        if (!ot_domain_is_onnx(n->domain) && strcmp(n->domain, "com.microsoft") != 0)
            return ot_err(OCTET_ERR_INTERNAL, "QOperator output: node '%s' is in domain '%s'", n->name, n->domain);
        if (strcmp(n->domain, "com.microsoft") == 0 && strncmp(n->op_type, "QLinear", 7) != 0 &&
            strcmp(n->op_type, "QGemm") != 0)
            return ot_err(OCTET_ERR_INTERNAL, "QOperator output: node '%s' is com.microsoft %s", n->name, n->op_type);
        for (int a = 0; a < n->n_attrs; a++)
            if (strncmp(n->attrs[a].name, "octet_", 6) == 0)
                return ot_err(OCTET_ERR_INTERNAL, "QOperator output: node '%s' has octet's attribute %s", n->name,
                              n->attrs[a].name);
    }
    return OCTET_OK;
}

octet_status ot_qdq_to_qoperator_file(octet_model *m, int *fused) {
    ot_qdq_fuse_options o = {.portable = true};
    OT_TRY(ot_pass_qdq_fuse(m, &o, fused));
    return check_portable(m->graph);
}
