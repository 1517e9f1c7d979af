"""An X server for the window benchmarks (tests/bench/start.py, idle.py): Xvfb on a free display,
1400×900, no window manager (like tests/system/ui_demo_xvfb.sh), plus small xdotool helpers."""

import os
import subprocess
import time
from pathlib import Path


class Xvfb:
    def __init__(self):
        n = 99
        while Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            n += 1
        self.display = f":{n}"
        self.p = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("Xvfb did not start (apt-get install xvfb)")

    def env(self, **extra):
        env = dict(os.environ, DISPLAY=self.display)
        env.pop("WAYLAND_DISPLAY", None)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def xdotool(self, *args, check=True):
        p = subprocess.run(["xdotool", *map(str, args)], env=self.env(), capture_output=True,
                           text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(map(str, args))}: {p.stderr}")
        return p.stdout.strip()

    def window(self, name, timeout=30):
        """The id of the first window whose name matches `name` (a regex)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            w = self.xdotool("search", "--name", name, check=False)
            if w:
                return w.splitlines()[0]
            time.sleep(0.1)
        raise RuntimeError(f"no window named {name}")

    def screenshot(self, path):
        subprocess.run(["import", "-window", "root", str(path)], env=self.env(), check=False)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait()
