"""Issue 32: ``latentlab train`` on several processes (gloo on this CPU): the
same run as one process with the global batch, rank 0 alone writing, a failure
named in one line, and no port opened beyond the loopback interface."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from latentlab.cli import main
from latentlab.core import distributed
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.errors import DataError, TrainingError

REPO = Path(__file__).resolve().parents[2]


def test_shards_cover_each_image_once_without_padding():
    for n in (0, 1, 5, 127, 128):
        for world in (1, 2, 3):
            parts = [distributed.shard(n, r, world) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
            sizes = [hi - lo for lo, hi in parts]
            assert max(sizes) - min(sizes) <= 1


def _train(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / f"{name}.pt"
    argv = ["train", "--dataset", "shapes", "--hidden", "32", "--epochs", "1"]
    argv += ["--device", "cpu", "--out", str(out), *args]
    assert main(argv) == 0
    return out


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_two_processes_of_64_are_one_of_128(tmp_path, capfd, kind):
    one = load_checkpoint(
        _train(tmp_path, "one", "--model", kind, "--batch-size", "128")
    )
    two = load_checkpoint(
        _train(tmp_path, "two", "--model", kind, "--batch-size", "64", "--nproc", "2")
    )
    out = capfd.readouterr().out  # the processes' output too
    assert "on 2 processes" in out and "done on 2 processes (cpu)" in out
    a, b = one.model.state_dict(), two.model.state_dict()
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=2e-5)
    (m1,), (m2,) = one.history, two.history
    # The test pass covers the whole test set once: the same figures.
    assert m2.test_recon == pytest.approx(m1.test_recon, rel=1e-5)
    assert m2.test_kl == pytest.approx(m1.test_kl, rel=1e-4, abs=1e-6)
    assert m2.train_loss == pytest.approx(m1.train_loss, rel=1e-5)


def _failing(rank: int, world: int, store: str, folder: str) -> None:
    group = distributed.join("cpu", rank=rank, world=world, store_path=store)
    if group.rank == 1:
        raise DataError("the disk holding the data went away")
    distributed.barrier()  # rank 0 waits for the one that failed


def test_a_failure_names_its_process_and_ends_the_run_in_seconds(tmp_path):
    start = time.perf_counter()
    with pytest.raises(TrainingError) as err:
        distributed.spawn_local(_failing, 2, str(tmp_path))
    assert str(err.value) == (
        "process 1 of 2 failed: DataError: the disk holding the data went away"
    )
    assert time.perf_counter() - start < 20


def _listening(rank: int, world: int, store: str, folder: str) -> None:
    distributed.join("cpu", rank=rank, world=world, store_path=store)
    distributed.barrier()
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the listing's own descriptor, closed since
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in mine:  # LISTEN, this process's
                found.append(cols[1].split(":")[0])
    Path(folder, f"listening-{rank}").write_text("\n".join(found))
    distributed.barrier()
    distributed.leave()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_nproc_opens_no_port_beyond_the_loopback(tmp_path):
    distributed.spawn_local(_listening, 2, str(tmp_path))
    loopback = {"0100007F", "00000000000000000000000001000000"}
    for rank in range(2):
        addresses = (tmp_path / f"listening-{rank}").read_text().split()
        assert addresses, "gloo listens somewhere"
        assert set(addresses) <= loopback, addresses


def test_torchrun_runs_it_and_rank_0_alone_writes(tmp_path):
    out = tmp_path / "run.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", "2", "-m", "latentlab", "train", "--dataset",
            "shapes", "--model", "vae", "--hidden", "32", "--epochs", "1",
            "--batch-size", "64", "--device", "cpu", "--out", str(out),
        ],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("epoch   1") == 1  # rank 0 alone prints
    assert proc.stdout.count("saved") == 1
    assert load_checkpoint(out).history[0].epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_bad_process_counts_are_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "x.pt"
    with pytest.raises(SystemExit) as end:
        main(["train", "--dataset", "shapes", "--nproc", "0", "--out", str(out)])
    assert end.value.code == 2
    assert "--nproc must be from 1 to 64, not 0" in capsys.readouterr().err
    assert not out.exists()


def test_resume_ends_where_the_uninterrupted_run_ends(tmp_path, capfd):
    # The KL's warm-up spans both epochs: the resumed run must go on rising.
    common = ["--model", "vae", "--batch-size", "128", "--kl-warmup", "2"]
    straight = load_checkpoint(
        _train(tmp_path, "straight", *common, "--epochs", "2", "--nproc", "1")
    )
    # The first epoch on 2 processes of 64, the second resumed on 1 of 128.
    half = _train(
        tmp_path, "half", "--model", "vae", "--batch-size", "64", "--nproc", "2",
        "--kl-warmup", "2",
    )  # fmt: skip
    assert load_checkpoint(half).resume.epoch == 1
    resumed = load_checkpoint(
        _train(tmp_path, "resumed", *common, "--epochs", "2", "--resume", str(half))
    )
    assert [m.epoch for m in resumed.history] == [1, 2]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=2e-5)
    assert resumed.history[1].test_recon == pytest.approx(
        straight.history[1].test_recon, rel=1e-5
    )
    assert resumed.resume.epoch == 2 and resumed.resume.step == straight.resume.step
    assert "from epoch 2" in capfd.readouterr().out


def test_a_resume_that_would_be_another_run_is_refused(tmp_path, capsys):
    half = _train(tmp_path, "half", "--batch-size", "128", "--nproc", "1")
    capsys.readouterr()
    base = ["train", "--dataset", "shapes", "--hidden", "32", "--device", "cpu"]
    argv = [*base, "--epochs", "2", "--batch-size", "64", "--resume", str(half)]
    assert main([*argv, "--out", str(tmp_path / "b.pt")]) == 2
    assert "global batch of 128" in capsys.readouterr().err
    argv = [*base, "--epochs", "1", "--batch-size", "128", "--resume", str(half)]
    assert main([*argv, "--out", str(tmp_path / "c.pt")]) == 2
    assert "pass --epochs above 1" in capsys.readouterr().err
    argv = [*base, "--epochs", "2", "--batch-size", "128", "--kl-warmup", "3"]
    assert main([*argv, "--resume", str(half), "--out", str(tmp_path / "w.pt")]) == 2
    assert "--kl-warmup 0 (not 3)" in capsys.readouterr().err
    plain = _train(tmp_path, "plain", "--batch-size", "128")  # one process, no state
    argv = [*base, "--epochs", "2", "--batch-size", "128", "--resume", str(plain)]
    assert main([*argv, "--out", str(tmp_path / "d.pt")]) == 2
    assert "holds no training state" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in ("b.pt", "c.pt", "d.pt"))


def test_bf16_autocast_keeps_the_figures_within_one_percent(tmp_path):
    common = ["--model", "vae", "--batch-size", "256", "--nproc", "1"]
    exact = load_checkpoint(_train(tmp_path, "f32", *common)).history[0]
    half = load_checkpoint(_train(tmp_path, "bf16", *common, "--bf16")).history[0]
    assert half.test_neg_elbo == pytest.approx(exact.test_neg_elbo, rel=0.01)
    assert half.test_neg_elbo != exact.test_neg_elbo  # it did run in bfloat16


def test_a_process_failing_under_torchrun_says_which_in_one_line(monkeypatch, capsys):
    from latentlab.cli import train_distributed
    from latentlab.core.training_run import TrainSpec

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)  # its rendezvous cannot start
    job = {"spec": dataclasses.asdict(TrainSpec(device="cpu")), "resume": None}
    assert train_distributed.under_torchrun(job, None) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("latentlab: process 1 of 2 failed: ")


def test_a_sharded_run_to_safetensors_saves_its_weights_without_the_state(tmp_path):
    out = _train(tmp_path, "weights", "--batch-size", "256", "--nproc", "1")
    out = out.rename(tmp_path / "ignored.pt")  # (a .pt to compare with)
    light = tmp_path / "light.safetensors"
    argv = ["train", "--dataset", "shapes", "--hidden", "32", "--epochs", "1"]
    argv += ["--device", "cpu", "--batch-size", "256", "--nproc", "1"]
    assert main([*argv, "--out", str(light)]) == 0
    saved = load_checkpoint(light)
    assert saved.resume is None and saved.history[0].epoch == 1
    a, b = load_checkpoint(out).model.state_dict(), saved.model.state_dict()
    for key in a:
        torch.testing.assert_close(b[key], a[key])
