/* Op family 'tensor_ops': ops that select, join or replicate parts of tensors, for any dtype
 * (data is moved by element size): Concat, Split, Slice, Gather, GatherElements, Tile, Pad, Range,
 * and TopK, NonZero, ScatterND, Trilu.
 * Bulk moves go through ot_strided_copy, which copies contiguous inner runs with memcpy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/strided_copy.h"
#include "ops/op.h"

#define NO_OUTPUT(out, n_out) ((n_out) < 1 || !(out)[0])

/* Read a 0-D or 1-D integer tensor into out[0..cap). */
static octet_status read_ints(const ot_kernel *k, const octet_tensor *t, const char *what, int64_t *out, int cap,
                              int *n) {
    if (!ot_dtype_is_int(t->dtype))
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be an integer tensor, got %s", what, octet_dtype_name(t->dtype));
    if (t->ndim > 1) return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be 1-D, got rank %d", what, t->ndim);
    int64_t c = ot_tensor_numel(t);
    if (c > cap)
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s has %lld entries, at most %d are allowed here", what, (long long)c, cap);
    for (int64_t i = 0; i < c; i++) out[i] = ot_tensor_get_i64(t, i);
    *n = (int)c;
    return OCTET_OK;
}

/* An int list attribute into out[0..cap); *n = -1 when the attribute is absent. */
static octet_status attr_ints(const ot_kernel *k, const char *name, int64_t *out, int cap, int *n) {
    const int64_t *v;
    size_t c = ot_node_attr_ints(k->node, name, &v);
    *n = -1;
    if (!ot_node_attr(k->node, name)) return OCTET_OK;
    if (c > (size_t)cap) return ot_node_err(k, OCTET_ERR_SHAPE, "%s has %zu entries, at most %d are allowed", name, c, cap);
    if (c) memcpy(out, v, c * sizeof *v);
    *n = (int)c;
    return OCTET_OK;
}

static octet_status get_axis(const ot_kernel *k, int64_t dflt, int rank, int *axis) {
    if (rank < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1, got a scalar");
    return ot_norm_axis(k, ot_node_attr_int(k->node, "axis", dflt), rank, axis);
}

/* One element of es bytes; constant sizes let the compiler emit a single move. */
static inline void copy_elem(void *d, const void *s, size_t es) {
    switch (es) {
    case 1: memcpy(d, s, 1); break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    case 8: memcpy(d, s, 8); break;
    default: memcpy(d, s, es);
    }
}

/* Copy src (contiguous, shape dims) into dst (contiguous, shape ddims) at element offset `at`. */
static void copy_block(const ot_kernel *k, void *dst, const int64_t *ddims, int64_t at, const octet_tensor *src) {
    int64_t ss[OCTET_MAX_DIMS], ds[OCTET_MAX_DIMS];
    size_t es = octet_dtype_size(src->dtype);
    ot_contiguous_strides(src->ndim, src->dims, ss);
    ot_contiguous_strides(src->ndim, ddims, ds);
    ot_strided_copy((char *)dst + at * (int64_t)es, ds, src->data, ss, src->ndim, src->dims, es, k->threads);
}

/* ---- Concat ---- */

static octet_status concat_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    if (n_in < 1) return ot_node_err(k, OCTET_ERR_PARSE, "needs at least one input");
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return ot_node_err(k, OCTET_ERR_PARSE, "input %d is missing", i);
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    if (!ot_node_attr(k->node, "axis") && k->opset >= 4) return ot_node_err(k, OCTET_ERR_PARSE, "needs attribute axis");
    const octet_tensor *x0 = in[0];
    int r = x0->ndim, axis;
    if (r == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "cannot concatenate scalars");
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", 1), r, &axis));
    int64_t d[OCTET_MAX_DIMS];
    memcpy(d, x0->dims, sizeof d);
    d[axis] = 0;
    for (int i = 0; i < n_in; i++) {
        const octet_tensor *x = in[i];
        if (x->dtype != x0->dtype)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input %d is %s, input 0 is %s", i, octet_dtype_name(x->dtype),
                               octet_dtype_name(x0->dtype));
        if (x->ndim != r) return ot_node_err(k, OCTET_ERR_SHAPE, "input %d has rank %d, input 0 has rank %d", i, x->ndim, r);
        for (int j = 0; j < r; j++)
            if (j != axis && x->dims[j] != x0->dims[j]) {
                char a[128], b[128];
                return ot_node_err(k, OCTET_ERR_SHAPE, "input %d %s does not match input 0 %s outside axis %d", i,
                                   ot_shape_str(a, sizeof a, r, x->dims), ot_shape_str(b, sizeof b, r, x0->dims), axis);
            }
        d[axis] += x->dims[axis];
    }
    OT_TRY(ot_tensor_alloc(out[0], x0->dtype, r, d));
    int64_t inner = 1, at = 0;
    for (int j = axis + 1; j < r; j++) inner *= d[j];
    for (int i = 0; i < n_in; i++) {
        if (ot_tensor_numel(in[i]) > 0) copy_block(k, out[0]->data, d, at, in[i]);
        at += in[i]->dims[axis] * inner;
    }
    return OCTET_OK;
}

/* ---- Split ---- */

static octet_status split_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 2));
    const octet_tensor *x = in[0];
    int axis;
    OT_TRY(get_axis(k, 0, x->ndim, &axis));
    if (n_out < 1) return ot_node_err(k, OCTET_ERR_PARSE, "has no outputs");
    int64_t dim = x->dims[axis];
    int64_t *sizes = calloc((size_t)n_out, sizeof *sizes);
    if (!sizes) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = OCTET_OK;
    int ns = -1;
    if (k->opset < 13) {
        s = attr_ints(k, "split", sizes, n_out, &ns);
    } else if (n_in > 1 && in[1]) {
        s = read_ints(k, in[1], "split", sizes, n_out, &ns);
    }
    if (s != OCTET_OK) goto done;
    if (ns == 0 && dim > 0) ns = -1; /* an empty split list means "not given", as in ONNX Runtime */
    const ot_attr *num = ot_node_attr(k->node, "num_outputs");
    if (ns >= 0) {
        if (num) {
            s = ot_node_err(k, OCTET_ERR_PARSE, "has both split and num_outputs");
            goto done;
        }
        if (ns != n_out) {
            s = ot_node_err(k, OCTET_ERR_SHAPE, "split has %d entries for %d outputs", ns, n_out);
            goto done;
        }
        int64_t sum = 0;
        for (int i = 0; i < n_out; i++) {
            if (sizes[i] < 0) {
                s = ot_node_err(k, OCTET_ERR_SHAPE, "split[%d] = %lld is negative", i, (long long)sizes[i]);
                goto done;
            }
            sum += sizes[i];
        }
        if (sum != dim) {
            s = ot_node_err(k, OCTET_ERR_SHAPE, "split sizes sum to %lld, axis %d has %lld", (long long)sum, axis,
                            (long long)dim);
            goto done;
        }
    } else if (num) {
        /* opset 18: ceil(dim / n) per output, the last one takes what is left */
        int64_t nn = ot_node_attr_int(k->node, "num_outputs", 0);
        if (nn != n_out) {
            s = ot_node_err(k, OCTET_ERR_SHAPE, "num_outputs is %lld but the node has %d outputs", (long long)nn, n_out);
            goto done;
        }
        int64_t chunk = (dim + nn - 1) / nn, left = dim;
        for (int i = 0; i < n_out; i++) {
            sizes[i] = left < chunk ? left : chunk;
            left -= sizes[i];
        }
    } else {
        if (dim % n_out != 0) {
            s = ot_node_err(k, OCTET_ERR_SHAPE, "axis %d of size %lld cannot be split evenly into %d outputs", axis,
                            (long long)dim, n_out);
            goto done;
        }
        for (int i = 0; i < n_out; i++) sizes[i] = dim / n_out;
    }

    int64_t ss[OCTET_MAX_DIMS], ds[OCTET_MAX_DIMS], d[OCTET_MAX_DIMS];
    size_t es = octet_dtype_size(x->dtype);
    ot_contiguous_strides(x->ndim, x->dims, ss);
    memcpy(d, x->dims, sizeof d);
    for (int64_t i = 0, off = 0; i < n_out; off += sizes[i], i++) {
        if (!out[i]) continue;
        d[axis] = sizes[i];
        if ((s = ot_tensor_alloc(out[i], x->dtype, x->ndim, d)) != OCTET_OK) goto done;
        ot_contiguous_strides(x->ndim, d, ds);
        ot_strided_copy(out[i]->data, ds, (const char *)x->data + off * ss[axis] * (int64_t)es, ss, x->ndim, d, es,
                        k->threads);
    }
done:
    free(sizes);
    return s;
}

/* ---- Slice ---- */

static octet_status slice_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    const octet_tensor *x;
    int64_t starts[OCTET_MAX_DIMS], ends[OCTET_MAX_DIMS], axes[OCTET_MAX_DIMS], steps[OCTET_MAX_DIMS];
    int ns, ne, na = -1, nst = -1;
    if (k->opset < 10) { /* starts/ends/axes were attributes */
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        OT_TRY(attr_ints(k, "starts", starts, OCTET_MAX_DIMS, &ns));
        OT_TRY(attr_ints(k, "ends", ends, OCTET_MAX_DIMS, &ne));
        OT_TRY(attr_ints(k, "axes", axes, OCTET_MAX_DIMS, &na));
        if (ns < 0 || ne < 0) return ot_node_err(k, OCTET_ERR_PARSE, "needs attributes starts and ends");
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 3, 5));
        OT_TRY(read_ints(k, in[1], "starts", starts, OCTET_MAX_DIMS, &ns));
        OT_TRY(read_ints(k, in[2], "ends", ends, OCTET_MAX_DIMS, &ne));
        if (n_in > 3 && in[3]) OT_TRY(read_ints(k, in[3], "axes", axes, OCTET_MAX_DIMS, &na));
        if (n_in > 4 && in[4]) OT_TRY(read_ints(k, in[4], "steps", steps, OCTET_MAX_DIMS, &nst));
    }
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    x = in[0];
    int r = x->ndim;
    if (ne != ns) return ot_node_err(k, OCTET_ERR_SHAPE, "starts has %d entries, ends %d", ns, ne);
    if (na >= 0 && na != ns) return ot_node_err(k, OCTET_ERR_SHAPE, "axes has %d entries, starts %d", na, ns);
    if (nst >= 0 && nst != ns) return ot_node_err(k, OCTET_ERR_SHAPE, "steps has %d entries, starts %d", nst, ns);
    if (ns > r) return ot_node_err(k, OCTET_ERR_SHAPE, "slices %d axes of a rank-%d input", ns, r);

    /* default: whole axis, step 1 */
    int64_t b[OCTET_MAX_DIMS], st[OCTET_MAX_DIMS], d[OCTET_MAX_DIMS];
    bool seen[OCTET_MAX_DIMS] = {0};
    for (int i = 0; i < r; i++) {
        b[i] = 0;
        st[i] = 1;
        d[i] = x->dims[i];
    }
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? axes[i] : i;
        if (a < 0) a += r;
        if (a < 0 || a >= r)
            return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axes[i], r);
        if (seen[a]) return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is repeated", (long long)a);
        seen[a] = true;
        int64_t step = nst >= 0 ? steps[i] : 1, dim = x->dims[a], s0 = starts[i], e0 = ends[i];
        if (step == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "step for axis %lld is 0", (long long)a);
        /* negative indices count from the end; then clamp as the spec says (INT64_MIN/MAX included) */
        if (s0 < 0) s0 += dim;
        if (e0 < 0) e0 += dim;
        if (step > 0) {
            s0 = s0 < 0 ? 0 : s0 > dim ? dim : s0;
            e0 = e0 < 0 ? 0 : e0 > dim ? dim : e0;
        } else {
            s0 = s0 < 0 ? 0 : s0 > dim - 1 ? dim - 1 : s0;
            e0 = e0 < -1 ? -1 : e0 > dim - 1 ? dim - 1 : e0;
        }
        /* count without overflow, whatever the step's size */
        uint64_t ustep = step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step;
        int64_t n = 0;
        if (step > 0 && e0 > s0) n = 1 + (int64_t)((uint64_t)(e0 - s0 - 1) / ustep);
        if (step < 0 && s0 > e0) n = 1 + (int64_t)((uint64_t)(s0 - e0 - 1) / ustep);
        if (dim == 0) n = 0; /* [0, dim-1] is empty: nothing to take whatever the clamping says */
        b[a] = n ? s0 : 0;
        st[a] = n > 1 ? step : 1;
        d[a] = n;
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, r, d));
    int64_t is[OCTET_MAX_DIMS], ss[OCTET_MAX_DIMS], ds[OCTET_MAX_DIMS], off = 0;
    size_t es = octet_dtype_size(x->dtype);
    ot_contiguous_strides(r, x->dims, is);
    ot_contiguous_strides(r, d, ds);
    for (int i = 0; i < r; i++) {
        off += b[i] * is[i];
        ss[i] = st[i] * is[i];
    }
    if (ot_tensor_numel(out[0]) > 0)
        ot_strided_copy(out[0]->data, ds, (const char *)x->data + off * (int64_t)es, ss, r, d, es, k->threads);
    return OCTET_OK;
}

/* ---- Gather, GatherElements ---- */

/* Indices as int64, negative ones wrapped, every one checked against dim. */
static octet_status load_indices(const ot_kernel *k, const octet_tensor *t, int64_t dim, int64_t **out) {
    if (t->dtype != OCTET_INT64 && t->dtype != OCTET_INT32)
        return ot_node_err(k, OCTET_ERR_SHAPE, "indices must be int32 or int64, got %s", octet_dtype_name(t->dtype));
    int64_t n = ot_tensor_numel(t);
    int64_t *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        int64_t v = t->dtype == OCTET_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
        if (v < -dim || v >= dim) {
            free(idx);
            return ot_node_err(k, OCTET_ERR_SHAPE, "index %lld is out of range for an axis of size %lld", (long long)v,
                               (long long)dim);
        }
        idx[i] = v < 0 ? v + dim : v;
    }
    *out = idx;
    return OCTET_OK;
}

static octet_status gather_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0], *ind = in[1];
    int r = x->ndim, q = ind->ndim, axis;
    OT_TRY(get_axis(k, 0, r, &axis));
    if (r - 1 + q > OCTET_MAX_DIMS)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "output rank %d exceeds %d", r - 1 + q, OCTET_MAX_DIMS);
    int64_t *idx;
    OT_TRY(load_indices(k, ind, x->dims[axis], &idx));
    int64_t d[OCTET_MAX_DIMS], outer = 1, inner = 1, n = ot_tensor_numel(ind), dim = x->dims[axis];
    int m = 0;
    for (int i = 0; i < axis; i++) outer *= d[m++] = x->dims[i];
    for (int i = 0; i < q; i++) d[m++] = ind->dims[i];
    for (int i = axis + 1; i < r; i++) inner *= d[m++] = x->dims[i];
    octet_status s = ot_tensor_alloc(out[0], x->dtype, m, d);
    if (s != OCTET_OK) {
        free(idx);
        return s;
    }
    size_t es = octet_dtype_size(x->dtype), row = (size_t)inner * es;
    const char *src = x->data;
    char *dst = out[0]->data;
    int64_t total = outer * n;
    int nt = (int64_t)row * total >= (1 << 18) && total > 1 ? k->threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < total; t++) {
        int64_t o = t / n, j = t % n;
        if (inner == 1) copy_elem(dst + (size_t)t * row, src + (size_t)(o * dim + idx[j]) * row, row);
        else memcpy(dst + (size_t)t * row, src + (size_t)(o * dim + idx[j]) * row, row);
    }
    free(idx);
    return OCTET_OK;
}

static octet_status gather_elements_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                        int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0], *ind = in[1];
    int r = x->ndim, axis;
    OT_TRY(get_axis(k, 0, r, &axis));
    if (ind->ndim != r)
        return ot_node_err(k, OCTET_ERR_SHAPE, "indices have rank %d, data rank %d", ind->ndim, r);
    for (int i = 0; i < r; i++)
        if (i != axis && ind->dims[i] > x->dims[i]) {
            char a[128], b[128];
            return ot_node_err(k, OCTET_ERR_SHAPE, "indices %s exceed data %s outside axis %d",
                               ot_shape_str(a, sizeof a, r, ind->dims), ot_shape_str(b, sizeof b, r, x->dims), axis);
        }
    int64_t *idx;
    OT_TRY(load_indices(k, ind, x->dims[axis], &idx));
    octet_status s = ot_tensor_alloc(out[0], x->dtype, r, ind->dims);
    if (s != OCTET_OK) {
        free(idx);
        return s;
    }
    int64_t xs[OCTET_MAX_DIMS], pos[OCTET_MAX_DIMS] = {0}, n = ot_tensor_numel(ind), base = 0;
    ot_contiguous_strides(r, x->dims, xs);
    size_t es = octet_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = out[0]->data;
    /* walk the indices in order, keeping the data offset of every coordinate except the axis */
    for (int64_t i = 0; i < n; i++) {
        copy_elem(dst + (size_t)i * es, src + (size_t)(base + idx[i] * xs[axis]) * es, es);
        for (int j = r - 1; j >= 0; j--) {
            if (j != axis) base += xs[j];
            if (++pos[j] < ind->dims[j]) break;
            if (j != axis) base -= xs[j] * ind->dims[j];
            pos[j] = 0;
        }
    }
    free(idx);
    return OCTET_OK;
}

/* ---- Tile ---- */

static octet_status tile_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0];
    int r = x->ndim, n;
    int64_t rep[OCTET_MAX_DIMS];
    OT_TRY(read_ints(k, in[1], "repeats", rep, OCTET_MAX_DIMS, &n));
    if (n != r) return ot_node_err(k, OCTET_ERR_SHAPE, "repeats has %d entries for a rank-%d input", n, r);
    /* The output, seen as dims (rep0, d0, rep1, d1, ...), is row-major: read it with stride 0 on each rep. */
    int64_t d[OCTET_MAX_DIMS], vd[2 * OCTET_MAX_DIMS], vs[2 * OCTET_MAX_DIMS], vo[2 * OCTET_MAX_DIMS];
    int64_t is[OCTET_MAX_DIMS];
    ot_contiguous_strides(r, x->dims, is);
    for (int i = 0; i < r; i++) {
        if (rep[i] < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "repeats[%d] = %lld is negative", i, (long long)rep[i]);
        d[i] = x->dims[i] * rep[i];
        vd[2 * i] = rep[i];
        vd[2 * i + 1] = x->dims[i];
        vs[2 * i] = 0;
        vs[2 * i + 1] = is[i];
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, r, d));
    ot_contiguous_strides(2 * r, vd, vo);
    ot_strided_copy(out[0]->data, vo, x->data, vs, 2 * r, vd, octet_dtype_size(x->dtype), k->threads);
    return OCTET_OK;
}

/* ---- Pad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

/* Where output position t (relative to the kept interior of n entries; t < 0 or t >= n) reads from. */
static int64_t pad_source(pad_mode mode, int64_t t, int64_t n) {
    switch (mode) {
    case PAD_EDGE: return t < 0 ? 0 : n - 1;
    case PAD_WRAP: return ((t % n) + n) % n;
    default: { /* reflect without repeating the edge; period 2(n-1) */
        if (n == 1) return 0;
        int64_t p = 2 * (n - 1), m = ((t % p) + p) % p;
        return m < n ? m : p - m;
    }
    }
}

static octet_status pad_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    const octet_tensor *x;
    int64_t pads[2 * OCTET_MAX_DIMS], axes[OCTET_MAX_DIMS];
    int np, na = -1;
    uint64_t value = 0; /* the pad value's bytes, in x's dtype */
    if (k->opset < 11) { /* pads and value were attributes */
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        x = in[0];
        OT_TRY(attr_ints(k, "pads", pads, 2 * OCTET_MAX_DIMS, &np));
        if (np < 0) return ot_node_err(k, OCTET_ERR_PARSE, "needs attribute pads");
        float v = ot_node_attr_float(k->node, "value", 0.0f);
        if (v != 0.0f) {
            if (!ot_dtype_is_float(x->dtype) || x->dtype == OCTET_FLOAT16)
                return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "a nonzero pad value needs float32 or float64 data, got %s",
                                   octet_dtype_name(x->dtype));
            octet_tensor tmp = {.dtype = x->dtype, .data = &value};
            ot_tensor_set_f64(&tmp, 0, v);
        }
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 4));
        x = in[0];
        OT_TRY(read_ints(k, in[1], "pads", pads, 2 * OCTET_MAX_DIMS, &np));
        if (n_in > 2 && in[2] && ot_tensor_numel(in[2]) > 0) {
            if (in[2]->dtype != x->dtype)
                return ot_node_err(k, OCTET_ERR_SHAPE, "constant_value is %s, data is %s", octet_dtype_name(in[2]->dtype),
                                   octet_dtype_name(x->dtype));
            memcpy(&value, in[2]->data, octet_dtype_size(x->dtype));
        }
        if (n_in > 3 && in[3]) OT_TRY(read_ints(k, in[3], "axes", axes, OCTET_MAX_DIMS, &na));
    }
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const char *ms = ot_node_attr_string(k->node, "mode", "constant");
    pad_mode mode;
    if (strcmp(ms, "constant") == 0) mode = PAD_CONSTANT;
    else if (strcmp(ms, "reflect") == 0) mode = PAD_REFLECT;
    else if (strcmp(ms, "edge") == 0) mode = PAD_EDGE;
    else if (strcmp(ms, "wrap") == 0) mode = PAD_WRAP;
    else return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "mode '%s' is not supported", ms);

    int r = x->ndim;
    int64_t bp[OCTET_MAX_DIMS] = {0}, ep[OCTET_MAX_DIMS] = {0};
    if (na < 0) {
        if (np != 2 * r) return ot_node_err(k, OCTET_ERR_SHAPE, "pads has %d entries for a rank-%d input", np, r);
        for (int i = 0; i < r; i++) {
            bp[i] = pads[i];
            ep[i] = pads[i + r];
        }
    } else {
        if (np != 2 * na) return ot_node_err(k, OCTET_ERR_SHAPE, "pads has %d entries for %d axes", np, na);
        bool seen[OCTET_MAX_DIMS] = {0};
        for (int i = 0; i < na; i++) {
            int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
            if (a < 0 || a >= r)
                return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axes[i], r);
            if (seen[a]) return ot_node_err(k, OCTET_ERR_SHAPE, "axis %lld is repeated", (long long)axes[i]);
            seen[a] = true;
            bp[a] = pads[i];
            ep[a] = pads[i + na];
        }
    }

    /* Negative pads crop first; the kept interior [cs, cs+n) of the input lands at [lo, lo+n) of the output. */
    int64_t d[OCTET_MAX_DIMS], lo[OCTET_MAX_DIMS], cs[OCTET_MAX_DIMS], n[OCTET_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        int64_t dim = x->dims[i];
        d[i] = dim + bp[i] + ep[i];
        lo[i] = bp[i] > 0 ? bp[i] : 0;
        cs[i] = bp[i] < 0 ? -bp[i] : 0;
        n[i] = dim - cs[i] - (ep[i] < 0 ? -ep[i] : 0);
        if (n[i] < 0 || d[i] < 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "pads %lld and %lld crop more than axis %d of size %lld",
                               (long long)bp[i], (long long)ep[i], i, (long long)dim);
        if (mode != PAD_CONSTANT && n[i] == 0 && d[i] > 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "%s padding of axis %d needs a non-empty input", ms, i);
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, r, d));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;
    size_t es = octet_dtype_size(x->dtype);
    int64_t is[OCTET_MAX_DIMS], os[OCTET_MAX_DIMS], ioff = 0, ooff = 0;
    ot_contiguous_strides(r, x->dims, is);
    ot_contiguous_strides(r, d, os);
    for (int i = 0; i < r; i++) {
        ioff += cs[i] * is[i];
        ooff += lo[i] * os[i];
    }
    char *o = out[0]->data;
    ot_strided_copy(o + ooff * (int64_t)es, os, (const char *)x->data + ioff * (int64_t)es, is, r, n, es, k->threads);

    /* Then the borders, innermost axis first: along axis a, every output row whose outer coordinates lie in
     * the interior gets its pad blocks (each a complete, already padded slab of the inner axes). */
    for (int a = r - 1; a >= 0; a--) {
        if (lo[a] == 0 && lo[a] + n[a] == d[a]) continue;
        int64_t blk = os[a], rows = 1, pos[OCTET_MAX_DIMS] = {0};
        for (int j = 0; j < a; j++) rows *= n[j];
        for (int64_t it = 0; it < rows; it++) {
            int64_t base = 0;
            for (int j = 0; j < a; j++) base += (lo[j] + pos[j]) * os[j];
            char *slab = o + base * (int64_t)es;
            size_t bb = (size_t)blk * es;
            if (mode == PAD_CONSTANT) {
                ot_fill_pattern(slab, lo[a] * blk, &value, es);
                ot_fill_pattern(slab + (size_t)(lo[a] + n[a]) * bb, (d[a] - lo[a] - n[a]) * blk, &value, es);
            } else {
                for (int64_t p = 0; p < d[a]; p++) {
                    if (p == lo[a]) p += n[a];
                    if (p >= d[a]) break;
                    int64_t src = lo[a] + pad_source(mode, p - lo[a], n[a]);
                    memcpy(slab + (size_t)p * bb, slab + (size_t)src * bb, bb);
                }
            }
            for (int j = a - 1; j >= 0; j--) {
                if (++pos[j] < n[j]) break;
                pos[j] = 0;
            }
        }
    }
    return OCTET_OK;
}

/* ---- Range ---- */

static octet_status range_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 3));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    octet_dtype dt = in[0]->dtype;
    static const char *const names[] = {"start", "limit", "delta"};
    for (int i = 0; i < 3; i++) {
        if (in[i]->dtype != dt)
            return ot_node_err(k, OCTET_ERR_SHAPE, "%s is %s, start is %s", names[i], octet_dtype_name(in[i]->dtype),
                               octet_dtype_name(dt));
        if (ot_tensor_numel(in[i]) != 1 || in[i]->ndim > 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "%s must be a scalar", names[i]);
    }
    int64_t n = 0;
    if (dt == OCTET_FLOAT || dt == OCTET_DOUBLE) {
        double s = ot_tensor_get_f64(in[0], 0), l = ot_tensor_get_f64(in[1], 0), dl = ot_tensor_get_f64(in[2], 0);
        if (dl == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "delta is 0");
        /* the difference is taken in the input type, as ONNX Runtime does */
        double diff = dt == OCTET_FLOAT ? (double)((float)l - (float)s) : l - s;
        double c = ceil(diff / dl);
        if (c != c || c > 4e12) return ot_node_err(k, OCTET_ERR_SHAPE, "range would have too many elements");
        n = c > 0 ? (int64_t)c : 0;
        OT_TRY(ot_tensor_alloc(out[0], dt, 1, &n));
        /* accumulate, as the spec's loop does */
        if (dt == OCTET_FLOAT) {
            float v = (float)s, d = (float)dl, *y = out[0]->data;
            for (int64_t i = 0; i < n; i++, v += d) y[i] = v;
        } else {
            double v = s, *y = out[0]->data;
            for (int64_t i = 0; i < n; i++, v += dl) y[i] = v;
        }
        return OCTET_OK;
    }
    if (dt != OCTET_INT16 && dt != OCTET_INT32 && dt != OCTET_INT64)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "type %s is not supported", octet_dtype_name(dt));
    int64_t s = ot_tensor_get_i64(in[0], 0), l = ot_tensor_get_i64(in[1], 0), dl = ot_tensor_get_i64(in[2], 0);
    if (dl == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "delta is 0");
    uint64_t udl = dl > 0 ? (uint64_t)dl : (uint64_t)0 - (uint64_t)dl;
    if (dl > 0 && l > s) n = (int64_t)(((uint64_t)l - (uint64_t)s - 1) / udl + 1);
    if (dl < 0 && s > l) n = (int64_t)(((uint64_t)s - (uint64_t)l - 1) / udl + 1);
    OT_TRY(ot_tensor_alloc(out[0], dt, 1, &n));
    /* start + i*delta in wrapping arithmetic equals the spec's accumulation */
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)s + (uint64_t)i * (uint64_t)dl;
        if (dt == OCTET_INT16) ((int16_t *)out[0]->data)[i] = (int16_t)v;
        else if (dt == OCTET_INT32) ((int32_t *)out[0]->data)[i] = (int32_t)v;
        else ((int64_t *)out[0]->data)[i] = (int64_t)v;
    }
    return OCTET_OK;
}

/* ---- TopK ---- */

typedef struct {
    double f;
    int64_t i;
    int64_t idx;
} topk_item;

/* Ties keep the lower index first, as ONNX Runtime does. */
static int topk_f_large(const void *a, const void *b) {
    const topk_item *x = a, *y = b;
    if (x->f != y->f) return x->f > y->f ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
static int topk_f_small(const void *a, const void *b) {
    const topk_item *x = a, *y = b;
    if (x->f != y->f) return x->f < y->f ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
static int topk_i_large(const void *a, const void *b) {
    const topk_item *x = a, *y = b;
    if (x->i != y->i) return x->i > y->i ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
static int topk_i_small(const void *a, const void *b) {
    const topk_item *x = a, *y = b;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static octet_status topk_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    int64_t kk;
    if (k->opset < 10) { /* k was an attribute */
        OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
        kk = ot_node_attr_int(k->node, "k", -1);
    } else {
        OT_TRY(ot_check_inputs(k, in, n_in, 2, 2));
        int64_t v[1];
        int n;
        OT_TRY(read_ints(k, in[1], "K", v, 1, &n));
        if (n != 1) return ot_node_err(k, OCTET_ERR_SHAPE, "K must hold one value");
        kk = v[0];
    }
    const octet_tensor *x = in[0];
    int axis;
    OT_TRY(get_axis(k, -1, x->ndim, &axis));
    bool is_float = x->dtype == OCTET_FLOAT || x->dtype == OCTET_DOUBLE;
    if (!is_float && !ot_dtype_is_int(x->dtype))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input type %s is not supported", octet_dtype_name(x->dtype));
    int64_t dim = x->dims[axis];
    if (kk < 0 || kk > dim)
        return ot_node_err(k, OCTET_ERR_SHAPE, "k = %lld is outside [0, %lld] for axis %d", (long long)kk, (long long)dim,
                           axis);
    bool largest = ot_node_attr_int(k->node, "largest", 1) != 0;
    int64_t d[OCTET_MAX_DIMS], outer = 1, inner = 1;
    memcpy(d, x->dims, sizeof d);
    d[axis] = kk;
    for (int i = 0; i < axis; i++) outer *= d[i];
    for (int i = axis + 1; i < x->ndim; i++) inner *= d[i];
    octet_tensor *vals = n_out > 0 ? out[0] : NULL, *idxs = n_out > 1 ? out[1] : NULL;
    if (vals) OT_TRY(ot_tensor_alloc(vals, x->dtype, x->ndim, d));
    if (idxs) OT_TRY(ot_tensor_alloc(idxs, OCTET_INT64, x->ndim, d));
    if (kk == 0 || outer * inner == 0) return OCTET_OK;
    topk_item *items = malloc((size_t)dim * sizeof *items);
    if (!items) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int (*cmp)(const void *, const void *) =
        is_float ? (largest ? topk_f_large : topk_f_small) : (largest ? topk_i_large : topk_i_small);
    size_t es = octet_dtype_size(x->dtype);
    /* always sorted: "sorted = 0" leaves the order open, and sorted is one valid order */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * dim * inner + j;
            for (int64_t t = 0; t < dim; t++) {
                int64_t at = base + t * inner;
                items[t].idx = t;
                if (is_float) items[t].f = ot_tensor_get_f64(x, at);
                else items[t].i = ot_tensor_get_i64(x, at);
            }
            qsort(items, (size_t)dim, sizeof *items, cmp);
            int64_t obase = o * kk * inner + j;
            for (int64_t t = 0; t < kk; t++) {
                int64_t at = obase + t * inner;
                if (vals)
                    memcpy((char *)vals->data + at * (int64_t)es,
                           (const char *)x->data + (base + items[t].idx * inner) * (int64_t)es, es);
                if (idxs) ((int64_t *)idxs->data)[at] = items[t].idx;
            }
        }
    free(items);
    return OCTET_OK;
}

/* ---- NonZero ---- */

static bool is_nonzero(const octet_tensor *x, int64_t i) {
    switch (x->dtype) {
    case OCTET_FLOAT: return ((const float *)x->data)[i] != 0.0f;
    case OCTET_DOUBLE: return ((const double *)x->data)[i] != 0.0;
    case OCTET_FLOAT16: return (((const uint16_t *)x->data)[i] & 0x7fff) != 0; /* -0 is zero */
    default: {
        size_t es = octet_dtype_size(x->dtype);
        const unsigned char *p = (const unsigned char *)x->data + (size_t)i * es;
        for (size_t b = 0; b < es; b++)
            if (p[b]) return true;
        return false;
    }
    }
}

static octet_status nonzero_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0];
    int64_t n = ot_tensor_numel(x), nnz = 0;
    for (int64_t i = 0; i < n; i++) nnz += is_nonzero(x, i);
    /* a scalar counts as a 1-element vector, as in ONNX Runtime */
    int r = x->ndim ? x->ndim : 1;
    int64_t d[2] = {r, nnz}, one = 1;
    const int64_t *dims = x->ndim ? x->dims : &one;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_INT64, 2, d));
    int64_t *y = out[0]->data, idx[OCTET_MAX_DIMS] = {0}, c = 0;
    for (int64_t i = 0; i < n; i++) {
        if (is_nonzero(x, i)) {
            for (int a = 0; a < r; a++) y[a * nnz + c] = idx[a];
            c++;
        }
        for (int a = r - 1; a >= 0; a--) {
            if (++idx[a] < dims[a]) break;
            idx[a] = 0;
        }
    }
    return OCTET_OK;
}

/* ---- ScatterND ---- */

#define SCATTER_REDUCE(T, ACC)                                                              \
    do {                                                                                    \
        T *d_ = (T *)dst;                                                                   \
        const T *u_ = (const T *)src;                                                       \
        for (int64_t e = 0; e < n; e++) {                                                   \
            if (red == 1) d_[e] = (T)((ACC)d_[e] + (ACC)u_[e]);                             \
            else if (red == 2) d_[e] = (T)((ACC)d_[e] * (ACC)u_[e]);                        \
            else if (red == 3) d_[e] = u_[e] > d_[e] ? u_[e] : d_[e];                       \
            else d_[e] = u_[e] < d_[e] ? u_[e] : d_[e];                                     \
        }                                                                                   \
    } while (0)

/* dst[e] (op)= src[e]; red: 1 add, 2 mul, 3 max, 4 min. Integers wrap (computed in uint64_t). */
static void scatter_reduce(octet_dtype dt, void *dst, const void *src, int64_t n, int red) {
    switch (dt) {
    case OCTET_FLOAT: SCATTER_REDUCE(float, float); break;
    case OCTET_DOUBLE: SCATTER_REDUCE(double, double); break;
    case OCTET_INT8: SCATTER_REDUCE(int8_t, uint64_t); break;
    case OCTET_UINT8: SCATTER_REDUCE(uint8_t, uint64_t); break;
    case OCTET_INT16: SCATTER_REDUCE(int16_t, uint64_t); break;
    case OCTET_UINT16: SCATTER_REDUCE(uint16_t, uint64_t); break;
    case OCTET_INT32: SCATTER_REDUCE(int32_t, uint64_t); break;
    case OCTET_UINT32: SCATTER_REDUCE(uint32_t, uint64_t); break;
    case OCTET_INT64: SCATTER_REDUCE(int64_t, uint64_t); break;
    case OCTET_UINT64: SCATTER_REDUCE(uint64_t, uint64_t); break;
    default: break;
    }
}

static octet_status scatter_nd_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                   int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 3));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0], *ind = in[1], *upd = in[2];
    const char *rs = ot_node_attr_string(k->node, "reduction", "none");
    int red;
    if (strcmp(rs, "none") == 0) red = 0;
    else if (strcmp(rs, "add") == 0) red = 1;
    else if (strcmp(rs, "mul") == 0) red = 2;
    else if (strcmp(rs, "max") == 0) red = 3;
    else if (strcmp(rs, "min") == 0) red = 4;
    else return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "reduction '%s' is not supported", rs);
    if (red && (x->dtype == OCTET_BOOL || x->dtype == OCTET_FLOAT16))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "reduction '%s' on %s is not supported", rs, octet_dtype_name(x->dtype));
    if (ind->dtype != OCTET_INT64 && ind->dtype != OCTET_INT32)
        return ot_node_err(k, OCTET_ERR_SHAPE, "indices must be int64, got %s", octet_dtype_name(ind->dtype));
    if (upd->dtype != x->dtype)
        return ot_node_err(k, OCTET_ERR_SHAPE, "updates are %s, data is %s", octet_dtype_name(upd->dtype),
                           octet_dtype_name(x->dtype));
    int r = x->ndim, q = ind->ndim;
    if (r < 1 || q < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "data and indices must have rank >= 1");
    int64_t kd = ind->dims[q - 1];
    if (kd < 0 || kd > r)
        return ot_node_err(k, OCTET_ERR_SHAPE, "indices' last dimension %lld exceeds the data rank %d", (long long)kd, r);
    /* updates: indices.shape[:-1] + data.shape[kd:] */
    bool ok = upd->ndim == q - 1 + r - (int)kd;
    for (int i = 0; ok && i < q - 1; i++) ok = upd->dims[i] == ind->dims[i];
    for (int i = (int)kd; ok && i < r; i++) ok = upd->dims[q - 1 + i - kd] == x->dims[i];
    if (!ok) {
        char a[128], b[128], c[128];
        return ot_node_err(k, OCTET_ERR_SHAPE, "updates %s do not fit data %s and indices %s",
                           ot_shape_str(a, sizeof a, upd->ndim, upd->dims), ot_shape_str(b, sizeof b, r, x->dims),
                           ot_shape_str(c, sizeof c, q, ind->dims));
    }
    OT_TRY(ot_tensor_copy_into(out[0], x));
    int64_t xs[OCTET_MAX_DIMS], slice = 1, tuples = ot_tensor_numel(ind) / (kd ? kd : 1);
    ot_contiguous_strides(r, x->dims, xs);
    for (int i = (int)kd; i < r; i++) slice *= x->dims[i];
    if (kd == 0) tuples = ot_shape_numel(q - 1, ind->dims);
    size_t es = octet_dtype_size(x->dtype);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int j = 0; j < kd; j++) {
            int64_t v = ot_tensor_get_i64(ind, t * kd + j), dim = x->dims[j];
            if (v < -dim || v >= dim)
                return ot_node_err(k, OCTET_ERR_SHAPE, "index %lld is out of range for axis %d of size %lld",
                                   (long long)v, j, (long long)dim);
            off += (v < 0 ? v + dim : v) * xs[j];
        }
        char *dst = (char *)out[0]->data + off * (int64_t)es;
        const char *src = (const char *)upd->data + t * slice * (int64_t)es;
        if (red == 0) memcpy(dst, src, (size_t)slice * es);
        else scatter_reduce(x->dtype, dst, src, slice, red);
    }
    return OCTET_OK;
}

/* ---- Trilu ---- */

static octet_status trilu_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 2));
    if (NO_OUTPUT(out, n_out)) return OCTET_OK;
    const octet_tensor *x = in[0];
    if (x->ndim < 2) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 2, got %d", x->ndim);
    int64_t kv = 0;
    if (n_in > 1 && in[1]) {
        int64_t v[1];
        int n;
        OT_TRY(read_ints(k, in[1], "k", v, 1, &n));
        if (n != 1) return ot_node_err(k, OCTET_ERR_SHAPE, "k must hold one value");
        kv = v[0];
    }
    bool upper = ot_node_attr_int(k->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
    int64_t mats = ot_shape_numel(x->ndim - 2, x->dims);
    /* keep k in a range where i + k cannot overflow */
    if (kv > cols) kv = cols;
    if (kv < -rows) kv = -rows;
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, x->dims));
    size_t es = octet_dtype_size(x->dtype);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            size_t at = (size_t)((m * rows + i) * cols) * es;
            const char *s = (const char *)x->data + at;
            char *d = (char *)out[0]->data + at;
            /* upper keeps j >= i + k, lower keeps j <= i + k */
            int64_t cut = upper ? i + kv : i + kv + 1;
            cut = cut < 0 ? 0 : cut > cols ? cols : cut;
            size_t cb = (size_t)cut * es, all = (size_t)cols * es;
            if (upper) {
                memset(d, 0, cb);
                memcpy(d + cb, s + cb, all - cb);
            } else {
                memcpy(d, s, cb);
                memset(d + cb, 0, all - cb);
            }
        }
    return OCTET_OK;
}

const ot_op_def ot_ops_tensor_ops[] = {
    {"", "Concat", NULL, concat_run, NULL},
    {"", "Split", NULL, split_run, NULL},
    {"", "Slice", NULL, slice_run, NULL},
    {"", "Gather", NULL, gather_run, NULL},
    {"", "GatherElements", NULL, gather_elements_run, NULL},
    {"", "Tile", NULL, tile_run, NULL},
    {"", "Pad", NULL, pad_run, NULL},
    {"", "Range", NULL, range_run, NULL},
    {"", "TopK", NULL, topk_run, NULL},
    {"", "NonZero", NULL, nonzero_run, NULL},
    {"", "ScatterND", NULL, scatter_nd_run, NULL},
    {"", "Trilu", NULL, trilu_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
