"""The interface every model the app shows implements, and its likelihoods.

Views and analyses talk to :class:`LatentModel` rather than to LatentLab's own
classes, so a model brought from elsewhere (other image shapes, colour, its own
encoder and decoder) only has to provide these few names. The decoder's output
is read through a :class:`Likelihood`: it says what the decoder's numbers mean
(Bernoulli logits for ours), so ``log p(x | z)`` and the image to draw come from
one place instead of each caller applying a sigmoid of its own.

torch is imported inside the functions: importing this module for its types
costs nothing (the Qt layer may name the protocol without loading torch).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from latentlab.core.models import Encoding


class Likelihood(Protocol):
    """How to read a decoder's output ``params`` as a distribution over images.

    Example::

        lik = model.likelihood
        nats = -lik.log_prob(model.decode_params(z), x)  # (B,) per image
        img = lik.mean(model.decode_params(z))  # what to draw
    """

    name: str
    """Short identifier, e.g. ``"bernoulli"``."""

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log p(x | params)`` summed over each image, in nats, shape ``(B,)``.

        Example: ``lik.log_prob(logits, x).mean()`` is minus the mean
        reconstruction loss.
        """
        ...

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The distribution's mean, an image ``(B, C, H, W)`` in the value range.

        Example: ``lik.mean(torch.zeros(1, 1, 2, 2))`` is all 0.5 for Bernoulli.
        """
        ...

    def sample(
        self, params: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One draw of ``x ~ p(x | params)``, same shape as ``params``.

        Example: ``lik.sample(logits, torch.Generator().manual_seed(0))``.
        """
        ...


class Bernoulli:
    """Independent Bernoulli pixels; ``params`` are logits ``(B, C, H, W)``.

    Grey (non-binary) pixels in [0, 1] are used as the targets as they are, not
    binarized: the continuous relaxation LatentLab trains with, so ``log_prob``
    is exactly minus the training reconstruction term.

    Example::

        Bernoulli().log_prob(torch.zeros(1, 1, 2, 2), x)  # = 4 * log(0.5)
    """

    name = "bernoulli"

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``sum x log σ(l) + (1 - x) log(1 - σ(l))`` per image, ``(B,)``."""
        # One definition of the reconstruction term: the training loss's own.
        from latentlab.core.losses import reconstruction_nats

        return -reconstruction_nats(params, x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """``sigmoid(logits)``: P(pixel = 1), in [0, 1]."""
        import torch

        return torch.sigmoid(params)

    def sample(
        self, params: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Binary pixels (0.0 or 1.0) drawn with P(1) = ``sigmoid(logits)``."""
        import torch

        return torch.bernoulli(torch.sigmoid(params), generator=generator)


BERNOULLI = Bernoulli()
"""Shared instance: a Bernoulli likelihood holds no state."""

# Half the width of one 8-bit level on pixels in [0, 1].
_HALF_LEVEL = 0.5 / 255.0
_LOG_2PI = 1.8378770664093453


class Gaussian:
    """Independent Gaussian pixels: the mean is ``sigmoid(params)`` (pixels in
    [0, 1]; ``squash=False``: ``params`` itself) and the scale
    ``exp(log_scale)``, a learned parameter of the model or a fixed tensor: one
    for all pixels (shape ``(1,)``) or one per pixel (the image's shape).
    What a model trained with MSE assumes, with its σ made explicit.

    ``discrete=True`` gives the *discretized* Gaussian over 8-bit levels (the
    mass of each level's bin, the end bins open; Ho et al. 2020): a
    probability, so its ``-log p`` in bits per dimension is comparable with
    the colour-image papers'. The continuous density's is not, and
    :attr:`bits_comparable` says which.

    Example::

        lik = Gaussian(torch.zeros(1))  # sigma = 1 for every pixel
        nats = -lik.log_prob(torch.zeros(2, 3, 8, 8), x)  # (2,)
    """

    def __init__(
        self, log_scale: torch.Tensor, *, discrete: bool = False, squash: bool = True
    ) -> None:
        self.log_scale = log_scale
        self.discrete = discrete
        # False: the decoder's output is the mean itself (e.g. it ends in tanh).
        self.squash = squash
        self.name = "discretized-gaussian" if discrete else "gaussian"

    @property
    def per_pixel(self) -> bool:
        """True when each pixel has its own σ."""
        return self.log_scale.numel() > 1

    @property
    def bits_comparable(self) -> bool:
        """True when ``-log p`` is a probability's (8-bit levels): bits per
        dimension then mean what they mean in the papers."""
        return self.discrete

    def describe(self) -> str:
        """``"discretized Gaussian, one learned σ for all pixels"`` and the like."""
        kind = "discretized Gaussian (8-bit levels)" if self.discrete else "Gaussian"
        scale = "a learned σ per pixel" if self.per_pixel else "one learned σ"
        return f"{kind}, {scale}"

    def _scale(self, params: torch.Tensor) -> torch.Tensor:
        return self.log_scale.to(params.dtype).expand_as(params)

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log p(x | params)`` summed over each image's pixels, ``(B,)``."""
        import torch

        mean = self.mean(params)
        log_scale = self._scale(params)
        if not self.discrete:
            z = (x - mean) * torch.exp(-log_scale)
            return (-0.5 * (z * z + _LOG_2PI) - log_scale).flatten(1).sum(1)
        inv = torch.exp(-log_scale)
        centred = (x - mean) * inv
        top = (x - mean + _HALF_LEVEL) * inv  # the bin's edges, standardized
        bottom = (x - mean - _HALF_LEVEL) * inv
        # A bin above the mean is measured in the upper tail (Φ(-a) - Φ(-b)):
        # there 1 - Φ rounds to 0 long before the mass does.
        above = bottom > 0
        lo = torch.where(above, -top, bottom)
        hi = torch.where(above, -bottom, top)
        mass = torch.special.ndtr(hi) - torch.special.ndtr(lo)
        # Too small to subtract: the density at the bin's centre times its width.
        log_width = math.log(2 * _HALF_LEVEL) - log_scale
        midpoint = -0.5 * (centred * centred + _LOG_2PI) + log_width
        inner = torch.where(mass > 1e-6, torch.log(mass.clamp_min(1e-30)), midpoint)
        log_mass = torch.where(
            x < _HALF_LEVEL,  # level 0: everything below its top edge
            torch.special.log_ndtr(top),
            torch.where(
                x > 1.0 - _HALF_LEVEL,  # level 255: everything above its bottom
                torch.special.log_ndtr(-bottom),
                inner,
            ),
        )
        return log_mass.flatten(1).sum(1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """``sigmoid(params)``: the pixels' mean, in [0, 1] (``params`` itself
        when built with ``squash=False``)."""
        import torch

        return torch.sigmoid(params) if self.squash else params

    def sample(
        self, params: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``mean + σ·noise``; discretized: rounded to a level and clipped."""
        import torch

        noise = torch.randn(
            params.shape, generator=generator, device=params.device, dtype=params.dtype
        )
        x = self.mean(params) + torch.exp(self._scale(params)) * noise
        if self.discrete:
            x = x.mul(255.0).round_().clamp_(0.0, 255.0).div_(255.0)
        return x


def bits_per_dim(nats: float, dims: int) -> float:
    """Nats per image -> bits per dimension: ``nats / (dims · ln 2)``.

    Example: ``bits_per_dim(3072 * math.log(2), 3072)`` is 1.0.
    """
    import math

    return nats / (dims * math.log(2.0))


@runtime_checkable
class LatentModel(Protocol):
    """A model with a latent space the app can explore.

    ``isinstance(m, LatentModel)`` checks only that the names exist (a runtime
    protocol cannot check signatures). LatentLab's
    :class:`~latentlab.core.models.Autoencoder` and ``VAE`` implement it.

    Example::

        enc = model.encode(x)  # x: (B, *model.image_shape) in value_range
        img = model.mean_image(enc.mu)  # (B, C, H, W) in value_range
    """

    @property
    def latent_dim(self) -> int:
        """Size of ``z``. Example: ``torch.zeros(4, model.latent_dim)``."""
        ...

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images read and written. Example: ``(1, 28, 28)``."""
        ...

    @property
    def value_range(self) -> tuple[float, float]:
        """Pixel values' ``(low, high)``. Example: ``(0.0, 1.0)`` for ours."""
        ...

    @property
    def variational(self) -> bool:
        """True when ``encode`` gives a posterior scale. Example: VAE -> True."""
        ...

    @property
    def likelihood(self) -> Likelihood:
        """Reads :meth:`decode_params`' output. Example: ``BERNOULLI``."""
        ...

    def encode(self, x: torch.Tensor) -> Encoding:
        """``x`` ``(B, C, H, W)`` -> :class:`~latentlab.core.models.Encoding`.

        ``mu`` is ``(B, latent_dim)``; ``sigma`` is the posterior scale for a
        variational model and None otherwise. Example:
        ``model.encode(x).sigma is None`` for an AE.
        """
        ...

    def decode_params(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(B, latent_dim)`` -> the likelihood's parameters.

        Example: logits ``(B, C, H, W)`` for :class:`Bernoulli`.
        """
        ...

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` -> ``likelihood.mean(decode_params(z))``, in ``value_range``.

        Example: ``model.mean_image(torch.zeros(1, model.latent_dim))``.
        """
        ...
