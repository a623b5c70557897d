"""Cold start: a fresh `streamlit run app.py` (127.0.0.1) to the first reconstruction on screen in headless Chromium.

    .venv/bin/python bench/startup.py [--runs 3]

Each run starts its own server; the clock starts when the process is spawned. It opens the root (Draw) page, draws a
stroke on the canvas with the mouse and waits for the MSE metric: the total and its split (server answers
/_stcore/health; page load, and within it the page title, shown once the page's imports are done; drawing; first
reconstruction) against the 10 s target. Then it opens the Compare page,
which loads the data and every registry model (the table on the 10,000 test digits, and each model for its
sidecar), and reads the server's memory from /proc (VmRSS, plus any child processes; and the peak, VmHWM) against
the 1.5 GiB target. The browser is started once, before the first run, and is not part of the time. Prints each run
and the median, beside a 2048x2048 fp32 matmul timed in the same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `bench` importable

from bench.latency import anchor, anchor_text, fig, machine
from bench.load import CANVAS, CHROMIUM, FLAGS, METRIC_JS, rss_mb, server, stroke

START_TARGET_S = 10.0
RSS_TARGET_MB = 1536.0  # 1.5 GiB, in the MiB that /proc reports
TIMEOUT_MS = 600_000  # the Compare page computes the table cold; bounded, but generous on a slow machine


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (streamlit itself starts none, but a retrain or a library might)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        found = kids.get(todo.pop(), [])
        out += found
        todo += found
    return out


def peak_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(pid: int) -> tuple[float, float, int]:
    """(VmRSS of the server and its descendants in MiB, the server's peak VmHWM, number of descendants)."""
    kids = children(pid)
    return rss_mb(pid) + sum(rss_mb(k) for k in kids), peak_mb(pid), len(kids)


async def cold_start(browser, run: int) -> dict:
    t0 = time.perf_counter()
    with server() as (url, _, pid):
        r: dict = {"health": time.perf_counter() - t0}
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            t = time.perf_counter()
            await page.goto(url)
            # The title comes after the page's imports (torch, pandas, ...): shell + imports, then the rest.
            await page.get_by_role("heading", name="Draw a digit").wait_for()
            r["title"] = time.perf_counter() - t
            await page.get_by_text("Draw a digit on the black square").wait_for()  # the script ran to its st.stop
            await page.locator(CANVAS).wait_for(state="visible")
            r["page"] = time.perf_counter() - t
            t = time.perf_counter()
            await stroke(page, random.Random(run))
            r["stroke"] = time.perf_counter() - t
            t = time.perf_counter()
            await page.wait_for_function(METRIC_JS, arg="", polling=20)
            r["first"] = time.perf_counter() - t
            r["total"] = time.perf_counter() - t0
            r["rss_draw"], _, _ = memory(pid)

            t = time.perf_counter()
            await page.get_by_role("link", name="Compare").click()
            await page.get_by_text("Why conv-8's code is").wait_for()  # shown after the table
            await page.get_by_test_id("stDataFrame").nth(1).wait_for()  # the page's last element
            r["compare"] = time.perf_counter() - t
            r["rss"], r["peak"], r["children"] = memory(pid)
            r["exceptions"] = await page.get_by_test_id("stException").count()
        finally:
            await context.close()
    return r


def report(label: str, r: dict) -> None:
    print(
        f"{label}: first reconstruction {fig(r['total'], START_TARGET_S)} after process start = server healthy "
        f"{r['health']:.2f} s + page load {r['page']:.2f} s (title after {r['title']:.2f} s) + drawing "
        f"{r['stroke']:.2f} s + stroke to MSE on screen {r['first']:.2f} s"
    )
    mem = f"{r['rss']:.0f} MB ({r['rss'] / RSS_TARGET_MB:.2f}x the {RSS_TARGET_MB:.0f} MB target)"
    print(
        f"  RSS after the first reconstruction {r['rss_draw']:.0f} MB; Compare page (data + every model) "
        f"{fig(r['compare'])}, then server RSS {mem}, {r['children']:.0f} child processes; peak VmHWM "
        f"{r['peak']:.0f} MB ({r['peak'] / RSS_TARGET_MB:.2f}x the target)"
        + (f"; {r['exceptions']:.0f} EXCEPTIONS on the page" if r["exceptions"] else "")
    )


async def main_async(runs: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        t = time.perf_counter()
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        print(f"Chromium started in {time.perf_counter() - t:.2f} s (not counted)")
        results = []
        for run in range(runs):
            results.append(await cold_start(browser, run))
            report(f"run {run + 1}", results[-1])
        await browser.close()
    if runs > 1:
        report(f"median of {runs}", {k: statistics.median(r[k] for r in results) for k in results[0]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts, each with a fresh server")
    args = parser.parse_args()
    print(machine())
    start = anchor()
    print(f"start: {anchor_text(start)}")
    asyncio.run(main_async(args.runs))
    end = anchor()
    print(f"end:   {anchor_text(end)} (start/end {start / end:.2f}: the machine's drift during the run)")


if __name__ == "__main__":
    main()
