"""What the browser tests share: the tools they need, and a page in Debian's headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.load import CHROMIUM, FLAGS


def require(*tools: tuple[str, str]) -> None:
    """Skip the calling test module when a (path, how to install it) is missing; in CI that is an error."""
    for path, how in tools:
        if not os.path.exists(path):
            if os.environ.get("CI"):
                raise RuntimeError(f"{path} is missing: .ci/run should have installed it ({how})")
            pytest.skip(f"{path} not installed ({how})", allow_module_level=True)


@contextmanager
def chromium_page(timeout_ms: int = 60_000) -> Iterator:
    """A fresh page, 1400×1000, in headless Chromium; every wait on it gives up after ``timeout_ms``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(timeout_ms)
        yield page
        browser.close()
