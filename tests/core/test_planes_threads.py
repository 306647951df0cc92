"""serial_torch_here: the calling thread runs torch serially, others do not;
jobs run below the window in the scheduler."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
import torch

from latentlab.core.analysis.planes import decode_at
from latentlab.core.config import ModelConfig
from latentlab.core.latent import LatentSlice, decode_codes
from latentlab.core.threads import (
    JOB_NICENESS,
    TRAINING_NICENESS,
    serial_torch_here,
    set_job_threads,
    use_job_threads,
)
from latentlab.core.training import new_model


@pytest.fixture(autouse=True)
def two_threads():
    """The core tests run on one torch thread (conftest): these need two."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def test_only_the_calling_thread_becomes_serial():
    default = _in_thread(torch.get_num_threads)
    model = new_model(ModelConfig(backbone="conv", image_shape=(1, 28, 28)), seed=0)
    model.eval()
    want = decode_codes(model, np.array([[0.3, -0.2]], np.float32))[0]

    def serial_thread():
        before = torch.get_num_threads()
        decoded = decode_at(model, LatentSlice(2), 0.3, -0.2)  # makes it serial
        serial_torch_here()  # again: a no-op
        return before, decoded, torch.get_num_threads()

    before, decoded, after = _in_thread(serial_thread)
    assert before == default > 1 and after == 1
    np.testing.assert_allclose(decoded.image, want, atol=1e-6)  # the same decode
    # Threads started later (the job pool's) keep the process's count.
    assert _in_thread(torch.get_num_threads) == default
    assert torch.get_num_threads() == default  # this thread was not touched


def test_jobs_use_one_thread_while_training_and_the_default_after():
    default = _in_thread(torch.get_num_threads)

    assert default == 2

    def job():
        use_job_threads()
        return torch.get_num_threads()

    try:
        set_job_threads(1)
        assert _in_thread(job) == 1
    finally:
        set_job_threads(None)
    assert _in_thread(job) == default


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice")
def test_a_job_thread_runs_between_the_window_and_training_in_the_scheduler():
    main = os.getpriority(os.PRIO_PROCESS, 0)

    def job():
        use_job_threads()
        use_job_threads()  # a reused pool thread is not lowered twice
        return os.getpriority(os.PRIO_PROCESS, 0)

    assert _in_thread(job) == min(19, main + JOB_NICENESS)
    assert JOB_NICENESS < TRAINING_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, 0) == main, "the calling thread is untouched"
