"""Output-size rules shared by convolution, pooling, the model summary and the size calculator.

One sliding window along one spatial axis is described by

    I  input size            K  kernel (window) size      S  stride
    D  dilation              P  total padding (before + after)

The window spans ``D*(K-1) + 1`` input pixels, so the number of positions is

    O = (I + P - D*(K-1) - 1) // S + 1

(the notes' ``(I - K + 2P)/S + 1`` with D=1). When ``(I + P - D*(K-1) - 1)`` is not a multiple of S
the window does not tile the input: the last ``remainder`` pixels are never seen. We floor, as
every framework does, and report the remainder so the summary and the calculator can say so.

'same' padding convention (as TensorFlow/Keras): the output size is ``ceil(I / S)`` and the total
padding that needs is split ``before = total // 2``, ``after = total - before``; when the total
is odd the extra pixel goes to the bottom/right.

>>> conv_output_size(7, 3, stride=2)
3
>>> window_remainder(7, 3, stride=3)
1
>>> same_padding(28, 3)
(1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from svertka.checks import integer


def pair(value, op: str, arg: str, minimum: int = 1) -> tuple[int, int]:
    """Normalise an int (of any integer type) or a pair of ints to ``(height, width)``, each
    at least ``minimum``."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = tuple(value) if len(value) == 2 else ()
    else:
        items = (value, value)
    try:
        if not items:
            raise TypeError
        values = tuple(integer(op, arg, v) for v in items)
    except TypeError:
        raise TypeError(
            f"{op}: argument '{arg}' must be an int or a pair of ints, received {value!r}"
        ) from None
    if min(values) < minimum:
        raise ValueError(f"{op}: argument '{arg}' must be >= {minimum}, received {value!r}")
    return values  # type: ignore[return-value]


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """The number of input pixels a dilated kernel spans: ``D*(K-1) + 1``."""
    return dilation * (kernel - 1) + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, dilation: int = 1,
                     padding: int = 0) -> int:
    """Window positions along one axis; ``padding`` is the total (before + after)."""
    span = size + padding - effective_kernel(kernel, dilation)
    return span // stride + 1 if span >= 0 else 0


def window_remainder(size: int, kernel: int, stride: int = 1, dilation: int = 1,
                     padding: int = 0) -> int:
    """Pixels at the end of the (padded) axis that no window reaches; 0 when the window tiles."""
    span = size + padding - effective_kernel(kernel, dilation)
    return span % stride if span >= 0 else 0


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` padding for ``ceil(size / stride)`` outputs; the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, size_hw: tuple[int, int], kernel_hw: tuple[int, int],
                    strides: tuple[int, int] = (1, 1), dilation: tuple[int, int] = (1, 1),
                    op: str = "conv2d") -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit per-side padding ``((top, bottom), (left, right))`` from any accepted form.

    Accepted: ``'valid'``, ``'same'``, an int, a pair ``(ph, pw)`` (both sides of each axis),
    or ``((top, bottom), (left, right))``.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return tuple(  # type: ignore[return-value]
                same_padding(size_hw[a], kernel_hw[a], strides[a], dilation[a]) for a in range(2)
            )
        raise ValueError(
            f"{op}: argument 'padding' must be 'valid', 'same', an int, a pair or "
            f"((top, bottom), (left, right)), received {padding!r}"
        )
    if isinstance(padding, Sequence) and len(padding) == 2 and all(
        isinstance(p, Sequence) and not isinstance(p, str) for p in padding
    ):
        sides = tuple(pair(tuple(p), op, "padding", minimum=0) for p in padding)
        return sides  # type: ignore[return-value]
    ph, pw = pair(padding, op, "padding", minimum=0)
    return (ph, ph), (pw, pw)


def check_window_fits(size_hw, pads, kernel_hw, dilation, op: str, arg: str = "kernel") -> None:
    """Raise when the (dilated) window is larger than the padded input."""
    for a, axis in enumerate(("height", "width")):
        padded = size_hw[a] + pads[a][0] + pads[a][1]
        span = effective_kernel(kernel_hw[a], dilation[a])
        if span > padded:
            raise ValueError(
                f"{op}: the {arg} spans {span} pixels along the {axis}, but the padded input has "
                f"only {padded} (input {size_hw[a]}, padding {pads[a]}); expected a {arg} that fits"
            )


def receptive_field_step(size: int, jump: int, kernel: int, stride: int = 1,
                         dilation: int = 1) -> tuple[int, int]:
    """Receptive field after one sliding window.

    ``size`` is how many input pixels (along one axis) one neuron of the previous map sees and
    ``jump`` how far apart in input pixels its neighbours are. A window spanning
    ``D*(K-1)+1`` neighbours sees ``size + D*(K-1)*jump`` input pixels; the new jump is
    ``jump * S``. Three stacked 3x3 convolutions see 3, 5, 7 pixels (SPEC §8).

    >>> receptive_field_step(3, 1, 3)
    (5, 1)
    """
    return size + (effective_kernel(kernel, dilation) - 1) * jump, jump * stride
