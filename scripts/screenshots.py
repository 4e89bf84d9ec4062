#!/usr/bin/env python
"""Screenshots of a sweep's dashboards in a real browser: every TensorBoard tab, and the report.

    python scripts/screenshots.py <sweep dir> [--out DIR] [--port 6123] [--width 1600 --height 1300]

Starts ``tensorboard --logdir <sweep dir>`` on 127.0.0.1, waits until it serves the runs, and
saves a PNG of each tab (TIME SERIES, SCALARS, CUSTOM SCALARS, HPARAMS, IMAGES, PROJECTOR) and of
``report.html`` with headless Chromium (Debian's ``chromium`` package: ``apt-get install
chromium``), then stops the server. Look at them: they are what a user sees first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TABS = ("timeseries", "scalars", "custom_scalars", "hparams", "images", "projector")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_runs(base: str, timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/data/runs", timeout=5) as response:
                runs = json.loads(response.read())
            if runs:
                return runs
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"tensorboard at {base} served no runs within {timeout:.0f} s")


def shoot(browser: str, url: str, out: Path, width: int, height: int, budget_ms: int) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={out}",
                url,
            ],
            capture_output=True,
            timeout=180,
            check=False,
        )
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot of {url}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for the PNGs (default: <sweep dir>/screens)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1300)
    parser.add_argument("--budget-ms", type=int, default=20000, help="virtual time for the page to render")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("Error: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    out = args.out or args.sweep_dir / "screens"
    out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "tensorboard"),
            "--logdir",
            str(args.sweep_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        runs = wait_for_runs(base)
        print(f"tensorboard on {base}: {len(runs)} runs")
        for tab in TABS:
            path = shoot(browser, f"{base}/#{tab}", out / f"tb_{tab}.png", args.width, args.height, args.budget_ms)
            print(f"  {path}")
        report = args.sweep_dir / "report.html"
        if report.exists():
            print(
                f"  {shoot(browser, report.resolve().as_uri(), out / 'report.png', args.width, 3 * args.height, 5000)}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
