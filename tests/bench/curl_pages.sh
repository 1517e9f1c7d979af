#!/usr/bin/env bash
# The transfer floor of P3 (tests/bench/cli.py): what `exo-connect run -- Get-Mailbox -ResultSize
# Unlimited` fetches, done with curl alone — a token from the sim's token endpoint (password
# grant), then InvokeCommand pages one after another, following @odata.nextLink (read from the
# first 4 KiB of each page with grep), each page written over the last one and otherwise ignored.
#
# Environment: LOGIN, EXO, TENANT, CLIENT_ID, UPN, PASSWORD (from `exo-connect sim`'s banner),
# WORK (a private scratch folder). Optional: SAVE=DIR keeps every page as DIR/page-NNNN.json
# (the pages the parse benchmarks read).
set -euo pipefail
: "${LOGIN:?}" "${EXO:?}" "${TENANT:?}" "${CLIENT_ID:?}" "${UPN:?}" "${PASSWORD:?}" "${WORK:?}"

token_json="$(curl -sS --fail "$LOGIN/organizations/oauth2/v2.0/token" \
    -d "client_id=$CLIENT_ID" -d grant_type=password --data-urlencode "username=$UPN" \
    --data-urlencode "password=$PASSWORD" --data-urlencode "scope=$EXO/.default")"
token="$(printf '%s' "$token_json" | grep -o '"access_token":"[^"]*"' | sed 's/^"access_token":"//; s/"$//')"
[ -n "$token" ] || { echo "no access_token in the token answer" >&2; exit 1; }
# The token goes to curl in a header file, not on a command line.
headers="$WORK/headers"
umask 077
{
    echo "Authorization: Bearer $token"
    echo "X-AnchorMailbox: UPN:$UPN"
    echo "Prefer: odata.maxpagesize=1000"
    echo "Content-Type: application/json"
    echo "Accept: application/json"
    echo "connection-id: $(cat /proc/sys/kernel/random/uuid)"
    echo "X-CmdletName: Get-Mailbox"
} >"$headers"
body='{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"ResultSize":"Unlimited"}}}'
url="$EXO/adminapi/beta/$TENANT/InvokeCommand"
page="$WORK/page.json"
n=0
while [ -n "$url" ]; do
    n=$((n + 1))
    curl -sS --fail -X POST -H @"$headers" --data "$body" -o "$page" "$url"
    if [ -n "${SAVE:-}" ]; then cp "$page" "$(printf '%s/page-%04d.json' "$SAVE" "$n")"; fi
    url="$(head -c 4096 "$page" | grep -o '"@odata.nextLink":"[^"]*"' | sed 's/^"@odata.nextLink":"//; s/"$//' || true)"
done
rm -f "$headers"
echo "$n pages" >&2
