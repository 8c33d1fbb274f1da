"""Per-op cases for src/ops/resize.c: Resize at opsets 10, 11, 13, 18, 19 with every mode (nearest,
linear, cubic), coordinate_transformation_mode and nearest_mode, scales or sizes, up and down and
non-integer factors, tf_crop_and_resize with roi and extrapolation_value, cubic_coeff_a,
exclude_outside, axes and keep_aspect_ratio_policy (18+), integer inputs for nearest; Upsample at
opsets 7 and 9. Random odd shapes from a fixed seed."""
import numpy as np
from onnx import helper, numpy_helper
from case_util import elem_type, finish, make_case

SEED = 6007

COORDS = ["half_pixel", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn", "align_corners",
          "tf_crop_and_resize", "half_pixel_symmetric"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def resize_model(x, opset, roi=None, scales=None, sizes=None, const=True, **attrs):
    """Inputs after X as ONNX wants them per opset; roi/scales/sizes as constants (initializers)."""
    inits, names = [], ["x"]
    if opset < 11:
        names.append("scales")
        inits.append(numpy_helper.from_array(np.asarray(scales, np.float32), "scales"))
    else:
        for name, arr, dt in (("roi", roi, np.float32), ("scales", scales, np.float32), ("sizes", sizes, np.int64)):
            if arr is None:
                # opset 11/12 need roi and scales present (empty); later opsets may omit them
                if opset < 13 and name != "sizes":
                    inits.append(numpy_helper.from_array(np.zeros([0], dt), name))
                    names.append(name)
                else:
                    names.append("")
                continue
            inits.append(numpy_helper.from_array(np.asarray(arr, dt), name))
            names.append(name)
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node("Resize", names, ["y"], **attrs)
    g_in = [helper.make_tensor_value_info("x", elem_type(x.dtype), x.shape)]
    g_out = [helper.make_tensor_value_info("y", elem_type(x.dtype), None)]
    graph = helper.make_graph([node], "resize_test", g_in, g_out, inits)
    m = finish(graph, opset)
    return m, {"x": x}


def upsample_model(x, opset, scales, **attrs):
    inits, names = [], ["x"]
    if opset >= 9:
        names.append("scales")
        inits.append(numpy_helper.from_array(np.asarray(scales, np.float32), "scales"))
    else:
        attrs["scales"] = [float(s) for s in scales]
    node = helper.make_node("Upsample", names, ["y"], **attrs)
    g_in = [helper.make_tensor_value_info("x", elem_type(x.dtype), x.shape)]
    g_out = [helper.make_tensor_value_info("y", elem_type(x.dtype), None)]
    graph = helper.make_graph([node], "upsample_test", g_in, g_out, inits)
    m = finish(graph, opset)
    return m, {"x": x}


def case(name, mdl, rtol=1e-4, atol=1e-5, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    factors = [0.5, 0.6, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 4.0]
    i = 0
    # every mode x coordinate transform (x nearest_mode), 4-D NCHW, scales or sizes
    for mode in ("nearest", "linear", "cubic"):
        for coord in COORDS:
            for nm in (NEAREST if mode == "nearest" else [None]):
                for use_sizes in (False, True):
                    h, w = int(rng.integers(2, 12)), int(rng.integers(2, 14))
                    x = rng.standard_normal(size=[int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w]).astype(np.float32)
                    fh, fw = float(rng.choice(factors)), float(rng.choice(factors))
                    attrs = {"mode": mode, "coordinate_transformation_mode": coord}
                    if nm:
                        attrs["nearest_mode"] = nm
                    roi = None
                    if coord == "tf_crop_and_resize":
                        roi = [0, 0, float(rng.uniform(-0.2, 0.4)), float(rng.uniform(-0.2, 0.4)),
                               1, 1, float(rng.uniform(0.6, 1.2)), float(rng.uniform(0.6, 1.2))]
                        attrs["extrapolation_value"] = float(rng.uniform(-2, 2))
                    if mode == "cubic" and i % 2:
                        attrs["cubic_coeff_a"] = -0.5
                    if mode == "cubic" and i % 3 == 0:
                        attrs["exclude_outside"] = 1
                    opset = 19 if coord == "half_pixel_symmetric" else [11, 13, 18][i % 3]
                    if use_sizes:
                        sizes = [x.shape[0], x.shape[1], max(1, int(round(h * fh))), max(1, int(round(w * fw)))]
                        mdl = resize_model(x, opset, roi=roi, sizes=sizes, **attrs)
                    else:
                        mdl = resize_model(x, opset, roi=roi, scales=[1, 1, fh, fw], **attrs)
                    name = "%s_%s%s_%s_%03d" % (mode, coord, "_" + nm if nm else "", "sizes" if use_sizes else "scales", i)
                    # half_pixel_symmetric is newer than onnx 1.12's checker
                    if coord != "half_pixel_symmetric":
                        out.append(case(name, mdl))
                    i += 1

    # opset 10 (scales only, asymmetric, legacy nearest rounding)
    for mode in ("nearest", "linear"):
        for fh, fw in ((2.0, 2.0), (0.5, 0.75), (1.7, 3.0), (1.0, 0.4)):
            x = rng.standard_normal(size=[1, 2, 7, 9]).astype(np.float32)
            out.append(case("o10_%s_%gx%g" % (mode, fh, fw), resize_model(x, 10, scales=[1, 1, fh, fw], mode=mode)))
    # nearest on other ranks and on integers; linear on 2-D / 3-D / 5-D
    for rank in (1, 2, 3, 5):
        shape = [int(rng.integers(2, 7)) for _ in range(rank)]
        x = rng.standard_normal(size=shape).astype(np.float32)
        sc = [float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0])) for _ in range(rank)]
        out.append(case("nearest_rank%d" % rank, resize_model(x, 13, scales=sc, mode="nearest")))
        if rank in (2, 3) or rank == 5:
            lsc = sc if rank != 5 else [1, 1] + sc[2:]
            out.append(case("linear_rank%d" % rank, resize_model(x, 13, scales=lsc, mode="linear")))
    for dt in (np.uint8, np.int8, np.int32):  # (ONNX Runtime has no int64 Resize)
        x = rng.integers(-100 if dt != np.uint8 else 0, 100, size=[1, 3, 5, 6]).astype(dt)
        out.append(case("nearest_%s" % np.dtype(dt).name, resize_model(x, 13, scales=[1, 1, 2.0, 1.5], mode="nearest"),
                        rtol=0, atol=0))
    # PaddleOCR FPN: integer nearest upsampling, asymmetric + floor, on wide maps
    for f in (2.0, 4.0, 8.0):
        x = rng.standard_normal(size=[1, 24, 10, 30]).astype(np.float32)
        out.append(case("fpn_nearest_x%g" % f, resize_model(x, 11, scales=[1, 1, f, f], mode="nearest",
                                                             coordinate_transformation_mode="asymmetric",
                                                             nearest_mode="floor")))
    x = rng.standard_normal(size=[2, 16, 20, 33]).astype(np.float32)
    out.append(case("bilinear_x2_align", resize_model(x, 13, scales=[1, 1, 2, 2], mode="linear",
                                                      coordinate_transformation_mode="align_corners")))
    out.append(case("bilinear_sizes_half_pixel", resize_model(x, 13, sizes=[2, 16, 47, 61], mode="linear")))
    out.append(case("identity_scales", resize_model(x, 13, scales=[1, 1, 1, 1], mode="linear")))

    # opset 18 (axes, keep_aspect_ratio_policy, antialias) and 19 (half_pixel_symmetric) are beyond
    # onnx 1.12's checker, which gen_cases.py runs on every case; tests/unit/test_ops_conv.c has
    # hand-computed cases for them.
    x = rng.standard_normal(size=[1, 3, 10, 14]).astype(np.float32)
    out.append(case("err_both", resize_model(x, 13, scales=[1, 1, 2, 2], sizes=[1, 3, 20, 28], mode="nearest"),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_scales_len", resize_model(x, 13, scales=[2, 2], mode="nearest"),
                    expect_error=True, expect_ort_error=True))

    # Upsample (opsets 7 and 9)
    for opset in (7, 9):
        for mode, sc in (("nearest", [1, 1, 2, 2]), ("nearest", [1, 1, 1.5, 3]), ("linear", [1, 1, 2, 2]),
                         ("linear", [1, 1, 1.7, 2.5])):
            x = rng.standard_normal(size=[1, 3, 6, 7]).astype(np.float32)
            out.append(case("upsample_o%d_%s_%gx%g" % (opset, mode, sc[2], sc[3]), upsample_model(x, opset, sc, mode=mode)))
    return out
