/* .npz = zip of .npy. The reader trusts only the central directory (numpy's local headers may carry
 * placeholder sizes) and checks every offset against the buffer and every CRC. */
#include "io/npz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/npy.h"
#include "tensor/tensor.h"
#include "util/mem.h"
#include "util/status.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_Z64_EOCD 0x06064b50u
#define SIG_Z64_LOCATOR 0x07064b50u
#define DOS_DATE_1980 0x21   /* 1980-01-01: a fixed timestamp keeps archives reproducible */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint8_t *wr16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}
static uint8_t *wr32(uint8_t *p, uint32_t v) { return wr16(wr16(p, v & 0xffff), v >> 16); }

static uint32_t crc_of(uint32_t crc, const void *p, size_t n) { return (uint32_t)crc32_z(crc, p, n); }

/* ---- reading ---- */

typedef struct zdir {
    uint64_t offset, size, entries;
} zdir;

static octet_status find_directory(const uint8_t *b, size_t n, zdir *d) {
    if (n < 22) return ot_err(OCTET_ERR_PARSE, "not an .npz (zip) archive: too short");
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    size_t at = SIZE_MAX;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (rd32(b + i) == SIG_EOCD && i + 22 + rd16(b + i + 20) <= n) {
            at = i;
            break;
        }
    if (at == SIZE_MAX) return ot_err(OCTET_ERR_PARSE, "not an .npz (zip) archive: no end of central directory");
    const uint8_t *e = b + at;
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0) return ot_err(OCTET_ERR_UNSUPPORTED, "multi-part zip archives are not supported");
    d->entries = rd16(e + 10);
    d->size = rd32(e + 12);
    d->offset = rd32(e + 16);
    size_t dir_end = at;
    if (at >= 20 && rd32(e - 20) == SIG_Z64_LOCATOR) {   /* zip64: the real numbers are elsewhere */
        uint64_t z = rd64(e - 20 + 8);
        if (z > at - 20 || at - 20 - z < 56 || rd32(b + z) != SIG_Z64_EOCD)
            return ot_err(OCTET_ERR_PARSE, "corrupt zip64 end of central directory");
        d->entries = rd64(b + z + 32);
        d->size = rd64(b + z + 40);
        d->offset = rd64(b + z + 48);
        dir_end = (size_t)z;
    }
    if (d->offset > dir_end || d->size > dir_end - d->offset)
        return ot_err(OCTET_ERR_PARSE, "corrupt zip: central directory lies outside the file");
    if (d->entries > d->size / 46) return ot_err(OCTET_ERR_PARSE, "corrupt zip: too many entries for the directory");
    return OCTET_OK;
}

typedef struct zentry {
    const char *name;
    size_t name_len;
    uint32_t flags, method, crc;
    uint64_t csize, usize, local;
} zentry;

/* Read one central directory record at *p (inside [p, end)); advances *p. */
static octet_status read_entry(const uint8_t **pp, const uint8_t *end, zentry *z) {
    const uint8_t *p = *pp;
    if (end - p < 46 || rd32(p) != SIG_CENTRAL) return ot_err(OCTET_ERR_PARSE, "corrupt zip: bad central directory record");
    z->flags = rd16(p + 8);
    z->method = rd16(p + 10);
    z->crc = rd32(p + 16);
    z->csize = rd32(p + 20);
    z->usize = rd32(p + 24);
    size_t nlen = rd16(p + 28), elen = rd16(p + 30), clen = rd16(p + 32);
    z->local = rd32(p + 42);
    if ((size_t)(end - p) - 46 < nlen + elen + clen) return ot_err(OCTET_ERR_PARSE, "corrupt zip: record overruns the directory");
    z->name = (const char *)p + 46;
    z->name_len = nlen;
    /* zip64 extra field: 8-byte values for each 32-bit field that is saturated, in this order. */
    const uint8_t *x = p + 46 + nlen, *xend = x + elen;
    while (xend - x >= 4) {
        uint32_t id = rd16(x), len = rd16(x + 2);
        if ((size_t)(xend - x) - 4 < len) break;
        if (id == 0x0001) {
            const uint8_t *v = x + 4, *vend = v + len;
            uint64_t *fields[3] = {&z->usize, &z->csize, &z->local};
            for (int i = 0; i < 3; i++)
                if (*fields[i] == 0xffffffffu) {
                    if (vend - v < 8) return ot_err(OCTET_ERR_PARSE, "corrupt zip: short zip64 field");
                    *fields[i] = rd64(v);
                    v += 8;
                }
        }
        x += 4 + len;
    }
    *pp = p + 46 + nlen + elen + clen;
    return OCTET_OK;
}

/* The uncompressed bytes of an entry: a pointer into b (stored) or a new buffer in *owned. */
static octet_status entry_data(const uint8_t *b, size_t n, const zentry *z, const uint8_t **data, uint8_t **owned) {
    *owned = NULL;
    if (z->flags & 1) return ot_err(OCTET_ERR_UNSUPPORTED, "encrypted entries are not supported");
    if (z->method != 0 && z->method != 8)
        return ot_err(OCTET_ERR_UNSUPPORTED, "zip compression method %u is not supported (stored and deflate are)",
                      (unsigned)z->method);
    if (z->local > n || n - z->local < 30 || rd32(b + z->local) != SIG_LOCAL)
        return ot_err(OCTET_ERR_PARSE, "corrupt zip: bad local header");
    uint64_t start = z->local + 30 + rd16(b + z->local + 26) + rd16(b + z->local + 28);
    if (start > n || z->csize > n - start) return ot_err(OCTET_ERR_PARSE, "truncated zip: entry data overruns the file");
    const uint8_t *src = b + start;
    if (z->method == 0) {
        if (z->csize != z->usize) return ot_err(OCTET_ERR_PARSE, "corrupt zip: stored entry sizes differ");
        if (crc_of(0, src, (size_t)z->usize) != z->crc) return ot_err(OCTET_ERR_PARSE, "CRC mismatch (corrupt data)");
        *data = src;
        return OCTET_OK;
    }
    /* deflate expands at most ~1032:1; a larger claim is a lie (and would make us allocate it). */
    if (z->usize > z->csize * 1032 + 1024) return ot_err(OCTET_ERR_PARSE, "corrupt zip: impossible uncompressed size");
    uint8_t *out = ot_malloc((size_t)z->usize);
    if (!out) return ot_err(OCTET_ERR_NOMEM, "out of memory inflating %llu bytes", (unsigned long long)z->usize);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(out);
        return ot_err(OCTET_ERR_NOMEM, "zlib: inflateInit failed");
    }
    size_t in_left = (size_t)z->csize, out_left = (size_t)z->usize;
    const uint8_t *in = src;
    uint8_t *o = out;
    int rc = Z_OK;
    const size_t chunk = (size_t)1 << 30;   /* zlib counts in 32-bit uInt */
    while (rc == Z_OK) {
        zs.next_in = (Bytef *)(uintptr_t)in;
        zs.avail_in = (uInt)(in_left < chunk ? in_left : chunk);
        zs.next_out = o;
        zs.avail_out = (uInt)(out_left < chunk ? out_left : chunk);
        uInt ai = zs.avail_in, ao = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        in += ai - zs.avail_in;
        in_left -= ai - zs.avail_in;
        o += ao - zs.avail_out;
        out_left -= ao - zs.avail_out;
        if (rc == Z_BUF_ERROR && (in_left > 0 && out_left > 0)) rc = Z_OK;   /* just a chunk boundary */
        if (rc == Z_OK && ai == zs.avail_in && ao == zs.avail_out) rc = Z_BUF_ERROR;
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_left != 0) {
        free(out);
        return ot_err(OCTET_ERR_PARSE, "corrupt zip: deflate data is %s",
                      rc == Z_STREAM_END ? "shorter than its declared size" : "damaged or truncated");
    }
    if (crc_of(0, out, (size_t)z->usize) != z->crc) {
        free(out);
        return ot_err(OCTET_ERR_PARSE, "CRC mismatch (corrupt data)");
    }
    *data = out;
    *owned = out;
    return OCTET_OK;
}

void ot_npz_free(char **names, octet_tensor **tensors, int count) {
    for (int i = 0; i < count; i++) {
        if (names) free(names[i]);
        if (tensors) octet_tensor_free(tensors[i]);
    }
    free(names);
    free(tensors);
}

octet_status ot_npz_parse(const void *buf, size_t n, char ***names_out, octet_tensor ***tensors_out, int *count_out) {
    if (!names_out || !tensors_out || !count_out || (!buf && n))
        return ot_err(OCTET_ERR_INVALID_ARG, "ot_npz_parse: NULL argument");
    *names_out = NULL;
    *tensors_out = NULL;
    *count_out = 0;
    const uint8_t *b = buf;
    zdir d = {0};
    OT_TRY(find_directory(b, n, &d));
    char **names = NULL;
    octet_tensor **tensors = NULL;
    int count = 0, cap_n = 0, cap_t = 0;
    octet_status st = OCTET_OK;
    const uint8_t *p = b + d.offset, *end = b + d.offset + d.size;
    for (uint64_t i = 0; i < d.entries && st == OCTET_OK; i++) {
        zentry z = {0};
        if ((st = read_entry(&p, end, &z)) != OCTET_OK) break;
        if (z.name_len < 4 || memcmp(z.name + z.name_len - 4, ".npy", 4) != 0) continue;   /* not an array */
        if (memchr(z.name, 0, z.name_len)) {
            st = ot_err(OCTET_ERR_PARSE, "corrupt zip: entry name holds a NUL byte");
            break;
        }
        char *name = ot_strndup(z.name, z.name_len - 4);
        if (!name || !ot_grow((void **)&names, &cap_n, count + 1, sizeof *names) ||
            !ot_grow((void **)&tensors, &cap_t, count + 1, sizeof *tensors)) {
            free(name);
            st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            break;
        }
        for (int j = 0; j < count; j++)
            if (strcmp(names[j], name) == 0) st = ot_err(OCTET_ERR_PARSE, "array '%s' appears twice", name);
        const uint8_t *data = NULL;
        uint8_t *owned = NULL;
        if (st == OCTET_OK) st = entry_data(b, n, &z, &data, &owned);
        if (st == OCTET_OK) st = ot_npy_parse(data, (size_t)z.usize, &tensors[count]);
        free(owned);
        if (st != OCTET_OK) {
            st = ot_err_prefix(st, "entry '%s.npy': ", name);
            free(name);
            break;
        }
        names[count++] = name;
    }
    if (st != OCTET_OK) {
        ot_npz_free(names, tensors, count);
        return st;
    }
    *names_out = names;
    *tensors_out = tensors;
    *count_out = count;
    return OCTET_OK;
}

octet_status ot_npz_load(const char *path, char ***names, octet_tensor ***tensors, int *count) {
    if (!path) return ot_err(OCTET_ERR_INVALID_ARG, "ot_npz_load: NULL path");
    void *buf = NULL;
    size_t n = 0;
    OT_TRY(ot_io_read_all(path, &buf, &n));
    octet_status st = ot_npz_parse(buf, n, names, tensors, count);
    free(buf);
    return st == OCTET_OK ? st : ot_err_prefix(st, "%s: ", path);
}

/* ---- writing ---- */

/* An archive as a list of byte ranges: per entry [local header + name + npy header][tensor data],
 * then [central directory + end record]. Tensor data is referenced, not copied. */
typedef struct zparts {
    const void **ptr;
    size_t *len;
    int n;
    uint8_t **owned;
    int n_owned;
} zparts;

static void zparts_free(zparts *z) {
    for (int i = 0; i < z->n_owned; i++) free(z->owned[i]);
    free(z->owned);
    free(z->ptr);
    free(z->len);
    memset(z, 0, sizeof *z);
}

static octet_status build_parts(const char *const *names, const octet_tensor *const *tensors, int count, zparts *z) {
    memset(z, 0, sizeof *z);
    if (count < 0 || count > 0xffff || (count > 0 && (!names || !tensors)))
        return ot_err(OCTET_ERR_INVALID_ARG, "npz: bad array count %d", count);
    size_t np = 2 * (size_t)count + 1;
    z->ptr = calloc(np, sizeof *z->ptr);
    z->len = calloc(np, sizeof *z->len);
    z->owned = calloc((size_t)count + 1, sizeof *z->owned);
    size_t dir_len = 22;
    for (int i = 0; i < count; i++) dir_len += 46 + (names[i] ? strlen(names[i]) : 0) + 4;
    uint8_t *dir = malloc(dir_len);
    if (!z->ptr || !z->len || !z->owned || !dir) {
        free(dir);
        zparts_free(z);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    uint8_t *dp = dir;
    uint64_t off = 0;
    for (int i = 0; i < count; i++) {
        const char *nm = names[i];
        const octet_tensor *t = tensors[i];
        size_t nl = nm ? strlen(nm) : 0;
        for (int j = 0; j < i && nl; j++)
            if (strcmp(names[j], nm) == 0) nl = 0;
        if (!nl || nl > 0xffff - 4 || !t) {
            free(dir);
            zparts_free(z);
            return ot_err(OCTET_ERR_INVALID_ARG, "npz: array %d needs a unique, non-empty name and a tensor", i);
        }
        uint8_t *blk = malloc(30 + nl + 4 + 512);
        if (!blk) {
            free(dir);
            zparts_free(z);
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
        z->owned[z->n_owned++] = blk;
        size_t hl;
        octet_status st = ot_npy_format_header(t, (char *)blk + 30 + nl + 4, 512, &hl);
        size_t db = ot_tensor_nbytes(t);
        uint64_t size = (uint64_t)hl + db;
        if (st == OCTET_OK && db && !t->data) st = ot_err(OCTET_ERR_INVALID_ARG, "tensor has no data");
        if (st == OCTET_OK && (size >= 0xffffffffu || off + 30 + nl + 4 + size >= 0xffffffffu))
            st = ot_err(OCTET_ERR_UNSUPPORTED, "archives over 4 GiB (zip64) are not supported for writing");
        if (st != OCTET_OK) {
            free(dir);
            zparts_free(z);
            return ot_err_prefix(st, "npz array '%s': ", nm);
        }
        uint32_t crc = crc_of(crc_of(0, blk + 30 + nl + 4, hl), db ? t->data : "", db);
        uint8_t *p = wr32(blk, SIG_LOCAL);
        p = wr16(p, 20);            /* version needed: 2.0 */
        p = wr16(p, 0);             /* flags */
        p = wr16(p, 0);             /* method: stored */
        p = wr16(p, 0);             /* time */
        p = wr16(p, DOS_DATE_1980);
        p = wr32(p, crc);
        p = wr32(p, (uint32_t)size);
        p = wr32(p, (uint32_t)size);
        p = wr16(p, (uint32_t)(nl + 4));
        p = wr16(p, 0);             /* extra length */
        memcpy(p, nm, nl);
        memcpy(p + nl, ".npy", 4);
        z->ptr[z->n] = blk;
        z->len[z->n++] = 30 + nl + 4 + hl;
        z->ptr[z->n] = db ? t->data : "";
        z->len[z->n++] = db;

        dp = wr32(dp, SIG_CENTRAL);
        dp = wr16(dp, 0x0314);      /* made by: Unix, 2.0 */
        dp = wr16(dp, 20);
        dp = wr16(dp, 0);
        dp = wr16(dp, 0);
        dp = wr16(dp, 0);
        dp = wr16(dp, DOS_DATE_1980);
        dp = wr32(dp, crc);
        dp = wr32(dp, (uint32_t)size);
        dp = wr32(dp, (uint32_t)size);
        dp = wr16(dp, (uint32_t)(nl + 4));
        dp = wr16(dp, 0);           /* extra */
        dp = wr16(dp, 0);           /* comment */
        dp = wr16(dp, 0);           /* disk */
        dp = wr16(dp, 0);           /* internal attributes */
        dp = wr32(dp, 0100644u << 16);   /* external: a regular rw-r--r-- file */
        dp = wr32(dp, (uint32_t)off);
        memcpy(dp, nm, nl);
        memcpy(dp + nl, ".npy", 4);
        dp += nl + 4;
        off += 30 + nl + 4 + size;
    }
    size_t cd_size = (size_t)(dp - dir);
    dp = wr32(dp, SIG_EOCD);
    dp = wr16(dp, 0);
    dp = wr16(dp, 0);
    dp = wr16(dp, (uint32_t)count);
    dp = wr16(dp, (uint32_t)count);
    dp = wr32(dp, (uint32_t)cd_size);
    dp = wr32(dp, (uint32_t)off);
    wr16(dp, 0);
    z->owned[z->n_owned++] = dir;
    z->ptr[z->n] = dir;
    z->len[z->n++] = dir_len;
    return OCTET_OK;
}

octet_status ot_npz_serialize(const char *const *names, const octet_tensor *const *tensors, int count, void **buf,
                              size_t *n) {
    if (!buf || !n) return ot_err(OCTET_ERR_INVALID_ARG, "ot_npz_serialize: NULL argument");
    zparts z;
    OT_TRY(build_parts(names, tensors, count, &z));
    size_t total = 0;
    for (int i = 0; i < z.n; i++) total += z.len[i];
    uint8_t *b = ot_malloc(total);
    if (!b) {
        zparts_free(&z);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    size_t o = 0;
    for (int i = 0; i < z.n; i++) {
        if (z.len[i]) memcpy(b + o, z.ptr[i], z.len[i]);
        o += z.len[i];
    }
    zparts_free(&z);
    *buf = b;
    *n = total;
    return OCTET_OK;
}

octet_status ot_npz_save(const char *path, const char *const *names, const octet_tensor *const *tensors, int count) {
    if (!path) return ot_err(OCTET_ERR_INVALID_ARG, "ot_npz_save: NULL path");
    zparts z;
    octet_status st = build_parts(names, tensors, count, &z);
    if (st != OCTET_OK) return ot_err_prefix(st, "%s: ", path);
    st = ot_io_write_atomic(path, z.ptr, z.len, z.n);
    zparts_free(&z);
    return st;
}
