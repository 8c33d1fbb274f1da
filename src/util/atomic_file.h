/* Writing a file so that readers see either the old file or the complete new one, never half a
 * file: the data goes to a temporary file in the same folder, which is flushed, fsync'ed and then
 * renamed over the destination. On any failure the temporary file is removed and the destination
 * is left untouched.
 *
 *     ot_atomic_file f;
 *     OT_TRY(ot_atomic_open(&f, path));
 *     ot_atomic_write(&f, a, na);          // errors are sticky: check once at the end
 *     ot_atomic_write(&f, b, nb);
 *     return ot_atomic_commit(&f);         // or ot_atomic_abort(&f)
 */
#ifndef OT_ATOMIC_FILE_H
#define OT_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "octet.h"

typedef struct ot_atomic_file {
    int fd;             /* -1 once closed */
    char *path;         /* destination */
    char *tmp;          /* the temporary file next to it */
    octet_status err;   /* first error, sticky */
    uint64_t size;      /* bytes written so far */
    uint8_t *buf;       /* write buffer */
    size_t buf_len;
} ot_atomic_file;

/* Create the temporary file next to path. On failure nothing is left behind and f needs no abort. */
octet_status ot_atomic_open(ot_atomic_file *f, const char *path);
/* Append bytes (buffered). Returns the sticky error state. */
octet_status ot_atomic_write(ot_atomic_file *f, const void *p, size_t n);
/* Flush, fsync and close the temporary file without renaming it yet: lets a caller make two files
 * durable before committing either. Idempotent. */
octet_status ot_atomic_sync(ot_atomic_file *f);
/* Sync (if not done), rename over the destination and fsync the folder. Always releases f; on
 * failure the temporary file is removed. */
octet_status ot_atomic_commit(ot_atomic_file *f);
/* Remove the temporary file and release f; the destination is untouched. Safe after a failed commit. */
void ot_atomic_abort(ot_atomic_file *f);

/* Whole-buffer convenience: write data to path atomically. */
octet_status ot_atomic_write_file(const char *path, const void *data, size_t n);

#endif
