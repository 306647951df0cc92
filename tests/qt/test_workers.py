"""The one worker abstraction: lifecycle, errors, cancellation, superseding."""

from __future__ import annotations

import pytest

from latentlab.core.config import TrainConfig
from latentlab.core.errors import ConfigError, LatentLabError, TrainingError
from latentlab.qt.workers import LatestJob, start_job


def _counting(n):
    yield from range(n)
    return n


def test_generator_job_yields_then_returns_in_order(qtbot, no_threads_left):
    seen, returned = [], []
    worker = start_job(
        _counting,
        5,
        on_yield=seen.append,
        on_return=returned.append,
        on_error=pytest.fail,
        start=False,
    )
    with qtbot.waitSignals(
        [worker.started, worker.returned, worker.finished],
        order="strict",
        timeout=5000,
    ):
        worker.start()
    assert seen == [0, 1, 2, 3, 4]
    assert returned == [5]


def test_config_error_reaches_errored(qtbot, no_threads_left):
    def bad():
        TrainConfig(epochs=0)

    errors = []
    worker = start_job(bad, on_error=errors.append, start=False)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert len(errors) == 1 and isinstance(errors[0], ConfigError)
    assert "epochs" in str(errors[0])


def test_runtime_error_in_a_generator_reaches_errored(qtbot, no_threads_left):
    # superqt would read a bare RuntimeError as "worker deleted" and emit nothing.
    def shape_bug():
        yield 1
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    errors = []
    worker = start_job(shape_bug, on_error=errors.append, start=False)
    with qtbot.waitSignals(
        [worker.errored, worker.finished], order="strict", timeout=5000
    ):
        worker.start()
    assert isinstance(errors[0], TrainingError)
    assert isinstance(errors[0], LatentLabError)
    assert "shapes cannot be multiplied" in str(errors[0])


def test_quit_aborts_at_the_next_yield_without_returning(qtbot, no_threads_left):
    def forever():
        i = 0
        while True:
            yield i
            i += 1

    worker = start_job(forever, on_error=pytest.fail, start=False)
    worker.yielded.connect(lambda i: worker.quit() if i == 0 else None)
    with (
        qtbot.assertNotEmitted(worker.returned),
        qtbot.waitSignals(
            [worker.aborted, worker.finished], order="strict", timeout=5000
        ),
    ):
        worker.start()


def test_latest_job_runs_the_newest_waiting_request(qtbot, no_threads_left):
    import threading

    gate = threading.Event()
    results = []

    def job(tag):
        if tag == "first":
            gate.wait(5)
        return tag

    jobs = LatestJob()
    jobs.submit(job, "first", on_return=results.append, on_error=pytest.fail)
    for tag in ("second", "third", "fourth"):
        jobs.submit(job, tag, on_return=results.append, on_error=pytest.fail)
    assert jobs.busy
    gate.set()
    qtbot.waitUntil(lambda: results == ["first", "fourth"], timeout=5000)
    qtbot.waitUntil(lambda: not jobs.busy, timeout=5000)
