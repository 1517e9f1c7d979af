#!/usr/bin/env bash
# Fault soak (issue 13, "Prove it"): RUNS (default 1000) runs of
#   exo-connect run --format json -- Get-Mailbox -ResultSize Unlimited
# against ONE `exo-connect sim --mailboxes MAILBOXES` (default 5000) whose admin API answers with
# seeded random faults (429, 503, 504, the concurrency refusal, resets mid-page, 401 mid-paging,
# truncated bodies, JSON cut mid-array, slow answers, redirects to the other port: the sim's
# `random:p=P,seed=<run>` fault, set before each run through PUT <exo>/sim/faults).
#
# Per run it checks: the row count and the set of Guids against a fault-free reference run
# (0 lost, 0 duplicated, 0 foreign), no panic (exit code 0, or 1 with a plain error; nothing
# "panicked" on stderr), and measures the client's peak RSS (/usr/bin/time) and the sim's RSS
# (/proc) so memory can be seen flat across the soak. A run that fails cleanly with an error
# after its retry budget is counted as "failed cleanly", not as lost rows.
#
# Usage: tests/bench/soak.sh [RUNS] [MAILBOXES]      (env: P=0.15 fault probability,
#        EXO_CONNECT_BIN=path (default: target/release/exo-connect, built if missing),
#        OUT=dir (default target/soak), SOAK_SEED=base seed (default 1000))
# Prints one line per run and a summary; writes OUT/runs.tsv and OUT/summary.txt. Exit 0 when
# no row was lost or duplicated and nothing panicked; 1 otherwise.
# Needs python3; installs curl and /usr/bin/time (Debian: time) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS="${1:-1000}"
MAILBOXES="${2:-5000}"
P="${P:-0.15}"
SOAK_SEED="${SOAK_SEED:-1000}"
OUT="${OUT:-$PWD/target/soak}"
if [ -z "${EXO_CONNECT_BIN:-}" ]; then
    cargo build --quiet --release --bin exo-connect
    EXO_CONNECT_BIN="$PWD/target/release/exo-connect"
fi
BIN="$EXO_CONNECT_BIN"
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$OUT"
WORK="$(mktemp -d)"
SIM_PID=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

# The sim: loopback, 5,000 mailboxes, no rate limit (its 429s would only slow the soak; the
# random faults bring their own 429s).
"$BIN" sim --mailboxes "$MAILBOXES" --rate-limit 0 >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 100); do grep -q '^seed:' "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
EXO="$(awk '/^exo: /{print $2}' "$WORK/sim.out")"
AUTHORITY="$(awk '/^authority: /{print $2}' "$WORK/sim.out")"
[ -n "$EXO" ] && [ -n "$AUTHORITY" ] || { echo "soak: the sim did not start" >&2; cat "$WORK/sim.err" >&2; exit 2; }
sim_rss() { awk '/^VmRSS/{print $2}' "/proc/$SIM_PID/status"; }

export EXO_CONNECT_HOME="$WORK/home"
export EXO_CONNECT_SECRETS=memory
export EXO_CONNECT_NO_BROWSER=1
"$BIN" profile add --name soak --upn ops@contoso.com --service exo --cloud Custom \
    --connection-uri "$EXO/powershell-liveid/" --authorization-endpoint "$AUTHORITY" \
    --auth password >/dev/null

set_faults() { # spec
    curl -sf -X PUT --data "$1" "$EXO/sim/faults" >/dev/null
}

one_run() { # name → $WORK/$name.{json,err,time}; prints the exit code
    local rc=0
    echo 'ops-Demo-2026!' | /usr/bin/time -f '%M %e' -o "$WORK/$1.time" \
        "$BIN" run soak --format json --password-stdin -- Get-Mailbox -ResultSize Unlimited \
        >"$WORK/$1.json" 2>"$WORK/$1.err" || rc=$?
    echo "$rc"
}

# The reference: one run without faults.
set_faults ""
rc="$(one_run ref)"
[ "$rc" = 0 ] || { echo "soak: the fault-free reference run failed ($rc)" >&2; cat "$WORK/ref.err" >&2; exit 2; }
python3 - "$WORK/ref.json" "$WORK/ref.guids" "$MAILBOXES" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
guids = [r["Guid"] for r in rows]
assert len(rows) == int(sys.argv[3]) and len(set(guids)) == len(guids), (len(rows), len(set(guids)))
open(sys.argv[2], "w").write("\n".join(sorted(guids)))
EOF
echo "soak: reference run: $MAILBOXES rows, $MAILBOXES distinct Guids; $RUNS runs with random:p=$P"

printf 'run\tseed\texit\trows\tdistinct\tlost\tduplicated\tforeign\tpanic\tretries\tsecs\tclient_peak_rss_kb\tsim_rss_kb\terror\n' >"$OUT/runs.tsv"
start=$(date +%s)
for i in $(seq 1 "$RUNS"); do
    seed=$((SOAK_SEED + i))
    set_faults "random:p=$P,seed=$seed"
    rc="$(one_run run)"
    read -r peak secs <"$WORK/run.time" || true
    # /usr/bin/time writes "Command exited with non-zero status N" first on failure.
    if ! [[ "${peak:-}" =~ ^[0-9]+$ ]]; then read -r peak secs < <(tail -1 "$WORK/run.time"); fi
    line="$(python3 - "$WORK/run.json" "$WORK/ref.guids" "$WORK/run.err" <<'EOF'
import json, sys
ref = set(open(sys.argv[2]).read().split("\n"))
err = open(sys.argv[3], errors="replace").read()
try:
    rows = json.load(open(sys.argv[1]))
except Exception:
    rows = None
panic = int("panicked" in err or "RUST_BACKTRACE" in err)
retries = sum(1 for l in err.splitlines() if l.startswith("retrying in"))
last = next((l for l in reversed(err.splitlines()) if l.strip() and not l.startswith("retrying in")), "")
if rows is None:
    print(f"-1\t-1\t-\t-\t-\t{panic}\t{retries}\t{last[:200]}")
else:
    guids = [r.get("Guid") for r in rows]
    got = set(guids)
    lost = len(ref - got)
    dup = len(guids) - len(got)
    foreign = len(got - ref)
    print(f"{len(rows)}\t{len(got)}\t{lost}\t{dup}\t{foreign}\t{panic}\t{retries}\t{last[:200]}")
EOF
)"
    IFS=$'\t' read -r rows distinct lost dup foreign panic retries err <<<"$line"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$seed" "$rc" "$rows" "$distinct" \
        "$lost" "$dup" "$foreign" "$panic" "$retries" "$secs" "$peak" "$(sim_rss)" "${err:-}" >>"$OUT/runs.tsv"
    if [ "$rc" != 0 ] || [ "$panic" != 0 ] || [ "$i" -le 3 ] || [ $((i % 50)) = 0 ]; then
        echo "run $i (seed $seed): exit $rc, rows $rows, lost $lost, duplicated $dup, retries $retries, ${secs}s, client peak ${peak} KiB, sim $(sim_rss) KiB${err:+ — $err}"
    fi
done
elapsed=$(( $(date +%s) - start ))

python3 - "$OUT/runs.tsv" "$RUNS" "$MAILBOXES" "$P" "$elapsed" <<'EOF' | tee "$OUT/summary.txt"
import csv, sys, statistics as st
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
runs, mailboxes, p, elapsed = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ok = [r for r in rows if r["exit"] == "0"]
clean_fail = [r for r in rows if r["exit"] == "1" and r["panic"] == "0"]
other = [r for r in rows if r["exit"] not in ("0", "1")]
num = lambda r, k: int(r[k]) if r[k].lstrip("-").isdigit() else 0
lost = sum(num(r, "lost") for r in ok)
dup = sum(num(r, "duplicated") for r in rows)
foreign = sum(num(r, "foreign") for r in rows)
short_ok = [r for r in ok if num(r, "rows") != mailboxes]
panics = sum(int(r["panic"]) for r in rows)
retries = sum(int(r["retries"]) for r in rows)
peaks = [int(r["client_peak_rss_kb"]) for r in rows if r["client_peak_rss_kb"].isdigit()]
sims = [int(r["sim_rss_kb"]) for r in rows if r["sim_rss_kb"].isdigit()]
tenth = max(1, len(rows) // 10)
print(f"fault soak: {runs} runs of Get-Mailbox -ResultSize Unlimited ({mailboxes} mailboxes), random faults p={p}, {elapsed} s")
print(f"  completed: {len(ok)} (rows lost {lost}, duplicated {dup}, foreign {foreign}, short runs {len(short_ok)})")
print(f"  failed cleanly (exit 1, plain error): {len(clean_fail)}; other exits: {len(other)}; panics: {panics}")
print(f"  retries seen: {retries} ({retries / max(1, len(rows)):.1f} per run)")
if peaks:
    print(f"  client peak RSS: median {st.median(peaks)/1024:.1f} MiB, max {max(peaks)/1024:.1f} MiB; "
          f"first tenth median {st.median(peaks[:tenth])/1024:.1f} MiB, last tenth median {st.median(peaks[-tenth:])/1024:.1f} MiB")
if sims:
    print(f"  sim RSS: after run 1 {sims[0]/1024:.1f} MiB, after run {len(sims)//2} {sims[len(sims)//2-1]/1024:.1f} MiB, "
          f"at the end {sims[-1]/1024:.1f} MiB, max {max(sims)/1024:.1f} MiB")
reasons = {}
for r in clean_fail + other:
    reasons[r["error"]] = reasons.get(r["error"], []) + [r["run"]]
for e, rs in sorted(reasons.items(), key=lambda x: -len(x[1])):
    print(f"  failed runs {', '.join(rs[:12])}{' …' if len(rs) > 12 else ''} ({len(rs)}): {e}")
bad = lost or dup or foreign or short_ok or panics or other
print("  result: " + ("FAIL" if bad else "ok: 0 rows lost or duplicated, 0 panics"))
sys.exit(1 if bad else 0)
EOF
