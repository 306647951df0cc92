"""Reusable display widgets and pyqtgraph items. They take numpy arrays and the
session's plain records and emit intent signals; they import neither the
controller nor the analysis views."""
