"""Every page passes axe-core with no moderate, serious or critical violation (heading order included), in headless
Chromium against a real server; the live pad too, inside its own frame.

axe-core comes from components/ (npm ci, pinned by its lock file); it is injected into the page as it is shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import CHROMIUM
from tests.chromium import require

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "components" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ["", "compare", "rd", "training", "interpolate", "denoise", "gallery", "latent", "generate", "build"]
BLOCKING = ("moderate", "serious", "critical")  # minor: only Streamlit's own file uploader (a role it sets)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"), (str(AXE), "scripts/setup.sh --dev runs npm ci in components/"))


def settle(page) -> None:
    """Until the page's script has run to its end (60 s at most) and its images have loaded."""
    page.wait_for_selector("h1")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"
        " && [...document.images].every(i => i.complete)"
    )


def violations(page, skip: tuple[str, ...] = ()) -> list[str]:
    """The axe-core violations above minor of what the page (or frame) shows now, one line each; ``skip``: rules
    that do not apply there."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    rules = {rule: {"enabled": False} for rule in skip}
    found = page.evaluate(
        "async rules => (await axe.run(document, {resultTypes: ['violations'], rules})).violations", rules
    )
    return [
        f"{v['id']} ({v['impact']}) x{len(v['nodes'])}: {v['help']} | {v['nodes'][0]['html'][:160]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("path", PAGES, ids=[p or "draw" for p in PAGES])
def test_every_page_has_no_violation_above_minor(server, page, path):
    page.goto(f"{server}/{path}")
    settle(page)
    assert violations(page) == []


def test_draw_with_every_models_pictures_shown_has_no_violation_above_minor(server, page):
    page.goto(server)
    settle(page)
    page.get_by_test_id("stButtonGroup").first.get_by_text("Random test digit", exact=True).click()
    page.get_by_text("Every model, same input").wait_for()
    settle(page)
    assert page.locator("img[alt*='reconstruction above its error map']").count() >= 5
    assert violations(page) == []


def test_the_live_pad_has_no_violation_above_minor(live_server, page):
    """Inside the live pad's own frame, blank and with a drawing's every model shown."""
    page.goto(live_server)
    pad = page.frame_locator('iframe[title*="live_draw"]')
    pad.locator("#status").filter(has_text="running in your browser").wait_for(timeout=120_000)
    frame = next(f for f in page.frames if "live_draw" in f.url)
    inside = ("page-has-heading-one",)  # the frame sits under the page's own h1 ("Draw a digit")
    assert violations(frame, inside) == []
    pad.get_by_role("button", name="Show every model").click()
    frame.evaluate("() => window.__liveDraw.setStrokes([[[70, 60], [210, 60], [120, 240]]])")
    pad.locator("[data-model][data-mse]").first.wait_for()
    assert violations(frame, inside) == []


def test_the_audit_catches_a_picture_without_a_text_alternative(page):
    page.set_content(
        "<html lang='en'><head><title>t</title></head><body><main><h1>t</h1><img src='data:,'></main></body></html>"
    )
    assert [v.split(" ")[0] for v in violations(page)] == ["image-alt"]
