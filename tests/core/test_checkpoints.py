"""Checkpoints: exact round trips, atomic saves, a clear error for every bad file."""

from __future__ import annotations

import os
import pickle
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentlab.core.checkpoints import (
    FORMAT_VERSION,
    load_checkpoint,
    metrics_summary,
    save_checkpoint,
)
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError
from latentlab.core.latent import decode_codes
from latentlab.core.training import EpochMetrics, new_model

REPO = Path(__file__).resolve().parents[2]
CFG = ModelConfig(kind="vae", hidden=(32,), latent_dim=2)


def _history(n: int = 3) -> list[EpochMetrics]:
    return [
        EpochMetrics(
            epoch=i,
            train_loss=200.0 - i,
            train_recon=190.0 - i,
            train_kl=3.0 + i,
            test_recon=195.5 - i,
            test_kl=3.25 + i,
            seconds=0.5 * i,
            samples_per_s=1000.0 * i,
        )
        for i in range(1, n + 1)
    ]


DATASET = {
    "name": "mnist",
    "n_train": 4000,
    "n_test": 1000,
    "image_shape": [1, 28, 28],
    "class_names": [str(d) for d in range(10)],
    "digest": "0123456789abcdef",
}


def _payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _one_line(exc: pytest.ExceptionInfo[CheckpointError], path: Path) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, f"message is not one line: {msg!r}"
    assert str(path) in msg, f"message does not name the file: {msg!r}"
    return msg


@pytest.fixture
def model():
    return new_model(CFG, seed=3)


@pytest.fixture
def good(tmp_path: Path, model) -> Path:
    history = _history()
    return save_checkpoint(
        tmp_path / "good.pt",
        model,
        history=history,
        dataset=DATASET,
        metrics=metrics_summary(history),
    )


# --- round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_round_trip_decodes_bit_identically(
    tmp_path: Path, kind: str, backbone: str
) -> None:
    cfg = ModelConfig(kind=kind, backbone=backbone, hidden=(48, 24), latent_dim=3)
    original = new_model(cfg, seed=9)
    original.eval()
    path = save_checkpoint(tmp_path / "m.pt", original)
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg
    assert ckpt.path == path
    assert not ckpt.model.training
    z = torch.randn(17, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(ckpt.model.decode(z), original.decode(z))
        x = original.decode(z)
        assert torch.equal(ckpt.model.encode(x).mu, original.encode(x).mu)
    state = original.state_dict()
    for key, value in ckpt.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert (
        decode_codes(ckpt.model, z.numpy()) == decode_codes(original, z.numpy())
    ).all()


def test_history_dataset_and_metrics_survive(good: Path) -> None:
    ckpt = load_checkpoint(good)
    assert ckpt.history == _history()
    assert ckpt.epochs == 3
    assert ckpt.dataset == DATASET
    assert ckpt.metrics["test_recon"] == 192.5
    assert ckpt.metrics["test_neg_elbo"] == 192.5 + 6.25
    assert ckpt.metrics["train_seconds"] == 3.0
    assert ckpt.created.endswith("+00:00")
    assert ckpt.title() == "VAE · mnist · 2-D · β=1 · 3 epochs"


def test_saved_file_is_plain_tensors_and_primitives(good: Path) -> None:
    payload = _payload(good)  # weights_only=True: no pickled code needed
    assert payload["format"] == "latentlab-checkpoint"
    assert payload["version"] == FORMAT_VERSION
    assert payload["config"] == CFG.to_dict()
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())


def test_saved_file_honours_the_umask(good: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(good.stat().st_mode) == 0o666 & ~umask


def test_save_refuses_to_overwrite_and_keeps_the_bytes(good: Path) -> None:
    before = good.read_bytes()
    other = new_model(CFG, seed=4)
    with pytest.raises(CheckpointError, match="already exists") as info:
        save_checkpoint(good, other)
    _one_line(info, good)
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == ["good.pt"], "no temp left"
    save_checkpoint(good, other, overwrite=True)
    assert good.read_bytes() != before
    assert torch.equal(load_checkpoint(good).model.head.weight, other.head.weight)


def test_save_to_a_folder_or_missing_folder_fails(tmp_path: Path, model) -> None:
    with pytest.raises(CheckpointError, match="is a folder"):
        save_checkpoint(tmp_path, model, overwrite=True)
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(tmp_path / "nope" / "m.pt", model)


def test_save_refuses_nan_weights(tmp_path: Path, model) -> None:
    """A diverged model would write a file that load_checkpoint then refuses."""
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    target = tmp_path / "nan.pt"
    with pytest.raises(CheckpointError, match="NaN or infinite") as info:
        save_checkpoint(target, model)
    _one_line(info, target)
    assert list(tmp_path.iterdir()) == []


# --- bad files ----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist") as info:
        load_checkpoint(tmp_path / "absent.pt")
    _one_line(info, tmp_path / "absent.pt")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty \(0 bytes\)") as info:
        load_checkpoint(path)
    _one_line(info, path)


@pytest.mark.parametrize("fraction", [0.0001, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_checkpoint(good: Path, fraction: float) -> None:
    data = good.read_bytes()
    cut = max(1, int(len(data) * fraction))
    good.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch file") as info:
        load_checkpoint(good)
    _one_line(info, good)


def test_last_byte_missing(good: Path) -> None:
    data = good.read_bytes()
    good.write_bytes(data[:-1])
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_checkpoint(good)
    _one_line(info, good)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(random.Random(0).randbytes(50_000))
    # Garbage read as a legacy pickle hits an opcode the weights-only reader
    # does not know: corrupt, not a refused attempt to run code.
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch file") as info:
        load_checkpoint(path)
    _one_line(info, path)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not a model\n" * 20)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    _one_line(info, path)


def test_plain_state_dict_from_another_project(tmp_path: Path) -> None:
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)
    )
    path = tmp_path / "other.pt"
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match="not a LatentLab checkpoint") as info:
        load_checkpoint(path)
    msg = _one_line(info, path)
    assert "state_dict" in msg and "4 tensors" in msg


def test_our_own_state_dict_without_the_record(tmp_path: Path, model) -> None:
    path = tmp_path / "bare.pt"
    torch.save(model.state_dict(), path)
    with pytest.raises(CheckpointError, match="plain PyTorch state_dict"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "thing", [[1, 2, 3], torch.zeros(3), {"epoch": 3, "lr": 0.1}, "text"]
)
def test_other_torch_files(tmp_path: Path, thing: object) -> None:
    path = tmp_path / "thing.pt"
    torch.save(thing, path)
    with pytest.raises(CheckpointError, match="not a LatentLab checkpoint") as info:
        load_checkpoint(path)
    _one_line(info, path)


def _rewrite(path: Path, **changes: object) -> None:
    payload = _payload(path)
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    torch.save(payload, path)


@pytest.mark.parametrize(
    ("config_change", "words"),
    [
        ({"latent_dim": 3}, "head.weight is 4x32 in the file, 6x32 for the config"),
        ({"hidden": [64]}, "encoder.1.0.weight is 32x784 in the file, 64x784"),
        ({"hidden": [32, 16]}, "missing encoder.1.2.weight"),
        ({"kind": "ae"}, "head.weight is 4x32 in the file, 2x32 for the config"),
        ({"backbone": "conv"}, "missing encoder.0.weight"),
    ],
)
def test_config_and_weights_that_disagree(
    good: Path, config_change: dict, words: str
) -> None:
    config = {**CFG.to_dict(), **config_change}
    _rewrite(good, config=config)
    with pytest.raises(CheckpointError, match="weights do not fit its config") as info:
        load_checkpoint(good)
    msg = _one_line(info, good)
    assert words in msg


def test_config_claiming_a_huge_model_fails_fast(good: Path) -> None:
    """Shapes are checked before any weights are allocated.

    hidden=(60000, 60000) would need 3.6e9 parameters (14 GB) just to build the
    model the file claims; a tiny file must not be able to ask for that.
    """
    _rewrite(good, config={**CFG.to_dict(), "hidden": [60_000, 60_000]})
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="weights do not fit its config"):
        load_checkpoint(good)
    assert time.perf_counter() - start < 5.0


def test_expanded_weights_cannot_claim_more_than_the_file_holds(good: Path) -> None:
    """A zero-stride view can claim any shape over one stored number."""
    cfg = {**CFG.to_dict(), "hidden": [20_000]}
    state = {
        k: torch.zeros(1).expand(*shape)
        for k, shape in _shapes(ModelConfig.from_dict(cfg)).items()
    }
    _rewrite(good, config=cfg, state_dict=state)
    assert good.stat().st_size < 100_000
    with pytest.raises(CheckpointError, match="malformed weights") as info:
        load_checkpoint(good)
    _one_line(info, good)


def _shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        skeleton = new_model(cfg)
    return {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (None, "must be a mapping"),
        ({"latent_dim": 0}, "latent size"),
        ({"kind": "gan"}, "model kind"),
        ({"colour": "red"}, "unknown model config keys"),
        ({"hidden": ["wide"]}, "malformed model config"),
    ],
)
def test_invalid_config(good: Path, config: dict | None, words: str) -> None:
    _rewrite(good, config=config)
    if config is None:
        payload = _payload(good)
        assert "config" not in payload
    with pytest.raises(CheckpointError, match="invalid model config") as info:
        load_checkpoint(good)
    assert words in _one_line(info, good)


def test_unknown_future_format_version(good: Path) -> None:
    _rewrite(good, version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="newer LatentLab") as info:
        load_checkpoint(good)
    msg = _one_line(info, good)
    assert f"v{FORMAT_VERSION + 1}" in msg and "Upgrade" in msg


@pytest.mark.parametrize("version", [0, -3, "1", 1.0])
def test_invalid_format_version(good: Path, version: object) -> None:
    _rewrite(good, version=version)
    with pytest.raises(CheckpointError, match="invalid format version"):
        load_checkpoint(good)


@pytest.mark.parametrize("state", [None, [1, 2], {"head.weight": [[0.0]]}, "weights"])
def test_missing_or_malformed_weights(good: Path, state: object) -> None:
    _rewrite(good, state_dict=state)
    with pytest.raises(CheckpointError, match=r"no valid weights \(state_dict\)"):
        load_checkpoint(good)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights(good: Path, value: float) -> None:
    payload = _payload(good)
    payload["state_dict"]["decoder.0.0.weight"][0, 0] = value
    torch.save(payload, good)
    with pytest.raises(CheckpointError, match="NaN or infinite weights") as info:
        load_checkpoint(good)
    _one_line(info, good)


def test_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "model.pt"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="is a folder") as info:
        load_checkpoint(folder)
    _one_line(info, folder)


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; refuse it instead."""
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file") as info:
        load_checkpoint(fifo)
    _one_line(info, fifo)


def test_a_device_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint("/dev/zero")


class _Exploit:
    """Pickles to a call of ``os.system`` that would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "pickle-2", "pickle-5"])
def test_pickle_crafted_to_run_code_is_refused(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    payload = {"format": "latentlab-checkpoint", "version": 1, "x": _Exploit(marker)}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(_Exploit(marker), protocol=int(how[-1])))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = _one_line(info, path)
    # The stub reader sees the GLOBAL in every protocol (torch's own reader
    # stopped at protocol 4's FRAME and called the file unreadable).
    assert "refused" in msg and "system" in msg, msg
    assert "nothing in the file was executed" in msg, msg
    assert not marker.exists(), "loading a checkpoint executed code"


# --- permissions -----------------------------------------------------------------

_NOBODY = 65534
_PERMISSION_PROBE = textwrap.dedent(
    """
    import os, sys
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.errors import CheckpointError

    good, *targets = sys.argv[1:]
    load_checkpoint(good)  # every lazy import happens while we may still read them
    os.setgroups([])
    os.setresgid({uid}, {uid}, {uid})
    os.setresuid({uid}, {uid}, {uid})
    for target in targets:
        try:
            load_checkpoint(target)
            print("LOADED", target)
        except CheckpointError as exc:
            print("CheckpointError", exc)
        except BaseException as exc:
            print("OTHER", type(exc).__name__, exc)
    """
).format(uid=_NOBODY)


@pytest.fixture
def shared_dir():
    """A folder other users can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="latentlab-perm-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        sub.chmod(0o755 if sub.is_dir() else 0o644)
    shutil.rmtree(path)


def test_unreadable_file_and_folder(shared_dir: Path, model) -> None:
    """No read permission gives CheckpointError, not PermissionError.

    Root reads mode-000 files anyway (CAP_DAC_OVERRIDE), so as root a child
    process loads a good file (warming its imports), drops to user ``nobody`` and
    only then tries the unreadable ones.
    """
    good = save_checkpoint(shared_dir / "good.pt", model)
    locked = save_checkpoint(shared_dir / "locked.pt", model)
    locked.chmod(0)
    closed = shared_dir / "closed"
    closed.mkdir()
    inside = save_checkpoint(closed / "inside.pt", model)
    closed.chmod(0)
    targets = [locked, inside]
    if os.geteuid() != 0:
        for target in targets:
            with pytest.raises(CheckpointError, match="permission denied") as info:
                load_checkpoint(target)
            _one_line(info, target)
        return
    proc = subprocess.run(
        [sys.executable, "-c", _PERMISSION_PROBE, str(good), *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("running as root without CAP_SETUID: cannot drop to a user")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    for line, target in zip(lines, targets, strict=True):
        assert line.startswith("CheckpointError"), line
        assert str(target) in line and "permission denied" in line, line


# --- fuzzing ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def tiny_bytes(fuzz_dir: Path) -> bytes:
    tiny = new_model(ModelConfig(kind="vae", hidden=(8,)), seed=0)
    path = save_checkpoint(fuzz_dir / "tiny.pt", tiny, history=_history(2))
    return path.read_bytes()


def _load_or_checkpoint_error(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert "\n" not in str(exc)
        return
    for value in ckpt.model.state_dict().values():
        assert torch.isfinite(value).all()


_FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_FUZZ
@given(data=st.binary(max_size=4096))
def test_fuzz_random_bytes(fuzz_dir: Path, data: bytes) -> None:
    _load_or_checkpoint_error(fuzz_dir / "random.pt", data)


@st.composite
def _mutations(draw: st.DrawFn) -> list[tuple[str, float, bytes]]:
    ops = st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]),
        st.floats(0.0, 1.0),
        st.binary(min_size=1, max_size=16),
    )
    return draw(st.lists(ops, min_size=1, max_size=3))


def _mutate(data: bytes, ops: list[tuple[str, float, bytes]]) -> bytes:
    buf = bytearray(data)
    for op, where, chunk in ops:
        at = min(int(where * len(buf)), max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[at] ^= chunk[0] or 0x80
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = chunk
        elif op == "delete":
            del buf[at : at + len(chunk)]
        else:
            buf[at : at + len(chunk)] = chunk
    return bytes(buf)


@_FUZZ
@given(ops=_mutations())
def test_fuzz_mutated_checkpoint(fuzz_dir: Path, tiny_bytes: bytes, ops) -> None:
    _load_or_checkpoint_error(fuzz_dir / "mutated.pt", _mutate(tiny_bytes, ops))


def test_fuzz_seed_is_a_loadable_checkpoint(fuzz_dir: Path, tiny_bytes: bytes) -> None:
    path = fuzz_dir / "seed.pt"
    path.write_bytes(tiny_bytes)
    assert load_checkpoint(path).epochs == 2


# --- killed mid-save --------------------------------------------------------------

# One child imports torch once (seconds) and forks a fresh saver per round
# (milliseconds), so ten rounds of "kill at a random moment" stay quick.
_SAVER = textwrap.dedent(
    """
    import os, sys
    import torch
    torch.set_num_threads(1)
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.training import new_model

    path = sys.argv[1]
    model = new_model(ModelConfig(), seed=0)  # ~4 MB: a wide window to die in
    print("ready", flush=True)
    for line in sys.stdin:
        round_ = int(line)
        pid = os.fork()
        if pid == 0:
            i = 0
            while True:
                save_checkpoint(
                    path, model, metrics={"round": round_, "i": i}, overwrite=True
                )
                i += 1
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_mid_save_never_leaves_a_half_written_file(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    save_checkpoint(target, new_model(ModelConfig(), seed=0), metrics={"round": -1})
    reference = load_checkpoint(target).model.state_dict()
    rng = random.Random(1234)
    proc = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    rounds_seen = []
    try:
        assert proc.stdout.readline().strip() == "ready"
        for round_ in range(10):
            proc.stdin.write(f"{round_}\n")
            proc.stdin.flush()
            pid = int(proc.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.3))
            os.kill(pid, signal.SIGKILL)
            assert proc.stdout.readline().strip() == "reaped"
            ckpt = load_checkpoint(target)  # must never be half-written
            state = ckpt.model.state_dict()
            assert all(torch.equal(v, reference[k]) for k, v in state.items())
            assert ckpt.metrics["round"] in (*range(round_ + 1), -1)
            rounds_seen.append(int(ckpt.metrics["round"]))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
    strays = sorted(p.name for p in tmp_path.glob(".model.pt.latentlab-tmp-*"))
    others = {p.name for p in tmp_path.iterdir()} - {"model.pt", *strays}
    print(
        f"\nafter 10 SIGKILLs: rounds on disk {rounds_seen}; {len(strays)} stray temp"
    )
    assert not others, others
    assert rounds_seen.count(-1) < 10, "no save ever completed: kills came too early"
    # The next save into the folder removes what the killed savers left.
    save_checkpoint(tmp_path / "other.pt", new_model(CFG))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "other.pt"]


# --- structural fuzzing: valid zips and pickles, hostile contents -----------------

_INTERNAL = ("pop from", "has no attribute", "NoneType", "unhashable", "<class", "Stub")
_TENSORS = st.builds(
    lambda dtype, shape, how: _odd_tensor(dtype, tuple(shape), how),
    st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool]),
    st.lists(st.integers(0, 6), max_size=3),
    st.sampled_from(["plain", "transposed", "expanded", "sliced"]),
)
_HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2, 3, 28, 10**9, 2**31, 2**63]),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(["\x1b[2J\x1b[H", "\u202eevil", "a\r\nb", "x" * 5000, "vae"]),
    st.lists(st.integers(-5, 100), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    _TENSORS,
)
_TOP = ["format", "version", "created", "config", "state_dict", "history", "dataset"]
_TOP += ["metrics", "latentlab_version", "extra"]


def _odd_tensor(dtype: torch.dtype, shape: tuple[int, ...], how: str) -> torch.Tensor:
    t = torch.ones(shape, dtype=dtype)
    if how == "transposed" and t.dim() >= 2:
        return t.transpose(0, 1)
    if how == "expanded" and t.dim() >= 1:
        return torch.ones(1, dtype=dtype).expand(*shape)
    if how == "sliced" and t.dim() >= 1:
        return t[::2]
    return t


@st.composite
def _structural_edits(draw: st.DrawFn) -> list[tuple[str, object, object]]:
    where = st.sampled_from(["top", "config", "dataset", "metrics", "row", "state"])
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        place = draw(where)
        if place == "top":
            key = draw(st.sampled_from(_TOP))
        elif place == "config":
            key = draw(st.sampled_from([f.name for f in fields(ModelConfig)]))
        elif place == "row":
            key = draw(st.sampled_from([f.name for f in fields(EpochMetrics)]))
        elif place == "state":
            key = draw(st.sampled_from(["head.weight", "head.bias", "x.weight"]))
        else:
            key = draw(st.sampled_from(["name", "source", "n_train", "class_names"]))
        edits.append((place, key, draw(_TENSORS if place == "state" else _HOSTILE)))
    return edits


def _apply(payload: dict, edits: list[tuple[str, object, object]]) -> dict:
    out = {**payload, "config": dict(payload["config"])}
    out["state_dict"] = dict(payload["state_dict"])
    out["history"] = [dict(r) for r in payload["history"]]
    out["dataset"] = dict(payload["dataset"])
    out["metrics"] = dict(payload["metrics"])
    for place, key, value in edits:
        if place == "top":
            out[key] = value
        elif place == "row":
            rows = out["history"]
            if isinstance(rows, list) and rows and isinstance(rows[0], dict):
                rows[0][key] = value
        elif place == "state":
            if isinstance(out["state_dict"], dict):
                out["state_dict"][key] = value
        else:
            target = out[place] if isinstance(out.get(place), dict) else {}
            target[key] = value
    return out


@pytest.fixture(scope="module")
def tiny_payload(fuzz_dir: Path, tiny_bytes: bytes) -> dict:
    path = fuzz_dir / "tiny-payload.pt"
    path.write_bytes(tiny_bytes)
    payload = _payload(path)
    payload["dataset"] = dict(DATASET)
    return payload


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=_structural_edits())
def test_fuzz_structurally_valid_hostile_fields(
    fuzz_dir: Path, tiny_payload: dict, edits
) -> None:
    """Any field replaced by any value: a CheckpointError in words, or a sound load."""
    path = fuzz_dir / "structural.pt"
    torch.save(_apply(tiny_payload, edits), path)
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        msg = str(exc)
        assert "\n" not in msg and "\x1b" not in msg, msg
        assert str(path) in msg and len(msg) < 500, msg
        assert not any(w in msg for w in _INTERNAL), msg
        return
    assert all(torch.isfinite(v).all() for v in ckpt.model.state_dict().values())
    assert "\x1b" not in ckpt.title()
