"""``torch.no_grad()`` as a decorator that imports torch at the first call.

``import torch`` takes over a second, so the modules the window needs before its
first paint (the session, the latent maths, the analysis functions the views
name) import it inside their functions, and decorate with :func:`no_grad`
instead of ``@torch.no_grad()``, which would import torch at definition.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

F = TypeVar("F", bound="Callable[..., Any]")


def no_grad(fn: F) -> F:
    """Run ``fn`` under ``torch.no_grad()``, as the decorator does (a generator
    function's body runs under it at every resumption)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            import torch

            return (yield from torch.no_grad()(fn)(*args, **kwargs))

        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return call  # type: ignore[return-value]
