/* For the op unit tests: tensors made from literals and kept in one pool that a cmocka teardown
 * (free_pool) empties after each test, so a failing assertion leaks nothing. Include after cmocka.h. */
#ifndef OT_TEST_TENSORS_H
#define OT_TEST_TENSORS_H

#include <string.h>

#include "octet.h"
#include "tensor/tensor.h"

static octet_tensor *g_pool[8192];
static int g_npool;

static inline octet_tensor *keep(octet_tensor *t) {
    assert_non_null(t);
    assert_true(g_npool < (int)(sizeof g_pool / sizeof *g_pool));
    g_pool[g_npool++] = t;
    return t;
}

static inline int free_pool(void **st) {
    (void)st;
    for (int i = 0; i < g_npool; i++) octet_tensor_free(g_pool[i]);
    g_npool = 0;
    return 0;
}

/* dims as a literal: D(2, 3) */
#define D(...) ((const int64_t[]){__VA_ARGS__})

/* A pooled tensor; data (NULL = zeros) holds all its elements. */
static inline octet_tensor *tnew(octet_dtype dt, int nd, const int64_t *dims, const void *data) {
    octet_tensor *t = keep(ot_tensor_new(dt, nd, dims));
    if (data && ot_tensor_nbytes(t)) memcpy(t->data, data, ot_tensor_nbytes(t));
    return t;
}

#endif
