/* The public session API over a plan: input binding and validation against the declared inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/fuse_hardswish.h"
#include "ir/passes/int8_layout.h"
#include "ir/passes/nchwc.h"
#include "ir/passes/passes.h"
#include "runtime/exec.h"
#include "runtime/threads.h"
#include "util/mem.h"

struct octet_session {
    octet_model *m;   /* private rewritable copy; initializers borrowed from the caller's model */
    ot_plan *plan;
    int threads;
};

/* Rewrites that make the graph cheaper to run without changing what it computes. The layout passes
 * (int8 NHWC, fp32 NCHWc) rename and re-lay-out intermediate tensors; tools that pair tensors by name
 * (per-layer compare) run without them. */
octet_status ot_session_optimize(octet_model *m, bool layout_passes) {
    OT_TRY(ot_pass_constants_to_initializers(m, NULL));
    OT_TRY(ot_pass_qdq_to_qoperator(m, NULL));
    OT_TRY(ot_pass_fold_constants(m, 0, NULL));
    OT_TRY(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, NULL));  /* one fused op for the NCHWc pass */
    OT_TRY(ot_pass_fold_batchnorm(m, NULL));
    OT_TRY(ot_pass_fuse_conv_activation(m, NULL));
    if (layout_passes) {
        OT_TRY(ot_pass_int8_nhwc(m, NULL));
        OT_TRY(ot_pass_nchwc(m, NULL));
    }
    return ot_pass_dce(m, NULL);
}

octet_status octet_session_create(octet_session **out, const octet_model *m, const octet_session_options *opts) {
    if (!out || !m) return ot_err(OCTET_ERR_INVALID_ARG, "octet_session_create: NULL argument");
    *out = NULL;
    octet_session *s = calloc(1, sizeof *s);
    if (!s) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    s->m = ot_model_clone_sharing_weights(m);
    if (!s->m) {
        free(s);
        return ot_err(OCTET_ERR_NOMEM, "out of memory copying the graph");
    }
    s->threads = ot_threads_resolve(opts ? opts->threads : 0);
    ot_threads_apply(s->threads);
    bool opt = !(opts && opts->disable_graph_optimizations);
    octet_status st = opt ? ot_session_optimize(s->m, true) : OCTET_OK;
    ot_plan_options po = {.threads = s->threads, .fold_constants = opt, .profile = opts && opts->profile};
    if (st == OCTET_OK) st = ot_plan_create(&s->plan, s->m, s->m->graph, NULL, &po);
    if (st != OCTET_OK) {
        octet_model_free(s->m);
        free(s);
        return st;
    }
    *out = s;
    return OCTET_OK;
}

void octet_session_free(octet_session *s) {
    if (!s) return;
    ot_plan_free(s->plan);
    octet_model_free(s->m);
    free(s);
}

/* Check a fed tensor against the graph's declaration: dtype, rank, fixed dimensions. */
static octet_status check_input(const ot_value_info *vi, const octet_tensor *t) {
    char got[128], want[160];
    if (vi->dtype != OCTET_UNDEFINED && t->dtype != vi->dtype)
        return ot_err(OCTET_ERR_SHAPE, "input '%s' must be %s, got %s", vi->name, octet_dtype_name(vi->dtype),
                      octet_dtype_name(t->dtype));
    if (vi->ndim < 0) return OCTET_OK;
    size_t o = (size_t)snprintf(want, sizeof want, "%s[", octet_dtype_name(vi->dtype));
    for (int i = 0; i < vi->ndim && o < sizeof want; i++)
        o += (vi->dims[i].value >= 0)
                 ? (size_t)snprintf(want + o, sizeof want - o, i ? ",%lld" : "%lld", (long long)vi->dims[i].value)
                 : (size_t)snprintf(want + o, sizeof want - o, i ? ",%s" : "%s", vi->dims[i].param ? vi->dims[i].param : "?");
    if (o < sizeof want) snprintf(want + o, sizeof want - o, "]");
    ot_shape_str(got, sizeof got, t->ndim, t->dims);
    /* A scalar declared [] fed as [1] (and the reverse) is accepted, as ONNX Runtime does. */
    bool scalar_ok = ot_tensor_numel(t) == 1 && (vi->ndim == 0 || (vi->ndim == 1 && vi->dims[0].value == 1)) &&
                     t->ndim <= 1;
    if (vi->ndim != t->ndim && !scalar_ok)
        return ot_err(OCTET_ERR_SHAPE, "input '%s' must have shape %s, got %s%s", vi->name, want,
                      octet_dtype_name(t->dtype), got);
    for (int i = 0; i < vi->ndim && vi->ndim == t->ndim; i++)
        if (vi->dims[i].value >= 0 && vi->dims[i].value != t->dims[i])
            return ot_err(OCTET_ERR_SHAPE, "input '%s' must have shape %s, got %s%s (dimension %d)", vi->name, want,
                          octet_dtype_name(t->dtype), got, i);
    return OCTET_OK;
}

octet_status octet_session_run(octet_session *s, const char *const *names, octet_tensor *const *inputs, int n_in,
                               octet_tensor **outputs, int n_out) {
    if (!s || (n_in > 0 && !inputs) || (n_out > 0 && !outputs))
        return ot_err(OCTET_ERR_INVALID_ARG, "octet_session_run: NULL argument");
    const ot_graph *g = s->m->graph;
    if (n_out != g->n_outputs)
        return ot_err(OCTET_ERR_INVALID_ARG, "the model has %d outputs, %d requested", g->n_outputs, n_out);
    const octet_tensor **bound = calloc((size_t)g->n_inputs + 1, sizeof *bound);
    octet_tensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    if (!bound || !outs) {
        free(bound);
        free(outs);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    octet_status st = OCTET_OK;
    int next = 0; /* graph-order binding skips inputs that have an initializer default */
    for (int i = 0; i < n_in && st == OCTET_OK; i++) {
        int slot = -1;
        if (names) {
            for (int j = 0; j < g->n_inputs; j++)
                if (names[i] && strcmp(g->inputs[j].name, names[i]) == 0) slot = j;
            if (slot < 0) st = ot_err(OCTET_ERR_INVALID_ARG, "the model has no input named '%s'", names[i] ? names[i] : "(null)");
        } else {
            while (next < g->n_inputs && ot_graph_find_initializer(g, g->inputs[next].name)) next++;
            if (next >= g->n_inputs) st = ot_err(OCTET_ERR_INVALID_ARG, "too many inputs: the model takes %d", octet_model_input_count(s->m));
            slot = next++;
        }
        if (st != OCTET_OK) break;
        if (!inputs[i]) { st = ot_err(OCTET_ERR_INVALID_ARG, "input '%s' is NULL", g->inputs[slot].name); break; }
        st = check_input(&g->inputs[slot], inputs[i]);
        bound[slot] = inputs[i];
    }
    for (int j = 0; j < g->n_inputs && st == OCTET_OK; j++)
        if (!bound[j] && !ot_graph_find_initializer(g, g->inputs[j].name))
            st = ot_err(OCTET_ERR_INVALID_ARG, "input '%s' was not given", g->inputs[j].name);
    if (st == OCTET_OK) st = ot_plan_run(s->plan, NULL, bound, g->n_inputs, outs, n_out);
    for (int i = 0; i < n_out; i++) {
        outputs[i] = NULL;
        if (st != OCTET_OK) continue;
        outputs[i] = malloc(sizeof *outputs[i]);
        if (!outputs[i]) { st = ot_err(OCTET_ERR_NOMEM, "out of memory"); continue; }
        *outputs[i] = outs[i];
        memset(&outs[i], 0, sizeof outs[i]);
    }
    if (st != OCTET_OK)
        for (int i = 0; i < n_out; i++) {
            octet_tensor_free(outputs[i]);
            outputs[i] = NULL;
            ot_tensor_reset(&outs[i]);
        }
    free(outs);
    free(bound);
    return st;
}

int octet_session_profile(const octet_session *s, octet_node_profile *out, int cap) {
    if (!s || cap < 0 || (cap > 0 && !out)) return 0;
    return ot_plan_profile(s->plan, out, cap);
}

void octet_session_profile_reset(octet_session *s) {
    if (s) ot_plan_profile_reset(s->plan);
}
