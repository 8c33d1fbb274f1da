#include "runtime/bufpool.h"

#include <stdlib.h>

#include "util/mem.h"

void ot_bufpool_init(ot_bufpool *p) {
    pthread_mutex_init(&p->lock, NULL);
    p->ptr = NULL;
    p->cap = NULL;
    p->n = p->max = 0;
}

void ot_bufpool_destroy(ot_bufpool *p) {
    for (int i = 0; i < p->n; i++) ot_aligned_free(p->ptr[i]);
    free(p->ptr);
    free(p->cap);
    pthread_mutex_destroy(&p->lock);
}

void *ot_bufpool_take(ot_bufpool *p, size_t need, size_t *cap) {
    void *r = NULL;
    pthread_mutex_lock(&p->lock);
    int best = -1;
    for (int i = 0; i < p->n; i++)
        if (p->cap[i] >= need && p->cap[i] <= 2 * need + 4096 && (best < 0 || p->cap[i] < p->cap[best])) best = i;
    if (best >= 0) {
        r = p->ptr[best];
        *cap = p->cap[best];
        p->ptr[best] = p->ptr[p->n - 1];
        p->cap[best] = p->cap[p->n - 1];
        p->n--;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void ot_bufpool_put(ot_bufpool *p, void *ptr, size_t cap) {
    if (!ptr) return;
    pthread_mutex_lock(&p->lock);
    if (p->n == p->max) {
        int nm = p->max ? p->max * 2 : 32;
        void **np = realloc(p->ptr, (size_t)nm * sizeof *np);
        if (np) p->ptr = np;
        size_t *nc = np ? realloc(p->cap, (size_t)nm * sizeof *nc) : NULL;
        if (nc) {
            p->cap = nc;
            p->max = nm;
        }
    }
    if (p->n < p->max) {
        p->ptr[p->n] = ptr;
        p->cap[p->n] = cap;
        p->n++;
        ptr = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    ot_aligned_free(ptr);
}
