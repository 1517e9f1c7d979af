#!/usr/bin/env bash
# P4 (issue 11): the result grid at 100,000 × ~120 against the command line on the same data.
#
#   tests/bench/p4_grid.sh            # release build; ROWS=100000 RUNS=3 by default
#   BENCH_NO_BUILD=1 tests/bench/p4_grid.sh   # the binaries in target/release as they are
#   EXO_CONNECT_FRAME_LOG=1 …         # also each sort/filter frame's CPU and the slowest one's
#                                     # phases (src/ui/probe.rs)
#
# Starts `exo-connect sim --mailboxes $ROWS` (its own process), adds a password profile for it
# in a scratch EXO_CONNECT_HOME (secrets in memory), then RUNS times, alternately:
#   - the command line: `exo-connect run … --format json > /dev/null` of
#     `Get-Mailbox -ResultSize Unlimited` (wall time and peak RSS from /usr/bin/time);
# The JSON bytes of the result are counted once by fetching the same pages with Python.
#   - the window: target/release/examples/bench_grid (tests/bench/grid.rs), the app's own UI
#     code in a headless egui_kittest harness with the real driver and engine, which signs in,
#     runs the same line, scrolls, sorts and filters, and prints its figures.
# Prints each run's figures and the medians with the targets of issue 11. Needs: cargo,
# /usr/bin/time, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS="${ROWS:-100000}"
RUNS="${RUNS:-3}"
PROFILE_DIR="${CARGO_PROFILE_DIR:-release}"
if [ "${BENCH_NO_BUILD:-}" = 1 ]; then
    : # use target/$PROFILE_DIR/{exo-connect,examples/bench_grid} as they are
elif [ "$PROFILE_DIR" = release ]; then
    cargo build --quiet --release --bin exo-connect --example bench_grid
else
    cargo build --quiet --bin exo-connect --example bench_grid
fi
BIN="$PWD/target/$PROFILE_DIR/exo-connect"
GRID="$PWD/target/$PROFILE_DIR/examples/bench_grid"

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

"$BIN" sim --mailboxes "$ROWS" --listen 127.0.0.1:0 >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do grep -q '^exo: ' "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
EXO="$(awk '/^exo: /{print $2; exit}' "$WORK/sim.out")"
AUTHORITY="$(awk '/^authority: /{print $2; exit}' "$WORK/sim.out")"
[ -n "$EXO" ] && [ -n "$AUTHORITY" ] || { cat "$WORK/sim.out"; echo "the sim did not start" >&2; exit 1; }
PASSWORD="$(grep '^account: ops@contoso.com ' "$WORK/sim.out" | sed 's/.*| password \([^ ]*\) .*/\1/')"

export EXO_CONNECT_HOME="$WORK/home"
export EXO_CONNECT_SECRETS=memory
export EXO_CONNECT_NO_BROWSER=1
"$BIN" profile add --name "Contoso EXO" --upn ops@contoso.com --service exo --auth password \
    --cloud Custom --connection-uri "$EXO/powershell-liveid/" \
    --authorization-endpoint "$AUTHORITY" >/dev/null

# The JSON bytes of the result: the same pages fetched with Python's urllib (a token from the
# password grant, InvokeCommand, nextLink followed), bodies counted and discarded.
CLIENT_ID="$(awk '/^client-id: /{print $2; exit}' "$WORK/sim.out")"
JSON_BYTES="$(python3 - "$AUTHORITY" "$EXO" "$CLIENT_ID" "$PASSWORD" <<'PY'
import json, sys, urllib.parse, urllib.request
authority, exo, client_id, password = sys.argv[1:5]
form = urllib.parse.urlencode({"grant_type": "password", "client_id": client_id,
    "username": "ops@contoso.com", "password": password, "scope": exo + "/.default"}).encode()
token = json.load(urllib.request.urlopen(authority + "/oauth2/v2.0/token", form))["access_token"]
headers = {"Authorization": "Bearer " + token, "X-AnchorMailbox": "UPN:ops@contoso.com",
    "Prefer": "odata.maxpagesize=1000", "Content-Type": "application/json"}
body = json.dumps({"CmdletInput": {"CmdletName": "Get-Mailbox",
    "Parameters": {"ResultSize": "Unlimited"}}}).encode()
url, total, rows = exo + "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand", 0, 0
while url:
    req = urllib.request.Request(url, data=body, headers=headers)
    page = urllib.request.urlopen(req).read()
    total += len(page)
    doc = json.loads(page)
    rows += len(doc.get("value", []))
    url, body = doc.get("@odata.nextLink"), None
print(total, rows)
PY
)"
echo "P4: $ROWS mailboxes from the sim ($JSON_BYTES: JSON bytes, rows), $RUNS runs each, alternately ($PROFILE_DIR build)"
JSON_BYTES="${JSON_BYTES%% *}"
for i in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$WORK/cli.$i.time" \
        "$BIN" run "Contoso EXO" --format json --password-stdin -- \
        Get-Mailbox -ResultSize Unlimited <<<"$PASSWORD" >"$WORK/cli.$i.json" 2>"$WORK/cli.$i.err"
    echo "cli_wall_s=$(cut -d' ' -f1 "$WORK/cli.$i.time")" >"$WORK/cli.$i"
    echo "cli_peak_rss_kb=$(cut -d' ' -f2 "$WORK/cli.$i.time")" >>"$WORK/cli.$i"
    echo "cli_json_bytes=$(stat -c %s "$WORK/cli.$i.json")" >>"$WORK/cli.$i"
    rm -f "$WORK/cli.$i.json"
    "$GRID" --home "$EXO_CONNECT_HOME" --profile "Contoso EXO" --password "$PASSWORD" \
        --rows "$ROWS" >"$WORK/grid.$i" 2>"$WORK/grid.$i.err" \
        || { cat "$WORK/grid.$i.err" >&2; exit 1; }
    echo "-- run $i"
    cat "$WORK/cli.$i" "$WORK/grid.$i" | sed 's/^/   /'
done

python3 - "$WORK" "$RUNS" "$JSON_BYTES" <<'EOF'
import statistics, sys
work, runs, json_bytes = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def read(path):
    d = {}
    for line in open(path):
        k, _, v = line.strip().partition("=")
        try:
            d[k] = float(v)
        except ValueError:
            pass  # the frame probe's and the heap's text lines (printed above)
    return d
cli = [read(f"{work}/cli.{i}") for i in range(1, runs + 1)]
grid = [read(f"{work}/grid.{i}") for i in range(1, runs + 1)]
med = lambda rows, k: statistics.median(r[k] for r in rows)
cli_wall = med(cli, "cli_wall_s") * 1000
load = med(grid, "load_first_page_to_shown_ms")
load_run = med(grid, "load_run_to_shown_ms")
received = json_bytes
added = med(grid, "rss_added")
print()
print("medians                                   figure        target      ")
def row(what, figure, target, ok):
    print(f"  {what:<40}{figure:<14}{target:<12}{'ok' if ok else 'MISSED'}")
scroll = med(grid, "scroll_down_cpu_median_ms")
row("scroll: UI CPU per frame, median (ms)", f"{scroll:.2f}", "<= 4", scroll <= 4)
for k in ("scroll_down_cpu_p95_ms", "scroll_across_cpu_p95_ms", "scroll_jump_cpu_max_ms"):
    v = med(grid, k)
    row(k.replace("_", " "), f"{v:.2f}", "<= 4", v <= 4)
for k in ("sort_text", "sort_text_desc", "sort_date", "sort_number", "filter_any",
          "filter_column", "filter_cleared"):
    v = med(grid, k + "_ms")
    row(f"{k}: click to shown (ms)", f"{v:.0f}", "<= 300", v <= 300)
    f = med(grid, k + "_slowest_frame_cpu_ms")
    row(f"  slowest frame meanwhile (ms)", f"{f:.2f}", "<= 4", f <= 4)
ratio = added / received
row("RSS added / bytes received", f"{ratio:.3f}", "<= 0.4", ratio <= 0.4)
print(f"    (RSS added {added/2**20:.0f} MiB, store {med(grid, 'store_memory_bytes')/2**20:.0f} MiB, "
      f"received {received/2**20:.0f} MiB, after close {med(grid, 'rss_after_close')/2**20:.0f} MiB "
      f"of {med(grid, 'rss_before')/2**20:.0f} MiB before)")
before, after = med(grid, 'rss_before'), med(grid, 'rss_after_close')
print(f"  after Close output: {after/2**20:.0f} MiB resident, {(after-before)/2**20:.0f} MiB above "
      f"before the run ({(after-before)/max(added, 1)*100:.0f}% of what the result added; "
      f"egui's font atlas is {med(grid, 'font_atlas_bytes')/2**20:.1f} MiB then)")
if all("after_release_heap_in_use" in g for g in grid):
    print(f"    the store's release thread was gone {med(grid, 'release_thread_gone_after_ms'):.0f} ms "
          f"after the 300 ms read; then {med(grid, 'rss_after_release')/2**20:.0f} MiB resident; "
          f"glibc heap in use {med(grid, 'before_heap_in_use')/2**20:.1f} MiB before the run, "
          f"{med(grid, 'after_release_heap_in_use')/2**20:.1f} MiB after (free but kept in its "
          f"arenas: {med(grid, 'after_release_heap_free_kept')/2**20:.0f} MiB, partly resident)")
ratio = load / cli_wall
row("first page to last row shown / CLI json", f"{ratio:.2f}", "<= 1.3", ratio <= 1.3)
print(f"    (window {load/1000:.2f} s from the first page, {load_run/1000:.2f} s from Run; "
      f"CLI json run {cli_wall/1000:.2f} s wall, peak RSS {med(cli, 'cli_peak_rss_kb')/1024:.0f} MiB)")
EOF
