#include "kernels/scratch_f32.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/mem.h"

#define KEEP_MAX ((size_t)16 << 20) /* bytes kept per slot */

typedef struct slots {
    float *p[OT_SCRATCH_SLOTS];
    size_t cap[OT_SCRATCH_SLOTS];
} slots;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void free_slots(void *v) {
    slots *s = v;
    for (int i = 0; i < OT_SCRATCH_SLOTS; i++) ot_aligned_free(s->p[i]);
    free(s);
}

static void make_key(void) { g_key_ok = pthread_key_create(&g_key, free_slots) == 0; }

static slots *my_slots(void) {
    pthread_once(&g_once, make_key);
    if (!g_key_ok) return NULL;
    slots *s = pthread_getspecific(g_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (s && pthread_setspecific(g_key, s) != 0) {
            free(s);
            s = NULL;
        }
    }
    return s;
}

float *ot_scratch_f32(int slot, size_t n) {
    size_t bytes;
    if (slot < 0 || slot >= OT_SCRATCH_SLOTS || !ot_mul_ok(n ? n : 1, sizeof(float), &bytes)) return NULL;
    slots *s = bytes <= KEEP_MAX ? my_slots() : NULL;
    if (!s) return ot_aligned_alloc(bytes);  /* too big to keep (or no key): this call only */
    if (s->cap[slot] < bytes) {
        ot_aligned_free(s->p[slot]);
        s->p[slot] = ot_aligned_alloc(bytes);
        s->cap[slot] = s->p[slot] ? bytes : 0;
    }
    return s->p[slot];
}

void ot_scratch_f32_done(int slot, float *p) {
    if (!p || slot < 0 || slot >= OT_SCRATCH_SLOTS) return;
    slots *s = g_key_ok ? pthread_getspecific(g_key) : NULL;
    if (!s || s->p[slot] != p) ot_aligned_free(p);
}
