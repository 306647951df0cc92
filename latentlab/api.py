"""LatentLab's Python API, for scripts and notebooks: bring a model, look at it,
measure it. Reached as ``latentlab.<name>`` (loaded on first use).

>>> import latentlab
>>> model = latentlab.wrap(my_vae, image_shape=(1, 28, 28))     # doctest: +SKIP
>>> latentlab.evaluate(model, x_test)["neg_elbo"]               # doctest: +SKIP
104.2
>>> ws = latentlab.view(model, images=x_test, labels=y_test)    # doctest: +SKIP
>>> latentlab.run()                                             # doctest: +SKIP

Every function but :func:`view` and :func:`run` works without Qt or a display.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from latentlab.core.analysis.diagnostics import AggregatePosterior, UnitStats
    from latentlab.core.analysis.evaluation import Evaluation
    from latentlab.core.analysis.pair_statistics import ManyPairs
    from latentlab.core.latent import Codes
    from latentlab.core.reparam import EstimatorVariance
    from latentlab.core.workspace import Workspace

# Windows opened by view(): kept referenced so Python does not collect them.
_WINDOWS: list[Any] = []


def _shared_data(models: Sequence[Any], images: Any, labels: Any = None):
    """``models`` as views read them and ``images`` as one dataset for all:
    float images are read in the models' pixel range, so models of different
    ranges need uint8 images."""
    from latentlab.core.datasets.arrays import dataset_from_arrays
    from latentlab.core.wrap import as_latent_model

    shown = [as_latent_model(m, images) for m in models]
    ranges = {getattr(m, "module_range", (0.0, 1.0)) for m in shown}
    if len(ranges) > 1 and "uint8" not in str(getattr(images, "dtype", "")):
        raise ConfigError(
            "the models read different pixel ranges "
            f"({', '.join(map(str, sorted(ranges)))}): give the images as uint8 "
            "levels 0-255"
        )
    dataset = dataset_from_arrays(images, labels, value_range=next(iter(ranges)))
    for model in shown:
        if dataset.image_shape != tuple(model.image_shape):
            raise ConfigError(
                f"the images are {dataset.image_shape} (C, H, W); the model reads "
                f"{tuple(model.image_shape)}"
            )
    return [m.eval() for m in shown], dataset


def _model_and_data(model: Any, images: Any, labels: Any = None):
    (shown,), dataset = _shared_data([model], images, labels)
    return shown, dataset


def load(path: str | os.PathLike[str]) -> Any:
    """A model from a LatentLab file (``.pt``, ``.safetensors``), a state dict
    in a layout LatentLab recognises, or a pythae folder; no code in the file
    runs.

    Example: ``model = latentlab.load("models/mnist-vae-2d.pt")``.
    """
    from latentlab.core.checkpoints import load_checkpoint

    return load_checkpoint(path).model


def evaluate(
    model: Any,
    images: Any,
    *,
    k: int = 1000,
    seed: int = 0,
    method: str = "auto",
) -> Evaluation:
    """The figures ``latentlab evaluate`` prints, under the same names, as a
    ``dict`` (``neg_elbo``, ``recon_mu``, ``kl``, ``kl_dim1``, …,
    ``active_units``, ``path_hole_share``, ``log_px``, ``gap``; an AE has
    ``recon_mu`` and ``code_var_dim*`` instead of the bound's terms).

    ``images``: ``(N, C, H, W)`` or ``(N, H, W)``, uint8 or floats in the
    model's pixel range (kept as 8-bit levels), or a torch ``Dataset``.
    ``.notes`` says what each figure measures, ``.likelihood`` with which
    p(x|z) (a Gaussian's σ is fitted on these images when the model has none).
    ``k``, ``method``: log p(x)'s importance samples and method ("auto":
    quadrature for a 2-D latent, else importance sampling).

    Example
    -------
    >>> ev = latentlab.evaluate(model, x_test)          # doctest: +SKIP
    >>> ev["neg_elbo"], ev.notes["neg_elbo"]            # doctest: +SKIP
    (104.2, 'recon at samples + KL, 1 z ~ q(z|x) per image')
    """
    from latentlab.core.analysis.evaluation import evaluate_model
    from latentlab.core.wrap import fit_sigma, needs_sigma

    model, dataset = _model_and_data(model, images)
    if needs_sigma(model):  # fitted on these images, unless the user fitted it
        fit_sigma(model, dataset.test_images, automatic=True)
    n = len(dataset.test_images)
    return evaluate_model(
        model,
        dataset.test_images,
        k=k,
        seed=seed,
        method=method,
        data=f"{n:,} images given",
    )


def encode(model: Any, images: Any) -> Codes:
    """The codes of ``images``: ``.mu`` ``(N, d)`` and ``.sigma`` (None for
    an AE), numpy float32.

    Example: ``latentlab.encode(model, x_test).mu.shape`` -> ``(10000, 2)``.
    """
    from latentlab.core.latent import encode_images

    model, dataset = _model_and_data(model, images)
    return encode_images(model, dataset.test_images)


def decode(model: Any, z: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Decode codes ``z`` ``(N, d)`` to the images' means in [0, 1]: ``(N, H,
    W)`` grey or ``(N, H, W, 3)`` colour, ready for ``plt.imshow``.

    Example: ``latentlab.decode(model, [[0.0, 0.0]])[0]``.
    """
    from latentlab.core.latent import decode_codes
    from latentlab.core.wrap import as_latent_model

    # Full precision: the display path may compute in bfloat16.
    return decode_codes(as_latent_model(model).eval(), z, for_display=False)


def diagnostics(model: Any, images: Any) -> tuple[UnitStats, AggregatePosterior | None]:
    """Per-dim activity and KL over ``images`` (:class:`UnitStats`: ``.active``,
    ``.mu_variance``, ``.kl_per_dim``) and, for a 2-D latent, the aggregate
    posterior q(z) against N(0, I) (``.hole_share``, ``.kl``); None otherwise.

    Example: ``units, agg = latentlab.diagnostics(model, x_test)``.
    """
    from latentlab.core.analysis.diagnostics import aggregate_posterior, unit_stats

    codes = encode(model, images)
    units = unit_stats(codes)
    agg = aggregate_posterior(codes) if codes.mu.shape[1] == 2 else None
    return units, agg


def interpolation_stats(
    ae: Any,
    vae: Any,
    images: Any,
    labels: Any = None,
    *,
    pairs: int = 200,
    steps: int = 12,
    seed: int = 0,
) -> ManyPairs:
    """Claim (1) measured: the same ``pairs`` random pairs of ``images``
    interpolated in both models; per pair the jump ratio, the latent-density
    ratio and (with ``labels`` of 2+ classes) a classifier's confidence.
    ``.fraction_worse(figure)`` is the share of pairs where the AE's path is
    further from the data; ``.median(kind, figure)``.

    Example
    -------
    >>> s = latentlab.interpolation_stats(ae, vae, x_test, y_test)  # doctest: +SKIP
    >>> s.fraction_worse("jump_ratio")                              # doctest: +SKIP
    0.76
    """
    from latentlab.core.analysis.pair_statistics import many_pairs
    from latentlab.core.steps import run_steps

    (ae_model, vae_model), dataset = _shared_data([ae, vae], images, labels)
    return run_steps(
        many_pairs(
            [("AE", ae_model), ("VAE", vae_model)],
            dataset,
            n_pairs=pairs,
            steps=steps,
            seed=seed,
            realism=labels is not None,
        )
    )


def gradient_variances(
    model: Any,
    image: Any,
    *,
    counts: Sequence[int] = (1, 4, 16, 64, 256),
    repeats: int = 64,
    seed: int = 0,
) -> EstimatorVariance:
    """Claim (2) measured on one image: the variance of the reparameterized
    gradient of E_q[log p(x|z)] in μ and σ against the score-function
    estimator's (with and without a baseline), at each sample count, by
    autograd through the model's own decoder.

    ``image``: ``(C, H, W)`` or ``(H, W)``, as :func:`evaluate` reads images.

    Example
    -------
    >>> v = latentlab.gradient_variances(vae, x_test[0])      # doctest: +SKIP
    >>> v.var_score / v.var_reparam                           # doctest: +SKIP
    """
    import torch

    from latentlab.core.reparam import estimator_variances
    from latentlab.core.wrap import sigma_unknown

    batch = image[None] if hasattr(image, "shape") else [image]
    model, dataset = _model_and_data(model, batch)
    if not model.is_variational:
        raise ConfigError("an AE has no σ: the gradient path needs a VAE")
    if sigma_unknown(model):
        raise ConfigError(
            "this model's Gaussian p(x|z) has no σ yet: fit it on held-out images "
            "first (model.fit_sigma(test_images), or latentlab.evaluate)"
        )
    return estimator_variances(
        model,
        dataset.test_images[0],
        tuple(counts),
        repeats=repeats,
        generator=torch.Generator().manual_seed(seed),
    )


def save(model: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Save ``model`` as a LatentLab file (``.safetensors`` or ``.pt``, by the
    suffix): its weights, config and likelihood (a fitted σ included), written
    atomically; an existing file is replaced only with ``overwrite``.

    A wrapped module is saved when LatentLab can rebuild its architecture
    (LatentLab's own, pytorch/examples' VAE, the Sequential MLP AE, pythae's
    default MLPs; checked to give the same outputs); otherwise a
    :class:`~latentlab.core.errors.ConfigError` says it stays usable from
    Python only.

    Example: ``latentlab.save(model, "my-vae.safetensors")``.
    """
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.wrap import as_latent_model, rebuildable, sigma_unknown

    model = as_latent_model(model)
    rebuilt = rebuildable(model)
    if rebuilt is None:
        name = getattr(model, "name", type(model).__name__)
        raise ConfigError(
            f"LatentLab cannot rebuild {name} from a file: its architecture is not "
            "one of LatentLab's. It stays usable from Python only (latentlab.wrap "
            "it again after loading it); save its weights with "
            "torch.save(module.state_dict(), path)"
        )
    if sigma_unknown(model):
        raise ConfigError(
            "this model's Gaussian p(x|z) has no σ yet, and a file holds one: fit "
            "it first (model.fit_sigma(test_images))"
        )
    return save_checkpoint(Path(path), rebuilt, overwrite=overwrite)


def view(
    *models: Any,
    images: Any = None,
    labels: Any = None,
    names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> Workspace:
    """Open the window on ``models`` (one or two: they are shown side by side)
    with ``images`` as their test set, and return its workspace at once.

    The workspace is the handle: add or replace models
    (``ws.show_model(m, images, slot=1)``), pick inputs (``ws.pick(3)``),
    decode (``ws.decode(0.5, -1.0)``), read results (``ws.slots[0].codes``).
    Call :func:`run` in a script to keep the window open; in IPython or
    Jupyter, ``%gui qt`` first and the window lives beside the notebook.

    Example
    -------
    >>> ws = latentlab.view(ae, vae, images=x_test, labels=y_test)  # doctest: +SKIP
    >>> latentlab.run()                                             # doctest: +SKIP
    """
    if not 1 <= len(models) <= 2:
        raise ConfigError(
            f"view() shows one or two models side by side, not {len(models)}; "
            "call view() again for more"
        )
    if names is not None and len(names) != len(models):
        raise ConfigError(f"{len(names)} names for {len(models)} models")
    from latentlab.core.wrap import as_latent_model
    from latentlab.qt.app import configure_app, create_window, new_application

    shown, dataset = list(models), None
    if images is not None:
        shown, dataset = _shared_data(models, images, labels)
        if class_names:
            dataset = dataclasses.replace(dataset, class_names=tuple(class_names))
    else:
        shown = [as_latent_model(m) for m in models]
    app = new_application(sys.argv[:1])
    configure_app(app)
    window = create_window([], None, load=False)
    workspace = window.controller.workspace
    for slot, model in enumerate(shown):
        name = names[slot] if names is not None else None
        if name and hasattr(model, "name"):
            model.name = name
        workspace.show_model(model, dataset, slot=slot)
    window.show()
    _WINDOWS.append(window)
    if os.environ.get("LATENTLAB_QUIT_WHEN_READY"):
        from latentlab.qt.app import quit_when_ready

        quit_when_ready(window, len(shown))
    return workspace


def _ipython_runs_qt() -> bool:
    """True inside IPython with ``%gui qt``: its loop already runs Qt's."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return bool(shell is not None and getattr(shell, "active_eventloop", None))


def run() -> int:
    """Run the event loop until every window :func:`view` opened is closed,
    as ``napari.run()`` does; returns at once when none is open or IPython's
    ``%gui qt`` already runs the loop. With ``LATENTLAB_QUIT_WHEN_READY=1``
    the windows close once their models are shown.

    Example: ``latentlab.view(model, images=x); latentlab.run()``.
    """
    _WINDOWS[:] = [w for w in _WINDOWS if w.isVisible()]
    if not _WINDOWS or _ipython_runs_qt():
        return 0
    from latentlab.qt.app import new_application
    from latentlab.qt.jobs import await_all

    app = new_application(sys.argv[:1])
    code = app.exec()
    await_all(3000)
    return code
