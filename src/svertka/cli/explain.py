"""``svertka explain TOPIC``: the notes' arithmetic with its working, for the numbers given.

    svertka explain conv --input "1 2 3; 4 5 6; 7 8 9" --kernel "1 0; 0 1" --padding 1
    svertka explain pad --input ABC --padding 2 --mode mirror
    svertka explain pool --input "6 6 6 6; 4 5 5 4; 2 4 4 2; 2 4 4 2" --mode max
    svertka explain size 7 --kernel 3 --stride 3
    svertka explain params notes           (or --kernel 3 --channels 1 --filters 32)
    svertka explain receptive-field notes  (or --windows "3 3 3", each k, k/s or k/s/d)
    svertka explain notes-examples         every worked example of the notes, checked

Matrices are rows separated by ';', values by spaces or commas. The numbers come from
svertka's ops (``svertka.analysis``); the working printed is checked against them.
"""

from __future__ import annotations

from pathlib import Path

from svertka import checks

_MODES = ("zeros", "replicate", "reflect", "symmetric", "circular", "mirror", "cyclic")


def add_parser(sub) -> None:
    """Register ``explain`` and its topics on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("explain", help="the notes' arithmetic (conv, pad, pool, size, params, "
                                       "receptive field) with its working",
                       description=__doc__.split("\n\n")[0])
    topics = p.add_subparsers(dest="topic", metavar="TOPIC")
    p.set_defaults(run=_no_topic)

    t = topics.add_parser("conv", help="every output cell's sum of products")
    t.add_argument("--input", required=True, help='the input, e.g. "1 2 3; 4 5 6; 7 8 9"')
    t.add_argument("--kernel", required=True, help='the kernel, e.g. "1 0; 0 1"')
    t.add_argument("--stride", type=int, default=1)
    t.add_argument("--padding", default="0", help="an int (each side), valid or same")
    t.add_argument("--mode", default="zeros", help="the fill: " + ", ".join(_MODES))
    t.add_argument("--dilation", type=int, default=1)
    t.add_argument("--bias", type=float, default=0.0)
    t.set_defaults(run=conv)

    t = topics.add_parser("pad", help="the five fills on a row or a matrix")
    t.add_argument("--input", required=True, help='a row ("1 2 3" or letters "ABC") or a '
                                                  'matrix ("1 2; 3 4")')
    t.add_argument("--padding", type=int, default=2, help="pixels on each side")
    t.add_argument("--mode", action="append", default=None,
                   help="a fill (repeatable; default all five): " + ", ".join(_MODES))
    t.set_defaults(run=pad)

    t = topics.add_parser("pool", help="each window and the value kept")
    t.add_argument("--input", required=True, help='the map, e.g. "6 6 6 6; 4 5 5 4; ..."')
    t.add_argument("--pool", type=int, default=2, help="pool size")
    t.add_argument("--stride", type=int, default=None, help="default: the pool size")
    t.add_argument("--mode", action="append", default=None,
                   help="max, avg, min or sum (repeatable; default all four)")
    t.set_defaults(run=pool)

    t = topics.add_parser("size", help="output size of a window along one axis")
    t.add_argument("input", type=int, help="input size along one axis (pixels)")
    t.add_argument("--kernel", type=int, required=True, help="kernel / pool size")
    t.add_argument("--stride", type=int, default=1)
    t.add_argument("--padding", default="0", help="an int (each side), valid or same")
    t.add_argument("--dilation", type=int, default=1)
    t.set_defaults(run=size)

    t = topics.add_parser("params", help="parameter counts with the notes' formula")
    t.add_argument("model", nargs="?", default=None, help="a zoo name or a saved model file")
    t.add_argument("--kernel", type=int, default=None, help="one convolution: kernel size")
    t.add_argument("--channels", type=int, default=None, help="... its input channels C")
    t.add_argument("--filters", type=int, default=None, help="... its filters T")
    t.set_defaults(run=params)

    t = topics.add_parser("receptive-field", help="the receptive field layer by layer")
    t.add_argument("model", nargs="?", default=None, help="a zoo name or a saved model file")
    t.add_argument("--windows", default=None,
                   help='a stack of windows, each k, k/s or k/s/d: "3 3 3"')
    t.set_defaults(run=receptive_field)

    t = topics.add_parser("notes-examples", help="every worked example of the notes, checked")
    t.set_defaults(run=notes_examples)


def _no_topic(args) -> None:
    raise ValueError("explain: a TOPIC is required: conv, pad, pool, size, params, "
                     "receptive-field or notes-examples")


def _padding(text: str, option: str = "--padding"):
    if text in ("valid", "same"):
        return text
    try:
        return checks.non_negative_int("explain", option, int(text))
    except ValueError:
        raise ValueError(f"explain: {option} must be an int >= 0, 'valid' or 'same', received "
                         f"{text!r}") from None


def _positive(args, *names) -> None:
    for name in names:
        value = getattr(args, name)
        if value is not None:
            checks.positive_int("explain", "--" + name, value)


def conv(args) -> None:
    """Every output cell's sum of products (``svertka.analysis.explain_conv``)."""
    from svertka.analysis import explain_conv

    _positive(args, "stride", "dilation")
    checks.finite_float("explain", "--bias", args.bias)
    print(explain_conv(args.input, args.kernel, args.stride, _padding(args.padding), args.mode,
                       args.dilation, args.bias).text())


def pad(args) -> None:
    """The fills on a row or a matrix (``svertka.analysis.explain_pad``)."""
    from svertka.analysis import explain_pad

    checks.non_negative_int("explain", "--padding", args.padding)
    print(explain_pad(args.input, args.padding, args.mode).text())


def pool(args) -> None:
    """Each window and the value kept (``svertka.analysis.explain_pool``)."""
    from svertka.analysis import explain_pool

    _positive(args, "pool", "stride")
    print(explain_pool(args.input, args.pool, args.stride, args.mode).text())


def size(args) -> None:
    """Output size of a window along one axis (``svertka.analysis.explain_size``)."""
    from svertka.analysis import explain_size

    _positive(args, "input", "kernel", "stride", "dilation")
    print(explain_size(args.input, args.kernel, args.stride, _padding(args.padding),
                       args.dilation).text())


def _model(spec: str):
    if Path(spec).is_file():
        import svertka

        return svertka.load_model(spec, compile=False)
    return spec  # a zoo name, checked by the analysis function


def params(args) -> None:
    """Parameter counts of a model's layers, or of one convolution."""
    from svertka.analysis import explain_params

    _positive(args, "kernel", "channels", "filters")
    if args.model is not None and any(v is not None for v in
                                      (args.kernel, args.channels, args.filters)):
        raise ValueError("explain params: give MODEL or --kernel/--channels/--filters, not both")
    model = None if args.model is None else _model(args.model)
    print(explain_params(model, args.kernel, args.channels, args.filters).text())


def _windows(text: str) -> list[tuple[int, ...]]:
    try:
        windows = [tuple(int(v) for v in w.split("/")) for w in text.replace(",", " ").split()]
    except ValueError:
        windows = []
    if not windows or any(not 1 <= len(w) <= 3 for w in windows):
        raise ValueError(f"explain receptive-field: --windows must be windows separated by "
                         f"spaces, each k, k/s or k/s/d (e.g. '3 3 2/2'), received {text!r}")
    return windows


def receptive_field(args) -> None:
    """The receptive field layer by layer, of a model or of a stack of windows."""
    from svertka.analysis import explain_receptive_field

    if (args.model is None) == (args.windows is None):
        raise ValueError("explain receptive-field: give MODEL (a zoo name or a model file) or "
                         "--windows, exactly one of them")
    target = _windows(args.windows) if args.windows is not None else _model(args.model)
    print(explain_receptive_field(target).text())


def notes_examples(args) -> None:
    """Every worked example of the notes, with the notes' answer next to svertka's."""
    from svertka.analysis import notes_examples as examples

    print(examples().text())
