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
# shellcheck disable=SC2119 # the helpers of lib/xvfb.sh take optional arguments
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=tests/system/lib/xvfb.sh
. tests/system/lib/xvfb.sh
xvfb_needs

cargo build --quiet --bin exo-connect
BIN="${EXO_CONNECT_BIN:-$PWD/target/debug/exo-connect}"
SHOTS="${SHOTS:-$PWD/target/system-tests/ui_demo}"
mkdir -p "$SHOTS"
if [ -n "${UI_DEMO_KEEP:-}" ]; then
    rm -rf "$UI_DEMO_KEEP"
    mkdir -p "$UI_DEMO_KEEP"
    WORK="$UI_DEMO_KEEP"
    KEEP_WORK=1
else
    WORK="$(mktemp -d)"
fi

xvfb_start 1400 900
# A fresh config folder: the demo profiles are created in <home>/demo; no real browser.
export EXO_CONNECT_HOME="$WORK/home"
app_start
read_login
wait_window
sleep 2

shot main-window

# Quick connect to the MFA profile: the dialog shows a device code.
xdotool key ctrl+k
sleep 0.5
xdotool type --delay 40 "MFA"
sleep 0.5
xdotool key Return
read_device_code
shot signin-device-code 2.5

# The browser's part, with curl: code → account → password → authenticator code.
browser_curl_signin admin@contoso.com 'admin-Demo-2026!'
# The app polls every few seconds: wait until the session is up (the dialog has closed).
wait_for "demo: session connected: Contoso EXO (MFA)" 20
sleep 1

# A second session through the password profile (no MFA): quick connect to "Northwind" (the
# keyboard, not a double-click, whose timing a loaded machine breaks); the password field has
# the focus, type it, Enter.
focus
xdotool key ctrl+k
sleep 1.5
xdotool type --delay 40 "Northwind"
sleep 1
xdotool key Return
sleep 1.5
xdotool type --delay 20 'admin-Demo-2026!'
sleep 0.3
xdotool key Return
wait_for "demo: session connected: Northwind EOP" 20
sleep 1

# Open the first session's output (its tab above the centre; fixed layout at 1400×900) and
# run a cmdlet: Ctrl+O focuses the selected profile's cmdlet line wherever the layout puts it.
xdotool mousemove 502 51 click 1
sleep 1
xdotool key ctrl+o
sleep 0.5
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
