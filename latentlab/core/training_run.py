"""The app's training run: an AE and a VAE side by side on a training thread."""

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
    from latentlab.core.training_thread import TrainingThread


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """What the Train action asked for: one AE and one VAE on one dataset."""

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


@dataclass(frozen=True, slots=True)
class TrainingStarted:
    """First yield of a training job: the models it trains (owned by the job)."""

    dataset: ImageDataset
    identity: dict[str, Any]  # the dataset's, hashed here rather than on the GUI thread
    models: tuple[Autoencoder, ...]


def training_job(
    spec: TrainSpec,
    cache: DatasetCache,
    trainer: TrainingThread,
    threads: int | None,
) -> Generator[Any, None, TrainResult]:
    """Train an AE and a VAE side by side on ``trainer`` (runs in a job).

    This thread only loads the data and relays the training thread's events;
    ``threads`` is the training thread's torch threads (the cores the window
    leaves, :func:`~latentlab.core.threads.training_threads`; None: torch's
    default).
    """
    from latentlab.core.training import new_model

    dataset = cache.get(spec.dataset, spec.data_dir, download=spec.download)
    common = ModelConfig(
        latent_dim=spec.latent_dim,
        backbone=spec.backbone,  # type: ignore[arg-type]
        image_shape=dataset.image_shape,
        beta=spec.beta,
    )
    models = (
        new_model(replace(common, kind="ae"), seed=spec.seed),
        new_model(replace(common, kind="vae"), seed=spec.seed),
    )
    config = TrainConfig(
        epochs=spec.epochs,
        batch_size=spec.batch_size,
        lr=spec.lr,
        seed=spec.seed,
        threads=threads,
        snapshot_interval_s=0.5,
    )
    yield TrainingStarted(dataset, dataset.identity(), models)
    return (
        yield from trainer.train(
            models,
            dataset,
            config,
            autosave_dir=spec.autosave_dir,
        )
    )
