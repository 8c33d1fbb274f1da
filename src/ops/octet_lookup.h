/* ai.octet QLinearLookup: an 8-bit tensor mapped through a 256-entry table that holds
 * QuantizeLinear(f(DequantizeLinear(code))) for a float element-wise op f (ops/octet_lookup.c). The QDQ
 * fusion pass (ir/passes/qdq_fuse.c) makes it from DequantizeLinear -> f -> QuantizeLinear islands. */
#ifndef OT_OCTET_LOOKUP_H
#define OT_OCTET_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* The ONNX ops QLinearLookup runs as f: element-wise float ops of unary.c with one data input (Clip also
 * takes its min/max) whose output has the input's shape. */
bool ot_qlookup_op_supported(const char *op_type);

/* y[i] = table[x[i]] for i < n. The scalar loop, and an AVX2 one (vpshufb over the sixteen 16-byte rows
 * of the table, octet_lookup_avx2.c) that gives the same bytes; x and y may be the same buffer. */
void ot_lut8_ref(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
void ot_lut8_avx2(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
/* The variant ot_kernels_get() allows, over up to `threads` threads when n is large. */
void ot_lut8(const uint8_t table[256], const uint8_t *x, uint8_t *y, int64_t n, int threads);

/* The op (registered in octet_int8.c's table). */
octet_status ot_qlookup_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status ot_qlookup_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
void ot_qlookup_release(void *state);

#endif
