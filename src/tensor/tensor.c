#include "tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/status.h"

size_t octet_dtype_size(octet_dtype d) {
    switch (d) {
    case OCTET_FLOAT: case OCTET_INT32: case OCTET_UINT32: return 4;
    case OCTET_UINT8: case OCTET_INT8: case OCTET_BOOL: return 1;
    case OCTET_UINT16: case OCTET_INT16: case OCTET_FLOAT16: return 2;
    case OCTET_INT64: case OCTET_DOUBLE: case OCTET_UINT64: return 8;
    default: return 0;
    }
}

const char *octet_dtype_name(octet_dtype d) {
    switch (d) {
    case OCTET_FLOAT: return "float32";
    case OCTET_UINT8: return "uint8";
    case OCTET_INT8: return "int8";
    case OCTET_UINT16: return "uint16";
    case OCTET_INT16: return "int16";
    case OCTET_INT32: return "int32";
    case OCTET_INT64: return "int64";
    case OCTET_STRING: return "string";
    case OCTET_BOOL: return "bool";
    case OCTET_FLOAT16: return "float16";
    case OCTET_DOUBLE: return "float64";
    case OCTET_UINT32: return "uint32";
    case OCTET_UINT64: return "uint64";
    default: return "undefined";
    }
}

bool ot_dtype_is_float(octet_dtype d) { return d == OCTET_FLOAT || d == OCTET_DOUBLE || d == OCTET_FLOAT16; }

bool ot_dtype_is_int(octet_dtype d) {
    switch (d) {
    case OCTET_UINT8: case OCTET_INT8: case OCTET_UINT16: case OCTET_INT16: case OCTET_INT32:
    case OCTET_INT64: case OCTET_UINT32: case OCTET_UINT64: return true;
    default: return false;
    }
}

int64_t ot_shape_numel(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

size_t ot_tensor_nbytes(const octet_tensor *t) {
    return (size_t)ot_tensor_numel(t) * octet_dtype_size(t->dtype);
}

static octet_status check_shape(octet_dtype dtype, int ndim, const int64_t *dims, size_t *bytes) {
    if (ndim < 0 || ndim > OCTET_MAX_DIMS)
        return ot_err(OCTET_ERR_UNSUPPORTED, "tensor rank %d is outside 0..%d", ndim, OCTET_MAX_DIMS);
    size_t es = octet_dtype_size(dtype);
    if (es == 0) return ot_err(OCTET_ERR_UNSUPPORTED, "tensor dtype %s is not supported", octet_dtype_name(dtype));
    size_t n = es;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return ot_err(OCTET_ERR_SHAPE, "negative dimension %lld", (long long)dims[i]);
        if (!ot_mul_ok(n, (size_t)dims[i], &n) || n > ((size_t)1 << 40))
            return ot_err(OCTET_ERR_NOMEM, "tensor of shape too large to allocate");
    }
    *bytes = n;
    return OCTET_OK;
}

static _Thread_local const ot_alloc_hook *tl_hook;

const ot_alloc_hook *ot_tensor_set_alloc_hook(const ot_alloc_hook *h) {
    const ot_alloc_hook *old = tl_hook;
    tl_hook = h;
    return old;
}

octet_status ot_tensor_alloc(octet_tensor *t, octet_dtype dtype, int ndim, const int64_t *dims) {
    size_t bytes = 0;
    int64_t d[OCTET_MAX_DIMS];
    if (ndim > 0) memcpy(d, dims, (size_t)(ndim > OCTET_MAX_DIMS ? OCTET_MAX_DIMS : ndim) * sizeof *d);
    OT_TRY(check_shape(dtype, ndim, d, &bytes));
    if (!t->owns || t->cap < bytes) {
        if (t->owns) ot_aligned_free(t->data);
        size_t cap = 0;
        t->data = tl_hook ? tl_hook->take(tl_hook->ctx, bytes, &cap) : NULL;
        if (!t->data) {
            t->data = ot_aligned_alloc(bytes);
            cap = bytes;
        }
        t->owns = true;
        t->cap = t->data ? cap : 0;
        if (!t->data) return ot_err(OCTET_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = d[i];
    return OCTET_OK;
}

octet_tensor *ot_tensor_new(octet_dtype dtype, int ndim, const int64_t *dims) {
    octet_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (ot_tensor_alloc(t, dtype, ndim, dims) != OCTET_OK) {
        free(t);
        return NULL;
    }
    memset(t->data, 0, t->cap);
    return t;
}

octet_status ot_tensor_copy_into(octet_tensor *dst, const octet_tensor *src) {
    OT_TRY(ot_tensor_alloc(dst, src->dtype, src->ndim, src->dims));
    size_t n = ot_tensor_nbytes(src);
    if (n) memcpy(dst->data, src->data, n);
    return OCTET_OK;
}

octet_tensor *ot_tensor_clone(const octet_tensor *src) {
    octet_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (ot_tensor_copy_into(t, src) != OCTET_OK) {
        free(t);
        return NULL;
    }
    return t;
}

void ot_tensor_reset(octet_tensor *t) {
    if (t->owns) ot_aligned_free(t->data);
    t->data = NULL;
    t->owns = false;
    t->cap = 0;
    t->ndim = 0;
}

int64_t ot_tensor_get_i64(const octet_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case OCTET_INT64: return ((const int64_t *)p)[i];
    case OCTET_INT32: return ((const int32_t *)p)[i];
    case OCTET_INT16: return ((const int16_t *)p)[i];
    case OCTET_INT8: return ((const int8_t *)p)[i];
    case OCTET_UINT8: case OCTET_BOOL: return ((const uint8_t *)p)[i];
    case OCTET_UINT16: return ((const uint16_t *)p)[i];
    case OCTET_UINT32: return ((const uint32_t *)p)[i];
    case OCTET_UINT64: return (int64_t)((const uint64_t *)p)[i];
    case OCTET_FLOAT: return (int64_t)((const float *)p)[i];
    case OCTET_DOUBLE: return (int64_t)((const double *)p)[i];
    default: return 0;
    }
}

double ot_tensor_get_f64(const octet_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case OCTET_FLOAT: return ((const float *)p)[i];
    case OCTET_DOUBLE: return ((const double *)p)[i];
    case OCTET_UINT64: return (double)((const uint64_t *)p)[i];
    default: return (double)ot_tensor_get_i64(t, i);
    }
}

void ot_tensor_set_f64(octet_tensor *t, int64_t i, double v) {
    void *p = t->data;
    switch (t->dtype) {
    case OCTET_FLOAT: ((float *)p)[i] = (float)v; break;
    case OCTET_DOUBLE: ((double *)p)[i] = v; break;
    case OCTET_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    case OCTET_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case OCTET_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case OCTET_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case OCTET_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case OCTET_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case OCTET_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case OCTET_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case OCTET_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

char *ot_shape_str(char *buf, size_t n, int ndim, const int64_t *dims) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

/* ---- public API ---- */

octet_status octet_tensor_create(octet_tensor **out, octet_dtype dtype, int ndim, const int64_t *dims) {
    if (!out || (ndim > 0 && !dims)) return ot_err(OCTET_ERR_INVALID_ARG, "octet_tensor_create: NULL argument");
    size_t bytes;
    OT_TRY(check_shape(dtype, ndim, dims, &bytes));
    *out = ot_tensor_new(dtype, ndim, dims);
    return *out ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
}

octet_status octet_tensor_wrap(octet_tensor **out, octet_dtype dtype, int ndim, const int64_t *dims, void *data) {
    if (!out || (ndim > 0 && !dims)) return ot_err(OCTET_ERR_INVALID_ARG, "octet_tensor_wrap: NULL argument");
    size_t bytes;
    OT_TRY(check_shape(dtype, ndim, dims, &bytes));
    if (!data && bytes) return ot_err(OCTET_ERR_INVALID_ARG, "octet_tensor_wrap: NULL data");
    octet_tensor *t = calloc(1, sizeof *t);
    if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->data = data;
    *out = t;
    return OCTET_OK;
}

void octet_tensor_free(octet_tensor *t) {
    if (!t) return;
    ot_tensor_reset(t);
    free(t);
}

octet_dtype octet_tensor_dtype(const octet_tensor *t) { return t ? t->dtype : OCTET_UNDEFINED; }
int octet_tensor_ndim(const octet_tensor *t) { return t ? t->ndim : 0; }
int64_t octet_tensor_dim(const octet_tensor *t, int axis) {
    return (t && axis >= 0 && axis < t->ndim) ? t->dims[axis] : 0;
}
int64_t octet_tensor_count(const octet_tensor *t) { return t ? ot_tensor_numel(t) : 0; }
void *octet_tensor_data(octet_tensor *t) { return t ? t->data : NULL; }
