#!/usr/bin/env bash
# Interoperability test: the sign-in engine (device code, PKCE, refresh, state check) against
# oidc-provider from npm — an OAuth server nobody on this project wrote. Installs Node.js and npm
# when missing (idempotent), installs the pinned oidc-provider with `npm ci`, then runs
# `cargo test --test engine interop_oidc_provider:: -- --ignored`.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "== installing nodejs and npm"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

echo "== npm ci (oidc-provider)"
(cd tests/interop/oidc_provider && npm ci --no-audit --no-fund --loglevel=error)

echo "== interoperability test against oidc-provider"
cargo test --test engine interop_oidc_provider:: -- --ignored
