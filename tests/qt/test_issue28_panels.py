"""Issue 28: the selection's class chart (defect 3) and an 8-D model's "others"
field (defect 7).

3. The chart labelled every other bar (``step = ceil(n / 8)``) with the name cut
   to 6 letters, so Sandal, Sneaker and Ankle boot stood beside Coat, Shirt, Bag,
   and pyqtgraph dropped T-shirt/top, whose text overflowed the axis. Now every
   row is drawn with its full name centred on its bar.
7. "others" listed ``latent_slice.base``: all ``latent_dim`` values, the two
   shown dims' included. Now one value per held dim, the label naming them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetrics, QImage, QPainter

from latentlab.core.analysis.group import GroupSummary
from latentlab.core.checkpoints import save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.errors import ConfigError
from latentlab.core.latent import LatentSlice
from latentlab.core.training import new_model
from latentlab.qt.widgets.group_panel import MAX_BARS, GroupPanel
from latentlab.qt.widgets.latent_plane import PALETTE

FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _panel(qtbot, names, counts, width=1024) -> GroupPanel:
    panel = GroupPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 150)
    summary = GroupSummary(np.arange(sum(counts)), tuple(names), tuple(counts), ())
    panel.show_summary(summary, np.zeros((4, 28, 28), np.float32))
    qtbot.waitExposed(panel)
    return panel


def _drawn_names(panel: GroupPanel) -> list[tuple[str, float, float, float]]:
    """What the name axis paints: (text, its centre's scene y, its rect's width,
    its left edge in the axis), through pyqtgraph's own draw specs."""
    axis = panel.histogram.getAxis("left")
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    if axis.style["tickFont"] is not None:  # as AxisItem.paint does
        painter.setFont(axis.style["tickFont"])
    _, _, texts = axis.generateDrawSpecs(painter)
    painter.end()
    return [
        (text, axis.mapToScene(rect.center()).y(), rect.width(), rect.left())
        for rect, _, text in texts
    ]


@pytest.mark.parametrize("width", [1024, 1600])
def test_every_bar_stands_beside_its_own_full_class_name(qtbot, width):
    counts = [12, 0, 30, 4, 9, 120, 7, 88, 3, 60]
    panel = _panel(qtbot, FASHION, counts, width)
    drawn = _drawn_names(panel)
    assert [t for t, *_ in drawn] == list(FASHION), "one full name a bar, in order"
    assert panel.bar_labels == list(FASHION)
    assert panel.bar_heights == counts
    vb = panel.histogram.getViewBox()
    metrics = QFontMetrics(panel.chart_font)
    centres = []
    for row, (text, centre_y, rect_w, left) in enumerate(drawn):
        bar_y = vb.mapViewToScene(QPointF(0, row)).y()
        assert abs(centre_y - bar_y) < 1.0, f"{text} is not beside bar {row}"
        assert metrics.horizontalAdvance(text) <= rect_w + 0.5, f"{text} is cut"
        assert left >= 0, f"{text} runs out of the axis"
        centres.append(centre_y)
    # Rows at least a text line apart: no name overlaps its neighbour's.
    for upper, lower in itertools.pairwise(centres):
        assert lower - upper >= metrics.ascent() + metrics.descent() - 1.0
    # Each bar in its class's colour on the planes.
    brushes = panel._bars.opts["brushes"]
    for i, brush in enumerate(brushes):
        assert brush.color().getRgb()[:3] == PALETTE[i % len(PALETTE)]
    # Each count written at its bar's end, and the longest one inside the chart.
    assert [t.toPlainText().strip() for t in panel._count_texts] == [
        f"{c:,}" for c in counts
    ]
    widest = panel._count_texts[counts.index(max(counts))]
    right = widest.mapToScene(widest.boundingRect().topRight()).x()
    assert right <= vb.mapToScene(vb.boundingRect().topRight()).x() + 1.0
    assert "Sandal: 120" in panel.histogram.toolTip()


def test_more_classes_than_rows_keep_the_largest_and_sum_the_rest(qtbot):
    names = [f"class {i}" for i in range(14)]
    counts = [5, 1, 40, 0, 7, 30, 2, 9, 11, 3, 8, 6, 50, 4]
    panel = _panel(qtbot, names, counts)
    assert len(panel.bar_labels) == MAX_BARS
    largest = sorted(sorted(range(14), key=lambda i: -counts[i])[: MAX_BARS - 1])
    assert panel.bar_labels[:-1] == [names[i] for i in largest]
    assert panel.bar_heights[:-1] == [counts[i] for i in largest]
    assert panel.bar_labels[-1] == "5 other classes"
    assert panel.bar_heights[-1] == sum(counts) - sum(counts[i] for i in largest)
    assert [t for t, *_ in _drawn_names(panel)] == panel.bar_labels


# --- defect 7: the held values of the dims not shown ------------------------------


def test_a_slice_holds_the_dims_it_does_not_show():
    sl = LatentSlice(8, (0, 1))
    assert sl.held_dims == (2, 3, 4, 5, 6, 7)
    assert sl.held_values == (0.0,) * 6
    moved = sl.with_held((1, 4), [1, 2, 3, 4, 5, 6])
    assert moved.dims == (1, 4)
    # The values went to z3..z8 (the held dims of the slice they were shown for).
    assert moved.base == (0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert moved.held_dims == (0, 2, 3, 5, 6, 7)
    assert moved.held_values == (0.0, 1.0, 2.0, 4.0, 5.0, 6.0)
    full = sl.with_held((3, 1), range(8))  # a full code: its shown dims ignored
    assert full.base == tuple(float(v) for v in range(8))
    with pytest.raises(ConfigError, match=r"give 6 .*z3, z4, z5, z6, z7, z8.* of 8"):
        sl.with_held((0, 1), [0.0] * 5)


def test_the_8d_others_field_lists_one_value_per_hidden_dim(qtbot, window, tmp_path):
    path = tmp_path / "vae8.pt"
    save_checkpoint(
        path, new_model(ModelConfig(latent_dim=8), seed=2), dataset={"name": "shapes"}
    )
    window.open_file(1, str(path))
    widget = window.panels[1]
    qtbot.waitUntil(
        lambda: (
            window.session.sides[1].latent_slice.latent_dim == 8
            and window.session.sides[1].codes is not None
        ),
        timeout=20000,
    )
    qtbot.waitUntil(widget.slice_row.isVisible, timeout=5000)

    def values() -> list[float]:
        return [float(v) for v in widget.others.text().split(",")]

    assert values() == [0.0] * 6, "6 held dims, 6 values"
    assert widget.others_label.text() == "z3–z8 at"
    # Show z2 and z5: z1, z3, z4, z6, z7, z8 are held.
    widget.dim_x.setCurrentIndex(1)
    widget.dim_y.setCurrentIndex(4)
    widget.others.setText("0.5, -1, 0.25, 2, 0, 1.5")  # z3..z8
    with qtbot.waitSignal(widget.sliceChanged):
        widget.others.editingFinished.emit()
    sl = window.session.sides[1].latent_slice
    assert sl.dims == (1, 4)
    assert sl.base == (0.0, 0.0, 0.5, -1.0, 0.25, 2.0, 0.0, 1.5)
    assert widget.others_label.text() == "z1, z3, z4, z6–z8 at"
    assert values() == [0.0, 0.5, -1.0, 2.0, 0.0, 1.5]
    # Data mean: the held dims' means, nothing for the shown ones.
    mean = window.session.sides[1].codes.mu.mean(0)
    held = [0, 2, 3, 5, 6, 7]
    for button in widget.slice_row.findChildren(type(widget.save_button)):
        if button.text() == "Data mean":
            with qtbot.waitSignal(widget.sliceChanged):
                button.click()
    assert len(values()) == 6
    np.testing.assert_allclose(values(), mean[held], rtol=2e-3, atol=1e-3)
    sl = window.session.sides[1].latent_slice
    np.testing.assert_allclose(sl.held_values, mean[held], rtol=2e-3, atol=1e-3)
    # A wrong count is refused with the dims it needs.
    widget.others.setText("1, 2")
    with qtbot.assertNotEmitted(widget.sliceChanged):
        widget.others.editingFinished.emit()
    assert (
        "give 6 comma-separated values (z1, z3, z4, z6, z7, z8)" in widget.note.text()
    )
