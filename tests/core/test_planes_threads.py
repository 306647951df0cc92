"""serial_torch_here: the calling thread runs torch serially, others do not."""

from __future__ import annotations

import threading

import numpy as np
import torch

from latentlab.core.analysis.planes import decode_at, serial_torch_here
from latentlab.core.config import ModelConfig
from latentlab.core.latent import LatentSlice, decode_codes
from latentlab.core.training import new_model


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
        serial_torch_here()
        mine = torch.get_num_threads()
        decoded = decode_at(model, LatentSlice(2), 0.3, -0.2)
        return mine, decoded, torch.get_num_threads()

    mine, decoded, after = _in_thread(serial_thread)
    assert mine == after == 1
    np.testing.assert_allclose(decoded.image, want, atol=1e-6)  # the same decode
    # Threads started later (the job pool's) keep the process's count.
    assert _in_thread(torch.get_num_threads) == default
    assert torch.get_num_threads() == default  # this thread was not touched
