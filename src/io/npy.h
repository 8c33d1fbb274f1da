/* NumPy .npy arrays in memory: parse and serialize (format versions 1.0, 2.0 and 3.0; little-endian
 * numeric dtypes; Fortran-order files are transposed to C order on load). The public
 * octet_npy_load / octet_npy_save in octet.h are the file versions of these. */
#ifndef OT_NPY_H
#define OT_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "octet.h"

/* What a .npy header says. */
typedef struct ot_npy_header {
    octet_dtype dtype;
    int ndim;
    int64_t dims[OCTET_MAX_DIMS];
    int fortran_order;
    size_t data_offset;   /* bytes from the start of the file to the array data */
    size_t data_bytes;    /* numel * element size (checked for overflow) */
} ot_npy_header;

/* Parse the magic, version and header dict from the first n bytes of a file. n may be just the
 * beginning of the file: *need is set to the bytes the header occupies and OCTET_ERR_PARSE
 * ("truncated") is returned when n < *need. The data itself is not looked at. */
octet_status ot_npy_parse_header(const void *buf, size_t n, ot_npy_header *h, size_t *need);

/* Parse a whole .npy image into a new owned tensor (C order). The image must hold exactly the
 * header and the data. Errors carry no file name (callers prefix it). */
octet_status ot_npy_parse(const void *buf, size_t n, octet_tensor **out);

/* The header bytes numpy 1.24 writes for t (version 1.0, padded to 64 bytes): into hdr (cap bytes),
 * length in *len. cap of 256 is always enough. */
octet_status ot_npy_format_header(const octet_tensor *t, char *hdr, size_t cap, size_t *len);

/* Serialize t to a new malloc'd .npy image (*buf, *n; free with free()). */
octet_status ot_npy_serialize(const octet_tensor *t, void **buf, size_t *n);

/* Reorder Fortran-order (column-major) data of the given shape into C order. */
void ot_npy_fortran_to_c(void *dst, const void *src, int ndim, const int64_t *dims, size_t elem);

/* File helpers shared by npy.c and npz.c. Read a whole file (or pipe) into a malloc'd buffer. */
octet_status ot_io_read_all(const char *path, void **buf, size_t *n);
/* Write the concatenation of parts to path through util/atomic_file (temporary file + rename). */
octet_status ot_io_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n_parts);

#endif
