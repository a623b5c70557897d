"""The machine's cores, shared by training runs and heavy page work: who may run, on how many threads, in what order.

A training run sums in an order that depends on its thread count, so the count is part of the recipe. Two runs side
by side must then never put more threads on the machine than it has cores: each holds as many cores as its recipe
has threads, taken from one line (first come, first served), and a dispatcher hands runs out one at a time, waiting
for the next run's cores before it starts it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
POLL = 0.2  # seconds between looks at give_up() while waiting for cores

_threads_lock = threading.Lock()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run this thread's torch ops on ``n`` intra-op threads, then restore the thread's previous count.

    torch's count is per calling thread, initialised from the last process-wide value the first time a thread asks;
    ``get_num_threads`` does that initialisation first, and the lock keeps another thread's reset out of between."""
    with _threads_lock:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _threads_lock:
            torch.set_num_threads(before)


class Cores:
    """A counting semaphore over the machine's cores with a first-come, first-served line: a request for two cores
    is not overtaken by later requests for one, so a two-thread run never starves behind a stream of small ones."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self._free = self.total
        self._line: deque[object] = deque()
        self._cond = threading.Condition()

    def waiting(self) -> int:
        """How many requests are in line (tests use it to wait for a thread to have asked)."""
        with self._cond:
            return len(self._line)

    def acquire(self, n: int, give_up: Callable[[], bool] | None = None) -> int:
        """Take ``n`` cores (at most all of them) when first in line and that many are free; returns how many were
        taken, or 0 if ``give_up()`` turned true while waiting."""
        n = min(max(1, n), self.total)
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            try:
                while not (self._line[0] is ticket and self._free >= n):
                    if give_up is not None and give_up():
                        n = 0
                        break
                    self._cond.wait(POLL)
                self._free -= n
            finally:  # also on an interrupt: a ticket left in line would block everyone behind it
                self._line.remove(ticket)
                self._cond.notify_all()  # the next in line may now be first, or fit in what is left
        return n

    def release(self, n: int) -> None:
        with self._cond:
            self._free += n
            self._cond.notify_all()

    @contextlib.contextmanager
    def hold(self, n: int, give_up: Callable[[], bool] | None = None) -> Iterator[bool]:
        """Hold ``n`` cores for the block and yield True; or yield False, holding none, if ``give_up`` fired."""
        taken = self.acquire(n, give_up)
        try:
            yield taken > 0
        finally:
            if taken:
                self.release(taken)


# One per process: the CLI's runs, the app's trainer and the pages' heavy work share it.
CORES = Cores(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def side_by_side(
    fn: Callable[[str, Callable[[], bool]], T], names: list[str], threads: Callable[[str], int], jobs: int = 2
) -> Iterator[T]:
    """``fn(name, should_stop)`` for each name in order, up to ``jobs`` at a time, each started once its
    ``threads(name)`` cores are free; yields the results in the order given.

    Leaving early (Ctrl-C, an error, closing the generator) tells the runs under way to stop (they poll
    ``should_stop`` every batch) and waits for them, so nothing is left running."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(max(1, jobs), thread_name_prefix="aelab-run")
    futures: deque[Future] = deque()
    slots = threading.Semaphore(max(1, jobs))

    def run(name: str, n: int) -> T:
        try:
            return fn(name, stop.is_set)
        finally:
            CORES.release(n)
            slots.release()

    try:
        for name in names:
            while not slots.acquire(timeout=POLL):  # a free worker first, so the cores are not held idle
                while futures and futures[0].done():
                    yield futures.popleft().result()
            n = CORES.acquire(threads(name))
            futures.append(pool.submit(run, name, n))
            while futures and futures[0].done():
                yield futures.popleft().result()
        while futures:
            yield futures.popleft().result()
    finally:
        stop.set()
        pool.shutdown(wait=True)  # a run not yet started sees the stop at once
