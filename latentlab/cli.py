"""Command line: ``latentlab [FILE ...]`` opens the app; ``train``, ``info``,
``encode`` and ``evaluate`` run headless. Errors print one line and exit with
status 2.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from latentlab import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    p.add_argument("--backbone", choices=("mlp", "conv"), default="mlp")
    p.add_argument(
        "--hidden", default="512,256", help="MLP hidden widths, comma-separated"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--threads", type=int, help="torch CPU threads, up to 4 per core (default: all)"
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


def _check_seed(seed: int) -> None:
    """A seed torch takes (TrainConfig's rule), checked before any work."""
    from latentlab.core.config import TrainConfig

    TrainConfig(seed=seed)


def _dataset_key(name: str | None) -> str | None:
    """``--dataset`` as the loaders spell it; an unknown name is refused up front."""
    if name is None:
        return None
    from latentlab.core.catalog import DATASET_NAMES, dataset_key
    from latentlab.core.errors import DataError
    from latentlab.core.text import printable

    key = dataset_key(name)
    if key not in DATASET_NAMES:
        raise DataError(
            f"unknown dataset {printable(name, 40)}; choose one of: "
            f"{', '.join(DATASET_NAMES)}"
        )
    return key


# No count LatentLab takes is larger: torch's sizes are 64-bit.
MAX_COUNT = 2**63 - 1


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


def _app_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="latentlab",
        description="Explore autoencoder and VAE latent spaces side by side. "
        "Subcommands: 'latentlab train --help', 'latentlab info FILE', "
        "'latentlab encode --help', 'latentlab evaluate FILE'.",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``latentlab`` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    from latentlab.core.errors import LatentLabError
    from latentlab.core.text import printable

    try:
        if args[:1] == ["train"]:
            return cmd_train(_train_parser().parse_args(args[1:]))
        if args[:1] == ["info"]:
            return cmd_info(_info_parser().parse_args(args[1:]))
        if args[:1] == ["encode"]:
            return cmd_encode(_encode_parser().parse_args(args[1:]))
        if args[:1] == ["evaluate"]:
            return cmd_evaluate(_evaluate_parser().parse_args(args[1:]))
        opts = _app_parser().parse_args(args)
        if opts.install_desktop:
            return cmd_install_desktop()
        return run_gui(opts.files, opts.data_dir)
    except LatentLabError as exc:
        # printable: a message quoting a file's contents stays one inert line.
        print(f"latentlab: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("latentlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (``latentlab info x.pt | head``): say nothing more, and
        # keep Python from complaining while it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # A file the checks could not foresee (a name too long, a disk gone):
        # one line naming it, never a traceback.
        from latentlab.core.text import printable_path

        where = f"{printable_path(exc.filename)}: " if exc.filename else ""
        print(
            f"latentlab: error: {where}{printable(exc.strerror or str(exc))}",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run_gui(files: Sequence[str], data_dir: str | None) -> int:
    """Start the desktop app."""
    if len(files) > 2:
        print("latentlab: error: give at most two checkpoints", file=sys.stderr)
        return EXIT_USAGE
    if data_dir is not None:
        from latentlab.core.data import check_data_dir

        check_data_dir(data_dir, what="--data-dir")
    try:
        from latentlab.qt.app import run_app
    except ImportError as exc:
        print(
            f"latentlab: error: the desktop app needs PySide6 and pyqtgraph ({exc})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return run_app(list(files), data_dir)


def cmd_install_desktop() -> int:
    """``latentlab --install-desktop``: the desktop entry and icons, for this user."""
    from latentlab.core.resources import install_desktop

    for path in install_desktop():
        print(f"wrote {path}")
    return 0


def cmd_train(opts: argparse.Namespace) -> int:
    """``latentlab train``: every check runs before the first training step."""
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import dataset_files
    from latentlab.core.errors import CheckpointError, ConfigError
    from latentlab.core.files import check_not_an_input, check_output_file
    from latentlab.core.text import printable, printable_middle, printable_path

    # Torch-free checks first: a bad option costs no torch import.
    shown = printable_path(opts.out)
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    try:
        hidden = tuple(int(h) for h in opts.hidden.split(",") if h.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--hidden must be integers like 512,256, not {printable(opts.hidden, 40)}"
        ) from exc
    train_cfg = TrainConfig(
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        lr=opts.lr,
        seed=opts.seed,
        device=opts.device,
        threads=opts.threads,
    )
    settings = {
        "kind": opts.model,
        "backbone": opts.backbone,
        "latent_dim": opts.latent_dim,
        "hidden": hidden,
        "beta": opts.beta,
    }
    ModelConfig(**settings)  # all but the image shape, which the data decides
    # An input is refused as such, before "exists; pass --force" could advise.
    check_not_an_input(opts.out, dataset_files(opts.dataset, opts.data_dir))
    if os.path.isfile(opts.out) and not opts.force:
        raise CheckpointError(f"{shown} already exists; pass --force to overwrite it")
    out = check_output_file(opts.out, overwrite=opts.force)

    from latentlab.core.checkpoints import metrics_summary, save_checkpoint
    from latentlab.core.data import load_dataset
    from latentlab.core.training import check_training_memory, new_model, pick_device

    pick_device(train_cfg.device)
    dataset = load_dataset(opts.dataset, opts.data_dir, download=opts.download)
    model_cfg = ModelConfig(**settings, image_shape=dataset.image_shape)
    check_training_memory([model_cfg], train_cfg.batch_size)
    if dataset.skipped:
        n = len(dataset.skipped)
        print(
            f"skipped {n} file{'s' if n > 1 else ''}"
            f"{', e.g.' if n > 1 else ':'} "
            f"{printable_middle(dataset.skipped[0], 200, keep_end=150)}"
        )
    print(
        f"training {model_cfg.kind.upper()} ({model_cfg.backbone}, latent "
        f"{model_cfg.latent_dim}, β={model_cfg.beta:g}) on "
        f"{printable(dataset.name, 80)}: {len(dataset.train_images)} train / "
        f"{len(dataset.test_images)} test images"
    )
    model = new_model(model_cfg, seed=opts.seed)
    start = time.perf_counter()
    try:
        result = _run_training(model, dataset, train_cfg)
    except KeyboardInterrupt:
        _end_progress_line()
        print(f"latentlab: interrupted; nothing was saved to {shown}", file=sys.stderr)
        return EXIT_INTERRUPTED
    history = result.histories[0]
    try:
        save_checkpoint(
            out,
            model,
            history=history,
            dataset=dataset.identity(),
            metrics=metrics_summary(history),
            overwrite=opts.force,
            timeline=result.timelines[0] if result.timelines else None,
        )
    except KeyboardInterrupt:
        print(
            f"latentlab: interrupted while saving; {shown} was left as it was",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    last = history[-1]
    print(
        f"done in {time.perf_counter() - start:.1f}s on {result.device}: test "
        f"-ELBO {last.test_neg_elbo:.2f} nats (recon {last.test_recon:.2f}, KL "
        f"{last.test_kl:.2f}); saved {shown}"
    )
    return 0


def _end_progress_line() -> None:
    if sys.stdout.isatty():
        sys.stdout.write("\n")
        sys.stdout.flush()


def _run_training(model: Any, dataset: Any, train_cfg: Any) -> Any:
    """Iterate :func:`train`, printing progress; returns its TrainResult."""
    from latentlab.core.training import EpochEnd, TrainProgress, train

    tty = sys.stdout.isatty()
    run = train(model, dataset, train_cfg)
    while True:
        try:
            event = next(run)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, TrainProgress) and tty:
            width = 30
            filled = int(width * event.fraction)
            eta = "" if event.eta_s == float("inf") else f" ETA {event.eta_s:4.0f}s"
            sys.stdout.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] epoch "
                f"{event.epoch}/{event.epochs} loss {event.loss[0]:7.2f} "
                f"{event.samples_per_s:7.0f} img/s{eta} "
            )
            sys.stdout.flush()
        elif isinstance(event, EpochEnd):
            m = event.metrics[0]
            if tty:
                sys.stdout.write("\r" + " " * 90 + "\r")
            print(
                f"epoch {m.epoch:3d}  train {m.train_loss:8.2f}  test recon "
                f"{m.test_recon:8.2f}  KL {m.test_kl:6.2f}  -ELBO "
                f"{m.test_neg_elbo:8.2f} nats  {m.seconds:5.1f}s "
                f"({m.samples_per_s:,.0f} img/s)"
            )


def cmd_info(opts: argparse.Namespace) -> int:
    """``latentlab info FILE``. Every string from the file is printed escaped."""
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.text import printable, printable_path

    ckpt = load_checkpoint(opts.file)
    cfg = ckpt.config
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    print(f"{printable_path(ckpt.path)}: {ckpt.title()}")
    print(
        f"  model     {cfg.kind} · backbone {cfg.backbone} · latent {cfg.latent_dim} · "
        f"hidden {','.join(map(str, cfg.hidden))} · β {cfg.beta:g} · "
        f"image {'x'.join(map(str, cfg.image_shape))} · {n_params:,} parameters"
    )
    ds = ckpt.dataset
    if ds:
        print(f"  dataset   {_dataset_line(ds)}")
    if ckpt.created:
        print(f"  created   {printable(ckpt.created, 100)}")
    if ckpt.history:
        print("  epoch   train   test recon   test KL   test -ELBO   seconds")
        for m in ckpt.history:
            print(
                f"  {m.epoch:5d} {m.train_loss:7.2f} {m.test_recon:12.2f} "
                f"{m.test_kl:9.2f} {m.test_neg_elbo:12.2f} {m.seconds:9.1f}"
            )
    else:
        print("  history   (none)")
    return 0


def _dataset_line(record: dict[str, Any]) -> str:
    """A checkpoint's dataset record in words: what it holds, nothing of what
    it lacks (``mnist (60000 train / 10000 test, digest …)``)."""
    from latentlab.core.text import printable

    def known(key: str) -> Any:
        value = record.get(key)
        return None if value is None or value == "" else value

    def count(key: str, what: str) -> str | None:
        value = known(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value} {what}"
        return None if value is None else f"{printable(str(value), 40)} {what}"

    sizes = [c for c in (count("n_train", "train"), count("n_test", "test")) if c]
    parts = [" / ".join(sizes)] if sizes else []
    if known("digest") is not None:
        parts.append(f"digest {printable(str(record['digest']), 40)}")
    name = known("name")
    text = printable(str(name), 80) if name is not None else "(unnamed)"
    return f"{text} ({', '.join(parts)})" if parts else text


def cmd_encode(opts: argparse.Namespace) -> int:
    """``latentlab encode FILE --out codes.csv``: every check before the work."""
    from latentlab.core.errors import ConfigError, ExportError
    from latentlab.core.files import check_not_an_input, check_output_file
    from latentlab.core.text import format_int, printable, printable_path

    shown = printable_path(opts.out)
    if opts.limit is not None and opts.limit < 1:
        raise ConfigError(f"--limit must be at least 1, not {format_int(opts.limit)}")
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    _check_input(opts.file)
    check_not_an_input(opts.out, [opts.file], error=ExportError)
    if os.path.isfile(opts.out) and not opts.force:
        raise ExportError(f"{shown} already exists; pass --force to overwrite it")
    out = check_output_file(opts.out, overwrite=opts.force)

    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.codes_csv import write_codes_csv
    from latentlab.core.latent import encode_images

    ckpt = load_checkpoint(opts.file)
    dataset = _checkpoint_dataset(ckpt, opts, out=out)
    n = len(dataset.test_images)
    if opts.limit is not None:
        n = min(n, opts.limit)
    codes = encode_images(ckpt.model, dataset.test_images[:n])
    write_codes_csv(
        out,
        codes,
        dataset.test_labels[:n].numpy(),
        dataset.class_names,
        overwrite=opts.force,
    )
    kind = "mu and sigma" if codes.sigma is not None else "z"
    print(
        f"wrote {n:,} codes ({kind}, {ckpt.config.latent_dim} dims) of the "
        f"{printable(dataset.name, 80)} test set to {shown}"
    )
    return 0


def _check_data_dir(opts: argparse.Namespace) -> None:
    """``--data-dir`` that is a file is refused before any work, by name."""
    if opts.data_dir is not None:
        from latentlab.core.data import check_data_dir

        check_data_dir(opts.data_dir, what="--data-dir")


def _check_input(path: str) -> None:
    from latentlab.core.errors import DataError
    from latentlab.core.text import printable_path

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{printable_path(path)} does not exist") from None
    except (OSError, ValueError) as exc:  # a name too long, a loop, a NUL
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise DataError(f"cannot read {printable_path(path)}: {reason}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{printable_path(path)} is a folder; give a checkpoint file")


def _checkpoint_dataset(ckpt: Any, opts: argparse.Namespace, *, out: Any = None) -> Any:
    """The test set ``ckpt`` was trained on: ``--dataset`` when given, else the
    one the file names, read from ``--data-dir``. With ``out``, refuses (before
    reading the data) when that file is one of the dataset's files."""

    from latentlab.core.data import (
        checkpoint_dataset_source,
        dataset_files,
        load_dataset,
        same_folder,
    )
    from latentlab.core.errors import DataError, ExportError
    from latentlab.core.files import check_not_an_input
    from latentlab.core.text import printable, printable_path

    if opts.dataset is not None:
        name, root = opts.dataset, opts.data_dir
    elif ckpt.needs_dataset:
        raise DataError(
            f"{printable_path(opts.file)} ({printable(ckpt.origin, 80)}) does not say "
            "which dataset it was trained on; pass --dataset (e.g. --dataset mnist)"
        )
    else:
        source = ckpt.dataset.get("source")
        named = str(ckpt.dataset.get("name", ""))
        if named.startswith("folder:") and isinstance(source, str) and source:
            if not (opts.data_dir and same_folder(source, opts.data_dir)):
                # A file's folder is read only when the user names it.
                raise DataError(
                    f"{printable_path(opts.file)} was trained on the image folder "
                    f"{printable_path(source)}; pass --data-dir with that folder "
                    "to read its images"
                )
        try:
            name, root = checkpoint_dataset_source(
                ckpt.dataset, opts.data_dir, allow_folder_scan=True
            )
        except DataError as exc:
            raise DataError(f"{exc}; pass --dataset (and --data-dir)") from exc
    if out is not None:
        check_not_an_input(out, dataset_files(name, root), error=ExportError)
    dataset = load_dataset(name, root)
    if dataset.image_shape != tuple(ckpt.config.image_shape):
        raise DataError(
            f"{printable(dataset.name, 80)} images are "
            f"{'x'.join(map(str, dataset.image_shape[1:]))}, the model reads "
            f"{'x'.join(map(str, ckpt.config.image_shape[1:]))}"
        )
    return dataset


def _line(name: str, value: float | int | str, unit: str, note: str = "") -> None:
    text = value if isinstance(value, str) else f"{value:.3f}"
    if isinstance(value, int):
        text = str(value)
    print(f"{name} {text} {unit}" + (f"  ({note})" if note else ""))


def _progress(fraction: float, what: str) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * min(max(fraction, 0.0), 1.0))
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f}% {what} "
    )
    sys.stderr.flush()


# Importance sampling longer than this is refused before it starts.
MAX_EVALUATE_S = 7 * 24 * 3600.0


def _check_importance_cost(model: Any, images: Any, k: int) -> None:
    """Refuse a K that cannot finish, saying how long it would take here.

    Memory stays bounded whatever K is (the samples are drawn in chunks);
    time does not."""
    from latentlab.core.analysis.likelihood import importance_points_per_second
    from latentlab.core.errors import ConfigError
    from latentlab.core.text import format_int

    n = len(images)
    passes = n * k
    rate = importance_points_per_second(model, images[:1])
    seconds = passes / rate
    if seconds > MAX_EVALUATE_S:
        raise ConfigError(
            f"--k {format_int(k)} on {n:,} test images means {passes:.3g} decoder "
            f"passes: about {_duration(seconds)} on this machine (it computes "
            f"{rate:,.0f} samples/s). Lower --k (default 1000) or --limit"
        )


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:,.3g} {unit}"
    return f"{seconds / 60:.0f} minutes"


def cmd_evaluate(opts: argparse.Namespace) -> int:
    """``latentlab evaluate FILE``: the diagnostics and log p(x) on the test split."""
    from latentlab.core.analysis.diagnostics import aggregate_posterior, unit_stats
    from latentlab.core.analysis.likelihood import LIKELIHOOD_NOTE, likelihood_report
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.errors import ConfigError
    from latentlab.core.latent import encode_images
    from latentlab.core.text import printable, printable_path

    start = time.perf_counter()
    _check_seed(opts.seed)
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    _check_input(opts.file)
    ckpt = load_checkpoint(opts.file)
    model = ckpt.model.eval()
    cfg = ckpt.config
    if opts.method == "quadrature" and cfg.latent_dim != 2:
        raise ConfigError(
            f"--method quadrature needs a 2-D latent; this one has {cfg.latent_dim} "
            "dims (use --method is)"
        )
    if cfg.kind != "vae" and opts.method != "auto":
        raise ConfigError("--method applies to a VAE; an AE has no log p(x)")
    dataset = _checkpoint_dataset(ckpt, opts)
    images = dataset.test_images[: opts.limit] if opts.limit else dataset.test_images
    n = len(images)
    if cfg.kind == "vae" and (opts.method == "is" or cfg.latent_dim != 2):
        _check_importance_cost(model, images, opts.k)
    data = f"{printable(dataset.name, 40)} test split, {n:,} images"
    print(f"# {printable_path(ckpt.path)}: {ckpt.title()}; {data}")
    print(f"# likelihood: {LIKELIHOOD_NOTE}")
    _line("test_images", n, "images")
    codes = encode_images(model, images)
    units = unit_stats(codes)
    vae = cfg.kind == "vae"
    report = None
    if vae:
        run = likelihood_report(
            model, images, k=opts.k, seed=opts.seed, method=opts.method
        )
        while True:
            try:
                _progress(next(run), "log p(x)")
            except StopIteration as stop:
                report = stop.value
                break
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 50 + "\r")
        b = report.bound
        _line(
            "neg_elbo",
            b.neg_elbo,
            "nats",
            f"recon at samples + KL, {b.samples} z ~ q(z|x) per image",
        )
        _line("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu")
        _line(
            "recon_samples",
            b.recon_samples,
            "nats",
            f"-log p(x|z) averaged over {b.samples} z ~ q(z|x) per image",
        )
        _line("kl", b.kl, "nats", "KL(q(z|x) || N(0, I)), closed form")
        for d, v in enumerate(units.kl_per_dim):
            _line(f"kl_dim{d + 1}", float(v), "nats", "mean over the test images")
    else:
        from latentlab.core.analysis.likelihood import bound_terms

        b = bound_terms(model, images)
        _line("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu(x), the code")
        for d, v in enumerate(units.mu_variance):
            _line(
                f"code_var_dim{d + 1}",
                float(v),
                "units²",
                "variance over the test images",
            )
    what = "Var_x(E_q[z_d])" if vae else "Var_x(z_d)"
    _line(
        "active_units",
        units.active_count,
        f"of {units.latent_dim}",
        f"{what} > {units.threshold:g}, Burda et al. 2016",
    )
    if cfg.latent_dim == 2:
        agg = aggregate_posterior(codes)
        _line(
            "hole_share",
            100 * agg.hole_share,
            "%",
            "of the prior's 3-sigma-disc mass where q(z) < 0.1 p(z)",
        )
        _line(
            "kl_aggregate",
            agg.kl,
            "nats",
            f"KL(q(z) || p(z)), midpoint rule on a {2 * agg.n}x{2 * agg.n} grid; "
            + agg.method,
        )
    if report is not None:
        _line("log_px", report.log_px, "nats", report.method)
        if report.median_ess is not None:
            _line("median_ess", report.median_ess, "samples", f"of K = {report.k}")
        _line("gap", report.gap, "nats", "log p(x) - ELBO = mean KL(q(z|x) || p(z|x))")
        if report.warning:
            print(f"latentlab: warning: {report.warning}", file=sys.stderr)
    _line("seconds", time.perf_counter() - start, "s")
    return 0
