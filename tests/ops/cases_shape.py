"""Per-op cases for src/ops/shape.c: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
Expand, ConstantOfShape, Constant. Random shapes and attributes from a fixed seed, every opset
variant the checker of this onnx version knows, several dtypes (these ops only move bytes)."""
import numpy as np
import onnx
from onnx import numpy_helper
from case_util import make_case, one_node

SEED = 20240611
MAX_OPSET = onnx.defs.onnx_opset_version()  # onnx 1.12: 17; newer variants are added when it knows them


def model(op, opset, inputs, n_out=1, consts=None, out_dtype=None, order=None, **attrs):
    """One-node model (case_util.one_node) with outputs y, or y0, y1, ... when n_out > 1."""
    outs = ["y%d" % i for i in range(n_out)] if n_out > 1 else ["y"]
    return one_node(op, opset, inputs, consts, outputs=outs, out_dtype=out_dtype, order=order, **attrs)


def case(name, mdl, **extra):
    return make_case(name, mdl, **extra)


def rand_shape(rng, rank, lo=1, hi=6):
    return [int(rng.integers(lo, hi + 1)) for _ in range(rank)]


def rand_array(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind == "f":
        return rng.standard_normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True).astype(dtype)


DTYPES = [np.float32, np.int64, np.int8, np.uint8, np.float16, np.float64, np.int32, np.bool_]


def shape_cases(rng):
    out = []
    for i in range(6):
        x = rand_array(rng, rand_shape(rng, i % 6, 0 if i == 3 else 1), np.float32)
        out.append(case("shape_r%d" % x.ndim, model("Shape", 13, [("x", x)], out_dtype=np.int64)))
        start, end = int(rng.integers(-6, 7)), int(rng.integers(-6, 7))
        out.append(case("shape15_r%d_%d_%d" % (x.ndim, start, end), model("Shape", 15, [("x", x)], out_dtype=np.int64, start=start, end=end)))
        out.append(case("shape15_start%d" % start, model("Shape", 15, [("x", x)], out_dtype=np.int64, start=start)))
        out.append(case("size_r%d" % x.ndim, model("Size", 13, [("x", x)], out_dtype=np.int64)))
    out.append(case("size_empty", model("Size", 7, [("x", np.zeros((3, 0, 2), np.int8))], out_dtype=np.int64)))
    return out


def reshape_cases(rng):
    out = []
    for i in range(14):
        dt = DTYPES[i % len(DTYPES)]
        x = rand_array(rng, rand_shape(rng, int(rng.integers(1, 5))), dt)
        # a random target: split the element count into factors, then put in 0s and one -1
        n, target = x.size, []
        while n > 1 and len(target) < 4:
            divs = [d for d in range(2, n + 1) if n % d == 0]
            d = int(rng.choice(divs))
            target.append(d)
            n //= d
        if n > 1 or not target:
            target.append(n)
        rng.shuffle(target)
        if rng.integers(0, 2):
            target.insert(int(rng.integers(0, len(target) + 1)), 1)
        if len(target) <= x.ndim and rng.integers(0, 2):  # copy a dim with 0 where it matches
            for j in range(len(target)):
                if target[j] == x.shape[j]:
                    target[j] = 0
                    break
        if rng.integers(0, 2):
            target[int(rng.integers(0, len(target)))] = -1
        if target.count(-1) > 1 or (-1 in target and 0 in target and x.size == 0):
            continue
        shp = np.array(target, np.int64)
        opset = [7, 13, 14][i % 3]
        out.append(case("reshape%d_%s_%s" % (opset, "x".join(map(str, x.shape)), "_".join(map(str, target))),
                        model("Reshape", opset, [("x", x)], consts={"shape": shp})))
        out.append(case("reshape%d_fed_%d" % (opset, i), model("Reshape", opset, [("x", x), ("shape", shp)])))
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out.append(case("reshape_allowzero", model("Reshape", 14, [("x", np.zeros((0, 4), np.float32))],
                                               consts={"shape": np.array([2, 0, 2], np.int64)}, allowzero=1)))
    out.append(case("reshape_zero_copies", model("Reshape", 14, [("x", np.zeros((0, 4), np.float32))],
                                                 consts={"shape": np.array([0, 2, 2], np.int64)})))
    out.append(case("reshape_mismatch", model("Reshape", 13, [("x", x), ("shape", np.array([5, 5], np.int64))]),
                    expect_error=True, expect_ort_error=True))
    out.append(case("reshape_two_infer", model("Reshape", 13, [("x", x), ("shape", np.array([-1, -1], np.int64))]),
                    expect_error=True, expect_ort_error=True))
    return out


def flatten_cases(rng):
    out = []
    for i in range(10):
        x = rand_array(rng, rand_shape(rng, int(rng.integers(0, 5))), DTYPES[i % len(DTYPES)])
        opset = [9, 11, 13][i % 3]
        lo = 0 if opset < 11 else -x.ndim
        axis = int(rng.integers(lo, x.ndim + 1))
        out.append(case("flatten%d_r%d_axis%d" % (opset, x.ndim, axis), model("Flatten", opset, [("x", x)], axis=axis)))
    out.append(case("flatten_default", model("Flatten", 13, [("x", rand_array(rng, [2, 3, 5], np.float32))])))
    out.append(case("flatten_bad_axis", model("Flatten", 13, [("x", rand_array(rng, [2, 3], np.float32))], axis=3),
                    expect_error=True, expect_ort_error=True))
    return out


def squeeze_cases(rng):
    out = []
    for i in range(10):
        shape = rand_shape(rng, int(rng.integers(1, 6)), 1, 4)
        ones = [j for j in range(len(shape)) if rng.integers(0, 2)]
        for j in ones:
            shape[j] = 1
        x = rand_array(rng, shape, DTYPES[i % len(DTYPES)])
        all_ones = [j for j in range(len(shape)) if shape[j] == 1]
        axes = [a - (len(shape) if rng.integers(0, 2) else 0) for a in all_ones if rng.integers(0, 2)]
        rng.shuffle(axes)
        for opset in (11, 13):
            if axes and opset == 11:
                m = model("Squeeze", 11, [("x", x)], axes=axes)
            elif axes:
                m = model("Squeeze", 13, [("x", x)], consts={"axes": np.array(axes, np.int64)})
            else:
                m = model("Squeeze", opset, [("x", x)])
            out.append(case("squeeze%d_%d" % (opset, i), m))
        # Unsqueeze: new axes in the output's rank
        n_new = int(rng.integers(1, 3))
        r = x.ndim + n_new
        if r > 8:
            continue
        new = [int(a) for a in rng.choice(r, n_new, replace=False)]
        new = [a - (r if rng.integers(0, 2) else 0) for a in new]
        out.append(case("unsqueeze11_%d" % i, model("Unsqueeze", 11, [("x", x)], axes=new)))
        out.append(case("unsqueeze13_%d" % i, model("Unsqueeze", 13, [("x", x), ("axes", np.array(new, np.int64))])))
    x = rand_array(rng, [2, 1, 3], np.float32)
    out.append(case("squeeze_not_one", model("Squeeze", 13, [("x", x)], consts={"axes": np.array([0], np.int64)}),
                    expect_error=True, expect_ort_error=True))
    out.append(case("unsqueeze_scalar", model("Unsqueeze", 13, [("x", np.array(3.5, np.float32))],
                                              consts={"axes": np.array([0, 1], np.int64)})))
    return out


def transpose_cases(rng):
    out = []
    for i in range(16):
        r = int(rng.integers(1, 7))
        x = rand_array(rng, rand_shape(rng, r, 1, 7 if r > 3 else 13), DTYPES[i % len(DTYPES)])
        perm = [int(p) for p in rng.permutation(r)]
        opset = [7, 13, 21 if MAX_OPSET >= 21 else 13][i % 3]
        out.append(case("transpose%d_%s_%s" % (opset, "x".join(map(str, x.shape)), "".join(map(str, perm))),
                        model("Transpose", opset, [("x", x)], perm=perm)))
    # the layouts that matter in practice, big enough for the tiled and threaded paths
    x = rand_array(rng, [2, 19, 33, 47], np.float32)
    out.append(case("transpose_nchw_nhwc", model("Transpose", 13, [("x", x)], perm=[0, 2, 3, 1])))
    out.append(case("transpose_nhwc_nchw", model("Transpose", 13, [("x", x)], perm=[0, 3, 1, 2])))
    out.append(case("transpose_2d_big", model("Transpose", 13, [("x", rand_array(rng, [301, 517], np.float32))])))
    out.append(case("transpose_2d_u8", model("Transpose", 13, [("x", rand_array(rng, [131, 67], np.uint8))])))
    out.append(case("transpose_default_r4", model("Transpose", 13, [("x", rand_array(rng, [2, 3, 4, 5], np.int64))])))
    out.append(case("transpose_empty", model("Transpose", 13, [("x", np.zeros((3, 0, 2), np.float32))], perm=[2, 0, 1])))
    out.append(case("transpose_bad_perm", model("Transpose", 13, [("x", x)], perm=[0, 1, 1, 2]),
                    expect_error=True, expect_ort_error=True))
    return out


def expand_cases(rng):
    out = []
    for i in range(12):
        r = int(rng.integers(1, 5))
        full = rand_shape(rng, r, 1, 5)
        xs = [d if rng.integers(0, 2) else 1 for d in full]
        ss = [d if (xs[j] == 1 or rng.integers(0, 2)) else 1 for j, d in enumerate(full)]
        drop = int(rng.integers(0, r))  # either side may have fewer dims
        if rng.integers(0, 2):
            xs = xs[drop:]
        else:
            ss = ss[drop:]
        x = rand_array(rng, xs, DTYPES[i % len(DTYPES)])
        opset = [8, 13][i % 2]
        shp = np.array(ss, np.int64)
        out.append(case("expand%d_%s_to_%s" % (opset, "x".join(map(str, xs)) or "s", "x".join(map(str, ss)) or "s"),
                        model("Expand", opset, [("x", x), ("shape", shp)])))
    out.append(case("expand_big", model("Expand", 13, [("x", rand_array(rng, [64, 1, 33], np.float32))],
                                        consts={"shape": np.array([2, 64, 45, 33], np.int64)})))
    out.append(case("expand_zero", model("Expand", 13, [("x", rand_array(rng, [1, 3], np.float32))],
                                         consts={"shape": np.array([0, 1], np.int64)})))
    out.append(case("expand_incompatible", model("Expand", 13, [("x", rand_array(rng, [3], np.float32))],
                                                 consts={"shape": np.array([2], np.int64)}),
                    expect_error=True, expect_ort_error=True))
    return out


def constant_cases(rng):
    out = []
    for i, dt in enumerate([None, np.float32, np.int64, np.int32, np.int8, np.uint8, np.float64, np.bool_]):
        shp = np.array(rand_shape(rng, i % 4, 0 if i == 5 else 1), np.int64)
        kw = {"out_dtype": dt or np.float32}
        if dt is not None:
            kw["value"] = numpy_helper.from_array(rand_array(rng, [1], dt), "value")
        out.append(case("constantofshape_%s_%d" % (np.dtype(dt).name if dt else "default", i),
                        model("ConstantOfShape", 9, [("shape", shp)], **kw)))
    t = rand_array(rng, [2, 3], np.float32)
    consts = [
        ("value", np.float32, dict(value=numpy_helper.from_array(t, "v"))),
        ("value_i8", np.int8, dict(value=numpy_helper.from_array(rand_array(rng, [4], np.int8), "v"))),
        ("value_float", np.float32, dict(value_float=1.25)),
        ("value_floats", np.float32, dict(value_floats=[1.5, -2.0, 3.25])),
        ("value_int", np.int64, dict(value_int=-9)),
        ("value_ints", np.int64, dict(value_ints=[3, 1, 4, 1, 5])),
    ]
    for name, dt, kw in consts:
        out.append(case("constant_%s" % name, model("Constant", 13, [], out_dtype=dt, **kw)))
    out.append(case("constant11", model("Constant", 11, [], out_dtype=np.float32, value=numpy_helper.from_array(t, "v"))))
    out.append(case("constant_string", model("Constant", 13, [], out_dtype=np.object_, value_string="hello"),
                    expect_error=True))
    return out


def depth_space_cases(rng):
    out = []
    for i in range(10):
        b = int(rng.integers(1, 4))
        n, c, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
        dt = [np.float32, np.float64][i % 2]  # what ONNX Runtime's CPU kernels take
        mode = ["DCR", "CRD"][(i // 2) % 2]
        opset = 13 if i % 3 else 11
        x = rand_array(rng, [n, c * b * b, h, w], dt)
        kw = dict(blocksize=b)
        if mode == "CRD" or i % 4 == 0:
            kw["mode"] = mode
        out.append(case("depthtospace%d_%s_b%d_%s" % (opset, mode, b, "x".join(map(str, x.shape))),
                        model("DepthToSpace", opset, [("x", x)], **kw)))
        y = rand_array(rng, [n, c, h * b, w * b], dt)
        out.append(case("spacetodepth%d_b%d_%s" % (opset, b, "x".join(map(str, y.shape))),
                        model("SpaceToDepth", opset, [("x", y)], blocksize=b)))
    x = rand_array(rng, [1, 64, 31, 29], np.float32)  # a super-resolution head
    out.append(case("depthtospace_big", model("DepthToSpace", 13, [("x", x)], blocksize=4, mode="CRD")))
    out.append(case("depthtospace_bad_channels", model("DepthToSpace", 13, [("x", rand_array(rng, [1, 6, 2, 2], np.float32))],
                                                       blocksize=2), expect_error=True, expect_ort_error=True))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for gen in (shape_cases, reshape_cases, flatten_cases, squeeze_cases, transpose_cases, expand_cases,
                constant_cases, depth_space_cases):
        out += gen(rng)
    return out
