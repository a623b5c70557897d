from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ae.data.mnist import Mnist, load_mnist
from ae.runtime.workspace import HOME_ENV
from bench.load import server as app_server
from tests.chromium import chromium_page

LIVE_ENV = "AELAB_LIVE_DRAW"
I18N_STRICT_ENV = (
    "AELAB_I18N_STRICT"  # a key missing from a language's catalogue fails a test instead of showing English
)


@pytest.fixture(scope="session", autouse=True)
def session_workspace(tmp_path_factory) -> Iterator[Path]:
    """A workspace for what outlives one test (a module's page or server), set before any of it starts."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("aelab-home-session")
        mp.setenv(HOME_ENV, str(home))
        mp.setenv(LIVE_ENV, "0")  # the Draw page computes on the server unless a test asks for live mode
        mp.setenv(I18N_STRICT_ENV, "1")
        yield home


@pytest.fixture(autouse=True)
def workspace_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty workspace (AELAB_HOME), so that nothing a test trains or measures is written
    into the repository's shipped checkpoints or the user's own workspace."""
    home = tmp_path_factory.mktemp("aelab-home")
    monkeypatch.setenv(HOME_ENV, str(home))
    # Live mode exports every model for the browser first (a minute in a fresh workspace): tests/test_live_draw.py
    # turns it on where it is what is tested.
    monkeypatch.setenv(LIVE_ENV, "0")
    monkeypatch.setenv(I18N_STRICT_ENV, "1")
    return home


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def small_mnist(mnist: Mnist) -> Mnist:
    """The same data with only 1,000 test digits, so per-epoch evaluation in tests is quick."""
    return Mnist(
        mnist.train_x, mnist.train_y, mnist.test_x[:1000], mnist.test_y[:1000], mnist.source, mnist.fingerprint
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app on a free port of 127.0.0.1, for one module's browser tests; its URL."""
    with app_server() as (url, _, _pid):
        yield url


@pytest.fixture(scope="module")
def page():
    """One headless Chromium page for a module's browser tests."""
    with chromium_page() as page:
        yield page


@pytest.fixture(scope="module")
def live_server(session_workspace) -> Iterator[str]:
    """A server in live-Draw mode (the app's default; the suite's other servers compute on the server)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(LIVE_ENV, "1")
        mp.setenv(HOME_ENV, str(session_workspace))
        with app_server() as (url, _, _pid):
            yield url
