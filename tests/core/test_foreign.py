"""Models trained elsewhere, and safetensors as a checkpoint format.

The reference network is written here the way pytorch/examples ``vae/main.py``
writes it (fc1, fc21/fc22, fc3, fc4; F.relu; torch.sigmoid), so the test pins
that LatentLab reads such a state dict as the same function.
"""

from __future__ import annotations

import json
import struct
import tracemalloc

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError
from latentlab.core.training import EpochMetrics, new_model


class ExampleVAE(nn.Module):
    """pytorch/examples vae/main.py, with the widths as arguments."""

    def __init__(self, h: int = 400, d: int = 20) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, h)
        self.fc21 = nn.Linear(h, d)
        self.fc22 = nn.Linear(h, d)
        self.fc3 = nn.Linear(d, h)
        self.fc4 = nn.Linear(h, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))


class ExampleAE(nn.Module):
    def __init__(self, h: int = 64, d: int = 2) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, h)
        self.fc2 = nn.Linear(h, d)
        self.fc3 = nn.Linear(d, h)
        self.fc4 = nn.Linear(h, 784)

    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))


class SequentialAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 32), nn.ReLU(),
            nn.Linear(32, 3),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 128), nn.ReLU(),
            nn.Linear(128, 784), nn.Sigmoid(),
        )  # fmt: skip


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, f"the message is not one line: {text!r}"
    return text


@pytest.fixture
def example_vae() -> ExampleVAE:
    torch.manual_seed(0)
    return ExampleVAE().eval()


def _check_same_function(model, ref: ExampleVAE) -> None:
    torch.manual_seed(1)
    z = torch.randn(16, 20)
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        got = model.decode(z).reshape(16, 784)
        torch.testing.assert_close(got, ref.decode(z), atol=1e-6, rtol=0)
        enc = model.encode(x)
        mu, logvar = ref.encode(x.reshape(16, 784))
        torch.testing.assert_close(enc.mu, mu, atol=1e-6, rtol=0)
        torch.testing.assert_close(enc.logvar, logvar, atol=1e-6, rtol=0)


def test_example_vae_state_dict_decodes_like_the_reference(tmp_path, example_vae):
    path = tmp_path / "vae.pth"
    torch.save(example_vae.state_dict(), path)
    ckpt = load_checkpoint(path)
    assert ckpt.title() == "PyTorch-example VAE, 784-400-20, no training history"
    assert ckpt.config.kind == "vae" and ckpt.config.latent_dim == 20
    assert ckpt.needs_dataset
    _check_same_function(ckpt.model, example_vae)


def test_example_vae_as_safetensors_decodes_like_the_reference(tmp_path, example_vae):
    st = pytest.importorskip("safetensors.torch")
    path = tmp_path / "vae.safetensors"
    st.save_file(example_vae.state_dict(), str(path), metadata={"dataset": "mnist"})
    ckpt = load_checkpoint(path)
    assert ckpt.origin == "PyTorch-example VAE, 784-400-20"
    assert ckpt.dataset == {"name": "mnist"} and not ckpt.needs_dataset
    _check_same_function(ckpt.model, example_vae)


@pytest.mark.parametrize("cls", [ExampleAE, SequentialAE])
def test_plain_autoencoder_layouts_decode_like_the_reference(tmp_path, cls):
    torch.manual_seed(2)
    ref = cls().eval()
    path = tmp_path / "ae.pt"
    torch.save(ref.state_dict(), path)
    ckpt = load_checkpoint(path)
    assert ckpt.config.kind == "ae"
    d = ckpt.config.latent_dim
    z = torch.randn(8, d)
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        if isinstance(ref, SequentialAE):
            want_img, want_z = ref.decoder(z), ref.encoder(x.reshape(8, 784))
        else:
            want_img, want_z = ref.decode(z), ref.encode(x.reshape(8, 784))
        got = ckpt.model.decode(z).reshape(8, 784)
        torch.testing.assert_close(got, want_img, atol=1e-6, rtol=0)
        torch.testing.assert_close(ckpt.model.encode(x).mu, want_z, atol=1e-6, rtol=0)


def test_an_unknown_state_dict_is_still_not_a_latentlab_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save(nn.Sequential(nn.Linear(784, 10)).state_dict(), path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "not a LatentLab checkpoint" in _one_line(exc)


def test_a_mismatched_example_layout_is_refused(tmp_path, example_vae):
    state = example_vae.state_dict()
    state["fc3.weight"] = torch.zeros(400, 19)  # latent 20 elsewhere
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "not a LatentLab checkpoint" in _one_line(exc)


def test_a_latentlab_model_round_trips_through_safetensors(tmp_path):
    cfg = ModelConfig(kind="vae", latent_dim=3, hidden=(32, 16), beta=0.5)
    model = new_model(cfg, seed=3)
    history = [EpochMetrics(1, 10.0, 9.0, 1.0, 10.0, 0.5, 100.0, 50.0)]
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, history=history, dataset={"name": "shapes"})
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg
    assert ckpt.history == history and ckpt.dataset == {"name": "shapes"}
    want = model.state_dict()
    got = ckpt.model.state_dict()
    assert set(got) == set(want)
    for key in want:
        assert torch.equal(got[key], want[key]), f"{key} differs after the round trip"
    z = torch.randn(5, 3)
    with torch.no_grad():
        assert torch.equal(ckpt.model.decode(z), model.eval().decode(z))


def test_a_latentlab_safetensors_file_reads_with_the_reference_reader(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    model = new_model(ModelConfig(kind="ae", hidden=(16,)), seed=0)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model)
    tensors = st.load_file(str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(tensors[key], value)


def _safetensors(header: bytes | dict, data: bytes = b"", length=None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if length is None else length
    return struct.pack("<Q", n) + raw + data


ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (_safetensors(b"{}", length=2**62), "header declares"),
        (_safetensors(b'{"a": 1}', length=10**6), "header declares"),
        (_safetensors(b"{not json"), "not valid JSON"),
        (_safetensors(b'{"a": NaN}'), "non-JSON number"),
        (_safetensors(b"[" * 100_000 + b"]" * 100_000), "header"),
        (_safetensors({"w": {**ENTRY, "data_offsets": [0, 8]}}, b"\0" * 4), "declares"),
        (
            _safetensors({"w": {**ENTRY, "data_offsets": [-4, 4]}}, b"\0" * 8),
            "declares",
        ),
        (
            _safetensors(
                {
                    "w": {
                        "dtype": "F32",
                        "shape": [2**31, 2**31],
                        "data_offsets": [0, 8],
                    }
                },
                b"\0" * 8,
            ),
            "offsets span",
        ),
        (
            _safetensors(
                {"a": ENTRY, "b": {**ENTRY, "data_offsets": [4, 12]}}, b"\0" * 12
            ),
            "overlaps",
        ),
        (_safetensors({"w": {**ENTRY, "dtype": "F99"}}, b"\0" * 8), "unknown dtype"),
        (_safetensors({"w": ENTRY, "__metadata__": {"x": 1}}, b"\0" * 8), "metadata"),
        (_safetensors({"w": ENTRY}, b"\0" * 8), "not a LatentLab checkpoint"),
    ],
)
def test_hostile_safetensors_headers_give_one_line_errors(tmp_path, content, expected):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as exc:
            load_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert expected in _one_line(exc)
    assert str(path) in str(exc.value)
    assert peak < 16 * 1024**2, f"reading a tiny hostile file allocated {peak:,} bytes"


def test_safetensors_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    model = new_model(ModelConfig(kind="ae", hidden=(16,)), seed=0)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    config = json.loads(header["__metadata__"]["config"])
    config["latent_dim"] = 3
    header["__metadata__"]["config"] = json.dumps(config)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "do not fit its config" in _one_line(exc)
