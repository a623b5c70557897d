"""Load test: N concurrent browser sessions drawing digits on one aelab server, on 127.0.0.1 only.

    .venv/bin/python bench/load.py --sessions 20 --digits 5

Starts its own server on a free loopback port, opens N pages in headless Chromium (one browser, N isolated
contexts = N Streamlit sessions), and in each draws D digits one after another. For every stroke it measures the
time from mouse-up to the new MSE on screen. Prints p50/p95/max and any errors. Bounded: N x D strokes, each
with a 60 s timeout, then it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CANVAS = '[data-testid="stBidiComponentIsolated"] canvas.upper-canvas'
METRIC_JS = """prev => {
  const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find(e => e.innerText.includes('MSE'));
  const v = m && m.querySelector('[data-testid="stMetricValue"]');
  return v && v.innerText !== prev ? v.innerText : false;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(port: int | None = None, log: Path | None = None):
    """A `streamlit run app.py` on 127.0.0.1; yields (url, seconds it took to answer /_stcore/health, pid). Its
    stderr goes to ``log`` when given (a test reads it), else nowhere."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    err = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 60:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.1)
        yield url, time.perf_counter() - t0, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            err.close()


async def stroke(page, rng: random.Random) -> None:
    box = await page.locator(CANVAS).bounding_box()
    x, y = box["x"], box["y"]
    points = [(rng.uniform(50, 230), rng.uniform(40, 240)) for _ in range(3)]
    await page.mouse.move(x + points[0][0], y + points[0][1])
    await page.mouse.down()
    for px, py in points[1:]:
        await page.mouse.move(x + px, y + py, steps=8)
    await page.mouse.up()


async def session(browser, url: str, digits: int, seed: int, delay: float, latencies: list, errors: list) -> None:
    await asyncio.sleep(delay)  # students open the page over a few seconds, not in the same millisecond
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    rng = random.Random(seed)
    try:
        await page.goto(url, timeout=120_000)
        await page.locator(CANVAS).wait_for(timeout=120_000)
        prev = ""
        for _ in range(digits):
            await stroke(page, rng)
            t0 = time.perf_counter()
            handle = await page.wait_for_function(METRIC_JS, arg=prev, timeout=60_000, polling=20)
            latencies.append(time.perf_counter() - t0)
            prev = await handle.json_value()
            if await page.get_by_test_id("stException").count():
                errors.append(f"session {seed}: exception on the page")
    except Exception as e:  # every failure is counted and reported
        errors.append(f"session {seed}: {type(e).__name__}: {e}")
    finally:
        await context.close()


async def run_load(url: str, sessions: int, digits: int, ramp: float = 0.5) -> dict:
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        t0 = time.perf_counter()
        await asyncio.gather(*(session(browser, url, digits, i, i * ramp, latencies, errors) for i in range(sessions)))
        wall = time.perf_counter() - t0
        await browser.close()
    q = statistics.quantiles(latencies, n=20, method="inclusive") if len(latencies) >= 2 else latencies * 19
    return {
        "sessions": sessions, "strokes": len(latencies), "errors": errors, "wall_s": wall,
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p95_s": q[18] if latencies else float("nan"), "max_s": max(latencies, default=float("nan")),
    }  # fmt: skip


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--digits", type=int, default=5, help="digits drawn by each session")
    parser.add_argument("--ramp", type=float, default=0.5, help="seconds between sessions opening the page")
    args = parser.parse_args()
    with server() as (url, started, pid):
        print(f"server healthy after {started:.1f} s at {url}")
        r = asyncio.run(run_load(url, args.sessions, args.digits, args.ramp))
        ms = {k: f"{r[k] * 1000:.0f} ms" for k in ("p50_s", "p95_s", "max_s")}
        print(
            f"{r['sessions']} sessions, {r['strokes']} strokes in {r['wall_s']:.1f} s; stroke end -> reconstruction "
            f"on screen: p50 {ms['p50_s']}, p95 {ms['p95_s']}, max {ms['max_s']}; server RSS {rss_mb(pid):.0f} MB; "
            f"server CPU {cpu_seconds(pid):.1f} s of {r['wall_s'] * os.cpu_count():.0f} core-s; "
            f"errors: {len(r['errors'])}"
        )
        for e in r["errors"]:
            print("  " + e)


if __name__ == "__main__":
    main()
