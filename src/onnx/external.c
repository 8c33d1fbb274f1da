/* External tensor data (TensorProto.data_location == EXTERNAL): bytes in a side file next to the
 * model. A model must not make us read files outside its own folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/tensor_proto.h"
#include "util/mem.h"
#include "util/status.h"

static bool has_dotdot(const char *p) {
    while (*p) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') return true;
        p += n;
        if (*p) p++;
    }
    return false;
}

octet_status ot_external_resolve(const char *base_dir, const char *location, const char *what, char **real) {
    *real = NULL;
    if (!location || !*location) return ot_err(OCTET_ERR_PARSE, "%s: external data has no location", what);
    if (!base_dir)
        return ot_err(OCTET_ERR_INVALID_ARG,
                      "%s: data is in external file '%s', but the model was loaded from memory without a folder",
                      what, location);
    if (location[0] == '/' || location[0] == '\\')
        return ot_err(OCTET_ERR_PARSE, "%s: external data location '%s' is an absolute path; octet reads only "
                      "files inside the model's folder", what, location);
    if (has_dotdot(location))
        return ot_err(OCTET_ERR_PARSE, "%s: external data location '%s' contains '..'; octet reads only files "
                      "inside the model's folder", what, location);
    size_t nb = strlen(base_dir), nl = strlen(location);
    char *joined = malloc(nb + nl + 2);
    if (!joined) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    snprintf(joined, nb + nl + 2, "%s/%s", *base_dir ? base_dir : ".", location);
    char *rpath = realpath(joined, NULL);
    int e = errno;
    free(joined);
    if (!rpath)
        return ot_err(OCTET_ERR_IO, "%s: cannot open external data file '%s' in '%s': %s", what, location, base_dir,
                      strerror(e));
    char *rbase = realpath(*base_dir ? base_dir : ".", NULL);
    if (!rbase) {
        e = errno;
        free(rpath);
        return ot_err(OCTET_ERR_IO, "%s: cannot resolve the model's folder '%s': %s", what, base_dir, strerror(e));
    }
    size_t n = strlen(rbase);
    bool inside = strcmp(rbase, "/") == 0 || (strncmp(rpath, rbase, n) == 0 && rpath[n] == '/');
    if (!inside) {
        octet_status s = ot_err(OCTET_ERR_PARSE, "%s: external data '%s' resolves to '%s', outside the model's "
                                "folder '%s'", what, location, rpath, rbase);
        free(rpath);
        free(rbase);
        return s;
    }
    free(rbase);
    *real = rpath;
    return OCTET_OK;
}

/* A non-negative decimal number (what protobuf's external_data values are). */
static bool parse_u64(const char *s, uint64_t *v) {
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *v = x;
    return true;
}

octet_status ot_external_read(const Onnx__TensorProto *tp, const char *what, const char *base_dir, size_t nbytes,
                              void **data) {
    *data = NULL;
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k) continue;
        if (strcmp(k, "location") == 0) {
            location = v;
        } else if (strcmp(k, "offset") == 0) {
            if (!parse_u64(v, &offset))
                return ot_err(OCTET_ERR_PARSE, "%s: external data offset '%s' is not a number", what, v ? v : "");
        } else if (strcmp(k, "length") == 0) {
            if (!parse_u64(v, &length))
                return ot_err(OCTET_ERR_PARSE, "%s: external data length '%s' is not a number", what, v ? v : "");
            has_length = true;
        }
    }
    if (has_length && length != nbytes)
        return ot_err(OCTET_ERR_PARSE, "%s: external data length is %llu bytes, its shape needs %zu", what,
                      (unsigned long long)length, nbytes);
    char *path = NULL;
    OT_TRY(ot_external_resolve(base_dir, location, what, &path));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        octet_status s = ot_err(OCTET_ERR_IO, "%s: cannot open external data file '%s': %s", what, path,
                                strerror(errno));
        free(path);
        return s;
    }
    octet_status s = OCTET_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s = ot_err(OCTET_ERR_PARSE, "%s: external data '%s' is not a regular file", what, location);
    } else if (offset > (uint64_t)st.st_size || nbytes > (uint64_t)st.st_size - offset) {
        s = ot_err(OCTET_ERR_PARSE, "%s: external data needs bytes %llu..%llu of '%s', which has %lld bytes", what,
                   (unsigned long long)offset, (unsigned long long)(offset + nbytes), location,
                   (long long)st.st_size);
    } else if (!(*data = ot_aligned_alloc(nbytes))) {
        s = ot_err(OCTET_ERR_NOMEM, "%s: out of memory allocating %zu bytes", what, nbytes);
    } else {
        size_t got = 0;
        while (got < nbytes) {
            ssize_t r = pread(fd, (char *)*data + got, nbytes - got, (off_t)(offset + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                s = ot_err(OCTET_ERR_IO, "%s: reading external data '%s': %s", what, location,
                           r < 0 ? strerror(errno) : "unexpected end of file");
                break;
            }
            got += (size_t)r;
        }
        if (s != OCTET_OK) {
            ot_aligned_free(*data);
            *data = NULL;
        }
    }
    close(fd);
    free(path);
    return s;
}
