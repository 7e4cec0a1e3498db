"""Sequential and functional models, their summary, training loop and saving; Keras's
``clone_model``, ``model_from_json``, ``load_model`` and ``save_model``; weight averaging
(``average_weights``, ``update_batch_norm``: SWA)."""

from svertka.models.averaging import average_weights, update_batch_norm
from svertka.models.model import Model
from svertka.models.saving import load_model
from svertka.models.sequential import Sequential
from svertka.saving import save_model
from svertka.saving.cloning import clone_model, model_from_json, model_to_json

__all__ = ["Model", "Sequential", "average_weights", "clone_model", "load_model",
           "model_from_json", "model_to_json", "save_model", "update_batch_norm"]
