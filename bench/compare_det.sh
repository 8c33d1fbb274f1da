#!/usr/bin/env bash
# ppocr_v4_det_ch: octet int8 vs ONNX Runtime int8 (the same static QDQ file, made here by octet) vs
# octet fp32 vs ONNX Runtime fp32, interleaved rounds (odd rounds in reverse order).
# Usage: bench/compare_det.sh [BUILD_DIR] [ROUNDS] [RUNS]   (needs ../shared and tests/ort installed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
rounds=${2:-10}
runs=${3:-5}
shared=${OCTET_SHARED:-$root/../shared}
octet=$build/octet
io=$shared/models/ppocr_v4_det_ch.io
work=$build/bench_det
mkdir -p "$work"
fp=$shared/models/ppocr_v4_det_ch.onnx
q=$work/ppocr_v4_det_ch_int8.onnx
[ -f "$q" ] || "$octet" quantize --mode static "$fp" --calib "$io/input_0_x.npy" --eval-samples 0 -o "$q" >/dev/null
in="--input x=$io/input_1_x.npy"   # 1x3x320x512; input_0 (the calibration image) is 1x3x320x960

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
oct() { "$octet" bench "$1" --threads "$t" --runs "$runs" --warmup 2 $in | awk '/^latency/ {print $3}'; }
ort() { node "$here/ort_bench.mjs" "$1" --threads "$t" --runs "$runs" --warmup 2 $in | sed -E 's/.*median_ms=([0-9.]+).*/\1/'; }

echo "| threads | octet int8 ms | ORT int8 ms | octet fp32 ms | ORT fp32 ms | octet int8 / ORT int8 | octet fp32 / int8 |"
echo "|---|---|---|---|---|---|---|"
for t in 1 2; do
  oq=(); rq=(); of=(); rf=()
  for ((i = 0; i < rounds; i++)); do
    if ((i % 2)); then
      rf+=("$(ort "$fp")"); of+=("$(oct "$fp")"); rq+=("$(ort "$q")"); oq+=("$(oct "$q")")
    else
      oq+=("$(oct "$q")"); rq+=("$(ort "$q")"); of+=("$(oct "$fp")"); rf+=("$(ort "$fp")")
    fi
  done
  a=$(printf '%s\n' "${oq[@]}" | median); b=$(printf '%s\n' "${rq[@]}" | median)
  c=$(printf '%s\n' "${of[@]}" | median); d=$(printf '%s\n' "${rf[@]}" | median)
  printf '| %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n' "$t" "$a" "$b" "$c" "$d" \
    "$(awk -v x="$a" -v y="$b" 'BEGIN {print x / y}')" "$(awk -v x="$c" -v y="$a" 'BEGIN {print x / y}')"
done
