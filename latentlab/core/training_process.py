"""Training in a child process, so an interactive parent keeps its core and its GIL.

In one process, the training loop's Python work (autograd bookkeeping, the
optimizer, the loop itself) takes the GIL thousands of times a second, and every
redraw of the window waits for it. :class:`TrainingProcess` runs :func:`train`
in a spawned child instead: the parent sends the models' configs and weights and
the dataset once, and receives the same events :func:`train` yields, with the
snapshots' weights as arrays. Stop, pause and resume travel the other way and
take effect between two steps. The models passed in are updated in place when
the run ends (completed, stopped, failed or killed), as :func:`train` would.

Only the parent's own process and the child it spawned talk over the pipe, so
pickle is safe here; nothing read from a file is unpickled. As with any spawned
process, the child imports the caller's main module: a script that trains this
way needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from latentlab.core import errors
from latentlab.core.checkpoints import metrics_summary, save_checkpoint
from latentlab.core.data import ImageDataset
from latentlab.core.errors import CheckpointError, LatentLabError, TrainingError
from latentlab.core.files import prepare_folder
from latentlab.core.text import printable
from latentlab.core.timeline import TimelineRecorder
from latentlab.core.training import (
    EpochEnd,
    EpochMetrics,
    ModelSnapshot,
    TrainResult,
    cpu_state_dict,
    new_model,
    train,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence
    from multiprocessing.connection import Connection

    from latentlab.core.config import TrainConfig
    from latentlab.core.models import Autoencoder

POLL_S = 0.05  # how often the relay loop sends stop/pause while it waits
STOP_GRACE_S = 10.0  # a stopped child silent this long is taken as hung, and killed
JOIN_S = 2.0
# Below the app in the scheduler: a redraw never waits for a training step.
CHILD_NICENESS = 10  # added to the app's own niceness


@dataclass(frozen=True, slots=True)
class Autosaved:
    """Both models were saved after an epoch."""

    epoch: int
    paths: tuple[Path, ...]


class TrainingProcess:
    """One training run in a spawned child process.

    The child starts (and imports torch) as soon as this object is made, so that
    cost overlaps whatever the caller does before :meth:`train`. :meth:`stop`,
    :meth:`pause` and :meth:`kill` may be called from any thread: they only set
    flags that the thread running :meth:`train` sends on, so no caller ever
    waits on the pipe.
    """

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe(duplex=True)
        self._stop = threading.Event()
        self._pause_wanted = False
        self._killed = False
        self._proc = ctx.Process(
            target=_child_main, args=(child_conn,), name="latentlab-training"
        )
        self._proc.daemon = True  # never outlives the app
        self._proc.start()
        child_conn.close()
        _lower_priority(self._proc.pid)

    # --- control, from any thread ----------------------------------------------------

    def stop(self) -> None:
        """End training after the current step; the models keep what they learned."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def pause(self, paused: bool) -> None:
        """Hold training between two steps, or let it go on."""
        self._pause_wanted = paused

    def kill(self) -> None:
        """End the child at once (closing the app); no final weights come back."""
        self._killed = True
        if self._proc.is_alive():
            self._proc.kill()

    def close(self) -> None:
        """Kill the child if it is still there and release the pipe."""
        self.kill()
        self._proc.join(JOIN_S)
        self._conn.close()

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._proc.pid

    # --- the run, on the caller's thread ---------------------------------------------

    def train(
        self,
        models: Sequence[Autoencoder],
        dataset: ImageDataset,
        config: TrainConfig,
        *,
        autosave_dir: str | Path | None = None,
    ) -> Generator[Any, None, TrainResult]:
        """Train ``models`` in the child; yields :func:`train`'s events.

        Also yields :class:`Autosaved` after each epoch when ``autosave_dir`` is
        given (the child writes the files). A :meth:`stop` made before this
        call ends the run at its first step.

        Raises
        ------
        TrainingError, DataError, ConfigError
            As :func:`train` would; also when the child dies. The models then
            hold the weights of the last snapshot that arrived.
        """
        models = list(models)
        if autosave_dir is not None:
            # A folder that is a file, or one we cannot write, fails now, not
            # after the first epoch.
            autosave_dir = prepare_folder(autosave_dir, what="autosave folder")
        try:
            _send_job(self._conn, models, dataset, config, autosave_dir)
        except (OSError, ValueError) as exc:
            if self._killed:
                return TrainResult(
                    histories=[[] for _ in models], seconds=0.0, steps=0, cancelled=True
                )
            raise TrainingError(f"could not start the training process: {exc}") from exc
        last_states: list[dict[str, torch.Tensor]] | None = None
        histories: list[list[EpochMetrics]] = [[] for _ in models]
        stopping = ended = False
        pause_sent = False
        start = last_heard = time.perf_counter()
        try:
            while True:
                if self._stop.is_set() and not stopping:
                    stopping = True
                    self._tell("stop")
                elif not stopping and self._pause_wanted != pause_sent:
                    pause_sent = self._pause_wanted
                    self._tell("pause" if pause_sent else "resume")
                message = self._receive()
                if message is None:
                    if self._killed or not self._proc.is_alive():
                        break
                    if stopping and time.perf_counter() - last_heard > STOP_GRACE_S:
                        self.kill()  # stopped, yet silent: hung
                        break
                    continue
                last_heard = time.perf_counter()
                tag = message[0]
                if tag == "event":
                    event = message[1]
                    if isinstance(event, ModelSnapshot):
                        last_states = [_to_tensors(s) for s in event.state_dicts]
                        event = replace(event, state_dicts=tuple(last_states))
                    elif isinstance(event, EpochEnd):
                        for history, metrics in zip(
                            histories, event.metrics, strict=True
                        ):
                            history.append(metrics)
                    yield event
                elif tag == "done":
                    ended = True
                    _load(models, [_to_tensors(s) for s in message[2]])
                    return message[1]
                elif tag == "error":
                    ended = True
                    _, kind, text, states = message
                    if len(states) == len(models):  # else it failed before them
                        last_states = [_to_tensors(s) for s in states]
                    _load(models, last_states)
                    raise _error(kind, text)
        finally:
            if not ended and self._proc.is_alive():
                self._proc.kill()  # abandoned: the generator was closed mid-run
        # The child ended without a last word: killed, or crashed.
        _load(models, last_states)
        if self._killed:
            return TrainResult(
                histories=histories,
                seconds=time.perf_counter() - start,
                steps=0,
                cancelled=True,
            )
        raise TrainingError(
            f"the training process ended unexpectedly (exit code "
            f"{self._proc.exitcode}); the models keep their last snapshot"
        )

    def _tell(self, what: str) -> None:
        try:
            self._conn.send((what,))
        except (OSError, ValueError):
            pass  # the child is gone; the receive loop finds out

    def _receive(self) -> tuple[Any, ...] | None:
        """The next message, or None after ``POLL_S`` without one (or at EOF)."""
        try:
            if self._conn.poll(POLL_S):
                return self._conn.recv()
        except (EOFError, OSError):
            time.sleep(POLL_S)  # the child is gone; let is_alive() catch up
        return None


def _send_job(
    conn: Connection,
    models: Sequence[Autoencoder],
    dataset: ImageDataset,
    config: TrainConfig,
    autosave_dir: str | Path | None,
) -> None:
    """Send what the child needs. The arrays go as raw bytes after a small
    pickled header: pickling 50 MB of images would hold the GIL (and the
    window's thread) for tens of milliseconds; writing bytes releases it."""
    arrays = {f"dataset.{k}": v for k, v in _dataset_tensors(dataset).items()}
    for i, model in enumerate(models):
        for key, value in cpu_state_dict(model).items():
            arrays[f"state{i}.{key}"] = value.numpy()
    header = {
        "configs": [m.config for m in models],
        "dataset": {
            f.name: getattr(dataset, f.name)
            for f in fields(dataset)
            if f"dataset.{f.name}" not in arrays
        },
        "identity": dataset.identity(),
        "config": config,
        "autosave_dir": str(autosave_dir) if autosave_dir else None,
        "arrays": [(name, a.dtype.str, a.shape) for name, a in arrays.items()],
    }
    conn.send(("start", header))
    for array in arrays.values():
        conn.send_bytes(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _receive_job(conn: Connection, header: dict[str, Any]) -> dict[str, Any]:
    """The job as :func:`_send_job` sent it, with tensors rebuilt."""
    tensors = {}
    for name, dtype, shape in header["arrays"]:
        array = np.empty(shape, np.dtype(dtype))
        conn.recv_bytes_into(array.reshape(-1).view(np.uint8))
        tensors[name] = torch.from_numpy(array)
    dataset_tensors = {
        name.removeprefix("dataset."): t
        for name, t in tensors.items()
        if name.startswith("dataset.")
    }
    states = [
        {
            name.removeprefix(f"state{i}."): t
            for name, t in tensors.items()
            if name.startswith(f"state{i}.")
        }
        for i in range(len(header["configs"]))
    ]
    return {
        **header,
        "dataset": ImageDataset(**header["dataset"], **dataset_tensors),
        "states": states,
    }


# --- the child ------------------------------------------------------------------------


class _Control:
    """The parent's stop/pause requests, read between two steps."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.stopped = False

    def should_stop(self) -> bool:
        paused = False
        while not self.stopped and (paused or self._conn.poll()):
            try:
                what = self._conn.recv()[0]
            except (EOFError, OSError):
                what = "stop"  # the parent is gone
            if what == "stop":
                self.stopped = True
            else:
                paused = what == "pause"
        return self.stopped


def _lower_priority(pid: int | None) -> None:
    """Put the child below the app in the scheduler, from its first import on."""
    if pid is None or not hasattr(os, "setpriority"):
        return  # Windows: the child runs at normal priority
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, ours + CHILD_NICENESS))
    except OSError:
        pass  # not allowed here: training still works, only less politely


def _child_main(conn: Connection) -> None:
    # Ctrl+C in the terminal is for the app, which then ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The first Adam imports torch._dynamo (~1 s): do it while the parent is
    # still loading the data. A failure here shows again, reported, in train().
    with contextlib.suppress(Exception):
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], fused=True)
    models: list[Autoencoder] = []
    try:
        message = conn.recv()
        if message[0] != "start":
            return
        job = _receive_job(conn, message[1])
        for model_config, state in zip(job["configs"], job["states"], strict=True):
            model = new_model(model_config)
            model.load_state_dict(state)
            models.append(model)
        dataset = job["dataset"]
        control = _Control(conn)
        run = train(models, dataset, job["config"], should_stop=control.should_stop)
        histories: list[list[EpochMetrics]] = [[] for _ in models]
        recorder = TimelineRecorder(len(models))
        saver = (
            Autosaver(job["autosave_dir"], job["identity"])
            if job["autosave_dir"]
            else None
        )
        while True:
            try:
                event = next(run)
            except StopIteration as done:
                result = done.value
                break
            if isinstance(event, ModelSnapshot):
                event = replace(
                    event, state_dicts=tuple(_to_arrays(s) for s in event.state_dicts)
                )
            conn.send(("event", event))
            if isinstance(event, EpochEnd):
                for history, metrics in zip(histories, event.metrics, strict=True):
                    history.append(metrics)
                recorder.add(event.frames, event.run_id, event.seed)
                if saver is not None:
                    conn.send(("event", saver.save(models, histories, recorder)))
        conn.send(("done", result, [_to_arrays(cpu_state_dict(m)) for m in models]))
    except (BrokenPipeError, ConnectionResetError, EOFError):
        return  # the parent is gone
    except Exception as exc:  # everything goes back to the parent as a message
        states = [_to_arrays(cpu_state_dict(m)) for m in models]
        try:
            conn.send(("error", type(exc).__name__, str(exc), states))
        except (BrokenPipeError, EOFError, OSError):
            pass


class Autosaver:
    """Saves each model after every epoch, never over a file this run did not write.

    The first save of a model goes to ``<dataset>-<kind>-autosave.pt`` in
    ``folder``, or to ``-2``, ``-3``, ... when that name is taken (an earlier
    run's autosave, say), and is linked into place so that a file appearing
    meanwhile is not replaced either. Later epochs replace only that file.
    Saves run between two steps, so the weights are consistent, and are
    atomic, so a crash mid-save keeps the previous epoch's file.
    """

    MAX_TRIES = 1000

    def __init__(self, folder: str | Path, identity: dict[str, Any]) -> None:
        self.folder = Path(folder)
        name = str(identity.get("name", "data"))
        self._stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        self._identity = identity
        self.paths: dict[int, Path] = {}

    def _candidates(self, kind: str) -> Generator[Path, None, None]:
        base = f"{self._stem}-{kind}-autosave"
        yield self.folder / f"{base}.pt"
        for i in range(2, self.MAX_TRIES + 1):
            yield self.folder / f"{base}-{i}.pt"

    def save(
        self,
        models: Sequence[Autoencoder],
        histories: Sequence[Sequence[EpochMetrics]],
        timelines: TimelineRecorder | None = None,
    ) -> Autosaved:
        """Save every model with its history (and timeline); returns where they went."""
        for i, (model, history) in enumerate(zip(models, histories, strict=True)):
            record = {
                "history": list(history),
                "dataset": self._identity,
                "metrics": metrics_summary(list(history)),
                "timeline": timelines.timeline(i) if timelines is not None else None,
            }
            if i in self.paths:
                save_checkpoint(self.paths[i], model, overwrite=True, **record)
                continue
            taken = set(self.paths.values())
            for path in self._candidates(model.config.kind):
                if path in taken or path.exists() or path.is_symlink():
                    continue
                try:
                    save_checkpoint(path, model, overwrite=False, **record)
                except CheckpointError:
                    if path.exists():
                        continue  # another run took the name just now
                    raise
                self.paths[i] = path
                break
            else:
                raise CheckpointError(
                    f"no free autosave name in {printable(str(self.folder))} after "
                    f"{self.MAX_TRIES} tries"
                )
        return Autosaved(
            len(histories[0]), tuple(self.paths[i] for i in range(len(models)))
        )


# --- what crosses the pipe ----------------------------------------------------------


def _to_arrays(state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in state.items()}


def _to_tensors(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in state.items()}


def _dataset_tensors(dataset: ImageDataset) -> dict[str, np.ndarray]:
    """The dataset's tensor fields as arrays (images and labels)."""
    return {
        f.name: value.numpy()
        for f in fields(dataset)
        if isinstance(value := getattr(dataset, f.name), torch.Tensor)
    }


def _load(
    models: Sequence[Autoencoder], states: Sequence[dict[str, torch.Tensor]] | None
) -> None:
    """Put ``states`` into ``models``; None (nothing arrived) leaves them be."""
    if states is None:
        return
    for model, state in zip(models, states, strict=True):
        model.load_state_dict(state)


def _error(kind: str, text: str) -> LatentLabError:
    """The child's exception as the same LatentLab error, else a TrainingError."""
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, LatentLabError):
        return cls(text)
    return TrainingError(f"{kind}: {text}")
