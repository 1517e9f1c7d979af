#!/usr/bin/env bash
# System test: the walkthrough of issue 15 with the real window, at the two sizes admins use
# (1600×1000, then 1024×700; a fresh Xvfb screen and app for each). The binary in demo mode
# (`exo-connect --demo`, the sim in-process), driven with xdotool by keys where the app has
# shortcuts (Ctrl+K, Esc, Ctrl+Enter) and by clicks elsewhere:
#   1. Ctrl+K → "MFA" → Enter: the device-code sign-in, completed in headless Chromium
#      (tests/system/sim_devicelogin_chromium.py --app-stderr reads the code the demo prints);
#   2. the quick test fills the grid; a row's details panel is opened, closed with its button,
#      opened again and closed with Esc; the column chooser opens and a search is typed;
#   3. Export CSV… with no file-dialog backend (the app's PATH has no zenity and there is no
#      D-Bus session): the window's own path field shows; the path typed there is written, and
#      the file must hold the grid's rows; then the same with a stand-in `zenity` on the app's
#      PATH (rfd's fallback after the desktop portal, which the private bus here lacks) that
#      answers a path: that file must hold the rows too;
#   4. typing into the cmdlet line with no delay between keys while a run fills the grid: the
#      line is copied back (Ctrl+A, Ctrl+C, xclip) and must be exactly what was typed;
#   5. quick connect naming a connected profile ("Show …"), a second session (the password
#      profile), a single disconnect with its Undo toast and the centre on the session left;
#   6. quitting (a WM_DELETE_WINDOW, as a close button; the app asks first with live sessions)
#      and starting again on the same config folder.
# Screenshots go to docs/screenshots/screen-<W>x<H>-<step>.png (SHOTS=DIR elsewhere), each
# checked for existence and not being blank; what they show is for a person to look at.
# SIZES="1024x700" runs one size only. Installs what it needs (Xvfb, xdotool, ImageMagick,
# Mesa GL, fonts, Chromium and chromedriver, xclip, dbus) if missing.
# shellcheck disable=SC2119 # the helpers of lib/xvfb.sh take optional arguments
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=tests/system/lib/xvfb.sh
. tests/system/lib/xvfb.sh
xvfb_needs chromium chromium-driver xclip dbus-daemon
command -v python3 >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 1; }

cargo build --quiet --bin exo-connect
BIN="${EXO_CONNECT_BIN:-$PWD/target/debug/exo-connect}"
SHOTS="${SHOTS:-$PWD/docs/screenshots}"
mkdir -p "$SHOTS"
ROOT="$PWD"
mkdir -p target/system-tests
FAIL_SHOT="$PWD/target/system-tests/ui_screens-failed.png"
WORK=""

# Positions that differ between the sizes (the left pane, the top bar and the output's first
# rows keep their place; the grid's toolbar wraps to two lines at 1024 px).
layout() {
    case "${W}x${H}" in
        1600x1000) ROW1_Y=297 CLOSE_DETAILS="1349 275" ;;
        1024x700) ROW1_Y=320 CLOSE_DETAILS="772 298" ;;
        *) fail "no layout for ${W}x${H}" ;;
    esac
    QUICK_TEST="425 156"
    CHOOSER_SEARCH="884 312"
    PATH_FIELD="$((W / 2 + 30)) $((H / 2 + 5))"
    QUIT_BUTTON="$((W / 2 - 177)) $((H / 2 + 21))"
    CMDLET="700 179"
    COLUMNS="742 252"
    EXPORT_CSV="917 252"
    # The second session's row in the session list (as high as its rows, anchored to the
    # bottom over the status bar: the last row's × is 44 px above the window's bottom).
    DISCONNECT_2="19 $((H - 44))"
}

# Rows in an exported CSV: lines after the header.
csv_rows() { # file
    local n
    n="$(wc -l <"$1")"
    echo $((n - 1))
}

# The export: Export CSV… and either the window's path field (no backend) or the stand-in
# zenity answering; the file must exist and hold `rows` rows.
export_checked() { # file rows
    local _
    for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.2; done
    [ -s "$1" ] || fail "the export did not write $1"
    local got
    got="$(csv_rows "$1")"
    [ "$got" = "$2" ] || fail "$1 has $got rows, the grid $2"
    grep -q 'PrimarySmtpAddress' "$1" || fail "$1 has no PrimarySmtpAddress column"
    echo "export $(basename "$1"): $got rows"
}

# Reads the focused text field back through the clipboard.
copy_back() {
    keys ctrl+a
    keys ctrl+c
    sleep 0.5
    xclip -o -selection clipboard 2>/dev/null || true
}

walkthrough() { # width height
    WORK="$(mktemp -d)"
    APP_ERR="$WORK/app.err"
    SHOT_NAME="screen-${1}x${2}-%s"
    xvfb_start "$1" "$2"
    layout
    # The app's PATH: a folder of its own (zenity appears there later), no D-Bus session in its
    # environment; a private bus with no services at $XDG_RUNTIME_DIR/bus answers rfd's portal
    # request with "no such service" (without it libdbus would autolaunch a session bus).
    mkdir -p "$WORK/bin" "$WORK/run"
    chmod 700 "$WORK/run"
    cat >"$WORK/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$WORK/run/bus</listen>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
EOF
    dbus-daemon --config-file="$WORK/bus.conf" --nofork --nosyslog >"$WORK/bus.log" 2>&1 &
    BUS_PID=$!
    EXTRA_PIDS=("$BUS_PID")
    for _ in $(seq 50); do [ -S "$WORK/run/bus" ] && break; sleep 0.1; done
    [ -S "$WORK/run/bus" ] || fail "the private D-Bus did not start"
    local app_env=(-u DBUS_SESSION_BUS_ADDRESS PATH="$WORK/bin" XDG_RUNTIME_DIR="$WORK/run"
        HOME="$WORK/home" XDG_DOWNLOAD_DIR="$WORK/home/Downloads")
    mkdir -p "$WORK/home/Downloads"
    EXO_CONNECT_HOME="$WORK/home/config"
    app_start "${app_env[@]}"
    read_login
    wait_window
    sleep 1.5
    shot start

    # 1. Sign in the MFA profile; the browser's part in headless Chromium.
    keys ctrl+k
    type_text "MFA"
    keys Return
    read_device_code
    shot signin 2.5
    SCREENSHOT="$WORK/chromium-final.png" \
        python3 "$ROOT/tests/system/sim_devicelogin_chromium.py" --app-stderr "$APP_ERR" \
        >"$WORK/chromium.log" 2>&1 || { cat "$WORK/chromium.log" >&2; fail "Chromium sign-in"; }
    wait_for "demo: session connected: Contoso EXO (MFA)" 30
    shot connected 1.5

    # 2. The quick test (Get-Mailbox -ResultSize 10), a row's details, the column chooser.
    # shellcheck disable=SC2086 # "x y"
    click_at $QUICK_TEST 3
    shot quick-test
    click_at 420 "$ROW1_Y" 1
    shot details-open
    # shellcheck disable=SC2086
    click_at $CLOSE_DETAILS
    shot details-closed-button
    click_at 420 "$((ROW1_Y + 40))" 1
    keys Escape
    shot details-closed-esc
    # shellcheck disable=SC2086
    click_at $COLUMNS 1
    shot columns-open
    # shellcheck disable=SC2086
    click_at $CHOOSER_SEARCH 0.5
    type_text "smtp"
    shot columns-search
    keys Escape

    # 3. Export CSV… without a file-dialog backend: the window's path field.
    # shellcheck disable=SC2086
    click_at $EXPORT_CSV 1
    shot export-path-field 2.5
    # Replace the default path (End, Shift+Home, type), read back through the clipboard: a click
    # that a slow frame handles late can move the cursor after the keys, so try again then.
    local typed_ok=""
    for _ in 1 2 3; do
        # shellcheck disable=SC2086
        click_at $PATH_FIELD 1.5
        keys End
        keys shift+Home
        type_text "$WORK/export-typed.csv" 5
        sleep 0.5
        [ "$(copy_back)" = "$WORK/export-typed.csv" ] && typed_ok=1 && break
    done
    [ -n "$typed_ok" ] || fail "could not type the path into the path field"
    shot export-path-typed 0.5
    keys Return
    export_checked "$WORK/export-typed.csv" 10
    shot export-typed-done
    # … and with a stand-in zenity on the app's PATH answering a path.
    printf '%s\n' '#!/bin/sh' '# A stand-in for zenity: records its arguments, answers a path.' \
        "printf '%s\\n' \"\$@\" >'$WORK/zenity.args'" "echo '$WORK/export-zenity.csv'" \
        >"$WORK/bin/zenity"
    chmod +x "$WORK/bin/zenity"
    # shellcheck disable=SC2086
    click_at $EXPORT_CSV 1
    export_checked "$WORK/export-zenity.csv" 10
    grep -qx -- '--save' "$WORK/zenity.args" || fail "zenity was not asked for a save dialog"
    shot export-zenity-done
    rm -f "$WORK/bin/zenity"

    # 4. Typing with no delay between keys while a run fills the grid: nothing may be lost.
    # shellcheck disable=SC2086
    click_at $CMDLET 0.3
    keys ctrl+a
    type_text "Get-Mailbox -ResultSize 1000" 5
    xdotool key ctrl+Return
    keys ctrl+a
    local typed="Get-Mailbox -Identity 'fatima.lefevre00000' -ResultSize 1 # typed fast"
    xdotool type --delay 0 "$typed"
    shot typing-while-busy 0.2
    local back
    back="$(copy_back)"
    [ "$back" = "$typed" ] || fail "typed '$typed' but the cmdlet line holds '$back'"
    echo "typing while busy: all ${#typed} characters arrived"
    sleep 4

    # 5. Quick connect on a connected profile offers to show its session ("Show …"), on the
    # others to connect; then a second session (the password profile), then disconnecting it
    # alone: the centre moves to the session left, the Undo toast.
    focus
    keys ctrl+k
    sleep 1.5
    type_text "Contoso"
    shot quick-connect-connected 0.5
    keys Escape
    sleep 0.5
    keys ctrl+k
    sleep 1.5
    type_text "Northwind"
    shot quick-connect 0.5
    keys Return
    sleep 2.5
    type_text 'admin-Demo-2026!' 20
    keys Return
    wait_for "demo: session connected: Northwind EOP" 30
    shot second-session 1.5
    # shellcheck disable=SC2086
    click_at $DISCONNECT_2 0.5
    shot disconnect-undo 0.5

    # 6. Quit (the window's close, as a window manager sends it): the app asks first.
    python3 "$ROOT/tests/system/lib/wm_close.py" "$WIN"
    shot quit-confirm 2.5
    # shellcheck disable=SC2086
    click_at $QUIT_BUTTON 0.5
    for _ in $(seq 100); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$APP_PID" 2>/dev/null && fail "the app did not quit"
    wait "$APP_PID" || fail "the app quit with status $?"
    APP_PID=""
    # … and start again on the same config folder.
    APP_ERR="$WORK/app-restart.err"
    app_start "${app_env[@]}"
    read_login
    wait_window
    shot restart 2
    if grep -qiE 'eyJ[A-Za-z0-9_-]{10,}' "$WORK"/app*.err "$WORK/app.out"; then
        fail "something that looks like a token was printed"
    fi
}

for size in ${SIZES:-1600x1000 1024x700}; do
    walkthrough "${size%x*}" "${size#*x}"
    xvfb_stop
    kill "$BUS_PID" 2>/dev/null || true
    wait "$BUS_PID" 2>/dev/null || true
    EXTRA_PIDS=()
    rm -rf "$WORK"
done
echo "ui screens under Xvfb: ok (screenshots in $SHOTS)"
