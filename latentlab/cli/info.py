"""``latentlab info FILE``: a checkpoint's config, dataset record and history,
every string from the file printed escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


def cmd_info(opts: argparse.Namespace) -> int:
    """``latentlab info FILE``. Every string from the file is printed escaped."""
    from latentlab.core.analysis.likelihood import likelihood_note
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.text import printable, printable_path

    ckpt = load_checkpoint(opts.file)
    cfg = ckpt.config
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    print(f"{printable_path(ckpt.path)}: {ckpt.title()}")
    print(
        f"  model     {cfg.kind} · backbone {cfg.backbone} · latent {cfg.latent_dim} · "
        f"hidden {','.join(map(str, cfg.hidden))} · β {cfg.beta:g} · "
        f"image {'×'.join(map(str, cfg.image_shape))} (C×H×W) · "
        f"{n_params:,} parameters"
    )
    print(f"  p(x|z)    {likelihood_note(ckpt.model)}")
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
