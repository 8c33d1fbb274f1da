/* Collects every op family's table into one lookup. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"
#include "runtime/exec.h"

#define OT_LIST_FAMILY(name) ot_ops_##name,
static const ot_op_def *const g_families[] = {OT_OP_FAMILIES(OT_LIST_FAMILY)};
#undef OT_LIST_FAMILY

static bool same_domain(const char *a, const char *b) {
    if (ot_domain_is_onnx(a)) return ot_domain_is_onnx(b);
    return b && strcmp(a, b) == 0;
}

const ot_op_def *ot_op_find(const char *domain, const char *op_type) {
    for (size_t f = 0; f < sizeof g_families / sizeof *g_families; f++)
        for (const ot_op_def *d = g_families[f]; d->op_type; d++)
            if (strcmp(d->op_type, op_type) == 0 && same_domain(d->domain, domain)) return d;
    return NULL;
}

int ot_op_count(void) {
    int n = 0;
    for (size_t f = 0; f < sizeof g_families / sizeof *g_families; f++)
        for (const ot_op_def *d = g_families[f]; d->op_type; d++) n++;
    return n;
}

const ot_op_def *ot_op_at(int i) {
    for (size_t f = 0; f < sizeof g_families / sizeof *g_families; f++)
        for (const ot_op_def *d = g_families[f]; d->op_type; d++)
            if (i-- == 0) return d;
    return NULL;
}

octet_status ot_node_err(const ot_kernel *k, octet_status s, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const ot_node *n = k->node;
    return ot_err(s, "%s node '%s'%s%s: %s", n->op_type, n->name, n->domain[0] ? " in domain " : "", n->domain, msg);
}

octet_status ot_check_inputs(const ot_kernel *k, const octet_tensor *const *in, int n_in, int lo, int hi) {
    if (n_in < lo || n_in > hi)
        return ot_node_err(k, OCTET_ERR_PARSE, "has %d inputs, expected %d to %d", n_in, lo, hi);
    for (int i = 0; i < lo; i++)
        if (!in[i]) return ot_node_err(k, OCTET_ERR_PARSE, "required input %d is missing", i);
    return OCTET_OK;
}

octet_status ot_check_dtype(const ot_kernel *k, const octet_tensor *t, int i, octet_dtype want) {
    if (t->dtype != want)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d is %s, expected %s", i, octet_dtype_name(t->dtype),
                           octet_dtype_name(want));
    return OCTET_OK;
}

octet_status ot_norm_axis(const ot_kernel *k, int64_t axis, int rank, int *out) {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank ? rank : 1))
        return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)a;
    return OCTET_OK;
}
