/* CPU feature probe and the table of int8 kernel variants chosen from it.
 *
 * Every ISA variant is built into the one binary (files ending _avx2.c / _avx512vnni.c get their own
 * compiler flags); ot_kernels() picks the best one the CPU and the OS support, once, thread-safely.
 * OCTET_ISA=scalar|avx2|avx512vnni (read at that first call) forces a lower variant, e.g. to test it;
 * asking for more than the machine supports falls back to the best supported one. */
#ifndef OT_CPU_H
#define OT_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ot_cpu_features {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512dq, avx512vl, avx512vnni;
    bool avxvnni;              /* VEX-encoded vpdpbusd on ymm (Alder Lake, Zen 5) */
    bool os_ymm, os_zmm;       /* XCR0: the OS saves YMM / ZMM+opmask state */
} ot_cpu_features;

typedef enum ot_isa {
    OT_ISA_SCALAR = 0,
    OT_ISA_AVX2 = 1,           /* AVX2 + FMA */
    OT_ISA_AVX512VNNI = 2,     /* AVX-512 F/BW/DQ/VL + VNNI */
    OT_ISA_COUNT
} ot_isa;

/* Kernel families fill their part of the table (see qgemm_internal.h, quant_vec.h, dwconv_s8.h). */
struct ot_qgemm_isa;
struct ot_quant_vec_isa;
struct ot_dwconv_isa;

typedef struct ot_kernels {
    ot_isa isa;
    const char *name;
    const struct ot_qgemm_isa *qgemm;
    const struct ot_quant_vec_isa *qvec;
    const struct ot_dwconv_isa *dwconv;
} ot_kernels;

const ot_cpu_features *ot_cpu_features_get(void);  /* probed once */
ot_isa ot_cpu_isa_best(void);                      /* best variant the CPU + OS can run */
bool ot_cpu_isa_supported(ot_isa isa);
const char *ot_isa_name(ot_isa isa);               /* "scalar", "avx2", "avx512vnni" */

/* The table in use (best supported, or what OCTET_ISA asked for). Never NULL. */
const ot_kernels *ot_kernels_get(void);
/* The table of one variant, or NULL when this CPU cannot run it (tests iterate over these). */
const ot_kernels *ot_kernels_for(ot_isa isa);

#endif
