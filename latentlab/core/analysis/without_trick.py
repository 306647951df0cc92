"""Claim (2) in training: what the reparameterization trick is worth to learning.

Two copies of the same VAE, from the same initial weights, train side by side on
the same batches, each with its own Adam. Both minimise −ELBO with the KL term
in closed form (differentiable in μ and σ in both runs); they differ only in how
the encoder gets the gradient of the reconstruction term E_q[log p(x|z)]:

- **reparameterized**: z = μ + σ ⊙ ε, and autograd carries the decoder's
  gradient back through z to μ, σ and the encoder;
- **score function**: z is drawn with no gradient path (as ``Normal(μ, σ).sample()``
  gives), the decoder still learns from log p(x|z), and the encoder gets
  (log p(x|z) − b) ∇ log q(z|x) with the **baseline b = log p(x|μ)** (the
  decoder's log-likelihood at the mean: it does not depend on the draw, so the
  estimator stays unbiased).

Each epoch ends with both models' test −ELBO by the same estimator (one z per
image, the pixels as Bernoulli targets, not binarized). Nothing is claimed in
advance: the curves say what the trick did on this data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from latentlab.core.data import ImageDataset

RUNS = ("reparameterized", "score function, baseline log p(x|μ)")


@dataclass(frozen=True, slots=True)
class TrickStep:
    """Progress: ``step`` of ``total`` and each run's train −ELBO on the last
    batch (nats per image)."""

    step: int
    total: int
    epoch: int
    train: tuple[float, float]


@dataclass(slots=True)
class TrickCurves:
    """Each run's test −ELBO after every epoch (nats per image), and its train
    −ELBO averaged over every epoch."""

    epochs: list[int] = field(default_factory=list)
    test: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    train: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))

    def summary(self) -> str:
        """The last epoch's figures and their difference, in words."""
        if not self.epochs:
            return "not trained yet"
        rep, score = self.test[0][-1], self.test[1][-1]
        head = (
            f"after {self.epochs[-1]} epoch{'s' * (self.epochs[-1] != 1)}, test −ELBO: "
            f"reparameterized {rep:.1f}, score function {score:.1f} nats per image; "
        )
        if not (np.isfinite(rep) and np.isfinite(score)):
            return head + "a run diverged (not finite), so they cannot be compared"
        if round(rep, 1) == round(score, 1):
            return head + "the two runs are level"
        better = "reparameterized" if rep < score else "score-function"
        return head + f"the {better} run is lower by {abs(score - rep):.1f} nats"


def _batches(n: int, batch: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for lo in range(0, n, batch):
        yield order[lo : lo + batch]


def train_without_trick(
    dataset: ImageDataset,
    *,
    epochs: int = 3,
    latent_dim: int = 2,
    hidden: Sequence[int] = (512, 256),
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    test_images: int = 2000,
    report_every: int = 10,
) -> Generator[TrickStep | TrickCurves, None, TrickCurves]:
    """Train the two runs side by side; yields :class:`TrickStep` every
    ``report_every`` steps and the :class:`TrickCurves` after each epoch;
    returns the curves.

    >>> from latentlab.core.data import make_shapes
    >>> run = train_without_trick(make_shapes(), epochs=1, test_images=200)
    >>> curves = None
    >>> while curves is None:
    ...     try:
    ...         _ = next(run)
    ...     except StopIteration as done:
    ...         curves = done.value
    >>> len(curves.test[0]), len(curves.test[1])
    (1, 1)
    """
    import torch

    from latentlab.core.config import ModelConfig
    from latentlab.core.data import to_float
    from latentlab.core.losses import gaussian_kl, reconstruction_nats
    from latentlab.core.training_setup import new_model

    if not 1 <= int(epochs) <= 1000:
        raise ConfigError(f"epochs must be from 1 to 1000, not {epochs}")
    cfg = ModelConfig(
        kind="vae",
        latent_dim=latent_dim,
        hidden=tuple(hidden),
        image_shape=dataset.image_shape,
    )
    reparam = new_model(cfg, seed=seed)
    score = new_model(dataclasses.replace(cfg), seed=seed)  # the same start
    models = (reparam, score)
    optims = [torch.optim.Adam(m.parameters(), lr=lr) for m in models]
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    x_train = dataset.train_images
    n = len(x_train)
    x_test = to_float(dataset.test_images[:test_images])
    steps_per_epoch = -(-n // batch_size)
    total = steps_per_epoch * epochs
    curves = TrickCurves()
    step = 0
    for epoch in range(1, epochs + 1):
        sums = [0.0, 0.0]
        for idx in _batches(n, batch_size, rng):
            x = to_float(x_train[torch.as_tensor(idx)])
            eps = torch.randn(len(idx), latent_dim, generator=gen)
            losses = []
            for k, (model, opt) in enumerate(zip(models, optims, strict=True)):
                model.train()
                enc = model.encode(x)
                mu, logvar = enc.mu, enc.logvar
                sigma = torch.exp(0.5 * logvar)
                kl = gaussian_kl(mu, logvar)
                if k == 0:  # the path through z = mu + sigma * eps
                    z = mu + sigma * eps
                    recon = reconstruction_nats(model.decode_logits(z), x)
                    loss = (recon + kl).mean()
                else:  # no path through z: the score function for the encoder
                    z = (mu + sigma * eps).detach()
                    recon = reconstruction_nats(model.decode_logits(z), x)
                    with torch.no_grad():
                        baseline = -reconstruction_nats(model.decode_logits(mu), x)
                    log_q = (-0.5 * ((z - mu) / sigma).pow(2) - torch.log(sigma)).sum(1)
                    advantage = (-recon).detach() - baseline
                    surrogate = recon - advantage * log_q
                    loss = (surrogate + kl).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                value = float((recon + kl).mean().detach())
                losses.append(value)
                sums[k] += value * len(idx)
            step += 1
            if step % report_every == 0 or step == total:
                yield TrickStep(step, total, epoch, (losses[0], losses[1]))
        curves.epochs.append(epoch)
        for k, model in enumerate(models):
            curves.train[k].append(sums[k] / n)
            curves.test[k].append(_test_neg_elbo(model, x_test, seed))
        yield curves
    return curves


def _test_neg_elbo(model, x, seed: int) -> float:
    """−ELBO on ``x`` with one z per image (the same draws for both runs)."""
    import torch

    from latentlab.core.losses import gaussian_kl, reconstruction_nats

    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        enc = model.encode(x)
        eps = torch.randn(enc.mu.shape, generator=gen)
        z = enc.mu + torch.exp(0.5 * enc.logvar) * eps
        value = reconstruction_nats(model.decode_logits(z), x) + gaussian_kl(
            enc.mu, enc.logvar
        )
    return float(value.mean())
