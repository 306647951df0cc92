"""LatentLab: explore the latent spaces of autoencoders and VAEs side by side.

The public Python API, imported lazily (``import latentlab`` loads no torch):

>>> import latentlab
>>> ws = latentlab.Workspace()                                  # doctest: +SKIP
>>> ws.train(latentlab.TrainSpec(dataset="shapes", epochs=1))   # doctest: +SKIP
>>> [slot.kind for slot in ws.slots]                            # doctest: +SKIP
['AE', 'VAE']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["TrainSpec", "Workspace", "__version__"]

if TYPE_CHECKING:
    from latentlab.core.workspace import TrainSpec, Workspace


def __getattr__(name: str) -> Any:
    if name in ("TrainSpec", "Workspace"):
        from latentlab.core import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")
