"""The one background-job abstraction: superqt workers on the global thread pool.

Every job, a plain function or a generator, goes through :func:`start_job`, which
connects ``errored`` before the worker starts (otherwise superqt re-raises in the
GUI thread) and wraps the job so that no bare ``RuntimeError`` escapes it: superqt
reads one as "worker deleted", warns, and emits neither ``errored`` nor
``finished`` (superqt ``utils/_qthreading.py``, ``WorkerBase.run``).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

from superqt.utils import WorkerBase, create_worker

from latentlab.core.errors import LatentLabError, TrainingError
from latentlab.core.threads import use_job_threads

if TYPE_CHECKING:
    from collections.abc import Callable


def _as_latentlab_error(exc: Exception) -> LatentLabError:
    if isinstance(exc, LatentLabError):
        return exc
    return TrainingError(f"{type(exc).__name__}: {exc}")


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fn`` so every exception it raises is a :class:`LatentLabError`, and
    so that it computes with the jobs' torch threads (``core.threads``)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            use_job_threads()
            try:
                return (yield from fn(*args, **kwargs))
            except LatentLabError:
                raise
            except Exception as exc:
                raise _as_latentlab_error(exc) from exc

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        use_job_threads()
        try:
            return fn(*args, **kwargs)
        except LatentLabError:
            raise
        except Exception as exc:
            raise _as_latentlab_error(exc) from exc

    return wrapper


def start_job(
    fn: Callable[..., Any],
    *args: Any,
    on_error: Callable[[Exception], None],
    on_return: Callable[[Any], None] | None = None,
    on_yield: Callable[[Any], None] | None = None,
    on_abort: Callable[[], None] | None = None,
    on_finish: Callable[[], None] | None = None,
    start: bool = True,
    **kwargs: Any,
) -> WorkerBase:
    """Run ``fn(*args, **kwargs)`` on the thread pool and wire its signals.

    ``fn`` may be a generator function: its yields arrive in ``on_yield`` and
    ``worker.quit()`` stops it at the next yield (``aborted`` then ``finished``,
    never ``returned``). ``on_finish`` always runs last.
    """
    connect: dict[str, Any] = {"errored": on_error}
    for name, slot in (
        ("returned", on_return),
        ("yielded", on_yield),
        ("aborted", on_abort),
        ("finished", on_finish),
    ):
        if slot is not None:
            connect[name] = slot
    worker = create_worker(
        guarded(fn), *args, _start_thread=False, _connect=connect, **kwargs
    )
    if start:
        worker.start()
    return worker


def await_all(msecs: int) -> bool:
    """Ask every live worker to quit and wait up to ``msecs``; True if all ended."""
    try:
        WorkerBase.await_workers(msecs)
    except RuntimeError:  # superqt's signal that some worker outlived msecs
        return False
    return True
