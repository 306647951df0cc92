"""Loss terms in nats per image: the reconstruction under the model's
likelihood (Bernoulli unless it says otherwise) and the Gaussian KL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from latentlab.core.model_interface import Likelihood


@dataclass(frozen=True, slots=True)
class LossTerms:
    """Per-image means over a batch, as tensors (call ``.item()`` only to log).

    ``loss = recon + beta * kl`` is what is minimised; ``neg_elbo = recon + kl`` is
    the negative ELBO (an upper bound on -log p(x)), reported whatever beta is.
    """

    recon: torch.Tensor
    kl: torch.Tensor
    loss: torch.Tensor

    @property
    def neg_elbo(self) -> torch.Tensor:
        """``recon + kl``: the negative evidence lower bound, in nats."""
        return self.recon + self.kl


def reconstruction_nats(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over pixels, ``(batch,)``.

    Uses the logits form, which is fused and stable where ``sigmoid`` saturates.
    """
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return bce.flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) summed over latent dims, ``(batch,)``.

    Closed form from Kingma & Welling (2014), appendix B.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dimension KL ``(batch, latent_dim)`` (for active-unit diagnostics)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def recon_nats(
    params: torch.Tensor, x: torch.Tensor, likelihood: Likelihood | None = None
) -> torch.Tensor:
    """``-log p(x | params)`` per image ``(batch,)`` under ``likelihood``
    (None or Bernoulli: :func:`reconstruction_nats`, the fused form)."""
    if likelihood is None or likelihood.name == "bernoulli":
        return reconstruction_nats(params, x)
    return -likelihood.log_prob(params, x)


def loss_terms(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor | None,
    beta: float = 1.0,
    likelihood: Likelihood | None = None,
) -> LossTerms:
    """Batch-mean loss terms; ``logvar`` None (an AE) gives a zero KL.
    ``likelihood`` reads ``logits`` (None: Bernoulli)."""
    import torch

    recon = recon_nats(logits, x, likelihood).mean()
    if logvar is None:
        kl = torch.zeros((), device=recon.device)
        return LossTerms(recon, kl, recon)
    kl = gaussian_kl(mu, logvar).mean()
    return LossTerms(recon, kl, recon + beta * kl)
