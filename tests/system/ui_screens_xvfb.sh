#!/usr/bin/env bash
# Screenshots of the real window at the two sizes admins use (issue 15): the binary in demo mode
# (`exo-connect --demo`, the sim in-process) under Xvfb, driven with xdotool like
# tests/system/ui_demo_xvfb.sh: Ctrl+K → "MFA" → Enter signs in the demo profile (the script
# plays the browser on the sim's /devicelogin page with curl), the connect shows the session's
# output, a cmdlet fills the grid, a second (password) profile adds a session and a tab; at
# 1600×1000 and again at 1024×700 (the same window, resized) it saves the editor, the output
# with its rows, and the output with a row's details panel to docs/screenshots/ as
# screen-<W>x<H>-<what>.png. Each screenshot is checked for existence and not being blank; what
# they show is for a person to look at. Not run by .ci/run.
# SHOTS=DIR saves them elsewhere. Installs Xvfb, xdotool, ImageMagick, Mesa GL and fonts if
# missing.
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
SHOTS="${SHOTS:-$PWD/docs/screenshots}"
mkdir -p "$SHOTS"
WORK="$(mktemp -d)"
APP_PID=""
X_PID=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; fi
    if [ -n "$X_PID" ]; then kill "$X_PID" 2>/dev/null; wait "$X_PID" 2>/dev/null; fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- app stderr:" >&2
    cat "$WORK/app.err" >&2 || true
    exit 1
}

N=99
while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
Xvfb ":$N" -screen 0 1600x1000x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
X_PID=$!
export DISPLAY=":$N"
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$N" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$N" ] || fail "Xvfb did not start"

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
W=1600
H=1000
size() { # w h
    W=$1
    H=$2
    xdotool windowmove "$WIN" 0 0 windowsize "$WIN" "$W" "$H"
    sleep 1.5
}
focus() {
    for _ in $(seq 100); do
        xwininfo -id "$WIN" 2>/dev/null | grep -q 'IsViewable' \
            && xdotool windowfocus --sync "$WIN" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "could not focus the window"
}
size 1600 1000
focus
sleep 2

shot() { # what [wait]
    sleep "${2:-1}"
    local f="$SHOTS/screen-${W}x${H}-$1.png"
    import -window root -crop "${W}x${H}+0+0" +repage "$WORK/shot.png"
    [ -s "$WORK/shot.png" ] || fail "screenshot $1 is missing"
    local sd
    sd="$(convert "$WORK/shot.png" -format '%[fx:standard_deviation]' info:)"
    awk -v sd="$sd" 'BEGIN { exit !(sd > 0.02) }' || fail "screenshot $1 looks blank (sd $sd)"
    cp "$WORK/shot.png" "$f"
    echo "screenshot $(basename "$f"): ok (sd $sd)"
}

# Click at a fraction of the window (the layout scales with it) or at pixels.
click_at() { # x y
    xdotool mousemove "$1" "$2" click 1
    sleep 0.7
}

shot editor

# Sign in the MFA profile: Ctrl+K → "MFA" → Enter; the browser's part with curl.
xdotool key ctrl+k
sleep 1
xdotool type --delay 40 "MFA"
sleep 1
xdotool key Return
wait_for "demo: device code" "$WORK/app.err" 20
LINE="$(grep 'demo: device code' "$WORK/app.err" | tail -1)"
CODE="$(echo "$LINE" | grep -o 'device code [A-Z0-9-]*' | awk '{print $3}')"
TOTP="$(echo "$LINE" | grep -o 'demo phone code for [^:]*: [0-9]*' | awk '{print $NF}')"
[ -n "$CODE" ] && [ -n "$TOTP" ] || fail "no device code / demo phone code in: $LINE"
shot signin
P="$(curl -sf -X POST --data-urlencode "otc=$CODE" "$LOGIN/devicelogin")"
FLOW="$(echo "$P" | grep -o 'name="flow" value="[^"]*"' | sed 's/.*value="//;s/"$//')"
[ -n "$FLOW" ] || fail "the verification page did not accept the code"
P="$(curl -sf -X POST -d "flow=$FLOW" --data-urlencode "login=admin@contoso.com" -d action=next "$LOGIN/login")"
grep -q 'name="passwd"' <<<"$P" || fail "no password step"
P="$(curl -sf -X POST -d "flow=$FLOW" --data-urlencode 'passwd=admin-Demo-2026!' -d action=next "$LOGIN/login")"
grep -q 'one-time-code' <<<"$P" || fail "no verification-code step"
P="$(curl -sf -X POST -d "flow=$FLOW" -d "otc=$TOTP" -d action=next "$LOGIN/login")"
grep -q 'You have signed in' <<<"$P" || fail "the verification page did not sign in"
wait_for "demo: session connected: Contoso EXO (MFA)" "$WORK/app.err" 20
shot output-connected 2

# A second session (password profile): its output and tab open too.
focus
xdotool key ctrl+k
sleep 1
xdotool type --delay 40 "Northwind"
sleep 1
xdotool key Return
sleep 2.5
xdotool type --delay 20 'admin-Demo-2026!'
sleep 0.3
xdotool key Return
wait_for "demo: session connected: Northwind EOP" "$WORK/app.err" 20
shot output-second-session 2

# Positions at this layout (the left pane and the centre's top rows keep their place when the
# window is resized): the tabs at y 51, the cmdlet field at y 155, the grid's first row at y 255.
run_in_first_tab() { # cmdlet line
    click_at 502 51
    click_at 922 155
    xdotool key ctrl+a
    xdotool type --delay 20 "$1"
    xdotool key ctrl+Return
    sleep 3
}
run_in_first_tab "Get-Mailbox -ResultSize 40"
shot output-grid
click_at 560 255
shot output-details

# The same window at 1024×700.
size 1024 700
shot output-details
xdotool key Escape
shot output-grid
click_at 352 51
shot editor
size 1600 1000
echo "ui screens under Xvfb: ok (screenshots in $SHOTS)"
