"""The window's job runner: the workspace's jobs on worker threads.

:class:`QtRunner` implements :class:`~latentlab.core.workspace.runner.Runner`
with superqt workers (:mod:`latentlab.qt.workers`): one job per kind runs at a
time, a newer request replaces a waiting one and (with ``supersede``) asks the
running one to stop at its next ``yield``, so a burst of requests (a drag, a
zoom) costs at most two jobs. Callbacks run on the GUI thread. Which results
are still current is not decided here: that is the workspace's one rule
(:meth:`~latentlab.core.workspace.Workspace.submit`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from latentlab.core.workspace import Workspace
from latentlab.qt.workers import await_all, start_job

if TYPE_CHECKING:
    from collections.abc import Callable

    from superqt.utils import WorkerBase

    from latentlab.core.session import Session


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    on_result: Callable[[Any], None] | None
    on_error: Callable[[Exception], None] | None
    on_progress: Callable[[Any], None] | None
    on_finish: Callable[[], None] | None
    supersede: bool
    worker: WorkerBase | None = field(default=None)


class QtRunner(QObject):
    """Runs a workspace's jobs on the global thread pool.

    ``on_busy`` is told when a kind of job starts (True) or has nothing left
    to do (False).
    """

    background = True

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_busy: Callable[[str, bool], None] | None = None
        self._running: dict[str, _Job] = {}
        self._pending: dict[str, _Job] = {}
        self._delayed: dict[str, _Job] = {}
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
        delay_s: float = 0.0,
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` as the latest job of ``kind`` (after
        ``delay_s`` seconds, when given)."""
        if self._closed:
            return
        job = _Job(
            fn, args, kwargs, on_result, on_error, on_progress, on_finish, supersede
        )
        if delay_s > 0:
            self._delayed[kind] = job
            QTimer.singleShot(
                int(delay_s * 1000), self, lambda: self._waited(kind, job)
            )
            return
        self._delayed.pop(kind, None)
        self._enqueue(kind, job)

    def _waited(self, kind: str, job: _Job) -> None:
        if self._delayed.get(kind) is job:  # not cancelled nor replaced meanwhile
            del self._delayed[kind]
            self._enqueue(kind, job)

    def _enqueue(self, kind: str, job: _Job) -> None:
        if self._closed:
            return
        if kind in self._running:
            self._pending[kind] = job
            if job.supersede:
                _stop(self._running[kind])
            return
        self._start(kind, job)

    def cancel(self, kind: str) -> None:
        """Drop the waiting job of ``kind`` and stop the running one."""
        self._pending.pop(kind, None)
        self._delayed.pop(kind, None)
        running = self._running.get(kind)
        if running is not None:
            _stop(running)

    def busy(self, kind: str) -> bool:
        """True while a job of ``kind`` runs or waits."""
        return kind in self._running or kind in self._pending or kind in self._delayed

    def _start(self, kind: str, job: _Job) -> None:
        self._running[kind] = job
        self._busy(kind, True)

        def returned(value: Any) -> None:
            if job.on_result is not None and not self._closed:
                job.on_result(value)

        def errored(exc: Exception) -> None:
            if job.on_error is not None and not self._closed:
                job.on_error(exc)

        progress = {}
        if job.on_progress is not None:  # only generator workers have `yielded`
            progress["on_yield"] = lambda value: (
                None if self._closed else job.on_progress(value)
            )
        job.worker = start_job(
            job.fn,
            *job.args,
            on_return=returned,
            on_error=errored,
            **progress,
            on_finish=lambda: self._finished(kind, job),
            **job.kwargs,
        )

    def _finished(self, kind: str, job: _Job) -> None:
        if self._running.get(kind) is job:
            del self._running[kind]
        # The worker's signals hold this job's callbacks, which hold the job:
        # a cycle through Qt's connections that Python's GC cannot see. Kept,
        # every finished job stayed alive with its arguments (~5 a second while
        # training). Safe to drop: ``finished`` is the worker's last signal to
        # us, and superqt holds the worker until it has been delivered.
        job.worker = None
        if job.on_finish is not None and not self._closed:
            job.on_finish()
        pending = self._pending.pop(kind, None)
        if self._closed:
            return  # nothing more is started or announced
        if pending is not None:
            self._start(kind, pending)
        elif kind not in self._running:
            self._busy(kind, False)

    def _busy(self, kind: str, busy: bool) -> None:
        if self.on_busy is not None:
            self.on_busy(kind, busy)

    def shutdown(self, msecs: int = 1000) -> bool:
        """Stop every job, wait up to ``msecs``; True when no thread is left."""
        self._closed = True
        self._pending.clear()
        self._delayed.clear()
        for job in self._running.values():
            _stop(job)
        return await_all(msecs)


def qt_workspace(
    session: Session | None = None, parent: QObject | None = None, **kwargs: Any
) -> Workspace:
    """A :class:`~latentlab.core.workspace.Workspace` whose jobs run on worker
    threads, for the window (and its tests)."""
    return Workspace(QtRunner(parent), session=session, **kwargs)


def _stop(job: _Job) -> None:
    """Ask a generator job to end at its next yield. A plain function runs to
    its end (it cannot be interrupted) and its result is dropped as stale."""
    if job.worker is not None and inspect.isgeneratorfunction(job.fn):
        job.worker.quit()
