#!/usr/bin/env bash
# System test: the token cache against a REAL Secret Service (gnome-keyring) on a private D-Bus
# session. Installs dbus, gnome-keyring and libsecret-tools when missing (idempotent), then runs
# `cargo test --test engine keychain_system:: -- --ignored` inside `dbus-run-session` with an unlocked
# login keyring (throw-away password, throw-away HOME so the user's real keyring is untouched).
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v secret-tool >/dev/null || need+=(libsecret-tools)
if ((${#need[@]})); then
  echo "== installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" dbus-daemon >/dev/null \
    || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Build first, outside the throw-away HOME (cargo needs the real one).
cargo test --test engine --no-run

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
fake_home="$(mktemp -d)"
trap 'rm -rf "$fake_home"' EXIT

echo "== keychain system test (gnome-keyring under dbus-run-session)"
HOME="$fake_home" XDG_DATA_HOME="$fake_home/.local/share" XDG_CONFIG_HOME="$fake_home/.config" \
dbus-run-session -- bash -c '
  set -euo pipefail
  mkdir -p "$XDG_DATA_HOME/keyrings"
  eval "$(echo -n throwaway-keyring-pw | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
  export GNOME_KEYRING_CONTROL
  cargo test --test engine keychain_system:: -- --ignored --test-threads=1
'
