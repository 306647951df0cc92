"""Models trained elsewhere: plain state dicts in a few well-known MLP layouts.

A file without LatentLab's record is recognised from its tensor names and
shapes alone, and its weights are moved into LatentLab's own MLP (the same
layers in the same order), so every view works on it unchanged:

- the PyTorch example VAE (pytorch/examples ``vae/main.py``): ``fc1`` P->h,
  ``fc21`` (mu) and ``fc22`` (logvar) h->d, ``fc3`` d->h, ``fc4`` h->P; ReLU
  hidden, sigmoid output;
- the same shape of plain autoencoder: ``fc1`` P->h, ``fc2`` h->d, ``fc3``
  d->h, ``fc4`` h->P;
- an autoencoder as two ``nn.Sequential`` of ``nn.Linear`` with ReLU between:
  ``encoder.<i>`` P->h1->...->d and ``decoder.<j>`` d->...->h1->P, the decoder
  mirroring the encoder.

The last layer's output is read as logits (the sigmoid has no weights), as in
LatentLab's models, so :meth:`~latentlab.core.models.Autoencoder.decode` gives
the example's ``torch.sigmoid(fc4(...))``. P must be a square number of pixels
(784 is 28x28 grey). This module only maps names and shapes; the checks on the
file itself live in :mod:`latentlab.core.checkpoints`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from latentlab.core.config import ModelConfig
from latentlab.core.errors import ConfigError
from latentlab.core.models import meta_model

if TYPE_CHECKING:
    from collections.abc import Mapping

EXAMPLE_VAE = "PyTorch-example VAE"
EXAMPLE_AE = "PyTorch-example-shaped autoencoder"
SEQUENTIAL_AE = "Sequential MLP autoencoder"

Shape = tuple[int, ...]
# ASCII digits only: \d would also take "٣" (which int() reads as 3).
_SEQ_KEY = re.compile(r"^(encoder|decoder)\.([0-9]{1,4})\.(weight|bias)$")


@dataclass(frozen=True, slots=True)
class ForeignLayout:
    """A recognised layout: what it is, the LatentLab config it maps to, and
    which of the file's tensors fill each of LatentLab's (concatenated along
    the output dimension: the VAE head is ``mu`` then ``logvar``)."""

    name: str
    config: ModelConfig
    widths: tuple[int, ...]  # encoder widths: pixels, hidden..., latent
    sources: dict[str, tuple[str, ...]]  # LatentLab key -> the file's keys
    expected: dict[str, Shape]  # the file's key -> shape
    # LatentLab's tensors the file has no counterpart of: key -> (shape, value).
    filled: dict[str, tuple[Shape, float]] = field(default_factory=dict)

    def describe(self) -> str:
        """``"PyTorch-example VAE, 784-400-20"``."""
        return f"{self.name}, {'-'.join(map(str, self.widths))}"

    def convert(self, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The file's tensors (already checked against :attr:`expected`) in
        LatentLab's layout."""
        out = {}
        for key, parts in self.sources.items():
            tensors = [state[p] for p in parts]
            out[key] = tensors[0] if len(tensors) == 1 else torch.cat(tensors, 0)
        for key, (shape, value) in self.filled.items():
            out[key] = torch.full(shape, value)
        return out


def _linear_keys(config: ModelConfig) -> tuple[list[str], list[str], str]:
    """LatentLab's Linear layers (module paths) for ``config``: encoder body,
    decoder, head; built on the meta device, so nothing is allocated."""
    model = meta_model(config)
    enc = [
        n for n, m in model.encoder.named_modules() if isinstance(m, torch.nn.Linear)
    ]
    dec = [
        n for n, m in model.decoder.named_modules() if isinstance(m, torch.nn.Linear)
    ]
    return [f"encoder.{n}" for n in enc], [f"decoder.{n}" for n in dec], "head"


def _image_shape(pixels: int) -> tuple[int, int, int] | None:
    side = math.isqrt(pixels)
    return (1, side, side) if side * side == pixels and side > 0 else None


def _build(
    name: str,
    kind: str,
    encoder: list[str],
    head: list[str],
    decoder: list[str],
    shapes: Mapping[str, Shape],
) -> ForeignLayout | None:
    """Map the file's layers (prefixes, in order) onto LatentLab's MLP, or None
    when the widths do not chain into a mirrored MLP LatentLab can build."""
    weights = [shapes.get(f"{k}.weight") for k in (*encoder, *head, *decoder)]
    if any(w is None or len(w) != 2 for w in weights):
        return None
    for k in (*encoder, *head, *decoder):
        w = shapes[f"{k}.weight"]
        if shapes.get(f"{k}.bias") != (w[0],):
            return None
    enc_w = [shapes[f"{k}.weight"] for k in encoder]
    head_w = [shapes[f"{k}.weight"] for k in head]
    dec_w = [shapes[f"{k}.weight"] for k in decoder]
    pixels = enc_w[0][1]
    hidden = [w[0] for w in enc_w]
    latent = head_w[0][0]
    chain_in = [pixels, *hidden]
    if any(w[1] != chain_in[i] for i, w in enumerate(enc_w)):
        return None
    if any(w != (latent, hidden[-1]) for w in head_w):
        return None
    dec_widths = [latent, *reversed(hidden), pixels]
    if len(dec_w) != len(dec_widths) - 1 or any(
        w != (dec_widths[i + 1], dec_widths[i]) for i, w in enumerate(dec_w)
    ):
        return None
    image = _image_shape(pixels)
    if image is None:
        return None
    try:
        config = ModelConfig(
            kind=kind, latent_dim=latent, image_shape=image, hidden=tuple(hidden)
        )
    except ConfigError:
        return None
    ours_enc, ours_dec, ours_head = _linear_keys(config)
    if len(ours_enc) != len(encoder) or len(ours_dec) != len(decoder):
        return None  # pragma: no cover - the MLP builder's shape is fixed
    sources: dict[str, tuple[str, ...]] = {}
    for mine, theirs in zip(ours_enc, encoder, strict=True):
        sources[f"{mine}.weight"] = (f"{theirs}.weight",)
        sources[f"{mine}.bias"] = (f"{theirs}.bias",)
    for mine, theirs in zip(ours_dec, decoder, strict=True):
        sources[f"{mine}.weight"] = (f"{theirs}.weight",)
        sources[f"{mine}.bias"] = (f"{theirs}.bias",)
    sources[f"{ours_head}.weight"] = tuple(f"{h}.weight" for h in head)
    sources[f"{ours_head}.bias"] = tuple(f"{h}.bias" for h in head)
    widths = (pixels, *hidden, latent)
    return ForeignLayout(name, config, widths, sources, dict(shapes))


def recognise(shapes: Mapping[str, Shape]) -> ForeignLayout | None:
    """The layout of a plain state dict, from its keys and shapes; or None.

    A ``module.`` prefix on every key (``nn.DataParallel``) is not accepted:
    the keys must be exactly one of the layouts in this module's docstring.
    """
    keys = set(shapes)
    example = {
        f"fc{i}.{p}" for i in ("1", "21", "22", "3", "4") for p in ("weight", "bias")
    }
    if keys == example:
        return _build(
            EXAMPLE_VAE, "vae", ["fc1"], ["fc21", "fc22"], ["fc3", "fc4"], shapes
        )
    plain = {f"fc{i}.{p}" for i in range(1, 5) for p in ("weight", "bias")}
    if keys == plain:
        return _build(EXAMPLE_AE, "ae", ["fc1"], ["fc2"], ["fc3", "fc4"], shapes)
    matches = [_SEQ_KEY.match(k) for k in keys]
    if keys and all(matches):
        layers: dict[str, set[int]] = {"encoder": set(), "decoder": set()}
        for m in matches:
            assert m is not None
            layers[m.group(1)].add(int(m.group(2)))
        enc = [f"encoder.{i}" for i in sorted(layers["encoder"])]
        dec = [f"decoder.{i}" for i in sorted(layers["decoder"])]
        if len(enc) < 2 or not dec:
            return None
        return _build(SEQUENTIAL_AE, "ae", enc[:-1], enc[-1:], dec, shapes)
    return None


PYTHAE_HIDDEN = 512  # pythae's default MLPs: one hidden layer of 512 ReLU units


def pythae_layout(name: str, config: ModelConfig) -> ForeignLayout:
    """pythae's default MLP networks (``Encoder_AE_MLP`` / ``Encoder_VAE_MLP``,
    ``Decoder_AE_MLP``: P-512-d and d-512-P, ReLU, a sigmoid output) as
    LatentLab's MLP with ``hidden=(512,)``: the same layers in the same order.
    A Gaussian's σ has no counterpart in the file: it starts unknown (NaN) and
    is fitted on the data shown (:func:`~latentlab.core.wrap.fit_sigma`)."""
    pixels, d, h = config.pixels, config.latent_dim, PYTHAE_HIDDEN
    heads = ["encoder.embedding"] + (
        ["encoder.log_var"] if config.kind == "vae" else []
    )
    theirs = {
        "encoder.layers.0.0": (h, pixels),
        **dict.fromkeys(heads, (d, h)),
        "decoder.layers.0.0": (h, d),
        "decoder.layers.1.0": (pixels, h),
    }
    expected = {}
    for key, shape in theirs.items():
        expected[f"{key}.weight"] = shape
        expected[f"{key}.bias"] = (shape[0],)
    ours_enc, ours_dec, ours_head = _linear_keys(config)
    pairs = [
        (ours_enc[0], ["encoder.layers.0.0"]),
        (ours_head, heads),
        (ours_dec[0], ["decoder.layers.0.0"]),
        (ours_dec[1], ["decoder.layers.1.0"]),
    ]
    sources = {
        f"{mine}.{p}": tuple(f"{t}.{p}" for t in their_keys)
        for mine, their_keys in pairs
        for p in ("weight", "bias")
    }
    filled = {}
    if config.likelihood == "gaussian":
        filled["log_scale"] = ((1,), math.nan)
    return ForeignLayout(name, config, (pixels, h, d), sources, expected, filled)
