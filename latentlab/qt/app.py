"""QApplication set-up and start-up: ``latentlab [A.pt [B.pt]]``."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, QSocketNotifier, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from latentlab.core import perf
from latentlab.core.data import default_data_dir, find_dataset_files
from latentlab.core.datasets.idx import shipped_data_dir
from latentlab.core.resources import APP_ID, icon_pngs, icon_svg, models_dir
from latentlab.core.session import SIDE_NAMES
from latentlab.qt.controller import Controller
from latentlab.qt.lesson_dock import offer_lesson
from latentlab.qt.main_window import MainWindow
from latentlab.qt.workers import await_all

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# The shipped checkpoints, in the wheel or the source checkout (core.resources).
MODELS_DIR = models_dir()


def shipped_pair(data_dir: str | None) -> list[Path]:
    """The models to open on first launch: MNIST's pair (the article's setting)
    when its files are found, in the data folder or shipped with the package,
    else the embedded-shapes pair (always available)."""
    root = Path(data_dir) if data_dir else default_data_dir()
    models = models_dir()
    mnist = [models / "mnist-ae-2d.pt", models / "mnist-vae-2d.pt"]
    found = find_dataset_files("mnist", root)
    if found is not None and all(p.is_file() for p in mnist):
        return mnist
    shapes = [models / "shapes-ae-2d.pt", models / "shapes-vae-2d.pt"]
    return [p for p in shapes if p.is_file()]


def app_icon() -> QIcon:
    """The application icon: every shipped PNG size, and the SVG for the rest."""
    icon = QIcon()
    for size, png in icon_pngs().items():
        icon.addFile(str(png), QSize(size, size))
    icon.addFile(str(icon_svg()))
    return icon


def configure_app(app: QGuiApplication) -> None:
    """Names, desktop-file name and icon, before any window is shown."""
    app.setApplicationName("LatentLab")
    app.setOrganizationName("LatentLab")
    # Wayland compositors and task bars match windows to latentlab.desktop by this.
    QGuiApplication.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())


def create_window(
    files: Sequence[str],
    data_dir: str | None,
    *,
    load: bool = True,
    defer_views: bool = False,
) -> MainWindow:
    """Build the window and start loading ``files`` (or the shipped pair); with
    ``load=False`` the caller starts it with :func:`show_loading` and
    :func:`load_files`. ``defer_views``: see :class:`MainWindow`."""
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    controller = Controller(data_dir=data_dir)
    window = MainWindow(controller, defer_views=defer_views)
    if load:
        show_loading(window, files, data_dir)
        load_files(window, files, data_dir)
    return window


def startup_files(files: Sequence[str], data_dir: str | None) -> list[Path]:
    """What start-up opens: the files given, else the shipped pair (two at most)."""
    return ([Path(f) for f in files] or shipped_pair(data_dir))[:2]


def show_loading(
    window: MainWindow,
    files: Sequence[str],
    data_dir: str | None,
    loaded: Callable[[], None] | None = None,
) -> None:
    """Say what start-up loads, before the window's first frame: the status bar,
    and each side's title until its load ends (not "no model" meanwhile).
    ``loaded`` is called when the last start-up load ends (never without one)."""
    paths = startup_files(files, data_dir)
    if not paths:
        return
    window.statusBar().showMessage(f"Loading {', '.join(p.name for p in paths)}…")
    controller = window.controller
    pending: dict[int, str] = {}  # side -> its loading title
    for side, path in enumerate(paths):
        pending[side] = f"{SIDE_NAMES[side].capitalize()}: loading {path.name}…"
        window.panels[side].title.setText(pending[side])

    def ended(side: int, busy: bool) -> None:
        if busy or side not in pending:
            return
        text = pending.pop(side)
        if not pending:
            controller.loadingChanged.disconnect(ended)
            note = shipped_data_note(window)
            if note:
                window.statusBar().showMessage(note, 30000)
                offer_full_data(window)
            if loaded is not None:
                loaded()
        panel = window.panels[side]
        if panel.title.text() == text:
            # Failed (or asked for a dataset): the side's own state replaces
            # the loading title; a loaded model has already replaced it.
            panel.show_side(window.session.sides[side])

    controller.loadingChanged.connect(ended)


def shipped_data_note(window: MainWindow) -> str:
    """What the status bar says when a model shown reads the data shipped with
    the package (the MNIST subset), or ``""``."""
    shipped = str(shipped_data_dir())
    for state in window.session.sides:
        data = state.dataset
        if data is not None and data.source.startswith(shipped):
            # Short: it shares the status bar with the lesson and download offers.
            return (
                f"{data.name.upper()}: the {len(data.train_images):,} / "
                f"{len(data.test_images):,}-image subset shipped with LatentLab "
                "(CC BY-SA 3.0, LeCun & Cortes)"
            )
    return ""


def offer_full_data(window: MainWindow) -> QPushButton:
    """While a model shows the data shipped with the package, a status-bar
    button offers the full set: downloaded (it needs internet) into the data
    folder, then the models shown are opened again on it."""
    ws = window.controller.workspace
    root = ws.data_dir or str(default_data_dir())
    button = QPushButton("Download the full MNIST…", window)
    button.setToolTip(
        f"Download the 70,000-image MNIST through torchvision into {root} (needs "
        "internet; about 11 MB), then show these models on it"
    )

    def done(_dataset: object) -> None:
        window.statusBar().removeWidget(button)
        button.deleteLater()
        window.statusBar().showMessage(f"The full MNIST is in {root}", 15000)
        shipped = str(shipped_data_dir())
        for slot, state in enumerate(ws.slots):
            on_shipped = state.dataset is not None and state.dataset.source.startswith(
                shipped
            )
            if on_shipped and state.checkpoint and state.checkpoint.path is not None:
                ws.open(state.checkpoint.path, slot)

    def failed(exc: Exception) -> None:
        button.setEnabled(True)
        button.setText("Download the full MNIST…")
        window.show_error("Could not download MNIST", str(exc))

    def start() -> None:
        button.setEnabled(False)
        button.setText("Downloading MNIST…")
        ws.download_dataset("mnist", root, on_result=done, on_error=failed)

    button.clicked.connect(start)
    window.statusBar().addPermanentWidget(button)
    return button


def load_files(window: MainWindow, files: Sequence[str], data_dir: str | None) -> None:
    """Load the start-up files into the left and right panels, in the background.

    The first load imports torch (over a second) on a worker thread.
    """
    for side, path in enumerate(startup_files(files, data_dir)):
        window.controller.load_file(side, path)


class _FirstPaint(QObject):
    """Calls ``callback`` once, in the event-loop turn after the window's first
    paint event: by then Qt has painted the window and all its child widgets in
    one pass and put the frame on screen."""

    def __init__(self, window: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(window)
        self._callback = callback
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
        return False


def after_first_paint(window: QWidget, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the window is on screen (see :class:`_FirstPaint`)."""
    _FirstPaint(window, callback)


def new_application(argv: Sequence[str]) -> QApplication:
    """The running QApplication, or a new one in the app's Qt environment."""
    app = QApplication.instance()
    if app is None:
        # Qt splits every fill of more than ~96 rows over its GUI thread pool and
        # waits for it. The window's repaints are small blits, and the pool's
        # threads compete with training and jobs for the cores: a crosshair
        # repaint took 1.4-1.7 ms wall with the pool, 0.6-0.85 ms without (same
        # CPU time; 2-core box). An explicit setting of the user's wins. The
        # ``no_gui_threadpool`` device (core/perf.py).
        if perf.enabled("no_gui_threadpool"):
            os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
        app = QApplication(list(argv))
    return app  # type: ignore[return-value]


def show_then_load(
    window: MainWindow,
    files: Sequence[str],
    data_dir: str | None,
    painted: Callable[[], None] | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """Show the window (built with ``load=False, defer_views=True``); once its
    first frame is on screen, call ``painted`` and start loading ``files``;
    ``started`` runs once the loads have ended and the views are built (or the
    window began to close first).

    The analysis tabs (~0.2 s of widgets the first frame does not show) are
    built once the loads end, one per event-loop turn; built alongside the
    loads they delayed them by as much, both wanting the GIL. A tab the user
    opens sooner is built then.
    """

    def build_views() -> None:
        window.build_views(one_per_turn=True, then=started)

    show_loading(window, files, data_dir, loaded=build_views)

    def start_loading() -> None:
        if painted is not None:
            painted()
        if startup_files(files, data_dir):
            load_files(window, files, data_dir)
        else:
            build_views()

    after_first_paint(window, start_loading)
    window.show()


def freeze_startup_objects() -> None:
    """Leave what start-up made out of the cyclic GC's full passes.

    The modules of torch, numpy, Qt and pyqtgraph leave ~260,000 tracked
    objects that live as long as the app. A full pass walked them all in
    ~120-130 ms on a 2-core box, holding the GIL: the window froze as long, at
    no moment the user chose. Frozen (``gc.freeze``), a full pass walks only
    what was made since. Reference counting still frees frozen objects, but a
    cycle among them is never collected: the young generations are collected
    first (a full collection would be the very pause this avoids). The
    ``gc_freeze`` device (:mod:`latentlab.core.perf`): off, nothing is frozen.
    """
    if not perf.enabled("gc_freeze"):
        return
    gc.collect(1)
    gc.freeze()


def run_app(files: Sequence[str], data_dir: str | None = None) -> int:
    """Run the desktop app until its window closes."""
    app = new_application(sys.argv[:1])
    configure_app(app)
    if not files and not shipped_pair(data_dir):
        print(
            f"latentlab: no shipped models found in {models_dir()}; "
            "open or train a model",
            file=sys.stderr,
        )
    # The window is built and painted before torch is imported (the Qt layer and
    # the core modules it imports import torch only inside functions): loading
    # the models, which imports it, starts once the window is on screen.
    window = create_window(files, data_dir, load=False, defer_views=True)

    def report_paint() -> None:
        if os.environ.get("LATENTLAB_REPORT_PAINT"):
            print("latentlab: window painted", flush=True)

    show_then_load(
        window, files, data_dir, painted=report_paint, started=freeze_startup_objects
    )
    if os.environ.get("LATENTLAB_QUIT_WHEN_READY"):
        # Smoke tests and the start-up benchmark: report, then close like a user.
        quit_when_ready(window, len(startup_files(files, data_dir)))
    else:
        # A person started the app (scripts build their windows with
        # create_window): a first launch offers the lesson, without a dialog.
        offer_lesson(window)
    with _SigintCloses(window) as sigint:
        code = app.exec()
    # superqt defers a worker's start by a timer tick, so a job requested while
    # the window closed may have started after closeEvent's wait: drain it while
    # its Qt objects still exist.
    await_all(3000)
    return 130 if sigint.closed else code


class _SigintCloses:
    """While active, Ctrl+C in the terminal closes the window as its close button
    does (which may ask about unsaved models); :attr:`closed` says it did.

    Python runs signal handlers only between bytecodes, never while Qt's event loop
    waits in C++: the C-level handler writes a byte to a socket
    (``signal.set_wakeup_fd``), which wakes the loop, and the notifier's slot gives
    Python the moment to run the handler.
    """

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.closed = False
        self._busy = False  # a close is queued or asking: more Ctrl+C waits for it

    def __enter__(self) -> _SigintCloses:
        self._reader, self._writer = socket.socketpair()
        for sock in (self._reader, self._writer):
            sock.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(
            self._writer.fileno(), warn_on_full_buffer=False
        )
        self._old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        self._notifier = QSocketNotifier(
            self._reader.fileno(), QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._drain)
        return self

    def __exit__(self, *exc: object) -> None:
        self._notifier.setEnabled(False)
        signal.signal(signal.SIGINT, self._old_handler)
        signal.set_wakeup_fd(self._old_fd)
        self._reader.close()
        self._writer.close()

    def _on_sigint(self, _signum: int, _frame: object) -> None:
        if not self._busy:
            self._busy = True
            QTimer.singleShot(0, self._close)

    def _close(self) -> None:
        try:
            self.closed = self.window.close()
        finally:
            self._busy = False

    def _drain(self) -> None:
        try:
            while self._reader.recv(512):
                pass
        except BlockingIOError:
            pass


def quit_when_ready(window: MainWindow, expected: int) -> None:
    """Print "ready" and close the window once ``expected`` models are shown
    (or print the error and close): CI's way to open and close the app."""
    controller = window.controller

    def check(_side: int = 0) -> None:
        slots = controller.workspace.slots
        loaded = sum(p.model is not None for p in slots)
        if loaded >= expected:
            names = ", ".join(
                s.checkpoint.path.name if s.checkpoint.path else s.checkpoint.title()
                for s in slots
                if s.model is not None and s.checkpoint is not None
            )
            print(f"latentlab: ready, {loaded} model(s) loaded ({names})", flush=True)
            controller.session.sideChanged.disconnect(check)
            QTimer.singleShot(0, window.close)

    def failed(title: str, message: str) -> None:
        print(f"latentlab: {title}: {message}", flush=True)
        QTimer.singleShot(0, window.close)

    controller.session.sideChanged.connect(check)
    controller.errorRaised.connect(failed)
    QTimer.singleShot(0, check)
