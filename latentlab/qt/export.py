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
point's colour. A plane's crosshair is written the same way, in
``<g id="crosshair">``: two lines across its view and its dot.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QBuffer, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from latentlab.core.errors import ExportError
from latentlab.core.files import write_atomic
from latentlab.qt.save_dialog import png_bytes
from latentlab.qt.widgets.plane_items import CrosshairDot
from latentlab.qt.widgets.points import ALPHA, PointsItem

if TYPE_CHECKING:
    import os

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
PNG_SCALE = 2
FIGURE_FILTER = "SVG image (*.svg);;PNG image, 2× resolution (*.png)"

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


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
    becomes ``.png``), atomically. Raises :class:`ExportError`."""
    target = Path(path)
    if target.suffix.lower() not in (".svg", ".png"):
        target = target.with_name(target.name + ".png")
    root = figure_root(plot)
    if target.suffix.lower() == ".svg":
        data = figure_svg(root)
    else:
        data = figure_png(root)
    _write_atomic(target, data)
    return target


def figure_png(root: QGraphicsItem, scale: int = PNG_SCALE) -> bytes:
    """PNG bytes of ``root`` at ``scale`` times its on-screen width."""
    exporter = pg.exporters.ImageExporter(root)
    params = exporter.parameters()
    params["width"] = max(1, round(root.sceneBoundingRect().width() * scale))
    # A crosshair keeps its size in pixels whatever the scale: grow it with
    # the figure, as the scatter symbols do.
    dots = _crosshairs(root)
    for dot in dots:
        dot.setScale(scale)
    try:
        image = exporter.export(toBytes=True)
    finally:
        for dot in dots:
            dot.setScale(1.0)
    if image is None:
        raise ExportError("the figure could not be rendered as PNG")
    return png_bytes(image)


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


def _crosshairs(root: QGraphicsItem) -> list[CrosshairDot]:
    """The shown crosshair dots (their lines are children)."""
    return _shown(root, CrosshairDot)


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


def _crosshair_elements(dot: CrosshairDot, src: QRectF) -> list[ET.Element]:
    """A crosshair as SVG: its two lines across its view only, then its dot.

    Qt's SVG output ignores the view's clip, so the items are not rendered.
    """
    vb = dot.parentItem()
    while vb is not None and not isinstance(vb, pg.ViewBox):
        vb = vb.parentItem()
    at = dot.scenePos() - src.topLeft()
    x, y = at.x(), at.y()
    elements = []
    if vb is not None:
        view = vb.sceneBoundingRect().translated(-src.topLeft())
        line = next(iter(dot.childItems()), None)
        pen = line.pen() if line is not None else QPen()
        colour, opacity = _colour(pen.color())
        for x1, y1, x2, y2 in (
            (x, view.top(), x, view.bottom()),
            (view.left(), y, view.right(), y),
        ):
            el = ET.Element(
                f"{{{SVG_NS}}}line",
                {
                    "x1": f"{x1:.2f}",
                    "y1": f"{y1:.2f}",
                    "x2": f"{x2:.2f}",
                    "y2": f"{y2:.2f}",
                    "stroke": colour,
                    "stroke-width": f"{max(pen.widthF(), 1.0):g}",
                },
            )
            if opacity < 1:
                el.set("stroke-opacity", f"{opacity:g}")
            elements.append(el)
    ring = dot.pen()
    mark = {
        "x": x,
        "y": y,
        "r": dot.rect().width() / 2,
        "symbol": "o",
        "fill": _colour(dot.brush().color()),
        "stroke": (*_colour(ring.color()), ring.widthF()),
    }
    elements.append(_mark_element(mark))
    return elements


def figure_svg(root: QGraphicsItem) -> bytes:
    """SVG bytes of ``root``: Qt's rendering of the scene without the scatter
    items, then one mark per shown scatter point (see the module docstring)."""
    scene = root.scene()
    # Views apply a new range lazily, just before they paint; the marks are
    # computed from the items' transforms, so bring those up to date first.
    if hasattr(scene, "prepareForPaint"):
        scene.prepareForPaint()
    src = root.sceneBoundingRect()
    w, h = max(1, round(src.width())), max(1, round(src.height()))
    scatters = _scatters(root)
    marks = [m for item in scatters for m in _marks(item, src)]
    dots = _crosshairs(root)
    crosshairs = [el for dot in dots for el in _crosshair_elements(dot, src)]
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
    for item in (*scatters, *dots):
        item.setVisible(False)
    try:
        painter = QPainter(generator)
        try:
            root.scene().render(painter, QRectF(0, 0, w, h), src)
        finally:
            painter.end()
    finally:
        for item in (*scatters, *dots):
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
    if crosshairs:
        ET.SubElement(svg, f"{{{SVG_NS}}}g", {"id": "crosshair"}).extend(crosshairs)
    return ET.tostring(svg, encoding="utf-8", xml_declaration=True)


def _write_atomic(target: Path, data: bytes) -> None:
    write_atomic(target, data, error=ExportError)
