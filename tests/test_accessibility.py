"""Every page passes axe-core with no serious or critical violation, in headless Chromium against a real server.

axe-core comes from components/ (npm ci, pinned by its lock file); it is injected into the page as it is shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import CHROMIUM, server
from tests.chromium import chromium_page, require

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "components" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ["", "compare", "rd", "training", "interpolate", "denoise", "gallery", "latent", "generate", "build"]
BLOCKING = ("serious", "critical")

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"), (str(AXE), "scripts/setup.sh --dev runs npm ci in components/"))


@pytest.fixture(scope="module", name="server")
def running_server():
    with server() as (url, _, _pid):
        yield url


@pytest.fixture(scope="module")
def page():
    with chromium_page() as page:
        yield page


def settle(page) -> None:
    """Until the page's script has run to its end (60 s at most) and its images have loaded."""
    page.wait_for_selector("h1")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"
        " && [...document.images].every(i => i.complete)"
    )


def violations(page) -> list[str]:
    """The serious and critical axe-core violations of what the page shows now, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}) x{len(v['nodes'])}: {v['help']} | {v['nodes'][0]['html'][:160]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("path", PAGES, ids=[p or "draw" for p in PAGES])
def test_every_page_has_no_serious_or_critical_violation(server, page, path):
    page.goto(f"{server}/{path}")
    settle(page)
    assert violations(page) == []


def test_draw_with_every_models_pictures_shown_has_no_serious_or_critical_violation(server, page):
    page.goto(server)
    settle(page)
    page.get_by_test_id("stButtonGroup").first.get_by_text("Random test digit", exact=True).click()
    page.get_by_text("Every model, same input").wait_for()
    settle(page)
    assert page.locator("img[alt*='reconstruction above its error map']").count() >= 5
    assert violations(page) == []


def test_the_audit_catches_a_picture_without_a_text_alternative(page):
    page.set_content("<html lang='en'><head><title>t</title></head><body><main><img src='data:,'></main></body></html>")
    assert [v.split(" ")[0] for v in violations(page)] == ["image-alt"]
