"""How many drawing students one server holds: server CPU seconds per student-minute, live mode vs server mode.

    .venv/bin/python bench/capacity.py [--students 4] [--seconds 60]

For each mode it starts its own `streamlit run app.py` on 127.0.0.1, opens N Draw pages in headless Chromium (in
server mode the pages switch "Compute on the server" on), waits until every page is ready, then lets every simulated
student draw without stopping for --seconds: a stroke of about 0.6 s (pointer moves every 50 ms), a pause of 0.8 s,
Clear after every 4 strokes. It reads the server process's own CPU counters (utime + stime in /proc/<pid>/stat)
before and after, so the figure is the server's work, whatever the browsers (which share the machine here) cost.
Capacity = how many students keep the server at or below 50% of its 2 cores: 0.5 x 2 x 60 s / (CPU s per
student-minute). Latencies are not used: with the browsers on the server's own cores they say little.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.livedraw import IFRAME, page_reruns  # noqa: E402
from bench.load import CANVAS, CHROMIUM, FLAGS, server  # noqa: E402

CORES = 2
BUDGET = 0.5  # of the cores


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def open_student(browser, url: str, mode: str, sent: list):
    context = await browser.new_context(viewport={"width": 1300, "height": 950})
    page = await context.new_page()
    page.set_default_timeout(180_000)
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    await page.goto(url)
    if mode == "server":
        await page.get_by_text("Compute on the server").click()
        await page.locator(CANVAS).wait_for()
        return page, page.locator(CANVAS), page.get_by_role("button", name="Clear")
    frame = page.frame_locator(IFRAME)
    await frame.locator("#status").filter(has_text="running in your browser").wait_for()
    return page, frame.locator("#pad"), frame.locator("#clear")


async def draw(page, pad, clear, seed: int, deadline: float) -> int:
    rng, strokes = random.Random(seed), 0
    while time.monotonic() < deadline:
        box = await pad.bounding_box()
        if box is None:  # the server-mode canvas is replaced by Clear: wait for the new one
            await pad.wait_for()
            continue
        pts = [(rng.uniform(0.15, 0.85) * box["width"], rng.uniform(0.15, 0.85) * box["height"]) for _ in range(4)]
        await page.mouse.move(box["x"] + pts[0][0], box["y"] + pts[0][1])
        await page.mouse.down()
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            for i in range(1, 5):  # 12 moves, 50 ms apart: a stroke of about 0.6 s
                await page.mouse.move(box["x"] + x0 + (x1 - x0) * i / 4, box["y"] + y0 + (y1 - y0) * i / 4)
                await asyncio.sleep(0.05)
        await page.mouse.up()
        strokes += 1
        await asyncio.sleep(0.8)
        if strokes % 4 == 0:
            await clear.click()
    return strokes


async def measure(mode: str, students: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    sent: list = []
    with server() as (url, _, pid):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            pages = await asyncio.gather(*(open_student(browser, url, mode, sent) for _ in range(students)))
            await asyncio.sleep(3)  # page loads settle; they are not part of drawing
            before, mark, t0 = cpu_seconds(pid), len(sent), time.monotonic()
            strokes = await asyncio.gather(*(draw(*pg, i, t0 + seconds) for i, pg in enumerate(pages)))
            cpu, wall = cpu_seconds(pid) - before, time.monotonic() - t0
            reruns, fragments = page_reruns(sent[mark:])
            await browser.close()
    minutes = students * wall / 60
    return {"mode": mode, "cpu_s": cpu, "student_minutes": minutes, "cpu_per_student_minute": cpu / minutes,
            "strokes": sum(strokes), "page_reruns": reruns, "fragment_reruns": fragments}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mode", choices=["live", "server"], action="append", help="default: both")
    args = parser.parse_args()
    rows = [asyncio.run(measure(mode, args.students, args.seconds)) for mode in args.mode or ["live", "server"]]
    print(f"{args.students} students drawing for {args.seconds:.0f} s, server on 127.0.0.1 (2 cores, shared)")
    for r in rows:
        per = r["cpu_per_student_minute"]
        holds = CORES * BUDGET * 60 / per if per > 0 else float("inf")
        print(f"{r['mode']:>6}: server CPU {r['cpu_s']:.2f} s over {r['student_minutes']:.1f} student-minutes = "
              f"{per:.3f} CPU s per student-minute; {r['strokes']} strokes, {r['page_reruns']} page reruns, "
              f"{r['fragment_reruns']} timed-fragment runs; holds {holds:.0f} students at <= 50% CPU")  # fmt: skip
    if len(rows) == 2 and rows[0]["cpu_per_student_minute"] > 0:
        print(f"live mode holds {rows[1]['cpu_per_student_minute'] / rows[0]['cpu_per_student_minute']:.0f}x as many")
    return 0


if __name__ == "__main__":
    sys.exit(main())
