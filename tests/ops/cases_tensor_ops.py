"""Per-op cases for src/ops/tensor_ops.c: Concat, Split, Slice, Gather, GatherElements, Tile, Pad, Range.
Random shapes and attributes from a fixed seed, every opset variant the checker of this onnx version
knows (newer ones are added automatically when it knows them), several dtypes, spec corners."""
import numpy as np
import onnx
from case_util import make_case, one_node

SEED = 987654321
MAX_OPSET = onnx.defs.onnx_opset_version()  # onnx 1.12: 17 (Split num_outputs needs 18, Pad axes 18, wrap 19)
I64_MAX, I64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def model(op, opset, inputs, n_out=1, consts=None, out_dtype=None, order=None, **attrs):
    """One-node model (case_util.one_node) with outputs y, or y0, y1, ... when n_out > 1."""
    outs = ["y%d" % i for i in range(n_out)] if n_out > 1 else ["y"]
    return one_node(op, opset, inputs, consts, outputs=outs, out_dtype=out_dtype, order=order, **attrs)


def case(name, mdl, **extra):
    return make_case(name, mdl, **extra)


def error_case(name, mdl):
    return case(name, mdl, expect_error=True, expect_ort_error=True)


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


def sh(shape):
    return "x".join(map(str, shape)) or "s"


# dtypes ONNX Runtime's CPU kernels accept for the data-movement ops below
DTYPES = [np.float32, np.int64, np.int8, np.uint8, np.float64, np.int32, np.bool_, np.float16]
PAD_DTYPES = [np.float32, np.int64, np.int8, np.uint8, np.float64, np.int32]


def concat_cases(rng):
    out = []
    for i in range(14):
        r = int(rng.integers(1, 6))
        opset = [7, 11, 13][i % 3]
        axis = int(rng.integers(-r if opset >= 11 else 0, r))
        base = rand_shape(rng, r, 1, 5)
        n_in = int(rng.integers(1, 5))
        dt = DTYPES[i % len(DTYPES)]
        xs = []
        for j in range(n_in):
            s = list(base)
            s[axis] = int(rng.integers(0 if j else 1, 5))  # later inputs may be empty along the axis
            xs.append(("x%d" % j, rand_array(rng, s, dt)))
        out.append(case("concat%d_%d_axis%d_%s" % (opset, n_in, axis, "_".join(sh(a.shape) for _, a in xs)),
                        model("Concat", opset, xs, axis=axis)))
    big = [("a", rand_array(rng, [2, 37, 41, 29], np.float32)), ("b", rand_array(rng, [2, 11, 41, 29], np.float32))]
    out.append(case("concat_big_channels", model("Concat", 13, big, axis=1)))
    big = [("a", rand_array(rng, [3, 50, 7], np.float32)), ("b", rand_array(rng, [3, 50, 1], np.float32))]
    out.append(case("concat_last_axis", model("Concat", 13, big, axis=-1)))
    out.append(case("concat_const_and_fed", model("Concat", 13, [("x", rand_array(rng, [2, 3], np.int64))],
                                                  consts={"c": np.array([[7], [8]], np.int64)}, axis=1)))
    out.append(error_case("concat_mismatch", model("Concat", 13, [("a", rand_array(rng, [2, 3], np.float32)),
                                                                  ("b", rand_array(rng, [3, 3], np.float32))], axis=1)))
    return out


def split_cases(rng):
    out = []
    for i in range(14):
        r = int(rng.integers(1, 5))
        shape = rand_shape(rng, r, 1, 9)
        opset = [7, 11, 13][i % 3]
        axis = int(rng.integers(-r if opset >= 11 else 0, r))
        dim = shape[axis]
        x = rand_array(rng, shape, DTYPES[i % len(DTYPES)])
        if i % 2:  # explicit sizes, zeros allowed
            n = int(rng.integers(1, 5))
            cuts = np.sort(rng.integers(0, dim + 1, size=n - 1))
            sizes = [int(v) for v in np.diff(np.concatenate([[0], cuts, [dim]]))]
            if opset < 13:
                m = model("Split", opset, [("x", x)], n_out=len(sizes), axis=axis, split=sizes)
            else:
                m = model("Split", opset, [("x", x)], n_out=len(sizes), consts={"split": np.array(sizes, np.int64)},
                          axis=axis)
            out.append(case("split%d_%s_axis%d_%s" % (opset, sh(shape), axis, "_".join(map(str, sizes))), m))
        else:  # equal parts
            divs = [d for d in range(1, min(dim, 5) + 1) if dim % d == 0]
            n = int(rng.choice(divs))
            out.append(case("split%d_%s_axis%d_equal%d" % (opset, sh(shape), axis, n),
                            model("Split", opset, [("x", x)], n_out=n, axis=axis)))
    if MAX_OPSET >= 18:  # num_outputs with an uneven last chunk
        for dim, n in ((7, 3), (10, 4), (5, 5), (9, 2)):
            x = rand_array(rng, [3, dim], np.float32)
            out.append(case("split18_num_outputs_%d_%d" % (dim, n),
                            model("Split", 18, [("x", x)], n_out=n, axis=1, num_outputs=n)))
    x = rand_array(rng, [6, 5], np.float32)
    out.append(error_case("split_uneven", model("Split", 13, [("x", x)], n_out=4, axis=0)))
    out.append(error_case("split_bad_sum", model("Split", 13, [("x", x)], n_out=2, consts={"split": np.array([2, 2], np.int64)})))
    return out


def slice_ref(x, starts, ends, axes, steps):
    """The spec's clamping (which differs from Python slicing for negative steps), in numpy."""
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        d = x.shape[a]
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
        sl[a] = slice(s, None if e < 0 else e, st)
    return x[tuple(sl)]


def slice_cases(rng):
    out = []
    for i in range(24):
        r = int(rng.integers(1, 5))
        shape = rand_shape(rng, r, 0 if i % 7 == 3 else 1, 9)
        x = rand_array(rng, shape, DTYPES[i % len(DTYPES)])
        k = int(rng.integers(1, r + 1))
        axes = [int(a) for a in rng.choice(r, k, replace=False)]
        opset = [7, 10, 11, 13][i % 4]
        starts, ends, steps = [], [], []
        for a in axes:
            d = shape[a]
            st = 1 if opset < 10 else int(rng.choice([1, 1, 2, 3, -1, -2, -3]))
            s, e = int(rng.integers(-d - 3, d + 4)), int(rng.integers(-d - 3, d + 4))
            u = int(rng.integers(0, 6))
            if u == 0:  # the spec's "to the end" values
                e = I64_MAX if st > 0 else I64_MIN
            elif u == 1 and st < 0:
                s = I64_MAX
            elif u == 2 and st > 0:
                s = I64_MIN
            starts.append(s)
            ends.append(e)
            steps.append(st)
        if opset >= 11 and rng.integers(0, 2):
            axes = [a - r for a in axes]
        name = "slice%d_%s_%d" % (opset, sh(shape), i)
        if opset < 10:
            kw = dict(starts=starts, ends=ends)
            if rng.integers(0, 2) or axes != list(range(k)):
                kw["axes"] = axes
            out.append(case(name, model("Slice", opset, [("x", x)], **kw)))
            continue
        dt = np.int64 if rng.integers(0, 3) else np.int32
        if dt == np.int32:
            clip = lambda v: int(np.clip(v, np.iinfo(np.int32).min, np.iinfo(np.int32).max))
            starts, ends, steps = [clip(v) for v in starts], [clip(v) for v in ends], [clip(v) for v in steps]
        consts = {"starts": np.array(starts, dt), "ends": np.array(ends, dt)}
        order = ["x", "starts", "ends"]
        if steps != [1] * k or rng.integers(0, 2):
            consts["axes"] = np.array(axes, dt)
            consts["steps"] = np.array(steps, dt)
            order += ["axes", "steps"]
        elif axes != list(range(k)):
            consts["axes"] = np.array(axes, dt)
            order += ["axes"]
        fed = [("x", x)]
        if i % 5 == 4:  # feed the parameters at run time too
            fed += [(n, consts.pop(n)) for n in list(consts)]
        out.append(case(name, model("Slice", opset, fed, consts=consts, order=order)))
    # ONNX Runtime reads an end of INT32_MAX/INT64_MAX with a negative step as "to the beginning";
    # the spec clamps it to dims-1 (an empty slice here). octet follows the spec: hand-computed reference.
    x = np.arange(10, dtype=np.float32)
    consts = {"s": np.array([5], np.int64), "e": np.array([I64_MAX], np.int64), "a": np.array([0], np.int64),
              "st": np.array([-1], np.int64)}
    out.append(case("slice_intmax_end_negative_step", model("Slice", 13, [("x", x)], consts=consts),
                    outputs={"y": slice_ref(x, [5], [I64_MAX], [0], [-1])}))
    big = rand_array(rng, [3, 64, 55, 57], np.float32)
    out.append(case("slice_big", model("Slice", 13, [("x", big)],
                                       consts={"s": np.array([1, 3], np.int64), "e": np.array([-1, 50], np.int64),
                                               "a": np.array([1, 3], np.int64), "st": np.array([1, 2], np.int64)})))
    out.append(error_case("slice_zero_step", model("Slice", 13, [("x", x)],
                                                   consts={"s": np.array([0], np.int64), "e": np.array([5], np.int64),
                                                           "a": np.array([0], np.int64), "st": np.array([0], np.int64)})))
    return out


def gather_cases(rng):
    out = []
    for i in range(16):
        r = int(rng.integers(1, 5))
        shape = rand_shape(rng, r, 1, 6)
        x = rand_array(rng, shape, DTYPES[i % len(DTYPES)])
        opset = [7, 11, 13][i % 3]
        axis = int(rng.integers(-r if opset >= 11 else 0, r))
        d = shape[axis]
        q = int(rng.integers(0, 3))
        lo = -d if opset >= 11 else 0
        idx = rng.integers(lo, d, size=rand_shape(rng, q, 0 if i == 5 else 1, 4))
        idx = idx.astype(np.int32 if i % 2 else np.int64)
        if i % 3 == 1:
            out.append(case("gather%d_%s_axis%d_q%d" % (opset, sh(shape), axis, q),
                            model("Gather", opset, [("x", x)], consts={"i": idx}, axis=axis)))
        else:
            out.append(case("gather%d_%s_axis%d_q%d" % (opset, sh(shape), axis, q),
                            model("Gather", opset, [("x", x), ("i", idx)], axis=axis)))
        # GatherElements: indices of the same rank, no larger than the data outside the axis
        ishape = [int(rng.integers(1, s + 1)) if j != (axis % r) else int(rng.integers(1, 5)) for j, s in enumerate(shape)]
        eidx = rng.integers(-d if opset >= 11 else 0, d, size=ishape).astype(np.int64 if i % 2 else np.int32)
        if opset >= 11:
            out.append(case("gatherelements%d_%s_axis%d" % (opset, sh(shape), axis),
                            model("GatherElements", opset, [("x", x), ("i", eidx)], axis=axis)))
    x = rand_array(rng, [40, 64], np.float32)  # an embedding-style lookup
    out.append(case("gather_embedding", model("Gather", 13, [("x", x), ("i", rng.integers(0, 40, size=[3, 17]))], axis=0)))
    out.append(error_case("gather_out_of_range", model("Gather", 13, [("x", x), ("i", np.array([40], np.int64))])))
    out.append(error_case("gather_negative_out_of_range",
                          model("Gather", 13, [("x", x), ("i", np.array([0, -41], np.int64))])))
    out.append(error_case("gatherelements_out_of_range",
                          model("GatherElements", 13, [("x", x), ("i", np.full([2, 2], 64, np.int64))], axis=1)))
    return out


def tile_cases(rng):
    out = []
    for i in range(12):
        r = int(rng.integers(1, 5))
        x = rand_array(rng, rand_shape(rng, r, 1, 5), DTYPES[i % len(DTYPES)])
        reps = np.array([int(rng.integers(0 if i == 7 else 1, 4)) for _ in range(r)], np.int64)
        opset = [7, 13][i % 2]
        if i % 3:
            m = model("Tile", opset, [("x", x)], consts={"r": reps})
        else:
            m = model("Tile", opset, [("x", x), ("r", reps)])
        out.append(case("tile%d_%s_%s" % (opset, sh(x.shape), "_".join(map(str, reps))), m))
    out.append(case("tile_big", model("Tile", 13, [("x", rand_array(rng, [1, 3, 37, 41], np.float32))],
                                      consts={"r": np.array([2, 1, 3, 2], np.int64)})))
    return out


def pad_cases(rng):
    out = []
    modes = ["constant", "reflect", "edge"] + (["wrap"] if MAX_OPSET >= 19 else [])
    for i in range(24):
        r = int(rng.integers(1, 5))
        shape = rand_shape(rng, r, 1, 6)
        dt = PAD_DTYPES[i % len(PAD_DTYPES)]
        x = rand_array(rng, shape, dt)
        mode = modes[i % len(modes)]
        opset = [7, 11, 13, 18 if MAX_OPSET >= 18 else 13][(i // 3) % 4]
        if mode == "wrap":
            opset = 19
        # reflect needs pads < dim; ONNX Runtime's wrap fills garbage past one period (pads > dim)
        lims = [shape[a] - 1 if mode == "reflect" else min(shape[a], 3) if mode == "wrap" else 3 for a in range(r)]
        pads = [int(rng.integers(0, lims[a % r] + 1)) for a in range(2 * r)]
        if mode == "constant" and i % 4 == 0:  # negative pads crop
            for a in range(2 * r):
                if rng.integers(0, 3) == 0:
                    pads[a] = -int(rng.integers(0, (shape[a % r] + 1) // 2 + 1))
        value = rand_array(rng, [], dt) if mode == "constant" and rng.integers(0, 2) else None
        name = "pad%d_%s_%s_%s" % (opset, mode, sh(shape), "_".join(map(str, pads)))
        if opset == 7:
            if not np.issubdtype(dt, np.floating):
                continue  # Pad before opset 11 is float-only
            kw = dict(mode=mode, pads=pads)
            if value is not None:
                kw["value"] = float(value)
            out.append(case(name, model("Pad", 7, [("x", x)], **kw)))
            continue
        consts = {"pads": np.array(pads, np.int64)}
        order = ["x", "pads"]
        if value is not None:
            consts["value"] = np.array(value, dt)
            order.append("value")
        if opset >= 18 and i % 2:  # pads for some axes only
            k = int(rng.integers(1, r + 1))
            axes = [int(a) for a in rng.choice(r, k, replace=False)]
            sub = [pads[a] for a in axes] + [pads[a + r] for a in axes]
            consts["pads"] = np.array(sub, np.int64)
            consts["axes"] = np.array([a - r if rng.integers(0, 2) else a for a in axes], np.int64)
            if "value" not in consts:
                order.append("")
            order.append("axes")
        fed = [("x", x)]
        if i % 5 == 2:
            fed.append(("pads", consts.pop("pads")))
        out.append(case(name, model("Pad", opset, fed, consts=consts, order=order, mode=mode)))
    # reflect all the way to the edges on a big NCHW image
    x = rand_array(rng, [1, 3, 45, 67], np.float32)
    for mode in ("reflect", "edge", "constant"):
        pads = np.array([0, 0, 3, 5, 0, 0, 4, 2], np.int64)
        out.append(case("pad_image_%s" % mode, model("Pad", 13, [("x", x)], consts={"pads": pads}, mode=mode)))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    # negative pads with reflect: ONNX Runtime crops first, then reflects within what is left
    out.append(case("pad_negative_reflect", model("Pad", 13, [("x", x)], consts={"pads": np.array([0, -1, 0, 2], np.int64)},
                                                  mode="reflect")))
    out.append(error_case("pad_crop_too_much", model("Pad", 13, [("x", x)], consts={"pads": np.array([-2, 0, -2, 0], np.int64)})))
    return out


def range_cases(rng):
    out = []
    for i, (dt, s, l, d) in enumerate([
        (np.int64, 3, 17, 3), (np.int64, 10, -4, -3), (np.int32, -5, 5, 1), (np.int32, 7, 7, 2),
        (np.int16, 1, 100, 9), (np.float32, 0.0, 1.0, 0.1), (np.float32, 2.5, -3.1, -0.7), (np.float64, -1.0, 4.0, 0.3),
        (np.float32, 1.0, 5.0, -1.0), (np.int64, 0, 1000, 7),
    ]):
        start, limit, delta = (np.array(v, dt) for v in (s, l, d))
        name = "range_%s_%d" % (np.dtype(dt).name, i)
        if i % 2:
            out.append(case(name, model("Range", 11, [("s", start), ("l", limit), ("d", delta)]), rtol=1e-6, atol=1e-6))
        else:
            out.append(case(name, model("Range", 11, [("s", start)], consts={"l": limit, "d": delta}), rtol=1e-6,
                            atol=1e-6))
    return out


def topk_cases(rng):
    out = []
    for i in range(12):
        r = int(rng.integers(1, 4))
        shape = rand_shape(rng, r, 1, 9)
        opset = [7, 10, 11][i % 3]
        dt = [np.float32, np.int64, np.float64, np.int32][i % 4] if opset >= 11 else np.float32
        if np.issubdtype(dt, np.integer):  # distinct values: ties are tested by hand in the unit test
            x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(dt) - 7
        else:
            x = rand_array(rng, shape, dt)
        axis = int(rng.integers(-r if opset >= 11 else 0, r)) if i % 2 else -1
        k = int(rng.integers(0 if i == 4 else 1, shape[axis] + 1))
        name = "topk%d_%s_axis%d_k%d" % (opset, sh(shape), axis, k)
        kw = dict(axis=axis)
        if opset >= 11:
            kw["largest"] = int(i % 4 != 3)
        if opset < 10:
            m = model("TopK", opset, [("x", x)], n_out=2, k=k, **kw)
        else:
            m = model("TopK", opset, [("x", x)], n_out=2, consts={"k": np.array([k], np.int64)}, **kw)
        # both outputs share out_dtype in model(): fix the indices' type
        m[0].graph.output[1].type.tensor_type.elem_type = onnx.TensorProto.INT64
        out.append(case(name, m))
    return out


def nonzero_cases(rng):
    out = []
    for i in range(8):
        shape = rand_shape(rng, int(rng.integers(1, 5)), 0 if i == 3 else 1, 6)
        dt = [np.float32, np.int64, np.uint8, np.int32, np.bool_][i % 5]
        x = rand_array(rng, shape, dt) * (rng.integers(0, 2, size=shape).astype(dt) if dt != np.bool_ else True)
        out.append(case("nonzero_%s_%s" % (np.dtype(dt).name, sh(shape)), model("NonZero", 13, [("x", x)], out_dtype=np.int64)))
    out.append(case("nonzero_scalar", model("NonZero", 13, [("x", np.array(2.0, np.float32))], out_dtype=np.int64)))
    return out


def scatter_nd_cases(rng):
    out = []
    for i in range(12):
        r = int(rng.integers(1, 5))
        shape = rand_shape(rng, r, 1, 6)
        kd = int(rng.integers(1, r + 1))
        n = int(rng.integers(1, 5))
        # distinct index tuples, so the result does not depend on the update order
        flat = rng.choice(int(np.prod(shape[:kd])), size=min(n, int(np.prod(shape[:kd]))), replace=False)
        idx = np.stack(np.unravel_index(flat, shape[:kd]), axis=-1).astype(np.int64)
        if i % 3 == 1:
            idx = idx - np.array(shape[:kd]) * rng.integers(0, 2, size=idx.shape)  # some negative
        dt = [np.float32, np.int64, np.int32, np.float64][i % 4]
        x = rand_array(rng, shape, dt)
        upd = rand_array(rng, list(idx.shape[:-1]) + shape[kd:], dt)
        opset, kw = [(11, {}), (13, {}), (16, {"reduction": "add"}), (16, {"reduction": "mul"})][i % 4]
        if i % 3 == 1:
            opset = max(opset, 13)  # negative indices
        out.append(case("scatternd%d_%s_k%d_n%d%s" % (opset, sh(shape), kd, len(flat), kw.get("reduction", "")),
                        model("ScatterND", opset, [("x", x), ("i", idx), ("u", upd)], **kw), rtol=1e-6, atol=1e-6))
    x = rand_array(rng, [4, 3], np.float32)
    out.append(case("scatternd_dup_add", model("ScatterND", 16, [("x", x), ("i", np.array([[1], [1], [3]], np.int64)),
                                                                 ("u", rand_array(rng, [3, 3], np.float32))],
                                                 reduction="add"), rtol=1e-6, atol=1e-6))
    out.append(error_case("scatternd_out_of_range",
                          model("ScatterND", 13, [("x", x), ("i", np.array([[4]], np.int64)),
                                                  ("u", rand_array(rng, [1, 3], np.float32))])))
    return out


def trilu_cases(rng):
    out = []
    for i in range(10):
        shape = rand_shape(rng, int(rng.integers(2, 5)), 1, 7)
        x = rand_array(rng, shape, [np.float32, np.int64, np.float64, np.bool_][i % 4])
        upper = i % 2
        k = int(rng.integers(-shape[-2] - 1, shape[-1] + 2))
        if i % 3 == 0:
            m = model("Trilu", 14, [("x", x)], upper=upper)
        else:
            m = model("Trilu", 14, [("x", x)], consts={"k": np.array(k, np.int64)}, upper=upper)
        out.append(case("trilu_%s_upper%d_k%d_%d" % (sh(shape), upper, k, i), m))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for gen in (concat_cases, split_cases, slice_cases, gather_cases, tile_cases, pad_cases, range_cases, topk_cases,
                nonzero_cases, scatter_nd_cases, trilu_cases):
        out += gen(rng)
    return out
