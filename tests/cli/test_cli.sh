#!/usr/bin/env bash
# End-to-end tests of the octet command-line tool on the tiny committed models in tests/data/cli
# (made by tests/data/make_fixtures.py). Usage: test_cli.sh OCTET_BINARY SOURCE_DIR
# Checks outputs byte for byte against .npy files numpy wrote, exit codes (0 ok, 1 runtime error,
# 2 usage error) and that every failure prints exactly one "octet: error: ..." line.
set -u
OCTET=${1:?usage: test_cli.sh OCTET_BINARY SOURCE_DIR}
SRC=${2:?usage: test_cli.sh OCTET_BINARY SOURCE_DIR}
DATA=$SRC/tests/data/cli
TMP=$(mktemp -d /tmp/octet_cli_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0

# shellcheck source=tests/cli/lib.sh
. "$SRC/tests/cli/lib.sh"

MODEL=$DATA/tiny_add_relu.onnx

# ---- help and version ----
expect 0 "^octet [0-9]+\.[0-9]+\.[0-9]+$" -- --version
expect 0 "usage: octet COMMAND" -- --help
for cmd in info run bench; do
    expect 0 "usage: octet $cmd MODEL" -- "$cmd" --help
done
"$OCTET" >/dev/null 2>&1
[ $? -eq 2 ] || fail "octet without arguments should exit 2"
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown option '--bogus'" -- run --bogus "$MODEL"
expect 2 "no MODEL given" -- run
expect 2 "no MODEL given" -- info

# ---- info ----
expect 0 "^inputs +1" -- info "$MODEL"
"$OCTET" info "$DATA/tiny_info.onnx" >"$TMP/info" 2>&1 || fail "octet info tiny_info.onnx failed"
for want in "^producer +octet-fixtures 2$" "^IR version +7$" "^opsets +ai.onnx 13, com.example 1$" \
    "^  x +float32\[batch,\?,2\]$" "^  cond +bool\[\]$" "^  xw +float32\[batch,seq,2\]$" \
    "^ops +3 nodes" "^  (Constant|If|Mul) +1$" "^subgraph ops +3 nodes in 2 subgraphs" \
    "^  com.example.Frobnicate +1$" "^subgraphs +2$" "^  If 'branch' then_branch: 2 nodes$" \
    "^  If 'branch' else_branch: 1 node$" "^parameters +11 values, 44 B \(1 initializer, 2 Constant nodes\)$" \
    "^  com.example.Frobnicate \(1 node in subgraphs\)$"; do
    grep -Eq -- "$want" "$TMP/info" || fail "octet info tiny_info.onnx: no line matches /$want/"
done
expect 1 "cannot open '.*missing.onnx'" -- info "$TMP/missing.onnx"
head -c 100 "$MODEL" >"$TMP/cut.onnx"
expect 1 "cut.onnx" -- info "$TMP/cut.onnx"

# ---- run: outputs, checked byte for byte against what numpy wrote ----
expect 0 "^y +float32\[2,3\] +min 0 +max 3.5 +mean 1.08333$" -- run "$MODEL" --input x="$DATA/x.npy" \
    --output-dir "$TMP/res/nested" --threads 1
for f in y sum_raw; do
    if [ ! -f "$TMP/res/nested/$f.npy" ]; then fail "run did not write $f.npy"
    elif ! cmp -s "$TMP/res/nested/$f.npy" "$DATA/expected_$f.npy"; then fail "$f.npy differs from numpy's"; fi
done
ls "$TMP/res/nested" | grep -vqE '^(y|sum_raw)\.npy$' && fail "run left other files in the output folder"
expect 0 "^sum/raw +float32\[2,3\] +min -1.5 +max 3.5 +mean 0.75$" -- run "$MODEL" --inputs "$DATA/inputs.npz" \
    --output-dir="$TMP/res2"
cmp -s "$TMP/res2/y.npy" "$DATA/expected_y.npy" || fail "run --inputs: y.npy differs from numpy's"
expect 0 "^y " -- run --threads=2 "$MODEL" --input "x=$DATA/x.npy"

# ---- run: errors ----
expect 1 "cannot open '.*nope.onnx'" -- run "$TMP/nope.onnx" --input x="$DATA/x.npy"
expect 1 "cannot open '.*nope.npy'" -- run "$MODEL" --input x="$TMP/nope.npy"
expect 2 "--input wants NAME=FILE.npy, got 'x.npy'" -- run "$MODEL" --input x.npy
expect 2 "--input wants NAME=FILE.npy, got '=x.npy'" -- run "$MODEL" --input =x.npy
expect 2 "--input wants NAME=FILE.npy, got 'x='" -- run "$MODEL" --input x=
expect 2 "option --input needs a value" -- run "$MODEL" --input
expect 2 "no input named 'nope'.*its inputs: 'x'" -- run "$MODEL" --input nope="$DATA/x.npy"
expect 2 "input 'x' .*is not given" -- run "$MODEL"
expect 2 "input 'x' is given twice" -- run "$MODEL" --input x="$DATA/x.npy" --inputs "$DATA/inputs.npz"
expect 1 "input 'x' must be float32\[batch,3\], but '.*x_int64.npy' holds int64\[2,3\]" -- \
    run "$MODEL" --input x="$DATA/x_int64.npy"
head -c 140 "$DATA/x.npy" >"$TMP/trunc.npy"
expect 1 "trunc.npy: truncated" -- run "$MODEL" --input x="$TMP/trunc.npy"
printf 'not numpy at all' >"$TMP/bad.npy"
expect 1 "bad.npy: not an .npy file" -- run "$MODEL" --input x="$TMP/bad.npy"
expect 1 "bad.npy.*not an .npz" -- run "$MODEL" --inputs "$TMP/bad.npy"
expect 2 "--threads wants a whole number" -- run "$MODEL" --threads -1
expect 2 "unexpected argument" -- run "$MODEL" "$MODEL"
touch "$TMP/afile"
expect 1 "afile' exists and is not a folder" -- run "$MODEL" --input x="$DATA/x.npy" --output-dir "$TMP/afile"

# ---- bench ----
expect 0 "^latency +median [0-9.]+ ms +p90 [0-9.]+ ms +min [0-9.]+ ms" -- bench "$MODEL" --runs 3 --warmup 1
grep -Eq "^peak RSS +[0-9.]+ MiB$" "$TMP/out" || fail "bench prints no peak RSS"
expect 0 "x float32\[5,3\] \(generated\)" -- bench "$MODEL" --runs 2 --batch 5
expect 0 "x float32\[2,3\] \(.*x.npy\)" -- bench "$MODEL" --runs 2 --input x="$DATA/x.npy"
expect 2 "--runs wants a whole number from 1" -- bench "$MODEL" --runs 0
expect 2 "--batch wants" -- bench "$MODEL" --batch x
# --profile: one row per op type and per node, with ms per run and shares that add up to about 100 %
expect 0 "^profile +[0-9]+ nodes, [0-9.]+ ms per run" -- bench "$MODEL" --runs 3 --profile
grep -Eq "^Add +1 +[0-9.]+ +[0-9.]+$" "$TMP/out" || fail "bench --profile has no Add row"
awk '/^node /{t=1;next} t&&NF==4{s+=$4} END{exit !(s>99 && s<101)}' "$TMP/out" || fail "bench --profile node shares do not add up to 100 %"
expect 2 "--top wants" -- bench "$MODEL" --profile --top -1

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
