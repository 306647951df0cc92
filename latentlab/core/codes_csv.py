"""Encoded test sets as CSV: one row per image, one column per latent dim.

Columns: ``index`` (into the test split), ``label`` (class number), ``class``
(its name), then ``z1..zd`` for an autoencoder, or ``mu1..mud`` and
``sigma1..sigmad`` for a VAE. Numbers are written with ``%.9g``: nine
significant digits give back every float32 exactly. The file is written to a
temporary name and renamed into place, like checkpoints. Imports no torch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ExportError
from latentlab.core.files import write_atomic
from latentlab.core.text import bounded_int, printable, printable_path

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.latent import Codes

FLOAT_FORMAT = "%.9g"
# Spreadsheets run a cell that starts with these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class CodesTable:
    """A codes CSV read back: ``mu`` ``(n, d)``, ``sigma`` or None (an AE)."""

    index: npt.NDArray[np.int64]
    label: npt.NDArray[np.int64]
    names: list[str]
    mu: npt.NDArray[np.float32]
    sigma: npt.NDArray[np.float32] | None


def header(latent_dim: int, variational: bool) -> list[str]:
    """The column names for a latent of ``latent_dim``."""
    dims = range(1, latent_dim + 1)
    if variational:
        return ["index", "label", "class", *(f"mu{i}" for i in dims)] + [
            f"sigma{i}" for i in dims
        ]
    return ["index", "label", "class", *(f"z{i}" for i in dims)]


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def codes_csv_text(
    codes: Codes,
    labels: npt.ArrayLike,
    class_names: Sequence[str] = (),
    indices: npt.ArrayLike | None = None,
) -> str:
    """The CSV text for ``codes`` of the images ``indices`` (default 0..n-1)."""
    mu = np.asarray(codes.mu, np.float32)
    n, d = mu.shape
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != n:
        raise ExportError(f"{n} codes but {len(labels)} labels")
    idx = np.arange(n) if indices is None else np.asarray(indices, np.int64)
    columns = [mu] if codes.sigma is None else [mu, np.asarray(codes.sigma, np.float32)]
    numbers = np.concatenate(columns, 1) if columns else mu
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(d, codes.sigma is not None))
    for i in range(n):
        lab = int(labels[i])
        name = class_names[lab] if 0 <= lab < len(class_names) else str(lab)
        writer.writerow(
            [
                int(idx[i]),
                lab,
                _safe_cell(printable(str(name), 100)),
                *(FLOAT_FORMAT % v for v in numbers[i].tolist()),
            ]
        )
    return out.getvalue()


def write_codes_csv(
    path: str | os.PathLike[str],
    codes: Codes,
    labels: npt.ArrayLike,
    class_names: Sequence[str] = (),
    *,
    indices: npt.ArrayLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the codes CSV to ``path`` atomically; returns the path.

    Raises
    ------
    ExportError
        ``path`` exists and ``overwrite`` is False, or the write failed (the
        existing file, if any, is then unchanged).
    """
    target = Path(path)
    shown = printable_path(target)
    if target.is_dir():
        raise ExportError(f"cannot write {shown}: it is a folder")
    if target.exists() and not overwrite:
        raise ExportError(f"{shown} already exists; choose another name or overwrite")
    text = codes_csv_text(codes, labels, class_names, indices)
    write_atomic(target, text.encode("utf-8"), error=ExportError)
    return target


def read_codes_csv(path: str | os.PathLike[str]) -> CodesTable:
    """Read a file written by :func:`write_codes_csv` back (for checks and tools)."""
    shown = printable_path(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"cannot read {shown}: {exc}") from exc
    if not rows or rows[0][:3] != ["index", "label", "class"]:
        raise ExportError(f"{shown} is not a LatentLab codes CSV")
    cols = rows[0][3:]
    body = rows[1:]
    variational = bool(cols) and cols[0].startswith("mu")
    d = len(cols) // 2 if variational else len(cols)
    values, index, label = [], [], []
    line = 1
    try:
        for line, row in enumerate(body, start=2):  # noqa: B007 - named below
            if len(row) != len(rows[0]):
                raise ValueError(f"{len(row)} cells, the header has {len(rows[0])}")
            index.append(bounded_int(row[0], "an index"))
            label.append(bounded_int(row[1], "a label"))
            values.append([float(v) for v in row[3:]])
    except ValueError as exc:  # NumberError is one
        raise ExportError(
            f"{shown} is not a LatentLab codes CSV (line {line}: "
            f"{printable(str(exc), 120)})"
        ) from exc
    numbers = np.array(values, np.float64).reshape(len(body), len(cols))
    numbers = numbers.astype(np.float32)
    return CodesTable(
        index=np.array(index, np.int64),
        label=np.array(label, np.int64),
        names=[r[2] for r in body],
        mu=numbers[:, :d],
        sigma=numbers[:, d:] if variational else None,
    )
