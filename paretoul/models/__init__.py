"""Model registry: ``mlp``, ``cnn``, ``resnet18`` (CIFAR variant)."""

from paretoul.models import cnn, mlp, resnet  # noqa: F401  (registers the models)
from paretoul.models.base import MODELS, ModelInfo, build_model

__all__ = ["MODELS", "ModelInfo", "build_model"]
