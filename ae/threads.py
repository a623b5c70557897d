"""torch's intra-op thread count, set for the calling thread only and put back afterwards."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

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
