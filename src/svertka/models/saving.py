"""One-file model saving with no pickle anywhere: a zip holding ``svertka.json`` (architecture,
compile config, weight table, epoch count) and one ``.npy`` entry per array. Loading builds
layers only from svertka's registry: no code runs.

Writes are atomic (:mod:`svertka.models.atomic`). Arrays are stored uncompressed, as
PyTorch's zip format stores its tensors: float weights deflate by a few per cent at a large
cost in time, and a reader can then refuse any large entry that expands more than 200:1 (a
zip bomb) without ever refusing a file svertka wrote, however many zeros it holds.

Loading treats the file as untrusted (:mod:`svertka.models.modelfile` for the container,
:mod:`svertka.models.modelcheck` for the index). The whole description is checked before
any layer is built; the model is then built under a weight budget equal to the values the
file's arrays hold (``svertka.layers.base.weight_budget``), so a small file that declares a
huge model is refused at its first oversized weight, with no initialiser run and no random
number drawn: loading leaves ``svertka.random.generator()`` as it was. Every failure is a
:class:`svertka.ModelFileError` naming the file; a missing file is a ``FileNotFoundError``.

The architecture is stored as its spec (:mod:`svertka.models.architecture`, where custom
layers and models are written by name only). Custom losses and metrics are written by name
too: their registered name (``svertka.saving.register_keras_serializable``) or their class
name. Loading resolves each name from ``custom_objects=``, the active
``custom_object_scope`` or the registry before anything is built, and refuses an unknown
class with a message that names it (an unknown loss or metric is left out, with a warning).
Weights are stored in ``model.weights`` order.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import warnings
import zipfile

import numpy as np

from svertka import layers as layers_mod
from svertka.errors import ModelFileError
from svertka.layers.base import weight_budget
from svertka.models import modelcheck
from svertka.models.architecture import (
    BUILD_SHAPE,
    MODEL_CLASSES,
    _strip_extras,
    model_from_config,
    model_spec,
)
from svertka.models.atomic import atomic_write
from svertka.models.model import Model
from svertka.models.modelcheck import FORMAT_MODEL, FORMAT_VERSION, FORMAT_WEIGHTS
from svertka.models.modelfile import INDEX, ModelFile
from svertka.models.sequential import Sequential
from svertka.saving import registration

__all__ = ["atomic_write", "load_model", "load_weights", "save_model", "save_weights"]


def write_container(path, index: dict, arrays: dict[str, np.ndarray],
                    index_name: str = INDEX) -> None:
    """Write ``index`` as the JSON entry ``index_name`` and each array as a stored ``.npy``
    entry, atomically: the form every svertka file (model, weights, backup) takes."""

    def write(f):
        with zipfile.ZipFile(f, "w") as z:
            z.writestr(index_name, json.dumps(index, indent=1),
                       compress_type=zipfile.ZIP_DEFLATED)
            for name, array in arrays.items():
                array = np.ascontiguousarray(array)
                with z.open(name, "w", force_zip64=array.nbytes > 1 << 30) as entry:
                    np.lib.format.write_array(entry, array, allow_pickle=False)

    atomic_write(path, write)


# -- saving ------------------------------------------------------------------------------
def _weight_table(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Every weight in ``model.weights`` order (the layers in order, each layer's weights in
    order; a nested or subclassed model's in its own order), named as ``weight_names``."""
    table, arrays = [], {}
    for name, array in zip(model.weight_names, model.get_weights()):
        entry = f"weights/{len(table)}.npy"
        table.append({"name": name, "shape": list(array.shape), "dtype": str(array.dtype),
                      "file": entry})
        arrays[entry] = array
    return table, arrays


def save_weights(model, path) -> None:
    table, arrays = _weight_table(model)
    index = {"format": FORMAT_WEIGHTS, "format_version": FORMAT_VERSION, "weights": table}
    write_container(path, index, arrays)


def _custom_entry(obj):
    """A custom loss or metric as the file holds it: a function by name, an object by its
    class's name and ``get_config()``; None if it has neither."""
    if inspect.isfunction(obj):
        return registration.get_registered_name(obj)
    if callable(getattr(obj, "get_config", None)):
        try:
            config = obj.get_config()
            json.dumps(config)
        except (TypeError, ValueError, NotImplementedError):
            return None
        return {"class_name": registration.get_registered_name(type(obj)), "config": config}
    return None


def _compile_config(model):
    """The compile settings to save: custom losses and metrics by name (``_custom_entry``)
    where the training loop's own record could not name them."""
    config = model._compile_config
    if config is None:
        return None
    config = dict(config)
    if config["loss"] is None and model.loss is not None:
        config["loss"] = _custom_entry(model.loss)
    elif getattr(model.loss, "trainable_weights", None) and "config" in config["loss"]:
        # a trainable loss (AdaptiveRobustLoss) as trained now, not as compiled
        config["loss"] = {**config["loss"], "config": model.loss.get_config()}
    if config["metrics"] and isinstance(config["metrics"], list):
        saved = []
        for entry, metric in zip(config["metrics"], model.compiled_metrics):
            fn = getattr(metric, "fn", None)
            if isinstance(entry, str) and registration.registered_name(type(metric)):
                entry = _custom_entry(metric) or entry
            elif isinstance(entry, str) and inspect.isfunction(fn) and (
                    registration.registered_name(fn)):
                entry = registration.registered_name(fn)
            saved.append(entry)
        config["metrics"] = saved
    return config


def save_model(model, path) -> None:
    from svertka import __version__

    table, arrays = _weight_table(model)
    index = {"format": FORMAT_MODEL, "format_version": FORMAT_VERSION,
             "svertka_version": __version__, "model": model_spec(model),
             "compile": _compile_config(model), "weights": table, "optimizer": None,
             "class_names": model.class_names,
             "epochs_trained": int(getattr(model, "epochs_trained", 0))}
    if model.optimizer is not None and model._compile_config is not None:
        state = model.optimizer.get_state(model.trainable_weights)
        slots = []
        for i, param_slots in enumerate(state["slots"]):
            names = []
            for j, array in enumerate(param_slots):
                entry = f"optimizer/{i}_{j}.npy"
                arrays[entry] = np.asarray(array)
                names.append(entry)
            slots.append(names)
        index["optimizer"] = {"iterations": int(state["iterations"]), "slots": slots}
    write_container(path, index, arrays)


# -- loading -----------------------------------------------------------------------------
@contextlib.contextmanager
def _reading(path, op: str):
    """Open ``path`` as a ModelFile; any exception but ModelFileError raised inside, from
    whatever depth of the parsing, becomes one naming the file (the last line of defence:
    each step below raises its own, more precise ModelFileError)."""
    with ModelFile(path, op) as f:
        try:
            yield f
        except ModelFileError:
            raise
        except Exception as e:  # MemoryError and RecursionError included
            raise f.error(f"cannot be read ({type(e).__name__}: {e})") from e


class _KnownClasses:
    """The layer classes a file may name: ``LAYERS``, the model classes, and every custom
    class resolvable now (custom_objects, scope, registry); what ``modelcheck`` checks
    each ``class_name`` against."""

    def __contains__(self, name) -> bool:
        return layers_mod.resolve_class(name) is not None


_PLACEHOLDER = {"class_name": "Sequential",
                "config": {"name": "subclassed", "input_shape": [1], "layers": []}}


def _check_build_shape(shape, where: str) -> None:
    many = isinstance(shape, list) and bool(shape) and isinstance(shape[0], list)
    for s in (shape if many else [shape]):
        ok = (isinstance(s, list) and 2 <= len(s) <= modelcheck.MAX_RANK
              and all(d is None or (type(d) is int and 1 <= d <= 1 << 20) for d in s[1:]))
        if not ok or (many and len(shape) > modelcheck.MAX_IO):
            raise modelcheck.Bad(f"{where}.config.{BUILD_SHAPE} must be an input shape (a "
                                 f"list of 2 to {modelcheck.MAX_RANK} sizes, batch axis "
                                 f"first, each in [1, 2**20] or null) or a list of them, "
                                 f"received {shape!r}"[:400])


def _check_nested(spec, where: str, known: _KnownClasses) -> None:
    """Every layer entry of ``spec`` (a model spec) names a resolvable class, and every
    nested model is itself well formed, recursively (``modelcheck`` checks one level)."""
    config = spec.get("config") if isinstance(spec, dict) else None
    entries = config.get("layers") if isinstance(config, dict) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        here = f"{where}.config.layers[{i}]"
        name = entry.get("class_name")
        cls = layers_mod.resolve_class(name)
        if cls is None:
            raise _Unknown(name)
        if isinstance(cls, type) and issubclass(cls, Model):
            _check_model(entry, here, known, cls)


class _Unknown(Exception):
    """A class name in the file that resolves to nothing (the message says how to fix it)."""


def _check_model(spec, where: str, known: _KnownClasses, cls) -> None:
    if cls in (Sequential, Model):
        _check_nested(spec, where, known)  # unknown names first: their message says more
        try:
            modelcheck.check_model_spec({**_strip_extras(spec, where), "class_name": "Model"
                                         if cls is Model else "Sequential"}, known)
        except modelcheck.Bad as e:
            raise modelcheck.Bad(f"{where} (a nested model): {e}") from None
        return
    modelcheck._dict(spec, where, {"class_name", "config"})
    config = spec["config"]
    modelcheck._expect(isinstance(config, dict), f"{where}.config", "an object", config)
    modelcheck._name(config.get("name"), f"{where}.config.name")
    _check_build_shape(config.get(BUILD_SHAPE), where)


def _check_architecture(f: ModelFile, index: dict) -> dict:
    """Check the model spec, nested models included, resolving every custom name; return
    the index with a subclassed top-level model replaced by a placeholder, for
    ``modelcheck.check_model_index`` to check the rest."""
    spec = index.get("model")
    name = spec.get("class_name") if isinstance(spec, dict) else None
    custom = isinstance(spec, dict) and isinstance(name, str) and name not in MODEL_CLASSES
    if custom:
        cls = layers_mod.resolve_class(name)
        if cls is None:
            raise f.error(registration.unknown_name_message(None, "model class", name))
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise f.error(f"has a damaged description: model.class_name must name a model "
                          f"class, received {name!r} (a {cls!r})")
    try:
        if custom:
            _check_model(spec, "model", _KnownClasses(), cls)
            return {**index, "model": _PLACEHOLDER}
        _check_nested(spec, "model", _KnownClasses())
        index = {**index, "model": _strip_extras(spec, "model")}
    except _Unknown as e:
        raise f.error("names a class that is not a registered layer class "
                      "(svertka.layers.LAYERS) nor a custom object: " +
                      registration.unknown_name_message(None, "layer class", e.args[0])
                      ) from None
    except modelcheck.Bad as e:
        raise f.error(f"has a damaged description: {e}") from None
    return index


def _checked_index(f: ModelFile, expected_format: str) -> tuple[dict, dict]:
    """The index (checked in full) and the checked header of every array it names."""
    index = f.read_index()
    if index.get("format") != expected_format:
        raise f.error(f"is not a {expected_format} file (its format is "
                      f"{index.get('format')!r})")
    if expected_format == FORMAT_MODEL:
        problem = modelcheck.check_model_index(_check_architecture(f, index), _KnownClasses())
    else:
        problem = modelcheck.check_weights_index(index)
    if problem:
        raise f.error(f"has a damaged description: {problem}")
    names = modelcheck.entry_names(index)
    if len(set(names)) != len(names):
        raise f.error("names one array entry twice in its index")
    f.check_only(names)
    headers = {name: f.array_header(name) for name in names}
    for entry in index["weights"]:
        header = headers[entry["file"]]
        if list(header.shape) != entry["shape"] or header.dtype.name != entry["dtype"]:
            raise f.error(f"array {entry['file']!r} is {header.dtype.name} of shape "
                          f"{header.shape}, but the index says {entry['dtype']} of shape "
                          f"{tuple(entry['shape'])}")
    return index, headers


def _check_fits(f: ModelFile, model, table: list[dict]) -> None:
    """Weights are matched by position (``model.weights`` order), as Keras does, so a
    rebuilt model with fresh layer names loads; shapes must agree."""
    expected = [(name, t.shape) for name, t in zip(model.weight_names, model.weights)]
    if len(table) != len(expected):
        raise f.error(f"the file holds {len(table)} weight arrays, the model has "
                      f"{len(expected)}: the architectures differ")
    for entry, (name, shape) in zip(table, expected):
        if tuple(entry["shape"]) != tuple(shape):
            raise f.error(f"weight {entry['name']!r} has shape {tuple(entry['shape'])} in the "
                          f"file, but the model's {name!r} has shape {tuple(shape)}")


def _set_weights(f: ModelFile, model, table, headers, allow_nonfinite: bool) -> None:
    model.set_weights([f.read_array(e["file"], headers[e["file"]], allow_nonfinite, e["name"])
                       for e in table])  # shapes checked by _check_fits


def load_weights(model, path, allow_nonfinite: bool = False) -> None:
    """Set ``model``'s weights from a file of ``save_weights`` (or of ``save``'s weights
    table's form); the architectures must agree. NaN or infinite weights are refused unless
    ``allow_nonfinite``."""
    op = f"{model.name}.load_weights"
    with _reading(path, op) as f:
        index, headers = _checked_index(f, FORMAT_WEIGHTS)
        _check_fits(f, model, index["weights"])
        _set_weights(f, model, index["weights"], headers, bool(allow_nonfinite))


def _build(f: ModelFile, index: dict, headers: dict):
    """The model the index describes, its weights uninitialised, within the budget of the
    values the file's weight arrays hold."""
    budget = sum(headers[entry["file"]].size for entry in index["weights"])
    try:
        # layers that infer their output shape run on the unset (np.empty) weights
        with weight_budget(budget), np.errstate(all="ignore"):
            return model_from_config(index["model"])
    except Exception as e:
        raise f.error(f"describes an architecture that cannot be built from it: "
                      f"{type(e).__name__}: {e}") from e


def _custom(entry):
    """A custom loss or metric the file names (``_custom_entry``'s form), resolved from the
    custom objects; None if it is not one."""
    if isinstance(entry, str):
        obj = registration.resolve(entry)
        return obj() if inspect.isclass(obj) else obj
    if isinstance(entry, dict) and isinstance(entry.get("class_name"), str):
        cls = registration.resolve(entry["class_name"])
        if inspect.isclass(cls):
            from_config = getattr(cls, "from_config", None)
            config = entry.get("config") or {}
            return from_config(config) if callable(from_config) else cls(**config)
    return None


def _unknown_warning(kind: str, name) -> None:
    warnings.warn(f"load_model: the {kind} {name!r} is not one of svertka's and resolves to "
                  f"no custom object (its code is not in the file); the model is loaded "
                  f"without it. Provide it with custom_objects={{{name!r}: ...}}, a "
                  f"custom_object_scope or @svertka.saving.register_keras_serializable(), or "
                  f"compile the model again", stacklevel=4)


def _known_metrics(saved):
    """The saved metrics that can be rebuilt: svertka's own, and custom ones the custom
    objects provide; any other (saved by its name, never its code) is left out with a
    warning rather than refusing the whole model."""
    from svertka import metrics

    if saved is None:
        return None
    if isinstance(saved, dict):  # several outputs: a list per output name
        return {name: _known_metrics(ms) for name, ms in saved.items()}
    known = []
    for m in saved:
        custom = _custom(m)
        if custom is not None:
            known.append(custom)
            continue
        try:
            metrics.get(m)
        except (ValueError, TypeError):
            _unknown_warning("metric", m if isinstance(m, str) else m.get("class_name"))
            continue
        known.append(m)
    return known


def _loss(saved):
    """The saved loss: a custom one resolved from the custom objects, or svertka's."""
    from svertka import losses

    custom = _custom(saved)
    if custom is not None:
        return custom
    try:
        return losses.get(saved)
    except (ValueError, TypeError):
        _unknown_warning("loss", saved if isinstance(saved, str) else saved.get("class_name"))
        return None


def _compile(f: ModelFile, model, index: dict, headers: dict, allow_nonfinite: bool) -> None:
    """Compile as saved and restore the optimiser's state."""
    from svertka import optimizers

    config = index["compile"]
    try:
        saved = config["loss"]
        if isinstance(saved, dict) and "class_name" not in saved:  # one loss per output
            loss = {name: None if entry is None else _loss(entry)
                    for name, entry in saved.items()}
            if any(v is None for k, v in loss.items() if saved[k] is not None):
                return
        else:
            loss = _loss(saved)
            if loss is None:
                return
        model.compile(optimizer=optimizers.get(config["optimizer"]), loss=loss,
                      loss_weights=config.get("loss_weights"),
                      metrics=_known_metrics(config["metrics"]),
                      weighted_metrics=_known_metrics(config.get("weighted_metrics")))
    except Exception as e:
        raise f.error(f"has compile settings that cannot be used: {type(e).__name__}: "
                      f"{e}") from e
    saved = index.get("optimizer")
    if saved is None:
        return
    params = model.trainable_weights
    if len(saved["slots"]) != len(params):
        raise f.error(f"holds optimiser state for {len(saved['slots'])} parameters, the model "
                      f"trains {len(params)}")
    for i, (names, p) in enumerate(zip(saved["slots"], params)):
        for name in names:
            if headers[name].shape != tuple(p.shape):
                raise f.error(f"optimiser state {name!r} has shape {headers[name].shape}, "
                              f"parameter {i} has shape {tuple(p.shape)}")
    slots = [[f.read_array(n, headers[n], allow_nonfinite) for n in names]
             for names in saved["slots"]]
    try:
        model.optimizer.set_state(params, {"iterations": saved["iterations"], "slots": slots})
    except Exception as e:
        raise f.error(f"has optimiser state that does not fit: {e}") from e


def load_model(path, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True, allow_nonfinite: bool = False):
    """A model saved by ``model.save``: architecture, weights, epoch count and (if compiled)
    optimiser, as Keras's ``load_model``.

    Custom classes and functions the file names are taken from ``custom_objects`` (name ->
    class or function), the active ``svertka.saving.custom_object_scope`` or the registry;
    an unknown one raises ``ModelFileError`` naming it. ``safe_mode`` is accepted for
    Keras's signature: a svertka file never holds code, so loading is always safe. NaN or
    infinite arrays are refused unless ``allow_nonfinite``."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"load_model: argument 'custom_objects' must be a dict of name -> "
                        f"class or function, received {type(custom_objects).__name__}")
    with registration.custom_object_scope(custom_objects or {}), \
            _reading(path, "load_model") as f:
        index, headers = _checked_index(f, FORMAT_MODEL)
        model = _build(f, index, headers)
        _check_fits(f, model, index["weights"])
        _set_weights(f, model, index["weights"], headers, bool(allow_nonfinite))
        model.class_names = index.get("class_names")
        model.epochs_trained = index.get("epochs_trained", 0)
        config = index.get("compile")
        if compile and config is not None and config["loss"] is not None:
            _compile(f, model, index, headers, bool(allow_nonfinite))
    return model
