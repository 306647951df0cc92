"""How a workspace's jobs run: the :class:`Runner` protocol, and
:class:`SyncRunner`, which runs each job at once on the caller's thread
(scripts, notebooks, the command line, tests). The window injects a Qt runner
(``latentlab.qt.jobs.QtRunner``) that runs them on worker threads.

A runner only runs: which results are still current is the workspace's one
rule (:meth:`~latentlab.core.workspace.Workspace.submit`), not the runner's.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable


class Runner(Protocol):
    """What a workspace needs from a job runner.

    One job per *kind* runs at a time; a job submitted while one of its kind
    runs waits for it (replacing any job already waiting), and with
    ``supersede`` the running one is asked to stop at its next ``yield``.
    Callbacks run on the thread that owns the workspace.
    """

    background: bool
    """True when jobs run on other threads (the window); False when
    :meth:`submit` returns only after the job ended."""

    on_busy: Callable[[str, bool], None] | None
    """Told when a kind of job starts (True) or has nothing left to do (False)."""

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        supersede: bool = True,
        delay_s: float = 0.0,
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)``; a generator's yields go to ``on_progress``."""

    def cancel(self, kind: str) -> None:
        """Drop the waiting job of ``kind`` and ask the running one to stop."""

    def busy(self, kind: str) -> bool:
        """True while a job of ``kind`` runs or waits."""

    def shutdown(self, msecs: int = 1000) -> bool:
        """Stop every job, wait up to ``msecs``; True when none is left."""


@dataclass(slots=True)
class _SyncJob:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    callbacks: dict[str, Callable[..., Any] | None]
    stop: bool = field(default=False)


class SyncRunner:
    """Runs every job at once, on the caller's thread.

    A generator job is iterated to its end, each yield passed to
    ``on_progress``; :meth:`cancel` (from a progress callback, say) closes it
    at its next yield. A job without ``on_error`` raises its exception to the
    caller, so a script sees what went wrong.

    Example
    -------
    >>> runner = SyncRunner()
    >>> got = []
    >>> runner.submit("add", lambda a, b: a + b, 2, 3, on_result=got.append)
    >>> got
    [5]
    """

    background = False

    def __init__(self) -> None:
        self.on_busy: Callable[[str, bool], None] | None = None
        self._running: dict[str, _SyncJob] = {}
        self._pending: dict[str, _SyncJob] = {}
        self._closed = False

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        supersede: bool = True,
        delay_s: float = 0.0,  # nothing to stagger on one thread
        **kwargs: Any,
    ) -> None:
        """Run the job now (or right after the running job of its kind)."""
        if self._closed:
            return
        job = _SyncJob(
            fn,
            args,
            kwargs,
            {
                "result": on_result,
                "error": on_error,
                "progress": on_progress,
                "finish": on_finish,
            },
        )
        if kind in self._running:  # submitted from one of its own callbacks
            self._pending[kind] = job
            if supersede:
                self._running[kind].stop = True
            return
        while job is not None:
            self._run(kind, job)
            job = self._pending.pop(kind, None)

    def _run(self, kind: str, job: _SyncJob) -> None:
        self._running[kind] = job
        if self.on_busy is not None:
            self.on_busy(kind, True)
        call = job.callbacks
        try:
            value = job.fn(*job.args, **job.kwargs)
            if inspect.isgenerator(value):
                value = self._iterate(value, job)
        except _CallbackFailed as failed:
            raise failed.__cause__ from None  # the listener's error, not the job's
        except Exception as exc:
            if call["error"] is None:
                raise
            call["error"](exc)
        else:
            if call["result"] is not None and not job.stop:
                call["result"](value)
        finally:
            del self._running[kind]
            if call["finish"] is not None:
                call["finish"]()
            if self.on_busy is not None and kind not in self._pending:
                self.on_busy(kind, False)

    @staticmethod
    def _iterate(gen: Any, job: _SyncJob) -> Any:
        progress = job.callbacks["progress"]
        try:
            while True:
                item = next(gen)
                if progress is not None:
                    try:
                        progress(item)
                    except Exception as exc:
                        gen.close()
                        raise _CallbackFailed from exc
                if job.stop:
                    gen.close()
                    return None
        except StopIteration as done:
            return done.value

    def cancel(self, kind: str) -> None:
        """Drop the waiting job of ``kind``; the running one stops at its next yield."""
        self._pending.pop(kind, None)
        if kind in self._running:
            self._running[kind].stop = True

    def busy(self, kind: str) -> bool:
        """True while a job of ``kind`` runs (inside a callback) or waits."""
        return kind in self._running or kind in self._pending

    def shutdown(self, msecs: int = 1000) -> bool:
        """Start nothing more; running jobs stop at their next yield."""
        self._closed = True
        self._pending.clear()
        for job in self._running.values():
            job.stop = True
        return True


class _CallbackFailed(Exception):
    """A progress callback raised: its error goes to the caller as it is."""
