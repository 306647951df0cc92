"""The training timeline: a fixed subset of test images encoded after every epoch.

Every training run picks ``n`` test images by its seed (:func:`timeline_indices`)
and, after each epoch, records their codes in float16 with the epoch's test
figures (:class:`TimelineFrame`, carried by
:class:`~latentlab.core.training.EpochEnd`). :class:`TimelineRecorder` gathers the
frames of a run into one :class:`Timeline` per model, which the checkpoint stores
(a 30-epoch 2-D VAE of 2,000 images adds about half a megabyte). The planes scrub
through it and :func:`write_gif` turns rendered frames into an animated GIF.

float16 keeps ~3 significant digits (a relative error of at most 2**-11), plenty
for a scatter plot; codes beyond float16's range are clipped to it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.data import to_float
from latentlab.core.errors import LatentLabError
from latentlab.core.files import temp_path
from latentlab.core.lazy import no_grad
from latentlab.core.text import printable

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    import torch

    from latentlab.core.models import Autoencoder

TIMELINE_POINTS = 2000
MAX_TIMELINE_POINTS = 10_000
_F16_MAX = float(np.finfo(np.float16).max)


def timeline_indices(n_test: int, n: int, seed: int) -> npt.NDArray[np.int64]:
    """``min(n, n_test)`` distinct test-set indices drawn by ``seed``, sorted.

    The draw depends only on ``(n_test, n, seed)``, so two models trained with
    the same seed on the same data record the same images.
    """
    n = max(0, min(int(n), int(n_test)))
    if n == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([abs(int(seed)), 0x71E]))
    return np.sort(rng.choice(int(n_test), size=n, replace=False)).astype(np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class TimelineFrame:
    """One model's codes of the timeline images after one epoch.

    ``mu`` and ``sigma`` are float16 ``(n, latent_dim)`` (``sigma`` None for an
    AE); ``indices`` ``(n,)`` are the test-set indices they belong to.
    """

    epoch: int
    indices: npt.NDArray[np.int64]
    mu: npt.NDArray[np.float16]
    sigma: npt.NDArray[np.float16] | None
    test_recon: float
    test_kl: float


@dataclass(frozen=True, slots=True, eq=False)
class Timeline:
    """A run's codes of a fixed test subset, epoch by epoch.

    Attributes
    ----------
    indices : (n,) int64
        Test-set indices of the recorded images, increasing.
    epochs : (epochs,) int64
        The epoch each row of ``codes`` was recorded after, increasing.
    codes : (epochs, n, latent_dim) float16
        The code (AE) or the posterior mean μ (VAE).
    sigma : (epochs, n, latent_dim) float16 or None
        The VAE's posterior σ; None for an AE.
    test_recon, test_kl : (epochs,) float32
        The epoch's test figures, nats per image.
    run_id : str
        Shared by the models trained side by side in one run.
    seed : int
        The seed the indices were drawn with.
    """

    indices: npt.NDArray[np.int64]
    epochs: npt.NDArray[np.int64]
    codes: npt.NDArray[np.float16]
    sigma: npt.NDArray[np.float16] | None
    test_recon: npt.NDArray[np.float32]
    test_kl: npt.NDArray[np.float32]
    run_id: str = ""
    seed: int = 0

    @property
    def count(self) -> int:
        """Number of recorded epochs."""
        return len(self.epochs)

    @property
    def points(self) -> int:
        """Number of recorded test images."""
        return len(self.indices)

    @property
    def nbytes(self) -> int:
        """Bytes of array data the timeline holds."""
        arrays = (self.indices, self.epochs, self.codes, self.test_recon, self.test_kl)
        extra = 0 if self.sigma is None else self.sigma.nbytes
        return sum(a.nbytes for a in arrays) + extra

    def codes_at(self, i: int) -> npt.NDArray[np.float32]:
        """Row ``i``'s codes ``(n, latent_dim)`` as float32."""
        return self.codes[i].astype(np.float32)

    def to_record(self) -> dict[str, object]:
        """The checkpoint field: tensors and primitives only."""
        import torch

        return {
            "run_id": self.run_id,
            "seed": int(self.seed),
            "indices": torch.from_numpy(np.ascontiguousarray(self.indices, np.int64)),
            "epochs": torch.from_numpy(np.ascontiguousarray(self.epochs, np.int64)),
            "codes": torch.from_numpy(np.ascontiguousarray(self.codes, np.float16)),
            "sigma": None
            if self.sigma is None
            else torch.from_numpy(np.ascontiguousarray(self.sigma, np.float16)),
            "test_recon": torch.from_numpy(
                np.ascontiguousarray(self.test_recon, np.float32)
            ),
            "test_kl": torch.from_numpy(np.ascontiguousarray(self.test_kl, np.float32)),
        }


def to_half(values: npt.ArrayLike) -> npt.NDArray[np.float16]:
    """float16 copy, clipped to float16's finite range (NaN stays NaN)."""
    a = np.asarray(values, np.float32)
    return np.clip(a, -_F16_MAX, _F16_MAX).astype(np.float16)


@no_grad
def record_frame(
    model: Autoencoder,
    images: torch.Tensor,
    indices: npt.NDArray[np.int64],
    epoch: int,
    test_recon: float,
    test_kl: float,
) -> TimelineFrame:
    """Encode ``images`` (uint8 ``(n, h, w)``, on the model's device) to a frame."""
    was_training = model.training
    model.eval()
    try:
        enc = model.encode(to_float(images))
        mu = to_half(enc.mu.detach().cpu().numpy())
        sigma = None
        if enc.logvar is not None:
            sigma = to_half(enc.sigma.detach().cpu().numpy())
    finally:
        model.train(was_training)
    return TimelineFrame(epoch, indices, mu, sigma, float(test_recon), float(test_kl))


class TimelineRecorder:
    """Gathers a run's frames (``EpochEnd.frames``) into one timeline per model."""

    def __init__(self, n_models: int) -> None:
        self._frames: list[list[TimelineFrame]] = [[] for _ in range(n_models)]
        self.run_id = ""
        self.seed = 0

    def add(
        self, frames: Sequence[TimelineFrame], run_id: str = "", seed: int = 0
    ) -> None:
        """Append one epoch's frames, one per model (an empty tuple is ignored)."""
        if not frames:
            return
        self.run_id = run_id or self.run_id
        self.seed = seed
        for store, frame in zip(self._frames, frames, strict=True):
            store.append(frame)

    def timeline(self, i: int) -> Timeline | None:
        """Model ``i``'s timeline, or None when no epoch was recorded."""
        frames = self._frames[i] if 0 <= i < len(self._frames) else []
        if not frames or len(frames[0].indices) == 0:
            return None
        sigma = None
        if frames[0].sigma is not None:
            sigma = np.stack([f.sigma for f in frames])
        return Timeline(
            indices=np.asarray(frames[0].indices, np.int64),
            epochs=np.array([f.epoch for f in frames], np.int64),
            codes=np.stack([f.mu for f in frames]),
            sigma=sigma,
            test_recon=np.array([f.test_recon for f in frames], np.float32),
            test_kl=np.array([f.test_kl for f in frames], np.float32),
            run_id=self.run_id,
            seed=self.seed,
        )


def write_gif(
    path: str | os.PathLike[str],
    frames: Sequence[npt.NDArray[np.uint8]],
    *,
    frame_ms: int = 400,
    last_ms: int = 1500,
) -> Path:
    """Write RGB frames ``(h, w, 3)`` uint8 as a looping animated GIF, atomically.

    Pillow writes to a temporary file in the same folder, which then replaces
    ``path``; a failure leaves an existing file as it was.

    Raises
    ------
    LatentLabError
        No frames, frames of different sizes, or the file could not be written.
    """
    from PIL import Image  # Pillow: imported here, the app's start needs none of it

    target = Path(path)
    shown = printable(str(target))
    if not frames:
        raise LatentLabError(f"nothing to write to {shown}: the timeline is empty")
    shapes = {tuple(f.shape) for f in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise LatentLabError(f"cannot write {shown}: the frames differ in size")
    images = [Image.fromarray(np.ascontiguousarray(f, np.uint8), "RGB") for f in frames]
    # One palette for all frames keeps colours steady; it is drawn from every
    # frame (every 4th row of each, stacked) so no epoch's colours are missing.
    sample = np.concatenate([np.asarray(f, np.uint8)[::4] for f in frames])
    palette = Image.fromarray(sample, "RGB").quantize(
        colors=255, method=Image.Quantize.MEDIANCUT
    )
    quantized = [
        im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images
    ]
    durations = [frame_ms] * len(quantized)
    durations[-1] = max(frame_ms, last_ms)
    tmp = temp_path(target)
    try:
        quantized[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=quantized[1:],
            duration=durations,
            loop=0,
            disposal=1,
            optimize=False,
        )
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise LatentLabError(f"could not write {shown}: {exc.strerror or exc}") from exc
    return target
