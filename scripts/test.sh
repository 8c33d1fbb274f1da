#!/usr/bin/env bash
# Build and run all of octet's tests:
#   1. Release build, every ctest (unit, ops vs live ONNX Runtime, models vs ../shared, fuzz smoke, ...)
#   2. ASan + UBSan build (RelWithDebInfo), every ctest again
#   3. if clang is there: libFuzzer harnesses (-DOCTET_FUZZ=ON), each run for a bounded time
#
#   scripts/test.sh [--quick] [--no-release] [--no-asan] [--no-fuzz] [--fuzz-time SECONDS]
#     --quick   Release build and tests only
# Environment: OCTET_BUILD_ROOT (default <repo>/build-test), OCTET_FUZZ_TIME (default 60 s per
# fuzzer), OCTET_SKIP_SETUP=1 (do not run scripts/setup.sh), CI (skips become failures).
# Runs every phase even when one fails; exits non-zero if any failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${OCTET_BUILD_ROOT:-$root/build-test}
fuzz_time=${OCTET_FUZZ_TIME:-60}
do_release=1
do_asan=1
do_fuzz=1
while [ $# -gt 0 ]; do
    case $1 in
        --quick) do_asan=0; do_fuzz=0 ;;
        --no-release) do_release=0 ;;
        --no-asan) do_asan=0 ;;
        --no-fuzz) do_fuzz=0 ;;
        --fuzz-time) fuzz_time=$2; shift ;;
        *) echo "usage: $0 [--quick] [--no-release] [--no-asan] [--no-fuzz] [--fuzz-time SECONDS]" >&2; exit 2 ;;
    esac
    shift
done

[ "${OCTET_SKIP_SETUP:-0}" = 1 ] || bash "$root/scripts/setup.sh"

jobs=$(nproc 2>/dev/null || echo 2)
total_pass=0
total_fail=0
failed_phases=()
start=$SECONDS

phase() { echo; echo "==== $* ($(( SECONDS - start )) s)"; }

# Add ctest's "N tests failed out of M" to the totals.
count_ctest() {
    local log=$1 line failed all
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
        all=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
        total_pass=$(( total_pass + all - failed ))
        total_fail=$(( total_fail + failed ))
    fi
}

# build_and_test NAME DIR [cmake args...]
build_and_test() {
    local name=$1 dir=$2
    shift 2
    phase "$name: configure + build in $dir"
    if ! cmake -S "$root" -B "$dir" "$@" >"$dir.configure.log" 2>&1; then
        cat "$dir.configure.log"
        echo "FAILED: $name configure"
        failed_phases+=("$name-configure")
        total_fail=$(( total_fail + 1 ))
        return 0
    fi
    if ! cmake --build "$dir" -j"$jobs"; then
        echo "FAILED: $name build"
        failed_phases+=("$name-build")
        total_fail=$(( total_fail + 1 ))
        return 0
    fi
    phase "$name: ctest"
    local log="$dir.ctest.log" rc=0
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" 2>&1 | tee "$log" || rc=$?
    count_ctest "$log"
    if [ "$rc" -ne 0 ]; then
        failed_phases+=("$name-ctest")
        # A ctest that failed without a summary (crash, timeout of ctest itself) still counts.
        grep -qE 'tests passed, [0-9]+ tests? failed' "$log" || total_fail=$(( total_fail + 1 ))
    fi
}

mkdir -p "$build_root"

# 1. Release
if [ "$do_release" = 1 ]; then
    build_and_test release "$build_root/release" -DCMAKE_BUILD_TYPE=Release
fi

# 2. AddressSanitizer + UndefinedBehaviorSanitizer
if [ "$do_asan" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    build_and_test asan "$build_root/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=ON
fi

# 3. libFuzzer harnesses (tests/fuzz/fuzz_<name>.c, see tests/fuzz/CMakeLists.txt), each run for a
#    bounded time over a scratch corpus seeded from tests/fuzz/corpus_<name without _load>.
if [ "$do_fuzz" = 1 ]; then
    mapfile -t harnesses < <(find "$root/tests/fuzz" -maxdepth 1 -name 'fuzz_*.c' ! -name 'fuzz_driver_main.c' \
                             -printf '%f\n' 2>/dev/null | sed 's/\.c$//' | sort)
    if ! command -v clang >/dev/null; then
        echo "fuzz: clang not found, fuzzers not run"
    elif [ ${#harnesses[@]} -eq 0 ]; then
        echo "fuzz: no harnesses in tests/fuzz"
    else
        dir="$build_root/fuzz"
        phase "fuzz: build ${harnesses[*]} in $dir (clang, -DOCTET_FUZZ=ON)"
        if CC=clang cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                -DOCTET_FUZZ=ON >"$dir.configure.log" 2>&1 &&
           cmake --build "$dir" -j"$jobs" --target "${harnesses[@]}"; then
            mkdir -p "$dir/artifacts"
            for name in "${harnesses[@]}"; do
                fz=$(find "$dir/" -type f -perm -u+x -name "$name" | head -1)
                if [ -z "$fz" ]; then
                    echo "FAILED: fuzz $name was not built"
                    failed_phases+=("fuzz-$name")
                    total_fail=$(( total_fail + 1 ))
                    continue
                fi
                phase "fuzz: $name for ${fuzz_time} s"
                short=${name#fuzz_}
                work="$dir/corpus/$name"
                mkdir -p "$work"
                seeds=()
                for c in "$root/tests/fuzz/corpus_${short%_load}" "$root/tests/fuzz/corpus_$short"; do
                    [ -d "$c" ] && seeds+=("$c")
                done
                if "$fz" -max_total_time="$fuzz_time" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
                        -artifact_prefix="$dir/artifacts/$name-" "$work" "${seeds[@]}" >"$dir/$name.log" 2>&1; then
                    grep -E '^(#[0-9]+ +DONE|Done|stat::number_of_executed_units)' "$dir/$name.log" | tail -n 3 || true
                    echo "fuzz: $name passed"
                    total_pass=$(( total_pass + 1 ))
                else
                    tail -n 60 "$dir/$name.log"
                    echo "FAILED: fuzz $name (crash input in $dir/artifacts)"
                    failed_phases+=("fuzz-$name")
                    total_fail=$(( total_fail + 1 ))
                fi
            done
        else
            [ -f "$dir.configure.log" ] && tail -n 30 "$dir.configure.log"
            echo "FAILED: fuzz build"
            failed_phases+=("fuzz-build")
            total_fail=$(( total_fail + 1 ))
        fi
    fi
fi

echo
echo "==== done in $(( SECONDS - start )) s"
if [ ${#failed_phases[@]} -gt 0 ]; then
    echo "failed: ${failed_phases[*]}"
fi
echo "octet: $total_pass passed, $total_fail failed"
[ ${#failed_phases[@]} -eq 0 ]
