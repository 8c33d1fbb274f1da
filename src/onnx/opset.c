#include "onnx/opset.h"

#include <string.h>

#include "util/status.h"

const char *ot_onnx_domain_name(const char *domain) { return ot_domain_is_onnx(domain) ? "ai.onnx" : domain; }

static bool same_domain(const char *a, const char *b) {
    return ot_domain_is_onnx(a) ? ot_domain_is_onnx(b) : (b && strcmp(a, b) == 0);
}

octet_status ot_onnx_check_versions(const octet_model *m) {
    if (m->ir_version < OT_ONNX_IR_MIN || m->ir_version > OT_ONNX_IR_MAX)
        return ot_err(m->ir_version <= 0 ? OCTET_ERR_PARSE : OCTET_ERR_UNSUPPORTED,
                      "ONNX IR version %lld is not supported (octet reads IR versions %d..%d)",
                      (long long)m->ir_version, OT_ONNX_IR_MIN, OT_ONNX_IR_MAX);
    for (int i = 0; i < m->n_opsets; i++) {
        const ot_opset *o = &m->opsets[i];
        if (o->version < 1)
            return ot_err(OCTET_ERR_PARSE, "opset import for domain '%s' has version %lld",
                          ot_onnx_domain_name(o->domain), (long long)o->version);
        for (int j = 0; j < i; j++)
            if (same_domain(o->domain, m->opsets[j].domain) && o->version != m->opsets[j].version)
                return ot_err(OCTET_ERR_PARSE, "domain '%s' is imported twice, as opset %lld and %lld",
                              ot_onnx_domain_name(o->domain), (long long)m->opsets[j].version,
                              (long long)o->version);
        if (ot_domain_is_onnx(o->domain) && (o->version < OT_ONNX_OPSET_MIN || o->version > OT_ONNX_OPSET_MAX))
            return ot_err(OCTET_ERR_UNSUPPORTED, "ai.onnx opset %lld is not supported (octet runs opsets %d..%d)",
                          (long long)o->version, OT_ONNX_OPSET_MIN, OT_ONNX_OPSET_MAX);
    }
    return OCTET_OK;
}

static octet_status check_graph(const octet_model *m, const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        if (ot_model_opset(m, n->domain) > 0) continue;
        if (n->name && *n->name)
            return ot_err(OCTET_ERR_PARSE, "%s node '%s' uses domain '%s', which the model does not import",
                          n->op_type, n->name, ot_onnx_domain_name(n->domain));
        return ot_err(OCTET_ERR_PARSE, "%s node #%d uses domain '%s', which the model does not import", n->op_type,
                      i, ot_onnx_domain_name(n->domain));
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        for (int a = 0; a < n->n_attrs; a++) {
            const ot_attr *at = &n->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g) OT_TRY(check_graph(m, at->g));
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && at->graphs && k < at->n; k++)
                OT_TRY(check_graph(m, at->graphs[k]));
        }
    }
    return OCTET_OK;
}

octet_status ot_onnx_check_node_domains(const octet_model *m) { return check_graph(m, m->graph); }
