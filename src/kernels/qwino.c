/* Integer Winograd F(2x2, 3x3): weight transform, range check, the threaded driver and the scalar
 * variant (the reference the AVX2 one is tested against; see qwino.h for the arithmetic). */
#include "kernels/qwino.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/requant.h"
#include "util/mem.h"
#include "util/status.h"

/* Bytes of transformed input one block of tiles keeps (16 x tiles x kpad int16), in L2; each block
 * streams all packed weights once, so blocks are as large as L2 allows. */
#define QWINO_V_BUDGET (224 * 1024)
#define QWINO_V_BUDGET_BIG (4 * 1024 * 1024)   /* per thread, for one large block (in L3) */

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

void ot_qwino_free(ot_qwino *w) {
    if (!w) return;
    ot_aligned_free(w->corr);
    ot_aligned_free(w->scale);
    ot_aligned_free(w->zrow);
    ot_aligned_free(w->u);
    free(w);
}

static const ot_qwino_isa *variant(ot_isa isa) {
    if (!ot_cpu_isa_supported(isa)) return NULL;
    switch (isa) {
    case OT_ISA_SCALAR: return &ot_qwino_scalar;
    case OT_ISA_AVX2: return &ot_qwino_avx2;
    default: return NULL;   /* AVX-512 VNNI: the direct u8 x s8 GEMM is faster than int16 Winograd */
    }
}

/* U = (2G) g (2G)t for one 3x3 kernel g (row-major), into u[16] (stride between entries: ustride). */
static void weight_transform(const int32_t g[9], int16_t *u, size_t ustride) {
    int32_t t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = 2 * g[j];
        t[1][j] = g[j] + g[3 + j] + g[6 + j];
        t[2][j] = g[j] - g[3 + j] + g[6 + j];
        t[3][j] = 2 * g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        int32_t v[4] = {2 * t[i][0], t[i][0] + t[i][1] + t[i][2], t[i][0] - t[i][1] + t[i][2], 2 * t[i][2]};
        for (int j = 0; j < 4; j++) u[(size_t)(i * 4 + j) * ustride] = (int16_t)v[j];
    }
}

octet_status ot_qwino_create(ot_qwino **out, const ot_qconv_desc *d, ot_isa isa) {
    if (!out || !d) return ot_err(OCTET_ERR_INVALID_ARG, "qwino: NULL argument");
    *out = NULL;
    const ot_qwino_isa *vi = variant(isa);
    if (!vi || d->nsp != 2 || d->k[0] != 3 || d->k[1] != 3 || d->G != 1 || d->C < 1 || d->M < 1 || !d->w) return OCTET_OK;
    if (d->out_type != OT_QGEMM_OUT_S32 && d->out_type != OT_QGEMM_OUT_U8 && d->out_type != OT_QGEMM_OUT_S8)
        return OCTET_OK;
    const int C = d->C, M = d->M;
    if ((int64_t)C * 16 > INT_MAX / 8 || (int64_t)M * 16 > INT_MAX / 8) return OCTET_OK;
    /* the range condition, per output channel: sum |wk| * 255 * 4 < 2^31 */
    for (int m = 0; m < M; m++) {
        int32_t zw = d->zw ? d->zw[d->zw_count == 1 ? 0 : m] : 0;
        int64_t s = 0;
        for (size_t i = 0; i < (size_t)C * 9; i++) {
            size_t off = (size_t)m * C * 9 + i;
            int32_t v = d->w_signed ? ((const int8_t *)d->w)[off] : ((const uint8_t *)d->w)[off];
            s += llabs((long long)(v - zw));
        }
        if (s * 255 * 4 >= ((int64_t)1 << 31)) return OCTET_OK;
    }
    ot_qwino *w = ot_calloc(1, sizeof *w);
    if (!w) return ot_err(OCTET_ERR_NOMEM, "qwino: out of memory");
    w->isa = vi;
    w->C = C;
    w->M = M;
    w->kpad = round_up(C, vi->kstep);
    w->npad = round_up(M, vi->nstep);
    w->x_xor = d->x_signed ? 0x80 : 0;
    w->type = d->out_type;
    w->zy = d->zy;
    w->lo_f = (float)(d->lo - d->zy);
    w->hi_f = (float)(d->hi - d->zy);
    size_t nb = (size_t)w->npad * sizeof(float);
    w->corr = ot_aligned_alloc(nb);
    w->scale = ot_aligned_alloc(nb);
    w->zrow = ot_aligned_alloc((size_t)w->kpad + 64);
    w->u = ot_aligned_alloc(vi->u_size(w->kpad, w->npad));
    int16_t *u = ot_malloc((size_t)16 * C * M * sizeof *u);
    if (!w->corr || !w->scale || !w->zrow || !w->u || !u) {
        free(u);
        ot_qwino_free(w);
        return ot_err(OCTET_ERR_NOMEM, "qwino: out of memory packing weights");
    }
    memset(w->corr, 0, nb);
    memset(w->scale, 0, nb);
    memset(w->zrow, (uint8_t)d->zx, (size_t)w->kpad + 64);
    int32_t za_u = d->x_signed ? d->zx + 128 : d->zx;
    for (int m = 0; m < M; m++) {
        int32_t zw = d->zw ? d->zw[d->zw_count == 1 ? 0 : m] : 0;
        uint32_t sum = 0;
        for (int c = 0; c < C; c++) {
            int32_t g[9];
            for (int t = 0; t < 9; t++) {
                size_t off = ((size_t)m * C + (size_t)c) * 9 + (size_t)t;
                int32_t v = d->w_signed ? ((const int8_t *)d->w)[off] : ((const uint8_t *)d->w)[off];
                g[t] = v - zw;
                sum += (uint32_t)g[t];
            }
            weight_transform(g, u + (size_t)c * M + (size_t)m, (size_t)C * M);
        }
        uint32_t b = d->bias ? (uint32_t)d->bias[m] : 0u;
        w->corr[m] = (int32_t)(b - (uint32_t)za_u * sum);
        if (d->out_type != OT_QGEMM_OUT_S32) w->scale[m] = d->scale[d->scale_count == 1 ? 0 : m];
    }
    vi->pack(w->u, u, C, M, w->kpad, w->npad);
    free(u);
    *out = w;
    return OCTET_OK;
}

octet_status ot_qwino_run(const ot_qwino *w, const ot_qwino_geom *g, const void *x, void *y, int threads) {
    if (!w || !g) return ot_err(OCTET_ERR_INVALID_ARG, "qwino: NULL argument");
    if (g->N < 0 || g->H < 0 || g->W < 0 || g->OH < 0 || g->OW < 0 || g->pt < 0 || g->pl < 0)
        return ot_err(OCTET_ERR_INVALID_ARG, "qwino: bad geometry");
    int64_t total = (int64_t)g->N * ot_qwino_tiles_h(g) * ot_qwino_tiles_w(g);
    if (total == 0) return OCTET_OK;
    if (total > INT_MAX) return ot_err(OCTET_ERR_UNSUPPORTED, "qwino: image too large");
    if (!x || !y) return ot_err(OCTET_ERR_INVALID_ARG, "qwino: NULL tensor");
    const int mr = w->isa->mr;
    if (threads < 1) threads = 1;
    /* Block size. Each block reads all the packed weights once; each strip of 16 output channels reads
     * the block's transformed input once. Blocks whose input fits L2 cost (blocks x weights) of
     * traffic from L3; one large block per thread (input in L3) costs (strips x input + weights):
     * the second wins when the weights are large and the tiles many (e.g. 512 channels at 7x7 x 8). */
    const size_t usz = w->isa->u_size(w->kpad, w->npad), vtile = (size_t)16 * 2 * (size_t)w->kpad;
    const int strips_all = w->npad / w->isa->nstep;
    int tb = (int)(QWINO_V_BUDGET / vtile);
    if (tb < mr) tb = mr;
    double traf_small = (double)((total + tb - 1) / tb) * (double)usz;
    double traf_big = (double)strips_all * (double)total * (double)vtile + (double)usz * threads;
    if (traf_big < traf_small && (double)total * (double)vtile <= (double)QWINO_V_BUDGET_BIG * threads) {
        int64_t per = (total + threads - 1) / threads;
        tb = (int)((per + mr - 1) / mr * mr);
    }
    if (tb >= total || total * 4 <= (int64_t)tb * 5) {   /* (a block a little past the budget beats two) */
        tb = (int)total;
    } else {
        tb = tb / mr * mr;   /* (full micro-kernel tiles in all blocks but the last) */
        if (tb < mr) tb = mr;
    }
    int nblk = (int)((total + tb - 1) / tb);
    /* Threads: each block streams all the packed weights, so few tiles (small images, many channels)
     * are better split by output channels (each thread reads its part of the weights once) than cut
     * into more blocks; otherwise blocks, two per thread at least. */
    int nsplit = 1, strips = w->npad / w->isa->nstep;
    if (threads > 1 && nblk < 4 * threads && total >= 8 * threads * mr &&
        w->isa->u_size(w->kpad, w->npad) <= 256 * 1024) {
        /* weights that stay in L2 cost little per block: four blocks per thread even out the threads */
        int64_t want = (total + 4 * threads - 1) / (4 * threads);
        tb = (int)((want + mr - 1) / mr * mr);
        nblk = (int)((total + tb - 1) / tb);
    }
    if (threads > 1 && nblk < 2 * threads) {
        if (total >= 4 * threads * mr && strips < 4 * threads) {
            int64_t want = (total + 2 * threads - 1) / (2 * threads);
            tb = (int)((want + mr - 1) / mr * mr);
            nblk = (int)((total + tb - 1) / tb);
        } else {
            nsplit = (2 * threads + nblk - 1) / nblk;
            if (nsplit > strips) nsplit = strips;
        }
    }
    const int spn = (strips + nsplit - 1) / nsplit, items = nblk * nsplit;
    if (threads > items) threads = items;
    size_t sbytes = w->isa->scratch_size(tb, w->kpad, w->npad);
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed) if (threads > 1)
    {
        void *scratch = ot_aligned_alloc(sbytes);
        if (!scratch) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int it = 0; it < items; it++) {
            if (!scratch) continue;
            int b = it / nsplit, part = it % nsplit;
            int t0 = b * tb, t1 = t0 + tb < total ? t0 + tb : (int)total;
            int m0 = part * spn * w->isa->nstep, m1 = m0 + spn * w->isa->nstep;
            if (m1 > w->M) m1 = w->M;
            if (m0 < m1) w->isa->tiles(w, g, x, y, t0, t1, m0, m1, scratch);
        }
        ot_aligned_free(scratch);
    }
    if (failed) return ot_err(OCTET_ERR_NOMEM, "qwino: out of memory");
    return OCTET_OK;
}

/* ---- scalar variant: u as [16][C][M]; one tile at a time ---- */

static size_t ref_u_size(int kpad, int npad) { return (size_t)16 * kpad * npad * sizeof(int16_t); }

static void ref_pack(void *dst, const int16_t *u, int C, int M, int kpad, int npad) {
    (void)kpad;
    (void)npad;
    memcpy(dst, u, (size_t)16 * C * M * sizeof *u);
}

static size_t ref_scratch(int tiles, int kpad, int npad) {
    (void)tiles;
    return (size_t)16 * kpad * sizeof(int16_t) + (size_t)16 * npad * sizeof(uint32_t);
}

static void ref_tiles(const ot_qwino *w, const ot_qwino_geom *g, const uint8_t *x, uint8_t *y, int t0, int t1,
                      int m0, int m1, void *scratch) {
    const int C = w->C, M = w->M;
    int16_t *v = scratch;                                  /* [16][C] */
    uint32_t *acc = (uint32_t *)(v + (size_t)16 * w->kpad);   /* [16][M] */
    const int16_t *u = w->u;
    const size_t esz = w->type == OT_QGEMM_OUT_S32 ? 4 : 1;
    for (int t = t0; t < t1; t++) {
        const uint8_t *px[16];
        int n, oy, ox;
        ot_qwino_tile_ptrs(w, g, x, t, px, &n, &oy, &ox);
        for (int c = 0; c < C; c++) {
            int32_t d[4][4], tt[4][4];
            for (int i = 0; i < 16; i++) d[i / 4][i % 4] = (uint8_t)(px[i][c] ^ w->x_xor);
            for (int j = 0; j < 4; j++) {
                tt[0][j] = d[0][j] - d[2][j];
                tt[1][j] = d[1][j] + d[2][j];
                tt[2][j] = d[2][j] - d[1][j];
                tt[3][j] = d[1][j] - d[3][j];
            }
            for (int i = 0; i < 4; i++) {
                v[(size_t)(i * 4 + 0) * C + c] = (int16_t)(tt[i][0] - tt[i][2]);
                v[(size_t)(i * 4 + 1) * C + c] = (int16_t)(tt[i][1] + tt[i][2]);
                v[(size_t)(i * 4 + 2) * C + c] = (int16_t)(tt[i][2] - tt[i][1]);
                v[(size_t)(i * 4 + 3) * C + c] = (int16_t)(tt[i][1] - tt[i][3]);
            }
        }
        for (int ij = 0; ij < 16; ij++) {
            uint32_t *a = acc + (size_t)ij * M;
            memset(a, 0, (size_t)M * sizeof *a);
            for (int c = 0; c < C; c++) {
                int32_t vc = v[(size_t)ij * C + c];
                const int16_t *ur = u + ((size_t)ij * C + (size_t)c) * M;
                for (int m = m0; m < m1; m++) a[m] += (uint32_t)(vc * (int32_t)ur[m]);
            }
        }
        for (int m = m0; m < m1; m++) {
            uint32_t mm[16], s[2][4];
            for (int ij = 0; ij < 16; ij++) mm[ij] = acc[(size_t)ij * M + m];
            for (int j = 0; j < 4; j++) {
                s[0][j] = mm[j] + mm[4 + j] + mm[8 + j];
                s[1][j] = mm[4 + j] - mm[8 + j] - mm[12 + j];
            }
            for (int i = 0; i < 2; i++) {
                uint32_t yv[2] = {s[i][0] + s[i][1] + s[i][2], s[i][1] - s[i][2] - s[i][3]};
                for (int j = 0; j < 2; j++) {
                    int yy = oy + i, xx = ox + j;
                    if (yy >= g->OH || xx >= g->OW) continue;
                    /* 4*S is exact in int32 (the range check): an arithmetic shift gives S */
                    int32_t a = (int32_t)((uint32_t)((int32_t)yv[j] >> 2) + (uint32_t)w->corr[m]);
                    size_t off = (((size_t)n * g->OH + (size_t)yy) * g->OW + (size_t)xx) * M + (size_t)m;
                    if (w->type == OT_QGEMM_OUT_S32)
                        ((int32_t *)y)[off] = a;
                    else
                        y[off * esz] = (uint8_t)ot_requant1(a, w->scale[m], w->lo_f, w->hi_f, w->zy);
                }
            }
        }
    }
}

const ot_qwino_isa ot_qwino_scalar = {
    .kstep = 1, .nstep = 1, .mr = 1,
    .u_size = ref_u_size, .pack = ref_pack, .scratch_size = ref_scratch, .tiles = ref_tiles,
};
