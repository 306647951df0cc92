"""CelebA (aligned faces) from its official files: the images named by
``list_eval_partition.txt`` (never by walking the folder: it holds 202,599
files), centre-cropped to 148x148 and area-resized, and the 40 attributes of
``list_attr_celeba.txt`` as the test set's colouring factors.

Decoding the faces takes minutes, and they do not fit in memory at every size,
so the resized pixels go into a cache file on disk (raw uint8 ``(n, 3, H, W)``
and a JSON note beside it), written atomically and memory-mapped: the next load
of the same folder, size and partition list maps that file and opens no image.
The caches in one cache folder stay under :data:`MAX_CACHE_BYTES` together (the
least recently used are removed), and a load that needs more room than the cap
or the disk has is refused before an image is decoded. A cache file is only ever
replaced by a rename or removed, never rewritten in place: a process mapping it
keeps its copy, where a mapped file cut short would kill it (SIGBUS).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.datasets.image_dataset import ImageDataset, check_data_dir
from latentlab.core.datasets.image_folder import MAX_SOURCE_PIXELS
from latentlab.core.errors import DataError
from latentlab.core.limits import GiB, format_bytes
from latentlab.core.raster import open_raster
from latentlab.core.text import NumberError, bounded_int, describe, printable_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

# torchvision's folder name, and the files in it LatentLab reads.
CELEBA_FOLDER = "celeba"
IMAGES_FOLDER = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"

# The usual crop of the aligned 178x218 faces: the face, little background.
CROP = 148
# The official lists are 3.4 MB and 26 MB; a far larger one is not CelebA's.
MAX_LIST_BYTES = 64 * 1024**2
MAX_ATTRIBUTES = 100
# All CelebA caches in one cache folder together (the whole set is 2.5 GB at
# 64x64, 10 GB at 128x128).
MAX_CACHE_BYTES = 16 * GiB
# Room left on the disk after a cache is written.
DISK_MARGIN = 256 * 1024**2
_CACHE_VERSION = 1
_PARTITIONS = {"0": "train", "1": "train", "2": "test"}  # train, valid, test
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}\Z")
_DECODE_CHUNK = 512
# An unfinished cache (a crash while writing) older than this is removed.
_STALE_PART_S = 24 * 3600


def default_cache_dir() -> Path:
    """Where CelebA's decoded pixels are kept: ``$XDG_CACHE_HOME/latentlab/celeba``
    (when that variable is an absolute path, as the XDG spec requires), else
    ``~/.cache/latentlab/celeba``."""
    root = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(root) if os.path.isabs(root) else Path.home() / ".cache"
    return base / "latentlab" / "celeba"


def celeba_files(root: str | os.PathLike[str]) -> list[Path]:
    """The two lists :func:`load_celeba` reads under ``root`` (its folder, or
    ``root/celeba``), found without being read: ``[attributes, partition]``, or
    ``[]`` unless both are there. The images are named by the partition list."""
    folder = _celeba_dir(Path(root))
    if folder is None:
        return []
    files = [folder / ATTR_FILE, folder / PARTITION_FILE]
    return files if all(f.is_file() for f in files) else []


def load_celeba(
    root: str | os.PathLike[str],
    image_size: int | Sequence[int] = (64, 64),
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
) -> ImageDataset:
    """Read CelebA's aligned faces as RGB ``image_size`` pixels.

    Each face is centre-cropped to 148x148 (the crop of smaller images is their
    short side) and area-resized (``BOX``) to ``(height, width)``. Train is the
    official train and validation partitions (0 and 1), test partition 2. All
    labels are 0 (``("face",)``); the attributes (``"Smiling"``, ``"Male"``, …)
    are the test set's factors, 0.0 or 1.0. Unreadable or missing images are
    dropped and listed in ``skipped``.

    The images are memory-mapped from a cache file (see the module), made on the
    first load of a folder, size, partition list and ``limit``; later loads open
    no image.

    Parameters
    ----------
    root : path
        The folder holding ``img_align_celeba/``, ``list_attr_celeba.txt`` and
        ``list_eval_partition.txt``, or one holding ``celeba/`` with them.
    image_size : (height, width), or one int for a square
    cache_dir : path, optional
        Where the cache goes; default :func:`default_cache_dir`.
    limit : int, optional
        Keep only the first ``limit`` images of each split (a quick look).

    Raises
    ------
    DataError
        Missing or malformed lists (with the line), a missing image folder on a
        first load, a cache larger than :data:`MAX_CACHE_BYTES` or the free
        disk, or no readable image in a split.
    """
    import torch

    root = Path(root)
    check_data_dir(root, what="CelebA folder")
    if not root.is_dir():
        raise DataError(
            f"CelebA folder {printable_path(root)} does not exist. {_layout(root)}"
        )
    folder = _celeba_dir(root) or root
    missing = [n for n in (ATTR_FILE, PARTITION_FILE) if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"CelebA files missing in {printable_path(folder)}: "
            f"{', '.join(missing)}. {_layout(root)}"
        )
    size = _checked_size(image_size)
    if limit is not None and (type(limit) is not int or limit < 1):
        raise DataError(
            f"limit must be a whole number of images, not {describe(limit)}"
        )
    listed = _read_list(folder / PARTITION_FILE)
    splits = _parse_partition(listed, printable_path(folder / PARTITION_FILE))
    if limit is not None:
        splits = {k: names[:limit] for k, names in splits.items()}
    attr_names, attributes = _parse_attributes(folder / ATTR_FILE, splits["test"])

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = _cache_key(folder, size, limit, listed)
    pixels, note = _cached(cache, key, size, splits)
    if pixels is None:
        _build_cache(cache, key, folder, size, splits)
        pixels, note = _cached(cache, key, size, splits)
        if pixels is None:  # pragma: no cover - just written and checked
            raise DataError(f"the CelebA cache in {printable_path(cache)} is unusable")
    skipped = {name for name, _ in note["skipped"]}
    kept_test = [i for i, n in enumerate(splits["test"]) if n not in skipped]
    n_train = note["n_train"]
    factors = {
        name: attributes[kept_test, j].astype(np.float32)
        for j, name in enumerate(attr_names)
    }
    return ImageDataset(
        name="celeba",
        train_images=torch.from_numpy(pixels[:n_train]),
        train_labels=torch.zeros(n_train, dtype=torch.int64),
        test_images=torch.from_numpy(pixels[n_train:]),
        test_labels=torch.zeros(len(pixels) - n_train, dtype=torch.int64),
        class_names=("face",),
        test_factors=factors,
        skipped=tuple(reason for _, reason in note["skipped"]),
        source=str(folder),
    )


def _celeba_dir(root: Path) -> Path | None:
    for folder in (root, root / CELEBA_FOLDER):
        if (folder / PARTITION_FILE).is_file() or (folder / ATTR_FILE).is_file():
            return folder
    return None


def _layout(root: Path) -> str:
    return (
        f"Put {IMAGES_FOLDER}/ (the aligned JPEGs), {ATTR_FILE} and "
        f"{PARTITION_FILE} into {printable_path(root / CELEBA_FOLDER)}, and give "
        "that folder or the one above it."
    )


def _checked_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    if type(image_size) is int:
        size: tuple[Any, ...] = (image_size, image_size)
    else:
        size = tuple(image_size) if isinstance(image_size, tuple | list) else ()
    if len(size) != 2 or not all(type(s) is int and 1 <= s <= 1024 for s in size):
        raise DataError(
            f"CelebA image size must be (height, width) from 1 to 1024, not "
            f"{describe(image_size)}"
        )
    return size  # type: ignore[return-value]


# --- the two lists ---------------------------------------------------------


def _read_list(path: Path) -> bytes:
    shown = printable_path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    if len(data) > MAX_LIST_BYTES:
        raise DataError(
            f"{shown} is larger than {format_bytes(MAX_LIST_BYTES)}; CelebA's is "
            "a few MB, so this is not it"
        )
    return data


def _lines(data: bytes, shown: str) -> list[str]:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{shown} line {line}: not plain ASCII text") from None
    return text.splitlines()


def _check_name(name: str, shown: str, line: int) -> None:
    if not _NAME.match(name):
        raise DataError(
            f"{shown} line {line}: {describe(name)} is not an image file name "
            "(letters, digits, '_', '.', '-')"
        )


def _parse_partition(data: bytes, shown: str) -> dict[str, list[str]]:
    """``{"train": names, "test": names}`` in file order, from lines
    ``000001.jpg 0`` (0 train, 1 validation, 2 test)."""
    splits: dict[str, list[str]] = {"train": [], "test": []}
    first_line: dict[str, int] = {}
    for i, line in enumerate(_lines(data, shown), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in _PARTITIONS:
            raise DataError(
                f"{shown} line {i}: {describe(line.strip())} is not 'name 0', "
                "'name 1' or 'name 2' (train, validation, test)"
            )
        name = parts[0]
        _check_name(name, shown, i)
        if name in first_line:
            raise DataError(
                f"{shown} line {i}: {name} is listed again (first on line "
                f"{first_line[name]})"
            )
        first_line[name] = i
        splits[_PARTITIONS[parts[1]]].append(name)
    for split, names in splits.items():
        if not names:
            which = "2" if split == "test" else "0 or 1"
            raise DataError(
                f"{shown} lists no {split} images (partition {which}); LatentLab "
                "needs both splits"
            )
    return splits


def _parse_attributes(
    path: Path, wanted: list[str]
) -> tuple[tuple[str, ...], npt.NDArray[np.bool_]]:
    """The attribute names and a ``(len(wanted), n_attributes)`` bool array of
    the images ``wanted`` (in that order). Every line is checked: the count on
    line 1, the names on line 2, then ``name  1 -1 …`` an image."""
    shown = printable_path(path)
    lines = _lines(_read_list(path), shown)
    if len(lines) < 2:
        raise DataError(
            f"{shown} has {len(lines)} line(s); CelebA's starts with the number "
            "of images and the attribute names"
        )
    try:
        declared = bounded_int(lines[0].strip(), "the number of images", 9)
    except NumberError as exc:
        raise DataError(f"{shown} line 1: {exc}") from None
    names = lines[1].split()
    if not 1 <= len(names) <= MAX_ATTRIBUTES:
        raise DataError(
            f"{shown} line 2: {len(names)} attribute names; expected 1 to "
            f"{MAX_ATTRIBUTES} (CelebA has 40)"
        )
    for name in names:
        if not name.isidentifier() or not name.isascii() or name == "label":
            raise DataError(
                f"{shown} line 2: {describe(name)} is not an attribute name "
                "(letters, digits and '_')"
            )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{shown} line 2: attribute {dup} is named twice")
    row_of = {name: k for k, name in enumerate(wanted)}
    out = np.zeros((len(wanted), len(names)), dtype=np.bool_)
    found = np.zeros(len(wanted), dtype=np.bool_)
    first_line: dict[str, int] = {}
    # One C-level match a line (CelebA's file has 202,599); a line it refuses
    # is looked at again to say what is wrong.
    row = re.compile(rf"\s*(\S+)((?:[ \t]+-?1){{{len(names)}}})\s*")
    count = 0
    for i, line in enumerate(lines[2:], start=3):
        match = row.fullmatch(line)
        if match is not None:
            name, values = match.group(1), match.group(2)
            _check_name(name, shown, i)
        elif line.strip():
            name, values = _check_row(line, i, names, shown)
        else:
            continue
        if name in first_line:
            raise DataError(
                f"{shown} line {i}: {name} is listed again (first on line "
                f"{first_line[name]})"
            )
        first_line[name] = i
        count += 1
        k = row_of.get(name)
        if k is not None:
            out[k] = [v == "1" for v in values.split()]
            found[k] = True
    if count != declared:
        raise DataError(
            f"{shown} line 1 says {declared:,} images, but the file lists {count:,}"
        )
    if not found.all():
        absent = wanted[int(np.argmin(found))]
        lacking = int((~found).sum())
        raise DataError(
            f"{shown} has no attributes for the test image {absent}"
            + (f" ({lacking:,} test images lack them)" if lacking > 1 else "")
        )
    return tuple(names), out


def _check_row(line: str, i: int, names: list[str], shown: str) -> tuple[str, str]:
    """``(name, values)`` of an attribute line, or the error saying what is
    wrong with it."""
    parts = line.split()
    values = parts[1:]
    if len(values) != len(names):
        raise DataError(
            f"{shown} line {i}: {len(values)} values for the {len(names)} "
            "attributes of line 2"
        )
    _check_name(parts[0], shown, i)
    for name, value in zip(names, values, strict=True):
        if value not in ("1", "-1"):
            raise DataError(
                f"{shown} line {i}: {name} is {describe(value)}, not 1 or -1"
            )
    return parts[0], " ".join(values)


# --- the cache ---------------------------------------------------------------


def _cache_key(
    folder: Path, size: tuple[int, int], limit: int | None, listed: bytes
) -> str:
    digest = hashlib.sha256()
    what = [_CACHE_VERSION, CROP, size[0], size[1], limit]
    digest.update(json.dumps(what).encode("ascii"))
    digest.update(b"\0" + os.fsencode(folder.resolve()) + b"\0")
    digest.update(listed)
    return f"celeba-{size[0]}x{size[1]}-{digest.hexdigest()[:24]}"


def _cached(
    cache: Path, key: str, size: tuple[int, int], splits: dict[str, list[str]]
) -> tuple[np.memmap | None, dict[str, Any]]:
    """The cache's pixels, memory-mapped copy-on-write (writable, never written
    back), and its note; ``(None, {})`` when absent or not this load's."""
    note = _read_note(cache / f"{key}.json")
    if note is None or note.get("key") != key:
        return None, {}
    skipped = note.get("skipped")
    n_train, n_test = note.get("n_train"), note.get("n_test")
    if (
        not isinstance(skipped, list)
        or not all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(t, str) for t in s)
            for s in skipped
        )
        or type(n_train) is not int
        or type(n_test) is not int
    ):
        return None, {}
    dropped = {name for name, _ in skipped}
    kept = {k: sum(n not in dropped for n in v) for k, v in splits.items()}
    if (n_train, n_test) != (kept["train"], kept["test"]) or n_train + n_test == 0:
        return None, {}
    shape = (n_train + n_test, 3, *size)
    path = cache / f"{key}.pixels"
    try:
        if path.stat().st_size != math.prod(shape):
            return None, {}
        pixels = np.memmap(path, dtype=np.uint8, mode="c", shape=shape)
        os.utime(cache / f"{key}.json")  # recently used: evicted last
    except (OSError, ValueError):
        return None, {}
    return pixels, note


def _read_note(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_LIST_BYTES + 1)
        note = json.loads(data) if len(data) <= MAX_LIST_BYTES else None
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(note, dict) or note.get("version") != _CACHE_VERSION:
        return None
    return note


def _build_cache(
    cache: Path,
    key: str,
    folder: Path,
    size: tuple[int, int],
    splits: dict[str, list[str]],
) -> None:
    """Decode the faces into ``<key>.pixels`` and write ``<key>.json``, both
    atomically; the images of each split are kept in order, unreadable ones
    dropped and named in the note."""
    images = folder / IMAGES_FOLDER
    if not images.is_dir():
        raise DataError(
            f"CelebA's images are not in {printable_path(images)}: extract "
            "img_align_celeba.zip there"
        )
    names = splits["train"] + splits["test"]
    row = 3 * size[0] * size[1]
    need = len(names) * row
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot make the CelebA cache folder {printable_path(cache)}: "
            f"{exc.strerror or exc}"
        ) from exc
    _make_room(cache, key, need)
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=".celeba-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "r+b") as fh:
            fh.truncate(need)
            skipped, n_train = _decode_all(tmp, images, names, size, splits)
            fh.truncate((len(names) - len(skipped)) * row)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            (cache / f"{key}.json").unlink()  # never an old note beside new pixels
        os.replace(tmp, cache / f"{key}.pixels")
        note = {
            "version": _CACHE_VERSION,
            "key": key,
            "source": str(folder),
            "image_size": list(size),
            "n_train": n_train,
            "n_test": len(names) - len(skipped) - n_train,
            "skipped": skipped,
        }
        _write_atomically(cache / f"{key}.json", json.dumps(note).encode("utf-8"))
    except OSError as exc:
        raise DataError(
            f"cannot write the CelebA cache in {printable_path(cache)}: "
            f"{exc.strerror or exc}"
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _decode_all(
    path: Path,
    images: Path,
    names: list[str],
    size: tuple[int, int],
    splits: dict[str, list[str]],
) -> tuple[list[list[str]], int]:
    """Decode ``names`` into the raw file ``path`` (rows of kept images in
    order); ``([name, reason] of each dropped, kept train count)``."""
    out = np.memmap(path, dtype=np.uint8, mode="r+", shape=(len(names), 3, *size))
    skipped: list[list[str]] = []
    n_train = len(splits["train"])
    kept = 0
    kept_train = 0
    workers = max(1, min(8, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(names), _DECODE_CHUNK):
            chunk = names[start : start + _DECODE_CHUNK]
            done = pool.map(_try_face, [images / n for n in chunk], [size] * len(chunk))
            for offset, (name, result) in enumerate(zip(chunk, done, strict=True)):
                if isinstance(result, str):
                    skipped.append([name, result])
                    continue
                out[kept] = result
                kept += 1
                if start + offset < n_train:
                    kept_train += 1
    out.flush()
    del out
    if kept == 0:
        raise DataError(
            f"none of the {len(names):,} CelebA images could be read, e.g. "
            f"{skipped[0][1]}"
        )
    return skipped, kept_train


def _try_face(path: Path, size: tuple[int, int]) -> npt.NDArray[np.uint8] | str:
    try:
        return read_face(path, size)
    except DataError as exc:
        return str(exc)


def read_face(
    path: str | os.PathLike[str], image_size: Sequence[int] = (64, 64)
) -> npt.NDArray[np.uint8]:
    """One CelebA image as uint8 RGB ``(3, height, width)``: the centre 148x148
    (or the largest centred square a smaller image has), area-resized."""
    from PIL import Image, UnidentifiedImageError

    height, width = int(image_size[0]), int(image_size[1])
    shown = printable_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_raster(path) as img:
                if img.width * img.height > MAX_SOURCE_PIXELS:
                    raise DataError(
                        f"{shown}: {img.width}x{img.height} pixels is too large, "
                        "skipped"
                    )
                rgb = img.convert("RGB")
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,  # PIL raises it for some corrupt headers
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        zlib.error,
    ) as exc:
        raise DataError(f"{shown}: unreadable image ({exc})") from exc
    side = min(CROP, rgb.width, rgb.height)
    # torchvision's CenterCrop rounds the same way.
    left = round((rgb.width - side) / 2.0)
    top = round((rgb.height - side) / 2.0)
    face = rgb.crop((left, top, left + side, top + side))
    face = face.resize((width, height), Image.Resampling.BOX)
    return np.asarray(face, dtype=np.uint8).transpose(2, 0, 1)


def _make_room(cache: Path, key: str, need: int) -> None:
    """Refuse a cache of ``need`` bytes over the cap or the free disk; else
    remove the least recently used other CelebA caches until all fit the cap."""
    shown = printable_path(cache)
    if need > MAX_CACHE_BYTES:
        raise DataError(
            f"these CelebA images need a {format_bytes(need)} cache, more than the "
            f"{format_bytes(MAX_CACHE_BYTES)} LatentLab keeps; choose a smaller "
            "image size or a limit"
        )
    entries = []  # (last used, bytes, files) of each other cache
    now = time.time()
    for pixels in cache.glob("celeba-*.pixels"):
        if pixels.stem == key or pixels.is_symlink() or not pixels.is_file():
            continue
        note = pixels.with_suffix(".json")
        try:
            used = note.stat().st_mtime if note.exists() else pixels.stat().st_mtime
            entries.append((used, pixels.stat().st_size, [pixels, note]))
        except OSError:
            continue
    for part in cache.glob(".celeba-*.part"):  # a crash while writing
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()
    entries.sort(key=lambda e: e[0])
    kept = sum(e[1] for e in entries)
    victims = []
    while entries and kept + need > MAX_CACHE_BYTES:
        victim = entries.pop(0)
        victims.append(victim)
        kept -= victim[1]
    free = shutil.disk_usage(cache).free + sum(v[1] for v in victims)
    if need + DISK_MARGIN > free:
        raise DataError(
            f"these CelebA images need a {format_bytes(need)} cache, but "
            f"{shown} has {format_bytes(max(free - DISK_MARGIN, 0))} free; free "
            "some space, choose a smaller image size or a limit"
        )
    for _, _, files in victims:
        for f in files:
            with contextlib.suppress(OSError):
                f.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".celeba-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (where the platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
