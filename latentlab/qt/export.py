"""Figures out of the app: any pyqtgraph plot as SVG or as PNG at 2x.

PNG goes through pyqtgraph's ``ImageExporter`` at twice the on-screen width;
its scatter symbols land where they are shown (checked by a test).

SVG does not go through pyqtgraph's ``SVGExporter``: with pyqtgraph 0.14 on
Qt 6.11 it raises ``ValueError`` on every plot, because Qt now closes paths
with a bare ``Z`` that its ``correctCoordinates`` cannot split (the ViewBox's
border and clip path are such paths; the same fault is suite2p issue #1243,
and #2789 tracks the exporter's breakage). It also draws scatter symbols as
they are cached or misplaces them (pyqtgraph issue #176). So the scene is
rendered by Qt's own ``QSvgGenerator`` (the manifold becomes an embedded
``<image>``, axes and curves vector paths) with the scatter items hidden, and
every shown scatter point is then written as an SVG mark of its own
(``<circle>`` for round symbols, ``<rect>`` for squares, ``<path>`` for
crosses) in ``<g id="points">``: one mark per point inside the view, in the
point's colour.

A figure is for a paper: it leaves out the marks of interaction (a plane's
crosshair and drawn selection region) and carries its key, written under the
plot (``<g id="legend">`` in SVG): a plane's colour groups and picks, every
named curve, and what its owner adds (:func:`figure_legend`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPen,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from latentlab.core.errors import ExportError
from latentlab.core.files import write_atomic
from latentlab.qt.save_dialog import png_bytes
from latentlab.qt.widgets.plane_items import CrosshairDot
from latentlab.qt.widgets.points import ALPHA, PointsItem
from latentlab.qt.widgets.styles import PICK_COLOURS

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
PNG_SCALE = 2
FIGURE_FILTER = "SVG image (*.svg);;PNG image, 2× resolution (*.png)"

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


LEGEND_FONT_PX = 11
LEGEND_SWATCH = 18.0  # a key entry's mark, then a gap, then its name
LEGEND_GAP = 14.0
LEGEND_ROW = 18.0
LEGEND_PAD = 6.0
MARKS = ("point", "ring", "line", "dash", "dot", "patch")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One entry of a figure's key: ``mark`` is one of :data:`MARKS`."""

    name: str
    rgb: tuple[int, int, int]
    mark: str = "point"


def figure_root(plot: Any) -> QGraphicsItem:
    """The graphics item to export for a PlotWidget, a GraphicsLayoutWidget or
    an item itself."""
    if isinstance(plot, pg.PlotWidget):
        return plot.getPlotItem()
    if isinstance(plot, pg.GraphicsLayoutWidget):
        return plot.ci
    return plot


def export_figure(plot: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``plot`` to ``path`` as SVG (``.svg``) or 2x PNG (anything else
    becomes ``.png``), atomically, with its key under it and without its
    interaction marks. Raises :class:`ExportError`."""
    target = Path(path)
    if target.suffix.lower() not in (".svg", ".png"):
        target = target.with_name(target.name + ".png")
    root = figure_root(plot)
    key = figure_legend(plot)
    if target.suffix.lower() == ".svg":
        data = figure_svg(root, key)
    else:
        data = figure_png(root, key)
    _write_atomic(target, data)
    return target


def figure_legend(plot: Any) -> list[KeyEntry]:
    """The key of ``plot``'s figure: a plane's colour groups
    (``legend_entries``) and shown picks, every named curve or scatter with
    data, then the owner's own entries (a ``figure_key`` attribute of the
    widget: a list of :class:`KeyEntry`, e.g. for an image layer)."""
    entries = [
        KeyEntry(name, tuple(rgb), "point")
        for name, rgb in getattr(plot, "legend_entries", ())
    ]
    rings = getattr(plot, "pick_rings", None)
    if rings is not None and rings.isVisible() and len(rings.data):
        shown = {
            pen.color().getRgb()[:3] for pen in rings.data["pen"] if pen is not None
        }
        entries += [
            KeyEntry(f"pick {name}", rgb, "ring")
            for name, rgb in zip("AB", PICK_COLOURS, strict=False)
            if tuple(rgb) in shown
        ]
    root = figure_root(plot)
    # The scene lists the top item first: the key follows the drawing order.
    drawn = _shown(root, pg.PlotDataItem, pg.PlotCurveItem, pg.ScatterPlotItem)
    for item in reversed(drawn):
        if isinstance(item.parentItem(), pg.PlotDataItem):
            continue  # a PlotDataItem's own curve and scatter: the item speaks
        name = item.name() if hasattr(item, "name") else None
        if name and _has_data(item):
            entries.append(_curve_entry(name, item))
    entries += list(getattr(plot, "figure_key", ()))
    return list(dict.fromkeys(entries))  # in order, once each


def _has_data(item: Any) -> bool:
    if isinstance(item, pg.PlotDataItem):
        x, _ = item.getData()
        return x is not None and len(x) > 0
    if isinstance(item, pg.ScatterPlotItem):
        return len(item.data) > 0
    return item.getData()[0] is not None and len(item.getData()[0]) > 0


def _curve_entry(name: str, item: Any) -> KeyEntry:
    opts = item.opts
    pen = pg.mkPen(opts.get("pen")) if "pen" in opts else QPen(Qt.PenStyle.NoPen)
    if isinstance(item, pg.ScatterPlotItem) or pen.style() == Qt.PenStyle.NoPen:
        brush = pg.mkBrush(opts.get("brush") or opts.get("symbolBrush") or "k")
        return KeyEntry(name, brush.color().getRgb()[:3], "point")
    mark = {Qt.PenStyle.DashLine: "dash", Qt.PenStyle.DotLine: "dot"}.get(
        pen.style(), "line"
    )
    return KeyEntry(name, pen.color().getRgb()[:3], mark)


def _legend_font() -> QFont:
    font = QFont(QGuiApplication.font())
    font.setPixelSize(LEGEND_FONT_PX)
    return font


def _legend_layout(
    key: Sequence[KeyEntry], width: float
) -> tuple[list[tuple[float, float, KeyEntry]], float]:
    """Where each entry goes under a figure ``width`` wide (rows wrap), in
    figure pixels from the legend's top-left, and the legend's height."""
    if not key:
        return [], 0.0
    metrics = QFontMetricsF(_legend_font())
    placed, x, y = [], LEGEND_PAD, LEGEND_PAD
    for entry in key:
        w = LEGEND_SWATCH + 4 + metrics.horizontalAdvance(entry.name)
        if x > LEGEND_PAD and x + w > width - LEGEND_PAD:
            x, y = LEGEND_PAD, y + LEGEND_ROW
        placed.append((x, y, entry))
        x += w + LEGEND_GAP
    return placed, y + LEGEND_ROW + LEGEND_PAD


def _paint_legend(
    painter: QPainter, key: Sequence[KeyEntry], top: float, width: float
) -> None:
    """Paint ``key`` from figure pixel row ``top`` (a PNG's legend)."""
    painter.setFont(_legend_font())
    placed, _ = _legend_layout(key, width)
    for x, y, entry in placed:
        y += top
        mid = y + LEGEND_ROW / 2
        colour = QColor(*entry.rgb)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if entry.mark in ("line", "dash", "dot"):
            style = {"line": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine}.get(
                entry.mark, Qt.PenStyle.DotLine
            )
            painter.setPen(QPen(colour, 2, style))
            painter.drawLine(QPointF(x, mid), QPointF(x + LEGEND_SWATCH - 2, mid))
        elif entry.mark == "patch":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(colour))
            painter.drawRect(QRectF(x + 3, mid - 5, 10, 10))
        else:
            painter.setPen(
                QPen(colour, 2) if entry.mark == "ring" else Qt.PenStyle.NoPen
            )
            if entry.mark == "point":
                painter.setBrush(QBrush(colour))
            painter.drawEllipse(QPointF(x + 8, mid), 4.5, 4.5)
        painter.setPen(QColor("#222"))
        painter.drawText(
            QRectF(x + LEGEND_SWATCH + 4, y, width, LEGEND_ROW),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            entry.name,
        )


def _legend_svg(key: Sequence[KeyEntry], top: float, width: float) -> ET.Element:
    """``key`` as ``<g id="legend">`` from figure pixel row ``top``."""
    group = ET.Element(f"{{{SVG_NS}}}g", {"id": "legend"})
    placed, _ = _legend_layout(key, width)
    family = _legend_font().family()
    for x, y, entry in placed:
        y += top
        mid = y + LEGEND_ROW / 2
        colour = "#{:02x}{:02x}{:02x}".format(*entry.rgb)
        if entry.mark in ("line", "dash", "dot"):
            el = ET.SubElement(
                group,
                f"{{{SVG_NS}}}line",
                {
                    "x1": f"{x:.2f}",
                    "y1": f"{mid:.2f}",
                    "x2": f"{x + LEGEND_SWATCH - 2:.2f}",
                    "y2": f"{mid:.2f}",
                    "stroke": colour,
                    "stroke-width": "2",
                },
            )
            if entry.mark != "line":
                el.set("stroke-dasharray", "5,3" if entry.mark == "dash" else "1.5,2.5")
        elif entry.mark == "patch":
            ET.SubElement(
                group,
                f"{{{SVG_NS}}}rect",
                {
                    "x": f"{x + 3:.2f}",
                    "y": f"{mid - 5:.2f}",
                    "width": "10",
                    "height": "10",
                    "fill": colour,
                },
            )
        else:
            ring = entry.mark == "ring"
            ET.SubElement(
                group,
                f"{{{SVG_NS}}}circle",
                {
                    "cx": f"{x + 8:.2f}",
                    "cy": f"{mid:.2f}",
                    "r": "4.5",
                    "fill": "none" if ring else colour,
                    "stroke": colour if ring else "none",
                    "stroke-width": "2",
                },
            )
        text = ET.SubElement(
            group,
            f"{{{SVG_NS}}}text",
            {
                "x": f"{x + LEGEND_SWATCH + 4:.2f}",
                "y": f"{mid + LEGEND_FONT_PX * 0.35:.2f}",
                "font-family": family,
                "font-size": f"{LEGEND_FONT_PX}px",
                "fill": "#222222",
            },
        )
        text.text = entry.name
    return group


def _interaction_marks(root: QGraphicsItem) -> list[QGraphicsItem]:
    """The shown marks of interaction a figure leaves out: crosshairs (their
    lines are children) and drawn selection regions."""
    return [
        item
        for item in _shown(root, CrosshairDot, QGraphicsPathItem)
        if isinstance(item, CrosshairDot) or _is_region(item)
    ]


def _is_region(item: QGraphicsItem) -> bool:
    plane = item.scene().views()[0] if item.scene().views() else None
    return plane is not None and getattr(plane, "region_item", None) is item


def figure_png(
    root: QGraphicsItem, key: Sequence[KeyEntry] = (), scale: int = PNG_SCALE
) -> bytes:
    """PNG bytes of ``root`` at ``scale`` times its on-screen width, ``key``
    under it."""
    return png_bytes(figure_image(root, key, scale))


def figure_image(
    root: QGraphicsItem,
    key: Sequence[KeyEntry] = (),
    scale: float = PNG_SCALE,
    caption: str = "",
) -> QImage:
    """``root`` rendered at ``scale`` times its on-screen width without its
    interaction marks, then ``caption`` (one line) and ``key`` under it."""
    exporter = pg.exporters.ImageExporter(root)
    params = exporter.parameters()
    params["width"] = max(1, round(root.sceneBoundingRect().width() * scale))
    hidden = _interaction_marks(root)
    for item in hidden:
        item.setVisible(False)
    try:
        image = exporter.export(toBytes=True)
    finally:
        for item in hidden:
            item.setVisible(True)
    if image is None:
        raise ExportError("the figure could not be rendered as PNG")
    if not key and not caption:
        return image
    width = image.width() / scale
    top = LEGEND_ROW + LEGEND_PAD if caption else 0.0
    _, height = _legend_layout(key, width)
    extra = round((top + height) * scale)
    full = QImage(image.width(), image.height() + extra, QImage.Format.Format_RGB32)
    full.fill(QColor("white"))
    painter = QPainter(full)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawImage(0, 0, image)
        painter.scale(scale, scale)
        below = image.height() / scale
        if caption:
            font = _legend_font()
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor("#222"))
            box = QRectF(
                LEGEND_PAD, below + LEGEND_PAD, width - 2 * LEGEND_PAD, LEGEND_ROW
            )
            text = QFontMetricsF(font).elidedText(
                caption, Qt.TextElideMode.ElideRight, box.width()
            )
            painter.drawText(
                box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
            )
        _paint_legend(painter, key, below + top, width)
    finally:
        painter.end()
    return full


def _shown(root: QGraphicsItem, *types: type) -> list[Any]:
    """The visible items of ``types`` in ``root``'s tree (``root`` included)."""
    return [
        item
        for item in root.scene().items()
        if isinstance(item, types)
        and item.isVisible()
        and (root is item or root.isAncestorOf(item))
    ]


def _scatters(root: QGraphicsItem) -> list[pg.ScatterPlotItem | PointsItem]:
    # With its device off (core/perf.py) a PointsItem draws through child
    # scatters; its own marks are those points.
    return [
        item
        for item in _shown(root, pg.ScatterPlotItem, PointsItem)
        if not isinstance(item.parentItem(), PointsItem)
    ]


def _colour(qcolor) -> tuple[str, float]:
    return qcolor.name(), round(qcolor.alphaF(), 4)


def _in_view(item: QGraphicsItem, x, y, keep, src: QRectF):
    """``keep`` narrowed to the points inside the item's view, and the points'
    figure pixels."""
    vb = item.getViewBox()
    if vb is not None:
        # Only the points shown: those inside the visible range (the view clips).
        # The view rect is in the item's coordinates (log mode included).
        rect = item.mapRectFromView(vb.viewRect())
        keep &= (x >= rect.left()) & (x <= rect.right())
        keep &= (y >= rect.top()) & (y <= rect.bottom())
    tr = item.sceneTransform()
    sx = tr.m11() * x + tr.m21() * y + tr.dx() - src.left()
    sy = tr.m12() * x + tr.m22() * y + tr.dy() - src.top()
    return keep, sx, sy


def _points_marks(item: PointsItem, src: QRectF) -> list[dict[str, Any]]:
    """The SVG marks of a :class:`PointsItem`: a disc per point, its group's colour."""
    keep = np.ones(item.count(), bool)
    keep, sx, sy = _in_view(item, item.x, item.y, keep, src)
    fills = [
        (f"#{r:02x}{g:02x}{b:02x}", round(ALPHA / 255, 4)) for r, g, b in item.colours
    ]
    r = item.size / 2
    return [
        {
            "x": sx[i],
            "y": sy[i],
            "r": r,
            "symbol": "o",
            "fill": fills[item.group[i]],
            "stroke": None,
        }
        for i in np.flatnonzero(keep)
    ]


def _marks(item: pg.ScatterPlotItem | PointsItem, src: QRectF) -> list[dict[str, Any]]:
    """The SVG marks of the points of ``item`` inside its view, in figure pixels."""
    if isinstance(item, PointsItem):
        return _points_marks(item, src)
    data = item.data
    if len(data) == 0:
        return []
    x = np.asarray(data["x"], np.float64)
    y = np.asarray(data["y"], np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & np.asarray(data["visible"], bool)
    keep, sx, sy = _in_view(item, x, y, keep, src)
    opts = item.opts
    marks = []
    for i in np.flatnonzero(keep):
        size = float(data["size"][i])
        size = float(opts["size"]) if size < 0 else size
        symbol = data["symbol"][i]
        symbol = opts["symbol"] if symbol is None else symbol
        brush = data["brush"][i]
        brush = pg.mkBrush(opts["brush"]) if brush is None else brush
        pen = data["pen"][i]
        pen = pg.mkPen(opts["pen"]) if pen is None else pen
        mark = {"x": sx[i], "y": sy[i], "r": size / 2, "symbol": symbol}
        if brush.style() == Qt.BrushStyle.NoBrush:
            mark["fill"] = ("none", 1.0)
        else:
            mark["fill"] = _colour(brush.color())
        if pen.style() == Qt.PenStyle.NoPen:
            mark["stroke"] = None
        else:
            mark["stroke"] = (*_colour(pen.color()), max(pen.widthF(), 1.0))
        marks.append(mark)
    return marks


def _mark_element(mark: dict[str, Any]) -> ET.Element:
    x, y, r = mark["x"], mark["y"], mark["r"]
    symbol = mark["symbol"]
    if symbol == "s":
        el = ET.Element(
            f"{{{SVG_NS}}}rect",
            {"x": f"{x - r:.2f}", "y": f"{y - r:.2f}", "width": f"{2 * r:.2f}"},
        )
        el.set("height", f"{2 * r:.2f}")
    elif symbol in ("+", "x"):
        if symbol == "+":
            d = f"M{x - r:.2f},{y:.2f} H{x + r:.2f} M{x:.2f},{y - r:.2f} V{y + r:.2f}"
        else:
            d = (
                f"M{x - r:.2f},{y - r:.2f} L{x + r:.2f},{y + r:.2f} "
                f"M{x - r:.2f},{y + r:.2f} L{x + r:.2f},{y - r:.2f}"
            )
        el = ET.Element(f"{{{SVG_NS}}}path", {"d": d})
    else:  # "o" and every other symbol: a circle of the symbol's size
        el = ET.Element(
            f"{{{SVG_NS}}}circle",
            {"cx": f"{x:.2f}", "cy": f"{y:.2f}", "r": f"{r:.2f}"},
        )
    fill, fill_opacity = mark["fill"]
    el.set("fill", fill)
    if fill != "none" and fill_opacity < 1:
        el.set("fill-opacity", f"{fill_opacity:g}")
    if mark["stroke"] is None:
        el.set("stroke", "none")
    else:
        colour, opacity, width = mark["stroke"]
        el.set("stroke", colour)
        el.set("stroke-width", f"{width:g}")
        if opacity < 1:
            el.set("stroke-opacity", f"{opacity:g}")
    return el


def figure_svg(root: QGraphicsItem, key: Sequence[KeyEntry] = ()) -> bytes:
    """SVG bytes of ``root``: Qt's rendering of the scene without the scatter
    items, then one mark per shown scatter point, then ``key`` under the plot
    (see the module docstring)."""
    scene = root.scene()
    # Views apply a new range lazily, just before they paint; the marks are
    # computed from the items' transforms, so bring those up to date first.
    if hasattr(scene, "prepareForPaint"):
        scene.prepareForPaint()
    src = root.sceneBoundingRect()
    w, h = max(1, round(src.width())), max(1, round(src.height()))
    scatters = _scatters(root)
    marks = [m for item in scatters for m in _marks(item, src)]
    hidden = _interaction_marks(root)
    _, legend_h = _legend_layout(key, w)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buf)
    generator.setSize(QSize(w, h))
    generator.setViewBox(QRectF(0, 0, w, h))
    generator.setTitle("LatentLab figure")
    # pyqtgraph's axes replay QPictures recorded at the screen's resolution; Qt
    # scales a QPicture by the ratio of the two devices' DPI, so the generator
    # must claim the screen's (as pyqtgraph's SVGExporter does).
    screen = QGuiApplication.primaryScreen()
    if screen is not None:
        generator.setResolution(round(screen.logicalDotsPerInchX()))
    # Cached items (the axes, see plot_style.cache_axes) would be written as
    # bitmaps; uncached for the render, they come out as vector text and lines.
    cached = [
        (item, item.cacheMode())
        for item in root.scene().items()
        if item.cacheMode() != QGraphicsItem.CacheMode.NoCache
        and (root is item or root.isAncestorOf(item))
    ]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    for item in (*scatters, *hidden):
        item.setVisible(False)
    try:
        painter = QPainter(generator)
        try:
            root.scene().render(painter, QRectF(0, 0, w, h), src)
        finally:
            painter.end()
    finally:
        for item in (*scatters, *hidden):
            item.setVisible(True)
        for item, mode in cached:
            item.setCacheMode(mode)
    try:
        svg = ET.fromstring(bytes(buf.data()))
    except ET.ParseError as exc:
        raise ExportError(f"Qt wrote an SVG that does not parse ({exc})") from exc
    group = ET.SubElement(svg, f"{{{SVG_NS}}}g", {"id": "points"})
    for mark in marks:
        group.append(_mark_element(mark))
    if key:
        full_h = h + round(legend_h)
        # Qt writes the size in mm: grow the height by the legend's share.
        height = svg.get("height", f"{h}")
        number = height.rstrip("abcdefghijklmnopqrstuvwxyz%")
        unit = height[len(number) :]
        svg.set("height", f"{float(number) * full_h / h:.3f}{unit}")
        svg.set("viewBox", f"0 0 {w} {full_h}")
        backdrop = ET.Element(
            f"{{{SVG_NS}}}rect",
            {
                "x": "0",
                "y": f"{h}",
                "width": f"{w}",
                "height": f"{round(legend_h)}",
                "fill": "#ffffff",
            },
        )
        svg.append(backdrop)
        svg.append(_legend_svg(key, h, w))
    return ET.tostring(svg, encoding="utf-8", xml_declaration=True)


def _write_atomic(target: Path, data: bytes) -> None:
    write_atomic(target, data, error=ExportError)
