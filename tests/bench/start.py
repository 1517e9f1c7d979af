#!/usr/bin/env python3
"""P1, start-up (issue 11): time to first frame of the release `exo-connect` (plain, with an empty
config folder, and `--demo`) against an empty eframe window with the same eframe features
(`tests/bench/empty_window.rs`, built as `cargo build --release --example empty_window`), under
Xvfb, taking turns, medians of --runs rounds after one warm-up round.

"First frame": with EXO_CONNECT_EXIT_AFTER_FIRST_FRAME=1 both programs exit as their second frame
begins (the first one has been painted), so a process's wall time is its time to first frame.

    tests/bench/start.py [--runs 10]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, TARGET, Report, machine, median, release_binary, table, timed  # noqa: E402
from xvfb import Xvfb  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    binary = release_binary()
    empty = TARGET / "release" / "examples" / "empty_window"
    if not (os.environ.get("BENCH_NO_BUILD") == "1" and empty.exists()):
        subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "empty_window"],
                       cwd=ROOT, check=True)
    x = Xvfb()
    rep = Report("start")
    work = Path(tempfile.mkdtemp(prefix="p1-", dir=TARGET / "bench"))
    try:
        peers = {
            "empty eframe window": [empty],
            "exo-connect": [binary],
            "exo-connect --demo": [binary, "--demo"],
        }
        runs = {k: [] for k in peers}
        for i in range(a.runs + 1):
            for name, cmd in peers.items():
                home = Path(tempfile.mkdtemp(dir=work))
                env = x.env(EXO_CONNECT_EXIT_AFTER_FIRST_FRAME=1, EXO_CONNECT_HOME=home,
                            EXO_CONNECT_SECRETS="memory", EXO_CONNECT_NO_BROWSER=1)
                r = timed(cmd, env=env, timeout=60)
                shutil.rmtree(home)
                if i > 0:  # round 0 warms the caches (fonts, shaders, the binary's pages)
                    runs[name].append(r)
                    print(f"  round {i} {name}: {r['wall_outside']:.3f} s, {r['cpu']:.2f} s CPU",
                          flush=True)
        base = median([r["wall_outside"] for r in runs["empty eframe window"]])
        rows = []
        for name in peers:
            w = median([r["wall_outside"] for r in runs[name]])
            rows.append([name, f"{w:.3f}", f"{w / base:.2f}×",
                         f"{median([r['cpu'] for r in runs[name]]):.2f}",
                         f"{median([r['rss_mib'] for r in runs[name]]):.0f}"])
        rep.say(f"# P1 start-up: time to first frame under Xvfb, median of {a.runs} rounds")
        rep.say(f"machine: {machine()}")
        rep.say()
        rep.say(table(["program", "first frame s", "÷ empty window", "user+sys CPU s",
                       "peak RSS MiB"], rows))
        rep.say(f"\n(report kept in {rep.path.relative_to(ROOT)})")
    finally:
        x.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
