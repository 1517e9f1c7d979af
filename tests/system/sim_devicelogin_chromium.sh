#!/usr/bin/env bash
# System test: `exo-connect sim`, a device code requested with curl, the /devicelogin page
# completed in headless Chromium (code → account → password → authenticator code), then the token
# endpoint polled until it answers tokens. Installs Chromium + chromedriver if missing.
# The screenshot of the final page goes to $SCREENSHOT (default target/system-tests/...).
set -euo pipefail
cd "$(dirname "$0")/../.."

need_install=0
command -v chromium >/dev/null 2>&1 || need_install=1
command -v chromedriver >/dev/null 2>&1 || need_install=1
command -v curl >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
    echo "== installing chromium, chromium-driver and curl"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver curl
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 1; }

cargo build --quiet --bin exo-connect
mkdir -p target/system-tests
export EXO_CONNECT_BIN="${EXO_CONNECT_BIN:-$PWD/target/debug/exo-connect}"
export SCREENSHOT="${SCREENSHOT:-$PWD/target/system-tests/sim_devicelogin.png}"
exec python3 tests/system/sim_devicelogin_chromium.py
