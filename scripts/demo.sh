#!/usr/bin/env bash
# octet's demo: a small CNN trained on Fashion-MNIST (examples/fmnist/, trained by train.py there),
# run in float32, quantized to int8 (static, QDQ) with octet, run again: accuracy on the 10,000 test
# images, file size, latency. Installs what is missing and builds octet first.
#   scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OCTET_BUILD:-$root/build}
data=/usr/share/datasets/fashion-mnist
model=$root/examples/fmnist/fmnist_small.onnx
out=$build/demo
threads=${THREADS:-1}

[ "${OCTET_SKIP_SETUP:-0}" = 1 ] || bash "$root/scripts/setup.sh" >/dev/null
if [ ! -f "$data/t10k-images-idx3-ubyte.gz" ]; then
    echo "demo: installing dataset-fashion-mnist (Debian)"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends dataset-fashion-mnist >/dev/null
fi
echo "demo: building octet (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target octet fmnist_eval >/dev/null
mkdir -p "$out"
octet=$build/octet
evaluate=$build/examples/fmnist_eval

echo
echo "== the model"
"$octet" info "$model"

echo
echo "== calibration data: 1024 Fashion-MNIST training images"
"$evaluate" --to-npy "$out/calib.npy" "$data/train-images-idx3-ubyte.gz" --limit 1024

echo
echo "== quantize: static int8, per-channel weights, min/max calibration"
"$octet" quantize --mode static "$model" --calib "$out/calib.npy" -o "$out/fmnist_small_int8.onnx"

echo
echo "== float32 vs int8 on the 10,000 test images ($threads thread)"
printf '%-8s ' float32; "$evaluate" "$model" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" --threads "$threads"
printf '%-8s ' int8;    "$evaluate" "$out/fmnist_small_int8.onnx" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" --threads "$threads"
printf '%-8s %s bytes\n%-8s %s bytes\n' float32 "$(stat -c %s "$model")" int8 "$(stat -c %s "$out/fmnist_small_int8.onnx")"

echo
echo "== latency, batch 1"
for f in "$model" "$out/fmnist_small_int8.onnx"; do
    printf '%-28s ' "$(basename "$f")"
    "$octet" bench "$f" --threads "$threads" --runs 200 --warmup 20 | awk '/^latency/ {print $2, $3, $4, $5, $6}'
done
