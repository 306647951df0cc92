"""The base of every analysis view: idle while hidden, catch up when shown, and
say which model is missing instead of showing something left over.

A view gets the :class:`~latentlab.core.workspace.Workspace`, never the main
window. It says what it needs (:attr:`AnalysisView.needs`: ``"vae"``, ``"ae"``
or ``"model"``); the workspace says which slot serves each need (the user's
choice in the view's header, else the first AE and the last VAE). What it drew
is remembered as the stamp of the session scopes it shows, and it redraws when
that stamp is no longer current: the same rule that decides whether a result is
(:meth:`~latentlab.core.workspace.Workspace.submit`). ``changed`` names what
differs: ``"selection"``, ``"eps"``, ``"ae"`` / ``"vae"`` (the slot serving
that need changed, or is another slot), ``"ae.model"`` / ``"vae.model"`` (its
model itself is another one) and ``"sides"`` (either). Its jobs go through
:meth:`AnalysisView.submit`, so their results are stored in the workspace with
the scopes they read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.session import model_scope, same_data, side_scope, slot_name
from latentlab.core.workspace.analyses import NEEDS, fits
from latentlab.qt.widgets.styles import HINT_STYLE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from latentlab.core.session import Side
    from latentlab.core.workspace import Workspace

ROLE_NEEDS = ("ae", "vae")
CHOOSER_LABELS = {"vae": "VAE", "ae": "AE", "model": "Model"}


def model_names(session, slots: Sequence[int | None]) -> tuple[str, ...]:
    """What the models a view compares are called: their kinds, and where
    they sit when two are of the same kind (``VAE (left)``, ``VAE (right)``)."""
    kinds = [session.sides[s].kind if s is not None else "" for s in slots]
    return tuple(
        f"{k} ({slot_name(s)})" if kinds.count(k) > 1 else k
        for k, s in zip(kinds, slots, strict=True)
    )


class PageWheel(QObject):
    """Sends the wheel over a table inside a scrolled page to the page, unless
    the table has the focus (clicked into) and can still scroll that way: a
    wheel over a table no longer gets stuck scrolling a few rows."""

    def __init__(self, page: QScrollArea) -> None:
        super().__init__(page)
        self.page = page

    def watch(self, table: QAbstractItemView) -> None:
        table.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel:
            return False
        table = obj.parent()
        bar = table.verticalScrollBar()
        up = event.angleDelta().y() > 0
        can_scroll = bar.maximum() > 0 and (
            bar.value() > bar.minimum() if up else bar.value() < bar.maximum()
        )
        if table.hasFocus() and can_scroll:
            return False
        QApplication.sendEvent(self.page.verticalScrollBar(), event)
        return True


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
        Models the view cannot do without: ``"vae"``, ``"ae"``, ``"model"``.
    same_data : bool
        With two needs: both must be trained on the same dataset.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    """Models the view shows when there are, without needing them (its
    choosers offer them when it has no needs)."""
    choice_key: ClassVar[str] = ""
    """Another view whose choice of slots this one shares (its key)."""
    prefers: ClassVar[tuple[str, ...]] = ()
    """For a ``"model"`` need, the kind picked by default (``"ae"``, ``"vae"``)."""
    same_data: ClassVar[bool] = False
    figures: ClassVar[tuple[tuple[str, str], ...]] = ()
    """File ▸ Export Figure entries: (path of the plot in the view, menu text).
    The path is an attribute, then ``/``-separated keys or attributes
    (``"planes/VAE"``: ``self.planes["VAE"]``)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.session = workspace.session
        self.jobs = workspace
        self._drawn: dict[str, Any] = {}
        self._listening: list[tuple[Any, Callable[..., Any]]] = []
        self.refresh_count = 0
        """Redraws and jobs started: unchanged while the view is hidden."""
        self.body = QWidget()
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        self.page_wheel = PageWheel(scroll)
        self._wheel_watched = False
        self.message = QLabel("", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(HINT_STYLE + " font-size: 14px; padding: 24px;")
        self._pages = QStackedWidget(self)
        self._pages.addWidget(scroll)
        self._pages.addWidget(self.message)
        self.choosers = self._build_choosers()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choosers)
        layout.addWidget(self._pages)
        for signal in (
            self.session.sideChanged,
            self.session.slotsChanged,
            self.session.selectionChanged,
            self.session.epsChanged,
        ):
            self.listen(signal, self._on_session_changed)

    def listen(self, signal: Any, slot: Callable[..., Any]) -> None:
        """Connect ``slot`` to a session or workspace event until
        :meth:`shutdown` (the window closes)."""
        signal.connect(slot)
        self._listening.append((signal, slot))

    @property
    def _closed(self) -> bool:
        return self.workspace.closed

    # --- which slots serve the needs ---------------------------------------------

    def _build_choosers(self) -> QWidget:
        """One combo per need, listing the slots that fit it; shown only when
        there is a choice to make."""
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(6, 2, 6, 0)
        self.slot_boxes: list[QComboBox] = []
        self._box_labels: list[QLabel] = []
        wanted = self._choices()
        several = wanted.count("model") > 1
        for i, need in enumerate(wanted):
            text = CHOOSER_LABELS[need] + (f" {i + 1}" if several else "")
            label = QLabel(f"{text}:", bar)
            box = QComboBox(bar)
            box.setToolTip(f"Which model this tab uses as {NEEDS[need]}")
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.activated.connect(lambda _i, n=i: self._on_chosen(n))
            row.addWidget(label)
            row.addWidget(box)
            self.slot_boxes.append(box)
            self._box_labels.append(label)
        row.addStretch(1)
        bar.hide()
        return bar

    def _choices(self) -> tuple[str, ...]:
        """What the choosers choose: the needs, else the optional models."""
        return self.needs or self.optional

    def _show_choosers(self, missing: bool) -> None:
        """Fill the boxes; show the row when there is a choice to make beyond
        the order of two models of any kind (a box with no model is hidden)."""
        wanted = self._choices()
        current = self._chosen_slots()
        fitting: set[int] = set()
        choice = False
        for i, (need, slot) in enumerate(zip(wanted, current, strict=True)):
            box = self.slot_boxes[i]
            options = [
                s for s, state in enumerate(self.session.sides) if fits(state, need)
            ]
            fitting.update(options)
            choice = choice or len(options) > 1
            box.blockSignals(True)  # filling the list is no choice of the user's
            box.clear()
            for s in options:
                box.addItem(f"{slot_name(s)}: {self.session.sides[s].title}", s)
            if slot is not None:
                box.setCurrentIndex(options.index(slot))
            box.blockSignals(False)
            box.setVisible(bool(options))
            self._box_labels[i].setVisible(bool(options))
        only_order = set(wanted) == {"model"} and len(fitting) == len(wanted)
        self.choosers.setVisible(not missing and choice and not only_order)

    def _on_chosen(self, need: int) -> None:
        """A slot chosen for one need; a slot already serving another need
        swaps with it, so no model is compared with itself."""
        before = self._chosen_slots()
        slots = list(before)
        slots[need] = self.slot_boxes[need].currentData()
        for other, slot in enumerate(before):
            if other != need and slot == slots[need]:
                slots[other] = before[need]
        self.workspace.choose(self.choice_key or self.key, slots)
        self.catch_up()

    def _chosen_slots(self) -> list[int | None]:
        return self.workspace.slots_for(
            self.choice_key or self.key, self._choices(), self.prefers
        )

    def slots(self) -> list[int | None]:
        """The slot serving each need, in the order of :attr:`needs`."""
        return self.workspace.slots_for(
            self.choice_key or self.key, self.needs, self.prefers
        )

    def _need_names(self) -> list[str]:
        """Each choice's name in ``changed``: its kind, or the kind preferred."""
        return [
            self.prefers[i] if need == "model" and i < len(self.prefers) else need
            for i, need in enumerate(self._choices())
        ]

    def slot_for(self, kind: str) -> int | None:
        """The slot serving need ``kind`` (``"vae"``, ``"ae"``, ``"model"``, or
        the kind a ``"model"`` need prefers), if any."""
        names = self._need_names()
        if kind in names:
            return self._chosen_slots()[names.index(kind)]
        return self.workspace.slots_for(self.choice_key or self.key, (kind,))[0]

    def side_for(self, kind: str) -> Side | None:
        """The slot serving need ``kind``, if one is ready."""
        s = self.slot_for(kind)
        return None if s is None else self.session.sides[s]

    # --- what the view needs -----------------------------------------------------

    def missing(self) -> str | None:
        """What the view lacks, in words for the user; None when it can work."""
        slots = self.slots()
        absent = [n for n, s in zip(self.needs, slots, strict=True) if s is None]
        if absent:
            if set(self.needs) == {"model"} and len(self.needs) == 2:
                what = "two models"
            else:
                what = " and ".join(NEEDS[n] for n in absent)
            return (
                f"{self.title} needs {what}.\n\nOpen one with File ▸ Open, drop a "
                "checkpoint on a panel of the Latent planes tab, or train an AE and "
                "a VAE with Train ▸ Train AE + VAE."
            )
        if self.same_data and len(self.needs) == 2:
            a, b = (self.session.sides[s] for s in slots)
            if not same_data(a.dataset, b.dataset):
                return (
                    f"{self.title} compares two models on the same test images, "
                    "but the two models shown were trained on different data."
                )
            picked = self.session.selection.dataset
            if picked is not None and not same_data(a.dataset, picked):
                return (
                    f"{self.title} needs the models of the test images the inputs "
                    f"are picked from ({picked.name}): choose two of them above."
                )
        return None

    @property
    def showing_message(self) -> bool:
        """True while the view shows what it needs instead of content."""
        return self._pages.currentIndex() == 1

    # --- what changed: the stamps of what the view shows ---------------------------

    def _stamps(self) -> dict[str, Any]:
        stamp = self.session.stamp
        out: dict[str, Any] = {
            "selection": stamp("selection"),
            "eps": stamp("eps"),
            "choice": stamp(f"choice:{self.choice_key or self.key}"),
        }
        slots = dict(zip(self._need_names(), self._chosen_slots(), strict=True))
        for kind in ROLE_NEEDS:
            s = slots.get(kind, self.slot_for(kind))
            out[kind] = (s, None if s is None else stamp(side_scope(s)))
            out[f"{kind}.model"] = (s, None if s is None else stamp(model_scope(s)))
        return out

    def _on_session_changed(self, *_args: Any) -> None:
        if self.isVisible():
            self.catch_up()

    def invalidate(self, what: str) -> None:
        """Redraw ``what`` (``"selection"``, ``"eps"``, ``"sides"``) at the
        next refresh, even though the session did not change."""
        self._drawn.pop("ae" if what == "sides" else what, None)
        if self.isVisible():
            self.catch_up()

    @property
    def stale(self) -> bool:
        """True while what the view drew is not the current state."""
        return self._stamps() != self._drawn

    def catch_up(self) -> None:
        """Redraw what changed since the last refresh (run when shown)."""
        if self._closed:
            return
        now = self._stamps()
        changed = {k for k, v in now.items() if self._drawn.get(k, ()) != v}
        if not changed:
            return
        self._drawn = now
        if "choice" in changed:
            changed |= {"sides", *ROLE_NEEDS, *(f"{r}.model" for r in ROLE_NEEDS)}
        if changed & set(ROLE_NEEDS):
            changed.add("sides")
        message = self.missing()
        self._show_choosers(message is not None)
        if message is not None:
            self.message.setText(message)
            self._pages.setCurrentIndex(1)
            self._drawn = dict.fromkeys(now, ())  # drawn again in full once it can work
            self.clear()
            return
        self._pages.setCurrentIndex(0)
        self.refresh_count += 1
        self.refresh(frozenset(changed))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._wheel_watched:  # built by now: the subclass made its tables
            self._wheel_watched = True
            for table in self.body.findChildren(QAbstractItemView):
                if table.window() is self.window():  # not a combo box's popup
                    self.page_wheel.watch(table)
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
        inputs: Sequence[str],
        **kwargs: Any,
    ) -> None:
        """Run an analysis as job ``key.kind``; its result is stored in the
        workspace with ``inputs`` and the view's choice of slots
        (:meth:`Workspace.compute`)."""
        if self._closed:
            return
        self.refresh_count += 1
        inputs = (*inputs, f"choice:{self.choice_key or self.key}")
        self.workspace.compute(f"{self.key}.{kind}", fn, *args, inputs=inputs, **kwargs)

    def run(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a workspace analysis command (counted like :meth:`submit`)."""
        if self._closed:
            return
        self.refresh_count += 1
        command(*args, **kwargs)

    def busy(self, kind: str) -> bool:
        """True while this view's job ``kind`` runs or waits."""
        return self.jobs.busy(f"{self.key}.{kind}")

    def shutdown(self) -> None:
        """The window closes: stop listening to the session and the workspace
        (a result still on its way is dropped by the workspace's rule)."""
        for signal, slot in self._listening:
            signal.disconnect(slot)
        self._listening.clear()
