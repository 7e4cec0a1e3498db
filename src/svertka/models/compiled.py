"""What ``compile`` makes of ``loss``, ``loss_weights``, ``metrics`` and ``weighted_metrics``
for a model of one output or several, by Keras 3's rules:

- ``loss``: one loss (applied to every output), a list with one per output, or a dict keyed
  by output name (an output left out, or given None, has no loss); None when the model's
  ``add_loss`` terms are the whole loss.
- ``loss_weights``: a float, a list or a dict like ``loss``; the total is the weighted sum.
- ``metrics``/``weighted_metrics``: for one output, a list; for several, a list with one entry
  per output (a metric or a list of them) or a dict keyed by output name. The logs name them
  ``<output>_<metric>`` (and ``<output>_loss`` for each output's loss) when there are several.
- ``weighted_metrics`` are updated with the sample weights, ``metrics`` without.

>>> import numpy as np, svertka
>>> from svertka.layers import Dense, Input
>>> x = Input((3,))
>>> m = svertka.Model(x, [Dense(2, name="a")(x), Dense(1, name="b")(x)])
>>> m.compile("sgd", loss={"a": "mse", "b": "mae"}, loss_weights={"a": 1.0, "b": 0.5},
...           metrics={"b": ["mae"]})
>>> sorted(m.evaluate(np.ones((4, 3)), [np.ones((4, 2)), np.ones((4, 1))], verbose=0,
...                   return_dict=True))
['a_loss', 'b_loss', 'b_mae', 'loss']
"""

from __future__ import annotations

import numbers

import numpy as np

from svertka import losses, metrics, ops
from svertka.autograd import Tensor
from svertka.backend import to_numpy


def output_names(model) -> list[str]:
    """The names Keras gives the model's outputs: the keys of a dict of outputs, else the name
    of the layer that makes each output (one name, "output", for a model without a graph)."""
    names = getattr(model, "_output_keys", None)
    if names:
        return list(names)
    outputs = getattr(model, "outputs", None) or []
    if not outputs:
        return ["output"]
    return [o.layer.name if getattr(o, "layer", None) is not None else f"output_{i}"
            for i, o in enumerate(outputs)]


def as_list(where: str, arg: str, value, names: list[str], allow_none: bool = True) -> list:
    """One entry per output from a single value, a list or a dict keyed by output name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{where}: argument '{arg}' names outputs {unknown} that the model "
                             f"does not have; its outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{where}: argument '{arg}' must have one entry per output "
                             f"({n}: {names}), received {len(value)}")
        return list(value)
    return [value] * n


def per_sample(fn):
    """What computes ``fn`` sample by sample, so that sample weights can weigh it: a loss
    object as it is, the class of a built-in function (``losses.FUNCTION_CLASSES``), or None
    for a custom function (its own values must then be per sample). Resolved once, at
    compile."""
    if fn is None or isinstance(fn, losses.Loss):
        return fn
    cls = losses.FUNCTION_CLASSES.get(fn)
    return cls() if cls is not None else None


def weighted_loss(where: str, fn, y_true, y_pred: Tensor, sample_weight, weighable=None):
    """The scalar loss of one output: ``fn(y_true, y_pred)`` averaged over the batch, each
    sample weighing its ``sample_weight`` (Keras's ``sum_over_batch_size``: the weighted sum
    over the number of values) through ``weighable`` (``per_sample(fn)``)."""
    if sample_weight is None:
        value = fn(y_true, y_pred)
        if isinstance(value, Tensor) and value.ndim:  # one loss per sample, as Keras's guides
            value = ops.mean(value)
        return value
    if fn is losses.softmax_cross_entropy:  # logits, with labels of either form
        same = np.ndim(y_true) == len(y_pred.shape) and np.shape(y_true)[-1] == y_pred.shape[-1]
        cls = losses.CategoricalCrossentropy if same else losses.SparseCategoricalCrossentropy
        weighable = cls(from_logits=True)
    if weighable is not None:
        return weighable(y_true, y_pred, sample_weight=sample_weight)
    value = fn(y_true, y_pred)
    if not (isinstance(value, Tensor) and value.ndim):
        raise ValueError(f"{where}: sample weights need a loss that returns one value per "
                         f"sample; the loss {getattr(fn, '__name__', fn)!r} returned a scalar "
                         f"(return the per-sample values, or subclass svertka.losses.Loss)")
    from svertka.losses.base import _weighted_reduce

    return _weighted_reduce(where, value, sample_weight, None, "sum_over_batch_size")


class CompiledLoss:
    """The per-output losses and weights of ``compile``; ``__call__`` gives the weighted total
    and each output's term."""

    def __init__(self, where: str, loss, loss_weights, names: list[str]):
        self.where = where
        if loss_weights is not None and not isinstance(
                loss_weights, (numbers.Real, list, tuple, dict)):
            raise TypeError(f"{where}: argument 'loss_weights' must be a float, a list or a "
                            f"dict, received {type(loss_weights).__name__}")
        self.names = list(names)
        self.fns = [losses.get(f) for f in as_list(where, "loss", loss, self.names)]
        weights = as_list(where, "loss_weights", loss_weights, self.names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.terms = [i for i, f in enumerate(self.fns) if f is not None]
        self.weighable = [per_sample(f) for f in self.fns]

    @property
    def log_names(self) -> list[str]:
        """``<output>_loss`` for each output with a loss, when there are several."""
        return [f"{self.names[i]}_loss" for i in self.terms] if len(self.terms) > 1 else []

    def __call__(self, ys, outs, sample_weight) -> tuple[Tensor | None, list[float]]:
        total, parts = None, []
        for i in self.terms:
            if ys is None or ys[i] is None:
                raise ValueError(f"{self.where}: the output {self.names[i]!r} has a loss but "
                                 f"no targets were given for it")
            sw = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
            term = weighted_loss(self.where, self.fns[i], ys[i], outs[i], sw,
                                 self.weighable[i])
            parts.append(term)
            weighted = term if self.weights[i] == 1.0 else term * self.weights[i]
            total = weighted if total is None else total + weighted
        return total, parts


class CompiledMetrics:
    """The metric objects of ``compile``, each tied to one output, with their log names."""

    def __init__(self, where: str, user_metrics, weighted, names: list[str], fns: list):
        self.entries: list[tuple[int, object, bool]] = []  # (output index, metric, weighted)
        for group, is_weighted in ((user_metrics, False), (weighted, True)):
            if group is None:
                continue
            if not isinstance(group, (list, tuple, dict)):
                arg = "weighted_metrics" if is_weighted else "metrics"
                raise TypeError(f"{where}: argument '{arg}' must be a list of names or "
                                f"metrics (or a dict keyed by output name), received {group!r}")
            if len(names) == 1 and not isinstance(group, dict):
                per_output = [list(group)]
            else:
                arg = "weighted_metrics" if is_weighted else "metrics"
                per_output = as_list(where, arg, group, names)
            for i, items in enumerate(per_output):
                if items is None:
                    continue
                for m in items if isinstance(items, (list, tuple)) else [items]:
                    self.entries.append((i, m, is_weighted))
        self.objects = [metrics.get(m, loss=fns[i] if fns[i] is not None else None)
                        for i, m, _ in self.entries]
        self.log_names = self._log_names(names)

    def _log_names(self, names: list[str]) -> list[str]:
        """Keras's names: the metric's, prefixed with the output's for several outputs; a
        repeated name gets ``_1``, ``_2`` (a weighted copy ``weighted_<name>`` first)."""
        seen: dict[str, int] = {}
        out = []
        for (i, _, is_weighted), m in zip(self.entries, self.objects):
            prefix = f"{names[i]}_" if len(names) > 1 else ""
            name = prefix + m.name
            if name in seen and is_weighted:
                name = f"{prefix}weighted_{m.name}"
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name] - 1}"
            else:
                seen[name] = 1
            out.append(name)
        return out

    def update(self, ys, outs, sample_weight) -> None:
        used = {i for i, _, _ in self.entries}  # outputs no metric reads are not copied
        arrays = {i: to_numpy(outs[i].data) for i in used}
        for (i, _, is_weighted), m in zip(self.entries, self.objects):
            if is_weighted and sample_weight is not None:
                sw = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
                m.update_state(ys[i], arrays[i], sample_weight=sw)
            else:
                m.update_state(ys[i], arrays[i])
