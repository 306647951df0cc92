"""CIFAR-10 and CelebA from small files in their real formats: CIFAR's pickled
batches (read without running anything they name) and CelebA's folder with its
two lists (cropped, resized and cached on disk)."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from latentlab.core.datasets import celeba as celeba_mod
from latentlab.core.datasets import cifar as cifar_mod
from latentlab.core.datasets.celeba import celeba_files, load_celeba, read_face
from latentlab.core.datasets.cifar import cifar_files, load_cifar10
from latentlab.core.errors import DataError

CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


# --- CIFAR-10 ----------------------------------------------------------------


class _Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2's str (BINSTRING), as the official
    batches were written; read back with encoding="bytes" both are bytes."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin1"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def _py2_dumps(obj: object) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1.x (and Python 2's) module path of _reconstruct.
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def _batch(seed: int, n: int = 4) -> dict[bytes, object]:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": f"training batch {seed} of 5".encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }


def _write(path, obj, *, py2: bool = False) -> None:
    with open(path, "wb") as fh:
        if py2:
            fh.write(_py2_dumps(obj))
        else:
            pickle.dump(obj, fh, protocol=2)


@pytest.fixture
def cifar_dir(tmp_path):
    """torchvision's layout: ``tmp/cifar-10-batches-py/``, 4 images a batch;
    the first test image is pure red on top, green bottom-left, blue bottom-right."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        _write(folder / f"data_batch_{i}", _batch(i), py2=i % 2 == 0)
    test = _batch(9, 3)
    image = np.zeros((3, 32, 32), np.uint8)
    image[0, :16, :] = 255  # red top half
    image[1, 16:, :16] = 200  # green bottom-left
    image[2, 16:, 16:] = 100  # blue bottom-right
    test[b"data"][0] = image.reshape(-1)
    test[b"labels"][0] = 7
    _write(folder / "test_batch", test)
    meta = {
        b"label_names": [c.encode() for c in CLASSES],
        b"num_cases_per_batch": 4,
        b"num_vis": 3072,
    }
    _write(folder / "batches.meta", meta, py2=True)
    return folder


def test_cifar_reads_batches_pixel_exact(cifar_dir):
    for root in (cifar_dir.parent, cifar_dir):
        ds = load_cifar10(root)
        assert ds.name == "cifar10"
        assert ds.source == str(cifar_dir)
        assert ds.class_names == tuple(CLASSES)
        assert tuple(ds.train_images.shape) == (20, 3, 32, 32)
        assert tuple(ds.test_images.shape) == (3, 3, 32, 32)
        assert ds.train_images.dtype == ds.test_images.dtype
        assert str(ds.train_images.dtype) == "torch.uint8"
    expected = np.concatenate([_batch(i)[b"data"] for i in range(1, 6)])
    np.testing.assert_array_equal(ds.train_images.numpy().reshape(20, -1), expected)
    labels = [v for i in range(1, 6) for v in _batch(i)[b"labels"]]
    assert ds.train_labels.tolist() == labels
    assert ds.test_labels[0] == 7
    # Channel order: R plane first; rows are row-major 32x32.
    first = ds.test_images[0].numpy()
    rgb = first.transpose(1, 2, 0)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[31, 0]) == (0, 200, 0)
    assert tuple(rgb[31, 31]) == (0, 0, 100)
    assert ds.image_shape == (3, 32, 32)


def test_cifar_files_and_missing(cifar_dir, tmp_path):
    files = cifar_files(tmp_path)
    assert [f.name for f in files] == [
        *(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
        "batches.meta",
    ]
    assert cifar_files(cifar_dir) == files
    (cifar_dir / "data_batch_3").unlink()
    (cifar_dir / "batches.meta").unlink()
    assert cifar_files(tmp_path) == []
    with pytest.raises(DataError, match="missing") as err:
        load_cifar10(tmp_path)
    assert "data_batch_3, batches.meta" in str(err.value)
    assert "cifar-10-batches-py" in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cifar_files(empty) == []
    with pytest.raises(DataError, match="data_batch_1"):
        load_cifar10(empty)
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")


class _Touch:
    """Unpickled by pickle.load, it would create ``path``."""

    def __init__(self, func, path):
        self.func, self.path = func, path

    def __reduce__(self):
        return (self.func, (self.arg,))

    @property
    def arg(self):
        if self.func is os.system:
            return f"touch {self.path}"
        return f"open({str(self.path)!r}, 'w').close()"


@pytest.mark.parametrize(
    ("func", "name"), [(os.system, f"{os.name}.system"), (eval, "builtins.eval")]
)
def test_cifar_hostile_batch_refused_without_running(cifar_dir, tmp_path, func, name):
    marker = tmp_path / "ran"
    batch = _batch(1)
    batch[b"data"] = _Touch(func, marker)
    _write(cifar_dir / "data_batch_1", batch)
    with pytest.raises(DataError) as err:
        load_cifar10(cifar_dir)
    message = str(err.value)
    assert f"`{name}`" in message
    assert "never holds" in message and "does not run code" in message
    assert not marker.exists()


def test_cifar_hand_written_global_refused(cifar_dir):
    # GLOBAL 'os system' then REDUCE: what the brief's pickles look like.
    evil = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    (cifar_dir / "test_batch").write_bytes(evil)
    with pytest.raises(DataError, match=r"`os\.system`"):
        load_cifar10(cifar_dir)


def test_cifar_allowed_globals_cannot_be_misused(cifar_dir):
    path = cifar_dir / "data_batch_2"
    # _codecs.encode with another codec, bytes() asked to allocate.
    for payload in (
        b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R.",
        b"\x80\x02c__builtin__\nbytes\nJ\x00\xca\x9a;\x85R.",
    ):
        path.write_bytes(payload)
        with pytest.raises(DataError, match="not a CIFAR-10 file"):
            load_cifar10(cifar_dir)
    # An object-dtype array (would unpickle arbitrary objects into numpy).
    batch = _batch(2)
    batch[b"data"] = np.array([[1, 2]], dtype=object)
    _write(path, batch)
    with pytest.raises(DataError, match="array of type"):
        load_cifar10(cifar_dir)


def test_cifar_array_declaring_more_than_it_holds(cifar_dir):
    path = cifar_dir / "data_batch_4"
    raw = pickle.dumps(_batch(4), protocol=2)
    # The array's shape (4, 3072) -> (400, 3072): 100x the bytes it holds.
    shape = b"K\x04M\x00\x0c\x86"
    assert raw.count(shape) == 1
    path.write_bytes(raw.replace(shape, b"M\x90\x01M\x00\x0c\x86"))
    with pytest.raises(DataError, match=r"holds 12,288 bytes, not the 1,228,800"):
        load_cifar10(cifar_dir)


def test_cifar_oversized_file_refused_before_reading(cifar_dir):
    path = cifar_dir / "data_batch_5"
    with open(path, "r+b") as fh:  # sparse: costs no disk
        fh.truncate(cifar_mod.MAX_BATCH_BYTES + 1)
    with pytest.raises(DataError, match=r"data_batch_5 is 190\.7 MB"):
        load_cifar10(cifar_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({b"data": np.zeros((4, 3000), np.uint8)}, r"data is 4x3000; CIFAR-10's"),
        ({b"data": np.zeros((4, 3, 32, 32), np.uint8)}, r"data is 4x3x32x32"),
        ({b"data": np.zeros((4, 3072), np.int64)}, r"data is int64, not uint8"),
        ({b"data": b"\0" * 12288}, r"data is b'.*not a numpy array"),
        ({b"labels": [1, 2, 3]}, r"has 4 images but 3 labels"),
        ({b"labels": [1, 2, 10, 3]}, r"label 2 is 10; CIFAR-10's are class numbers"),
        ({b"labels": [1, 2, -1, 3]}, r"label 2 is -1"),
        ({b"labels": [1, 2.0, 1, 3]}, r"label 1 is 2\.0, not a whole number"),
        ({b"labels": None, b"fine_labels": [1]}, r"CIFAR-100"),
        ({b"data": None}, r"has no data"),
    ],
)
def test_cifar_wrong_batches_say_what_is_wrong(cifar_dir, change, message):
    batch = _batch(3)
    for key, value in change.items():
        if value is None:
            batch.pop(key, None)
        else:
            batch[key] = value
    _write(cifar_dir / "data_batch_3", batch)
    with pytest.raises(DataError, match=message) as err:
        load_cifar10(cifar_dir)
    assert "data_batch_3" in str(err.value)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({b"label_names": [b"a"] * 9}, r"list of 10 names"),
        ({b"label_names": [b"a"] * 9 + [b"\xff"]}, r"class name 9"),
        ({b"fine_label_names": [b"a"]}, r"no label_names \(CIFAR-100's\?\)"),
        ([1, 2], r"not CIFAR-10's meta dict"),
    ],
)
def test_cifar_wrong_meta(cifar_dir, meta, message):
    _write(cifar_dir / "batches.meta", meta)
    with pytest.raises(DataError, match=message):
        load_cifar10(cifar_dir)


def test_cifar_garbage_file(cifar_dir):
    (cifar_dir / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="test_batch is not a CIFAR-10 file"):
        load_cifar10(cifar_dir)


# --- CelebA ----------------------------------------------------------------------

ATTRS = ["Smiling", "Male", "Young"]
# name, partition, attributes (±1)
FACES = [
    ("000001.jpg", 0, (1, -1, 1)),
    ("000002.jpg", 0, (-1, 1, 1)),
    ("000003.png", 1, (1, 1, -1)),
    ("000004.jpg", 2, (-1, -1, 1)),
    ("000005.png", 2, (1, 1, 1)),
    ("000006.jpg", 2, (-1, 1, -1)),
]


def _face_image(k: int) -> Image.Image:
    """178x218 (CelebA's aligned size): a gradient, so crop and resize show."""
    y, x = np.mgrid[0:218, 0:178]
    pixels = np.stack(
        [(x * 1.4 + 10 * k) % 256, (y * 1.1) % 256, (x + y + 30 * k) % 256], axis=-1
    )
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _attr_text(rows=FACES, names=ATTRS) -> str:
    lines = [str(len(rows)), " ".join(names) + " "]
    for name, _, values in rows:
        lines.append(name + "".join(f" {v:2d}" for v in values))
    return "\n".join(lines) + "\n"


@pytest.fixture
def celeba_root(tmp_path):
    """torchvision's layout: ``tmp/data/celeba/`` with 6 faces."""
    folder = tmp_path / "data" / "celeba"
    images = folder / "img_align_celeba"
    images.mkdir(parents=True)
    for k, (name, _, _) in enumerate(FACES):
        _face_image(k).save(images / name, quality=95)
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, part, _ in FACES)
    )
    (folder / "list_attr_celeba.txt").write_text(_attr_text())
    return tmp_path / "data"


def _expected(path, size=(64, 64)) -> np.ndarray:
    """Independently: the centre 148x148 of 178x218 is (15, 35)-(163, 183)."""
    with Image.open(path) as img:
        face = img.convert("RGB").crop((15, 35, 163, 183))
        face = face.resize((size[1], size[0]), Image.Resampling.BOX)
    return np.asarray(face).transpose(2, 0, 1)


def test_celeba_reads_crops_and_caches(celeba_root, tmp_path):
    cache = tmp_path / "cache"
    folder = celeba_root / "celeba"
    ds = load_celeba(celeba_root, (64, 64), cache_dir=cache)
    assert ds.name == "celeba" and ds.source == str(folder)
    assert ds.class_names == ("face",)
    assert tuple(ds.train_images.shape) == (3, 3, 64, 64)
    assert tuple(ds.test_images.shape) == (3, 3, 64, 64)
    assert ds.train_labels.tolist() == [0, 0, 0] == ds.test_labels.tolist()
    assert ds.skipped == ()
    # Train = partitions 0 and 1, test = 2, each in the list's order.
    for split, rows in (("train", FACES[:3]), ("test", FACES[3:])):
        images = getattr(ds, f"{split}_images").numpy()
        for got, (name, _, _) in zip(images, rows, strict=True):
            np.testing.assert_array_equal(
                got, _expected(folder / "img_align_celeba" / name)
            )
    # The attributes colour the test set: 0/1 floats by name.
    assert set(ds.test_factors) == set(ATTRS)
    assert ds.test_factors["Smiling"].dtype == np.float32
    assert ds.test_factors["Smiling"].tolist() == [0.0, 1.0, 0.0]
    assert ds.test_factors["Male"].tolist() == [0.0, 1.0, 1.0]
    assert next(iter(ds.factors())) == "label"
    # One cache file of n x 3 x 64 x 64 bytes and its note.
    pixels = list(cache.glob("celeba-64x64-*.pixels"))
    assert len(pixels) == 1
    assert pixels[0].stat().st_size == 6 * 3 * 64 * 64
    note = json.loads(pixels[0].with_suffix(".json").read_text())
    assert (note["n_train"], note["n_test"]) == (3, 3)
    assert not list(cache.glob(".celeba-*"))  # no temporary left
    # The second load maps the cache and opens no image.
    for image in (folder / "img_align_celeba").iterdir():
        image.unlink()
    again = load_celeba(celeba_root, (64, 64), cache_dir=cache)
    assert np.array_equal(again.train_images.numpy(), ds.train_images.numpy())
    assert np.array_equal(again.test_images.numpy(), ds.test_images.numpy())
    assert again.identity() == ds.identity()
    # The tensors are writable copy-on-write maps: the cache stays as written.
    again.train_images[0] = 0
    fresh = load_celeba(folder, (64, 64), cache_dir=cache)
    assert np.array_equal(fresh.train_images.numpy(), ds.train_images.numpy())
    # Another size is another cache, and needs the images.
    with pytest.raises(DataError, match="unreadable"):
        load_celeba(celeba_root, (32, 48), cache_dir=cache)


def test_celeba_non_square_limit_and_default_cache(celeba_root):
    folder = celeba_root / "celeba"
    ds = load_celeba(celeba_root, (32, 48), limit=2)
    assert tuple(ds.train_images.shape) == (2, 3, 32, 48)
    assert tuple(ds.test_images.shape) == (2, 3, 32, 48)
    np.testing.assert_array_equal(
        ds.test_images[1].numpy(),
        _expected(folder / "img_align_celeba" / "000005.png", (32, 48)),
    )
    assert ds.test_factors["Young"].tolist() == [1.0, 1.0]
    # The default cache honours XDG_CACHE_HOME (tests/conftest.py sets it).
    cache = celeba_mod.default_cache_dir()
    assert cache == (
        celeba_mod.Path(os.environ["XDG_CACHE_HOME"]) / "latentlab" / "celeba"
    )
    assert list(cache.glob("celeba-32x48-*.pixels"))


def test_celeba_unreadable_images_are_dropped(celeba_root, tmp_path):
    images = celeba_root / "celeba" / "img_align_celeba"
    (images / "000002.jpg").unlink()
    (images / "000005.png").write_bytes(b"%!PS-Adobe-3.0\n")
    ds = load_celeba(celeba_root, 24, cache_dir=tmp_path / "c")
    assert tuple(ds.train_images.shape) == (2, 3, 24, 24)
    assert tuple(ds.test_images.shape) == (2, 3, 24, 24)
    assert len(ds.skipped) == 2
    assert "000002.jpg: unreadable" in ds.skipped[0]
    assert "000005.png is a PostScript file" in ds.skipped[1]
    # The factors follow the kept test images (000004, 000006).
    assert ds.test_factors["Male"].tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(
        ds.test_images[1].numpy(), _expected(images / "000006.jpg", (24, 24))
    )
    again = load_celeba(celeba_root, 24, cache_dir=tmp_path / "c")
    assert again.skipped == ds.skipped
    assert again.test_factors["Male"].tolist() == [0.0, 1.0]


def test_celeba_files(celeba_root, tmp_path):
    folder = celeba_root / "celeba"
    expected = [folder / "list_attr_celeba.txt", folder / "list_eval_partition.txt"]
    assert celeba_files(celeba_root) == expected
    assert celeba_files(folder) == expected
    assert celeba_files(tmp_path) == []
    (folder / "list_attr_celeba.txt").unlink()
    assert celeba_files(celeba_root) == []
    with pytest.raises(DataError, match=r"missing .*: list_attr_celeba\.txt\."):
        load_celeba(celeba_root, cache_dir=tmp_path / "c")


def test_celeba_missing_image_folder(celeba_root, tmp_path):
    images = celeba_root / "celeba" / "img_align_celeba"
    for f in images.iterdir():
        f.unlink()
    images.rmdir()
    with pytest.raises(DataError, match="img_align_celeba"):
        load_celeba(celeba_root, cache_dir=tmp_path / "c")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _attr_text().replace("000003.png  1  1 -1", "000003.png  1  1"),
            r"line 5: 2 ",
        ),
        (_attr_text().replace("000004.jpg -1", "000004.jpg  0"), r"line 6: Smiling "),
        (_attr_text().replace("000004.jpg -1", "000004.jpg  x"), r"line 6: .*'x'"),
        (_attr_text().replace("000006.jpg", "../e.jpg"), r"line 8: '\.\./e\.jpg'"),
        (
            _attr_text().replace("000005.png", "000004.jpg"),
            r"line 7: .*first on line 6",
        ),
        (_attr_text().replace("6\n", "7\n", 1), r"line 1 says 7 images"),
        (_attr_text().replace("6\n", "six\n", 1), r"line 1: the number of images"),
        (
            _attr_text().replace("Male", "Male Male"),
            r"line 2: attribute Male is named twice",
        ),
        (_attr_text().replace("Male", "label"), r"line 2: 'label'"),
        (_attr_text().replace("000005.png", "000009.png"), r"no attributes.*000005"),
    ],
)
def test_celeba_malformed_attributes_name_the_line(
    celeba_root, tmp_path, text, message
):
    (celeba_root / "celeba" / "list_attr_celeba.txt").write_text(text)
    with pytest.raises(DataError, match=message) as err:
        load_celeba(celeba_root, cache_dir=tmp_path / "c")
    assert "list_attr_celeba.txt" in str(err.value)
    assert not (tmp_path / "c").exists()  # refused before decoding anything


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("000001.jpg 0\n000002.jpg 3\n", r"line 2: '000002\.jpg 3' is not"),
        ("000001.jpg 0\n000002.jpg\n", r"line 2"),
        ("000001.jpg 0\n000001.jpg 2\n", r"line 2: 000001\.jpg is listed again"),
        ("000001.jpg 0\n/etc/passwd 2\n", r"line 2: '/etc/passwd' is not an image"),
        ("000001.jpg 0\n000002.jpg 1\n", r"no test images \(partition 2\)"),
        ("000001.jpg 2\n", r"no train images"),
        ("000001.jpg 0\n\xe9.jpg 2\n", r"line 2: not plain ASCII"),
    ],
)
def test_celeba_malformed_partition_list(celeba_root, tmp_path, text, message):
    path = celeba_root / "celeba" / "list_eval_partition.txt"
    path.write_bytes(text.encode("latin1"))
    with pytest.raises(DataError, match=message) as err:
        load_celeba(celeba_root, cache_dir=tmp_path / "c")
    assert "list_eval_partition.txt" in str(err.value)


def test_celeba_cache_bounded_before_decoding(celeba_root, tmp_path, monkeypatch):
    cache = tmp_path / "c"
    opened = []
    monkeypatch.setattr(celeba_mod, "read_face", lambda *a: opened.append(a))
    monkeypatch.setattr(celeba_mod, "MAX_CACHE_BYTES", 6 * 3 * 64 * 64 - 1)
    with pytest.raises(DataError, match=r"72\.0 KB cache, more than the 72\.0 KB"):
        load_celeba(celeba_root, cache_dir=cache)
    monkeypatch.setattr(celeba_mod, "MAX_CACHE_BYTES", 2**40)

    class Usage:
        free = 1000

    monkeypatch.setattr(celeba_mod.shutil, "disk_usage", lambda _: Usage)
    with pytest.raises(DataError, match=r"has 0 bytes free"):
        load_celeba(celeba_root, cache_dir=cache)
    assert opened == []
    assert not list(cache.glob("*"))


def test_celeba_old_caches_evicted_to_fit_the_cap(celeba_root, tmp_path, monkeypatch):
    cache = tmp_path / "c"
    load_celeba(celeba_root, 16, cache_dir=cache)
    os.utime(next(cache.glob("celeba-16x16-*.json")), (1, 1))  # long unused
    load_celeba(celeba_root, 20, cache_dir=cache)
    # Room for the 24x24 cache and one more: the oldest (16x16) goes.
    room = 6 * 3 * (24 * 24 + 20 * 20)
    monkeypatch.setattr(celeba_mod, "MAX_CACHE_BYTES", room)
    load_celeba(celeba_root, 24, cache_dir=cache)
    kept = sorted(p.name.split("-")[1] for p in cache.glob("*.pixels"))
    assert kept == ["20x20", "24x24"]
    assert len(list(cache.glob("*.json"))) == 2


def test_celeba_damaged_cache_is_rebuilt(celeba_root, tmp_path):
    cache = tmp_path / "c"
    first = load_celeba(celeba_root, 16, cache_dir=cache)
    pixels = next(cache.glob("*.pixels"))
    # Replaced, never cut in place: ``first`` still maps the old file, and a
    # mapped file cut short kills the process (SIGBUS), so LatentLab only ever
    # renames over its caches.
    (cache / "short").write_bytes(b"\0" * 100)
    os.replace(cache / "short", pixels)
    again = load_celeba(celeba_root, 16, cache_dir=cache)
    assert np.array_equal(again.test_images.numpy(), first.test_images.numpy())
    pixels.with_suffix(".json").write_text("{not json")
    again = load_celeba(celeba_root, 16, cache_dir=cache)
    assert np.array_equal(again.train_images.numpy(), first.train_images.numpy())


def test_read_face_small_image_crops_its_short_side(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(np.full((40, 100, 3), 9, np.uint8)).save(path)
    assert read_face(path, (8, 8)).shape == (3, 8, 8)
    assert (read_face(path, (8, 8)) == 9).all()


def test_celeba_bad_arguments(celeba_root, tmp_path):
    with pytest.raises(DataError, match="image size"):
        load_celeba(celeba_root, (64,), cache_dir=tmp_path)
    with pytest.raises(DataError, match="limit"):
        load_celeba(celeba_root, limit=0, cache_dir=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_celeba(tmp_path / "nowhere", cache_dir=tmp_path)
