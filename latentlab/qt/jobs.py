"""The one job runner: background jobs keyed by kind, stale results dropped.

Every job names the session scopes it reads (``"side0"``, ``"selection"``,
``"eps"``, …). :meth:`JobRunner.submit` takes the session's :meth:`stamp` of
those scopes; when the job ends, its result is delivered only if the stamp is
still current *and* no newer job of the same kind was submitted since. That is
the only rule for dropping stale results: views never compare identities.

One job per kind runs at a time. A newer request supersedes a waiting one and
asks the running one to stop at its next ``yield`` (generator jobs), so a burst
of requests (a drag, a zoom) costs at most two jobs.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from latentlab.qt.workers import await_all, start_job

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from superqt.utils import WorkerBase

    from latentlab.core.session import Session


@dataclass(slots=True)
class _Job:
    ticket: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    scopes: tuple[str, ...]
    stamp: tuple[int, ...]
    on_result: Callable[[Any], None] | None
    on_error: Callable[[Exception], None] | None
    on_progress: Callable[[Any], None] | None
    on_finish: Callable[[], None] | None
    keep_superseded: bool
    worker: WorkerBase | None = field(default=None)


class JobRunner(QObject):
    """Runs the app's background jobs against a :class:`Session`.

    Signals
    -------
    busyChanged(str, bool)
        A kind of job started (True) or has nothing left to do (False).
    failed(str, object)
        A job of this kind raised (the exception), after its own ``on_error``.
    """

    busyChanged = Signal(str, bool)
    failed = Signal(str, object)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._tickets = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._running: dict[str, _Job] = {}
        self._pending: dict[str, _Job] = {}
        self._closed = False
        self.dropped = 0
        """Results dropped as stale (for tests and the benchmarks)."""

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        scopes: Sequence[str] = (),
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        keep_superseded: bool = False,
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` as the latest job of ``kind``.

        ``on_result`` gets the return value only while ``scopes`` are unchanged
        and (unless ``keep_superseded``) no newer job of ``kind`` was submitted;
        ``on_progress`` gets a generator's yields under the same rule.
        ``keep_superseded`` suits jobs whose older results are still right,
        only older (a manifold for the previous zoom, while dragging).
        """
        if self._closed:
            return
        scopes = tuple(scopes)
        job = _Job(
            next(self._tickets),
            fn,
            args,
            kwargs,
            scopes,
            self.session.stamp(*scopes),
            on_result,
            on_error,
            on_progress,
            on_finish,
            keep_superseded,
        )
        self._latest[kind] = job.ticket
        if kind in self._running:
            self._pending[kind] = job
            running = self._running[kind]
            if not keep_superseded:
                _stop(running)
            return
        self._start(kind, job)

    def cancel(self, kind: str) -> None:
        """Drop the waiting job of ``kind`` and any result of the running one."""
        self._pending.pop(kind, None)
        self._latest[kind] = next(self._tickets)
        running = self._running.get(kind)
        if running is not None:
            _stop(running)

    def busy(self, kind: str) -> bool:
        """True while a job of ``kind`` runs or waits."""
        return kind in self._running or kind in self._pending

    def is_current(self, kind: str, job: _Job) -> bool:
        """True when ``job``'s result may be shown."""
        if self._closed or not self.session.is_current(job.scopes, job.stamp):
            return False
        return job.keep_superseded or self._latest.get(kind) == job.ticket

    def _start(self, kind: str, job: _Job) -> None:
        self._running[kind] = job
        self.busyChanged.emit(kind, True)

        def deliver(callback: Callable[[Any], None] | None, value: Any) -> None:
            if callback is None:
                return
            if self.is_current(kind, job):
                callback(value)
            else:
                self.dropped += 1

        def errored(exc: Exception) -> None:
            if self._closed or self._latest.get(kind) != job.ticket:
                return  # an error of a superseded job is no news either
            if job.on_error is not None:
                job.on_error(exc)
            self.failed.emit(kind, exc)

        progress = {}
        if job.on_progress is not None:  # only generator workers have `yielded`
            progress["on_yield"] = lambda value: deliver(job.on_progress, value)
        job.worker = start_job(
            job.fn,
            *job.args,
            on_return=lambda value: deliver(job.on_result, value),
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
        if pending is not None and not self._closed:
            self._start(kind, pending)
        elif kind not in self._running:
            self.busyChanged.emit(kind, False)

    def shutdown(self, msecs: int = 1000) -> bool:
        """Stop every job, wait up to ``msecs``; True when no thread is left."""
        self._closed = True
        self._pending.clear()
        for job in self._running.values():
            _stop(job)
        return await_all(msecs)


def _stop(job: _Job) -> None:
    """Ask a generator job to end at its next yield. A plain function runs to
    its end (it cannot be interrupted) and its result is dropped as stale."""
    if job.worker is not None and inspect.isgeneratorfunction(job.fn):
        job.worker.quit()
