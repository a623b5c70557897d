"""Live Draw in headless Chromium: per-frame time, first reconstruction, bytes downloaded, server traffic per stroke.

    .venv/bin/python bench/livedraw.py [--strokes 20] [--site DIR]

Starts its own `streamlit run app.py` on 127.0.0.1 (or, with --site, serves an offline folder from
`python -m ae export --site DIR` with `python -m http.server`), opens the Draw page in a fresh browser profile and:
- counts the bytes a first-time visitor downloads (the network's encoded bytes, from Chromium's DevTools protocol),
  and what a second visit in the same profile downloads again;
- times the first reconstruction: from navigation start until the models are loaded, and until the first stroke
  (drawn as soon as the pad is ready) shows every model's MSE;
- draws --strokes strokes and reads the page's own performance marks: per frame, all Draw-page models plus the
  classifier (inference), and the whole frame (preprocessing + inference + drawing the results);
- counts the websocket messages the page sends to the server during the strokes (a rerun request is one).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import CHROMIUM, FLAGS, server  # noqa: E402

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


def visit(browser_context, url: str, frame_of, strokes: int) -> dict:
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
    rng = random.Random(0)
    stroke(page, frame, rng)
    frame.locator("[data-model][data-mse]").first.wait_for()
    first = time.perf_counter() - t0
    before = len(sent)
    frame.locator("#clear").click()
    for _ in range(strokes):
        stroke(page, frame, rng)
    time.sleep(0.5)
    live = frame.locator("body").evaluate(
        "() => { const l = window.__liveDraw; return {frames: l.frames, infer: l.infer, classify: l.classify}; }"
    )
    models = frame.locator("[data-model]").count()
    page.wait_for_timeout(1000)  # late responses count too
    reruns, fragments = page_reruns(sent[before:])
    result = {"ready_s": ready, "first_s": first, "bytes": traffic.total(), "largest": traffic.largest(),
              "kinds": traffic.by_kind(), "page_reruns": reruns, "fragment_reruns": fragments, "models": models,
              **live}  # fmt: skip
    page.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--site", type=Path, help="an offline folder (python -m ae export --site DIR) to serve")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.test_live_draw import static_server

    if args.site:
        where, frame_of = static_server(args.site), (lambda page: page)
    else:
        where, frame_of = server(), (lambda page: page.frame_locator(IFRAME))
    with where as started, sync_playwright() as p:
        url = started if isinstance(started, str) else started[0]
        url = f"{url}/index.html" if args.site else url
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})  # a fresh profile: empty cache
        first = visit(context, url, frame_of, args.strokes)
        again = visit(context, url, frame_of, 2)
        browser.close()
    report(first, again, args)
    return 0


def report(first: dict, again: dict, args) -> None:
    p50, p95, worst = quantiles(first["infer"])
    f50, f95, fworst = quantiles(first["frames"])
    print(f"mode: {'offline site' if args.site else 'app (streamlit)'}; {first['models']} models + the classifier")
    print(f"frames measured: {len(first['frames'])} over {args.strokes} strokes")
    print(f"per-frame inference (all models + classifier): p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms")
    print(f"per-frame total (preprocess + inference + drawing): p50 {f50:.1f} ms, p95 {f95:.1f} ms, max {fworst:.1f}")
    print(f"first visit: models ready {first['ready_s']:.2f} s, first reconstruction {first['first_s']:.2f} s")
    print(f"first visit downloaded {first['bytes'] / 1e6:.2f} MB; largest: " +
          ", ".join(f"{u} {b / 1e6:.2f} MB" for u, b in first["largest"]))  # fmt: skip
    print("  by kind: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(first["kinds"].items())))
    print(f"second visit: models ready {again['ready_s']:.2f} s, downloaded {again['bytes'] / 1e6:.3f} MB; largest: "
          + ", ".join(f"{u} {b / 1e3:.0f} kB" for u, b in again["largest"][:3]))  # fmt: skip
    c50, c95, _ = quantiles(first["classify"])
    print(f"  of which the classifier: p50 {c50:.1f} ms, p95 {c95:.1f} ms")
    print(
        f"page reruns asked of the server during {args.strokes} strokes: {first['page_reruns']} (and "
        f"{first['fragment_reruns']} runs of the sidebar's timed fragment, which runs drawing or not)"
    )
    if args.json:
        args.json.write_text(json.dumps({"first": first, "again": again}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
