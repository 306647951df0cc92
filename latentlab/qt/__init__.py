"""The Qt layer: shows state and turns user intent into core calls.

PySide6 is imported first so that pyqtgraph and superqt (through qtpy) bind to it.
"""

import PySide6.QtCore  # noqa: F401 - must precede pyqtgraph / superqt imports
