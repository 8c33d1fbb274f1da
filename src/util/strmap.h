/* A small string -> int hash map (open addressing). Keys are borrowed, not copied. */
#ifndef OT_STRMAP_H
#define OT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ot_strmap {
    const char **keys;
    int *vals;
    size_t cap;    /* power of two */
    size_t count;
} ot_strmap;

bool ot_strmap_init(ot_strmap *m, size_t expected);
void ot_strmap_free(ot_strmap *m);
bool ot_strmap_put(ot_strmap *m, const char *key, int val);   /* false on OOM; replaces */
int ot_strmap_get(const ot_strmap *m, const char *key, int dflt);

#endif
