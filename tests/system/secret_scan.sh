#!/usr/bin/env bash
# System test (issue 13, "Prove it"): after a full flow, nothing a client wrote holds a secret.
#
# 1. The command line against `exo-connect sim`, with a real keychain (gnome-keyring under
#    dbus-run-session, throw-away HOME and keyring password): profile add, login by password
#    (with a proxy password kept in the keychain), login by device code (the script plays the
#    browser on /devicelogin with curl), run (JSON, CSV, a refused cmdlet, a fault mid-paging),
#    sessions, logout NAME, logout --all, profile export and remove. Every command's stdout and
#    stderr is kept; the diagnostics log (`--log-dir`) too when this exo-connect has it.
# 2. The window in demo mode under Xvfb: tests/system/ui_demo_xvfb.sh with its work folder
#    kept (UI_DEMO_KEEP), run here with a throw-away HOME — or, when UI_DEMO_KEEP names the
#    folder of a run that already happened (as .ci/run does), that folder.
# Then the secrets are taken from the sims' own state (GET <login>/sim/issued: every access,
# refresh and ID token, device and authorization code issued, the accounts' passwords and TOTP
# secrets; plus the proxy password this script chose) and looked for — as they are and
# URL-encoded — in every file written: the throw-away HOME (config folder, keyring, caches),
# the captured output, the diagnostics logs, the demo's work folder and screenshots,
# target/system-tests, and the kittest snapshots under tests/ and docs/ (images are scanned
# as bytes: text inside a picture is out of scope). Any hit fails, naming the file and the
# kind of secret (never the secret). Before scanning, the scanner must find a planted secret
# in a canary file, so a scanner that finds nothing cannot pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

need=()
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    echo "== installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo build --quiet --bin exo-connect
BIN="${EXO_CONNECT_BIN:-$ROOT/target/debug/exo-connect}"
WORK="$(mktemp -d)"
SERVER="$(mktemp -d)" # the sim's own output (it prints the demo passwords by design): not scanned
SIM_PID=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; fi
    rm -rf "$WORK" "$SERVER"
    exit "$status"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

# ---- 1. The command line against the sim ----
"$BIN" sim --mailboxes 300 >"$SERVER/sim.out" 2>"$SERVER/sim.err" &
SIM_PID=$!
for _ in $(seq 100); do grep -q '^seed:' "$SERVER/sim.out" 2>/dev/null && break; sleep 0.1; done
LOGIN="$(awk '/^login: /{print $2}' "$SERVER/sim.out")"
EXO="$(awk '/^exo: /{print $2}' "$SERVER/sim.out")"
[ -n "$LOGIN" ] && [ -n "$EXO" ] || { cat "$SERVER/sim.err" >&2; fail "the sim did not start"; }
PROXY_PASSWORD="proxy-pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

LOGARGS=""
# Not `--help | grep -q`: under pipefail the writer's SIGPIPE after grep exits would count as "no".
if grep -q -- '--log-dir' <<<"$("$BIN" --help)"; then LOGARGS="--log-dir $WORK/logs"; fi
echo "== CLI flow against the sim (diagnostics log: ${LOGARGS:-not in this build})"

mkdir -p "$WORK/home" "$WORK/out"
HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" XDG_CONFIG_HOME="$WORK/home/.config" \
XDG_CACHE_HOME="$WORK/home/.cache" EXO_CONNECT_HOME="$WORK/home/.config/exo-connect" \
EXO_CONNECT_NO_BROWSER=1 BIN="$BIN" LOGIN="$LOGIN" EXO="$EXO" OUT="$WORK/out" \
LOGARGS="$LOGARGS" PROXY_PASSWORD="$PROXY_PASSWORD" \
dbus-run-session -- bash -c '
set -euo pipefail
mkdir -p "$XDG_DATA_HOME/keyrings"
eval "$(head -c 24 /dev/urandom | base64 | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
export GNOME_KEYRING_CONTROL
n=0
x() { # expected-exit command... (stdin passes through); output to $OUT/NN-<first word>.{out,err}
    local want=$1; shift
    n=$((n + 1))
    local f; f="$OUT/$(printf %02d "$n")-$1"
    local rc=0
    "$BIN" $LOGARGS "$@" >"$f.out" 2>"$f.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: exo-connect $* exited $rc (expected $want)" >&2
        cat "$f.err" >&2
        exit 1
    fi
}
AUTH="$LOGIN/organizations"
x 0 profile add --name pw --upn ops@contoso.com --service exo --cloud Custom \
    --connection-uri "$EXO/powershell-liveid/" --authorization-endpoint "$AUTH" --auth password \
    --proxy-user "CORP\\bob" --proxy-auth Basic
x 0 profile add --name dc --upn ops@contoso.com --service exo --cloud Custom \
    --connection-uri "$EXO/powershell-liveid/" --authorization-endpoint "$AUTH" --auth device-code
printf "ops-Demo-2026!\n%s\n" "$PROXY_PASSWORD" | x 0 login pw --password-stdin --proxy-password-stdin
x 0 run pw --format json -- Get-Mailbox -ResultSize 120
x 0 run pw --format csv -- Get-TransportRule
x 1 run pw -- Get-NoSuchThing
curl -sf -X PUT --data "401:on=page" "$EXO/sim/faults" >/dev/null
x 0 run pw --format json --page-size 50 -- Get-Mailbox -ResultSize 200
x 0 sessions

# Device code: the CLI prints the code on stderr; the script plays the browser.
n=$((n + 1)); f="$OUT/$(printf %02d "$n")-login-dc"
"$BIN" $LOGARGS login dc --method device-code >"$f.out" 2>"$f.err" &
pid=$!
code=""
for _ in $(seq 150); do
    code="$(grep -o "enter the code [A-Z0-9-]*" "$f.err" 2>/dev/null | head -1 | awk "{print \$4}" || true)"
    [ -n "$code" ] && break
    sleep 0.2
done
[ -n "$code" ] || { cat "$f.err" >&2; echo "FAIL: no device code" >&2; exit 1; }
page="$(curl -sf -X POST --data-urlencode "otc=$code" "$LOGIN/devicelogin")"
flow="$(echo "$page" | grep -o "name=\"flow\" value=\"[^\"]*\"" | sed "s/.*value=\"//;s/\"$//")"
curl -sf -X POST -d "flow=$flow" --data-urlencode "login=ops@contoso.com" -d action=next "$LOGIN/login" >/dev/null
grep -q "You have signed in" <<<"$(curl -sf -X POST -d "flow=$flow" --data-urlencode "passwd=ops-Demo-2026!" -d action=next "$LOGIN/login")" || { echo "FAIL: the device-code page did not sign in" >&2; exit 1; }
wait "$pid" || { cat "$f.err" >&2; echo "FAIL: login dc" >&2; exit 1; }
x 0 run dc --format json -- Get-Mailbox -ResultSize 5
x 0 logout pw
x 0 logout --all
x 0 profile export "$OUT/export.json"
x 0 profile remove dc
'
echo "   $(ls "$WORK/out" | wc -l) output files"

# The secrets of this sim, taken while it runs.
curl -sf "$LOGIN/sim/issued" >"$SERVER/cli-issued.json" || fail "no /sim/issued on the CLI sim"
kill "$SIM_PID" && wait "$SIM_PID" 2>/dev/null || true
SIM_PID=""

# ---- 2. The window in demo mode under Xvfb ----
if [ -n "${UI_DEMO_KEEP:-}" ] && [ -f "$UI_DEMO_KEEP/../sim-issued.json" ]; then
    UI_WORK="$UI_DEMO_KEEP"
    echo "== the window: the demo run kept in $UI_WORK"
    UI_SCAN=("$UI_WORK")
else
    # Its own folder: the demo sim's secrets land beside the work folder, outside the scan.
    UIB="$SERVER/ui"
    UI_WORK="$UIB/work"
    echo "== the window in demo mode under Xvfb (tests/system/ui_demo_xvfb.sh, work kept)"
    mkdir -p "$UIB/home"
    HOME="$UIB/home" XDG_DATA_HOME="$UIB/home/.local/share" XDG_CONFIG_HOME="$UIB/home/.config" \
    XDG_CACHE_HOME="$UIB/home/.cache" UI_DEMO_KEEP="$UI_WORK" SHOTS="$UIB/shots" \
        tests/system/ui_demo_xvfb.sh
    UI_SCAN=("$UI_WORK" "$UIB/home" "$UIB/shots")
fi
cp "$UI_WORK/../sim-issued.json" "$SERVER/ui-issued.json"

# ---- 3. The scan ----
SCAN=("$WORK" "${UI_SCAN[@]}" "$ROOT/target/system-tests" "$ROOT/tests" "$ROOT/docs")
echo "== scanning ${SCAN[*]}"
python3 - "$SERVER/cli-issued.json" "$SERVER/ui-issued.json" "$PROXY_PASSWORD" "${SCAN[@]}" <<'EOF'
import json, os, sys, urllib.parse

cli, ui, proxy_pw, roots = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
needles = {}  # bytes -> kind
for path in (cli, ui):
    for kind, values in json.load(open(path)).items():
        for v in values:
            if len(v) >= 8:  # a 6-digit code is not a secret worth scanning for
                needles[v.encode()] = kind[:-1] if kind.endswith("s") else kind
needles[proxy_pw.encode()] = "proxy password"
for n, kind in list(needles.items()):
    q = urllib.parse.quote(n.decode(), safe="").encode()
    if q != n:
        needles[q] = kind + " (URL-encoded)"
counts = {}
for kind in needles.values():
    counts[kind] = counts.get(kind, 0) + 1
print("   secrets looked for: " + ", ".join(f"{c} {k}" for k, c in sorted(counts.items())))
issued = sum(c for k, c in counts.items() if "token" in k and "URL" not in k)
if issued < 3:
    sys.exit(f"FAIL: only {issued} tokens from the sims: the flow did not sign in")

def scan_file(path):
    try:
        data = open(path, "rb").read()
    except OSError:
        return []
    return [kind for n, kind in needles.items() if n in data]

# The scanner must see a planted secret (a scanner that finds nothing cannot pass).
canary = os.path.join(os.path.dirname(cli), "canary.txt")
some = next(n for n, k in needles.items() if k == "refresh_token")
open(canary, "wb").write(b"log line: token=" + some + b"\n")
assert scan_file(canary) == ["refresh_token"], "the scanner did not find the planted refresh token"

hits, files, size = [], 0, 0
for root in roots:
    if not os.path.exists(root):
        continue
    before = files
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git",)]
        for name in names:
            p = os.path.join(dirpath, name)
            if os.path.islink(p) or not os.path.isfile(p) or p in (cli, ui):
                continue
            if root.endswith("/tests") and not p.endswith(".png"):
                continue  # under tests/ only the snapshots are written by a run
            if root.endswith("/docs") and not p.endswith(".png"):
                continue
            files += 1
            size += os.path.getsize(p)
            for kind in scan_file(p):
                hits.append((p, kind))
    print(f"   {root}: {files - before} files")
print(f"   {files} files, {size / 1e6:.1f} MB scanned")
for (p, kind), c in sorted({(p, k): hits.count((p, k)) for p, k in hits}.items()):
    print(f"FAIL: {p} holds {c} {kind} value(s) of the sim", file=sys.stderr)
if hits:
    sys.exit(1)
print("   0 hits")
EOF
echo "secret scan: ok"
