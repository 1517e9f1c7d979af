"""Drives the simulated tenant with Microsoft's own client library (MSAL for Python) behind a
loopback TLS front with a throwaway CA: device code (the sim's page completed with plain HTTP),
a forced refresh, a silent token for Security & Compliance from the same refresh token, and an
InvokeCommand with the token. Run by tests/system/msal_interop.sh with the venv's Python.
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

CLIENT_ID = "fb78d390-0c51-40cd-8e17-fdbfab77341b"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_front(front_port, backend_port, cert, key):
    """A TLS reverse proxy: https://localhost:front_port -> http://127.0.0.1:backend_port."""

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection("127.0.0.1", backend_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = forward
        do_POST = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", front_port), Forward)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post_form(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as r:
        return r.read().decode()


def complete_device_page(listener, user_code, upn, password):
    """The verification page with plain HTTP: code -> account -> password."""
    html = post_form(f"{listener}/devicelogin", {"otc": user_code})
    m = re.search(r'name="flow" value="([^"]+)"', html)
    if not m:
        fail(f"no flow id on the code page: {html[:300]}")
    flow = m.group(1)
    html = post_form(f"{listener}/login", {"flow": flow, "login": upn, "action": "next"})
    if 'id="passwd"' not in html:
        fail(f"no password step: {html[:300]}")
    html = post_form(f"{listener}/login", {"flow": flow, "passwd": password, "action": "next"})
    if "You have signed in" not in html:
        fail(f"the page did not finish: {html[:300]}")


def jwt_claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def invoke(base, tenant, token, upn, cmdlet):
    """InvokeCommand over plain HTTP on the sim's listener, following its redirects."""
    url = f"{base}/adminapi/beta/{tenant}/InvokeCommand"
    body = json.dumps({"CmdletInput": {"CmdletName": cmdlet, "Parameters": {}}}).encode()
    for _ in range(3):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("POST", u.path + (f"?{u.query}" if u.query else ""), body=body, headers={
            "Authorization": f"Bearer {token}",
            "X-AnchorMailbox": f"UPN:{upn}",
            "Content-Type": "application/json",
        })
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status == 302:
            url = resp.getheader("Location")
            continue
        return resp.status, json.loads(data or b"null")
    fail("too many redirects")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(args.work, "ca.pem")
    import msal  # noqa: E402 (installed into the venv by the shell script)

    login_port, front_port = free_port(), free_port()
    public = f"https://localhost:{front_port}"
    sim = subprocess.Popen(
        [args.binary, "sim", "--listen", f"127.0.0.1:{login_port}", "--public-login", public,
         "--seed", "7", "--mailboxes", "20", "--device-code-interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = {}
        for line in sim.stdout:
            k, _, v = line.partition(": ")
            banner.setdefault(k, v.strip())
            if line.startswith("Press Ctrl-C"):
                break
        if "exo" not in banner:
            fail("the sim printed no banner")
        exo, scc = banner["exo"], banner["scc"]
        if banner["login"] != public:
            fail(f"the sim advertises {banner['login']}, not {public}")
        tls_front(front_port, login_port, os.path.join(args.work, "server.pem"),
                  os.path.join(args.work, "server.key"))

        app = msal.PublicClientApplication(
            CLIENT_ID, authority=f"{public}/organizations", instance_discovery=False)
        flow = app.initiate_device_flow(scopes=[f"{exo}/.default"])
        if "user_code" not in flow:
            fail(f"no device flow: {flow}")
        if not flow["verification_uri"].startswith(public):
            fail(f"verification_uri {flow['verification_uri']}")
        complete_device_page(f"http://127.0.0.1:{login_port}", flow["user_code"],
                             "ops@contoso.com", "ops-Demo-2026!")
        first = app.acquire_token_by_device_flow(flow)
        if "access_token" not in first:
            fail(f"device code: {first}")
        claims = first.get("id_token_claims") or {}
        if not claims.get("sub") or claims.get("preferred_username") != "ops@contoso.com":
            fail(f"id token claims: {claims}")
        accounts = app.get_accounts(username="ops@contoso.com")
        if len(accounts) != 1:
            fail(f"accounts in MSAL's cache: {app.get_accounts()}")
        print(f"device code: signed in as {accounts[0]['username']}")

        forced = app.acquire_token_silent([f"{exo}/.default"], account=accounts[0], force_refresh=True)
        if not forced or "access_token" not in forced:
            fail(f"forced refresh: {forced}")
        if forced["access_token"] == first["access_token"]:
            fail("the forced refresh returned the same token")
        print("forced refresh: a new EXO token")

        scc_token = app.acquire_token_silent([f"{scc}/.default"], account=accounts[0])
        if not scc_token or "access_token" not in scc_token:
            fail(f"silent SCC token: {scc_token}")
        if jwt_claims(scc_token["access_token"])["aud"].rstrip("/") != scc.rstrip("/"):
            fail("the SCC token is for another audience")
        print("silent token for Security & Compliance from the same refresh token")

        tid = jwt_claims(forced["access_token"])["tid"]
        status, body = invoke(exo, tid, forced["access_token"], "ops@contoso.com", "Get-Mailbox")
        if status != 200 or not body.get("value"):
            fail(f"InvokeCommand Get-Mailbox: {status} {body}")
        status, body = invoke(scc, tid, scc_token["access_token"], "ops@contoso.com",
                              "Get-RetentionCompliancePolicy")
        if status != 200 or not body.get("value"):
            fail(f"InvokeCommand Get-RetentionCompliancePolicy: {status} {body}")
        print(f"InvokeCommand with MSAL's tokens: {len(body['value'])} retention policies")
        print("OK: MSAL for Python", msal.__version__, "interoperates with the sim")
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()


if __name__ == "__main__":
    main()
