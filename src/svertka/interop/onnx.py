"""ONNX export: ``export_onnx(model, path)`` writes a svertka model as an ONNX graph (built
with ``onnx.helper``) that onnxruntime runs with the same outputs.

Layout. svertka is channels-last (NHWC); ONNX's convolutions, pooling, padding and resizing
are channels-first (NCHW). The graph's inputs and outputs keep svertka's shapes (NHWC, the
batch axis dynamic), and inside, each 4-D tensor is kept in the layout its producer works
in: convolutions, pooling, padding, batch norm, ... read and write NCHW; Flatten, Dense,
Reshape, the NetVLAD pooling ... read NHWC, so that flattening orders the values as svertka
does. A ``Transpose`` is inserted only where a layer needs the other layout than its input
has (at most once per tensor and layout), so a chain of convolutions and pooling is
transposed once on the way in and once before the flatten; element-wise layers (ReLU,
Dropout, Rescaling, Add, ...) keep their input's layout.

Inference semantics: BatchNormalization uses its moving statistics, Dropout is the identity.
Padding is written out per side for the input size the model was built for (an unknown
height or width with ``'same'`` padding becomes ONNX's ``SAME_UPPER``, the same rule);
``padding_mode`` other than zeros is a ``Gather`` of the padded indices (svertka's own
``pad_index``). ``TableConv2D`` is a dense convolution with the masked kernel; an even-sized
LRN window (placed as PyTorch places it, which ONNX's ``LRN`` does not) is a banded
matrix product over the channels.

One converter per layer type, in ``CONVERTERS`` (``svertka.interop.onnx_layers``); a layer
of another type (or a ``Lambda`` of a function with no ONNX form) is refused, naming it.

>>> from svertka.layers import Conv2D, Dense, NetVLAD
>>> all(cls in CONVERTERS for cls in (Conv2D, Dense, NetVLAD))
True
"""

from __future__ import annotations

import os

import numpy as np

from svertka import checks
from svertka.interop.onnx_layers import CONVERTERS, TO_NCHW, TO_NHWC

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax over one axis, Pad/Clip/Resize/ReduceSum taking tensors
# protobuf cannot serialise a message of 2 GB or more; keep room for the graph itself
MAX_WEIGHT_BYTES = 2**31 - 2**24


def export_onnx(model, path, opset: int = DEFAULT_OPSET, batch_size: int | None = None):
    """Write ``model`` to ``path`` as ONNX and return the ``onnx.ModelProto``.

    The graph input(s) are float32 NHWC as ``model.input_shape``, named ``input`` (``input_0``,
    ``input_1``, ... for several), with a dynamic batch axis ``N`` (``batch_size``: a fixed
    one); the outputs, ``output`` (``output_0``, ...), are svertka's. ``opset``: the ONNX
    opset, 13 or later (17 by default). ``onnx.checker.check_model`` passes on the result.
    Raises ImportError without the ``onnx`` package, ValueError for a layer with no ONNX
    form or a model over the 2 GB protobuf limit.
    """
    try:
        import onnx
    except ImportError:
        raise ImportError("export_onnx needs the onnx package: pip install onnx "
                          "(or pip install svertka[interop])") from None
    from svertka.models import Model

    op = "export_onnx"
    if not isinstance(model, Model):
        raise TypeError(f"{op}: argument 'model' must be a svertka Model or Sequential, "
                        f"received {type(model).__name__}")
    if not model.inputs:
        raise ValueError(f"{op}: model {model.name!r} has no input shape yet; give its first "
                         f"layer input_shape=..., call build(), or call it on data")
    opset = checks.integer(op, "opset", opset, low=MIN_OPSET)
    if batch_size is not None:
        batch_size = checks.positive_int(op, "batch_size", batch_size)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: argument 'path' must be a str or os.PathLike, "
                        f"received {type(path).__name__}")

    g = _Graph(onnx, opset, model.name)
    h = onnx.helper
    batch = "N" if batch_size is None else batch_size
    several = len(model.inputs) > 1
    graph_inputs = []
    for i, sym in enumerate(model.inputs):
        name = g.fresh(f"input_{i}" if several else "input")
        graph_inputs.append(h.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                     _dims(sym.shape, batch)))
        g.values[id(sym)] = {"nhwc": name}
    for node in model._nodes:
        converter = CONVERTERS.get(type(node.layer))
        if converter is None:
            raise ValueError(
                f"{op}: layer {node.layer.name!r} of type {type(node.layer).__name__} has no "
                f"ONNX converter; supported types: {', '.join(sorted(supported_layers()))}")
        converter(g, node.layer, node)
    several = len(model.outputs) > 1
    graph_outputs = []
    for i, sym in enumerate(model.outputs):
        name = g.fresh(f"output_{i}" if several else "output")
        g.nodes.append(h.make_node("Identity", [g.get(sym, "nhwc")], [name], name=name))
        graph_outputs.append(h.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                      _dims(sym.shape, batch)))
    if g.weight_bytes > MAX_WEIGHT_BYTES:
        raise ValueError(
            f"{op}: model {model.name!r} holds {g.weight_bytes:,} bytes of weights, more than "
            f"one ONNX file can hold ({MAX_WEIGHT_BYTES:,}: protobuf's 2 GB limit); ONNX "
            f"external data is not supported by this exporter")
    graph = h.make_graph(g.nodes, model.name, graph_inputs, graph_outputs, g.initializers)
    opsets = [h.make_opsetid("", opset)]
    proto = h.make_model(graph, opset_imports=opsets, producer_name="svertka",
                         ir_version=h.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    onnx.save_model(proto, os.fspath(path))
    return proto


def supported_layers() -> list[str]:
    """The names of the layer types ``export_onnx`` converts.

    >>> "BatchNormalization" in supported_layers()
    True
    """
    return [cls.__name__ for cls in CONVERTERS]


def _dims(shape, batch) -> list:
    """ONNX dims for a svertka shape: the batch axis ``batch``, unknown axes named."""
    return [batch if a == 0 else (f"d{a}" if d is None else d) for a, d in enumerate(shape)]


class _Graph:
    """The ONNX nodes and initialisers made so far, and where each symbolic tensor of the
    model lives: ``values[id(sym)]`` maps a layout ('nhwc' or 'nchw', 4-D tensors only) to
    the ONNX name holding it in that layout."""

    def __init__(self, onnx, opset: int, model_name: str):
        self.onnx, self.h, self.opset, self.model_name = onnx, onnx.helper, opset, model_name
        self.nodes: list = []
        self.initializers: list = []
        self.weight_bytes = 0
        self.values: dict[int, dict[str, str]] = {}
        self._names: set[str] = set()

    def fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            name, n = f"{hint}_{n}", n + 1
        self._names.add(name)
        return name

    def const(self, hint: str, array, dtype=np.float32) -> str:
        name = self.fresh(hint)
        array = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        self.weight_bytes += array.nbytes
        return name

    def ints(self, hint: str, values) -> str:
        return self.const(hint, np.asarray(values, np.int64).reshape(-1), np.int64)

    def op(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        """Add one node; returns its (single) output's name."""
        out = self.fresh(f"{hint}/{op_type}")
        self.nodes.append(self.h.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def reduce(self, op_type: str, x: str, axes, hint: str, keepdims: int = 1) -> str:
        """A Reduce* node: axes as an input from opset 18 (ReduceSum from 13), else as an
        attribute."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(f"{hint}/axes", axes)], hint,
                           keepdims=keepdims)
        return self.op(op_type, [x], hint, axes=list(axes), keepdims=keepdims)

    def get(self, sym, layout: str) -> str:
        """The name of ``sym``'s value in ``layout`` (a 4-D tensor is transposed once, on
        first request; other ranks have one layout, their own)."""
        held = self.values[id(sym)]
        if len(sym.shape) != 4:
            return held["nhwc"]
        if layout not in held:
            (have, name), = held.items()
            perm = TO_NCHW if layout == "nchw" else TO_NHWC
            hint = getattr(sym.layer, "name", None) or "input"
            held[layout] = self.op("Transpose", [name], f"{hint}/to_{layout}", perm=list(perm))
        return held[layout]

    def layout(self, sym) -> str:
        """The layout ``sym`` was made in ('nhwc' for tensors of rank other than 4)."""
        held = self.values[id(sym)]
        return "nchw" if len(sym.shape) == 4 and "nhwc" not in held else "nhwc"

    def set(self, sym, name: str, layout: str = "nhwc") -> None:
        self.values[id(sym)] = {layout: name}


__all__ = ["CONVERTERS", "DEFAULT_OPSET", "export_onnx", "supported_layers"]
