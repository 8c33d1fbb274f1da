/* Tensors: a dtype, a shape (row-major, C order) and a data buffer. Kernels receive inputs as
 * const octet_tensor* and fill outputs through ot_tensor_alloc. */
#ifndef OT_TENSOR_H
#define OT_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "octet.h"

struct octet_tensor {
    octet_dtype dtype;
    int ndim;
    int64_t dims[OCTET_MAX_DIMS];
    void *data;
    size_t cap;   /* bytes held when owned */
    bool owns;    /* data is ours to free */
};

/* A new owned tensor (zero-filled); NULL when out of memory or the shape is invalid. */
octet_tensor *ot_tensor_new(octet_dtype dtype, int ndim, const int64_t *dims);
/* Give an existing tensor struct (usually an op output) this dtype and shape and owned storage.
 * Reuses the buffer when it is big enough. Contents are unspecified (not zeroed). */
octet_status ot_tensor_alloc(octet_tensor *t, octet_dtype dtype, int ndim, const int64_t *dims);
/* Where ot_tensor_alloc looks for a free buffer before calling the allocator (per thread; the runtime
 * points it at a plan's buffer pool while a plan runs). NULL = none. Returns the previous hook. */
typedef struct ot_alloc_hook {
    void *(*take)(void *ctx, size_t need, size_t *cap);
    void *ctx;
} ot_alloc_hook;
const ot_alloc_hook *ot_tensor_set_alloc_hook(const ot_alloc_hook *h);

/* Make dst a deep copy of src (dst keeps its struct, gets owned data). */
octet_status ot_tensor_copy_into(octet_tensor *dst, const octet_tensor *src);
octet_tensor *ot_tensor_clone(const octet_tensor *src);
/* Release data (struct stays usable, ndim 0). */
void ot_tensor_reset(octet_tensor *t);

int64_t ot_shape_numel(int ndim, const int64_t *dims);
static inline int64_t ot_tensor_numel(const octet_tensor *t) { return ot_shape_numel(t->ndim, t->dims); }
size_t ot_tensor_nbytes(const octet_tensor *t);
bool ot_dtype_is_float(octet_dtype d);
bool ot_dtype_is_int(octet_dtype d);   /* any integer type, not bool */

/* Read element i of any numeric tensor as int64 / double (for shapes, indices, scalars). */
int64_t ot_tensor_get_i64(const octet_tensor *t, int64_t i);
double ot_tensor_get_f64(const octet_tensor *t, int64_t i);
/* Write element i from a double (with C conversion; bool = (v != 0)). */
void ot_tensor_set_f64(octet_tensor *t, int64_t i, double v);

/* "float32[1,3,224,224]" into buf; returns buf. */
char *ot_shape_str(char *buf, size_t n, int ndim, const int64_t *dims);

#endif
