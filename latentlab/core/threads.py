"""How many torch threads the app's background jobs use.

torch keeps its intra-op thread count per thread once a thread has run an op
(OpenMP's setting is per thread), so a count set on one thread does not reach
worker threads that already computed. Every job therefore calls
:func:`use_job_threads` before it runs. While a run trains on its own thread
(with the cores the window leaves), the jobs use one thread: a two-thread op of
a job would otherwise take the training thread's core at each step (measured:
the in-app pair rate went from 0.81 to 0.96 of the one-core limit).
"""

from __future__ import annotations

_default: int | None = None  # torch's own count, read before any change
_job_threads: int | None = None


def set_job_threads(threads: int | None) -> None:
    """Jobs started from now on use ``threads`` torch threads (None: the default)."""
    global _job_threads
    _job_threads = threads


def use_job_threads() -> None:
    """Give the calling thread the jobs' torch thread count."""
    global _default
    import torch  # here: the window is built before torch is imported

    if _default is None:
        _default = torch.get_num_threads()
    wanted = _job_threads or _default
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
