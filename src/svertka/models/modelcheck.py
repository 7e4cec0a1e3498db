"""The shape of a svertka file's index, checked in full before any layer is built.

``check_model_index`` and ``check_weights_index`` walk the parsed JSON (already limited in
size, depth and number range by :mod:`svertka.models.modelfile`) and return a description of
the first thing that is not what ``save_model``/``save_weights`` write, or None. They check
the structure the loader relies on: the model class, every layer's class against
``svertka.layers.LAYERS`` and its config's form, the functional graph's references (each
node refers only to inputs and earlier nodes, so the graph has no cycles), the weight
table, the compile settings, the optimiser state, the epoch count. The values inside a
layer's config are checked by the layer's own constructor, under the loader's guard.

>>> check_weights_index({"format": "svertka-weights", "format_version": 1,
...                      "weights": [{"name": "d/kernel", "shape": [2, True],
...                                   "dtype": "float32", "file": "weights/0.npy"}]})
'weights[0].shape must be a list of at most 32 ints >= 0, received [2, True]'
"""

from __future__ import annotations

import math

FORMAT_MODEL = "svertka-model"
FORMAT_WEIGHTS = "svertka-weights"
FORMAT_VERSION = 1
MAX_LAYERS = 10_000
MAX_NODES = 20_000
MAX_IO = 64  # inputs or outputs of a functional model
MAX_RANK = 32
MAX_NAME = 1_000  # characters of a layer's or model's name
MAX_DIM = 1 << 40  # a declared input size; weights are bounded by the budget instead


class Bad(ValueError):
    """A field of the index is not what the writer writes; the message names the field."""


def _is_int(v) -> bool:
    return type(v) is int  # JSON gives int or bool; a bool is not a size


def _expect(ok: bool, where: str, what: str, value) -> None:
    if not ok:
        text = repr(value)
        text = text if len(text) <= 200 else text[:200] + "..."
        raise Bad(f"{where} must be {what}, received {text}")


def _dict(value, where: str, keys: set[str], optional: set[str] = frozenset()) -> dict:
    _expect(isinstance(value, dict), where, "an object", value)
    missing, unknown = keys - set(value), set(value) - keys - optional
    _expect(not missing and not unknown, where,
            f"an object with keys {sorted(keys)}" + (f" (and optionally {sorted(optional)})"
                                                     if optional else ""),
            sorted(value))
    return value


def _list(value, where: str, low: int = 0, high: int = MAX_NODES) -> list:
    _expect(isinstance(value, list) and low <= len(value) <= high, where,
            f"a list of {low} to {high:,} items", value)
    return value


def _name(value, where: str) -> str:
    _expect(isinstance(value, str) and 0 < len(value) <= MAX_NAME, where,
            f"a string of 1 to {MAX_NAME} characters", value)
    return value


def _count(value, where: str, low: int = 0) -> int:
    _expect(_is_int(value) and value >= low, where, f"an int >= {low}", value)
    return value


def _sample_shape(value, where: str) -> None:
    """An input shape without the batch axis: positive ints or None (any size)."""
    _expect(isinstance(value, list) and 1 <= len(value) <= MAX_RANK and all(
        d is None or (_is_int(d) and 1 <= d <= MAX_DIM) for d in value), where,
        f"a list of 1 to {MAX_RANK} sizes (ints in [1, 2**40] or null)", value)


def check_layer_spec(spec, where: str, layers: dict) -> str:
    """``{"class_name": <registered class>, "config": {...}}``; returns the layer's name."""
    _dict(spec, where, {"class_name", "config"})
    cls = spec["class_name"]
    _expect(isinstance(cls, str) and cls in layers, f"{where}.class_name",
            "a registered layer class (svertka.layers.LAYERS)", cls)
    config = spec["config"]
    _expect(isinstance(config, dict), f"{where}.config", "an object", config)
    name = _name(config.get("name"), f"{where}.config.name")
    if config.get("input_shape") is not None:
        _sample_shape(config["input_shape"], f"{where}.config.input_shape")
    return name


def check_model_spec(spec, layers: dict) -> None:
    _dict(spec, "model", {"class_name", "config"})
    cls, config = spec["class_name"], spec["config"]
    _expect(cls in ("Sequential", "Model"), "model.class_name", "'Sequential' or 'Model'", cls)
    if cls == "Sequential":
        _dict(config, "model.config", {"name", "input_shape", "layers"})
        _name(config["name"], "model.config.name")
        _sample_shape(config["input_shape"], "model.config.input_shape")
        for i, layer in enumerate(_list(config["layers"], "model.config.layers", 0, MAX_LAYERS)):
            check_layer_spec(layer, f"model.config.layers[{i}]", layers)
        return
    _dict(config, "model.config",
          {"name", "inputs", "layers", "nodes", "outputs", "single_input", "single_output"})
    _name(config["name"], "model.config.name")
    inputs = _list(config["inputs"], "model.config.inputs", 1, MAX_IO)
    for i, shape in enumerate(inputs):
        _sample_shape(shape, f"model.config.inputs[{i}]")
    names = set()
    for i, layer in enumerate(_list(config["layers"], "model.config.layers", 0, MAX_LAYERS)):
        name = check_layer_spec(layer, f"model.config.layers[{i}]", layers)
        _expect(name not in names, f"model.config.layers[{i}].config.name", "a unique name", name)
        names.add(name)
    values = {f"input_{i}" for i in range(len(inputs))}
    for i, node in enumerate(_list(config["nodes"], "model.config.nodes", 0, MAX_NODES)):
        where = f"model.config.nodes[{i}]"
        _dict(node, where, {"layer", "parents", "many"})
        _expect(node["layer"] in names, f"{where}.layer", "the name of a layer in the file",
                node["layer"])
        _expect(isinstance(node["many"], bool), f"{where}.many", "true or false", node["many"])
        parents = _list(node["parents"], f"{where}.parents", 1, MAX_NODES)
        _expect(node["many"] or len(parents) == 1, f"{where}.parents",
                "one parent when 'many' is false", parents)
        for p in parents:  # inputs and earlier nodes only: the graph cannot have a cycle
            _expect(p in values, f"{where}.parents", "names of inputs or earlier nodes", p)
        values.add(f"node_{i}")
    outputs = _list(config["outputs"], "model.config.outputs", 1, MAX_IO)
    for o in outputs:
        _expect(o in values, "model.config.outputs", "names of inputs or nodes", o)
    for key, items in (("single_input", inputs), ("single_output", outputs)):
        _expect(isinstance(config[key], bool) and (not config[key] or len(items) == 1),
                f"model.config.{key}", f"true or false (true only with one {key[7:]})",
                config[key])


def check_weight_table(table, where: str = "weights") -> None:
    for i, entry in enumerate(_list(table, where, 0, 4 * MAX_NODES)):
        _dict(entry, f"{where}[{i}]", {"name", "shape", "dtype", "file"})
        _expect(isinstance(entry["name"], str), f"{where}[{i}].name", "a string", entry["name"])
        shape = entry["shape"]
        _expect(isinstance(shape, list) and len(shape) <= MAX_RANK
                and all(_is_int(d) and d >= 0 for d in shape), f"{where}[{i}].shape",
                f"a list of at most {MAX_RANK} ints >= 0", shape)
        _expect(entry["dtype"] in ("float32", "float64"), f"{where}[{i}].dtype",
                "'float32' or 'float64'", entry["dtype"])
        _expect(isinstance(entry["file"], str) and entry["file"].endswith(".npy"),
                f"{where}[{i}].file", "the name of a .npy entry", entry["file"])


def check_compile(config) -> None:
    if config is None:
        return
    _dict(config, "compile", {"optimizer", "loss", "metrics"},
          optional={"loss_weights", "weighted_metrics"})
    opt = config["optimizer"]
    if not isinstance(opt, str):
        _dict(opt, "compile.optimizer", {"class_name", "config"})
        _expect(isinstance(opt["class_name"], str), "compile.optimizer.class_name", "a string",
                opt["class_name"])
        _expect(isinstance(opt["config"], dict), "compile.optimizer.config", "an object",
                opt["config"])
    loss = config["loss"]
    _expect(loss is None or isinstance(loss, (str, dict)), "compile.loss",
            "null, a name or an object", loss)
    if isinstance(loss, dict) and "class_name" not in loss:  # one per output name
        _expect(len(loss) <= MAX_NODES and all(
            isinstance(k, str) and (v is None or isinstance(v, (str, dict)))
            for k, v in loss.items()), "compile.loss",
            "an object of output names to null, names or objects", loss)
    for key in ("metrics", "weighted_metrics"):
        metrics = config.get(key)
        per_output = metrics.values() if isinstance(metrics, dict) else [metrics]
        _expect(metrics is None or (len(per_output) <= MAX_NODES and all(
            ms is None or _metric_list(ms) for ms in per_output)), f"compile.{key}",
            "null, a list of names and {class_name, config} objects, or an object of output "
            "names to such lists", metrics)
    weights = config.get("loss_weights")
    numbers = weights.values() if isinstance(weights, dict) else [weights]
    _expect(weights is None or (len(numbers) <= MAX_NODES and all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w)
        for w in numbers)), "compile.loss_weights",
        "null, a finite number or an object of output names to numbers", weights)


def _metric_list(ms) -> bool:
    return isinstance(ms, list) and len(ms) <= 100 and all(
        isinstance(m, str) or _is_metric_config(m) for m in ms)


def _is_metric_config(m) -> bool:
    return (isinstance(m, dict) and set(m) == {"class_name", "config"}
            and isinstance(m["class_name"], str) and isinstance(m["config"], dict))


def check_optimizer_state(state) -> None:
    if state is None:
        return
    _dict(state, "optimizer", {"iterations", "slots"})
    _count(state["iterations"], "optimizer.iterations")
    for i, names in enumerate(_list(state["slots"], "optimizer.slots", 0, 4 * MAX_NODES)):
        _expect(isinstance(names, list) and len(names) <= 8
                and all(isinstance(n, str) and n.endswith(".npy") for n in names),
                f"optimizer.slots[{i}]", "a list of at most 8 .npy entry names", names)


def _check_header(index: dict, expected_format: str) -> None:
    _expect(index.get("format") == expected_format, "format", repr(expected_format),
            index.get("format"))
    version = index.get("format_version")
    _expect(_is_int(version) and 1 <= version <= FORMAT_VERSION, "format_version",
            f"an int from 1 to {FORMAT_VERSION} (this svertka reads up to {FORMAT_VERSION})",
            version)


def check_weights_index(index: dict) -> str | None:
    """What is wrong with a weights file's index, or None."""
    try:
        _check_header(index, FORMAT_WEIGHTS)
        _dict(index, "the index", {"format", "format_version", "weights"})
        check_weight_table(index["weights"])
    except Bad as e:
        return str(e)
    return None


def check_model_index(index: dict, layers: dict) -> str | None:
    """What is wrong with a model file's index, or None."""
    try:
        _check_header(index, FORMAT_MODEL)
        _dict(index, "the index", {"format", "format_version", "model", "weights"},
              {"svertka_version", "compile", "optimizer", "class_names", "epochs_trained"})
        if "svertka_version" in index:
            _expect(isinstance(index["svertka_version"], str), "svertka_version", "a string",
                    index["svertka_version"])
        check_model_spec(index["model"], layers)
        check_weight_table(index["weights"])
        check_compile(index.get("compile"))
        check_optimizer_state(index.get("optimizer"))
        names = index.get("class_names")
        _expect(names is None or (isinstance(names, list)
                                  and all(isinstance(n, str) for n in names)),
                "class_names", "null or a list of strings", names)
        _count(index.get("epochs_trained", 0), "epochs_trained")
    except Bad as e:
        return str(e)
    return None


def entry_names(index: dict) -> list[str]:
    """Every array entry the index refers to, weights first, in order."""
    names = [entry["file"] for entry in index["weights"]]
    state = index.get("optimizer")
    if state is not None:
        names += [n for slot in state["slots"] for n in slot]
    return names
