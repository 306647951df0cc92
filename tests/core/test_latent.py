"""Latent maths: grids, tiles, slices, encoding, posterior samples, interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.config import ModelConfig
from latentlab.core.data import make_shapes, to_float
from latentlab.core.errors import ConfigError
from latentlab.core.latent import (
    LatentRect,
    LatentSlice,
    assemble_tiles,
    decode_codes,
    decode_grid,
    decode_grid_levels,
    decode_point,
    draw_eps,
    encode_images,
    grey_levels,
    grid_points,
    interpolate,
    native_bf16,
    posterior_samples,
)
from latentlab.core.training import new_model

SMALL = {"hidden": (32, 16)}


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return make_shapes(n_train=16, n_test=4, seed=3).train_images


@pytest.fixture
def probe():
    """A 2-D AE whose decoder draws z2 in the top half and z1 in the bottom half.

    Weights set by hand: hidden = relu(z + 10), logits = hidden - 10, so each
    pixel is sigmoid(z2) (rows 0-13) or sigmoid(z1) (rows 14-27) for |z| < 10.
    """
    model = new_model(ModelConfig(kind="ae", latent_dim=2, hidden=(2,)))
    first, last = model.decoder[0][0], model.decoder[1]
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
        first.bias.fill_(10.0)
        last.weight.zero_()
        last.weight[: 14 * 28, 0] = 1.0
        last.weight[14 * 28 :, 1] = 1.0
        last.bias.fill_(-10.0)
    model.eval()
    return model


# --- grids and tiles ----------------------------------------------------------------


def test_grid_points_are_cell_centres_with_z2_rising_along_rows() -> None:
    rect = LatentRect(-2.0, 0.0, 2.0, 1.0)
    pts = grid_points(rect, 4).reshape(4, 4, 2)  # (row, col, [z1, z2])
    assert pts.dtype == np.float32
    np.testing.assert_allclose(pts[0, :, 0], [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(pts[:, 0, 1], [0.125, 0.375, 0.625, 0.875])
    assert (pts[:, :, 1] == pts[:, :1, 1]).all(), "z2 constant along each row"
    assert (pts[:, :, 0] == pts[:1, :, 0]).all(), "z1 constant down each column"
    with pytest.raises(ConfigError):
        grid_points(rect, 0)


def test_assemble_tiles_layout() -> None:
    n, h, w = 3, 2, 4
    tiles = np.stack([np.full((h, w), i, np.float32) for i in range(n * n)])
    tiles[:, 0, 0] += 0.5  # mark each tile's own first pixel
    img = assemble_tiles(tiles, n)
    assert img.shape == (n * h, n * w)
    assert img.dtype == np.float32 and img.flags["C_CONTIGUOUS"]
    for r in range(n):
        for c in range(n):
            block = img[r * h : (r + 1) * h, c * w : (c + 1) * w]
            np.testing.assert_array_equal(block, tiles[r * n + c])


def test_decode_grid_row_zero_is_the_lowest_z2(probe) -> None:
    n = 5
    rect = LatentRect(-3.0, -2.0, 3.0, 4.0)
    img = decode_grid(probe, rect, n)
    assert img.shape == (n * 28, n * 28)
    xs = rect.x0 + (np.arange(n) + 0.5) * rect.width / n
    ys = rect.y0 + (np.arange(n) + 0.5) * rect.height / n
    tiles = img.reshape(n, 28, n, 28).transpose(0, 2, 1, 3)  # (row, col, h, w)
    # Tiles are stored bottom-up: the decoded image's top half (z2) is in the
    # tile's rows 14-27, its bottom half (z1) in rows 0-13.
    top_half = tiles[:, :, 14:, :].mean((2, 3))
    bottom_half = tiles[:, :, :14, :].mean((2, 3))
    np.testing.assert_allclose(
        top_half, np.repeat(_sigmoid(ys)[:, None], n, 1), atol=1e-6
    )
    np.testing.assert_allclose(
        bottom_half, np.repeat(_sigmoid(xs)[None, :], n, 0), atol=1e-6
    )
    assert (np.diff(top_half[:, 0]) > 0).all(), "z2 rises with the row index"
    assert top_half[0, 0] == top_half.min()


def test_decode_grid_is_upright_when_drawn_bottom_up(probe) -> None:
    """Flipped top-down (as a y-up view shows it), every tile is the decoded image.

    Seen on screen, the top-left tile is the highest z2 and lowest z1, and each
    tile shows its image the right way up: sigmoid(z2) above sigmoid(z1).
    """
    rect = LatentRect(-3.0, -2.0, 3.0, 4.0)
    n = 4
    seen = np.flipud(decode_grid(probe, rect, n))
    pts = grid_points(rect, n).reshape(n, n, 2)[::-1]  # screen rows, top first
    for r in range(n):
        for c in range(n):
            tile = seen[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28]
            np.testing.assert_allclose(tile, decode_point(probe, pts[r, c]), atol=1e-6)
    assert seen[0, 0] == _sigmoid(np.float32(pts[0, 0, 1])).astype(np.float32)


def test_decode_grid_tiles_equal_decoded_grid_points() -> None:
    model = new_model(ModelConfig(kind="vae", latent_dim=2, **SMALL), seed=4)
    rect = LatentRect.square(2.5)
    n = 6
    img = decode_grid(model, rect, n)
    decoded = decode_codes(model, grid_points(rect, n))
    np.testing.assert_array_equal(img, assemble_tiles(decoded[:, ::-1], n))
    # Tile k holds grid point k's image, stored bottom-up.
    pts = grid_points(rect, n)
    for k in (0, n - 1, n * (n - 1), n * n - 1, 14):
        r, c = divmod(k, n)
        tile = img[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28]
        # One code alone takes another BLAS path than 36: equal to float rounding.
        np.testing.assert_allclose(tile[::-1], decode_point(model, pts[k]), atol=1e-6)


def test_decode_grid_with_more_columns_than_rows(probe) -> None:
    rect = LatentRect(-3.0, -1.0, 3.0, 1.0)
    img = decode_grid(probe, rect, 6, rows=2)
    assert img.shape == (2 * 28, 6 * 28)
    pts = grid_points(rect, 6, 2)
    assert pts.shape == (12, 2)
    decoded = decode_codes(probe, pts)
    np.testing.assert_array_equal(img, assemble_tiles(decoded[:, ::-1], 6, 2))


def test_decode_grid_on_a_slice_of_a_wide_latent() -> None:
    model = new_model(ModelConfig(kind="ae", latent_dim=5, **SMALL), seed=2)
    sl = LatentSlice(5, (3, 1), (0.5, -1.0, 2.0, 0.0, 1.5))
    rect = LatentRect.square(1.0)
    img = decode_grid(model, rect, 3, sl)
    codes = sl.embed(grid_points(rect, 3))
    decoded = decode_codes(model, codes)
    np.testing.assert_array_equal(img, assemble_tiles(decoded[:, ::-1], 3))


def test_decode_codes_batches_and_bounds() -> None:
    model = new_model(ModelConfig(kind="vae", latent_dim=3, **SMALL), seed=1)
    z = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    a = decode_codes(model, z, batch_size=3)
    b = decode_codes(model, z)
    assert a.shape == (10, 28, 28) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert ((a >= 0) & (a <= 1)).all()
    assert decode_codes(model, np.zeros((0, 3), np.float32)).shape == (0, 28, 28)


def test_latent_rect_validation() -> None:
    rect = LatentRect.square()
    assert (rect.x0, rect.y1, rect.width, rect.height) == (-3.0, 3.0, 6.0, 6.0)
    with pytest.raises(ConfigError):
        LatentRect(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ConfigError):
        LatentRect(0.0, 0.0, float("inf"), 1.0)
    with pytest.raises(ConfigError):
        LatentRect(0.0, float("nan"), 1.0, 1.0)


# --- slices -------------------------------------------------------------------------


def test_latent_slice_round_trip_for_latent_5_dims_3_1() -> None:
    base = (0.1, 0.2, 0.3, 0.4, 0.5)
    sl = LatentSlice(latent_dim=5, dims=(3, 1), base=base)
    xy = np.array([[1.0, -2.0], [0.0, 0.0], [-3.5, 7.25]], np.float32)
    z = sl.embed(xy)
    assert z.shape == (3, 5) and z.dtype == np.float32
    np.testing.assert_array_equal(z[:, 3], xy[:, 0])
    np.testing.assert_array_equal(z[:, 1], xy[:, 1])
    np.testing.assert_array_equal(
        z[:, [0, 2, 4]], np.tile(np.float32([0.1, 0.3, 0.5]), (3, 1))
    )
    np.testing.assert_array_equal(sl.project(z), xy)
    # Codes that sit on the slice survive project -> embed unchanged.
    np.testing.assert_array_equal(sl.embed(sl.project(z)), z)


def test_latent_slice_defaults_and_one_dimension() -> None:
    assert LatentSlice(3).base == (0.0, 0.0, 0.0)
    one = LatentSlice(1, (0, 1))
    assert one.dims == (0, 0)
    z = one.embed([[2.0, 9.0]])
    np.testing.assert_array_equal(z, [[2.0]])
    np.testing.assert_array_equal(one.project(z), [[2.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latent_dim": 0},
        {"latent_dim": 4, "dims": (1, 1)},
        {"latent_dim": 4, "dims": (0, 4)},
        {"latent_dim": 4, "dims": (-1, 2)},
        {"latent_dim": 3, "base": (0.0, 1.0)},
    ],
)
def test_latent_slice_validation(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        LatentSlice(**kwargs)


# --- encoding -----------------------------------------------------------------------


def test_encode_images_shapes_ae_has_no_sigma(images) -> None:
    ae = new_model(ModelConfig(kind="ae", latent_dim=3, **SMALL), seed=0)
    codes = encode_images(ae, images, batch_size=5)
    assert codes.mu.shape == (16, 3) and codes.mu.dtype == np.float32
    assert codes.sigma is None
    with torch.no_grad():
        expected = ae.encode(to_float(images)).mu.numpy()
    np.testing.assert_allclose(codes.mu, expected, atol=1e-6)


def test_encode_images_vae_sigma(images) -> None:
    vae = new_model(ModelConfig(kind="vae", latent_dim=4, **SMALL), seed=0)
    codes = encode_images(vae, images, batch_size=7)
    whole = encode_images(vae, images)
    assert codes.mu.shape == codes.sigma.shape == (16, 4)
    assert (codes.sigma > 0).all()
    np.testing.assert_allclose(codes.mu, whole.mu, atol=1e-6)
    np.testing.assert_allclose(codes.sigma, whole.sigma, atol=1e-6)


@pytest.mark.parametrize(("kind", "has_sigma"), [("ae", False), ("vae", True)])
def test_encode_no_images(kind: str, has_sigma: bool) -> None:
    model = new_model(ModelConfig(kind=kind, latent_dim=2, **SMALL))
    codes = encode_images(model, torch.zeros(0, 28, 28, dtype=torch.uint8))
    assert codes.mu.shape == (0, 2)
    assert (codes.sigma is not None) == has_sigma
    if has_sigma:
        assert codes.sigma.shape == (0, 2)


# --- posterior samples ----------------------------------------------------------------


def test_posterior_samples_follow_the_reparameterization() -> None:
    mu = np.array([0.5, -1.0, 2.0], np.float32)
    sigma = np.array([0.1, 1.0, 0.5], np.float32)
    eps = draw_eps(64, 3, torch.Generator().manual_seed(0))
    base = posterior_samples(mu, sigma, eps)
    assert base.z.shape == base.eps.shape == (64, 3)
    np.testing.assert_allclose(base.z, mu + sigma * eps, rtol=1e-6)

    delta = np.array([1.5, -0.25, 3.0], np.float32)
    moved = posterior_samples(mu + delta, sigma, eps)
    np.testing.assert_allclose(
        moved.z - base.z, np.broadcast_to(delta, (64, 3)), atol=1e-5
    )

    for k in (0.0, 0.5, 3.0):
        scaled = posterior_samples(mu, sigma, eps, sigma_scale=k)
        np.testing.assert_allclose(scaled.z - mu, k * (base.z - mu), atol=1e-5)
        np.testing.assert_allclose(scaled.sigma, k * sigma)

    per_dim = posterior_samples(mu, sigma, eps, sigma_scale=[1.0, 0.0, 2.0])
    np.testing.assert_allclose(per_dim.z[:, 1], mu[1])
    np.testing.assert_allclose(
        per_dim.z[:, 2] - mu[2], 2 * (base.z[:, 2] - mu[2]), atol=1e-5
    )


def test_draw_eps_is_seeded() -> None:
    a = draw_eps(5, 2, torch.Generator().manual_seed(3))
    b = draw_eps(5, 2, torch.Generator().manual_seed(3))
    assert a.shape == (5, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


# --- interpolation ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_interpolate_endpoints_are_the_encodings(images, kind: str) -> None:
    model = new_model(ModelConfig(kind=kind, latent_dim=3, **SMALL), seed=5)
    a, b = images[0], images[1]
    path, decoded = interpolate(model, a, b, steps=7)
    ends = encode_images(model, torch.stack([a, b])).mu
    assert path.shape == (7, 3) and decoded.shape == (7, 28, 28)
    np.testing.assert_array_equal(path[0], ends[0])
    np.testing.assert_array_equal(path[-1], ends[1])
    np.testing.assert_allclose(path[3], (ends[0] + ends[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(
        np.diff(path, axis=0), np.diff(path, axis=0)[:1].repeat(6, 0), atol=1e-5
    )
    np.testing.assert_array_equal(decoded, decode_codes(model, path))
    with pytest.raises(ConfigError):
        interpolate(model, a, b, steps=1)


def test_display_decode_is_within_two_grey_levels_of_float32() -> None:
    model = new_model(ModelConfig(kind="vae", backbone="conv", **SMALL), seed=3)
    rect = LatentRect.square(3.0)
    exact = decode_grid(model, rect, 12)
    shown = decode_grid(model, rect, 12, for_display=True)
    assert shown.dtype == np.float32 and shown.shape == exact.shape
    assert np.abs(shown - exact).max() <= 2 / 255
    if native_bf16():
        assert not np.array_equal(shown, exact)  # the bfloat16 path did run
    else:
        np.testing.assert_array_equal(shown, exact)  # float32 where bf16 is slow


def test_mlp_display_decode_of_the_shipped_vae_is_within_three_grey_levels() -> None:
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.resources import models_dir

    model = load_checkpoint(models_dir() / "mnist-vae-2d.pt").model
    rect = LatentRect.square(3.0)
    exact = decode_grid(model, rect, 32)
    shown = decode_grid(model, rect, 32, for_display=True)
    assert np.abs(shown - exact).max() <= 3 / 255
    if native_bf16():
        assert not np.array_equal(shown, exact)  # the bfloat16 path did run


def test_grey_levels_round_half_up_clamp_and_zero_nan() -> None:
    values = np.array(
        [0.0, 1.0, 0.51 / 255, 0.49 / 255, 1.51 / 255, 0.5, -0.2, 1.7, np.nan],
        np.float32,
    )
    levels = grey_levels(torch.from_numpy(values)).numpy()
    assert levels.dtype == np.uint8
    expected = [0, 255, 1, 0, 2, 128, 0, 255, 0]
    np.testing.assert_array_equal(levels, expected)
    # From bfloat16 too (the display decode's dtype): rounded in float32.
    bf = torch.tensor([0.5, 0.25, 0.75]).bfloat16()
    np.testing.assert_array_equal(grey_levels(bf).numpy(), [128, 64, 191])


def test_the_grid_in_grey_levels_is_the_display_decode_rounded() -> None:
    model = new_model(ModelConfig(kind="vae", latent_dim=3, **SMALL), seed=6)
    sl = LatentSlice(3, (2, 0), (0.3, 0.0, -0.4))
    rect = LatentRect(-2.0, -1.0, 2.0, 1.5)
    levels = decode_grid_levels(model, rect, 5, sl, rows=3)
    shown = decode_grid(model, rect, 5, sl, rows=3, for_display=True)
    assert levels.dtype == np.uint8 and levels.shape == shown.shape == (84, 140)
    assert levels.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(levels, np.floor(shown * 255.0 + 0.5))
