"""What the session holds, as records: a slot (:class:`Side`), the picked
inputs, the ε state and a posterior, with the names of the revision scopes
(:mod:`latentlab.core.session` changes and announces them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.latent import LatentSlice, PosteriorSamples

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.checkpoints import Checkpoint
    from latentlab.core.data import ImageDataset
    from latentlab.core.latent import Codes
    from latentlab.core.models import Autoencoder
    from latentlab.core.timeline import Timeline

SIDES = (0, 1)  # the slots the window opens with: an AE beside a VAE
SIDE_NAMES = ("left", "right")
K_DEFAULT = 64
K_MAX = 256
SCALE_MAX = 8.0


def side_scope(side: int) -> str:
    """The revision scope of everything a slot holds: ``"side0"``, ``"side1"``…"""
    return f"side{side}"


def model_scope(side: int) -> str:
    """The scope of a side's model and data only: unchanged by a save, a new
    slice or a title; for results that depend on the model, not the view."""
    return f"side{side}.model"


def checkpoint_scope(side: int) -> str:
    """The scope of a side's model record: unchanged by a training snapshot's
    new weights (the same run), changed by another model or the run's end."""
    return f"side{side}.checkpoint"


def epoch_scope(side: int) -> str:
    """The scope of the timeline row a side's plane shows."""
    return f"side{side}.epoch"


def slice_scope(side: int) -> str:
    """The scope of the two latent dims a side's plane shows (and the held ones)."""
    return f"side{side}.slice"


def slot_name(slot: int) -> str:
    """``left``, ``right``, then ``slot 3``, ``slot 4``… (for messages)."""
    return SIDE_NAMES[slot] if slot < len(SIDE_NAMES) else f"slot {slot + 1}"


@dataclass(frozen=True, slots=True, eq=False)
class Side:
    """What one side holds. Replaced whole on every change (never mutated).

    ``model`` is the CPU display model the GUI thread decodes with; while
    training it is the latest snapshot (None until the first one arrives).
    ``unsaved`` is True for a model that exists only in memory (trained here
    and not saved since).
    """

    checkpoint: Checkpoint | None = None
    model: Autoencoder | None = None
    dataset: ImageDataset | None = None
    codes: Codes | None = None
    latent_slice: LatentSlice = field(default_factory=LatentSlice)
    training: bool = False
    unsaved: bool = False
    note: str = ""

    @property
    def ready(self) -> bool:
        """True when there is a model and its encoded test set to show."""
        return self.model is not None and self.codes is not None

    @property
    def timeline(self) -> Timeline | None:
        """The model's training timeline, when it can be shown with its data
        (not while training, nor one recorded on another split)."""
        if self.checkpoint is None or self.training:
            return None
        tl = self.checkpoint.timeline
        if tl is None or tl.codes.shape[-1] != self.latent_slice.latent_dim:
            return None
        if self.dataset is not None and tl.indices[-1] >= len(self.dataset.test_images):
            return None  # recorded on another split of the data
        return tl

    @property
    def is_vae(self) -> bool:
        """True for a variational model."""
        return self.checkpoint is not None and self.checkpoint.config.kind == "vae"

    @property
    def kind(self) -> str:
        """``"AE"``, ``"VAE"`` or ``""`` without a model."""
        if self.checkpoint is None:
            return ""
        return self.checkpoint.config.kind.upper()

    @property
    def title(self) -> str:
        """Kind, dataset, latent size, beta and epochs, or a placeholder."""
        if self.checkpoint is None:
            return "No model — open a checkpoint or train one"
        title = self.checkpoint.title()
        if self.training:
            title += " · training…" if self.model is not None else " · starting…"
        elif self.unsaved:
            title += " · unsaved"
        return title


@dataclass(frozen=True, slots=True)
class Selection:
    """The picked test images: ``current`` (B, the ε input) and ``previous`` (A).

    Indices refer to ``dataset.test_images``; ``by_user`` is False for the
    default pair a new dataset starts with.
    """

    dataset: ImageDataset | None = None
    current: int | None = None
    previous: int | None = None
    by_user: bool = False


@dataclass(frozen=True, slots=True)
class EpsState:
    """The ε view's state: noise ``eps`` ``(K, d)``, the user's offset of μ from
    μ(x), per-dim σ scales, and whether ε stays fixed while μ and σ change."""

    eps: npt.NDArray[np.float32]
    offset: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    fixed: bool = True

    @property
    def count(self) -> int:
        """K, the number of samples."""
        return len(self.eps)


@dataclass(frozen=True, slots=True)
class Posterior:
    """The picked input's posterior in the VAE and the current samples."""

    side: int
    index: int
    mu0: npt.NDArray[np.float32]  # the encoder's mu(x)
    sigma0: npt.NDArray[np.float32]  # the encoder's sigma(x)
    samples: PosteriorSamples  # z = (mu0 + offset) + sigma0 * scale * eps


def same_data(a: ImageDataset | None, b: ImageDataset | None) -> bool:
    """True when two datasets are the same split (index i means the same image)."""
    if a is None or b is None:
        return False
    if a is b:
        return True
    return (
        a.name == b.name
        and a.image_shape == b.image_shape  # one set at two sizes or channels
        and len(a.test_images) == len(b.test_images)
        and len(a.train_images) == len(b.train_images)
        and a.source == b.source
    )


def default_pair(dataset: ImageDataset) -> tuple[int, int]:
    """Two test images of different classes (the first, and the first unlike it)."""
    labels = dataset.test_labels.numpy()
    if len(labels) < 2:
        return 0, 0
    other = np.flatnonzero(labels != labels[0])
    return 0, int(other[0]) if len(other) else 1


def describe(dataset: ImageDataset, index: int) -> str:
    """``#12 (7)``: a test image's index and class."""
    label = int(dataset.test_labels[index])
    names = dataset.class_names
    name = names[label] if 0 <= label < len(names) else str(label)
    return f"#{index} ({name})"
