"""ModelPanel: one side's title, view controls, latent plane and decoded image.

Under the plane, a timeline slider (shown when the checkpoint has a timeline)
scrubs the scatter through the epochs of training: that row and the epoch it
shows are :mod:`~latentlab.qt.widgets.model_timeline`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.group import points_in_polygon
from latentlab.core.errors import ConfigError
from latentlab.core.latent import LatentSlice, pca_slice
from latentlab.qt.widgets.decode_panel import DecodePanel
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget, fit_rect
from latentlab.qt.widgets.model_timeline import TimelineControls
from latentlab.qt.widgets.plane_items import LegendBar

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.session import Side

RESOLUTIONS = (8, 16, 20, 24, 32)
DEFAULT_RESOLUTION = 20
FACTOR_BINS = 6
FIT_MARGIN = 0.08  # around the codes' bulk, each side
TRAINING_FIT_MARGIN = 0.3


def colour_groups(
    name: str, values: npt.NDArray[np.float32], class_names: tuple[str, ...]
) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    """Split points into legend groups: classes for labels, quantile bins otherwise."""
    if name == "label":
        labels = values.astype(int)
        return [
            (cls, labels == i)
            for i, cls in enumerate(class_names)
            if (labels == i).any()
        ]
    edges = np.quantile(values, np.linspace(0, 1, FACTOR_BINS + 1))
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, FACTOR_BINS - 1)
    return [
        (f"{name} {edges[i]:.3g}–{edges[i + 1]:.3g}", bins == i)
        for i in range(FACTOR_BINS)
        if (bins == i).any()
    ]


class ModelPanel(TimelineControls, QWidget):
    """Shows one :class:`~latentlab.core.session.Side`; emits the user's intent."""

    openRequested = Signal()
    saveRequested = Signal()
    fileDropped = Signal(str)
    gridRequested = Signal(object, int)  # LatentRect, tiles per side
    sliceChanged = Signal(object)  # LatentSlice
    epochChanged = Signal(int)  # timeline position; the last one is the final model
    gifRequested = Signal()
    groupSelected = Signal(object)  # test-set indices (int64 array) in the region

    def __init__(self, side_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._panel: Side | None = None
        self._shown_checkpoint: object = None
        self._user_moved_view = False
        self._points_note = ""
        self._others_slice: LatentSlice | None = None  # what "others" holds
        self._epoch: int | None = None  # timeline row shown; None: the final model
        self._group: frozenset[int] | None = None  # highlighted test indices
        self.title = QLabel(f"{side_name}: no model", self)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        self.title.setWordWrap(True)
        self.note = QLabel("", self)
        self.note.setStyleSheet("color: #a05a00;")
        self.note.setWordWrap(True)
        self.note.hide()

        self.open_button = QPushButton("Open…", self)
        self.open_button.setToolTip(
            "Load a checkpoint into this panel (or drop a file)"
        )
        self.save_button = QPushButton("Save…", self)
        self.save_button.setToolTip("Save this panel's model as a checkpoint")
        self.manifold_box = QCheckBox("Manifold", self)
        self.manifold_box.setChecked(True)
        self.manifold_box.setToolTip("Show the decoder's images over the plane")
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(85)
        self.opacity.setMaximumWidth(90)
        self.opacity.setMinimumWidth(40)  # a narrow window squeezed it to a dot
        self.opacity.setToolTip("Manifold opacity")
        self.resolution = QComboBox(self)
        for n in RESOLUTIONS:
            self.resolution.addItem(f"{n}×{n}", n)
        self.resolution.setCurrentIndex(RESOLUTIONS.index(DEFAULT_RESOLUTION))
        self.resolution.setToolTip("Manifold tiles along the longer side")
        self.colour_by = QComboBox(self)
        self.colour_by.setToolTip("Colour the encoded test set by")
        self.points_box = QCheckBox("Points", self)
        self.points_box.setChecked(True)
        self.fit_button = QPushButton("Fit", self)
        self.fit_button.setToolTip("Fit the view to the encoded test set")
        self.rect_tool = QToolButton(self)
        self.rect_tool.setText("▭ Select")
        self.rect_tool.setToolTip(
            "Rectangle selection: drag to select test images (or Alt+drag any time)"
        )
        self.lasso_tool = QToolButton(self)
        self.lasso_tool.setText("Lasso")
        self.lasso_tool.setToolTip(
            "Lasso selection: drag around test images (or Alt+Shift+drag any time)"
        )
        for tool in (self.rect_tool, self.lasso_tool):
            tool.setCheckable(True)

        # Two rows, so half of a 1024-pixel window holds them unclipped.
        files = QHBoxLayout()
        files.setSpacing(6)
        for w in (self.open_button, self.save_button):
            files.addWidget(w)
        files.addStretch(1)
        files.addWidget(self.rect_tool)
        files.addWidget(self.lasso_tool)
        files.addWidget(self.fit_button)
        controls = QHBoxLayout()
        controls.setSpacing(6)
        controls.addWidget(self.manifold_box)
        controls.addWidget(self.opacity)
        controls.addWidget(self.resolution)
        controls.addSpacing(6)
        controls.addWidget(self.points_box)
        controls.addWidget(self.colour_by, 1)

        # Slice controls, shown only for latents wider than 2.
        self.slice_row = QWidget(self)
        self.dim_x = QComboBox(self.slice_row)
        self.dim_y = QComboBox(self.slice_row)
        self.others = QLineEdit(self.slice_row)
        self.others.setPlaceholderText("values of the other dims, e.g. 0, 0.5, …")
        self.others_label = QLabel("others", self.slice_row)
        self.others.setMinimumWidth(90)
        zero = QPushButton("Zero", self.slice_row)
        zero.setToolTip("Hold the other dims at 0 (the prior's mean)")
        mean = QPushButton("Data mean", self.slice_row)
        mean.setToolTip("Hold the other dims at the test set's mean code")
        self.plane_mode = QComboBox(self.slice_row)
        self.plane_mode.addItem("dims", "dims")
        self.plane_mode.addItem("PCA", "pca")
        self.plane_mode.setToolTip(
            "dims: two latent dims, the others held at the values given; PCA: the "
            "codes' first two principal components, the rest at the codes' mean"
        )
        self._dims_widgets = (self.dim_x, self.dim_y, self.others, zero, mean)
        row = QHBoxLayout(self.slice_row)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (
            self.plane_mode,
            self.dim_x,
            self.dim_y,
            self.others_label,
            self.others,
            zero,
            mean,
        ):
            row.addWidget(w)
        self.slice_row.hide()

        self.plane = LatentPlaneWidget(self)
        self.plane.decode_on_press = True  # no draggable items of its own
        # Short enough that the selection panel fits under the planes at
        # 1024x768 with the training dock open, rather than scrolling the tab.
        self.plane.setMinimumSize(260, 170)
        self.legend = LegendBar(self)
        self.plane.legendChanged.connect(self._show_legend)
        self.legend.hide()
        self.plane.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding
        )
        self.decode = DecodePanel(self, size=128)

        # The training timeline, shown when the checkpoint has one.
        self._build_timeline_row()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addLayout(files)
        layout.addLayout(controls)
        layout.addWidget(self.slice_row)
        # The decoded image sits beside the plane: stacked, they need more
        # height than a 720-pixel screen leaves.
        body = QHBoxLayout()
        body.setSpacing(6)
        body.addWidget(self.plane, 1)
        body.addWidget(self.decode, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(body, 1)
        layout.addWidget(self.timeline_row)
        layout.addWidget(self.legend)

        self.open_button.clicked.connect(self.openRequested)
        self.save_button.clicked.connect(self.saveRequested)
        self.manifold_box.toggled.connect(self._on_manifold_toggled)
        self.opacity.valueChanged.connect(
            lambda v: self.plane.set_manifold_opacity(v / 100)
        )
        self.resolution.currentIndexChanged.connect(lambda _: self._request_grid())
        self.colour_by.currentIndexChanged.connect(lambda _: self._redraw_points())
        self.points_box.toggled.connect(self.plane.set_points_visible)
        self.fit_button.clicked.connect(lambda: self.fit_view())
        self.plane.viewRectChanged.connect(lambda _: self._request_grid())
        self.plane.view_box.sigRangeChangedManually.connect(self._on_user_moved)
        self.plane_mode.activated.connect(lambda _: self._emit_slice())
        self.dim_x.activated.connect(lambda _: self._emit_slice())
        self.dim_y.activated.connect(lambda _: self._emit_slice())
        self.others.editingFinished.connect(self._emit_slice)
        zero.clicked.connect(lambda: self._set_others(None))
        mean.clicked.connect(lambda: self._set_others("mean"))
        self.save_button.setEnabled(False)
        self.rect_tool.toggled.connect(lambda on: self._on_tool_toggled("rect", on))
        self.lasso_tool.toggled.connect(lambda on: self._on_tool_toggled("lasso", on))
        self.plane.regionSelected.connect(self._on_region)

    # --- showing state -------------------------------------------------------------

    def show_side(self, panel: Side) -> None:
        """Redraw from the session's state for this side.

        A run that has started but sent no snapshot yet keeps the previous
        plane on screen, faded, rather than a blank one.
        """
        waiting = panel.training and panel.model is None
        self.plane.setEnabled(not waiting)
        self.plane.setOpacity(0.35 if waiting else 1.0)
        if waiting:
            self._panel = panel
            self.title.setText(panel.title)
            self.save_button.setEnabled(False)
            return
        self._panel = panel
        self.title.setText(panel.title)
        self.note.setText(panel.note)
        self.note.setVisible(bool(panel.note))
        self.save_button.setEnabled(panel.checkpoint is not None and not panel.training)
        new_model = panel.checkpoint is not self._shown_checkpoint
        if new_model:
            self._shown_checkpoint = panel.checkpoint
            self._user_moved_view = False
            self._fill_colour_choices(panel)
            self._fill_slice_controls(panel)
            self._fill_timeline(panel)
            if not panel.training:  # a run's first snapshot decodes the last click
                self.decode.clear()
            if panel.model is None:
                self.plane.clear_manifold()
        self._redraw_points()
        if panel.model is not None and (
            new_model or (not self._user_moved_view and self._view_lost_points())
        ):
            # While training the codes keep spreading: frame them with room to
            # grow, so axes and manifold are not re-laid at every snapshot.
            self.fit_view(TRAINING_FIT_MARGIN if panel.training else FIT_MARGIN)
        # While training, the controller redraws the manifold with each snapshot.
        redrawn = panel.training and self.plane.has_manifold()
        if panel.model is not None and not redrawn:
            self._request_grid()

    def show_slice(self, panel: Side) -> None:
        """The shown latent dims (or held values) changed: replot, refit when
        the points left the view, ask for the manifold of the new plane."""
        self._panel = panel
        self._fill_slice_controls(panel)
        self._redraw_points()
        if panel.model is None:
            return
        if not self._user_moved_view and self._view_lost_points():
            self.fit_view(TRAINING_FIT_MARGIN if panel.training else FIT_MARGIN)
        if not (panel.training and self.plane.has_manifold()):
            self._request_grid()

    def show_title(self, panel: Side) -> None:
        """Only the title, saved state or note changed."""
        self._panel = panel
        self.title.setText(panel.title)
        self.note.setText(self._points_note or panel.note)
        self.note.setVisible(bool(self._points_note or panel.note))
        self.save_button.setEnabled(panel.checkpoint is not None and not panel.training)

    def _show_legend(self, entries: list[tuple[str, tuple[int, int, int]]]) -> None:
        self.legend.set_entries(entries)
        # Lay the panel out now: a key that wraps to more or fewer lines resizes
        # the plane before it is fitted and painted, not in a second pass that
        # re-lays its axes again (~12 ms of a run's first snapshot).
        self.layout().activate()

    def _fill_colour_choices(self, panel: Side) -> None:
        current = self.colour_by.currentData()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        if panel.dataset is not None:
            for name in panel.dataset.factors():
                self.colour_by.addItem(f"by {name}", name)
            idx = self.colour_by.findData(current)
            self.colour_by.setCurrentIndex(max(idx, 0))
        self.colour_by.setEnabled(panel.dataset is not None)
        self.colour_by.blockSignals(False)

    def _fill_slice_controls(self, panel: Side) -> None:
        dim = panel.latent_slice.latent_dim
        self.slice_row.setVisible(dim > 2)
        if dim <= 2:
            return
        for combo, value in ((self.dim_x, 0), (self.dim_y, 1)):
            combo.blockSignals(True)
            combo.clear()
            for i in range(dim):
                combo.addItem(f"z{i + 1}", i)
            combo.setCurrentIndex(panel.latent_slice.dims[value])
            combo.blockSignals(False)
        pca = panel.latent_slice.is_projection
        self.plane_mode.setCurrentIndex(1 if pca else 0)
        for w in self._dims_widgets:
            w.setEnabled(not pca)
        # The field shows the held values of the last dims slice (a PCA plane
        # keeps them for the way back): one value per dim not shown.
        if not pca or self._held_slice(panel) is None:
            self._others_slice = panel.latent_slice.dims_only()
            self.others.setText(
                ", ".join(f"{v:g}" for v in self._others_slice.held_values)
            )
        held = self._others_slice.held_dims
        names = _dims_text(held)
        self.others_label.setText(f"{names} at")
        self.others.setToolTip(
            f"The values {names} (the {len(held)} dims not shown) are held at, "
            f"comma-separated (or a full code of {dim}: its shown dims are ignored)"
        )

    def _held_slice(self, panel: Side) -> LatentSlice | None:
        """The dims slice whose held values the "others" field shows."""
        sl = self._others_slice
        if sl is None or sl.latent_dim != panel.latent_slice.latent_dim:
            return None
        return sl

    # --- points -------------------------------------------------------------------

    def shown_points(
        self,
    ) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.float32] | None]:
        """Test-set indices (None: all, in order) and plane points of the scatter."""
        panel = self._panel
        tl = self.timeline
        if panel is None:
            return None, None
        if self._epoch is not None and tl is not None and self._epoch >= 0:
            return tl.indices, panel.latent_slice.project(tl.codes_at(self._epoch))
        return None, self._projected_points()

    def _projected_points(self) -> npt.NDArray[np.float32] | None:
        panel = self._panel
        if panel is None or panel.codes is None:
            return None
        return panel.latent_slice.project(panel.codes.mu)

    def _redraw_points(self) -> None:
        self._draw_points(self.colour_by.currentData() or "label")
        if self._points_note:
            self.note.setText(self._points_note)
            self.note.show()

    def _draw_points(self, name: str) -> None:
        panel = self._panel
        indices, xy = self.shown_points()
        self._points_note = ""
        if panel is None or xy is None or panel.dataset is None:
            self.plane.set_points(None)
            self._show_group()
            return
        values = panel.dataset.factors()[name]
        if indices is not None:
            values = values[indices]
        finite = np.isfinite(xy).all(1)
        groups = colour_groups(name, values, panel.dataset.class_names)
        self.plane.set_points(xy, [(label, m & finite) for label, m in groups])
        bad = int((~finite).sum())
        if bad:
            self._points_note = (
                f"{bad} test image(s) encode to NaN or infinity and are not plotted"
            )
        self.plane.set_points_visible(self.points_box.isChecked())
        dim = panel.latent_slice.latent_dim
        d0, d1 = panel.latent_slice.dims
        if panel.latent_slice.is_projection:
            self.plane.set_axis_labels("PC 1 of the codes", "PC 2")
        else:
            self.plane.set_axis_labels(
                f"z{d0 + 1}" if dim > 2 else "z₁", f"z{d1 + 1}" if dim > 2 else "z₂"
            )
        # The picked inputs' rings sit at the final model's codes.
        self.plane.pick_rings.setVisible(self._epoch is None)
        self._show_group()

    # --- the selected group -----------------------------------------------------------

    def set_group(self, group: frozenset[int] | None) -> None:
        """Highlight these test images where they are plotted (None: no group)."""
        self._group = group
        self._show_group()

    def _show_group(self) -> None:
        indices, xy = self.shown_points()
        if self._group is None or xy is None:
            self.plane.set_highlight(None)
            return
        wanted = np.fromiter(self._group, np.int64, len(self._group))
        if indices is None:
            wanted = wanted[wanted < len(xy)]
            self.plane.set_highlight(xy[wanted])
        else:
            self.plane.set_highlight(xy[np.isin(indices, wanted)])

    def _on_region(self, polygon) -> None:
        indices, xy = self.shown_points()
        if xy is None:
            return
        inside = points_in_polygon(xy, polygon)
        picked = np.flatnonzero(inside)
        if indices is not None:
            picked = indices[picked]
        self.groupSelected.emit(picked.astype(np.int64))

    def _on_tool_toggled(self, tool: str, on: bool) -> None:
        other = self.lasso_tool if tool == "rect" else self.rect_tool
        if on:
            other.blockSignals(True)
            other.setChecked(False)
            other.blockSignals(False)
            self.plane.set_selection_tool(tool)
        elif not other.isChecked():
            self.plane.set_selection_tool("")

    def _view_lost_points(self) -> bool:
        """True when the codes' bulk left the view or shrank to a corner of it.

        Refitting on every snapshot while training would re-decode the manifold
        and re-lay the axes twice a second for nothing.
        """
        xy = self._projected_points()
        if xy is None:
            return False
        bulk = fit_rect(xy, prior=self._is_vae())
        view = self.plane.view_rect()
        tol_x, tol_y = 0.02 * view.width, 0.02 * view.height
        outside = (
            bulk.x0 < view.x0 - tol_x
            or bulk.x1 > view.x1 + tol_x
            or bulk.y0 < view.y0 - tol_y
            or bulk.y1 > view.y1 + tol_y
        )
        shrunk = max(bulk.width / view.width, bulk.height / view.height) < 0.5
        return outside or shrunk

    def _is_vae(self) -> bool:
        panel = self._panel
        return (
            panel is not None
            and panel.checkpoint is not None
            and panel.checkpoint.config.kind == "vae"
        )

    def fit_view(self, margin: float = FIT_MARGIN) -> None:
        """Frame the encoded test set (and the prior's bulk, for a VAE)."""
        points = self._projected_points()
        self.plane.fit(fit_rect(points, prior=self._is_vae(), margin=margin))
        self._user_moved_view = False

    def show_decoded(self, z, image, xy: tuple[float, float]) -> None:
        """Show a decode and put the crosshair on it."""
        self.decode.show_decoded(z, image)
        self.plane.set_crosshair(*xy)

    def show_grid(self, image, rect) -> None:
        """Show a decoded manifold (kept hidden while an earlier epoch is shown)."""
        if self.manifold_box.isChecked():
            self.plane.set_manifold(image, rect)
            self.plane.set_manifold_visible(self._epoch is None)

    # --- intent ----------------------------------------------------------------------

    def _on_user_moved(self, *_: object) -> None:
        self._user_moved_view = True

    def _on_manifold_toggled(self, on: bool) -> None:
        self.plane.set_manifold_visible(on and self._epoch is None)
        self.opacity.setEnabled(on)
        self.resolution.setEnabled(on)
        if on:
            self._request_grid()
        else:
            self.gridRequested.emit(self.plane.view_rect(), 0)  # none wanted

    def _request_grid(self) -> None:
        if self._panel is None or self._panel.model is None:
            return
        if self.manifold_box.isChecked():
            self.gridRequested.emit(
                self.plane.view_rect(), self.resolution.currentData()
            )

    def _set_others(self, preset: str | None) -> None:
        panel = self._panel
        if panel is None:
            return
        held = list((self._held_slice(panel) or panel.latent_slice).held_dims)
        values = np.zeros(len(held), np.float32)
        if preset == "mean" and panel.codes is not None and len(panel.codes.mu):
            values = panel.codes.mu.mean(0)[held]
        self.others.setText(", ".join(f"{v:.3g}" for v in values))
        self._emit_slice()

    def _emit_slice(self) -> None:
        panel = self._panel
        if panel is None:
            return
        pca = self.plane_mode.currentData() == "pca"
        for w in self._dims_widgets:
            w.setEnabled(not pca)
        try:
            if pca:
                if panel.codes is None:
                    raise ConfigError("the PCA plane needs the encoded test set")
                self.note.setVisible(bool(panel.note))
                self.note.setText(panel.note)
                self.sliceChanged.emit(pca_slice(panel.codes.mu))
                return
            base = [
                float(v)
                for v in self.others.text().replace(";", ",").split(",")
                if v.strip()
            ]
            # The field holds the held values of the dims slice it was filled
            # from (kept through a PCA plane), or a full code.
            shown = self._held_slice(panel) or panel.latent_slice.dims_only()
            sl = shown.with_held(
                (self.dim_x.currentData(), self.dim_y.currentData()), base
            )
        except (ValueError, ConfigError) as exc:
            self.note.setText(f"Slice not changed: {exc}")
            self.note.show()
            return
        self.note.setVisible(bool(panel.note))
        self.note.setText(panel.note)
        self.sliceChanged.emit(sl)

    # --- drag and drop -------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.fileDropped.emit(str(Path(urls[0].toLocalFile())))


def _dims_text(dims: tuple[int, ...]) -> str:
    """``z3–z8`` or ``z1, z4–z8``: 0-based dims as the combos name them."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive dims
    for d in dims:
        if runs and d == runs[-1][1] + 1:
            runs[-1][1] = d
        else:
            runs.append([d, d])
    names: list[str] = []
    for a, b in runs:
        span = range(a, b + 1)
        names += [f"z{a + 1}–z{b + 1}"] if b - a >= 2 else [f"z{d + 1}" for d in span]
    return ", ".join(names)
