"""The commands' argument parsers (built on demand, torch-free, so ``--help`` is
instant), their one-line usage errors, and the exit statuses."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from latentlab import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl+C


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage stays in --help)."""

    def error(self, message: str) -> NoReturn:
        from latentlab.core.text import printable

        # argparse quotes the value given: a 5,000-digit number stays one short line.
        print(
            f"{self.prog}: error: {printable(message, 300)} (see --help)",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)


def _train_parser() -> argparse.ArgumentParser:
    from latentlab.core.catalog import DATASET_NAMES  # torch-free: --help is instant

    p = _Parser(
        prog="latentlab train",
        description="Train an autoencoder or a VAE headless and save a checkpoint.",
    )
    p.add_argument("--model", choices=("ae", "vae"), default="vae", help="model kind")
    p.add_argument(
        "--dataset",
        default="shapes",
        help=f"one of {', '.join(DATASET_NAMES)}",
    )
    p.add_argument(
        "--data-dir",
        help="dataset root in torchvision layout (<dir>/MNIST/raw/*.gz), "
        "or the image folder for --dataset folder",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download MNIST/Fashion-MNIST/KMNIST if not found",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--beta", type=float, default=1.0, help="KL weight (VAE)")
    p.add_argument(
        "--backbone",
        choices=("mlp", "conv", "conv4"),
        default="mlp",
        help="mlp; conv: two 4x4 stride-2 convolutions (28 px); conv4: the "
        "beta-VAE paper's four (32-32-64-64), for 32-128 px colour",
    )
    p.add_argument(
        "--hidden",
        default="512,256",
        help="MLP hidden widths, comma-separated (conv, conv4: the last is the "
        "dense width)",
    )
    p.add_argument(
        "--image-size",
        type=_image_size,
        help="N or H,W (16-128) for an image folder, CelebA or the colour shapes "
        "(default: 28 for a folder, 64 for the others); a folder's images are "
        "centre-cropped to that aspect ratio, then area-resized",
    )
    p.add_argument(
        "--likelihood",
        choices=("bernoulli", "gaussian", "gaussian-per-pixel", "discretized-gaussian"),
        default="bernoulli",
        help="p(x|z): bernoulli (pixels in [0,1] as targets); gaussian (one learned "
        "sigma) or gaussian-per-pixel; discretized-gaussian (8-bit levels: its "
        "bits/dim compare with the papers')",
    )
    p.add_argument(
        "--kl-warmup",
        type=float,
        default=0.0,
        metavar="EPOCHS",
        help="raise the KL's weight from 0 to beta over these epochs (default 0: "
        "none); the printed -ELBO is always the full one",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        help="1 (grey) or 3 (RGB); default: the set's own (a folder: its files')",
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--threads", type=int, help="torch CPU threads, up to 4 per core (default: all)"
    )
    p.add_argument(
        "--nproc",
        type=_process_count,
        help="train on N processes of this machine (gloo on CPUs, NCCL on N GPUs; "
        "--batch-size is each one's: the global batch is N times it), saving the "
        "run's state after every epoch to resume it. Under torchrun, leave it "
        "out: torchrun starts the processes",
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast for the forward passes, on GPUs that support it "
        "(and CPUs); the test figures stay within 1%% of float32's",
    )
    p.add_argument(
        "--resume",
        metavar="FILE",
        help="continue the run saved in FILE (by --nproc or torchrun) up to "
        "--epochs in all, with the same data, seed, learning rate and global batch",
    )
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return p


def _info_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="latentlab info", description="Print a checkpoint's config and history."
    )
    p.add_argument("file")
    return p


def _encode_parser() -> argparse.ArgumentParser:
    from latentlab.core.catalog import DATASET_NAMES  # torch-free: --help is instant

    p = _Parser(
        prog="latentlab encode",
        description="Encode a checkpoint's test set and write the codes as CSV "
        "(index, label, class, then z per dim; for a VAE mu and sigma per dim).",
    )
    p.add_argument("file", help="checkpoint (.pt, .pth or .safetensors)")
    p.add_argument(
        "--data-dir",
        help="dataset root in torchvision layout (<dir>/MNIST/raw/*.gz), "
        "or the image folder for --dataset folder",
    )
    p.add_argument(
        "--dataset",
        help=f"one of {', '.join(DATASET_NAMES)} (default: the one the file names; "
        "needed for models trained elsewhere)",
    )
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument(
        "--limit", type=int, help="encode only the first N test images (default: all)"
    )
    return p


# No count LatentLab takes is larger: torch's sizes are 64-bit.
MAX_COUNT = 2**63 - 1


# Processes --nproc starts at most (latentlab.core.distributed.MAX_PROCESSES).
MAX_PROCESSES = 64


def _process_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
    if not 1 <= value <= MAX_PROCESSES:
        raise argparse.ArgumentTypeError(
            f"--nproc must be from 1 to {MAX_PROCESSES}, not {value}"
        )
    return value


def _positive(text: str) -> int:
    from latentlab.core.text import describe, format_int

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer, not {describe(text)}"
        ) from None
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"must be from 1 to {MAX_COUNT:,}, not {format_int(value)}"
        )
    return value


def _image_size(text: str) -> int | tuple[int, int]:
    """``"64"`` -> 64, ``"48,64"`` -> (48, 64); range checked by the loader."""
    parts = [t.strip() for t in text.replace("x", ",").split(",")]
    try:
        sides = [int(t) for t in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N or H,W (e.g. 64 or 48,64), not {text!r}"
        ) from None
    if len(sides) == 1:
        return sides[0]
    if len(sides) == 2:
        return (sides[0], sides[1])
    raise argparse.ArgumentTypeError(f"expected N or H,W, not {text!r}")


def _evaluate_parser() -> argparse.ArgumentParser:
    from latentlab.core.catalog import DATASET_NAMES  # torch-free: --help is instant

    p = _Parser(
        prog="latentlab evaluate",
        description="Diagnose a checkpoint on its dataset's test split: -ELBO, "
        "reconstruction at mu and at samples, KL (total and per dim), active units, "
        "the aggregated posterior's holes and KL(q(z)||p(z)), and log p(x) (exact "
        "quadrature for 2-D latents, importance sampling otherwise). One "
        "'name value unit' line each.",
    )
    p.add_argument("file", help="checkpoint to evaluate")
    p.add_argument(
        "--data-dir", help="dataset root (<dir>/MNIST/raw/*.gz) or the image folder"
    )
    p.add_argument(
        "--dataset",
        help=f"one of {', '.join(DATASET_NAMES)} (default: the one the file names; "
        "needed for models trained elsewhere)",
    )
    p.add_argument(
        "--limit", type=_positive, help="use the first N test images (default: all)"
    )
    p.add_argument(
        "--k",
        type=_positive,
        default=1000,
        help="importance samples per image for log p(x) when the latent is not "
        "2-D, or with --method is (default 1000)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "quadrature", "is"),
        default="auto",
        help="log p(x) estimator: auto = quadrature for 2-D latents, else IS",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every sample drawn")
    return p


def _seeds_parser() -> argparse.ArgumentParser:
    from latentlab.core.catalog import DATASET_NAMES  # torch-free: --help is instant

    p = _Parser(
        prog="latentlab seeds",
        description="Claim (1) over several trained pairs: train an AE and a VAE "
        "from each seed (or reuse them from the cache), measure each pair the same "
        "way (holes on paths against each model's own codes; the share of random "
        "test pairs on which the AE's path is worse), and print each figure per "
        "seed and as mean ± sd, then what they say together.",
    )
    p.add_argument(
        "--dataset", default="mnist", help=f"one of {', '.join(DATASET_NAMES)}"
    )
    p.add_argument("--data-dir", help="dataset root (<dir>/MNIST/raw/*.gz)")
    p.add_argument(
        "--seeds", type=_positive, default=5, help="pairs to train (default 5)"
    )
    p.add_argument("--epochs", type=_positive, default=10)
    p.add_argument("--latent-dim", type=_positive, default=2)
    p.add_argument(
        "--pairs", type=_positive, default=200, help="random test pairs per seed"
    )
    p.add_argument(
        "--cache",
        help="folder for the trained pairs (default $XDG_CACHE_HOME/latentlab/"
        "seed-pairs, else ~/.cache/latentlab/seed-pairs)",
    )
    p.add_argument("--threads", type=_positive, help="torch threads (default: all)")
    return p


def _trick_parser() -> argparse.ArgumentParser:
    from latentlab.core.catalog import DATASET_NAMES  # torch-free: --help is instant

    p = _Parser(
        prog="latentlab trick",
        description="Claim (2) in training: train the same VAE from the same start "
        "on the same batches twice, with the reparameterization trick and with the "
        "score-function estimator (baseline log p(x|mu)) for the encoder, the KL "
        "term in closed form in both, and print each run's test -ELBO per epoch.",
    )
    p.add_argument(
        "--dataset", default="mnist", help=f"one of {', '.join(DATASET_NAMES)}"
    )
    p.add_argument("--data-dir", help="dataset root (<dir>/MNIST/raw/*.gz)")
    p.add_argument("--epochs", type=_positive, default=3)
    p.add_argument("--latent-dim", type=_positive, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p


def _app_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="latentlab",
        description="Explore autoencoder and VAE latent spaces side by side. "
        "Subcommands: 'latentlab train --help', 'latentlab info FILE', "
        "'latentlab encode --help', 'latentlab evaluate FILE', "
        "'latentlab seeds --help', 'latentlab trick --help'.",
    )
    p.add_argument(
        "files",
        nargs="*",
        help="up to two checkpoints to open in the left and right panels",
    )
    p.add_argument("--data-dir", help="where MNIST-style datasets live")
    p.add_argument(
        "--install-desktop",
        action="store_true",
        help="add LatentLab to this user's application menu ($XDG_DATA_HOME, "
        "default ~/.local/share: the desktop entry and icons), then exit",
    )
    p.add_argument("--version", action="version", version=f"latentlab {__version__}")
    return p
