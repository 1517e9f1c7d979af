#!/usr/bin/env python3
"""P3, the command line at tenant scale (issue 11): `exo-connect run --format json|csv|table --
Get-Mailbox -ResultSize Unlimited` of a 100,000-mailbox sim (release build) against
 (a) curl fetching the same pages with the same kind of token, following @odata.nextLink
     (tests/bench/curl_pages.sh): the transfer floor;
 (b) a Python `requests` script doing the same job as `run --format json`
     (tests/bench/requests_get_mailbox.py): what a scripter would write;
and the parse-cost floor: `jq -c '.value[]'` over the same pages saved to disk.

One sim serves every run (it limits concurrent requests per tenant, not connections, and the
tools run one at a time), the tools take turns in every round, and the figures are medians over
the rounds: wall time, user+sys CPU seconds, peak RSS (all from /usr/bin/time -v), and the sim's
own CPU during the run (it shares the cores).

    tests/bench/cli.py [--mailboxes 100000] [--runs 5] [--tools exo-json,curl,exo-csv,python,exo-table]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (  # noqa: E402
    ROOT, TARGET, Report, Sim, machine, median, release_binary, table, timed,
)

BENCH = Path(__file__).resolve().parent
TOOLS = ["exo-json", "curl", "exo-csv", "python", "exo-table"]


def venv_python():
    """target/bench-venv with `requests` from PyPI (made once)."""
    venv = TARGET / "bench-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(py), "-c", "import requests"], capture_output=True).returncode:
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "requests"], check=True)
    return py


def sim_env(sim, work):
    env = dict(os.environ)
    env.update(
        LOGIN=sim.login, EXO=sim.exo, TENANT=sim.tenant_id, CLIENT_ID=sim.client_id,
        UPN=sim.upn, PASSWORD=sim.password, WORK=str(work),
    )
    return env


def exo_run(binary, sim, work, fmt, out):
    """`exo-connect run` with a fresh config folder holding one password profile for the sim."""
    home = Path(tempfile.mkdtemp(dir=work))
    env = dict(os.environ, EXO_CONNECT_HOME=str(home), EXO_CONNECT_SECRETS="memory",
               EXO_CONNECT_NO_BROWSER="1", COLUMNS="200")
    subprocess.run(
        [str(binary), "profile", "add", "--name", "bench", "--upn", sim.upn, "--service", "exo",
         "--cloud", "Custom", "--connection-uri", f"{sim.exo}/powershell-liveid/",
         "--authorization-endpoint", f"{sim.login}/organizations", "--auth", "password",
         "--page-size", "1000"],
        env=env, check=True, capture_output=True,
    )
    r = timed(
        [binary, "run", "bench", "--format", fmt, "--password-stdin", "--",
         "Get-Mailbox", "-ResultSize", "Unlimited"],
        stdin=(sim.password + "\n").encode(), stdout=out, env=env,
    )
    shutil.rmtree(home)
    return r


def count(path, needle):
    n = 0
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            buf = tail + chunk
            n += buf.count(needle)
            tail = buf[len(buf) - (len(needle) - 1):]
    return n


def check_output(tool, out, mailboxes):
    """The first round's outputs are checked: every mailbox is there."""
    if tool in ("exo-json", "python"):
        got = count(out, b'\n    "ExchangeGuid": ')
    elif tool == "exo-csv":
        got = count(out, b"\n") - 1
    elif tool == "exo-table":
        got = count(out, b"\n") - 2
    else:
        return
    if got != mailboxes:
        raise RuntimeError(f"{tool}: {got} rows in its output, expected {mailboxes}")


def one_run(tool, sim, binary, py, work):
    out = work / f"out-{tool}"
    cpu0 = sim.cpu_seconds()
    if tool.startswith("exo-"):
        r = exo_run(binary, sim, work, tool[4:], out)
    elif tool == "curl":
        r = timed(["bash", BENCH / "curl_pages.sh"], env=sim_env(sim, work))
    elif tool == "python":
        r = timed([py, BENCH / "requests_get_mailbox.py"], stdout=out, env=sim_env(sim, work))
    r["sim_cpu"] = sim.cpu_seconds() - cpu0
    return r, out


def save_pages(sim, mailboxes, work):
    """The pages themselves, once, for jq and `cargo bench --bench store -- --pages`."""
    pages = TARGET / "bench" / f"pages-{mailboxes}"
    if not (pages / "complete").exists():
        shutil.rmtree(pages, ignore_errors=True)
        pages.mkdir(parents=True)
        env = sim_env(sim, work)
        env["SAVE"] = str(pages)
        subprocess.run(["bash", BENCH / "curl_pages.sh"], env=env, check=True,
                       capture_output=True)
        (pages / "complete").write_text("")
    return sorted(pages.glob("page-*.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mailboxes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tools", default=",".join(TOOLS))
    a = ap.parse_args()
    tools = a.tools.split(",")
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        ap.error(f"unknown tools {unknown}: choose from {','.join(TOOLS)}")
    binary = release_binary()
    py = venv_python() if "python" in tools else None
    rep = Report("cli")
    work = Path(tempfile.mkdtemp(prefix="p3-", dir=TARGET / "bench"))
    sim = Sim(binary, a.mailboxes)
    try:
        files = save_pages(sim, a.mailboxes, work)
        json_bytes = sum(f.stat().st_size for f in files)
        rep.say(f"# P3 command line: {a.mailboxes} sim mailboxes, {len(files)} pages, "
                f"{json_bytes / 1e6:.0f} MB of JSON received")
        rep.say(f"machine: {machine()}; {a.runs} rounds, tools in turn: {', '.join(tools)}")
        rep.say()
        runs = {t: [] for t in tools}
        for i in range(a.runs):
            for t in tools:
                r, out = one_run(t, sim, binary, py, work)
                if i == 0:
                    check_output(t, out, a.mailboxes)
                if out.exists():
                    out.unlink()
                runs[t].append(r)
                print(f"  round {i + 1} {t}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, "
                      f"{r['rss_mib']:.0f} MiB, sim {r['sim_cpu']:.2f} s CPU", flush=True)
        jq = [timed(["jq", "-c", ".value[]"] + files) for _ in range(a.runs)]

        def med(t, k):
            return median([r[k] for r in runs[t]])

        curl_wall = med("curl", "wall") if "curl" in runs else None
        rows = []
        for t in tools:
            wall = med(t, "wall")
            rows.append([
                t, f"{wall:.2f}", f"{wall / curl_wall:.2f}×" if curl_wall else "-",
                f"{med(t, 'cpu'):.2f}", f"{med(t, 'rss_mib'):.0f}",
                f"{med(t, 'rss_mib') * 1024 * 1024 / json_bytes:.3f}",
                f"{med(t, 'sim_cpu'):.2f}",
            ])
        rows.append(["jq -c '.value[]' (saved pages)", f"{median([r['wall'] for r in jq]):.2f}",
                     "-", f"{median([r['cpu'] for r in jq]):.2f}",
                     f"{median([r['rss_mib'] for r in jq]):.0f}", "-", "-"])
        rep.say(table(["tool", "wall s", "wall ÷ curl", "user+sys CPU s", "peak RSS MiB",
                       "RSS ÷ JSON bytes", "sim CPU s"], rows))
        rep.say()
        if "exo-json" in runs and "curl" in runs:
            floor = med("curl", "cpu") + median([r["cpu"] for r in jq])
            rep.say(f"exo-json CPU {med('exo-json', 'cpu'):.2f} s against curl + jq "
                    f"{floor:.2f} s ({med('exo-json', 'cpu') / floor:.2f}×)")
            per_round = median([j["wall"] / c["wall"] for j, c in zip(runs["exo-json"],
                                                                      runs["curl"])])
            rep.say(f"exo-json wall ÷ curl wall, median of the rounds' ratios: {per_round:.2f}×")
        if "exo-json" in runs and "python" in runs:
            rep.say(f"python requests ÷ exo-json wall: "
                    f"{med('python', 'wall') / med('exo-json', 'wall'):.2f}×")
        rep.say(f"\n(report kept in {rep.path.relative_to(ROOT)})")
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
