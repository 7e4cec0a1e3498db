"""The output-size calculator of SPEC §2 and §3, with the working shown.

>>> print(explain_size(7, 3, stride=3).text())
input 7, kernel 3, stride 3, padding 0+0, dilation 1
output = (I + P - D*(K-1) - 1) / S + 1 = (7 + 0 - 1*2 - 1) / 3 + 1 = 2.33 -> 2
the window does not tile the input: the last 1 pixel is never seen
"""

from __future__ import annotations

from dataclasses import dataclass

from svertka.checks import positive_int
from svertka.ops.shapes import (
    conv_output_size,
    effective_kernel,
    pair,
    same_padding,
    window_remainder,
)


@dataclass(frozen=True)
class SizeReport:
    """One sliding window along one axis, and what comes out."""

    size: int
    kernel: int
    stride: int
    padding: tuple[int, int]
    dilation: int
    output: int
    exact: float
    dropped: int

    @property
    def tiles(self) -> bool:
        return self.dropped == 0

    def text(self) -> str:
        p = sum(self.padding)
        lines = [
            f"input {self.size}, kernel {self.kernel}, stride {self.stride}, padding "
            f"{self.padding[0]}+{self.padding[1]}, dilation {self.dilation}",
            f"output = (I + P - D*(K-1) - 1) / S + 1 = ({self.size} + {p} - "
            f"{self.dilation}*{self.kernel - 1} - 1) / {self.stride} + 1 = "
            f"{_number(self.exact)}" + ("" if self.tiles else f" -> {self.output}"),
        ]
        if self.dilation > 1:
            lines.append(f"the dilated kernel spans {effective_kernel(self.kernel, self.dilation)}"
                         f" pixels")
        if not self.tiles:
            s = "" if self.dropped == 1 else "s"
            verb = "is" if self.dropped == 1 else "are"
            lines.append(f"the window does not tile the input: the last {self.dropped} "
                         f"pixel{s} {verb} never seen")
        return "\n".join(lines)


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:.2f}"


def explain_size(size: int, kernel: int, stride: int = 1, padding=0,
                 dilation: int = 1) -> SizeReport:
    """Output size of a convolution or pooling window along one axis.

    ``padding`` is an int (each side), a pair ``(before, after)``, ``'valid'`` or ``'same'``.
    """
    op = "explain_size"
    size, kernel, stride, dilation = (
        positive_int(op, name, value)
        for name, value in (("size", size), ("kernel", kernel), ("stride", stride),
                            ("dilation", dilation))
    )
    if isinstance(padding, str) and padding in ("valid", "same"):
        pads = (0, 0) if padding == "valid" else same_padding(size, kernel, stride, dilation)
    elif isinstance(padding, str):
        raise ValueError(f"{op}: argument 'padding' must be 'valid', 'same', an int >= 0 "
                         f"or a pair, received {padding!r}")
    else:
        pads = pair(padding, op, "padding", minimum=0)  # an int, or (before, after)
    total = sum(pads)
    span = size + total - effective_kernel(kernel, dilation)
    if span < 0:
        raise ValueError(f"explain_size: the kernel spans {effective_kernel(kernel, dilation)} "
                         f"pixels but the padded input has only {size + total}")
    return SizeReport(size, kernel, stride, pads, dilation,
                      conv_output_size(size, kernel, stride, dilation, total),
                      span / stride + 1, window_remainder(size, kernel, stride, dilation, total))
