"""The offline edition: `python -m ae export --site DIR` served by `python -m http.server`, drawn on in Chromium."""

from __future__ import annotations

import json

import pytest

from tests.test_live_draw import ARTIFACTS, SEVEN, draw_live, expect_seven, launch, static_server, wait_for_live

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_the_offline_folder_draws_live_from_a_static_server(tmp_path, monkeypatch, session_workspace):
    from playwright.sync_api import sync_playwright

    from ae.cli.main import main
    from tests.live_models import REGISTRY

    monkeypatch.setenv("AELAB_REGISTRY", "tests.live_models:REGISTRY")
    monkeypatch.setenv("AELAB_HOME", str(session_workspace))  # the models test_export made, when it ran first
    site = tmp_path / "site"
    assert main(["export", "--no-check", "--site", str(site)]) == 0
    manifest = json.loads((site / "manifest.json").read_text())
    assert [m["name"] for m in manifest["models"]] == list(REGISTRY)
    assert [m["name"] for m in manifest["models"] if m["shown"]] == ["linear-32"]  # the seed's, first
    assert {"index.html", "live.js", "preprocess.js", "digits.json"} <= {p.name for p in site.iterdir()}
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p, static_server(site) as url:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/index.html")
        wait_for_live(page)
        page.get_by_role("button", name="Show every model").click()
        draw_live(page, page, SEVEN, lift=False)
        expect_seven(page, len(REGISTRY))  # before the pen lifts
        page.mouse.up()
        page.get_by_role("button", name="Test digit", exact=True).click()  # the shipped test digits: the first is a 0
        page.locator('[data-reads="0"]').wait_for()
        page.screenshot(path=ARTIFACTS / "offline-site.png", full_page=True)
        browser.close()
