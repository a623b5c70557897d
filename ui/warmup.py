"""A just-started server warms up before it takes visitors: it imports what the pages import and compresses
Streamlit's frontend once.

Without it the first visitor's script run imported torch, pandas and the app's modules (about 1.9 s on the project's
Xeon) before the page's first element left the server. ``app.py`` hands ``lifespan`` to ``st.App``; uvicorn runs it
before it answers any request, ``/_stcore/health`` included, so a health check (Docker's, HAProxy's) reports the
server only once it is warm.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from streamlit import file_util
from streamlit.logger import get_logger

from ui import static_gzip

PAGES = Path(__file__).resolve().parent.parent / "pages"
LOG = get_logger(__name__)


def page_modules(pages: Path = PAGES) -> list[str]:
    """Every module the pages import at their top level (``from ui import state`` gives ``ui`` and ``ui.state``),
    read from their source so that a page's new import is warmed without a list to keep up to date."""
    names: dict[str, None] = {}  # ordered, without repeats
    for page in sorted(pages.glob("*.py")):
        for node in ast.parse(page.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names[node.module] = None
                names.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names))
    return list(names)


def import_all(names: list[str]) -> int:
    """Import each name that is a module (``ui.state``); a name that is an attribute (``ae.data.mnist.TEST_COUNT``)
    is skipped. Returns how many were modules."""
    found = 0
    for name in names:
        try:
            # __import__, the import statement's own path: unlike importlib.import_module it shows in
            # `python -X importtime` (tests/test_serving.py reads that to see the warm-up happen).
            __import__(name)
            found += 1
        except ModuleNotFoundError as e:
            if e.name != name:  # the module exists but one it needs is missing: a real error, say it now
                raise
    return found


def import_pages() -> int:
    return import_all(page_modules())


def prime_frontend() -> int:
    return static_gzip.STORE.prime(file_util.get_static_dir())


async def warm() -> dict[str, float]:
    """Both jobs at once, each on a thread (the imports keep about one core busy, compression another); seconds
    each."""
    took: dict[str, float] = {}

    def timed(label: str, job) -> None:
        t0 = time.perf_counter()
        job()
        took[label] = time.perf_counter() - t0

    await asyncio.gather(
        asyncio.to_thread(timed, "imports", import_pages), asyncio.to_thread(timed, "gzip", prime_frontend)
    )
    return took


@asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """``st.App``'s lifespan: warm, then serve."""
    took = await warm()
    LOG.info("Warm before the first visit: %s", ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    yield
