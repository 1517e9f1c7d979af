# Shared set-up of the system tests that drive the real window (sourced, not run): what they
# need from apt, an Xvfb display, the app in demo mode, waiting for its window and for lines on
# its stderr, screenshots checked for not being blank, and key / click helpers (xdotool).
#
# The caller sets WORK (a work folder) before `xvfb_start`, and may set SHOT_NAME (a printf
# pattern for a screenshot's file name, default "%s") and SHOTS (where screenshots are copied).
# Variables it reads afterwards: DISPLAY, X_PID, APP_PID, WIN, W, H, LOGIN (the sim's login URL).
# `xvfb_cleanup` (installed as the EXIT trap by `xvfb_start`) stops the app and Xvfb, keeps the
# script's exit status, and removes WORK unless KEEP_WORK=1.
# Never pipe a producer into `head`/`grep -q` here: under pipefail a SIGPIPE fails the script.

APP_PID=""
X_PID=""
WIN=""
W=0
H=0
LOGIN=""
APP_ERR="${APP_ERR:-}"
EXTRA_PIDS=() # other processes the script started, stopped by xvfb_cleanup
KEEP_WORK="${KEEP_WORK:-0}"

# Install what is missing: Xvfb, xdotool, xwininfo, ImageMagick, curl, Mesa GL, fonts, plus the
# extra packages named (`xvfb_needs chromium chromium-driver xclip`; a package counts as present
# when its command or its dpkg entry is).
xvfb_needs() {
    local need=() p
    command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
    command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
    command -v xwininfo >/dev/null 2>&1 || need+=(x11-utils)
    command -v import >/dev/null 2>&1 || need+=(imagemagick)
    command -v curl >/dev/null 2>&1 || need+=(curl)
    for p in libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers libvulkan1 fonts-dejavu-core "$@"; do
        command -v "$p" >/dev/null 2>&1 || dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        echo "== installing ${need[*]}"
        local sudo=""
        if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
        $sudo apt-get update
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
}

# On a failure the screen is saved to FAIL_SHOT (when set and a display runs).
fail() {
    echo "FAIL: $*" >&2
    if [ -n "${FAIL_SHOT:-}" ] && [ -n "$X_PID" ]; then
        import -window root "$FAIL_SHOT" 2>/dev/null && echo "the screen: $FAIL_SHOT" >&2
    fi
    echo "--- app stderr ($APP_ERR):" >&2
    cat "$APP_ERR" >&2 || true
    exit 1
}

xvfb_stop_app() {
    if [ -n "$APP_PID" ]; then
        kill "$APP_PID" 2>/dev/null || true
        wait "$APP_PID" 2>/dev/null || true
    fi
    APP_PID=""
}

xvfb_cleanup() {
    # Keep the script's own status: under `set -e` a `wait` on the killed app (143) would
    # otherwise end the script with 143 even when every check passed.
    local status=$?
    set +e
    xvfb_stop_app
    local p
    for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if [ -n "$X_PID" ]; then kill "$X_PID" 2>/dev/null; wait "$X_PID" 2>/dev/null; fi
    X_PID=""
    [ "$KEEP_WORK" = 1 ] || [ -z "$WORK" ] || rm -rf "$WORK"
    exit "$status"
}

# Xvfb on a free display, screen W×H (xvfb-run fails here with an X authority error: Xvfb is
# started directly).
xvfb_start() { # width height
    W=$1
    H=$2
    trap xvfb_cleanup EXIT
    local n=99
    while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
    Xvfb ":$n" -screen 0 "${W}x${H}x24" -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
    X_PID=$!
    export DISPLAY=":$n"
    for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && return 0; sleep 0.1; done
    fail "Xvfb did not start"
}

xvfb_stop() {
    xvfb_stop_app
    if [ -n "$X_PID" ]; then kill "$X_PID" 2>/dev/null || true; wait "$X_PID" 2>/dev/null || true; fi
    X_PID=""
}

# The app in demo mode (a fresh config folder under WORK unless EXO_CONNECT_HOME is set; no
# real browser); stdout appended to WORK/app.out, stderr to APP_ERR (default WORK/app.err; a
# restart sets another file first). Extra arguments are `env` settings for the app.
app_start() { # [NAME=value ...]
    : "${EXO_CONNECT_HOME:=$WORK/home}"
    export EXO_CONNECT_HOME
    export EXO_CONNECT_NO_BROWSER=1
    : "${APP_ERR:=$WORK/app.err}"
    env "$@" "$BIN" --demo >>"$WORK/app.out" 2>"$APP_ERR" &
    APP_PID=$!
}

# Waits until `pattern` appears in `file` (default: this run's stderr), failing when the app
# exits first.
wait_for() { # pattern seconds [file]
    local file="${3:-$APP_ERR}"
    for _ in $(seq $(($2 * 10))); do
        grep -q -- "$1" "$file" 2>/dev/null && return 0
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited"
        sleep 0.1
    done
    fail "timed out waiting for '$1' in $file"
}

# The sim's login URL from the app's stderr.
read_login() {
    wait_for "demo: login http" 30
    LOGIN="$(grep -o 'demo: login http[^ ]*' "$APP_ERR" | awk '{print $3}')"
    case "$LOGIN" in http://127.0.0.1:*) ;; *) fail "unexpected login URL '$LOGIN'" ;; esac
}

# No window manager under Xvfb: give the window the keyboard focus directly, once it is mapped
# (focusing an unmapped window is an X error; on a loaded machine mapping can take seconds).
focus() {
    local info
    for _ in $(seq 100); do
        info="$(xwininfo -id "$WIN" 2>/dev/null || true)"
        if grep -q 'IsViewable' <<<"$info" && xdotool windowfocus --sync "$WIN" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    fail "could not focus the window"
}

# Finds the exo-connect window, places it at 0,0 with the size asked (default the screen's)
# and focuses it.
wait_window() { # [width height]
    local ids
    WIN=""
    for _ in $(seq 150); do
        ids="$(xdotool search --name '^exo-connect$' 2>/dev/null || true)"
        WIN="${ids%%$'\n'*}"
        [ -n "$WIN" ] && break
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited"
        sleep 0.1
    done
    [ -n "$WIN" ] || fail "no exo-connect window"
    xdotool windowmove "$WIN" 0 0 windowsize "$WIN" "${1:-$W}" "${2:-$H}"
    focus
}

# Screenshot of the screen's top-left W×H, checked for existence and not being blank, copied to
# SHOTS as $(printf "$SHOT_NAME" what).png.
shot() { # what [seconds to wait first]
    sleep "${2:-1}"
    # Two small pointer moves make the window draw two more frames: the last input's frame is
    # not always on the screen yet when the window has nothing else to do.
    xdotool mousemove_relative 1 0
    sleep 0.15
    xdotool mousemove_relative -- -1 0
    sleep 0.3
    local name
    # shellcheck disable=SC2059 # the pattern is the caller's
    name="$(printf "${SHOT_NAME:-%s}" "$1").png"
    import -window root -crop "${W}x${H}+0+0" +repage "$WORK/shot.png"
    [ -s "$WORK/shot.png" ] || fail "screenshot $name is missing"
    local sd
    sd="$(convert "$WORK/shot.png" -format '%[fx:standard_deviation]' info:)"
    awk -v sd="$sd" 'BEGIN { exit !(sd > 0.02) }' || fail "screenshot $name looks blank (sd $sd)"
    cp "$WORK/shot.png" "$SHOTS/$name"
    echo "screenshot $name: ok (sd $sd)"
}

click_at() { # x y [seconds to wait after]
    xdotool mousemove "$1" "$2" click 1
    sleep "${3:-0.7}"
}

keys() { # key... (xdotool key names: ctrl+k Return Escape)
    xdotool key "$@"
    sleep 0.3
}

type_text() { # text [delay ms]
    xdotool type --delay "${2:-30}" "$1"
    sleep 0.3
}

# The demo sign-in's device code and the demo phone's code, from the last "demo: device code"
# line: sets CODE and TOTP.
read_device_code() {
    wait_for "demo: device code" 20
    local line
    line="$(grep 'demo: device code' "$APP_ERR" | tail -1)"
    CODE="$(grep -o 'device code [A-Z0-9-]*' <<<"$line" | awk '{print $3}')"
    TOTP="$(grep -o 'demo phone code for [^:]*: [0-9]*' <<<"$line" | awk '{print $NF}')"
    if [ -z "$CODE" ] || [ -z "$TOTP" ]; then fail "no device code / demo phone code in: $line"; fi
}

# The browser's part of a device-code sign-in with curl on the sim's /devicelogin page: code →
# account → password → authenticator code (CODE and TOTP from read_device_code).
browser_curl_signin() { # upn password
    local p flow
    p="$(curl -sf -X POST --data-urlencode "otc=$CODE" "$LOGIN/devicelogin")"
    flow="$(grep -o 'name="flow" value="[^"]*"' <<<"$p" | sed 's/.*value="//;s/"$//')"
    [ -n "$flow" ] || fail "the verification page did not accept the code"
    # Each page into a variable before grep -q (a pipe into grep -q can end in SIGPIPE).
    p="$(curl -sf -X POST -d "flow=$flow" --data-urlencode "login=$1" -d action=next "$LOGIN/login")"
    grep -q 'name="passwd"' <<<"$p" || fail "no password step"
    p="$(curl -sf -X POST -d "flow=$flow" --data-urlencode "passwd=$2" -d action=next "$LOGIN/login")"
    grep -q 'one-time-code' <<<"$p" || fail "no verification-code step"
    p="$(curl -sf -X POST -d "flow=$flow" -d "otc=$TOTP" -d action=next "$LOGIN/login")"
    grep -q 'You have signed in' <<<"$p" || fail "the verification page did not sign in"
}
