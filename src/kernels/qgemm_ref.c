/* qgemm, scalar variant: B kept as Bk = B - zb in int16 [kpad][npad], rows of A used in place.
 * Runs where neither AVX2 nor AVX-512 is available; tested against ot_qgemm_ref like the others. */
#include "kernels/qgemm_internal.h"

static size_t b_size(int kpad, int npad) { return (size_t)kpad * (size_t)npad * sizeof(int16_t); }

static void pack_b(void *dst, const int16_t *bk, int K, int N, int kpad, int npad) {
    int16_t *d = dst;
    memset(d, 0, b_size(kpad, npad));
    for (int k = 0; k < K; k++) memcpy(d + (size_t)k * npad, bk + (size_t)k * N, (size_t)N * sizeof(int16_t));
}

static size_t scratch_size(int mb, int kpad, int npad) { return (size_t)npad * sizeof(uint32_t); }

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    uint32_t *acc = scratch;
    const int16_t *bk = p->data;
    int nn = n1 - n0;
    for (int m = m0; m < m1; m++) {
        const uint8_t *arow = r->a + (size_t)m * (size_t)r->lda;
        memset(acc, 0, (size_t)nn * sizeof *acc);
        uint32_t rowsum = 0;
        for (int k = 0; k < p->K; k++) {
            uint32_t av = (uint8_t)(arow[k] ^ r->a_xor);
            rowsum += av;
            if (!av) continue;
            const int16_t *brow = bk + (size_t)k * p->npad + n0;
            for (int j = 0; j < nn; j++) acc[j] += av * (uint32_t)(int32_t)brow[j];
        }
        for (int j = 0; j < nn; j++) {
            int n = n0 + j;
            uint32_t v = acc[j] + (uint32_t)r->colcorr[n];
            if (r->zbk) v -= (uint32_t)r->zbk[n] * rowsum;
            ot_qgemm_store1(r, m, n, (int32_t)v);
        }
    }
}

const ot_qgemm_isa ot_qgemm_isa_scalar = {
    .name = "scalar", .mr = 1, .nr = 16, .kstep = 1, .bk_kind = OT_QGEMM_BK_ZB,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};
