#!/usr/bin/env bash
# System test: the .deb as an admin gets it. Builds it (packaging/build-deb.sh, release profile,
# lintian errors fail), installs it with apt (which pulls its Depends), checks the installed
# files, starts the INSTALLED /usr/bin/exo-connect --demo under Xvfb, checks the window's title,
# WM_CLASS and 128 px icon, takes a screenshot (must not be blank; kept as
# docs/screenshots/installed-demo.png), then removes the package. Cleans up on any exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
app_id=io.github.exoconnect.ExoConnect

fail() { echo "deb_install.sh: FAIL: $*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# Tools: Xvfb, xdotool, xprop, ImageMagick (import/convert), Mesa (Vulkan lavapipe + EGL).
need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v xprop >/dev/null || need+=(x11-utils)
[ -x /usr/bin/import ] && [ -x /usr/bin/convert ] || need+=(imagemagick)
for p in libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers libvulkan1; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  echo "== installing ${need[*]}"
  apt_install "${need[@]}"
fi

# DEB_INSTALL_PROFILE=dev tries the script quickly on a debug build (lintian only for release).
profile="${DEB_INSTALL_PROFILE:-release}"
lint=()
[ "$profile" = release ] && lint=(--lintian)
echo "== build the .deb (packaging/build-deb.sh --profile $profile ${lint[*]})"
# Not `tee /dev/stderr`: that reopens stderr's file and, when CI logs to a file, truncates it.
out="$(packaging/build-deb.sh --profile "$profile" "${lint[@]}")"
printf '%s\n' "$out" >&2
deb="$(sed -n 's/^built \(\S*\.deb\) .*/\1/p' <<<"$out")"
[ -f "$deb" ] || fail "build-deb.sh did not report a .deb"

work="$(mktemp -d)"
installed=0 xvfb_pid="" app_pid=""
cleanup() {
  status=$?
  set +e # clean up everything, whatever fails on the way
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; fi
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null; wait "$xvfb_pid" 2>/dev/null; fi
  if ((installed)); then
    echo "== remove the package"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq exo-connect >/dev/null || status=1
    if [ -e /usr/bin/exo-connect ]; then echo "deb_install.sh: FAIL: /usr/bin/exo-connect left after removal" >&2; status=1; fi
  fi
  if ((status)) && [ -f "$work/app.log" ]; then echo "--- app log" >&2; cat "$work/app.log" >&2; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

echo "== apt-get install $deb"
dpkg -s exo-connect >/dev/null 2>&1 && fail "exo-connect is already installed here; remove it first (apt-get remove exo-connect)"
installed=1
apt_install "$deb"

echo "== installed files"
for f in /usr/bin/exo-connect \
         "/usr/share/applications/$app_id.desktop" \
         "/usr/share/metainfo/$app_id.metainfo.xml" \
         "/usr/share/icons/hicolor/scalable/apps/$app_id.svg" \
         /usr/share/doc/exo-connect/copyright /usr/share/man/man1/exo-connect.1.gz; do
  [ -f "$f" ] || fail "missing $f"
done
for n in 16 24 32 48 64 128 256 512; do
  [ -f "/usr/share/icons/hicolor/${n}x${n}/apps/$app_id.png" ] || fail "missing ${n}x${n} icon"
done
[ "$(dpkg-query -W -f='${Version}' exo-connect)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ] \
  || fail "installed version differs from Cargo.toml"
/usr/bin/exo-connect --help >/dev/null || fail "/usr/bin/exo-connect --help failed"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "/usr/share/applications/$app_id.desktop" || fail "desktop file does not validate"
fi

echo "== start the installed app in demo mode under Xvfb"
# -displayfd: Xvfb picks a free display itself (other X servers may come and go on this machine).
Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
d=""
for _ in $(seq 100); do
  d="$(tr -dc 0-9 <"$work/display")"
  [ -n "$d" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
  sleep 0.1
done
[ -n "$d" ] || fail "Xvfb reported no display within 10 s"
export DISPLAY=":$d"
echo "Xvfb on $DISPLAY"
# A throw-away HOME and config folder: the demo profiles never touch the real ones.
(cd "$work" && HOME="$work" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
  EXO_CONNECT_NO_BROWSER=1 WAYLAND_DISPLAY="" exec /usr/bin/exo-connect --demo) >"$work/app.log" 2>&1 &
app_pid=$!

wid=""
for _ in $(seq 120); do
  kill -0 "$app_pid" 2>/dev/null || fail "the app exited early (DISPLAY=$DISPLAY; Xvfb log: $(cat "$work/xvfb.log"))"
  wid="$(xdotool search --onlyvisible --name '^exo-connect$' 2>/dev/null | head -1 || true)"
  [ -n "$wid" ] && break
  sleep 0.25
done
[ -n "$wid" ] || fail "no visible window titled exo-connect within 30 s"

props="$(xprop -id "$wid" WM_NAME WM_CLASS)"
echo "$props"
grep -q '^WM_NAME(.*) = "exo-connect"$' <<<"$props" || fail "window title is not exo-connect"
grep -q "^WM_CLASS(STRING) = .*, \"$app_id\"\$" <<<"$props" \
  || fail "WM_CLASS's class is not $app_id (the desktop file's name and StartupWMClass)"
grep -q "^StartupWMClass=$app_id\$" "/usr/share/applications/$app_id.desktop" || fail "StartupWMClass"
# Into a file first: `xprop … | head -3` under pipefail fails with SIGPIPE (141) when xprop is
# still writing the rest of the icon data after head has exited.
xprop -id "$wid" _NET_WM_ICON >"$work/icon.txt"
icon="$(head -3 "$work/icon.txt")"
echo "$icon"
grep -q 'Icon (128 x 128)' <<<"$icon" || fail "_NET_WM_ICON is not the 128 px icon from assets/"

# The first frames take a moment on a software renderer: poll until the window is not blank.
shot="$work/installed-demo.png"
ok=0
for _ in $(seq 40); do
  import -window "$wid" "$shot" 2>/dev/null || true
  if [ -f "$shot" ]; then
    colours="$(convert "$shot" -format '%k' info:)"
    sd="$(convert "$shot" -colorspace Gray -format '%[fx:standard_deviation]' info:)"
    if [ "$colours" -gt 64 ] && awk -v s="$sd" 'BEGIN { exit !(s > 0.02) }'; then ok=1; break; fi
  fi
  sleep 0.5
done
((ok)) || fail "the window stayed blank (colours=${colours:-?}, sd=${sd:-?})"
mkdir -p docs/screenshots
cp "$shot" "$root/docs/screenshots/installed-demo.png"
echo "== screenshot: docs/screenshots/installed-demo.png ($colours colours)"
echo "deb_install.sh: OK"
