/* .npy reader and writer. The header is a Python dict literal; we parse just the subset numpy
 * writes ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }) with a small hand-written
 * scanner, bounds-checked at every byte, because .npy files come from users and may be anything. */
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/tensor.h"
#include "util/atomic_file.h"
#include "util/mem.h"
#include "util/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "octet's .npy code assumes a little-endian host"
#endif

static const unsigned char k_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy's type characters for each dtype octet keeps in .npy files. */
static const struct {
    char kind;
    unsigned size;
    octet_dtype dtype;
} k_types[] = {
    {'f', 4, OCTET_FLOAT},  {'f', 8, OCTET_DOUBLE}, {'f', 2, OCTET_FLOAT16}, {'i', 1, OCTET_INT8},
    {'i', 2, OCTET_INT16},  {'i', 4, OCTET_INT32},  {'i', 8, OCTET_INT64},   {'u', 1, OCTET_UINT8},
    {'u', 2, OCTET_UINT16}, {'u', 4, OCTET_UINT32}, {'u', 8, OCTET_UINT64},  {'b', 1, OCTET_BOOL},
};

/* ---- header dict scanner ---- */

typedef struct scan {
    const char *p, *end;
} scan;

static void skip_ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int peek(scan *s) { return s->p < s->end ? (unsigned char)*s->p : -1; }

static int expect(scan *s, char c) {
    skip_ws(s);
    if (peek(s) != (unsigned char)c) return 0;
    s->p++;
    return 1;
}

/* A quoted string without escapes ('...' or "..."), copied into out (cap bytes). */
static octet_status scan_string(scan *s, char *out, size_t cap, const char *what) {
    skip_ws(s);
    int q = peek(s);
    if (q != '\'' && q != '"') return ot_err(OCTET_ERR_PARSE, "bad header: expected a quoted %s", what);
    s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || *s->p == '\n') return ot_err(OCTET_ERR_PARSE, "bad header: unsupported %s string", what);
        if (n + 1 >= cap) return ot_err(OCTET_ERR_PARSE, "bad header: %s string is too long", what);
        out[n++] = *s->p++;
    }
    if (s->p >= s->end) return ot_err(OCTET_ERR_PARSE, "bad header: unterminated %s string", what);
    s->p++;
    out[n] = 0;
    return OCTET_OK;
}

static int scan_word(scan *s, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0) return 0;
    s->p += n;
    return 1;
}

/* Map a descr such as "<f4" to a dtype. */
static octet_status parse_descr(const char *d, octet_dtype *out) {
    if (d[0] == 0) return ot_err(OCTET_ERR_PARSE, "bad header: empty dtype");
    char order = d[0];
    const char *k = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=') {
        order = '=';   /* numpy also accepts "f4" without a byte-order mark */
        k = d;
    }
    char kind = k[0];
    if (kind == '?') kind = 'b';
    unsigned size = 0;
    const char *q = k[0] ? k + 1 : k;
    if (!*q) return ot_err(OCTET_ERR_PARSE, "bad header: dtype '%s' has no size", d);
    for (; *q; q++) {
        if (*q < '0' || *q > '9' || size > 1000) return ot_err(OCTET_ERR_PARSE, "bad header: unknown dtype '%s'", d);
        size = size * 10 + (unsigned)(*q - '0');
    }
    if (order == '>' && size > 1)
        return ot_err(OCTET_ERR_UNSUPPORTED,
                      "big-endian data ('%s') is not supported; save it little-endian (arr.astype('<%c%u'))", d,
                      kind, size);
    if (order == '|' && size > 1) return ot_err(OCTET_ERR_PARSE, "bad header: dtype '%s' needs a byte order", d);
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++)
        if (k_types[i].kind == kind && k_types[i].size == size) {
            *out = k_types[i].dtype;
            return OCTET_OK;
        }
    if (kind && strchr("biufcmMOSUV", kind))
        return ot_err(OCTET_ERR_UNSUPPORTED, "dtype '%s' is not supported (octet reads bool, int8..64, uint8..64, "
                                             "float16/32/64)", d);
    return ot_err(OCTET_ERR_PARSE, "bad header: unknown dtype '%s'", d);
}

static octet_status scan_shape(scan *s, ot_npy_header *h) {
    if (!expect(s, '(')) return ot_err(OCTET_ERR_PARSE, "bad header: 'shape' is not a tuple");
    int n = 0;
    int comma_after_last = 0;
    for (;;) {
        skip_ws(s);
        if (peek(s) == ')') break;
        int c = peek(s);
        if (c < '0' || c > '9') return ot_err(OCTET_ERR_PARSE, "bad header: 'shape' must hold non-negative integers");
        int64_t v = 0;
        while ((c = peek(s)) >= '0' && c <= '9') {
            if (v > (INT64_MAX - (c - '0')) / 10) return ot_err(OCTET_ERR_PARSE, "bad header: a dimension overflows");
            v = v * 10 + (c - '0');
            s->p++;
        }
        if (peek(s) == 'L') s->p++;   /* Python 2 long */
        if (n >= OCTET_MAX_DIMS)
            return ot_err(OCTET_ERR_UNSUPPORTED, "arrays of more than %d dimensions are not supported", OCTET_MAX_DIMS);
        h->dims[n++] = v;
        comma_after_last = expect(s, ',');
        skip_ws(s);
        if (!comma_after_last && peek(s) != ')') return ot_err(OCTET_ERR_PARSE, "bad header: malformed 'shape' tuple");
    }
    s->p++;
    if (n == 1 && !comma_after_last) return ot_err(OCTET_ERR_PARSE, "bad header: 'shape' is not a tuple");
    h->ndim = n;
    return OCTET_OK;
}

static octet_status scan_dict(scan *s, ot_npy_header *h) {
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!expect(s, '{')) return ot_err(OCTET_ERR_PARSE, "bad header: not a dict");
    for (;;) {
        skip_ws(s);
        if (peek(s) == '}') break;
        char key[32], val[32];
        OT_TRY(scan_string(s, key, sizeof key, "key"));
        if (!expect(s, ':')) return ot_err(OCTET_ERR_PARSE, "bad header: expected ':' after '%s'", key);
        skip_ws(s);
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            if (peek(s) == '[') return ot_err(OCTET_ERR_UNSUPPORTED, "structured dtypes are not supported");
            OT_TRY(scan_string(s, val, sizeof val, "dtype"));
            OT_TRY(parse_descr(val, &h->dtype));
            seen_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            if (scan_word(s, "True")) h->fortran_order = 1;
            else if (scan_word(s, "False")) h->fortran_order = 0;
            else return ot_err(OCTET_ERR_PARSE, "bad header: 'fortran_order' must be True or False");
            seen_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            OT_TRY(scan_shape(s, h));
            seen_shape = 1;
        } else {
            return ot_err(OCTET_ERR_PARSE, "bad header: unexpected or repeated key '%s'", key);
        }
        if (expect(s, ',')) continue;
        skip_ws(s);
        if (peek(s) != '}') return ot_err(OCTET_ERR_PARSE, "bad header: expected ',' or '}'");
    }
    s->p++;
    skip_ws(s);
    if (s->p != s->end) return ot_err(OCTET_ERR_PARSE, "bad header: unexpected bytes after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return ot_err(OCTET_ERR_PARSE, "bad header: missing key '%s'",
                      !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    return OCTET_OK;
}

octet_status ot_npy_parse_header(const void *buf, size_t n, ot_npy_header *h, size_t *need) {
    const unsigned char *b = buf;
    memset(h, 0, sizeof *h);
    *need = 10;
    if (n == 0) return ot_err(OCTET_ERR_PARSE, "empty file, not an .npy");
    if (memcmp(b, k_magic, n < 6 ? n : 6) != 0) return ot_err(OCTET_ERR_PARSE, "not an .npy file (bad magic)");
    if (n < 8) return ot_err(OCTET_ERR_PARSE, "truncated: file ends in the magic or version");
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return ot_err(OCTET_ERR_UNSUPPORTED, ".npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)", major,
                      minor);
    size_t pre = major == 1 ? 10 : 12;
    *need = pre;
    if (n < pre) return ot_err(OCTET_ERR_PARSE, "truncated: file ends in the header length");
    size_t hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                             : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    *need = pre + hlen;
    if (n - pre < hlen)
        return ot_err(OCTET_ERR_PARSE, "truncated: header says %zu header bytes, the file has %zu", hlen, n - pre);
    scan s = {(const char *)b + pre, (const char *)b + pre + hlen};
    OT_TRY(scan_dict(&s, h));
    size_t bytes = octet_dtype_size(h->dtype);
    char shape[160];
    for (int i = 0; i < h->ndim; i++)
        if (!ot_mul_ok(bytes, (size_t)h->dims[i], &bytes) || (int64_t)bytes < 0)
            return ot_err(OCTET_ERR_PARSE, "shape %s is too large",
                          ot_shape_str(shape, sizeof shape, h->ndim, h->dims));
    h->data_offset = pre + hlen;
    h->data_bytes = bytes;
    return OCTET_OK;
}

void ot_npy_fortran_to_c(void *dst, const void *src, int ndim, const int64_t *dims, size_t elem) {
    int64_t numel = ot_shape_numel(ndim, dims);
    if (numel <= 0) return;
    int64_t fstride[OCTET_MAX_DIMS], idx[OCTET_MAX_DIMS] = {0};
    int64_t st = 1;
    for (int i = 0; i < ndim; i++) {
        fstride[i] = st;
        st *= dims[i];
    }
    const char *s = src;
    char *d = dst;
    int64_t off = 0;   /* Fortran offset of the current C-order index */
    for (int64_t k = 0; k < numel; k++) {
        memcpy(d + (size_t)k * elem, s + (size_t)off * elem, elem);
        for (int a = ndim - 1; a >= 0; a--) {   /* advance the C-order index, last axis fastest */
            if (++idx[a] < dims[a]) {
                off += fstride[a];
                break;
            }
            off -= fstride[a] * (dims[a] - 1);
            idx[a] = 0;
        }
    }
}

/* A new tensor for h with data copied (and reordered when Fortran order) from data. */
static octet_status tensor_from(const ot_npy_header *h, const void *data, octet_tensor **out) {
    octet_tensor *t = calloc(1, sizeof *t);
    if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status st = ot_tensor_alloc(t, h->dtype, h->ndim, h->dims);
    if (st != OCTET_OK) {
        free(t);
        return st;
    }
    if (h->fortran_order && h->ndim > 1)
        ot_npy_fortran_to_c(t->data, data, h->ndim, h->dims, octet_dtype_size(h->dtype));
    else if (h->data_bytes)
        memcpy(t->data, data, h->data_bytes);
    *out = t;
    return OCTET_OK;
}

static octet_status check_data_size(const ot_npy_header *h, size_t have) {
    char shape[160];
    if (have < h->data_bytes)
        return ot_err(OCTET_ERR_PARSE, "truncated: shape %s of %s needs %zu data bytes, the file has %zu",
                      ot_shape_str(shape, sizeof shape, h->ndim, h->dims), octet_dtype_name(h->dtype),
                      h->data_bytes, have);
    if (have > h->data_bytes)
        return ot_err(OCTET_ERR_PARSE, "shape %s of %s needs %zu data bytes, the file has %zu (extra data)",
                      ot_shape_str(shape, sizeof shape, h->ndim, h->dims), octet_dtype_name(h->dtype),
                      h->data_bytes, have);
    return OCTET_OK;
}

octet_status ot_npy_parse(const void *buf, size_t n, octet_tensor **out) {
    if (!out || (!buf && n)) return ot_err(OCTET_ERR_INVALID_ARG, "ot_npy_parse: NULL argument");
    *out = NULL;
    ot_npy_header h;
    size_t need;
    OT_TRY(ot_npy_parse_header(buf ? buf : "", n, &h, &need));
    OT_TRY(check_data_size(&h, n - h.data_offset));
    return tensor_from(&h, (const char *)buf + h.data_offset, out);
}

/* ---- writing ---- */

static octet_status descr_of(octet_dtype d, char out[8]) {
    for (size_t i = 0; i < sizeof k_types / sizeof *k_types; i++)
        if (k_types[i].dtype == d) {
            snprintf(out, 8, "%c%c%u", k_types[i].size == 1 ? '|' : '<', k_types[i].kind, k_types[i].size);
            return OCTET_OK;
        }
    return ot_err(OCTET_ERR_UNSUPPORTED, "cannot write a %s tensor to .npy", octet_dtype_name(d));
}

octet_status ot_npy_format_header(const octet_tensor *t, char *hdr, size_t cap, size_t *len) {
    char descr[8], dict[512];
    OT_TRY(descr_of(t->dtype, descr));
    if (t->ndim < 0 || t->ndim > OCTET_MAX_DIMS) return ot_err(OCTET_ERR_INVALID_ARG, "bad tensor rank %d", t->ndim);
    int o = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->ndim; i++)
        o += snprintf(dict + o, sizeof dict - (size_t)o, i ? ", %lld" : "%lld", (long long)t->dims[i]);
    o += snprintf(dict + o, sizeof dict - (size_t)o, "%s), }", t->ndim == 1 ? "," : "");
    /* numpy >= 1.24 leaves room to grow the first axis in place: 21 digits minus its length. */
    if (t->ndim > 0) {
        char first[24];
        int w = snprintf(first, sizeof first, "%lld", (long long)t->dims[0]);
        for (int i = w; i < 21; i++) dict[o++] = ' ';
    }
    size_t hlen = (size_t)o + 1;                   /* + the final '\n' */
    size_t pad = 64 - (10 + hlen) % 64;            /* numpy's ARRAY_ALIGN; pad is in 1..64 */
    if (pad == 64) pad = 0;
    size_t total = 10 + hlen + pad;
    if (total > cap || total - 10 > 0xffff) return ot_err(OCTET_ERR_INTERNAL, "npy header does not fit");
    memcpy(hdr, k_magic, 6);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (char)((total - 10) & 0xff);
    hdr[9] = (char)((total - 10) >> 8);
    memcpy(hdr + 10, dict, (size_t)o);
    memset(hdr + 10 + o, ' ', pad);
    hdr[total - 1] = '\n';
    *len = total;
    return OCTET_OK;
}

octet_status ot_npy_serialize(const octet_tensor *t, void **buf, size_t *n) {
    if (!t || !buf || !n) return ot_err(OCTET_ERR_INVALID_ARG, "ot_npy_serialize: NULL argument");
    char hdr[512];
    size_t hl;
    OT_TRY(ot_npy_format_header(t, hdr, sizeof hdr, &hl));
    size_t db = ot_tensor_nbytes(t);
    if (db && !t->data) return ot_err(OCTET_ERR_INVALID_ARG, "tensor has no data");
    char *b = ot_malloc(hl + db);
    if (!b) return ot_err(OCTET_ERR_NOMEM, "out of memory serializing a %zu-byte tensor", db);
    memcpy(b, hdr, hl);
    if (db) memcpy(b + hl, t->data, db);
    *buf = b;
    *n = hl + db;
    return OCTET_OK;
}

/* ---- files ---- */

octet_status ot_io_read_all(const char *path, void **buf, size_t *n) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return ot_err(OCTET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return ot_err(OCTET_ERR_IO, "cannot read '%s': it is a directory", path);
    }
    /* Regular files are read in one go; pipes ("<(...)") grow the buffer as they go. */
    size_t cap = (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) ? (size_t)sb.st_size + 1
                                                                                         : 65536;
    char *b = malloc(cap);
    size_t len = 0;
    while (b) {
        len += fread(b + len, 1, cap - len, f);
        if (len < cap) break;
        char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!b) return ot_err(OCTET_ERR_NOMEM, "out of memory reading '%s'", path);
    if (failed) {
        free(b);
        return ot_err(OCTET_ERR_IO, "error reading '%s'", path);
    }
    *buf = b;
    *n = len;
    return OCTET_OK;
}

octet_status ot_io_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n_parts) {
    ot_atomic_file f;
    OT_TRY(ot_atomic_open(&f, path));
    for (int i = 0; i < n_parts; i++)
        if (ot_atomic_write(&f, parts[i], sizes[i]) != OCTET_OK) {
            octet_status st = f.err;
            ot_atomic_abort(&f);
            return st;
        }
    return ot_atomic_commit(&f);
}

octet_status octet_npy_load(octet_tensor **out, const char *path) {
    if (!out || !path) return ot_err(OCTET_ERR_INVALID_ARG, "octet_npy_load: NULL argument");
    *out = NULL;
    void *buf = NULL;
    size_t n = 0;
    OT_TRY(ot_io_read_all(path, &buf, &n));
    octet_status st = ot_npy_parse(buf, n, out);
    free(buf);
    if (st != OCTET_OK) return ot_err_prefix(st, "%s: ", path);
    return OCTET_OK;
}

octet_status octet_npy_save(const octet_tensor *t, const char *path) {
    if (!t || !path) return ot_err(OCTET_ERR_INVALID_ARG, "octet_npy_save: NULL argument");
    char hdr[512];
    size_t hl;
    octet_status st = ot_npy_format_header(t, hdr, sizeof hdr, &hl);
    if (st != OCTET_OK) return ot_err_prefix(st, "%s: ", path);
    size_t db = ot_tensor_nbytes(t);
    if (db && !t->data) return ot_err(OCTET_ERR_INVALID_ARG, "%s: tensor has no data", path);
    const void *parts[2] = {hdr, t->data};
    size_t sizes[2] = {hl, db};
    return ot_io_write_atomic(path, parts, sizes, 2);
}
