"""The ``svertka`` command line: thin commands over the library.

    svertka demo                          train the notes' model, print summary and accuracy
    svertka train notes mnist --epochs 5  train an architecture (or a saved model) on a data set
    svertka evaluate model.svk mnist      loss and accuracy on the test split (with --tta N)
    svertka predict model.svk a.png b.jpg top-k classes with probabilities
    svertka summary notes                 the layer table of an architecture or a model file
    svertka size 7 --kernel 3 --stride 3  output size of a window, and whether it tiles

Errors are printed as one line (``svertka: error: ...``) with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from svertka.cli import commands

_EXPECTED_ERRORS = (ValueError, TypeError, FileNotFoundError, ImportError, OSError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    p.add_argument("model", help="an architecture name (notes) or a saved model file")
    p.add_argument("data", help="mnist, fashion_mnist, cifar10, notmnist, or a folder of "
                                "class folders (with train/ and test/ inside, or not)")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", default="adam", help="sgd, adam, adamw or rmsprop")
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--augment", default=None,
                   help="online augmentation, e.g. 'flip,shift=0.1,rotation=10'")
    p.add_argument("--validation-split", type=float, default=0.1)
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
    p.set_defaults(run=commands.evaluate)

    p = sub.add_parser("predict", help="top-k classes of image files",
                       description=commands.predict.__doc__)
    p.add_argument("model", help="a saved model file")
    p.add_argument("images", nargs="+", help="image files (resized to the model's input)")
    p.add_argument("--top-k", type=int, default=3)
    p.set_defaults(run=commands.predict)

    p = sub.add_parser("summary", help="the layer table of an architecture or model file",
                       description=commands.summary.__doc__)
    p.add_argument("model", help="an architecture name (notes) or a saved model file")
    p.add_argument("--input-shape", default="28,28,1", help="H,W,C for an architecture name")
    p.add_argument("--classes", type=int, default=10)
    p.set_defaults(run=commands.summary)

    p = sub.add_parser("size", help="output size of a convolution or pooling window",
                       description=commands.size.__doc__)
    p.add_argument("input", type=int, help="input size along one axis (pixels)")
    p.add_argument("--kernel", type=int, required=True, help="kernel / pool size")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--padding", default="0", help="an int (each side), valid or same")
    p.add_argument("--dilation", type=int, default=1)
    p.set_defaults(run=commands.size)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or [])])
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("svertka: interrupted", file=sys.stderr)
        return 130
    except _EXPECTED_ERRORS as e:
        print(f"svertka: error: {e}", file=sys.stderr)
        return 2
    return 0
