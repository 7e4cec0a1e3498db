"""One-file model saving with no pickle anywhere: a zip holding ``svertka.json`` (architecture,
compile config, weight table) and one ``.npy`` entry per array, read back with
``allow_pickle=False``. Loading builds layers only from svertka's registry: no code runs.

Writes are atomic: the file is written beside the target under a temporary name, flushed to
disk, then renamed over the target, so a crash mid-save never leaves a broken file where a good
one was.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from svertka import layers as layers_mod

FORMAT_MODEL = "svertka-model"
FORMAT_WEIGHTS = "svertka-weights"
FORMAT_VERSION = 1
_INDEX = "svertka.json"


def atomic_write(path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _write_container(path, index: dict, arrays: dict[str, np.ndarray]) -> None:
    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(_INDEX, json.dumps(index, indent=1))
            for name, array in arrays.items():
                z.writestr(name, _npy_bytes(array))

    atomic_write(path, write)


def _read_container(path, expected_format: str, op: str) -> tuple[dict, zipfile.ZipFile]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{op}: no file at {path}")
    try:
        z = zipfile.ZipFile(path)
        index = json.loads(z.read(_INDEX))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise ValueError(f"{op}: {path} is not a svertka file or is damaged ({e})") from e
    if not isinstance(index, dict) or index.get("format") != expected_format:
        raise ValueError(f"{op}: {path} is not a {expected_format} file (its format is "
                         f"{index.get('format') if isinstance(index, dict) else None!r})")
    if index.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{op}: {path} has format version {index['format_version']}; this "
                         f"svertka reads up to {FORMAT_VERSION}")
    return index, z


def _read_array(z: zipfile.ZipFile, name: str, op: str) -> np.ndarray:
    try:
        with z.open(name) as f:
            return np.lib.format.read_array(io.BytesIO(f.read()), allow_pickle=False)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{op}: array {name!r} is missing or damaged ({e})") from e


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
        if config.get("input_shape") is not None:
            model.build((None, *config["input_shape"]))
        for layer_spec in config["layers"]:
            model.add(layers_mod.deserialize(layer_spec))
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


# -- weights -----------------------------------------------------------------------------
def _weight_table(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    table, arrays = [], {}
    for layer in model.layers:
        for wname, array in zip(layer.weight_names, layer.get_weights()):
            entry = f"weights/{len(table)}.npy"
            table.append({"name": f"{layer.name}/{wname}", "shape": list(array.shape),
                          "dtype": str(array.dtype), "file": entry})
            arrays[entry] = array
    return table, arrays


def _apply_weights(model, table: list[dict], z, op: str) -> None:
    """Weights are matched by position (layers in order, each layer's weights in order), as
    Keras does, so a rebuilt model with fresh layer names loads; shapes must agree."""
    expected = [(f"{layer.name}/{n}", t.shape) for layer in model.layers
                for n, t in zip(layer.weight_names, layer.weights)]
    if len(table) != len(expected):
        raise ValueError(f"{op}: the file holds {len(table)} weight arrays, the model has "
                         f"{len(expected)}: the architectures differ")
    arrays = []
    for entry, (name, shape) in zip(table, expected):
        array = _read_array(z, entry["file"], op)
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"{op}: weight {entry['name']!r} has shape {tuple(array.shape)} in "
                             f"the file, but the model's {name!r} has shape {tuple(shape)}")
        arrays.append(array)
    model.set_weights(arrays)


def save_weights(model, path) -> None:
    table, arrays = _weight_table(model)
    index = {"format": FORMAT_WEIGHTS, "format_version": FORMAT_VERSION, "weights": table}
    _write_container(path, index, arrays)


def load_weights(model, path) -> None:
    index, z = _read_container(path, FORMAT_WEIGHTS, f"{model.name}.load_weights")
    with z:
        _apply_weights(model, index["weights"], z, f"{model.name}.load_weights")


def save_model(model, path) -> None:
    from svertka import __version__

    table, arrays = _weight_table(model)
    index = {"format": FORMAT_MODEL, "format_version": FORMAT_VERSION,
             "svertka_version": __version__, "model": model_spec(model),
             "compile": model._compile_config, "weights": table, "optimizer": None,
             "class_names": model.class_names}
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
    _write_container(path, index, arrays)


def load_model(path, compile: bool = True):  # noqa: A002 - Keras's argument name
    """A model saved by ``model.save``: architecture, weights, and (if compiled) optimiser."""
    op = "load_model"
    index, z = _read_container(path, FORMAT_MODEL, op)
    with z:
        try:
            model = model_from_config(index["model"])
        except (KeyError, TypeError) as e:
            raise ValueError(f"{op}: {path} has a damaged architecture description ({e!r})") from e
        _apply_weights(model, index["weights"], z, op)
        model.class_names = index.get("class_names")
        config = index.get("compile")
        if compile and config is not None and config.get("loss") is not None:
            from svertka import optimizers

            model.compile(optimizer=optimizers.get(config["optimizer"]), loss=config["loss"],
                          metrics=config.get("metrics"))
            saved = index.get("optimizer")
            if saved is not None:
                slots = [[_read_array(z, name, op) for name in names] for names in saved["slots"]]
                model.optimizer.set_state(model.trainable_weights,
                                          {"iterations": saved["iterations"], "slots": slots})
    return model
