"""The Qt layer: shows state and turns user intent into core calls.

PySide6 is imported first so that pyqtgraph and superqt (through qtpy) bind to it.
The app's setting ``performance/plain`` is read here, before the first device of
:mod:`latentlab.core.perf` acts (the CUDA bindings below).
"""

import sys

import PySide6.QtCore  # noqa: F401 - must precede pyqtgraph / superqt imports
from PySide6.QtCore import QSettings

from latentlab.core import perf

# The setting turns the devices off; LATENTLAB_PLAIN, where set, wins.
perf.use_setting(
    bool(QSettings("LatentLab", "LatentLab").value(perf.SETTING, False, type=bool))
)

# pyqtgraph imports all its widgets, and RawImageWidget (unused here) imports
# CUDA's Python bindings where torch's wheel installed them: ~60 ms before the
# window's first frame. torch imports them itself, off the GUI thread, when
# the models load. The ``cuda_bindings_held_back`` device (core/perf.py).
_CUDART = "cuda.bindings.runtime"
_held_back = perf.enabled("cuda_bindings_held_back") and _CUDART not in sys.modules
if _held_back:
    sys.modules[_CUDART] = None  # type: ignore[assignment]  # "not installed"
try:
    import pyqtgraph  # noqa: F401
finally:
    if _held_back and sys.modules.get(_CUDART, 0) is None:
        del sys.modules[_CUDART]
