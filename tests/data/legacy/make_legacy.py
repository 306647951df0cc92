"""How the files beside this one were made (at the commit named in README.md).

They are kept as written then and never regenerated: each later change to the
checkpoint format must still open them (tests/core/test_legacy_checkpoints.py).
``expected.json`` holds what they opened to when they were made. Rerun only to
add a file for a new format version, into a new folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch

from latentlab.core.checkpoints import load_checkpoint, metrics_summary, save_checkpoint
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.data import make_shapes
from latentlab.core.training import new_model, train

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 over the state dict's names and float32 bytes, in order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def record(path: Path) -> dict:
    ckpt = load_checkpoint(path)
    cfg = ckpt.config
    return {
        "kind": cfg.kind,
        "backbone": cfg.backbone,
        "latent_dim": cfg.latent_dim,
        "hidden": list(cfg.hidden),
        "beta": cfg.beta,
        "image_shape": list(cfg.image_shape),
        "dataset": ckpt.dataset.get("name"),
        "epochs": [m.epoch for m in ckpt.history],
        "last_neg_elbo": ckpt.history[-1].test_neg_elbo if ckpt.history else None,
        "timeline_epochs": None if ckpt.timeline is None else ckpt.timeline.count,
        "origin": ckpt.origin,
        "weights": weights_digest(ckpt.model),
        "decoded_at_zero": decoded_at_zero(ckpt.model),
    }


@torch.no_grad()
def decoded_at_zero(model) -> list[float]:
    """The decoder's pixel means at z = 0: mean, first and last pixel."""
    pixels = torch.sigmoid(model.decode_logits(torch.zeros(1, model.config.latent_dim)))
    flat = pixels.reshape(-1)
    return [round(float(v), 6) for v in (flat.mean(), flat[0], flat[-1])]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=False)
    shutil.copy(REPO / "models" / "shapes-vae-2d.pt", out / "shapes-vae-2d.pt")
    shutil.copy(REPO / "models" / "mnist-ae-8d.pt", out / "mnist-ae-8d.pt")
    data = make_shapes(n_train=512, n_test=128)
    model = new_model(ModelConfig(kind="vae", hidden=(32,), latent_dim=3), seed=7)
    run = train(model, data, TrainConfig(epochs=2, batch_size=64, threads=1))
    while True:
        try:
            next(run)
        except StopIteration as stop:
            result = stop.value
            break
    for name in ("small-vae-3d.pt", "small-vae-3d.safetensors"):
        save_checkpoint(
            out / name,
            model,
            history=result.histories[0],
            dataset=data.identity(),
            metrics=metrics_summary(result.histories[0]),
            timeline=result.timelines[0],
        )
    torch.manual_seed(3)  # pytorch/examples' VAE layout, saved as a bare state dict
    h, d = 48, 2
    layers = {
        "fc1": (784, h),
        "fc21": (h, d),
        "fc22": (h, d),
        "fc3": (d, h),
        "fc4": (h, 784),
    }
    state = {}
    for name, (n_in, n_out) in layers.items():
        state[f"{name}.weight"] = torch.randn(n_out, n_in) * 0.05
        state[f"{name}.bias"] = torch.randn(n_out) * 0.01
    torch.save(state, out / "examples-vae.pth")
    expected = {p.name: record(p) for p in sorted(out.iterdir())}
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main(HERE / sys.argv[1])
