"""The speed devices' one switch (``latentlab/core/perf.py``): every device is
registered and asked at its site, the plain paths give the same numbers, and
the core's sites fall back to torch's own when the switch is off.

The Qt layer's sites are checked, with the core's, in a fresh process by
``tests/qt/test_perf_plain.py``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
from typing import TYPE_CHECKING

import pytest
import torch

from latentlab.core import perf, threads, training
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.data import make_shapes
from latentlab.core.latent import decode_codes
from latentlab.core.losses import reconstruction_nats
from latentlab.core.training import new_model, train

from ..probe import REPO, python_report

if TYPE_CHECKING:
    from collections.abc import Generator

    from latentlab.core.training import TrainResult

SMALL = ModelConfig(hidden=(64, 32))
CONV = ModelConfig(backbone="conv", hidden=(64,), latent_dim=2)
FAST = TrainConfig(epochs=2, batch_size=64, threads=1)


@pytest.fixture
def plain() -> Generator[None, None, None]:
    """The switch off for one test; the process's own state back afterwards."""
    saved = perf._on
    perf.set_enabled(False)
    yield
    perf._on = saved


def drain(gen: Generator[object, None, TrainResult]) -> TrainResult:
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


# --- the registry and the switch -----------------------------------------------------


def test_every_device_is_described_and_asked_at_its_site() -> None:
    names = [d.name for d in perf.DEVICES]
    assert len(names) == len(set(names))
    for device in perf.DEVICES:
        for field in dataclasses.fields(device):
            assert getattr(device, field.name).strip(), (device.name, field.name)
        path = REPO / device.site.split(":")[0]
        assert path.is_file(), device.site
        asks = f'perf.enabled("{device.name}")'
        assert asks in path.read_text(encoding="utf-8"), f"{path} never asks {asks}"


def test_no_site_asks_for_an_unregistered_device() -> None:
    registered = {d.name for d in perf.DEVICES}
    asked = set()
    for path in (REPO / "latentlab").rglob("*.py"):
        if path.name == "perf.py":
            continue
        asked |= set(re.findall(r'perf\.enabled\("(\w+)"\)', path.read_text("utf-8")))
    assert asked == registered
    with pytest.raises(KeyError, match="not a registered performance device"):
        perf.enabled("turbo")


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, True),
        ("", True),
        ("0", True),
        ("off", True),
        ("1", False),
        ("yes", False),
    ],
)
def test_the_environment_variable_is_read_once(value, on) -> None:
    env = {k: v for k, v in os.environ.items() if k != perf.ENV_VAR}
    if value is not None:
        env[perf.ENV_VAR] = value
    report = python_report(
        "import json, os\n"
        "from latentlab.core import perf\n"
        "first = perf.enabled('gc_freeze')\n"
        f"os.environ[{perf.ENV_VAR!r}] = '0' if first else '1'\n"
        "print(json.dumps([first, perf.enabled('gc_freeze'), 'torch' in "
        "__import__('sys').modules]))",
        env,
    )
    assert report == [on, on, False]  # read once; and perf imports no torch


def test_the_setting_turns_devices_off_unless_the_environment_says(
    monkeypatch,
) -> None:
    saved = perf._on
    try:
        monkeypatch.delenv(perf.ENV_VAR, raising=False)
        perf.set_enabled(True)
        perf.use_setting(False)
        assert perf.devices_on()
        perf.use_setting(True)
        assert not perf.devices_on()
        perf.set_enabled(True)
        monkeypatch.setenv(perf.ENV_VAR, "0")  # the environment wins
        perf.use_setting(True)
        assert perf.devices_on()
    finally:
        perf._on = saved


def test_describe_lists_every_device() -> None:
    text = perf.describe()
    for device in perf.DEVICES:
        assert device.name in text and device.bought in text


# --- the plain paths give the same numbers -------------------------------------------


@pytest.mark.parametrize("kind", ["vae", "ae"])
def test_training_gives_the_same_losses_both_ways(kind) -> None:
    """A tiny model trained with the devices and without: the same loss history
    to float rounding (only the arithmetic's order differs)."""
    data = make_shapes(n_train=512, n_test=128, seed=7)
    config = dataclasses.replace(SMALL, kind=kind)
    saved = perf._on
    try:
        histories = {}
        for on in (True, False):
            perf.set_enabled(on)
            model = new_model(config, seed=4)
            histories[on] = drain(train(model, data, FAST)).histories[0]
    finally:
        perf._on = saved
    assert len(histories[True]) == len(histories[False]) == FAST.epochs
    for fast, plain in zip(histories[True], histories[False], strict=True):
        for name in ("train_loss", "train_recon", "train_kl", "test_recon", "test_kl"):
            a, b = getattr(fast, name), getattr(plain, name)
            assert b == pytest.approx(a, rel=1e-4, abs=1e-4), (fast.epoch, name)


def test_the_plain_training_step_is_torchs_own(plain) -> None:
    model = new_model(SMALL, seed=1)
    optimizer = training._make_optimizer(model, 3e-3, torch.device("cpu"))
    assert type(optimizer) is torch.optim.Adam
    assert optimizer.defaults["lr"] == 3e-3
    assert not training._OneDnnMatmul(torch.device("cpu")).active
    logits = torch.randn(4, 1, 28, 28, requires_grad=True)
    x = torch.rand(4, 1, 28, 28)
    terms = training._train_terms(logits, x, torch.zeros(4, 2), None, 1.0)
    assert torch.equal(terms.recon, reconstruction_nats(logits, x).mean())


def test_the_plain_run_leaves_torchs_matmul_setting_alone(plain) -> None:
    flags = getattr(torch.backends.mkldnn, "matmul", None)
    if flags is None or not hasattr(flags, "fp32_precision"):
        pytest.skip("this torch has no mkldnn fp32_precision switch")
    before = flags.fp32_precision
    seen = set()

    def look() -> bool:
        seen.add(flags.fp32_precision)
        return False

    one_batch = make_shapes(n_train=64, n_test=8, seed=1)
    cfg = dataclasses.replace(FAST, epochs=1)
    drain(train(new_model(SMALL), one_batch, cfg, should_stop=look))
    assert seen == {before}


def test_display_decodes_are_float32_when_plain(plain) -> None:
    model = new_model(SMALL, seed=1)
    z = torch.randn(64, SMALL.latent_dim).numpy()
    assert (decode_codes(model, z, for_display=True) == decode_codes(model, z)).all()


def test_conv_decodes_are_the_same_both_ways() -> None:
    model = new_model(CONV, seed=1).eval()
    z = torch.randn(32, CONV.latent_dim)
    saved = perf._on
    try:
        perf.set_enabled(True)
        with torch.no_grad():
            fast = model.decode(z)
        perf.set_enabled(False)
        with torch.no_grad():
            plain = model.decode(z)
            hidden = model.decoder[:5](z)
    finally:
        perf._on = saved
    assert hidden.is_contiguous()  # not channels-last
    torch.testing.assert_close(plain, fast, rtol=1e-5, atol=1e-6)


def _in_a_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_plain_threads_keep_torchs_count_and_the_process_priority(plain) -> None:
    assert threads.training_threads() is None
    threads.set_job_threads(1)
    try:

        def job() -> tuple[int, int]:
            before = torch.get_num_threads()
            threads.use_job_threads()
            threads.serial_torch_here()
            threads.lower_this_thread(threads.TRAINING_NICENESS)
            nice = (
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
                if sys.platform.startswith("linux")
                else 0
            )
            return torch.get_num_threads() - before, nice

        base = os.getpriority(os.PRIO_PROCESS, 0) if sys.platform != "win32" else 0
        assert _in_a_thread(job) == (0, base)
    finally:
        threads.set_job_threads(None)
