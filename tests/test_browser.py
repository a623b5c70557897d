"""End to end in real headless Chromium: start the server, draw with the mouse, read what the page shows."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.load import CHROMIUM, server
from tests.chromium import chromium_page, require

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"))


@pytest.fixture(scope="module", name="server")
def running_server():
    started = time.perf_counter()
    with server() as (url, _, _pid):
        yield url, started


@pytest.fixture(scope="module")
def page(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        yield page


def _draw_seven(page) -> None:
    canvas = page.locator('[data-testid="stBidiComponentIsolated"] canvas.upper-canvas')
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + 70, y0 + 60)
    page.mouse.down()
    page.mouse.move(x0 + 210, y0 + 60, steps=12)
    page.mouse.move(x0 + 120, y0 + 240, steps=16)
    page.mouse.up()


def _metric(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return metric.get_by_test_id("stMetricValue").inner_text()


def test_draw_switch_model_and_compare(server, page):
    url, started = server
    page.goto(url)
    page.get_by_text("Draw a digit on the black square").wait_for()
    _draw_seven(page)
    page.get_by_test_id("stMetric").filter(has_text="MSE").first.wait_for()
    first_seen = time.perf_counter() - started
    print(f"\nserver start to first reconstruction on screen: {first_seen:.1f} s")
    mse_first = float(_metric(page, "MSE"))
    assert 0 < mse_first < 0.2
    assert page.get_by_text(re.compile(r"Reconstruction by linear-32")).count() >= 1
    page.screenshot(path=ARTIFACTS / "draw-linear-32.png", full_page=True)

    page.get_by_test_id("stRadio").get_by_text("conv-8 (8×7×7)").click()
    page.get_by_text("Reconstruction by conv-8").first.wait_for()
    mse_conv = float(_metric(page, "MSE"))
    assert mse_conv != mse_first
    page.screenshot(path=ARTIFACTS / "draw-conv-8.png", full_page=True)

    page.get_by_role("link", name="Compare").click()
    page.get_by_text("Why conv-8's code is 8×7×7 = 392 values").wait_for()
    # The grid draws on a canvas; its accessible twin, a <table role="grid">, carries the cell texts.
    cells = page.get_by_test_id("stDataFrame").first.locator("table td")
    cells.filter(has_text="conv-8").first.wait_for(state="attached")  # in the DOM, drawn on the canvas
    rows = {}
    texts = cells.all_inner_texts()
    for i, t in enumerate(texts):
        if t in ("linear-32", "linear-64", "linear-128", "linear-256", "conv-8"):
            rows[t] = texts[i : i + 6]  # model, family, group, code shape, code values, compression ratio
    assert set(rows) == {"linear-32", "linear-64", "linear-128", "linear-256", "conv-8"}
    assert rows["conv-8"][3:6] == ["8×7×7", "392", "0.5"]
    page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)


def test_interpolation_slider(server, page):
    url, _ = server
    page.goto(f"{url}/interpolate")
    page.get_by_text("t = 0.50").first.wait_for()
    thumb = page.get_by_role("slider")
    thumb.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # 0.05 a step
    page.get_by_text("t = 0.70").first.wait_for()
    page.keyboard.press("End")
    page.get_by_text("t = 1.00").first.wait_for()
    page.screenshot(path=ARTIFACTS / "interpolate.png", full_page=True)


def test_latent_map_click_shows_that_digit(server, page):
    url, _ = server
    page.goto(f"{url}/latent")
    page.get_by_text("Click a dot").first.wait_for()
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for()
    page.wait_for_function("document.querySelector('.js-plotly-plot')._fullLayout !== undefined")
    # Where the first digit of the first trace is drawn, from plotly's own axes (the dots are WebGL, not DOM nodes).
    x, y = page.evaluate(
        """() => {
            const gd = document.querySelector('.js-plotly-plot'), fl = gd._fullLayout, r = gd.getBoundingClientRect();
            const t = gd._fullData[0];
            return [r.left + fl._size.l + fl.xaxis.d2p(t.x[0]), r.top + fl._size.t + fl.yaxis.d2p(t.y[0])];
        }"""
    )
    page.mouse.click(x, y)
    caption = page.get_by_text(re.compile(r"^Selected digits")).first
    caption.wait_for()
    page.get_by_text(re.compile(r"^#\d+: \d$")).first.wait_for()  # a test digit's number and its label
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=ARTIFACTS / "latent.png", full_page=True)


def test_a_fresh_servers_first_visitor_can_open_a_page_by_its_link(page):
    # A fresh server of its own: the folder-mode fallback only ever hit the first session after start-up.
    with server() as (url, _, _pid):
        page.goto(f"{url}/compare")
        page.get_by_role("heading", name="Compare models").wait_for()
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_text("Rate & distortion").wait_for()  # app.py's titles, not the folder's file names
        assert nav.get_by_text("app", exact=True).count() == 0
        assert page.get_by_test_id("stException").count() == 0


def test_interpolate_keeps_the_test_digit_when_an_end_draws_and_comes_back(server, page):
    url, _ = server
    page.goto(f"{url}/interpolate")
    box = page.get_by_label("Test digit #").first
    box.fill("42")
    box.press("Enter")
    page.get_by_text("label 4").first.wait_for()  # test digit 42 is a 4
    start = page.get_by_test_id("stButtonGroup").first
    start.get_by_text("Draw", exact=True).click()
    page.locator('[data-testid="stBidiComponentIsolated"]').first.wait_for()
    start.get_by_text("Test digit", exact=True).click()
    page.get_by_text("label 4").first.wait_for()
    assert page.get_by_label("Test digit #").first.input_value() == "42"


def test_a_drawing_survives_a_look_at_another_input(server, page):
    url, _ = server
    page.goto(url)
    page.get_by_text("Draw a digit on the black square").wait_for()
    _draw_seven(page)
    page.get_by_test_id("stMetric").filter(has_text="MSE").first.wait_for()
    mse = _metric(page, "MSE")
    inputs = page.get_by_test_id("stButtonGroup").first
    inputs.get_by_text("Random test digit", exact=True).click()
    page.get_by_text(re.compile(r"^Test digit #\d+, label \d$")).first.wait_for()
    inputs.get_by_text("Draw", exact=True).click()
    page.locator('[data-testid="stBidiComponentIsolated"] canvas.upper-canvas').wait_for()
    # The seven is back on the canvas and still reconstructed, not "draw a digit" again.
    page.wait_for_function(f"() => document.body.innerText.includes('{mse}')")
    assert page.get_by_text("Draw a digit on the black square").count() == 0
    page.screenshot(path=ARTIFACTS / "draw-restored.png", full_page=True)
    # And the canvas shows it: a good share of its pixels are white strokes, as drawn.
    shot = page.locator('[data-testid="stBidiComponentIsolated"] canvas.upper-canvas').screenshot()
    gray = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
    assert (gray > 200).mean() > 0.05


def test_a_fresh_browser_session_renders_after_a_message_over_the_limit(server, page):
    from tests.test_app import _canvas_message, _send_one, message_limit

    url, _ = server
    closed, answers = _send_one(url, _canvas_message(message_limit() + 100_000))
    assert closed and answers == 0
    page.goto(url)  # a new session in the browser: the app still draws
    page.get_by_text("Draw a digit on the black square").wait_for()
    _draw_seven(page)
    page.get_by_test_id("stMetric").filter(has_text="MSE").first.wait_for()
    assert page.get_by_test_id("stException").count() == 0
