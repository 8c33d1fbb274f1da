/* Depthwise int8 convolution (one filter per channel, group = C, channel multiplier 1), NHWC.
 *
 *   x  [N][H][W][C]  uint8 or int8, zero point zx (padding behaves as x = zx, i.e. contributes 0)
 *   w  per channel, int8 or uint8, laid out [kh][kw][C] (or [C][kh][kw] = ONNX's [C][1][kh][kw])
 *      with zero point zw per tensor or per channel (usually 0)
 *   y  [N][OH][OW][C]  uint8 or int8:
 *      acc = bias[c] + sum over taps inside the image of (x - zx) * (w - zw[c])        (exact int32)
 *      y   = clamp(round_half_even((float)acc * scale[c]) + zy, lo, hi)   (requant.h; scale = s_x*s_w/s_y)
 * Any kernel size, stride, dilation and padding; 3x3 and 5x5 get unrolled inner loops. The AVX2 kernel
 * is bit-exact with ot_dwconv_s8_ref for every input. Pack once (weights, bias, scales, zero points
 * are constants of a QLinearConv), then run per inference. */
#ifndef OT_DWCONV_S8_H
#define OT_DWCONV_S8_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "octet.h"

typedef struct ot_dwconv_params {
    int C, kh, kw;
    const void *w;
    bool w_signed;
    bool w_ckk;               /* weights stored [C][kh][kw] instead of [kh][kw][C] */
    const int32_t *zw;        /* NULL (= 0) or zw_count values */
    int zw_count;             /* 1 or C */
    const int32_t *bias;      /* NULL or [C] */
    int32_t zx;
    bool x_signed;
    const float *scale;       /* scale_count multipliers: 1 or C */
    int scale_count;
    int32_t zy, lo, hi;       /* output zero point and clamp bounds (fused ReLU etc.) */
    bool y_signed;
} ot_dwconv_params;

typedef struct ot_dwconv_geom {
    int N, H, W;              /* input batch and size */
    int OH, OW;               /* output size */
    int stride_h, stride_w;
    int pad_top, pad_left;    /* bottom/right padding is implied by OH, OW */
    int dil_h, dil_w;
} ot_dwconv_geom;

typedef struct ot_dwconv_packed ot_dwconv_packed;

octet_status ot_dwconv_s8_pack(ot_dwconv_packed **out, const ot_dwconv_params *p);
octet_status ot_dwconv_s8_pack_isa(ot_dwconv_packed **out, const ot_dwconv_params *p, ot_isa isa);
void ot_dwconv_s8_free(ot_dwconv_packed *p);
/* y = dwconv(x); threads split output rows (results do not depend on it). */
octet_status ot_dwconv_s8_run(const ot_dwconv_packed *p, const ot_dwconv_geom *g, const void *x, void *y,
                              int threads);
/* Scalar reference: plain loops over the unpacked parameters. */
octet_status ot_dwconv_s8_ref(const ot_dwconv_params *p, const ot_dwconv_geom *g, const void *x, void *y);

/* One variant (cpu.h's table). The driver gives, per output pixel, T = kh*kw input pointers (to the
 * pixel's channel 0, or to a row of C bytes equal to zx for taps in the padding). */
typedef struct ot_dwconv_isa {
    size_t (*w_size)(int C, int T);
    /* wz = w - zw as int16 [T][C]; corr[c] = bias[c] - zx_u * sum_t wz[t][c]; scale [C]. */
    void (*pack)(void *dst, const int16_t *wz, const int32_t *corr, const float *scale, int C, int T);
    /* Compute npix output pixels (C channels each, contiguous at y) from ptrs[npix][T]. */
    void (*pixels)(const ot_dwconv_packed *p, const uint8_t *const *ptrs, int npix, uint8_t *y);
} ot_dwconv_isa;

struct ot_dwconv_packed {
    const ot_dwconv_isa *isa;
    ot_isa isa_id;
    int C, kh, kw, T;
    uint8_t x_xor;            /* 0x80 for int8 x */
    int32_t zy;
    float lo_f, hi_f;         /* lo - zy, hi - zy */
    bool y_signed;
    bool int_clamp;           /* every scale finite with |scale| < 0.99: |acc * scale| < 2^31, so a variant
                               * may clamp after rounding, on integers (the same results: requant.h) */
    uint8_t *zrow;            /* C + 64 bytes of zx (raw) for padding taps */
    void *w;
};

extern const ot_dwconv_isa ot_dwconv_ref;
extern const ot_dwconv_isa ot_dwconv_avx2;

#endif
