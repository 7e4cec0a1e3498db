"""A graph model's inference without the work that depends on the input's shape alone.

A model called at inference (gradients off, ``training`` False, ``fuse_inference`` on: what
``predict``, ``evaluate`` and ``model(x)`` under ``svertka.no_grad()`` do) runs its graph the
usual way the first time it meets an input signature (the shapes after the batch axis, the
dtypes, whether the compiled kernels are on), through every layer's and op's argument
checks. :func:`build` then turns that run into a :class:`Plan`, one step per node or fused
group of nodes (:mod:`svertka.models.fusion`): a kernel call on arrays with whatever depends
on the shapes resolved once (padding, the convolution's method). Later calls with that
signature run the plan: no Tensor, autograd Function, argument check or layer call between
the kernels, each intermediate array dropped after its last reader.

Why: for one image that work was most of the time. Python made 911 function calls per
image through the notes' model before plans and makes 240 with them; 7,867 and 1,763 for
the zoo's ResNet-20 (cProfile over ``model(x)`` under ``no_grad``, counted on 2026-12-05;
the timings are ``benchmarks/latency.py``'s, in the README).

What a step reads at every call: the layers' current weights and batch-norm statistics
(folded and transformed weights are kept while they hold, :mod:`svertka.kernels.memo`); so
weights changed in place or replaced are used at the next call. What a plan fixes: the
layers' settings (padding, strides, activation), fixed once a layer is built, as in Keras.
A step that finds a weight of another shape or dtype than the plan was made for gives up:
the plan is dropped and the call runs the usual way, with its checks.

Steps of their own: Conv2D -> BatchNormalization (-> ReLU) folded, Conv2D -> MaxPooling2D
fused, Add -> ReLU, and Dense, Flatten, GlobalAveragePooling2D, IdentityShortcut, ReLU and
Activation layers (exactly these classes, without an activity regularizer, on NumPy
arrays). Any other node, or one whose arrays are not as these steps need, runs as in
``Model._run`` (a layer call with its checks) inside the plan. Each step calls the kernel
the op would call, with the same arguments: the outputs are the usual ones, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from svertka.autograd import Tensor
from svertka.kernels import activations as ka
from svertka.kernels import conv as kconv
from svertka.kernels import jit, memo, winograd, winograd4
from svertka.kernels.bias_relu import add_relu
from svertka.kernels.dense import dense_forward
from svertka.kernels.pool import global_pool2d_forward
from svertka.kernels.shapes import resolve_padding
from svertka.layers.activations import ReLU
from svertka.layers.core import Activation, Dense, Flatten
from svertka.layers.merge import Add
from svertka.layers.pooling import GlobalAveragePooling2D
from svertka.layers.shortcut import IdentityShortcut
from svertka.models import fusion
from svertka.ops import relu as relu_op
from svertka.ops import softmax as softmax_op
from svertka.ops.conv import split_activation
from svertka.ops.shortcut import IdentityShortcut as ShortcutFn

MAX_PLANS = 16  # signatures kept per model (a model fed many image sizes keeps the first)
NO_PADS = ((0, 0), (0, 0))
UNIT = (1, 1)


class Stale(Exception):
    """A plan no longer fits its model: a weight changed shape or dtype."""


class Plans(dict):
    """A model's plans by signature. A copy of the model starts without any (its steps would
    run the original's layers)."""

    def __copy__(self):
        return Plans()

    def __deepcopy__(self, memo_):
        return Plans()

    def __reduce__(self):
        return Plans, ()


def signature(ts) -> tuple | None:
    """What a plan depends on in the inputs ``ts`` (Tensors); None where no plan runs
    (arrays not NumPy's)."""
    if not all(type(t.data) is np.ndarray for t in ts):
        return None
    return tuple((t.data.shape[1:], t.data.dtype) for t in ts), jit.enabled()


class Plan:
    """The steps of one signature; :meth:`run` maps input arrays to output arrays."""

    def __init__(self, inputs: list, steps: list, outputs: list):
        self.inputs, self.steps, self.outputs = inputs, steps, outputs

    def run(self, arrays: list) -> list:
        values = dict(zip(self.inputs, arrays))
        for step, drop in self.steps:
            step(values)
            for k in drop:  # arrays no later step reads
                values.pop(k, None)
        return [values[k] for k in self.outputs]


def _spec(layer, name: str):
    """What a step reads of a layer's weight ``name``: (layer, name, shape, dtype), or None
    for an absent one (a convolution without bias)."""
    t = getattr(layer, name)
    return None if t is None else (layer, name, t.data.shape, t.data.dtype)


def _read(spec):
    """The weight's array now, checked to be of the shape and dtype the plan was made for."""
    if spec is None:
        return None
    layer, name, shape, dtype = spec
    a = getattr(layer, name).data
    if a.shape != shape or a.dtype != dtype:
        raise Stale
    return a


def _read_all(specs) -> tuple:
    return tuple(_read(spec) for spec in specs)


class _Kept:
    """What a step derives from weights alone (folded filters, a Winograd transform), by
    :func:`svertka.kernels.memo.lookup`, whose entry the step keeps: a later call checks
    that entry itself (the same arrays holding the same bytes) without making its key."""

    __slots__ = ("specs", "state")

    def __init__(self, specs: list):
        self.specs = specs
        self.state = None  # (memo entry, extra, what get returns): one object, so that
        # threads running one plan at once read a consistent set

    def get(self, fn, extra: tuple = (), then=None) -> tuple:
        """``fn(*weights, *extra)`` as a tuple, and ``then`` (a transform) of its first
        array after it where given."""
        arrays = _read_all(self.specs)
        state = self.state
        if state is not None and state[1] == extra and state[0].holds(arrays):
            return state[2]
        result, entry = memo.lookup(fn, arrays, extra)
        out = result if isinstance(result, tuple) else (result,)
        if then is not None:
            out = (*out, memo.derived(then, (out[0],)))
        self.state = None if entry is None else (entry, extra, out)
        return out


TRANSFORMS = {"winograd4": winograd4, "winograd": winograd, "winograd-maxpool": winograd}


def _transform(method):
    """The filter transform of a Winograd ``method``, else None."""
    kind = TRANSFORMS.get(method)
    return None if kind is None else kind.filter_transform


def _convolve(x, w, b, strides, pads, dilation, relu, method, u, maxpool=False):
    """``conv2d_forward`` at inference; a Winograd method with the kept transform ``u``."""
    if method == "winograd4":
        return winograd4.forward(x, w, b, pads, relu, for_backward=False, u=u)[0]
    if method in ("winograd", "winograd-maxpool"):
        return winograd.forward(x, w, b, pads, relu, for_backward=False, maxpool=maxpool,
                                u=u)[0]
    return kconv.conv2d_forward(x, w, b, strides, pads, dilation, relu, for_backward=False,
                                maxpool=maxpool, method=method)[0]


def _simple(layer) -> bool:
    return getattr(layer, "activity_regularizer", None) is None


def _activation(fn):
    """A step's activation on arrays for a layer's ``_activation`` (None: none): ReLU and
    softmax by their kernels, as their ops run them; any other through its op."""
    if fn is None:
        return None
    if fn is relu_op:
        return ka.relu_forward
    if fn is softmax_op:
        return lambda y: ka.softmax_forward(y, y.ndim - 1)
    return lambda y: fn(Tensor(y)).data


def _conv_bn(node, bn, act, x):
    """The folded Conv2D -> BatchNormalization (-> ReLU) of ``fusion.conv_bn``."""
    conv, norm = node.layer, bn.layer
    k = conv.kernel.data
    if conv.groups != 1 or x.dtype != k.dtype or not _simple(conv):
        return None
    kh, kw = k.shape[:2]
    pads = resolve_padding(conv.padding, x.shape[1:3], (kh, kw), conv.strides,
                           conv.dilation_rate, op="conv2d")
    if conv.padding_mode != "zeros" and pads != NO_PADS:
        return None
    strides, dilation, relu = conv.strides, conv.dilation_rate, act is not None
    method = kconv.plan(x, k, strides, dilation, pads=pads)
    kept = _Kept([_spec(conv, "kernel"), _spec(conv, "bias"), _spec(norm, "gamma"),
                  _spec(norm, "beta"), _spec(norm, "moving_mean"),
                  _spec(norm, "moving_variance")])
    src, out = id(node.parents[0]), id(act if relu else bn)

    transform = _transform(method)

    def step(values):
        folded, bias, *u = kept.get(fusion.fold, (norm.epsilon,), transform)
        values[out] = _convolve(values[src], folded, bias, strides, pads, dilation, relu,
                                method, u[0] if u else None)

    return step, [out]


def _conv_maxpool(node, pool, x):
    """The fused Conv2D -> MaxPooling2D of ``fusion.conv_maxpool``."""
    conv = node.layer
    k = conv.kernel.data
    pads = fusion.maxpool_pads(conv, pool.layer, x.shape[1:3])
    if pads is None or conv.groups != 1 or x.dtype != k.dtype or not _simple(conv):
        return None
    relu, after = split_activation(conv._activation)
    method = kconv.plan(x, k, maxpool=True)
    if after is not None or method == "unfused":
        return None
    kernel, bias = _spec(conv, "kernel"), _spec(conv, "bias")
    transform = _transform(method)
    kept = None if transform is None else _Kept([kernel])
    src, out = id(node.parents[0]), id(pool)

    def step(values):
        w = _read(kernel)
        u = None if kept is None else kept.get(transform)[0]
        values[out] = _convolve(values[src], w, _read(bias), UNIT, pads, UNIT, relu, method, u,
                                maxpool=True)

    return step, [out]


def _add_relu(node, act, args):
    a, b = args
    if a.shape != b.shape or a.dtype != b.dtype:
        return None
    (pa, pb), out = (id(p) for p in node.parents), id(act)

    def step(values):
        values[out] = add_relu(values[pa], values[pb])

    return step, [out]


def _layer(node, x):
    """A plain node's step, for the layer classes of the module note."""
    layer, kind, src, out = node.layer, type(node.layer), id(node.parents[0]), id(node)
    if kind is not Flatten and x.dtype.kind != "f":  # their ops cast other dtypes first
        return None
    if kind is Dense:
        if x.ndim != 2:
            return None
        kernel, bias = _spec(layer, "kernel"), _spec(layer, "bias")
        act = _activation(layer._activation)
        w = layer.kernel.data
        if x.dtype != w.dtype or (layer.bias is not None and layer.bias.data.dtype != w.dtype):
            return None

        def step(values):
            v = values[src]
            if len(v) == 1:  # dense_forward's GEMM and bias, without its machinery
                y = v @ _read(kernel)
                if bias is not None:
                    y += _read(bias)
            else:
                y = dense_forward(v, _read(kernel), _read(bias))
            values[out] = y if act is None else act(y)

    elif kind is Flatten:

        def step(values):
            v = values[src]
            values[out] = v.reshape(v.shape[0], math.prod(v.shape[1:]))

    elif kind is GlobalAveragePooling2D and not layer.keepdims:

        def step(values):
            values[out] = global_pool2d_forward(values[src], "avg")[0]

    elif kind is IdentityShortcut:
        strides, channels = layer.strides, layer.filters
        lo = (channels - x.shape[3]) // 2

        def step(values):
            values[out] = ShortcutFn(strides, lo, channels).forward(values[src])

    elif kind is Activation or kind is ReLU:
        act = ka.relu_forward if kind is ReLU else _activation(layer._activation)
        act = act or (lambda v: v)

        def step(values):
            values[out] = act(values[src])

    else:
        return None
    return step, [out]


def _fallback(model, node, parents: list, fused: dict, folded: dict):
    """A node (or fused group) run as ``Model._run`` runs it, on Tensors."""
    ids = [id(p) for p in parents]

    def step(values):
        tensors = {k: None if values[k] is None else Tensor(values[k]) for k in ids}
        model._run_node(node, tensors, False, True, fused, folded)
        for k, t in tensors.items():
            if k not in ids:
                values[k] = None if t is None else t.data

    return step


def build(model, values: dict) -> Plan | None:
    """The plan of the inference run that gave ``values`` (``{id(node): Tensor}``, every
    node's output, None for one read by a fused group only); None where any value is not a
    NumPy array."""
    arrays = {k: None if v is None else v.data for k, v in values.items()}
    if not all(v is None or type(v) is np.ndarray for v in arrays.values()):
        return None
    fused, folded, pairs = model._fused, model._folded, model._relu_pairs
    done = {id(s) for s in model.inputs}
    steps, writes = [], []
    for node in model._nodes:
        if id(node) in done:
            continue
        args = [arrays.get(id(p)) for p in node.parents]
        made = None
        if any(a is None for a in args) or not _simple(node.layer):
            pass
        elif id(node) in folded:
            made = _conv_bn(node, *folded[id(node)], args[0])
        elif id(node) in pairs:
            if type(node.layer) is Add:
                made = _add_relu(node, pairs[id(node)], args)
        elif id(node) in fused and id(node) not in values:  # the pair ran fused
            made = _conv_maxpool(node, fused[id(node)], args[0])
        elif not (node.positional or node.call_kwargs or node.many or node.index is not None):
            made = _layer(node, args[0])
        group = _group(node, fused if id(node) not in values else {}, folded, pairs)
        if made is None:
            made = _fallback(model, node, node.parents, fused, folded), group
        steps.append(made[0])
        writes.append((group, [id(p) for p in node.parents]))
        done.update(group)
    outputs = [id(o) for o in model.outputs]
    return Plan([id(s) for s in model.inputs], list(zip(steps, _drops(writes, outputs))),
                outputs)


def _group(node, fused, folded, pairs) -> list:
    """The ids a node's step may write: its own and its fused followers'."""
    ids = [id(node)]
    if id(node) in folded:
        bn, act = folded[id(node)]
        ids += [id(bn)] + ([id(act)] if act is not None else [])
    elif id(node) in pairs:
        ids.append(id(pairs[id(node)]))
    elif id(node) in fused:
        ids.append(id(fused[id(node)]))
    if node.index is not None:
        ids += [id(s) for s in node.siblings]
    return ids


def _drops(writes: list, outputs: list) -> list:
    """For each step, the ids no later step reads (and no output is): freed after it."""
    last = {}
    for i, (_, reads) in enumerate(writes):
        for k in reads:
            last[k] = i
    keep = set(outputs)
    drops = [[] for _ in writes]
    for k, i in last.items():
        if k not in keep:
            drops[i].append(k)
    return drops
