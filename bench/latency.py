"""Interactive-loop latency, server-side compute only (no browser): one stroke on the Draw page, and the Compare table.

    .venv/bin/python bench/latency.py [--reps 200]

Draw: a 256x256 RGBA canvas with a white stroke goes through ``canvas_to_mnist`` and then everything the Draw page
computes per rerun (the selected model, every usable seed/matched model, the reference classifier's readings), with
models loaded once beforehand as ``st.cache_resource`` would; also every usable registry model (denoisers too), and
the display images; and the same strokes while another process keeps one core busy (as a Retrain does), with
torch's default threads and with one. Target: p95 < 20 ms.
Compare, cold: a fresh Python process imports, loads the data (decoded cache) and builds the app's table from
the shipped checkpoints (each loaded and hash-checked; quality as recorded in its sidecar), then measures the
same table again on the 10,000 test digits as ``python -m ae eval`` does. Target (the app's table): < 2 s.
Cached: a second ``AppTest`` run of pages/compare.py, when ``st.cache_data`` already holds the table. Target: 50 ms.
Timings are printed beside a 2048x2048 fp32 matmul timed in the same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DRAW_TARGET_S = 0.020
COLD_TABLE_TARGET_S = 2.0
CACHED_TARGET_S = 0.050
ANCHOR_N = 2048
_anchor_s = float("nan")  # set by anchor(); every figure is also printed in these units


def anchor() -> float:
    """Median seconds of one 2048x2048 fp32 matmul; also remembered so that figures can be printed in its units."""
    global _anchor_s
    import torch

    a, b = torch.randn(ANCHOR_N, ANCHOR_N), torch.randn(ANCHOR_N, ANCHOR_N)
    a @ b  # first call pays for thread-pool start-up
    times = []
    for _ in range(10):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    _anchor_s = statistics.median(times)
    return _anchor_s


def anchor_text(seconds: float) -> str:
    return f"anchor matmul {seconds * 1000:.1f} ms = {2 * ANCHOR_N**3 / seconds / 1e9:.0f} GFLOP/s"


def fig(seconds: float, target: float | None = None) -> str:
    """A timing with its size in anchor matmuls and, if it has one, its ratio to the target."""

    unit = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    out = f"{unit} ({seconds / _anchor_s:.1f} anchors"
    if target is None:
        return out + ")"
    goal = f"{target * 1000:g} ms" if target < 1 else f"{target:g} s"
    return out + f"; {seconds / target:.2f}x the {goal} target)"


def machine() -> str:
    import torch

    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"CPU {cpu}, {os.cpu_count()} logical cores, load average {load}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; Python {platform.python_version()}"
    )


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, max."""
    return statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[18], max(samples)


def timed(fn: Callable[[int], object], reps: int, warmup: int = 5) -> list[float]:
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


# --- draw ---------------------------------------------------------------------------------------------------------


def canvases() -> list:
    """Digits as the drawable canvas returns them: (CANVAS_SIZE, CANVAS_SIZE, 4) uint8, white freehand strokes on
    black."""
    import numpy as np
    from PIL import Image, ImageDraw

    from ae.data.preprocess import CANVAS_SIZE, CANVAS_STROKE

    strokes = [
        [[(70, 60), (210, 60), (120, 240)]],  # 7, as tests/test_browser.py draws it
        [[(140, 40), (140, 240)]],  # 1
        [[(80, 90), (110, 50), (170, 50), (200, 90), (190, 140), (80, 240), (210, 240)]],  # 2
        [[(170, 240), (170, 40), (70, 170), (220, 170)]],  # 4
        [[(140, 40), (90, 70), (75, 140), (90, 210), (140, 240), (190, 210), (205, 140), (190, 70), (140, 40)]],  # 0
    ]
    out = []
    for digit in strokes:
        img = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 255))
        pen = ImageDraw.Draw(img)
        for line in digit:
            pen.line(line, fill=(255, 255, 255, 255), width=CANVAS_STROKE, joint="curve")
        out.append(np.asarray(img))
    return out


def load_models() -> tuple[dict, object]:
    """Every registry model whose checkpoint loads (as ui.state.usable() decides), and the reference classifier."""
    from ae.storage import checkpoints
    from ae.storage.catalogue import CLASSIFIER, active_registry

    models = {}
    for name in active_registry():
        try:
            models[name] = checkpoints.load(name)[0]
        except checkpoints.CheckpointError as e:
            print(f"  {name}: not usable ({e.reason})")
    try:
        reader = checkpoints.load(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER})[0]
    except checkpoints.CheckpointError as e:
        print(f"  classifier: not usable ({e.reason}); the Draw page then shows no readings")
        reader = None
    return models, reader


def bench_draw(reps: int) -> None:
    import numpy as np
    from PIL import Image

    from ae.data.preprocess import canvas_to_mnist
    from ae.measure.classifier import read_digits
    from ae.measure.one_digit import reconstruct_all, reconstruct_digit
    from ae.storage.catalogue import active_registry
    from ui.images import enlarge, gray_rgb, heat

    t = time.perf_counter()
    models, reader = load_models()
    print(f"models loaded once (like st.cache_resource): {len(models)} + classifier, {fig(time.perf_counter() - t)}")
    groups = {n: s.group for n, s in active_registry().items()}
    page = {n: m for n, m in models.items() if groups[n] in ("seed", "matched")}  # the Draw page's set
    selected = next(iter(page))  # the model radio's default
    images = canvases()

    def draw_page(i: int) -> None:
        """What pages/draw.py computes for one stroke: preprocessing, then every model and the classifier's readings."""
        reconstruct_all(page, canvas_to_mnist(images[i % len(images)]), reader)

    def every_model(i: int) -> None:
        reconstruct_all(models, canvas_to_mnist(images[i % len(images)]), reader)

    def png(a: np.ndarray) -> int:
        """Roughly what st.image does with a float array before sending it: scale to uint8 and encode a PNG."""
        from io import BytesIO

        buf = BytesIO()
        Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
        return buf.tell()

    digit0 = canvas_to_mnist(images[0])
    recs = {n: reconstruct_digit(m, digit0) for n, m in page.items()}

    def display(_: int) -> None:
        """The Draw page's images for one stroke: input, selected reconstruction and error map, then the strip."""
        rec = recs[selected]
        png(enlarge(digit0)), png(enlarge(rec.image)), png(heat(rec.error))
        for r in recs.values():
            png(np.concatenate([gray_rgb(enlarge(r.image, 3)), heat(r.error, scale=3)], axis=0))

    reads = f" + the classifier's readings of {len(page) + 1} digits in one batch" if reader is not None else ""
    print(
        f"Draw page per stroke (ae.measure.one_digit.reconstruct_all): canvas_to_mnist + {len(page)} reconstructions "
        f"({', '.join(page)}){reads}, {reps} strokes after 5 warm-ups:"
    )
    p50, p95, mx = quantiles(timed(draw_page, reps))
    print(f"  p50 {fig(p50)}, p95 {fig(p95, DRAW_TARGET_S)}, max {fig(mx)}")

    p50, p95, mx = quantiles(timed(every_model, reps))
    print(f"every usable registry model ({len(models)}, denoisers too) and the readings of {len(models) + 1} digits:")
    print(f"  p50 {fig(p50)}, p95 {fig(p95, DRAW_TARGET_S)}, max {fig(mx)}")

    # Where the time goes: each step on its own (median of the same number of calls).
    parts = {"canvas_to_mnist": timed(lambda i: canvas_to_mnist(images[i % len(images)]), reps)}
    for n, m in models.items():
        parts[f"reconstruct {n}"] = timed(lambda _, m=m: reconstruct_digit(m, digit0), reps)
    if reader is not None:
        parts["one classifier reading"] = timed(lambda _: read_digits(reader, [digit0]), reps)
    parts["display images (not in the figures above)"] = timed(display, max(20, reps // 4))
    print("  medians per step: " + ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in parts.items()))

    # A classroom server is rarely idle: a Retrain, or another session's table, keeps a core busy. Torch's intra-op
    # threads then wait for each other at every op's barrier, so measure the same strokes beside one busy core: with
    # the app's setting (ae.measure.one_digit.INFERENCE_THREADS) and with torch's default thread count, in the same run.
    import torch

    import ae.models.batching

    app, reps_busy = ae.measure.one_digit.INFERENCE_THREADS, max(10, reps // 10)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for n in dict.fromkeys((app, torch.get_num_threads())):
            ae.measure.one_digit.INFERENCE_THREADS = n
            p50, p95, mx = quantiles(timed(draw_page, reps_busy, warmup=2))
            label = "the app's setting" if n == app else "torch's default"
            print(
                f"Draw page beside one busy core, {n} thread(s) ({label}), {reps_busy} strokes: p50 {fig(p50)}, "
                f"p95 {fig(p95, DRAW_TARGET_S)}, max {fig(mx)}"
            )
    finally:
        hog.kill()
        hog.wait()
        ae.measure.one_digit.INFERENCE_THREADS = app

    # A Retrain of conv-8 holds both cores (its recipe has two threads): the strokes beside a real one.
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [sys.executable, "-m", "ae", "train", "--model", "conv-8", "--checkpoints", scratch]
        retrain = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(8)  # start-up (imports, data, the first steps) takes about 3 s: by now it is training
            p50, p95, mx = quantiles(timed(draw_page, reps_busy * 2, warmup=2))
            print(
                f"Draw page beside a conv-8 retrain on two threads, {reps_busy * 2} strokes: p50 {fig(p50)}, "
                f"p95 {fig(p95, DRAW_TARGET_S)}, max {fig(mx)}"
            )
        finally:
            retrain.kill()
            retrain.wait()


# --- compare ------------------------------------------------------------------------------------------------------


def cold_table_child() -> None:
    """Runs in a fresh interpreter: prints the split of a cold comparison table as one JSON line."""
    t0 = time.perf_counter()
    import ae.measure.compare
    from ae.data.mnist import load_mnist
    from ae.measure import metrics
    from ae.storage import checkpoints

    t_import = time.perf_counter() - t0
    t = time.perf_counter()
    data = load_mnist()
    t_data = time.perf_counter() - t

    # comparison_table loads each checkpoint itself: time those calls, the evaluation and its SSIM from inside it.
    spent = {"load": 0.0, "evaluate": 0.0, "ssim": 0.0}
    per_model: dict[str, float] = {}
    current = [""]

    def clock(key: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            if key == "load":
                current[0] = args[0]
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += (dt := time.perf_counter() - t)
                if key == "evaluate":
                    per_model[current[0]] = dt

        return wrapper

    checkpoints.load = clock("load", checkpoints.load)
    ae.measure.compare.evaluate = clock("evaluate", getattr(ae.measure.compare, "evaluate", metrics.evaluate))
    metrics.ssim = clock("ssim", metrics.ssim)  # evaluate() looks it up in ae.measure.metrics at each call
    # What the app shows: the quality each sidecar recorded at training, under the weights hash load() checks.
    t = time.perf_counter()
    ae.measure.compare.comparison_table(data, measure=False)
    t_app = time.perf_counter() - t
    app_load = spent["load"]
    spent["load"] = 0.0
    # What `python -m ae eval` does: measure every model again on the 10,000 test digits.
    t = time.perf_counter()
    table = ae.measure.compare.comparison_table(data)
    t_table = time.perf_counter() - t
    usable = int(table["test MSE"].notna().sum())
    print(json.dumps({"import": t_import, "data": t_data, "app_table": t_app, "app_load": app_load, "table": t_table,
                      **spent, "per_model": per_model, "rows": len(table), "usable": usable,
                      "source": data.source}))  # fmt: skip


def bench_cold_table() -> None:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--cold-table-child"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - t
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    total = r["import"] + r["data"] + r["table"]
    rest = r["table"] - r["load"] - r["evaluate"]
    print(f"Compare table, cold, in a fresh process ({r['usable']} of {r['rows']} models usable, data {r['source']}):")
    print(f"  imports (ae.measure.compare, ae.data: torch, pandas, ...)  {fig(r['import'])}")
    print(f"  data load (decoded cache)                           {fig(r['data'])}")
    print(f"  the app's table (recorded quality), models loaded   {fig(r['app_table'])}, of which loading "
          f"{fig(r['app_load'])}")  # fmt: skip
    app_total = r["import"] + r["data"] + r["app_table"]
    print(f"  total for the app's table {fig(app_total, COLD_TABLE_TARGET_S)}")
    print("The same table measured again, as `python -m ae eval` does (same process, checkpoints already read once):")
    print(f"  model load (checkpoints.load, inside the table)     {fig(r['load'])}")
    print(f"  table compute (evaluate: MSE, PSNR, SSIM on 10k)    {fig(r['evaluate'])}, of which SSIM {fig(r['ssim'])}")
    slow = sorted(r["per_model"].items(), key=lambda kv: -kv[1])
    print("    evaluate per model: " + ", ".join(f"{n} {s:.2f} s" for n, s in slow))
    print(f"  table, the rest (building models, measuring codes)  {fig(rest)}")
    print(f"  total with imports and data {fig(total)}; the whole child process, both tables {fig(wall)}")


def _profile_script_thread():
    """Patch AppTest's script runner so that the next run is profiled in its own thread; returns the Profile."""
    import cProfile

    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    prof = cProfile.Profile()
    original = LocalScriptRunner._run_script_thread

    def run(self) -> None:
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()
            LocalScriptRunner._run_script_thread = original

    LocalScriptRunner._run_script_thread = run
    return prof


def page_breakdown(prof, page: str) -> list[tuple[str, float]]:
    """Seconds spent in each function the page's own top-level code calls (profiled, so inflated)."""
    import pstats

    stats = pstats.Stats(prof).stats  # {func: (cc, nc, tottime, cumtime, callers)}
    out: dict[str, float] = {}
    for (file, _, name), (*_, callers) in stats.items():
        for (cfile, _, cname), (_, _, _, ct) in callers.items():
            if cfile.endswith(page) and cname == "<module>":
                key = f"{name} ({Path(file).parent.name}/{Path(file).name})"
                out[key] = out.get(key, 0.0) + ct
    return sorted(out.items(), key=lambda kv: -kv[1])


def bench_cached_table(reruns: int = 5) -> None:
    from streamlit.logger import get_logger
    from streamlit.testing.v1 import AppTest

    # Quiet "missing ScriptRunContext" (AppTest's main thread, the bare calls below); a filter outlives config reloads.
    quiet = get_logger("streamlit.runtime.scriptrunner_utils.script_run_context")
    quiet.addFilter(lambda record: "missing ScriptRunContext" not in record.getMessage())

    page = "pages/compare.py"
    at = AppTest.from_file(str(ROOT / page), default_timeout=600)
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception:
        print(f"Compare page raised: {at.exception[0].value}")
        return
    runs = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        runs.append(time.perf_counter() - t)
    second, median = runs[0], statistics.median(runs)

    # AppTest's own cost: a rerun of a one-line script.
    bare = AppTest.from_string("import streamlit as st\nst.write('x')")
    bare.run()
    harness = statistics.median(timed(lambda _: bare.run(), 10, warmup=2))

    # The cached lookup alone: ui.state.table() outside the page hits the same process-wide st.cache_data entry.
    from ui import state

    lookups = timed(lambda _: state.table(), 20, warmup=1)
    lookup = statistics.median(lookups)
    prof = _profile_script_thread()
    at.run()
    parts = page_breakdown(prof, page)
    profiled = sum(s for _, s in parts)

    print(f"Compare page under AppTest: first run {fig(first)} (computes and caches the table);")
    print(f"  second run {fig(second, CACHED_TARGET_S)}; median of {reruns} reruns {fig(median, CACHED_TARGET_S)}")
    print(f"  AppTest harness alone (rerun of a one-line script) {fig(harness)}: {harness / median:.0%} of the rerun")
    verdict = "a cache hit" if lookup < 0.1 else "NOT a cache hit: it recomputed"
    print(f"  cached-function lookup, ui.state.table() alone ({verdict}) {fig(lookup, CACHED_TARGET_S)}")
    print(f"  so the page's own work is about {fig(max(median - harness - lookup, 0), CACHED_TARGET_S)}")
    print(f"  a profiled rerun ({profiled * 1000:.0f} ms inflated by the profiler), by the page's top-level calls:")
    print("    " + ", ".join(f"{k} {s * 1000:.0f} ms ({s / profiled:.0%})" for k, s in parts[:8] if s > 0.001))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="strokes timed in the draw loop")
    parser.add_argument("--cold-table-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_table_child:
        cold_table_child()
        return
    print(machine())
    print(f"start: {anchor_text(anchor())}")
    bench_draw(args.reps)
    bench_cold_table()
    bench_cached_table()
    before = _anchor_s
    print(f"end:   {anchor_text(anchor())} (start/end {before / _anchor_s:.2f}: the machine's drift during the run)")


if __name__ == "__main__":
    main()
