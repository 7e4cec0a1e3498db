"""Sequential and functional models, their summary, training loop and saving."""

from svertka.models.model import Model
from svertka.models.saving import load_model
from svertka.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
