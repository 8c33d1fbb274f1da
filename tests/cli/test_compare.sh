#!/usr/bin/env bash
# octet compare, the calibration-data reader and octet quantize --mode static, end to end.
# Usage: test_compare.sh OCTET_BINARY SOURCE_DIR [SHARED_DIR]
# Fixtures (models, .npy/.npz data, PNG images written by hand, a JPEG if Pillow is there) and the
# expected numbers come from numpy (tests/cli/compare_fixtures.py), never from octet. With SHARED_DIR
# (../shared) the Fashion-MNIST model is also quantized and compared, per layer, against octet runs of
# the float and int8 models with the inner tensor made a graph output.
set -u
OCTET=${1:?usage: test_compare.sh OCTET_BINARY SOURCE_DIR [SHARED_DIR]}
SRC=${2:?usage: test_compare.sh OCTET_BINARY SOURCE_DIR [SHARED_DIR]}
SHARED=${3:-}
PY=/usr/bin/python3
FX="$PY $SRC/tests/cli/compare_fixtures.py"
if ! $PY -c "import numpy, onnx" 2>/dev/null; then
    echo "SKIPPED: $PY lacks numpy or onnx (scripts/setup.sh)"
    exit 77
fi
TMP=$(mktemp -d /tmp/octet_compare_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
# shellcheck source=tests/cli/lib.sh
. "$SRC/tests/cli/lib.sh"

# json_check EXPECT.json ARGS...: octet compare --json ARGS must match the numpy metrics.
json_check() {
    local want=$1
    shift
    if ! "$OCTET" compare --json "$@" >"$TMP/o.json" 2>"$TMP/err"; then
        fail "octet compare $* failed: $(cat "$TMP/err")"
    elif ! $FX check "$TMP/o.json" "$want"; then
        fail "octet compare $*: metrics differ from numpy's ($want)"
    fi
}
# json_assert EXPR ARGS...: a Python expression over j = octet compare --json ARGS.
json_assert() {
    local expr=$1
    shift
    if ! "$OCTET" compare --json "$@" >"$TMP/o.json" 2>"$TMP/err"; then
        fail "octet compare $* failed: $(cat "$TMP/err")"
    elif ! $FX assert "$TMP/o.json" "$expr"; then
        fail "octet compare $*: $expr"
        sed 's/^/    /' "$TMP/o.json"
    fi
}

D=$TMP/fx
$FX make "$D" || { echo "FAIL: fixtures"; exit 1; }
cd "$D" || exit 1

# ---- help ----
expect 0 "usage: octet compare FLOAT.onnx QUANT.onnx --data PATH" -- compare --help
expect 0 "^  compare +" -- --help
expect 0 "--method M .*minmax" -- quantize --help
expect 0 "--layout nchw\|nhwc" -- help compare

# ---- a model against itself: exact ----
json_assert 'o = j["outputs"][0]; o["sqnr_db"] == "inf" and o["cosine"] == 1 and o["max_abs_error"] == 0 and o["top1_agreement"] == 1 and o["accuracy_float"] == o["accuracy_quant"] and j["samples"] == 37' \
    lin.onnx lin.onnx --data lin_x.npy --labels lin_labels.npy
expect 0 "^y +inf +1\.000000 +0 +1\.0000 +0\.[0-9]{4} +0\.[0-9]{4}$" -- compare lin.onnx lin.onnx --data lin_x.npy \
    --labels lin_labels.npy

# ---- one perturbed weight: finite SQNR, cosine, max error, top-1 and accuracy as numpy computes them ----
json_check lin_expect.json lin.onnx lin_pert.onnx --data lin_x.npy --labels lin_labels.npy
json_check lin_expect.json lin.onnx lin_pert.onnx --data lin_x.npy --labels lin_labels.npy --batch 5 --threads 1
# a folder of .npy files (sorted names, an empty one, batches across files), int32 labels
json_check lin_expect.json lin.onnx lin_pert.onnx --data linfolder --labels lin_labels_i32.npy --batch 4
# float64 data is converted; --samples takes the first N
json_check lin10_expect.json lin.onnx lin_pert.onnx --data lin_x64.npy --labels lin_labels.npy --samples 10 --batch 3
expect 0 "^compared  lin.onnx vs lin_pert.onnx on 37 samples from linfolder \(4 files\)" -- \
    compare lin.onnx lin_pert.onnx --data linfolder
# two inputs from .npz archives (names, not order; extra arrays ignored), runs across archives
json_check two_expect.json two.onnx two_pert.onnx --data twofolder --batch 2
# a fixed [2,3] input: [K,2,3] is a list of whole inputs; [5,3] rows run 2 at a time, the 5th left out
json_check fixed_expect.json fixed.onnx fixed_pert.onnx --data fixed_x.npy
json_check fixed_rows_expect.json fixed.onnx fixed_pert.onnx --data fixed_rows.npy
grep -q "the last 1 sample is left out" "$TMP/err" || fail "fixed batch: no note about the dropped sample"

# ---- images: octet's preprocessing against numpy's (x*0 + E vs Identity: the error is octet's) ----
json_assert 'o = j["outputs"][0]; o["max_abs_error"] < 1e-5 and j["samples"] == 4' \
    img_nchw_ref.onnx img_nchw_id.onnx --data img --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225
json_assert 'j["outputs"][0]["max_abs_error"] < 1e-5' \
    img_nhwc_ref.onnx img_nhwc_id.onnx --data img/ --mean 0.5 --std 0.25 --layout nhwc --channels 1 --size 5x3
json_assert 'j["outputs"][0]["max_abs_error"] > 0.1' \
    img_nchw_ref.onnx img_nchw_id.onnx --data img   # no --mean/--std: must not match
if [ -f jpg/s.jpg ]; then   # stb and libjpeg decode a little differently
    json_assert 'j["outputs"][0]["max_abs_error"] < 3 / 255' jpg_ref.onnx jpg_id.onnx --data jpg
fi
json_assert 'j["samples"] == 1' img_free.onnx img_free.onnx --data img/a_rgb.png --size 8x8
expect 2 "give the image size with --size" -- compare img_free.onnx img_free.onnx --data img
expect 2 "but --size is 5x5" -- compare img_nchw_ref.onnx img_nchw_id.onnx --data img --size 5
expect 2 "but --channels is 1" -- compare img_nchw_ref.onnx img_nchw_id.onnx --data img --channels 1
expect 2 "--mean and --std need 1 value for 1-channel images" -- compare img_nhwc_ref.onnx img_nhwc_id.onnx \
    --data img --mean 1,2,3
expect 2 "images need a 4-D input" -- compare lin.onnx lin.onnx --data img
expect 2 "images feed single-input models" -- compare two.onnx two.onnx --data img
expect 2 "--layout must be nchw or nhwc" -- compare img_free.onnx img_free.onnx --data img --layout chw
expect 2 "--std values must not be 0" -- compare img_free.onnx img_free.onnx --data img --std 0
expect 2 "--mean wants 1 or 3 numbers" -- compare img_free.onnx img_free.onnx --data img --mean 1,2
expect 2 "--size wants HxW" -- compare img_free.onnx img_free.onnx --data img --size 0x4
printf 'this is no PNG' >"$TMP/broken.png"
mkdir -p badimg && cp img/a_rgb.png badimg/ && cp "$TMP/broken.png" badimg/
expect 1 "cannot read image 'badimg/broken.png'" -- compare img_nchw_ref.onnx img_nchw_id.onnx --data badimg
mkdir -p cut && head -c 60 img/c_rgba.png >cut/c.png
expect 1 "cut/c.png" -- compare img_nchw_ref.onnx img_nchw_id.onnx --data cut

# ---- data errors: one line, non-zero, no crash ----
mkdir -p empty mixed && touch mixed/a.npy mixed/b.png
$PY -c "
import numpy as np
np.save('wrong_dim.npy', np.zeros((4, 7), np.float32))
np.save('wrong_rank.npy', np.zeros((4, 2, 3, 6), np.float32))
np.save('i32.npy', np.zeros((4, 6), np.int32))
np.save('lin_stacked.npy', np.load('lin_x.npy')[:, None, :])
np.save('scalar.npy', np.float32(1))
np.save('labf.npy', np.zeros(37, np.float32))
np.save('labshort.npy', np.zeros(36, np.int64))
np.savez('wrong_name.npz', foo=np.zeros((4, 6), np.float32), bar=np.zeros((4, 6), np.float32))
"
mkdir -p disagree && cp lin_x.npy disagree/a.npy && cp i32.npy disagree/b.npy
head -c 100 lin_x.npy >trunc.npy
expect 1 "cannot open 'nope.npy'" -- compare lin.onnx lin_pert.onnx --data nope.npy
expect 2 "folder 'empty' holds no" -- compare lin.onnx lin_pert.onnx --data empty
expect 2 "mixes arrays .* and images" -- compare lin.onnx lin_pert.onnx --data mixed
expect 2 "input 'x' is float32\[N,6\] but 'wrong_dim.npy' holds float32\[4,7\] \(dimension 1\)" -- \
    compare lin.onnx lin_pert.onnx --data wrong_dim.npy
expect 2 "holds float32\[4,2,3,6\] \(samples on axis 0" -- compare lin.onnx lin_pert.onnx --data wrong_rank.npy
json_check lin_expect.json lin.onnx lin_pert.onnx --data lin_stacked.npy --labels lin_labels.npy   # [37,1,6]: 37 runs of [1,6]
expect 2 "but 'i32.npy' holds int32\[4,6\]" -- compare lin.onnx lin_pert.onnx --data i32.npy
expect 2 "samples go on axis 0" -- compare lin.onnx lin_pert.onnx --data scalar.npy
expect 2 "'disagree/a.npy' holds float32\[37,6\] but 'disagree/b.npy' holds int32\[4,6\]" -- \
    compare lin.onnx lin_pert.onnx --data disagree
expect 1 "trunc.npy" -- compare lin.onnx lin_pert.onnx --data trunc.npy
expect 2 "has no array named 'x'.*'foo', 'bar'" -- compare lin.onnx lin_pert.onnx --data wrong_name.npz
expect 2 "holds one array but the model takes 2 inputs" -- compare two.onnx two_pert.onnx --data lin_x.npy
expect 2 "input 'b' has 2 samples but 'a' has 3" -- compare two.onnx two_pert.onnx --data two_bad.npz
expect 2 "labels 'labf.npy' hold float32\[37\]: want integers" -- compare lin.onnx lin.onnx --data lin_x.npy --labels labf.npy
expect 2 "labels 'labshort.npy' hold 36 samples but the data has 37" -- compare lin.onnx lin.onnx --data lin_x.npy \
    --labels labshort.npy
expect 1 "cannot open 'nolabels.npy'" -- compare lin.onnx lin.onnx --data lin_x.npy --labels nolabels.npy
expect 2 "apply to images" -- compare lin.onnx lin.onnx --data lin_x.npy --size 4x4
expect 1 "input 'a' is not an input of the float model" -- compare lin.onnx two.onnx --data lin_x.npy
expect 1 "output 'y' is float32\[37,5\] in the float model but float32\[37,4\]" -- compare lin.onnx mlp.onnx --data lin_x.npy \
    --batch 64
expect 2 "need FLOAT.onnx, QUANT.onnx and --data" -- compare lin.onnx lin.onnx
expect 2 "unknown option '--bogus'" -- compare lin.onnx lin.onnx --data lin_x.npy --bogus
expect 2 "--samples wants a whole number" -- compare lin.onnx lin.onnx --data lin_x.npy --samples 0
expect 1 "cannot open '.*nope.onnx'" -- compare nope.onnx lin.onnx --data lin_x.npy

# ---- quantize --mode static: calibration data, methods, formats, the SQNR report ----
expect 0 "^calibrated on 37 samples in [0-9.]+ s \(min/max observer\)$" -- quantize --mode static mlp.onnx \
    --calib lin_x.npy -o mlp_q.onnx
grep -Eq "^SQNR +y [0-9]+\.[0-9]{2} dB, top-1 agreement [01]\.[0-9]{4} \(float vs int8 in octet, 37 calibration samples\)$" \
    "$TMP/out" || fail "quantize prints no SQNR line: $(cat "$TMP/out")"
grep -Eq "^wrote +mlp_q.onnx$" "$TMP/out" || fail "quantize prints no 'wrote' line"
# the SQNR it prints is what octet compare measures on the same samples
sq=$(sed -nE 's/^SQNR +y ([0-9.]+) dB.*/\1/p' "$TMP/out")
json_assert "abs(j['outputs'][0]['sqnr_db'] - $sq) < 0.006" mlp.onnx mlp_q.onnx --data lin_x.npy
# per layer: the quantized input against numpy's QuantizeLinear/DequantizeLinear with the file's scale
"$OCTET" compare mlp.onnx mlp_q.onnx --data lin_x.npy --per-layer --json >"$TMP/pl.json" ||
    fail "compare --per-layer failed"
$FX input_sqnr mlp_q.onnx lin_x.npy "$TMP/pl.json" >/dev/null || fail "per-layer SQNR of the quantized input differs from numpy's"
$FX assert "$TMP/pl.json" 'l = j["layers"]; len(l) == 3 and [x["sqnr_db"] for x in l] == sorted(x["sqnr_db"] for x in l) and {x["name"] for x in l} == {"x", "r", "y"}' ||
    fail "per-layer: not the 3 quantized tensors worst first"
$FX assert "$TMP/pl.json" 'y = [l for l in j["layers"] if l["name"] == "y"][0]; abs(y["sqnr_db"] - j["outputs"][0]["sqnr_db"]) < 1e-6 and y["float_op"] == "MatMul" and y["quant_op"] == "QLinearMatMul"' ||
    fail "per-layer: the output tensor's SQNR differs from the output's"
expect 0 "^per-layer SQNR, worst first: 3 quantized tensors" -- compare mlp.onnx mlp_q.onnx --data lin_x.npy --per-layer
expect 0 "\(the 1 worst\)" -- compare mlp.onnx mlp_q.onnx --data lin_x.npy --per-layer --top 1
# methods and formats (the observers themselves are tested elsewhere: here the flags reach the library)
for m in minmax ema histogram percentile entropy mse; do
    expect 0 "^SQNR +y " -- quantize --mode static mlp.onnx --calib linfolder -o "m_$m.onnx" --method "$m" --batch 8
done
expect 0 "\(percentile 99.9 observer\)" -- quantize --mode static mlp.onnx --calib lin_x.npy -o m_p.onnx \
    --method percentile --percentile 99.9 --bins 512
expect 0 "quantized 2 nodes \(QOperator, int8 activations, int8 weights per tensor\)" -- quantize --mode static mlp.onnx \
    --calib lin_x.npy -o mlp_qop.onnx --format qoperator --activation-type int8 --per-tensor --symmetric-activations \
    --reduce-range --threads 1
"$OCTET" info mlp_qop.onnx | grep -q "QLinearMatMul" || fail "--format qoperator wrote no QLinearMatMul"
json_assert 'len(j["layers"]) >= 2 and all(l["sqnr_db"] != "inf" for l in j["layers"])' mlp.onnx mlp_qop.onnx \
    --data lin_x.npy --per-layer
expect 0 "quantized 1 nodes" -- quantize --mode static mlp.onnx --calib lin_x.npy -o m_ex.onnx --exclude mm2 \
    --exclude nothing --calib-samples 9 --eval-samples 0
grep -q "^SQNR" "$TMP/out" && fail "--eval-samples 0 still measures"
grep -q "^calibrated on 9 samples" "$TMP/out" || fail "--calib-samples 9 not honoured"
expect 0 "^calibrated on 7 samples" -- quantize --mode static two.onnx --calib twofolder -o two_q.onnx --batch 3
expect 2 "--method must be minmax, ema" -- quantize --mode static mlp.onnx --calib lin_x.npy -o x.onnx --method best
expect 2 "--percentile wants a number" -- quantize --mode static mlp.onnx --calib lin_x.npy -o x.onnx --percentile 0
expect 2 "--format must be qdq or qoperator" -- quantize --mode static mlp.onnx --calib lin_x.npy -o x.onnx --format q
expect 2 "--bins wants" -- quantize --mode static mlp.onnx --calib lin_x.npy -o x.onnx --bins 3
expect 2 "need IN.onnx, -o OUT.onnx and --calib PATH" -- quantize --mode static mlp.onnx -o x.onnx
expect 2 "folder 'empty' holds no" -- quantize --mode static mlp.onnx --calib empty -o x.onnx
expect 2 "wrong_dim.npy' holds float32\[4,7\]" -- quantize --mode static mlp.onnx --calib wrong_dim.npy -o x.onnx
[ -f x.onnx ] && fail "a failed quantize wrote its output"

# ---- Fashion-MNIST (../shared): quantize, compare with labels, per layer against octet runs ----
if [ -n "$SHARED" ] && [ -f "$SHARED/models/fmnist_cnn.onnx" ] && [ -f "$SHARED/data/fmnist_calib_x.npy" ]; then
    FM=$SHARED/models/fmnist_cnn.onnx
    $PY - "$SHARED/data/fmnist_calib_x.npy" <<'EOF'
import gzip, os, sys
import numpy as np
x = np.load(sys.argv[1])
np.save("fm_x.npy", x[:300])
# labels of the calibration images (train images rng(0).permutation(60000)[:1024]) when the data set is there
p = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"
if os.path.exists(p):
    lab = np.frombuffer(gzip.open(p).read(), np.uint8, offset=8)
    np.save("fm_y.npy", lab[np.random.default_rng(0).permutation(60000)[:300]].astype(np.int64))
EOF
    expect 0 "^SQNR +logits [0-9.]+ dB" -- quantize --mode static "$FM" --calib fm_x.npy -o fm_q.onnx --calib-samples 256
    # output metrics: numpy on octet run's outputs of both models
    "$OCTET" run "$FM" --input input=fm_x.npy --output-dir rf >/dev/null && "$OCTET" run fm_q.onnx --input input=fm_x.npy \
        --output-dir rq >/dev/null || fail "octet run on the Fashion-MNIST models"
    if [ -f fm_y.npy ]; then
        $FX outputs_metrics rf/logits.npy rq/logits.npy fm_expect.json fm_y.npy
        json_check fm_expect.json "$FM" fm_q.onnx --data fm_x.npy --batch 64 --labels fm_y.npy
        json_assert 'o = j["outputs"][0]; o["accuracy_float"] > 0.85 and o["accuracy_quant"] > 0.85 and o["labeled"] == 300' \
            "$FM" fm_q.onnx --data fm_x.npy --labels fm_y.npy
    else
        $FX outputs_metrics rf/logits.npy rq/logits.npy fm_expect.json
        json_check fm_expect.json "$FM" fm_q.onnx --data fm_x.npy --batch 64
    fi
    # per layer: inner tensors made graph outputs of both models, run by octet, SQNR in numpy
    "$OCTET" compare "$FM" fm_q.onnx --data fm_x.npy --per-layer --json >"$TMP/fm.json" || fail "fmnist --per-layer"
    for t in /relu1/Relu_output_0 /pool2/MaxPool_output_0; do
        f=$(echo "$t" | tr '/' '_')
        $FX add_output "$FM" fm_f_ext.onnx "$t" && $FX add_output fm_q.onnx fm_q_ext.onnx "$t" &&
            "$OCTET" run fm_f_ext.onnx --input input=fm_x.npy --output-dir ef >/dev/null &&
            "$OCTET" run fm_q_ext.onnx --input input=fm_x.npy --output-dir eq >/dev/null ||
            fail "extra output $t"
        $FX layer_sqnr "ef/$f.npy" "eq/$f.npy" "$TMP/fm.json" "$t" >/dev/null || fail "fmnist per-layer SQNR of $t differs"
    done
    $FX assert "$TMP/fm.json" 'l = j["layers"]; len(l) >= 6 and [x["sqnr_db"] for x in l] == sorted(x["sqnr_db"] for x in l) and 20 < l[0]["sqnr_db"] < 60' ||
        fail "fmnist per-layer table"
    # QOperator file: the same tensors pair up through QLinearConv / QGemm outputs
    expect 0 "QOperator" -- quantize --mode static "$FM" --calib fm_x.npy -o fm_qop.onnx --format qoperator --eval-samples 0
    json_assert 'len(j["layers"]) >= 6 and j["outputs"][0]["sqnr_db"] > 25' "$FM" fm_qop.onnx --data fm_x.npy --per-layer
else
    echo "note: ../shared not found: the Fashion-MNIST part did not run"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures compare check(s) failed"
    exit 1
fi
echo "all compare checks passed"
