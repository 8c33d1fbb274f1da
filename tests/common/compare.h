/* Comparing octet's outputs with reference tensors (ONNX Runtime's .npy files), shared by the
 * op-case runner and the real-model test. Only the public API is used. */
#ifndef TC_COMPARE_H
#define TC_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "octet.h"

typedef struct tc_cmp {
    bool ok;
    char reason[512];     /* why not ok: dtype/shape mismatch or the worst element */
    double max_abs;       /* max |got - want| over all elements (INFINITY for NaN/inf mismatches) */
    double max_ref;       /* max |want| over finite elements */
    int64_t n_bad;        /* elements outside the tolerance */
    int64_t worst;        /* flat index of the worst element, -1 if none */
    double worst_got, worst_want;
} tc_cmp;

/* got vs want: dtype and shape must match exactly. Floats: |a-b| <= atol + rtol*|b|, NaN matches
 * NaN, infinities must match exactly. Integers and bool: exact. Fills r; returns r->ok. */
bool tc_compare(const octet_tensor *got, const octet_tensor *want, double rtol, double atol, tc_cmp *r);

/* max |x| over the finite elements of a numeric tensor (0 for an empty one). */
double tc_max_abs_value(const octet_tensor *t);

/* Element i of a numeric tensor as a double (float16 and bool included). */
double tc_get_f64(const octet_tensor *t, int64_t i);

/* "float32[1,3,224,224]" into buf; returns buf. */
char *tc_shape_str(const octet_tensor *t, char *buf, size_t n);

/* The multi-dimensional index "[0,2,1]" of flat index i into buf; returns buf. */
char *tc_index_str(const octet_tensor *t, int64_t i, char *buf, size_t n);

#endif
