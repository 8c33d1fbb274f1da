/* NumPy .npz archives: a zip of .npy files. Reading handles stored and deflated entries (zlib) and
 * zip64 records (numpy always writes them); writing stores entries uncompressed, as np.savez does. */
#ifndef OT_NPZ_H
#define OT_NPZ_H

#include <stddef.h>

#include "octet.h"

/* Load every .npy entry of an archive. *names are the entry names without ".npy" (so
 * np.savez(f, x=a) gives "x"); entries that are not .npy files are skipped. On success the caller
 * owns everything: free with ot_npz_free. On failure nothing is returned. */
octet_status ot_npz_load(const char *path, char ***names, octet_tensor ***tensors, int *count);
/* The same from an archive in memory. Errors carry no file name. */
octet_status ot_npz_parse(const void *buf, size_t n, char ***names, octet_tensor ***tensors, int *count);

/* Write tensors[i] as entry names[i] + ".npy" (stored, no compression), through a temporary file. */
octet_status ot_npz_save(const char *path, const char *const *names, const octet_tensor *const *tensors, int count);
/* The archive image in memory (*buf malloc'd, free with free()). */
octet_status ot_npz_serialize(const char *const *names, const octet_tensor *const *tensors, int count, void **buf,
                              size_t *n);

void ot_npz_free(char **names, octet_tensor **tensors, int count);

#endif
