#!/usr/bin/env bash
# P6 benchmark (issue 12): one fan-out of Get-TransportRule over 200 DelegatedOrganization
# profiles of the partner against `exo-connect sim --tenants 200`, against single-profile runs of
# the same cmdlet measured alternately in the same script (so both see the same machine load).
#
# Target: wall(fan-out) <= 1.3 x ceil(200 / concurrency) x wall(single run). Each run is a new
# process with secrets in memory, so each signs in (password from stdin) once: the single run
# once for its profile, the fan-out once for the partner (the other 199 reuse that sign-in).
# Also reports the fan-out's peak RSS, and each run's CPU seconds (user + system): the client's
# from /usr/bin/time, the sim's from /proc/<sim pid>/stat (utime + stime) read before and after
# each run. Both processes share this machine's cores, so the script also prints a "CPU floor":
# the lowest wall the fan-out could have if the client's and the sim's CPU of the fan-out were
# spread perfectly over every core, (client CPU + sim CPU) / nproc, and the ratio that floor
# gives against the same divisor. A ratio near its floor is the machine's arithmetic; a ratio far
# above it is the client's scheduling (or waiting). The P6 ratio and its target do not change.
#
# Usage: tests/bench/p6_fanout.sh            (builds the release binary if needed)
# Env:   BIN=path/to/exo-connect  SIM_BIN=$BIN  PROFILES=200  CONCURRENCY=8  ROUNDS=3
#        LINE='Get-TransportRule' (the cmdlet line both runs send)  CUSTOMER_MAILBOXES=5
#        The issue's second case: PROFILES=20 CUSTOMER_MAILBOXES=5000 \
#          LINE='Get-Mailbox -ResultSize Unlimited' tests/bench/p6_fanout.sh
#        SLOW=0 THROTTLE=0 (slow / throttling customers of the sim; 0 measures the client alone)
#        TOKEN_DELAY_MS=0 (each token request of the sim waits this long, like a real sign-in
#        service's ~100-300 ms; both runs pay it for each of their token requests)
#        PAGE_DELAY_MS=0 (each InvokeCommand page of the sim waits this long, like a real admin
#        API's few hundred ms to a second a page; both runs pay it for each page they fetch.
#        An additional case, never the target's: the target is measured at 0)
# Tools: bash (5, for EPOCHREALTIME), /usr/bin/time, cargo, getconf, nproc; Linux (/proc).
set -euo pipefail

cd "$(dirname "$0")/../.."
PROFILES=${PROFILES:-200}
CONCURRENCY=${CONCURRENCY:-8}
ROUNDS=${ROUNDS:-3}
SLOW=${SLOW:-0}
THROTTLE=${THROTTLE:-0}
LINE=${LINE:-Get-TransportRule}
TOKEN_DELAY_MS=${TOKEN_DELAY_MS:-0}
PAGE_DELAY_MS=${PAGE_DELAY_MS:-0}
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

# Only asked for when set, so that an older sim without the option still runs the script.
page_delay=()
(( PAGE_DELAY_MS > 0 )) && page_delay=(--page-delay-ms "$PAGE_DELAY_MS")
"$SIM_BIN" sim --tenants "$PROFILES" --customer-mailboxes "$CUSTOMER_MAILBOXES" --mailboxes 20 \
    --slow-tenants "$SLOW" --throttle-tenants "$THROTTLE" --token-delay-ms "$TOKEN_DELAY_MS" \
    "${page_delay[@]}" >"$work/banner" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    grep -qs '^exo:' "$work/banner" && grep -qs '^authority:' "$work/banner" && break
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

# The sim's CPU seconds so far: utime + stime (fields 14 and 15 of /proc/<pid>/stat, counted
# after the command name's closing parenthesis, which may hold spaces) over the clock tick.
ticks=$(getconf CLK_TCK)
cores=$(nproc)
sim_cpu() {
    local stat
    stat=$(<"/proc/$sim_pid/stat") || { echo "the sim (pid $sim_pid) is gone" >&2; exit 1; }
    stat=${stat##*) }
    awk -v t="$ticks" '{printf "%.2f", ($12 + $13) / t}' <<<"$stat"
}
sum() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a + b}'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }

singles=() fanouts=() rss=() ccpu=() scpu=() sscpu=() cscpu=() floors=()
batches=$(((PROFILES + CONCURRENCY - 1) / CONCURRENCY))
for r in $(seq "$ROUNDS"); do
    c0=$(sim_cpu)
    read -r s _ su ss < <(measure run "$first" --format csv --password-stdin -- "${line[@]}")
    c1=$(sim_cpu)
    read -r f m fu fs < <(measure run --folder Bench --concurrency "$CONCURRENCY" --format csv \
        --password-stdin -- "${line[@]}")
    c2=$(sim_cpu)
    rows=$(($(wc -l <"$work/out") - 1))
    summary=$(tail -1 "$work/err")
    single_client=$(sum "$su" "$ss") single_sim=$(delta "$c0" "$c1")
    fan_client=$(sum "$fu" "$fs") fan_sim=$(delta "$c1" "$c2")
    floor=$(awk -v a="$fan_client" -v b="$fan_sim" -v n="$cores" 'BEGIN{printf "%.3f", (a + b) / n}')
    echo "round $r: single ${s} s (CPU client ${single_client} s, sim ${single_sim} s)," \
        "fan-out ${f} s (CPU client ${fan_client} s, sim ${fan_sim} s; ${summary}, ${rows} rows)," \
        "peak RSS ${m} KiB; CPU floor ${floor} s on ${cores} cores," \
        "floor ratio $(awk -v x="$floor" -v s="$s" -v b="$batches" 'BEGIN{printf "%.2f", x / (b * s)}')"
    singles+=("$s") fanouts+=("$f") rss+=("$m") ccpu+=("$fan_client") scpu+=("$fan_sim")
    sscpu+=("$single_client") cscpu+=("$single_sim") floors+=("$floor")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median "${singles[@]}")
f=$(median "${fanouts[@]}")
m=$(median "${rss[@]}")
fc=$(median "${ccpu[@]}") fsim=$(median "${scpu[@]}") sc=$(median "${sscpu[@]}")
ssim=$(median "${cscpu[@]}") floor=$(median "${floors[@]}")
awk -v line="$LINE, $CUSTOMER_MAILBOXES mailboxes per customer, token requests +$TOKEN_DELAY_MS ms, pages +$PAGE_DELAY_MS ms" -v s="$s" -v f="$f" -v m="$m" -v n="$PROFILES" -v c="$CONCURRENCY" 'BEGIN {
    batches = int((n + c - 1) / c)
    target = 1.3 * batches * s
    printf "P6: %s\n", line
    printf "P6: %d profiles, concurrency %d: fan-out %.2f s, single %.3f s, ceil(%d/%d) = %d batches\n", n, c, f, s, n, c, batches
    printf "P6: wall ratio fan-out / (batches x single) = %.2f (target <= 1.3): %s\n", f / (batches * s), (f <= target ? "met" : "NOT met")
    printf "P6: peak RSS of the fan-out %.1f MiB\n", m / 1024
}'
awk -v s="$s" -v b="$batches" -v fc="$fc" -v fsim="$fsim" -v sc="$sc" -v ssim="$ssim" \
    -v floor="$floor" -v cores="$cores" 'BEGIN {
    printf "P6: CPU (medians) fan-out client %.2f s + sim %.2f s; single client %.2f s + sim %.2f s\n", fc, fsim, sc, ssim
    printf "P6: CPU floor (client + sim CPU of the fan-out) / %d cores = %.3f s: floor ratio %.2f", cores, floor, floor / (b * s)
    printf " (the lowest ratio these CPU seconds allow on this machine; the target stays 1.3)\n"
}'
