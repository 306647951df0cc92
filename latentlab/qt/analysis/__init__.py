"""The analysis views: one module each, listed in :mod:`.registry`."""
