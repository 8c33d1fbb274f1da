/* Op family 'f32_fused': float ops that octet's session passes introduce (domain ai.octet), never
 * found in model files. The blocked channel layout NCHWc (kernels/gemm_f32_nchwc.h, made by the
 * NCHWc pass, ir/passes/nchwc.h) needs its reorders and the pools that run on it:
 *
 *   ReorderInput                 X [N, C, H, W] -> Y [N, ceil(C/8), H, W, 8] (padding lanes 0)
 *   ReorderOutput (channels=C)   X [N, ceil(C/8), H, W, 8] -> Y [N, C, H, W]
 *   NchwcMaxPool                 MaxPool (2-D, ceil_mode 0, no Indices) on blocked tensors
 *   NchwcGlobalAveragePool       GlobalAveragePool on blocked tensors ([N, CB, 1, 1, 8])
 *   NchwcGlobalMaxPool           GlobalMaxPool on blocked tensors
 *   NchwcResize (onnx_opset=v)   Resize (nearest) of H and W on blocked tensors, Resize's own inputs
 *                                and attributes; the index of each output pixel comes from running
 *                                the plain Resize of ONNX opset v on a map of pixel indices
 *   FusedElementwise             X, constants...: a chain of per-element ops in one pass (an
 *                                elementwise program, f32_fused.h), blocked=1 when X is blocked
 *
 * Every lane is computed on its own, so the results are those of the plain ops bit for bit (the
 * pools use pool.c's comparison and summation order). */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "kernels/gemm_f32_nchwc.h"
#include "ops/conv_geom.h"
#include "ops/f32_fused.h"
#include "ops/op.h"

#define CB OT_NCHWC

static int pool_threads(const ot_kernel *k, double work, int64_t items) {
    int t = work < 65536.0 ? 1 : k->threads;
    if (t > items) t = (int)(items > 0 ? items : 1);
    return t;
}

/* ---- elementwise programs ---- */

octet_status ot_ewprog_parse(const ot_kernel *k, const octet_tensor *const *in, int n_in, int first_const,
                             int blocks, int64_t images, ot_ewprog *pg) {
    memset(pg, 0, sizeof *pg);
    const int64_t *ops;
    const float *prm;
    size_t no = ot_node_attr_ints(k->node, "ew_ops", &ops), np = ot_node_attr_floats(k->node, "ew_params", &prm);
    if (no == 0) return OCTET_OK;
    if (no % 3 != 0 || no / 3 > OT_EW_MAX_INS || np != no / 3 * 2)
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "malformed elementwise program");
    const int nconst = n_in - first_const;
    if (nconst < 0 || nconst > OT_EW_MAX_CONST)
        return ot_node_err(k, OCTET_ERR_INVALID_ARG, "elementwise program with %d constants", nconst);
    pg->n = (int)(no / 3);
    for (int i = 0; i < pg->n; i++) {
        ot_ew_ins *e = &pg->ins[i];
        e->op = (int)ops[3 * i];
        e->a = (int)ops[3 * i + 1];
        e->b = (int)ops[3 * i + 2];
        e->p0 = prm[2 * i];
        e->p1 = prm[2 * i + 1];
        if (e->op < 0 || e->op >= OT_EW_OPS || e->a > i || e->b > i || e->a < -nconst || e->b < -nconst)
            return ot_node_err(k, OCTET_ERR_INVALID_ARG, "malformed elementwise program (instruction %d)", i);
    }
    pg->nconst = nconst;
    for (int c = 0; c < nconst; c++) {
        const octet_tensor *t = in[first_const + c];
        if (!t) return ot_node_err(k, OCTET_ERR_INVALID_ARG, "elementwise program constant %d is missing", c);
        OT_TRY(ot_check_dtype(k, t, first_const + c, OCTET_FLOAT));
        const int64_t n = ot_tensor_numel(t);
        if (n == 1) {
            pg->value[c] = t->data;
        } else if (blocks >= 0 && t->ndim == 5 && t->dims[1] == blocks && t->dims[2] == 1 && t->dims[3] == 1 &&
                   t->dims[4] == CB && (t->dims[0] == 1 || t->dims[0] == images)) {
            pg->per_channel[c] = true;
            pg->value[c] = t->data;
            pg->image_stride[c] = t->dims[0] > 1 ? (size_t)blocks * CB : 0;
        } else {
            return ot_node_err(k, OCTET_ERR_SHAPE, "elementwise program constant %d has %lld elements", c,
                               (long long)n);
        }
    }
    return OCTET_OK;
}

/* ---- reorders ---- */

/* NCHW -> NCHW8c (to_blocked) or back, one (image, channel block) per work item. */
static void reorder_blocks(const ot_kernel *k, const float *x, float *y, int64_t N, int C, size_t hw,
                           bool to_blocked) {
    const int nb = ot_nchwc_blocks(C);
    const int64_t items = N * nb;
    const int threads = pool_threads(k, (double)items * hw * CB, items);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t n = it / nb;
        const int b = (int)(it % nb), nc = C - b * CB < CB ? C - b * CB : CB;
        const size_t planar = ((size_t)n * C + (size_t)b * CB) * hw, blocked = (size_t)it * hw * CB;
        if (to_blocked) ot_nchwc_reorder_in(x + planar, nc, hw, y + blocked);
        else ot_nchwc_reorder_out(x + blocked, nc, hw, y + planar);
    }
}

static octet_status reorder_in_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                   int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    const octet_tensor *x = in[0];
    if (!out[0]) return OCTET_OK;
    if (x->ndim != 4) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank 4, got %d", x->ndim);
    if (x->dims[1] > INT_MAX / 2) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "too many channels");
    const int C = (int)x->dims[1], nb = ot_nchwc_blocks(C);
    int64_t d[5] = {x->dims[0], nb, x->dims[2], x->dims[3], CB};
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 5, d));
    reorder_blocks(k, x->data, out[0]->data, x->dims[0], C, (size_t)x->dims[2] * (size_t)x->dims[3], true);
    return OCTET_OK;
}

static octet_status reorder_out_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                    int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    OT_TRY(ot_check_dtype(k, in[0], 0, OCTET_FLOAT));
    const octet_tensor *x = in[0];
    const int64_t C = ot_node_attr_int(k->node, "channels", -1);
    if (C < 0 || C > INT_MAX / 2) return ot_node_err(k, OCTET_ERR_SHAPE, "attribute channels is %lld", (long long)C);
    const int nb = ot_nchwc_blocks(C);
    if (x->ndim != 5 || x->dims[1] != nb || x->dims[4] != CB)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input must be blocked [N, %d, H, W, 8]", nb);
    if (!out[0]) return OCTET_OK;
    int64_t d[4] = {x->dims[0], C, x->dims[2], x->dims[3]};
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 4, d));
    reorder_blocks(k, x->data, out[0]->data, x->dims[0], (int)C, (size_t)x->dims[2] * (size_t)x->dims[3], false);
    return OCTET_OK;
}

/* ---- pools ---- */

static octet_status check_blocked(const ot_kernel *k, const octet_tensor *x) {
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    if (x->ndim != 5 || x->dims[4] != CB)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input must be blocked [N, CB, H, W, 8], got rank %d", x->ndim);
    if ((double)x->dims[1] * CB * x->dims[2] * x->dims[3] > INT_MAX / 2)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "tensor sizes are too large");
    return OCTET_OK;
}

static octet_status maxpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    OT_TRY(check_blocked(k, x));
    if (ot_node_attr_int(k->node, "ceil_mode", 0) != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "ceil_mode is not supported on blocked tensors");
    if (n_out > 1 && out[1]) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Indices are not supported");
    ot_conv_attrs a;
    OT_TRY(ot_conv_attrs_parse(k, &a));
    if (a.n_kernel != 2) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape must have 2 values");
    /* the geometry of a depthwise convolution with the pool's window */
    const int64_t C = x->dims[1] * CB;
    a.group = C;
    int64_t xd[4] = {x->dims[0], C, x->dims[2], x->dims[3]}, wd[4] = {C, 1, a.kernel[0], a.kernel[1]};
    ot_conv_shape s;
    OT_TRY(ot_conv_shape_resolve(k, &a, 4, xd, false, 4, wd, 2, &s));
    if (!out[0]) return OCTET_OK;
    int64_t d[5] = {s.N, x->dims[1], s.out[0], s.out[1], CB};
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 5, d));
    ot_nchwc_geom g = {0};
    g.H = (int)s.in[0];
    g.W = (int)s.in[1];
    g.OH = (int)s.out[0];
    g.OW = (int)s.out[1];
    g.kh = (int)s.k[0];
    g.kw = (int)s.k[1];
    g.sh = (int)s.s[0];
    g.sw = (int)s.s[1];
    g.dh = (int)s.d[0];
    g.dw = (int)s.d[1];
    g.pt = (int)s.pb[0];
    g.pl = (int)s.pb[1];
    ot_nchwc_maxpool(&g, s.N * x->dims[1], x->data, out[0]->data, k->threads);
    return OCTET_OK;
}

static octet_status global_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, bool avg) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    OT_TRY(check_blocked(k, x));
    if (!out[0]) return OCTET_OK;
    int64_t d[5] = {x->dims[0], x->dims[1], 1, 1, CB};
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 5, d));
    const int64_t planes = x->dims[0] * x->dims[1], pin = x->dims[2] * x->dims[3];
    const float *xp = x->data;
    float *yp = out[0]->data;
    const int threads = pool_threads(k, (double)planes * pin * CB, planes);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const float *xb = xp + (size_t)p * pin * CB;
        float *y = yp + (size_t)p * CB;
        if (!avg) {
            for (int l = 0; l < CB; l++) y[l] = pin > 0 ? xb[l] : -FLT_MAX;
            for (int64_t i = 1; i < pin; i++) {
                /* pool.c: m = x > m ? x : m */
                for (int l = 0; l < CB; l++) y[l] = xb[i * CB + l] > y[l] ? xb[i * CB + l] : y[l];
            }
            continue;
        }
        /* pool.c's order per channel: 8 partial sums over the first pin/8*8 values (element i into
         * sum i % 8), the rest in double, then the partial sums in order, then / pin */
        float s[8][CB];
        memset(s, 0, sizeof s);
        int64_t i = 0;
        for (; i + 8 <= pin; i += 8)
            for (int j = 0; j < 8; j++) {
                const float *v = xb + (i + j) * CB;
                for (int l = 0; l < CB; l++) s[j][l] += v[l];
            }
        for (int l = 0; l < CB; l++) {
            double tot = 0;
            for (int64_t r = i; r < pin; r++) tot += xb[r * CB + l];
            for (int j = 0; j < 8; j++) tot += s[j][l];
            y[l] = pin > 0 ? (float)(tot / (double)pin) : 0.0f;
        }
    }
    return OCTET_OK;
}

static octet_status gap_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return global_run(k, in, n_in, out, true);
}

static octet_status gmp_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return global_run(k, in, n_in, out, false);
}

/* ---- NchwcResize ---- */

static octet_status nchwc_resize_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                     int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 4));
    const octet_tensor *x = in[0];
    OT_TRY(check_blocked(k, x));
    if (!out[0]) return OCTET_OK;
    const ot_op_def *rs = ot_op_find("", "Resize");
    if (!rs) return ot_node_err(k, OCTET_ERR_INTERNAL, "Resize is not registered");
    const int64_t H = x->dims[2], W = x->dims[3];
    int64_t d4[4] = {1, 1, H, W};
    octet_tensor *map = ot_tensor_new(OCTET_INT32, 4, d4);
    if (!map) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int32_t *mp = map->data;
    for (int64_t i = 0; i < H * W; i++) mp[i] = (int32_t)i;
    /* the plain Resize, as the node would run it in the model's opset, on the index map */
    ot_kernel kk = *k;
    kk.opset = ot_node_attr_int(k->node, "onnx_opset", 13);
    const octet_tensor *rin[4] = {map, n_in > 1 ? in[1] : NULL, n_in > 2 ? in[2] : NULL, n_in > 3 ? in[3] : NULL};
    octet_tensor idx = {0};
    octet_tensor *ro[1] = {&idx};
    octet_status s = rs->run(&kk, rin, n_in, ro, 1);
    if (s == OCTET_OK && (idx.ndim != 4 || idx.dims[0] != 1 || idx.dims[1] != 1 || idx.dtype != OCTET_INT32))
        s = ot_node_err(k, OCTET_ERR_UNSUPPORTED, "Resize must keep N and C on blocked tensors");
    int64_t od[5] = {x->dims[0], x->dims[1], s == OCTET_OK ? idx.dims[2] : 0, s == OCTET_OK ? idx.dims[3] : 0, CB};
    if (s == OCTET_OK) s = ot_tensor_alloc(out[0], OCTET_FLOAT, 5, od);
    if (s == OCTET_OK) {
        const int64_t planes = x->dims[0] * x->dims[1], opix = od[2] * od[3];
        const int32_t *ix = idx.data;
        const float *xp = x->data;
        float *yp = out[0]->data;
        const int threads = pool_threads(k, (double)planes * opix * CB, planes);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
        for (int64_t p = 0; p < planes; p++) {
            const float *xb = xp + (size_t)p * H * W * CB;
            float *yb = yp + (size_t)p * opix * CB;
            for (int64_t o = 0; o < opix; o++) memcpy(yb + o * CB, xb + (size_t)ix[o] * CB, CB * sizeof(float));
        }
    }
    ot_tensor_reset(&idx);
    octet_tensor_free(map);
    return s;
}

/* ---- fused elementwise chains ---- */

/* FusedElementwise: X (plain, or blocked with blocked=1), constants...; Y like X. */
static octet_status fused_ew_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                 int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1 + OT_EW_MAX_CONST));
    const octet_tensor *x = in[0];
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    const bool blk = ot_node_attr_int(k->node, "blocked", 0) != 0;
    if (blk) OT_TRY(check_blocked(k, x));
    ot_ewprog pg;
    OT_TRY(ot_ewprog_parse(k, in, n_in, 1, blk ? (int)x->dims[1] : -1, blk ? x->dims[0] : 1, &pg));
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, x->ndim, x->dims));
    const size_t n = (size_t)ot_tensor_numel(x), nvec = n / CB;
    if (n == 0) return OCTET_OK;
    const float *xs = x->data;
    float *y = out[0]->data;
    /* items: chunks of at most 512 vectors inside one block's plane (plain: of the whole tensor);
     * each is copied and transformed while it is in cache */
    const size_t plane = blk ? (size_t)x->dims[2] * x->dims[3] : nvec;
    const size_t per = plane ? (plane + 511) / 512 : 1, chunk = plane ? (plane + per - 1) / per : 1;
    const int64_t planes = blk ? x->dims[0] * x->dims[1] : 1, items = planes * (int64_t)per;
    const int blocks = blk ? (int)x->dims[1] : 1;
    const int threads = pool_threads(k, (double)n * (pg.n + 1), items);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t p = it / (int64_t)per;
        const size_t c0 = (size_t)(it % (int64_t)per) * chunk, nv = plane - c0 < chunk ? plane - c0 : chunk;
        if (c0 >= plane) continue;
        const size_t v0 = (size_t)p * plane + c0;
        ot_ewprog local = pg;  /* per-image operands: this image's values */
        for (int c = 0; c < pg.nconst; c++)
            if (pg.image_stride[c]) local.value[c] = pg.value[c] + (size_t)(p / blocks) * pg.image_stride[c];
        memcpy(y + v0 * CB, xs + v0 * CB, nv * CB * sizeof(float));
        ot_ewprog_run(&local, y + v0 * CB, (int)nv, CB, 1, 0, blk ? (int)(p % blocks) : 0);
    }
    if (n % CB) {
        memcpy(y + nvec * CB, xs + nvec * CB, (n % CB) * sizeof(float));
        ot_ewprog_run_floats(&pg, y + nvec * CB, n % CB);
    }
    return OCTET_OK;
}

const ot_op_def ot_ops_f32_fused[] = {
    {"ai.octet", "ReorderInput", NULL, reorder_in_run, NULL},
    {"ai.octet", "ReorderOutput", NULL, reorder_out_run, NULL},
    {"ai.octet", "NchwcMaxPool", NULL, maxpool_run, NULL},
    {"ai.octet", "NchwcGlobalAveragePool", NULL, gap_run, NULL},
    {"ai.octet", "NchwcGlobalMaxPool", NULL, gmp_run, NULL},
    {"ai.octet", "FusedElementwise", NULL, fused_ew_run, NULL},
    {"ai.octet", "NchwcResize", NULL, nchwc_resize_run, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
