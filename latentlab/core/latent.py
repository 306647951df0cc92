"""Latent-space maths shared by every view: encode, grids, slices, samples.

All functions take a model and numpy/torch inputs and return numpy arrays on the
CPU; none keeps state. For latents wider than 2, a :class:`LatentSlice` names the
two dimensions on screen and the values of the others, so 2-D grids and clicks
map to full codes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from latentlab.core import perf
from latentlab.core.data import to_float
from latentlab.core.errors import ConfigError
from latentlab.core.lazy import no_grad

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    import torch

    from latentlab.core.models import Autoencoder

DT = TypeVar("DT", bound=np.generic)

DECODE_BATCH = 4096  # codes per decoder call
# A batch's activations at most (float32): 64 px colour conv models take ~290
# images a call rather than 4,096 (950 MB); the 28 px MLPs' batches are as
# large as before.
BATCH_BYTES = 64 * 1024**2


def memory_batch(model: Autoencoder, batch_size: int) -> int:
    """``batch_size``, made smaller where one batch's activations would pass
    :data:`BATCH_BYTES`."""
    from latentlab.core.models import decoder_activations

    config = getattr(model, "config", None)
    if not hasattr(config, "backbone"):  # a module without LatentLab's config
        return batch_size
    per_image = 4 * decoder_activations(config)
    return max(1, min(batch_size, BATCH_BYTES // per_image))


@dataclass(frozen=True, slots=True)
class Codes:
    """Encoded images: ``mu`` ``(n, latent_dim)``; ``sigma`` likewise, or None (AE)."""

    mu: npt.NDArray[np.float32]
    sigma: npt.NDArray[np.float32] | None


@dataclass(frozen=True, slots=True)
class LatentRect:
    """An axis-aligned rectangle of the plane shown: ``x0 <= x <= x1`` etc."""

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        if not (np.isfinite([self.x0, self.y0, self.x1, self.y1]).all()):
            raise ConfigError("latent rectangle bounds must be finite")
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ConfigError(f"empty latent rectangle {self}")

    @property
    def width(self) -> float:
        """Extent along the first shown dimension."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Extent along the second shown dimension."""
        return self.y1 - self.y0

    @classmethod
    def square(cls, half: float = 3.0) -> LatentRect:
        """``[-half, half]^2``, the prior's bulk for ``half = 3``."""
        return cls(-half, -half, half, half)


@dataclass(frozen=True, slots=True)
class LatentSlice:
    """Which plane of the latent space is on screen.

    By default two latent dims: ``base`` has ``latent_dim`` entries and dims
    ``(dims[0], dims[1])`` are replaced by the plane coordinates. With ``axes``
    (two orthonormal directions, e.g. the codes' first principal components) the
    plane is ``base + x * axes[0] + y * axes[1]`` instead, and a point's plane
    coordinates are its projections on the axes (the rest held at ``base``).
    """

    latent_dim: int = 2
    dims: tuple[int, int] = (0, 1)
    base: tuple[float, ...] = field(default=())
    axes: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        d0, d1 = self.dims
        if self.latent_dim < 1:
            raise ConfigError("latent size must be >= 1")
        if self.latent_dim == 1:
            if (d0, d1) != (0, 0):
                object.__setattr__(self, "dims", (0, 0))
        elif not (0 <= d0 < self.latent_dim and 0 <= d1 < self.latent_dim) or d0 == d1:
            raise ConfigError(
                f"shown dims {self.dims} must be two different dims below "
                f"{self.latent_dim}"
            )
        base = tuple(float(v) for v in self.base) or (0.0,) * self.latent_dim
        if len(base) != self.latent_dim:
            raise ConfigError(
                f"slice base has {len(base)} values for a latent of {self.latent_dim}"
            )
        object.__setattr__(self, "base", base)
        if self.axes is not None:
            axes = np.asarray(self.axes, np.float64)
            if axes.shape != (2, self.latent_dim) or not np.isfinite(axes).all():
                raise ConfigError(
                    f"plane axes must be 2 directions of {self.latent_dim}"
                )
            if not np.allclose(axes @ axes.T, np.eye(2), atol=1e-5):
                raise ConfigError("plane axes must be orthonormal")
            object.__setattr__(
                self, "axes", tuple(tuple(float(v) for v in a) for a in axes)
            )

    @property
    def is_projection(self) -> bool:
        """True for a plane along ``axes`` rather than two latent dims."""
        return self.axes is not None

    @property
    def held_dims(self) -> tuple[int, ...]:
        """The dims not shown, in order: held at their ``base`` values (the
        dims plane's "others"; a 1-D or 2-D latent has none)."""
        shown = set(self.dims)
        return tuple(d for d in range(self.latent_dim) if d not in shown)

    @property
    def held_values(self) -> tuple[float, ...]:
        """``base`` at :attr:`held_dims`: the values the other dims are held at."""
        return tuple(self.base[d] for d in self.held_dims)

    def with_held(self, dims: tuple[int, int], values: Sequence[float]) -> LatentSlice:
        """A dims plane showing ``dims``, the others held at ``values``.

        ``values`` are this slice's :attr:`held_values` edited (one per
        :attr:`held_dims`, the ones shown beside the plane), or a full code of
        ``latent_dim`` values whose shown dims are ignored. A dim that becomes
        held keeps its ``base`` value.
        """
        vals = [float(v) for v in values]
        held = self.held_dims
        if len(vals) == self.latent_dim:
            base = vals
        elif len(vals) == len(held):
            base = list(self.base)
            for d, v in zip(held, vals, strict=True):
                base[d] = v
        else:
            names = ", ".join(f"z{d + 1}" for d in held)
            raise ConfigError(
                f"give {len(held)} comma-separated values ({names}) or a full "
                f"code of {self.latent_dim}"
            )
        if not all(math.isfinite(v) for v in base):
            raise ConfigError("held values must be finite numbers")
        return LatentSlice(self.latent_dim, (int(dims[0]), int(dims[1])), tuple(base))

    def dims_only(self) -> LatentSlice:
        """The same slice shown along its two dims (drops ``axes``)."""
        if self.axes is None:
            return self
        return LatentSlice(self.latent_dim, self.dims, self.base)

    def embed(self, xy: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Plane points ``(n, 2)`` -> full codes ``(n, latent_dim)``."""
        pts = np.asarray(xy, dtype=np.float32).reshape(-1, 2)
        if self.axes is not None:
            axes = np.asarray(self.axes, np.float32)
            return np.asarray(self.base, np.float32) + pts @ axes
        z = np.tile(np.asarray(self.base, np.float32), (len(pts), 1))
        z[:, self.dims[0]] = pts[:, 0]
        if self.latent_dim > 1:
            z[:, self.dims[1]] = pts[:, 1]
        return z

    def project(self, z: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Full codes ``(n, latent_dim)`` -> plane points ``(n, 2)``."""
        arr = np.asarray(z, dtype=np.float32).reshape(-1, self.latent_dim)
        if self.axes is not None:
            centred = arr - np.asarray(self.base, np.float32)
            return np.ascontiguousarray(centred @ np.asarray(self.axes, np.float32).T)
        if self.latent_dim == 1:
            return np.stack([arr[:, 0], np.zeros(len(arr), np.float32)], 1)
        return np.ascontiguousarray(arr[:, list(self.dims)])


def pca_slice(codes: npt.ArrayLike) -> LatentSlice:
    """The plane of the codes' two principal components through their mean.

    A click at (x, y) decodes ``mean + x * pc1 + y * pc2``: the other
    components held at the codes' mean.
    """
    c = np.asarray(codes, np.float64)
    c = c[np.isfinite(c).all(1)]
    d = c.shape[1] if c.ndim == 2 else 0
    if d < 3 or len(c) < 3:
        raise ConfigError("a PCA plane needs a latent of 3 or more dims and codes")
    mean = c.mean(0)
    _, _, vt = np.linalg.svd(c - mean, full_matrices=False)
    axes = vt[:2]
    # A sign convention, so the same codes always give the same picture.
    axes *= np.sign(axes[np.arange(2), np.abs(axes).argmax(1)])[:, None]
    return LatentSlice(d, (0, 1), tuple(mean), (tuple(axes[0]), tuple(axes[1])))


def _device(model: Autoencoder) -> torch.device:
    host = getattr(model, "host_device", None)  # a wrapped module: the CPU side
    return host if host is not None else next(model.parameters()).device


@no_grad
def encode_images(
    model: Autoencoder, images: torch.Tensor, *, batch_size: int = 2500
) -> Codes:
    """Encode uint8 ``(n, h, w)`` images to :class:`Codes`, in batches."""
    import torch

    device = _device(model)
    mus, sigmas = [], []
    # The encoder mirrors the decoder: the same activations an image.
    batch_size = memory_batch(model, batch_size)
    for lo in range(0, len(images), batch_size):
        enc = model.encode(to_float(images[lo : lo + batch_size].to(device)))
        mus.append(enc.mu.cpu())
        if enc.logvar is not None:
            sigmas.append(enc.sigma.cpu())
    if not mus:
        empty = np.zeros((0, model.config.latent_dim), np.float32)
        return Codes(empty, empty.copy() if model.is_variational else None)
    mu = torch.cat(mus).numpy()
    sigma = torch.cat(sigmas).numpy() if sigmas else None
    return Codes(mu, sigma)


def grid_points(
    rect: LatentRect, n: int, rows: int | None = None
) -> npt.NDArray[np.float32]:
    """Centres of ``n`` columns by ``rows`` rows (default ``n``) of cells over ``rect``.

    Returns ``(rows * n, 2)``, row-major with the second coordinate rising along
    rows, so row 0 is the lowest z2, matching an image drawn with its first row at
    the bottom.
    """
    rows = n if rows is None else rows
    if n < 1 or rows < 1:
        raise ConfigError("grid resolution must be >= 1")
    xs = rect.x0 + (np.arange(n, dtype=np.float64) + 0.5) * rect.width / n
    ys = rect.y0 + (np.arange(rows, dtype=np.float64) + 0.5) * rect.height / rows
    gx, gy = np.meshgrid(xs, ys)  # gy constant along each row
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


@functools.cache
def native_bf16() -> bool:
    """True where the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX).

    Elsewhere oneDNN emulates it, slower than float32.
    """
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for name in probes:
        probe = getattr(torch.cpu, name, None)  # private in torch 2.x; may go
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:
            pass
    return False


def decode_codes(
    model: Autoencoder,
    z: npt.ArrayLike,
    *,
    batch_size: int = DECODE_BATCH,
    for_display: bool = False,
) -> npt.NDArray[np.float32]:
    """Decode codes ``(n, latent_dim)`` to images in [0, 1]: ``(n, h, w)`` grey
    or ``(n, h, w, 3)`` colour (:func:`display_shape`).

    ``for_display`` runs a CPU decoder in bfloat16 where the CPU has it in
    hardware: ~2x faster for conv decoders, ~3x for MLPs (1,024 codes of the
    shipped MNIST VAE: 3.7 against 11 ms). The largest difference from float32
    over a 32 x 32 manifold, measured by the bench
    (``grid32_display_max_diff_*``): 1.3 of 255 grey levels for conv, 5.1 (2 %)
    for the shipped MNIST MLP VAE. Anything measured stays in float32. The
    ``bf16_display`` device of :mod:`latentlab.core.perf`: off, float32 always.
    """
    return _decoded(model, z, batch_size, for_display).numpy()


@no_grad
def _decoded(
    model: Autoencoder, z: npt.ArrayLike, batch_size: int, for_display: bool
) -> torch.Tensor:
    """:func:`decode_codes` as a float32 CPU tensor ``(n, h, w)``, without
    gradients (its callers need no ``no_grad`` of their own)."""
    import torch

    zt = torch.as_tensor(np.asarray(z, np.float32)).reshape(-1, model.config.latent_dim)
    device = _device(model)
    batch_size = memory_batch(model, batch_size)
    low_precision = torch.autocast(
        "cpu",
        dtype=torch.bfloat16,
        enabled=for_display
        and device.type == "cpu"
        and perf.enabled("bf16_display")
        and native_bf16(),
    )
    with low_precision:
        out = [
            model.decode(zt[lo : lo + batch_size].to(device)).float().cpu()
            for lo in range(0, len(zt), batch_size)
        ]
    c, h, w = model.config.image_shape
    if not out:
        return torch.zeros(display_shape(0, (c, h, w)))
    # One batch is the usual case: no copy of it (3.4 ms for 1,024 MNIST images
    # in a fresh process, where the copy's pages are new; ~0 in a warm one).
    images = out[0] if len(out) == 1 else torch.cat(out)
    if c == 1:
        return images.reshape(-1, h, w)
    return images.reshape(-1, c, h, w).permute(0, 2, 3, 1).contiguous()


def display_shape(n: int, image_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``n`` images as views hold them: ``(n, h, w)`` grey or
    ``(n, h, w, 3)`` RGB (channels last, as image libraries and Qt take them)."""
    c, h, w = image_shape
    return (n, h, w) if c == 1 else (n, h, w, c)


def to_display(images: torch.Tensor) -> torch.Tensor:
    """Model images ``(n, c, h, w)`` -> the layout of :func:`display_shape`."""
    if images.shape[1] == 1:
        return images[:, 0]
    return images.permute(0, 2, 3, 1)


def grey_levels(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats -> 8-bit grey levels, rounded half up (NaN -> 0), as what
    a plane shows. In float32: bfloat16 has too few bits for ``x * 255 + 0.5``."""
    import torch

    levels = images.float().mul(255.0).add_(0.5).clamp_(0.0, 255.0)
    return levels.nan_to_num_(0.0).to(torch.uint8)


def decode_point(
    model: Autoencoder, xy: Sequence[float], latent_slice: LatentSlice | None = None
) -> npt.NDArray[np.float32]:
    """Decode one plane point to an image ``(h, w)`` (or ``(h, w, 3)``)."""
    sl = latent_slice or LatentSlice(model.config.latent_dim)
    return decode_codes(model, sl.embed([xy]))[0]


def assemble_tiles(
    tiles: npt.NDArray[DT], n: int, rows: int | None = None
) -> npt.NDArray[DT]:
    """``(rows * n, h, w[, 3])`` row-major tiles -> one ``(rows * h, n * w[, 3])``
    image of the tiles' dtype.

    One reshape and transpose, no Python loop; the result is C-contiguous.
    """
    rows = n if rows is None else rows
    h, w, *channels = tiles.shape[1:]
    img = tiles.reshape(rows, n, h, w, *channels).swapaxes(1, 2)
    return np.ascontiguousarray(img.reshape(rows * h, n * w, *channels))


def decode_grid(
    model: Autoencoder,
    rect: LatentRect,
    n: int,
    latent_slice: LatentSlice | None = None,
    rows: int | None = None,
    *,
    for_display: bool = False,
) -> npt.NDArray[np.float32]:
    """Decode a grid of ``n`` columns by ``rows`` rows over ``rect`` into one image.

    ``for_display``: see :func:`decode_codes`.

    The image is meant to be drawn with its row 0 at the bottom (pyqtgraph's
    default y-up view): row 0 is the lowest z2 (see :func:`grid_points`) and each
    tile is stored bottom-up too, so the digits stand upright on screen.
    ``np.flipud(result)`` is the picture as seen.
    """
    codes = _grid_codes(model, rect, n, latent_slice, rows)
    tiles = decode_codes(model, codes, for_display=for_display)
    return assemble_tiles(tiles[:, ::-1, :], n, rows)


def decode_grid_levels(
    model: Autoencoder,
    rect: LatentRect,
    n: int,
    latent_slice: LatentSlice | None = None,
    rows: int | None = None,
) -> npt.NDArray[np.uint8]:
    """:func:`decode_grid` as a plane shows it: the display decode in 8-bit
    grey levels (:func:`grey_levels`), laid out the same way."""
    codes = _grid_codes(model, rect, n, latent_slice, rows)
    tiles = grey_levels(_decoded(model, codes, DECODE_BATCH, True)).numpy()
    return assemble_tiles(tiles[:, ::-1, :], n, rows)


def _grid_codes(
    model: Autoencoder,
    rect: LatentRect,
    n: int,
    latent_slice: LatentSlice | None,
    rows: int | None,
) -> npt.NDArray[np.float32]:
    """The full codes of :func:`grid_points` (the slice's held values elsewhere)."""
    sl = latent_slice or LatentSlice(model.config.latent_dim)
    return sl.embed(grid_points(rect, n, rows))


def square_cells(rect: LatentRect, n: int) -> tuple[LatentRect, int, int]:
    """Fit a grid of square cells, ``n`` along the longer side, over ``rect``.

    Returns ``(grid_rect, columns, rows)``; ``grid_rect`` covers ``rect`` and is
    centred on it, so tiles keep the images' aspect ratio on screen.
    """
    if rect.width >= rect.height:
        cols, rows = n, max(1, math.ceil(n * rect.height / rect.width - 1e-9))
        cell = rect.width / cols
    else:
        cols, rows = max(1, math.ceil(n * rect.width / rect.height - 1e-9)), n
        cell = rect.height / rows
    cx, cy = (rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2
    half_w, half_h = cols * cell / 2, rows * cell / 2
    grid = LatentRect(cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    return grid, cols, rows


def interpolate(
    model: Autoencoder,
    image_a: torch.Tensor,
    image_b: torch.Tensor,
    steps: int = 12,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Decode the straight path between two images' codes (means).

    Returns ``(codes (steps, latent_dim), images (steps, h, w[, 3]))``.
    """
    import torch

    if steps < 2:
        raise ConfigError("an interpolation needs at least 2 steps")
    codes = encode_images(model, torch.stack([image_a, image_b])).mu
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    path = (1 - t) * codes[0] + t * codes[1]
    return path, decode_codes(model, path)


@dataclass(frozen=True, slots=True)
class PosteriorSamples:
    """``z = mu + sigma * eps`` for one input; ``eps`` and ``z`` are ``(k, d)``."""

    mu: npt.NDArray[np.float32]
    sigma: npt.NDArray[np.float32]
    eps: npt.NDArray[np.float32]
    z: npt.NDArray[np.float32]


def draw_eps(
    k: int, latent_dim: int, generator: torch.Generator | None = None
) -> npt.NDArray[np.float32]:
    """``k`` standard-normal draws, ``(k, latent_dim)``."""
    import torch

    return torch.randn(k, latent_dim, generator=generator).numpy()


def posterior_samples(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eps: npt.ArrayLike,
    sigma_scale: npt.ArrayLike = 1.0,
) -> PosteriorSamples:
    """Apply the reparameterization with a given ``eps`` (pure numpy).

    ``sigma_scale`` (scalar or per dim) multiplies sigma, as the view's slider does.
    """
    mu_a = np.asarray(mu, np.float32).reshape(-1)
    scale = np.asarray(sigma_scale, np.float32)
    sig = np.asarray(sigma, np.float32).reshape(-1) * scale
    eps_a = np.asarray(eps, np.float32).reshape(-1, len(mu_a))
    return PosteriorSamples(mu_a, sig, eps_a, mu_a + sig * eps_a)


def nearest_point(
    xy: npt.NDArray[np.float32] | None,
    target: tuple[float, float],
    pixel_size: tuple[float, float],
    max_px: float = 8.0,
) -> int | None:
    """Index of the point of ``xy`` ``(n, 2)`` nearest ``target`` on screen.

    Distances are measured in screen pixels (``pixel_size`` is the plane's
    latent units per pixel along x and y); None when none is within ``max_px``.
    """
    if xy is None or len(xy) == 0:
        return None
    px, py = (max(abs(float(p)), 1e-12) for p in pixel_size)
    d2 = ((xy[:, 0] - target[0]) / px) ** 2 + ((xy[:, 1] - target[1]) / py) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)  # NaN codes are never picked
    i = int(np.argmin(d2))
    return i if d2[i] <= max_px**2 else None
