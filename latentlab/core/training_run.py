"""The one training path: models of the asked kinds, side by side, on one
dataset; the window, the command line and scripts all run :func:`training_job`
(through a workspace's job runner)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from latentlab.core.config import ModelConfig, TrainConfig

if TYPE_CHECKING:
    from collections.abc import Generator

    from latentlab.core.analysis.planes import DatasetCache
    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder
    from latentlab.core.training import TrainResult
    from latentlab.core.training_thread import TrainingControl


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """What a training run trains: one model per entry of ``kinds`` (by
    default an AE and a VAE), all on one dataset with one configuration.

    Example
    -------
    >>> TrainSpec(dataset="shapes", epochs=1).kinds
    ('ae', 'vae')
    """

    dataset: str = "shapes"
    data_dir: str | None = None
    latent_dim: int = 2
    beta: float = 1.0
    backbone: str = "mlp"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    autosave_dir: str | None = None
    download: bool = False
    kinds: tuple[str, ...] = ("ae", "vae")
    hidden: tuple[int, ...] | None = None  # None: ModelConfig's default
    device: str = "auto"
    threads: int | None = None  # torch threads; None: the runner decides
    snapshot_interval_s: float = 0.5
    # The images' size and channels where the set can change them (image
    # folders, CelebA, the colour shapes); None: the set's own.
    image_size: int | tuple[int, int] | None = None
    channels: int | None = None
    likelihood: str = "bernoulli"  # one of config.LIKELIHOODS
    kl_warmup_epochs: float = 0.0  # the KL's weight rises from 0 over these
    bf16: bool = False  # bfloat16 autocast (latentlab train --bf16)

    def model_configs(self, image_shape: tuple[int, int, int]) -> list[ModelConfig]:
        """One validated :class:`ModelConfig` per kind, for ``image_shape`` images."""
        extra = {} if self.hidden is None else {"hidden": tuple(self.hidden)}
        common = ModelConfig(
            latent_dim=self.latent_dim,
            backbone=self.backbone,  # type: ignore[arg-type]
            image_shape=image_shape,
            beta=self.beta,
            likelihood=self.likelihood,
            **extra,
        )
        return [replace(common, kind=kind) for kind in self.kinds]  # type: ignore[arg-type]

    def train_config(self, threads: int | None = None) -> TrainConfig:
        """The :class:`TrainConfig` of this run (``threads``: torch threads
        when :attr:`threads` does not say)."""
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            device=self.device,
            threads=self.threads if self.threads is not None else threads,
            snapshot_interval_s=self.snapshot_interval_s,
            kl_warmup_epochs=self.kl_warmup_epochs,
            bf16=self.bf16,
        )


@dataclass(frozen=True, slots=True)
class TrainingStarted:
    """First yield of a training job: the models it trains (owned by the job)."""

    dataset: ImageDataset
    identity: dict[str, Any]  # the dataset's, hashed here rather than on the GUI thread
    models: tuple[Autoencoder, ...]


def training_job(
    spec: TrainSpec,
    cache: DatasetCache,
    control: TrainingControl,
    threads: int | None = None,
) -> Generator[Any, None, TrainResult]:
    """Train one model per ``spec.kinds`` side by side under ``control``.

    A :class:`~latentlab.core.training_thread.TrainingThread` trains on a
    thread of its own (the window: this job only loads the data and relays its
    events); a plain :class:`~latentlab.core.training_thread.TrainingControl`
    trains on the caller's thread (scripts, the command line, tests).
    ``threads`` is the torch threads of the run (None: torch's default).
    """
    from latentlab.core.training import check_training_memory, new_model

    dataset = cache.get(
        spec.dataset,
        spec.data_dir,
        download=spec.download,
        image_size=spec.image_size,
        channels=spec.channels,
    )
    configs = spec.model_configs(dataset.image_shape)
    config = spec.train_config(threads)
    check_training_memory(configs, config.batch_size)
    models = tuple(new_model(c, seed=spec.seed) for c in configs)
    yield TrainingStarted(dataset, dataset.identity(), models)
    return (
        yield from control.train(
            models,
            dataset,
            config,
            autosave_dir=spec.autosave_dir,
        )
    )
