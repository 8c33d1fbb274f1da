#!/usr/bin/env bash
# octet fp32 vs ONNX Runtime fp32 on the shared models, same inputs, interleaved in one run.
# Usage: bench/compare_fp32.sh [BUILD_DIR] [ROUNDS] [RUNS] [MODEL_REGEX]   (needs ../shared and tests/ort)
# Each round runs octet then ORT for every row; the table gives the median over rounds of each
# tool's median latency, and the ratio octet / ORT (below 1 = octet faster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
rounds=${2:-15}  # many short rounds: this host slows down for seconds at a time (see PERFORMANCE.md)
runs=${3:-5}
only=${4:-.}  # e.g. resnet18: only the rows whose model name matches
shared=${OCTET_SHARED:-$root/../shared}
octet=$build/octet
models=$shared/models

# name  model  k(io set)  label
rows=(
  "mobilenet_v2 0 batch1"
  "resnet18 0 batch1"
  "mlp3x1024 0 batch1"
  "mlp3x1024 1 batch64"
  "lstm2x512 0 seq50"
  "ppocr_v4_det_ch 0 320x960"
)

inputs_for() { # model k -> --input args
  local m=$1 k=$2 f base name
  for f in "$models/$m.io"/input_"$k"_*.npy; do
    base=$(basename "$f" .npy); name=${base#input_"$k"_}
    printf -- '--input %s=%s ' "$name" "$f"
  done
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "| model | input | threads | octet fp32 ms | ORT fp32 ms | octet/ORT |"
echo "|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  read -r m k label <<<"$row"
  [[ $m =~ $only ]] || continue
  args=$(inputs_for "$m" "$k")
  for t in 1 2; do
    o=(); r=()
    for ((i = 0; i < rounds; i++)); do
      # shellcheck disable=SC2086
      ort() { node "$here/ort_bench.mjs" "$models/$m.onnx" --threads "$t" --runs "$runs" --warmup 3 $args | sed -E 's/.*median_ms=([0-9.]+).*/\1/'; }
      ((i % 2)) && r+=("$(ort)")  # odd rounds: ORT first
      # shellcheck disable=SC2086
      o+=("$("$octet" bench "$models/$m.onnx" --threads "$t" --runs "$runs" --warmup 3 $args | awk '/^latency/ {print $3}')")
      ((i % 2)) || r+=("$(ort)")
    done
    om=$(printf '%s\n' "${o[@]}" | median); rm_=$(printf '%s\n' "${r[@]}" | median)
    printf '| %s | %s | %d | %.3f | %.3f | %.2f |\n' "$m" "$label" "$t" "$om" "$rm_" "$(awk -v a="$om" -v b="$rm_" 'BEGIN {print a / b}')"
  done
done
