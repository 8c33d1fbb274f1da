"""Per-op cases for the com.microsoft int8 contrib ops (src/ops/qcontrib*.c) against live ONNX Runtime:
QGemm, QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearSoftmax,
QLinearGlobalAveragePool, QLinearAveragePool, MatMulIntegerToFloat, DynamicQuantizeMatMul,
DynamicQuantizeLSTM.

Every case is bit-exact: quantized outputs compare exactly (integer outputs always do), float outputs use
rtol = atol = 0, because octet reproduces ORT's float operation order (MLAS's fused multiply-adds
included). Random shapes, scales and zero points from a fixed seed; every 8-bit value is fed to the
table-driven ops.

Int8 weights are kept within [-64, 63] where A is uint8 (or int8): without AVX-512 VNNI, MLAS's u8s8
kernel uses vpmaddubsw, whose int16 pair sums saturate for extreme values (the reason ORT's quantizer
has reduce_range); octet's GEMM is exact, so such inputs would differ by design, not by rounding."""
import numpy as np
import onnx
from onnx import helper, numpy_helper

SEED = 8117
IR = 8
MS = "com.microsoft"


def et(dtype):
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]


def model(op, ins, out_dtypes, attrs=None, init=(), unused_outputs=(), opset=13):
    """ins: list of (name, array) or None (an omitted optional input). Names in `init` become
    initializers; the rest are graph inputs fed by the case. Output indices in unused_outputs are left
    empty on the node."""
    node_in, g_in, inits, feed = [], [], [], {}
    for item in ins:
        if item is None:
            node_in.append("")
            continue
        name, arr = item
        arr = np.asarray(arr)
        node_in.append(name)
        if name in init:
            inits.append(numpy_helper.from_array(arr, name))
        else:
            g_in.append(helper.make_tensor_value_info(name, et(arr.dtype), arr.shape))
            feed[name] = arr
    outs = ["" if i in unused_outputs else "y%d" % i for i in range(len(out_dtypes))]
    node = helper.make_node(op, node_in, outs, domain=MS, **(attrs or {}))
    g_out = [helper.make_tensor_value_info(o, et(d), None) for o, d in zip(outs, out_dtypes) if o]
    graph = helper.make_graph([node], op.lower(), g_in, g_out, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)],
                          producer_name="octet-tests")
    m.ir_version = IR
    return m, feed


def case(name, mf, rtol=0.0, atol=0.0, **extra):
    m, feed = mf
    c = {"name": name, "model": m, "inputs": feed, "rtol": rtol, "atol": atol}
    c.update(extra)
    return c


def qrange(dt):
    return (-128, 127) if dt == np.int8 else (0, 255) if dt == np.uint8 else (0, 65535)


def rq(rng, dt, shape, lo=None, hi=None):
    qlo, qhi = qrange(dt)
    lo = qlo if lo is None else lo
    hi = qhi if hi is None else hi
    return rng.integers(lo, hi + 1, size=shape).astype(dt)


def zp(rng, dt):
    lo, hi = qrange(dt)
    return np.array(rng.integers(lo, hi + 1), dtype=dt)


def sc(rng, lo=-7.0, hi=0.5):
    return np.array(np.exp(rng.uniform(lo, hi)), dtype=np.float32)


def all_values(dt, reps=1):
    lo, hi = qrange(dt)
    return np.tile(np.arange(lo, hi + 1), reps).astype(dt)


# ---------------------------------------------------------------- QLinearAdd / QLinearMul

# (mode 1 = A repeated, 2 = B repeated; signed; sa, sb, sc, za, zb, zc, the repeated value)
ADD_TIES = [
    (1, 0, (0.521501184, 0.749859691, 0.0684180334, 165, 251, 41, 200)),
    (1, 0, (0.465951383, 0.0909518823, 0.163074598, 123, 147, 164, 116)),
    (1, 1, (0.0510846712, 0.234423429, 0.0338952057, 106, 84, -111, 26)),
    (1, 1, (0.0219674613, 0.482217938, 0.0572061166, 85, 91, -34, 106)),
    (2, 0, (0.0108316299, 0.0928586498, 0.255542994, 31, 179, 127, 57)),
    (2, 0, (0.0671724752, 0.200500682, 0.0291615911, 195, 168, 240, 231)),
    (2, 1, (0.0159496777, 0.237299904, 0.0309192203, -75, -52, 70, -55)),
    (2, 1, (0.0380482227, 0.677964747, 0.0155116869, 28, -62, -5, -56)),
]

def binary_cases(rng):
    out = []
    shapes = [
        ("same", [3, 5, 7], [3, 5, 7]),
        ("bcast_col", [3, 5, 7], [5, 1]),
        ("bcast_row", [4, 1], [4, 9]),
        ("scalar_a", [], [4, 9]),
        ("one_a", [1], [37]),
        ("scalar_b", [4, 9], []),
        ("one_b", [2, 19], [1, 1]),
        ("outer", [2, 1, 3], [1, 4, 1]),
        ("trailing_ones", [2, 3, 1], [2, 1, 1]),
        ("both_one", [1], [1, 1]),
        ("big", [64, 1031], [64, 1031]),
        ("big_bcast", [96, 1, 700], [1, 3, 700]),
        ("big_scalar_a", [1], [70001]),
        ("big_scalar_b", [3, 33333], [1]),
        ("empty", [0, 3], [1, 3]),
    ]
    for op in ["QLinearAdd", "QLinearMul"]:
        for dt in [np.uint8, np.int8]:
            for tag, sa_, sb_ in shapes:
                a, b = rq(rng, dt, sa_), rq(rng, dt, sb_)
                ins = [("a", a), ("a_s", sc(rng)), ("a_z", zp(rng, dt)), ("b", b), ("b_s", sc(rng)),
                       ("b_z", zp(rng, dt)), ("c_s", sc(rng, -6, 1)), ("c_z", zp(rng, dt))]
                init = {"a_s", "a_z", "b_s", "b_z", "c_s", "c_z"} if len(out) % 2 else set()
                out.append(case("%s_%s_%s" % (op, np.dtype(dt).name, tag), model(op, ins, [dt], init=init)))
            # exhaustive pairs, several scale sets: every rounding tie the formula can meet
            for j in range(3):
                a, b = np.repeat(all_values(dt), 256), all_values(dt, 256)
                ins = [("a", a), ("a_s", sc(rng)), ("a_z", zp(rng, dt)), ("b", b), ("b_s", sc(rng)),
                       ("b_z", zp(rng, dt)), ("c_s", sc(rng, -6, 1)), ("c_z", zp(rng, dt))]
                out.append(case("%s_%s_allpairs%d" % (op, np.dtype(dt).name, j), model(op, ins, [dt])))
            # exact binary scales (ties land exactly on .5) and equal scales
            a, b = np.repeat(all_values(dt), 256), all_values(dt, 256)
            ins = [("a", a), ("a_s", np.float32(0.5)), ("a_z", zp(rng, dt)), ("b", b), ("b_s", np.float32(0.25)),
                   ("b_z", zp(rng, dt)), ("c_s", np.float32(2.0)), ("c_z", zp(rng, dt))]
            out.append(case("%s_%s_binary_scales" % (op, np.dtype(dt).name), model(op, ins, [dt])))
            # saturation both ways
            a, b = rq(rng, dt, [300]), rq(rng, dt, [300])
            ins = [("a", a), ("a_s", np.float32(1.0)), ("a_z", zp(rng, dt)), ("b", b), ("b_s", np.float32(1.0)),
                   ("b_z", zp(rng, dt)), ("c_s", np.float32(0.01)), ("c_z", zp(rng, dt))]
            out.append(case("%s_%s_saturate" % (op, np.dtype(dt).name), model(op, ins, [dt])))
        # scales where the operand order of ORT's formula decides a rounding (found by search): a repeated A
        # (ORT hands MLAS the other operand first) or a repeated B, against every value
        for mode, sgn, params in ADD_TIES:
            if op != "QLinearAdd":
                continue
            dt = np.int8 if sgn else np.uint8
            sa, sb, scc, za, zb, zc, x0 = params
            one, allv = np.array([x0], dt), all_values(dt)
            a, b = (one, allv) if mode == 1 else (allv, one)
            ins = [("a", a), ("a_s", np.float32(sa)), ("a_z", np.array(za, dt)), ("b", b), ("b_s", np.float32(sb)),
                   ("b_z", np.array(zb, dt)), ("c_s", np.float32(scc)), ("c_z", np.array(zc, dt))]
            out.append(case("QLinearAdd_tie_m%d_%s_%s" % (mode, np.dtype(dt).name, x0), model(op, ins, [dt])))
        # mixed types are rejected
        ins = [("a", rq(rng, np.uint8, [3])), ("a_s", sc(rng)), ("a_z", np.uint8(1)), ("b", rq(rng, np.int8, [3])),
               ("b_s", sc(rng)), ("b_z", np.int8(1)), ("c_s", sc(rng)), ("c_z", np.uint8(3))]
        out.append(case("%s_mixed_types" % op, model(op, ins, [np.uint8]), expect_error=True, expect_ort_error=True))
    return out


# ---------------------------------------------------------------- lookup-table ops

def table_cases(rng):
    out = []
    for op in ["QLinearSigmoid", "QLinearLeakyRelu"]:
        for dt in [np.uint8, np.int8]:
            for j in range(6):
                x = all_values(dt, 3)
                if j == 5:
                    x = rq(rng, dt, [3, 40001])   # threads
                attrs = {"alpha": float(rng.choice([0.01, 0.1, 0.3, 1.7, -0.5]))} if op == "QLinearLeakyRelu" else {}
                ins = [("x", x), ("x_s", sc(rng, -6, 0)), ("x_z", zp(rng, dt)), ("y_s", sc(rng, -8, -3)),
                       ("y_z", zp(rng, dt))]
                init = {"x_s", "x_z", "y_s", "y_z"} if j % 2 == 0 else set()
                out.append(case("%s_%s_%d" % (op, np.dtype(dt).name, j), model(op, ins, [dt], attrs, init=init)))
            # X's zero point omitted (constant scales: the prepared table); ORT needs Y's (it reads input 4)
            ins = [("x", all_values(dt)), ("x_s", np.float32(0.2)), None, ("y_s", np.float32(1 / 256.0)),
                   ("y_z", zp(rng, dt))]
            out.append(case("%s_%s_no_xzp" % (op, np.dtype(dt).name),
                            model(op, ins, [dt], init={"x_s", "y_s", "y_z"})))
        ins = [("x", np.zeros([2], np.float32)), ("x_s", np.float32(0.1)), None, ("y_s", np.float32(0.1))]
        out.append(case("%s_float_input" % op, model(op, ins, [np.float32]), expect_error=True,
                        expect_ort_error=True))
    return out


def concat_cases(rng):
    out = []
    for dt in [np.uint8, np.int8]:
        for j, (shapes, axis) in enumerate([([[2, 3, 4], [2, 5, 4]], 1), ([[3, 7], [2, 7], [1, 7]], 0),
                                            ([[2, 3, 4], [2, 3, 1], [2, 3, 6]], -1), ([[4, 2, 3, 5]] * 2, 2),
                                            ([[0, 3], [2, 3]], 0), ([[64, 300], [64, 517]], 1)]):
            ys, yz = sc(rng), zp(rng, dt)
            ins = [("y_s", ys), ("y_z", yz)]
            init = {"y_s", "y_z"} if j % 2 else set()
            for i, s in enumerate(shapes):
                # the second input shares the output's scale and zero point (ORT copies it)
                same = i == 1
                ins += [("x%d" % i, rq(rng, dt, s)), ("x%d_s" % i, ys.copy() if same else sc(rng)),
                        ("x%d_z" % i, yz.copy() if same else zp(rng, dt))]
                if i == 0:
                    init |= {"x0_s", "x0_z"}
            out.append(case("QLinearConcat_%s_%d" % (np.dtype(dt).name, j),
                            model("QLinearConcat", ins, [dt], {"axis": axis}, init=init)))
    ins = [("y_s", sc(rng)), ("y_z", np.uint8(3)), ("x0", rq(rng, np.uint8, [2, 3])), ("x0_s", sc(rng)),
           ("x0_z", np.uint8(1)), ("x1", rq(rng, np.uint8, [2, 4])), ("x1_s", sc(rng)), ("x1_z", np.uint8(1))]
    out.append(case("QLinearConcat_bad_shape", model("QLinearConcat", ins, [np.uint8], {"axis": 0}),
                    expect_error=True, expect_ort_error=True))
    return out


def softmax_cases(rng):
    out = []
    for dt in [np.uint8, np.int8]:
        for opset in [12, 13]:
            for rank in [1, 2, 3, 4]:
                shape = [int(rng.integers(2, 6)) for _ in range(rank)]
                shape[-1] = int(rng.integers(3, 40))
                x = rq(rng, dt, shape)
                for axis in range(-rank, rank):
                    if opset < 13 and rank == 1 and axis != 0 and axis != -1:
                        continue
                    ins = [("x", x), ("x_s", sc(rng, -5, 0)), ("x_z", zp(rng, dt)), ("y_s", np.float32(1 / 256.0)),
                           ("y_z", np.array(0 if dt == np.uint8 else -128, dt))]
                    init = {"x_s", "x_z", "y_s", "y_z"} if axis % 2 else set()
                    out.append(case("QLinearSoftmax_%s_o%d_r%d_ax%d" % (np.dtype(dt).name, opset, rank, axis),
                                    model("QLinearSoftmax", ins, [dt], {"axis": axis, "opset": opset}, init=init)))
            # default axis, other output scales (int8 wraps past 127 as ORT's cast does), long rows
            x = rq(rng, dt, [3, 4, 257])
            for j, (ys, yz) in enumerate([(1 / 256.0, 0), (1 / 255.0, 0), (0.01, 3), (1 / 256.0, 100), (0.5, 5)]):
                yz = np.array(yz if dt == np.uint8 else yz - 128, dt)
                ins = [("x", x), ("x_s", sc(rng, -4, 1)), ("x_z", zp(rng, dt)), ("y_s", np.float32(ys)), ("y_z", yz)]
                out.append(case("QLinearSoftmax_%s_o%d_default_%d" % (np.dtype(dt).name, opset, j),
                                model("QLinearSoftmax", ins, [dt], {"opset": opset})))
        x = rq(rng, dt, [50, 3001])
        ins = [("x", x), ("x_s", np.float32(0.05)), None, ("y_s", np.float32(1 / 256.0)),
               ("y_z", np.array(0 if dt == np.uint8 else -128, dt))]
        out.append(case("QLinearSoftmax_%s_big" % np.dtype(dt).name,
                        model("QLinearSoftmax", ins, [dt], {"opset": 13, "axis": -1}, init={"x_s", "y_s", "y_z"})))
    return out


# ---------------------------------------------------------------- pooling

def pool_q_ins(rng, dt, x, init_all):
    ins = [("x", x), ("x_s", sc(rng, -5, 0)), ("x_z", zp(rng, dt)), ("y_s", sc(rng, -5, 0)), ("y_z", zp(rng, dt))]
    return ins, ({"x_s", "x_z", "y_s", "y_z"} if init_all else set())


def pool_cases(rng):
    out = []
    for dt in [np.uint8, np.int8]:
        for j, shape in enumerate([[1, 3, 5], [2, 3, 7, 9], [2, 17, 4, 4], [1, 2, 3, 4, 5], [3, 40, 33, 33],
                                   [2, 1, 1, 1], [1, 8, 64, 64]]):
            for cl in [0, 1]:
                x = rq(rng, dt, shape)
                ins, init = pool_q_ins(rng, dt, x, j % 2 == 0)
                out.append(case("QLinearGlobalAveragePool_%s_%d_cl%d" % (np.dtype(dt).name, j, cl),
                                model("QLinearGlobalAveragePool", ins, [dt], {"channels_last": cl}, init=init)))
        pools = [
            ([2, 3, 11], dict(kernel_shape=[3])),
            ([2, 3, 11], dict(kernel_shape=[4], strides=[2], pads=[1, 2], count_include_pad=1)),
            ([2, 3, 12], dict(kernel_shape=[3], strides=[2], ceil_mode=1)),
            ([1, 4, 9, 10], dict(kernel_shape=[3, 3])),
            ([1, 4, 9, 10], dict(kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 2, 1])),
            ([1, 4, 9, 10], dict(kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 2, 1], count_include_pad=1)),
            ([2, 3, 8, 7], dict(kernel_shape=[2, 3], strides=[3, 2], ceil_mode=1)),
            ([2, 3, 8, 7], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                count_include_pad=1)),
            ([2, 3, 9, 8], dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
            ([2, 3, 9, 8], dict(kernel_shape=[4, 3], strides=[2, 3], auto_pad="SAME_LOWER")),
            ([2, 3, 9, 8], dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="VALID")),
            ([1, 3, 5, 6, 7], dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2], pads=[1, 1, 0, 0, 1, 1])),
            ([1, 3, 5, 6, 7], dict(kernel_shape=[3, 2, 3], strides=[2, 2, 1], count_include_pad=1, ceil_mode=1)),
            ([2, 5, 6, 7], dict(kernel_shape=[6, 7])),                  # ORT's global fallback
            ([2, 5, 6, 7], dict(kernel_shape=[6, 7], strides=[2, 2])),  # global too
            ([1, 16, 40, 40], dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])),
        ]
        for j, (shape, attrs) in enumerate(pools):
            for cl in [0, 1]:
                nchw = rq(rng, dt, shape)
                x = np.moveaxis(nchw, 1, -1).copy() if cl else nchw
                a = dict(attrs)
                a["channels_last"] = cl
                ins, init = pool_q_ins(rng, dt, x, j % 2 == 1)
                out.append(case("QLinearAveragePool_%s_%d_cl%d" % (np.dtype(dt).name, j, cl),
                                model("QLinearAveragePool", ins, [dt], a, init=init)))
    ins, _ = pool_q_ins(rng, np.uint8, rq(rng, np.uint8, [1, 2, 5, 5]), False)
    out.append(case("QLinearAveragePool_pad_too_big", model("QLinearAveragePool", ins, [np.uint8],
                                                            dict(kernel_shape=[2, 2], pads=[2, 0, 0, 0])),
                    expect_error=True, expect_ort_error=True))
    return out


# ---------------------------------------------------------------- GEMMs

def w8(rng, dt, shape):
    """Weights: int8 within [-64, 63] (see the module docstring), uint8 anywhere."""
    return rq(rng, dt, shape, -64, 63) if dt == np.int8 else rq(rng, dt, shape)


def qgemm_cases(rng):
    out = []
    combos = [(np.uint8, np.uint8), (np.uint8, np.int8), (np.int8, np.int8)]
    j = 0
    for at, bt in combos:
        for out_t in [np.float32, at]:
            for ta, tb in [(0, 0), (1, 0), (0, 1), (1, 1)]:
                for c_kind in ["none", "scalar", "n", "1n", "m1", "mn"]:
                    M, K, N = int(rng.integers(1, 9)), int(rng.integers(1, 40)), int(rng.integers(1, 20))
                    a = rq(rng, at, [K, M] if ta else [M, K]) if at == np.uint8 else w8(rng, at, [K, M] if ta else [M, K])
                    b = w8(rng, bt, [N, K] if tb else [K, N])
                    per_col = j % 3 == 1
                    bs = (np.exp(rng.uniform(-6, -2, N)).astype(np.float32) if per_col else sc(rng, -6, -2))
                    bz = (rq(rng, bt, [N], -20, 20) if bt == np.int8 else rq(rng, bt, [N])) if per_col else zp(rng, bt)
                    if bt == np.int8 and not per_col:
                        bz = np.array(rng.integers(-20, 21), np.int8)
                    ins = [("a", a), ("a_s", sc(rng, -5, -1)), ("a_z", zp(rng, at)), ("b", b), ("b_s", bs), ("b_z", bz)]
                    cshape = {"none": None, "scalar": [], "n": [N], "1n": [1, N], "m1": [M, 1], "mn": [M, N]}[c_kind]
                    ins.append(None if cshape is None else ("c", rng.integers(-3000, 3000, size=cshape).astype(np.int32)))
                    if out_t != np.float32:
                        ins += [("y_s", sc(rng, -3, 0)), ("y_z", zp(rng, out_t))]
                    while ins[-1] is None:
                        ins.pop()
                    attrs = {"transA": ta, "transB": tb}
                    if j % 4 == 3:
                        attrs["alpha"] = float(rng.choice([0.5, 2.0, 0.37]))
                    init = {"b", "b_s", "b_z", "a_s", "a_z", "c"} if j % 2 == 0 else set()
                    out.append(case("QGemm_%s%s_%s_t%d%d_c%s" % (np.dtype(at).name, np.dtype(bt).name,
                                                               np.dtype(out_t).name, ta, tb, c_kind),
                                    model("QGemm", ins, [out_t], attrs, init=init)))
                    j += 1
    # bigger ones (packing, threads, the vector kernels' edges)
    for at, bt, out_t in [(np.uint8, np.int8, np.uint8), (np.uint8, np.uint8, np.float32), (np.int8, np.int8, np.int8)]:
        M, K, N = 67, 301, 129
        a = rq(rng, at, [M, K]) if at == np.uint8 else w8(rng, at, [M, K])
        ins = [("a", a), ("a_s", sc(rng, -5, -2)), ("a_z", zp(rng, at)), ("b", w8(rng, bt, [K, N])),
               ("b_s", np.exp(rng.uniform(-7, -3, N)).astype(np.float32)), ("b_z", np.zeros([N], bt)),
               ("c", rng.integers(-20000, 20000, size=[N]).astype(np.int32))]
        if out_t != np.float32:
            ins += [("y_s", sc(rng, -1, 1)), ("y_z", zp(rng, out_t))]
        out.append(case("QGemm_big_%s%s_%s" % (np.dtype(at).name, np.dtype(bt).name, np.dtype(out_t).name),
                        model("QGemm", ins, [out_t], {}, init={"b", "b_s", "b_z", "c"})))
    # (K = 0 is left to the unit tests: ONNX Runtime 1.30 returns uninitialized memory there)
    ins = [("a", rq(rng, np.uint8, [3, 4])), ("a_s", np.float32(0.1)), ("a_z", np.uint8(3)),
           ("b", rq(rng, np.uint8, [5, 4])), ("b_s", np.float32(0.1)), ("b_z", np.uint8(3))]
    out.append(case("QGemm_bad_k", model("QGemm", ins, [np.float32]), expect_error=True, expect_ort_error=True))
    return out


def mm2f_cases(rng):
    out = []
    j = 0
    for at, bt in [(np.uint8, np.uint8), (np.uint8, np.int8), (np.int8, np.int8)]:
        for a_shape, b_shape in [([5, 17], [17, 9]), ([2, 3, 17], [17, 9]), ([17], [17, 6]), ([2, 4, 11], [2, 11, 7]),
                                 ([4, 11], [3, 11, 5]), ([1, 3, 6], [2, 1, 6, 5]), ([33, 130], [130, 70])]:
            K, N = a_shape[-1], b_shape[-1]
            a = rq(rng, at, a_shape) if at == np.uint8 else w8(rng, at, a_shape)
            b = w8(rng, bt, b_shape)
            per_col = j % 2 == 1
            # per column: [N] for a 2-D B, B's shape with K -> 1 for a batched one (ORT's layouts)
            pshape = [N] if len(b_shape) == 2 else b_shape[:-2] + [1, N]
            bs = np.exp(rng.uniform(-6, -2, pshape)).astype(np.float32) if per_col else sc(rng, -6, -2)
            bz = (rq(rng, bt, pshape, -10, 10) if per_col else zp(rng, bt)) if j % 3 else None
            bias = rng.standard_normal(N).astype(np.float32) if j % 4 < 2 else None
            ins = [("a", a), ("b", b), ("a_s", sc(rng, -5, -1)), ("b_s", bs),
                   ("a_z", zp(rng, at)) if j % 5 else None, ("b_z", bz) if bz is not None else None,
                   ("bias", bias) if bias is not None else None]
            while ins[-1] is None:
                ins.pop()
            init = {"b", "b_s", "b_z", "bias"} if j % 2 == 0 else set()
            out.append(case("MatMulIntegerToFloat_%s%s_%d" % (np.dtype(at).name, np.dtype(bt).name, j),
                            model("MatMulIntegerToFloat", ins, [np.float32], init=init)))
            j += 1
    # layouts ORT's GEMM cannot take: the output is multiplied afterwards (ScaleOutput)
    for tag, a_shape, b_shape, as_shape, bs_shape in [("bs_N_batched", [2, 4, 11], [2, 11, 7], [], [7]),
                                                      ("as_M1", [5, 17], [17, 9], [5, 1], []),
                                                      ("as_N_swapped", [5, 17], [17, 9], [9], [])]:
        ins = [("a", rq(rng, np.uint8, a_shape)), ("b", w8(rng, np.int8, b_shape)),
               ("a_s", np.exp(rng.uniform(-5, -1, as_shape)).astype(np.float32)),
               ("b_s", np.exp(rng.uniform(-6, -2, bs_shape)).astype(np.float32)), ("a_z", zp(rng, np.uint8)),
               ("b_z", np.int8(3)), ("bias", rng.standard_normal(b_shape[-1]).astype(np.float32))]
        out.append(case("MatMulIntegerToFloat_%s" % tag, model("MatMulIntegerToFloat", ins, [np.float32])))
    for bt in [np.uint8, np.int8]:
        for a_shape, b_shape in [([5, 17], [17, 9]), ([2, 3, 17], [17, 9]), ([4, 11], [2, 11, 7]), ([64, 300], [300, 65]),
                                 ([1, 13], [13, 1])]:
            N = b_shape[-1]
            a = (rng.standard_normal(a_shape) * rng.uniform(0.1, 5) + rng.uniform(-2, 2)).astype(np.float32)
            per_col = j % 2 == 1
            pshape = [N] if len(b_shape) == 2 else b_shape[:-2] + [1, N]
            bs = np.exp(rng.uniform(-6, -2, pshape)).astype(np.float32) if per_col else sc(rng, -6, -2)
            bz = (rq(rng, bt, pshape, -10, 10) if per_col else zp(rng, bt)) if j % 3 else None
            bias = rng.standard_normal(N).astype(np.float32) if j % 4 < 2 else None
            ins = [("a", a), ("b", w8(rng, bt, b_shape)), ("b_s", bs), ("b_z", bz) if bz is not None else None,
                   ("bias", bias) if bias is not None else None]
            while ins[-1] is None:
                ins.pop()
            init = {"b", "b_s", "b_z", "bias"} if j % 2 == 0 else set()
            out.append(case("DynamicQuantizeMatMul_%s_%d" % (np.dtype(bt).name, j),
                            model("DynamicQuantizeMatMul", ins, [np.float32], init=init)))
            j += 1
    # all-positive and constant A (the range is widened to include 0; max == min gives scale 1)
    for tag, a in [("positive", np.abs(rng.standard_normal([3, 8])).astype(np.float32) + 1),
                   ("zeros", np.zeros([3, 8], np.float32))]:
        ins = [("a", a), ("b", w8(rng, np.int8, [8, 5])), ("b_s", sc(rng, -6, -2))]
        out.append(case("DynamicQuantizeMatMul_%s" % tag, model("DynamicQuantizeMatMul", ins, [np.float32])))
    return out


# ---------------------------------------------------------------- DynamicQuantizeLSTM

def lstm_cases(rng):
    out = []
    specs = [
        # tag, direction, seq, batch, input, hidden, extras
        ("fwd", "forward", 5, 3, 7, 6, {}),
        ("rev", "reverse", 4, 2, 5, 4, {}),
        ("bidi", "bidirectional", 6, 3, 9, 5, {}),
        ("fwd_bias_init", "forward", 5, 3, 7, 6, {"bias": 1, "init": 1}),
        ("bidi_all", "bidirectional", 5, 4, 6, 7, {"bias": 1, "init": 1, "peep": 1, "lens": [5, 2, 4, 1]}),
        ("rev_lens", "reverse", 6, 3, 4, 5, {"bias": 1, "lens": [3, 6, 1]}),
        ("fwd_lens_no_y", "forward", 6, 3, 4, 5, {"bias": 1, "lens": [4, 6, 2], "no_y": 1}),
        ("per_col", "forward", 4, 2, 8, 5, {"per_col": 1, "bias": 1}),
        ("bidi_per_col_u8", "bidirectional", 4, 2, 8, 5, {"per_col": 1, "bias": 1, "u8": 1}),
        ("u8", "forward", 5, 2, 6, 4, {"u8": 1, "bias": 1, "init": 1}),
        ("clip_forget", "forward", 5, 3, 7, 6, {"bias": 1, "attrs": {"clip": 0.7, "input_forget": 1}}),
        ("acts", "forward", 5, 3, 7, 6, {"bias": 1, "attrs": {"activations": ["Sigmoid", "Relu", "Tanh"]}}),
        ("big", "bidirectional", 7, 5, 40, 33, {"bias": 1, "init": 1}),
    ]
    for j, (tag, direction, S, B, I, H, ex) in enumerate(specs):
        D = 2 if direction == "bidirectional" else 1
        wt = np.uint8 if ex.get("u8") else np.int8
        x = (rng.standard_normal([S, B, I]) * 1.5).astype(np.float32)
        w = w8(rng, wt, [D, I, 4 * H])
        r = w8(rng, wt, [D, H, 4 * H])
        qshape = [D, 4 * H] if ex.get("per_col") else [D]
        ws = np.exp(rng.uniform(-6, -4, qshape)).astype(np.float32)
        rs = np.exp(rng.uniform(-6, -4, qshape)).astype(np.float32)
        if wt == np.uint8:
            # ORT takes one zero point per direction; [D, 4H] ones must all be equal (across directions too)
            if len(qshape) == 2:
                wz, rz = np.full(qshape, rng.integers(100, 156), wt), np.full(qshape, rng.integers(100, 156), wt)
            else:
                wz, rz = rng.integers(100, 156, qshape).astype(wt), rng.integers(100, 156, qshape).astype(wt)
        else:
            wz, rz = np.zeros(qshape, wt), np.zeros(qshape, wt)
        bias = (rng.standard_normal([D, 8 * H]) * 0.5).astype(np.float32) if ex.get("bias") else None
        lens = np.array(ex["lens"], np.int32) if "lens" in ex else None
        h0 = (rng.standard_normal([D, B, H]) * 0.5).astype(np.float32) if ex.get("init") else None
        c0 = (rng.standard_normal([D, B, H]) * 0.5).astype(np.float32) if ex.get("init") else None
        p = (rng.standard_normal([D, 3 * H]) * 0.3).astype(np.float32) if ex.get("peep") else None
        ins = [("x", x), ("w", w), ("r", r), ("b", bias) if bias is not None else None,
               ("lens", lens) if lens is not None else None, ("h0", h0) if h0 is not None else None,
               ("c0", c0) if c0 is not None else None, ("p", p) if p is not None else None,
               ("ws", ws), ("wz", wz), ("rs", rs), ("rz", rz)]
        attrs = {"hidden_size": H, "direction": direction}
        attrs.update(ex.get("attrs", {}))
        init = {"w", "r", "ws", "wz", "rs", "rz", "b", "p"} if j % 2 == 0 else set()
        unused = (0,) if ex.get("no_y") else ()
        out.append(case("DynamicQuantizeLSTM_%s" % tag,
                        model("DynamicQuantizeLSTM", ins, [np.float32] * 3, attrs, init=init, unused_outputs=unused)))
        if tag == "bidi_per_col_u8":
            # per-column uint8 zero points that differ are rejected, as by ORT
            ins[9] = ("wz", np.arange(D * 4 * H).reshape(D, 4 * H).astype(np.uint8))
            out.append(case("DynamicQuantizeLSTM_bad_zp", model("DynamicQuantizeLSTM", ins, [np.float32] * 3, attrs),
                            expect_error=True, expect_ort_error=True))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    out += qgemm_cases(rng)
    out += binary_cases(rng)
    out += table_cases(rng)
    out += concat_cases(rng)
    out += softmax_cases(rng)
    out += pool_cases(rng)
    out += mm2f_cases(rng)
    out += lstm_cases(rng)
    return out
