"""Shared fixtures. Qt runs offscreen; PySide6 is imported first so pyqtgraph and
superqt bind to it (only when Qt tests run: core tests must pass without Qt)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Nothing a test starts (the app, a CLI subprocess) may touch the user's home:
# settings, caches, recents and desktop entries go to one temp folder.
_HOME = Path(tempfile.mkdtemp(prefix="latentlab-test-home-"))
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_CACHE_HOME", "cache"),
):
    os.environ[_var] = str(_HOME / _sub)

REPO = Path(__file__).resolve().parents[1]


def real_data_root() -> Path | None:
    """``$LATENTLAB_TEST_DATA`` or ``../shared/data`` beside the checkout."""
    env = os.environ.get("LATENTLAB_TEST_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    return root if (root / "MNIST" / "raw").is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real MNIST / Fashion-MNIST root; skips with a reason when absent."""
    root = real_data_root()
    if root is None:
        pytest.skip(
            "real data not found: set LATENTLAB_TEST_DATA or put ../shared/data"
        )
    return root


@pytest.fixture(scope="session")
def mnist(real_data_dir):
    """The real MNIST subset (4,000 / 1,000), loaded once per session."""
    from latentlab.core.data import load_dataset

    return load_dataset("mnist", real_data_dir)


@pytest.fixture(scope="session")
def shapes():
    """The embedded shapes dataset."""
    from latentlab.core.data import make_shapes

    return make_shapes()
