#!/usr/bin/env bash
# System test: Microsoft's own client library, MSAL for Python (installed from PyPI into a venv
# under target/), drives the simulated tenant behind a loopback TLS front (a small Python TLS
# reverse proxy) whose certificate comes from a throwaway CA made here with openssl: device
# code (the sim's page completed with plain HTTP), a forced refresh, a silent token for
# Security & Compliance from the same refresh token, and InvokeCommand with those tokens.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=target/msal-interop
venv=target/msal-venv
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || {
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    }
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check 'msal>=1.28,<2'

# A throwaway CA (one day) and a certificate for localhost signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=exo-connect throwaway test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    > "$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 1 -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null

cargo build --quiet --bin exo-connect
"$venv/bin/python" tests/system/msal_interop.py --binary target/debug/exo-connect --work "$work"
