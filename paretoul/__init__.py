"""paretoul: map and choose the forget-vs-retain trade-off of machine-unlearning methods.

The Python API mirrors the ``paretoul`` command: everything the CLI does is a
function here.
"""

from paretoul.artefacts import Artefacts, prepare
from paretoul.cache import ArtifactCache
from paretoul.data import DATASETS, ForgetSpec, Splits, load_dataset, make_splits
from paretoul.errors import UnlearningDiverged, UserError
from paretoul.methods import METHODS, get_method
from paretoul.metrics import METRICS, evaluate
from paretoul.models import MODELS, build_model
from paretoul.redact import install_log_filter
from paretoul.run import RunConfig, run, unlearn_and_evaluate
from paretoul.training import Recipe, default_recipe

__version__ = "0.1.0"

install_log_filter()  # database passwords never reach a log line

__all__ = [
    "DATASETS",
    "METHODS",
    "METRICS",
    "MODELS",
    "Artefacts",
    "ArtifactCache",
    "ForgetSpec",
    "Recipe",
    "RunConfig",
    "Splits",
    "UnlearningDiverged",
    "UserError",
    "build_model",
    "default_recipe",
    "evaluate",
    "get_method",
    "load_dataset",
    "make_splits",
    "prepare",
    "run",
    "unlearn_and_evaluate",
]
