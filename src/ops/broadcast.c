#include "ops/broadcast.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static octet_status shape_err(const ot_kernel *k, const char *what, int n, const int *ndims,
                              const int64_t *const *dims) {
    char msg[512], buf[128];
    size_t o = 0;
    msg[0] = 0;
    for (int i = 0; i < n && o < sizeof msg; i++) {
        ot_shape_str(buf, sizeof buf, ndims[i], dims[i]);
        int w = snprintf(msg + o, sizeof msg - o, "%s%s", i ? (i == n - 1 ? " and " : ", ") : "", buf);
        if (w < 0) break;
        o += (size_t)w;
    }
    if (k) return ot_node_err(k, OCTET_ERR_SHAPE, "%s %s", what, msg);
    return ot_err(OCTET_ERR_SHAPE, "%s %s", what, msg);
}

octet_status ot_broadcast_dims(const ot_kernel *k, int n, const int *ndims, const int64_t *const *dims,
                               int *out_ndim, int64_t *out_dims) {
    int nd = 0;
    for (int i = 0; i < n; i++) {
        if (ndims[i] < 0 || ndims[i] > OCTET_MAX_DIMS) return shape_err(k, "bad rank in shapes", n, ndims, dims);
        if (ndims[i] > nd) nd = ndims[i];
    }
    for (int d = 0; d < nd; d++) {
        int64_t v = 1;
        for (int i = 0; i < n; i++) {
            int di = d - (nd - ndims[i]);
            if (di < 0) continue;
            int64_t x = dims[i][di];
            if (x == 1) continue;
            if (v == 1) v = x;
            else if (x != v) return shape_err(k, "cannot broadcast shapes", n, ndims, dims);
        }
        out_dims[d] = v;
    }
    *out_ndim = nd;
    return OCTET_OK;
}

octet_status ot_broadcast_shape(const ot_kernel *k, int n, const octet_tensor *const *ts, int *out_ndim,
                                int64_t *out_dims) {
    int ndims[OT_BCAST_MAX * 4];
    const int64_t *dims[OT_BCAST_MAX * 4];
    if (n > OT_BCAST_MAX * 4) {
        /* variadic ops with many inputs: fold pairwise */
        int nd = ts[0]->ndim;
        int64_t acc[OCTET_MAX_DIMS];
        memcpy(acc, ts[0]->dims, sizeof acc);
        for (int i = 1; i < n; i++) {
            int nds[2] = {nd, ts[i]->ndim};
            int64_t tmp[OCTET_MAX_DIMS];
            const int64_t *ds[2] = {acc, ts[i]->dims};
            OT_TRY(ot_broadcast_dims(k, 2, nds, ds, &nd, tmp));
            memcpy(acc, tmp, sizeof acc);
        }
        *out_ndim = nd;
        memcpy(out_dims, acc, (size_t)nd * sizeof *acc);
        return OCTET_OK;
    }
    for (int i = 0; i < n; i++) {
        ndims[i] = ts[i]->ndim;
        dims[i] = ts[i]->dims;
    }
    return ot_broadcast_dims(k, n, ndims, dims, out_ndim, out_dims);
}

octet_status ot_bcast_plan(const ot_kernel *k, ot_bcast *b, int ndim, const int64_t *dims, int n_in,
                           const octet_tensor *const *ins) {
    memset(b, 0, sizeof *b);
    if (n_in < 0 || n_in > OT_BCAST_MAX - 1 || ndim < 0 || ndim > OCTET_MAX_DIMS)
        return k ? ot_node_err(k, OCTET_ERR_INTERNAL, "broadcast plan over %d inputs of rank %d", n_in, ndim)
                 : ot_err(OCTET_ERR_INTERNAL, "broadcast plan over %d inputs of rank %d", n_in, ndim);
    b->n = n_in + 1;
    int64_t st[OT_BCAST_MAX][OCTET_MAX_DIMS];
    /* output: contiguous */
    int64_t acc = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        st[0][d] = acc;
        acc *= dims[d];
    }
    b->numel = acc;
    for (int j = 0; j < n_in; j++) {
        const octet_tensor *t = ins[j];
        int off = ndim - t->ndim;
        bool ok = off >= 0;
        int64_t a = 1;
        for (int d = ndim - 1; d >= 0 && ok; d--) {
            int64_t x = d >= off ? t->dims[d - off] : 1;
            if (x == dims[d]) {
                st[j + 1][d] = a;
                a *= x;
            } else if (x == 1) {
                st[j + 1][d] = 0;
            } else {
                ok = false;
            }
        }
        if (!ok) {
            int nds[2] = {t->ndim, ndim};
            const int64_t *ds[2] = {t->dims, dims};
            return shape_err(k, "cannot broadcast (input to output shape)", 2, nds, ds);
        }
    }
    /* drop size-1 dims, then merge neighbours that every operand walks contiguously or repeats */
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1) continue;
        if (nd > 0) {
            bool merge = true;
            for (int j = 0; j < b->n && merge; j++) merge = b->stride[j][nd - 1] == st[j][d] * dims[d];
            if (merge) {
                b->shape[nd - 1] *= dims[d];
                for (int j = 0; j < b->n; j++) b->stride[j][nd - 1] = st[j][d];
                continue;
            }
        }
        b->shape[nd] = dims[d];
        for (int j = 0; j < b->n; j++) b->stride[j][nd] = st[j][d];
        nd++;
    }
    if (nd == 0) {
        b->shape[0] = 1;
        for (int j = 0; j < b->n; j++) b->stride[j][0] = 1;
        nd = 1;
    }
    b->ndim = nd;
    return OCTET_OK;
}

int ot_par_threads(int threads, int64_t work) {
    if (threads <= 1 || work < OT_PAR_MIN) return 1;
    int64_t t = work / (OT_PAR_MIN / 2);
    return t < threads ? (int)t : threads;
}

/* Walk output elements [lo, hi). */
static void walk(const ot_bcast *b, int64_t lo, int64_t hi, char *const *base, const size_t *esize, ot_bcast_fn fn,
                 void *ctx) {
    int nd = b->ndim;
    int64_t idx[OCTET_MAX_DIMS];
    int64_t rem = lo;
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = rem % b->shape[d];
        rem /= b->shape[d];
    }
    int64_t inner = b->shape[nd - 1];
    int64_t s[OT_BCAST_MAX];
    char *p[OT_BCAST_MAX];
    for (int j = 0; j < b->n; j++) s[j] = b->stride[j][nd - 1];
    int64_t pos = lo;
    while (pos < hi) {
        for (int j = 0; j < b->n; j++) {
            int64_t off = 0;
            for (int d = 0; d < nd; d++) off += idx[d] * b->stride[j][d];
            p[j] = base[j] + off * (int64_t)esize[j];
        }
        int64_t len = inner - idx[nd - 1];
        if (len > hi - pos) len = hi - pos;
        fn(ctx, len, p, s);
        pos += len;
        idx[nd - 1] += len;
        for (int d = nd - 1; d > 0 && idx[d] == b->shape[d]; d--) {
            idx[d] = 0;
            idx[d - 1]++;
        }
    }
}

void ot_bcast_run(const ot_bcast *b, int threads, void *out, const void *const *ins, const size_t *esize,
                  ot_bcast_fn fn, void *ctx) {
    int64_t total = b->numel;
    if (total <= 0) return;
    char *base[OT_BCAST_MAX];
    base[0] = out;
    for (int j = 1; j < b->n; j++) base[j] = (char *)ins[j - 1];
    int T = ot_par_threads(threads, total);
    if (T <= 1) {
        walk(b, 0, total, base, esize, fn, ctx);
        return;
    }
#pragma omp parallel for num_threads(T) schedule(static)
    for (int t = 0; t < T; t++) walk(b, total * t / T, total * (t + 1) / T, base, esize, fn, ctx);
}

/* ---- element loads ---- */

#define LOAD_LOOP(ST, DST_T, CONV) \
    { for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)CONV(((const ST *)src)[i]); } break;
#define LOAD_CASES(DST_T, CONV)                                  \
    case OCTET_FLOAT: LOAD_LOOP(float, DST_T, CONV)              \
    case OCTET_DOUBLE: LOAD_LOOP(double, DST_T, CONV)            \
    case OCTET_INT8: LOAD_LOOP(int8_t, DST_T, )                  \
    case OCTET_INT16: LOAD_LOOP(int16_t, DST_T, )                \
    case OCTET_INT32: LOAD_LOOP(int32_t, DST_T, )                \
    case OCTET_INT64: LOAD_LOOP(int64_t, DST_T, )                \
    case OCTET_UINT8: case OCTET_BOOL: LOAD_LOOP(uint8_t, DST_T, ) \
    case OCTET_UINT16: LOAD_LOOP(uint16_t, DST_T, )              \
    case OCTET_UINT32: LOAD_LOOP(uint32_t, DST_T, )              \
    case OCTET_UINT64: LOAD_LOOP(uint64_t, DST_T, )              \
    default: return false;

#define AS_DOUBLE(x) ((double)(x))

/* float -> int64 with C truncation; out-of-range and NaN give INT64_MIN as x86's cvttsd2si does. */
static inline int64_t f_to_i64(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}

bool ot_load_f64(octet_dtype d, const void *src, int64_t n, double *dst) {
    switch (d) { LOAD_CASES(double, AS_DOUBLE) }
    return true;
}

bool ot_load_i64(octet_dtype d, const void *src, int64_t n, int64_t *dst) {
    switch (d) { LOAD_CASES(int64_t, f_to_i64) }
    return true;
}
