/* Allocation helpers: checked sizes, strdup, growable arrays. */
#ifndef OT_MEM_H
#define OT_MEM_H

#include <stddef.h>
#include <stdint.h>

void *ot_malloc(size_t n);                    /* NULL on failure or overflow */
void *ot_calloc(size_t count, size_t size);
void *ot_realloc_array(void *p, size_t count, size_t size);
void *ot_aligned_alloc(size_t n);             /* 64-byte aligned; free with ot_aligned_free */
void ot_aligned_free(void *p);
char *ot_strdup(const char *s);               /* NULL in, NULL out */
char *ot_strndup(const char *s, size_t n);
/* Grow *arr (element size elem) so it holds at least need elements; *cap tracks capacity. */
int ot_grow(void **arr, int *cap, int need, size_t elem);

/* a*b with overflow check; returns 0 on overflow. */
static inline int ot_mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

#endif
