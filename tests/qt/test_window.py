"""What the user sees stays true: views without their model say so, unsaved
models are never dropped without asking, recents list only files that opened,
the training form follows the models shown, and a 1024×720 window is usable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
    QPushButton,
    QWidget,
)

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.training import new_model
from latentlab.qt.analysis.registry import VIEWS
from latentlab.qt.app import create_window

from .conftest import SHAPES_PAIR
from .conftest import wait_loaded as _wait_loaded

SHAPES_AE = SHAPES_PAIR[0]


def _window(qtbot, files, size=(1280, 900)):
    win = create_window(files, None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def answer_prompt(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click ``button`` of the unsaved-model prompt once it is up."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)


def _make_unsaved(qtbot, window, side: int) -> None:
    """Show an untrained in-memory VAE in ``side``, as a run would leave it."""
    from latentlab.core.checkpoints import Checkpoint

    ckpt = load_checkpoint(SHAPES_PAIR[1])
    ckpt = Checkpoint(model=ckpt.model, dataset=ckpt.dataset, history=ckpt.history)
    window.controller.set_checkpoint(side, ckpt, unsaved=True)
    qtbot.waitUntil(lambda: window.session.sides[side].unsaved, timeout=10000)
    assert window.panels[side].title.text().endswith("· unsaved")


# --- stale views -----------------------------------------------------------------


def test_two_autoencoders_leave_no_view_with_old_content(qtbot, window):
    views = window.views
    for key in ("eps", "interpolation", "prior"):  # each has drawn the VAE
        window.tabs.setCurrentWidget(views[key])
        qtbot.wait(300)
    qtbot.waitUntil(lambda: len(views["interpolation"].results) == 2, timeout=10000)
    window.tabs.setCurrentIndex(0)
    window.controller.load_file(1, SHAPES_AE)
    qtbot.waitUntil(
        lambda: window.session.sides[1].kind == "AE" and window.session.sides[1].ready,
        timeout=10000,
    )
    for key, view in views.items():
        if "vae" not in view.needs:
            continue
        window.tabs.setCurrentWidget(view)
        assert view.showing_message, f"{key} still shows content without a VAE"
        assert "needs a VAE" in view.message.text(), view.message.text()
    # Diagnostics works with an AE alone: it keeps the AE, drops every VAE figure.
    diag = views["diagnostics"]
    window.tabs.setCurrentWidget(diag)
    assert not diag.showing_message
    assert "VAE" not in diag.live
    vae_col = diag.columns["VAE"]
    assert vae_col.header.text() == "VAE: none shown"
    assert len(vae_col.bars.opts["height"]) == 0 and vae_col.figures.text() == ""
    assert vae_col.density.image is None and diag.report is None
    assert not diag.compute_button.isEnabled()
    # Interpolation needs two models, of any kind: it compares the two AEs.
    interp = views["interpolation"]
    assert interp.results == []  # computed with the VAE: stale
    window.tabs.setCurrentWidget(interp)
    qtbot.waitUntil(lambda: len(interp.results) == 2, timeout=10000)
    assert [r.kind for r in interp.results] == ["AE (left)", "AE (right)"]
    assert interp.heading.text() == "Interpolation: AE (left) vs AE (right)"
    assert all(plane.point_count() > 0 for plane in interp.planes.values())
    # So do the prior samples: the same draws through both AEs.
    prior = views["prior"]
    assert prior.batch is None  # decoded with the VAE: stale
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    assert [r.kind for r in prior.batch.results] == ["AE (left)", "AE (right)"]
    assert all(grid.count == 64 for grid in prior.grids.values())
    eps = views["eps"]
    assert eps.grid.count == 0 and eps.plane.point_count() == 0
    # The VAE back: every view works again.
    window.controller.load_file(1, SHAPES_PAIR[1])
    window.tabs.setCurrentWidget(interp)
    qtbot.waitUntil(lambda: len(interp.results) == 2, timeout=10000)
    assert not interp.showing_message


def test_a_hidden_view_does_no_work_until_shown(qtbot, window):
    prior = window.views["prior"]
    before = prior.refresh_count
    window.controller.load_file(0, SHAPES_AE)  # reloads: a side change
    qtbot.waitUntil(lambda: not window.controller.jobs.busy("load0"), timeout=10000)
    assert prior.stale and prior.refresh_count == before
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    assert not prior.stale and prior.refresh_count > before


def test_a_deferred_tab_is_built_when_opened_and_shows_the_models_loaded_before(
    qtbot, no_threads_left
):
    # As at start-up: the analysis tabs are empty pages until built.
    win = create_window(SHAPES_PAIR, None, defer_views=True)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.resize(1280, 900)
    win.show()
    qtbot.waitExposed(win)
    _wait_loaded(qtbot, win)
    assert list(win.views) == ["planes"]  # the tab it opens on
    titles = [win.tabs.tabText(i) for i in range(win.tabs.count())]
    neighbour = win.view("diagnostics")  # built, hidden, the next tab
    win.tabs.setCurrentIndex(titles.index("Prior samples"))
    # Building the tab opened did not show (and refresh) its neighbour.
    assert neighbour.refresh_count == 0 and neighbour.stale
    prior = win.views["prior"]
    assert win.tabs.currentWidget() is prior
    assert [win.tabs.tabText(i) for i in range(win.tabs.count())] == titles
    # Built after the models loaded, it draws them (and says nothing is missing).
    qtbot.waitUntil(lambda: prior.refresh_count > 0, timeout=10000)
    assert not prior.showing_message
    # The rest, one per event-loop turn, without moving the user off the tab.
    win.build_views(one_per_turn=True)
    qtbot.waitUntil(lambda: len(win.views) == len(VIEWS), timeout=5000)
    assert win.tabs.currentWidget() is prior
    win.close_discarding()


# --- unsaved models ----------------------------------------------------------------


def test_open_into_an_unsaved_side_asks_and_cancel_keeps_it(qtbot, window):
    _make_unsaved(qtbot, window, 1)
    kept = window.session.sides[1].checkpoint
    seen: list[str] = []
    answer_prompt(QMessageBox.StandardButton.Cancel, seen)
    window.open_file(1, SHAPES_AE)
    assert len(seen) == 1 and "right model" in seen[0] and "not been saved" in seen[0]
    qtbot.wait(300)
    assert not window.controller.jobs.busy("load1"), "Cancel still started the load"
    assert window.session.sides[1].checkpoint is kept
    # Discard goes on with the load.
    answer_prompt(QMessageBox.StandardButton.Discard, seen)
    window.open_file(1, SHAPES_AE)
    qtbot.waitUntil(lambda: window.session.sides[1].kind == "AE", timeout=10000)
    assert not window.session.sides[1].unsaved


def test_dropping_onto_an_unsaved_side_asks(qtbot, window):
    _make_unsaved(qtbot, window, 0)
    seen: list[str] = []
    answer_prompt(QMessageBox.StandardButton.Cancel, seen)
    window.panels[0].fileDropped.emit(SHAPES_AE)
    assert seen and "left model" in seen[0]
    assert window.session.sides[0].unsaved


def test_train_asks_about_unsaved_models_and_cancel_starts_nothing(qtbot, window):
    _make_unsaved(qtbot, window, 1)
    seen: list[str] = []
    answer_prompt(QMessageBox.StandardButton.Cancel, seen)
    window.train_panel.train_button.click()
    assert seen and "Training a new pair will discard it" in seen[0]
    assert not window.controller.training
    assert window.session.sides[1].unsaved


def test_quit_asks_cancel_keeps_the_window_and_save_writes_the_file(
    qtbot, window, tmp_path, monkeypatch
):
    _make_unsaved(qtbot, window, 1)
    seen: list[str] = []
    answer_prompt(QMessageBox.StandardButton.Cancel, seen)
    assert not window.close()
    assert window.isVisible() and window.session.sides[1].unsaved
    target = tmp_path / "kept.pt"
    monkeypatch.setattr(
        "latentlab.qt.main_window.QFileDialog.getSaveFileName",
        lambda *a, **k: (str(target), ""),
    )
    answer_prompt(QMessageBox.StandardButton.Save, seen)
    assert window.close()
    assert len(seen) == 2
    saved = load_checkpoint(target)
    assert saved.config == window.session.sides[1].checkpoint.config


# --- recents -----------------------------------------------------------------------


def test_open_recent_lists_only_files_that_opened(qtbot, window, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    before = window.recent_files()
    window.open_file(0, str(bad))
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=10000)
    assert "broken.pt" in window.last_error[0]
    assert window.recent_files() == before
    good = tmp_path / "good.pt"
    good.write_bytes(Path(SHAPES_AE).read_bytes())
    window.open_file(0, str(good))
    qtbot.waitUntil(lambda: window.recent_files()[:1] == [str(good)], timeout=10000)
    assert str(bad) not in window.recent_files()


def test_settings_never_reach_the_users_home(qtbot, window, _isolated_settings):
    settings = QSettings("LatentLab", "LatentLab")
    assert Path(settings.fileName()).is_relative_to(_isolated_settings)
    assert Path(window.settings.fileName()).is_relative_to(_isolated_settings)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        other = QSettings(fmt, QSettings.Scope.UserScope, "LatentLab", "LatentLab")
        assert Path(other.fileName()).is_relative_to(_isolated_settings)


def test_a_damaged_settings_file_gives_defaults_not_tracebacks(
    qtbot, no_threads_left, _isolated_settings, tmp_path, monkeypatch
):
    """Values of the wrong type (an INI line a user or a tool mangled) are
    read as missing: the window opens, sized, and the save dialogs start."""
    settings = QSettings("LatentLab", "LatentLab")
    path = Path(settings.fileName())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[General]\nlastDir=a, b\ngeometry=abc\nwindowState=7\ndataDir=a, b\n"
    )
    win = create_window(SHAPES_PAIR, None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    qtbot.waitExposed(win)
    assert win.width() > 600
    assert win.train_panel.data_dir.text() == ""
    starts = []
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        lambda parent, title, start, *a, **k: (starts.append(start), ("", ""))[1],
    )
    win.export_view_dialog(0)
    win.export_figure_dialog("planes.plane/0")
    assert [Path(s).parent for s in starts] == [Path.cwd(), Path.cwd()]
    win.close_discarding()


# --- the training form -----------------------------------------------------------


def test_the_training_form_follows_the_models_shown(qtbot, window, tmp_path):
    panel = window.train_panel
    assert panel.dataset.currentData() == "shapes"
    wide = new_model(ModelConfig(kind="vae", latent_dim=3, beta=2.5), seed=0)
    path = save_checkpoint(
        tmp_path / "wide.pt", wide, dataset=window.session.sides[1].checkpoint.dataset
    )
    window.open_file(1, str(path))
    qtbot.waitUntil(lambda: panel.latent_dim.value() == 3, timeout=10000)
    assert panel.beta.value() == pytest.approx(2.5)
    # Once the user sets a value, loading models no longer changes the form.
    panel.latent_dim.lineEdit().textEdited.emit("5")
    panel.latent_dim.setValue(5)
    window.open_file(1, SHAPES_PAIR[1])
    qtbot.waitUntil(lambda: window.session.sides[1].latent_slice.latent_dim == 2)
    assert panel.latent_dim.value() == 5


def test_the_form_shows_mnist_for_mnist_models(qtbot, real_data_dir, no_threads_left):
    repo = Path(SHAPES_AE).parent
    win = create_window(
        [str(repo / "mnist-ae-2d.pt"), str(repo / "mnist-vae-2d.pt")],
        str(real_data_dir),
    )
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    _wait_loaded(qtbot, win)
    assert win.train_panel.dataset.currentData() == "mnist"
    assert "Embedded shapes" not in win.train_panel.dataset.currentText()


# --- layout ----------------------------------------------------------------------


def _overlaps(parent: QWidget) -> list[str]:
    """Pairs of visible sibling widgets whose rectangles overlap."""
    found = []
    children = [
        w
        for w in parent.findChildren(QWidget)
        if w.isVisible() and w.parentWidget() is not None and not w.isWindow()
    ]
    by_parent: dict[int, list[QWidget]] = {}
    for w in children:
        by_parent.setdefault(id(w.parentWidget()), []).append(w)
    for siblings in by_parent.values():
        for i, a in enumerate(siblings):
            for b in siblings[i + 1 :]:
                inter = QRect(a.geometry()).intersected(b.geometry())
                if inter.width() > 1 and inter.height() > 1:
                    found.append(
                        f"{a.metaObject().className()} {a.objectName()} / "
                        f"{b.metaObject().className()} {b.objectName()}"
                    )
    return found


def _clipped_buttons(parent: QWidget) -> list[str]:
    return [
        b.text()
        for b in parent.findChildren(QPushButton)
        if b.isVisible() and b.width() < b.minimumSizeHint().width()
    ]


@pytest.mark.parametrize("size", [(1024, 720), (1600, 1000)])
def test_every_tab_fits_without_overlap_or_clipped_buttons(qtbot, size):
    win = _window(qtbot, SHAPES_PAIR, size)
    _wait_loaded(qtbot, win)
    qtbot.wait(200)
    assert (win.width(), win.height()) == size
    for index in range(win.tabs.count()):
        win.tabs.setCurrentIndex(index)
        qtbot.wait(300)
        page = win.tabs.currentWidget()
        name = win.tabs.tabText(index)
        # Stacked pages and scroll-area internals are siblings by design.
        overlaps = [o for o in _overlaps(page) if "QScrollBar" not in o]
        overlaps = [o for o in overlaps if "qt_scrollarea" not in o]
        assert not overlaps, f"{name}: {overlaps}"
        assert not _clipped_buttons(page), f"{name}: {_clipped_buttons(page)}"
    # The training dock comes and goes without resizing the window.
    win.show_training_dock()
    qtbot.wait(200)
    assert not _clipped_buttons(win.train_dock)
    win.train_dock.hide()
    qtbot.wait(200)
    assert (win.width(), win.height()) == size
    win.close_discarding()


# --- training ----------------------------------------------------------------------


def test_the_curves_show_the_models_on_screen(qtbot, window, tmp_path):
    panel = window.train_panel
    history = window.session.sides[1].checkpoint.history
    assert panel.curves["vae_test"].y == [m.test_recon for m in history]
    assert panel.curves["vae_test_kl"].y == [m.test_kl for m in history]
    # Another VAE, with a history of its own: the curves follow it.
    short = load_checkpoint(SHAPES_PAIR[1])
    path = save_checkpoint(
        tmp_path / "short.pt",
        short.model,
        history=short.history[:3],
        dataset=short.dataset,
    )
    window.open_file(1, str(path))
    qtbot.waitUntil(lambda: len(panel.curves["vae_test"].y) == 3, timeout=10000)
    assert panel.curves["vae_test"].y == [m.test_recon for m in history[:3]]
    assert "short.pt" in panel.source.text()


def test_a_starting_run_keeps_the_planes_and_decodes_on_screen(qtbot, window):
    from latentlab.core.training_run import TrainSpec

    window.controller.decode_at(0.5, 0.5)
    seen = []

    def record(side: int) -> None:
        state = window.session.sides[side]
        if state.training and state.model is None:
            seen.append(
                (
                    window.panels[side].plane.point_count(),
                    window.panels[side].decode.image is not None,
                )
            )

    window.session.sideChanged.connect(record)
    with qtbot.waitSignal(window.controller.trainingProgress, timeout=60000):
        window.controller.start_training(TrainSpec(dataset="shapes", epochs=50))
    assert seen, "the run never showed its starting state"
    assert all(points > 0 and decoded for points, decoded in seen), seen
    assert window.train_dock.isVisible(), "a run opens the training dock"
    with qtbot.waitSignal(window.controller.trainingFinished, timeout=20000):
        window.controller.stop_training()
    # The stopped run's models are shown as unsaved, ready models.
    qtbot.waitUntil(
        lambda: all(s.unsaved and s.ready for s in window.session.sides), timeout=10000
    )
    assert window.last_error is None, window.last_error
    assert all(not s.training for s in window.session.sides)


def test_a_new_legend_is_laid_out_before_the_plane_is_fitted(
    qtbot, real_data_dir, tmp_path, no_threads_left
):
    """A model whose colour key wraps to more lines resizes its plane while its
    side is shown, not in a second layout pass after the fitted plane painted."""
    from PySide6.QtCore import QEvent, QObject

    from latentlab.core.data import load_dataset

    fashion = load_dataset("fashion-mnist", real_data_dir).identity()
    model = new_model(ModelConfig(kind="ae"), seed=0)
    path = save_checkpoint(tmp_path / "fashion.pt", model, dataset=fashion)
    win = create_window(SHAPES_PAIR, str(real_data_dir))
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.resize(1024, 720)
    win.show()
    qtbot.waitExposed(win)
    _wait_loaded(qtbot, win)
    panel = win.panels[0]
    legend_before = panel.legend.height()

    class Resizes(QObject):
        shown = False  # the new model's side has been shown
        after_shown = 0

        def eventFilter(self, _obj, event) -> bool:
            if event.type() == QEvent.Type.Resize and self.shown:
                self.after_shown += 1
            return False

    resizes = Resizes()
    panel.plane.installEventFilter(resizes)

    def shown(side: int) -> None:  # connected after the window's own slot
        if side == 0 and win.session.sides[0].checkpoint.path == path:
            resizes.shown = True

    win.session.sideChanged.connect(shown)
    win.open_file(0, str(path))
    qtbot.waitUntil(lambda: resizes.shown, timeout=20000)
    qtbot.wait(100)  # a queued layout pass would have run by now
    panel.plane.removeEventFilter(resizes)
    assert panel.plane.legend_entries[0][0] == "T-shirt/top"
    assert panel.legend.height() > legend_before, "Fashion-MNIST's key should wrap"
    assert resizes.after_shown == 0
