#!/usr/bin/env bash
# Builds the Debian/Ubuntu package with dpkg-deb (no network, no cargo-packager needed):
#   target/packages/exo-connect_<version>_<arch>.deb
# The version comes from Cargo.toml (cargo metadata); nothing else in the repo repeats it.
#
# Usage: packaging/build-deb.sh [--profile PROFILE] [--no-build] [--lintian]
#   --profile   cargo profile to package (default: release)
#   --no-build  package the binary already in target/<profile>/
#   --lintian   run lintian on the result (installs it with apt if missing); fails on errors
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

profile=release build=1 lint=0
while (($#)); do
    case "$1" in
        --profile) profile="${2:?--profile needs a name}"; shift 2 ;;
        --no-build) build=0; shift ;;
        --lintian) lint=1; shift ;;
        *) echo "build-deb.sh: unknown argument '$1' (see the usage at the top of the script)" >&2; exit 2 ;;
    esac
done

app_id=io.github.exoconnect.ExoConnect
meta="$(cargo metadata --no-deps --format-version 1)"
field() { python3 -c 'import json,sys; p=[p for p in json.load(sys.stdin)["packages"] if p["name"]=="exo-connect"][0]; print(p[sys.argv[1]] or "")' "$1" <<<"$meta"; }
version="$(field version)"
description="$(field description)"
target_dir="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' <<<"$meta")"
arch="$(dpkg --print-architecture)"

if ((build)); then
    echo "== cargo build --profile $profile --locked"
    cargo build --profile "$profile" --locked --bin exo-connect
fi
profile_dir=$profile
[[ $profile == dev ]] && profile_dir=debug
bin="$target_dir/$profile_dir/exo-connect"
[[ -x $bin ]] || { echo "build-deb.sh: no binary at $bin (build it, or drop --no-build)" >&2; exit 1; }

name="exo-connect_${version}_${arch}"
stage="$target_dir/deb/$name"
out_dir="$target_dir/packages"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$out_dir"

# Files. Everything root-owned (dpkg-deb --root-owner-group), 0755 dirs, 0644 data.
install -Dm0755 "$bin" "$stage/usr/bin/exo-connect"
# The release profile strips symbols; also drop the compiler-version .comment section (lintian).
if command -v objcopy >/dev/null; then objcopy --remove-section=.comment "$stage/usr/bin/exo-connect"; fi
install -Dm0644 "packaging/linux/$app_id.desktop" "$stage/usr/share/applications/$app_id.desktop"
install -Dm0644 "packaging/linux/$app_id.metainfo.xml" "$stage/usr/share/metainfo/$app_id.metainfo.xml"
for n in 16 24 32 48 64 128 256 512; do
    install -Dm0644 "assets/png/exo-connect-$n.png" "$stage/usr/share/icons/hicolor/${n}x${n}/apps/$app_id.png"
done
install -Dm0644 assets/exo-connect.svg "$stage/usr/share/icons/hicolor/scalable/apps/$app_id.svg"
doc="$stage/usr/share/doc/exo-connect"
install -Dm0644 packaging/linux/copyright "$doc/copyright"
# Policy wants a changelog (changelog.gz: a native package, no Debian revision).
printf '%s\n' "exo-connect ($version) unstable; urgency=medium" "" \
    "  * Release $version; see the project's releases for notes." "" \
    " -- exo-connect developers <exo-connect@users.noreply.github.com>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
    >"$doc/changelog"
gzip -9n "$doc/changelog"
install -Dm0644 packaging/linux/exo-connect.1 "$stage/usr/share/man/man1/exo-connect.1"
gzip -9n "$stage/usr/share/man/man1/exo-connect.1"

# Depends: what the binary links (dpkg-shlibdeps: libc6, libgcc-s1) plus what it loads with
# dlopen at run time, which dpkg-shlibdeps cannot see: winit's X11/Wayland/xkbcommon libraries,
# wgpu's Vulkan or EGL loader, fontconfig (system fonts) and libdbus.
shlib=""
if command -v dpkg-shlibdeps >/dev/null; then
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/debian"
    printf 'Source: exo-connect\n\nPackage: exo-connect\nArchitecture: any\n' >"$tmp/debian/control"
    shlib="$(cd "$tmp" && dpkg-shlibdeps -O "$stage/usr/bin/exo-connect" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
    rm -rf "$tmp"
fi
[[ -n $shlib ]] || shlib="libc6 (>= 2.34), libgcc-s1 (>= 4.2)"
dlopened="libx11-6, libx11-xcb1, libxcb1, libxcursor1, libxi6, libxkbcommon0, libxkbcommon-x11-0, libwayland-client0, libwayland-egl1, libfontconfig1, libdbus-1-3, libvulkan1 | libegl1"
installed_kb="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"

cat >"$stage/DEBIAN/control" <<CONTROL
Package: exo-connect
Version: $version
Architecture: $arch
Maintainer: exo-connect developers <exo-connect@users.noreply.github.com>
Installed-Size: $installed_kb
Depends: $shlib, $dlopened
Recommends: gnome-keyring | kwalletmanager | keepassxc, xdg-desktop-portal-gtk | xdg-desktop-portal-kde | zenity, xdg-utils, mesa-vulkan-drivers | libegl-mesa0
Suggests: firefox-esr | chromium | www-browser
Section: net
Priority: optional
Homepage: https://github.com/exoconnect/exo-connect
Description: $description
 A native desktop app and command line for Microsoft 365 / Exchange
 administrators: saved tenant profiles for Exchange Online, Exchange Online
 Protection and Security & Compliance, sign-in with MFA, sessions, and cmdlets
 such as Get-Mailbox over the Exchange admin REST API, without PowerShell.
 .
 Sign-ins are kept in the Secret Service (GNOME Keyring, KWallet or
 KeePassXC); file dialogs use the desktop portal or zenity; browser sign-in
 opens the default browser. A built-in simulated tenant (exo-connect --demo)
 needs none of these.
CONTROL

find "$stage" -type d -exec chmod 0755 {} +
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
deb="$out_dir/$name.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1), installed size ${installed_kb} KiB)"

if ((lint)); then
    command -v lintian >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lintian
    # What remains (informational only) is explained in packaging/README.md.
    lintian --fail-on error,warning "$deb"
fi
