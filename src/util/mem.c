#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

void *ot_malloc(size_t n) { return malloc(n ? n : 1); }

void *ot_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }

void *ot_realloc_array(void *p, size_t count, size_t size) {
    size_t n;
    if (!ot_mul_ok(count, size, &n)) return NULL;
    return realloc(p, n ? n : 1);
}

void *ot_aligned_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}

void ot_aligned_free(void *p) { free(p); }

char *ot_strdup(const char *s) {
    if (!s) return NULL;
    return ot_strndup(s, strlen(s));
}

char *ot_strndup(const char *s, size_t n) {
    if (!s) return NULL;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

int ot_grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 1;
    int nc = *cap ? *cap : 8;
    while (nc < need) nc *= 2;
    void *p = ot_realloc_array(*arr, (size_t)nc, elem);
    if (!p) return 0;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 1;
}
