/* A pool of freed tensor buffers that a plan keeps across runs. Intermediate tensors die after their
 * last reader; instead of going back to malloc (which returns large blocks to the OS, so the next run
 * page-faults them in again) their buffers wait here for the next tensor of a similar size. */
#ifndef OT_BUFPOOL_H
#define OT_BUFPOOL_H

#include <pthread.h>
#include <stddef.h>

typedef struct ot_bufpool {
    pthread_mutex_t lock;
    void **ptr;
    size_t *cap;
    int n, max;
} ot_bufpool;

void ot_bufpool_init(ot_bufpool *p);
void ot_bufpool_destroy(ot_bufpool *p);  /* frees every pooled buffer */
/* A buffer of at least need bytes (and at most twice that, so a big buffer is not spent on a small
 * tensor), or NULL. *cap receives its size. */
void *ot_bufpool_take(ot_bufpool *p, size_t need, size_t *cap);
/* Give a buffer (from ot_aligned_alloc) to the pool; frees it if the pool is full. */
void ot_bufpool_put(ot_bufpool *p, void *ptr, size_t cap);

#endif
