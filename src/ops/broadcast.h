/* Multidirectional (numpy-style) broadcasting for n-ary elementwise kernels.
 *
 * Usage:
 *     int nd; int64_t dims[OCTET_MAX_DIMS];
 *     OT_TRY(ot_broadcast_shape(k, 2, (const octet_tensor *[]){a, b}, &nd, dims));
 *     OT_TRY(ot_tensor_alloc(out, a->dtype, nd, dims));
 *     ot_bcast bc;
 *     OT_TRY(ot_bcast_plan(k, &bc, nd, dims, 2, (const octet_tensor *[]){a, b}));
 *     ot_bcast_run(&bc, k->threads, out->data, (const void *[]){a->data, b->data},
 *                  (size_t[]){4, 4, 4}, my_inner_loop, ctx);
 *
 * The plan drops size-1 dimensions and merges neighbours that every operand walks the same way, so
 * an inner loop always sees each operand either contiguous (stride 1) or repeated (stride 0):
 * [N,C,H,W] + [1,C,1,1] becomes N*C runs of H*W elements with the second operand repeated. */
#ifndef OT_BROADCAST_H
#define OT_BROADCAST_H

#include "ops/op.h"

/* Operands of one broadcast loop: the output (operand 0) and up to 4 inputs. */
#define OT_BCAST_MAX 5
/* Below this many output elements a loop runs on one thread. */
#define OT_PAR_MIN ((int64_t)65536)

typedef struct ot_bcast {
    int n;                                        /* operands, output included */
    int ndim;                                     /* coalesced rank, >= 1 */
    int64_t shape[OCTET_MAX_DIMS];                /* coalesced output shape */
    int64_t stride[OT_BCAST_MAX][OCTET_MAX_DIMS]; /* element strides; 0 where an input is repeated */
    int64_t numel;                                /* output elements */
} ot_bcast;

/* The broadcast shape of n shapes. OCTET_ERR_SHAPE naming the shapes if they do not broadcast;
 * k (may be NULL) prefixes the message with the node. */
octet_status ot_broadcast_dims(const ot_kernel *k, int n, const int *ndims, const int64_t *const *dims,
                               int *out_ndim, int64_t *out_dims);
/* The same for tensors. */
octet_status ot_broadcast_shape(const ot_kernel *k, int n, const octet_tensor *const *ts, int *out_ndim,
                                int64_t *out_dims);

/* Plan a loop writing an output of shape (ndim, dims) from n_in (<= OT_BCAST_MAX-1) inputs, each of
 * which must broadcast to that shape (unidirectionally); OCTET_ERR_SHAPE otherwise. */
octet_status ot_bcast_plan(const ot_kernel *k, ot_bcast *b, int ndim, const int64_t *dims, int n_in,
                           const octet_tensor *const *ins);

/* Inner loop over n elements. p[0] is the output, p[1..] the inputs; s[j] is operand j's stride in
 * elements (0: every element reads p[j][0]; 1: contiguous). s[0] is always 1. */
typedef void (*ot_bcast_fn)(void *ctx, int64_t n, char *const *p, const int64_t *s);

/* Run fn over the whole output. esize[j] is operand j's bytes per element (output first). Splits the
 * output into contiguous ranges across up to `threads` threads when it is large; each element is
 * computed the same way whatever the split, so results do not depend on the thread count. */
void ot_bcast_run(const ot_bcast *b, int threads, void *out, const void *const *ins, const size_t *esize,
                  ot_bcast_fn fn, void *ctx);

/* Threads worth using for `work` independent element operations (1 below OT_PAR_MIN). */
int ot_par_threads(int threads, int64_t work);

/* Read n elements of a numeric/bool tensor buffer of dtype d as double / int64 (for mixed-dtype
 * kernels such as Pow with an integer exponent). False if d is not numeric. */
bool ot_load_f64(octet_dtype d, const void *src, int64_t n, double *dst);
bool ot_load_i64(octet_dtype d, const void *src, int64_t n, int64_t *dst);

#endif
