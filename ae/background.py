"""Training in a background thread, for the app: one queue of runs per server, plain values for the UI to read.

The thread never touches the UI. It writes plain values (state, progress, history) under a lock; the pages poll
``snapshot()``. Across processes, the per-model file lock of ``ae.checkpoints`` keeps a second trainer (another
server, or the CLI) from training the same model: that run is reported as busy and skipped.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ae import checkpoints
from ae.data import Mnist
from ae.registry import ModelSpec
from ae.runs import longest_first, train_and_save
from ae.threads import CORES
from ae.train import Cancelled, Diverged, Progress


@dataclass
class Job:
    name: str
    epochs: int
    state: str = "queued"  # queued, running, done, cancelled, failed, busy
    message: str = ""
    epoch: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    fraction: float = 0.0
    history: list = field(default_factory=list)
    started: float | None = None
    finished: float | None = None


class Trainer:
    """Runs queued training jobs in up to ``workers`` daemon threads, longest first. Each run holds as many cores
    as its recipe has threads (ae.threads.CORES): two one-thread runs side by side on 2 cores, a two-thread run
    alone."""

    def __init__(
        self,
        load_data: Callable[[], Mnist],
        registry: dict[str, ModelSpec],
        directory: Path | str = checkpoints.DEFAULT_DIR,
        workers: int = 2,
    ) -> None:
        self._load_data = load_data
        self._registry = registry
        self._directory = directory
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: list[str] = []
        self._cancel: set[str] = set()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self.generation = 0  # bumped whenever a checkpoint is written: a cache key for everything derived

    # --- called from the UI ---

    def start(self, names: list[str], epochs: int | None = None) -> list[str]:
        """Queue ``names`` for training; returns the ones that were already queued or running."""
        skipped = []
        with self._lock:
            for name in names:
                job = self._jobs.get(name)
                if job is not None and job.state in ("queued", "running"):
                    skipped.append(name)
                    continue
                spec = self._registry[name]
                self._jobs[name] = Job(name, epochs or spec.recipe.epochs)
                self._queue.append(name)
                self._cancel.discard(name)
            self._queue = longest_first(self._queue, self._registry, self._directory)
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < min(self._workers, len(self._queue)):
                thread = threading.Thread(target=self._run, name=f"aelab-trainer-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return skipped

    def cancel(self, names: list[str] | None = None) -> None:
        with self._lock:
            for name in names if names is not None else list(self._jobs):
                job = self._jobs.get(name)
                if job is None:
                    continue
                if job.state == "queued":
                    self._queue.remove(name)
                    job.state, job.message, job.finished = "cancelled", "cancelled before it started", time.time()
                elif job.state == "running":
                    self._cancel.add(name)

    def snapshot(self) -> dict[str, Job]:
        """A copy of every job, safe to read while training goes on."""
        with self._lock:
            return {n: replace(j, history=list(j.history)) for n, j in self._jobs.items()}

    def active(self) -> bool:
        with self._lock:
            return any(j.state in ("queued", "running") for j in self._jobs.values())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty (tests, CLI); True if it emptied in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.active()

    # --- the worker thread ---

    def _next(self) -> tuple[str, object] | None:
        """The next job and its place in line for cores, taken together so that the line keeps the queue's order."""
        with self._lock:
            if not self._queue:
                # Leave the pool under the lock: a start() from now on sees this worker gone and starts another.
                with contextlib.suppress(ValueError):
                    self._threads.remove(threading.current_thread())
                return None
            name = self._queue.pop(0)
            job = self._jobs[name]
            job.state, job.started = "running", time.time()
            return name, CORES.line_up()

    def _update(self, name: str, **values) -> None:
        with self._lock:
            job = self._jobs[name]
            for k, v in values.items():
                setattr(job, k, v)

    def _run(self) -> None:
        while (turn := self._next()) is not None:
            name, ticket = turn
            with CORES.using(ticket):
                self._run_one(name)

    def _run_one(self, name: str) -> None:
        job_epochs = self._jobs[name].epochs
        spec = self._registry[name]

        def progress(p: Progress, name: str = name) -> None:
            self._update(
                name, epoch=p.epoch, step=p.step, steps=p.steps, loss=p.loss, fraction=p.fraction,
                history=list(p.history),
            )  # fmt: skip

        def should_stop(name: str = name) -> bool:
            return name in self._cancel

        try:
            meta = train_and_save(
                spec, self._load_data(), directory=self._directory,
                epochs=None if job_epochs == spec.recipe.epochs else job_epochs,
                progress=progress, should_stop=should_stop,
                command=f"python -m ae train --model {name}"
                + ("" if job_epochs == spec.recipe.epochs else f" --epochs {job_epochs}"),
            )  # fmt: skip
        except checkpoints.TrainingBusy as e:
            self._finish(name, "busy", str(e))
        except Cancelled:
            self._finish(name, "cancelled", "cancelled; the previous checkpoint is kept")
        except Diverged as e:
            self._finish(name, "failed", str(e))
        except Exception as e:
            self._finish(name, "failed", f"{type(e).__name__}: {e}")
        else:
            m = meta["metrics"]
            with self._lock:
                self.generation += 1
            self._finish(
                name, "done", f"test MSE {m['test_mse']:.5f} after {len(meta['history'])} epochs, "
                f"{meta['wall_time_s']:.0f} s", fraction=1.0, history=meta["history"],
            )  # fmt: skip

    def _finish(self, name: str, state: str, message: str, **values) -> None:
        with self._lock:
            self._cancel.discard(name)
        self._update(name, state=state, message=message, finished=time.time(), **values)
