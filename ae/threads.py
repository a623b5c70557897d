"""torch's intra-op thread count, set for the calling thread only and put back afterwards."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

import torch

_lock = threading.Lock()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run this thread's torch ops on ``n`` intra-op threads, then restore the thread's previous count.

    torch's thread count is per calling thread (OpenMP), initialised from the last process-wide value the first
    time a thread asks; ``get_num_threads`` does that initialisation, so it comes first, and the lock keeps another
    thread's reset from landing in between. Whatever ran in this thread before, the block gets ``n``.
    """
    with _lock:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _lock:
            torch.set_num_threads(before)


class Cores:
    """This machine's cores, handed to training runs in line: a run holds as many as its recipe's threads and waits
    until it is first in line and that many are free. Two runs side by side (the CLI's --jobs 2, the app's two
    trainer threads) then never put three threads on two cores, and a two-thread run never waits behind a stream of
    one-thread runs that queued after it.

    A scheduler lines its runs up in its own order (``line_up`` when it hands a run out, then ``using`` around the
    run); a run that was not lined up joins the back of the line when it asks."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self._free = self.total
        self._line: list[object] = []
        self._cond = threading.Condition()
        self._mine = threading.local()  # this thread's place in line, and the cores it holds

    def line_up(self) -> object:
        """A place at the back of the line, for the run that this thread's next ``hold`` (inside ``using``) makes."""
        ticket = object()
        with self._cond:
            self._line.append(ticket)
        return ticket

    @contextlib.contextmanager
    def using(self, ticket: object) -> Iterator[None]:
        """Let this thread's ``hold`` wait in ``ticket``'s place; the place is given up if it was never used."""
        self._mine.ticket = ticket
        try:
            yield
        finally:
            self._mine.ticket = None
            self._leave(ticket)

    @contextlib.contextmanager
    def hold(self, n: int, give_up: Callable[[], bool] | None = None) -> Iterator[bool]:
        """Hold ``n`` cores (at most all of them) for the block and yield True; or yield False, holding none, if
        ``give_up()`` turns true while waiting (it is polled every 0.2 s). A thread that holds cores already
        (training inside a run that holds them) takes none again."""
        n = min(max(1, n), self.total)
        if getattr(self._mine, "held", 0) >= n:
            yield True
            return
        with self._cond:
            ticket = getattr(self._mine, "ticket", None)
            if ticket is None or ticket not in self._line:
                ticket = object()
                self._line.append(ticket)
            while not (held := self._line[0] is ticket and self._free >= n):
                if give_up is not None and give_up():
                    break
                self._cond.wait(0.2)
            self._line.remove(ticket)
            if held:
                self._free -= n
            self._cond.notify_all()  # the next in line may now be first, or fit in what is left
        if not held:
            yield False
            return
        self._mine.held = n
        try:
            yield True
        finally:
            self._mine.held = 0
            with self._cond:
                self._free += n
                self._cond.notify_all()

    def _leave(self, ticket: object) -> None:
        with self._cond:
            if ticket in self._line:
                self._line.remove(ticket)
                self._cond.notify_all()


# One per process: the CLI's runs and the app's trainer threads share it.
CORES = Cores(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
