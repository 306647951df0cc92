from latentlab.api import decode as decode
from latentlab.api import diagnostics as diagnostics
from latentlab.api import encode as encode
from latentlab.api import evaluate as evaluate
from latentlab.api import gradient_variances as gradient_variances
from latentlab.api import interpolation_stats as interpolation_stats
from latentlab.api import load as load
from latentlab.api import run as run
from latentlab.api import save as save
from latentlab.api import view as view
from latentlab.core.workspace import TrainSpec as TrainSpec
from latentlab.core.workspace import Workspace as Workspace
from latentlab.core.wrap import wrap as wrap

__version__: str
__all__: list[str]
