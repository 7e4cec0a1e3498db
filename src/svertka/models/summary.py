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

from svertka.ops.shapes import receptive_field_step, window_remainder


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def field_geometry(model) -> dict:
    """``{id(node): ((size_h, size_w), (jump_h, jump_w), (start_h, start_w)) or None}``: the
    receptive field of one output position, the input pixels between neighbouring positions,
    and the input row/column where the field of position 0 begins (negative inside the
    padding); None means the whole image (after a Flatten or Dense)."""
    fields = {id(t): ((1, 1), (1, 1), (0, 0)) for t in model.inputs}
    for node in model._nodes:
        parents = [fields[id(p)] for p in node.parents]
        if any(p is None for p in parents) or len(node.shape) != 4:
            fields[id(node)] = None
            continue
        size = tuple(max(p[0][a] for p in parents) for a in range(2))
        jump = tuple(max(p[1][a] for p in parents) for a in range(2))
        start = tuple(min(p[2][a] for p in parents) for a in range(2))
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


def tiling_notes(model) -> list[str]:
    """A sentence for every window layer that never sees some pixels of its input: the last
    rows/columns, or the gaps between windows when a window is narrower than its stride."""
    notes = []
    for node in model._nodes:
        window = node.layer.window()
        if window is None or len(node.parents) != 1 or len(node.parents[0].shape) != 4:
            continue
        kernel, strides, dilation, pads = window
        _, height, width, _ = node.parents[0].shape
        if height is None or width is None:
            continue
        ph, pw = height + sum(pads[0]), width + sum(pads[1])
        rows = window_remainder(height, kernel[0], strides[0], dilation[0], sum(pads[0]))
        cols = window_remainder(width, kernel[1], strides[1], dilation[1], sum(pads[1]))
        seen_h = _covered(ph, kernel[0], strides[0], dilation[0])
        seen_w = _covered(pw, kernel[1], strides[1], dilation[1])
        unseen_h, unseen_w = seen_h.count(False), seen_w.count(False)
        if not (unseen_h or unseen_w):
            continue
        dropped = ph * pw - (ph - unseen_h) * (pw - unseen_w)
        where = f"the {kernel[0]}x{kernel[1]} window with stride {strides[0]}x{strides[1]}"
        if (unseen_h, unseen_w) == (rows, cols):  # only the last rows/columns are missed
            notes.append(
                f"{node.layer.name}: {where} does not tile its {ph}x{pw} (padded) input: the "
                f"last {rows} row(s) and {cols} column(s) are never seen, {dropped} pixels per "
                f"channel dropped")
        else:
            notes.append(
                f"{node.layer.name}: {where} skips pixels between windows of its {ph}x{pw} "
                f"(padded) input: {unseen_h} row(s) and {unseen_w} column(s) are never seen, "
                f"{dropped} pixels per channel dropped")
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


def summary_text(model, flops: bool = False) -> str:
    """The summary table as one string; ``flops`` adds the MACs column."""
    fields = receptive_fields(model)
    rows = []
    for node in model._nodes:
        rf = fields[id(node)]
        field = "whole input" if rf is None else (
            f"{rf[0][0]}x{rf[0][1]} (jump {rf[1][0]})" if rf[1][0] == rf[1][1]
            else f"{rf[0][0]}x{rf[0][1]} (jump {rf[1][0]}x{rf[1][1]})")
        layer = node.layer
        row = (f"{layer.name} ({type(layer).__name__})", _fmt_shape(node.shape),
               f"{layer.count_params():,}", field)
        if flops:
            macs = multiply_accumulates(node)
            row = (*row[:3], f"{macs:,}" if macs else "", *row[3:])
        rows.append(row)
    if not model._nodes:  # an unbuilt Sequential: its layers, as Keras lists them
        rows = [(f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)",
                 *(("",) if flops else ()), "?") for layer in getattr(model, "layers", [])]
    header = ("Layer (type)", "Output Shape", "Param #", "Receptive field")
    if flops:
        header = (*header[:3], "MACs", *header[3:])
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
