"""Training speed: LatentLab's trainer against the PyTorch VAE example's recipe.

Run ``python -m bench.train_speed [--quick] [--epochs N] [--dataset NAME]``. In one
process, with the same thread count:

1. a ``torch.mm`` microbenchmark (1024x1024 float32) for the machine's GFLOP/s;
2. the reference loop, which follows pytorch/examples ``vae/main.py``: MLP
   784-400-20, sigmoid output, summed ``F.binary_cross_entropy`` + KL, Adam 1e-3,
   batch 128, torchvision dataset with ``ToTensor()`` through a shuffled DataLoader
   (``num_workers=0``); test loss per image after every epoch;
3. :func:`latentlab.core.training.train` on the same model and data, at the
   reference's settings (``ll``) and at a tuned learning rate (``ll_tuned``),
   taking turns with the reference epoch by epoch;
4. a thread sweep of LatentLab's trainer (not with ``--quick``);
5. LatentLab's default 2-D VAE and AE after 10 epochs (2 with ``--quick``) on
   Fashion-MNIST and the MNIST subset (``--skip-2d`` leaves it out).

Every figure is printed as one ``name value unit`` line; context lines start
with ``#``. ``main(argv)`` is what an overall runner calls. bench/README.md says
what each figure means and lists the latest ones.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from latentlab.core.data import ImageDataset

REPO = Path(__file__).resolve().parents[1]
TV_FOLDERS = {"fashion-mnist": "FashionMNIST", "mnist": "MNIST"}
IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
REF_BATCH = 128
REF_LR = 1e-3
PIXELS = 784


# --- output -------------------------------------------------------------------------


def emit(name: str, value: float | int, unit: str) -> None:
    """Print one machine-readable figure: ``name value unit``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            text = "nan"
        elif abs(value) >= 100:
            text = f"{value:.1f}"
        elif abs(value) >= 1:
            text = f"{value:.3f}"
        else:
            text = f"{value:.4f}"
    else:
        text = str(value)
    print(f"{name} {text} {unit}", flush=True)


def note(text: str) -> None:
    """Print a human context line."""
    print(f"# {text}", flush=True)


def _busy_seconds() -> float | None:
    """CPU seconds all processes on the machine have used (Linux), or None."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """Share of the machine's cores that other processes used while it ran.

    Timings are only comparable on an idle machine; this makes a busy one
    visible. Call :meth:`start` and :meth:`stop` around each timed section.
    """

    def __init__(self) -> None:
        self.wall = self.other = 0.0
        self._mark: tuple[float, float | None, float] | None = None

    def start(self) -> OtherLoad:
        """Begin a section."""
        self._mark = (time.perf_counter(), _busy_seconds(), time.process_time())
        return self

    def stop(self) -> None:
        """End a section and add it to the totals."""
        assert self._mark is not None
        wall0, busy0, own0 = self._mark
        busy = _busy_seconds()
        self.wall += time.perf_counter() - wall0
        if busy is None or busy0 is None:
            self.other = math.nan
        else:
            own = time.process_time() - own0
            self.other += max((busy - busy0) - own, 0.0)
        self._mark = None

    def share(self) -> float:
        """Mean fraction of all cores busy with other processes in the sections."""
        if self._mark is not None:
            self.stop()
        return self.other / max(self.wall * (os.cpu_count() or 1), 1e-9)


# --- data ---------------------------------------------------------------------------


def default_data_dir() -> Path:
    """``$LATENTLAB_TEST_DATA``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("LATENTLAB_TEST_DATA") or os.environ.get("LATENTLAB_DATA")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    from latentlab.core.data import default_data_dir as core_default

    return core_default()


def extracted_root(key: str, data_dir: Path, cache_dir: Path) -> Path:
    """Gunzip the IDX files into ``cache_dir`` for torchvision; return its root.

    torchvision's dataset classes read the extracted files only (with
    ``download=False`` it never touches the ``.gz``), and ``data_dir`` may be
    read-only, so the bench keeps its own copy.
    """
    folder = TV_FOLDERS[key]
    src = data_dir / folder / "raw"
    dst = cache_dir / folder / "raw"
    dst.mkdir(parents=True, exist_ok=True)
    for stem in IDX_STEMS:
        gz, out = src / (stem + ".gz"), dst / stem
        if not gz.is_file():
            if (src / stem).is_file():
                gz = src / stem
            else:
                raise SystemExit(f"{gz} not found (use --data-dir)")
        if out.is_file() and out.stat().st_mtime >= gz.stat().st_mtime:
            continue
        tmp = out.with_suffix(".tmp")
        opener = gzip.open if gz.suffix == ".gz" else open
        with opener(gz, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(tmp, out)
    return cache_dir


# --- the reference: pytorch/examples vae/main.py ------------------------------------


class RefVAE(nn.Module):
    """The example's model, layer for layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def ref_loss(
    recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """Summed BCE + KL, as in the example (Kingma & Welling 2014, appendix B)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


@dataclass(frozen=True, slots=True)
class EpochFigures:
    """One epoch of one trainer: training seconds (no test pass) and losses."""

    seconds: float
    samples: int
    test_loss: float


def reference_epochs(
    key: str, epochs: int, data_dir: Path, cache_dir: Path, seed: int
) -> Iterator[EpochFigures]:
    """Train the example's VAE, yielding after each epoch and its test pass."""
    from torchvision import datasets, transforms

    cls = getattr(datasets, TV_FOLDERS[key])
    root = str(extracted_root(key, data_dir, cache_dir))
    tf = transforms.ToTensor()
    train_set = cls(root, train=True, download=False, transform=tf)
    test_set = cls(root, train=False, download=False, transform=tf)
    torch.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        train_set, batch_size=REF_BATCH, shuffle=True, num_workers=0
    )
    test_loader = torch.utils.data.DataLoader(
        test_set, batch_size=REF_BATCH, shuffle=False, num_workers=0
    )
    model = RefVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=REF_LR)
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _labels in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = ref_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds = time.perf_counter() - start
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _labels in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += ref_loss(recon_batch, data, mu, logvar).item()
        yield EpochFigures(seconds, len(train_set), test_loss / len(test_set))


# --- LatentLab ----------------------------------------------------------------------


def latentlab_epochs(
    dataset: ImageDataset,
    epochs: int,
    *,
    batch_size: int,
    lr: float,
    seed: int,
    threads: int,
) -> Iterator[EpochFigures]:
    """Train LatentLab's VAE 784-400-20 through :func:`train`, epoch by epoch.

    ``train`` times each epoch from its own start, so pausing the generator
    between epochs (to run another trainer's epoch) leaves the figures alone.
    """
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.training import EpochEnd, new_model, train

    model = new_model(ModelConfig(kind="vae", hidden=(400,), latent_dim=20), seed)
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device="cpu",
        threads=threads,
    )
    for event in train(model, dataset, config):
        if isinstance(event, EpochEnd):
            m = event.metrics[0]
            yield EpochFigures(m.seconds, len(dataset.train_images), m.test_neg_elbo)


# --- figures ------------------------------------------------------------------------


def mm_gflops(n: int = 1024, min_seconds: float = 1.0) -> float:
    """Best-of-runs float32 ``torch.mm`` throughput at the current thread count."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    best = math.inf
    deadline = time.perf_counter() + min_seconds
    while time.perf_counter() < deadline:
        reps = 5
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=c)
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2.0 * n**3 / best / 1e9


def onednn_mm_gflops(n: int = 1024) -> float:
    """``torch.mm`` throughput through oneDNN's f32 kernel, or NaN if unreachable.

    torch sends float32 ``mm`` to MKL, which runs its AVX2 code on AMD CPUs.
    ``fp32_precision = "bf16"`` routes it to oneDNN instead; where oneDNN would
    really round to bf16 (AMX machines) the probe below sees it and we report NaN.
    """
    flags = getattr(torch.backends.mkldnn, "matmul", None)
    if flags is None or not hasattr(flags, "fp32_precision"):
        return math.nan
    old = flags.fp32_precision
    try:
        flags.fp32_precision = "bf16"
        a = torch.full((n, n), 1.0 + 2.0**-10)
        b = torch.zeros(n, n)
        b[0] = 1.0
        if torch.mm(a, b)[0, 0].item() != 1.0 + 2.0**-10:
            return math.nan
        return mm_gflops(n)
    finally:
        flags.fp32_precision = old


def train_flops_per_sample(widths: Sequence[tuple[int, int]]) -> float:
    """3x the forward matmul FLOPs (forward + two backward matmuls) per sample."""
    return 3.0 * sum(2.0 * n_in * n_out for n_in, n_out in widths)


# 784-400-(20+20)-400-784; fc21 and fc22 are LatentLab's one 400->40 head.
VAE_400_20 = ((784, 400), (400, 40), (20, 400), (400, 784))


def time_to_loss(figs: Sequence[EpochFigures], target: float) -> float:
    """Cumulative training seconds until the first epoch with test loss <= target."""
    total = 0.0
    for f in figs:
        total += f.seconds
        if f.test_loss <= target:
            return total
    return math.nan


def report_run(prefix: str, figs: Sequence[EpochFigures]) -> float:
    """Emit one trainer's figures; return its samples/s."""
    seconds = sum(f.seconds for f in figs)
    rate = report_rate(figs)
    emit(f"{prefix}_samples_per_s", rate, "samples/s")
    emit(f"{prefix}_s_per_epoch", seconds / len(figs), "s")
    for i, f in enumerate(figs, 1):
        emit(f"{prefix}_test_loss_epoch{i}", f.test_loss, "nats")
    return rate


def compare(args: argparse.Namespace) -> dict[str, float]:
    """Reference loop and LatentLab's trainer, same model, data and epochs.

    The trainers take turns epoch by epoch (reference, LatentLab, tuned
    LatentLab, then the next epoch), so a neighbour's load on a shared machine
    falls on all of them alike. Each keeps its own RNG streams, so its figures
    are the same as when run alone. Returns each trainer's samples/s.
    """
    from latentlab.core.data import load_dataset

    note(
        f"reference vs LatentLab: VAE 784-400-20 on {args.dataset}, "
        f"{args.epochs} epochs, {torch.get_num_threads()} threads; seconds are "
        "training time, test passes excluded; trainers take turns by epoch"
    )
    dataset = load_dataset(args.dataset, args.data_dir)
    runners: dict[str, Iterator[EpochFigures]] = {
        "ref": reference_epochs(
            args.dataset, args.epochs, args.data_dir, args.cache_dir, args.seed
        )
    }
    settings = [("ll", args.batch_size, args.lr, "the reference's settings")]
    if not args.skip_tuned:
        settings.append(
            ("ll_tuned", args.tuned_batch_size, args.tuned_lr, "a tuned setting")
        )
    for prefix, batch_size, lr, what in settings:
        note(
            f"{prefix}: LatentLab train(), batch {batch_size}, lr {lr:g} ({what}), "
            "data as one in-memory uint8 tensor"
        )
        runners[prefix] = latentlab_epochs(
            dataset,
            args.epochs,
            batch_size=batch_size,
            lr=lr,
            seed=args.seed,
            threads=args.threads,
        )
    from latentlab.core import training

    # Private on purpose: the trainer decides this itself; the bench only reports
    # (and runs against older trainers without it, for before/after figures).
    route = getattr(training, "_OneDnnMatmul", None)
    onednn = route is not None and route(torch.device("cpu")).active
    note(
        "LatentLab's float32 matmuls go to "
        + ("oneDNN (exact f32, probed)" if onednn else "MKL (torch's default)")
        + "; the reference's go to torch's default"
    )
    results: dict[str, list[EpochFigures]] = {name: [] for name in runners}
    loads = {name: OtherLoad() for name in runners}
    for _ in range(args.epochs):
        for name, runner in runners.items():
            loads[name].start()
            results[name].append(next(runner))
            loads[name].stop()
    for runner in runners.values():
        for _ in runner:  # let train() finish and restore its settings
            pass

    ref = results.pop("ref")
    emit("ref_other_procs_cpu_share", loads["ref"].share(), "ratio")
    ref_rate = report_run("ref", ref)
    rates = {"ref": ref_rate}
    target = ref[-1].test_loss
    ref_time = sum(f.seconds for f in ref)
    emit("ref_final_test_loss", target, "nats")
    emit("ref_time_to_ref_loss", ref_time, "s")
    for prefix, figs in results.items():
        emit(f"{prefix}_other_procs_cpu_share", loads[prefix].share(), "ratio")
        rate = rates[prefix] = report_run(prefix, figs)
        reached = time_to_loss(figs, target)
        emit(f"{prefix}_time_to_ref_loss", reached, "s")
        if math.isnan(reached):
            note(
                f"{prefix} never reached the reference's final test loss "
                f"{target:.2f} in {args.epochs} epochs (best "
                f"{min(f.test_loss for f in figs):.2f}); at equal settings the "
                "per-epoch losses agree within seed noise, so see "
                f"{prefix}_same_epochs_time_ratio"
            )
        emit(f"{prefix}_samples_per_s_ratio", rate / ref_rate, "ratio")
        same = sum(f.seconds for f in figs) / ref_time
        emit(f"{prefix}_same_epochs_time_ratio", same, "ratio")
    emit("samples_per_s_ratio", report_rate(results["ll"]) / ref_rate, "ratio")
    ll_time = time_to_loss(results["ll"], target)
    emit("time_to_ref_loss_ratio", ll_time / ref_time, "ratio")
    if "ll_tuned" in results:
        tuned_time = time_to_loss(results["ll_tuned"], target)
        emit("tuned_time_to_ref_loss_ratio", tuned_time / ref_time, "ratio")
    return rates


def report_rate(figs: Sequence[EpochFigures]) -> float:
    """Training samples per second over all epochs."""
    return sum(f.samples for f in figs) / sum(f.seconds for f in figs)


def thread_sweep(args: argparse.Namespace) -> None:
    """LatentLab's samples/s for one epoch at each thread count up to the cores."""
    from latentlab.core.data import load_dataset

    dataset = load_dataset(args.dataset, args.data_dir)
    note("thread sweep: LatentLab, reference settings, 1 epoch each")
    for threads in range(1, (os.cpu_count() or 1) + 1):
        figs = list(
            latentlab_epochs(
                dataset,
                1,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                threads=threads,
            )
        )
        emit(f"ll_samples_per_s_threads{threads}", report_rate(figs), "samples/s")


def two_d(args: argparse.Namespace) -> None:
    """LatentLab's default 2-D VAE and AE on Fashion-MNIST and the MNIST subset."""
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import load_dataset
    from latentlab.core.training import new_model, train

    for key in ("fashion-mnist", "mnist"):
        dataset = load_dataset(key, args.data_dir)
        note(
            f"2-D models, default ModelConfig (hidden 512,256), {args.epochs_2d} "
            f"epochs, default TrainConfig, on {key} "
            f"({len(dataset.train_images)}/{len(dataset.test_images)})"
        )
        tag = key.replace("-", "_")
        for kind in ("vae", "ae"):
            model = new_model(ModelConfig(kind=kind), args.seed)
            config = TrainConfig(
                epochs=args.epochs_2d,
                seed=args.seed,
                device="cpu",
                threads=args.threads,
            )
            gen = train(model, dataset, config)
            try:
                while True:
                    next(gen)
            except StopIteration as stop:
                result = stop.value
            last = result.histories[0][-1]
            seconds = sum(m.seconds for m in result.histories[0])
            emit(f"{kind}2d_{tag}_test_neg_elbo", last.test_neg_elbo, "nats")
            emit(f"{kind}2d_{tag}_test_recon", last.test_recon, "nats")
            emit(f"{kind}2d_{tag}_test_kl", last.test_kl, "nats")
            emit(f"{kind}2d_{tag}_train_seconds", seconds, "s")
            emit(f"{kind}2d_{tag}_wall_seconds", result.seconds, "s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; ``--quick`` shortens the 2-D part and skips extras."""
    p = argparse.ArgumentParser(
        prog="python -m bench.train_speed",
        description=(__doc__ or "").splitlines()[0],
        epilog="Figures and their meaning: bench/README.md.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="2-D models for 2 epochs; no thread sweep or oneDNN mm figure",
    )
    p.add_argument("--epochs", type=int, help="comparison epochs (3)")
    p.add_argument("--epochs-2d", type=int, help="2-D model epochs (10; quick 2)")
    p.add_argument("--dataset", choices=sorted(TV_FOLDERS), default="fashion-mnist")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=Path.home() / ".cache" / "latentlab-bench",
        help="where the extracted IDX files for torchvision go",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (all)")
    p.add_argument("--batch-size", type=int, default=128, help="LatentLab's batch")
    p.add_argument("--lr", type=float, default=1e-3, help="LatentLab's learning rate")
    p.add_argument(
        "--tuned-batch-size", type=int, default=128, help="the tuned run's batch"
    )
    p.add_argument(
        "--tuned-lr", type=float, default=3e-3, help="the tuned run's learning rate"
    )
    p.add_argument("--skip-tuned", action="store_true", help="no tuned LatentLab run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-compare", action="store_true")
    p.add_argument("--skip-2d", action="store_true")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3
    if args.epochs_2d is None:
        args.epochs_2d = 2 if args.quick else 10
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    if args.threads is None:
        args.threads = torch.get_num_threads()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns an exit status."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    whole = OtherLoad().start()
    note(f"torch {torch.__version__}, {args.threads} threads, data {args.data_dir}")
    emit("threads", args.threads, "threads")
    emit("load_avg_1min_start", os.getloadavg()[0], "procs")
    gflops = mm_gflops()
    emit("mm_1024_gflops", gflops, "GFLOP/s")
    if not args.quick:
        note(
            "the same mm through oneDNN's exact-f32 kernel (context only; torch's "
            "default, MKL, is what both trainers use)"
        )
        emit("mm_1024_onednn_gflops", onednn_mm_gflops(), "GFLOP/s")
    if not args.skip_compare:
        rates = compare(args)
        if not args.quick:
            thread_sweep(args)
        # A neighbour's load only slows mm down: the faster of two runs is nearer
        # the machine's rate.
        gflops = max(gflops, mm_gflops())
        emit("mm_1024_gflops_best", gflops, "GFLOP/s")
        note(
            "achieved fraction: training FLOP/s (3x the forward matmul FLOPs per "
            "sample, 784-400-40 + 20-400-784) over mm_1024_gflops_best"
        )
        for prefix, rate in rates.items():
            flops = rate * train_flops_per_sample(VAE_400_20) / 1e9
            emit(f"{prefix}_train_gflops", flops, "GFLOP/s")
            emit(f"{prefix}_mm_fraction", flops / gflops, "ratio")
    if not args.skip_2d:
        two_d(args)
    share = whole.share()
    emit("other_procs_cpu_share", share, "ratio")
    if share > 0.05:
        note(
            "other processes used the cores during this run: with more runnable "
            "threads than cores, OpenMP waits on descheduled siblings and every op "
            "slows, so these timings understate both trainers; rerun on an idle box"
        )
    emit("bench_wall_seconds", time.perf_counter() - start, "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
