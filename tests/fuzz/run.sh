#!/usr/bin/env bash
# Runs every fuzz target of exo-connect (cargo-fuzz / libFuzzer) for SECONDS each (default 60)
# and prints each target's executions. Not part of .ci/run (the property tests in
# tests/engine/properties guard the same functions there, on stable).
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
#   FUZZ_RUNS=N         also stop a target after N executions (e.g. 10000000)
#   FUZZ_TOOLCHAIN=T    build with `cargo +T` (e.g. nightly; default: the default toolchain —
#                       without a sanitizer the targets build on stable too)
#   FUZZ_SANITIZER=S    none (default: safe Rust; debug assertions and overflow checks are on)
#                       or address (needs nightly)
#   FUZZ_NICE=N         run the fuzzers under `nice -n N` (default 19: other builds keep the CPU)
#
# Each target's corpus grows in tests/fuzz/corpus/<target> (not in git), seeded from the small
# checked-in tests/fuzz/seeds/<target>. A crash is kept in tests/fuzz/artifacts/<target>/ and
# the script goes on with the next target; it exits 1 when any target crashed. Replay one with
# `cargo fuzz run --fuzz-dir tests/fuzz -s none TARGET tests/fuzz/artifacts/TARGET/crash-…`.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS="${1:-60}"
shift || true
SANITIZER="${FUZZ_SANITIZER:-none}"
NICE="${FUZZ_NICE:-19}"
CARGO=(cargo)
[ -n "${FUZZ_TOOLCHAIN:-}" ] && CARGO=(cargo "+$FUZZ_TOOLCHAIN")
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
FUZZ=("${CARGO[@]}" fuzz)
FLAGS=(--fuzz-dir tests/fuzz -s "$SANITIZER" --codegen-units 16)

TARGETS=("$@")
if [ "${#TARGETS[@]}" = 0 ]; then
    mapfile -t TARGETS < <("${FUZZ[@]}" list --fuzz-dir tests/fuzz)
fi

echo "== building ${#TARGETS[@]} fuzz targets"
"${FUZZ[@]}" build "${FLAGS[@]}"

LOGS="tests/fuzz/target/logs"
mkdir -p "$LOGS"
crashed=0
summary=()
for t in "${TARGETS[@]}"; do
    corpus="tests/fuzz/corpus/$t"
    mkdir -p "$corpus" "tests/fuzz/artifacts/$t"
    args=(-max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="tests/fuzz/artifacts/$t/")
    [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
    started=$(date +%s)
    status=ok
    nice -n "$NICE" "${FUZZ[@]}" run "${FLAGS[@]}" "$t" "$corpus" "tests/fuzz/seeds/$t" -- \
        "${args[@]}" >"$LOGS/$t.log" 2>&1 || { status=CRASH; crashed=1; }
    secs=$(($(date +%s) - started))
    execs="$(awk '/stat::number_of_executed_units/{print $NF}' "$LOGS/$t.log" | tail -1)"
    files="$(find "$corpus" -type f | wc -l)"
    line="$(printf '%-15s %12s execs %6s s %10s exec/s  corpus %5s  %s' "$t" "${execs:-?}" "$secs" \
        "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "$files" "$status")"
    echo "$line"
    summary+=("$line")
    if [ "$status" = CRASH ]; then
        grep -m1 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$LOGS/$t.log" || true
        echo "   log: $LOGS/$t.log; input: $(ls -t "tests/fuzz/artifacts/$t" | head -1)"
    fi
done
echo "== summary ($SECS s per target${FUZZ_RUNS:+, at most $FUZZ_RUNS executions})"
printf '%s\n' "${summary[@]}"
exit "$crashed"
