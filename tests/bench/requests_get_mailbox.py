"""The scripter's peer of P3 (tests/bench/cli.py): `exo-connect run --format json -- Get-Mailbox
-ResultSize Unlimited` written the way an admin would in Python with `requests` — sign in with the
password grant, page through InvokeCommand following @odata.nextLink, drop the `@` annotations,
print the rows as one indented JSON array.

Environment: LOGIN, EXO, TENANT, CLIENT_ID, UPN, PASSWORD (from `exo-connect sim`'s banner).
Runs with the `requests` package (cli.py installs it into target/bench-venv from PyPI).
"""

import json
import os
import sys
import uuid

import requests

env = os.environ
s = requests.Session()
token = s.post(
    f"{env['LOGIN']}/organizations/oauth2/v2.0/token",
    data={
        "client_id": env["CLIENT_ID"],
        "grant_type": "password",
        "username": env["UPN"],
        "password": env["PASSWORD"],
        "scope": f"{env['EXO']}/.default",
    },
).json()["access_token"]
headers = {
    "Authorization": f"Bearer {token}",
    "X-AnchorMailbox": f"UPN:{env['UPN']}",
    "Prefer": "odata.maxpagesize=1000",
    "connection-id": str(uuid.uuid4()),
}
body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
url = f"{env['EXO']}/adminapi/beta/{env['TENANT']}/InvokeCommand"
rows = []
while url:
    r = s.post(url, json=body, headers=headers)
    r.raise_for_status()
    page = r.json()
    for row in page.get("value") or []:
        rows.append({k: v for k, v in row.items() if "@" not in k})
    url = page.get("@odata.nextLink")
json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
