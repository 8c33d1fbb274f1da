/* ai.octet QLinearLookup (session-internal; the QDQ fusion pass makes it, files never hold it):
 *
 *   inputs   X (uint8/int8), X_scale, X_zero_point?, Y_scale, Y_zero_point? (per-tensor scalars),
 *            then the float op's own extra inputs (Clip's min, max), constants
 *   attrs    op_type (an ONNX op, ot_qlookup_op_supported), opset (its ai.onnx opset), and that op's
 *            own attributes
 *   output   Y [X's shape] of Y_zero_point's type (uint8 when omitted)
 *
 * Y = QuantizeLinear(op(DequantizeLinear(X))) element by element, as one byte table. The table is made
 * by running the very code the unfused island runs: octet's DequantizeLinear loop on the 256 codes,
 * the float op's own run() (unary.c, so the same scalar or AVX2 loop and attribute handling), and
 * octet's QuantizeLinear loop. Every element of those loops depends only on its own input, so the
 * table gives the unfused result bit for bit. Layout-free: it also runs inside channels-last chains. */
#include "ops/octet_lookup.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/quant_vec.h"
#include "util/mem.h"

static const char *const lookup_ops[] = {
    "HardSwish", "HardSigmoid", "Tanh",   "Erf",  "Gelu",  "Elu",   "Selu",   "Celu",  "Softplus",
    "Softsign",  "Mish",        "Exp",    "Log",  "Sqrt",  "Reciprocal",      "Sin",   "Cos",
    "Tan",       "Asin",        "Acos",   "Atan", "Sinh",  "Cosh",  "Asinh",  "Acosh", "Atanh",
    "Floor",     "Ceil",        "Round",  "Neg",  "Abs",   "Sign",  "Shrink", "ThresholdedRelu",
    "Relu",      "Clip",        "Sigmoid", "LeakyRelu", NULL};

bool ot_qlookup_op_supported(const char *op_type) {
    for (int i = 0; lookup_ops[i]; i++)
        if (strcmp(lookup_ops[i], op_type) == 0) return true;
    return false;
}

/* ---- the byte table ---- */

void ot_lut8_ref(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
}

/* Each thread takes at least this many bytes (a memory-bound loop). */
#define LUT_PAR_MIN ((int64_t)1 << 18)

void ot_lut8(const uint8_t table[256], const uint8_t *x, uint8_t *y, int64_t n, int threads) {
    if (n <= 0) return;
    void (*fn)(const uint8_t *, const uint8_t *, uint8_t *, size_t) =
        ot_kernels_get()->isa >= OT_ISA_AVX2 ? ot_lut8_avx2 : ot_lut8_ref;
    int64_t T = threads > 1 ? n / LUT_PAR_MIN : 1;
    if (T > threads) T = threads;
    if (T <= 1) {
        fn(table, x, y, (size_t)n);
        return;
    }
#pragma omp parallel for num_threads((int)T) schedule(static)
    for (int64_t t = 0; t < T; t++) {
        int64_t lo = n * t / T, hi = n * (t + 1) / T;
        fn(table, x + lo, y + lo, (size_t)(hi - lo));
    }
}

/* ---- building the table ---- */

typedef struct lookup_state {
    bool have[2];               /* [0] X uint8, [1] X int8 */
    octet_dtype ydt[2];
    uint8_t table[2][256];
} lookup_state;

void ot_qlookup_release(void *state) { free(state); }

static bool given(const ot_kernel *k, int i) {
    return i < k->node->n_inputs && k->node->inputs[i] && k->node->inputs[i][0];
}

static octet_status scale_of(const ot_kernel *k, const octet_tensor *t, int i, float *s) {
    if (!t) return ot_node_err(k, OCTET_ERR_PARSE, "input %d (scale) is missing", i);
    if (t->dtype != OCTET_FLOAT || ot_tensor_numel(t) != 1 || t->ndim > 1)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d must be a float scalar (per-tensor scale), got %s", i,
                           octet_dtype_name(t->dtype));
    *s = *(const float *)t->data;
    return OCTET_OK;
}

static octet_status zp_of(const ot_kernel *k, const octet_tensor *t, int i, int32_t *z) {
    *z = 0;
    if (!t) return OCTET_OK;
    if ((t->dtype != OCTET_UINT8 && t->dtype != OCTET_INT8) || ot_tensor_numel(t) != 1 || t->ndim > 1)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d must be a uint8 or int8 scalar (zero point), got %s", i,
                           octet_dtype_name(t->dtype));
    *z = (int32_t)ot_tensor_get_i64(t, 0);
    return OCTET_OK;
}

/* v[0..255] <- op(v) through the float op's own run(), with this node's attributes and extra inputs. */
static octet_status apply_float_op(const ot_kernel *k, const octet_tensor *const *in, int n_in, float *v) {
    const char *op = ot_node_attr_string(k->node, "op_type", "");
    const ot_op_def *d = ot_qlookup_op_supported(op) ? ot_op_find("", op) : NULL;
    if (!d || d->prepare) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "op_type '%s' cannot run as a lookup", op);
    int64_t opset = ot_node_attr_int(k->node, "opset", 0);
    if (opset < 1) return ot_node_err(k, OCTET_ERR_PARSE, "needs the ai.onnx 'opset' of its op");
    ot_kernel fk = *k;   /* the float op sees this node: its attributes, the op's opset, one thread */
    fk.def = d;
    fk.opset = opset;
    fk.threads = 1;
    fk.state = NULL;
    int64_t n = 256;
    octet_tensor *x = ot_tensor_new(OCTET_FLOAT, 1, &n), *y = ot_tensor_new(OCTET_FLOAT, 1, &n);
    octet_status s = x && y ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (s == OCTET_OK) {
        const octet_tensor *fin[8] = {x};
        int nf = 1;
        for (int i = 5; i < n_in && nf < 8; i++) fin[nf++] = in[i];
        memcpy(x->data, v, sizeof(float) * 256);
        s = d->run(&fk, fin, nf, &y, 1);
        if (s == OCTET_OK && (y->dtype != OCTET_FLOAT || ot_tensor_numel(y) != 256))
            s = ot_node_err(k, OCTET_ERR_UNSUPPORTED, "op_type '%s' did not give one float per element", op);
        if (s == OCTET_OK) memcpy(v, y->data, sizeof(float) * 256);
    }
    octet_tensor_free(x);
    octet_tensor_free(y);
    return s;
}

/* The table for X of the given signedness, from inputs t[] (constants at prepare, values at run). */
static octet_status build_table(const ot_kernel *k, const octet_tensor *const *t, int n_in, bool sgn,
                                uint8_t table[256], octet_dtype *ydt) {
    float xs = 0.0f, ys = 0.0f;
    int32_t xz = 0, yz = 0;
    const octet_tensor *xzt = n_in > 2 ? t[2] : NULL, *yzt = n_in > 4 ? t[4] : NULL;
    OT_TRY(scale_of(k, t[1], 1, &xs));
    OT_TRY(zp_of(k, xzt, 2, &xz));
    if (xzt && xzt->dtype != (sgn ? OCTET_INT8 : OCTET_UINT8))
        return ot_node_err(k, OCTET_ERR_SHAPE, "X_zero_point is %s but X is %s", octet_dtype_name(xzt->dtype),
                           sgn ? "int8" : "uint8");
    OT_TRY(scale_of(k, n_in > 3 ? t[3] : NULL, 3, &ys));
    OT_TRY(zp_of(k, yzt, 4, &yz));
    *ydt = yzt ? yzt->dtype : OCTET_UINT8;
    uint8_t codes[256];
    float v[256];
    for (int i = 0; i < 256; i++) codes[i] = (uint8_t)i;   /* table index = the byte as stored */
    ot_qvec_dequantize(codes, sgn, 256, xs, xz, v);
    OT_TRY(apply_float_op(k, t, n_in, v));
    ot_qvec_quantize(v, 256, ys, yz, *ydt == OCTET_INT8, table);
    return OCTET_OK;
}

octet_status ot_qlookup_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    if (n_in < 4 || !consts[1] || !consts[3]) return OCTET_OK;
    for (int i = 2; i < n_in; i++)
        if (i != 3 && given(k, i) && !consts[i]) return OCTET_OK;   /* not all constant: tables at run time */
    lookup_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    const octet_tensor *xz = n_in > 2 ? consts[2] : NULL;
    for (int sgn = 0; sgn < 2; sgn++) {
        if (xz && xz->dtype != (sgn ? OCTET_INT8 : OCTET_UINT8)) continue;   /* X's type is the zero point's */
        octet_status s = build_table(k, consts, n_in, sgn, st->table[sgn], &st->ydt[sgn]);
        if (s != OCTET_OK) {
            free(st);
            return s;
        }
        st->have[sgn] = true;
    }
    k->state = st;
    return OCTET_OK;
}

octet_status ot_qlookup_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 7));
    const octet_tensor *x = in[0];
    if (x->dtype != OCTET_UINT8 && x->dtype != OCTET_INT8)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input X must be uint8 or int8, got %s", octet_dtype_name(x->dtype));
    bool sgn = x->dtype == OCTET_INT8;
    const lookup_state *st = k->state;
    uint8_t local[256];
    const uint8_t *table = local;
    octet_dtype ydt;
    if (st && st->have[sgn]) {
        table = st->table[sgn];
        ydt = st->ydt[sgn];
    } else {
        OT_TRY(build_table(k, in, n_in, sgn, local, &ydt));
    }
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], ydt, x->ndim, x->dims));
    ot_lut8(table, x->data, out[0]->data, ot_tensor_numel(x), k->threads);
    return OCTET_OK;
}
