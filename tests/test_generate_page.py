"""The Generate page, run headless with Streamlit's AppTest against the shipped checkpoints of a few models."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.storage.catalogue import REGISTRY as SHIPPED

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "generate.py")
# The page served with two VAEs and one plain autoencoder: every model's samples are read by the classifier on the
# first run, and three models keep that quick.
REGISTRY = {n: SHIPPED[n] for n in ("vae-2", "vae-16", "linear-32")}


@pytest.fixture(autouse=True)
def _few_models(monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", f"{__name__}:REGISTRY")
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)


def _texts(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [i.value for i in at.info] + [e.value for e in at.error])


def test_the_page_samples_a_vae_and_walks_its_latent_plane():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="generate_model").value == "vae-2"
    text = _texts(at)
    assert "drawn from the prior N(0, I) with seed 0" in text
    assert "reads the VAEs' samples with a mean confidence of" in text and "linear-32" in text
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert len(spec["layout"]["images"]) == 1  # the decodes tiled under the scatter
    assert {t["name"] for t in spec["data"]} >= {str(c) for c in range(10)}
    assert len(at.slider) == 2 and "(all of them)" in text  # a 2-D code: a slider per value
    at.button(key="generate_new").click().run()
    assert at.number_input(key="generate_seed").value == 1 and "with seed 1" in _texts(at)
    at.text_input(key="generate_expr").set_value("7 -").run()
    assert not at.exception and any("cannot read" in e.value for e in at.error)


def test_a_plain_model_is_labelled_and_gets_sliders_and_arithmetic():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="generate_model").set_value("linear-32").run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "linear-32 is a plain autoencoder: it has no prior to sample" in text
    assert not at.get("plotly_chart") and "The latent plane is drawn for a VAE with a 2-D code" in text
    assert len(at.slider) == 8  # the 8 code values that vary most
    at.slider[0].set_value(at.slider[0].max).run()  # a slider moved to its end: the decode follows, nothing breaks
    assert not at.exception, at.exception
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert sum(c.startswith(("vae-2: reads", "vae-16: reads", "linear-32: reads")) for c in captions) == 3


@pytest.mark.slow
@pytest.mark.browser
def test_clicking_the_latent_plane_decodes_that_point():
    """In Chromium: the plane of vae-2 is drawn, and a click on it shows the decode of the clicked code."""
    import os

    from bench.load import CHROMIUM, FLAGS, server

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with server() as (url, _, _pid), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(f"{url}/generate")
        page.get_by_text("The latent plane").wait_for()
        page.screenshot(path=artifacts / "generate-vae-2.png")
        plot = page.locator(".js-plotly-plot .nsewdrag").first
        plot.wait_for()
        plot.scroll_into_view_if_needed()
        box = plot.bounding_box()
        page.screenshot(path=artifacts / "generate-vae-2-plane.png")
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
        page.get_by_text("decode of z =").wait_for()
        page.get_by_text("decode of z =").scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "generate-vae-2-clicked.png")
        browser.close()
