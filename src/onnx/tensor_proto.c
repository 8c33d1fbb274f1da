#include "onnx/tensor_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "octet's ONNX I/O assumes a little-endian host (raw_data is little-endian)"
#endif

/* ---- allocator ---- */

static void *pb_alloc(void *ud, size_t n) {
    (void)ud;
    if (n < 64) return malloc(n ? n : 1);
    void *p = NULL;
    return posix_memalign(&p, 64, n) == 0 ? p : NULL;
}

static void pb_free(void *ud, void *p) {
    (void)ud;
    free(p);
}

ProtobufCAllocator ot_pb_allocator = {pb_alloc, pb_free, NULL};

/* ---- names ---- */

const char *ot_onnx_type_name(int32_t t) {
    switch (t) {
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    default: return (t >= 1 && t <= 13) ? octet_dtype_name((octet_dtype)t) : "unknown";
    }
}

static bool dtype_ok(int32_t t) { return t >= 1 && t <= 13 && t != OCTET_STRING; }

/* ---- shape ---- */

static octet_status read_shape(const int64_t *dims, size_t n_dims, octet_dtype dt, const char *what,
                               octet_tensor *t, size_t *bytes) {
    if (n_dims > OCTET_MAX_DIMS)
        return ot_err(OCTET_ERR_UNSUPPORTED, "%s: rank %zu is more than octet's maximum of %d", what, n_dims,
                      OCTET_MAX_DIMS);
    t->dtype = dt;
    t->ndim = (int)n_dims;
    size_t b = octet_dtype_size(dt);
    bool overflow = false;
    for (size_t i = 0; i < n_dims; i++) {
        if (dims[i] < 0)
            return ot_err(OCTET_ERR_PARSE, "%s: dimension %zu is negative (%lld)", what, i, (long long)dims[i]);
        t->dims[i] = dims[i];
        if (!ot_mul_ok(b, (size_t)dims[i], &b) || b > ((size_t)1 << 40)) overflow = true;
    }
    if (overflow) {
        char s[160];
        return ot_err(OCTET_ERR_PARSE, "%s: shape %s%s is too large (over 1 TB)", what, octet_dtype_name(dt),
                      ot_shape_str(s, sizeof s, t->ndim, t->dims));
    }
    *bytes = b;
    return OCTET_OK;
}

static const char *shape_of(const octet_tensor *t, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "%s", octet_dtype_name(t->dtype));
    if (k < n) ot_shape_str(buf + k, n - k, t->ndim, t->dims);
    return buf;
}

/* ---- typed fields ---- */

/* Which repeated field holds data of dtype dt, its name and its count. */
static const char *typed_field(const Onnx__TensorProto *tp, octet_dtype dt, size_t *count) {
    switch (dt) {
    case OCTET_FLOAT: *count = tp->n_float_data; return "float_data";
    case OCTET_INT32: case OCTET_INT16: case OCTET_INT8: case OCTET_UINT16: case OCTET_UINT8: case OCTET_BOOL:
    case OCTET_FLOAT16: *count = tp->n_int32_data; return "int32_data";
    case OCTET_INT64: *count = tp->n_int64_data; return "int64_data";
    case OCTET_DOUBLE: *count = tp->n_double_data; return "double_data";
    case OCTET_UINT32: case OCTET_UINT64: *count = tp->n_uint64_data; return "uint64_data";
    default: *count = 0; return "?";
    }
}

/* Take *field (allocated by ot_pb_allocator) as tensor storage when it is big enough to be aligned. */
static void *steal(void **field, size_t bytes) {
    if (bytes < 64 || !*field) return NULL;
    void *p = *field;
    *field = NULL;
    return p;
}

static octet_status from_int32(const Onnx__TensorProto *tp, octet_tensor *t, size_t n, const char *what) {
    const int32_t *s = tp->int32_data;
    int64_t lo, hi;
    switch (t->dtype) {
    case OCTET_INT8: lo = INT8_MIN; hi = INT8_MAX; break;
    case OCTET_UINT8: lo = 0; hi = UINT8_MAX; break;
    case OCTET_INT16: lo = INT16_MIN; hi = INT16_MAX; break;
    case OCTET_UINT16: case OCTET_FLOAT16: lo = 0; hi = UINT16_MAX; break;
    case OCTET_BOOL: lo = 0; hi = 1; break;
    default: lo = INT32_MIN; hi = INT32_MAX; break;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < lo || s[i] > hi)
            return ot_err(OCTET_ERR_PARSE, "%s: int32_data[%zu] = %d is out of range for %s", what, i, (int)s[i],
                          octet_dtype_name(t->dtype));
        switch (t->dtype) {
        case OCTET_INT8: ((int8_t *)t->data)[i] = (int8_t)s[i]; break;
        case OCTET_UINT8: case OCTET_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)s[i]; break;
        case OCTET_INT16: ((int16_t *)t->data)[i] = (int16_t)s[i]; break;
        case OCTET_UINT16: case OCTET_FLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)s[i]; break;
        default: ((int32_t *)t->data)[i] = s[i]; break;
        }
    }
    return OCTET_OK;
}

static octet_status alloc_data(octet_tensor *t, size_t bytes) {
    t->data = ot_aligned_alloc(bytes);
    if (!t->data) return ot_err(OCTET_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    t->cap = bytes;
    t->owns = true;
    return OCTET_OK;
}

static octet_status fill_typed(Onnx__TensorProto *tp, octet_tensor *t, size_t bytes, const char *what) {
    size_t count;
    const char *field = typed_field(tp, t->dtype, &count);
    int64_t numel = ot_tensor_numel(t);
    if ((uint64_t)numel != count) {
        char s[160];
        if (count == 0 && !tp->has_raw_data)
            return ot_err(OCTET_ERR_PARSE, "%s: has no data (no raw_data, no %s), %s needs %lld values", what, field,
                          shape_of(t, s, sizeof s), (long long)numel);
        return ot_err(OCTET_ERR_PARSE, "%s: %s holds %zu values, %s needs %lld", what, field, count,
                      shape_of(t, s, sizeof s), (long long)numel);
    }
    void *stolen = NULL;
    switch (t->dtype) {
    case OCTET_FLOAT: stolen = steal((void **)&tp->float_data, bytes); break;
    case OCTET_INT32: stolen = steal((void **)&tp->int32_data, bytes); break;
    case OCTET_INT64: stolen = steal((void **)&tp->int64_data, bytes); break;
    case OCTET_DOUBLE: stolen = steal((void **)&tp->double_data, bytes); break;
    case OCTET_UINT64: stolen = steal((void **)&tp->uint64_data, bytes); break;
    default: break;
    }
    if (stolen) {
        t->data = stolen;
        t->cap = bytes;
        t->owns = true;
        return OCTET_OK;
    }
    OT_TRY(alloc_data(t, bytes));
    size_t n = (size_t)numel;
    switch (t->dtype) {
    case OCTET_FLOAT: if (n) memcpy(t->data, tp->float_data, bytes); break;
    case OCTET_INT64: if (n) memcpy(t->data, tp->int64_data, bytes); break;
    case OCTET_DOUBLE: if (n) memcpy(t->data, tp->double_data, bytes); break;
    case OCTET_UINT64: if (n) memcpy(t->data, tp->uint64_data, bytes); break;
    case OCTET_UINT32:
        for (size_t i = 0; i < n; i++) {
            if (tp->uint64_data[i] > UINT32_MAX)
                return ot_err(OCTET_ERR_PARSE, "%s: uint64_data[%zu] = %llu is out of range for uint32", what, i,
                              (unsigned long long)tp->uint64_data[i]);
            ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
        }
        break;
    default: return from_int32(tp, t, n, what);
    }
    return OCTET_OK;
}

/* ---- TensorProto ---- */

octet_status ot_tensor_from_proto(Onnx__TensorProto *tp, const char *what, const char *base_dir,
                                  octet_tensor **out) {
    *out = NULL;
    int32_t dt = tp->has_data_type ? tp->data_type : 0;
    if (dt == 0) return ot_err(OCTET_ERR_PARSE, "%s: data_type is missing", what);
    if (dt == OCTET_STRING)
        return ot_err(OCTET_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
    if (!dtype_ok(dt))
        return ot_err(OCTET_ERR_UNSUPPORTED, "%s: data type %s (%d) is not supported", what, ot_onnx_type_name(dt),
                      (int)dt);
    if (tp->segment) return ot_err(OCTET_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);

    octet_tensor *t = calloc(1, sizeof *t);
    if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    size_t bytes = 0;
    octet_status s = read_shape(tp->dims, tp->n_dims, (octet_dtype)dt, what, t, &bytes);
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (s != OCTET_OK) {
        /* keep the message */
    } else if (external) {
        s = ot_external_read(tp, what, base_dir, bytes, &t->data);
        if (s == OCTET_OK) {
            t->cap = bytes;
            t->owns = true;
        }
    } else if (tp->raw_data.len > 0 || (tp->has_raw_data && bytes > 0)) {
        if (tp->raw_data.len != bytes) {
            char sh[160];
            s = ot_err(OCTET_ERR_PARSE, "%s: raw_data has %zu bytes, %s needs %zu", what, tp->raw_data.len,
                       shape_of(t, sh, sizeof sh), bytes);
        } else if ((t->data = steal((void **)&tp->raw_data.data, bytes)) != NULL) {
            tp->raw_data.len = 0;
            t->cap = bytes;
            t->owns = true;
        } else if ((s = alloc_data(t, bytes)) == OCTET_OK) {
            memcpy(t->data, tp->raw_data.data, bytes);
        }
    } else {
        s = fill_typed(tp, t, bytes, what);
    }
    if (s != OCTET_OK) {
        octet_tensor_free(t);
        return s;
    }
    *out = t;
    return OCTET_OK;
}

/* ---- SparseTensorProto -> dense ---- */

/* A few bytes of sparse data must not make us allocate gigabytes. */
#define OT_SPARSE_MAX_DENSE ((size_t)256 << 20)

octet_status ot_tensor_from_sparse_proto(Onnx__SparseTensorProto *sp, const char *what, const char *base_dir,
                                         octet_tensor **out) {
    *out = NULL;
    if (!sp->values || !sp->indices)
        return ot_err(OCTET_ERR_PARSE, "%s: sparse tensor without values or indices", what);
    octet_tensor *vals = NULL, *idx = NULL, *d = NULL;
    char w[300];
    snprintf(w, sizeof w, "%s (values)", what);
    OT_TRY(ot_tensor_from_proto(sp->values, w, base_dir, &vals));
    snprintf(w, sizeof w, "%s (indices)", what);
    octet_status s = ot_tensor_from_proto(sp->indices, w, base_dir, &idx);
    if (s != OCTET_OK) goto done;
    d = calloc(1, sizeof *d);
    if (!d) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t bytes = 0;
    if ((s = read_shape(sp->dims, sp->n_dims, vals->dtype, what, d, &bytes)) != OCTET_OK) goto done;
    if (bytes > OT_SPARSE_MAX_DENSE) {
        s = ot_err(OCTET_ERR_UNSUPPORTED, "%s: sparse tensor is %zu bytes dense; octet densifies at most %zu", what,
                   bytes, (size_t)OT_SPARSE_MAX_DENSE);
        goto done;
    }
    int64_t nnz = ot_tensor_numel(vals), numel = ot_tensor_numel(d);
    int rank = d->ndim;
    /* indices are int64, either [NNZ] linear or [NNZ, rank] coordinates */
    bool linear = idx->ndim == 1 && idx->dims[0] == nnz;
    bool coords = idx->ndim == 2 && idx->dims[0] == nnz && idx->dims[1] == rank;
    if (vals->ndim != 1 || idx->dtype != OCTET_INT64 || (!linear && !coords)) {
        s = ot_err(OCTET_ERR_PARSE, "%s: sparse values must be 1-D and indices int64 [NNZ] or [NNZ,%d]", what, rank);
        goto done;
    }
    if ((s = alloc_data(d, bytes)) != OCTET_OK) goto done;
    memset(d->data, 0, bytes);
    size_t es = octet_dtype_size(d->dtype);
    const int64_t *ix = idx->data;
    for (int64_t k = 0; k < nnz; k++) {
        int64_t lin = 0;
        if (linear) {
            lin = ix[k];
        } else {
            for (int r = 0; r < rank; r++) {
                int64_t c = ix[k * rank + r];
                if (c < 0 || c >= d->dims[r]) { lin = -1; break; }
                lin = lin * d->dims[r] + c;
            }
        }
        if (lin < 0 || lin >= numel) {
            s = ot_err(OCTET_ERR_PARSE, "%s: sparse index %lld is out of range", what, (long long)k);
            goto done;
        }
        memcpy((char *)d->data + (size_t)lin * es, (const char *)vals->data + (size_t)k * es, es);
    }
done:
    octet_tensor_free(vals);
    octet_tensor_free(idx);
    if (s != OCTET_OK) {
        octet_tensor_free(d);
        return s;
    }
    *out = d;
    return OCTET_OK;
}
