#!/usr/bin/env bash
# System test: profiles with IEConfig and AutoDetect reach the sim through a real proxy on
# loopback (Debian's tinyproxy), with and without Basic authentication, and the proxy's log shows
# the traffic. Installs tinyproxy when missing (idempotent), starts two instances on free loopback
# ports from temporary configs (one open, one with `BasicAuth user pass`), then runs
# `cargo test --test engine proxy_system:: -- --ignored` with EXO_TEST_PROXY_* set.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v tinyproxy >/dev/null; then
  echo "== installing tinyproxy"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tinyproxy >/dev/null
fi

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_proxy() { # name port [auth]
  local name="$1" port="$2" auth="${3:-}"
  local conf="$work/$name.conf" log="$work/$name.log"
  : >"$log"
  chmod 666 "$log"
  {
    echo "Port $port"
    echo "Listen 127.0.0.1"
    echo "Timeout 60"
    echo "LogFile \"$log\""
    echo "LogLevel Info"
    echo "MaxClients 50"
    echo "Allow 127.0.0.1"
    echo "DisableViaHeader Yes"
    if [ "$(id -u)" -eq 0 ]; then echo "User nobody"; echo "Group nogroup"; fi
    if [ -n "$auth" ]; then echo "BasicAuth $auth"; fi
  } >"$conf"
  tinyproxy -d -c "$conf" >"$work/$name.out" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "tinyproxy ($name) did not start:"; cat "$work/$name.out"; exit 1
}

open_port="$(free_port)"
auth_port="$(free_port)"
start_proxy open "$open_port"
start_proxy auth "$auth_port" "user pass"
echo "== tinyproxy: open on 127.0.0.1:$open_port, Basic auth on 127.0.0.1:$auth_port"

export EXO_TEST_PROXY_OPEN="127.0.0.1:$open_port"
export EXO_TEST_PROXY_OPEN_LOG="$work/open.log"
export EXO_TEST_PROXY_AUTH="127.0.0.1:$auth_port"
export EXO_TEST_PROXY_AUTH_LOG="$work/auth.log"
export EXO_TEST_PROXY_AUTH_USER="user"
export EXO_TEST_PROXY_AUTH_PASSWORD="pass"
cargo test --test engine proxy_system:: -- --ignored --test-threads 1
