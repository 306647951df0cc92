"""Colour training speed: LatentLab's trainer against PyTorch-VAE's VanillaVAE
recipe, the same layers and objective on the same data.

Run ``python -m bench.colour_train [--quick] [--epochs N] [--train N]``.

The model is PyTorch-VAE's ``VanillaVAE`` for 64x64 RGB as its repository
describes it (AntixK/PyTorch-VAE, ``models/vanilla_vae.py``; rebuilt here, not
copied): five 3x3 stride-2 convolutions 32-64-128-256-512, each with
BatchNorm and LeakyReLU; two linear heads for mu and log-variance; a linear
layer, four 3x3 stride-2 transposed convolutions 512-256-128-64-32 with
BatchNorm and LeakyReLU, one more at 32 with BatchNorm and LeakyReLU, a 3x3
convolution to 3 channels and tanh. Its objective: mean-squared error (over
every pixel) plus ``kld_weight`` times the batch mean of the KL; Adam, batch 64,
the learning rate and ``kld_weight`` of its ``configs/vae.yaml`` (0.005,
0.00025).

1. **plain**: that recipe as a plain loop, the way its experiment trains
   (shuffled batches from the in-memory images, ``to_float`` per batch).
2. **latentlab**: the same layers (the same initial weights) in a LatentLab
   VAE, trained by :func:`latentlab.core.training.train`: its likelihood a
   Gaussian with the decoder's output as mean and one fixed sigma, sqrt(D/2),
   so that its reconstruction term is the mean-squared error plus a constant
   and its beta is ``kld_weight`` — the same objective and gradients.

Both see the colour shapes at 64 px, the same batches (one seed), in turns
epoch by epoch, with the same threads; each epoch's test objective (at z = mu,
the layers in eval mode) is printed for both. Figures are ``name value unit``
lines; context lines start with ``#``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import math
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = (32, 64, 128, 256, 512)
LATENT = 128
LR = 0.005
KLD_WEIGHT = 0.00025
BATCH = 64
SIDE = 64


def emit(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.4g} {unit}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def _block(layer: nn.Module, width: int) -> nn.Sequential:
    return nn.Sequential(layer, nn.BatchNorm2d(width), nn.LeakyReLU())


class VanillaRecipe(nn.Module):
    """The VanillaVAE layers (see the module's docstring) for 3x64x64 images."""

    def __init__(self, latent_dim: int = LATENT) -> None:
        super().__init__()
        widths = (3, *HIDDEN)
        self.encoder = nn.Sequential(
            *(
                _block(nn.Conv2d(a, b, 3, stride=2, padding=1), b)
                for a, b in itertools.pairwise(widths)
            )
        )
        bottom = HIDDEN[-1] * 4  # 512 channels at 2x2
        self.fc_mu = nn.Linear(bottom, latent_dim)
        self.fc_var = nn.Linear(bottom, latent_dim)
        self.decoder_input = nn.Linear(latent_dim, bottom)
        up = tuple(reversed(HIDDEN))
        self.decoder = nn.Sequential(
            *(
                _block(
                    nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1),
                    b,
                )
                for a, b in itertools.pairwise(up)
            )
        )
        last = HIDDEN[0]
        self.final_layer = nn.Sequential(
            _block(
                nn.ConvTranspose2d(
                    last, last, 3, stride=2, padding=1, output_padding=1
                ),
                last,
            ),
            nn.Conv2d(last, 3, 3, padding=1),
            nn.Tanh(),
        )

    def encode_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.flatten(self.encoder(x), start_dim=1)
        return self.fc_mu(features), self.fc_var(features)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder_input(z).view(-1, HIDDEN[-1], 2, 2)
        return self.final_layer(self.decoder(out))


def recipe_loss(
    recons: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor
) -> torch.Tensor:
    """Mean-squared error over every pixel + kld_weight x the batch-mean KL."""
    kl = torch.mean(-0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1))
    return F.mse_loss(recons, x) + KLD_WEIGHT * kl


def latentlab_model(recipe: VanillaRecipe):
    """A LatentLab VAE holding ``recipe``'s layers (a copy: the same weights)."""
    from latentlab.core.config import ModelConfig
    from latentlab.core.model_interface import Gaussian
    from latentlab.core.models import VAE, Encoding

    layers = copy.deepcopy(recipe)
    pixels = 3 * SIDE * SIDE

    class RecipeInLatentLab(VAE):
        def __init__(self) -> None:
            super().__init__(
                ModelConfig(
                    kind="vae",
                    backbone="conv4",
                    image_shape=(3, SIDE, SIDE),
                    latent_dim=LATENT,
                    hidden=(16,),
                    beta=KLD_WEIGHT,
                )
            )
            # Drop the conv4 layers the config built; the recipe's take over.
            self.encoder = self.decoder = self.head = nn.Identity()
            self.layers = layers
            # sigma^2 = D / 2: -log p = sum (x - m)^2 / D + const = the MSE + const.
            fixed = torch.tensor([0.5 * math.log(pixels / 2)])
            self._likelihood = Gaussian(fixed, squash=False)

        def encode(self, x: torch.Tensor) -> Encoding:
            return Encoding(*self.layers.encode_parts(x))

        def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
            return self.layers.decode_mean(z)

        def decode(self, z: torch.Tensor) -> torch.Tensor:
            return self.layers.decode_mean(z)

    return RecipeInLatentLab()


@torch.no_grad()
def test_objective(encode, decode, module: nn.Module, images: torch.Tensor) -> float:
    """The recipe's objective on the test images at z = mu, layers in eval mode."""
    from latentlab.core.data import to_float

    was = module.training
    module.eval()
    total = 0.0
    for lo in range(0, len(images), 256):
        x = to_float(images[lo : lo + 256])
        mu, log_var = encode(x)
        total += recipe_loss(decode(mu), x, mu, log_var).item() * len(x)
    module.train(was)
    return total / len(images)


def plain_epoch(
    model: VanillaRecipe, opt: torch.optim.Optimizer, images: torch.Tensor, gen
) -> float:
    """One epoch of the recipe's loop; its training seconds."""
    from latentlab.core.data import to_float

    model.train()
    order = torch.randperm(len(images), generator=gen)
    start = time.perf_counter()
    for lo in range(0, len(images), BATCH):
        x = to_float(images.index_select(0, order[lo : lo + BATCH]))
        mu, log_var = model.encode_parts(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        loss = recipe_loss(model.decode_mean(z), x, mu, log_var)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from latentlab.core.config import TrainConfig
    from latentlab.core.datasets.colour_shapes import make_colour_shapes
    from latentlab.core.training import EpochEnd, train

    parser = argparse.ArgumentParser(prog="python -m bench.colour_train")
    parser.add_argument("--quick", action="store_true", help="1 epoch, 2,048 images")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--train", type=int, help="training images")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1 if args.quick else 3)
    n_train = args.train or (2048 if args.quick else 6144)
    dataset = make_colour_shapes(n_train=n_train, n_test=512, size=SIDE)
    torch.manual_seed(0)
    recipe = VanillaRecipe()
    ours = latentlab_model(recipe)
    note(
        f"colour train bench: VanillaVAE recipe (3x64x64, latent {LATENT}, "
        f"{sum(p.numel() for p in recipe.parameters()):,} parameters), "
        f"{n_train} colour-shapes images, batch {BATCH}, Adam {LR}, kld_weight "
        f"{KLD_WEIGHT}; torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads, {os.cpu_count()} CPUs"
    )
    opt = torch.optim.Adam(recipe.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(0)
    run = train(
        [ours],
        dataset,
        TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, seed=0, timeline_points=0),
    )
    plain_s = ours_s = 0.0
    for epoch in range(1, epochs + 1):
        plain_s += plain_epoch(recipe, opt, dataset.train_images, gen)
        plain_obj = test_objective(
            recipe.encode_parts, recipe.decode_mean, recipe, dataset.test_images
        )
        for event in run:  # LatentLab's trainer, up to the end of this epoch
            if isinstance(event, EpochEnd):
                ours_s += event.metrics[0].seconds
                break
        ours_obj = test_objective(
            ours.layers.encode_parts,
            ours.layers.decode_mean,
            ours.layers,
            dataset.test_images,
        )
        note(
            f"epoch {epoch}: test objective plain {plain_obj:.5f}, latentlab "
            f"{ours_obj:.5f}"
        )
    for _ in run:
        pass
    plain_rate = epochs * n_train / plain_s
    ours_rate = epochs * n_train / ours_s
    emit("vanilla_plain_samples_per_s", plain_rate, "1/s")
    emit("vanilla_latentlab_samples_per_s", ours_rate, "1/s")
    emit("vanilla_latentlab_speedup", ours_rate / plain_rate, "x")
    emit("vanilla_test_objective_plain", plain_obj, "mse+kl")
    emit("vanilla_test_objective_latentlab", ours_obj, "mse+kl")
    note(
        f"LatentLab's trainer {ours_rate / plain_rate:.2f}x the plain loop "
        "(goal >= 1.5x); its seconds exclude the per-epoch test pass, as the "
        "plain loop's do"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
