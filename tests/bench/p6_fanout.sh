#!/usr/bin/env bash
# P6 benchmark (issue 12): one fan-out of Get-TransportRule over 200 DelegatedOrganization
# profiles of the partner against `exo-connect sim --tenants 200`, against single-profile runs of
# the same cmdlet measured alternately in the same script (so both see the same machine load).
#
# Target: wall(fan-out) <= 1.3 x ceil(200 / concurrency) x wall(single run). Each run is a new
# process with secrets in memory, so each signs in (password from stdin) once: the single run
# once for its profile, the fan-out once for the partner (the other 199 reuse that sign-in).
# Also reports the fan-out's peak RSS, and each run's CPU seconds (user + system).
#
# Usage: tests/bench/p6_fanout.sh            (builds the release binary if needed)
# Env:   BIN=path/to/exo-connect  SIM_BIN=$BIN  PROFILES=200  CONCURRENCY=8  ROUNDS=3
#        LINE='Get-TransportRule' (the cmdlet line both runs send)  CUSTOMER_MAILBOXES=5
#        The issue's second case: PROFILES=20 CUSTOMER_MAILBOXES=5000 \
#          LINE='Get-Mailbox -ResultSize Unlimited' tests/bench/p6_fanout.sh
#        SLOW=0 THROTTLE=0 (slow / throttling customers of the sim; 0 measures the client alone)
#        TOKEN_DELAY_MS=0 (each token request of the sim waits this long, like a real sign-in
#        service's ~100-300 ms; both runs pay it for each of their token requests)
# Tools: bash (5, for EPOCHREALTIME), /usr/bin/time, cargo.
set -euo pipefail

cd "$(dirname "$0")/../.."
PROFILES=${PROFILES:-200}
CONCURRENCY=${CONCURRENCY:-8}
ROUNDS=${ROUNDS:-3}
SLOW=${SLOW:-0}
THROTTLE=${THROTTLE:-0}
LINE=${LINE:-Get-TransportRule}
TOKEN_DELAY_MS=${TOKEN_DELAY_MS:-0}
CUSTOMER_MAILBOXES=${CUSTOMER_MAILBOXES:-5}
read -r -a line <<<"$LINE"
BIN=${BIN:-target/release/exo-connect}
SIM_BIN=${SIM_BIN:-$BIN}   # the sim's binary (another build's client against this sim)
if [[ ! -x $BIN ]]; then
    cargo build --release --quiet
fi
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
sim_pid=
cleanup() {
    [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export EXO_CONNECT_HOME=$work/home EXO_CONNECT_SECRETS=memory EXO_CONNECT_NO_BROWSER=1
mkdir -p "$EXO_CONNECT_HOME"

"$SIM_BIN" sim --tenants "$PROFILES" --customer-mailboxes "$CUSTOMER_MAILBOXES" --mailboxes 20 \
    --slow-tenants "$SLOW" --throttle-tenants "$THROTTLE" --token-delay-ms "$TOKEN_DELAY_MS" \
    >"$work/banner" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    grep -q '^exo:' "$work/banner" && grep -q '^authority:' "$work/banner" && break
    sleep 0.1
done
exo=$(sed -n 's/^exo: *//p' "$work/banner" | head -1)
authority=$(sed -n 's/^authority: *//p' "$work/banner" | head -1)
[[ -n $exo && -n $authority ]] || { echo "the sim did not start:" >&2; cat "$work/banner" >&2; exit 1; }

width=${#PROFILES}; (( width < 3 )) && width=3
for i in $(seq "$PROFILES"); do
    c=$(printf "cust%0${width}d" "$i")
    "$BIN" profile add --name "$c" --upn partner@litware.com --service exo --cloud Custom \
        --connection-uri "$exo/powershell-liveid/" --authorization-endpoint "$authority" \
        --auth password --delegated-org "$c.onmicrosoft.com" --folder Bench >/dev/null
done
first=$(printf "cust%0${width}d" 1)

# wall seconds, peak RSS (KiB), user and system CPU seconds of one command; its stdout goes to
# $work/out. The wall time is bash's microsecond clock around the command (/usr/bin/time's %e
# counts in 10 ms steps: a single run against the sim takes about one step).
measure() {
    local t0=$EPOCHREALTIME t1
    printf 'partner-Demo-2026!\n' |
        /usr/bin/time -f '%M %U %S' -o "$work/time" "$BIN" "$@" >"$work/out" 2>"$work/err" || {
        echo "failed: $*" >&2; tail -5 "$work/err" >&2; exit 1; }
    t1=$EPOCHREALTIME
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b - a}') $(cat "$work/time")"
}

singles=() fanouts=() rss=()
for r in $(seq "$ROUNDS"); do
    read -r s _ su ss < <(measure run "$first" --format csv --password-stdin -- "${line[@]}")
    read -r f m fu fs < <(measure run --folder Bench --concurrency "$CONCURRENCY" --format csv \
        --password-stdin -- "${line[@]}")
    rows=$(($(wc -l <"$work/out") - 1))
    summary=$(tail -1 "$work/err")
    echo "round $r: single ${s} s (CPU $(awk -v a="$su" -v b="$ss" 'BEGIN{print a+b}') s)," \
        "fan-out ${f} s (CPU $(awk -v a="$fu" -v b="$fs" 'BEGIN{print a+b}') s; ${summary}, ${rows} rows)," \
        "peak RSS ${m} KiB"
    singles+=("$s") fanouts+=("$f") rss+=("$m")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median "${singles[@]}")
f=$(median "${fanouts[@]}")
m=$(median "${rss[@]}")
awk -v line="$LINE, $CUSTOMER_MAILBOXES mailboxes per customer, token requests +$TOKEN_DELAY_MS ms" -v s="$s" -v f="$f" -v m="$m" -v n="$PROFILES" -v c="$CONCURRENCY" 'BEGIN {
    batches = int((n + c - 1) / c)
    target = 1.3 * batches * s
    printf "P6: %s\n", line
    printf "P6: %d profiles, concurrency %d: fan-out %.2f s, single %.3f s, ceil(%d/%d) = %d batches\n", n, c, f, s, n, c, batches
    printf "P6: wall ratio fan-out / (batches x single) = %.2f (target <= 1.3): %s\n", f / (batches * s), (f <= target ? "met" : "NOT met")
    printf "P6: peak RSS of the fan-out %.1f MiB\n", m / 1024
}'
