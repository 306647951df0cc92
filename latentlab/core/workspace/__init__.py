"""The workspace: model slots, commands, jobs and results, without Qt.

The window, the command line, scripts, notebooks and tests all drive a
:class:`Workspace`; see ``CONTRIBUTING.md`` ("The layers") for how it sits
between the core's computations and the Qt views.

Example
-------
>>> from latentlab.core.workspace import TrainSpec, Workspace
>>> ws = Workspace()                                    # a synchronous runner
>>> ws.train(TrainSpec(dataset="shapes", epochs=1))     # doctest: +SKIP
>>> [s.kind for s in ws.slots]                          # doctest: +SKIP
['AE', 'VAE']
"""

from latentlab.core.training_run import TrainSpec
from latentlab.core.workspace.runner import Runner, SyncRunner
from latentlab.core.workspace.workspace import Result, Workspace

__all__ = ["Result", "Runner", "SyncRunner", "TrainSpec", "Workspace"]
