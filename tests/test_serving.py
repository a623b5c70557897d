"""How `streamlit run app.py` serves the app: Streamlit's frontend gzip-compressed once per file (ui/static_gzip.py),
and a server that is warm before its first visit (ui/warmup.py).

The middleware is driven directly as ASGI around Starlette's StaticFiles (what Streamlit serves its frontend with);
the slow tests start the real server, read its frontend as a browser and as a client without gzip would, and record
every module the server imports (``PYTHONPROFILEIMPORTTIME``) to see that the first visit imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import urllib.request
from pathlib import Path

import pytest
from starlette.staticfiles import StaticFiles
from streamlit.web.server.app_discovery import discover_asgi_app

from bench.load import CHROMIUM, server
from ui import static_gzip, warmup

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = b"const x = 1;\n" * 4000  # compressible, over Starlette's 64 kB chunk: the body arrives in pieces


def asgi_get(app, path: str, headers: dict[str, str], method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request through an ASGI app: (status, headers, the body as sent, not decoded)."""
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("127.0.0.1", 80),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected: the response's disconnect watcher waits here

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    head = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def frontend(tmp_path):
    """A frontend folder like Streamlit's, served as Streamlit serves it, behind the middleware with its own store."""
    (tmp_path / "index.html").write_text("<!doctype html><title>aelab</title>" + "<p>x</p>" * 300)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "main.js").write_bytes(SCRIPT)
    (tmp_path / "static" / "logo.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 20)
    store = static_gzip.Store()
    return static_gzip.StaticGzip(StaticFiles(directory=tmp_path, html=True), store=store), store


def test_a_client_that_accepts_gzip_gets_the_file_compressed(frontend):
    app, _ = frontend
    status, head, body = asgi_get(app, "/static/main.js", {"accept-encoding": "gzip, deflate, br"})
    assert status == 200 and head["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SCRIPT and int(head["content-length"]) == len(body) < len(SCRIPT) // 10
    assert head["vary"] == "Accept-Encoding" and head["etag"].startswith('W/"')
    assert "accept-ranges" not in head  # ranges are of the file, not of these bytes


def test_a_client_without_gzip_gets_the_file_as_it_is(frontend):
    app, _ = frontend
    for accept in ({}, {"accept-encoding": "identity"}, {"accept-encoding": "br, gzip;q=0"}):
        status, head, body = asgi_get(app, "/static/main.js", accept)
        assert status == 200 and "content-encoding" not in head and body == SCRIPT
        assert head["vary"] == "Accept-Encoding" and not head["etag"].startswith("W/")


def test_the_root_document_is_compressed_and_revalidates_with_304(frontend):
    app, _ = frontend
    status, head, body = asgi_get(app, "/", {"accept-encoding": "gzip"})
    assert status == 200 and head["content-encoding"] == "gzip" and b"<title>aelab" in gzip.decompress(body)
    status, again, body = asgi_get(app, "/", {"accept-encoding": "gzip", "if-none-match": head["etag"]})
    assert (status, body) == (304, b"") and again["etag"] == head["etag"] and again["vary"] == "Accept-Encoding"


def test_each_file_is_compressed_once(frontend):
    app, store = frontend
    bodies = {asgi_get(app, "/static/main.js", {"accept-encoding": "gzip"})[2] for _ in range(3)}
    assert len(bodies) == 1 and store.compressed == 1


def test_ranges_heads_pictures_and_other_paths_are_untouched(frontend):
    app, store = frontend
    status, head, body = asgi_get(app, "/static/main.js", {"accept-encoding": "gzip", "range": "bytes=0-9"})
    assert status == 206 and body == SCRIPT[:10] and "content-encoding" not in head
    status, head, body = asgi_get(app, "/static/main.js", {"accept-encoding": "gzip"}, method="HEAD")
    assert status == 200 and "content-encoding" not in head and int(head["content-length"]) == len(SCRIPT)
    status, head, _ = asgi_get(app, "/static/logo.png", {"accept-encoding": "gzip"})
    assert status == 200 and "content-encoding" not in head and "vary" not in head
    status, head, _ = asgi_get(app, "/index.html", {"accept-encoding": "gzip"})  # not a path Streamlit leaves plain
    assert status == 200 and "content-encoding" not in head
    assert store.compressed == 0


def test_the_frontend_paths_under_a_base_url_or_a_mount():
    def frontend(path: str, root_path: str = "", base_url: str = "") -> bool:
        return static_gzip.frontend_path({"path": path, "root_path": root_path}, base_url)

    assert frontend("/") and frontend("/static/js/index.js") and not frontend("/_stcore/health")
    assert frontend("/lab", base_url="/lab/") and frontend("/lab/static/a.css", base_url="lab")
    assert frontend("/mnt/static/a.js", root_path="/mnt") and not frontend("/labs/static/a.js", base_url="lab")
    assert not frontend("/compare") and not frontend("/media/x.png")


def test_accepts_gzip_reads_quality_values():
    from starlette.datastructures import Headers

    def accepts(value: str) -> bool:
        return static_gzip.accepts_gzip(Headers({"accept-encoding": value}))

    assert accepts("gzip") and accepts("deflate, gzip;q=0.5") and accepts("GZIP , br")
    assert not accepts("") and not accepts("gzip;q=0") and not accepts("x-gzip2, br") and not accepts("gzip;q=x")


def test_streamlit_run_finds_the_server_in_app_py():
    """`streamlit run app.py` reads app.py for an ``st.App``: without it, neither compression nor warm-up runs."""
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_the_warm_up_imports_what_the_pages_import(tmp_path, monkeypatch):
    names = warmup.page_modules()
    assert {"ui.state", "ui.live_draw", "ae.measure.one_digit", "numpy"} <= set(names)
    assert warmup.import_all(["ui.state", "ae.data.mnist.TEST_COUNT"]) == 1  # an attribute, not a module: skipped
    # A module whose own import fails is an error at the server's start, not a page that fails later.
    (tmp_path / "broken_page_dependency.py").write_text("import no_such_package_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_package_anywhere"):
        warmup.import_all(["broken_page_dependency"])


def fetch(url: str, accept: str) -> tuple[dict[str, str], bytes]:
    """(headers, body as sent); urllib decodes nothing."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": accept})
    with urllib.request.urlopen(request, timeout=30) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


@pytest.mark.slow
def test_the_real_server_sends_its_frontend_compressed_to_who_accepts_gzip():
    with server() as (url, _, _pid):
        head, page = fetch(f"{url}/", "identity")
        bundle = re.search(rb'static/js/[^"]+\.js', page)[0].decode()  # Streamlit's entry script
        for path, plain_bytes in (("/", page), (f"/{bundle}", fetch(f"{url}/{bundle}", "identity")[1])):
            gz_head, packed = fetch(f"{url}{path}", "gzip, deflate, br")
            assert gz_head["content-encoding"] == "gzip" and gzip.decompress(packed) == plain_bytes
            assert len(packed) < len(plain_bytes) / 2 and gz_head["vary"] == "Accept-Encoding"
        assert "content-encoding" not in head


def imported(stderr: str) -> set[str]:
    """The modules a process imported, from its ``PYTHONPROFILEIMPORTTIME`` lines ("import time: 12 | 34 | name")."""
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)\s*$", stderr, re.MULTILINE))


@pytest.mark.slow
@pytest.mark.browser
def test_the_first_visit_finds_the_server_warm(tmp_path, monkeypatch):
    """Before any visit the server has imported torch and every page's modules; the first visit's script run
    imports none of them anew (without the warm-up it imported all of them, ~1.9 s before its first element)."""
    from tests.chromium import chromium_page, require

    require((CHROMIUM, "apt-get install chromium"))  # skipped without it, an error in CI
    log = tmp_path / "server-stderr.txt"
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # Python writes one line per module it imports
    warm = {"torch", "pandas", *(n for n in warmup.page_modules() if n.startswith(("ui.", "ae.")))}
    with server(log=log) as (url, _, _pid):
        assert {"torch", "pandas", "ui.state", "ui.live_draw"} <= imported(log.read_text())
        mark = log.stat().st_size
        with chromium_page() as page:
            page.goto(url)
            # The page's imports and the sidebar come before its heading in the script.
            page.get_by_role("heading", name="Draw a digit").wait_for()
        fresh = imported(log.read_bytes()[mark:].decode())
    assert not fresh & warm, f"imported by the first visit, not by the warm-up: {sorted(fresh & warm)}"
