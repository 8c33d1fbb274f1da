"""Fixtures for test_crop.sh: PNG images with known pixels and the tensors octet must make of them with
--resize N / --size HxW and --crop HxW (torchvision's Resize(N) + CenterCrop(HxW), bilinear without
antialiasing, as docs/CLI.md says).

  crop_fixtures.py DIR    writes DIR/<case>/*.png, DIR/<case>_ref.onnx (x*0 + expected) and
                          DIR/<case>_id.onnx (Identity); `octet compare` of the two then reports octet's
                          preprocessing error as the max abs error.

The expected values are computed here in plain Python, not by numpy, PIL or torchvision:
  - linear images (value = a*col + b*row + c per channel): bilinear interpolation of a linear function
    is exact, so a pixel of the crop is the function at its sample point, written down by hand:
    out(y, x) = f(s * (x + left + 0.5) - 0.5, s * (y + top + 0.5) - 0.5) for a scale s = in/out;
  - random images: a direct transcription of the definition (half-pixel centres, clamped at the edge).
The crop's corner is round((resized - crop) / 2) with ties to even (Python's round, torchvision's
center_crop): a margin of 9 starts at 4, a margin of 11 at 6. The onnx package only writes the models.
"""
import os
import random
import struct
import sys
import zlib

from onnx import TensorProto, helper, save


def write_png(path, rows, channels):
    """rows: list of rows, each a flat list of ints (width * channels)."""
    h, w = len(rows), len(rows[0]) // channels
    ct = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(t, data):
        c = struct.pack(">I", len(data)) + t + data
        return c + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ct, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def linear_image(h, w, funcs):
    """funcs: one (a, b, c) per channel: value = a*col + b*row + c (kept within 0..255 by the caller)."""
    rows = []
    for y in range(h):
        row = []
        for x in range(w):
            for a, b, c in funcs:
                v = a * x + b * y + c
                assert 0 <= v <= 255 and v == int(v)
                row.append(int(v))
        rows.append(row)
    return rows


def resized(ih, iw, resize=None, size=None):
    if resize:  # torchvision Resize(int): shorter side to N, the other int(N * long / short)
        return (resize * ih // iw, resize) if iw <= ih else (resize, resize * iw // ih)
    if size:
        return size
    return ih, iw


def center(total, part):
    return int(round((total - part) / 2.0))  # Python's round: ties to even, as torchvision


def expect_linear(ih, iw, funcs, resize, size, crop):
    rh, rw = resized(ih, iw, resize, size)
    ch, cw = crop
    top, left = center(rh, ch), center(rw, cw)
    sy, sx = ih / rh, iw / rw
    out = []  # [c][y][x]
    for a, b, c in funcs:
        plane = []
        for y in range(ch):
            fy = sy * (y + top + 0.5) - 0.5
            assert 0 <= fy <= ih - 1, "the sample must stay inside for the linear formula"
            row = []
            for x in range(cw):
                fx = sx * (x + left + 0.5) - 0.5
                assert 0 <= fx <= iw - 1
                row.append(a * fx + b * fy + c)
            plane.append(row)
        out.append(plane)
    return out


def expect_bilinear(rows, channels, resize, size, crop):
    """The definition, one pixel at a time (float64 arithmetic)."""
    ih, iw = len(rows), len(rows[0]) // channels
    rh, rw = resized(ih, iw, resize, size)
    ch, cw = crop
    top, left = center(rh, ch), center(rw, cw)

    def px(y, x, k):
        return rows[y][x * channels + k]

    def coord(o, i, r):
        f = max((o + 0.5) * i / r - 0.5, 0.0)
        c0 = min(int(f), i - 1)
        return c0, min(c0 + 1, i - 1), max(f - c0, 0.0)

    out = []
    for k in range(channels):
        plane = []
        for y in range(ch):
            y0, y1, wy = coord(y + top, ih, rh)
            row = []
            for x in range(cw):
                x0, x1, wx = coord(x + left, iw, rw)
                t = px(y0, x0, k) + (px(y0, x1, k) - px(y0, x0, k)) * wx
                b = px(y1, x0, k) + (px(y1, x1, k) - px(y1, x0, k)) * wx
                row.append(t + (b - t) * wy)
            plane.append(row)
        out.append(plane)
    return out


def normalize(planes, mean, std):
    return [[[(v / 255.0 - mean[k % len(mean)]) / std[k % len(std)] for v in row] for row in p]
            for k, p in enumerate(planes)]


def flat(samples, nhwc):
    """samples: list of [c][y][x] -> flat list in NCHW or NHWC order."""
    vals = []
    for s in samples:
        c, h, w = len(s), len(s[0]), len(s[0][0])
        if nhwc:
            vals += [s[k][y][x] for y in range(h) for x in range(w) for k in range(c)]
        else:
            vals += [s[k][y][x] for k in range(c) for y in range(h) for x in range(w)]
    return vals


def save_pair(d, name, samples, nhwc):
    c, h, w = len(samples[0]), len(samples[0][0]), len(samples[0][0][0])
    shape = ["N", h, w, c] if nhwc else ["N", c, h, w]
    full = [len(samples)] + ([h, w, c] if nhwc else [c, h, w])
    vi = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    vo = [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)]
    ref = helper.make_graph(
        [helper.make_node("Mul", ["x", "Z"], ["z"]), helper.make_node("Add", ["z", "E"], ["y"])], name, vi, vo,
        [helper.make_tensor("Z", TensorProto.FLOAT, [1], [0.0]),
         helper.make_tensor("E", TensorProto.FLOAT, full, flat(samples, nhwc))])
    ident = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], name, vi, vo)
    for tag, g in (("ref", ref), ("id", ident)):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 7
        save(m, f"{d}/{name}_{tag}.onnx")


def main(d):
    os.makedirs(d, exist_ok=True)
    rgb = [(2, 1, 0), (1, 2, 1), (-1, -2, 250)]  # within 0..255 on every image below (up to 60 x 70)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

    def case(name, images, nhwc=False):
        os.makedirs(f"{d}/{name}", exist_ok=True)
        samples = []
        for i, (rows, channels, expected, m, s) in enumerate(images):
            write_png(f"{d}/{name}/{i:02d}.png", rows, channels)
            samples.append(normalize(expected, m, s))
        save_pair(d, name, samples, nhwc)

    # landscape 40x60, --resize 20 -> 20x30 (scale 2), --crop 10x16 -> corner (5, 7)
    img = linear_image(40, 60, rgb)
    case("land", [(img, 3, expect_linear(40, 60, rgb, 20, None, (10, 16)), mean, std)])
    # portrait 70x50, --resize 25 -> 35x25; --crop 26x24: margins 9 and 1 -> corner (4, 0) (ties to even
    # down); --crop 24: margins 11 and 1 -> corner (6, 0) (ties to even up)
    img = linear_image(70, 50, rgb)
    case("port", [(img, 3, expect_linear(70, 50, rgb, 25, None, (26, 24)), mean, std)])
    case("port_sq", [(img, 3, expect_linear(70, 50, rgb, 25, None, (24, 24)), mean, std)])
    # 30x45, --resize 20 -> 20x30 (scale 1.5: samples at 1.5 i + 0.25), --crop 20 -> corner (0, 5)
    img = linear_image(30, 45, rgb)
    case("frac", [(img, 3, expect_linear(30, 45, rgb, 20, None, (20, 20)), mean, std)])
    # two images of different shapes in one folder: 40x60 and 60x40, --resize 20 --crop 16
    a, b = linear_image(40, 60, rgb), linear_image(60, 40, rgb)
    case("mixed", [(a, 3, expect_linear(40, 60, rgb, 20, None, (16, 16)), mean, std),
                   (b, 3, expect_linear(60, 40, rgb, 20, None, (16, 16)), mean, std)])
    # random pixels, ratios that are not round (13x17 -> --resize 7 -> 7x9, --crop 5x6 -> corner (1, 2):
    # margin 3 -> round(1.5) = 2), edge clamping included
    rnd = random.Random(5)
    img = [[rnd.randrange(256) for _ in range(17 * 3)] for _ in range(13)]
    case("rand", [(img, 3, expect_bilinear(img, 3, 7, None, (5, 6)), [0.5], [0.25])])
    # --size 8x10 (from 9x12) then --crop 6x6: corner (1, 2)
    img = [[rnd.randrange(256) for _ in range(12 * 3)] for _ in range(9)]
    case("sizecrop", [(img, 3, expect_bilinear(img, 3, None, (8, 10), (6, 6)), [0.5], [0.25])])
    # --crop alone: cut from the decoded 11x14 image, no resampling (corner round(2.5) = 2, 3)
    img = [[rnd.randrange(256) for _ in range(14 * 3)] for _ in range(11)]
    case("croponly", [(img, 3, expect_bilinear(img, 3, None, None, (6, 8)), [0.0], [1.0])])
    # grey 20x12, NHWC: --resize 6 -> 10x6, --crop 4x6 -> corner (3, 0)
    grey = [(3, 7, 20)]
    img = linear_image(20, 12, grey)
    case("grey", [(img, 1, expect_linear(20, 12, grey, 6, None, (4, 6)), [0.5], [0.25])], nhwc=True)
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "free",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    save(m, f"{d}/free_id.onnx")
    # a tiny conv net on 3x16x16 for `octet quantize` with --resize/--crop
    w = [((i * 37) % 17 - 8) / 16.0 for i in range(4 * 3 * 3 * 3)]
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 16, 16])],
        [helper.make_tensor("W", TensorProto.FLOAT, [4, 3, 3, 3], w)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    save(m, f"{d}/tiny.onnx")


if __name__ == "__main__":
    main(sys.argv[1])
