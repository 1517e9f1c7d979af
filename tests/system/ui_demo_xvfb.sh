#!/usr/bin/env bash
# System test: the real binary in demo mode (`exo-connect --demo`, the sim in-process) under Xvfb,
# driven with xdotool like a user: Ctrl+K → "MFA" → Enter opens the sign-in dialog with a device
# code; the script plays the browser on the sim's /devicelogin page with curl (code, account,
# password, the demo phone's code — demo mode prints the code and the demo phone's code of the
# made-up account on stderr); the session appears; a cmdlet fills the grid; a password profile
# adds a second session. Screenshots (import -window root) are checked for existence and not
# being blank, then copied to $SHOTS (default target/system-tests/ui_demo).
# Installs what it needs (Xvfb, xdotool, ImageMagick, Mesa GL, fonts) if missing.
# UI_DEMO_KEEP=DIR keeps the work folder there (the demo's config folder, the app's stdout and
# stderr) and saves the demo sim's issued secrets as DIR/../sim-issued.json before the app
# closes: tests/system/secret_scan.sh scans the folder for them.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
command -v xwininfo >/dev/null 2>&1 || need+=(x11-utils)
command -v import >/dev/null 2>&1 || need+=(imagemagick)
command -v curl >/dev/null 2>&1 || need+=(curl)
for p in libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers libvulkan1 fonts-dejavu-core; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "== installing ${need[*]}"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

cargo build --quiet --bin exo-connect
BIN="${EXO_CONNECT_BIN:-$PWD/target/debug/exo-connect}"
SHOTS="${SHOTS:-$PWD/target/system-tests/ui_demo}"
mkdir -p "$SHOTS"
if [ -n "${UI_DEMO_KEEP:-}" ]; then
    rm -rf "$UI_DEMO_KEEP"
    mkdir -p "$UI_DEMO_KEEP"
    WORK="$UI_DEMO_KEEP"
else
    WORK="$(mktemp -d)"
fi
APP_PID=""
X_PID=""
cleanup() {
    # Keep the script's own status: under `set -e` a `wait` on the killed app (143) would
    # otherwise end the script with 143 even when every check passed.
    local status=$?
    set +e
    if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; fi
    if [ -n "$X_PID" ]; then kill "$X_PID" 2>/dev/null; wait "$X_PID" 2>/dev/null; fi
    [ -n "${UI_DEMO_KEEP:-}" ] || rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- app stderr:" >&2
    cat "$WORK/app.err" >&2 || true
    exit 1
}

# A free display number (xvfb-run fails here with an X authority error: start Xvfb directly).
N=99
while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
Xvfb ":$N" -screen 0 1400x900x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
X_PID=$!
export DISPLAY=":$N"
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$N" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$N" ] || fail "Xvfb did not start"

# A fresh config folder: the demo profiles are created in <home>/demo; no real browser.
export EXO_CONNECT_HOME="$WORK/home"
export EXO_CONNECT_NO_BROWSER=1
"$BIN" --demo >"$WORK/app.out" 2>"$WORK/app.err" &
APP_PID=$!

wait_for() { # pattern file seconds
    for _ in $(seq $(($3 * 10))); do
        grep -q "$1" "$2" 2>/dev/null && return 0
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited"
        sleep 0.1
    done
    fail "timed out waiting for '$1' in $2"
}
wait_for "demo: login http" "$WORK/app.err" 30
LOGIN="$(grep -o 'demo: login http[^ ]*' "$WORK/app.err" | awk '{print $3}')"
case "$LOGIN" in http://127.0.0.1:*) ;; *) fail "unexpected login URL '$LOGIN'" ;; esac

WIN=""
for _ in $(seq 100); do
    WIN="$(xdotool search --name '^exo-connect$' 2>/dev/null | head -1 || true)"
    [ -n "$WIN" ] && break
    sleep 0.1
done
[ -n "$WIN" ] || fail "no exo-connect window"
xdotool windowmove "$WIN" 0 0 windowsize "$WIN" 1400 900
# No window manager under Xvfb: give the window the keyboard focus directly, once it is mapped
# (focusing an unmapped window is an X error; on a loaded machine mapping can take seconds).
focus() {
    for _ in $(seq 100); do
        xwininfo -id "$WIN" 2>/dev/null | grep -q 'IsViewable' \
            && xdotool windowfocus --sync "$WIN" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "could not focus the window"
}
focus
sleep 2

shot() { # name
    sleep "${2:-1}"
    import -window root "$WORK/$1.png"
    [ -s "$WORK/$1.png" ] || fail "screenshot $1 is missing"
    local sd
    sd="$(convert "$WORK/$1.png" -format '%[fx:standard_deviation]' info:)"
    awk -v sd="$sd" 'BEGIN { exit !(sd > 0.02) }' || fail "screenshot $1 looks blank (sd $sd)"
    cp "$WORK/$1.png" "$SHOTS/$1.png"
    echo "screenshot $1: ok (sd $sd)"
}

shot main-window

# Quick connect to the MFA profile: the dialog shows a device code.
xdotool key ctrl+k
sleep 0.5
xdotool type --delay 40 "MFA"
sleep 0.5
xdotool key Return
wait_for "demo: device code" "$WORK/app.err" 20
LINE="$(grep 'demo: device code' "$WORK/app.err" | tail -1)"
CODE="$(echo "$LINE" | grep -o 'device code [A-Z0-9-]*' | awk '{print $3}')"
TOTP="$(echo "$LINE" | grep -o 'demo phone code for [^:]*: [0-9]*' | awk '{print $NF}')"
[ -n "$CODE" ] && [ -n "$TOTP" ] || fail "no device code / demo phone code in: $LINE"
shot signin-device-code

# The browser's part, with curl: code → account → password → authenticator code.
P="$(curl -sf -X POST --data-urlencode "otc=$CODE" "$LOGIN/devicelogin")"
FLOW="$(echo "$P" | grep -o 'name="flow" value="[^"]*"' | sed 's/.*value="//;s/"$//')"
[ -n "$FLOW" ] || fail "the verification page did not accept the code"
# Each page into a variable before grep -q (a pipe into grep -q can end in SIGPIPE under pipefail).
P="$(curl -sf -X POST -d "flow=$FLOW" --data-urlencode "login=admin@contoso.com" -d action=next "$LOGIN/login")"
grep -q 'name="passwd"' <<<"$P" || fail "no password step"
P="$(curl -sf -X POST -d "flow=$FLOW" --data-urlencode 'passwd=admin-Demo-2026!' -d action=next "$LOGIN/login")"
grep -q 'one-time-code' <<<"$P" || fail "no verification-code step"
P="$(curl -sf -X POST -d "flow=$FLOW" -d "otc=$TOTP" -d action=next "$LOGIN/login")"
grep -q 'You have signed in' <<<"$P" || fail "the verification page did not sign in"
# The app polls every few seconds: wait until the session is up (the dialog has closed).
wait_for "demo: session connected: Contoso EXO (MFA)" "$WORK/app.err" 20
sleep 1

# A second session through the password profile (no MFA): quick connect to "Northwind" (the
# keyboard, not a double-click, whose timing a loaded machine breaks); the password field has
# the focus, type it, Enter.
focus
xdotool key ctrl+k
sleep 0.5
xdotool type --delay 40 "Northwind"
sleep 0.5
xdotool key Return
sleep 1.5
xdotool type --delay 20 'admin-Demo-2026!'
sleep 0.3
xdotool key Return
wait_for "demo: session connected: Northwind EOP" "$WORK/app.err" 20
sleep 1

# Open the first session's output (its tab above the centre; fixed layout at 1400×900) and
# run a cmdlet.
xdotool mousemove 502 51 click 1
sleep 1
xdotool mousemove 816 155 click 1
sleep 0.3
xdotool type --delay 20 "Get-Mailbox -ResultSize 40"
xdotool key ctrl+Return
shot sessions-grid 3

kill -0 "$APP_PID" 2>/dev/null || fail "the app exited"
if [ -n "${UI_DEMO_KEEP:-}" ]; then
    curl -sf "$LOGIN/sim/issued" >"$UI_DEMO_KEEP/../sim-issued.json" || fail "no /sim/issued"
fi
if grep -qiE 'eyJ[A-Za-z0-9_-]{10,}' "$WORK/app.err" "$WORK/app.out"; then
    fail "something that looks like a token was printed"
fi
echo "ui demo under Xvfb: ok (screenshots in $SHOTS)"
