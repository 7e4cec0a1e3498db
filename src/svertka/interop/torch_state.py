"""PyTorch state dicts into svertka models: read the file, convert the layouts once, check
everything before a single weight changes.

A PyTorch state dict maps ``"{module}.{tensor}"`` (``"features.0.weight"``,
``"layer1.0.bn1.running_mean"``) to tensors in PyTorch's layouts. svertka keeps channels-last
layouts, so each tensor is converted on the way in:

=====================  =====================================  ==================================
svertka layer          PyTorch module, tensor -> weight        conversion
=====================  =====================================  ==================================
``Conv2D``             ``Conv2d``: weight -> kernel, bias      (O, I/g, KH, KW) -> (KH, KW, I/g, O)
``DepthwiseConv2D``    ``Conv2d(groups=C)``: weight -> kernel  (C*M, 1, KH, KW) -> (KH, KW, C, M)
``Dense``              ``Linear``: weight -> kernel, bias      (out, in) -> (in, out)
``BatchNormalization``  ``BatchNorm2d``: weight, bias,          gamma, beta, moving_mean,
                       running_mean, running_var               moving_variance (as they are)
=====================  =====================================  ==================================

``num_batches_tracked`` is skipped. The flatten order: PyTorch flattens NCHW maps as (C, H, W),
svertka flattens NHWC maps as (H, W, C), so the first ``Dense`` fed through a ``Flatten`` of an
image (found from the model's graph, not from names) gets its input rows permuted.

A state dict does not record BatchNorm's ``eps``: PyTorch's default is 1e-5, Keras's (and
``BatchNormalization``'s) 1e-3. Loading into a layer whose epsilon is not 1e-5 warns, naming it.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from svertka.errors import ModelFileError
from svertka.layers import BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Flatten

SKIPPED = ("num_batches_tracked",)  # a training counter, not a weight
TORCH_BN_EPSILON = 1e-5


class LoadResult(NamedTuple):
    """What ``load_torch_state_dict`` did: ``loaded`` the svertka weights set
    (``"layer/weight"``), ``missing_keys`` and ``unexpected_keys`` the PyTorch keys it had to
    leave (always empty when ``strict``)."""

    loaded: list
    missing_keys: list
    unexpected_keys: list


# -- reading ---------------------------------------------------------------------------------
def read_state_file(path) -> dict[str, np.ndarray]:
    """The state dict in a ``.safetensors`` file (read with ``safetensors.numpy``, no torch
    needed) or a ``.pth``/``.pt``/``.bin`` file (``torch.load(weights_only=True)``: no code in
    the file runs), as NumPy arrays by key.

    A checkpoint that wraps its state dict as ``{"state_dict": ...}`` or ``{"model": ...}`` is
    unwrapped, and a ``"module."`` prefix on every key (``nn.DataParallel``) is dropped.

    >>> read_state_file("weights.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: read_state_file: argument 'path' must name a .safetensors, ... 'weights.h5'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".safetensors", ".pth", ".pt", ".bin"):
        raise ValueError(f"read_state_file: argument 'path' must name a .safetensors, .pth, .pt "
                         f"or .bin file, received {os.fspath(path)!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_state_file: no file {os.fspath(path)!r}")
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError as e:
            raise ImportError("read_state_file: reading .safetensors needs the safetensors "
                              "package: pip install safetensors") from e
        try:
            state = load_file(os.fspath(path))
        except Exception as e:  # safetensors raises its own SafetensorError, and TypeError
            raise ModelFileError(f"read_state_file: {os.fspath(path)!r} is not a readable "
                                 f"safetensors file ({e})") from e
    else:
        try:
            import torch
        except ImportError as e:
            raise ImportError(f"read_state_file: reading {suffix} files needs PyTorch: pip "
                              f"install torch (or save the state dict as .safetensors)") from e
        try:
            state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
        except Exception as e:  # unpickling errors, zip errors, refused globals
            raise ModelFileError(f"read_state_file: {os.fspath(path)!r} is not a loadable "
                                 f"PyTorch state dict ({type(e).__name__}: {e})") from e
    return to_numpy_state(_unwrap(state, path), f"read_state_file({os.fspath(path)!r})")


def _unwrap(state, path):
    if not isinstance(state, dict):
        raise ModelFileError(f"read_state_file: {os.fspath(path)!r} holds a "
                             f"{type(state).__name__}, expected a state dict (a dict of "
                             f"tensors); save model.state_dict(), not the model")
    for wrapper in ("state_dict", "model"):
        if isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def to_numpy_state(state, where: str = "load_torch_state_dict") -> dict[str, np.ndarray]:
    """``state`` (a dict of torch tensors or arrays) as a dict of NumPy arrays; any other value
    is an error naming its key."""
    out = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"{where}: state dict keys must be strings, received {key!r}")
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
            value = value.detach().cpu()
            if value.is_floating_point() and str(value.dtype) in ("torch.bfloat16",
                                                                  "torch.float8_e4m3fn"):
                value = value.float()
            out[key] = value.numpy()
        elif isinstance(value, np.ndarray):
            out[key] = value
        else:
            raise TypeError(f"{where}: the value of {key!r} must be a tensor or an array, "
                            f"received {type(value).__name__}")
    return out


# -- conversions -----------------------------------------------------------------------------
class Rule(NamedTuple):
    """One svertka weight from one PyTorch tensor: ``source`` the tensor's suffix,
    ``torch_shape(svertka shape)`` the shape PyTorch stores it in, ``convert(array)`` its
    svertka layout."""

    source: str
    torch_shape: object
    convert: object


def _same(shape):
    return tuple(shape)


def _keep(a):
    return a


def _conv_shape(shape):  # (KH, KW, I/g, O) -> (O, I/g, KH, KW)
    return (shape[3], shape[2], shape[0], shape[1])


def _conv_kernel(a):  # (O, I/g, KH, KW) -> (KH, KW, I/g, O)
    return a.transpose(2, 3, 1, 0)


def _depthwise_shape(shape):  # (KH, KW, C, M) -> (C*M, 1, KH, KW)
    return (shape[2] * shape[3], 1, shape[0], shape[1])


def _dense_shape(shape):  # (in, out) -> (out, in)
    return (shape[1], shape[0])


def _rules(layer, image_shape) -> dict[str, Rule] | None:
    """The rules for ``layer``'s weights by name, None for a layer type not converted."""
    if isinstance(layer, DepthwiseConv2D):
        kh, kw, c, m = layer.kernel.shape

        def depthwise(a):  # (C*M, 1, KH, KW) -> (KH, KW, 1, C*M) -> (KH, KW, C, M)
            return a.transpose(2, 3, 1, 0).reshape(kh, kw, c, m)
        return {"kernel": Rule("weight", _depthwise_shape, depthwise),
                "bias": Rule("bias", _same, _keep)}
    if isinstance(layer, Conv2D):
        return {"kernel": Rule("weight", _conv_shape, _conv_kernel),
                "bias": Rule("bias", _same, _keep)}
    if isinstance(layer, Dense):
        def dense(a):
            a = a.T  # (out, in) -> (in, out)
            if image_shape is None:
                return a
            h, w, c = image_shape  # rows in PyTorch's (C, H, W) order -> svertka's (H, W, C)
            return a.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)
        return {"kernel": Rule("weight", _dense_shape, dense), "bias": Rule("bias", _same, _keep)}
    if isinstance(layer, BatchNormalization):
        return {"gamma": Rule("weight", _same, _keep), "beta": Rule("bias", _same, _keep),
                "moving_mean": Rule("running_mean", _same, _keep),
                "moving_variance": Rule("running_var", _same, _keep)}
    return None


def flattened_image(model, layer) -> tuple | None:
    """(H, W, C) when ``layer``'s input is an image flattened by a ``Flatten`` (through
    weightless layers that keep the shape, such as ``Dropout``), else None."""
    for node in model._nodes:
        if node.layer is not layer or len(node.parents) != 1:
            continue
        x = node.parents[0]
        while (x.layer is not None and not isinstance(x.layer, Flatten) and not x.layer.weights
               and len(x.parents) == 1 and x.parents[0].shape == x.shape):
            x = x.parents[0]
        if isinstance(x.layer, Flatten) and len(x.parents[0].shape) == 4:
            h, w, c = x.parents[0].shape[1:]
            return None if h == w == 1 else (h, w, c)
        return None
    return None


# -- loading ---------------------------------------------------------------------------------
def _prefixes(state, ignore) -> list[str]:
    """The modules of ``state`` with tensors to load, in the state dict's order."""
    seen = {}
    for key in state:
        if key.rsplit(".", 1)[-1] in SKIPPED or _ignored(key, ignore):
            continue
        seen.setdefault(key.rsplit(".", 1)[0] if "." in key else "", None)
    return list(seen)


def _ignored(key, ignore) -> bool:
    return any(key == p or key.startswith(p if p.endswith(".") else p + ".") for p in ignore)


def default_mapping(model, state, ignore=()) -> dict[str, str]:
    """The mapping ``load_torch_state_dict`` uses when given none: the model's layers that
    have weights, in the model's order, paired with the modules of ``state`` in the state
    dict's order (which is the order the PyTorch model defines its modules). The counts must
    agree.

    >>> from svertka.layers import Dense, Input
    >>> from svertka.models import Model
    >>> x = Input((4,))
    >>> model = Model(x, Dense(2, name="out")(Dense(3, name="hidden")(x)))
    >>> state = {"0.weight": np.ones((3, 4)), "0.bias": np.ones(3),
    ...          "2.weight": np.ones((2, 3)), "2.bias": np.ones(2)}
    >>> default_mapping(model, state)
    {'hidden': '0', 'out': '2'}
    """
    layers = [la.name for la in model.layers if la.weights]
    prefixes = _prefixes(state, ignore)
    if len(layers) != len(prefixes):
        raise ValueError(f"load_torch_state_dict: without 'mapping' the layers with weights are "
                         f"paired in order with the state dict's modules, but the model has "
                         f"{len(layers)} such layers {layers} and the state dict "
                         f"{len(prefixes)} modules {prefixes}; give a mapping "
                         f"{{layer name: module prefix}}")
    return dict(zip(layers, prefixes))


def load_torch_state_dict(model, state, mapping=None, strict: bool = True,
                          ignore=()) -> LoadResult:
    """Set ``model``'s weights from a PyTorch state dict: ``state`` is a dict of torch tensors
    or NumPy arrays, or the path of a ``.safetensors``/``.pth`` file (``read_state_file``).

    ``mapping`` says which PyTorch module feeds which layer: ``{layer name: module prefix}``
    (``{"conv1_conv": "conv1", "predictions": "fc"}``; None as a prefix leaves the layer as it
    is), and ``{"layer/weight": "full.torch.key"}`` for a single weight. Without a mapping the
    layers are paired in order (see ``default_mapping``). Keys under a prefix in ``ignore``
    (``("fc",)``) are left out. With ``strict`` every layer with weights must be mapped, every
    mapped tensor present and every tensor of the state dict used; ``strict=False`` loads what
    matches and returns the rest in the result. Shapes must always match, and values be finite.

    Nothing changes unless everything checks: one ``ValueError`` lists every problem, each with
    its names and shapes. The arrays are cast to float32.

    >>> import numpy as np
    >>> from svertka.layers import Conv2D, Dense, Flatten, Input
    >>> from svertka.models import Model
    >>> x = Input((4, 4, 3))
    >>> model = Model(x, Dense(2, name="fc")(Flatten()(Conv2D(5, 3, name="conv")(x))))
    >>> rng = np.random.default_rng(0)
    >>> state = {"features.weight": rng.normal(size=(5, 3, 3, 3)),   # Conv2d(3, 5, 3)
    ...          "features.bias": np.zeros(5), "head.weight": rng.normal(size=(2, 20)),
    ...          "head.bias": np.zeros(2)}
    >>> load_torch_state_dict(model, state, {"conv": "features", "fc": "head"}).loaded
    ['conv/kernel', 'conv/bias', 'fc/kernel', 'fc/bias']
    >>> model.get_layer("conv").kernel.shape
    (3, 3, 3, 5)
    """
    if isinstance(state, (str, os.PathLike)):
        state = read_state_file(state)
    elif isinstance(state, dict):
        state = to_numpy_state(state)
    else:
        raise TypeError(f"load_torch_state_dict: argument 'state' must be a state dict or the "
                        f"path of a .safetensors/.pth file, received {type(state).__name__}")
    ignore = (ignore,) if isinstance(ignore, str) else tuple(ignore)
    layers = {la.name: la for la in model.layers}
    if any(not la.built for la in layers.values()):
        raise ValueError(f"load_torch_state_dict: the model {model.name!r} must be built (call "
                         f"it on an input, or give its input shape) before loading weights")
    layer_map, key_map, problems = _split_mapping(
        mapping if mapping is not None else default_mapping(model, state, ignore), layers)
    plan, missing, used = [], [], set()
    for name, layer in layers.items():
        if not layer.weights:
            continue
        override = {w: key_map[f"{name}/{w}"] for w in layer.weight_names
                    if f"{name}/{w}" in key_map}
        if name not in layer_map and not override:
            if strict:
                problems.append(f"layer {name!r} ({type(layer).__name__}) has no entry in the "
                                f"mapping")
            continue
        prefix = layer_map.get(name)  # None: only the weights named one by one
        if prefix is None and not override:
            continue
        rules = _rules(layer, flattened_image(model, layer) if isinstance(layer, Dense) else None)
        if rules is None:
            problems.append(f"layer {name!r} is a {type(layer).__name__}, whose weights "
                            f"{layer.weight_names} have no PyTorch conversion (supported: "
                            f"Conv2D, DepthwiseConv2D, Dense, BatchNormalization)")
            continue
        for wname, tensor in zip(layer.weight_names, layer.weights):
            rule = rules[wname]
            if wname in override:
                key = override[wname]
                if key is None:
                    continue
            elif prefix is None:
                continue
            else:
                key = f"{prefix}.{rule.source}" if prefix else rule.source
            if key not in state:
                missing.append(f"{key} (for {name}/{wname}, expected shape "
                               f"{rule.torch_shape(tensor.shape)})")
                continue
            used.add(key)
            array = state[key]
            expected = tuple(rule.torch_shape(tensor.shape))
            if tuple(array.shape) != expected:
                problems.append(f"{key}: shape {tuple(array.shape)}, expected {expected} for "
                                f"{name}/{wname} {tuple(tensor.shape)}")
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                array = np.asarray(array, dtype=np.float32)
            if not np.isfinite(array).all():
                problems.append(f"{key}: {int(array.size - np.isfinite(array).sum())} of its "
                                f"{array.size} values are NaN or infinite")
                continue
            plan.append((layer, wname, key, rule.convert(array)))
    unexpected = [f"{k} {tuple(v.shape)}" for k, v in state.items()
                  if k not in used and k.rsplit(".", 1)[-1] not in SKIPPED
                  and not _ignored(k, ignore)]
    if strict:
        problems += [f"missing key {m}" for m in missing]
        problems += [f"unexpected key {u}" for u in unexpected]
    if problems:
        raise ValueError(f"load_torch_state_dict: the state dict does not fit the model "
                         f"{model.name!r} ({len(problems)} problems):\n  " + "\n  ".join(problems))
    _assign(plan)
    return LoadResult([f"{la.name}/{w}" for la, w, _, _ in plan], missing, unexpected)


def _split_mapping(mapping, layers):
    if not isinstance(mapping, dict):
        raise TypeError(f"load_torch_state_dict: argument 'mapping' must be a dict {{layer name: "
                        f"module prefix}}, received {type(mapping).__name__}")
    layer_map, key_map, problems = {}, {}, []
    for key, value in mapping.items():
        layer_name, _, weight = str(key).partition("/")
        if layer_name not in layers:
            problems.append(f"mapping names layer {layer_name!r}, which the model does not "
                            f"have")
        elif weight and weight not in layers[layer_name].weight_names:
            problems.append(f"mapping names weight {key!r}; layer {layer_name!r} has "
                            f"{layers[layer_name].weight_names}")
        elif value is not None and not isinstance(value, str):
            problems.append(f"mapping[{key!r}] must be a string (a module prefix or a key) or "
                            f"None, received {type(value).__name__}")
        elif weight:
            key_map[key] = value
        else:
            layer_map[key] = value
    return layer_map, key_map, problems


def _assign(plan) -> None:
    by_layer = {}
    for layer, wname, _, array in plan:
        by_layer.setdefault(id(layer), (layer, {}))[1][wname] = array
    for layer, arrays in by_layer.values():
        layer.set_weights([arrays.get(n, t.numpy()) for n, t in
                           zip(layer.weight_names, layer.weights)])
        if (isinstance(layer, BatchNormalization) and "moving_variance" in arrays
                and not math.isclose(layer.epsilon, TORCH_BN_EPSILON)):
            warnings.warn(f"load_torch_state_dict: layer {layer.name!r} has epsilon="
                          f"{layer.epsilon:g}; PyTorch's BatchNorm2d defaults to eps=1e-5 "
                          f"(a state dict does not record it), so outputs will differ unless "
                          f"the PyTorch model used the same eps", stacklevel=3)
