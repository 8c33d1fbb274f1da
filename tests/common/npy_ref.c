#include "npy_ref.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static octet_dtype descr_dtype(const char *d)
{
    static const struct { const char *s; octet_dtype t; } map[] = {
        {"f2", OCTET_FLOAT16}, {"f4", OCTET_FLOAT}, {"f8", OCTET_DOUBLE},
        {"i1", OCTET_INT8},    {"u1", OCTET_UINT8}, {"i2", OCTET_INT16}, {"u2", OCTET_UINT16},
        {"i4", OCTET_INT32},   {"u4", OCTET_UINT32}, {"i8", OCTET_INT64}, {"u8", OCTET_UINT64},
        {"b1", OCTET_BOOL},
    };
    /* Byte order: '<' little, '|' not applicable, '=' native (x86 is little-endian). */
    if (d[0] != '<' && d[0] != '|' && d[0] != '=')
        return OCTET_UNDEFINED;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(d + 1, map[i].s) == 0)
            return map[i].t;
    return OCTET_UNDEFINED;
}

/* The value text after 'key': in a header dict, or NULL. */
static const char *find_key(const char *h, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p)
        return NULL;
    p = strchr(p + strlen(pat), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

int tc_npy_read(const char *path, octet_tensor **out, char *err, size_t errn)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "cannot open %s", path);
        return -1;
    }
    int rc = -1;
    char *hdr = NULL;
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, errn, "%s: not an .npy file", path);
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2)
            goto short_read;
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        snprintf(err, errn, "%s: unknown .npy version %d", path, pre[6]);
        goto done;
    }
    if (hlen > (1u << 20)) {
        snprintf(err, errn, "%s: header too long", path);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen)
        goto short_read;
    hdr[hlen] = 0;

    const char *p = find_key(hdr, "descr");
    char descr[16] = {0};
    if (!p || *p != '\'' || sscanf(p + 1, "%15[^']", descr) != 1) {
        snprintf(err, errn, "%s: no descr in header", path);
        goto done;
    }
    octet_dtype dt = descr_dtype(descr);
    if (dt == OCTET_UNDEFINED) {
        snprintf(err, errn, "%s: unsupported descr '%s'", path, descr);
        goto done;
    }
    p = find_key(hdr, "fortran_order");
    if (!p || strncmp(p, "False", 5) != 0) {
        snprintf(err, errn, "%s: only C-order arrays are supported", path);
        goto done;
    }
    p = find_key(hdr, "shape");
    if (!p || *p != '(') {
        snprintf(err, errn, "%s: no shape in header", path);
        goto done;
    }
    int64_t dims[OCTET_MAX_DIMS];
    int nd = 0;
    p++;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || nd == OCTET_MAX_DIMS) {
            snprintf(err, errn, "%s: bad shape", path);
            goto done;
        }
        while (*end == 'L')
            end++;
        dims[nd++] = v;
        p = end;
    }
    if (octet_tensor_create(out, dt, nd, dims) != OCTET_OK) {
        snprintf(err, errn, "%s: octet_tensor_create: %s", path, octet_last_error());
        *out = NULL;
        goto done;
    }
    size_t nbytes = (size_t)octet_tensor_count(*out) * octet_dtype_size(dt);
    if (nbytes && fread(octet_tensor_data(*out), 1, nbytes, f) != nbytes)
        goto short_read;
    rc = 0;
    goto done;
short_read:
    snprintf(err, errn, "%s: file is truncated", path);
done:
    if (rc) {
        octet_tensor_free(*out);
        *out = NULL;
    }
    free(hdr);
    fclose(f);
    return rc;
}
