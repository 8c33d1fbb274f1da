#include "kernels/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dwconv_s8.h"
#include "kernels/qgemm_internal.h"
#include "kernels/quant_vec.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OT_X86 1
#endif

static ot_cpu_features g_feat;
static ot_isa g_best = OT_ISA_SCALAR;
static ot_isa g_chosen = OT_ISA_SCALAR;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#ifdef OT_X86
/* xgetbv without needing -mxsave on this file. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void probe(ot_cpu_features *f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    f->fma = (c >> 12) & 1;
    f->f16c = (c >> 29) & 1;
    if (osxsave && avx) {
        uint64_t xcr0 = read_xcr0();
        f->os_ymm = (xcr0 & 0x6) == 0x6;            /* SSE + AVX state */
        f->os_zmm = f->os_ymm && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    }
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = f->os_ymm && ((b >> 5) & 1);
    f->avx512f = f->os_zmm && ((b >> 16) & 1);
    f->avx512dq = f->os_zmm && ((b >> 17) & 1);
    f->avx512bw = f->os_zmm && ((b >> 30) & 1);
    f->avx512vl = f->os_zmm && ((b >> 31) & 1);
    f->avx512vnni = f->os_zmm && ((c >> 11) & 1);
    __cpuid_count(7, 1, a, b, c, d);
    f->avxvnni = f->os_ymm && ((a >> 4) & 1);
    if (!f->os_ymm) f->fma = f->f16c = false;
}
#else
static void probe(ot_cpu_features *f) { (void)f; }
#endif

static ot_isa parse_isa(const char *s, bool *ok) {
    *ok = true;
    if (!strcmp(s, "scalar") || !strcmp(s, "ref")) return OT_ISA_SCALAR;
    if (!strcmp(s, "avx2")) return OT_ISA_AVX2;
    if (!strcmp(s, "avx512vnni") || !strcmp(s, "avx512")) return OT_ISA_AVX512VNNI;
    *ok = false;
    return OT_ISA_SCALAR;
}

static void init_once(void) {
    probe(&g_feat);
    const ot_cpu_features *f = &g_feat;
    g_best = OT_ISA_SCALAR;
    if (f->avx2 && f->fma) g_best = OT_ISA_AVX2;
    if (g_best == OT_ISA_AVX2 && f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx512vnni)
        g_best = OT_ISA_AVX512VNNI;
#ifdef OT_AVX512_EMULATE
    /* Test builds whose *_avx512*.c use scalar stand-ins for the intrinsics (logic checks only). */
    if (g_best == OT_ISA_AVX2) g_best = OT_ISA_AVX512VNNI;
#endif
    g_chosen = g_best;
    const char *env = getenv("OCTET_ISA");
    if (env && *env) {
        bool ok;
        ot_isa want = parse_isa(env, &ok);
        if (ok && want < g_best) g_chosen = want;
    }
}

const ot_cpu_features *ot_cpu_features_get(void) {
    pthread_once(&g_once, init_once);
    return &g_feat;
}

ot_isa ot_cpu_isa_best(void) {
    pthread_once(&g_once, init_once);
    return g_best;
}

bool ot_cpu_isa_supported(ot_isa isa) { return isa >= 0 && isa <= ot_cpu_isa_best(); }

const char *ot_isa_name(ot_isa isa) {
    switch (isa) {
    case OT_ISA_SCALAR: return "scalar";
    case OT_ISA_AVX2: return "avx2";
    case OT_ISA_AVX512VNNI: return "avx512vnni";
    default: return "?";
    }
}

static const ot_kernels g_tables[OT_ISA_COUNT] = {
    {OT_ISA_SCALAR, "scalar", &ot_qgemm_isa_scalar, &ot_quant_vec_ref, &ot_dwconv_ref},
    {OT_ISA_AVX2, "avx2", &ot_qgemm_isa_avx2, &ot_quant_vec_avx2, &ot_dwconv_avx2},
    /* No AVX-512 depthwise kernel yet: the AVX2 one runs there. */
    {OT_ISA_AVX512VNNI, "avx512vnni", &ot_qgemm_isa_avx512vnni, &ot_quant_vec_avx512, &ot_dwconv_avx2},
};

const ot_kernels *ot_kernels_get(void) {
    pthread_once(&g_once, init_once);
    return &g_tables[g_chosen];
}

const ot_kernels *ot_kernels_for(ot_isa isa) {
    if (!ot_cpu_isa_supported(isa)) return NULL;
    return &g_tables[isa];
}
