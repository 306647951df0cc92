"""Datasets: the embedded shapes, IDX files, image folders; nothing downloads."""

from __future__ import annotations

import gzip
import socket
import struct
import time
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.core.data import (
    DATASET_NAMES,
    load_dataset,
    load_image_folder,
    make_shapes,
    read_grey_image,
    read_idx,
    to_float,
)
from latentlab.core.errors import DataError

if TYPE_CHECKING:
    from pathlib import Path

IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test in this module that opens a network connection."""

    def refuse(self: socket.socket, *args: object) -> None:
        raise AssertionError(f"a data test tried to connect to {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        struct.pack(">I", s) for s in array.shape
    )
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def _write_idx_set(root: Path, folder: str = "MNIST", n_train: int = 20) -> Path:
    """A tiny valid IDX set in torchvision's layout; returns the raw folder."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(10) % 10,
    }
    for stem, arr in parts.items():
        (raw / f"{stem}.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    return raw


# --- the embedded shapes set ------------------------------------------------------


def test_shapes_is_deterministic_and_sized() -> None:
    start = time.perf_counter()
    a = make_shapes()
    seconds = time.perf_counter() - start
    print(f"make_shapes(): {seconds:.2f} s for 15,000 images")  # budget ~2 s
    b = make_shapes()
    assert a.train_images.shape == (12_000, 28, 28)
    assert a.test_images.shape == (3_000, 28, 28)
    assert a.train_images.dtype == torch.uint8
    assert a.train_labels.dtype == torch.int64
    assert a.image_shape == (1, 28, 28)
    assert a.class_names == ("square", "ellipse", "triangle")
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.identity() == b.identity()
    for key, values in a.factors().items():
        np.testing.assert_array_equal(values, b.factors()[key])
    assert not torch.equal(make_shapes(seed=99).test_images, a.test_images)


def test_shapes_factors_have_plausible_ranges(shapes) -> None:
    factors = shapes.factors()
    assert list(factors) == ["label", "scale", "rotation", "x", "y"]
    for key, values in factors.items():
        assert values.shape == (3_000,), key
        assert values.dtype == np.float32, key
        assert np.isfinite(values).all(), key
    assert set(np.unique(factors["label"])) == {0.0, 1.0, 2.0}
    assert 3.5 <= factors["scale"].min() and factors["scale"].max() <= 7.0
    assert 0.0 <= factors["rotation"].min() and factors["rotation"].max() <= 180.0
    for axis in ("x", "y"):
        assert 4.0 < factors[axis].min() and factors[axis].max() < 23.0, axis
    # Each class is roughly a third of the set.
    counts = np.bincount(shapes.train_labels.numpy(), minlength=3)
    assert counts.min() > 0.3 * len(shapes.train_labels), counts


def test_shapes_images_match_their_factors(shapes) -> None:
    """Shapes sit inside the frame, centred on (x, y), with area growing with scale."""
    imgs = shapes.test_images.numpy().astype(np.float64)
    factors = shapes.factors()
    assert (imgs.reshape(len(imgs), -1).max(1) == 255).all(), "every shape is drawn"
    frame = np.concatenate(
        [imgs[:, 0, :], imgs[:, -1, :], imgs[:, :, 0], imgs[:, :, -1]], 1
    )
    assert frame.max() == 0, "no shape touches the border"
    mass = imgs.sum((1, 2))
    grid = np.arange(28)
    cx = (imgs.sum(1) * grid).sum(1) / mass
    cy = (imgs.sum(2) * grid).sum(1) / mass
    err = np.hypot(cx - factors["x"], cy - factors["y"])
    assert err.mean() < 0.5 and err.max() < 1.5, (err.mean(), err.max())
    for label in range(3):
        sel = factors["label"] == label
        r = np.corrcoef(mass[sel], factors["scale"][sel] ** 2)[0, 1]
        assert r > 0.95, (label, r)


def test_to_float_scales_to_unit_range() -> None:
    images = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)
    x = to_float(images)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, 0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))


def test_unknown_dataset_name_lists_the_choices() -> None:
    with pytest.raises(DataError, match="choose one of") as info:
        load_dataset("cifar")
    for name in DATASET_NAMES:
        assert name in str(info.value)


# --- real IDX data ---------------------------------------------------------------


def test_real_mnist_subset_loads(mnist) -> None:
    assert mnist.name == "mnist"
    assert mnist.train_images.shape == (4_000, 28, 28)
    assert mnist.test_images.shape == (1_000, 28, 28)
    assert mnist.train_images.dtype == torch.uint8
    assert torch.bincount(mnist.train_labels).tolist() == [400] * 10
    assert torch.bincount(mnist.test_labels).tolist() == [100] * 10
    assert mnist.class_names == tuple(str(d) for d in range(10))
    assert mnist.train_images.max() == 255 and mnist.train_images.min() == 0
    ident = mnist.identity()
    assert ident["n_train"] == 4_000 and ident["n_test"] == 1_000
    assert len(ident["digest"]) == 16


def test_real_fashion_mnist_loads(real_data_dir: Path) -> None:
    start = time.perf_counter()
    ds = load_dataset("fashion-mnist", real_data_dir)
    print(f"Fashion-MNIST read in {time.perf_counter() - start:.2f} s")
    assert ds.train_images.shape == (60_000, 28, 28)
    assert ds.test_images.shape == (10_000, 28, 28)
    assert torch.bincount(ds.train_labels).tolist() == [6_000] * 10
    assert torch.bincount(ds.test_labels).tolist() == [1_000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    # Aliases reach the same set.
    assert load_dataset("FashionMNIST", real_data_dir).identity() == ds.identity()


def test_idx_files_also_found_uncompressed_and_in_raw(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    for stem in IDX_STEMS:
        (raw / stem).write_bytes(gzip.decompress((raw / f"{stem}.gz").read_bytes()))
        (raw / f"{stem}.gz").unlink()
    ds = load_dataset("mnist", tmp_path)
    assert ds.train_images.shape == (20, 28, 28)
    assert load_dataset("mnist", tmp_path / "MNIST").identity() == ds.identity()


def test_missing_data_dir_says_where_to_put_files(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        load_dataset("mnist", missing)
    msg = str(info.value)
    assert str(missing) in msg and "does not exist" in msg
    assert str(missing / "MNIST" / "raw") in msg
    assert "train-images-idx3-ubyte.gz" in msg
    assert not missing.exists(), "loading must not create the folder"


@pytest.mark.parametrize("key", ["mnist", "fashion-mnist", "kmnist"])
def test_missing_files_say_where_to_put_them_and_never_download(
    tmp_path: Path, key: str
) -> None:
    folder = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
    with pytest.raises(DataError) as info:
        load_dataset(key, tmp_path)
    msg = str(info.value)
    assert str(tmp_path / folder[key] / "raw") in msg
    for stem in IDX_STEMS:
        assert f"{stem}.gz" in msg
    assert list(tmp_path.iterdir()) == [], "nothing may be written (no download)"


def test_partial_idx_set_is_missing(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="not found"):
        load_dataset("mnist", tmp_path)


def test_corrupt_gz_is_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    target = raw / "train-images-idx3-ubyte.gz"
    target.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00garbage-not-deflate" * 50)
    with pytest.raises(DataError, match="cannot read") as info:
        load_dataset("mnist", tmp_path)
    assert str(target) in str(info.value)


def test_truncated_gz_stream_is_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    target = raw / "train-images-idx3-ubyte.gz"
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot read"):
        load_dataset("mnist", tmp_path)


def test_truncated_idx_is_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    target = raw / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError, match="truncated") as info:
        load_dataset("mnist", tmp_path)
    assert "15680 values" in str(info.value)  # 20 * 28 * 28 promised


def test_padded_idx_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(_idx_bytes(np.arange(5)) + b"\x00")
    with pytest.raises(DataError, match="truncated or padded"):
        read_idx(path)


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"\x08\x03\x00\x00", "not a uint8 IDX file"),  # bytes in the wrong order
        (b"\x00\x00\x0d\x03", "not a uint8 IDX file"),  # float32 type code
        (b"PK\x03\x04", "not a uint8 IDX file"),  # a zip, not IDX
        (b"\x00\x00\x08", "not a uint8 IDX file"),  # shorter than the magic
        (b"\x00\x00\x08\x00", "malformed IDX header"),  # zero dimensions
        (b"\x00\x00\x08\x03\x00\x00", "malformed IDX header"),  # header cut short
    ],
)
def test_wrong_magic_or_header_is_a_data_error(
    tmp_path: Path, head: bytes, reason: str
) -> None:
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(head))
    with pytest.raises(DataError, match=reason) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_absurd_idx_header_does_not_overflow(tmp_path: Path) -> None:
    """Dims whose product is 2**64 (0 in int64 arithmetic) and no payload.

    With ``np.prod`` the count wrapped to 0, matched the empty payload, and the
    reshape raised a bare ValueError.
    """
    head = bytes([0, 0, 8, 4]) + struct.pack(">4I", *(0x10000,) * 4)
    path = tmp_path / "huge-idx4-ubyte"
    path.write_bytes(head)
    with pytest.raises(DataError, match="declares 18,446,744,073,709,551,616 values"):
        read_idx(path)


def test_labels_and_images_that_disagree_are_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros(7)))
    )
    with pytest.raises(DataError, match="disagree"):
        load_dataset("mnist", tmp_path)


def test_labels_beyond_the_classes_are_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.full(10, 12)))
    )
    with pytest.raises(DataError, match="exceed 10 classes"):
        load_dataset("mnist", tmp_path)


def test_train_and_test_sizes_that_differ_are_a_data_error(tmp_path: Path) -> None:
    raw = _write_idx_set(tmp_path)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros((10, 32, 32))))
    )
    with pytest.raises(DataError, match="28x28 but test images are 32x32"):
        load_dataset("mnist", tmp_path)


# --- image folders -----------------------------------------------------------------


def _png(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def test_image_folder_classes_come_from_subfolders(tmp_path: Path) -> None:
    for cls, value in (("cats", 50), ("dogs", 200)):
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", Image.new("L", (40, 40), value))
    _png(tmp_path / "dogs" / "nested" / "deep.png", Image.new("L", (40, 40), 200))
    (tmp_path / "dogs" / "readme.txt").write_text("not an image")
    ds = load_dataset("folder", tmp_path)
    assert ds.class_names == ("cats", "dogs")
    assert ds.name == f"folder:{tmp_path.name}"
    assert len(ds.train_images) + len(ds.test_images) == 11
    assert len(ds.test_images) == 2  # every 5th file in sorted order
    assert ds.train_images.shape[1:] == (28, 28)
    assert ds.skipped == ()
    images = torch.cat([ds.train_images, ds.test_images])
    labels = torch.cat([ds.train_labels, ds.test_labels])
    # Each image's grey level tells its class: labels follow the folders.
    assert (images[labels == 0] == 50).all()
    assert (images[labels == 1] == 200).all()


def test_loose_images_get_the_images_class(tmp_path: Path) -> None:
    for i in range(3):
        _png(tmp_path / f"{i}.png", Image.new("L", (28, 28), 9))
    ds = load_image_folder(tmp_path, image_size=(16, 20))
    assert ds.class_names == ("images",)
    assert ds.train_images.shape[1:] == (16, 20)
    assert len(ds.test_images) == 1  # at least one test image even below 5 files


def test_image_folder_skips_and_counts_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "a"
    for i in range(4):
        _png(good / f"{i}.png", Image.new("L", (28, 28), 100))
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "garbage.png").write_bytes(b"this is not a png" * 20)
    (bad / "empty.jpg").write_bytes(b"")
    png = (good / "0.png").read_bytes()
    (bad / "truncated.png").write_bytes(png[: len(png) // 2])
    (bad / "header-only.gif").write_bytes(b"GIF89a\x10\x00\x10\x00")
    (bad / "folder.png").mkdir()  # a folder with an image suffix is ignored
    # A 1-bit 8000x8000 PNG: 64 Mpx, over the 40 Mpx limit, but only ~8 KB to build.
    _png(bad / "huge.png", Image.new("1", (8000, 8000)))
    ds = load_image_folder(tmp_path)
    assert len(ds.train_images) + len(ds.test_images) == 4
    assert len(ds.skipped) == 5, ds.skipped
    reasons = "\n".join(ds.skipped)
    for name in ("garbage.png", "empty.jpg", "truncated.png", "header-only.gif"):
        assert name in reasons
    assert "8000x8000 pixels is too large" in reasons


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        # Half-transparent white over black composites to mid grey.
        ("rgba.png", lambda: Image.new("RGBA", (28, 28), (255, 255, 255, 128)), 128),
        ("la.png", lambda: Image.new("LA", (28, 28), (200, 0)), 0),
        ("rgb.bmp", lambda: Image.new("RGB", (28, 28), (0, 255, 0)), 150),
        ("grey.jpg", lambda: Image.new("L", (28, 28), 77), 77),
        ("grey.webp", lambda: Image.new("L", (28, 28), 77), 77),
        ("grey.tiff", lambda: Image.new("L", (28, 28), 33), 33),
        # 16-bit: full scale is 65535.
        (
            "g16.png",
            lambda: Image.fromarray(np.full((28, 28), 32896, np.uint16)),
            128,
        ),
        # float: scaled by its maximum (at least 1).
        (
            "f32.tif",
            lambda: Image.fromarray(np.full((28, 28), 0.5, np.float32)),
            127,
        ),
        ("i32.tif", lambda: Image.fromarray(np.full((28, 28), 3, np.int32)), 255),
    ],
)
def test_image_modes_convert_to_grey(tmp_path: Path, name, make, expected) -> None:
    path = tmp_path / name
    _png(path, make())
    grey = read_grey_image(path)
    assert grey.dtype == np.uint8 and grey.shape == (28, 28)
    assert abs(int(np.median(grey)) - expected) <= 1, (name, np.unique(grey))


def test_palette_image_converts_with_its_colours(tmp_path: Path) -> None:
    img = Image.new("P", (28, 28), 0)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    for x in range(10, 18):
        for y in range(10, 18):
            img.putpixel((x, y), 1)
    _png(tmp_path / "pal.png", img)
    grey = read_grey_image(tmp_path / "pal.png")
    assert grey[14, 14] == 255 and grey[0, 0] == 0


def test_palette_with_transparency_goes_black(tmp_path: Path) -> None:
    img = Image.new("P", (28, 28), 1)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.info["transparency"] = 1
    _png(tmp_path / "tp.png", img)
    assert read_grey_image(tmp_path / "tp.png").max() == 0


def test_folder_with_no_images_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no image files") as info:
        load_dataset("folder", tmp_path)
    assert str(tmp_path) in str(info.value)


def test_folder_with_only_bad_images_is_a_data_error(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="found 0 readable image") as info:
        load_image_folder(tmp_path)
    assert "3 skipped" in str(info.value)


def test_missing_image_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("folder", tmp_path / "missing")
    with pytest.raises(DataError, match="needs a folder"):
        load_dataset("folder", None)


def test_folder_classes_without_readable_images_are_dropped(tmp_path) -> None:
    from PIL import Image

    from latentlab.core.data import load_image_folder

    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
    for i in range(4):
        Image.new("L", (10, 10), 40 * i).save(tmp_path / "cats" / f"{i}.png")
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    dataset = load_image_folder(tmp_path)
    assert dataset.class_names == ("cats",)
    assert len(dataset.skipped) == 1 and "broken.png" in dataset.skipped[0]
    assert dataset.identity()["source"] == str(tmp_path)


def test_test_subset_strides_images_labels_and_factors(shapes) -> None:
    sub = shapes.test_subset(1000)
    assert len(sub.test_images) == 1000 == len(sub.test_labels)
    assert all(len(v) == 1000 for v in sub.test_factors.values())
    assert torch.equal(sub.test_images[1], shapes.test_images[3])
    assert sub.train_images is shapes.train_images
    assert shapes.test_subset(10**6) is shapes


# --- hostile data: empty splits, odd pixels, huge folders, dataset paths -----------


@pytest.mark.parametrize("split", ["train", "t10k"])
def test_an_empty_split_is_refused(tmp_path: Path, split: str) -> None:
    """Zero test images trained fine and reported "test -ELBO 0.00"."""
    raw = _write_idx_set(tmp_path)
    empty = np.zeros((0, 28, 28), np.uint8)
    (raw / f"{split}-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(empty))
    )
    (raw / f"{split}-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros(0)))
    )
    word = "train" if split == "train" else "test"
    with pytest.raises(DataError, match=f"empty {word} split"):
        load_dataset("mnist", tmp_path)


def test_idx_with_the_wrong_number_of_dimensions_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    raw = _write_idx_set(tmp_path)
    target = raw / "train-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(_idx_bytes(np.zeros((20, 28, 28)))))
    with pytest.raises(DataError, match="expected 1") as info:
        load_dataset("mnist", tmp_path)
    assert str(target) in str(info.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_float_images_with_nan_or_inf_pixels_are_skipped_and_counted(
    tmp_path: Path, value: float
) -> None:
    for i in range(3):
        _png(tmp_path / "a" / f"{i}.png", Image.new("L", (28, 28), 50))
    pixels = np.full((28, 28), 0.5, np.float32)
    pixels[3, 4] = value
    Image.fromarray(pixels).save(tmp_path / "a" / "bad.tif")  # mode "F"
    ds = load_image_folder(tmp_path)
    assert len(ds.train_images) + len(ds.test_images) == 3
    assert len(ds.skipped) == 1 and "bad.tif" in ds.skipped[0]
    assert "NaN or infinite pixels" in ds.skipped[0]


def test_a_folder_with_too_many_entries_is_refused(tmp_path: Path, monkeypatch):
    from latentlab.core.datasets import image_folder

    monkeypatch.setattr(image_folder, "MAX_FOLDER_ENTRIES", 10)
    for i in range(12):
        (tmp_path / f"{i}.txt").write_text("x")
    with pytest.raises(DataError, match="more than 10 files and folders"):
        load_image_folder(tmp_path)


def test_images_past_the_folders_pixel_budget_are_skipped(tmp_path, monkeypatch):
    from latentlab.core.datasets import image_folder

    monkeypatch.setattr(image_folder, "MAX_FOLDER_PIXELS", 3 * 28 * 28)
    for i in range(5):
        _png(tmp_path / f"{i}.png", Image.new("L", (28, 28), 50))
    ds = load_image_folder(tmp_path)
    assert len(ds.train_images) + len(ds.test_images) == 3
    assert len(ds.skipped) == 2 and "add up to" in ds.skipped[0]


def test_a_folder_too_big_for_memory_is_refused_before_decoding(
    tmp_path: Path, monkeypatch
):
    from latentlab.core.datasets import image_folder

    # Sizes are capped at 128 px, so a small budget stands in for a huge folder.
    monkeypatch.setattr(image_folder, "memory_budget", lambda: 3 * 2 * 28 * 28 - 1)
    for i in range(2):
        _png(tmp_path / f"{i}.png", Image.new("L", (28, 28), 50))
    with pytest.raises(DataError, match="more than LatentLab uses"):
        load_image_folder(tmp_path)


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    for i in range(2):
        _png(tmp_path / "own" / f"{i}.png", Image.new("L", (28, 28), 50))
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    for i in range(3):
        _png(elsewhere / f"{i}.png", Image.new("L", (28, 28), 50))
    (tmp_path / "link").symlink_to(elsewhere, target_is_directory=True)
    ds = load_image_folder(tmp_path)
    assert len(ds.train_images) + len(ds.test_images) == 2


def test_a_checkpoints_image_folder_is_not_scanned_unless_asked() -> None:
    from latentlab.core.data import checkpoint_dataset_source

    ident = {"name": "folder:photos", "source": "/\x1b[2J"}
    with pytest.raises(DataError, match="give that folder as the data folder") as info:
        checkpoint_dataset_source(ident, "/data")
    assert "\x1b" not in str(info.value) and "\\x1b[2J" in str(info.value)
    assert checkpoint_dataset_source(ident, None, allow_folder_scan=True) == (
        "folder",
        "/\x1b[2J",
    )
    assert checkpoint_dataset_source({"name": "MNIST"}, "/data") == ("mnist", "/data")
    assert checkpoint_dataset_source({"name": "fmnist"}, None) == (
        "fashion-mnist",
        None,
    )
    for bad in ({}, {"name": 5}, {"name": "cifar"}, {"name": "folder:x"}):
        with pytest.raises(DataError):
            checkpoint_dataset_source(bad, None, allow_folder_scan=True)
