"""Live Draw in real headless Chromium: the models run in the page (its own ONNX interpreter) while the pen moves.

In the app (the Draw page's default), with the mouse and with touch input on an emulated phone; a model retrained
in the app reaches the browser under its new weights hash; and the JavaScript port of the MNIST preprocessing
agrees with ``ae.data.preprocess.canvas_to_mnist`` on 30 recorded stroke sets (tests/data/strokes.json).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from bench.livedraw import page_reruns
from bench.load import CHROMIUM, FLAGS, free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
STROKES = Path(__file__).parent / "data" / "strokes.json"
PAD = "#pad"
# A 7 on the 256-pixel pad: the bar, then the stem down to the lower left.
SEVEN = [[(70, 60), (210, 60), (120, 240)]]
LETTER_M = [[(50, 220), (60, 40), (128, 160), (196, 40), (206, 220)]]  # a capital M: no digit looks like it

pytestmark = [pytest.mark.slow, pytest.mark.browser]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


def draw_live(page, frame, strokes=SEVEN, lift: bool = True, steps: int = 10) -> None:
    """Draw ``strokes`` (lists of pad points) with the mouse; the pad is in ``frame`` (a page or a frame locator).
    With ``lift`` false the pen stays down after the last point."""
    box = frame.locator(PAD).bounding_box()
    sx, sy = box["width"] / 256, box["height"] / 256
    for n, stroke in enumerate(strokes):
        (x, y), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sy)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=steps)
        if lift or n < len(strokes) - 1:
            page.mouse.up()


def wait_for_live(frame, timeout: float = 60_000) -> None:
    """Until the component has loaded its models (window.__liveDraw.ready) or said why it cannot."""
    frame.locator("#status").filter(has_text="running in your browser").wait_for(timeout=timeout)


def read_results(frame) -> tuple[str, dict[str, float]]:
    """The input's reading and each model's MSE, by the test contract's attributes."""
    reads = frame.locator("[data-reads]").first.get_attribute("data-reads")
    tiles = frame.locator("[data-model][data-mse]")
    mses = {tiles.nth(i).get_attribute("data-model"): float(tiles.nth(i).get_attribute("data-mse"))
            for i in range(tiles.count())}  # fmt: skip
    return reads, mses


def expect_seven(frame, models: int, timeout: float = 30_000) -> tuple[str, dict[str, float]]:
    frame.locator('[data-reads="7"]').wait_for(timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while True:
        reads, mses = read_results(frame)
        if len(mses) >= models or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert reads == "7"
    assert len(mses) == models, mses
    assert all(0 < v < 0.2 for v in mses.values()), mses
    return reads, mses


@contextmanager
def static_server(folder: Path):
    """``python -m http.server`` on 127.0.0.1 serving ``folder``; yields its URL; stopped by its PID."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("http.server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


# --- preprocessing parity: the JavaScript port against ae.data.preprocess, on recorded strokes ----------------------


def test_js_preprocessing_matches_python_on_recorded_strokes(tmp_path):
    """Each stroke set is drawn on the page's own pad; the page's 28x28 digit and the canvas pixels come back; Python
    preprocesses the same pixels. Mean abs pixel difference <= 0.02 and the same classifier reading."""
    from playwright.sync_api import sync_playwright

    from ae.data.preprocess import canvas_to_mnist
    from ae.measure.classifier import read_digits
    from ae.storage import checkpoints
    from ae.storage.catalogue import CLASSIFIER

    sets = json.loads(STROKES.read_text())
    assert len(sets) == 30
    reader = checkpoints.load(CLASSIFIER.name, checkpoints.SHIPPED_DIR, {CLASSIFIER.name: CLASSIFIER})[0]
    worst, readings = 0.0, []
    with sync_playwright() as p, static_server(ROOT / "components" / "live_draw") as url:
        browser = launch(p)
        page = browser.new_page()
        page.goto(f"{url}/index.html")  # the component's own folder: no manifest, so the pad and preprocessing alone
        page.wait_for_function("window.__liveDraw !== undefined")
        for strokes in sets:
            got = page.evaluate(PARITY_JS, strokes)
            rgba = np.frombuffer(base64.b64decode(got["rgba"]), dtype=np.uint8).reshape(256, 256, 4)
            ref = canvas_to_mnist(rgba)
            js = np.asarray(got["digit"], dtype=np.float32).reshape(28, 28)
            diff = float(np.abs(js - ref).mean())
            worst = max(worst, diff)
            (d_js, d_py), _ = read_digits(reader, [js, ref])
            readings.append((d_js, d_py))
        browser.close()
    print(f"\nworst mean abs pixel difference over {len(sets)} stroke sets: {worst:.2e}")
    assert worst <= 0.02
    assert all(a == b for a, b in readings), readings


# Draws the strokes with the page's own painter, then returns its canvas pixels and its preprocessed digit.
PARITY_JS = """async strokes => {
  const { canvasToMnist } = await import('./preprocess.js');
  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d');
  window.__liveDraw.setStrokes(strokes);
  const img = ctx.getImageData(0, 0, 256, 256);
  let bin = '';
  for (let i = 0; i < img.data.length; i += 8192) bin += String.fromCharCode(...img.data.subarray(i, i + 8192));
  return { rgba: btoa(bin), digit: Array.from(canvasToMnist(img)) };  // base64: a plain array took seconds
}"""


# --- in the app -------------------------------------------------------------------------------------------------

LIVE_REGISTRY = "tests.live_models:REGISTRY"
IFRAME = 'iframe[title*="live_draw"]'


@pytest.fixture(scope="module")
def live_server(session_workspace):
    from bench.load import server
    from tests.live_models import REGISTRY

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AELAB_REGISTRY", LIVE_REGISTRY)
        mp.setenv("AELAB_LIVE_DRAW", "1")  # whatever the suite's default: this server serves live mode
        mp.setenv("AELAB_HOME", str(session_workspace))
        with server() as (url, _, _pid):
            yield url, session_workspace, len(REGISTRY)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def open_live(browser, url: str):
    """A new page on the app's Draw page, once its live pad is ready: (page, the pad's frame)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    frame = page.frame_locator(IFRAME)
    wait_for_live(frame, timeout=120_000)
    return page, frame


def test_the_default_view_fetches_only_the_models_it_shows(live_server, browser):
    """linear-32 (a seed model) is on the strip at once; conv-1 waits behind "Show every model", its files unfetched."""
    url, _, models = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    fetched = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(url)
    frame = page.frame_locator(IFRAME)
    wait_for_live(frame, timeout=120_000)
    assert frame.locator("[data-model]").count() == 1
    assert "conv-1" in frame.locator("#more-list").inner_text()  # named on the page, fetched on demand
    assert not any("conv-1" in u for u in fetched) and not any("/ort-" in u for u in fetched), fetched
    frame.get_by_role("button", name="Show every model").click()
    draw_live(page, frame)
    expect_seven(frame, models)
    assert any("conv-1" in u for u in fetched)
    assert frame.locator("body").evaluate("() => window.__liveDraw.engines.ort") == 0  # no onnxruntime-web needed
    page.close()


def test_mouse_drawing_reconstructs_with_every_model_before_the_pen_lifts(live_server, browser):
    url, _, models = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(url)
    frame = page.frame_locator(IFRAME)
    wait_for_live(frame, timeout=120_000)
    frame.get_by_role("button", name="Show every model").click()
    wait_for_live(frame)
    before = len(sent)
    draw_live(page, frame, lift=False)
    _, mses = expect_seven(frame, models)  # the pen is still down
    assert page_reruns(sent[before:])[0] == 0, "the page asked the server for a rerun during the stroke"
    page.mouse.up()
    page.screenshot(path=ARTIFACTS / "live-draw.png", full_page=True)
    # The server's path on the same 28x28 input: "Use in the lab" hands it over, the page computes it there too.
    frame.get_by_role("button", name="Use in the lab").click()
    server_mse = page.get_by_test_id("stMetric").filter(has_text="MSE (linear-32)").get_by_test_id("stMetricValue")
    assert abs(float(server_mse.inner_text()) - mses["linear-32"]) <= 1e-4
    # How familiar: the pad places the seven among linear-32's test errors, as the server does; an M is unfamiliar.
    said = frame.locator("#familiar")
    assert said.get_attribute("data-kind") in ("familiar", "unusual"), said.inner_text()
    assert said.inner_text().startswith("How familiar is this to linear-32? ") and "test digits" in said.inner_text()
    assert page.get_by_text("How familiar is this to linear-32?").count() == 1  # the server's sentence
    frame.get_by_role("button", name="Clear").click()
    draw_live(page, frame, strokes=LETTER_M)
    frame.locator('#familiar[data-kind="unfamiliar"]').wait_for(timeout=30_000)
    page.close()


def test_touch_drawing_on_a_phone(live_server, browser):
    url, _, models = live_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2)  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    frame = page.frame_locator(IFRAME)
    wait_for_live(frame, timeout=120_000)
    frame.locator("#more").dispatch_event("click")  # a tap would scroll the pad under Streamlit's header
    frame.locator(PAD).scroll_into_view_if_needed()
    scrolled = page.evaluate("() => [...document.querySelectorAll('*')].map(e => e.scrollTop).reduce((a, b) => a + b)")
    touch_stroke(page, frame, SEVEN[0], end=False)
    expect_seven(frame, models)  # the finger is still on the glass
    after = page.evaluate("() => [...document.querySelectorAll('*')].map(e => e.scrollTop).reduce((a, b) => a + b)")
    assert after == scrolled, "drawing scrolled the page"
    touch_end(page)
    page.screenshot(path=ARTIFACTS / "live-draw-phone.png", full_page=True)
    context.close()


def touch_stroke(page, frame, points, end: bool = True, steps: int = 10) -> None:
    """One finger along ``points`` (pad pixels), through Chromium's touch input (DevTools protocol)."""
    box = frame.locator(PAD).bounding_box()
    sx, sy = box["width"] / 256, box["height"] / 256
    cdp = page.context.new_cdp_session(page)
    page._aelab_cdp = cdp
    at = [(box["x"] + x * sx, box["y"] + y * sy) for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": at[0][0], "y": at[0][1]}]})
    for (x0, y0), (x1, y1) in itertools.pairwise(at):
        for i in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    if end:
        touch_end(page)


def touch_end(page) -> None:
    page._aelab_cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_retrained_model_reaches_the_browser_under_its_new_hash(live_server, browser):
    import torch

    from ae.storage import checkpoints
    from tests.live_models import REGISTRY

    url, home, _ = live_server
    page, frame = open_live(browser, url)
    tile = frame.locator('[data-model="linear-32"]')
    old = tile.get_attribute("data-hash")
    model, _ = checkpoints.load("linear-32", checkpoints.SHIPPED_DIR, REGISTRY)
    with torch.no_grad():
        model.decoder.bias.add_(0.5)  # what a retrain does, as far as serving goes: other weights in the workspace
    workspace = home / "checkpoints"
    try:
        meta = checkpoints.save(model, {}, REGISTRY["linear-32"], workspace)
        page.reload()
        frame = page.frame_locator(IFRAME)
        new = meta["weights_sha256"][:12]
        frame.locator(f'[data-model="linear-32"][data-hash="{new}"]').wait_for(state="attached", timeout=120_000)
        assert new != old
        wait_for_live(frame)
        draw_live(page, frame)
        frame.locator('[data-model="linear-32"][data-mse]').wait_for()
    finally:
        for p in checkpoints.paths("linear-32", workspace):  # back to the shipped model for the other tests
            p.unlink(missing_ok=True)
        page.close()


def test_a_browser_without_webassembly_still_draws_live(live_server, browser):
    """The page's interpreter is plain JavaScript: no WebAssembly needed for the shipped families."""
    url, _, _ = live_server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script("delete globalThis.WebAssembly")  # in every frame, the component's too
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    frame = page.frame_locator(IFRAME)
    wait_for_live(frame, timeout=120_000)
    draw_live(page, frame)
    frame.locator('[data-model="linear-32"][data-mse]').wait_for()
    context.close()


def test_the_pad_is_usable_from_the_keyboard(live_server, browser):
    """Show every model, each model's tile and Clear are in the tab order and work with Enter; the status is
    announced (aria-live)."""
    page, frame = open_live(browser, live_server[0])
    assert frame.locator("#status").get_attribute("aria-live") == "polite"
    frame.locator("#more").focus()
    page.keyboard.press("Enter")  # Show every model
    draw_live(page, frame)
    expect_seven(frame, live_server[2])
    tile = frame.locator('[data-model="conv-1"]')
    assert tile.get_attribute("tabindex") == "0" and tile.get_attribute("role") == "button"
    tile.focus()
    page.keyboard.press("Enter")
    frame.locator('[data-model="conv-1"][aria-pressed="true"]').wait_for()
    assert "conv-1" in frame.locator("#recon-cap").inner_text()
    frame.locator("#clear").focus()
    page.keyboard.press("Enter")
    frame.locator("#hint").wait_for()  # the pad is blank again
    page.close()
