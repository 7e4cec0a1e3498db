"""The ``svertka`` command line: thin commands over the library.

    svertka demo                          train the notes' model, print summary and accuracy
    svertka train notes mnist --epochs 5  train an architecture (or a saved model) on a data set
    svertka evaluate model.svk mnist      loss and accuracy on the test split (with --tta N)
    svertka predict model.svk a.png b.jpg top-k classes with probabilities
    svertka summary notes                 the layer table of an architecture or a model file
    svertka export model.svk model.onnx   the model as ONNX (for onnxruntime and others)
    svertka finetune lenet5:mnist TREE    adapt a trained network to new classes (transfer)
    svertka average run-4*.svk cifar10 --output avg.svk   one model from a run's last epochs (SWA)
    svertka size 7 --kernel 3 --stride 3  output size of a window, and whether it tiles
    svertka explain conv --input "1 2; 3 4" --kernel "1 0; 0 1"   the notes' arithmetic, worked
    svertka show gradcam model.svk cat.png -o cam.png   filters, feature maps, Grad-CAM, ...
    svertka index lenet5:mnist mnist -o idx.npz   embed images for similarity search
    svertka search idx.npz a.png --k 8 -o s.png   the most similar images, with scores
    svertka ocr page.png --boxes boxes.png       the digits and letters in an image, as text
    svertka serve [MODEL]                 a local web page: draw a digit, look inside the network

Exit status 2 means the command line or its inputs are wrong: every bad option, argument,
model file (``svertka.ModelFileError``), data file (``svertka.DataFileError``), missing data
set (``DatasetNotFoundError``) or empty split is reported as one line, ``svertka: error: ...``,
before any training starts, and never as a traceback. A traceback means a bug in svertka.
``SVERTKA_DEBUG=1`` shows the traceback of a reported error too.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tarfile
import warnings
import zipfile
import zlib

from svertka import checks
from svertka.cli import average, commands, explain, finetune, ocr, search, serve, show

# What a wrong command line, a bad option value, or a missing or damaged input raises: the
# library's argument checks (ValueError, TypeError), svertka.ModelFileError/DataFileError
# (ValueErrors), DatasetNotFoundError (a FileNotFoundError), unreadable files (OSError) and
# missing optional packages (ImportError).
_EXPECTED_ERRORS = (ValueError, TypeError, ImportError, OSError)

# What else a damaged or hostile input can provoke deep in a parser or allocator; each gets a
# hint. Every other exception (AttributeError, KeyError, IndexError, ...) is a bug in svertka
# and keeps its traceback, so that it is seen and reported rather than mistaken for bad input.
_INPUT_ERRORS = {
    MemoryError: "out of memory: an input may be damaged or declare more data than this "
                 "machine holds",
    RecursionError: "nesting too deep: an input file may be damaged or hostile",
    OverflowError: "a number out of range: an input file may be damaged",
    EOFError: "unexpected end of data: an input file may be truncated",
    zlib.error: "corrupt compressed data: an input file may be damaged",
    zipfile.BadZipFile: "not a valid zip archive: an input file may be damaged",
    tarfile.TarError: "not a valid tar archive: an input file may be damaged",
    struct.error: "malformed binary data: an input file may be damaged",
}


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the command."""

    def error(self, message: str):
        print(f"svertka: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="svertka", description="Convolutional neural networks from first principles.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'svertka COMMAND --help' for the options of a command.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="train the notes' MNIST model; print summary and accuracy",
                       description=commands.demo.__doc__)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: 12 on the embedded sample, 1 on full MNIST)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="svertka-demo.svk", help="where to save the model")
    p.set_defaults(run=commands.demo)

    p = sub.add_parser("train", help="train an architecture or a saved model on a data set",
                       description=commands.train.__doc__)
    p.add_argument("model", help="an architecture name (svertka.zoo: notes, lenet5, resnet20, "
                                 "...), a zoo network with shipped weights to train on "
                                 "(lenet5:mnist, ...) or a saved model file")
    p.add_argument("data", help="mnist, fashion_mnist, cifar10, notmnist, or a folder of "
                                "class folders (with train/ and test/ inside, or not)")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", default="adam", help="sgd, adam, adamw or rmsprop")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="the optimiser's rate; a saved model continues with its own "
                        "optimiser and state unless this is given (then a new one is made "
                        "from the options)")
    p.add_argument("--momentum", type=float, default=None, help="SGD momentum (default 0)")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="L2 weight decay (SGD: coupled, as torch; AdamW: decoupled)")
    p.add_argument("--schedule", default="constant", choices=("constant", "cosine"),
                   help="learning rate over the run: constant, or cosine decay to 0")
    p.add_argument("--warmup-epochs", type=int, default=0,
                   help="with --schedule cosine: rise linearly to the rate first")
    p.add_argument("--checkpoint", default=None, metavar="PATTERN",
                   help="save the model after every epoch to PATTERN, e.g. 'run-{epoch:02d}.svk' "
                        "(for svertka average)")
    p.add_argument("--backup", default=None, metavar="DIR",
                   help="back the run up into DIR every epoch; rerunning the same command "
                        "resumes a killed run where it stopped")
    p.add_argument("--augment", default=None,
                   help="online augmentation, e.g. 'flip,shift=0.1,rotation=10'")
    p.add_argument("--validation-split", type=float, default=0.1)
    p.add_argument("--monitor-test", action="store_true",
                   help="report the test split's loss and accuracy after every epoch (as "
                        "val_*), to watch a long run; nothing is chosen by it")
    p.add_argument("--image-size", default=None, help="HxW to resize folder images to")
    p.add_argument("--grayscale", action="store_true", help="read folder images as grey")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="model.svk", help="where to save the trained model")
    p.set_defaults(run=commands.train)

    p = sub.add_parser("evaluate", help="loss and accuracy of a saved model on a data set",
                       description=commands.evaluate.__doc__)
    p.add_argument("model", help="a saved model file")
    p.add_argument("data", help="data set name or folder (its test split is used)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--tta", type=int, default=0,
                   help="also report accuracy with test-time augmentation over N copies")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the copies' random flips and shifts, so that --tta repeats")
    p.set_defaults(run=commands.evaluate)

    p = sub.add_parser("predict", help="top-k classes of image files",
                       description=commands.predict.__doc__)
    p.add_argument("model", help="a saved model file")
    p.add_argument("images", nargs="+", help="image files (resized to the model's input)")
    p.add_argument("--top-k", type=int, default=3)
    p.set_defaults(run=commands.predict)

    p = sub.add_parser("summary", help="the layer table of an architecture or model file",
                       description=commands.summary.__doc__)
    p.add_argument("model", help="an architecture name (svertka.zoo: notes, lenet5, vgg16, "
                                 "resnet50, ...) or a saved model file")
    p.add_argument("--input-shape", default=None,
                   help="H,W,C for an architecture name (default: the architecture's own)")
    p.add_argument("--classes", type=int, default=None,
                   help="classes for an architecture name (default: the architecture's own)")
    p.add_argument("--flops", action="store_true",
                   help="add each layer's multiply-accumulates per image")
    p.set_defaults(run=commands.summary)

    p = sub.add_parser("export", help="write an architecture or a model file as ONNX",
                       description=commands.export.__doc__)
    p.add_argument("model", help="a saved model file or an architecture name (svertka.zoo)")
    p.add_argument("out", help="the .onnx file to write")
    p.add_argument("--input-shape", default=None,
                   help="H,W,C for an architecture name (default: the architecture's own)")
    p.add_argument("--classes", type=int, default=None,
                   help="classes for an architecture name (default: the architecture's own)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 13 or later")
    p.add_argument("--batch-size", type=int, default=None,
                   help="a fixed batch size (default: dynamic)")
    p.set_defaults(run=commands.export)

    p = sub.add_parser("size", help="output size of a convolution or pooling window",
                       description=commands.size.__doc__)
    p.add_argument("input", type=int, help="input size along one axis (pixels)")
    p.add_argument("--kernel", type=int, required=True, help="kernel / pool size")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--padding", default="0", help="an int (each side), valid or same")
    p.add_argument("--dilation", type=int, default=1)
    p.set_defaults(run=commands.size)

    finetune.add_parser(sub)  # svertka finetune MODEL DATA (svertka.cli.finetune)
    average.add_parser(sub)  # svertka average MODEL [MODEL ...] DATA --output OUT (SWA)
    explain.add_parser(sub)  # svertka explain conv|pad|pool|size|params|receptive-field|...
    show.add_parser(sub)  # svertka show filters|maps|maximize|gradcam|confusion MODEL ...
    search.add_parser(sub)  # svertka index MODEL DATA -o IDX; svertka search IDX IMAGE
    serve.add_parser(sub)  # svertka serve [MODEL] --port 8000 --host 127.0.0.1 --no-browser
    ocr.add_parser(sub)  # svertka ocr IMAGE --alphabet digits --boxes out.png
    return parser


# The ranges of the numeric options, per command: (attribute, option, check). Checked right
# after parsing, before any data is read or any model built.
_OPTIONS = {
    "demo": (("epochs", "--epochs", checks.positive_int),
             ("batch_size", "--batch-size", checks.positive_int),
             ("seed", "--seed", checks.non_negative_int)),
    "train": (("epochs", "--epochs", checks.positive_int),
              ("batch_size", "--batch-size", checks.positive_int),
              ("learning_rate", "--learning-rate",
               lambda where, arg, v: checks.finite_float(where, arg, v, 0.0, low_open=True)),
              ("momentum", "--momentum",
               lambda where, arg, v: checks.finite_float(where, arg, v, 0.0, 1.0,
                                                         high_open=True)),
              ("weight_decay", "--weight-decay",
               lambda where, arg, v: checks.finite_float(where, arg, v, 0.0)),
              ("warmup_epochs", "--warmup-epochs", checks.non_negative_int),
              ("validation_split", "--validation-split",
               lambda where, arg, v: checks.finite_float(where, arg, v, 0.0, 1.0,
                                                         high_open=True)),
              ("seed", "--seed", checks.non_negative_int)),
    "evaluate": (("batch_size", "--batch-size", checks.positive_int),
                 ("tta", "--tta", checks.non_negative_int),
                 ("seed", "--seed", checks.non_negative_int)),
    "predict": (("top_k", "--top-k", checks.positive_int),),
    "summary": (("classes", "--classes", checks.positive_int),),
    "export": (("classes", "--classes", checks.positive_int),
               ("batch_size", "--batch-size", checks.positive_int)),
    "size": (("input", "input", checks.positive_int),
             ("kernel", "--kernel", checks.positive_int),
             ("stride", "--stride", checks.positive_int),
             ("dilation", "--dilation", checks.positive_int)),
}


def check_options(args) -> None:
    """Raise a ValueError naming the first numeric option out of its range (None: unset)."""
    for attr, option, check in _OPTIONS.get(args.command, ()):
        value = getattr(args, attr, None)
        if value is not None:
            check(args.command, option, value)


def _one_line(error: BaseException) -> str:
    """The error's message on one line (its type's name when it has none)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or type(error).__name__


def _report(message: str, error: BaseException) -> int:
    print(f"svertka: error: {message}", file=sys.stderr)
    if os.environ.get("SVERTKA_DEBUG", "") not in ("", "0"):
        raise error
    return 2


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"svertka: warning: {_one_line(message)}", file=sys.stderr)


def main(argv=None) -> int:
    """Run one command; returns the exit status (0, 2 for any reported error, 130 when
    interrupted). Warnings are printed as one line each, ``svertka: warning: ...``."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(argv)


def _main(argv) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["demo", *(argv or [])])
    except SystemExit as e:  # --help (0) or a usage error, already printed as one line
        return e.code if isinstance(e.code, int) else 2
    try:
        check_options(args)
        from svertka import distributed

        if distributed.launched():  # mpiexec -n N svertka train ...: one rank of N
            distributed.init()
        args.run(args)
    except KeyboardInterrupt:
        print("svertka: interrupted", file=sys.stderr)
        return 130
    except _EXPECTED_ERRORS as e:
        return _report(_one_line(e), e)
    except tuple(_INPUT_ERRORS) as e:
        hint = next(h for cls, h in _INPUT_ERRORS.items() if isinstance(e, cls))
        return _report(f"{hint} ({_one_line(e)})", e)
    return 0
