/* Copy between two strided views of the same shape, for any element size. The layout ops
 * (Transpose, Slice, Expand, Tile, Concat, Split, Pad) all reduce to this: dimensions are
 * coalesced first, contiguous inner runs become one memcpy each, and transposed views are
 * copied through small tiles so both sides stay in cache. */
#ifndef OT_STRIDED_COPY_H
#define OT_STRIDED_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Enough for Tile, which views a rank-8 output as 16 dimensions. */
#define OT_COPY_MAX_DIMS 16

/* dst[i] = src[i] for every index i of dims[0..ndim), where element i sits at sum(i[d] * stride[d])
 * elements from the base pointer. Strides may be 0 (broadcast source) or negative (reversed source).
 * ndim <= OT_COPY_MAX_DIMS. Uses up to `threads` OpenMP threads when the copy is large. */
void ot_strided_copy(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides, int ndim,
                     const int64_t *dims, size_t elem, int threads);

/* Row-major element strides of a shape. */
void ot_contiguous_strides(int ndim, const int64_t *dims, int64_t *strides);

/* Fill count elements of elem bytes each with the pattern at value. */
void ot_fill_pattern(void *dst, int64_t count, const void *value, size_t elem);

#endif
