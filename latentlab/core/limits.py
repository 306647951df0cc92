"""How much memory a file may make LatentLab allocate, from the machine's size.

A small file can declare a huge size (an IDX header, a checkpoint's config, a
gzip or zip stream); every reader compares what it is about to allocate with
these bounds first and refuses with a message instead of running out of memory.
"""

from __future__ import annotations

import os
import resource

GiB = 1024**3
# An IDX file larger than this is not a dataset LatentLab can train on in memory.
MAX_IDX_BYTES = 2 * GiB


def physical_memory() -> int:
    """Bytes of RAM (``os.sysconf``), or 8 GiB where the platform cannot say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * GiB


def _address_space_left() -> int | None:
    """Room below ``RLIMIT_AS`` (ulimit -v), or None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(soft - used, 0)


def memory_budget() -> int:
    """Bytes one file may make LatentLab allocate: a quarter of RAM, and at most
    half of what ``ulimit -v`` leaves."""
    budget = physical_memory() // 4
    left = _address_space_left()
    if left is not None:
        budget = min(budget, left // 2)
    return budget


def training_budget() -> int:
    """Bytes a training run may take: half of RAM, within ``ulimit -v``."""
    budget = physical_memory() // 2
    left = _address_space_left()
    return budget if left is None else min(budget, left)


def idx_limit() -> int:
    """Largest uncompressed IDX file LatentLab reads."""
    return min(MAX_IDX_BYTES, memory_budget())


def format_bytes(n: int | float) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024, one decimal)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1024 or unit == "PB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PB"  # pragma: no cover - the loop always returns
