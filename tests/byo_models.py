"""Models written the ways researchers write them, for the "bring your own
model" tests: each convention :func:`latentlab.wrap` must understand. Written
here from the conventions' descriptions (no code copied), small, randomly
initialised (seeded)."""

from __future__ import annotations

import torch
from torch import nn


class ConvVAE64(nn.Module):
    """The PyTorch-VAE ``VanillaVAE`` convention: ``encode(x) -> [mu, log_var]``
    (a list), ``decode(z)`` ending in ``tanh`` (pixels in [-1, 1]), batch norm
    in the convolutions, ``forward`` returning ``[recon, input, mu, log_var]``.
    64x64 RGB."""

    def __init__(self, latent_dim: int = 4, width: int = 8) -> None:
        super().__init__()
        layers, channels = [], 3
        for out in (width, width, 2 * width, 2 * width):  # 64 -> 4
            layers += [
                nn.Conv2d(channels, out, 3, stride=2, padding=1),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(),
            ]
            channels = out
        self.encoder = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(channels * 16, latent_dim)
        self.fc_var = nn.Linear(channels * 16, latent_dim)
        self.decoder_input = nn.Linear(latent_dim, channels * 16)
        ups = []
        for out in (2 * width, width, width):  # 4 -> 32
            ups += [
                nn.ConvTranspose2d(channels, out, 3, 2, padding=1, output_padding=1),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(),
            ]
            channels = out
        self.decoder = nn.Sequential(*ups)
        self.final_layer = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 3, 2, padding=1, output_padding=1),
            nn.LeakyReLU(),
            nn.Conv2d(channels, 3, 3, padding=1),
            nn.Tanh(),
        )
        self.width = width

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = torch.flatten(self.encoder(x), start_dim=1)
        return [self.fc_mu(h), self.fc_var(h)]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_input(z).view(-1, 2 * self.width, 4, 4)
        return self.final_layer(self.decoder(h))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        mu, log_var = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        return [self.decode(z), x, mu, log_var]


class Output(dict):
    """pythae's ``ModelOutput``: a dict whose keys read as attributes."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class PythaeEncoder(nn.Module):
    def __init__(self, pixels: int, latent_dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(pixels, 64), nn.ReLU())
        self.embedding = nn.Linear(64, latent_dim)
        self.log_var = nn.Linear(64, latent_dim)

    def forward(self, x: torch.Tensor) -> Output:
        h = self.layers(x.reshape(len(x), -1))
        return Output(embedding=self.embedding(h), log_covariance=self.log_var(h))


class PythaeDecoder(nn.Module):
    def __init__(self, pixels: int, latent_dim: int, shape) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, pixels), nn.Sigmoid()
        )
        self.shape = tuple(shape)

    def forward(self, z: torch.Tensor) -> Output:
        return Output(reconstruction=self.layers(z).reshape(len(z), *self.shape))


class PythaeShaped(nn.Module):
    """pythae's convention: ``encoder``/``decoder`` submodules returning output
    objects (``embedding``, ``log_covariance``; ``reconstruction``), no
    ``encode`` method."""

    def __init__(self, shape=(1, 16, 16), latent_dim: int = 2) -> None:
        super().__init__()
        pixels = shape[0] * shape[1] * shape[2]
        self.encoder = PythaeEncoder(pixels, latent_dim)
        self.decoder = PythaeDecoder(pixels, latent_dim, shape)


class KerasAE(nn.Module):
    """A Keras-style autoencoder: ``encoder`` and ``decoder`` submodules, the
    encoder returning the code, the decoder a sigmoid image."""

    def __init__(self, shape=(1, 16, 16), latent_dim: int = 2) -> None:
        super().__init__()
        pixels = shape[0] * shape[1] * shape[2]
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(pixels, 64), nn.ReLU(), nn.Linear(64, latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 64),
            nn.ReLU(),
            nn.Linear(64, pixels),
            nn.Sigmoid(),
            nn.Unflatten(1, tuple(shape)),
        )


class ExampleVAE(nn.Module):
    """pytorch/examples' VAE layout (``fc1``, ``fc21``, ``fc22``, ``fc3``,
    ``fc4``), its ``decode`` applying ``torch.sigmoid`` functionally."""

    def __init__(self, side: int = 16, hidden: int = 32, latent_dim: int = 2) -> None:
        super().__init__()
        pixels = side * side
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)
        self.fc22 = nn.Linear(hidden, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, pixels)
        self.pixels = pixels

    def encode(self, x: torch.Tensor):
        h = torch.relu(self.fc1(x.reshape(-1, self.pixels)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z))))


def callables(shape=(1, 16, 16), latent_dim: int = 2, *, squash: bool = True):
    """A pair of plain functions over fixed random weights (an AE)."""
    g = torch.Generator().manual_seed(5)
    pixels = shape[0] * shape[1] * shape[2]
    w_enc = torch.randn(pixels, latent_dim, generator=g) / pixels**0.5
    w_dec = torch.randn(latent_dim, pixels, generator=g)

    def encode(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), -1) @ w_enc

    def decode(z: torch.Tensor) -> torch.Tensor:
        out = z @ w_dec
        return (torch.sigmoid(out) if squash else out).reshape(len(z), *shape)

    return encode, decode


def blobs(n: int = 96, shape=(1, 16, 16), seed: int = 0):
    """``n`` float images in [0, 1] of one bright square each (two classes:
    left or right half), with labels; on 8-bit levels, so they are the
    images LatentLab keeps."""
    g = torch.Generator().manual_seed(seed)
    c, h, w = shape
    images = torch.full((n, c, h, w), 25 / 255)
    labels = torch.randint(0, 2, (n,), generator=g)
    for i in range(n):
        y = int(torch.randint(0, h - 4, (1,), generator=g))
        x0 = int(torch.randint(0, w // 2 - 4, (1,), generator=g))
        x = x0 + (w // 2 if labels[i] else 0)
        images[i, :, y : y + 4, x : x + 4] = 230 / 255
    return images, labels
