"""Issue 29, item 7: the article's setting out of the box. The MNIST subset the
shipped MNIST models were trained on ships with the package, with its licence;
a data folder without MNIST reads it, and first launch opens the MNIST pair."""

from __future__ import annotations

import pytest

from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.data import dataset_files, load_dataset
from latentlab.core.datasets.idx import find_dataset_files, shipped_data_dir
from latentlab.core.resources import models_dir


def test_the_shipped_subset_is_the_shipped_models_data(tmp_path):
    from latentlab.core.analysis.planes import DatasetCache, find_dataset
    from latentlab.core.errors import DataError

    ckpt = load_checkpoint(models_dir() / "mnist-vae-2d.pt")
    # An empty folder: the shipped model is shown on the data shipped with it.
    data, note = find_dataset(ckpt, str(tmp_path), DatasetCache())
    assert note == "" and data is not None
    assert (len(data.train_images), len(data.test_images)) == (4000, 1000)
    assert data.source.startswith(str(shipped_data_dir()))
    assert data.identity()["digest"] == ckpt.dataset["digest"]
    # Training or a command asking for MNIST in that folder still says it is
    # missing: the shipped copy only stands in for the data a model names.
    with pytest.raises(DataError, match="not found"):
        load_dataset("mnist", tmp_path)
    assert dataset_files("mnist", tmp_path) == []
    licence = (shipped_data_dir() / "MNIST" / "README.md").read_text()
    assert "CC BY-SA 3.0" in licence and "LeCun" in licence


def test_a_model_of_other_data_is_not_shown_on_the_shipped_copy(tmp_path):
    import dataclasses

    from latentlab.core.analysis.planes import DatasetCache, find_dataset

    ckpt = load_checkpoint(models_dir() / "mnist-vae-2d.pt")
    other = dataclasses.replace(ckpt, dataset={**ckpt.dataset, "digest": "0" * 16})
    data, note = find_dataset(other, str(tmp_path), DatasetCache())
    assert data is None and "not found" in note


def test_a_folder_with_its_own_mnist_wins(real_data_dir, tmp_path):
    files, shipped = find_dataset_files("mnist", real_data_dir)
    assert not shipped and files["test_images"].is_relative_to(real_data_dir)
    # Only MNIST ships: no Fashion-MNIST from nowhere.
    assert find_dataset_files("fashion-mnist", tmp_path) is None


def test_first_launch_opens_the_mnist_pair(tmp_path):
    from latentlab.qt.app import shipped_pair

    assert [p.name for p in shipped_pair(str(tmp_path))] == [
        "mnist-ae-2d.pt",
        "mnist-vae-2d.pt",
    ]
