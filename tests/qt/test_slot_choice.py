"""When more than one model fits what a tab needs, the tab's header lets the
user choose; the choice reaches the workspace, and the tab redraws with it."""

from __future__ import annotations

import numpy as np

from tests.qt.conftest import SHAPES_PAIR, wait_loaded


def test_two_vaes_the_user_chooses_which_one_a_tab_uses(qtbot, window):
    eps, interp = window.view("eps"), window.view("interpolation")
    window.tabs.setCurrentWidget(eps)
    assert not eps.choosers.isVisible()  # an AE and a VAE: nothing to choose
    window.controller.load_file(0, SHAPES_PAIR[1])  # a VAE on both sides now
    qtbot.waitUntil(lambda: window.session.sides[0].is_vae, timeout=10000)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(eps.choosers.isVisible, timeout=5000)
    box = eps.slot_boxes[0]
    assert [box.itemData(i) for i in range(box.count())] == [0, 1]
    assert box.currentData() == 1  # the last VAE by default
    assert box.itemText(0).startswith("left: VAE")
    box.setCurrentIndex(0)
    box.activated.emit(0)
    assert window.workspace.slots_for("eps", ("vae",)) == [0]
    assert window.session.eps_vae() == 0
    assert eps.side_for("vae") is window.session.sides[0]
    # The Gradient path differentiates the same samples: it shares the choice.
    assert window.view("gradient").slot_for("vae") == 0
    # Interpolation compares the two VAEs, named by where they sit.
    window.tabs.setCurrentWidget(interp)
    qtbot.waitUntil(lambda: len(interp.results) == 2, timeout=10000)
    assert [r.kind for r in interp.results] == ["VAE (left)", "VAE (right)"]
    np.testing.assert_allclose(interp.results[0].images, interp.results[1].images)


def test_an_order_alone_is_no_choice_and_a_model_is_not_compared_with_itself(
    qtbot, window
):
    interp = window.view("interpolation")
    window.tabs.setCurrentWidget(interp)
    qtbot.waitUntil(lambda: len(interp.results) == 2, timeout=10000)
    assert not interp.choosers.isVisible()  # an AE and a VAE: only their order
    first = interp.slot_boxes[0]
    first.setCurrentIndex(first.findData(1))  # the VAE first, as the second is
    first.activated.emit(first.currentIndex())
    assert interp.slots() == [1, 0], "the two swapped places"
    qtbot.waitUntil(
        lambda: [r.kind for r in interp.results] == ["VAE", "AE"], timeout=10000
    )


def test_diagnostics_offers_the_model_it_shows_when_there_are_two(qtbot, window):
    diag = window.view("diagnostics")
    window.controller.load_file(0, SHAPES_PAIR[1])
    qtbot.waitUntil(lambda: window.session.sides[0].is_vae, timeout=10000)
    wait_loaded(qtbot, window)
    window.tabs.setCurrentWidget(diag)
    qtbot.waitUntil(diag.choosers.isVisible, timeout=5000)
    ae_box, vae_box = diag.slot_boxes
    assert not ae_box.isVisible() and vae_box.isVisible()
    assert vae_box.currentData() == 1
    vae_box.setCurrentIndex(vae_box.findData(0))
    vae_box.activated.emit(vae_box.currentIndex())
    assert diag.slot_for("vae") == 0
