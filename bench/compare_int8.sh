#!/usr/bin/env bash
# Int8 latency: octet int8 vs ONNX Runtime int8 (the same QDQ file) vs ONNX Runtime fp32, interleaved.
# The QDQ files are made by octet itself (static quantization, per-tensor weights, min/max calibration
# on 8 N(0,1) images) from ../shared's mobilenet_v2 and resnet18.
# Usage: bench/compare_int8.sh [BUILD_DIR] [ROUNDS] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
rounds=${2:-15}  # many short rounds: this host slows down for seconds at a time (see PERFORMANCE.md)
runs=${3:-5}
shared=${OCTET_SHARED:-$root/../shared}
octet=$build/octet
work=$build/bench_int8
mkdir -p "$work"
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

/usr/bin/python3 -c "
import numpy as np
np.save('$work/calib.npy', np.random.default_rng(7).standard_normal((8, 3, 224, 224)).astype(np.float32))"

echo "| model | threads | octet int8 ms | ORT int8 ms | ORT fp32 ms | octet int8 / ORT int8 |"
echo "|---|---|---|---|---|---|"
for m in mobilenet_v2 resnet18; do
  "$octet" quantize --mode static "$shared/models/$m.onnx" --calib "$work/calib.npy" --per-tensor \
      -o "$work/${m}_int8.onnx" >/dev/null
  in="--input input=$shared/models/$m.io/input_0_input.npy"
  for t in 1 2; do
    o=(); r=(); f=()
    for ((i = 0; i < rounds; i++)); do
      # shellcheck disable=SC2086
      ort() { node "$here/ort_bench.mjs" "$1" --threads "$t" --runs "$runs" --warmup 3 $in | sed -E 's/.*median_ms=([0-9.]+).*/\1/'; }
      if ((i % 2)); then  # odd rounds in reverse order
        f+=("$(ort "$shared/models/$m.onnx")")
        r+=("$(ort "$work/${m}_int8.onnx")")
      fi
      # shellcheck disable=SC2086
      o+=("$("$octet" bench "$work/${m}_int8.onnx" --threads "$t" --runs "$runs" --warmup 3 $in | awk '/^latency/ {print $3}')")
      if ! ((i % 2)); then
        r+=("$(ort "$work/${m}_int8.onnx")")
        f+=("$(ort "$shared/models/$m.onnx")")
      fi
    done
    om=$(printf '%s\n' "${o[@]}" | median); rm_=$(printf '%s\n' "${r[@]}" | median); fm=$(printf '%s\n' "${f[@]}" | median)
    printf '| %s | %d | %.3f | %.3f | %.3f | %.2f |\n' "$m" "$t" "$om" "$rm_" "$fm" "$(awk -v a="$om" -v b="$rm_" 'BEGIN {print a / b}')"
  done
done
