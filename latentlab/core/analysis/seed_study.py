"""Claim (1) over several trained pairs, not one: AE/VAE pairs from several
seeds, each measured the same way, every figure a mean with its spread.

One trained pair is one draw: its numbers can favour either model by chance
(the shipped MNIST pair's AE is jumpier on 73 % of 200 paths, its latent
density worse on 54 %). :func:`seed_study` trains an AE and a VAE from each
seed (the same architecture, data, epochs; weights and batch order from the
seed) and measures each pair with figures fixed before any was trained:

- ``path_hole_share_ae`` / ``_vae``: :func:`~latentlab.core.analysis.continuity.
  path_holes`, each model judged against its own codes' Gaussian (%);
- ``ae_worse_jump_ratio``, ``ae_worse_density_ratio``, ``ae_worse_realism``:
  the share of the same random test pairs on which the AE's path is worse
  than the VAE's (:func:`~latentlab.core.analysis.pair_statistics.many_pairs`:
  largest / mean decoded step; the emptiest point's whitened latent-density
  ratio; the least confident decode of a classifier trained on the data), %.

:meth:`SeedStudy.findings` says, per figure, in how many seeds the AE came
out worse, and says so where it did not: the report is whatever the pairs
give. Trained models are cached (``cache_dir``) by data, settings and seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder

FIGURES = (
    "path_hole_share_ae",
    "path_hole_share_vae",
    "ae_worse_jump_ratio",
    "ae_worse_density_ratio",
    "ae_worse_realism",
)
FIGURE_NOTES = {
    "path_hole_share_ae": "% of path points in holes of the AE's own codes",
    "path_hole_share_vae": "% of path points in holes of the VAE's own codes",
    "ae_worse_jump_ratio": "% of pairs where the AE's path jumps more",
    "ae_worse_density_ratio": "% of pairs where the AE's path leaves its codes more",
    "ae_worse_realism": "% of pairs where the AE's least sure decode is less sure",
}


@dataclass(frozen=True, slots=True)
class SeedPair:
    """One seed's pair: its figures (:data:`FIGURES`, in %)."""

    seed: int
    figures: dict[str, float]


@dataclass(frozen=True, slots=True)
class SeedStudy:
    """The figures of every seed's pair, and what they say together."""

    dataset: str
    train_images: int
    test_images: int
    latent_dim: int
    epochs: int
    pairs_per_seed: int
    seeds: list[SeedPair] = field(default_factory=list)

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """Figure ``name`` of each seed, in seed order."""
        return np.array([p.figures[name] for p in self.seeds if name in p.figures])

    def mean_sd(self, name: str) -> tuple[float, float]:
        """Mean and sample standard deviation of ``name`` over the seeds."""
        v = self.values(name)
        if len(v) == 0:
            return float("nan"), float("nan")
        return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0

    def ae_worse_seeds(self, name: str) -> int:
        """Seeds in which the AE came out worse on ``name``: more path holes
        than its VAE, or worse on more than half of the pairs."""
        if name.startswith("path_hole_share"):
            ae, vae = (
                self.values("path_hole_share_ae"),
                self.values("path_hole_share_vae"),
            )
            return int((ae > vae).sum())
        return int((self.values(name) > 50.0).sum())

    def findings(self) -> list[str]:
        """One sentence a measure, from the numbers: how often the AE was
        worse, and where it was not, that it was not."""
        n = len(self.seeds)
        lines = []
        ae_m, ae_s = self.mean_sd("path_hole_share_ae")
        vae_m, vae_s = self.mean_sd("path_hole_share_vae")
        k = self.ae_worse_seeds("path_hole_share")
        lines.append(
            f"Holes on paths, each model against its own codes: AE {ae_m:.1f} ± "
            f"{ae_s:.1f} %, VAE {vae_m:.1f} ± {vae_s:.1f} % (mean ± sd over {n} "
            f"seeds); the AE has more in {k} of {n} seeds"
            + (f", not more in {n - k}." if k < n else ".")
        )
        for name, what in (
            ("ae_worse_jump_ratio", "jumps more (largest / mean decoded step)"),
            ("ae_worse_density_ratio", "leaves its codes more (whitened density)"),
            ("ae_worse_realism", "has a less convincing decode (classifier)"),
        ):
            if len(self.values(name)) == 0:
                continue
            m, s = self.mean_sd(name)
            k = self.ae_worse_seeds(name)
            verdict = (
                f"worse in all {n} seeds"
                if k == n
                else f"worse in {k} of {n} seeds; not worse in {n - k}"
            )
            lines.append(
                f"The AE's path {what} on {m:.0f} ± {s:.0f} % of "
                f"{self.pairs_per_seed} pairs: {verdict}."
            )
        return lines


def default_cache() -> Path:
    """Where trained pairs are kept: ``$XDG_CACHE_HOME/latentlab/seed-pairs``,
    else ``~/.cache/latentlab/seed-pairs``."""
    import os

    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "latentlab" / "seed-pairs"


def _cache_path(
    cache_dir: Path,
    dataset: ImageDataset,
    kind: str,
    d: int,
    epochs: int,
    seed: int,
    hidden: Sequence[int] = (512, 256),
) -> Path:
    digest = dataset.identity()["digest"][:10]
    name = f"{dataset.name}-{len(dataset.train_images)}-{digest}"
    widths = "" if tuple(hidden) == (512, 256) else "-h" + "x".join(map(str, hidden))
    return cache_dir / f"{name}-{kind}-{d}d{widths}-{epochs}e-seed{seed}.pt"


def trained_pair(
    dataset: ImageDataset,
    *,
    seed: int,
    epochs: int,
    latent_dim: int = 2,
    hidden: Sequence[int] = (512, 256),
    cache_dir: str | Path | None = None,
    threads: int | None = None,
) -> Generator[float, None, tuple[Autoencoder, Autoencoder]]:
    """An AE and a VAE trained side by side from ``seed`` (weights and batch
    order), or loaded from ``cache_dir`` when trained before; yields the
    fraction done."""
    from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.training import train
    from latentlab.core.training_setup import new_model

    cache = Path(cache_dir) if cache_dir is not None else None
    paths = (
        {
            kind: _cache_path(cache, dataset, kind, latent_dim, epochs, seed, hidden)
            for kind in ("ae", "vae")
        }
        if cache is not None
        else {}
    )
    if paths and all(p.exists() for p in paths.values()):
        yield 1.0
        return tuple(load_checkpoint(paths[k]).model.eval() for k in ("ae", "vae"))
    cfg = ModelConfig(
        kind="ae",
        latent_dim=latent_dim,
        hidden=tuple(hidden),
        image_shape=dataset.image_shape,
    )
    models = [
        new_model(cfg, seed=seed),
        new_model(dataclasses.replace(cfg, kind="vae"), seed=seed),
    ]
    config = TrainConfig(epochs=epochs, seed=seed, threads=threads, timeline_points=0)
    run = train(models, dataset, config)
    while True:
        try:
            event = next(run)
        except StopIteration as stop:
            result = stop.value
            break
        total = getattr(event, "total_steps", 0)
        if total:
            yield event.step / total
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for model, history in zip(models, result.histories, strict=True):
            save_checkpoint(
                paths[model.config.kind],
                model,
                history=history,
                dataset=dataset.identity(),
            )
    return models[0].eval(), models[1].eval()


def seed_study(
    dataset: ImageDataset,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    epochs: int = 10,
    latent_dim: int = 2,
    hidden: Sequence[int] = (512, 256),
    n_pairs: int = 200,
    cache_dir: str | Path | None = None,
    threads: int | None = None,
) -> Generator[tuple[int, float], None, SeedStudy]:
    """Train (or load) a pair per seed and measure it; yields ``(seed index,
    fraction of that seed done)``; returns the :class:`SeedStudy`.

    >>> from latentlab.core.data import make_shapes
    >>> run = seed_study(make_shapes(), seeds=(0, 1), epochs=1, n_pairs=20)
    >>> study = None
    >>> while study is None:
    ...     try:
    ...         _ = next(run)
    ...     except StopIteration as done:
    ...         study = done.value
    >>> len(study.seeds), len(study.findings())
    (2, 4)
    """
    from latentlab.core.analysis.continuity import path_holes
    from latentlab.core.analysis.pair_statistics import many_pairs
    from latentlab.core.latent import encode_images

    if len(seeds) < 2:
        raise ConfigError("a spread needs at least 2 seeds")
    study = SeedStudy(
        dataset.name,
        len(dataset.train_images),
        len(dataset.test_images),
        latent_dim,
        epochs,
        n_pairs,
    )
    for i, seed in enumerate(seeds):
        ae, vae = yield from _relay(
            trained_pair(
                dataset,
                seed=seed,
                epochs=epochs,
                latent_dim=latent_dim,
                hidden=hidden,
                cache_dir=cache_dir,
                threads=threads,
            ),
            i,
            0.8,
        )
        figures: dict[str, float] = {}
        for kind, model in (("ae", ae), ("vae", vae)):
            codes = encode_images(model, dataset.test_images).mu
            figures[f"path_hole_share_{kind}"] = (
                100 * path_holes(codes, seed=seed).share
            )
        stats = yield from _relay(
            many_pairs([("AE", ae), ("VAE", vae)], dataset, n_pairs=n_pairs, seed=seed),
            i,
            0.2,
            start=0.8,
        )
        for name in stats.figures:
            figures[f"ae_worse_{name}"] = 100 * stats.fraction_worse(name)
        study.seeds.append(SeedPair(int(seed), figures))
        yield i, 1.0
    return study


def _relay(steps, index: int, share: float, start: float = 0.0):
    """Run ``steps`` to its end, yielding ``(index, start + share * done)``."""
    while True:
        try:
            done = next(steps)
        except StopIteration as end:
            return end.value
        fraction = float(getattr(done, "fraction", done))
        yield index, start + share * fraction
