#!/usr/bin/env bash
# Accuracy of static int8 for every calibration method: SQNR (dB) of each model's output, int8 vs float,
# both run by octet (`octet compare`), on held-out data; Fashion-MNIST also top-1 accuracy on the 10,000
# test images. Default quantization (per-channel int8 weights, uint8 activations, QDQ); the last column is
# minmax with 7-bit weights (--weight-bits 7, the AVX2 fast path).
#   bench/sqnr_methods.sh [BUILD_DIR]
# Data: mobilenet_v2 / resnet18 (random weights) calibrate on 32 N(0,1) images and are measured on 16 others;
# the PaddleOCR models calibrate on their first shared input(s) and are measured on the last; fmnist_cnn
# calibrates on ../shared/data/fmnist_calib_x.npy (1024 train images).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
shared=${OCTET_SHARED:-$root/../shared}
octet=$build/octet
work=$build/bench_sqnr
mnist=/usr/share/datasets/fashion-mnist
mkdir -p "$work"
methods=(minmax ema histogram percentile entropy mse minmax:w7)

/usr/bin/python3 - "$work" "$shared/models" "$mnist" <<'PY'
import gzip, os, sys
import numpy as np
work, models, mnist = sys.argv[1:]
rng = np.random.default_rng(7)
np.save(f'{work}/img_calib.npy', rng.standard_normal((32, 3, 224, 224)).astype(np.float32))
np.save(f'{work}/img_eval.npy', rng.standard_normal((16, 3, 224, 224)).astype(np.float32))
io = f'{models}/ppocr_mobile_v2.0_cls_ch.io'
np.save(f'{work}/cls_calib.npy', np.stack([np.load(f'{io}/input_{k}_x.npy')[0] for k in (0, 1)]))
np.save(f'{work}/cls_eval.npy', np.load(f'{io}/input_2_x.npy'))
with gzip.open(f'{mnist}/t10k-images-idx3-ubyte.gz') as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
np.save(f'{work}/fmnist_test_x.npy', (x.astype(np.float32) / 255.0))
with gzip.open(f'{mnist}/t10k-labels-idx1-ubyte.gz') as f:
    np.save(f'{work}/fmnist_test_y.npy', np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
PY

row() {  # model calib eval [labels]
    local m=$1 calib=$2 eval=$3 labels=${4:-}
    local cells="" acc=""
    for me in "${methods[@]}"; do
        local extra=()
        [[ $me == *:w7 ]] && extra=(--weight-bits 7)
        "$octet" quantize --mode static "$shared/models/$m.onnx" --calib "$calib" --method "${me%%:*}" --eval-samples 0 \
            "${extra[@]}" -o "$work/${m}_$me.onnx" >/dev/null
        local out
        out=$("$octet" compare "$shared/models/$m.onnx" "$work/${m}_$me.onnx" --data "$eval" ${labels:+--labels "$labels"} --json)
        cells+=" $(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(float(d["outputs"][0]["sqnr_db"]), 2))') |"
        [ -n "$labels" ] && acc+=" $(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["outputs"][0]["accuracy_quant"])') |"
    done
    echo "| $m | SQNR dB |$cells"
    [ -n "$labels" ] && echo "| $m | top-1 accuracy |$acc"
    return 0
}
echo "| model | metric | minmax | ema | histogram | percentile | entropy | mse | minmax, 7-bit weights |"
echo "|---|---|---|---|---|---|---|---|---|"
row fmnist_cnn "$shared/data/fmnist_calib_x.npy" "$work/fmnist_test_x.npy" "$work/fmnist_test_y.npy"
row mobilenet_v2 "$work/img_calib.npy" "$work/img_eval.npy"
row resnet18 "$work/img_calib.npy" "$work/img_eval.npy"
row ppocr_mobile_v2.0_cls_ch "$work/cls_calib.npy" "$work/cls_eval.npy"
row ppocr_v4_det_ch "$shared/models/ppocr_v4_det_ch.io/input_0_x.npy" "$shared/models/ppocr_v4_det_ch.io/input_1_x.npy"
