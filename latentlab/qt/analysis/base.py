"""The base of every analysis view: idle while hidden, catch up when shown, and
say which model is missing instead of showing something left over.

A view gets the :class:`~latentlab.core.session.Session` and the
:class:`~latentlab.qt.jobs.JobRunner`, never the main window. It subscribes to
the session's events; while its tab is hidden it only records *what* changed
(``"sides"``, ``"selection"``, ``"eps"``, plus ``"ae"`` / ``"vae"`` when the
side holding that model changed or the model moved to the other side, and
``"ae.model"`` / ``"vae.model"`` when the model itself is another one) and,
once shown, calls :meth:`AnalysisView.refresh` once with that set. Its jobs go through
:meth:`AnalysisView.submit`, so their results are dropped when the session
scopes they read have changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.session import model_scope, same_data
from latentlab.qt.widgets.styles import HINT_STYLE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from latentlab.core.session import Session, Side
    from latentlab.qt.jobs import JobRunner

ALL_CHANGES = frozenset({"sides", "selection", "eps"})
MODEL_NAMES = {"vae": "a VAE", "ae": "an autoencoder (AE)"}


class AnalysisView(QWidget):
    """One tab of the window. Subclasses set the class attributes, build their
    widgets into :attr:`body` and implement :meth:`refresh` and :meth:`clear`.

    Class attributes
    ----------------
    key : str
        Short name (jobs are named ``key.kind``; tests look views up by it).
    title, tooltip : str
        The tab's text and tooltip.
    needs : tuple of str
        Models the view cannot do without: ``"vae"`` and/or ``"ae"``.
    same_data : bool
        With two needs: both must be trained on the same dataset.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()
    same_data: ClassVar[bool] = False
    figures: ClassVar[tuple[tuple[str, str], ...]] = ()
    """File ▸ Export Figure entries: (path of the plot in the view, menu text).
    The path is an attribute, then ``/``-separated keys or attributes
    (``"planes/VAE"``: ``self.planes["VAE"]``)."""

    def __init__(
        self, session: Session, jobs: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self._dirty: set[str] = set(ALL_CHANGES)
        self._changed_sides: set[int] = set()
        self._drawn_roles: dict[str, int | None] = {}
        self._drawn_models: dict[str, tuple[int, ...] | None] = {}
        self._closed = False
        self.refresh_count = 0
        """Redraws and jobs started: unchanged while the view is hidden."""
        self.body = QWidget()
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        self.message = QLabel("", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(HINT_STYLE + " font-size: 14px; padding: 24px;")
        self._pages = QStackedWidget(self)
        self._pages.addWidget(scroll)
        self._pages.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._pages)
        session.sideChanged.connect(self._on_side_changed)
        session.selectionChanged.connect(self._on_selection_changed)
        session.epsChanged.connect(self._on_eps_changed)

    # --- what the view needs -----------------------------------------------------

    def side_for(self, kind: str) -> Side | None:
        """The side showing ``kind`` (``"vae"`` or ``"ae"``), if any is ready."""
        s = self.session.role(kind)
        return None if s is None else self.session.sides[s]

    def missing(self) -> str | None:
        """What the view lacks, in words for the user; None when it can work."""
        absent = [n for n in self.needs if self.side_for(n) is None]
        if absent:
            what = " and ".join(MODEL_NAMES[n] for n in absent)
            return (
                f"{self.title} needs {what}.\n\nOpen one with File ▸ Open, drop a "
                "checkpoint on a panel of the Latent planes tab, or train an AE and "
                "a VAE with Train ▸ Train AE + VAE."
            )
        if self.same_data and len(self.needs) == 2:
            a, b = (self.side_for(n) for n in self.needs)
            if not same_data(a.dataset, b.dataset):
                return (
                    f"{self.title} compares two models on the same test images, "
                    "but the AE and the VAE shown were trained on different data."
                )
        return None

    @property
    def showing_message(self) -> bool:
        """True while the view shows what it needs instead of content."""
        return self._pages.currentIndex() == 1

    # --- change tracking ---------------------------------------------------------

    def _on_side_changed(self, side: int) -> None:
        self._changed_sides.add(side)
        self.invalidate("sides")

    def _role_changes(self) -> set[str]:
        """``"ae"`` / ``"vae"`` for each model whose side changed or moved, and
        ``"ae.model"`` / ``"vae.model"`` when the model itself (not only its
        slice, title or saved state) is another one."""
        out = set()
        for kind in ("ae", "vae"):
            side = self.session.role(kind)
            moved = side != self._drawn_roles.get(kind, -1)
            if side in self._changed_sides or moved:
                out.add(kind)
            stamp = None if side is None else self.session.stamp(model_scope(side))
            if moved or stamp != self._drawn_models.get(kind):
                out.add(f"{kind}.model")
            self._drawn_roles[kind] = side
            self._drawn_models[kind] = stamp
        self._changed_sides.clear()
        return out

    def _on_selection_changed(self) -> None:
        self.invalidate("selection")

    def _on_eps_changed(self) -> None:
        self.invalidate("eps")

    def invalidate(self, what: str) -> None:
        """Note that ``what`` changed; refresh now if the view is visible."""
        self._dirty.add(what)
        if self.isVisible():
            self.catch_up()

    @property
    def stale(self) -> bool:
        """True while changes recorded when hidden wait for the view to be shown."""
        return bool(self._dirty)

    def catch_up(self) -> None:
        """Apply what changed since the last refresh (run when shown)."""
        if self._closed or not self._dirty:
            return
        dirty, self._dirty = set(self._dirty), set()
        if "sides" in dirty:
            dirty |= self._role_changes()
        message = self.missing()
        if message is not None:
            self.message.setText(message)
            self._pages.setCurrentIndex(1)
            self._drawn_roles.clear()  # drawn again in full once it can work
            self._drawn_models.clear()
            self.clear()
            return
        self._pages.setCurrentIndex(0)
        self.refresh_count += 1
        self.refresh(frozenset(dirty))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.catch_up()

    # --- for subclasses ----------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        """Redraw from the session; ``changed`` says what changed since last time."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget every result shown (the models it came from are gone)."""
        raise NotImplementedError

    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        scopes: Sequence[str],
        **kwargs: Any,
    ) -> None:
        """Run a job named ``key.kind``; see :meth:`JobRunner.submit`."""
        if self._closed:
            return
        self.refresh_count += 1
        self.jobs.submit(f"{self.key}.{kind}", fn, *args, scopes=scopes, **kwargs)

    def busy(self, kind: str) -> bool:
        """True while this view's job ``kind`` runs or waits."""
        return self.jobs.busy(f"{self.key}.{kind}")

    def shutdown(self) -> None:
        """The window closes: start nothing more."""
        self._closed = True
