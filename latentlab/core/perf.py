"""Every machine-specific speed device, in one list, behind one switch.

Each device below was measured on the project's 2-core box (``bench/README.md``
has the runs) and pays there; each has a plain path, torch's or Qt's or
pyqtgraph's own, that gives the same results. To rule the devices out, turn
them all off:

- the environment: ``LATENTLAB_PLAIN=1`` (read once, at the first question);
- the app's setting ``performance/plain=true`` (``~/.config/LatentLab/LatentLab.conf``,
  read when ``latentlab.qt`` is imported; the environment, if set, wins);
- code: :func:`set_enabled` ``(False)``, before the work starts.

Every device's site asks :func:`enabled` with its registered name, which also
refuses a name that is not in :data:`DEVICES`: a new device is one entry here
and one ``if perf.enabled("name")`` at its site (``CONTRIBUTING.md``).
``python -m latentlab.core.perf`` prints the list; ``python -m bench --plain``
measures with the devices off.

Neither torch nor Qt is imported here: the Qt layer, the core and the bench ask.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

ENV_VAR = "LATENTLAB_PLAIN"
SETTING = "performance/plain"  # in QSettings("LatentLab", "LatentLab")

_OFF_WORDS = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Device:
    """One speed device: where it acts, what it does, what it bought and what
    runs instead when the switch is off."""

    name: str
    site: str
    does: str
    bought: str
    plain: str


DEVICES: tuple[Device, ...] = (
    Device(
        "fused_adam",
        "latentlab/core/training_kernels.py: _make_optimizer, FusedAdam",
        "Adam through torch's private torch._fused_adam_ kernel with its lists "
        "built once: bit for bit torch.optim.Adam(fused=True), without "
        "torch.optim's first-use import of torch._dynamo (~1.1 s, ~160 MiB)",
        "optimizer step 1.3 -> 0.3 ms (784-400-20 VAE, 2 threads); trainer "
        "20,890 -> 28,136 samples/s (issue 17, third landing)",
        "torch.optim.Adam(params, lr) with torch's defaults",
    ),
    Device(
        "bernoulli_nll",
        "latentlab/core/training.py: _train_terms (training_kernels._BernoulliNLL)",
        "the training loss as relu(l) - x*l - log(sigmoid(|l|)) with the "
        "closed-form gradient sigmoid(l) - x, a custom autograd Function "
        "(torch's logits BCE goes through a slow, unvectorised log1p here)",
        "loss forward + backward 1.29 -> 0.30 ms (128 x 784, 1 thread); with "
        "no-grad bookkeeping 1.15-1.4x samples/s",
        "F.binary_cross_entropy_with_logits (losses.reconstruction_nats)",
    ),
    Device(
        "onednn_matmul",
        "latentlab/core/training_kernels.py: _OneDnnMatmul",
        "sets the process-wide torch.backends.mkldnn.matmul.fp32_precision to "
        "'bf16' between the training loop's yields, where a probe shows "
        "oneDNN keeps float32 exact, so float32 GEMMs go to oneDNN, not MKL",
        "the step's 128x784x400 GEMMs ~390 against ~200 GFLOP/s; an epoch "
        "1.5-1.7x faster",
        "torch's own setting, untouched (no probe)",
    ),
    Device(
        "conv_decode_kernels",
        "latentlab/core/models.py: _UnflattenChannelsLast, _SubpixelConvTranspose2d",
        "conv decoders unflatten into channels-last memory, and outside "
        "training their last layer runs as a 3x3 convolution into 4 phases "
        "plus a pixel shuffle (same weights, equal to float rounding)",
        "32x32 conv manifold decode 69 -> 43 ms (channels-last); the last "
        "layer 11 -> 4 ms (1,024 images, bfloat16)",
        "contiguous memory and torch's ConvTranspose2d",
    ),
    Device(
        "conv_channels_last",
        "latentlab/core/training.py: _train_loop (channels_last)",
        "on a CPU, models with convolutions train in channels-last memory (the "
        "weights and each batch), oneDNN's NHWC kernels; back to contiguous "
        "memory when the run ends",
        "the VanillaVAE recipe at 64 px 138-145 -> 174-180 images/s (2 threads, "
        "bench.colour_train's layers)",
        "contiguous (NCHW) memory",
    ),
    Device(
        "bf16_display",
        "latentlab/core/latent.py: _decoded (for_display)",
        "display grids decode in bfloat16 autocast where the CPU multiplies "
        "bfloat16 in hardware (native_bf16); anything measured stays float32",
        "1,024 codes of the shipped MNIST VAE 11 -> 3.7 ms, conv ~2x; at most "
        "1.3 (conv) / 5.1 (MLP) of 255 grey levels from float32",
        "float32 decodes",
    ),
    Device(
        "thread_niceness",
        "latentlab/core/threads.py: lower_this_thread (training_thread, jobs)",
        "the training thread runs at niceness +10 and job threads at +5 (Linux, "
        "per thread); the window's thread keeps the process's",
        "a redraw never queues behind a training step, and a snapshot's "
        "refresh no longer shares the window's core with equal weight; not "
        "measured alone (bench/README.md, second and fourth landings)",
        "every thread at the process's priority",
    ),
    Device(
        "job_threads",
        "latentlab/core/threads.py: use_job_threads, training_threads "
        "(qt/controller.py start_training)",
        "while the app trains: the training thread uses cores - 1 torch "
        "threads and every job 1 (torch's count is per thread, kept in "
        "module globals and set at each job's start)",
        "in-app pair rate 0.81 -> 0.96 of the one-core limit",
        "torch's default thread count everywhere",
    ),
    Device(
        "serial_gui_decode",
        "latentlab/core/threads.py: serial_torch_here (analysis/planes.py)",
        "the GUI thread's click decodes run on one torch thread",
        "conv click decode p95 12-64 -> 2-9 ms with a core busy; idle no slower",
        "the GUI thread keeps torch's default count",
    ),
    Device(
        "thread_pool_size",
        "latentlab/qt/controller.py: Controller.__init__",
        "Qt's global thread pool gets at least 4 threads, so short jobs "
        "(grids, loads, refreshes) do not queue behind the training run's "
        "relay and each other on a 2-core machine",
        "added with the dataset cache and 2.5k points while training "
        "(76a40a0); not measured alone",
        "Qt's default (the core count), but at least 2: the training relay "
        "holds one thread for its whole run",
    ),
    Device(
        "cuda_bindings_held_back",
        "latentlab/qt/__init__.py",
        "a None entry for cuda.bindings.runtime in sys.modules while pyqtgraph "
        "imports, so its unused RawImageWidget does not import CUDA's Python "
        "bindings before the first frame (torch imports them later, off the "
        "GUI thread)",
        "50-80 ms before the window's first frame",
        "pyqtgraph imports the bindings where torch's wheel installed them",
    ),
    Device(
        "no_gui_threadpool",
        "latentlab/qt/app.py: new_application",
        "QT_NO_GUI_THREADPOOL=1 (unless the user set it): Qt fills no longer "
        "split over its GUI thread pool, whose threads compete with training "
        "and jobs for the cores",
        "crosshair repaint 1.4-1.7 -> 0.6-0.85 ms wall; a manifold's paint "
        "2.7-3.1 -> 2.3-2.4 ms",
        "Qt's GUI thread pool",
    ),
    Device(
        "gc_freeze",
        "latentlab/qt/app.py: freeze_startup_objects",
        "gc.collect(1) then gc.freeze() once start-up has ended: ~260,000 "
        "long-lived objects leave the cyclic GC's full passes",
        "a full GC pass, a window freeze at no moment the user chose, "
        "110-172 -> 0.001 ms",
        "no freeze",
    ),
    Device(
        "points_item",
        "latentlab/qt/widgets/points.py: PointsItem",
        "every colour group of a plane's scatter in one item, drawn with one "
        "drawPixmapFragments call from an atlas of discs (pyqtgraph internals: "
        "PrimitiveArray, renderSymbol)",
        "a plane repaint 2.5 -> 1.1 ms (10 classes)",
        "one pyqtgraph ScatterPlotItem per colour group",
    ),
)

_BY_NAME = {d.name: d for d in DEVICES}

_on: bool | None = None  # None: not yet read from the environment
_asked: set[str] = set()


def env_plain() -> bool | None:
    """What ``LATENTLAB_PLAIN`` says: True (devices off), False, or None (unset)."""
    value = os.environ.get(ENV_VAR)
    if value is None:
        return None
    return value.strip().lower() not in _OFF_WORDS


def devices_on() -> bool:
    """True unless the switch turned the devices off."""
    global _on
    if _on is None:
        _on = not env_plain()
    return _on


def set_enabled(on: bool) -> None:
    """Turn every device on or off from code (the environment's choice is
    replaced). Devices already applied stay applied (a frozen GC, Qt's
    environment, a lowered thread): set it before the work starts."""
    global _on
    _on = bool(on)


def use_setting(plain: bool) -> None:
    """The app's setting: ``plain`` turns the devices off unless
    ``LATENTLAB_PLAIN`` is set, which wins. It never turns them on."""
    if plain and env_plain() is None:
        set_enabled(False)


def enabled(name: str) -> bool:
    """Whether the device ``name`` may act; asked at its site, every time."""
    if name not in _BY_NAME:
        raise KeyError(
            f"{name!r} is not a registered performance device "
            "(add it to DEVICES in latentlab/core/perf.py)"
        )
    _asked.add(name)
    return devices_on()


def asked() -> frozenset[str]:
    """The devices whose sites have asked :func:`enabled` in this process."""
    return frozenset(_asked)


def describe() -> str:
    """The registry as text: a block per device."""
    state = "on" if devices_on() else f"off ({ENV_VAR} or the setting)"
    lines = [f"performance devices: {state}", ""]
    for d in DEVICES:
        lines += [
            d.name,
            f"  where:  {d.site}",
            f"  does:   {d.does}",
            f"  bought: {d.bought}",
            f"  plain:  {d.plain}",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(describe())
