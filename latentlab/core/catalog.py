"""Dataset names and classes, importable without torch (``train --help`` lists them)."""

from __future__ import annotations

IDX_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10))),
    "fashion-mnist": (
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "kmnist": ("KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
}
# Sets of colour images, read from local files (CIFAR-10, CelebA) or generated.
COLOUR_SETS = ("colour-shapes", "cifar10", "celeba")
DATASET_NAMES = ("shapes", *IDX_SETS, *COLOUR_SETS, "folder")
# Sets whose images LatentLab resizes to the size asked (--image-size); the
# others have the one size their files hold.
RESIZABLE_SETS = ("colour-shapes", "celeba", "folder")
_ALIASES = {
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "color-shapes": "colour-shapes",
    "cifar-10": "cifar10",
}
SHAPE_NAMES = ("square", "ellipse", "triangle")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def dataset_key(name: str) -> str:
    """A dataset name as the loaders spell it (``"Fashion_MNIST"`` ->
    ``"fashion-mnist"``); not checked against :data:`DATASET_NAMES`."""
    key = name.lower().replace("_", "-")
    return _ALIASES.get(key, key)
