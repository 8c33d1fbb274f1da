#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"
#include "util/status.h"

#define BUF_CAP ((size_t)1 << 16)

/* The process umask without changing it (umask() is not thread-safe to read). */
static mode_t current_umask(void) {
    FILE *fp = fopen("/proc/self/status", "r");
    mode_t m = 022;
    if (!fp) return m;
    char line[128];
    while (fgets(line, sizeof line, fp)) {
        unsigned v;
        if (sscanf(line, "Umask: %o", &v) == 1) {
            m = (mode_t)v;
            break;
        }
    }
    fclose(fp);
    return m;
}

static void release(ot_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    free(f->path);
    free(f->tmp);
    free(f->buf);
    f->path = f->tmp = NULL;
    f->buf = NULL;
    f->buf_len = 0;
}

octet_status ot_atomic_open(ot_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!path || !*path) return ot_err(OCTET_ERR_INVALID_ARG, "no file name given");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base) return ot_err(OCTET_ERR_INVALID_ARG, "'%s' is not a file name", path);
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = dir_len + 1 + strlen(base) + 16;
    f->path = ot_strdup(path);
    f->tmp = malloc(n);
    f->buf = malloc(BUF_CAP);
    if (!f->path || !f->tmp || !f->buf) {
        release(f);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    snprintf(f->tmp, n, "%.*s.%s.tmpXXXXXX", (int)dir_len, path, base);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        octet_status s = ot_err(OCTET_ERR_IO, "cannot create a temporary file next to '%s': %s", path,
                                strerror(errno));
        release(f);
        return s;
    }
    /* mkstemp makes the file 0600; give it the mode a plain fopen would (or the old file's) */
    struct stat st;
    mode_t mode = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : (0666 & ~current_umask());
    (void)fchmod(f->fd, mode);   /* not fatal: the data is what matters */
    (void)fcntl(f->fd, F_SETFD, FD_CLOEXEC);
    return OCTET_OK;
}

static octet_status write_fd(ot_atomic_file *f, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t r = write(f->fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            f->err = ot_err(OCTET_ERR_IO, "writing '%s': %s", f->path, r < 0 ? strerror(errno) : "no progress");
            return f->err;
        }
        p += r;
        n -= (size_t)r;
    }
    return OCTET_OK;
}

static octet_status flush(ot_atomic_file *f) {
    if (f->err || !f->buf_len) return f->err;
    octet_status s = write_fd(f, f->buf, f->buf_len);
    f->buf_len = 0;
    return s;
}

octet_status ot_atomic_write(ot_atomic_file *f, const void *p, size_t n) {
    if (f->err) return f->err;
    if (f->fd < 0) return f->err = ot_err(OCTET_ERR_INTERNAL, "write to a closed atomic file");
    if (!n) return OCTET_OK;
    f->size += n;
    if (f->buf_len + n <= BUF_CAP) {
        memcpy(f->buf + f->buf_len, p, n);
        f->buf_len += n;
        return OCTET_OK;
    }
    OT_TRY(flush(f));
    if (n >= BUF_CAP) return write_fd(f, p, n);
    memcpy(f->buf, p, n);
    f->buf_len = n;
    return OCTET_OK;
}

octet_status ot_atomic_sync(ot_atomic_file *f) {
    if (f->fd < 0) return f->err;
    if (flush(f) == OCTET_OK && fsync(f->fd) != 0)
        f->err = ot_err(OCTET_ERR_IO, "writing '%s': fsync failed: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && !f->err)
        f->err = ot_err(OCTET_ERR_IO, "writing '%s': close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    return f->err;
}

octet_status ot_atomic_commit(ot_atomic_file *f) {
    if (!f->tmp) return ot_err(OCTET_ERR_INTERNAL, "commit of an atomic file that is not open");
    octet_status s = ot_atomic_sync(f);
    if (s == OCTET_OK && rename(f->tmp, f->path) != 0)
        s = ot_err(OCTET_ERR_IO, "cannot replace '%s': %s", f->path, strerror(errno));
    if (s != OCTET_OK) {
        ot_atomic_abort(f);
        return s;
    }
    /* make the rename itself durable */
    const char *slash = strrchr(f->path, '/');
    char *dir = slash ? ot_strndup(f->path, slash == f->path ? 1 : (size_t)(slash - f->path)) : ot_strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    release(f);
    return OCTET_OK;
}

void ot_atomic_abort(ot_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    release(f);
}

octet_status ot_atomic_write_file(const char *path, const void *data, size_t n) {
    ot_atomic_file f;
    OT_TRY(ot_atomic_open(&f, path));
    if (ot_atomic_write(&f, data, n) != OCTET_OK) {
        octet_status s = f.err;
        ot_atomic_abort(&f);
        return s;
    }
    return ot_atomic_commit(&f);
}
