"""Parameter counts and receptive fields of a model, layer by layer, with the working shown.

The parameter count of a convolution is the notes' ``((2d+1)^2 * C + 1) * T`` (SPEC §2): a
(2d+1)x(2d+1) kernel over C input channels plus one bias, for each of T filters. The
receptive field grows at every window layer by ``D*(K-1) * jump`` and the jump by the stride
(SPEC §8); the values come from ``svertka.models.summary.receptive_fields``.

>>> print(explain_params(kernel=3, channels=1, filters=32).text())
conv 3x3, 1 -> 32: ((2d+1)^2 * C + 1) * T = ((2*1+1)^2 * 1 + 1) * 32 = 320
>>> print(explain_receptive_field([3, 3, 3]).text())
layer 1: kernel 3, stride 1, dilation 1: size = 1 + (3-1)*1 = 3, jump = 1*1 = 1 -> 3x3
layer 2: kernel 3, stride 1, dilation 1: size = 3 + (3-1)*1 = 5, jump = 1*1 = 1 -> 5x5
layer 3: kernel 3, stride 1, dilation 1: size = 5 + (3-1)*1 = 7, jump = 1*1 = 1 -> 7x7
"""

from __future__ import annotations

from dataclasses import dataclass

from svertka.checks import positive_int
from svertka.kernels.shapes import effective_kernel, receptive_field_step


def conv_params_text(kh: int, kw: int, c: int, t: int, bias: bool = True) -> tuple[str, int]:
    """The working of a convolution's parameter count, and the count."""
    b = 1 if bias else 0
    count = (kh * kw * c + b) * t
    if kh == kw and kh % 2 == 1 and bias:
        d = (kh - 1) // 2
        return (f"((2d+1)^2 * C + 1) * T = ((2*{d}+1)^2 * {c} + 1) * {t} = {count:,}", count)
    plus = " + 1" if bias else ""
    return f"(KH*KW * C{plus}) * T = ({kh}*{kw} * {c}{plus}) * {t} = {count:,}", count


@dataclass(frozen=True)
class ParamsReport:
    """Each layer's parameter count with its formula, and the total."""

    rows: tuple[tuple[str, str, int], ...]  # (layer, working, count)
    total: int | None  # None for a single layer

    def text(self) -> str:
        width = max(len(name) for name, _, _ in self.rows)
        lines = [f"{name.ljust(width)}: {work}" if self.total is not None else f"{name}: {work}"
                 for name, work, _ in self.rows]
        if self.total is not None:
            lines.append(f"Total params: {self.total:,}")
        return "\n".join(lines)


def _layer_params(layer) -> tuple[str, int]:
    """One layer's working: the notes' formula for convolutions, (in + 1) * out for dense
    layers, and the weights' shapes for the rest."""
    shapes = [tuple(w.shape) for w in layer.weights]
    count = layer.count_params()
    kind = type(layer).__name__
    groups = getattr(layer, "groups", 1) or 1
    if kind == "Conv2D" and shapes and len(shapes[0]) == 4 and groups == 1:
        kh, kw, c, t = shapes[0]
        work, n = conv_params_text(kh, kw, c, t, bias=len(shapes) > 1)
        if n == count:
            return work, count
    if kind == "Dense" and shapes and len(shapes[0]) == 2:
        i, o = shapes[0]
        plus = " + 1" if len(shapes) > 1 else ""
        if (i + (1 if plus else 0)) * o == count:
            return f"(inputs{plus}) * units = ({i}{plus}) * {o} = {count:,}", count
    if not shapes:
        return "no parameters", 0
    return (" + ".join("x".join(map(str, s)) for s in shapes) + f" = {count:,}", count)


def explain_params(model=None, kernel: int | None = None, channels: int | None = None,
                   filters: int | None = None) -> ParamsReport:
    """Parameter counts: of every layer of ``model`` (a model or a zoo name such as
    ``'notes'``), or of one convolution given by ``kernel``, ``channels`` (C) and
    ``filters`` (T)."""
    op = "explain_params"
    if model is None:
        if None in (kernel, channels, filters):
            raise ValueError(f"{op}: give a model, or all of kernel, channels and filters; "
                             f"received kernel={kernel!r}, channels={channels!r}, "
                             f"filters={filters!r}")
        k, c, t = (positive_int(op, a, v) for a, v in
                   (("kernel", kernel), ("channels", channels), ("filters", filters)))
        work, count = conv_params_text(k, k, c, t)
        return ParamsReport(((f"conv {k}x{k}, {c} -> {t}", work, count),), None)
    model = _model(model, op)
    rows = []
    for node in model._nodes:
        work, count = _layer_params(node.layer)
        rows.append((node.layer.name, work, count))
    total = sum(r[2] for r in rows)
    assert total == model.count_params(), "a layer's working does not add up to the model's"
    return ParamsReport(tuple(rows), total)


def _model(model, op: str):
    if isinstance(model, str):
        from svertka import zoo

        if model not in zoo.ARCHITECTURES:
            raise ValueError(f"{op}: argument 'model' must be a model or one of "
                             f"{sorted(zoo.ARCHITECTURES)}, received {model!r}")
        return zoo.get(model)
    if not hasattr(model, "_nodes"):
        raise TypeError(f"{op}: argument 'model' must be a svertka model or a zoo name, "
                        f"received {type(model).__name__}")
    return model


@dataclass(frozen=True)
class FieldReport:
    """The receptive field after each layer, with the step that grows it."""

    rows: tuple[tuple[str, str, tuple[int, int] | None], ...]  # (layer, working, field)

    def text(self) -> str:
        out = []
        for name, work, field in self.rows:
            size = "the whole image" if field is None else f"{field[0]}x{field[1]}"
            out.append(f"{name}: {work} -> {size}" if work else f"{name}: {size}")
        return "\n".join(out)

    @property
    def sizes(self) -> list:
        return [f for _, _, f in self.rows]


def _step_text(size: int, jump: int, k: int, s: int, d: int) -> str:
    span = effective_kernel(k, d)
    new_size, new_jump = receptive_field_step(size, jump, k, s, d)
    grow = f"({k}-1)" if d == 1 else f"({span}-1)"
    return f"size = {size} + {grow}*{jump} = {new_size}, jump = {jump}*{s} = {new_jump}"


def explain_receptive_field(model) -> FieldReport:
    """Receptive field layer by layer, of a model (or a zoo name), or of a stack of windows
    given as a list of ``kernel`` or ``(kernel, stride[, dilation])``: ``[3, 3, 3]`` gives
    the notes' 3x3, 5x5, 7x7 (SPEC §8)."""
    op = "explain_receptive_field"
    if isinstance(model, (list, tuple)):
        rows, size, jump = [], 1, 1
        for n, spec in enumerate(model, 1):
            spec = tuple(spec) if isinstance(spec, (list, tuple)) else (spec,)
            if not 1 <= len(spec) <= 3:
                raise ValueError(f"{op}: each window must be kernel or (kernel, stride[, "
                                 f"dilation]), received {spec!r}")
            k, s, d = (spec + (1, 1))[:3]
            k, s, d = (positive_int(op, a, v) for a, v in (("kernel", k), ("stride", s),
                                                           ("dilation", d)))
            work = f"kernel {k}, stride {s}, dilation {d}: {_step_text(size, jump, k, s, d)}"
            size, jump = receptive_field_step(size, jump, k, s, d)
            rows.append((f"layer {n}", work, (size, size)))
        if not rows:
            raise ValueError(f"{op}: argument 'model' must hold at least one window, received []")
        return FieldReport(tuple(rows))
    from svertka.models.summary import receptive_fields

    model = _model(model, op)
    fields = receptive_fields(model)
    rows = []
    for node in model._nodes:
        field = fields[id(node)]
        window = node.layer.window()
        parents = [fields.get(id(p)) for p in node.parents]
        work = ""
        if window is not None and field is not None and len(parents) == 1:
            (size, jump) = parents[0]
            kernel, strides, dilation, _ = window
            steps = [_step_text(size[a], jump[a], kernel[a], strides[a], dilation[a])
                     for a in range(2)]
            work = steps[0] if steps[0] == steps[1] else f"height {steps[0]}; width {steps[1]}"
        elif field is not None and len(parents) > 1:
            work = "the largest field of its inputs"
        rows.append((node.layer.name, work, None if field is None else field[0]))
    return FieldReport(tuple(rows))


__all__ = ["FieldReport", "ParamsReport", "conv_params_text", "explain_params",
           "explain_receptive_field"]
