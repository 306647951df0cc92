"""ε-resampling: one input's posterior ``q(z|x)``, its σ ellipses and samples.

The view draws what :attr:`Session.eps` and :meth:`Session.posterior` say: ``μ``
as a draggable handle, the 1σ and 2σ ellipses, and ``K`` samples
``z = μ + σ ⊙ ε`` with their decodes beside. Every control sends an intent to
the session (``move_mu``, ``set_sigma_scale``, ``set_count``, ``resample_eps``,
``set_eps_fixed``, ``reset_eps``) and the view redraws on the session's events:
it keeps no copy of μ, σ or ε. With "Fixed ε" on, dragging μ or scaling σ moves
the samples deterministically: the randomness lives only in ε.

What the view keeps of its own is screen state: which sample is hovered, and
which side its drawing came from (to redraw the 10k-point scatter only when the
VAE changed). Pyqtgraph's ``TextItem`` is not used in the plot: with a singular
view transform (a plot that has no size yet) it falls back to a pseudo-inverse
that assigns ``ndarray.shape``, which numpy 2.5 deprecates; the key of the
plot's items is a label under it instead.

This module connects the widgets to the session and fills them. They are built
in :mod:`~latentlab.qt.analysis.eps_layout`; the texts are written by
:mod:`latentlab.core.analysis.posterior_texts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PySide6.QtCore import QSignalBlocker, Signal

from latentlab.core.analysis.planes import display_images, labelled_points
from latentlab.core.analysis.posterior import (
    decode_samples,
    ellipse_xy,
    posterior_frame,
)
from latentlab.core.analysis.posterior_texts import (
    caption_text,
    equation_html,
    sigma_note,
)
from latentlab.core.analysis.texts import pair
from latentlab.core.session import SCALE_MAX, describe, side_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.analysis.eps_layout import EpsLayout
from latentlab.qt.widgets.latent_plane import fit_rect, nearest_point
from latentlab.qt.widgets.styles import HINT_STYLE, NOTE_STYLE, dim_name, shown_dims

if TYPE_CHECKING:
    import numpy.typing as npt
    from PySide6.QtWidgets import QWidget

    from latentlab.core.analysis.posterior import SampleImages
    from latentlab.core.latent import LatentSlice
    from latentlab.core.session import Posterior, Side
    from latentlab.core.workspace import Workspace

HOVER_RADIUS_PX = 10.0


class EpsView(EpsLayout, AnalysisView):
    """ε-resampling: ``μ``, the σ ellipses and ``z = μ + σ ⊙ ε`` samples.

    Signals
    -------
    samplesDecoded()
        The decoded sample grid caught up with the session's samples.
    sampleHovered(int)
        The sample whose numbers are shown changed.
    """

    key: ClassVar[str] = "eps"
    title: ClassVar[str] = "ε-resampling"
    tooltip: ClassVar[str] = "q(z|x), its σ ellipses and samples z = μ + σ ⊙ ε"
    needs: ClassVar[tuple[str, ...]] = ("vae",)
    figures: ClassVar[tuple[tuple[str, str], ...]] = (
        ("plane", "&ε-resampling Plane…"),
    )

    samplesDecoded = Signal()
    sampleHovered = Signal(int)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self._hovered = 0
        self._placing_handle = False
        self.decoded: SampleImages | None = None
        """The decodes shown (of the session's samples once ``decode`` is idle)."""
        self._build()
        self._connect()
        self._set_enabled(False)

    # --- construction -------------------------------------------------------------

    def _connect(self) -> None:
        s = self.session
        self.gallery.picked.connect(s.pick)
        self.gallery.randomRequested.connect(lambda: s.pick_random())
        self.k_slider.valueChanged.connect(lambda k: s.set_count(int(k)))
        self.resample_button.clicked.connect(lambda: s.resample_eps())
        self.fixed_box.toggled.connect(s.set_eps_fixed)
        for i, slider in enumerate(self.scale_sliders):
            slider.valueChanged.connect(
                lambda v, i=i: self._on_scale_slider(i, float(v))
            )
        self.reset_button.clicked.connect(lambda: s.reset_eps())
        self.zoom_button.clicked.connect(self.zoom_to_posterior)
        self.whole_button.clicked.connect(self.fit_whole)
        self.mu_handle.sigPositionChanged.connect(self._on_handle_moved)
        self.plane.latentClicked.connect(self._pick_near)
        self.plane.pickRequested.connect(self._pick_near)
        self.plane.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.grid.tileHovered.connect(lambda i: self.set_hovered(i) if i >= 0 else None)

    def _set_enabled(self, on: bool) -> None:
        for w in (
            self.k_slider,
            self.resample_button,
            self.fixed_box,
            self.reset_button,
            self.zoom_button,
            *self.scale_sliders,
        ):
            w.setEnabled(on)

    # --- reading the session ------------------------------------------------------

    def _vae(self) -> Side | None:
        return self.side_for("vae")

    @property
    def hovered(self) -> int:
        """Index of the sample whose numbers are shown."""
        return self._hovered

    # --- refresh ------------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        side = self._vae()
        vae_changed = "vae" in changed
        if vae_changed:
            self._show_model(side)
        post = self.session.posterior(self.slot_for("vae"))
        if vae_changed or "selection" in changed:
            self._show_input(side, post)
        self._show_controls(side, post)
        if post is None:
            self._clear_posterior()
            return
        self._draw_posterior(side, post)
        if "selection" in changed or (vae_changed and not side.training):
            # A new input (or model) starts at the encoder's μ(x).
            self._frame(side, post, centre=post.mu0)
        self.submit(
            "decode",
            decode_samples,
            side.model,
            post.samples.z,
            post.samples.mu,
            inputs=(side_scope(post.side), "selection", "eps"),
            on_result=self._on_decoded,
            on_error=self._on_decode_error,
        )

    def _show_model(self, side: Side) -> None:
        self.heading.setText(f"ε-resampling · {side.title}")
        self.sigma_label.setText(sigma_note(side.codes, side.checkpoint.config.beta))
        self.gallery.set_dataset(side.dataset)
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)
        for i, (label, slider) in enumerate(
            zip(self.scale_labels, self.scale_sliders, strict=True)
        ):
            visible = i < len(dims)
            label.setVisible(visible)
            slider.setVisible(visible)
            if visible:
                label.setText(f"σ of {dim_name(dims[i])} ×")
                slider.setToolTip(
                    f"Scale σ along {dim_name(dims[i])} (0–{SCALE_MAX:g}×); "
                    "the samples follow"
                )
        self.plane.set_axis_labels(
            dim_name(sl.dims[0]), dim_name(sl.dims[1]) if sl.latent_dim > 1 else ""
        )
        xy, groups = labelled_points(side.codes, sl, side.dataset)
        self.plane.set_points(xy, groups, size=3.5)
        self.plane.set_manifold_visible(False)

    def _show_input(self, side: Side, post: Posterior | None) -> None:
        sel = self.session.selection
        index = sel.current
        dataset = side.dataset
        if index is None or dataset is None or not 0 <= index < len(side.codes.mu):
            self.input_tile.set_images(None)
            self.gallery.mark([])
            self.input_label.setText("Pick an input: a thumbnail or a point")
            return
        self.input_tile.set_images(display_images(dataset, [index]))
        self.gallery.mark([index])
        if post is None:
            self.input_label.setStyleSheet(NOTE_STYLE)
            self.input_label.setText(
                f"input {describe(dataset, index)} encodes to NaN or infinity: "
                "pick another one"
            )
            return
        self.input_label.setStyleSheet(HINT_STYLE)
        self.input_label.setText(
            f"input {describe(dataset, index)} · μ(x) = {pair(post.mu0)} · "
            f"σ(x) = {pair(post.sigma0)} · click a point or a thumbnail for "
            "another input"
        )

    def _show_controls(self, side: Side, post: Posterior | None) -> None:
        e = self.session.eps
        self._set_enabled(post is not None)
        with QSignalBlocker(self.k_slider):
            self.k_slider.setValue(e.count)
        with QSignalBlocker(self.fixed_box):
            self.fixed_box.setChecked(e.fixed)
        self.resample_button.setText(
            "Resample ε" if e.fixed else "Resample ε (also on drag)"
        )
        sl = side.latent_slice.dims_only()
        for slider, d in zip(
            self.scale_sliders, shown_dims(sl.latent_dim, sl.dims), strict=False
        ):
            if d < len(e.scale):
                with QSignalBlocker(slider):
                    slider.setValue(float(e.scale[d]))
        self.grid_caption.setText(caption_text(e.count, e.fixed))

    def _draw_posterior(self, side: Side, post: Posterior) -> None:
        s = post.samples
        sl = side.latent_slice.dims_only()
        xy = sl.project(s.z)
        mx, my = (float(v) for v in sl.project(s.mu[None])[0])
        sig = s.sigma[list(sl.dims)] if sl.latent_dim > 1 else np.r_[s.sigma[0], 0.0]
        self._placing_handle = True
        try:
            self.mu_handle.setPos(mx, my)
        finally:
            self._placing_handle = False
        self.mu_handle.show()
        mu0 = sl.project(post.mu0[None])[0]
        if np.allclose(mu0, (mx, my)):
            self.mu0_marker.setData([], [])
        else:
            self.mu0_marker.setData([mu0[0]], [mu0[1]])
        for item, r in ((self.ellipse1, 1.0), (self.ellipse2, 2.0)):
            item.setData(*ellipse_xy((mx, my), (r * sig[0], r * sig[1])))
        self.samples_item.setData(x=xy[:, 0], y=xy[:, 1])
        self._hovered = min(self._hovered, len(xy) - 1)
        self._show_hovered(side, post)

    def _show_hovered(self, side: Side, post: Posterior) -> None:
        s = post.samples
        i = self._hovered
        sl = side.latent_slice.dims_only()
        zx, zy = sl.project(s.z[i : i + 1])[0]
        mx, my = sl.project(s.mu[None])[0]
        self.hover_ring.setData([zx], [zy])
        self.hover_line.setData([mx, zx], [my, zy])
        self.grid.set_highlight(i)
        self.equation.setText(
            equation_html(
                s,
                self.session.eps.scale,
                shown_dims(sl.latent_dim, sl.dims),
                sl.latent_dim,
                i,
            )
        )

    def _clear_posterior(self) -> None:
        self.mu_handle.hide()
        for item in (self.ellipse1, self.ellipse2, self.hover_line):
            item.setData([], [])
        for item in (self.samples_item, self.hover_ring, self.mu0_marker):
            item.setData([], [])
        self.equation.setText("")
        self._show_decoded(None)

    def clear(self) -> None:
        self.heading.setText("")
        self.input_label.setText("")
        self.sigma_label.setText("")
        self.gallery.set_dataset(None)
        self.plane.set_points(None)
        self.input_tile.set_images(None)
        self._clear_posterior()
        self._set_enabled(False)

    # --- decoded samples ----------------------------------------------------------

    def _on_decoded(self, images: SampleImages) -> None:
        self._show_decoded(images)
        self.samplesDecoded.emit()

    def _show_decoded(self, images: SampleImages | None) -> None:
        self.decoded = images
        if images is None:
            self.grid.set_images(None)
            self.mu_tile.set_images(None)
            self.spread_tile.set_images(None)
            return
        self.grid.set_placeholder("decoded samples")
        self.grid.set_images(images.samples)
        self.grid.set_highlight(self._hovered)
        self.mu_tile.set_images(images.mu[None])
        self.spread_tile.set_images(np.clip(images.pixel_std * 2.0, 0.0, 1.0)[None])
        e = self.session.eps
        self.grid_caption.setText(caption_text(e.count, e.fixed, images.pixel_std))

    def _on_decode_error(self, exc: Exception) -> None:
        self._show_decoded(None)
        self.grid.set_placeholder(f"Could not decode: {exc}")

    # --- intents ------------------------------------------------------------------

    def set_mu_xy(self, x: float, y: float) -> None:
        """Move μ to plane point (x, y); the dims not shown keep their value."""
        side, post = self._vae(), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None:
            return
        sl = side.latent_slice.dims_only()
        mu = post.samples.mu.copy()
        mu[sl.dims[0]] = x
        if sl.latent_dim > 1:
            mu[sl.dims[1]] = y
        self.session.move_mu(mu)

    def _on_scale_slider(self, which: int, k: float) -> None:
        side = self._vae()
        if side is None:
            return
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)
        if which < len(dims):
            self.session.set_sigma_scale(dims[which], k)

    def _on_handle_moved(self, item) -> None:
        if self._placing_handle:
            return
        p = item.pos()
        self.set_mu_xy(float(p.x()), float(p.y()))

    def _pick_near(self, x: float, y: float) -> None:
        side = self._vae()
        if side is None or self.showing_message:
            return
        xy = side.latent_slice.dims_only().project(side.codes.mu)
        i = nearest_point(xy, (x, y), self.plane.view_box.viewPixelSize())
        if i is not None:
            self.session.pick(i)

    def set_hovered(self, i: int) -> None:
        """Show the numbers of sample ``i``."""
        side, post = self._vae(), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None or not 0 <= i < len(post.samples.z):
            return
        self._hovered = int(i)
        self._show_hovered(side, post)
        self.sampleHovered.emit(self._hovered)

    def _on_mouse_moved(self, pos) -> None:
        vb = self.plane.view_box
        if self.showing_message or not vb.sceneBoundingRect().contains(pos):
            return
        side, post = self._vae(), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None:
            return
        p = vb.mapSceneToView(pos)
        xy = side.latent_slice.dims_only().project(post.samples.z)
        i = nearest_point(
            xy, (p.x(), p.y()), vb.viewPixelSize(), max_px=HOVER_RADIUS_PX
        )
        if i is not None and i != self._hovered:
            self.set_hovered(i)

    def shutdown(self) -> None:
        """The window closes: drop the decode job."""
        super().shutdown()
        self.jobs.cancel(f"{self.key}.decode")

    # --- camera -------------------------------------------------------------------

    def _frame(self, side: Side, post: Posterior, centre: npt.ArrayLike) -> None:
        sl: LatentSlice = side.latent_slice.dims_only()
        cx, cy = (float(v) for v in sl.project(np.asarray(centre)[None])[0])
        sig0 = post.sigma0[list(shown_dims(sl.latent_dim, sl.dims))]
        whole = fit_rect(sl.project(side.codes.mu), prior=True)
        self.plane.fit(posterior_frame((cx, cy), sig0, whole))

    def zoom_to_posterior(self) -> None:
        """Frame μ with room for the 2σ ellipse at a few times the scale."""
        side, post = self._vae(), self.session.posterior(self.slot_for("vae"))
        if side is not None and post is not None:
            self._frame(side, post, centre=post.samples.mu)

    def fit_whole(self) -> None:
        """Frame the encoded test set and the prior's bulk."""
        side = self._vae()
        if side is not None:
            xy = side.latent_slice.dims_only().project(side.codes.mu)
            self.plane.fit(fit_rect(xy, prior=True))
