"""``model.summary()``: Keras's table plus a receptive-field column and tiling warnings.

Receptive field of a layer = how many input pixels (height x width) one of its output neurons
can see, with the jump (distance in input pixels between neighbouring neurons). It grows with
every window layer (SPEC §8): ``size += (D*(K-1)) * jump; jump *= S``. Merges take the largest
field of their inputs; layers without spatial output (Flatten, Dense, global pooling) see the
whole image. Under the table, one line for every layer whose window does not tile its input.

``flops=True`` adds the multiply-accumulates (MACs) per image of each layer, so a reader sees
where the cost is: a layer's weight matrices are applied once per output position
(``OH * OW * KH * KW * C_in / groups * C_out`` for a convolution, ``in * out`` for a dense
layer); a layer can say otherwise with a ``macs(input_shape, output_shape)`` method (the
transposed convolution, applied once per input position). Element-wise layers, pooling and
normalisation are not counted: their cost is memory traffic, not arithmetic.
"""

from __future__ import annotations

import math
import re

from svertka.ops.shapes import receptive_field_step


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def field_geometry(model) -> dict:
    """``{id(node): ((size_h, size_w), (jump_h, jump_w), (start_h, start_w)) or None}``: the
    receptive field of one output position, the input pixels between neighbouring positions,
    and the input row/column where the field of position 0 begins (negative inside the
    padding); None means the whole image (after a Flatten or Dense).

    >>> import svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.ZeroPadding2D(2),
    ...                       keras.layers.Conv2D(1, 5), keras.layers.Cropping2D(1)])
    >>> [field_geometry(m)[id(n)] for n in m._nodes]
    [((1, 1), (1, 1), (-2, -2)), ((5, 5), (1, 1), (-2, -2)), ((5, 5), (1, 1), (-1, -1))]
    """
    fields = {id(t): ((1, 1), (1, 1), (0, 0)) for t in model.inputs}
    for node in model._nodes:
        parents = [fields[id(p)] for p in node.parents]
        if any(p is None for p in parents) or len(node.shape) != 4:
            fields[id(node)] = None
            continue
        size = tuple(max(p[0][a] for p in parents) for a in range(2))
        jump = tuple(max(p[1][a] for p in parents) for a in range(2))
        start = tuple(min(p[2][a] for p in parents) for a in range(2))
        offset = getattr(node.layer, "field_offset", None)
        if offset is not None:  # ZeroPadding2D, Cropping2D: the same field, moved
            start = tuple(start[a] + offset()[a] * jump[a] for a in range(2))
        window = node.layer.window()
        if window is not None:
            kernel, strides, dilation, pads = window
            start = tuple(start[a] - pads[a][0] * jump[a] for a in range(2))
            steps = [receptive_field_step(size[a], jump[a], kernel[a], strides[a], dilation[a])
                     for a in range(2)]
            size, jump = (steps[0][0], steps[1][0]), (steps[0][1], steps[1][1])
        fields[id(node)] = (size, jump, start)
    return fields


def receptive_fields(model) -> dict:
    """``{id(node): ((size_h, size_w), (jump_h, jump_w)) or None}``; None means the whole image."""
    return {k: None if v is None else v[:2] for k, v in field_geometry(model).items()}


def _covered(size: int, kernel: int, stride: int, dilation: int) -> list[bool]:
    """Which of ``size`` (padded) positions some window's taps reach."""
    seen = [False] * size
    start = 0
    while start + dilation * (kernel - 1) < size:
        for tap in range(kernel):
            seen[start + tap * dilation] = True
        start += stride
    return seen


def unseen_pixels(size: int, kernel: int, stride: int, dilation: int,
                  pads: tuple[int, int]) -> list[int]:
    """The input positions along one axis (0-based, padding excluded) that no window's taps
    read: the last ones when the windows stop short, the gaps when a window is narrower than
    its stride or dilated. Padded positions never count: they are not the input's.

    >>> unseen_pixels(8, 1, 2, 1, (0, 0))     # a 1x1 window with stride 2: every other pixel
    [1, 3, 5, 7]
    >>> unseen_pixels(7, 3, 3, 1, (0, 1))     # windows 0-2 and 3-5 of the padded 8
    [6]
    """
    seen = _covered(size + pads[0] + pads[1], kernel, stride, dilation)[pads[0]:pads[0] + size]
    return [i for i, s in enumerate(seen) if not s]


def tiling_notes(model) -> list[str]:
    """A sentence for every window layer that never reads some pixels of its input: the last
    rows/columns, or the gaps between windows when a window is narrower than its stride. The
    count is exact: the input pixels (per channel) that no output position reads."""
    notes = []
    for node in model._nodes:
        window = node.layer.window()
        if window is None or len(node.parents) != 1 or len(node.parents[0].shape) != 4:
            continue
        kernel, strides, dilation, pads = window
        _, height, width, _ = node.parents[0].shape
        if height is None or width is None:
            continue
        rows = unseen_pixels(height, kernel[0], strides[0], dilation[0], pads[0])
        cols = unseen_pixels(width, kernel[1], strides[1], dilation[1], pads[1])
        if not (rows or cols):
            continue
        dropped = height * width - (height - len(rows)) * (width - len(cols))
        where = f"the {kernel[0]}x{kernel[1]} window with stride {strides[0]}x{strides[1]}"
        if tuple(dilation) != (1, 1):
            where += f" and dilation {dilation[0]}x{dilation[1]}"
        ph, pw = height + sum(pads[0]), width + sum(pads[1])
        size = f"{height}x{width} input" + (f" (padded to {ph}x{pw})" if (ph, pw) != (
            height, width) else "")
        tail = (rows == list(range(height - len(rows), height))
                and cols == list(range(width - len(cols), width)))
        if tail:  # only the last rows/columns are missed
            notes.append(
                f"{node.layer.name}: {where} does not tile its {size}: the last {len(rows)} "
                f"row(s) and {len(cols)} column(s) are never seen, {dropped} pixels per "
                f"channel dropped")
        else:
            notes.append(
                f"{node.layer.name}: {where} skips pixels between windows of its {size}: "
                f"{len(rows)} row(s) and {len(cols)} column(s) are never seen, {dropped} "
                f"pixels per channel dropped")
    return notes


def multiply_accumulates(node) -> int:
    """Multiply-accumulates per image of the layer that made ``node`` (see the module)."""
    layer = node.layer
    inputs = [p.shape for p in node.parents]
    custom = getattr(layer, "macs", None)
    if callable(custom):
        return int(custom(inputs if node.many else inputs[0], node.shape))
    matrices = sum(int(w.size) for w in layer.weights if w.ndim >= 2)
    if not matrices or isinstance(node.shape, list):
        return 0
    return math.prod(d or 1 for d in node.shape[1:-1]) * matrices


def _trainable_mark(layer) -> str:
    """Keras's "Trainable" column: Y or N for a layer with weights, "-" for one without."""
    if not getattr(layer, "weights", None):
        return "-"
    return "Y" if getattr(layer, "trainable", True) else "N"


def _layer_bounds(owner: str, layers: list, layer_range) -> tuple[int, int]:
    """``[first, last + 1)`` of the layers ``layer_range`` names, as Keras finds them: the
    first layer whose name matches (``re.match``) ``layer_range[0]``, the last matching
    ``layer_range[1]``."""
    if layer_range is None:
        return 0, len(layers)
    if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
            or not all(isinstance(n, str) for n in layer_range)):
        raise ValueError(f"{owner}: argument 'layer_range' must be a list or tuple of two layer "
                         f"names (regular expressions), received {layer_range!r}")
    lower = [i for i, la in enumerate(layers) if re.match(layer_range[0], la.name)]
    upper = [i for i, la in enumerate(layers) if re.match(layer_range[1], la.name)]
    if not lower or not upper:
        raise ValueError(f"{owner}: argument 'layer_range' {list(layer_range)} matches no layer "
                         f"name at one end; layers are {[la.name for la in layers]}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _nested_rows(layer, level: int, flops: bool, show_trainable: bool) -> list[tuple]:
    """Rows for the layers inside ``layer`` (a model used as a layer), indented as Keras's
    ``expand_nested`` does, and for theirs in turn."""
    rows = []
    inner_nodes = getattr(layer, "_nodes", None)
    if inner_nodes:
        items = [(n.layer, _fmt_shape(n.shape)) for n in inner_nodes]
    else:
        items = [(sub, "?") for sub in getattr(layer, "layers", None) or []]
    prefix = "   " * level + "\u2514 "
    for sub, shape in items:
        row = (f"{prefix}{sub.name} ({type(sub).__name__})", shape, f"{sub.count_params():,}",
               *(("",) if flops else ()), "")
        if show_trainable:
            row = (*row, _trainable_mark(sub))
        rows.append(row)
        if getattr(sub, "layers", None):
            rows += _nested_rows(sub, level + 1, flops, show_trainable)
    return rows


def summary_text(model, flops: bool = False, show_trainable: bool = False,
                 expand_nested: bool = False, layer_range=None) -> str:
    """The summary table as one string.

    ``flops`` adds the MACs column; ``show_trainable`` Keras's "Trainable" column (Y, N, or
    "-" for a layer without weights); ``expand_nested`` lists the layers of a model used as a
    layer under it, indented; ``layer_range=("first", "last")`` keeps the rows from the first
    layer whose name matches ``first`` to the last matching ``last`` (regular expressions,
    both ends included, as Keras). The parameter totals always count the whole model.

    >>> import svertka
    >>> from svertka.layers import Conv2D, Dense, Flatten
    >>> model = svertka.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1), name="c"),
    ...                             Flatten(name="f"), Dense(3, name="d")])
    >>> model.layers[0].trainable = False
    >>> for line in summary_text(model, show_trainable=True).splitlines()[4:7]:
    ...     print(line.split()[0], line.split()[-1])
    c N
    f -
    d Y
    """
    owner = f"{model.name}.summary"
    fields = receptive_fields(model)
    layers = list(getattr(model, "layers", []))
    first, last = _layer_bounds(owner, layers, layer_range)
    shown = {id(layer) for layer in layers[first:last]}
    rows = []
    for node in model._nodes:
        layer = node.layer
        if id(layer) not in shown:
            continue
        rf = fields[id(node)]
        field = "whole input" if rf is None else (
            f"{rf[0][0]}x{rf[0][1]} (jump {rf[1][0]})" if rf[1][0] == rf[1][1]
            else f"{rf[0][0]}x{rf[0][1]} (jump {rf[1][0]}x{rf[1][1]})")
        row = (f"{layer.name} ({type(layer).__name__})", _fmt_shape(node.shape),
               f"{layer.count_params():,}", field)
        if flops:
            macs = multiply_accumulates(node)
            row = (*row[:3], f"{macs:,}" if macs else "", *row[3:])
        if show_trainable:
            row = (*row, _trainable_mark(layer))
        rows.append(row)
        if expand_nested and getattr(layer, "layers", None):
            rows += _nested_rows(layer, 1, flops, show_trainable)
    if not model._nodes:  # an unbuilt Sequential or a subclassed model: its layers, as Keras
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 _fmt_shape(layer.output_shape) if layer.built and layer.output_shape else "?",
                 f"{layer.count_params():,}" if layer.built else "0 (unbuilt)",
                 *(("",) if flops else ()), "?",
                 *((_trainable_mark(layer),) if show_trainable else ()))
                for layer in layers[first:last]]
    header = ("Layer (type)", "Output Shape", "Param #", "Receptive field")
    if flops:
        header = (*header[:3], "MACs", *header[3:])
    if show_trainable:
        header = (*header, "Trainable")
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) + 3 for i in range(len(header))]
    right = {2, 3} if flops else {2}

    def line(cells):
        return "".join(c.ljust(widths[i]) if i not in right else c.rjust(widths[i] - 3) + "   "
                       for i, c in enumerate(cells)).rstrip()

    rule = "=" * (sum(widths) - 3)
    trainable = sum(int(w.size) for w in model.trainable_weights)
    total = model.count_params()
    out = [f'Model: "{model.name}"', rule, line(header), rule]
    out += [line(r) for r in rows]
    out += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}"]
    if flops:
        macs = sum(multiply_accumulates(node) for node in model._nodes)
        short = f"{macs / 1e9:.2f} G" if macs >= 1e9 else f"{macs / 1e6:.1f} M"
        out.append(f"Multiply-accumulates per image: {macs:,} ({short})")
    notes = tiling_notes(model)
    if notes:
        out += ["", "Windows that do not tile their input:"] + [f"  {n}" for n in notes]
    return "\n".join(out)
