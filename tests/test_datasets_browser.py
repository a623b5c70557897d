"""Fashion-MNIST on the live pad in real headless Chromium: the link's ``data=fashion`` gives the pad the clothes
models and the clothes reader, whose answers it names as clothes."""

from __future__ import annotations

import pytest

from ae.data import fashion
from bench.load import CHROMIUM
from tests.chromium import require

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"))

# A pair of trousers, roughly: two legs joined at the waist.
TROUSERS = [[[90, 30], [170, 30]], [[95, 30], [90, 230]], [[165, 30], [170, 230]], [[130, 30], [130, 120]]]


@pytest.mark.skipif(bool(fashion.missing()), reason="dataset-fashion-mnist is not installed")
def test_the_live_pad_on_fashion_runs_the_clothes_models_and_names_what_the_reader_sees(live_server, page):
    page.goto(live_server + "/?data=fashion")
    pad = page.frame_locator('iframe[title*="live_draw"]')
    pad.locator("#status").filter(has_text="running in your browser").wait_for(timeout=120_000)
    frame = next(f for f in page.frames if "live_draw" in f.url)
    frame.evaluate(f"() => window.__liveDraw.setStrokes({TROUSERS})")
    pad.locator('#reads:not([data-reads=""])').wait_for(timeout=30_000)
    seen, rebuilt = pad.locator("#reads").inner_text().split(" → ")
    assert seen in fashion.CLASSES and rebuilt in fashion.CLASSES, (seen, rebuilt)
    tiles = pad.locator("[data-model]")
    names = {tiles.nth(i).get_attribute("data-model") for i in range(tiles.count())}
    assert names and all(n.startswith("fashion-") for n in names), names  # the digit models are not on this pad
