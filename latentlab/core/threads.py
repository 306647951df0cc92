"""How many torch threads the app's computations use, thread by thread, and
at which priority.

torch keeps its intra-op thread count per thread once a thread has run an op
(OpenMP's setting is per thread), so a count set on one thread does not reach
worker threads that already computed. Every job therefore calls
:func:`use_job_threads` before it runs. While a run trains on its own thread
(with the cores the window leaves), the jobs use one thread: a two-thread op of
a job would otherwise take the training thread's core at each step (measured:
the in-app pair rate went from 0.81 to 0.96 of the one-core limit).

The thread counts (``job_threads``, ``serial_gui_decode``) and the niceness
(``thread_niceness``) are devices of :mod:`latentlab.core.perf`: with the switch
off every thread keeps torch's default count and the process's priority.
"""

from __future__ import annotations

import os
import sys
import threading

from latentlab.core import perf

_default: int | None = None  # torch's own count, read before any change
_job_threads: int | None = None


def set_job_threads(threads: int | None) -> None:
    """Jobs started from now on use ``threads`` torch threads (None: the default)."""
    global _job_threads
    _job_threads = threads


def training_threads() -> int | None:
    """torch threads for the app's training run: one per core the window
    leaves (None, torch's default, with the ``job_threads`` device off)."""
    if not perf.enabled("job_threads"):
        return None
    return max(1, (os.cpu_count() or 2) - 1)


# Scheduler order on Linux, where niceness is per thread: the window (0), then
# jobs, then training. A job at the window's priority took a core from it for
# up to a scheduler slice whenever training held the other one.
JOB_NICENESS = 5
TRAINING_NICENESS = 10

_lowered = threading.local()


def lower_this_thread(by: int) -> None:
    """Put the calling thread ``by`` below the app's main thread in the
    scheduler, once (Linux; elsewhere, or where refused, it keeps its priority).
    The main thread, where the window runs, is never lowered."""
    if not perf.enabled("thread_niceness"):
        return
    if getattr(_lowered, "done", False) or not sys.platform.startswith("linux"):
        return
    if threading.current_thread() is threading.main_thread():
        return
    _lowered.done = True
    try:
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())  # the main thread's
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, base + by))
    except OSError:
        pass  # not allowed here: the work still runs, only less politely


def use_job_threads() -> None:
    """Give the calling thread the jobs' torch thread count and priority."""
    global _default
    import torch  # here: the window is built before torch is imported

    lower_this_thread(JOB_NICENESS)
    if not perf.enabled("job_threads"):
        return
    if _default is None:
        _default = torch.get_num_threads()
    wanted = _job_threads or _default
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


_serial = threading.local()


def serial_torch_here() -> None:
    """Run the calling thread's torch ops on one intra-op thread, from now on;
    other threads keep their count.

    For the GUI thread, which decodes single points: one image gains nothing
    from two threads, and while training and a job hold both cores a 2-thread
    op waits for its descheduled sibling (a 0.5 ms conv decode took 40-140 ms
    at p95/max on a busy 2-core box; 2-5 / 16 ms serial). ``set_num_threads``
    also sets the default for threads yet to compute, so a helper thread puts
    that back.
    """
    if not perf.enabled("serial_gui_decode") or getattr(_serial, "done", False):
        return
    _serial.done = True
    import torch

    restore = torch.get_num_threads()  # also initialises this thread's setting
    if restore <= 1:
        return
    torch.set_num_threads(1)
    helper = threading.Thread(target=torch.set_num_threads, args=(restore,))
    helper.start()
    helper.join()
