"""Issue 28, item 6: the ε tab says how much its decoded samples differ,
computed from the images it shows."""

from __future__ import annotations

import numpy as np


def test_the_caption_states_the_samples_spread(qtbot, window):
    eps = window.view("eps")
    with qtbot.waitSignal(eps.samplesDecoded, timeout=10000):
        window.tabs.setCurrentWidget(eps)
    sd = eps.decoded.samples.std(0)
    caption = eps.grid_caption.text()
    assert f"per-pixel s.d. of {sd.mean():.3f} on average" in caption
    assert f"{sd.max():.2f} at most" in caption
    np.testing.assert_allclose(eps.decoded.pixel_std, sd)
