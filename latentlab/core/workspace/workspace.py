"""The workspace: the one place the program's work is arranged, without Qt.

It owns the :class:`~latentlab.core.session.Session` (the model slots, the
picks, ε, the selected group), runs every job through an injected
:class:`~latentlab.core.workspace.runner.Runner`, keeps every result with the
state it was computed from, and announces what happened per field (psygnal).
The window, the command line, scripts, notebooks and tests all drive it the
same way; the window's controller only relays its events to widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from latentlab.core.analysis.planes import (
    DatasetCache,
    GridRequest,
    coarse_request,
    decode_at,
    decode_manifold,
)
from latentlab.core.errors import LatentLabError
from latentlab.core.session import (
    Session,
    Side,
    model_scope,
    slice_scope,
)
from latentlab.core.workspace.analyses import WorkspaceAnalyses
from latentlab.core.workspace.files import WorkspaceFiles
from latentlab.core.workspace.runner import SyncRunner
from latentlab.core.workspace.training import WorkspaceTraining

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from latentlab.core.latent import LatentRect, LatentSlice
    from latentlab.core.workspace.runner import Runner


@dataclass(frozen=True, slots=True)
class Result:
    """An analysis result with the state it was computed from: the session
    scopes its analysis declared and their revisions then."""

    key: str
    value: Any
    inputs: tuple[str, ...]
    stamp: tuple[int, ...]


class Workspace(WorkspaceFiles, WorkspaceTraining, WorkspaceAnalyses):
    """Model slots, commands, jobs and results: what the window, the command
    line and scripts drive.

    Parameters
    ----------
    runner : Runner, optional
        Runs the jobs; by default a :class:`SyncRunner` (every command returns
        when its work is done, and errors raise).
    data_dir : str, optional
        Where datasets are found.
    slots : int
        Empty model slots to start with (the window: an AE beside a VAE).

    Example
    -------
    >>> from latentlab.core.workspace import Workspace
    >>> ws = Workspace()
    >>> ws.open("models/fashion-mnist-vae-2d.pt", slot=1)   # doctest: +SKIP
    >>> ws.decode(0.0, 0.0)                                 # doctest: +SKIP
    >>> ws.session.sides[1].kind                            # doctest: +SKIP
    'VAE'

    Signals
    -------
    decoded(int, Decoded), manifoldReady(int, Manifold)
        A slot decoded a point / a manifold.
    opened(int, str), saved(int, str), codesExported(int, str)
        A file was read or written for a slot.
    loading(int, bool)
        A slot's model is being prepared (True) or is ready (False).
    datasetNeeded(int, Checkpoint)
        A model trained elsewhere names no dataset; answer with
        :meth:`use_dataset` (only when :attr:`asks_dataset`).
    resultChanged(str)
        The result stored under that key is new.
    errorRaised(str, str), status(str)
        Title and message of a failure; a line of news.

    The training signals are documented in
    :class:`~latentlab.core.workspace.training.WorkspaceTraining`.
    """

    decoded = Signal(int, object)
    manifoldReady = Signal(int, object)
    opened = Signal(int, str)
    saved = Signal(int, str)
    codesExported = Signal(int, str)
    loading = Signal(int, bool)
    datasetNeeded = Signal(int, object)
    resultChanged = Signal(str)
    errorRaised = Signal(str, str)
    status = Signal(str)

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        data_dir: str | None = None,
        slots: int = 2,
        session: Session | None = None,
        seed: int = 0,
    ) -> None:
        self.runner: Runner = runner or SyncRunner()
        self.runner.on_busy = self._on_busy
        self.session = session or Session(seed, slots)
        self.data_dir = data_dir
        self.datasets = DatasetCache()
        self.results: dict[str, Result] = {}
        self.raise_errors = not self.runner.background
        """Scripts: a failed command raises. The window: it is reported."""
        self.asks_dataset = False
        """True once someone answers :attr:`datasetNeeded`; otherwise such a
        model is shown without a test set."""
        self.last_xy: tuple[float, float] | None = None
        """The plane point decoded last (decoded again in a new model)."""
        self._grid_wanted: dict[int, GridRequest] = {}
        self._grid_shown: dict[int, GridRequest] = {}  # the last full grid shown
        self.closed = False
        self.dropped = 0
        """Results dropped as stale (for tests and the benchmarks)."""
        self._init_training()
        self._init_analyses()

    # --- slots -------------------------------------------------------------------

    @property
    def slots(self) -> list[Side]:
        """The model slots, in order (read-only use; change them by commands)."""
        return self.session.sides

    def add_slot(self) -> int:
        """A new empty slot at the end; returns its index."""
        return self.session.add_slot()

    def remove_slot(self, slot: int) -> None:
        """Remove a slot; the ones after it move up. Not while a run trains
        (its slots would move), nor while a file loads into a slot."""
        if self.training or any(self.busy(f"load{s}") for s in range(len(self.slots))):
            raise LatentLabError("wait for the training run or the load to end first")
        self._grid_wanted = {
            s - (s > slot): g for s, g in self._grid_wanted.items() if s != slot
        }
        self._grid_shown = {
            s - (s > slot): g for s, g in self._grid_shown.items() if s != slot
        }
        self._forget_slot(slot)
        self.session.remove_slot(slot)

    def _slot(self, slot: int | None) -> int:
        """``slot``, or the first empty one (a new one when none is empty)."""
        if slot is not None:
            if not 0 <= slot < len(self.slots):
                raise LatentLabError(
                    f"no slot {slot}: there are {len(self.slots)} (add one first)"
                )
            return slot
        for i, state in enumerate(self.slots):
            if state.checkpoint is None and not state.training:
                return i
        return self.add_slot()

    # --- jobs and results: the one stale rule ------------------------------------

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        inputs: Sequence[str] = (),
        supersede: bool = True,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        delay_s: float = 0.0,
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` as the latest job of ``kind``.

        The job's results (``on_result``, and ``on_progress`` for a generator)
        are delivered while the session scopes it declared in ``inputs`` are
        unchanged; with ``supersede`` (the default) the job's own request is
        one of its inputs, so a newer job of the same kind makes it stale (and
        stops it at its next yield). ``supersede=False`` suits results that are
        still right, only older (a manifold for the previous zoom, while
        dragging). That is the only rule that drops a result.
        """
        if self.closed:
            return
        request = f"job:{kind}"
        self.session.touch(request)
        cancelled = f"cancel:{kind}"  # Workspace.cancel drops every job of a kind
        scopes = (*inputs, cancelled, request) if supersede else (*inputs, cancelled)
        stamp = self.session.stamp(*scopes)
        own = self.session.stamp(request)

        def current() -> bool:
            return not self.closed and self.session.is_current(scopes, stamp)

        def deliver(callback: Callable[[Any], None] | None) -> Callable[[Any], None]:
            def guarded(value: Any) -> None:
                if callback is None:
                    return
                if current():
                    callback(value)
                else:
                    self.dropped += 1

            return guarded

        def failed(exc: Exception) -> None:
            # An error is news unless a newer request of its kind replaced it.
            if not self.closed and self.session.is_current((request,), own):
                (on_error or self._reporter(kind))(exc)

        self.runner.submit(
            kind,
            fn,
            *args,
            on_result=deliver(on_result),
            on_error=failed,
            on_progress=deliver(on_progress) if on_progress is not None else None,
            on_finish=on_finish,
            supersede=supersede,
            delay_s=delay_s,
            **kwargs,
        )

    def cancel(self, kind: str) -> None:
        """Stop the job of ``kind``; a result it still returns is stale."""
        self.session.touch(f"job:{kind}", f"cancel:{kind}")
        self.runner.cancel(kind)

    def busy(self, kind: str) -> bool:
        """True while a job of ``kind`` runs or waits."""
        return self.runner.busy(kind)

    def compute(
        self,
        key: str,
        fn: Callable[..., Any],
        *args: Any,
        inputs: Sequence[str],
        on_result: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """Run an analysis as job ``key`` and store its result with its inputs.

        The result is kept under ``key`` (:meth:`result`) and announced by
        :attr:`resultChanged`; ``on_result`` is called with it too. It is
        current while the session scopes in ``inputs`` are unchanged.

        Example
        -------
        >>> ws.compute("mean", float.__add__, 1.0, 2.0, inputs=())  # doctest: +SKIP
        >>> ws.result("mean")                                       # doctest: +SKIP
        3.0
        """
        inputs = tuple(inputs)

        def store(value: Any) -> None:
            self.results[key] = Result(key, value, inputs, self.session.stamp(*inputs))
            if on_result is not None:
                on_result(value)
            self.resultChanged.emit(key)

        self.submit(key, fn, *args, inputs=inputs, on_result=store, **kwargs)

    def result(self, key: str) -> Any | None:
        """The result stored under ``key`` while it is current, else None."""
        record = self.results.get(key)
        if record is None or not self.session.is_current(record.inputs, record.stamp):
            return None
        return record.value

    def forget(self, key: str) -> None:
        """Drop the result stored under ``key`` (a view cleared it)."""
        self.results.pop(key, None)

    def _on_busy(self, kind: str, busy: bool) -> None:
        if kind.startswith("load") and kind[4:].isdigit():
            self.loading.emit(int(kind[4:]), busy)

    # --- decoding, picks, selection, ε -------------------------------------------

    def decode(self, x: float, y: float) -> None:
        """Decode plane point (x, y) in every slot with a model (on this
        thread: well under a frame for the shipped decoders)."""
        self.last_xy = (float(x), float(y))
        for slot in range(len(self.slots)):
            self._decode_slot(slot, x, y)

    def _decode_slot(self, slot: int, x: float, y: float) -> None:
        state = self.slots[slot]
        if state.model is not None:
            self.decoded.emit(slot, decode_at(state.model, state.latent_slice, x, y))

    def request_manifold(self, slot: int, rect: LatentRect, n: int) -> None:
        """Decode an ``n``-tile manifold over ``rect`` as a job (0: none).

        Tiles stay square, so decoded images keep their aspect ratio; while
        training, each snapshot redraws the last requested manifold itself.
        """
        state = self.slots[slot]
        if n <= 0:
            self._grid_wanted.pop(slot, None)
            self.cancel(f"grid{slot}")
            return
        request = GridRequest(rect, n, state.latent_slice)
        self._grid_wanted[slot] = request
        if state.model is None:
            return
        # A costly grid shows a coarse one first (within a frame or so), which
        # never replaces the full one once that is shown.
        coarse = coarse_request(state.model, request)
        if coarse is not None:
            self.submit(
                f"grid{slot}",
                decode_manifold,
                state.model,
                coarse,
                inputs=(model_scope(slot), slice_scope(slot)),
                supersede=False,
                on_result=lambda m: self._show_coarse(slot, request, m),
            )
        self.submit(
            f"grid{slot}",
            decode_manifold,
            state.model,
            request,
            inputs=(model_scope(slot), slice_scope(slot)),
            supersede=False,  # the previous zoom's tiles are right, only older
            on_result=lambda manifold: self._show_full(slot, request, manifold),
            on_error=lambda exc: self._fail("Could not draw the manifold", exc),
        )

    def _show_coarse(self, slot: int, request: GridRequest, manifold: Any) -> None:
        if self._grid_shown.get(slot) is not request:
            self.manifoldReady.emit(slot, manifold)

    def _show_full(self, slot: int, request: GridRequest, manifold: Any) -> None:
        self._grid_shown[slot] = request
        self.manifoldReady.emit(slot, manifold)

    def set_slice(self, slot: int, latent_slice: LatentSlice) -> None:
        """Choose the two latent dims ``slot``'s plane shows and the held values
        (the last decoded point is decoded again under them)."""
        if self.slots[slot].checkpoint is not None:
            self.session.update_side(slot, latent_slice=latent_slice)
            if self.last_xy is not None:
                self._decode_slot(slot, *self.last_xy)

    def show_epoch(self, slot: int, row: int | None) -> None:
        """Show timeline row ``row`` in ``slot``'s plane (None: the final
        model); the slots whose timelines come from the same run follow."""
        self.session.set_epoch(slot, row)
        for other in range(len(self.slots)):
            if other != slot and self.session.same_run(slot, other):
                self.session.set_epoch(other, row)

    def pick_at(
        self,
        slot: int,
        xy: tuple[float, float],
        pixel_size: tuple[float, float],
        max_px: float = 8.0,
    ) -> int | None:
        """Pick the test image plotted nearest plane point ``xy`` in ``slot``
        (at the timeline row shown), within ``max_px`` screen pixels of
        ``pixel_size`` latent units each. Returns its index, or None."""
        from latentlab.core.latent import nearest_point

        indices, points = self.session.shown_points(slot)
        j = nearest_point(points, xy, pixel_size, max_px)
        if j is None:
            return None
        index = int(j if indices is None else indices[j])
        self.session.pick(index)
        return index

    def pick(self, index: int) -> bool:
        """Make test image ``index`` the input (B); the old one becomes A."""
        return self.session.pick(index)

    def pick_pair(self, a: int, b: int) -> None:
        """Pick test images ``a`` (A) and ``b`` (B)."""
        self.session.pick_pair(a, b)

    def select(self, indices: Sequence[int], slot: int) -> None:
        """Select a group of test images of ``slot``'s data (empty: clear)."""
        self.session.set_group(indices, self.slots[slot].dataset)

    def set_eps(
        self,
        *,
        count: int | None = None,
        resample: bool = False,
        fixed: bool | None = None,
        reset: bool = False,
    ) -> None:
        """Change ε: ``count`` samples, a fresh draw, kept fixed while μ and σ
        move, or μ and σ back to the encoder's."""
        if count is not None:
            self.session.set_count(count)
        if fixed is not None:
            self.session.set_eps_fixed(fixed)
        if resample:
            self.session.resample_eps()
        if reset:
            self.session.reset_eps()

    # --- errors and shutdown -----------------------------------------------------

    def _fail(self, title: str, exc: Exception) -> None:
        """Report a failure; scripts (a synchronous runner) get it raised."""
        message = str(exc) if isinstance(exc, LatentLabError) else repr(exc)
        self.errorRaised.emit(title, message)
        self.status.emit(f"{title}: {message}")
        if self.raise_errors:
            raise exc

    def _reporter(self, kind: str) -> Callable[[Exception], None]:
        return lambda exc: self._fail(f"{kind} failed", exc)

    def close(self, msecs: int = 1000) -> bool:
        """Stop every job and wait up to ``msecs``; True when none is left.
        Nothing is delivered afterwards."""
        self.closed = True
        self._kill_training()
        return self.runner.shutdown(msecs)
