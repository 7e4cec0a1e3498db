"""The notes' arithmetic with its working shown: convolution, padding and pooling.

Each ``explain_*`` function computes its answer with svertka's own ops (``ops.conv2d``,
``ops.pad``, ``ops.max_pool2d`` ...) and writes out the working (every output cell's sum of
products, every window) from the padded input; the report keeps both, and ``agrees`` says
that the working gives the op's numbers. ``.text()`` is what ``svertka explain`` prints.

>>> print(explain_conv("1 2; 3 4", "1 0; 0 1").text())
input 2x2, kernel 2x2, stride 1, padding 0+0 / 0+0 (zeros), dilation 1 -> output 1x1
y[0,0] = 1*1 + 2*0 + 3*0 + 4*1 = 5
output (svertka.ops.conv2d):
  5
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from svertka import ops
from svertka.kernels.pad import MODES
from svertka.kernels.shapes import pair, resolve_padding

# The notes' names for the fills (SPEC §2), and which svertka mode each one is.
PAD_ALIASES = {
    "mirror": ("symmetric", "the notes' 'mirror' (BA[ABC]CB, the edge pixel repeats) is "
                            "svertka's 'symmetric'; PyTorch's 'reflect' (CB[ABC]BA) does not "
                            "repeat the edge"),
    "cyclic": ("circular", "the notes' 'cyclic' (BC[ABC]AB) is svertka's 'circular'"),
    "zero": ("zeros", "the notes' 'zero' is svertka's 'zeros'"),
    "border": ("replicate", "the notes' 'border extension' (AA[ABC]CC) is svertka's "
                            "'replicate'"),
}
POOL_MODES = ("max", "avg", "min", "sum")
_POOL_ALIASES = {"average": "avg", "mean": "avg"}
_POOL_OPS = {"max": ops.max_pool2d, "avg": ops.avg_pool2d, "min": ops.min_pool2d,
             "sum": ops.sum_pool2d}


def number(v) -> str:
    """An integer-valued number without '.0', others with up to 6 significant digits."""
    v = float(v)
    return str(int(v)) if v == int(v) else f"{v:.6g}"


def grid(a: np.ndarray, indent: str = "  ") -> str:
    """A 2-D array as right-aligned rows."""
    cells = [[number(v) for v in row] for row in np.atleast_2d(a)]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(indent + " ".join(c.rjust(width) for c in row) for row in cells)


def parse_matrix(value, op: str, arg: str, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """A matrix from ``"1 2 3; 4 5 6"`` (rows split by ';', values by spaces or commas), a
    nested list or an array, as float64."""
    if isinstance(value, str):
        rows = [r for r in value.split(";") if r.strip()]
        try:
            values = [[float(t) for t in re.split(r"[\s,]+", r.strip())] for r in rows]
        except ValueError:
            raise ValueError(f"{op}: argument '{arg}' must be numbers, rows separated by ';' "
                             f"(e.g. '1 2; 3 4'), received {value!r}") from None
        if len(rows) == 1 and 1 in ndim:
            values = values[0]
    else:
        values = value
    try:
        a = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueError(f"{op}: argument '{arg}' must be a rectangular matrix of numbers, "
                         f"received {value!r}") from None
    if a.ndim not in ndim or a.size == 0:
        raise ValueError(f"{op}: argument '{arg}' must be a non-empty {' or '.join(map(str, ndim))}"
                         f"-D array of numbers, received shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{op}: argument '{arg}' must hold finite numbers, received {value!r}")
    return a


def pad_mode(mode: str, op: str) -> tuple[str, str | None]:
    """``(svertka mode, note)``: the notes' names are accepted, with a note saying which mode."""
    if isinstance(mode, str) and mode.lower() in PAD_ALIASES:
        return PAD_ALIASES[mode.lower()]
    if mode not in MODES:
        raise ValueError(f"{op}: argument 'mode' must be one of {', '.join(MODES)} or the notes' "
                         f"{', '.join(PAD_ALIASES)}, received {mode!r}")
    return mode, None


def _padded(x: np.ndarray, pads, mode: str) -> np.ndarray:
    """x (H, W, C) padded by ``((top, bottom), (left, right))`` with svertka's pad op."""
    if not any(p for side in pads for p in side):
        return x
    return ops.pad(x[None], pads, mode).numpy()[0].astype(np.float64)


@dataclass(frozen=True)
class ConvReport:
    """One convolution of a small input, cell by cell."""

    x: np.ndarray  # (H, W, C)
    w: np.ndarray  # (KH, KW, C)
    bias: float
    strides: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    mode: str
    dilation: tuple[int, int]
    padded: np.ndarray  # (H + P, W + P, C)
    output: np.ndarray  # (OH, OW), from svertka.ops.conv2d
    working: tuple[str, ...]  # one line per output cell
    sums: np.ndarray  # (OH, OW), the working's totals
    note: str | None = None

    @property
    def agrees(self) -> bool:
        return bool(np.allclose(self.sums, self.output, rtol=1e-5, atol=1e-5))

    def text(self) -> str:
        h, w, c = self.x.shape
        (t, b), (lft, r) = self.pads
        shape = lambda a: "x".join(map(str, a))  # noqa: E731
        lines = [f"input {shape(self.x.shape[:2] if c == 1 else self.x.shape)}, kernel "
                 f"{shape(self.w.shape[:2] if c == 1 else self.w.shape)}, stride "
                 f"{_pair_text(self.strides)}, padding {t}+{b} / {lft}+{r} ({self.mode}), "
                 f"dilation {_pair_text(self.dilation)} -> output {shape(self.output.shape)}"]
        if self.note:
            lines.append(f"note: {self.note}")
        if any((t, b, lft, r)):
            for ch in range(c):
                label = "padded input" + (f", channel {ch}" if c > 1 else "")
                lines += [f"{label}:", grid(self.padded[:, :, ch])]
        lines += list(self.working)
        lines += ["output (svertka.ops.conv2d):", grid(self.output)]
        if not self.agrees:
            lines.append("warning: the working above does not give svertka's output")
        return "\n".join(lines)


def _pair_text(p) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


def _products(window: np.ndarray, kernel: np.ndarray) -> str:
    return " + ".join(f"{number(a)}*{number(k)}" for a, k in zip(window.ravel(), kernel.ravel()))


def explain_conv(x, kernel, strides=1, padding=0, mode: str = "zeros", dilation=1,
                 bias: float = 0.0) -> ConvReport:
    """A convolution (cross-correlation, as in every framework) with each output cell's sum
    of products written out.

    ``x`` is (H, W) or (H, W, C), ``kernel`` (KH, KW) or (KH, KW, C): one filter, one output
    channel; with C > 1 each cell shows one sum per channel, then their total plus ``bias``.
    Matrices may be given as text, ``"1 2 3; 4 5 6"``. ``padding``: an int, a pair,
    ``'valid'`` or ``'same'``; ``mode`` one of the five fills or the notes' ``mirror`` /
    ``cyclic``.
    """
    op = "explain_conv"
    x = parse_matrix(x, op, "x", (2, 3))
    w = parse_matrix(kernel, op, "kernel", (2, 3))
    x = x[:, :, None] if x.ndim == 2 else x
    w = w[:, :, None] if w.ndim == 2 else w
    if x.shape[2] != w.shape[2]:
        raise ValueError(f"{op}: the kernel must have one slice per input channel: input has "
                         f"{x.shape[2]} channels, received a kernel of shape {w.shape}")
    strides = pair(strides, op, "strides")
    dilation = pair(dilation, op, "dilation")
    mode, note = pad_mode(mode, op)
    pads = resolve_padding(padding, x.shape[:2], w.shape[:2], strides, dilation, op=op)
    bias = float(bias)
    y = ops.conv2d(x[None].astype(np.float32), w[..., None].astype(np.float32),
                   np.array([bias], np.float32), strides=strides, padding=pads,
                   padding_mode=mode, dilation_rate=dilation).numpy()[0, :, :, 0]
    xp = _padded(x, pads, mode)
    kh, kw, c = w.shape
    sums = np.zeros(y.shape)
    working = []
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            rows = i * strides[0] + dilation[0] * np.arange(kh)
            cols = j * strides[1] + dilation[1] * np.arange(kw)
            window = xp[np.ix_(rows, cols)]  # (KH, KW, C)
            parts = [float((window[:, :, ch] * w[:, :, ch]).sum()) for ch in range(c)]
            sums[i, j] = sum(parts) + bias
            if c == 1:
                line = f"y[{i},{j}] = {_products(window[:, :, 0], w[:, :, 0])}"
            else:
                line = "\n".join(f"  channel {ch}: {_products(window[:, :, ch], w[:, :, ch])} = "
                                 f"{number(p)}" for ch, p in enumerate(parts))
                line = f"y[{i},{j}]:\n{line}\n  sum " + " + ".join(map(number, parts))
            if bias:
                line += f" + bias {number(bias)}"
            working.append(f"{line} = {number(sums[i, j])}")
    return ConvReport(x, w, bias, strides, pads, mode, dilation, xp, y, tuple(working), sums,
                      note)


@dataclass(frozen=True)
class PadReport:
    """A row or a matrix padded with one or several fills."""

    values: np.ndarray  # (H, W); a row is (1, W)
    labels: tuple[str, ...] | None  # letters standing for the values (the notes' ABC)
    padding: tuple[tuple[int, int], tuple[int, int]]
    results: dict  # svertka mode -> padded (H + P, W + P)
    notes: tuple[str, ...]

    def _cell(self, v) -> str:
        if self.labels is None:
            return number(v)
        return "0" if v == 0 else self.labels[int(v) - 1]

    def text(self) -> str:
        (t, b), (lft, r) = self.padding
        lines = [f"padding {t}+{b} / {lft}+{r}" if self.values.shape[0] > 1 else
                 f"padding {lft}+{r}"]
        lines += [f"note: {n}" for n in self.notes]
        width = max(len(m) for m in self.results)
        for mode, a in self.results.items():
            if self.values.shape[0] == 1:
                cells = [self._cell(v) for v in a[0]]
                sep = "" if self.labels is not None else " "
                row = (sep.join(cells[:lft]) + sep + "[" + sep.join(cells[lft:len(cells) - r])
                       + "]" + sep + sep.join(cells[len(cells) - r:]))
                lines.append(f"{mode.ljust(width)}  {row.strip()}")
            else:
                lines += [f"{mode}:", grid(a)]
        return "\n".join(lines)


def explain_pad(values, padding=2, modes=None) -> PadReport:
    """The fills of SPEC §2 on a row (``"1 2 3"`` or the notes' letters ``"ABC"``) or a
    matrix (``"1 2; 3 4"``), computed by ``svertka.ops.pad``.

    ``padding``: an int (each side), or a pair ``(before, after)`` for a row / ``(ph, pw)``
    for a matrix. ``modes``: one mode, a list, or None for all five; the notes' ``mirror``,
    ``cyclic`` are accepted, with a note saying which svertka mode they are.
    """
    op = "explain_pad"
    labels = None
    if isinstance(values, str) and re.fullmatch(r"\s*[A-Za-z]+\s*", values):
        labels = tuple(values.strip())
        a = np.arange(1, len(labels) + 1, dtype=np.float64)[None]
    else:
        a = parse_matrix(values, op, "values")
        a = a[None] if a.ndim == 1 else a
    if a.shape[0] == 1:
        pads = ((0, 0), pair(padding, op, "padding", minimum=0))
    else:
        pads = resolve_padding(padding, a.shape, (1, 1), op=op)
    if modes is None:
        modes = MODES
    elif isinstance(modes, str):
        modes = (modes,)
    results, notes = {}, []
    for m in modes:
        mode, note = pad_mode(m, op)
        if note:
            notes.append(note)
        results[mode] = _padded(a[:, :, None], pads, mode)[:, :, 0]
    return PadReport(a, labels, pads, results, tuple(notes))


@dataclass(frozen=True)
class PoolReport:
    """Pooling of one map: each window and the value each mode keeps."""

    x: np.ndarray  # (H, W)
    pool: tuple[int, int]
    strides: tuple[int, int]
    windows: tuple[tuple[tuple[int, int], np.ndarray], ...]  # ((i, j), window)
    results: dict  # mode -> (OH, OW), from svertka.ops.*_pool2d

    def chosen(self, mode: str, window: np.ndarray) -> float:
        return float({"max": np.max, "avg": np.mean, "min": np.min, "sum": np.sum}[mode](window))

    @property
    def agrees(self) -> bool:
        return all(np.isclose(self.chosen(m, win), r[i, j])
                   for m, r in self.results.items() for (i, j), win in self.windows)

    def text(self) -> str:
        lines = [f"map {self.x.shape[0]}x{self.x.shape[1]}, pool {_pair_text(self.pool)}, "
                 f"stride {_pair_text(self.strides)}"]
        for (i, j), win in self.windows:
            kept = ", ".join(f"{m} {number(self.chosen(m, win))}" for m in self.results)
            values = "; ".join(" ".join(map(number, row)) for row in win)
            lines.append(f"window [{i},{j}] = [{values}] -> {kept}")
        for m, r in self.results.items():
            lines += [f"{m} pooling (svertka.ops.{m}_pool2d):", grid(r)]
        return "\n".join(lines)


def explain_pool(x, pool_size=2, strides=None, modes=None) -> PoolReport:
    """Pooling (SPEC §3) of a map given as ``"6 6 6 6; 4 5 5 4; ..."``: every window and the
    value max / avg / min / sum keeps (``modes``: one, a list, or None for all four)."""
    op = "explain_pool"
    x = parse_matrix(x, op, "x", (2,))
    pool = pair(pool_size, op, "pool_size")
    strides = pool if strides is None else pair(strides, op, "strides")
    if modes is None:
        modes = POOL_MODES
    elif isinstance(modes, str):
        modes = (modes,)
    results = {}
    for m in modes:
        m = _POOL_ALIASES.get(m, m)
        if m not in _POOL_OPS:
            raise ValueError(f"{op}: argument 'mode' must be one of {', '.join(POOL_MODES)}, "
                             f"received {m!r}")
        results[m] = _POOL_OPS[m](x[None, :, :, None].astype(np.float32), pool,
                                  strides).numpy()[0, :, :, 0].astype(np.float64)
    oh, ow = next(iter(results.values())).shape
    windows = tuple(((i, j), x[i * strides[0]:i * strides[0] + pool[0],
                               j * strides[1]:j * strides[1] + pool[1]])
                    for i in range(oh) for j in range(ow))
    return PoolReport(x, pool, strides, windows, results)


__all__ = ["ConvReport", "PadReport", "PoolReport", "explain_conv", "explain_pad",
           "explain_pool", "parse_matrix"]
