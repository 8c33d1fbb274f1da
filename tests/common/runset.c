#include "runset.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compare.h"
#include "npy_ref.h"

void tc_sanitize_name(const char *name, char *out, size_t n)
{
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++) {
        char c = name[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        out[i] = ok ? c : '_';
    }
    if (n)
        out[i] = 0;
}

int tc_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *tc_read_first_line(const char *path, char *buf, size_t n)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return buf;
    if (!fgets(buf, (int)n, f))
        buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    return buf;
}

/* If name is "<prefix>_<k>_<rest>.npy", set *k and *rest (pointer into name) and return 1. */
static int parse_name(const char *name, const char *prefix, int64_t *k, const char **rest, size_t *rest_len)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    if (nl < pl + 7 || strncmp(name, prefix, pl) != 0 || name[pl] != '_' || strcmp(name + nl - 4, ".npy") != 0)
        return 0;
    const char *p = name + pl + 1;
    if (*p < '0' || *p > '9')
        return 0;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*p++ - '0');
    }
    if (*p != '_' || p + 1 >= name + nl - 4)
        return 0;
    *k = v;
    *rest = p + 1;
    *rest_len = (size_t)(name + nl - 4 - *rest);
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tc_list_runs(const char *dir, const char *prefix, int64_t **ks)
{
    *ks = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t k;
        const char *rest;
        size_t rl;
        if (!parse_name(e->d_name, prefix, &k, &rest, &rl))
            continue;
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen |= (*ks)[i] == k;
        if (seen)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            int64_t *g = realloc(*ks, (size_t)cap * sizeof **ks);
            if (!g) {
                free(*ks);
                *ks = NULL;
                closedir(d);
                return -1;
            }
            *ks = g;
        }
        (*ks)[n++] = k;
    }
    closedir(d);
    if (n)
        qsort(*ks, (size_t)n, sizeof **ks, cmp_i64);
    return n;
}

void tc_inputs_free(tc_inputs *in)
{
    for (int i = 0; i < in->n; i++)
        octet_tensor_free(in->tensors[i]);
    free(in->names);
    free(in->tensors);
    memset(in, 0, sizeof *in);
}

/* Index of the unique name in names[0..n) whose sanitized form equals want[0..wl); -1 none, -2 several. */
static int match(const char *const *names, int n, const char *want, size_t wl)
{
    int found = -1;
    for (int i = 0; i < n; i++) {
        char s[512];
        tc_sanitize_name(names[i], s, sizeof s);
        if (strlen(s) == wl && strncmp(s, want, wl) == 0) {
            if (found >= 0)
                return -2;
            found = i;
        }
    }
    return found;
}

/* octet_npy_load is code under test: check it against the tests' own reader. */
static int same_as_test_reader(octet_tensor *t, const char *path, char *err, size_t errn)
{
    octet_tensor *r = NULL;
    if (tc_npy_read(path, &r, err, errn) != 0)
        return -1;
    char a[160], b[160];
    tc_shape_str(t, a, sizeof a);
    tc_shape_str(r, b, sizeof b);
    int rc = 0;
    if (strcmp(a, b) != 0) {
        snprintf(err, errn, "octet_npy_load(%s) gave %s, the file holds %s", path, a, b);
        rc = -1;
    } else {
        size_t nb = (size_t)octet_tensor_count(r) * octet_dtype_size(octet_tensor_dtype(r));
        if (nb && memcmp(octet_tensor_data(t), octet_tensor_data(r), nb) != 0) {
            snprintf(err, errn, "octet_npy_load(%s) gave different data than the file holds", path);
            rc = -1;
        }
    }
    octet_tensor_free(r);
    return rc;
}

int tc_load_inputs(const char *dir, int64_t k, const octet_model *m, tc_inputs *out, char *err, size_t errn)
{
    memset(out, 0, sizeof *out);
    int n_graph = octet_model_input_count(m);
    const char **gnames = calloc((size_t)(n_graph > 0 ? n_graph : 1), sizeof *gnames);
    out->names = calloc((size_t)(n_graph > 0 ? n_graph : 1), sizeof *out->names);
    out->tensors = calloc((size_t)(n_graph > 0 ? n_graph : 1), sizeof *out->tensors);
    if (!gnames || !out->names || !out->tensors) {
        free(gnames);
        tc_inputs_free(out);
        snprintf(err, errn, "out of memory");
        return -1;
    }
    for (int i = 0; i < n_graph; i++)
        gnames[i] = octet_model_input_name(m, i);

    DIR *d = opendir(dir);
    if (!d) {
        free(gnames);
        tc_inputs_free(out);
        snprintf(err, errn, "cannot open %s", dir);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        int64_t fk;
        const char *rest;
        size_t rl;
        if (!parse_name(e->d_name, "input", &fk, &rest, &rl) || fk != k)
            continue;
        int gi = match(gnames, n_graph, rest, rl);
        if (gi < 0) {
            snprintf(err, errn, "%s matches %s graph input", e->d_name, gi == -1 ? "no" : "more than one");
            rc = -1;
            break;
        }
        for (int j = 0; j < out->n; j++)
            if (out->names[j] == gnames[gi]) {
                snprintf(err, errn, "two files for graph input '%s'", gnames[gi]);
                rc = -1;
            }
        if (rc)
            break;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        octet_tensor *t = NULL;
        octet_status s = octet_npy_load(&t, path);
        if (s != OCTET_OK) {
            snprintf(err, errn, "octet_npy_load(%s): %s: %s", e->d_name, octet_status_name(s), octet_last_error());
            rc = -1;
            break;
        }
        if (same_as_test_reader(t, path, err, errn) != 0) {
            octet_tensor_free(t);
            rc = -1;
            break;
        }
        out->names[out->n] = gnames[gi];
        out->tensors[out->n++] = t;
    }
    closedir(d);
    free(gnames);
    if (rc)
        tc_inputs_free(out);
    return rc;
}

int tc_load_refs(const char *dir, const char *prefix, int64_t k, const octet_model *m,
                 octet_tensor **refs, char *err, size_t errn)
{
    int n_out = octet_model_output_count(m);
    for (int i = 0; i < n_out; i++)
        refs[i] = NULL;
    const char **onames = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof *onames);
    if (!onames) {
        snprintf(err, errn, "out of memory");
        return -1;
    }
    for (int i = 0; i < n_out; i++)
        onames[i] = octet_model_output_name(m, i);

    int rc = 0;
    /* Every reference file must name an output (catches naming mix-ups) ... */
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errn, "cannot open %s", dir);
        rc = -1;
    }
    struct dirent *e;
    while (rc == 0 && d && (e = readdir(d))) {
        int64_t fk;
        const char *rest;
        size_t rl;
        if (!parse_name(e->d_name, prefix, &fk, &rest, &rl) || fk != k)
            continue;
        int oi = match(onames, n_out, rest, rl);
        if (oi < 0) {
            snprintf(err, errn, "%s matches %s graph output", e->d_name, oi == -1 ? "no" : "more than one");
            rc = -1;
        }
    }
    if (d)
        closedir(d);
    /* ... and every output must have one. */
    for (int i = 0; rc == 0 && i < n_out; i++) {
        char san[512], path[4096];
        tc_sanitize_name(onames[i], san, sizeof san);
        snprintf(path, sizeof path, "%s/%s_%lld_%s.npy", dir, prefix, (long long)k, san);
        if (!tc_file_exists(path)) {
            snprintf(err, errn, "no reference for output '%s' (%s_%lld_%s.npy)", onames[i], prefix,
                     (long long)k, san);
            rc = -1;
            break;
        }
        if (tc_npy_read(path, &refs[i], err, errn) != 0)
            rc = -1;
    }
    free(onames);
    if (rc)
        for (int i = 0; i < n_out; i++) {
            octet_tensor_free(refs[i]);
            refs[i] = NULL;
        }
    return rc;
}
