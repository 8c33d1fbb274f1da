#!/usr/bin/env bash
# Image calibration data with --resize N (shorter side, aspect kept) and --crop HxW (center), as
# torchvision's Resize + CenterCrop: octet's tensors against values computed by hand in plain Python
# (tests/cli/crop_fixtures.py: linear images whose bilinear samples are exact, and the definition applied
# pixel by pixel to random ones), through `octet compare` of x*0 + expected vs Identity.
# Usage: test_crop.sh OCTET_BINARY SOURCE_DIR
set -u
OCTET=${1:?usage: test_crop.sh OCTET_BINARY SOURCE_DIR}
SRC=${2:?usage: test_crop.sh OCTET_BINARY SOURCE_DIR}
PY=/usr/bin/python3
if ! $PY -c "import onnx" 2>/dev/null; then
    echo "SKIPPED: $PY lacks onnx (scripts/setup.sh)"
    [ -n "${CI:-}" ] && exit 1
    exit 77
fi
TMP=$(mktemp -d /tmp/octet_crop_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
# shellcheck source=tests/cli/lib.sh
. "$SRC/tests/cli/lib.sh"

D=$TMP/fx
$PY "$SRC/tests/cli/crop_fixtures.py" "$D" || { echo "FAIL: fixtures"; exit 1; }
cd "$D" || exit 1

# same CASE SAMPLES MAXERR -- OPTIONS...: octet's tensor for folder CASE is the hand-computed one.
same() {
    local c=$1 n=$2 tol=$3
    shift 4
    if ! "$OCTET" compare --json "${c}_ref.onnx" "${c}_id.onnx" --data "$c" "$@" >"$TMP/o.json" 2>"$TMP/err"; then
        fail "$c ($*): octet compare failed: $(cat "$TMP/err")"
        return
    fi
    local got
    got=$($PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["samples"], j["outputs"][0]["max_abs_error"])' "$TMP/o.json")
    if ! $PY -c 'import sys; n, e = sys.argv[1].split(); sys.exit(0 if int(n) == int(sys.argv[2]) and float(e) <= float(sys.argv[3]) else 1)' \
        "$got" "$n" "$tol"; then
        fail "$c ($*): samples and max abs error '$got', want $n and <= $tol"
    else
        echo "ok   $c ($*): max abs error $(echo "$got" | cut -d' ' -f2)"
    fi
}
IMNET=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)

# ---- the tensors ----
same land 1 1e-5 -- --resize 20 --crop 10x16 "${IMNET[@]}"
same port 1 1e-5 -- --resize 25 --crop 26x24 "${IMNET[@]}"      # margin 9 -> row 4 (ties to even)
same port_sq 1 1e-5 -- --resize 25 --crop 24 "${IMNET[@]}"      # margin 11 -> row 6
same frac 1 1e-5 -- --resize 20 --crop 20 "${IMNET[@]}"         # scale 1.5
same mixed 2 1e-5 -- --resize 20 --crop 16x16 "${IMNET[@]}"     # landscape and portrait in one batch
same rand 1 1e-5 -- --resize 7 --crop 5x6 --mean 0.5 --std 0.25
same sizecrop 1 1e-5 -- --size 8x10 --crop 6x6 --mean 0.5 --std 0.25
same croponly 1 1e-6 -- --crop 6x8
same grey 1 1e-5 -- --resize 6 --crop 4x6 --mean 0.5 --std 0.25 --layout nhwc --channels 1
same port 1 1e-5 -- --size 35x25 --crop 26x24 "${IMNET[@]}"    # what --resize 25 computes for 70x50
# a wrong geometry must show: another scale, no resize at all
for bad in "--resize 24 --crop 26x24" "--resize 26 --crop 26x24" "--crop 26x24"; do
    # shellcheck disable=SC2086
    if ! "$OCTET" compare --json port_ref.onnx port_id.onnx --data port $bad "${IMNET[@]}" >"$TMP/o.json" 2>"$TMP/err"; then
        fail "port ($bad): $(cat "$TMP/err")"
    elif ! $PY -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["outputs"][0]["max_abs_error"] > 0.05 else 1)' "$TMP/o.json"; then
        fail "port ($bad): matched the --resize 25 tensor"
    else
        echo "ok   port ($bad): differs, as it should"
    fi
done
# a model with free sizes: --resize alone takes the first image's resized size, and the others must agree
expect 0 "^compared .* on 1 samples" -- compare free_id.onnx free_id.onnx --data land --resize 20
expect 2 "image 'mixed/01.png' \(60x40\) is resized to 30x20 but the input takes 20x30: add --crop 20x30" -- \
    compare free_id.onnx free_id.onnx --data mixed --resize 20
expect 0 "^compared .* on 2 samples" -- compare free_id.onnx free_id.onnx --data mixed --resize 20 --crop 20

# ---- errors: one line, the right exit code ----
expect 2 "--resize and --size both" -- compare land_ref.onnx land_id.onnx --data land --resize 20 --size 20x30 --crop 10x16
expect 2 "image 'land/00.png' is 20x30 after resizing: smaller than --crop 24x24" -- \
    compare free_id.onnx free_id.onnx --data land --resize 20 --crop 24x24
expect 2 "but --crop is 12x16" -- compare land_ref.onnx land_id.onnx --data land --resize 20 --crop 12x16
expect 2 "is resized to 20x30 but the input takes 10x16: add --crop 10x16" -- \
    compare land_ref.onnx land_id.onnx --data land --resize 20
expect 2 "--crop wants HxW" -- compare land_ref.onnx land_id.onnx --data land --crop 0x5
expect 2 "--crop wants HxW" -- compare land_ref.onnx land_id.onnx --data land --crop 10x
expect 2 "--resize wants the shorter side" -- compare land_ref.onnx land_id.onnx --data land --resize 20x30
expect 2 "--resize wants the shorter side" -- compare land_ref.onnx land_id.onnx --data land --resize 0
expect 2 "image 'croponly/00.png' is 11x14: smaller than --crop 12x8" -- \
    compare free_id.onnx free_id.onnx --data croponly --crop 12x8
expect 2 "image 'croponly/00.png' is 10x20 after resizing: smaller than --crop 12x8" -- \
    compare free_id.onnx free_id.onnx --data croponly --crop 12x8 --size 10x20
$PY -c 'import numpy; numpy.save("arr.npy", numpy.zeros((2, 3, 10, 16), numpy.float32))' 2>/dev/null &&
    expect 2 "apply to images" -- compare land_ref.onnx land_id.onnx --data arr.npy --crop 10x16

# ---- help and quantize ----
expect 0 "--resize N +resize the shorter side" -- quantize --help
expect 0 "--crop HxW\|N" -- quantize --help
expect 0 "--crop HxW\|N" -- compare --help
mkdir -p calib && cp land/00.png calib/a.png && cp mixed/01.png calib/b.png && cp port/00.png calib/c.png
expect 0 "calibrated on 3 samples" -- quantize --mode static tiny.onnx --calib calib -o tiny_q.onnx --resize 20 \
    --crop 16 "${IMNET[@]}" --threads 1
expect 0 "SQNR +y " -- quantize --mode static tiny.onnx --calib calib -o tiny_q.onnx --resize 20 --crop 16 \
    "${IMNET[@]}" --threads 1
expect 2 "smaller than --crop 16x16" -- quantize --mode static tiny.onnx --calib calib -o tiny_q.onnx --resize 12 \
    --crop 16 --threads 1

if [ "$failures" -ne 0 ]; then
    echo "$failures failed"
    exit 1
fi
echo "test_crop: all passed"
