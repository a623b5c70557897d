"""Live Draw in headless Chromium: per-frame time, first reconstruction, bytes downloaded, server traffic per stroke.

    .venv/bin/python bench/livedraw.py [--strokes 20] [--site DIR]

Starts its own `streamlit run app.py` on 127.0.0.1 (or, with --site, serves an offline folder from
`python -m ae export --site DIR` with `python -m http.server`), opens the Draw page in a fresh browser profile and:
- counts the bytes a first-time visitor downloads (the network's encoded bytes, from Chromium's DevTools protocol)
  for the default view and after "Show every model", and what a second visit in the same profile downloads again;
- times the default view: from navigation start until the pad is ready (its models loaded), and until the first
  stroke (drawn as soon as the pad is ready) shows a reconstruction; the app runs on a just-started server with an
  empty workspace;
- draws --strokes strokes in the default view and again with every model shown, and reads the page's own figures:
  per frame, the models shown plus the classifier (inference), and the whole frame (preprocessing + inference +
  drawing the results);
- counts the websocket messages the page sends to the server during the strokes (a rerun request is one).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import CHROMIUM, FLAGS, free_port, server  # noqa: E402

HAPROXY = "/usr/sbin/haproxy"

IFRAME = 'iframe[title*="live_draw"]'


def page_reruns(payloads: list) -> tuple[int, int]:
    """(page reruns, fragment reruns) among websocket messages a page sent to Streamlit. A fragment rerun is the
    sidebar's timed progress fragment, which every open page asks for on its own clock, drawing or not."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    page = fragment = 0
    for payload in payloads:
        msg = BackMsg()
        try:
            msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        except Exception:  # not a BackMsg: not a rerun either
            continue
        if msg.WhichOneof("type") == "rerun_script":
            if msg.rerun_script.fragment_id:
                fragment += 1
            else:
                page += 1
    return page, fragment


def quantiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), q[18], max(values)


class Traffic:
    """Encoded bytes per URL, from the DevTools protocol (what crossed the network, after compression)."""

    def __init__(self, page) -> None:
        self.urls: dict[str, str] = {}
        self.bytes: dict[str, int] = {}
        self.cached: set[str] = set()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))

    def _finished(self, e: dict) -> None:
        self.bytes[e["requestId"]] = int(e.get("encodedDataLength", 0))

    def total(self) -> int:
        return sum(self.bytes.values())

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for k, v in self.bytes.items():
            url = self.urls.get(k, "")
            kind = "models" if "/models/" in url else "onnxruntime-web" if "/ort-" in url else (
                "streamlit" if "/static/" in url or url.rstrip("/").count("/") <= 2 else "other")  # fmt: skip
            kinds[kind] = kinds.get(kind, 0) + v
        return kinds

    def largest(self, n: int = 5) -> list[tuple[str, int]]:
        per = sorted(((self.urls.get(k, "?"), v) for k, v in self.bytes.items()), key=lambda t: -t[1])
        return [(u.split("?")[0].rsplit("/", 1)[-1], v) for u, v in per[:n]]


def stroke(page, frame, rng: random.Random) -> None:
    box = frame.locator("#pad").bounding_box()
    s = box["width"] / 256
    pts = [(rng.uniform(40, 216), rng.uniform(40, 216)) for _ in range(4)]
    page.mouse.move(box["x"] + pts[0][0] * s, box["y"] + pts[0][1] * s)
    page.mouse.down()
    for x, y in pts[1:]:
        page.mouse.move(box["x"] + x * s, box["y"] + y * s, steps=15)
    page.mouse.up()


FRAMES_JS = (
    "() => { const l = window.__liveDraw; const r = {frames: l.frames, infer: l.infer, classify: l.classify, "
    "engines: l.engines}; l.frames = []; l.infer = []; l.classify = []; return r; }"
)


def draw(page, frame, strokes: int, rng: random.Random) -> dict:
    """``strokes`` strokes; the page's per-frame figures over them (and the counters are reset)."""
    frame.locator("#clear").click()
    frame.locator("body").evaluate(FRAMES_JS)
    for _ in range(strokes):
        stroke(page, frame, rng)
    time.sleep(0.5)
    return frame.locator("body").evaluate(FRAMES_JS)


def visit(browser_context, url: str, frame_of, strokes: int) -> dict:
    """One visit: the default view (ready, first reconstruction, bytes, frames), then every model shown."""
    page = browser_context.new_page()
    page.set_default_timeout(180_000)
    traffic = Traffic(page)
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    t0 = time.perf_counter()
    page.goto(url)
    frame = frame_of(page)
    frame.locator("#status").filter(has_text="running in your browser").wait_for()
    ready = time.perf_counter() - t0
    # The page's own load event (Streamlit's frontend loaded), in seconds from navigation start.
    loaded = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd / 1000")
    rng = random.Random(0)
    stroke(page, frame, rng)
    frame.locator("[data-model][data-mse]").first.wait_for()
    first = time.perf_counter() - t0
    page.wait_for_timeout(1000)  # late responses count too
    shown, default_bytes, default_kinds = frame.locator("[data-model]").count(), traffic.total(), traffic.by_kind()
    before = len(sent)
    default = draw(page, frame, strokes, rng)
    reruns, fragments = page_reruns(sent[before:])
    every = {"frames": [], "infer": [], "classify": [], "engines": {}}
    if frame.locator("#more").is_visible():
        frame.locator("#more").click()
        frame.locator("#status").filter(has_text="running in your browser").wait_for()
        every = draw(page, frame, strokes, rng)
    page.wait_for_timeout(1000)
    result = {"ready_s": ready, "loaded_s": loaded, "first_s": first, "bytes": default_bytes, "kinds": default_kinds,
              "shown": shown,
              "all_bytes": traffic.total(), "largest": traffic.largest(), "all_kinds": traffic.by_kind(),
              "models": frame.locator("[data-model]").count(), "page_reruns": reruns, "fragment_reruns": fragments,
              "default": default, "every": every}  # fmt: skip
    page.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--site", type=Path, help="an offline folder (python -m ae export --site DIR) to serve")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--balancer", action="store_true", help="visit through deploy/haproxy.cfg (gzip on), as a class would"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.test_live_draw import static_server

    if args.site:
        where, frame_of = static_server(args.site), (lambda page: page)
    else:  # a just-started server with an empty workspace: what a teacher meets at the start of a lesson
        os.environ["AELAB_HOME"] = tempfile.mkdtemp(prefix="aelab-livedraw-")
        where = balanced() if args.balancer else server()
        frame_of = lambda page: page.frame_locator(IFRAME)  # noqa: E731
    with where as started, sync_playwright() as p:
        url = started if isinstance(started, str) else started[0]
        args.health_s = None if isinstance(started, str) else started[1]
        url = f"{url}/index.html" if args.site else url
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})  # a fresh profile: empty cache
        first = visit(context, url, frame_of, args.strokes)
        again = visit(context, url, frame_of, 2)
        # Another student's first visit, now that the server has served a page: a fresh profile, a warm server.
        other = browser.new_context(viewport={"width": 1400, "height": 1000})
        warm = visit(other, url, frame_of, 2)
        browser.close()
    report(first, again, warm, args)
    return 0


def frames_line(label: str, run: dict) -> str:
    if len(run["frames"]) < 2:
        return f"{label}: no frames"
    p50, p95, worst = quantiles(run["infer"])
    f50, f95, fworst = quantiles(run["frames"])
    c50, c95, _ = quantiles(run["classify"]) if len(run["classify"]) > 1 else (0, 0, 0)
    return (
        f"{label}: {len(run['frames'])} frames; inference p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f}; "
        f"whole frame p50 {f50:.1f} ms, p95 {f95:.1f} ms, max {fworst:.1f}; classifier p50 {c50:.1f}, "
        f"p95 {c95:.1f} ms; graphs run by {run['engines']}"
    )


def report(first: dict, again: dict, warm: dict, args) -> None:
    kinds = lambda k: ", ".join(f"{n} {v / 1e6:.3f} MB" for n, v in sorted(k.items()))  # noqa: E731
    mode = "offline site" if args.site else "app (streamlit), empty workspace" + (", behind HAProxy" * args.balancer)
    print(f"CPU: {cpu_model()}; mode: {mode}")
    if args.health_s is not None:  # the server's warm-up (ui/warmup.py) happens before it answers
        print(f"server started to its first health answer: {args.health_s:.2f} s")
    after = first["ready_s"] - first["loaded_s"]
    print(f"first visit, default view ({first['shown']} models + the classifier): page loaded "
          f"{first['loaded_s']:.2f} s, pad ready {first['ready_s']:.2f} s ({after:.2f} s after the load event), "
          f"first reconstruction {first['first_s']:.2f} s, downloaded {first['bytes'] / 1e6:.3f} MB")  # fmt: skip
    print(f"  by kind: {kinds(first['kinds'])}")
    print(f"first visit, every model shown ({first['models']}): downloaded {first['all_bytes'] / 1e6:.3f} MB in all")
    print(f"  by kind: {kinds(first['all_kinds'])}")
    print("  largest: " + ", ".join(f"{u} {b / 1e6:.3f} MB" for u, b in first["largest"]))
    print(frames_line(f"default view, {args.strokes} strokes", first["default"]))
    print(frames_line(f"every model, {args.strokes} strokes", first["every"]))
    print(f"second visit: pad ready {again['ready_s']:.2f} s, downloaded {again['bytes'] / 1e3:.1f} kB (default view); "
          "largest: " + ", ".join(f"{u} {b / 1e3:.1f} kB" for u, b in again["largest"][:3]))  # fmt: skip
    print(f"another student's first visit (fresh profile, warm server): pad ready {warm['ready_s']:.2f} s, first "
          f"reconstruction {warm['first_s']:.2f} s, downloaded {warm['bytes'] / 1e6:.3f} MB")  # fmt: skip
    print(f"page reruns asked of the server during {args.strokes} strokes: {first['page_reruns']} (and "
          f"{first['fragment_reruns']} runs of the sidebar's timed fragment, which runs drawing or not)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"first": first, "again": again, "warm": warm}, indent=1))


@contextmanager
def balanced():
    """A server behind HAProxy with deploy/haproxy.cfg (both replica slots on the one server); yields its URL."""
    port = free_port()
    with server() as (url, health, pid):
        app = url.removeprefix("http://")
        env = {**os.environ, "AELAB_LISTEN": f"127.0.0.1:{port}", "AELAB_APP1": app, "AELAB_APP2": app}
        proc = subprocess.Popen([HAPROXY, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("haproxy did not start") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", health, pid
        finally:
            proc.terminate()
            proc.wait(10)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
