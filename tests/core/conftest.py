"""Core-test fixtures: no Qt here, so these tests pass with Qt uninstalled."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Run the core tests on one torch thread, restoring the setting afterwards.

    The test box has 2 cores that other jobs share; two OpenMP threads per process
    then spin against each other and a 5-epoch MNIST run measured 24 s instead of
    4.5 s. The figures are identical either way (the loop is deterministic), so
    one thread changes only the time.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
