#include "kernels/strided_copy.h"

#include <stdbool.h>
#include <string.h>

#define TILE 32                      /* 32x32 tile: at most 8 KiB of 8-byte elements per side */
#define PAR_MIN_BYTES ((int64_t)1 << 18)

typedef enum { K_ROWS, K_ELEMS, K_TILE } copy_kind;

/* A coalesced copy: an odometer over the outer dimensions, and one inner kernel per outer index. */
typedef struct {
    int n_outer;
    int64_t od[OT_COPY_MAX_DIMS], oss[OT_COPY_MAX_DIMS], ods[OT_COPY_MAX_DIMS];
    copy_kind kind;
    size_t es;
    int64_t n, css, cds;   /* inner (column) count and strides */
    int64_t rows, rss, rds; /* K_TILE: the blocked row dimension (its block index is the last outer dim) */
} copy_plan;

void ot_contiguous_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

void ot_fill_pattern(void *dst, int64_t count, const void *value, size_t elem) {
    if (count <= 0) return;
    const unsigned char *v = value;
    bool zero = true;
    for (size_t i = 0; i < elem; i++) zero &= v[i] == 0;
    if (zero || elem == 1) {
        memset(dst, v[0], (size_t)count * elem);
        return;
    }
    /* write one element, then double the filled prefix */
    unsigned char *d = dst;
    size_t total = (size_t)count * elem, done = elem;
    memcpy(d, v, elem);
    while (done < total) {
        size_t n = done < total - done ? done : total - done;
        memcpy(d + done, d, n);
        done += n;
    }
}

/* Drop size-1 dims, then merge neighbours that are contiguous with each other on both sides. */
static int coalesce(int nd, int64_t *dims, int64_t *ss, int64_t *ds) {
    int m = 0;
    for (int i = 0; i < nd; i++)
        if (dims[i] != 1) {
            dims[m] = dims[i];
            ss[m] = ss[i];
            ds[m] = ds[i];
            m++;
        }
    if (m == 0) return 0;
    int w = 0;
    for (int i = 1; i < m; i++) {
        if (ss[w] == ss[i] * dims[i] && ds[w] == ds[i] * dims[i]) {
            dims[w] *= dims[i];
            ss[w] = ss[i];
            ds[w] = ds[i];
        } else {
            w++;
            dims[w] = dims[i];
            ss[w] = ss[i];
            ds[w] = ds[i];
        }
    }
    return w + 1;
}

#define ELEM_LOOP(T)                                                       \
    do {                                                                   \
        T *d_ = (T *)dst;                                                  \
        const T *s_ = (const T *)src;                                      \
        for (int64_t i = 0; i < n; i++) d_[i * cds] = s_[i * css];         \
    } while (0)

static void copy_elems(char *dst, const char *src, int64_t n, int64_t css, int64_t cds, size_t es) {
    switch (es) {
    case 1: ELEM_LOOP(uint8_t); break;
    case 2: ELEM_LOOP(uint16_t); break;
    case 4: ELEM_LOOP(uint32_t); break;
    case 8: ELEM_LOOP(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * cds * (int64_t)es, src + i * css * (int64_t)es, es);
    }
}

/* One block of up to TILE rows, all columns, walked in TILE-wide column strips. */
static void copy_tile(const copy_plan *p, char *dst, const char *src, int64_t nr) {
    int64_t es = (int64_t)p->es;
    for (int64_t c0 = 0; c0 < p->n; c0 += TILE) {
        int64_t nc = p->n - c0 < TILE ? p->n - c0 : TILE;
        for (int64_t r = 0; r < nr; r++)
            copy_elems(dst + (r * p->rds + c0 * p->cds) * es, src + (r * p->rss + c0 * p->css) * es, nc, p->css,
                       p->cds, p->es);
    }
}

static void run_range(const copy_plan *p, char *dst, const char *src, int64_t begin, int64_t end) {
    int64_t idx[OT_COPY_MAX_DIMS + 1];
    int64_t so = 0, dof = 0, rem = begin, es = (int64_t)p->es;
    for (int d = p->n_outer - 1; d >= 0; d--) {
        idx[d] = rem % p->od[d];
        rem /= p->od[d];
        so += idx[d] * p->oss[d];
        dof += idx[d] * p->ods[d];
    }
    for (int64_t it = begin; it < end; it++) {
        char *d = dst + dof * es;
        const char *s = src + so * es;
        switch (p->kind) {
        case K_ROWS: memcpy(d, s, (size_t)(p->n * es)); break;
        case K_ELEMS: copy_elems(d, s, p->n, p->css, p->cds, p->es); break;
        case K_TILE: {
            int64_t b = idx[p->n_outer - 1], left = p->rows - b * TILE;
            copy_tile(p, d, s, left < TILE ? left : TILE);
            break;
        }
        }
        for (int k = p->n_outer - 1; k >= 0; k--) {
            so += p->oss[k];
            dof += p->ods[k];
            if (++idx[k] < p->od[k]) break;
            so -= p->oss[k] * p->od[k];
            dof -= p->ods[k] * p->od[k];
            idx[k] = 0;
        }
    }
}

void ot_strided_copy(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides, int ndim,
                     const int64_t *dims_in, size_t elem, int threads) {
    int64_t dims[OT_COPY_MAX_DIMS], ss[OT_COPY_MAX_DIMS], ds[OT_COPY_MAX_DIMS];
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = dims_in[i];
        ss[i] = src_strides[i];
        ds[i] = dst_strides[i];
        total *= dims[i];
    }
    if (total <= 0) return;
    int nd = coalesce(ndim, dims, ss, ds);
    if (nd == 0) {
        memcpy(dst, src, elem);
        return;
    }
    int64_t bytes = total * (int64_t)elem;
    if (threads < 1) threads = 1;
    int last = nd - 1;

    /* one contiguous block: a plain memcpy, split across threads when big */
    if (nd == 1 && ss[0] == 1 && ds[0] == 1) {
        int nt = (int)(bytes / PAR_MIN_BYTES < threads ? bytes / PAR_MIN_BYTES : threads);
        if (nt <= 1) {
            memcpy(dst, src, (size_t)bytes);
            return;
        }
        int64_t chunk = (bytes / nt + 63) & ~(int64_t)63;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < nt; t++) {
            int64_t b = t * chunk, e = b + chunk < bytes ? b + chunk : bytes;
            if (b < e) memcpy((char *)dst + b, (const char *)src + b, (size_t)(e - b));
        }
        return;
    }

    copy_plan p;
    memset(&p, 0, sizeof p);
    p.es = elem;
    p.n = dims[last];
    p.css = ss[last];
    p.cds = ds[last];
    int tile_dim = -1;
    if (ss[last] == 1 && ds[last] == 1) {
        p.kind = K_ROWS;
    } else {
        /* a transposed view: tile with the dimension that is contiguous on the other side */
        for (int i = 0; i < last && tile_dim < 0; i++)
            if (dims[i] > 1 && ((ds[last] == 1 && ss[i] == 1) || (ss[last] == 1 && ds[i] == 1))) tile_dim = i;
        p.kind = tile_dim >= 0 && dims[last] >= 4 ? K_TILE : K_ELEMS;
        if (p.kind != K_TILE) tile_dim = -1;
    }
    for (int i = 0; i < last; i++) {
        if (i == tile_dim) continue;
        p.od[p.n_outer] = dims[i];
        p.oss[p.n_outer] = ss[i];
        p.ods[p.n_outer] = ds[i];
        p.n_outer++;
    }
    if (p.kind == K_TILE) {
        p.rows = dims[tile_dim];
        p.rss = ss[tile_dim];
        p.rds = ds[tile_dim];
        p.od[p.n_outer] = (p.rows + TILE - 1) / TILE;
        p.oss[p.n_outer] = TILE * p.rss;
        p.ods[p.n_outer] = TILE * p.rds;
        p.n_outer++;
    }
    int64_t outer = 1;
    for (int i = 0; i < p.n_outer; i++) outer *= p.od[i];

    int64_t want = bytes / PAR_MIN_BYTES;
    int nt = (int)(want < threads ? want : threads);
    if (nt > outer) nt = (int)outer;
    if (nt <= 1) {
        run_range(&p, dst, src, 0, outer);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        int64_t b = outer * t / nt, e = outer * (t + 1) / nt;
        run_range(&p, dst, src, b, e);
    }
}
