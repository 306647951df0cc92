"""Training on a thread of its own, below the app in the scheduler.

:class:`TrainingThread` runs :func:`train` on a dedicated thread and relays its
events to whoever iterates :meth:`TrainingThread.train` (the app's training
job). torch releases the GIL inside its ops, so the window keeps its thread
while a step computes; the training thread runs at a lower priority
(niceness +10, Linux) with one torch thread per core the window leaves, so a
redraw never queues behind a step. Compared with the child process this
replaces, nothing is spawned or copied when Train is pressed (the first step
starts at once) and torch is in memory once.

The thread trains copies of the models it is given, so the caller may keep
using them; they get the weights back when the run ends (completed, stopped,
failed or abandoned), as :func:`train` would leave them. Stop, pause and kill
may be called from any thread: they set flags read between two steps.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentlab.core.checkpoints import metrics_summary, save_checkpoint
from latentlab.core.errors import CheckpointError, LatentLabError, TrainingError
from latentlab.core.files import prepare_folder
from latentlab.core.text import printable
from latentlab.core.threads import TRAINING_NICENESS, lower_this_thread
from latentlab.core.training import (
    EpochEnd,
    TrainResult,
    copy_model,
    cpu_state_dict,
    train,
)
from latentlab.core.training_events import RunLog

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from latentlab.core.config import TrainConfig
    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder

POLL_S = 0.05  # how often a paused run looks at the stop flag
JOIN_S = 2.0


@dataclass(frozen=True, slots=True)
class Autosaved:
    """Both models were saved after an epoch."""

    epoch: int
    paths: tuple[Path, ...]


class TrainingControl:
    """Stop, pause and kill flags for one run, read between two steps.

    :meth:`stop`, :meth:`pause` and :meth:`kill` may be called from any
    thread; none of them waits. :meth:`train_here` runs on the caller's thread
    (scripts, the command line, tests); :class:`TrainingThread` on its own.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._killed = False
        self.steps_done = 0
        """Steps taken so far (read from any thread)."""

    def stop(self) -> None:
        """End training after the current step; the models keep what they learned."""
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def pause(self, paused: bool) -> None:
        """Hold training between two steps, or let it go on."""
        if paused and not self._stop.is_set():
            self._running.clear()
        else:
            self._running.set()

    def kill(self) -> None:
        """End the run at its next step (closing the app); no weights come back."""
        self._killed = True
        self.stop()

    def close(self) -> None:
        """Kill the run (nothing to wait for on the caller's thread)."""
        self.kill()

    def _should_stop(self) -> bool:
        self.steps_done += 1
        while not self._running.wait(POLL_S):
            if self._stop.is_set():  # a stop racing a pause still ends the run
                break
        return self._stop.is_set()

    def train(
        self,
        models: Sequence[Autoencoder],
        dataset: ImageDataset,
        config: TrainConfig,
        *,
        autosave_dir: str | Path | None = None,
    ) -> Generator[Any, None, TrainResult]:
        """Train ``models`` in place on this thread; yields :func:`train`'s
        events and :class:`Autosaved` after each epoch when ``autosave_dir``
        is given."""
        if autosave_dir is not None:
            autosave_dir = prepare_folder(autosave_dir, what="autosave folder")
        result = yield from _train_and_autosave(
            list(models), dataset, config, autosave_dir, self
        )
        if self._killed:
            result.cancelled = True
        return result


class TrainingThread(TrainingControl):
    """One training run on a dedicated thread, below the window in the scheduler."""

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None
        self.native_id: int | None = None
        """The training thread's id for the OS, once it runs (for niceness)."""

    def close(self) -> None:
        """Kill the run and wait briefly for its thread to end."""
        self.kill()
        if self.alive:
            self._thread.join(JOIN_S)

    @property
    def alive(self) -> bool:
        """True while the training thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # --- the run, on the caller's thread ---------------------------------------------

    def train(
        self,
        models: Sequence[Autoencoder],
        dataset: ImageDataset,
        config: TrainConfig,
        *,
        autosave_dir: str | Path | None = None,
    ) -> Generator[Any, None, TrainResult]:
        """Train ``models``; yields :func:`train`'s events as they happen.

        Also yields :class:`Autosaved` after each epoch when ``autosave_dir`` is
        given. A :meth:`stop` made before this call ends the run at its first
        step.

        Raises
        ------
        TrainingError, DataError, ConfigError
            As :func:`train` would. The models then hold the weights of the
            last snapshot, as :func:`train` restores them.
        """
        if self._thread is not None:
            raise TrainingError("this training thread already ran")
        models = list(models)
        if autosave_dir is not None:
            # A folder that is a file, or one we cannot write, fails now, not
            # after the first epoch.
            autosave_dir = prepare_folder(autosave_dir, what="autosave folder")
        copies = [copy_model(m) for m in models]
        events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run,
            args=(copies, dataset, config, autosave_dir, events),
            name="latentlab-training",
            daemon=True,  # never keeps the app alive
        )
        try:
            self._thread.start()
        except RuntimeError as exc:  # e.g. the process's thread limit
            self._thread = None
            raise TrainingError(f"could not start the training thread: {exc}") from exc
        ended = False
        try:
            while True:
                try:
                    message = events.get(timeout=POLL_S)
                except queue.Empty:
                    if self._thread.is_alive():
                        continue
                    try:  # its last message may have come just before it ended
                        message = events.get_nowait()
                    except queue.Empty:
                        break
                tag = message[0]
                if tag == "event":
                    yield message[1]
                elif tag == "done":
                    ended = True
                    result: TrainResult = message[1]
                    if self._killed:
                        result.cancelled = True
                    else:
                        _load(models, copies)
                    return result
                else:  # "error"
                    ended = True
                    _load(models, copies)
                    exc = message[1]
                    if isinstance(exc, LatentLabError):
                        raise exc
                    raise TrainingError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if ended:
                # Its last message is sent just before it returns: wait for
                # that, so a run that ended is not still "alive".
                self._thread.join(JOIN_S)
            else:
                abandoned = not self._killed
                self.kill()  # abandoned: the generator was closed mid-run
                self._thread.join(JOIN_S)
                if abandoned and not self._thread.is_alive():
                    _load(models, copies)
        raise TrainingError("the training thread ended without a result")

    def _run(
        self,
        models: list[Autoencoder],
        dataset: ImageDataset,
        config: TrainConfig,
        autosave_dir: Path | None,
        events: queue.SimpleQueue[tuple[Any, ...]],
    ) -> None:
        self.native_id = threading.get_native_id()
        lower_this_thread(TRAINING_NICENESS)
        try:
            run = _train_and_autosave(models, dataset, config, autosave_dir, self)
            while True:
                try:
                    event = next(run)
                except StopIteration as done:
                    events.put(("done", done.value))
                    return
                events.put(("event", event))
        except Exception as exc:  # every failure goes to the caller's thread
            events.put(("error", exc))


def _train_and_autosave(
    models: list[Autoencoder],
    dataset: ImageDataset,
    config: TrainConfig,
    autosave_dir: Path | None,
    control: TrainingControl,
) -> Generator[Any, None, TrainResult]:
    """:func:`train` under ``control``, saving every model after each epoch
    into ``autosave_dir`` (None: no autosave)."""
    run = train(models, dataset, config, should_stop=control._should_stop)
    log = RunLog(len(models))
    saver = (
        Autosaver(autosave_dir, dataset.identity())
        if autosave_dir is not None
        else None
    )
    while True:
        try:
            event = next(run)
        except StopIteration as done:
            return done.value
        yield event
        if isinstance(event, EpochEnd):
            log.add(event)
            if saver is not None and not control._killed:
                yield saver.save(models, log)


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

    def save(self, models: Sequence[Autoencoder], log: RunLog) -> Autosaved:
        """Save every model with its history and timeline so far; returns where
        they went."""
        for i, (model, history) in enumerate(zip(models, log.histories, strict=True)):
            record = {
                "history": list(history),
                "dataset": self._identity,
                "metrics": metrics_summary(list(history)),
                "timeline": log.timeline(i),
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
        return Autosaved(log.epochs, tuple(self.paths[i] for i in range(len(models))))


def _load(models: Sequence[Autoencoder], trained: Sequence[Autoencoder]) -> None:
    """Give ``models`` the weights of their trained copies."""
    for model, copy in zip(models, trained, strict=True):
        model.load_state_dict(cpu_state_dict(copy))
