"""Autoencoder and VAE on one shared backbone.

Both models have the same encoder body and decoder; the VAE's only difference is
its stochastic layer: the encoder head outputs ``mu`` and ``logvar`` and
``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` (Kingma & Welling 2014, eq. 10).
The decoder returns logits; :meth:`Autoencoder.decode` applies the sigmoid.
Both implement :class:`~latentlab.core.model_interface.LatentModel`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.core import perf
from latentlab.core.model_interface import BERNOULLI, Gaussian

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.config import ModelConfig
    from latentlab.core.model_interface import Likelihood


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Return ``z = mu + exp(logvar / 2) * eps``.

    Parameters
    ----------
    mu, logvar : torch.Tensor
        ``(..., latent_dim)`` posterior mean and log-variance.
    eps : torch.Tensor, optional
        Noise of the same shape; drawn from N(0, I) when omitted, so a caller can
        hold it fixed and watch ``z`` move only through ``mu`` and ``sigma``.
    generator : torch.Generator, optional
        Source of randomness for the drawn ``eps``.
    """
    if eps is None:
        eps = torch.randn(
            mu.shape, generator=generator, device=mu.device, dtype=mu.dtype
        )
    return mu + torch.exp(0.5 * logvar) * eps


@dataclass(frozen=True, slots=True)
class Encoding:
    """Encoder output: ``mu`` ``(batch, latent_dim)``; ``logvar`` None for an AE."""

    mu: torch.Tensor
    logvar: torch.Tensor | None

    @property
    def sigma(self) -> torch.Tensor | None:
        """Posterior standard deviation, or None for an AE."""
        return None if self.logvar is None else torch.exp(0.5 * self.logvar)


@dataclass(frozen=True, slots=True)
class ForwardOutput:
    """One pass through the model; ``logits`` has the input's shape."""

    logits: torch.Tensor
    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out in pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


def build_backbone(config: ModelConfig) -> tuple[nn.Module, nn.Module, int]:
    """Return ``(encoder_body, decoder, feature_width)`` for ``config``.

    The encoder body maps images to features; the head that maps features to the
    latent code is the only part that differs between AE and VAE.
    """
    c, h, w = config.image_shape
    if config.backbone == "mlp":
        body = nn.Sequential(nn.Flatten(), _mlp([config.pixels, *config.hidden]))
        widths = [config.latent_dim, *reversed(config.hidden)]
        decoder = nn.Sequential(
            _mlp(widths),
            nn.Linear(widths[-1], config.pixels),
            nn.Unflatten(1, (c, h, w)),
        )
        return body, decoder, config.hidden[-1]
    if config.backbone == "conv4":
        return _conv4_backbone(config)
    dense = config.hidden[-1]
    h4, w4 = h // 4, w // 4
    body = nn.Sequential(
        nn.Conv2d(c, 32, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * h4 * w4, dense),
        nn.ReLU(),
    )
    decoder = nn.Sequential(
        nn.Linear(config.latent_dim, dense),
        nn.ReLU(),
        nn.Linear(dense, 64 * h4 * w4),
        nn.ReLU(),
        _UnflattenChannelsLast(1, (64, h4, w4)),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
        nn.ReLU(),
        _SubpixelConvTranspose2d(32, c, 4, stride=2, padding=1),
    )
    return body, decoder, dense


# The beta-VAE paper's encoder widths (Higgins et al. 2017; Burgess et al. 2018).
CONV4_WIDTHS = (32, 32, 64, 64)


def _conv4_backbone(config: ModelConfig) -> tuple[nn.Module, nn.Module, int]:
    """Four 4x4 stride-2 convolutions (32, 32, 64, 64), a dense layer, and the
    mirror image for the decoder; 64 px in, 4x4 x 64 features at the bottom."""
    c, h, w = config.image_shape
    dense = config.hidden[-1]
    h16, w16 = h // 16, w // 16
    widths = (c, *CONV4_WIDTHS)
    body: list[nn.Module] = []
    for n_in, n_out in pairwise(widths):
        body += [nn.Conv2d(n_in, n_out, 4, stride=2, padding=1), nn.ReLU()]
    body += [nn.Flatten(), nn.Linear(widths[-1] * h16 * w16, dense), nn.ReLU()]
    decoder: list[nn.Module] = [
        nn.Linear(config.latent_dim, dense),
        nn.ReLU(),
        nn.Linear(dense, widths[-1] * h16 * w16),
        nn.ReLU(),
        _UnflattenChannelsLast(1, (widths[-1], h16, w16)),
    ]
    up = tuple(reversed(widths))
    for i, (n_in, n_out) in enumerate(pairwise(up)):
        decoder.append(_SubpixelConvTranspose2d(n_in, n_out, 4, stride=2, padding=1))
        if i < len(up) - 2:
            decoder.append(nn.ReLU())
    return nn.Sequential(*body), nn.Sequential(*decoder), dense


def decoder_activations(config: ModelConfig) -> int:
    """Values one decoded point holds across the decoder's layers (the output
    included): what a batch of decodes costs in memory, per point."""
    c, h, w = config.image_shape
    if config.backbone == "wrapped":  # counted when the module was wrapped
        return config.activations
    if config.backbone == "mlp":
        return sum(config.hidden) + config.pixels
    if config.backbone == "conv4":
        widths = (c, *CONV4_WIDTHS)
        return config.hidden[-1] + sum(
            width * (h >> level) * (w >> level) for level, width in enumerate(widths)
        )
    # dense -> 64 x h/4 x w/4 -> 32 x h/2 x w/2 -> c x h x w
    return (
        config.hidden[-1]
        + 64 * (h // 4) * (w // 4)
        + 32 * (h // 2) * (w // 2)
        + c * h * w
    )


class _UnflattenChannelsLast(nn.Unflatten):
    """Unflatten into channels-last memory: oneDNN's transposed convolutions run
    ~10-25 % faster on it. No weights, so checkpoints are unchanged. The
    ``conv_decode_kernels`` device of :mod:`latentlab.core.perf`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        if not perf.enabled("conv_decode_kernels"):
            return out
        return out.contiguous(memory_format=torch.channels_last)


def _phase_taps() -> torch.Tensor:
    """For each output phase (a, b) and 3x3 tap (dy, dx): the index of the 4x4
    kernel entry it uses, or 16 (a zero) where the phase reads no input there.

    Output row 2i + a of a stride-2, padding-1 transposed convolution reads
    input row i + d through kernel row k: (d, k) = (0, 1), (-1, 3) for a = 0 and
    (1, 0), (0, 2) for a = 1; columns likewise.
    """
    rows = {0: ((0, 1), (-1, 3)), 1: ((1, 0), (0, 2))}
    taps = torch.full((2, 2, 3, 3), 16, dtype=torch.long)
    for a, row_taps in rows.items():
        for b, col_taps in rows.items():
            for dy, ky in row_taps:
                for dx, kx in col_taps:
                    taps[a, b, dy + 1, dx + 1] = 4 * ky + kx
    return taps


class _SubpixelConvTranspose2d(nn.ConvTranspose2d):
    """A 4x4, stride-2, padding-1 transposed convolution that, outside training,
    runs as a 3x3 convolution into 4 phases and a pixel shuffle.

    Same weights and the same result (to float rounding); with few output
    channels oneDNN's transposed kernel is slow, and this form is 2-3x faster
    (the decoder's last layer: 11 -> 4 ms for 1,024 images in bfloat16).
    Training keeps torch's own kernel. The phase kernel is rebuilt at every call
    (one gather of ~1k values): a fused optimizer updates weights in place
    without bumping their version, so a cached one could silently go stale.
    The ``conv_decode_kernels`` device of :mod:`latentlab.core.perf`.
    """

    _TAPS: ClassVar[torch.Tensor] = _phase_taps()

    def __init__(self, in_channels: int, out_channels: int, *args, **kwargs) -> None:
        super().__init__(in_channels, out_channels, *args, **kwargs)
        form = (
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.output_padding,
            self.groups,
        )
        if form != ((4, 4), (2, 2), (1, 1), (1, 1), (0, 0), 1):
            raise ValueError("only the 4x4, stride 2, padding 1 form is supported")

    def _phase_kernel(self) -> torch.Tensor:
        cin, cout = self.weight.shape[:2]
        flat = self.weight.reshape(cin, cout, 16)
        padded = torch.cat((flat, flat.new_zeros(cin, cout, 1)), dim=2)
        kernel = padded[:, :, self._TAPS.to(flat.device)]  # (cin, cout, 2, 2, 3, 3)
        return kernel.permute(1, 2, 3, 0, 4, 5).reshape(cout * 4, cin, 3, 3)

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if (
            self.training
            or output_size is not None
            or torch.is_grad_enabled()
            or not perf.enabled("conv_decode_kernels")
        ):
            return super().forward(x, output_size)
        bias = None if self.bias is None else self.bias.repeat_interleave(4)
        out = F.conv2d(x, self._phase_kernel().to(x.dtype), bias, padding=1)
        return F.pixel_shuffle(out, 2)


class Autoencoder(nn.Module):
    """Deterministic autoencoder: ``z = mu = head(body(x))``.

    Implements :class:`~latentlab.core.model_interface.LatentModel`. The
    interface's members are properties and methods, not stored attributes, so
    the ``state_dict`` (and so every checkpoint) is unchanged.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.decoder, width = build_backbone(config)
        self.head = nn.Linear(width, self.code_width(config.latent_dim))
        # A fixed likelihood a subclass may set; else the config's (below).
        self._likelihood: Likelihood | None = None
        if config.likelihood != "bernoulli":
            shape = config.image_shape if config.likelihood.endswith("pixel") else (1,)
            # sigma starts at ~0.14 of the pixel range, learned from there.
            self.log_scale = nn.Parameter(torch.full(shape, -2.0))

    @staticmethod
    def code_width(latent_dim: int) -> int:
        """Width of the head's output for a latent of ``latent_dim``."""
        return latent_dim

    @property
    def is_variational(self) -> bool:
        """True for the VAE."""
        return False

    @property
    def variational(self) -> bool:
        """The interface's name for :attr:`is_variational`."""
        return self.is_variational

    @property
    def latent_dim(self) -> int:
        """Size of ``z``."""
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of the images read and written."""
        return self.config.image_shape

    @property
    def value_range(self) -> tuple[float, float]:
        """Pixels are intensities in [0, 1]."""
        return (0.0, 1.0)

    @property
    def likelihood(self) -> Likelihood:
        """How the decoder's output reads as p(x | z): independent Bernoulli
        pixels (the default) or a Gaussian (``config.likelihood``). Built at
        each call around the current ``log_scale``: loading weights with
        ``assign=True`` replaces the parameter object."""
        if self._likelihood is not None:
            return self._likelihood
        if self.config.likelihood == "bernoulli":
            return BERNOULLI
        return Gaussian(
            self.log_scale, discrete=self.config.likelihood.startswith("discretized")
        )

    def encode(self, x: torch.Tensor) -> Encoding:
        """``x`` ``(batch, c, h, w)`` in [0, 1] -> :class:`Encoding`."""
        return Encoding(self.head(self.encoder(x)), None)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(batch, latent_dim)`` -> logits ``(batch, c, h, w)``."""
        return self.decoder(z)

    def decode_params(self, z: torch.Tensor) -> torch.Tensor:
        """The interface's name for :meth:`decode_logits` (the likelihood's
        parameters). Goes through it so a subclass overriding it is honoured."""
        return self.decode_logits(z)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` -> ``sigmoid(logits)``, the likelihood's mean, in [0, 1]."""
        return self.likelihood.mean(self.decode_params(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(batch, latent_dim)`` -> images ``(batch, c, h, w)`` in [0, 1].

        Kept beside :meth:`mean_image` (the same values) for existing callers.
        """
        # Every likelihood of ours has the sigmoid of the output as its mean.
        return torch.sigmoid(self.decoder(z))

    def sample_z(
        self, encoding: Encoding, eps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The code the decoder sees during training: ``mu`` for an AE."""
        return encoding.mu

    def forward(self, x: torch.Tensor) -> ForwardOutput:
        """Encode, sample (VAE) and decode ``x``."""
        enc = self.encode(x)
        z = self.sample_z(enc)
        return ForwardOutput(self.decode_logits(z), z, enc.mu, enc.logvar)


class VAE(Autoencoder):
    """Variational autoencoder: the head outputs ``mu`` and ``logvar``."""

    # The conv4 VAE starts with sigma = exp(-2) ~ 0.14 rather than 1: its deep
    # encoder's first codes have a small spread, which sigma = 1 drowns, and
    # the VAE collapsed onto its prior (64 px colour shapes, 2-D: KL 0.00
    # after 7 epochs; with this start, 5.6 after one).
    CONV4_START_LOGVAR = -4.0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.backbone == "conv4":
            with torch.no_grad():
                self.head.bias[config.latent_dim :].fill_(self.CONV4_START_LOGVAR)

    @staticmethod
    def code_width(latent_dim: int) -> int:
        """The head outputs ``mu`` and ``logvar`` side by side."""
        return 2 * latent_dim

    @property
    def is_variational(self) -> bool:
        """True for the VAE."""
        return True

    def encode(self, x: torch.Tensor) -> Encoding:
        """``x`` -> ``mu``, ``logvar``, each ``(batch, latent_dim)``."""
        mu, logvar = self.head(self.encoder(x)).chunk(2, dim=-1)
        return Encoding(mu, logvar)

    def sample_z(
        self, encoding: Encoding, eps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw ``z`` by :func:`reparameterize`."""
        assert encoding.logvar is not None
        return reparameterize(encoding.mu, encoding.logvar, eps)


def build_model(config: ModelConfig) -> Autoencoder:
    """Instantiate the model ``config`` describes."""
    return (VAE if config.kind == "vae" else Autoencoder)(config)


# torch's device context (a torch-function mode) entered by two threads at once
# crashed Python 3.13 (a segfault in CI while two panels loaded files).
_META_LOCK = threading.Lock()


def meta_model(config: ModelConfig) -> Autoencoder:
    """The model ``config`` describes on the "meta" device: shapes without
    memory or random init; built one at a time."""
    with _META_LOCK, torch.device("meta"):
        return build_model(config)
