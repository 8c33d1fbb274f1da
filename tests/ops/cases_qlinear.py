"""Per-op cases for src/ops/qlinear.c: MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.

Every case expects EXACT equality (integer outputs; the runner compares ints exactly): the int32
accumulation is exact and the requantization is the float32 formula ONNX Runtime uses,
    y = clamp(round_half_even(float(acc) * ((s_x * s_w) / s_y)) + y_zp)      (src/kernels/requant.h)
so no tolerance is needed, and none is used.

Two ONNX Runtime behaviours shape the cases:

* Saturation. On x86 CPUs with AVX2 but no AVX-512 VNNI / AVX-VNNI (like the machine these tests
  were written on), MLAS multiplies uint8 x int8 with vpmaddubsw, which adds pairs of products in
  saturating int16: |a0*b0 + a1*b1| > 32767 gets clamped and ORT's result is then not the exact
  product. That happens when MLAS's "A" operand is uint8 and its "B" operand is int8, i.e.
    MatMulInteger / QLinearMatMul: A uint8, B int8;
    QLinearConv:                   x uint8, w int8;   (ORT's GEMM is im2col(x) x w)
    ConvInteger:                   x int8,  w uint8.  (ORT's GEMM is w x im2col(x))
  For these combinations the ORT-checked cases keep the int8 side in [-64, 63] (or the uint8 side in
  [0, 127]), the "reduce_range" that ORT's own quantizer uses for the same reason, so that ORT is
  exact. Octet never saturates; full-range cases of those combinations carry a numpy reference
  (exact int64 accumulation + the formula above) in "outputs" instead of ORT's result.
* Coverage. ORT refuses some legal inputs: QLinearConv / QLinearMatMul type combinations other than
  u8,u8->u8 / u8,s8->u8 / s8,s8->s8; SAME_* auto_pad with dilation; a [N] B-side zero point or scale
  with a batched (rank > 2) B; ConvInteger per-channel weight zero points. Those cases also carry
  numpy references (checked to agree with ORT on every case ORT does run).
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

SEED = 1234
IR = 8
U8, S8 = np.uint8, np.int8
# (a or x, b or w, y) type combinations ONNX Runtime has QLinearConv / QLinearMatMul kernels for
ORT_Q_TYPES = [(np.dtype(U8), np.dtype(U8), np.dtype(U8)), (np.dtype(U8), np.dtype(S8), np.dtype(U8)),
               (np.dtype(S8), np.dtype(S8), np.dtype(S8))]


def elem_type(dtype):
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]


def make_model(op, opset, inputs, out_dtype, attrs=None, const=()):
    """inputs: list of (name, array or None); names in const become initializers; None = omitted."""
    names = [n if a is not None else "" for n, a in inputs]
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node(op, names, ["y"], **(attrs or {}))
    g_in, inits, feeds = [], [], {}
    for n, a in inputs:
        if a is None:
            continue
        if n in const:
            inits.append(numpy_helper.from_array(np.asarray(a), n))
        else:
            g_in.append(helper.make_tensor_value_info(n, elem_type(a.dtype), a.shape))
            feeds[n] = a
    g_out = [helper.make_tensor_value_info("y", elem_type(out_dtype), None)]
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out, initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="octet-tests")
    m.ir_version = IR
    return m, feeds


def case(name, mf, ref=None, **extra):
    m, feeds = mf
    c = {"name": name, "model": m, "inputs": feeds, "rtol": 0.0, "atol": 0.0}
    if ref is not None:
        c["outputs"] = {"y": ref}
    c.update(extra)
    return c


def rand_q(rng, dtype, shape, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = info.min if lo is None else lo
    hi = info.max if hi is None else hi
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def saturates(a_dtype, b_dtype):
    """ORT (AVX2, no VNNI) saturates when its GEMM's A is uint8 and B is int8."""
    return np.dtype(a_dtype) == np.uint8 and np.dtype(b_dtype) == np.int8


def requant(acc, mult, zp, dtype):
    """The exact float32 requantization (requant.h); mult broadcasts against acc."""
    info = np.iinfo(dtype)
    v = acc.astype(np.float32) * np.asarray(mult, np.float32)
    v = np.minimum(np.maximum(v, np.float32(info.min - int(zp))), np.float32(info.max - int(zp)))
    return (np.rint(v).astype(np.int64) + int(zp)).astype(dtype)


def out_mult(sx, sw, sy):
    return (np.float32(sx) * np.asarray(sw, np.float32)) / np.float32(sy)


def pick_output(rng, acc, sx, sw, yt):
    """y_scale and y_zero_point that spread the results over most of the output range (a few clip)."""
    acc = acc.astype(np.float64)
    span = float(np.percentile(acc, 99) - np.percentile(acc, 1)) + 1 if acc.size else 1.0
    sy = np.float32(max(1e-7, span * float(sx) * float(np.mean(sw)) / 220))
    mid = float(np.mean(acc)) * float(sx) * float(np.mean(sw)) / float(sy) if acc.size else 0.0
    info = np.iinfo(yt)
    center = (int(info.min) + int(info.max)) // 2 + int(rng.integers(-10, 11))
    zy = int(np.clip(round(center - mid), info.min, info.max))
    return sy, np.array(zy, yt)


# ---- numpy references ----

def ref_matmul(a, b, za, zb):
    """int64 numpy matmul of (a - za) and (b - zb); zb broadcasts like the B-side parameter."""
    a64 = a.astype(np.int64) - np.asarray(za, np.int64).reshape(-1)[0]
    b64 = b.astype(np.int64) - np.asarray(zb, np.int64)
    return np.matmul(a64, b64)


def conv_geometry(in_sp, k, strides, dil, pads, auto_pad):
    nsp = len(in_sp)
    pb, pe, out = [], [], []
    for i in range(nsp):
        dk = (k[i] - 1) * dil[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = (in_sp[i] + strides[i] - 1) // strides[i]
            tot = max(0, (o - 1) * strides[i] + dk - in_sp[i])
            b = tot // 2 if auto_pad == "SAME_UPPER" else tot - tot // 2
            pb.append(b)
            pe.append(tot - b)
        elif auto_pad == "VALID":
            pb.append(0)
            pe.append(0)
        else:
            pb.append(pads[i])
            pe.append(pads[nsp + i])
        out.append((in_sp[i] + pb[i] + pe[i] - dk) // strides[i] + 1)
    return pb, pe, out


def ref_conv(x, w, zx, zw, group, strides, dil, pads, auto_pad):
    """Direct int64 convolution of (x - zx) and (w - zw[m]); zero padding (= x_zero_point)."""
    N, C = x.shape[:2]
    M = w.shape[0]
    nsp = x.ndim - 2
    k = list(w.shape[2:])
    pb, pe, out = conv_geometry(list(x.shape[2:]), k, strides, dil, pads, auto_pad)
    xs = x.astype(np.int64) - int(np.asarray(zx).reshape(-1)[0])
    xs = np.pad(xs, [(0, 0), (0, 0)] + [(pb[i], pe[i]) for i in range(nsp)])
    ws = w.astype(np.int64) - np.asarray(zw, np.int64).reshape((-1,) + (1,) * (nsp + 1))
    Cg, Mg = C // group, M // group
    y = np.zeros([N, M] + out, np.int64)
    for tap in np.ndindex(*k):
        sl = tuple(slice(tap[i] * dil[i], tap[i] * dil[i] + (out[i] - 1) * strides[i] + 1, strides[i])
                   for i in range(nsp))
        patch = xs[(slice(None), slice(None)) + sl]          # [N, C, out...]
        for g in range(group):
            wg = ws[g * Mg:(g + 1) * Mg, :, ][(slice(None), slice(None)) + tap]   # [Mg, Cg]
            pg = patch[:, g * Cg:(g + 1) * Cg]
            y[:, g * Mg:(g + 1) * Mg] += np.einsum("mc,nc...->nm...", wg, pg)
    return y


# ---- MatMulInteger ----

def matmul_integer_cases(rng):
    out = []
    shapes = [((7, 33), (33, 9)), ((1, 1), (1, 1)), ((3, 5, 17), (17, 11)), ((2, 3, 4, 19), (3, 19, 5)),
              ((2, 1, 6, 13), (3, 13, 7)), ((29,), (29, 6)), ((5, 31), (31,)), ((4, 64), (64, 33)),
              ((3, 8, 65), (3, 65, 17)), ((37, 129), (129, 40))]
    i = 0
    for at in (U8, S8):
        for bt in (U8, S8):
            for sa, sb in shapes:
                i += 1
                sat = saturates(at, bt)
                a = rand_q(rng, at, sa)
                b = rand_q(rng, bt, sb, *((-64, 63) if sat else (None, None)))
                mode = i % 4    # 0: no zero points, 1: scalar, 2: per-column b zp, 3: 1-D [1] zero points
                N = sb[-1] if len(sb) > 1 else 1
                za = zb = None
                if mode == 1:
                    za, zb = rand_q(rng, at, ()), rand_q(rng, bt, ())
                elif mode == 2 and len(sb) >= 2:
                    za, zb = rand_q(rng, at, ()), rand_q(rng, bt, (N,))
                elif mode == 3:
                    za, zb = rand_q(rng, at, (1,)), rand_q(rng, bt, (1,))
                const = ("b", "a_zero_point", "b_zero_point") if i % 3 else ()
                mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", za), ("b_zero_point", zb)],
                                np.int32, const=const)
                name = "mmi_%s_%s_%d_%s" % (np.dtype(at).name, np.dtype(bt).name, i, "x".join(map(str, sa)))
                # ORT takes a [N] b_zero_point only with a 2-D B; octet broadcasts it over B's batches
                ref = None
                if zb is not None and zb.ndim == 1 and zb.shape[0] > 1 and len(sb) > 2:
                    ref = ref_matmul(a, b, za, zb).astype(np.int32)
                out.append(case(name, mf, ref=ref))
    # full-range uint8 x int8 (ORT would saturate on AVX2): numpy reference
    for j, (sa, sb) in enumerate([((9, 70), (70, 13)), ((2, 5, 31), (31, 6))]):
        a, b = rand_q(rng, U8, sa), rand_q(rng, S8, sb)
        za, zb = rand_q(rng, U8, ()), rand_q(rng, S8, (sb[-1],))
        mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", za), ("b_zero_point", zb)],
                        np.int32, const=("b", "b_zero_point"))
        out.append(case("mmi_u8s8_fullrange_%d" % j, mf, ref=ref_matmul(a, b, za, zb).astype(np.int32)))
    # B-side zero point per batch and column ([batch, 1, N]), as ORT allows
    a, b = rand_q(rng, U8, (3, 4, 10)), rand_q(rng, U8, (3, 10, 5))
    zb = rand_q(rng, U8, (3, 1, 5))
    mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", None), ("b_zero_point", zb)],
                    np.int32, const=("b", "b_zero_point"))
    out.append(case("mmi_batch_zp", mf))
    # a per-row a_zero_point with equal values is accepted; different values are refused
    a, b = rand_q(rng, U8, (4, 10)), rand_q(rng, U8, (10, 3))
    mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", np.full(4, 7, U8))], np.int32)
    out.append(case("mmi_row_zp_equal", mf, ref=ref_matmul(a, b, 7, 0).astype(np.int32)))
    mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", np.arange(4).astype(U8))], np.int32)
    out.append(case("mmi_row_zp_differ", mf, expect_error=True, expect_ort_error=True))
    # errors: zero point type differs from its tensor, inner dimension mismatch, float input
    mf = make_model("MatMulInteger", 10, [("a", a), ("b", b), ("a_zero_point", np.array(3, S8))], np.int32)
    out.append(case("mmi_err_zp_type", mf, expect_error=True, expect_ort_error=True))
    mf = make_model("MatMulInteger", 10, [("a", a), ("b", rand_q(rng, U8, (9, 3)))], np.int32)
    out.append(case("mmi_err_inner", mf, expect_error=True, expect_ort_error=True))
    return out


# ---- QLinearMatMul ----

def qlinear_matmul_cases(rng):
    out = []
    shapes = [((7, 33), (33, 9)), ((3, 5, 17), (17, 11)), ((2, 1, 6, 13), (3, 13, 7)), ((29,), (29, 6)),
              ((5, 31), (31,)), ((16, 64), (64, 33)), ((3, 8, 65), (3, 65, 17)), ((1, 1), (1, 1))]
    i = 0
    for opset in (10, 21):
        for at, bt, yt in [(U8, U8, U8), (U8, S8, U8), (S8, S8, S8), (S8, U8, S8), (U8, U8, S8), (S8, S8, U8)]:
            for sa, sb in shapes:
                i += 1
                sat = saturates(at, bt)
                a = rand_q(rng, at, sa)
                b = rand_q(rng, bt, sb, *((-64, 63) if sat else (None, None)))
                N = sb[-1] if len(sb) > 1 else 1
                K = sa[-1]
                per_col = i % 3 == 0 and len(sb) >= 2
                # zero points near the middle of the data, as real quantized tensors have them
                za = rand_q(rng, at, (), *((-20, 20) if at == S8 else (100, 155)))
                zb = rand_q(rng, bt, (N,) if per_col and i % 2 else (), *((-10, 10) if bt == S8 else (110, 145)))
                sx = np.float32(rng.uniform(0.005, 0.05))
                sw = rng.uniform(0.002, 0.02, size=(N,) if per_col else ()).astype(np.float32)
                # y_scale so that results spread over the output range
                acc = ref_matmul(a, b, za, zb)
                sy, zy = pick_output(rng, acc, sx, sw, yt)
                inputs = [("a", a), ("a_scale", np.array(sx, np.float32)), ("a_zero_point", za), ("b", b),
                          ("b_scale", np.asarray(sw, np.float32)), ("b_zero_point", zb),
                          ("y_scale", np.array(sy, np.float32)), ("y_zero_point", zy)]
                const = ("a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point")
                if i % 4 == 0:
                    const = ()
                mf = make_model("QLinearMatMul", opset, inputs, yt, const=const)
                ref = requant(acc, out_mult(sx, sw, sy), zy, yt)
                name = "qmm_o%d_%s%s%s_%d" % (opset, np.dtype(at).name[0] + np.dtype(at).name[-1],
                                              np.dtype(bt).name[0] + np.dtype(bt).name[-1],
                                              np.dtype(yt).name[0] + np.dtype(yt).name[-1], i)
                # ORT has kernels for u8u8->u8, u8s8->u8, s8s8->s8 only, and takes a [N] b zero point /
                # scale only with a 2-D B; octet takes any 8-bit combination and broadcasts [N]
                ort_has = (np.dtype(at), np.dtype(bt), np.dtype(yt)) in ORT_Q_TYPES and (len(sb) <= 2 or not per_col)
                out.append(case(name, mf, ref=None if ort_has else ref))
    # multiplier 0.5 / 0.25: many exact .5 ties exercise round-half-to-even
    for j, (sx, sw, sy) in enumerate([(0.5, 1.0, 1.0), (0.25, 1.0, 0.5), (1.0, 0.125, 0.25)]):
        a, b = rand_q(rng, U8, (11, 5)), rand_q(rng, U8, (5, 7))
        inputs = [("a", a), ("a_scale", np.array(sx, np.float32)), ("a_zero_point", np.array(128, U8)), ("b", b),
                  ("b_scale", np.array(sw, np.float32)), ("b_zero_point", np.array(128, U8)),
                  ("y_scale", np.array(sy, np.float32)), ("y_zero_point", np.array(128, U8))]
        a[:] = rng.integers(124, 133, size=a.shape)
        b[:] = rng.integers(125, 132, size=b.shape)
        out.append(case("qmm_ties_%d" % j, make_model("QLinearMatMul", 10, inputs, U8, const=("b",))))
    # full-range uint8 x int8: numpy reference (ORT saturates on AVX2 without VNNI)
    a, b = rand_q(rng, U8, (13, 77)), rand_q(rng, S8, (77, 10))
    za, zb = np.array(131, U8), np.array(0, S8)
    sx, sw = np.float32(0.02), rng.uniform(0.001, 0.01, 10).astype(np.float32)
    acc = ref_matmul(a, b, za, zb)
    sy, zy = pick_output(rng, acc, sx, sw, U8)
    inputs = [("a", a), ("a_scale", np.array(sx)), ("a_zero_point", za), ("b", b), ("b_scale", sw),
              ("b_zero_point", zb), ("y_scale", np.array(sy)), ("y_zero_point", zy)]
    out.append(case("qmm_u8s8_fullrange", make_model("QLinearMatMul", 10, inputs, U8, const=("b", "b_scale")),
                    ref=requant(acc, out_mult(sx, sw, sy), zy, U8)))
    # errors
    a, b = rand_q(rng, U8, (4, 6)), rand_q(rng, U8, (6, 3))
    base = [("a", a), ("a_scale", np.array(0.1, np.float32)), ("a_zero_point", np.array(1, U8)), ("b", b),
            ("b_scale", np.array(0.1, np.float32)), ("b_zero_point", np.array(1, U8)),
            ("y_scale", np.array(0.1, np.float32)), ("y_zero_point", np.array(1, U8))]
    bad = list(base)
    bad[2] = ("a_zero_point", np.array(1, S8))
    out.append(case("qmm_err_zp_type", make_model("QLinearMatMul", 10, bad, U8), expect_error=True,
                    expect_ort_error=True))
    bad = list(base)
    bad[4] = ("b_scale", np.ones(5, np.float32))
    out.append(case("qmm_err_bscale_shape", make_model("QLinearMatMul", 10, bad, U8), expect_error=True,
                    expect_ort_error=True))
    bad = list(base)
    bad[1] = ("a_scale", np.ones(4, np.float32))
    out.append(case("qmm_err_ascale_vector", make_model("QLinearMatMul", 10, bad, U8), expect_error=True,
                    expect_ort_error=True))
    return out


# ---- ConvInteger / QLinearConv ----

def rand_conv_geom(rng, nsp, depthwise=False):
    C = int(rng.integers(1, 9))
    group = 1
    if depthwise:
        C = int(rng.integers(2, 20))
        group = C
    elif rng.integers(0, 3) == 0:
        group = int(rng.choice([2, 3]))
        C = group * int(rng.integers(1, 4))
    M = C if depthwise else group * int(rng.integers(1, 6))
    k = [int(rng.integers(1, 4)) for _ in range(nsp)]
    strides = [int(rng.integers(1, 3)) for _ in range(nsp)]
    dil = [int(rng.integers(1, 3)) if rng.integers(0, 3) == 0 else 1 for _ in range(nsp)]
    pads = [int(rng.integers(0, k[i % nsp])) for i in range(2 * nsp)]
    in_sp = [int(rng.integers((k[i] - 1) * dil[i] + 1, (k[i] - 1) * dil[i] + 9)) for i in range(nsp)]
    N = int(rng.integers(1, 3))
    return N, C, M, group, k, strides, dil, pads, in_sp


def conv_attrs(group, strides, dil, pads, auto_pad, k, with_kernel_shape):
    attrs = {"group": group, "strides": strides, "dilations": dil}
    if auto_pad == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto_pad
    if with_kernel_shape:
        attrs["kernel_shape"] = k
    return attrs


def conv_integer_cases(rng):
    out = []
    i = 0
    for xt in (U8, S8):
        for wt in (U8, S8):
            for nsp in (1, 2, 2, 2, 3):
                for auto_pad in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
                    i += 1
                    N, C, M, group, k, strides, dil, pads, in_sp = rand_conv_geom(rng, nsp, depthwise=i % 7 == 0)
                    if auto_pad.startswith("SAME"):
                        dil = [1] * nsp   # ORT refuses SAME_* with dilation
                    sat = saturates(wt, xt)   # ORT: GEMM A = W, B = im2col(X)
                    x = rand_q(rng, xt, [N, C] + in_sp)
                    w = rand_q(rng, wt, [M, C // group] + k, *((0, 127) if sat else (None, None)))
                    zx = rand_q(rng, xt, ()) if i % 3 else None
                    zw = rand_q(rng, wt, ()) if i % 2 else None
                    attrs = conv_attrs(group, strides, dil, pads, auto_pad, k, i % 2 == 0)
                    const = ("w", "x_zero_point", "w_zero_point") if i % 5 else ()
                    mf = make_model("ConvInteger", 10, [("x", x), ("w", w), ("x_zero_point", zx),
                                                        ("w_zero_point", zw)], np.int32, attrs, const)
                    name = "convint_%s%s_%dd_%s_%d" % (np.dtype(xt).name[0], np.dtype(wt).name[0], nsp,
                                                       auto_pad.lower(), i)
                    out.append(case(name, mf))
    # per-output-channel w zero point (the spec allows it; ORT does not): numpy reference
    N, C, M, group, k, strides, dil, pads, in_sp = 2, 4, 6, 2, [3, 3], [1, 2], [1, 1], [1, 0, 1, 2], [7, 9]
    x, w = rand_q(rng, U8, [N, C] + in_sp), rand_q(rng, S8, [M, C // group] + k)
    zx, zw = np.array(7, U8), rand_q(rng, S8, (M,))
    mf = make_model("ConvInteger", 10, [("x", x), ("w", w), ("x_zero_point", zx), ("w_zero_point", zw)], np.int32,
                    conv_attrs(group, strides, dil, pads, "NOTSET", k, True), ("w", "w_zero_point"))
    out.append(case("convint_per_channel_zw", mf,
                    ref=ref_conv(x, w, zx, zw, group, strides, dil, pads, "NOTSET").astype(np.int32)))
    # full-range int8 x with uint8 w (ORT saturates): numpy reference
    x, w = rand_q(rng, S8, [1, 5, 8, 8]), rand_q(rng, U8, [4, 5, 3, 3])
    mf = make_model("ConvInteger", 10, [("x", x), ("w", w), ("x_zero_point", np.array(-3, S8)),
                                        ("w_zero_point", np.array(200, U8))], np.int32, {"pads": [1, 1, 1, 1]},
                    ("w",))
    out.append(case("convint_s8u8_fullrange", mf,
                    ref=ref_conv(x, w, -3, 200, 1, [1, 1], [1, 1], [1, 1, 1, 1], "NOTSET").astype(np.int32)))
    # errors
    x, w = rand_q(rng, U8, [1, 4, 5, 5]), rand_q(rng, U8, [3, 4, 3, 3])
    mf = make_model("ConvInteger", 10, [("x", x), ("w", w), ("x_zero_point", np.array(1, S8))], np.int32)
    out.append(case("convint_err_zp_type", mf, expect_error=True, expect_ort_error=True))
    mf = make_model("ConvInteger", 10, [("x", x), ("w", rand_q(rng, U8, [3, 5, 3, 3]))], np.int32)
    out.append(case("convint_err_channels", mf, expect_error=True, expect_ort_error=True))
    mf = make_model("ConvInteger", 10, [("x", x), ("w", w)], np.int32, {"kernel_shape": [2, 2]})
    out.append(case("convint_err_kernel_shape", mf, expect_error=True, expect_ort_error=True))
    return out


def qlinear_conv_case(rng, name, xt, wt, yt, x_shape, M, group, k, strides, dil, pads, auto_pad,
                      per_channel=False, zw_per_channel=False, bias=True, const=True, kernel_shape=True,
                      w_range=None, tie_scales=False):
    nsp = len(k)
    C = x_shape[1]
    sat = saturates(xt, wt)   # ORT: GEMM A = im2col(X), B = W
    x = rand_q(rng, xt, x_shape)
    lo, hi = w_range if w_range else ((-64, 63) if sat else (None, None))
    w = rand_q(rng, wt, [M, C // group] + k, lo, hi)
    zx = rand_q(rng, xt, ())
    zlo, zhi = (-5, 5) if np.dtype(wt) == np.int8 else (110, 140)
    zw = rand_q(rng, wt, (M,) if zw_per_channel else (), zlo, zhi)
    if tie_scales:
        # multiplier 0.5 and small accumulators: many exact .5 ties
        sx, sw, sy = np.float32(0.5), np.float32(1.0), np.float32(1.0)
        info = np.iinfo(xt)
        x = rand_q(rng, xt, x_shape, max(info.min, int(zx) - 3), min(info.max, int(zx) + 3))
        w = rand_q(rng, wt, [M, C // group] + k, int(zw) - 2, int(zw) + 2)
    else:
        sx = np.float32(rng.uniform(0.005, 0.05))
        sw = rng.uniform(0.002, 0.02, size=(M,) if per_channel else ()).astype(np.float32)
    acc = ref_conv(x, w, zx, zw, group, strides, dil, pads, auto_pad)
    b = rng.integers(-2000, 2000, size=M).astype(np.int32) if bias else None
    if b is not None:
        acc = acc + b.reshape((1, M) + (1,) * nsp)
    acc = acc.astype(np.int32)
    if tie_scales:
        zy = rand_q(rng, yt, (), -20 if yt == S8 else 100, 20 if yt == S8 else 150)
    else:
        sy, zy = pick_output(rng, acc, sx, sw, yt)
    mult = out_mult(sx, sw, sy)
    if np.ndim(mult):
        mult = mult.reshape((1, M) + (1,) * nsp)
    ref = requant(acc, mult, zy, yt)
    attrs = conv_attrs(group, strides, dil, pads, auto_pad, k, kernel_shape)
    inputs = [("x", x), ("x_scale", np.array(sx, np.float32)), ("x_zero_point", zx), ("w", w),
              ("w_scale", np.asarray(sw, np.float32)), ("w_zero_point", zw), ("y_scale", np.array(sy, np.float32)),
              ("y_zero_point", zy), ("B", b)]
    cnames = tuple(n for n, _ in inputs[1:]) if const else ()
    mf = make_model("QLinearConv", 10, inputs, yt, attrs, cnames)
    ort_has = (np.dtype(xt), np.dtype(wt), np.dtype(yt)) in ORT_Q_TYPES
    use_ref = not ort_has or (auto_pad.startswith("SAME") and any(d != 1 for d in dil)) or \
        (w_range is not None and sat)
    return case(name, mf, ref=ref if use_ref else None)


def qlinear_conv_cases(rng):
    out = []
    i = 0
    combos = [(U8, U8, U8), (U8, S8, U8), (S8, S8, S8), (S8, U8, S8), (U8, S8, S8)]
    for xt, wt, yt in combos:
        for nsp in (1, 2, 2, 2, 3):
            for auto_pad in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
                i += 1
                dw = i % 5 == 0 and nsp <= 2
                N, C, M, group, k, strides, dil, pads, in_sp = rand_conv_geom(rng, nsp, depthwise=dw)
                if auto_pad.startswith("SAME") and i % 3:
                    dil = [1] * nsp
                tag = "%s%s%s" % (np.dtype(xt).name[0], np.dtype(wt).name[0], np.dtype(yt).name[0])
                out.append(qlinear_conv_case(
                    rng, "qconv_%s_%dd_%s%s_%d" % (tag, nsp, auto_pad.lower(), "_dw" if dw else "", i), xt, wt, yt,
                    [N, C] + in_sp, M, group, k, strides, dil, pads, auto_pad, per_channel=i % 2 == 0,
                    bias=i % 3 != 0, const=i % 6 != 0, kernel_shape=i % 4 != 0))
    # shapes as in real networks (mobilenet-style, small spatial size to keep the test fast)
    real = [
        ("first3x3s2", [1, 3, 33, 31], 16, 1, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
        ("pw_expand", [1, 16, 15, 13], 96, 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0]),
        ("dw3x3", [1, 96, 15, 13], 96, 96, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
        ("dw3x3s2", [2, 144, 14, 14], 144, 144, [3, 3], [2, 2], [1, 1], [0, 0, 1, 1]),
        ("dw5x5", [1, 40, 11, 9], 40, 40, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]),
        ("pw_project", [1, 144, 7, 9], 24, 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0]),
        ("pw_stride2", [1, 32, 9, 9], 40, 1, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]),
        ("grouped", [1, 32, 9, 11], 64, 4, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
        ("dilated", [1, 8, 17, 17], 12, 1, [3, 3], [1, 1], [2, 3], [2, 3, 2, 3]),
        ("wide_k", [1, 64, 6, 6], 130, 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
        ("conv1d", [2, 24, 50], 33, 1, [5], [2], [1], [2, 2]),
    ]
    for xt, wt, yt in [(U8, U8, U8), (U8, S8, U8), (S8, S8, S8)]:
        for name, xs, M, g, k, s, d, p in real:
            tag = "%s%s%s" % (np.dtype(xt).name[0], np.dtype(wt).name[0], np.dtype(yt).name[0])
            out.append(qlinear_conv_case(rng, "qconv_%s_%s" % (tag, name), xt, wt, yt, xs, M, g, k, s, d, p, "NOTSET",
                                         per_channel=True))
    # multiplier 0.5: many exact ties (round half to even)
    out.append(qlinear_conv_case(rng, "qconv_ties", U8, U8, U8, [1, 3, 6, 7], 4, 1, [2, 2], [1, 1], [1, 1],
                                 [0, 0, 1, 1], "NOTSET", bias=False, tie_scales=True))
    out.append(qlinear_conv_case(rng, "qconv_ties_dw", U8, U8, U8, [1, 5, 6, 7], 5, 5, [3, 3], [1, 1], [1, 1],
                                 [1, 1, 1, 1], "NOTSET", bias=False, tie_scales=True))
    # per-channel weight zero points that differ (ORT requires them equal): numpy reference
    out.append(qlinear_conv_case(rng, "qconv_zw_per_channel", U8, U8, U8, [1, 6, 9, 8], 7, 1, [3, 3], [1, 1],
                                 [1, 1], [1, 1, 1, 1], "NOTSET", per_channel=True, zw_per_channel=True))
    out.append(qlinear_conv_case(rng, "qconv_zw_per_channel_dw", U8, U8, U8, [1, 6, 9, 8], 6, 6, [3, 3], [2, 1],
                                 [1, 1], [1, 1, 1, 1], "NOTSET", per_channel=True, zw_per_channel=True))
    # full-range uint8 x int8 weights (ORT saturates without VNNI): numpy reference
    out.append(qlinear_conv_case(rng, "qconv_u8s8_fullrange", U8, S8, U8, [1, 16, 8, 9], 24, 1, [3, 3], [1, 1],
                                 [1, 1], [1, 1, 1, 1], "NOTSET", per_channel=True, w_range=(-128, 127)))
    out.append(qlinear_conv_case(rng, "qconv_u8s8_fullrange_pw", U8, S8, U8, [1, 64, 5, 7], 24, 1, [1, 1], [1, 1],
                                 [1, 1], [0, 0, 0, 0], "NOTSET", per_channel=True, w_range=(-128, 127)))
    # (the octet-internal fused-activation attributes are tested in tests/unit/test_ops_qlinear.c:
    # onnx.checker rejects unknown attributes on ai.onnx ops)
    # errors
    x = rand_q(rng, U8, [1, 4, 5, 5])
    w = rand_q(rng, U8, [3, 4, 3, 3])
    base = [("x", x), ("x_scale", np.array(0.1, np.float32)), ("x_zero_point", np.array(1, U8)), ("w", w),
            ("w_scale", np.array(0.1, np.float32)), ("w_zero_point", np.array(1, U8)),
            ("y_scale", np.array(0.1, np.float32)), ("y_zero_point", np.array(1, U8))]
    for nm, idx, val in [("zp_type", 2, np.array(1, S8)), ("wzp_type", 5, np.array(1, S8)),
                         ("wscale_len", 4, np.ones(2, np.float32)), ("xscale_vec", 1, np.ones(3, np.float32)),
                         ("bias_type", 8, np.zeros(3, np.float32)), ("bias_len", 8, np.zeros(4, np.int32)),
                         ("w_channels", 3, rand_q(rng, U8, [3, 5, 3, 3]))]:
        bad = list(base) + [("B", None)]
        bad[idx] = (bad[idx][0], val)
        out.append(case("qconv_err_" + nm, make_model("QLinearConv", 10, bad, U8), expect_error=True,
                        expect_ort_error=True))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return matmul_integer_cases(rng) + qlinear_matmul_cases(rng) + conv_integer_cases(rng) + \
        qlinear_conv_cases(rng)
