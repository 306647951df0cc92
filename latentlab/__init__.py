"""LatentLab: explore the latent spaces of autoencoders and VAEs side by side.

The public Python API. Its names load on first use (PEP 562): ``import
latentlab`` imports neither torch nor Qt.

>>> import latentlab
>>> model = latentlab.wrap(my_vae, image_shape=(1, 28, 28))     # doctest: +SKIP
>>> latentlab.evaluate(model, x_test)["neg_elbo"]               # doctest: +SKIP
>>> ws = latentlab.view(model, images=x_test, labels=y_test)    # doctest: +SKIP
>>> latentlab.run()                                             # doctest: +SKIP

Training in a script drives a :class:`Workspace`:

>>> ws = latentlab.Workspace()                                  # doctest: +SKIP
>>> ws.train(latentlab.TrainSpec(dataset="shapes", epochs=1))   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Each public name and the module that defines it.
_NAMES = {
    "wrap": "latentlab.core.wrap",
    "view": "latentlab.api",
    "run": "latentlab.api",
    "load": "latentlab.api",
    "save": "latentlab.api",
    "evaluate": "latentlab.api",
    "encode": "latentlab.api",
    "decode": "latentlab.api",
    "diagnostics": "latentlab.api",
    "interpolation_stats": "latentlab.api",
    "gradient_variances": "latentlab.api",
    "Workspace": "latentlab.core.workspace",
    "TrainSpec": "latentlab.core.workspace",
}
__all__ = [*_NAMES, "__version__"]
# Type checkers read the names from __init__.pyi.


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'latentlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
