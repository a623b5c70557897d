"""Training in the background, for the app: one queue of runs per server, plain values for the UI to read.

The worker threads never touch the UI. They write plain values (state, progress, history) under a lock, and the
pages poll ``snapshot()``. Across processes, the per-model file lock of ``checkpoints`` keeps a second trainer
(another server, or the CLI) from training the same model: that run is reported as busy and skipped.

Bounds hold here, where runs are started, whatever the page offers: at most ``MAX_EPOCHS`` per run, and a session
(``owner``) starts nothing new while one of its runs is queued or running.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ae.data.mnist import Mnist
from ae.models.specs import ModelSpec
from ae.runtime.cores import CORES
from ae.storage import checkpoints
from ae.storage.snapshots import Snapshots
from ae.training.loop import Cancelled, Diverged, Progress
from ae.training.runs import longest_first, train_and_save

MAX_EPOCHS = 50  # a run longer than this would hold the server's cores for a lesson's length
ACTIVE = ("queued", "running")


Registry = dict[str, ModelSpec] | Callable[[], dict[str, ModelSpec]]


class Refused(ValueError):
    """A request the trainer will not take; the message says why, for the user."""


@dataclass
class Job:
    name: str
    epochs: int
    owner: str = ""  # the session that asked for it
    seed: int | None = None  # None: the recipe's own
    state: str = "queued"  # queued, running, done, cancelled, failed, busy
    message: str = ""
    epoch: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    fraction: float = 0.0
    history: list = field(default_factory=list)
    snapshots: Snapshots | None = None  # the run's per-epoch snapshots so far (new arrays each epoch: safe to keep)
    started: float | None = None
    finished: float | None = None


class Trainer:
    """Runs queued jobs, longest first, at most ``workers`` at a time, each on its recipe's cores (cores.CORES):
    two one-thread runs side by side on 2 cores, a two-thread run alone."""

    def __init__(
        self,
        load_data: Callable[[str], Mnist],  # the dataset of that key
        registry: Registry,
        directory: Path | str,
        workers: int = 2,
        after: Callable[[str], object] | None = None,
    ) -> None:
        # A callable registry is asked anew at every start: models built in the lab join it while the server runs.
        # ``after(name)`` runs on the job's thread once its checkpoint is written (the app exports it for the browser).
        self._load_data, self._directory, self._after = load_data, directory, after
        self._registry_now = registry if callable(registry) else lambda: registry
        self._registry: dict[str, ModelSpec] = {}  # the spec of every job, as it was when the job was queued
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queue: list[str] = []
        self._cancel: set[str] = set()
        self._slots = threading.Semaphore(max(1, workers))
        self._dispatcher: threading.Thread | None = None
        self.generation = 0  # bumped whenever a checkpoint is written: a cache key for everything derived

    # --- called from the UI ---

    def start(
        self, names: list[str], epochs: int | None = None, *, seed: int | None = None, owner: str = ""
    ) -> list[str]:
        """Queue ``names`` (``epochs``, ``seed``: None for each recipe's own); returns the ones already queued or
        running. Raises Refused for a request out of bounds."""
        registry = self._registry_now()
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise Refused(f"unknown model(s): {', '.join(unknown)}")
        if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
            raise Refused(f"epochs must be between 1 and {MAX_EPOCHS}, not {epochs}")
        try:
            specs = {n: registry[n].with_seed(seed) for n in names}
        except ValueError as e:
            raise Refused(str(e)) from None
        with self._lock:
            if owner and any(j.owner == owner and j.state in ACTIVE for j in self._jobs.values()):
                raise Refused("your previous retrain is still queued or running: wait for it, or cancel it first")
            skipped = [n for n in names if n in self._jobs and self._jobs[n].state in ACTIVE]
            for name in (n for n in names if n not in skipped):
                self._registry[name] = specs[name]
                self._jobs[name] = Job(name, epochs or specs[name].recipe.epochs, owner, seed)
                self._queue.append(name)
                self._cancel.discard(name)
            self._queue = longest_first(self._queue, self._registry, self._directory)
            if self._queue and self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="aelab-dispatch", daemon=True)
                self._dispatcher.start()
        return skipped

    def cancel(self, names: list[str] | None = None, *, owner: str | None = None) -> list[str]:
        """Cancel ``names`` (default: all); with ``owner``, only that owner's. Returns the names cancelled."""
        done = []
        with self._lock:
            for name in names if names is not None else list(self._jobs):
                job = self._jobs.get(name)
                if job is None or job.state not in ACTIVE or (owner is not None and job.owner != owner):
                    continue
                if job.state == "queued":
                    self._queue.remove(name)
                    job.state, job.message, job.finished = "cancelled", "cancelled before it started", time.time()
                    self._lock.notify_all()
                else:
                    self._cancel.add(name)
                done.append(name)
        return done

    def snapshot(self) -> dict[str, Job]:
        """A copy of every job, safe to read while training goes on."""
        with self._lock:
            return {n: replace(j, history=list(j.history)) for n, j in self._jobs.items()}

    def active(self) -> bool:
        with self._lock:
            return any(j.state in ACTIVE for j in self._jobs.values())

    def wait(self, timeout: float) -> bool:
        """Block until no job is queued or running (tests, CLI); True if that happened within ``timeout`` s."""
        with self._lock:
            return self._lock.wait_for(lambda: not any(j.state in ACTIVE for j in self._jobs.values()), timeout)

    # --- the dispatcher and worker threads ---

    def _dispatch(self) -> None:
        """Hand the queue out in order: a free worker, then the next run's cores, then a thread that trains it."""
        while True:
            self._slots.acquire()
            with self._lock:
                if not self._queue:
                    self._dispatcher = None  # under the lock: a start() from now on starts another dispatcher
                    self._slots.release()
                    return
                name = self._queue.pop(0)
                self._jobs[name].state, self._jobs[name].started = "running", time.time()
            taken = CORES.acquire(self._registry[name].recipe.threads, give_up=lambda n=name: n in self._cancel)
            if not taken:
                self._slots.release()
                self._finish(name, "cancelled", "cancelled before it started")
                continue
            threading.Thread(target=self._run, args=(name, taken), name=f"aelab-train-{name}", daemon=True).start()

    def _run(self, name: str, cores: int) -> None:
        try:
            self._train(name)
        finally:
            CORES.release(cores)
            self._slots.release()

    def _train(self, name: str) -> None:
        job, spec = self._jobs[name], self._registry[name]
        override = None if job.epochs == spec.recipe.epochs else job.epochs
        command = f"python -m ae train --model {name}" + (f" --epochs {job.epochs}" if override else "")
        command += f" --seed {job.seed}" if job.seed is not None else ""

        def progress(p: Progress) -> None:
            values = {"epoch": p.epoch, "step": p.step, "steps": p.steps, "loss": p.loss, "fraction": p.fraction}
            self._update(name, history=list(p.history), **values)

        try:
            meta = train_and_save(
                spec, self._load_data(spec.dataset), directory=self._directory, epochs=override, progress=progress,
                should_stop=lambda: name in self._cancel, command=command,
                watch=lambda snaps: self._update(name, snapshots=snaps),
            )  # fmt: skip
        except checkpoints.TrainingBusy as e:
            self._finish(name, "busy", str(e))
        except Cancelled:
            self._finish(name, "cancelled", "cancelled; the previous checkpoint is kept")
        except Exception as e:  # Diverged, a bad recipe, a full disk: the page shows it, the server goes on
            self._finish(name, "failed", str(e) if isinstance(e, Diverged) else f"{type(e).__name__}: {e}")
        else:
            m = meta["metrics"]
            with self._lock:
                self.generation += 1
            message = f"test MSE {m['test_mse']:.5f} after {len(meta['history'])} epochs, {meta['wall_time_s']:.0f} s"
            self._finish(name, "done", message, fraction=1.0, history=meta["history"])
            if self._after is not None:
                # The checkpoint is written and the job done: should this fail, a page visit queues the export.
                with contextlib.suppress(Exception):
                    self._after(name)

    def _update(self, name: str, **values) -> None:
        with self._lock:
            job = self._jobs[name]
            for k, v in values.items():
                setattr(job, k, v)

    def _finish(self, name: str, state: str, message: str, **values) -> None:
        with self._lock:
            self._cancel.discard(name)
            self._update(name, state=state, message=message, finished=time.time(), **values)
            self._lock.notify_all()
