#!/usr/bin/env bash
# octet quantize --mode dynamic, end to end on shared/models/mlp3x1024.onnx (ctest interop.dynamic.cli).
#   test_cli_dynamic.sh OCTET_EXE MODELS_DIR
set -uo pipefail
octet=${1:?usage: test_cli_dynamic.sh OCTET MODELS}
models=${2:?}
src="$models/mlp3x1024.onnx"
if ! [ -f "$src" ]; then
    echo "SKIPPED: $src not found"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME EXPECTED_RC PATTERN -- command...
    local name=$1 want=$2 pat=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want), output:"
        sed 's/^/    /' <<<"$out"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}
cp "$src" "$tmp/in.onnx"
check default 0 'Gemm +3  -> com.microsoft.DynamicQuantizeMatMul' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/out.onnx"
check sizes 0 'weights \(like a state_dict\) +12\.595200 +3\.158031' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/out.onnx"
check runs 0 'output +float32\[1,1024\]' -- "$octet" run "$tmp/out.onnx" --input "input=$models/mlp3x1024.io/input_0_input.npy"
check onnx_form 0 'DynamicQuantizeLinear\+MatMulInteger' -- "$octet" quantize --mode=dynamic "$tmp/in.onnx" -o "$tmp/o2.onnx" --form onnx --per-channel --weight-type uint8
check exclude 0 'excluded +\[/net/net.2/Gemm\]' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o3.onnx" --exclude /net/net.2/Gemm
check ops 0 'op type not selected' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o4.onnx" --ops LSTM,GRU
check verbose 0 'int8 +Gemm +/net/net.4/Gemm -> com.microsoft.DynamicQuantizeMatMul' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o5.onnx" -v --reduce-range --asymmetric
check overwrite 2 'refusing to overwrite' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/in.onnx"
check overwrite_alias 2 'refusing to overwrite' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/./in.onnx"
check bad_ops 2 "cannot be quantized dynamically" -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o6.onnx" --ops Softmax
check bad_type 2 'weight-type must be int8 or uint8' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o6.onnx" --weight-type int4
check bad_form 2 'form must be contrib or onnx' -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o6.onnx" --form qdq
check no_output 2 'need IN.onnx and -o OUT.onnx' -- "$octet" quantize --mode dynamic "$tmp/in.onnx"
check unknown 2 "unknown option '--frobnicate'" -- "$octet" quantize --mode dynamic "$tmp/in.onnx" -o "$tmp/o6.onnx" --frobnicate
check missing_in 1 'error' -- "$octet" quantize --mode dynamic "$tmp/nope.onnx" -o "$tmp/o6.onnx"
check help 0 'usage: octet quantize --mode dynamic' -- "$octet" quantize --mode dynamic --help
if cmp -s "$src" "$tmp/in.onnx"; then echo "ok   input untouched"; else echo "FAIL input changed"; fails=$((fails + 1)); fi
[ -e "$tmp/o6.onnx" ] && { echo "FAIL an output was written by a failing command"; fails=$((fails + 1)); }
echo "$fails failed"
[ "$fails" = 0 ]
