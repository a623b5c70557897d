"""Streamlit's own frontend (``/static/…`` and the root document) sent gzip-compressed, each file compressed once.

Streamlit 1.67 serves these uncompressed on purpose (its ``starlette_gzip_middleware.py``): compressing on every
request burns CPU, and a proxy is expected to compress. Here each file is compressed once and the bytes are kept
(found again by a hash of the file, a few milliseconds a request), so a `streamlit run` without a proxy sends a
first visit about 1.4 MB less. Status, ETag (made weak: the bytes differ from the file's), Cache-Control and 304s
stay the inner app's; a Range request, a HEAD and a client that does not accept gzip get the file as it is.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from pathlib import Path

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import config

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
SUFFIXES = (".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt")  # the frontend's text files, for prime()
LEVEL = 9  # once per file, so the smallest output is worth the extra milliseconds
MAX_BYTES = 64 << 20  # compressed bytes kept; Streamlit 1.67's whole frontend is about 7 MB compressed
_GZIP_OK = re.compile(r"(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*(?P<q>[0-9.]+))?\s*(?:,|$)", re.IGNORECASE)


def digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


class Store:
    """Compressed bytes by the digest of the original: a changed file is a new entry, never a stale one."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._kept: dict[bytes, bytes] = {}
        self._size, self._max = 0, max_bytes
        self._lock = threading.Lock()
        self.compressed = 0  # files compressed, for the tests: a second request for the same file adds none

    def get(self, body: bytes) -> bytes:
        key = digest(body)
        if (hit := self._kept.get(key)) is not None:
            return hit
        packed = gzip.compress(body, compresslevel=LEVEL, mtime=0)
        with self._lock:
            self.compressed += 1
            if key not in self._kept and self._size + len(packed) <= self._max:
                self._kept[key] = packed
                self._size += len(packed)
        return packed

    def prime(self, directory: str | Path) -> int:
        """Compress every text file under ``directory`` now (a server's start), so no visitor waits for it."""
        files = [p for p in Path(directory).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
        for path in files:
            self.get(path.read_bytes())
        return len(files)


STORE = Store()  # one per process, shared by the middleware and the warm-up (ui/warmup.py)


def accepts_gzip(headers: Headers) -> bool:
    found = _GZIP_OK.search(headers.get("accept-encoding", ""))
    if found is None:
        return False
    try:
        return found["q"] is None or float(found["q"]) > 0
    except ValueError:
        return False


def frontend_path(scope: Scope, base_url: str = "") -> bool:
    """The paths Streamlit leaves uncompressed: the root document and ``/static/…`` (under its base URL, if any)."""
    path = scope.get("path", "")
    for prefix in (scope.get("root_path", ""), "/" + base_url.strip("/") if base_url.strip("/") else ""):
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
    return path == "/" or path.startswith("/static/")


def compressible(headers: MutableHeaders) -> bool:
    return "content-encoding" not in headers and headers.get("content-type", "").startswith(COMPRESSIBLE)


class StaticGzip:
    """ASGI middleware: wrap Streamlit's app (``st.App(middleware=[Middleware(StaticGzip)])``)."""

    def __init__(self, app: ASGIApp, *, base_url: str | None = None, store: Store = STORE) -> None:
        # Built with the app, after Streamlit has read its config: server.baseUrlPath is known here.
        base = config.get_option("server.baseUrlPath") if base_url is None else base_url
        self.app, self.base_url, self.store = app, base or "", store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or scope["method"] not in ("GET", "HEAD") or "range" in headers:
            await self.app(scope, receive, send)
            return
        if not frontend_path(scope, self.base_url):
            await self.app(scope, receive, send)
            return
        gzip_ok = accepts_gzip(headers) and scope["method"] == "GET"
        # No zero-copy "pathsend" from the file response: the body must pass through here to be compressed.
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        gzip_held = gzip_ok and "W/" in headers.get("if-none-match", "")  # Starlette's own ETags are strong
        reply = _Reply(send, self.store, gzip_ok, gzip_held)
        await self.app({**scope, "extensions": extensions}, receive, reply)


def _weaken(headers: MutableHeaders) -> None:
    """Weak: the compressed bytes are not the file's. Starlette's If-None-Match check ignores "W/", so a
    revalidation of the compressed copy still gets its 304."""
    if (etag := headers.get("etag")) and not etag.startswith("W/"):
        headers["etag"] = "W/" + etag


class _Reply:
    """The ``send`` the inner app sees: forwards untouched, or holds a compressible 200 and sends it compressed."""

    def __init__(self, send: Send, store: Store, gzip_ok: bool, gzip_held: bool) -> None:
        self.send, self.store, self.gzip_ok, self.gzip_held = send, store, gzip_ok, gzip_held
        self.start: Message | None = None
        self.body: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_compressed()
        else:
            await self.send(message)

    async def _on_start(self, message: Message) -> None:
        headers = MutableHeaders(scope=message)
        if message["status"] == 304 and self.gzip_held:
            # The browser revalidates the compressed copy it holds (its ETag is ours, weak): say so again.
            headers.add_vary_header("Accept-Encoding")
            _weaken(headers)
        if message["status"] != 200 or not compressible(headers):
            await self.send(message)
            return
        headers.add_vary_header("Accept-Encoding")  # the same URL answers in two encodings
        if not self.gzip_ok:
            await self.send(message)
            return
        _weaken(headers)
        del headers["accept-ranges"]  # ranges are served from the file, not from these bytes
        self.start = message  # held until the whole body is here

    async def _send_compressed(self) -> None:
        packed = await anyio.to_thread.run_sync(self.store.get, b"".join(self.body))
        headers = MutableHeaders(scope=self.start)
        headers["content-encoding"] = "gzip"
        headers["content-length"] = str(len(packed))
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": packed, "more_body": False})
