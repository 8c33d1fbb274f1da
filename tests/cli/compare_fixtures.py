"""Fixtures and numpy references for tests/cli/test_compare.sh (octet compare, calibration data, images).

    compare_fixtures.py make DIR              write models, data, images and expected metrics (DIR/*.json)
    compare_fixtures.py check OUT.json EXPECT.json [ATOL_DB]
                                              octet compare --json output vs the numpy metrics
    compare_fixtures.py input_sqnr QUANT.onnx X.npy OUT.json
                                              per-layer SQNR of the quantized input, recomputed in numpy
    compare_fixtures.py layer_sqnr F.npy Q.npy OUT.json NAME
                                              per-layer SQNR of NAME from two arrays octet run wrote
    compare_fixtures.py add_output IN.onnx OUT.onnx NAME
                                              the same model with NAME as an extra graph output
    compare_fixtures.py assert OUT.json EXPR  EXPR (python, over j = the JSON) must hold
    compare_fixtures.py outputs_metrics F.npy Q.npy EXPECT.json [LABELS.npy]
                                              numpy metrics of two output arrays, for check

Everything numeric here is independent of octet: metrics in float64 numpy, PNG files written by hand
with zlib, image preprocessing (decode, bilinear resize with half-pixel centres, normalize) in numpy.
Run with Debian's /usr/bin/python3 (numpy + onnx)."""
import json
import os
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save_model(path, nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="compare-fixtures")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def metrics(x, y, labels=None):
    """What octet compare reports for one output: x float (reference), y quantized (test)."""
    x = x.astype(np.float64).ravel() if x.ndim < 2 else x.astype(np.float64)
    y = y.astype(np.float64).reshape(x.shape)
    d = x - y
    sxx, sdd, syy = float((x * x).sum()), float((d * d).sum()), float((y * y).sum())
    sqnr = float("inf") if sdd == 0 else 10 * np.log10(sxx / sdd)
    out = {"sqnr_db": sqnr, "cosine": float((x * y).sum() / np.sqrt(sxx * syy)), "max_abs_error": float(np.abs(d).max()),
           "elements": int(x.size)}
    if x.ndim >= 2 and x.shape[-1] > 1:
        ax, ay = x.reshape(-1, x.shape[-1]).argmax(1), y.reshape(-1, x.shape[-1]).argmax(1)
        out["top1_agreement"] = float((ax == ay).mean())
        if labels is not None:
            out["accuracy_float"] = float((ax == labels.ravel()).mean())
            out["accuracy_quant"] = float((ay == labels.ravel()).mean())
    return out


# ---- PNG by hand ----

def write_png(path, img):
    """img: uint8 [H, W] (grey), [H, W, 3] (RGB) or [H, W, 4] (RGBA)."""
    h, w = img.shape[:2]
    ct = {2: 0, 3: 2}[img.ndim] if img.ndim == 2 or img.shape[2] == 3 else 6
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(t, data):
        c = struct.pack(">I", len(data)) + t + data
        return c + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ct, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def to_channels(img, c):
    """stb_image's conversion when asked for c channels."""
    img = img if img.ndim == 3 else img[:, :, None]
    have = img.shape[2]
    if have == 4:
        img, have = img[:, :, :3], 3
    if c == have:
        return img.astype(np.float32)
    if c == 3:  # grey -> RGB: replicate
        return np.repeat(img, 3, axis=2).astype(np.float32)
    i = img.astype(np.int32)  # RGB -> grey: stbi__compute_y
    return (((i[:, :, 0] * 77 + i[:, :, 1] * 150 + i[:, :, 2] * 29) >> 8)[:, :, None]).astype(np.float32)


def bilinear(img, oh, ow):
    """Half-pixel centres, clamped at the edges, no antialiasing (float64 coordinates, float32 blend)."""
    ih, iw, _ = img.shape

    def coords(o, i):
        f = np.maximum((np.arange(o) + 0.5) * i / o - 0.5, 0)
        c0 = np.minimum(np.floor(f).astype(np.int64), i - 1)
        c1 = np.minimum(c0 + 1, i - 1)
        return c0, c1, np.maximum(f - c0, 0).astype(np.float32)

    y0, y1, wy = coords(oh, ih)
    x0, x1, wx = coords(ow, iw)
    wx = wx[None, :, None]
    top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * wx
    bot = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * wx
    return top + (bot - top) * wy[:, None, None]


def preprocess(img, h, w, c, mean, std, nhwc):
    x = bilinear(to_channels(img, c), h, w) / np.float32(255)
    x = (x - np.float32(mean)) / np.float32(std)
    return x.astype(np.float32) if nhwc else x.transpose(2, 0, 1).astype(np.float32)


def make(d):
    rng = np.random.default_rng(7)
    os.makedirs(d, exist_ok=True)

    # -- a linear classifier and a copy with one perturbed weight --
    w = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    wp = w.copy()
    wp[2, 3] += 1.5   # enough to flip some argmaxes
    for name, ww in (("lin", w), ("lin_pert", wp)):
        save_model(f"{d}/{name}.onnx", [helper.make_node("MatMul", ["x", "W"], ["t"]), helper.make_node("Add", ["t", "B"], ["y"])],
                   [vi("x", ["N", 6])], [vi("y", ["N", 5])], {"W": ww, "B": b})
    x = rng.standard_normal((37, 6)).astype(np.float32)
    labels = rng.integers(0, 5, 37).astype(np.int64)
    np.save(f"{d}/lin_x.npy", x)
    np.save(f"{d}/lin_x64.npy", x.astype(np.float64))
    np.save(f"{d}/lin_labels.npy", labels)
    np.save(f"{d}/lin_labels_i32.npy", labels.astype(np.int32))
    yf, yq = x @ w + b, x @ wp + b
    json.dump({"outputs": [metrics(yf, yq, labels)]}, open(f"{d}/lin_expect.json", "w"))
    json.dump({"outputs": [metrics(yf[:10], yq[:10], labels[:10])]}, open(f"{d}/lin10_expect.json", "w"))
    # a folder of .npy files: the same 37 samples split 5 + 0 + 20 + 12, in sorted name order
    os.makedirs(f"{d}/linfolder", exist_ok=True)
    np.save(f"{d}/linfolder/a.npy", x[:5])
    np.save(f"{d}/linfolder/b.npy", x[5:5])
    np.save(f"{d}/linfolder/c.npy", x[5:25])
    np.save(f"{d}/linfolder/d10.npy", x[25:])
    open(f"{d}/linfolder/README.txt", "w").write("not data\n")

    # -- a ReLU MLP to quantize (per-layer: the quantized input against numpy's Q/DQ) --
    w1 = rng.standard_normal((6, 16)).astype(np.float32) * 0.5
    w2 = rng.standard_normal((16, 4)).astype(np.float32) * 0.5
    save_model(f"{d}/mlp.onnx", [helper.make_node("MatMul", ["x", "W1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
                                 helper.make_node("MatMul", ["r", "W2"], ["y"], name="mm2")],
               [vi("x", ["N", 6])], [vi("y", ["N", 4])], {"W1": w1, "W2": w2})

    # -- two inputs from .npz files, batches across files --
    k = rng.standard_normal(3).astype(np.float32)
    for name, kk in (("two", k), ("two_pert", k * np.float32(1.01))):
        save_model(f"{d}/{name}.onnx", [helper.make_node("Mul", ["b", "K"], ["bk"]), helper.make_node("Add", ["a", "bk"], ["y"])],
                   [vi("a", ["N", 3]), vi("b", ["N", 3])], [vi("y", ["N", 3])], {"K": kk})
    a, bb = rng.standard_normal((7, 3)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    os.makedirs(f"{d}/twofolder", exist_ok=True)
    np.savez(f"{d}/twofolder/p0.npz", a=a[:3], b=bb[:3], labels=np.zeros(3))
    np.savez(f"{d}/twofolder/p1.npz", b=bb[3:], a=a[3:])
    json.dump({"outputs": [metrics(a + bb * k, a + bb * (k * np.float32(1.01)))]}, open(f"{d}/two_expect.json", "w"))
    np.savez(f"{d}/two_bad.npz", a=a[:3], b=bb[:2])

    # -- a fixed-shape input [2,3] fed a list of whole inputs [K,2,3] --
    m = rng.standard_normal((3, 4)).astype(np.float32)
    for name, mm in (("fixed", m), ("fixed_pert", m + np.float32(0.05))):
        save_model(f"{d}/{name}.onnx", [helper.make_node("MatMul", ["x", "M"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 4])],
                   {"M": mm})
    xs = rng.standard_normal((5, 2, 3)).astype(np.float32)
    np.save(f"{d}/fixed_x.npy", xs)
    json.dump({"outputs": [metrics(xs @ m, xs @ (m + np.float32(0.05)))]}, open(f"{d}/fixed_expect.json", "w"))
    # a fixed batch of 2 ([2,3] input fed [5,3] rows): 2 runs, the 5th sample is dropped
    np.save(f"{d}/fixed_rows.npy", xs[:, 0, :].copy())
    xr = xs[:4, 0, :]
    json.dump({"outputs": [metrics(xr @ m, xr @ (m + np.float32(0.05)))]}, open(f"{d}/fixed_rows_expect.json", "w"))

    # -- images: PNGs of several sizes and channel counts, and what they must become --
    os.makedirs(f"{d}/img", exist_ok=True)
    imgs = {
        "a_rgb.png": rng.integers(0, 256, (7, 5, 3), dtype=np.uint8),
        "b_grey.png": rng.integers(0, 256, (4, 6), dtype=np.uint8),
        "c_rgba.png": rng.integers(0, 256, (9, 13, 4), dtype=np.uint8),
        "d_up.png": rng.integers(0, 256, (2, 3, 3), dtype=np.uint8),
    }
    for n, im in imgs.items():
        write_png(f"{d}/img/{n}", im)
    open(f"{d}/img/notes.txt", "w").write("ignored\n")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    order = sorted(imgs)
    e_nchw = np.stack([preprocess(imgs[n], 4, 6, 3, mean, std, False) for n in order])
    e_nhwc = np.stack([preprocess(imgs[n], 5, 3, 1, [0.5], [0.25], True) for n in order])
    # x -> x*0 + E: compare it with Identity and the max abs error is octet's preprocessing error
    for name, e, shape in (("img_nchw", e_nchw, ["N", 3, 4, 6]), ("img_nhwc", e_nhwc, ["N", 5, 3, 1])):
        save_model(f"{d}/{name}_ref.onnx", [helper.make_node("Mul", ["x", "Z"], ["z"]), helper.make_node("Add", ["z", "E"], ["y"])],
                   [vi("x", shape)], [vi("y", shape)], {"Z": np.zeros(1, np.float32), "E": e})
        save_model(f"{d}/{name}_id.onnx", [helper.make_node("Identity", ["x"], ["y"])], [vi("x", shape)], [vi("y", shape)], {})
    save_model(f"{d}/img_free.onnx", [helper.make_node("Identity", ["x"], ["y"])], [vi("x", ["N", 3, "H", "W"])],
               [vi("y", ["N", 3, "H", "W"])], {})

    # JPEG: only with Pillow (its libjpeg and stb decode slightly differently: a tolerance applies)
    try:
        from PIL import Image
        os.makedirs(f"{d}/jpg", exist_ok=True)
        yy, xx = np.mgrid[0:16, 0:24]
        smooth = (128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 4.0)).astype(np.uint8)
        Image.fromarray(smooth, "L").save(f"{d}/jpg/s.jpg", quality=95)
        dec = np.asarray(Image.open(f"{d}/jpg/s.jpg").convert("L"))
        e = preprocess(dec, 8, 12, 1, [0], [1], False)[None]
        save_model(f"{d}/jpg_ref.onnx", [helper.make_node("Mul", ["x", "Z"], ["z"]), helper.make_node("Add", ["z", "E"], ["y"])],
                   [vi("x", ["N", 1, 8, 12])], [vi("y", ["N", 1, 8, 12])], {"Z": np.zeros(1, np.float32), "E": e})
        save_model(f"{d}/jpg_id.onnx", [helper.make_node("Identity", ["x"], ["y"])], [vi("x", ["N", 1, 8, 12])],
                   [vi("y", ["N", 1, 8, 12])], {})
    except ImportError:
        pass


def close(a, b, rtol, atol):
    if a is None or b is None:
        return a is b
    if isinstance(b, str) or isinstance(a, str) or b == float("inf") or a == float("inf"):
        return str(a) in ("inf", "Infinity") and b == float("inf") or a == b
    return abs(a - b) <= atol + rtol * abs(b)


def check(out_path, expect_path, atol_db=1e-3):
    got, want = json.load(open(out_path)), json.load(open(expect_path))
    bad = []
    for o, (g, w) in enumerate(zip(got["outputs"], want["outputs"])):
        for key, v in w.items():
            tol = {"sqnr_db": (0, atol_db), "cosine": (0, 1e-6), "max_abs_error": (1e-4, 1e-6)}.get(key, (1e-8, 0))
            if key not in g or not close(g[key], v, *tol):
                bad.append(f"output {o} {key}: octet {g.get(key)} numpy {v}")
    if len(got["outputs"]) != len(want["outputs"]):
        bad.append(f"{len(got['outputs'])} outputs, expected {len(want['outputs'])}")
    for b in bad:
        print("MISMATCH", b)
    return not bad


def quantize_input(qpath, xpath):
    """Q/DQ of the graph input as the quantized model's QuantizeLinear says (round half to even)."""
    m = onnx.load(qpath)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    x = np.load(xpath)
    for n in m.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] == m.graph.input[0].name:
            s, z = inits[n.input[1]].astype(np.float32), inits[n.input[2]]
            info = np.iinfo(z.dtype)
            q = np.clip(np.round(x / s) + z.astype(np.int32), info.min, info.max)
            return x, ((q - z.astype(np.int32)).astype(np.float32) * s).astype(np.float32), m.graph.input[0].name
    raise SystemExit("no QuantizeLinear on the graph input")


def layer_of(out, name):
    for l in json.load(open(out))["layers"]:
        if l["name"] == name:
            return l
    raise SystemExit(f"no per-layer entry for {name}")


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "check":
        sys.exit(0 if check(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 1e-3) else 1)
    elif cmd == "input_sqnr":
        x, dq, name = quantize_input(sys.argv[2], sys.argv[3])
        want, got = metrics(x, dq)["sqnr_db"], layer_of(sys.argv[4], name)["sqnr_db"]
        print(f"input {name}: per-layer SQNR octet {got} numpy {want}")
        sys.exit(0 if close(got, want, 0, 1e-3) else 1)
    elif cmd == "layer_sqnr":
        f, q = np.load(sys.argv[2]), np.load(sys.argv[3])
        want, got = metrics(f, q)["sqnr_db"], layer_of(sys.argv[4], sys.argv[5])["sqnr_db"]
        print(f"{sys.argv[5]}: per-layer SQNR octet {got} numpy {want}")
        sys.exit(0 if close(got, want, 0, 1e-3) else 1)
    elif cmd == "assert":   # assert OUT.json EXPR: EXPR over j (the parsed JSON), e.g. 'j["samples"] == 37'
        import ast
        env = {"j": json.load(open(sys.argv[2])), "inf": float("inf")}
        body = ast.parse(sys.argv[3]).body   # "a = ...; b = ...; EXPR": statements, then the test
        exec(compile(ast.Module(body[:-1], []), "<assert>", "exec"), env)
        ok = eval(compile(ast.Expression(body[-1].value), "<assert>", "eval"), env)
        if not ok:
            print(f"assertion failed: {sys.argv[3]}")
        sys.exit(0 if ok else 1)
    elif cmd == "outputs_metrics":   # outputs_metrics F.npy Q.npy EXPECT.json [LABELS.npy]: numpy metrics of two arrays
        lab = np.load(sys.argv[5]) if len(sys.argv) > 5 else None
        json.dump({"outputs": [metrics(np.load(sys.argv[2]), np.load(sys.argv[3]), lab)]}, open(sys.argv[4], "w"))
    elif cmd == "add_output":
        m = onnx.load(sys.argv[2])
        m.graph.output.append(helper.make_tensor_value_info(sys.argv[4], TensorProto.FLOAT, None))
        onnx.save(m, sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
