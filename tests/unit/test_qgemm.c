/* qgemm: the scalar reference against a naive int64 oracle, then every kernel variant this CPU can run
 * against the reference, bit for bit, over odd shapes, zero points, epilogues and thread counts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/cpu.h"
#include "kernels/qgemm.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static const int kSizes[] = {1, 2, 3, 7, 15, 16, 17, 31, 63, 64, 65, 127, 257};
#define NSIZES ((int)(sizeof kSizes / sizeof kSizes[0]))

/* One randomized problem. */
typedef struct {
    int M, N, K, lda, ldb, ldc;
    bool a_signed, b_signed, b_trans, per_col_zb, has_bias, per_col_scale, has_biasf;
    int32_t za, za_hint;
    uint8_t *a, *b;
    int32_t *zb, *bias;
    float *scale, *biasf;
    ot_qgemm_out_type type;
    int32_t zp, lo, hi;
} problem;

static void problem_free(problem *p) {
    free(p->a);
    free(p->b);
    free(p->zb);
    free(p->bias);
    free(p->scale);
    free(p->biasf);
}

/* When set, problem_make draws B for the AVX2 u8 x s7 kernel: B - (unsigned ? 128 : 0) mostly in
 * [-64, 64], with pairs of k (2p, 2p + 1) on the edge of what vpmaddubsw sums exactly. */
static bool g_b7;

static void set_b(problem *p, int k, int n, int v) {
    size_t off = p->b_trans ? (size_t)n * p->ldb + (size_t)k : (size_t)k * p->ldb + (size_t)n;
    p->b[off] = (uint8_t)(p->b_signed ? v : v + 128);
}

static void make_b7(problem *p, bool extreme) {
    /* (b0, b1): positive parts sum to <= 128, negative parts too; with A_u = 255 the pair sums reach
     * +-32640, next to int16's limits */
    static const int edge[][2] = {{127, 1}, {1, 127}, {-128, 0}, {0, -128}, {64, 64}, {-64, -64},
                                  {127, -128}, {-128, 127}, {100, 28}, {-100, -28}};
    const int ne = (int)(sizeof edge / sizeof edge[0]);
    for (int n = 0; n < p->N; n++)
        for (int k = 0; k < p->K; k += 2) {
            int b0, b1;
            if (extreme || rnd() % 4 == 0) {
                int e = extreme ? (n + k / 2) % ne : (int)(rnd() % (uint32_t)ne);
                b0 = edge[e][0], b1 = edge[e][1];
            } else {
                b0 = rint_in(-64, 64), b1 = rint_in(-64, 64);
            }
            if (k + 1 >= p->K) b0 = b0 + b1 > 127 ? 127 : b0 + b1 < -128 ? -128 : b0 + b1;
            set_b(p, k, n, b0);
            if (k + 1 < p->K) set_b(p, k + 1, n, b1);
        }
}

/* When set, problem_make draws A the way activations are: A_u (A, or A + 128 for int8) mostly in
 * [L, L + 127] above the AVX2 split kernel's window start (L = za_u - 80, or 0), where nothing is cut,
 * with a sparse residual on every edge: values just below L and far below it, and pairs of k (2p, 2p + 1)
 * whose A_u - L sum past 256 by 1 and by the most (and exactly 256, which fits). */
static bool g_asparse;
/* When set, run_variant_case packs B for this kernel by name instead of letting the driver choose. */
static const char *g_force_kernel;

static void make_a_sparse(problem *p, size_t an) {
    int za_u = p->a_signed ? p->za + 128 : p->za, L = za_u > 80 ? za_u - 80 : 0;
    for (size_t i = 0; i < an; i += 2) {
        int u0 = rint_in(0, 127), u1 = rint_in(0, 127);
        switch (rnd() % 128) {
        case 0: u0 = -1; break;                                 /* just below the window */
        case 1: u1 = -L; break;                                 /* A_u = 0 */
        case 2: u0 = 129, u1 = 128; break;                      /* pair sum 257 */
        case 3: u0 = 255 - L, u1 = 255 - L; break;              /* A_u = 255 twice */
        case 4: u0 = 128, u1 = 128; break;                      /* 256: fits, no residual */
        case 5: u0 = 1, u1 = 255 - L; break;
        default: break;
        }
        int a0 = L + u0, a1 = L + u1;
        a0 = a0 < 0 ? 0 : a0 > 255 ? 255 : a0;
        a1 = a1 < 0 ? 0 : a1 > 255 ? 255 : a1;
        p->a[i] = (uint8_t)(p->a_signed ? a0 ^ 0x80 : a0);
        if (i + 1 < an) p->a[i + 1] = (uint8_t)(p->a_signed ? a1 ^ 0x80 : a1);
    }
}

/* mode 0: random; 1: extreme operands (largest |products|); 2: random with large / non-finite scales
 * (compared with the reference only). */
static void problem_make(problem *p, int M, int N, int K, ot_qgemm_out_type type, int mode) {
    memset(p, 0, sizeof *p);
    p->M = M, p->N = N, p->K = K, p->type = type;
    p->a_signed = rnd() & 1;
    p->b_signed = (rnd() % 4) != 0;
    p->b_trans = rnd() & 1;
    p->lda = K + (rnd() % 3 == 0 ? rint_in(1, 5) : 0);
    p->ldb = (p->b_trans ? K : N) + (rnd() % 3 == 0 ? rint_in(1, 5) : 0);
    p->ldc = N + (rnd() % 3 == 0 ? rint_in(1, 5) : 0);
    /* A exactly as long as the last row needs ((M - 1) * lda + K bytes), so ASan sees any read past it. */
    size_t an = M > 0 ? (size_t)(M - 1) * p->lda + (size_t)K : 0;
    p->a = malloc(an ? an : 1);
    size_t bn = (size_t)(p->b_trans ? N : K) * p->ldb + 1;
    p->b = malloc(bn);
    for (size_t i = 0; i < an; i++) p->a[i] = (uint8_t)rnd();
    for (size_t i = 0; i < bn; i++) p->b[i] = (uint8_t)rnd();
    int alo = p->a_signed ? -128 : 0, ahi = p->a_signed ? 127 : 255;
    int blo = p->b_signed ? -128 : 0, bhi = p->b_signed ? 127 : 255;
    p->za = rint_in(alo, ahi);
    p->za_hint = rnd() % 4 == 0 ? rint_in(alo, ahi) : p->za;
    int zbmode = rnd() % 3;   /* 0: none, 1: per tensor, 2: per column */
    if (zbmode) {
        p->per_col_zb = zbmode == 2;
        int cnt = p->per_col_zb ? N : 1;
        p->zb = malloc(sizeof(int32_t) * cnt);
        for (int i = 0; i < cnt; i++) p->zb[i] = rnd() % 3 == 0 ? (p->b_signed ? 0 : 128) : rint_in(blo, bhi);
    }
    if (mode == 1) {
        /* A at one end, B at the other, zero points opposite: every product is near 255*255. */
        memset(p->a, p->a_signed ? 0x7f : 0xff, an);
        memset(p->b, p->b_signed ? 0x80 : 0x00, bn);
        p->za = p->za_hint = alo;
        free(p->zb);
        p->zb = malloc(sizeof(int32_t) * N);
        p->per_col_zb = true;
        for (int i = 0; i < N; i++) p->zb[i] = bhi;
    }
    if (g_b7) make_b7(p, mode == 1);
    if (g_asparse && mode != 1) {
        p->za_hint = p->za;
        make_a_sparse(p, an);
    }
    p->has_bias = rnd() & 1;
    if (p->has_bias) {
        p->bias = malloc(sizeof(int32_t) * N);
        for (int i = 0; i < N; i++) p->bias[i] = (int32_t)(rnd() % 200001) - 100000;
    }
    p->per_col_scale = rnd() & 1;
    int sc = p->per_col_scale ? N : 1;
    p->scale = malloc(sizeof(float) * sc);
    for (int i = 0; i < sc; i++) {
        /* Mostly small multipliers as real models have; sometimes exact powers of two to produce ties. */
        float s = (rnd() % 4 == 0) ? ldexpf(1.0f, -rint_in(1, 12)) : (float)(rnd() % 10000 + 1) * 1e-6f;
        if (type == OT_QGEMM_OUT_F32) s = (float)(rnd() % 10000 + 1) * 1e-4f;
        if (mode == 2) {   /* multipliers near and beyond 1, huge, infinite, NaN: the float-clamp path */
            static const float big[] = {0.989f, 0.99f, 1.0f, 1.5f, 300.0f, 1e9f, -2.0f, INFINITY, -INFINITY, NAN};
            s = rnd() % 2 ? big[rnd() % (sizeof big / sizeof big[0])] : s;
        }
        p->scale[i] = s;
    }
    p->has_biasf = rnd() & 1;
    p->biasf = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) p->biasf[i] = ((float)(rnd() % 20001) - 10000.0f) * 0.01f;
    int olo = type == OT_QGEMM_OUT_S8 ? -128 : 0, ohi = type == OT_QGEMM_OUT_S8 ? 127 : 255;
    p->zp = rint_in(olo, ohi);
    p->lo = olo, p->hi = ohi;
    int clampmode = rnd() % 3;
    if (clampmode == 1) p->lo = p->zp;                                   /* ReLU */
    if (clampmode == 2) p->lo = p->zp, p->hi = p->zp + (ohi - p->zp) / 2; /* ReLU6-like */
}

static ot_qgemm_b problem_b(const problem *p) {
    ot_qgemm_b d = {.K = p->K, .N = p->N, .b = p->b, .ldb = p->ldb, .b_signed = p->b_signed, .b_trans = p->b_trans,
                    .zb = p->zb, .zb_count = p->zb ? (p->per_col_zb ? p->N : 1) : 0, .bias = p->bias,
                    .za_hint = p->za_hint, .a_signed_hint = p->a_signed};
    return d;
}

static ot_qgemm_out problem_out(const problem *p, void *c) {
    ot_qgemm_out o = {.type = p->type, .c = c, .ldc = p->ldc, .scale = p->scale, .scale_per_col = p->per_col_scale,
                      .bias_f = p->has_biasf ? p->biasf : NULL, .zp = p->zp, .lo = p->lo, .hi = p->hi};
    return o;
}

static size_t out_bytes(const problem *p) {
    size_t e = (p->type == OT_QGEMM_OUT_S32 || p->type == OT_QGEMM_OUT_F32) ? 4 : 1;
    return ((size_t)(p->M - 1) * p->ldc + p->N) * e + 64;   /* + guard bytes */
}

/* ---- independent oracle: int64 sums, epilogue written from the ONNX formulas ---- */
static void oracle(const problem *p, void *c) {
    for (int m = 0; m < p->M; m++)
        for (int n = 0; n < p->N; n++) {
            int64_t s = p->has_bias ? p->bias[n] : 0;
            int32_t zb = p->zb ? p->zb[p->per_col_zb ? n : 0] : 0;
            for (int k = 0; k < p->K; k++) {
                int64_t av = p->a_signed ? (int8_t)p->a[(size_t)m * p->lda + k] : p->a[(size_t)m * p->lda + k];
                size_t bo = p->b_trans ? (size_t)n * p->ldb + k : (size_t)k * p->ldb + n;
                int64_t bv = p->b_signed ? (int8_t)p->b[bo] : p->b[bo];
                s += (av - p->za) * (bv - zb);
            }
            assert_true(s >= INT32_MIN && s <= INT32_MAX);
            int32_t acc = (int32_t)s;
            size_t off = (size_t)m * p->ldc + n;
            float sc = p->scale[p->per_col_scale ? n : 0];
            if (p->type == OT_QGEMM_OUT_S32) {
                ((int32_t *)c)[off] = acc;
            } else if (p->type == OT_QGEMM_OUT_F32) {
                float prod = (float)((double)(float)acc * (double)sc);   /* exact product, one rounding */
                float bf = p->has_biasf ? p->biasf[n] : 0.0f;
                ((float *)c)[off] = (float)((double)prod + (double)bf);
            } else {
                float v = (float)((double)(float)acc * (double)sc);
                double r = rint((double)v) + p->zp;   /* half to even */
                if (r < p->lo) r = p->lo;
                if (r > p->hi) r = p->hi;
                if (p->type == OT_QGEMM_OUT_U8)
                    ((uint8_t *)c)[off] = (uint8_t)(int)r;
                else
                    ((int8_t *)c)[off] = (int8_t)(int)r;
            }
        }
}

static void compare_out(const problem *p, const void *got, const void *want, const char *what) {
    size_t e = (p->type == OT_QGEMM_OUT_S32 || p->type == OT_QGEMM_OUT_F32) ? 4 : 1;
    for (int m = 0; m < p->M; m++) {
        const char *g = (const char *)got + (size_t)m * p->ldc * e, *w = (const char *)want + (size_t)m * p->ldc * e;
        if (memcmp(g, w, (size_t)p->N * e) != 0) {
            for (int n = 0; n < p->N; n++)
                if (memcmp(g + n * e, w + n * e, e)) {
                    double gv, wv;
                    if (p->type == OT_QGEMM_OUT_S32) gv = ((const int32_t *)g)[n], wv = ((const int32_t *)w)[n];
                    else if (p->type == OT_QGEMM_OUT_F32) gv = ((const float *)g)[n], wv = ((const float *)w)[n];
                    else if (p->type == OT_QGEMM_OUT_U8) gv = ((const uint8_t *)g)[n], wv = ((const uint8_t *)w)[n];
                    else gv = ((const int8_t *)g)[n], wv = ((const int8_t *)w)[n];
                    fail_msg("%s: M=%d N=%d K=%d type=%d a_signed=%d b_signed=%d trans=%d zb=%s za=%d: C[%d][%d] = %.9g, "
                             "want %.9g",
                             what, p->M, p->N, p->K, p->type, p->a_signed, p->b_signed, p->b_trans,
                             p->zb ? (p->per_col_zb ? "col" : "tensor") : "none", p->za, m, n, gv, wv);
                }
        }
    }
}

/* ---- the reference against the oracle ---- */
static void test_ref_vs_oracle(void **state) {
    (void)state;
    for (int it = 0; it < 300; it++) {
        int M = kSizes[rnd() % 9], N = kSizes[rnd() % 9], K = kSizes[rnd() % 11];
        problem p;
        problem_make(&p, M, N, K, (ot_qgemm_out_type)(it % 4), it % 17 == 0);
        size_t nb = out_bytes(&p);
        void *c1 = calloc(1, nb), *c2 = calloc(1, nb);
        ot_qgemm_b d = problem_b(&p);
        ot_qgemm_out o = problem_out(&p, c1);
        octet_status st = ot_qgemm_ref(&d, M, p.a, p.lda, p.za, p.a_signed, &o);
        if (st != OCTET_OK) fail_msg("ref: %s", octet_last_error());
        oracle(&p, c2);
        compare_out(&p, c1, c2, "ref vs oracle");
        free(c1);
        free(c2);
        problem_free(&p);
    }
}

/* Hand-computed: A = [[1,2],[3,4]] (za 1), B = [[5,6],[7,8]] int8 (zb 0), bias [10, -10]. */
static void test_ref_hand(void **state) {
    (void)state;
    uint8_t a[] = {1, 2, 3, 4};
    int8_t b[] = {5, 6, 7, 8};
    int32_t bias[] = {10, -10}, c[4];
    ot_qgemm_b d = {.K = 2, .N = 2, .b = b, .ldb = 2, .b_signed = true, .bias = bias};
    ot_qgemm_out o = {.type = OT_QGEMM_OUT_S32, .c = c, .ldc = 2};
    assert_int_equal(ot_qgemm_ref(&d, 2, a, 2, 1, false, &o), OCTET_OK);
    /* (A-1) = [[0,1],[2,3]]; (A-1)B = [[7,8],[31,36]] */
    assert_int_equal(c[0], 17);
    assert_int_equal(c[1], -2);
    assert_int_equal(c[2], 41);
    assert_int_equal(c[3], 26);
    /* Requantize with scale 0.5: 8.5 -> 8 (ties to even), -1 -> -1, 20.5 -> 20, 13 -> 13, zp 3, ReLU at zp. */
    uint8_t q[4];
    float s = 0.5f;
    ot_qgemm_out oq = {.type = OT_QGEMM_OUT_U8, .c = q, .ldc = 2, .scale = &s, .zp = 3, .lo = 3, .hi = 255};
    assert_int_equal(ot_qgemm_ref(&d, 2, a, 2, 1, false, &oq), OCTET_OK);
    assert_int_equal(q[0], 11);
    assert_int_equal(q[1], 3);
    assert_int_equal(q[2], 23);
    assert_int_equal(q[3], 16);
}

/* ---- every variant against the reference ---- */
static int g_checked, g_u8s7;

static void run_variant_case(ot_isa isa, problem *p, int threads) {
    size_t nb = out_bytes(p);
    unsigned char *c1 = malloc(nb), *c2 = malloc(nb);
    memset(c1, 0xA5, nb);
    memset(c2, 0xA5, nb);   /* the gaps between rows (ldc > N) must stay untouched */
    ot_qgemm_b d = problem_b(p);
    ot_qgemm_packed *pb = NULL;
    if (g_force_kernel) {
        assert_int_equal(ot_qgemm_pack_b_kernel(&pb, &d, g_force_kernel), OCTET_OK);
        assert_string_equal(ot_qgemm_packed_kernel(pb), g_force_kernel);
    } else {
        assert_int_equal(ot_qgemm_pack_b_isa(&pb, &d, isa), OCTET_OK);
        /* AVX2: u8s7 when B fits, else split, but the int16 kernel for small K or N */
        const char *want = isa != OT_ISA_AVX2 ? ot_isa_name(isa)
                           : ot_qgemm_b_fits_u8s7(&d)         ? "avx2-u8s7"
                           : (p->K >= 128 && p->N >= 48)      ? "avx2-split"
                                                              : "avx2";
        assert_string_equal(ot_qgemm_packed_kernel(pb), want);
    }
    assert_int_equal(ot_qgemm_packed_isa(pb), isa);
    bool u8s7 = strcmp(ot_qgemm_packed_kernel(pb), "avx2-u8s7") == 0;
    if (g_b7 && isa == OT_ISA_AVX2) assert_true(u8s7);
    g_u8s7 += u8s7;
    ot_qgemm_out o1 = problem_out(p, c1), o2 = problem_out(p, c2);
    assert_int_equal(ot_qgemm(pb, p->M, p->a, p->lda, p->za, p->a_signed, &o1, threads), OCTET_OK);
    assert_int_equal(ot_qgemm_ref(&d, p->M, p->a, p->lda, p->za, p->a_signed, &o2), OCTET_OK);
    char what[64];
    snprintf(what, sizeof what, "%s, %d threads", ot_isa_name(isa), threads);
    compare_out(p, c1, c2, what);
    if (memcmp(c1, c2, nb) != 0) fail_msg("%s: bytes outside C's rows were written", what);
    ot_qgemm_packed_free(pb);
    free(c1);
    free(c2);
    g_checked++;
}

static void check_variant(ot_isa isa) {
    g_checked = 0, g_u8s7 = 0;
    /* All combinations of the small sizes, every epilogue in turn. */
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 7; k++) {
                problem p;
                problem_make(&p, kSizes[i], kSizes[j], kSizes[k], (ot_qgemm_out_type)((i + j + k) % 4), 0);
                run_variant_case(isa, &p, 1);
                problem_free(&p);
            }
    /* Random sizes from the whole list, random epilogue, 1/2/3 threads. */
    for (int it = 0; it < 120; it++) {
        problem p;
        int M = kSizes[rnd() % NSIZES], N = kSizes[rnd() % NSIZES], K = kSizes[rnd() % NSIZES];
        if ((int64_t)M * N * K > 4000000) K = kSizes[rnd() % 8];   /* keep the reference quick */
        problem_make(&p, M, N, K, (ot_qgemm_out_type)(rnd() % 4), it % 10 == 0);
        run_variant_case(isa, &p, 1 + it % 3);
        problem_free(&p);
    }
    /* Long K (accumulators near 2^31 / 2^28 with extreme operands), and shapes of real layers. */
    static const int shapes[][3] = {{5, 33, 4099}, {3, 17, 16384}, {196, 24, 144}, {49, 96, 576}, {64, 64, 64},
                                    {100, 130, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mode = 0; mode < 2; mode++) {
            problem p;
            problem_make(&p, shapes[s][0], shapes[s][1], shapes[s][2], (ot_qgemm_out_type)((s + mode) % 4), mode);
            run_variant_case(isa, &p, 1 + (int)(s % 3));
            problem_free(&p);
        }
    /* Every combination of sizes around the register tile and the packing groups (1, 3, 17, 63, 64,
     * 257 in M, N and K), each epilogue in turn: partial tiles, half strips, row tails of packed A. */
    static const int odd[] = {1, 3, 17, 63, 64, 257};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 6; k++) {
                problem p;
                problem_make(&p, odd[i], odd[j], odd[k], (ot_qgemm_out_type)((i + 2 * j + k) % 4), 0);
                run_variant_case(isa, &p, 1 + (i + j + k) % 2);
                problem_free(&p);
            }
    /* The AVX2 kernel's paths: small B (groups of packed rows of A against all strips), large B
     * (strip by strip, also with long K), with full, half (N % 16 <= 8) and partial strips and short
     * row panels; rows of A with K < 16 (16-byte reads from a row's start only where A extends that
     * far); M = 1 and 2 (prefetching loops). Each with all four epilogues. */
    static const int paths[][3] = {{13, 40, 27},  {7, 24, 96},   {12544 / 16, 32, 27}, {65, 96, 16},  {6, 8, 9},
                                   {19, 5, 3},    {40, 1, 15},   {33, 160, 160},       {7, 24, 1100}, {13, 40, 769},
                                   {6, 16, 1024}, {11, 9, 1537}, {64, 48, 770},        {1, 1000, 512},
                                   {2, 40, 700}};
    for (size_t s = 0; s < sizeof paths / sizeof paths[0]; s++)
        for (int t = 0; t < 4; t++) {
            problem p;
            problem_make(&p, paths[s][0], paths[s][1], paths[s][2], (ot_qgemm_out_type)t, t == 3 && s % 3 == 0);
            run_variant_case(isa, &p, 1 + (int)((s + t) % 3));
            problem_free(&p);
        }
    /* 8-bit outputs with multipliers >= 0.99, inf, NaN (each variant's clamp must match requant.h) */
    for (int it = 0; it < 60; it++) {
        problem p;
        problem_make(&p, kSizes[rnd() % 9], kSizes[rnd() % NSIZES], kSizes[rnd() % 9],
                     it % 2 ? OT_QGEMM_OUT_U8 : OT_QGEMM_OUT_S8, 2);
        run_variant_case(isa, &p, 1 + it % 2);
        problem_free(&p);
    }
    print_message("qgemm %s%s: %d cases bit-exact with the reference (%d on the u8 x s7 kernel)\n", ot_isa_name(isa),
                  g_b7 ? " with 7-bit B" : g_asparse ? " with activation-like A" : "", g_checked, g_u8s7);
    if (isa == OT_ISA_AVX2 && !g_b7 && !g_force_kernel) assert_true(g_u8s7 > 50 && g_checked - g_u8s7 > 50);
}

static void variant_or_skip(ot_isa isa) {
    if (!ot_cpu_isa_supported(isa)) {
        print_message("\n*** qgemm %s: NOT TESTED on this machine (the CPU/OS lacks it) ***\n\n", ot_isa_name(isa));
        skip();
    }
    check_variant(isa);
}

static void test_scalar(void **state) { (void)state, variant_or_skip(OT_ISA_SCALAR); }
static void test_avx2(void **state) { (void)state, variant_or_skip(OT_ISA_AVX2); }
static void test_avx512vnni(void **state) { (void)state, variant_or_skip(OT_ISA_AVX512VNNI); }
/* The AVX2 u8 x s7 kernel (vpmaddubsw), which the driver picks when B cannot saturate it. */
static void test_avx2_u8s7(void **state) {
    (void)state;
    g_b7 = true;
    variant_or_skip(OT_ISA_AVX2);
    g_b7 = false;
}

/* The AVX2 split kernel (full-range B) on activation-like A: the windowed u8 x s7 loop plus the sparse
 * residual (with uniform A, test_avx2, most blocks fall back to the int16 kernel). */
static void test_avx2_split(void **state) {
    (void)state;
    g_asparse = true;
    g_force_kernel = "avx2-split";   /* at every size, also those the driver gives the int16 kernel */
    variant_or_skip(OT_ISA_AVX2);
    g_force_kernel = NULL;
    g_asparse = false;
}

/* Every kernel picked by name, also those the driver would not choose for this B (on AVX2 the int16
 * "avx2" otherwise runs only GEMMs with small K or N and the split kernel's fallback), against the
 * reference. */
static void test_named_kernels(void **state) {
    (void)state;
    static const char *names[] = {"scalar", "avx2", "avx2-split", "avx2-u8s7", "avx512vnni"};
    int ran = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (int it = 0; it < 40; it++) {
            problem p;
            g_b7 = strcmp(names[i], "avx2-u8s7") == 0;
            g_asparse = it % 2 == 1;
            problem_make(&p, kSizes[rnd() % NSIZES], kSizes[rnd() % NSIZES], kSizes[rnd() % 10],
                         (ot_qgemm_out_type)(it % 4), 0);
            g_b7 = g_asparse = false;
            ot_qgemm_b d = problem_b(&p);
            ot_qgemm_packed *pb = NULL;
            octet_status st = ot_qgemm_pack_b_kernel(&pb, &d, names[i]);
            if (st == OCTET_ERR_UNSUPPORTED) {   /* the CPU lacks it */
                problem_free(&p);
                break;
            }
            assert_int_equal(st, OCTET_OK);
            assert_string_equal(ot_qgemm_packed_kernel(pb), names[i]);
            size_t nb = out_bytes(&p);
            unsigned char *c1 = calloc(1, nb), *c2 = calloc(1, nb);
            ot_qgemm_out o1 = problem_out(&p, c1), o2 = problem_out(&p, c2);
            assert_int_equal(ot_qgemm(pb, p.M, p.a, p.lda, p.za, p.a_signed, &o1, 1 + it % 2), OCTET_OK);
            assert_int_equal(ot_qgemm_ref(&d, p.M, p.a, p.lda, p.za, p.a_signed, &o2), OCTET_OK);
            compare_out(&p, c1, c2, names[i]);
            ot_qgemm_packed_free(pb);
            free(c1);
            free(c2);
            problem_free(&p);
            ran++;
        }
    print_message("qgemm kernels by name: %d cases bit-exact with the reference\n", ran);
    /* B that does not fit u8 x s7 cannot be forced onto it; unknown names are refused */
    int8_t b[2] = {127, 127};
    ot_qgemm_b d = {.K = 2, .N = 1, .b = b, .ldb = 1, .b_signed = true};
    ot_qgemm_packed *pb = NULL;
    if (ot_cpu_isa_supported(OT_ISA_AVX2)) assert_int_equal(ot_qgemm_pack_b_kernel(&pb, &d, "avx2-u8s7"), OCTET_ERR_INVALID_ARG);
    assert_int_equal(ot_qgemm_pack_b_kernel(&pb, &d, "avx3"), OCTET_ERR_INVALID_ARG);
    assert_null(pb);
}

/* Which B fits u8 x s7: pairs of k on both sides of the edge, a lone last k, and uint8 B. */
static void test_fits_u8s7(void **state) {
    (void)state;
    int8_t b[4];
    ot_qgemm_b d = {.K = 2, .N = 1, .b = b, .ldb = 1, .b_signed = true};
    static const int ok[][2] = {{127, 1}, {-128, 0}, {127, -128}, {64, 64}, {-64, -64}, {0, 0}};
    static const int bad[][2] = {{127, 2}, {-128, -1}, {65, 64}, {-65, -64}, {100, 29}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        b[0] = (int8_t)ok[i][0], b[1] = (int8_t)ok[i][1];
        assert_true(ot_qgemm_b_fits_u8s7(&d));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b[0] = (int8_t)bad[i][0], b[1] = (int8_t)bad[i][1];
        assert_false(ot_qgemm_b_fits_u8s7(&d));
        b[0] = (int8_t)bad[i][1], b[1] = (int8_t)bad[i][0];
        assert_false(ot_qgemm_b_fits_u8s7(&d));
    }
    /* K = 3: the last k pairs with a zero; the pairs are (0, 1) and (2, -) */
    d.K = 3;
    b[0] = 64, b[1] = 64, b[2] = 127;
    assert_true(ot_qgemm_b_fits_u8s7(&d));
    b[0] = 1, b[1] = 0, b[2] = 127;   /* (k 1, k 2) would be 127: not a pair */
    assert_true(ot_qgemm_b_fits_u8s7(&d));
    /* uint8 B is shifted by 128 first */
    uint8_t u[2] = {192, 192};
    ot_qgemm_b du = {.K = 2, .N = 1, .b = u, .ldb = 1, .b_signed = false};
    assert_true(ot_qgemm_b_fits_u8s7(&du));
    u[0] = 0;   /* -128 and +64 */
    assert_true(ot_qgemm_b_fits_u8s7(&du));
    u[1] = 127;  /* -128 and -1 */
    assert_false(ot_qgemm_b_fits_u8s7(&du));
}

/* Thread counts give identical bytes on a bigger problem (several blocks per thread). */
static void test_threads_identical(void **state) {
    (void)state;
    problem p;
    problem_make(&p, 300, 200, 96, OT_QGEMM_OUT_F32, 0);
    ot_qgemm_b d = problem_b(&p);
    ot_qgemm_packed *pb;
    assert_int_equal(ot_qgemm_pack_b_isa(&pb, &d, ot_cpu_isa_best()), OCTET_OK);
    size_t nb = out_bytes(&p);
    unsigned char *c0 = calloc(1, nb), *c1 = calloc(1, nb);
    ot_qgemm_out o0 = problem_out(&p, c0);
    assert_int_equal(ot_qgemm(pb, p.M, p.a, p.lda, p.za, p.a_signed, &o0, 1), OCTET_OK);
    for (int t = 2; t <= 5; t++) {
        memset(c1, 0, nb);
        ot_qgemm_out o1 = problem_out(&p, c1);
        assert_int_equal(ot_qgemm(pb, p.M, p.a, p.lda, p.za, p.a_signed, &o1, t), OCTET_OK);
        assert_memory_equal(c0, c1, nb);
    }
    ot_qgemm_packed_free(pb);
    free(c0);
    free(c1);
    problem_free(&p);
}

static void test_bad_args(void **state) {
    (void)state;
    int8_t b[6] = {0};
    uint8_t a[6] = {0};
    int32_t c[9];
    int32_t zb_bad = 200, zb2[2] = {0, 0};
    ot_qgemm_packed *pb = (ot_qgemm_packed *)1;
    ot_qgemm_b d = {.K = 3, .N = 2, .b = b, .ldb = 1, .b_signed = true};
    assert_int_equal(ot_qgemm_pack_b(&pb, &d), OCTET_ERR_INVALID_ARG);   /* ldb < N */
    assert_null(pb);
    d = (ot_qgemm_b){.K = 3, .N = 2, .b = b, .ldb = 2, .b_signed = true, .zb = &zb_bad, .zb_count = 1};
    assert_int_equal(ot_qgemm_pack_b(&pb, &d), OCTET_ERR_INVALID_ARG);   /* zb out of int8 range */
    d = (ot_qgemm_b){.K = 3, .N = 2, .b = b, .ldb = 2, .b_signed = true, .zb = zb2, .zb_count = 3};
    assert_int_equal(ot_qgemm_pack_b(&pb, &d), OCTET_ERR_INVALID_ARG);   /* zb count */
    d = (ot_qgemm_b){.K = 3, .N = 2, .b = b, .ldb = 2, .b_signed = true};
    assert_int_equal(ot_qgemm_pack_b(&pb, &d), OCTET_OK);
    ot_qgemm_out o = {.type = OT_QGEMM_OUT_S32, .c = c, .ldc = 1};
    assert_int_equal(ot_qgemm(pb, 2, a, 3, 0, false, &o, 1), OCTET_ERR_INVALID_ARG);   /* ldc < N */
    o.ldc = 2;
    assert_int_equal(ot_qgemm(pb, 2, a, 2, 0, false, &o, 1), OCTET_ERR_INVALID_ARG);   /* lda < K */
    assert_int_equal(ot_qgemm(pb, 2, a, 3, 300, false, &o, 1), OCTET_ERR_INVALID_ARG); /* za */
    ot_qgemm_out oq = {.type = OT_QGEMM_OUT_U8, .c = c, .ldc = 2, .scale = NULL};
    assert_int_equal(ot_qgemm(pb, 2, a, 3, 0, false, &oq, 1), OCTET_ERR_INVALID_ARG);  /* no scale */
    float s = 1.0f;
    oq = (ot_qgemm_out){.type = OT_QGEMM_OUT_S8, .c = c, .ldc = 2, .scale = &s, .zp = 0, .lo = 0, .hi = 200};
    assert_int_equal(ot_qgemm(pb, 2, a, 3, 0, false, &oq, 1), OCTET_ERR_INVALID_ARG);  /* hi > 127 */
    assert_int_equal(ot_qgemm(pb, 0, NULL, 3, 0, false, &o, 1), OCTET_OK);             /* M = 0 */
    ot_qgemm_packed_free(pb);
    /* K = 0: C = bias. */
    int32_t bias[2] = {7, -7};
    d = (ot_qgemm_b){.K = 0, .N = 2, .b = b, .ldb = 2, .b_signed = true, .bias = bias};
    assert_int_equal(ot_qgemm_pack_b(&pb, &d), OCTET_OK);
    assert_int_equal(ot_qgemm(pb, 1, a, 1, 0, false, &o, 1), OCTET_OK);
    assert_int_equal(c[0], 7);
    assert_int_equal(c[1], -7);
    ot_qgemm_packed_free(pb);
}

int main(void) {
    /* OCTET_ISA is read once at the first dispatch: force the scalar variant and check it took. */
    setenv("OCTET_ISA", "scalar", 1);
    if (ot_kernels_get()->isa != OT_ISA_SCALAR) {
        fprintf(stderr, "OCTET_ISA=scalar was not honoured\n");
        return 1;
    }
    const ot_cpu_features *f = ot_cpu_features_get();
    printf("cpu: avx2=%d fma=%d avx512f=%d bw=%d vl=%d vnni=%d avxvnni=%d os_ymm=%d os_zmm=%d; best variant %s\n",
           f->avx2, f->fma, f->avx512f, f->avx512bw, f->avx512vl, f->avx512vnni, f->avxvnni, f->os_ymm, f->os_zmm,
           ot_isa_name(ot_cpu_isa_best()));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_hand),
        cmocka_unit_test(test_ref_vs_oracle),
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_avx512vnni),
        cmocka_unit_test(test_avx2_u8s7),
        cmocka_unit_test(test_avx2_split),
        cmocka_unit_test(test_named_kernels),
        cmocka_unit_test(test_fits_u8s7),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
