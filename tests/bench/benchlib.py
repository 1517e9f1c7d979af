"""Shared helpers of the benchmark scripts in tests/bench (see README.md there).

- `timed(cmd, ...)` runs a command under `/usr/bin/time -v` and returns its wall time, user and
  system CPU seconds and peak RSS;
- `Sim` starts `exo-connect sim` (loopback, random ports) and reads its banner;
- `median`, `table` and `Report` turn runs into the figures the README shows.

Only the standard library: these scripts must run on a fresh machine with python3, curl and
/usr/bin/time (Debian: `apt-get install time curl`).
"""

import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"


def release_binary():
    """Builds the release binary (cargo is quiet when it is up to date) and returns its path.
    BENCH_NO_BUILD=1 uses the binary as it is (e.g. while cargo still builds the examples)."""
    binary = TARGET / "release" / "exo-connect"
    if os.environ.get("BENCH_NO_BUILD") == "1" and binary.exists():
        return binary
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "exo-connect"], cwd=ROOT, check=True
    )
    return binary


def timed(cmd, stdin=None, stdout=None, env=None, cwd=None, check=True, timeout=None):
    """Runs `cmd` under /usr/bin/time -v. stdin: bytes or None; stdout: a path (the output is
    written there) or None (discarded). After `timeout` seconds the run (its own process group)
    is killed and an error raised. Returns {wall, user, sys, cpu, rss_mib, code, stderr}."""
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        time_file = tf.name
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", time_file] + [str(c) for c in cmd],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            _, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise RuntimeError(f"{cmd[0]} did not finish within {timeout} s")
        wall = time.monotonic() - t0
    finally:
        if stdout:
            out.close()
    text = Path(time_file).read_text()
    os.unlink(time_file)

    def field(name):
        m = re.search(r"^\s*" + re.escape(name) + r": (.*)$", text, re.M)
        if not m:
            raise RuntimeError(f"no '{name}' in /usr/bin/time output:\n{text}")
        return m.group(1).strip()

    h, m_, s = ([0, 0] + field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))[-3:]
    r = {
        "wall": int(h) * 3600 + int(m_) * 60 + float(s),
        "wall_outside": wall,
        "user": float(field("User time (seconds)")),
        "sys": float(field("System time (seconds)")),
        "rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024,
        "code": p.returncode,
        "stderr": err.decode(errors="replace"),
    }
    r["cpu"] = r["user"] + r["sys"]
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}:\n{r['stderr'][-3000:]}")
    return r


def proc_cpu_seconds(pid):
    """utime + stime of a running process (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Sim:
    """`exo-connect sim` on loopback with random ports, until stop()."""

    def __init__(self, binary, mailboxes):
        self.p = subprocess.Popen(
            [str(binary), "sim", "--mailboxes", str(mailboxes)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines = []
        got_accounts = threading.Event()

        def read():
            for line in self.p.stdout:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("Press Ctrl-C"):
                    got_accounts.set()

        threading.Thread(target=read, daemon=True).start()
        if not got_accounts.wait(60):
            self.stop()
            raise RuntimeError("the sim did not print its banner:\n" + "\n".join(self.lines))
        kv = dict(line.split(": ", 1) for line in self.lines if re.match(r"^[a-z-]+: ", line))
        self.login, self.exo, self.client_id = kv["login"], kv["exo"], kv["client-id"]
        big = next(
            line for line in self.lines
            if line.startswith("tenant: ") and f"mailboxes {mailboxes}" in line
        )
        self.tenant_id = re.search(r"\| id ([0-9a-f-]{36}) \|", big).group(1)
        ops = next(
            line for line in self.lines if line.startswith("account: ops@contoso.com ")
        )
        self.upn = "ops@contoso.com"
        self.password = re.search(r"\| password (\S+) \|", ops).group(1)

    def cpu_seconds(self):
        return proc_cpu_seconds(self.p.pid)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def median(values):
    return statistics.median(values)


def table(header, rows):
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine():
    """One line about this machine (CPU model, cores, memory, kernel)."""
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split()[1]
    return (
        f"{cpu}, {os.cpu_count()} cores, {int(mem) // 1024 // 1024} GiB, "
        f"Linux {os.uname().release}"
    )


class Report:
    """Prints as it goes and keeps a copy under target/bench/."""

    def __init__(self, name):
        (TARGET / "bench").mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = TARGET / "bench" / f"{name}-{stamp}.md"
        self.f = open(self.path, "w")

    def say(self, text=""):
        print(text, flush=True)
        self.f.write(text + "\n")
        self.f.flush()
