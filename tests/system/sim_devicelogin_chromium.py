"""Drives /devicelogin of `exo-connect sim` in headless Chromium through raw WebDriver calls.

Standard library only. Environment: EXO_CONNECT_BIN (the binary), SCREENSHOT (PNG path).

With `--app-stderr FILE` it plays the browser for the desktop app in demo mode instead: it waits
for the app's "demo: device code CODE at URL; demo phone code for UPN: NNNNNN" line in FILE
(the app's stderr) and completes that sign-in in Chromium (used by tests/system/ui_screens_xvfb.sh).
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CLIENT = "fb78d390-0c51-40cd-8e17-fdbfab77341b"
UPN = "admin@contoso.com"
PASSWORD = "admin-Demo-2026!"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl_json(*args):
    out = subprocess.run(
        ["curl", "-s", "--max-time", "10", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


class Sim:
    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "sim", "--seed", "5", "--mailboxes", "20", "--device-code-interval", "1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info = {}
        self.codes = {}
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(30):
            fail("exo-connect sim did not print its banner")

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            key, sep, value = line.partition(": ")
            if sep and key in ("login", "exo", "scc", "devicelogin", "client-id"):
                self.info[key] = value
            if line.startswith("account: "):
                fields = [f.strip() for f in line[len("account: "):].split("|")]
                code = fields[3].split()[-1]
                if code != "-":
                    self.codes[fields[0]] = code
            if line.startswith("totp: "):
                _, upn, code = line.split()
                self.codes[upn] = code
            if line.startswith("Press Ctrl-C"):
                self.ready.set()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("exo-connect sim did not stop on Ctrl-C")


class WebDriver:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["chromedriver", f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        else:
            fail("chromedriver did not start")
        self.profile = tempfile.mkdtemp(prefix="sim-chromium-")
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": shutil.which("chromium"),
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-quic",
                            "--window-size=900,800",
                            f"--user-data-dir={self.profile}",
                        ],
                    },
                }
            }
        }
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}").get("value", {})
        except urllib.error.HTTPError as e:
            fail(f"WebDriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def find(self, css, timeout=10):
        deadline = time.time() + timeout
        while True:
            req = urllib.request.Request(
                f"{self.base}/session/{self.session}/element",
                data=json.dumps({"using": "css selector", "value": css}).encode(),
                method="POST",
            )
            req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return json.loads(r.read())["value"][ELEMENT]
            except urllib.error.HTTPError:
                if time.time() > deadline:
                    fail(f"no element {css} on {self.s('GET', '/url')}")
                time.sleep(0.1)

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css):
        return self.s("GET", f"/element/{self.find(css)}/text")

    def label_controls(self, input_id):
        """The id of the control the page's <label for=...> points the browser at."""
        self.find("#" + input_id)  # waits for the page that has it
        return self.s(
            "POST",
            "/execute/sync",
            {
                "script": "var l = document.querySelector('label[for=\"' + arguments[0] + '\"]');"
                " return l && l.control ? l.control.id : null;",
                "args": [input_id],
            },
        )

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)


def complete_sign_in(browser, uri, user_code, upn, password, otc):
    """The user's part on the verification page: code, account, password, authenticator code
    (`otc()` gives it when the page asks), then the final page checked and saved to SCREENSHOT."""
    browser.s("POST", "/url", {"url": uri})
    if browser.label_controls("code") != "code":
        fail("the code field has no working <label for>")
    browser.type("#code", user_code)
    browser.click("#next")
    if browser.label_controls("login") != "login":
        fail("the account field has no working <label for>")
    browser.type("#login", upn)
    browser.click("#next")
    if browser.label_controls("passwd") != "passwd":
        fail("the password field has no working <label for>")
    browser.type("#passwd", password)
    browser.click("#next")
    if browser.label_controls("otc") != "otc":
        fail("the verification code field has no working <label for>")
    code = otc()
    if not code:
        fail("no authenticator code for " + upn)
    browser.type("#otc", code)
    browser.click("#next")
    message = browser.text("#message")  # only the final page has it
    title = browser.text("#title")
    png = base64.b64decode(browser.s("GET", "/screenshot"))
    with open(os.environ["SCREENSHOT"], "wb") as f:
        f.write(png)
    print(f"final page: {title!r}: {message!r} (screenshot {os.environ['SCREENSHOT']})")
    if title != "You have signed in" or "close this window" not in message:
        fail(f"unexpected final page: {title!r} {message!r}")


def app_main(stderr_path):
    """Completes the demo app's device-code sign-in read from its stderr."""
    pattern = re.compile(
        r"demo: device code (\S+) at (\S+?); demo phone code for ([^:]+): (\d+)"
    )
    deadline = time.time() + 30
    while True:
        with open(stderr_path, encoding="utf-8", errors="replace") as f:
            found = pattern.findall(f.read())
        if found:
            break
        if time.time() > deadline:
            fail(f"no 'demo: device code' line in {stderr_path}")
        time.sleep(0.2)
    user_code, uri, upn, otc = found[-1]
    if not uri.startswith("http://127.0.0.1:"):
        fail(f"unexpected verification URL {uri}")
    print(f"device code {user_code} for {upn} at {uri}")
    browser = WebDriver()
    try:
        complete_sign_in(browser, uri, user_code, upn, PASSWORD, lambda: otc)
    finally:
        browser.close()
    print(f"PASS: signed in {upn} in headless Chromium")


def main():
    sim = Sim(os.environ["EXO_CONNECT_BIN"])
    browser = None
    try:
        login, exo = sim.info["login"], sim.info["exo"]
        print(f"sim: login {login}, exo {exo}")
        dc = curl_json(
            f"{login}/organizations/oauth2/v2.0/devicecode",
            "-d", f"client_id={CLIENT}",
            "--data-urlencode", f"scope={exo}/.default offline_access openid profile",
        )
        for k in ("user_code", "device_code", "verification_uri", "interval", "message"):
            if k not in dc:
                fail(f"device code answer lacks {k}: {dc}")
        print(f"device code: {dc['message']}")
        token_args = [
            f"{login}/organizations/oauth2/v2.0/token",
            "-d", f"client_id={CLIENT}",
            "-d", "grant_type=urn:ietf:params:oauth:grant-type:device_code",
            "-d", f"device_code={dc['device_code']}",
        ]
        pending = curl_json(*token_args)
        if pending.get("error") != "authorization_pending":
            fail(f"expected authorization_pending, got {pending}")

        browser = WebDriver()
        complete_sign_in(browser, dc["verification_uri"], dc["user_code"], UPN, PASSWORD,
                         lambda: sim.codes.get(UPN))

        deadline = time.time() + 30
        while True:
            answer = curl_json(*token_args)
            if "access_token" in answer:
                break
            if answer.get("error") not in ("authorization_pending", "slow_down") or time.time() > deadline:
                fail(f"token endpoint answered {answer.get('error')}: {answer.get('error_description')}")
            time.sleep(dc["interval"])
        if answer.get("token_type") != "Bearer" or "refresh_token" not in answer or "id_token" not in answer:
            fail(f"incomplete token answer: keys {sorted(answer)}")
        payload = answer["access_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if claims.get("upn") != UPN or claims.get("aud") != exo:
            fail(f"token for {claims.get('upn')} / {claims.get('aud')}")
        print(f"PASS: tokens for {claims['upn']} (tid {claims['tid']}, aud {claims['aud']})")
    finally:
        if browser:
            browser.close()
        sim.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--app-stderr":
        app_main(sys.argv[2])
    else:
        main()
