"""Per-op cases for src/ops/elementwise.c and src/ops/logical.c: Add Sub Mul Div Pow Mod PRelu,
variadic Max Min Sum Mean, comparisons, And Or Xor Not, Where. Random shapes from a fixed seed with
odd sizes and every broadcasting pattern (same shape, scalar, per-channel [C,1,1], row, outer
product, rank mismatch, size-1 and zero-size dims), several dtypes and opsets."""
import numpy as np
from case_util import make_case, one_node

SEED = 7700


def model(op, opset, inputs, out_dtype=None, consts=None, **attrs):
    """One-node model over fed inputs [(name, array)] and initializers {name: array} (after them)."""
    return one_node(op, opset, inputs, consts, outputs=("out",), out_dtype=out_dtype, **attrs)


def case(name, mdl, rtol=1e-6, atol=1e-6, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def rand(rng, shape, dtype, lo=-5, hi=5, nonzero=False):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind == "f":
        a = rng.uniform(lo, hi, size=shape).astype(dtype)
        if nonzero:
            a[np.abs(a) < 0.1] = 0.5
        return a
    a = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    if nonzero:
        a[a == 0] = 1
    return a


def pair_shapes(rng):
    """(name, shape_a, shape_b) covering the broadcasting patterns."""
    n, c, h, w = 2, int(rng.integers(3, 8)), int(rng.integers(3, 9)), int(rng.integers(3, 11))
    out = [
        ("same", [n, c, h, w], [n, c, h, w]),
        ("scalar_b", [n, c, h, w], []),
        ("scalar_a", [], [c, h]),
        ("chan_c11", [n, c, h, w], [c, 1, 1]),
        ("chan_1c11", [n, c, h, w], [1, c, 1, 1]),
        ("row", [n, c, h, w], [w]),
        ("outer", [h, 1], [1, w]),
        ("rank_mismatch", [c, 1, w], [n, 1, 1, c, h, 1]),
        ("size1_b", [n, c, h, w], [1, 1, h, 1]),
        ("size1_a", [1, c, 1, w], [n, c, h, w]),
        ("one_elem", [1], [c, h]),
        ("zero_size", [0, h], [1, h]),
        ("zero_size_b", [c, 1], [c, 0]),
        ("vector_same", [h * w + 1], [h * w + 1]),
    ]
    for i in range(3):  # random: pick a shape, turn dims into 1 or drop leading dims for the other side
        rank = int(rng.integers(1, 6))
        full = [int(rng.integers(1, 7)) for _ in range(rank)]
        other = [d if rng.random() < 0.5 else 1 for d in full][int(rng.integers(0, rank)):]
        out.append(("random%d" % i, full, other) if i % 2 else ("random%d" % i, other, full))
    return out


def binary_cases(rng):
    out = []
    shapes = pair_shapes(rng)
    for op in ["Add", "Sub", "Mul", "Div"]:
        for i, (sname, sa, sb) in enumerate(shapes):
            opset = [7, 13, 14, 21][i % 4]
            a = rand(rng, sa, np.float32)
            b = rand(rng, sb, np.float32, nonzero=op == "Div")
            out.append(case("%s_%s_f32_o%d" % (op.lower(), sname, opset), model(op, opset, [("a", a), ("b", b)])))
        for dt in [np.int32, np.int64]:
            for sname, sa, sb in shapes[:8]:
                a = rand(rng, sa, dt, -100, 100)
                b = rand(rng, sb, dt, -9, 9, nonzero=op == "Div")
                out.append(case("%s_%s_%s" % (op.lower(), sname, np.dtype(dt).name),
                                model(op, 14 if sname != "same" else 7, [("a", a), ("b", b)]), rtol=0, atol=0))
        # constant operand (initializer), as a Conv bias or a scale is
        x = rand(rng, [1, 5, 7, 3], np.float32)
        out.append(case("%s_const_chan" % op.lower(),
                        model(op, 13, [("x", x)], consts={"c": rand(rng, [5, 1, 1], np.float32, nonzero=True)})))
    # doubles and small ints
    out.append(case("add_f64", model("Add", 14, [("a", rand(rng, [3, 5], np.float64)), ("b", rand(rng, [5], np.float64))])))
    out.append(case("mul_u8", model("Mul", 14, [("a", rand(rng, [4, 3], np.uint8, 0, 15)), ("b", rand(rng, [3], np.uint8, 0, 15))]),
                    rtol=0, atol=0))
    out.append(case("sub_i8", model("Sub", 14, [("a", rand(rng, [7], np.int8, -60, 60)), ("b", rand(rng, [1], np.int8, -60, 60))]),
                    rtol=0, atol=0))
    # shape arithmetic as exporters write it: int64 vectors and scalars
    shp = np.array([1, 3, 224, 224], np.int64)
    out.append(case("shape_mul_i64", model("Mul", 13, [("s", shp)], consts={"k": np.array(2, np.int64)}), rtol=0, atol=0))
    out.append(case("shape_div_i64", model("Div", 13, [("s", shp)], consts={"k": np.array([1, 1, 7, 7], np.int64)}),
                    rtol=0, atol=0))
    out.append(case("div_trunc_i64", model("Div", 13, [("a", np.array([7, -7, 7, -7, 0], np.int64)),
                                                       ("b", np.array([2, 2, -2, -2, 3], np.int64))]), rtol=0, atol=0))
    return out


def pow_cases(rng):
    out = []
    for i, (sname, sa, sb) in enumerate(pair_shapes(rng)[:9]):
        opset = [7, 12, 13, 15][i % 4]
        a = rand(rng, sa, np.float32, 0.1, 3)
        b = rand(rng, sb, np.float32, -2, 2)
        out.append(case("pow_%s_o%d" % (sname, opset), model("Pow", opset, [("a", a), ("b", b)]), rtol=1e-5))
    x = rand(rng, [3, 7, 5], np.float32, -3, 3)
    for e in [2.0, 3.0, 1.0, 0.5, -1.0, 0.0]:
        xb = np.abs(x) + 0.1 if e in (0.5,) else x
        out.append(case("pow_scalar_exp_%g" % e, model("Pow", 13, [("x", xb)], consts={"e": np.array(e, np.float32)}),
                        rtol=1e-5))
    # integer exponents with a float base (opset 12+), negative bases
    for dt in [np.int32, np.int64]:
        e = rand(rng, [5], dt, -3, 4)
        out.append(case("pow_f32_%s_exp" % np.dtype(dt).name,
                        model("Pow", 13, [("x", rand(rng, [4, 5], np.float32, -3, 3, nonzero=True)), ("e", e)]), rtol=1e-5))
    out.append(case("pow_i64_i64", model("Pow", 15, [("x", rand(rng, [6], np.int64, -5, 5)),
                                                     ("e", rand(rng, [6], np.int64, 0, 5))]), rtol=0, atol=0))
    out.append(case("pow_i32_i32", model("Pow", 13, [("x", rand(rng, [2, 3], np.int32, -4, 4)),
                                                     ("e", rand(rng, [3], np.int32, 0, 4))]), rtol=0, atol=0))
    return out


def mod_cases(rng):
    out = []
    for dt in [np.int32, np.int64, np.int8, np.uint8]:
        lo = 0 if dt == np.uint8 else -50
        for fm in [0, 1]:
            a = rand(rng, [3, 11], dt, lo, 50)
            b = rand(rng, [11], dt, lo // 5, 10, nonzero=True)
            out.append(case("mod_%s_fmod%d" % (np.dtype(dt).name, fm),
                            model("Mod", 13 if fm else 10, [("a", a), ("b", b)], fmod=fm), rtol=0, atol=0))
    for dt in [np.float32, np.float64]:
        a = rand(rng, [4, 1, 9], dt, -20, 20)
        b = rand(rng, [5, 1], dt, -4, 4, nonzero=True)
        out.append(case("mod_%s_fmod1" % np.dtype(dt).name, model("Mod", 13, [("a", a), ("b", b)], fmod=1), rtol=1e-5))
    out.append(case("mod_f32_fmod0_rejected", model("Mod", 13, [("a", rand(rng, [3], np.float32)),
                                                                 ("b", rand(rng, [3], np.float32, nonzero=True))]),
                    expect_error=True))
    return out


def variadic_cases(rng):
    out = []
    shapes = [[[3, 4]], [[2, 3, 4], [4]], [[3, 1], [1, 5], []], [[2, 1, 3], [4, 1], [3], [1, 1, 1]],
              [[0, 3], [1, 3]], [[7], [7], [7], [7], [7]]]
    for op in ["Max", "Min", "Sum", "Mean"]:
        for i, shs in enumerate(shapes):
            opset = [7, 8, 12, 13][i % 4]
            if opset == 7 and len(set(map(tuple, shs))) > 1:
                opset = 8  # broadcasting came in opset 8
            ins = [("x%d" % j, rand(rng, s, np.float32)) for j, s in enumerate(shs)]
            out.append(case("%s_%din_o%d" % (op.lower(), len(shs), opset), model(op, opset, ins), rtol=1e-6))
    for op in ["Max", "Min"]:
        for dt in [np.int32, np.int64]:
            ins = [("x%d" % j, rand(rng, s, dt, -100, 100)) for j, s in enumerate([[2, 5], [5], [1, 1]])]
            out.append(case("%s_%s" % (op.lower(), np.dtype(dt).name), model(op, 13, ins), rtol=0, atol=0))
    return out


def prelu_cases(rng):
    out = []
    for i, (xs, ss) in enumerate([([2, 5, 7, 6], [5, 1, 1]), ([1, 3, 9], [3, 1]), ([4, 6], [6]), ([3, 4, 5], [1]),
                                  ([2, 3, 4], [2, 3, 4]), ([1, 8, 3, 3], [1, 8, 1, 1])]):
        opset = [7, 9, 16, 21][i % 4]
        x = rand(rng, xs, np.float32)
        s = rand(rng, ss, np.float32, -1, 1)
        out.append(case("prelu_%d_o%d" % (i, opset), model("PRelu", opset, [("x", x), ("slope", s)])))
    out.append(case("prelu_const_slope", model("PRelu", 9, [("x", rand(rng, [1, 4, 5, 5], np.float32))],
                                                consts={"slope": rand(rng, [4, 1, 1], np.float32, 0, 0.5)})))
    return out


def logical_cases(rng):
    out = []
    shapes = pair_shapes(rng)
    for op, opsets in [("Equal", [7, 11, 13]), ("Greater", [7, 9, 13]), ("Less", [7, 9, 13]),
                       ("GreaterOrEqual", [12, 16, 21]), ("LessOrEqual", [12, 16, 21])]:
        for i, (sname, sa, sb) in enumerate(shapes[:9]):
            opset = opsets[i % len(opsets)]
            dt = [np.float32, np.int64, np.int32][i % 3]
            if opset == 7:  # Equal-7 takes ints and bool, Greater-7 and Less-7 floats only
                dt = np.int64 if op == "Equal" else np.float32
            a = rand(rng, sa, dt, -3, 3)
            b = rand(rng, sb, dt, -3, 3)
            if dt == np.float32:  # make ties happen
                a, b = np.round(a), np.round(b)
            out.append(case("%s_%s_%s_o%d" % (op.lower(), sname, np.dtype(dt).name, opset),
                            model(op, opset, [("a", a), ("b", b)], out_dtype=np.bool_), rtol=0, atol=0))
    out.append(case("equal_bool", model("Equal", 11, [("a", rand(rng, [3, 4], np.bool_)), ("b", rand(rng, [4], np.bool_))],
                                        out_dtype=np.bool_), rtol=0, atol=0))
    for op in ["And", "Or", "Xor"]:
        for sname, sa, sb in shapes[:8]:
            out.append(case("%s_%s" % (op.lower(), sname),
                            model(op, 7, [("a", rand(rng, sa, np.bool_)), ("b", rand(rng, sb, np.bool_))]), rtol=0, atol=0))
    out.append(case("not", model("Not", 7, [("a", rand(rng, [3, 5, 2], np.bool_))]), rtol=0, atol=0))
    # Where: three-way broadcasting, several value dtypes
    wshapes = [([2, 3, 4], [2, 3, 4], [2, 3, 4]), ([3, 1], [1, 4], []), ([5], [2, 1], [1, 5]), ([], [3, 2], [2]),
               ([1, 4, 1], [3, 1, 1], [1, 1, 6]), ([0, 2], [1, 2], [2])]
    for i, (sc, sx, sy) in enumerate(wshapes):
        dt = [np.float32, np.int64, np.int32, np.uint8, np.float32, np.float64][i % 6]  # ORT has no bool Where
        opset = [9, 16, 21][i % 3]
        out.append(case("where_%d_%s_o%d" % (i, np.dtype(dt).name, opset),
                        model("Where", opset, [("c", rand(rng, sc, np.bool_)), ("x", rand(rng, sx, dt, -9, 9)),
                                               ("y", rand(rng, sy, dt, -9, 9))], out_dtype=dt), rtol=0, atol=0))
    return out


def error_cases(rng):
    out = []
    a, b = rand(rng, [2, 3], np.float32), rand(rng, [4], np.float32)
    for op in ["Add", "Mul", "Sub", "Div", "Pow"]:
        out.append(case("%s_bad_broadcast" % op.lower(), model(op, 13, [("a", a), ("b", b)]), expect_error=True))
    out.append(case("max_bad_broadcast", model("Max", 13, [("a", a), ("b", a), ("c", b)]), expect_error=True))
    out.append(case("where_bad_broadcast", model("Where", 16, [("c", rand(rng, [4], np.bool_)), ("x", a), ("y", a)]),
                    expect_error=True))
    out.append(case("equal_bad_broadcast", model("Equal", 13, [("a", a), ("b", b)], out_dtype=np.bool_),
                    expect_error=True))
    out.append(case("prelu_bad_slope", model("PRelu", 16, [("x", rand(rng, [3], np.float32)),
                                                           ("s", rand(rng, [2, 3], np.float32))]), expect_error=True))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return (binary_cases(rng) + pow_cases(rng) + mod_cases(rng) + variadic_cases(rng) + prelu_cases(rng)
            + logical_cases(rng) + error_cases(rng))
