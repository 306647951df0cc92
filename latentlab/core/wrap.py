"""Any encoder/decoder module from Python, adapted to LatentLab's model interface.

:func:`wrap` takes a ``torch.nn.Module`` (or a pair of callables) written
anywhere — PyTorch-VAE's ``VanillaVAE``, a pythae model, a Keras-style module
with ``encoder``/``decoder`` submodules, pytorch/examples' VAE — and returns a
:class:`WrappedModel` that every view and analysis reads as it reads
LatentLab's own models: it takes images in [0, 1], gives codes ``(B, d)`` and
the likelihood's parameters.

Only what is unambiguous is inferred, by running the module once on a probe:

- the pixels' range from the decoder's last operation in the autograd graph
  (``tanh`` -> [-1, 1], ``sigmoid`` -> [0, 1]); anything else is asked for;
- AE or VAE from what the encoder returns (one tensor, or two);
- the latent size from the codes' shape.

The rest is asked for with an error that names the argument to pass.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from latentlab.core.errors import ConfigError
from latentlab.core.model_interface import BERNOULLI, Gaussian, Likelihood
from latentlab.core.models import Encoding, ForwardOutput, reparameterize

SCALES = ("log_var", "log_sigma", "sigma")
"""What a variational encoder's second output is."""
WRAP_LIKELIHOODS = ("bernoulli", "gaussian")
# Bernoulli probabilities are read as logits of p kept this far from 0 and 1
# (a decoder's saturated sigmoid would otherwise give infinite losses).
_P_FLOOR = 1e-6
# The autograd nodes that only reshape: the operation before them made the output.
_VIEW_NODES = (
    "View",
    "Reshape",
    "UnsafeView",
    "Unsqueeze",
    "Squeeze",
    "Permute",
    "Clone",
    "Contiguous",
    "Transpose",
    "Expand",
    "AsStrided",
)


@dataclass(frozen=True, slots=True)
class WrappedConfig:
    """What LatentLab knows of a wrapped module: the fields views read from a
    model's config (LatentLab cannot rebuild the module from it)."""

    kind: str
    latent_dim: int
    image_shape: tuple[int, int, int]
    likelihood: str
    activations: int  # values one decoded point holds across the decoder
    backbone: str = "wrapped"
    beta: float = 1.0
    hidden: tuple[int, ...] = ()

    @property
    def pixels(self) -> int:
        """Number of values in one image."""
        c, h, w = self.image_shape
        return c * h * w


class FittedGaussian(Gaussian):
    """A Gaussian on [0, 1] pixels around the decoder's mean, with one σ
    fitted by maximum likelihood (:func:`fit_sigma`)."""

    def __init__(
        self,
        log_scale: torch.Tensor,
        source: str,
        module_range: str = "",
        *,
        squash: bool = False,
    ) -> None:
        super().__init__(log_scale, squash=squash)
        self.source = source
        self.module_range = module_range

    def describe(self) -> str:
        """``"Gaussian, one σ fitted by maximum likelihood on 1,000 images"``."""
        where = (
            f"; the module's pixels in {self.module_range}" if self.module_range else ""
        )
        return f"Gaussian, one σ {self.source}{where}"


def _node_name(fn: Any) -> str:
    return type(fn).__name__ if fn is not None else ""


def _final_operation(out: torch.Tensor) -> str:
    """The autograd node that made ``out``, past reshapes: ``"Tanh"``,
    ``"Sigmoid"`` or another name ("" without a graph)."""
    fn = out.grad_fn
    while fn is not None and _node_name(fn).startswith(_VIEW_NODES):
        inputs = [f for f, _ in fn.next_functions if f is not None]
        if len(inputs) != 1:
            break
        fn = inputs[0]
    return _node_name(fn).removesuffix("Backward0").removesuffix("Backward1")


def _field(out: Any, name: str) -> Any:
    if isinstance(out, Mapping):
        return out.get(name)
    return getattr(out, name, None)


def _encoding_parts(out: Any) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
    """What an encoder returned -> ``(mu, second output or None, second_is_log_var)``.

    Understood: a tensor (an AE's code); a pair ``(mu, scale)`` (a list too, as
    PyTorch-VAE returns); pythae's output object (``embedding``,
    ``log_covariance``: a log-variance by pythae's definition)."""
    if isinstance(out, torch.Tensor):
        return out, None, False
    embedding = _field(out, "embedding")
    if isinstance(embedding, torch.Tensor):
        log_cov = _field(out, "log_covariance")
        return embedding, log_cov if isinstance(log_cov, torch.Tensor) else None, True
    if isinstance(out, Sequence) and not isinstance(out, str):
        if len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out):
            return out[0], out[1], False
        raise ConfigError(
            f"the encoder returned {len(out)} values; LatentLab reads a code tensor "
            "or a pair (mu, scale). Pass encode=lambda x: ... that returns one of those"
        )
    raise ConfigError(
        f"the encoder returned {type(out).__name__}; LatentLab reads a tensor, a "
        "pair (mu, scale) or pythae's output (embedding, log_covariance)"
    )


def _decoded(out: Any) -> torch.Tensor:
    """A decoder's output -> the image tensor (pythae: ``.reconstruction``)."""
    if isinstance(out, torch.Tensor):
        return out
    recon = _field(out, "reconstruction")
    if isinstance(recon, torch.Tensor):
        return recon
    if isinstance(out, Sequence) and out and isinstance(out[0], torch.Tensor):
        raise ConfigError(
            f"the decoder returned {len(out)} values; pass decode=lambda z: ... that "
            "returns the image tensor alone"
        )
    raise ConfigError(
        f"the decoder returned {type(out).__name__}; LatentLab reads an image tensor "
        "or pythae's output (reconstruction)"
    )


def _calls(module: Any) -> tuple[Callable, Callable, str]:
    """The module's encode and decode callables, and how they were found."""
    if (
        isinstance(module, tuple | list)
        and len(module) == 2
        and all(map(callable, module))
    ):
        return module[0], module[1], "a pair of callables"
    if callable(getattr(module, "encode", None)) and callable(
        getattr(module, "decode", None)
    ):
        return module.encode, module.decode, "encode/decode methods"
    enc, dec = getattr(module, "encoder", None), getattr(module, "decoder", None)
    if callable(enc) and callable(dec):
        return enc, dec, "encoder/decoder submodules"
    raise ConfigError(
        f"{type(module).__name__} has neither encode()/decode() methods nor encoder/"
        "decoder submodules; pass the pair wrap((encode_fn, decode_fn), ...)"
    )


def _owner(fn: Callable) -> tuple[nn.Module | None, str]:
    """The module a callable belongs to and the attribute that reaches it from
    there (a module itself: ``"__call__"``; a bound method: its name), so a
    copy of the module (``copy.deepcopy(model).double()``) is called, not the
    original; ``(None, "")`` for a plain function."""
    if isinstance(fn, nn.Module):
        return fn, "__call__"
    owner = getattr(fn, "__self__", None)
    name = getattr(getattr(fn, "__func__", None), "__name__", "")
    if isinstance(owner, nn.Module) and name and getattr(owner, name, None) == fn:
        return owner, name
    return None, ""


def _modules_of(module: Any, calls: Sequence[Callable]) -> list[nn.Module]:
    """Every ``nn.Module`` behind ``module`` and its two callables."""
    found = [module] if isinstance(module, nn.Module) else []
    for fn in calls:
        owner, _ = _owner(fn)
        if owner is not None and all(owner is not m for m in found):
            found.append(owner)
    return found


def _infer_image_shape(module: Any) -> tuple[int, int, int] | None:
    """``(C, H, W)`` when the first layer leaves one choice: a ``Linear`` that
    reads a square number of grey pixels or three times one (not both). A
    pair's encoder is looked at (its module, for a bound method)."""
    if isinstance(module, tuple | list) and module:
        module = _owner(module[0])[0]
    if not isinstance(module, nn.Module):
        return None
    first = next(
        (m for m in module.modules() if isinstance(m, nn.Linear | nn.Conv2d)), None
    )
    if not isinstance(first, nn.Linear):
        return None
    n = first.in_features
    options = []
    for c in (1, 3):
        side = math.isqrt(n // c)
        if n % c == 0 and side * side * c == n and side > 1:
            options.append((c, side, side))
    return options[0] if len(options) == 1 else None


def _check_shape(image_shape: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or shape[0] not in (1, 3) or min(shape) < 1:
        raise ConfigError(
            f"image_shape must be (channels, height, width) with 1 or 3 channels, "
            f"not {image_shape!r}"
        )
    return shape  # type: ignore[return-value]


def _check_range(value_range: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(
            f"value_range must be (low, high) with low < high, e.g. (0, 1) or (-1, 1); "
            f"not {value_range!r}"
        )
    return lo, hi


class WrappedModel(nn.Module):
    """A module from elsewhere, seen through LatentLab's model interface.

    Built by :func:`wrap`. Images go in and come out in [0, 1]; the module sees
    its own pixel range (``module_range``). Its likelihood is part of it:
    Bernoulli on [0, 1], or a Gaussian whose σ is fitted by maximum likelihood
    (:meth:`fit_sigma`) and stated with every figure that uses it.

    Example::

        model = latentlab.wrap(vanilla_vae, image_shape=(3, 64, 64))
        model.fit_sigma(test_images)  # view() and evaluate() do this themselves
        model.encode(x01).mu  # (B, latent_dim)
    """

    def __init__(
        self,
        module: Any,
        encode: Callable,
        decode: Callable,
        *,
        kind: str,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        module_range: tuple[float, float],
        likelihood: str,
        scale: str,
        activations: int,
        name: str,
    ) -> None:
        super().__init__()
        # Registered so .eval(), .double(), deepcopy and parameters() reach the
        # user's weights (a pair's too: the modules its callables belong to).
        self.module = module if isinstance(module, nn.Module) else None
        self.owners = nn.ModuleList()
        self._calls: list[tuple[int, str] | Callable] = []
        for fn in (encode, decode):
            owner, attr = _owner(fn)
            if owner is None:
                self._calls.append(fn)
                continue
            index = next((i for i, m in enumerate(self.owners) if m is owner), None)
            if index is None:
                self.owners.append(owner)
                index = len(self.owners) - 1
            self._calls.append((index, attr))
        self.scale = scale
        self.module_range = module_range
        self.name = name
        self.config = WrappedConfig(
            kind, latent_dim, image_shape, likelihood, activations
        )
        self.register_buffer("log_scale", torch.full((1,), math.nan))
        self.sigma_source = ""

    # --- the model interface ---------------------------------------------------

    @property
    def is_variational(self) -> bool:
        """True when the encoder gives a posterior scale."""
        return self.config.kind == "vae"

    @property
    def variational(self) -> bool:
        """The interface's name for :attr:`is_variational`."""
        return self.is_variational

    @property
    def latent_dim(self) -> int:
        """Size of ``z``."""
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images read and written."""
        return self.config.image_shape

    @property
    def value_range(self) -> tuple[float, float]:
        """LatentLab's side: pixels in [0, 1] (the module's own range is
        :attr:`module_range`)."""
        return (0.0, 1.0)

    @property
    def likelihood(self) -> Likelihood:
        """Bernoulli, or the Gaussian with the fitted σ (:meth:`fit_sigma`)."""
        if self.config.likelihood == "bernoulli":
            return BERNOULLI
        lo, hi = self.module_range
        shown = "" if (lo, hi) == (0.0, 1.0) else f"[{lo:g}, {hi:g}], read in [0, 1]"
        return FittedGaussian(
            self.log_scale, self.sigma_source or "not fitted yet", shown
        )

    def _call(self, which: int, value: torch.Tensor) -> Any:
        spec = self._calls[which]
        fn = getattr(self.owners[spec[0]], spec[1]) if isinstance(spec, tuple) else spec
        return fn(value.to(self._module_device()))

    @property
    def closures(self) -> bool:
        """True when a callable is a plain function: its weights are out of
        LatentLab's reach (no float64 copy for the identity check)."""
        return not all(isinstance(spec, tuple) for spec in self._calls)

    def _module_device(self) -> torch.device:
        for tensor in self.owners.parameters():
            return tensor.device
        for tensor in self.owners.buffers():
            return tensor.device
        return torch.device("cpu")

    @property
    def host_device(self) -> torch.device:
        """Where LatentLab keeps this model's inputs and outputs: the CPU (the
        module itself may run on a GPU; tensors are moved to it and back)."""
        return torch.device("cpu")

    def _to_module(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.module_range
        return x if (lo, hi) == (0.0, 1.0) else x * (hi - lo) + lo

    def _from_module(self, y: torch.Tensor) -> torch.Tensor:
        lo, hi = self.module_range
        return y if (lo, hi) == (0.0, 1.0) else (y - lo) / (hi - lo)

    def encode(self, x: torch.Tensor) -> Encoding:
        """``x`` ``(B, C, H, W)`` in [0, 1] -> ``mu`` and ``logvar`` (None: AE)."""
        out = _encoding_parts(self._call(0, self._to_module(x)))
        mu, second, is_log_var = (
            t.to(x.device) if isinstance(t, torch.Tensor) else t for t in out
        )
        if not self.is_variational or second is None:
            return Encoding(mu, None)
        if is_log_var or self.scale == "log_var":
            return Encoding(mu, second)
        if self.scale == "log_sigma":
            return Encoding(mu, 2.0 * second)
        return Encoding(mu, 2.0 * torch.log(second.clamp_min(1e-30)))

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(B, latent_dim)`` -> the decoder's image, in [0, 1]."""
        out = _decoded(self._call(1, z)).to(z.device)
        return self._from_module(out.reshape(len(z), *self.image_shape))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The likelihood's parameters: Bernoulli logits of the decoder's
        probabilities (kept within 1e-6 of 0 and 1), or the Gaussian's mean."""
        mean = self.mean_image(z)
        if self.config.likelihood == "bernoulli":
            # A saturated pixel (|pre-sigmoid| > 13.8) reads as 1e-6 from 0 or
            # 1, and carries no gradient there.
            return torch.logit(mean.clamp(_P_FLOOR, 1.0 - _P_FLOOR))
        return mean

    def decode_params(self, z: torch.Tensor) -> torch.Tensor:
        """The interface's name for :meth:`decode_logits`."""
        return self.decode_logits(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's image in [0, 1] (the same as :meth:`mean_image`)."""
        return self.mean_image(z)

    def sample_z(
        self, encoding: Encoding, eps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``mu`` for an AE; ``mu + σ ⊙ ε`` for a VAE."""
        if encoding.logvar is None:
            return encoding.mu
        return reparameterize(encoding.mu, encoding.logvar, eps)

    def forward(self, x: torch.Tensor) -> ForwardOutput:
        """Encode, sample (VAE) and decode ``x`` in [0, 1]."""
        enc = self.encode(x)
        z = self.sample_z(enc)
        return ForwardOutput(self.decode_logits(z), z, enc.mu, enc.logvar)

    # --- the Gaussian's σ --------------------------------------------------------

    def fit_sigma(self, images: torch.Tensor, *, seed: int = 0) -> float:
        """Fit the Gaussian's σ by maximum likelihood on ``images``
        (:func:`fit_sigma`); returns it in [0, 1] units.

        Example: ``model.fit_sigma(test_images)`` -> ``0.083``.
        """
        return fit_sigma(self, images, seed=seed)

    def describe(self) -> str:
        """``"VanillaVAE (encode/decode methods), VAE, 128-D, 3×64×64"``."""
        c, h, w = self.image_shape
        return (
            f"{self.name}, {self.config.kind.upper()}, {self.latent_dim}-D, {c}×{h}×{w}"
        )


def _default_name(module: Any, found: str) -> str:
    if isinstance(module, tuple | list):
        return "a pair of callables"
    return f"{type(module).__name__} ({found})"


def needs_sigma(model: Any) -> bool:
    """True for a Gaussian model whose σ is to be fitted on the images it is now
    evaluated or shown with: unknown yet (a wrapped module, a pythae folder
    trained with MSE), or fitted before on other images by LatentLab itself
    (a σ the user fitted with :func:`fit_sigma` is kept)."""
    scale = getattr(model, "log_scale", None)
    if getattr(model.config, "likelihood", "") != "gaussian" or not isinstance(
        scale, torch.Tensor
    ):
        return False
    return getattr(model, "_sigma_automatic", False) or not bool(
        torch.isfinite(scale).all()
    )


def sigma_unknown(model: Any) -> bool:
    """True for a Gaussian model with no σ at all yet."""
    scale = getattr(model, "log_scale", None)
    return (
        getattr(model.config, "likelihood", "") == "gaussian"
        and isinstance(scale, torch.Tensor)
        and not bool(torch.isfinite(scale).all())
    )


@torch.no_grad()
def fit_sigma(
    model: Any, images: torch.Tensor, *, seed: int = 0, automatic: bool = False
) -> float:
    """Fit a Gaussian model's one σ by maximum likelihood on ``images`` (uint8,
    or floats ``(N, C, H, W)`` in [0, 1]), store it in the model and return it,
    in [0, 1] units. Use images the model was not trained on.

    The expected log-likelihood's maximum over one σ is at
    ``σ² = mean((x - f(z))²)`` over every pixel, with ``z`` the code (AE) or
    one draw from q(z|x) per image (VAE, seeded): the σ that maximizes the
    ELBO. The model's likelihood then says how σ was found. ``automatic``:
    LatentLab fitted it for the images shown (refitted for others); a σ the
    user fits is kept.
    """
    from latentlab.core.datasets.image_dataset import to_float
    from latentlab.core.latent import memory_batch

    if getattr(model.config, "likelihood", "") != "gaussian":
        raise ConfigError(
            f"this model's likelihood is {model.config.likelihood}: it has no σ to fit"
        )
    x_all = to_float(images) if images.dtype == torch.uint8 else images.float()
    if len(x_all) == 0:
        raise ConfigError("fitting σ needs at least one image")
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    batch = memory_batch(model, 256)
    try:
        for lo in range(0, len(x_all), batch):
            x = x_all[lo : lo + batch]
            enc = model.encode(x)
            eps = (
                None
                if enc.logvar is None
                else torch.randn(enc.mu.shape, generator=generator)
            )
            z = model.sample_z(enc, eps)
            err = model.mean_image(z).double() - x.double()
            total += float((err * err).sum())
            count += err.numel()
    finally:
        model.train(was_training)
    sigma = max(math.sqrt(total / count), 1e-4)
    model.log_scale.data.fill_(math.log(sigma))
    model._sigma_automatic = automatic
    how = "one draw of z ~ q(z|x)" if model.is_variational else "z = the code"
    source = f"fitted by maximum likelihood on {len(x_all):,} images ({how})"
    if isinstance(model, WrappedModel):
        model.sigma_source = source
    else:  # LatentLab's own network (a pythae folder): its output is pre-sigmoid
        model._likelihood = FittedGaussian(model.log_scale, source, squash=True)
    return sigma


def _activations(decode: Callable, z: torch.Tensor, modules: list[nn.Module]) -> int:
    """Values one decoded point holds across the decoder's layers, counted
    from the leaf modules' outputs (bounds LatentLab's batches)."""
    count = [0]

    def hook(_m: nn.Module, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            count[0] += out.numel()

    leaves = {
        id(m): m for mod in modules for m in mod.modules() if not list(m.children())
    }
    hooks = [m.register_forward_hook(hook) for m in leaves.values()]
    try:
        with torch.no_grad():
            out = _decoded(decode(z))
    finally:
        for h in hooks:
            h.remove()
    return max(count[0], out.numel())


def _probe(
    encode: Callable,
    decode: Callable,
    modules: list[nn.Module],
    shape: tuple[int, int, int],
    kind: str | None,
    scale: str,
    given_range: tuple[float, float] | None,
) -> tuple[int, str, torch.Tensor, tuple[float, float], str, tuple[float, float]]:
    """Run the module once: the latent size, the kind, a code, the pixels'
    range and the decoder's last operation, each checked."""
    device = next(
        (t.device for m in modules for t in (*m.parameters(), *m.buffers())),
        torch.device("cpu"),
    )
    lo, hi = given_range or (0.0, 1.0)
    probe = torch.full((2, *shape), lo, device=device)
    probe[1] = hi
    try:
        with torch.no_grad():
            enc_out = encode(probe)
    except Exception as exc:
        raise ConfigError(
            f"the encoder failed on images of shape {shape}: {exc!r}; check image_shape"
        ) from exc
    mu, second, is_log_var = _encoding_parts(enc_out)
    if mu.ndim != 2:
        raise ConfigError(
            f"the encoder's code has shape {tuple(mu.shape)}; LatentLab explores flat "
            "codes (batch, latent_dim): wrap a pair (encode, decode) whose encode "
            "flattens it"
        )
    latent_dim = int(mu.shape[1])
    if kind == "vae" and second is None:
        raise ConfigError(
            "kind='vae' but the encoder returns one tensor: a VAE's encoder returns "
            "(mu, scale); pass kind='ae' or an encoder that returns both"
        )
    if second is not None and tuple(second.shape) != tuple(mu.shape):
        raise ConfigError(
            f"the encoder's two outputs have shapes {tuple(mu.shape)} and "
            f"{tuple(second.shape)}; a VAE's mu and scale have the same shape"
        )
    if second is not None and scale == "sigma" and not is_log_var:
        if not bool((second > 0).all()):
            raise ConfigError(
                "scale='sigma' but the encoder's second output is not positive: "
                "pass scale='log_var' or scale='log_sigma'"
            )
    kind = kind or ("vae" if second is not None else "ae")
    z = torch.zeros(2, latent_dim, device=device)
    z[1] = mu[1].detach()  # a code the encoder gives, beside the origin
    z.requires_grad_(True)
    with torch.enable_grad():
        try:
            out = _decoded(decode(z))
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"the decoder failed on codes of {latent_dim} dims: {exc!r}"
            ) from exc
    if out.ndim == 4 and tuple(out.shape[1:]) != shape:
        hint = (
            " (channels last: wrap a pair whose decode permutes it to (N, C, H, W))"
            if tuple(out.shape[1:]) == (shape[1], shape[2], shape[0])
            else ""
        )
        raise ConfigError(
            f"the decoder returns images of shape {tuple(out.shape[1:])}, not "
            f"{shape} (C, H, W){hint}: check image_shape"
        )
    if out.numel() != 2 * math.prod(shape):
        raise ConfigError(
            f"the decoder returns {out.numel() // 2:,} values per image; images of "
            f"{shape} have {math.prod(shape):,}: check image_shape"
        )
    last = _final_operation(out)
    inferred = {"Tanh": (-1.0, 1.0), "Sigmoid": (0.0, 1.0)}.get(last)
    module_range = given_range or inferred
    if module_range is None:
        raise ConfigError(
            "cannot tell the pixels' range: the decoder does not end in tanh or "
            "sigmoid. Pass value_range=(0, 1) or value_range=(-1, 1): the pixels "
            "the encoder reads and the decoder writes"
        )
    low, high = float(out.detach().min()), float(out.detach().max())
    return latent_dim, kind, z.detach()[:1], module_range, last, (low, high)


def _likelihood(
    likelihood: str | None,
    last: str,
    module_range: tuple[float, float],
    low: float,
    high: float,
) -> str:
    """The likelihood given or inferred, checked against the decoder's output."""
    if likelihood is None:
        if last == "Tanh" or module_range[0] < 0.0 or module_range[1] > 1.0:
            return "gaussian"
        raise ConfigError(
            "cannot tell the likelihood p(x|z): pass likelihood='bernoulli' for "
            "a model trained with binary cross-entropy, or likelihood='gaussian' "
            "for one trained with MSE (its σ is then fitted on your images)"
        )
    if likelihood == "bernoulli" and module_range != (0.0, 1.0):
        raise ConfigError(
            f"a Bernoulli likelihood needs pixels in [0, 1], not "
            f"[{module_range[0]:g}, {module_range[1]:g}]: pass likelihood='gaussian'"
        )
    if likelihood == "bernoulli" and (low < 0.0 or high > 1.0):
        raise ConfigError(
            f"the decoder returned values from {low:.3g} to {high:.3g}: a Bernoulli "
            "decoder returns probabilities in [0, 1] (the image), not logits; wrap "
            "a pair (encode, lambda z: torch.sigmoid(decode(z))) if it gives logits"
        )
    return likelihood


def wrap(
    module: nn.Module | tuple[Callable, Callable],
    kind: str | None = None,
    likelihood: str | None = None,
    image_shape: tuple[int, int, int] | None = None,
    scale: str = "log_var",
    value_range: tuple[float, float] | None = None,
    *,
    name: str | None = None,
) -> WrappedModel:
    """Adapt any encoder/decoder module to LatentLab, so every view and
    analysis works on it.

    Parameters
    ----------
    module : torch.nn.Module or (encode, decode)
        A module with ``encode``/``decode`` methods (PyTorch-VAE,
        pytorch/examples), or ``encoder``/``decoder`` submodules (pythae,
        Keras-style), or a pair of callables. ``encode`` returns the code (AE),
        a pair ``(mu, scale)`` (VAE) or pythae's output; ``decode`` returns the
        image (the mean of p(x|z), not logits) or pythae's output.
    kind : "ae" or "vae", optional
        Inferred from what the encoder returns (one tensor: AE; two: VAE).
    likelihood : "bernoulli" or "gaussian", optional
        p(x|z): "bernoulli" for a model trained with binary cross-entropy,
        "gaussian" for one trained with MSE (its σ is fitted by maximum
        likelihood on held-out images). Inferred only for a ``tanh`` decoder
        (Gaussian: a Bernoulli on [-1, 1] has no meaning).
    image_shape : (C, H, W), optional
        The images the encoder reads; inferred only from a first ``Linear``
        layer whose width leaves one choice.
    scale : "log_var", "log_sigma" or "sigma"
        What a VAE encoder's second output is: ``"log_var"`` as in
        pytorch/examples and PyTorch-VAE (pythae's is always a log-variance).
    value_range : (low, high), optional
        The pixels the module reads and writes. Inferred from a decoder
        ending in ``tanh`` ([-1, 1]) or ``sigmoid`` ([0, 1]).
    name : str, optional
        Shown in the window and reports; the module's class name by default.

    Returns
    -------
    WrappedModel
        Raises :class:`~latentlab.core.errors.ConfigError` saying which
        argument to pass when something cannot be inferred.

    Example
    -------
    >>> vae = VanillaVAE(3, 128)                                   # doctest: +SKIP
    >>> model = latentlab.wrap(vae, image_shape=(3, 64, 64))       # doctest: +SKIP
    >>> model.config.kind, model.module_range                      # doctest: +SKIP
    ('vae', (-1.0, 1.0))
    """
    encode, decode, found = _calls(module)
    if kind is not None and kind not in ("ae", "vae"):
        raise ConfigError(f"kind must be 'ae' or 'vae', not {kind!r}")
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if likelihood is not None and likelihood not in WRAP_LIKELIHOODS:
        raise ConfigError(
            f"likelihood must be one of {', '.join(WRAP_LIKELIHOODS)}, "
            f"not {likelihood!r}"
        )
    shape = (
        _check_shape(image_shape)
        if image_shape is not None
        else _infer_image_shape(module)
    )
    if shape is None:
        raise ConfigError(
            f"cannot tell which images {_default_name(module, 'it')} reads: pass "
            "image_shape=(channels, height, width), e.g. image_shape=(3, 64, 64)"
        )
    given_range = _check_range(value_range) if value_range is not None else None
    modules = _modules_of(module, (encode, decode))
    modes = [(m, m.training) for mod in modules for m in mod.modules()]
    for mod in modules:
        mod.eval()  # batch norm and dropout as at test time; kept so when wrapped
    try:
        try:
            probed = _probe(encode, decode, modules, shape, kind, scale, given_range)
        except ConfigError as exc:
            if image_shape is None and "image_shape" in str(exc):
                raise ConfigError(
                    f"{exc} (the shape {shape} was read from the first Linear "
                    "layer: pass image_shape=(channels, height, width))"
                ) from exc
            raise
        latent_dim, kind, z, module_range, last, (low, high) = probed
        likelihood = _likelihood(likelihood, last, module_range, low, high)
    except BaseException:
        for m, training in modes:  # a refused module is left as it was
            m.training = training
        raise
    activations = _activations(decode, z, modules)
    model = WrappedModel(
        module,
        encode,
        decode,
        kind=kind,
        latent_dim=latent_dim,
        image_shape=shape,
        module_range=(float(module_range[0]), float(module_range[1])),
        likelihood=likelihood,
        scale=scale,
        activations=activations,
        name=name or _default_name(module, found),
    )
    return model.eval()


def images_shape(images: Any) -> tuple[int, int, int] | None:
    """``(C, H, W)`` of images given as ``(N, C, H, W)`` / ``(N, H, W)`` or a
    ``Dataset`` of such items; None when it cannot be read."""
    if images is None:
        return None
    if hasattr(images, "shape"):
        shape = tuple(images.shape)
    elif hasattr(images, "__getitem__") and hasattr(images, "__len__") and len(images):
        item = images[0]
        item = item[0] if isinstance(item, tuple | list) else item
        shape = (1, *tuple(getattr(item, "shape", ())))
    else:
        return None
    if len(shape) == 3:
        return (1, shape[1], shape[2])
    if len(shape) == 4 and shape[1] in (1, 3):
        return (shape[1], shape[2], shape[3])
    return None


def is_latent_model(model: Any) -> bool:
    """True for a model the views read directly (LatentLab's, or wrapped)."""
    from latentlab.core.models import Autoencoder

    return isinstance(model, Autoencoder | WrappedModel)


def as_latent_model(model: Any, images: Any = None) -> Any:
    """``model`` as the views read it: LatentLab's and wrapped models as they
    are; any other module wrapped, its image shape read from ``images``."""
    if is_latent_model(model):
        return model
    return wrap(model, image_shape=images_shape(images))


def rebuildable(model: Any) -> Any | None:
    """LatentLab's own network equal to ``model`` (to save as a LatentLab
    file), or None when LatentLab cannot rebuild its architecture.

    A wrapped module is rebuilt when its weights are in a layout LatentLab
    knows (pytorch/examples' VAE, the Sequential AE, pythae's default MLPs)
    and the rebuilt network decodes and encodes exactly as the module does,
    checked on random inputs."""
    from latentlab.core.config import ModelConfig
    from latentlab.core.foreign import pythae_layout, recognise
    from latentlab.core.models import Autoencoder, build_model

    if isinstance(model, Autoencoder):
        return model if isinstance(model.config, ModelConfig) else None
    if not isinstance(model, WrappedModel) or model.module is None:
        return None
    if isinstance(model.module, Autoencoder):
        return model.module
    if model.module_range != (0.0, 1.0):
        return None
    state = model.module.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    layout = recognise(shapes)
    if layout is None:
        try:
            config = ModelConfig(
                kind=model.config.kind,
                latent_dim=model.latent_dim,
                image_shape=model.image_shape,
                hidden=(512,),
            )
        except ConfigError:
            return None
        layout = pythae_layout("pythae", config)
        if {k: shapes.get(k) for k in layout.expected} != layout.expected or set(
            shapes
        ) != set(layout.expected):
            return None
    if layout.config.kind != model.config.kind:
        return None
    try:
        config = dataclasses.replace(
            layout.config,
            image_shape=tuple(model.image_shape),
            likelihood=model.config.likelihood,
        )
    except ConfigError:
        return None
    rebuilt = build_model(config).eval()
    converted = layout.convert({k: v.detach().cpu().float() for k, v in state.items()})
    if config.likelihood == "gaussian":
        converted["log_scale"] = model.log_scale.detach().cpu().float().clone()
    try:
        rebuilt.load_state_dict(converted, strict=True)
    except (RuntimeError, KeyError):
        return None
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        z = torch.randn(8, model.latent_dim, generator=g)
        x = torch.rand(8, *model.image_shape, generator=g)
        theirs, ours = model.encode(x), rebuilt.encode(x)
        same = torch.allclose(model.mean_image(z), rebuilt.mean_image(z), atol=1e-5)
        same &= torch.allclose(theirs.mu, ours.mu, atol=1e-5)
        if theirs.logvar is not None:
            same &= ours.logvar is not None and torch.allclose(
                theirs.logvar, ours.logvar, atol=1e-5
            )
    return rebuilt if same else None
