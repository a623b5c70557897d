"""Keep freed memory in the process instead of handing it back to the kernel after every training step.

glibc's malloc returns large freed blocks to the kernel (mmap for blocks over its threshold, trimming the heap
top otherwise), so each step's big activations (the conv model's first layer) would arrive as fresh pages that the
kernel must fault in and zero, thousands of minor page faults per step (bench/README.md). Other C libraries are
left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # from glibc's malloc.h


@functools.cache
def keep_freed_memory() -> bool:
    """Tune glibc's malloc once per process; returns whether it applied."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (M_MMAP_THRESHOLD, 32 << 20),  # glibc's maximum: blocks up to 32 MB come from the heap
            (M_TRIM_THRESHOLD, 1 << 30),  # keep up to 1 GB of freed heap for reuse
            (M_TOP_PAD, 64 << 20),  # grow the heap in 64 MB steps
        )
    )
