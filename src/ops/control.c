/* Op family 'control': If, Loop and Scan. The subgraphs are planned by the runtime with the node's
 * plan as their parent, so a body sees outer-scope values; these kernels only decide which
 * subgraph runs how often, and move values in and out (runtime/exec.h). */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "runtime/exec.h"
#include "util/mem.h"

/* Replace dst's contents with src's storage; src is left empty. */
static void move_into(octet_tensor *dst, octet_tensor *src) {
    ot_tensor_reset(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static void reset_all(octet_tensor *t, int n) {
    for (int i = 0; i < n && t; i++) ot_tensor_reset(&t[i]);
}

/* A condition: one element of bool or any plain numeric type. */
static octet_status read_flag(const ot_kernel *k, const octet_tensor *t, const char *what, bool *out) {
    if (t->dtype == OCTET_STRING || t->dtype == OCTET_FLOAT16 || octet_dtype_size(t->dtype) == 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s has dtype %s; expected bool or a number", what,
                           octet_dtype_name(t->dtype));
    if (ot_tensor_numel(t) != 1) {
        char got[96];
        ot_shape_str(got, sizeof got, t->ndim, t->dims);
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s must have one element, got shape %s", what, got);
    }
    *out = ot_tensor_get_f64(t, 0) != 0.0;
    return OCTET_OK;
}

static const ot_graph *graph_attr(const ot_kernel *k, const char *name) {
    const ot_attr *a = ot_node_attr(k->node, name);
    return a && a->type == OT_ATTR_GRAPH ? a->g : NULL;
}

/* ---- If --------------------------------------------------------------------------------------- */

static octet_status if_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    bool cond;
    OT_TRY(read_flag(k, in[0], "cond", &cond));
    const char *branch = cond ? "then_branch" : "else_branch";
    int nsub = ot_exec_subgraph_outputs(k, branch);
    if (nsub < 0) return ot_node_err(k, OCTET_ERR_PARSE, "has no %s", branch);
    if (nsub != n_out)
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s has %d outputs but the node has %d", branch, nsub, n_out);
    octet_tensor *res = ot_calloc((size_t)nsub + 1, sizeof *res);
    if (!res) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = ot_exec_run_subgraph(k, branch, NULL, 0, res, nsub);
    if (s == OCTET_OK)
        for (int i = 0; i < n_out; i++)
            if (out[i]) move_into(out[i], &res[i]);
    reset_all(res, nsub);
    free(res);
    return s;
}

/* ---- helpers for stacked outputs ---------------------------------------------------------- */

/* Shape for an output that had no iterations: [0] + the body's declared per-iteration shape
 * (unknown dimensions become 0), inserting the 0 at `axis` (Scan) - as ONNX Runtime does. */
static octet_status empty_stacked(const ot_graph *body, int body_out, int axis, octet_tensor *dst) {
    octet_dtype dt = OCTET_FLOAT;
    int64_t dims[OCTET_MAX_DIMS] = {0};
    int nd = 1;
    if (body && body_out < body->n_outputs) {
        const ot_value_info *vi = &body->outputs[body_out];
        if (vi->dtype != OCTET_UNDEFINED && octet_dtype_size(vi->dtype)) dt = vi->dtype;
        if (vi->ndim >= 0 && vi->ndim < OCTET_MAX_DIMS) {
            nd = vi->ndim + 1;
            if (axis < 0) axis += nd;
            if (axis < 0 || axis >= nd) axis = 0;
            for (int i = 0, j = 0; i < nd; i++) {
                if (i == axis) continue; /* stays 0 */
                dims[i] = vi->dims[j].value > 0 ? vi->dims[j].value : 0;
                j++;
            }
        }
    }
    return ot_tensor_alloc(dst, dt, nd, dims);
}

/* ---- Loop ------------------------------------------------------------------------------------- */

typedef struct {
    octet_dtype dtype;
    int ndim;
    int64_t dims[OCTET_MAX_DIMS];
    unsigned char *buf;
    size_t bytes_per, cap;
    int64_t count;
} stack_acc;

static octet_status stack_push(const ot_kernel *k, stack_acc *a, int index, const octet_tensor *t) {
    if (a->count == 0) {
        if (t->ndim >= OCTET_MAX_DIMS)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scan output %d has rank %d; at most %d is supported", index,
                               t->ndim, OCTET_MAX_DIMS - 1);
        if (octet_dtype_size(t->dtype) == 0 || t->dtype == OCTET_STRING)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scan output %d has unsupported dtype %s", index,
                               octet_dtype_name(t->dtype));
        a->dtype = t->dtype;
        a->ndim = t->ndim;
        memcpy(a->dims, t->dims, sizeof a->dims);
        a->bytes_per = ot_tensor_nbytes(t);
    } else {
        bool same = t->dtype == a->dtype && t->ndim == a->ndim;
        for (int i = 0; same && i < t->ndim; i++) same = t->dims[i] == a->dims[i];
        if (!same) {
            char want[96], got[96];
            ot_shape_str(want, sizeof want, a->ndim, a->dims);
            ot_shape_str(got, sizeof got, t->ndim, t->dims);
            return ot_node_err(k, OCTET_ERR_SHAPE, "scan output %d changes shape between iterations: %s%s, then %s%s",
                               index, octet_dtype_name(a->dtype), want, octet_dtype_name(t->dtype), got);
        }
    }
    size_t need = (size_t)(a->count + 1) * a->bytes_per;
    if (need > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : a->bytes_per * 8;
        if (cap < need) cap = need;
        unsigned char *nb = realloc(a->buf, cap ? cap : 1);
        if (!nb) return ot_err(OCTET_ERR_NOMEM, "out of memory stacking scan output %d", index);
        a->buf = nb;
        a->cap = cap;
    }
    if (a->bytes_per) memcpy(a->buf + (size_t)a->count * a->bytes_per, t->data, a->bytes_per);
    a->count++;
    return OCTET_OK;
}

static octet_status stack_finish(stack_acc *a, octet_tensor *dst) {
    int64_t dims[OCTET_MAX_DIMS];
    dims[0] = a->count;
    for (int i = 0; i < a->ndim; i++) dims[i + 1] = a->dims[i];
    OT_TRY(ot_tensor_alloc(dst, a->dtype, a->ndim + 1, dims));
    if (a->count && a->bytes_per) memcpy(dst->data, a->buf, (size_t)a->count * a->bytes_per);
    return OCTET_OK;
}

/* A scalar (rank 0), or [1] when the body declares its input with rank 1. */
static octet_status make_scalar(octet_tensor *t, octet_dtype dt, const ot_graph *body, int input) {
    int64_t one = 1;
    int rank = body && input < body->n_inputs && body->inputs[input].ndim == 1 ? 1 : 0;
    return ot_tensor_alloc(t, dt, rank, &one);
}

static octet_status loop_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    if (n_in < 2) return ot_node_err(k, OCTET_ERR_PARSE, "has %d inputs; needs M and cond (either may be empty)", n_in);
    if (n_in > 64 || n_out > 64) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "has more than 64 inputs or outputs");
    for (int i = 2; i < n_in; i++)
        if (!in[i]) return ot_node_err(k, OCTET_ERR_PARSE, "loop-carried input %d is missing", i);
    int n_carried = n_in - 2, n_scan = n_out - n_carried;
    int body_in = ot_exec_subgraph_inputs(k, "body"), body_out = ot_exec_subgraph_outputs(k, "body");
    if (body_in < 0) return ot_node_err(k, OCTET_ERR_PARSE, "has no body");
    if (n_scan < 0 || body_in != n_carried + 2 || body_out != 1 + n_out)
        return ot_node_err(k, OCTET_ERR_SHAPE,
                           "body takes %d inputs and gives %d outputs; the node has %d loop-carried values and %d "
                           "outputs (expected %d and %d)",
                           body_in, body_out, n_carried, n_out, n_carried + 2, n_out + 1);
    const ot_graph *body = graph_attr(k, "body");

    int64_t max_trip = INT64_MAX;
    bool cond = true;
    if (in[0]) {
        if (ot_tensor_numel(in[0]) != 1 || !ot_dtype_is_int(in[0]->dtype))
            return ot_node_err(k, OCTET_ERR_SHAPE, "trip count M must be one integer");
        max_trip = ot_tensor_get_i64(in[0], 0);
    }
    if (in[1]) OT_TRY(read_flag(k, in[1], "cond", &cond));

    octet_status s = OCTET_OK;
    octet_tensor iter_t = {0}, cond_t = {0};
    octet_tensor *carried = ot_calloc((size_t)n_carried + 1, sizeof *carried);  /* owned after iteration 0 */
    octet_tensor *res = ot_calloc((size_t)body_out + 1, sizeof *res);
    stack_acc *acc = ot_calloc((size_t)n_scan + 1, sizeof *acc);
    const octet_tensor *feeds[66];
    if (!carried || !res || !acc) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s = make_scalar(&iter_t, OCTET_INT64, body, 0)) != OCTET_OK) goto done;
    if ((s = make_scalar(&cond_t, OCTET_BOOL, body, 1)) != OCTET_OK) goto done;
    feeds[0] = &iter_t;
    feeds[1] = &cond_t;
    for (int i = 0; i < n_carried; i++) feeds[2 + i] = in[2 + i];

    /* As ONNX Runtime: the body's cond output is used even when the node has no cond input. */
    int64_t it = 0;
    for (; it < max_trip && cond; it++) {
        *(int64_t *)iter_t.data = it;
        *(uint8_t *)cond_t.data = 1;
        if ((s = ot_exec_run_subgraph(k, "body", feeds, body_in, res, body_out)) != OCTET_OK) goto done;
        if ((s = read_flag(k, &res[0], "the body's cond output", &cond)) != OCTET_OK) goto done;
        for (int i = 0; i < n_carried; i++) {
            move_into(&carried[i], &res[1 + i]);
            feeds[2 + i] = &carried[i];
        }
        for (int j = 0; j < n_scan; j++)
            if ((s = stack_push(k, &acc[j], n_carried + j, &res[1 + n_carried + j])) != OCTET_OK) goto done;
        reset_all(res, body_out);
    }

    for (int i = 0; i < n_carried; i++) {
        if (!out[i]) continue;
        if (it > 0) move_into(out[i], &carried[i]);
        else if ((s = ot_tensor_copy_into(out[i], in[2 + i])) != OCTET_OK) goto done;
    }
    for (int j = 0; j < n_scan; j++) {
        octet_tensor *o = out[n_carried + j];
        if (!o) continue;
        s = it > 0 ? stack_finish(&acc[j], o) : empty_stacked(body, 1 + n_carried + j, 0, o);
        if (s != OCTET_OK) goto done;
    }

done:
    ot_tensor_reset(&iter_t);
    ot_tensor_reset(&cond_t);
    reset_all(carried, n_carried);
    reset_all(res, body_out);
    for (int j = 0; acc && j < n_scan; j++) free(acc[j].buf);
    free(carried);
    free(res);
    free(acc);
    return s;
}

/* ---- Scan (opset 9+) ---------------------------------------------------------------------- */

/* Copy index `at` along `axis` of src into dst (rank one less). */
static octet_status take_slice(const octet_tensor *src, int axis, int64_t at, octet_tensor *dst) {
    int64_t dims[OCTET_MAX_DIMS];
    for (int i = 0, j = 0; i < src->ndim; i++)
        if (i != axis) dims[j++] = src->dims[i];
    OT_TRY(ot_tensor_alloc(dst, src->dtype, src->ndim - 1, dims));
    size_t es = octet_dtype_size(src->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= src->dims[i];
    for (int i = axis + 1; i < src->ndim; i++) inner *= src->dims[i];
    size_t chunk = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        memcpy((unsigned char *)dst->data + (size_t)o * chunk,
               (const unsigned char *)src->data + ((size_t)(o * src->dims[axis] + at)) * chunk, chunk);
    return OCTET_OK;
}

/* Place per-iteration value t at position `at` along `axis` of dst (allocated with L there). */
static void put_slice(octet_tensor *dst, int axis, int64_t at, const octet_tensor *t) {
    size_t es = octet_dtype_size(t->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= t->dims[i];
    for (int i = axis; i < t->ndim; i++) inner *= t->dims[i];
    size_t chunk = (size_t)inner * es;
    int64_t L = dst->dims[axis];
    for (int64_t o = 0; o < outer; o++)
        memcpy((unsigned char *)dst->data + ((size_t)(o * L + at)) * chunk,
               (const unsigned char *)t->data + (size_t)o * chunk, chunk);
}

static octet_status scan_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    if (k->opset > 0 && k->opset < 9)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Scan-8 (with sequence_lens and a batch axis) is not supported");
    if (n_in > 64 || n_out > 64) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "has more than 64 inputs or outputs");
    const ot_node *n = k->node;
    int64_t m = ot_node_attr_int(n, "num_scan_inputs", -1);
    if (m < 1 || m > n_in) return ot_node_err(k, OCTET_ERR_PARSE, "num_scan_inputs %lld is invalid for %d inputs",
                                               (long long)m, n_in);
    int n_scan_in = (int)m, n_state = n_in - n_scan_in, n_scan_out = n_out - n_state;
    OT_TRY(ot_check_inputs(k, in, n_in, n_in, n_in));
    int body_in = ot_exec_subgraph_inputs(k, "body"), body_out = ot_exec_subgraph_outputs(k, "body");
    if (body_in < 0) return ot_node_err(k, OCTET_ERR_PARSE, "has no body");
    if (n_scan_out < 0 || body_in != n_in || body_out != n_out)
        return ot_node_err(k, OCTET_ERR_SHAPE, "body takes %d inputs and gives %d outputs; the node has %d and %d",
                           body_in, body_out, n_in, n_out);
    const ot_graph *body = graph_attr(k, "body");
    const int64_t *in_axes = NULL, *in_dirs = NULL, *out_axes = NULL, *out_dirs = NULL;
    size_t n_ia = ot_node_attr_ints(n, "scan_input_axes", &in_axes);
    size_t n_id = ot_node_attr_ints(n, "scan_input_directions", &in_dirs);
    size_t n_oa = ot_node_attr_ints(n, "scan_output_axes", &out_axes);
    size_t n_od = ot_node_attr_ints(n, "scan_output_directions", &out_dirs);
    if ((n_ia && n_ia != (size_t)n_scan_in) || (n_id && n_id != (size_t)n_scan_in) ||
        (n_oa && n_oa != (size_t)n_scan_out) || (n_od && n_od != (size_t)n_scan_out))
        return ot_node_err(k, OCTET_ERR_PARSE,
                           "scan axes/directions lists do not match %d scan inputs, %d scan outputs", n_scan_in,
                           n_scan_out);

    /* sequence length from the scan inputs */
    int axis_in[64];
    int64_t L = -1;
    for (int j = 0; j < n_scan_in; j++) {
        const octet_tensor *t = in[n_state + j];
        if (t->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "scan input %d is a scalar", n_state + j);
        OT_TRY(ot_norm_axis(k, n_ia ? in_axes[j] : 0, t->ndim, &axis_in[j]));
        if (n_id && in_dirs[j] != 0 && in_dirs[j] != 1)
            return ot_node_err(k, OCTET_ERR_PARSE, "scan_input_directions must be 0 or 1");
        if (octet_dtype_size(t->dtype) == 0 || t->dtype == OCTET_STRING)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scan input %d has dtype %s", n_state + j,
                               octet_dtype_name(t->dtype));
        int64_t len = t->dims[axis_in[j]];
        if (L >= 0 && len != L)
            return ot_node_err(k, OCTET_ERR_SHAPE, "scan inputs have different lengths (%lld and %lld)", (long long)L,
                               (long long)len);
        L = len;
    }

    octet_status s = OCTET_OK;
    octet_tensor *state = ot_calloc((size_t)n_state + 1, sizeof *state);
    octet_tensor *slices = ot_calloc((size_t)n_scan_in + 1, sizeof *slices);
    octet_tensor *res = ot_calloc((size_t)body_out + 1, sizeof *res);
    octet_tensor *stacked = ot_calloc((size_t)n_scan_out + 1, sizeof *stacked);
    int axis_out[64];
    const octet_tensor *feeds[64];
    if (!state || !slices || !res || !stacked) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_state; i++) feeds[i] = in[i];
    for (int j = 0; j < n_scan_in; j++) feeds[n_state + j] = &slices[j];

    for (int64_t t = 0; t < L; t++) {
        for (int j = 0; j < n_scan_in; j++) {
            int64_t at = n_id && in_dirs[j] ? L - 1 - t : t;
            if ((s = take_slice(in[n_state + j], axis_in[j], at, &slices[j])) != OCTET_OK) goto done;
        }
        if ((s = ot_exec_run_subgraph(k, "body", feeds, body_in, res, body_out)) != OCTET_OK) goto done;
        for (int i = 0; i < n_state; i++) {
            move_into(&state[i], &res[i]);
            feeds[i] = &state[i];
        }
        for (int j = 0; j < n_scan_out; j++) {
            const octet_tensor *v = &res[n_state + j];
            if (t == 0) {
                if (v->ndim + 1 > OCTET_MAX_DIMS || octet_dtype_size(v->dtype) == 0 || v->dtype == OCTET_STRING) {
                    s = ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scan output %d: unsupported rank or dtype", n_state + j);
                    goto done;
                }
                if ((s = ot_norm_axis(k, n_oa ? out_axes[j] : 0, v->ndim + 1, &axis_out[j])) != OCTET_OK) goto done;
                if (n_od && out_dirs[j] != 0 && out_dirs[j] != 1) {
                    s = ot_node_err(k, OCTET_ERR_PARSE, "scan_output_directions must be 0 or 1");
                    goto done;
                }
                int64_t dims[OCTET_MAX_DIMS];
                for (int i = 0, q = 0; i < v->ndim + 1; i++) dims[i] = i == axis_out[j] ? L : v->dims[q++];
                if ((s = ot_tensor_alloc(&stacked[j], v->dtype, v->ndim + 1, dims)) != OCTET_OK) goto done;
            } else {
                bool same = v->dtype == stacked[j].dtype && v->ndim + 1 == stacked[j].ndim;
                for (int i = 0, q = 0; same && i < stacked[j].ndim; i++)
                    if (i != axis_out[j]) same = stacked[j].dims[i] == v->dims[q++];
                if (!same) {
                    s = ot_node_err(k, OCTET_ERR_SHAPE, "scan output %d changes shape between iterations", n_state + j);
                    goto done;
                }
            }
            put_slice(&stacked[j], axis_out[j], n_od && out_dirs[j] ? L - 1 - t : t, v);
        }
        reset_all(res, body_out);
    }

    for (int i = 0; i < n_state; i++) {
        if (!out[i]) continue;
        if (L > 0) move_into(out[i], &state[i]);
        else if ((s = ot_tensor_copy_into(out[i], in[i])) != OCTET_OK) goto done;
    }
    for (int j = 0; j < n_scan_out; j++) {
        octet_tensor *o = out[n_state + j];
        if (!o) continue;
        if (L > 0) move_into(o, &stacked[j]);
        else if ((s = empty_stacked(body, n_state + j, n_oa ? (int)out_axes[j] : 0, o)) != OCTET_OK) goto done;
    }

done:
    reset_all(state, n_state);
    reset_all(slices, n_scan_in);
    reset_all(res, body_out);
    reset_all(stacked, n_scan_out);
    free(state);
    free(slices);
    free(res);
    free(stacked);
    return s;
}

const ot_op_def ot_ops_control[] = {
    {"", "If", NULL, if_run, NULL},
    {"", "Loop", NULL, loop_run, NULL},
    {"", "Scan", NULL, scan_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
