"""Issue 30: colour images of any size through the core — the conv4 backbone,
datasets by size and channels, the display layout, the Gaussian likelihoods and
the figures that use them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.core.config import ModelConfig
from latentlab.core.data import (
    ImageDataset,
    expected_shape,
    load_dataset,
    to_float,
    with_channels,
)
from latentlab.core.errors import ConfigError, DataError
from latentlab.core.latent import LatentRect, decode_codes, decode_grid
from latentlab.core.model_interface import Gaussian, bits_per_dim
from latentlab.core.models import build_model


@pytest.fixture(scope="module")
def colour_set() -> ImageDataset:
    from latentlab.core.datasets.colour_shapes import make_colour_shapes

    return make_colour_shapes(n_train=256, n_test=64, size=32)


@pytest.mark.parametrize("shape", [(3, 64, 64), (3, 32, 32), (1, 32, 48), (3, 48, 80)])
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_conv4_reads_and_writes_its_image_shape(shape, kind) -> None:
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(kind=kind, backbone="conv4", image_shape=shape, hidden=(32,))
    )
    x = torch.rand(3, *shape)
    out = model(x)
    assert out.logits.shape == x.shape
    # The display decode (sub-pixel kernels, no grad) equals training's own.
    z = torch.randn(4, model.latent_dim)
    model.train()
    with torch.enable_grad():
        reference = torch.sigmoid(model.decoder(z)).detach()
    model.eval()
    with torch.no_grad():
        fast = model.decode(z)
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-4)


def test_config_refuses_what_it_cannot_build() -> None:
    with pytest.raises(ConfigError, match="divisible by 16"):
        ModelConfig(backbone="conv4", image_shape=(3, 28, 28))
    with pytest.raises(ConfigError, match=r"1 \(grey\) or 3 \(RGB\)"):
        ModelConfig(image_shape=(2, 28, 28))
    with pytest.raises(ConfigError, match="likelihood"):
        ModelConfig(likelihood="poisson")
    # A Bernoulli config is written as before colour (no new key).
    assert "likelihood" not in ModelConfig().to_dict()
    cfg = ModelConfig(likelihood="gaussian-per-pixel")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_datasets_by_size_and_channels(colour_set) -> None:
    assert load_dataset("colour-shapes", image_size=16).image_shape == (3, 16, 16)
    assert expected_shape("colour-shapes", 16) == (3, 16, 16)
    assert expected_shape("cifar10") == (3, 32, 32)
    assert expected_shape("shapes", channels=3) == (3, 28, 28)
    with pytest.raises(DataError, match="applies only to"):
        load_dataset("shapes", image_size=32)
    with pytest.raises(DataError, match="from 16 to 128"):
        load_dataset("colour-shapes", image_size=8)
    # Colour -> grey is Pillow's "L" (ITU-R 601 luma), to within rounding.
    grey = with_channels(colour_set, 1)
    assert grey.image_shape == (1, 32, 32)
    rgb = colour_set.test_images[5].permute(1, 2, 0).numpy()
    pil = np.asarray(Image.fromarray(rgb).convert("L"), np.int16)
    assert np.abs(grey.test_images[5].numpy().astype(np.int16) - pil).max() <= 1
    # Grey -> RGB repeats the channel.
    shapes = load_dataset("shapes")
    three = with_channels(shapes, 3)
    assert three.image_shape == (3, 28, 28)
    assert torch.equal(three.test_images[0, 2], shapes.test_images[0])
    assert to_float(three.test_images[:2]).shape == (2, 3, 28, 28)


def test_colour_decodes_come_channels_last_and_tile_in_place(colour_set) -> None:
    torch.manual_seed(1)
    model = build_model(
        ModelConfig(backbone="conv4", image_shape=(3, 32, 32), hidden=(32,))
    ).eval()
    z = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    images = decode_codes(model, z)
    assert images.shape == (2, 32, 32, 3)
    with torch.no_grad():
        direct = model.decode(torch.from_numpy(z)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(images, direct, atol=1e-3)
    grid = decode_grid(model, LatentRect(-1, -1, 1, 1), 3)
    assert grid.shape == (96, 96, 3)
    # The grid's bottom-left tile (row 0, drawn y-up) is the decode of (-1, -1),
    # stored bottom-up.
    corner = decode_codes(model, np.array([[-1.0, -1.0]], np.float32))[0]
    np.testing.assert_allclose(grid[:32, :32], corner[::-1], atol=1e-3)


def _normal_cdf(v: float) -> float:
    return 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))


def test_gaussian_log_prob_against_a_hand_computation() -> None:
    params = torch.tensor([[[[0.3, -1.2], [2.0, 0.0]]]])
    x = torch.tensor([[[[0.0, 100 / 255], [1.0, 128 / 255]]]])
    sigma = 0.2
    lik = Gaussian(torch.full((1,), math.log(sigma)))
    mean = torch.sigmoid(params).flatten().tolist()
    xs = x.flatten().tolist()
    dense = sum(
        -0.5 * ((xi - mi) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
        for xi, mi in zip(xs, mean, strict=True)
    )
    assert lik.log_prob(params, x).item() == pytest.approx(dense, rel=1e-5)
    discrete = Gaussian(torch.full((1,), math.log(sigma)), discrete=True)
    h = 0.5 / 255
    mass = []
    for xi, mi in zip(xs, mean, strict=True):
        upper = 1.0 if xi > 1 - h else _normal_cdf((xi + h - mi) / sigma)
        lower = 0.0 if xi < h else _normal_cdf((xi - h - mi) / sigma)
        mass.append(upper - lower)
    expected = sum(math.log(m) for m in mass)
    assert discrete.log_prob(params, x).item() == pytest.approx(expected, rel=1e-4)
    assert discrete.bits_comparable and not lik.bits_comparable


def test_discretized_levels_sum_to_one() -> None:
    """A probability over the 256 levels, not a density: the masses sum to 1."""
    lik = Gaussian(torch.full((1,), math.log(0.05)), discrete=True)
    levels = torch.arange(256, dtype=torch.float32).div(255).view(256, 1, 1, 1)
    params = torch.full((256, 1, 1, 1), 0.4)
    total = lik.log_prob(params, levels).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-5)
    assert bits_per_dim(3072 * math.log(2), 3072) == pytest.approx(1.0)


def test_a_gaussian_model_trains_saves_and_reopens(tmp_path, colour_set) -> None:
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.config import TrainConfig
    from latentlab.core.training import new_model, train
    from latentlab.core.workspace import Workspace

    cfg = ModelConfig(
        backbone="conv4",
        image_shape=(3, 32, 32),
        hidden=(32,),
        likelihood="gaussian-per-pixel",
    )
    model = new_model(cfg, seed=0)
    before = model.log_scale.detach().clone()
    run = train([model], colour_set, TrainConfig(epochs=1, batch_size=64))
    for _ in run:
        pass
    assert not torch.equal(model.log_scale.detach(), before)  # σ is learned
    assert model.likelihood.per_pixel
    ws = Workspace(slots=1)
    ws.datasets.put(colour_set, None, name="colour-shapes")
    ws.train(
        __import__("latentlab").TrainSpec(
            dataset="colour-shapes",
            image_size=32,
            epochs=1,
            backbone="conv4",
            hidden=(32,),
            kinds=("vae",),
            likelihood="discretized-gaussian",
        ),
        show=False,
    )
    path = tmp_path / "colour.pt"
    ws.save(0, path)
    ckpt = load_checkpoint(path)
    assert ckpt.config.likelihood == "discretized-gaussian"
    assert ckpt.config.image_shape == (3, 32, 32)
    assert ckpt.model.likelihood.bits_comparable
    saved = ws.slots[0].model.state_dict()["log_scale"]
    assert torch.equal(ckpt.model.state_dict()["log_scale"], saved)


def test_realism_and_rectangle_read_colour(colour_set) -> None:
    from latentlab.core.analysis.realism import confidence, train_classifier
    from latentlab.core.analysis.rectangle import DataLikeness
    from latentlab.core.data import display_floats

    classifier = train_classifier(colour_set)
    real = display_floats(colour_set.test_images[:8])
    assert real.shape == (8, 32, 32, 3)
    assert confidence(classifier, real).shape == (8,)
    likeness = DataLikeness(classifier, colour_set, sample=128)
    sure, far, like = likeness.score(real)
    assert sure.shape == far.shape == like.shape == (8,)
    # Real images sit near the training images; uniform noise does not.
    noise = np.random.default_rng(0).random((8, 32, 32, 3)).astype(np.float32)
    assert np.median(likeness.score(noise)[1]) > np.median(far)


def test_a_costly_manifold_shows_a_coarse_grid_first(tmp_path) -> None:
    """64 px colour conv4 tiles: a 4x4 grid first, then the 20x20 one; the
    28 px sets' grids come whole, as before."""
    from latentlab.core.checkpoint.save import save_checkpoint
    from latentlab.core.resources import models_dir
    from latentlab.core.training import new_model
    from latentlab.core.workspace import Workspace

    path = tmp_path / "colour.pt"
    cfg = ModelConfig(backbone="conv4", image_shape=(3, 64, 64), hidden=(32,))
    save_checkpoint(path, new_model(cfg, seed=0), dataset={"name": "colour-shapes"})
    ws = Workspace(slots=1)
    ws.open(str(path))
    seen = []
    ws.manifoldReady.connect(lambda slot, m: seen.append(m.image.shape))
    ws.request_manifold(0, LatentRect(-2, -2, 2, 2), 20)
    assert seen == [(4 * 64, 4 * 64, 3), (20 * 64, 20 * 64, 3)]
    ws.open(str(models_dir() / "shapes-vae-2d.pt"), slot=0)
    seen.clear()
    ws.request_manifold(0, LatentRect(-2, -2, 2, 2), 32)
    assert seen == [(32 * 28, 32 * 28)]


def test_kl_warmup_starts_the_kl_weight_at_zero(colour_set) -> None:
    """Over a long warm-up the first epoch trains as beta = 0 would; without
    one, the KL pulls the weights elsewhere."""
    from latentlab.core.config import TrainConfig
    from latentlab.core.training import new_model, train

    def trained(beta: float, warmup: float) -> torch.Tensor:
        cfg = ModelConfig(
            backbone="mlp", image_shape=(3, 32, 32), hidden=(16,), beta=beta
        )
        model = new_model(cfg, seed=3)
        for _ in train(
            [model],
            colour_set,
            TrainConfig(epochs=1, batch_size=64, seed=3, kl_warmup_epochs=warmup),
        ):
            pass
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    no_kl = trained(0.0, 0.0)
    warm = trained(1.0, 1e6)
    full = trained(1.0, 0.0)
    kl_effect = (full - no_kl).abs().max()
    assert kl_effect > 1e-3
    assert (warm - no_kl).abs().max() < 0.01 * kl_effect
    with pytest.raises(ConfigError, match="warm-up"):
        from latentlab.core.config import TrainConfig

        TrainConfig(kl_warmup_epochs=-1)


def _write_cifar(root, n: int = 20) -> None:
    import pickle

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def batch() -> dict:
        return {
            b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n).tolist(),
            b"batch_label": b"batch",
            b"filenames": [b"f.png"] * n,
        }

    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump(batch(), f, protocol=2)
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)


def test_cifar_and_celeba_load_by_name_and_train_from_the_cli(tmp_path) -> None:
    import subprocess
    import sys

    from latentlab.core.data import dataset_files

    _write_cifar(tmp_path)
    cifar = load_dataset("cifar10", tmp_path)
    assert cifar.image_shape == (3, 32, 32) and len(cifar.train_images) == 100
    assert cifar.class_names[0] == "class0"
    assert len(dataset_files("cifar10", tmp_path)) == 7
    assert load_dataset("cifar10", tmp_path, channels=1).image_shape == (1, 32, 32)
    faces = tmp_path / "celeba"
    (faces / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    rng = np.random.default_rng(1)
    for name in names:
        pixels = rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(faces / "img_align_celeba" / name)
    (faces / "list_attr_celeba.txt").write_text(
        f"{len(names)}\nSmiling Male\n"
        + "".join(f"{n} {1 if i % 2 else -1} -1\n" for i, n in enumerate(names))
    )
    (faces / "list_eval_partition.txt").write_text(
        "".join(f"{n} {0 if i < 4 else 2}\n" for i, n in enumerate(names))
    )
    celeba = load_dataset("celeba", tmp_path, image_size=32)
    assert celeba.image_shape == (3, 32, 32)
    assert (len(celeba.train_images), len(celeba.test_images)) == (4, 2)
    np.testing.assert_array_equal(celeba.factors()["Smiling"], [0.0, 1.0])
    out = tmp_path / "cifar-vae.pt"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "latentlab",
            "train",
            "--dataset",
            "cifar10",
            "--data-dir",
            str(tmp_path),
            "--epochs",
            "1",
            "--hidden",
            "16",
            "--likelihood",
            "discretized-gaussian",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "100 train / 20 test images of 3x32x32" in proc.stdout
    info = subprocess.run(
        [
            sys.executable,
            "-m",
            "latentlab",
            "evaluate",
            str(out),
            "--data-dir",
            str(tmp_path),
            # Importance sampling: the discretized Gaussian has no matrix form,
            # and quadrature decodes its whole grid once per image (~40 s).
            "--method",
            "is",
            "--k",
            "64",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert "discretized Gaussian (8-bit levels), one learned σ" in info.stdout
    lines = {
        line.split()[0]: float(line.split()[1])
        for line in info.stdout.splitlines()
        if line and not line.startswith("#") and len(line.split()) > 2
    }
    # bits/dim = nats / (D ln 2), D = 3 * 32 * 32, and comparable for this one.
    assert lines["neg_elbo_bits_per_dim"] == pytest.approx(
        lines["neg_elbo"] / (3072 * math.log(2)), rel=1e-3
    )
    assert "comparable with published bits/dim" in info.stdout


def test_discretized_gaussian_is_accurate_in_both_tails() -> None:
    """A bin as far above the mean as another is below has the same mass and
    an opposite, non-zero gradient (1 - Φ must not round to 0)."""
    lik = Gaussian(torch.tensor([-4.0]), discrete=True)

    def log_p(mean: float, x: float) -> tuple[float, float]:
        logit = torch.tensor([[[[math.log(mean / (1 - mean))]]]], requires_grad=True)
        value = lik.log_prob(logit, torch.tensor([[[[x]]]]))
        value.backward()
        return value.item(), logit.grad.item()

    for below, above in (((0.6, 0.5), (0.4, 0.5)), ((0.15, 0.0), (0.85, 1.0))):
        (lp_a, grad_a), (lp_b, grad_b) = log_p(*below), log_p(*above)
        assert lp_a == pytest.approx(lp_b, rel=1e-4)
        assert grad_a == pytest.approx(-grad_b, rel=1e-3) and abs(grad_a) > 1
    # The end bin against an independent tail: log(1 - Φ((1 - h - m) / σ)).
    sigma, h = math.exp(-4.0), 0.5 / 255
    tail = math.log(0.5 * math.erfc((1 - h - 0.85) / sigma / math.sqrt(2)))
    assert log_p(0.85, 1.0)[0] == pytest.approx(tail, rel=1e-3)


def test_review_mends_for_colour(colour_set) -> None:
    """Each a defect a review found: layouts compared pixel with pixel, one set
    at two shapes kept apart, channels kept when a model's set is found again,
    "the set's own" size one cache entry, a reloaded σ read."""
    from latentlab.core.analysis.diagnostics import Traversals
    from latentlab.core.analysis.planes import DatasetCache
    from latentlab.core.data import display_floats, shape_request
    from latentlab.core.session_state import same_data
    from latentlab.core.smoothness import nearest_training

    # A test image's nearest training image, given in the display layout.
    train = colour_set.train_images
    query = display_floats(train[7:8])
    found = nearest_training(query, train)
    assert found.index[0] == 7 and found.distance[0] == pytest.approx(0.0, abs=1e-6)
    # Traversal change: one number per dim for colour too.
    images = np.zeros((2, 3, 8, 8, 3), np.float32)
    images[0, 2] = 1.0
    change = Traversals(np.zeros(2), np.zeros(3), images).change
    assert change.shape == (2,) and change[0] == pytest.approx(1.0)
    # One set at two shapes is not the same split.
    grey = with_channels(colour_set, 1)
    assert not same_data(colour_set, grey)
    assert shape_request("shapes", (3, 28, 28)) == {"channels": 3}
    assert shape_request("colour-shapes", (3, 32, 32))["image_size"] == (32, 32)
    cache = DatasetCache()
    shapes = cache.get("shapes", None)
    assert cache.get("shapes", None, image_size=28, channels=1) is shapes
    assert cache.get("shapes", None, channels=3).image_shape == (3, 28, 28)
    # A model whose weights are assigned (as snapshots are) reads the new σ.
    cfg = ModelConfig(image_shape=(3, 32, 32), hidden=(8,), likelihood="gaussian")
    with torch.device("meta"):
        model = build_model(cfg)
    state = build_model(cfg).state_dict()
    state["log_scale"] = torch.tensor([-3.0])
    model.load_state_dict(state, assign=True)
    assert model.likelihood.log_scale.item() == -3.0


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_what_the_shipped_colour_pair_learned(kind) -> None:
    """The colour shapes' known factors say what a model learned: the shipped
    pair's 2-D codes place each test image's shape (x, y; its 10 nearest
    codes' mean) far better than codes shuffled against the images, and its
    rotation no better (2 dims cannot hold six factors)."""
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.latent import encode_images
    from latentlab.core.resources import models_dir

    ckpt = load_checkpoint(models_dir() / f"colour-shapes-{kind}-2d.pt")
    dataset = load_dataset("colour-shapes", image_size=64)
    n = 1500
    codes = encode_images(ckpt.model.eval(), dataset.test_images[:n]).mu
    d2 = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    near = np.argsort(d2, 1)[:, :10]
    shuffled = np.random.default_rng(0).permutation(n)

    def ratio(name: str) -> float:
        truth = dataset.test_factors[name][:n]
        learned = np.abs(truth[near].mean(1) - truth).mean()
        other = truth[shuffled]
        chance = np.abs(other[near].mean(1) - other).mean()
        return float(learned / chance)

    assert ratio("x") < 0.3 and ratio("y") < 0.3
    assert ratio("rotation") > 0.9


@pytest.mark.parametrize("likelihood", ["gaussian", "gaussian-per-pixel"])
def test_gaussian_log_likelihood_matrix_equals_its_log_prob(likelihood) -> None:
    """The quadrature's matrix form of a Gaussian against the likelihood's own
    per-image ``log_prob``."""
    from latentlab.core.analysis.likelihood import log_likelihood_matrix

    torch.manual_seed(0)
    cfg = ModelConfig(image_shape=(3, 16, 16), hidden=(8,), likelihood=likelihood)
    model = build_model(cfg).eval()
    with torch.no_grad():
        model.log_scale.uniform_(-3.0, -1.0)
    x = torch.rand(5, 768)
    z = np.random.default_rng(0).normal(size=(7, 2))
    fast = log_likelihood_matrix(model, x, z)
    with torch.no_grad():
        logits = model.decode_logits(torch.as_tensor(z, dtype=torch.float32))
        slow = np.stack(
            [
                model.likelihood.log_prob(
                    logits, xi.view(1, 3, 16, 16).expand_as(logits)
                ).numpy()
                for xi in x
            ]
        )
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-3)
