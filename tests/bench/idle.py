#!/usr/bin/env python3
"""P5, idle (issue 11): CPU of the real window (release build) under Xvfb while nobody touches it,
as % of one core over --seconds (default 60), read from /proc/<pid>/stat (utime + stime of every
thread), after the window has settled:

  1. `exo-connect` with an empty config folder, no session;
  2. `exo-connect --demo`: the demo profiles, the demo phone visible (its sim runs in-process);
  3. two sessions (password sign-ins typed with xdotool into the real sign-in dialog) against a
     `exo-connect sim --mailboxes 100000`, the sessions list showing;
  4. the same with the first session's output showing `Get-Mailbox -ResultSize Unlimited`:
     a 100,000-row grid.

Screenshots of each stage go to target/bench/idle-*.png (look at them). `--threads` prints each
thread's CPU and wake-ups over the measurement; with `EXO_CONNECT_FRAME_LOG=1` in the
environment the window logs every frame and why it was drawn (`src/ui/probe.rs`), and the
frames of each measurement go to target/bench/idle-*.frames. The window is driven by
keys only (Ctrl+K to connect, Ctrl+O to open the first session's output with its cmdlet line
focused, Ctrl+Enter to run), so a change of layout does not break it.

    tests/bench/idle.py [--seconds 60] [--mailboxes 100000] [--stages 1,2,3,4]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (  # noqa: E402
    ROOT, TARGET, Report, Sim, machine, proc_cpu_seconds, release_binary, table,
)
from xvfb import Xvfb  # noqa: E402

THREADS = False  # --threads: each thread's CPU and wake-ups over the measurement


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_percent(pid, seconds):
    c0, t0 = proc_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = proc_cpu_seconds(pid), time.monotonic()
    return 100 * (c1 - c0) / (t1 - t0)


def threads(pid):
    """{tid: (name, utime+stime ticks, context switches)} of every thread of `pid`."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat.rsplit(")", 1)[1].split()
        switches = sum(int(line.split()[1]) for line in status.splitlines()
                       if "ctxt_switches:" in line)
        out[task.name] = (name, int(f[11]) + int(f[12]), switches)
    return out


def thread_report(before, after, seconds):
    """Per thread over the measurement: CPU ticks and wake-ups (context switches) a second;
    threads that neither ran nor woke are left out."""
    lines = []
    for tid, (name, ticks, sw) in sorted(after.items(), key=lambda kv: kv[1][0]):
        _, t0, s0 = before.get(tid, (name, 0, 0))
        if ticks - t0 or sw - s0:
            lines.append(f"    {name:<18} tid {tid:>7}: {ticks - t0:>4} ticks, "
                         f"{(sw - s0) / seconds:.2f} switches/s")
    return lines


def wait_calm(pid, sim=None, limit=60.0, window=2.0, quiet=3, timeout=600):
    """Waits until `quiet` windows in a row have the app under `limit`% (and the sim idle):
    loading is over. Returns the seconds waited."""
    t0 = time.monotonic()
    calm = 0
    while calm < quiet:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("the window never calmed down")
        s0 = sim.cpu_seconds() if sim else 0
        busy = cpu_percent(pid, window)
        sim_busy = (sim.cpu_seconds() - s0) / window * 100 if sim else 0
        calm = calm + 1 if busy < limit and sim_busy < 5 else 0
    return time.monotonic() - t0 - quiet * window


class App:
    def __init__(self, binary, x, args, home, work):
        self.x = x
        self.err = open(work / "app.err", "w")
        self.p = subprocess.Popen(
            [str(binary), *args],
            env=x.env(EXO_CONNECT_HOME=home, EXO_CONNECT_SECRETS="memory",
                      EXO_CONNECT_NO_BROWSER=1),
            stdout=subprocess.DEVNULL, stderr=self.err,
        )
        self.win = x.window("^exo-connect$", 60)
        x.xdotool("windowmove", self.win, 0, 0, "windowsize", self.win, 1400, 900)
        time.sleep(3)
        x.xdotool("windowfocus", "--sync", self.win)

    def key(self, *keys):
        self.x.xdotool("key", *keys)
        time.sleep(0.5)

    def type(self, text):
        self.x.xdotool("type", "--delay", 40, text)
        time.sleep(0.5)

    def click(self, x, y):
        self.x.xdotool("mousemove", x, y, "click", 1)
        time.sleep(1)

    def park_mouse(self):
        self.x.xdotool("mousemove", 1390, 450)  # over nothing that reacts to hovering

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()


def measure(rep_rows, name, app, seconds, shot):
    app.park_mouse()
    time.sleep(2)
    app.x.screenshot(TARGET / "bench" / f"idle-{shot}.png")
    t0 = threads(app.p.pid)
    app.err.flush()
    log_from = Path(app.err.name).stat().st_size
    pct = cpu_percent(app.p.pid, seconds)
    t1 = threads(app.p.pid)
    if os.environ.get("EXO_CONNECT_FRAME_LOG") == "1":
        # The window's frame log (src/ui/probe.rs) over the measurement: one line per frame.
        with open(app.err.name, "rb") as f:
            f.seek(log_from)
            lines = [x for x in f.read().decode(errors="replace").splitlines()
                     if x.startswith("frame ")]
        log = TARGET / "bench" / f"idle-{shot}.frames"
        log.write_text("".join(x + "\n" for x in lines))
        print(f"  {len(lines)} frames in {seconds:.0f} s (their causes: {log})", flush=True)
    rep_rows.append([name, f"{pct:.1f}%", f"{rss_mib(app.p.pid):.0f}"])
    print(f"  {name}: {pct:.1f}% of a core, {rss_mib(app.p.pid):.0f} MiB", flush=True)
    if THREADS:
        print("\n".join(thread_report(t0, t1, seconds)), flush=True)


def sessions_and_grid(binary, x, work, a, rows):
    sim = Sim(binary, a.mailboxes)
    home = Path(tempfile.mkdtemp(dir=work))
    env = x.env(EXO_CONNECT_HOME=home)
    accounts = {}
    for line in sim.lines:
        if line.startswith("account: "):
            upn = line.split()[1]
            accounts[upn] = line.split("| password ")[1].split()[0]
    for name, upn, service in [("Contoso EXO", "ops@contoso.com", "exo"),
                               ("Northwind EOP", "admin@northwind.com", "eop")]:
        subprocess.run(
            [str(binary), "profile", "add", "--name", name, "--upn", upn, "--service", service,
             "--cloud", "Custom", "--connection-uri", f"{sim.exo}/powershell-liveid/",
             "--authorization-endpoint", f"{sim.login}/organizations", "--auth", "password"],
            env=env, check=True, capture_output=True)
    app = App(binary, x, [], home, work)
    try:
        # Northwind first: a connect selects its profile and shows its output, so the EXO session
        # (Contoso) is the selected one when Ctrl+O opens "the selected profile's output" below.
        for name, upn in [("Northwind", "admin@northwind.com"), ("Contoso", "ops@contoso.com")]:
            app.key("ctrl+k")
            app.type(name)
            app.key("Return")
            time.sleep(2)
            app.type(accounts[upn])
            app.key("Return")
            time.sleep(4)
        if "3" in a.stages:
            measure(rows, "two sessions, sessions list", app, a.seconds, "two-sessions")
        if "4" in a.stages:
            # Ctrl+O: the output of the selected profile's session (Contoso EXO, connected last),
            # its cmdlet line focused; no coordinates, so the layout may move.
            app.key("ctrl+o")
            app.type("Get-Mailbox -ResultSize Unlimited")
            app.key("ctrl+Return")
            t0 = time.monotonic()
            time.sleep(5)
            wait_calm(app.p.pid, sim)
            print(f"  the grid settled {time.monotonic() - t0:.0f} s after Run", flush=True)
            measure(rows, f"two sessions, {a.mailboxes:,}-row grid showing", app, a.seconds,
                    "grid")
    finally:
        app.stop()
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--mailboxes", type=int, default=100_000)
    ap.add_argument("--stages", default="1,2,3,4")
    ap.add_argument("--threads", action="store_true",
                    help="also print each thread's CPU ticks and context switches a second")
    a = ap.parse_args()
    global THREADS
    THREADS = a.threads
    binary = release_binary()
    x = Xvfb()
    rep = Report("idle")
    work = Path(tempfile.mkdtemp(prefix="p5-", dir=TARGET / "bench"))
    rows = []
    try:
        if "1" in a.stages:
            app = App(binary, x, [], Path(tempfile.mkdtemp(dir=work)), work)
            try:
                time.sleep(5)
                measure(rows, "plain, no session", app, a.seconds, "plain")
            finally:
                app.stop()
        if "2" in a.stages:
            app = App(binary, x, ["--demo"], Path(tempfile.mkdtemp(dir=work)), work)
            try:
                time.sleep(5)
                measure(rows, "--demo, demo phone visible", app, a.seconds, "demo")
            finally:
                app.stop()
        if "3" in a.stages or "4" in a.stages:
            sessions_and_grid(binary, x, work, a, rows)
        rep.say(f"# P5 idle: CPU of the window under Xvfb over {a.seconds:.0f} s (release build)")
        rep.say(f"machine: {machine()}")
        rep.say()
        rep.say(table(["state", "CPU (% of one core)", "RSS MiB at the end"], rows))
        rep.say(f"\n(report kept in {rep.path.relative_to(ROOT)}; screenshots "
                f"target/bench/idle-*.png)")
    finally:
        x.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
