/* A small .npy reader of the tests' own, independent of octet_npy_load, so that reference outputs
 * do not go through the code under test (and octet_npy_load can be checked against it). */
#ifndef TC_NPY_REF_H
#define TC_NPY_REF_H

#include <stddef.h>

#include "octet.h"

/* Read a little-endian, C-order .npy (f2/f4/f8, i1..i8, u1..u8, b1) into a new octet tensor.
 * Returns 0, or -1 with a message in err. */
int tc_npy_read(const char *path, octet_tensor **out, char *err, size_t errn);

#endif
