"""Running a computation written as a generator of progress steps (the form
jobs take, so they can be cancelled between steps) to its end, on this
thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Generator


def run_steps(
    steps: Generator[Any, None, Any], progress: Callable[[Any], None] | None = None
) -> Any:
    """Drive ``steps`` to its end, passing each yielded value to ``progress``;
    return what it returns.

    Example: ``report = run_steps(likelihood_report(model, images))``.
    """
    while True:
        try:
            value = next(steps)
        except StopIteration as done:
            return done.value
        if progress is not None:
            progress(value)
