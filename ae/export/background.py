"""One thread that exports models for the browser, one at a time, so that no page visit waits for the exporter.

Not a daemon: a process that exits (a server stopped, a test run ending) lets the export under way finish, where a
daemon thread would be killed inside torch's exporter and take the process down with it."""

from __future__ import annotations

import threading
from collections.abc import Callable

Job = Callable[[], object]


class ExportQueue:
    """Jobs keyed by model version ("name-sha"): a version already queued, running or done is not queued again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._todo: list[tuple[str, Job]] = []
        self._seen: set[str] = set()
        self._thread: threading.Thread | None = None

    def submit(self, key: str | None, job: Job) -> bool:
        """Queue ``job`` under ``key`` unless that key was queued before (None: always); True when queued now."""
        with self._lock:
            if key is not None and key in self._seen:
                return False
            if key is not None:
                self._seen.add(key)
            self._todo.append((key, job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="aelab-export", daemon=False)
                self._thread.start()
        return True

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._todo:
                    self._thread = None
                    return
                key, job = self._todo.pop(0)
            try:
                job()
            except Exception:  # one model the exporter cannot handle must not stop the others; a later visit
                with self._lock:  # asks again (weights the exporter refused are remembered by export_one itself)
                    self._seen.discard(key)


EXPORTS = ExportQueue()  # the process's one export thread, shared by every session and the trainer
