#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

bool ot_strmap_init(ot_strmap *m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->cap = cap;
    m->count = 0;
    return m->keys && m->vals;
}

void ot_strmap_free(ot_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static bool rehash(ot_strmap *m) {
    ot_strmap n;
    if (!ot_strmap_init(&n, m->cap)) return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) ot_strmap_put(&n, m->keys[i], m->vals[i]);
    ot_strmap_free(m);
    *m = n;
    return true;
}

bool ot_strmap_put(ot_strmap *m, const char *key, int val) {
    if ((m->count + 1) * 2 > m->cap && !rehash(m)) return false;
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->count++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

int ot_strmap_get(const ot_strmap *m, const char *key, int dflt) {
    if (!m->cap) return dflt;
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return dflt;
}
