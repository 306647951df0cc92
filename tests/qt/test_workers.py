"""The one worker abstraction: lifecycle, errors, cancellation, superseding."""

from __future__ import annotations

import pytest

from latentlab.core.config import TrainConfig
from latentlab.core.errors import ConfigError, LatentLabError, TrainingError
from latentlab.core.session import Session
from latentlab.qt.jobs import qt_workspace
from latentlab.qt.workers import start_job


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


def test_the_runner_delivers_only_the_newest_job_of_a_kind(qtbot, no_threads_left):
    import threading

    gate = threading.Event()
    results = []

    def job(tag):
        if tag == "first":
            gate.wait(5)
        return tag

    jobs = qt_workspace(Session())
    jobs.submit("k", job, "first", on_result=results.append, on_error=pytest.fail)
    for tag in ("second", "third", "fourth"):
        jobs.submit("k", job, tag, on_result=results.append, on_error=pytest.fail)
    assert jobs.busy("k")
    gate.set()
    # "first" ran but was superseded; "second" and "third" never ran.
    qtbot.waitUntil(lambda: not jobs.busy("k"), timeout=5000)
    assert results == ["fourth"]
    assert jobs.dropped == 1


def test_a_result_for_a_changed_scope_is_dropped(qtbot, no_threads_left):
    import threading

    from latentlab.core.session import Side

    session = Session()
    gate = threading.Event()
    results = []
    jobs = qt_workspace(session)
    jobs.submit(
        "k", lambda: gate.wait(5) and "old", inputs=("side0",), on_result=results.append
    )
    jobs.submit(
        "other", lambda: "other side", inputs=("side1",), on_result=results.append
    )
    session.set_side(0, Side())  # what the first job read is gone
    gate.set()
    qtbot.waitUntil(lambda: not jobs.busy("k") and not jobs.busy("other"), timeout=5000)
    assert results == ["other side"]


def test_a_newer_request_stops_a_running_generator_job(qtbot, no_threads_left):
    import threading

    started = threading.Event()
    steps = []

    def slow():
        started.set()
        for i in range(500):
            steps.append(i)
            yield
            threading.Event().wait(0.01)
        return "slow"

    results = []
    jobs = qt_workspace(Session())
    jobs.submit("k", slow, on_result=results.append, on_progress=lambda _: None)
    assert started.wait(5)
    jobs.submit("k", lambda: "fast", on_result=results.append)
    qtbot.waitUntil(lambda: results == ["fast"], timeout=5000)
    assert len(steps) < 500, "the superseded generator ran to its end"


def test_a_finished_job_lets_go_of_its_arguments(qtbot, no_threads_left):
    import gc
    import weakref

    import numpy as np

    class Weights:  # stands for a model a job decodes with
        def __init__(self):
            self.array = np.zeros(1000)

    jobs = qt_workspace(Session())
    handed = []
    for _ in range(5):
        weights = Weights()
        handed.append(weakref.ref(weights))
        jobs.submit("k", lambda w: w.array.sum(), weights, on_result=lambda _v: None)
        qtbot.waitUntil(lambda: not jobs.busy("k"), timeout=5000)
        del weights
    # Its callbacks, held by the worker's Qt connections, once kept each job
    # alive. (A pool thread may still hold a worker for a moment: wait for it.)
    qtbot.waitUntil(
        lambda: gc.collect() >= 0 and all(ref() is None for ref in handed),
        timeout=2000,
    )


def test_cancel_drops_even_a_job_whose_older_results_are_kept(qtbot, no_threads_left):
    import threading

    gate = threading.Event()
    results = []
    ws = qt_workspace(Session())
    ws.submit(
        "grid",
        lambda: gate.wait(5) and "tiles",
        supersede=False,
        on_result=results.append,
    )
    ws.cancel("grid")
    gate.set()
    qtbot.waitUntil(lambda: not ws.busy("grid"), timeout=5000)
    assert results == [] and ws.dropped == 1
    assert ws.close(5000)


def test_a_cancelled_delayed_job_never_runs(qtbot, no_threads_left):
    ran = []
    ws = qt_workspace(Session())
    ws.submit("refresh1", lambda: ran.append(1), delay_s=0.2)
    assert ws.busy("refresh1")
    ws.cancel("refresh1")
    assert not ws.busy("refresh1")
    qtbot.wait(400)
    assert ran == []
    assert ws.close(5000)
