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
"""

from __future__ import annotations

import contextlib
import json
import warnings
import zipfile

import numpy as np

from svertka import layers as layers_mod
from svertka.errors import ModelFileError
from svertka.layers.base import weight_budget
from svertka.models import modelcheck
from svertka.models.atomic import atomic_write
from svertka.models.modelcheck import FORMAT_MODEL, FORMAT_VERSION, FORMAT_WEIGHTS
from svertka.models.modelfile import INDEX, ModelFile

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


# -- architecture ------------------------------------------------------------------------
def functional_config(model) -> dict:
    """Inputs, layers and the call graph of a model, as plain JSON."""
    names = {id(t): f"input_{i}" for i, t in enumerate(model.inputs)}
    nodes = []
    for i, node in enumerate(model._nodes):
        names[id(node)] = f"node_{i}"
        nodes.append({"layer": node.layer.name, "parents": [names[id(p)] for p in node.parents],
                      "many": node.many})
    return {
        "name": model.name,
        "inputs": [list(t.shape[1:]) for t in model.inputs],
        "layers": [layers_mod.serialize(layer) for layer in model.layers],
        "nodes": nodes,
        "outputs": [names[id(t)] for t in model.outputs],
        "single_input": getattr(model, "_single_input", True),
        "single_output": getattr(model, "_single_output", True),
    }


def model_from_config(spec: dict):
    """Rebuild a ``Sequential`` or ``Model`` from ``{"class_name", "config"}``."""
    from svertka.layers import Input
    from svertka.models.model import Model
    from svertka.models.sequential import Sequential

    cls, config = spec.get("class_name"), spec.get("config", {})
    if cls == "Sequential":
        model = Sequential(name=config["name"])
        # all layers first, then one build: adding them to a built model would rebuild its
        # graph once per layer, quadratic in a long (or hostile) stack
        model._layers.extend(layers_mod.deserialize(s) for s in config["layers"])
        model.build((None, *config["input_shape"]))
        return model
    if cls != "Model":
        raise ValueError(f"load_model: unknown model class {cls!r}; expected 'Sequential' or "
                         f"'Model'")
    built = {}
    for layer_spec in config["layers"]:
        layer = layers_mod.deserialize(layer_spec)
        built[layer.name] = layer
    values = {f"input_{i}": Input(tuple(shape)) for i, shape in enumerate(config["inputs"])}
    inputs = list(values.values())
    for i, node in enumerate(config["nodes"]):
        parents = [values[p] for p in node["parents"]]
        values[f"node_{i}"] = built[node["layer"]](parents if node["many"] else parents[0])
    outputs = [values[o] for o in config["outputs"]]
    return Model(inputs[0] if config.get("single_input", True) else inputs,
                 outputs[0] if config.get("single_output", True) else outputs,
                 name=config["name"])


def model_spec(model) -> dict:
    from svertka.models.sequential import Sequential

    if isinstance(model, Sequential):
        model._require_built("save")
        return {"class_name": "Sequential", "config": {
            "name": model.name, "input_shape": list(model.inputs[0].shape[1:]),
            "layers": [layers_mod.serialize(layer) for layer in model.layers]}}
    return {"class_name": "Model", "config": functional_config(model)}


# -- saving ------------------------------------------------------------------------------
def _weight_table(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    table, arrays = [], {}
    for layer in model.layers:
        for wname, array in zip(layer.weight_names, layer.get_weights()):
            entry = f"weights/{len(table)}.npy"
            table.append({"name": f"{layer.name}/{wname}", "shape": list(array.shape),
                          "dtype": str(array.dtype), "file": entry})
            arrays[entry] = array
    return table, arrays


def save_weights(model, path) -> None:
    table, arrays = _weight_table(model)
    index = {"format": FORMAT_WEIGHTS, "format_version": FORMAT_VERSION, "weights": table}
    write_container(path, index, arrays)


def save_model(model, path) -> None:
    from svertka import __version__

    table, arrays = _weight_table(model)
    index = {"format": FORMAT_MODEL, "format_version": FORMAT_VERSION,
             "svertka_version": __version__, "model": model_spec(model),
             "compile": model._compile_config, "weights": table, "optimizer": None,
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


def _checked_index(f: ModelFile, expected_format: str) -> tuple[dict, dict]:
    """The index (checked in full) and the checked header of every array it names."""
    index = f.read_index()
    if index.get("format") != expected_format:
        raise f.error(f"is not a {expected_format} file (its format is "
                      f"{index.get('format')!r})")
    if expected_format == FORMAT_MODEL:
        problem = modelcheck.check_model_index(index, layers_mod.LAYERS)
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
    """Weights are matched by position (layers in order, each layer's weights in order), as
    Keras does, so a rebuilt model with fresh layer names loads; shapes must agree."""
    expected = [(f"{layer.name}/{n}", t.shape) for layer in model.layers
                for n, t in zip(layer.weight_names, layer.weights)]
    if len(table) != len(expected):
        raise f.error(f"the file holds {len(table)} weight arrays, the model has "
                      f"{len(expected)}: the architectures differ")
    for entry, (name, shape) in zip(table, expected):
        if tuple(entry["shape"]) != tuple(shape):
            raise f.error(f"weight {entry['name']!r} has shape {tuple(entry['shape'])} in the "
                          f"file, but the model's {name!r} has shape {tuple(shape)}")


def _set_weights(f: ModelFile, model, table, headers, allow_nonfinite: bool) -> None:
    arrays = [f.read_array(e["file"], headers[e["file"]], allow_nonfinite, e["name"])
              for e in table]
    model.set_weights(arrays)


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
        with weight_budget(budget):
            return model_from_config(index["model"])
    except Exception as e:
        raise f.error(f"describes an architecture that cannot be built from it: "
                      f"{type(e).__name__}: {e}") from e


def _known_metrics(saved):
    """The saved metrics that can be rebuilt from the file; a custom one (saved by its name,
    never its code) is left out with a warning rather than refusing the whole model."""
    from svertka import metrics

    if saved is None:
        return None
    known = []
    for m in saved:
        try:
            metrics.get(m)
        except (ValueError, TypeError):
            name = m if isinstance(m, str) else m.get("class_name")
            warnings.warn(f"load_model: the metric {name!r} is not one of svertka's and its "
                          f"code is not in the file; the model is compiled without it "
                          f"(compile it again to add it)", stacklevel=3)
            continue
        known.append(m)
    return known


def _compile(f: ModelFile, model, index: dict, headers: dict, allow_nonfinite: bool) -> None:
    """Compile as saved and restore the optimiser's state."""
    from svertka import optimizers

    config = index["compile"]
    try:
        model.compile(optimizer=optimizers.get(config["optimizer"]), loss=config["loss"],
                      metrics=_known_metrics(config["metrics"]))
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


def load_model(path, compile: bool = True, allow_nonfinite: bool = False):  # noqa: A002
    """A model saved by ``model.save``: architecture, weights, epoch count and (if compiled)
    optimiser. NaN or infinite arrays are refused unless ``allow_nonfinite``; ``compile``
    is Keras's argument name."""
    with _reading(path, "load_model") as f:
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
