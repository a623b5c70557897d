"""A link's ``?lang=`` in real headless Chromium: the page, its menu, its ``<html lang>`` and the live pad speak that
language (and pass axe-core in it), another page keeps it, and the sidebar's picker switches it."""

from __future__ import annotations

import re

import pytest

from bench.load import CHROMIUM
from tests.chromium import require
from tests.test_accessibility import settle, violations

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"))


def html_lang(page) -> str:
    return page.evaluate("() => document.documentElement.lang")


def test_a_link_in_german_then_the_picker_in_spanish(server, page):
    page.goto(server + "/?lang=de")
    page.get_by_role("heading", name="Zeichne eine Ziffer").wait_for()
    page.wait_for_function("() => document.documentElement.lang === 'de'")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Präsentationsmodus").wait_for()
    settle(page)
    assert violations(page) == []  # in German too (its longer words, <html lang="de">)

    page.get_by_test_id("stSidebarNav").get_by_text("Vergleichen").click()  # another page keeps the language ...
    page.get_by_role("heading", name="Modelle vergleichen").wait_for()
    page.wait_for_url(re.compile(r"/compare\?(.*&)?lang=de"))  # ... and its address still carries it

    sidebar.get_by_test_id("stSelectbox").filter(has_text="Sprache").click()
    page.get_by_role("option", name="Español").click()
    page.get_by_role("heading", name="Comparar modelos").wait_for()
    page.wait_for_url(re.compile(r"lang=es"))
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    assert page.get_by_test_id("stException").count() == 0


def test_the_live_pad_speaks_the_links_language(live_server, page):
    page.goto(live_server + "/?lang=es")
    pad = page.frame_locator('iframe[title*="live_draw"]')
    pad.locator("#status").filter(has_text="funcionando en tu navegador").wait_for(timeout=120_000)
    assert pad.get_by_role("button", name="Deshacer").is_visible()
    assert pad.locator("#pad").get_attribute("aria-label") == "Panel de dibujo: dibuja un dígito"
    frame = next(f for f in page.frames if "live_draw" in f.url)
    assert html_lang(frame) == "es"
    frame.evaluate("() => window.__liveDraw.setStrokes([[[70, 60], [210, 60], [120, 240]]])")
    pad.get_by_role("button", name="Usar en el laboratorio").wait_for()
    assert pad.get_by_text("Todos los modelos, la misma entrada").is_visible()
