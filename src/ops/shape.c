/* Op family 'shape': ops that only look at or rearrange a tensor's shape, for any dtype (data is
 * moved by element size): Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand,
 * ConstantOfShape, Constant, DepthToSpace, SpaceToDepth. */
#include <string.h>

#include "kernels/strided_copy.h"
#include "ops/op.h"

/* Read a 1-D integer tensor (a shape, axes, ...) into out[0..cap). */
static octet_status read_ints(const ot_kernel *k, const octet_tensor *t, const char *what, int64_t *out, int cap,
                              int *n) {
    if (!ot_dtype_is_int(t->dtype))
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be an integer tensor, got %s", what, octet_dtype_name(t->dtype));
    if (t->ndim > 1) return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be 1-D, got rank %d", what, t->ndim);
    int64_t c = ot_tensor_numel(t);
    if (c > cap)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s has %lld entries, at most %d are supported", what, (long long)c,
                           cap);
    for (int64_t i = 0; i < c; i++) out[i] = ot_tensor_get_i64(t, i);
    *n = (int)c;
    return OCTET_OK;
}

/* Copy src's data into out with the given shape (same element count). */
static octet_status copy_reshaped(const ot_kernel *k, const octet_tensor *src, octet_tensor *out, int ndim,
                                  const int64_t *dims) {
    OT_TRY(ot_tensor_alloc(out, src->dtype, ndim, dims));
    int64_t n = ot_tensor_numel(src), one = 1;
    ot_strided_copy(out->data, &one, src->data, &one, 1, &n, octet_dtype_size(src->dtype), k->threads);
    return OCTET_OK;
}

static char *shape_str(char *buf, size_t n, const octet_tensor *t) { return ot_shape_str(buf, n, t->ndim, t->dims); }

/* ---- Shape, Size ---- */

static octet_status shape_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    int r = in[0]->ndim;
    /* opset 15: start/end select a slice of the shape, clamped like Python slicing */
    int64_t start = ot_node_attr_int(k->node, "start", 0), end = ot_node_attr_int(k->node, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t n = end > start ? end - start : 0;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, 1, &n));
    for (int64_t i = 0; i < n; i++) ((int64_t *)out[0]->data)[i] = in[0]->dims[start + i];
    return OCTET_OK;
}

static octet_status size_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, 0, NULL));
    *(int64_t *)out[0]->data = ot_tensor_numel(in[0]);
    return OCTET_OK;
}

/* ---- Reshape, Flatten ---- */

static octet_status reshape_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    int64_t shape[OCTET_MAX_DIMS];
    int n = 0;
    if (k->opset < 5) { /* shape was an attribute before opset 5 */
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        const int64_t *s;
        size_t c = ot_node_attr_ints(k->node, "shape", &s);
        if (c > OCTET_MAX_DIMS)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "target rank %zu exceeds %d", c, OCTET_MAX_DIMS);
        for (size_t i = 0; i < c; i++) shape[i] = s[i];
        n = (int)c;
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
        OT_TRY(read_ints(k, in[1], "shape", shape, OCTET_MAX_DIMS, &n));
    }
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    bool allowzero = ot_node_attr_int(k->node, "allowzero", 0) != 0;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (shape[i] == -1) {
            if (infer >= 0) return ot_node_err(k, OCTET_ERR_SHAPE, "shape has more than one -1");
            infer = i;
            continue;
        }
        if (shape[i] < -1) return ot_node_err(k, OCTET_ERR_SHAPE, "shape has invalid dimension %lld", (long long)shape[i]);
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->ndim)
                return ot_node_err(k, OCTET_ERR_SHAPE, "shape[%d] = 0 copies a dimension the rank-%d input does not have",
                                   i, x->ndim);
            shape[i] = x->dims[i];
        }
        known *= shape[i];
    }
    int64_t numel = ot_tensor_numel(x);
    char a[128];
    if (infer >= 0) {
        if (known == 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "cannot infer the -1 dimension when the other dimensions hold 0 elements");
        if (numel % known != 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %s (%lld elements) cannot be reshaped with a -1 next to %lld elements",
                               shape_str(a, sizeof a, x), (long long)numel, (long long)known);
        shape[infer] = numel / known;
    } else if (known != numel) {
        char b[128];
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %s (%lld elements) cannot be reshaped to %s (%lld elements)",
                           shape_str(a, sizeof a, x), (long long)numel, ot_shape_str(b, sizeof b, n, shape),
                           (long long)known);
    }
    return copy_reshaped(k, x, out[0], n, shape);
}

static octet_status flatten_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    int r = x->ndim;
    int64_t axis = ot_node_attr_int(k->node, "axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r)
        return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d",
                           (long long)ot_node_attr_int(k->node, "axis", 1), r);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < r; i++) d[i < axis ? 0 : 1] *= x->dims[i];
    return copy_reshaped(k, x, out[0], 2, d);
}

/* ---- Squeeze, Unsqueeze ---- */

/* axes come from the attribute before opset 13, from input 1 since. */
static octet_status get_axes(const ot_kernel *k, const octet_tensor *const *in, int n_in, int64_t *axes, int cap,
                             int *n, bool *given) {
    *n = 0;
    *given = false;
    if (k->opset < 13) {
        const ot_attr *a = ot_node_attr(k->node, "axes");
        if (!a) return OCTET_OK;
        const int64_t *v;
        size_t c = ot_node_attr_ints(k->node, "axes", &v);
        if (c > (size_t)cap) return ot_node_err(k, OCTET_ERR_SHAPE, "too many axes (%zu)", c);
        memcpy(axes, v, c * sizeof *v);
        *n = (int)c;
        *given = true;
        return OCTET_OK;
    }
    if (n_in < 2 || !in[1]) return OCTET_OK;
    *given = true;
    return read_ints(k, in[1], "axes", axes, cap, n);
}

/* Normalize axes against rank r; reject out-of-range and repeated axes. mark[a] = 1 for each axis. */
static octet_status mark_axes(const ot_kernel *k, const int64_t *axes, int n, int r, bool *mark) {
    memset(mark, 0, (size_t)r * sizeof *mark);
    for (int i = 0; i < n; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r)
            return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axes[i], r);
        if (mark[a]) return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is repeated", (long long)axes[i]);
        mark[a] = true;
    }
    return OCTET_OK;
}

static octet_status squeeze_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 2));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    int64_t axes[OCTET_MAX_DIMS];
    bool mark[OCTET_MAX_DIMS], given;
    int n;
    OT_TRY(get_axes(k, in, n_in, axes, OCTET_MAX_DIMS, &n, &given));
    OT_TRY(mark_axes(k, axes, n, x->ndim, mark));
    int64_t d[OCTET_MAX_DIMS];
    int m = 0;
    for (int i = 0; i < x->ndim; i++) {
        bool drop = n ? mark[i] : x->dims[i] == 1; /* no axes: drop every 1 */
        if (drop && x->dims[i] != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "cannot squeeze axis %d of size %lld", i, (long long)x->dims[i]);
        if (!drop) d[m++] = x->dims[i];
    }
    return copy_reshaped(k, x, out[0], m, d);
}

static octet_status unsqueeze_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, k->opset < 13 ? 1 : 2, 2));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    int64_t axes[OCTET_MAX_DIMS];
    bool mark[OCTET_MAX_DIMS], given;
    int n;
    OT_TRY(get_axes(k, in, n_in, axes, OCTET_MAX_DIMS, &n, &given));
    if (!given) return ot_node_err(k, OCTET_ERR_PARSE, "needs axes");
    int r = x->ndim + n;
    if (r > OCTET_MAX_DIMS)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, OCTET_MAX_DIMS);
    OT_TRY(mark_axes(k, axes, n, r, mark));
    int64_t d[OCTET_MAX_DIMS];
    for (int i = 0, j = 0; i < r; i++) d[i] = mark[i] ? 1 : x->dims[j++];
    return copy_reshaped(k, x, out[0], r, d);
}

/* ---- Transpose ---- */

static octet_status transpose_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                  int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    int r = x->ndim;
    int64_t perm[OCTET_MAX_DIMS];
    const int64_t *p;
    size_t c = ot_node_attr_ints(k->node, "perm", &p);
    if (!ot_node_attr(k->node, "perm")) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    } else {
        if ((int)c != r) return ot_node_err(k, OCTET_ERR_SHAPE, "perm has %zu entries for a rank-%d input", c, r);
        bool seen[OCTET_MAX_DIMS] = {0};
        for (int i = 0; i < r; i++) {
            int64_t a = p[i] < 0 ? p[i] + r : p[i];
            if (a < 0 || a >= r || seen[a])
                return ot_node_err(k, OCTET_ERR_SHAPE, "perm is not a permutation of 0..%d", r - 1);
            seen[a] = true;
            perm[i] = a;
        }
    }
    int64_t d[OCTET_MAX_DIMS], is[OCTET_MAX_DIMS], ss[OCTET_MAX_DIMS], ds[OCTET_MAX_DIMS];
    ot_contiguous_strides(r, x->dims, is);
    for (int i = 0; i < r; i++) {
        d[i] = x->dims[perm[i]];
        ss[i] = is[perm[i]];
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, r, d));
    ot_contiguous_strides(r, d, ds);
    ot_strided_copy(out[0]->data, ds, x->data, ss, r, d, octet_dtype_size(x->dtype), k->threads);
    return OCTET_OK;
}

/* ---- Expand ---- */

static octet_status expand_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    int64_t shape[OCTET_MAX_DIMS];
    int n;
    OT_TRY(read_ints(k, in[1], "shape", shape, OCTET_MAX_DIMS, &n));
    int r = n > x->ndim ? n : x->ndim;
    int64_t d[OCTET_MAX_DIMS], is[OCTET_MAX_DIMS], ss[OCTET_MAX_DIMS], ds[OCTET_MAX_DIMS];
    ot_contiguous_strides(x->ndim, x->dims, is);
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->ndim), si = i - (r - n);
        int64_t a = xi >= 0 ? x->dims[xi] : 1, b = si >= 0 ? shape[si] : 1;
        if (b < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "shape has negative dimension %lld", (long long)b);
        if (a != b && a != 1 && b != 1) {
            char s1[128], s2[128];
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %s cannot be broadcast to %s", shape_str(s1, sizeof s1, x),
                               ot_shape_str(s2, sizeof s2, n, shape));
        }
        d[i] = a == 1 ? b : a;
        ss[i] = (xi >= 0 && a != 1) ? is[xi] : 0;
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, r, d));
    ot_contiguous_strides(r, d, ds);
    ot_strided_copy(out[0]->data, ds, x->data, ss, r, d, octet_dtype_size(x->dtype), k->threads);
    return OCTET_OK;
}

/* ---- ConstantOfShape, Constant ---- */

static octet_status constant_of_shape_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                          int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    int64_t shape[OCTET_MAX_DIMS];
    int n;
    OT_TRY(read_ints(k, in[0], "shape", shape, OCTET_MAX_DIMS, &n));
    for (int i = 0; i < n; i++)
        if (shape[i] < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "shape has negative dimension %lld", (long long)shape[i]);
    const ot_attr *a = ot_node_attr(k->node, "value");
    float zero = 0.0f;
    const void *val = &zero;
    octet_dtype dt = OCTET_FLOAT;
    if (a) {
        if (a->type != OT_ATTR_TENSOR || !a->t) return ot_node_err(k, OCTET_ERR_PARSE, "value must be a tensor");
        if (ot_tensor_numel(a->t) != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "value must hold one element, it has %lld",
                               (long long)ot_tensor_numel(a->t));
        if (octet_dtype_size(a->t->dtype) == 0)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "value of type %s is not supported",
                               octet_dtype_name(a->t->dtype));
        dt = a->t->dtype;
        val = a->t->data;
    }
    OT_TRY(ot_tensor_alloc(out[0], dt, n, shape));
    ot_fill_pattern(out[0]->data, ot_tensor_numel(out[0]), val, octet_dtype_size(dt));
    return OCTET_OK;
}

static octet_status constant_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 0, 0));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const ot_node *node = k->node;
    static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (ot_node_attr(node, unsupported[i]))
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "attribute %s is not supported (%s tensors)", unsupported[i],
                               i == 0 ? "sparse" : "string");
    const ot_attr *a;
    if ((a = ot_node_attr(node, "value"))) {
        if (a->type != OT_ATTR_TENSOR || !a->t) return ot_node_err(k, OCTET_ERR_PARSE, "value must be a tensor");
        if (octet_dtype_size(a->t->dtype) == 0)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "value of type %s is not supported (string tensors are not)",
                               octet_dtype_name(a->t->dtype));
        return ot_tensor_copy_into(out[0], a->t);
    }
    if ((a = ot_node_attr(node, "value_float"))) {
        OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 0, NULL));
        *(float *)out[0]->data = ot_node_attr_float(node, "value_float", 0);
        return OCTET_OK;
    }
    if ((a = ot_node_attr(node, "value_int"))) {
        OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, 0, NULL));
        *(int64_t *)out[0]->data = ot_node_attr_int(node, "value_int", 0);
        return OCTET_OK;
    }
    if ((a = ot_node_attr(node, "value_floats"))) {
        const float *v;
        int64_t c = (int64_t)ot_node_attr_floats(node, "value_floats", &v);
        OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 1, &c));
        if (c) memcpy(out[0]->data, v, (size_t)c * sizeof *v);
        return OCTET_OK;
    }
    if ((a = ot_node_attr(node, "value_ints"))) {
        const int64_t *v;
        int64_t c = (int64_t)ot_node_attr_ints(node, "value_ints", &v);
        OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, 1, &c));
        if (c) memcpy(out[0]->data, v, (size_t)c * sizeof *v);
        return OCTET_OK;
    }
    return ot_node_err(k, OCTET_ERR_PARSE, "has no value attribute");
}

/* ---- DepthToSpace, SpaceToDepth ---- */

/* Both are a reshape + transpose of NCHW data: one strided copy with the output seen as 6-D. */
static octet_status depth_space_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                    int n_out, bool to_space) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return OCTET_OK; /* output unused */
    const octet_tensor *x = in[0];
    if (x->ndim != 4) return ot_node_err(k, OCTET_ERR_SHAPE, "input must be 4-D (NCHW), got rank %d", x->ndim);
    int64_t b = ot_node_attr_int(k->node, "blocksize", 0);
    if (b < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "blocksize must be >= 1, got %lld", (long long)b);
    int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t d[4], vd[6], vs[6], vo[6];
    if (to_space) {
        const char *mode = ot_node_attr_string(k->node, "mode", "DCR");
        bool crd = strcmp(mode, "CRD") == 0;
        if (!crd && strcmp(mode, "DCR") != 0)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "mode '%s' is not supported (DCR or CRD)", mode);
        if (c % (b * b) != 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "channels %lld are not divisible by blocksize^2 = %lld", (long long)c,
                               (long long)(b * b));
        int64_t cc = c / (b * b), hw = h * w;
        int64_t t[4] = {n, cc, h * b, w * b};
        memcpy(d, t, sizeof d);
        /* output as (n, c', h, b1, w, b2); DCR input is (n, b1, b2, c', h, w), CRD is (n, c', b1, b2, h, w) */
        int64_t dims6[6] = {n, cc, h, b, w, b};
        int64_t dcr[6] = {c * hw, hw, w, b * cc * hw, 1, cc * hw};
        int64_t crdv[6] = {c * hw, b * b * hw, w, b * hw, 1, hw};
        memcpy(vd, dims6, sizeof vd);
        memcpy(vs, crd ? crdv : dcr, sizeof vs);
    } else {
        if (h % b != 0 || w % b != 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "height %lld and width %lld must be divisible by blocksize %lld",
                               (long long)h, (long long)w, (long long)b);
        int64_t t[4] = {n, c * b * b, h / b, w / b};
        memcpy(d, t, sizeof d);
        /* output as (n, b1, b2, c, h', w') over input (n, c, h', b1, w', b2) */
        int64_t dims6[6] = {n, b, b, c, h / b, w / b};
        int64_t src6[6] = {c * h * w, w, 1, h * w, b * w, b};
        memcpy(vd, dims6, sizeof vd);
        memcpy(vs, src6, sizeof vs);
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, 4, d));
    ot_contiguous_strides(6, vd, vo);
    ot_strided_copy(out[0]->data, vo, x->data, vs, 6, vd, octet_dtype_size(x->dtype), k->threads);
    return OCTET_OK;
}

static octet_status depth_to_space_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                       int n_out) {
    return depth_space_run(k, in, n_in, out, n_out, true);
}

static octet_status space_to_depth_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                       int n_out) {
    return depth_space_run(k, in, n_in, out, n_out, false);
}

const ot_op_def ot_ops_shape[] = {
    {"", "Shape", NULL, shape_run, NULL},
    {"", "Size", NULL, size_run, NULL},
    {"", "Reshape", NULL, reshape_run, NULL},
    {"", "Flatten", NULL, flatten_run, NULL},
    {"", "Squeeze", NULL, squeeze_run, NULL},
    {"", "Unsqueeze", NULL, unsqueeze_run, NULL},
    {"", "Transpose", NULL, transpose_run, NULL},
    {"", "Expand", NULL, expand_run, NULL},
    {"", "ConstantOfShape", NULL, constant_of_shape_run, NULL},
    {"", "Constant", NULL, constant_run, NULL},
    {"", "DepthToSpace", NULL, depth_to_space_run, NULL},
    {"", "SpaceToDepth", NULL, space_to_depth_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
