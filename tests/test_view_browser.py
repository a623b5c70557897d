"""A teacher's link, opened in real headless Chromium, shows exactly that view (the server and page fixtures are
tests/test_browser.py's)."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import ARTIFACTS, page, running_server  # noqa: F401  (fixtures: page, server)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LINK = "/?model=linear-64&digit=1234&presenter=1&hide=retrain"  # linear-64: not the page's default model


def test_a_teacher_link_opens_that_view(server, page):  # noqa: F811
    url, _ = server
    page.goto(url + LINK)
    page.get_by_text("Test digit #1234, label 8").first.wait_for()  # the test digit, not the canvas
    page.get_by_text("Reconstruction by linear-64").first.wait_for()
    picker = page.get_by_test_id("stRadio").filter(has_text="conv-8 (8×7×7)")  # not the drawing file's Codec radio
    checked = picker.locator("label").filter(has=page.locator("input:checked"))
    assert checked.inner_text().startswith("linear-64")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Glossary").wait_for()  # the sidebar is drawn ...
    assert sidebar.get_by_role("switch", name="Presenter mode").is_checked()
    assert page.get_by_role("button", name="Retrain").count() == 0  # ... without its Retrain section
    assert sidebar.get_by_text("Retrain", exact=True).count() == 0
    assert page.get_by_test_id("stException").count() == 0
    for part in ("model=linear-64", "digit=1234", "presenter=1", "hide=retrain"):
        assert part in page.url  # the address bar still links to this view
    page.screenshot(path=ARTIFACTS / "teacher-link.png", full_page=True)

    # A choice made in the page goes into the address bar at once.
    page.get_by_test_id("stRadio").get_by_text("conv-8 (8×7×7)").click()
    page.get_by_text("Reconstruction by conv-8").first.wait_for()
    page.wait_for_url(re.compile(r"model=conv-8"))

    # Another page keeps the lesson's presenter mode and hidden Retrain (Streamlit drops the query on a page change).
    page.get_by_test_id("stSidebarNav").get_by_text("Compare").click()
    page.get_by_role("heading", name="Compare models").wait_for()
    page.wait_for_url(re.compile(r"/compare\?(?=.*presenter=1)(?=.*hide=retrain)"))
    assert "model=" not in page.url and "digit=" not in page.url  # Draw's choices are not Compare's
    assert sidebar.get_by_role("switch", name="Presenter mode").is_checked()
    assert page.get_by_role("button", name="Retrain").count() == 0
