/* .npy / .npz: round trips for every dtype and odd shapes, exact values of files numpy wrote
 * (tests/data/npy, made by tests/data/make_fixtures.py), byte-identical output to numpy's, and
 * every kind of corrupt input failing cleanly (run under ASan to see the "never crash" half). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/npy.h"
#include "io/npz.h"
#include "tensor/tensor.h"

/* ---- helpers ---- */

static char g_data[1024];   /* tests/data/npy */
static char g_tmp[256];     /* a scratch folder, removed at the end */

static const char *fixture(const char *name) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", g_data, name);
    return path;
}

static const char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    return path;
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static octet_tensor *load_fixture(const char *name, octet_dtype dtype, int ndim, const int64_t *dims) {
    octet_tensor *t = NULL;
    octet_status st = octet_npy_load(&t, fixture(name));
    if (st != OCTET_OK) fail_msg("%s: %s", name, octet_last_error());
    assert_int_equal(t->dtype, dtype);
    assert_int_equal(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(t->dims[i], dims[i]);
    return t;
}

/* Parse an image copied into an exact-size heap block, so ASan sees any read past its end. */
static octet_status parse_exact(const void *buf, size_t n, octet_tensor **out) {
    void *b = malloc(n ? n : 1);
    if (n) memcpy(b, buf, n);
    octet_status st = ot_npy_parse(b, n, out);
    free(b);
    return st;
}

/* A v1.0 .npy image with the given header dict text (padded like numpy) and data bytes. */
static void *make_npy(const char *dict, const void *data, size_t dn, size_t *n) {
    size_t dl = strlen(dict);
    size_t hl = dl + 1;
    size_t pad = (64 - (10 + hl) % 64) % 64;
    size_t total = 10 + hl + pad + dn;
    unsigned char *b = malloc(total);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((hl + pad) & 0xff);
    b[9] = (unsigned char)((hl + pad) >> 8);
    memcpy(b + 10, dict, dl);
    memset(b + 10 + dl, ' ', pad);
    b[10 + dl + pad] = '\n';
    if (dn) memcpy(b + 10 + hl + pad, data, dn);
    *n = total;
    return b;
}

static octet_status parse_dict(const char *dict, size_t data_bytes) {
    static unsigned char zeros[4096];
    size_t n;
    void *b = make_npy(dict, zeros, data_bytes, &n);
    octet_tensor *t = NULL;
    octet_status st = parse_exact(b, n, &t);
    free(b);
    if (st == OCTET_OK) {
        assert_non_null(t);
        octet_tensor_free(t);
    } else {
        assert_null(t);
        assert_true(strlen(octet_last_error()) > 0);
    }
    return st;
}

/* ---- round trips ---- */

static const octet_dtype k_dtypes[] = {OCTET_FLOAT,  OCTET_DOUBLE, OCTET_FLOAT16, OCTET_INT8,   OCTET_INT16,
                                       OCTET_INT32,  OCTET_INT64,  OCTET_UINT8,   OCTET_UINT16, OCTET_UINT32,
                                       OCTET_UINT64, OCTET_BOOL};

static void test_round_trip_all_dtypes(void **state) {
    (void)state;
    static const struct {
        int ndim;
        int64_t dims[8];
    } shapes[] = {{0, {0}}, {1, {1}}, {1, {7}}, {3, {3, 1, 5}}, {1, {0}}, {3, {2, 0, 3}}, {8, {1, 2, 1, 3, 1, 2, 1, 1}},
                  {2, {1, 1000}}, {4, {2, 3, 5, 7}}};
    unsigned seed = 12345;
    for (size_t d = 0; d < sizeof k_dtypes / sizeof *k_dtypes; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            octet_tensor *t = ot_tensor_new(k_dtypes[d], shapes[s].ndim, shapes[s].dims);
            assert_non_null(t);
            size_t nb = ot_tensor_nbytes(t);
            unsigned char *p = t->data;
            for (size_t i = 0; i < nb; i++) {
                seed = seed * 1103515245u + 12345u;
                p[i] = k_dtypes[d] == OCTET_BOOL ? (seed >> 16) & 1 : (unsigned char)(seed >> 16);
            }
            void *img;
            size_t n;
            assert_int_equal(ot_npy_serialize(t, &img, &n), OCTET_OK);
            assert_int_equal(n % 64, nb % 64);   /* the header is padded to 64 bytes, like numpy's */
            octet_tensor *u = NULL;
            assert_int_equal(parse_exact(img, n, &u), OCTET_OK);
            assert_int_equal(u->dtype, t->dtype);
            assert_int_equal(u->ndim, t->ndim);
            assert_memory_equal(u->dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
            if (nb) assert_memory_equal(u->data, t->data, nb);
            octet_tensor_free(u);

            /* The same through files. */
            const char *path = tmp_path("rt.npy");
            assert_int_equal(octet_npy_save(t, path), OCTET_OK);
            assert_int_equal(octet_npy_load(&u, path), OCTET_OK);
            size_t fn;
            void *fb = read_file(path, &fn);
            assert_int_equal(fn, n);
            assert_memory_equal(fb, img, n);
            free(fb);
            assert_int_equal(u->dtype, t->dtype);
            if (nb) assert_memory_equal(u->data, t->data, nb);
            octet_tensor_free(u);
            free(img);
            octet_tensor_free(t);
        }
}

static void test_unsupported_dtype_save(void **state) {
    (void)state;
    octet_tensor t = {.dtype = OCTET_STRING, .ndim = 1, .dims = {2}};
    void *img;
    size_t n;
    assert_int_equal(ot_npy_serialize(&t, &img, &n), OCTET_ERR_UNSUPPORTED);
    assert_int_equal(octet_npy_save(&t, tmp_path("s.npy")), OCTET_ERR_UNSUPPORTED);
    assert_non_null(strstr(octet_last_error(), "s.npy"));
    assert_int_equal(access(tmp_path("s.npy"), F_OK), -1);
}

/* ---- files numpy wrote ---- */

static void test_numpy_fixtures(void **state) {
    (void)state;
    octet_tensor *t;

    t = load_fixture("f4_2x3.npy", OCTET_FLOAT, 2, (int64_t[]){2, 3});
    const float f4[] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
    assert_memory_equal(t->data, f4, sizeof f4);
    octet_tensor_free(t);

    t = load_fixture("f8_scalar.npy", OCTET_DOUBLE, 0, NULL);
    assert_true(*(double *)t->data == 3.141592653589793);
    octet_tensor_free(t);

    t = load_fixture("f2_3.npy", OCTET_FLOAT16, 1, (int64_t[]){3});
    const uint16_t f2[] = {0x3c00, 0xc000, 0x3800};
    assert_memory_equal(t->data, f2, sizeof f2);
    octet_tensor_free(t);

    t = load_fixture("i8_5.npy", OCTET_INT64, 1, (int64_t[]){5});
    const int64_t i8[] = {-3, -1, 0, 2, 9007199254740993LL};
    assert_memory_equal(t->data, i8, sizeof i8);
    octet_tensor_free(t);

    t = load_fixture("i4_2x2.npy", OCTET_INT32, 2, (int64_t[]){2, 2});
    const int32_t i4[] = {INT32_MIN, INT32_MAX, 0, -1};
    assert_memory_equal(t->data, i4, sizeof i4);
    octet_tensor_free(t);

    t = load_fixture("i2_3.npy", OCTET_INT16, 1, (int64_t[]){3});
    const int16_t i2[] = {-32768, 0, 32767};
    assert_memory_equal(t->data, i2, sizeof i2);
    octet_tensor_free(t);

    t = load_fixture("i1_4.npy", OCTET_INT8, 1, (int64_t[]){4});
    const int8_t i1[] = {-128, -1, 0, 127};
    assert_memory_equal(t->data, i1, sizeof i1);
    octet_tensor_free(t);

    t = load_fixture("u1_2x2x2.npy", OCTET_UINT8, 3, (int64_t[]){2, 2, 2});
    const uint8_t u1[] = {0, 36, 72, 108, 144, 180, 216, 252};
    assert_memory_equal(t->data, u1, sizeof u1);
    octet_tensor_free(t);

    t = load_fixture("u2_3.npy", OCTET_UINT16, 1, (int64_t[]){3});
    const uint16_t u2[] = {0, 1, 65535};
    assert_memory_equal(t->data, u2, sizeof u2);
    octet_tensor_free(t);

    t = load_fixture("u4_2.npy", OCTET_UINT32, 1, (int64_t[]){2});
    const uint32_t u4[] = {0, 4294967295u};
    assert_memory_equal(t->data, u4, sizeof u4);
    octet_tensor_free(t);

    t = load_fixture("u8_2.npy", OCTET_UINT64, 1, (int64_t[]){2});
    const uint64_t u8[] = {0, UINT64_MAX};
    assert_memory_equal(t->data, u8, sizeof u8);
    octet_tensor_free(t);

    t = load_fixture("b1_4.npy", OCTET_BOOL, 1, (int64_t[]){4});
    const uint8_t b1[] = {1, 0, 0, 1};
    assert_memory_equal(t->data, b1, sizeof b1);
    octet_tensor_free(t);

    t = load_fixture("f4_empty_0x3.npy", OCTET_FLOAT, 2, (int64_t[]){0, 3});
    octet_tensor_free(t);

    /* Format versions 2.0 and 3.0 (4-byte header length). */
    t = load_fixture("f4_v2.npy", OCTET_FLOAT, 2, (int64_t[]){2, 3});
    assert_memory_equal(t->data, f4, sizeof f4);
    octet_tensor_free(t);
    t = load_fixture("f4_v3.npy", OCTET_FLOAT, 2, (int64_t[]){2, 3});
    assert_memory_equal(t->data, f4, sizeof f4);
    octet_tensor_free(t);
}

static void test_fortran_order(void **state) {
    (void)state;
    /* In C order the values are 0, 1, 2, ...: the file stores them column-major. */
    octet_tensor *t = load_fixture("f4_fortran_2x3.npy", OCTET_FLOAT, 2, (int64_t[]){2, 3});
    for (int i = 0; i < 6; i++) assert_true(((float *)t->data)[i] == (float)i);
    octet_tensor_free(t);
    t = load_fixture("i4_fortran_2x3x4.npy", OCTET_INT32, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++) assert_int_equal(((int32_t *)t->data)[i], i);
    octet_tensor_free(t);

    /* A hand-built Fortran 3x2 int16 file: column-major [1,3,5 | 2,4,6] is [[1,2],[3,4],[5,6]]. */
    const int16_t col[] = {1, 3, 5, 2, 4, 6};
    size_t n;
    void *b = make_npy("{'descr': '<i2', 'fortran_order': True, 'shape': (3, 2), }", col, sizeof col, &n);
    assert_int_equal(parse_exact(b, n, &t), OCTET_OK);
    for (int i = 0; i < 6; i++) assert_int_equal(((int16_t *)t->data)[i], i + 1);
    octet_tensor_free(t);
    free(b);
}

/* Our writer produces the very bytes numpy 1.24 writes for the same array. */
static void test_bytes_match_numpy(void **state) {
    (void)state;
    const char *names[] = {"f4_2x3.npy", "f8_scalar.npy", "i8_5.npy", "i1_4.npy", "u1_2x2x2.npy",
                           "b1_4.npy",   "f2_3.npy",      "u8_2.npy", "f4_empty_0x3.npy"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n;
        void *ref = read_file(fixture(names[i]), &n);
        octet_tensor *t = NULL;
        assert_int_equal(parse_exact(ref, n, &t), OCTET_OK);
        void *img;
        size_t m;
        assert_int_equal(ot_npy_serialize(t, &img, &m), OCTET_OK);
        if (m != n || memcmp(img, ref, n) != 0) fail_msg("%s: octet's bytes differ from numpy's", names[i]);
        free(img);
        free(ref);
        octet_tensor_free(t);
    }
}

/* ---- corrupt and unsupported input ---- */

static void test_truncated_every_offset(void **state) {
    (void)state;
    const char *names[] = {"f4_2x3.npy", "f4_v2.npy", "f8_scalar.npy"};
    for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
        size_t n;
        void *b = read_file(fixture(names[f]), &n);
        for (size_t k = 0; k < n; k++) {
            octet_tensor *t = (octet_tensor *)1;
            octet_status st = parse_exact(b, k, &t);
            if (st != OCTET_ERR_PARSE) fail_msg("%s cut to %zu bytes: status %d", names[f], k, st);
            assert_null(t);
            if (k >= 6 && !strstr(octet_last_error(), "truncated"))
                fail_msg("%s cut to %zu bytes: message '%s'", names[f], k, octet_last_error());
        }
        /* Through a file, the message names it. */
        FILE *o = fopen(tmp_path("cut.npy"), "wb");
        fwrite(b, 1, n - 1, o);
        fclose(o);
        octet_tensor *t = NULL;
        assert_int_equal(octet_npy_load(&t, tmp_path("cut.npy")), OCTET_ERR_PARSE);
        assert_non_null(strstr(octet_last_error(), "cut.npy: truncated"));
        free(b);
    }
}

static void test_bad_magic_and_version(void **state) {
    (void)state;
    size_t n;
    unsigned char *b = read_file(fixture("f4_2x3.npy"), &n);
    octet_tensor *t = NULL;
    b[1] = 'M';
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_PARSE);
    assert_non_null(strstr(octet_last_error(), "magic"));
    b[1] = 'N';
    b[6] = 4;
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_UNSUPPORTED);
    b[6] = 0;
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_UNSUPPORTED);
    b[6] = 1;
    b[7] = 1;
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_UNSUPPORTED);
    b[7] = 0;
    b[8] = 0xff;   /* header length beyond the file */
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_PARSE);
    b[8] = 0x75;   /* one byte short: the header's last byte becomes data */
    assert_int_equal(parse_exact(b, n, &t), OCTET_ERR_PARSE);
    free(b);
    assert_int_equal(parse_exact("", 0, &t), OCTET_ERR_PARSE);
    assert_int_equal(parse_exact("PK\x03\x04", 4, &t), OCTET_ERR_PARSE);
    assert_null(t);

    /* Missing and unreadable files are I/O errors that name the path. */
    assert_int_equal(octet_npy_load(&t, tmp_path("nope.npy")), OCTET_ERR_IO);
    assert_non_null(strstr(octet_last_error(), "nope.npy"));
    assert_int_equal(octet_npy_load(&t, g_tmp), OCTET_ERR_IO);
}

static void test_bad_header_dicts(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{'descr': '<f4', 'fortran_order': False}",                          /* no shape */
        "{'descr': '<f4', 'shape': (2,)}",                                   /* no fortran_order */
        "{'fortran_order': False, 'shape': (2,)}",                           /* no descr */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",   /* extra key */
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': Fals, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': 2}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",            /* an int, not a tuple */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
        "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<x4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f99999999999', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': 1, 'fortran_order': False, 'shape': (2,)}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        octet_status st = parse_dict(bad[i], 8);
        if (st != OCTET_ERR_PARSE) fail_msg("header %zu <%s>: status %d (%s)", i, bad[i], st, octet_last_error());
    }
    /* Valid variants numpy accepts too. */
    static const char *const good[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{'descr':'<f4','fortran_order':False,'shape':(2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
        "{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (parse_dict(good[i], 8) != OCTET_OK) fail_msg("header <%s>: %s", good[i], octet_last_error());
    /* The data must match the shape exactly: short or long is an error. */
    assert_int_equal(parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 7), OCTET_ERR_PARSE);
    assert_int_equal(parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 9), OCTET_ERR_PARSE);
    assert_non_null(strstr(octet_last_error(), "extra"));
    /* Overflowing shapes name the shape. */
    assert_int_equal(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0),
                     OCTET_ERR_PARSE);
    assert_non_null(strstr(octet_last_error(), "too large"));
}

static void test_unsupported(void **state) {
    (void)state;
    octet_tensor *t = NULL;
    assert_int_equal(octet_npy_load(&t, fixture("f4_bigendian.npy")), OCTET_ERR_UNSUPPORTED);
    assert_non_null(strstr(octet_last_error(), "big-endian"));
    assert_non_null(strstr(octet_last_error(), "f4_bigendian.npy"));
    assert_int_equal(octet_npy_load(&t, fixture("f4_rank9.npy")), OCTET_ERR_UNSUPPORTED);
    assert_int_equal(octet_npy_load(&t, fixture("c8_2.npy")), OCTET_ERR_UNSUPPORTED);
    assert_int_equal(parse_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8),
                     OCTET_ERR_UNSUPPORTED);
    assert_int_equal(parse_dict("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24),
                     OCTET_ERR_UNSUPPORTED);
    assert_null(t);
    /* Single-byte types have no byte order: '>i1' is fine. */
    assert_int_equal(parse_dict("{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }", 2), OCTET_OK);
    assert_int_equal(parse_dict("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 2), OCTET_OK);
}

/* Every byte of a real file replaced by a handful of values: errors or success, never a crash. */
static void test_byte_mutations(void **state) {
    (void)state;
    size_t n;
    unsigned char *b = read_file(fixture("f4_fortran_2x3.npy"), &n);
    const unsigned char vals[] = {0, 1, 0x7f, 0x80, 0xff, '(', ')', ',', '\'', '9', ' ', '}', 'T'};
    for (size_t i = 0; i < n - 24; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            unsigned char old = b[i];
            b[i] = vals[v];
            octet_tensor *t = NULL;
            if (parse_exact(b, n, &t) == OCTET_OK) octet_tensor_free(t);
            else assert_null(t);
            b[i] = old;
        }
    free(b);
}

/* ---- npz ---- */

static void check_npz_fixture_stored(char **names, octet_tensor **ts, int count) {
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "x");
    assert_string_equal(names[1], "y");
    const float f4[] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
    assert_int_equal(ts[0]->dtype, OCTET_FLOAT);
    assert_int_equal(ts[0]->ndim, 2);
    assert_memory_equal(ts[0]->data, f4, sizeof f4);
    const int64_t i8[] = {-3, -1, 0, 2, 9007199254740993LL};
    assert_int_equal(ts[1]->dtype, OCTET_INT64);
    assert_memory_equal(ts[1]->data, i8, sizeof i8);
}

static void test_npz_numpy_fixtures(void **state) {
    (void)state;
    char **names;
    octet_tensor **ts;
    int count;
    if (ot_npz_load(fixture("stored.npz"), &names, &ts, &count) != OCTET_OK) fail_msg("%s", octet_last_error());
    check_npz_fixture_stored(names, ts, count);
    ot_npz_free(names, ts, count);

    /* zip64 sizes and offsets in the central directory, zip64 end record (archives over 4 GiB). */
    if (ot_npz_load(fixture("zip64.npz"), &names, &ts, &count) != OCTET_OK) fail_msg("%s", octet_last_error());
    check_npz_fixture_stored(names, ts, count);
    ot_npz_free(names, ts, count);

    if (ot_npz_load(fixture("deflated.npz"), &names, &ts, &count) != OCTET_OK) fail_msg("%s", octet_last_error());
    assert_int_equal(count, 3);
    assert_string_equal(names[0], "a");
    assert_int_equal(ts[0]->dtype, OCTET_FLOAT);
    assert_int_equal(ts[0]->dims[0], 1000);
    for (int i = 0; i < 1000; i++) assert_true(((float *)ts[0]->data)[i] == (float)i);
    assert_string_equal(names[1], "b");
    assert_int_equal(ts[1]->dtype, OCTET_BOOL);
    assert_memory_equal(ts[1]->data, ((uint8_t[]){1, 0, 1}), 3);
    assert_string_equal(names[2], "c");
    assert_int_equal(ts[2]->dtype, OCTET_INT32);
    assert_int_equal(ts[2]->ndim, 0);
    assert_int_equal(*(int32_t *)ts[2]->data, 7);
    ot_npz_free(names, ts, count);
}

static void test_npz_round_trip(void **state) {
    (void)state;
    int64_t d1[] = {3, 5}, d0[1] = {0}, de[] = {0, 4};
    octet_tensor *in[4] = {ot_tensor_new(OCTET_FLOAT, 2, d1), ot_tensor_new(OCTET_INT64, 0, d0),
                           ot_tensor_new(OCTET_BOOL, 2, de), ot_tensor_new(OCTET_UINT16, 1, (int64_t[]){9})};
    for (int i = 0; i < 15; i++) ((float *)in[0]->data)[i] = (float)i * 0.25f - 1.0f;
    *(int64_t *)in[1]->data = -42;
    for (int i = 0; i < 9; i++) ((uint16_t *)in[3]->data)[i] = (uint16_t)(i * 7001);
    const char *names[4] = {"weights", "step", "empty mask", "sub/dir.name"};
    void *img;
    size_t n;
    assert_int_equal(ot_npz_serialize(names, (const octet_tensor *const *)in, 4, &img, &n), OCTET_OK);
    assert_int_equal(ot_npz_save(tmp_path("rt.npz"), names, (const octet_tensor *const *)in, 4), OCTET_OK);
    size_t fn;
    void *fb = read_file(tmp_path("rt.npz"), &fn);
    assert_int_equal(fn, n);
    assert_memory_equal(fb, img, n);
    free(fb);

    char **on;
    octet_tensor **ot;
    int oc;
    assert_int_equal(ot_npz_load(tmp_path("rt.npz"), &on, &ot, &oc), OCTET_OK);
    assert_int_equal(oc, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(on[i], names[i]);
        assert_int_equal(ot[i]->dtype, in[i]->dtype);
        assert_int_equal(ot[i]->ndim, in[i]->ndim);
        size_t nb = ot_tensor_nbytes(in[i]);
        assert_int_equal(ot_tensor_nbytes(ot[i]), nb);
        if (nb) assert_memory_equal(ot[i]->data, in[i]->data, nb);
    }
    ot_npz_free(on, ot, oc);

    /* Every truncation and every flipped byte fails cleanly. */
    unsigned char *cut = malloc(n);
    for (size_t k = 0; k < n; k++) {
        memcpy(cut, img, k);
        assert_int_not_equal(ot_npz_parse(cut, k, &on, &ot, &oc), OCTET_OK);
        assert_null(on);
    }
    free(cut);
    unsigned char *m = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(m, img, n);
        m[i] ^= 0x5a;
        if (ot_npz_parse(m, n, &on, &ot, &oc) == OCTET_OK) ot_npz_free(on, ot, oc);
    }
    /* A flipped data byte is a CRC error. */
    memcpy(m, img, n);
    m[30 + 11 + 128 + 3] ^= 1;   /* inside the first entry's tensor data */
    assert_int_equal(ot_npz_parse(m, n, &on, &ot, &oc), OCTET_ERR_PARSE);
    assert_non_null(strstr(octet_last_error(), "CRC"));
    free(m);
    free(img);

    /* Duplicate or empty names are refused, an empty archive is fine. */
    const char *dup[2] = {"a", "a"};
    assert_int_equal(ot_npz_serialize(dup, (const octet_tensor *const *)in, 2, &img, &n), OCTET_ERR_INVALID_ARG);
    const char *empty[1] = {""};
    assert_int_equal(ot_npz_serialize(empty, (const octet_tensor *const *)in, 1, &img, &n), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_npz_serialize(NULL, NULL, 0, &img, &n), OCTET_OK);
    assert_int_equal(ot_npz_parse(img, n, &on, &ot, &oc), OCTET_OK);
    assert_int_equal(oc, 0);
    ot_npz_free(on, ot, oc);
    free(img);
    for (int i = 0; i < 4; i++) octet_tensor_free(in[i]);
}

static void test_npz_corrupt_numpy(void **state) {
    (void)state;
    const char *files[] = {"stored.npz", "deflated.npz", "zip64.npz"};
    for (int f = 0; f < 3; f++) {
        size_t n;
        unsigned char *b = read_file(fixture(files[f]), &n);
        char **on;
        octet_tensor **ot;
        int oc;
        unsigned char *cut = malloc(n);
        for (size_t k = 0; k < n; k++) {
            memcpy(cut, b, k);
            assert_int_not_equal(ot_npz_parse(cut, k, &on, &ot, &oc), OCTET_OK);
        }
        free(cut);
        for (size_t i = 0; i < n; i++) {
            unsigned char old = b[i];
            b[i] ^= 0xff;
            if (ot_npz_parse(b, n, &on, &ot, &oc) == OCTET_OK) ot_npz_free(on, ot, oc);
            b[i] = old;
        }
        free(b);
    }
    char **on;
    octet_tensor **ot;
    int oc;
    assert_int_equal(ot_npz_load(fixture("f4_2x3.npy"), &on, &ot, &oc), OCTET_ERR_PARSE);
    assert_non_null(strstr(octet_last_error(), "f4_2x3.npy: not an .npz"));
}

/* ---- setup ---- */

static int setup(void **state) {
    (void)state;
    const char *src = getenv("OCTET_SRC");
    if (src) {
        snprintf(g_data, sizeof g_data, "%s/tests/data/npy", src);
    } else {   /* run by hand: find the data next to this source file */
        snprintf(g_data, sizeof g_data, "%s", __FILE__);
        char *slash = strrchr(g_data, '/');
        if (slash) snprintf(slash, sizeof g_data - (size_t)(slash - g_data), "/../data/npy");
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/octet_test_npy.XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    const char *files[] = {"rt.npy", "cut.npy", "rt.npz"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) unlink(tmp_path(files[i]));
    return rmdir(g_tmp);   /* fails if a temporary file was left behind */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_dtypes), cmocka_unit_test(test_unsupported_dtype_save),
        cmocka_unit_test(test_numpy_fixtures),        cmocka_unit_test(test_fortran_order),
        cmocka_unit_test(test_bytes_match_numpy),     cmocka_unit_test(test_truncated_every_offset),
        cmocka_unit_test(test_bad_magic_and_version), cmocka_unit_test(test_bad_header_dicts),
        cmocka_unit_test(test_unsupported),           cmocka_unit_test(test_byte_mutations),
        cmocka_unit_test(test_npz_numpy_fixtures),    cmocka_unit_test(test_npz_round_trip),
        cmocka_unit_test(test_npz_corrupt_numpy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
