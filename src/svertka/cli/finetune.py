"""``svertka finetune MODEL DATA``: adapt a trained network to new classes (SPEC §10).

MODEL is a saved model file (``.svk``) or a zoo network with shipped weights
(``lenet5:mnist``, ``resnet20:cifar10``); DATA a data set name or an image tree (class
folders, with ``train/`` and ``test/`` inside or not), its images resized to the network's
input. ``svertka.transfer.fine_tune`` does the work; the saved model takes raw 0-255 pixels
(a ``Rescaling`` first), as the models of ``svertka train`` do, so ``svertka evaluate`` and
``svertka predict`` use it as it is.
"""

from __future__ import annotations

from pathlib import Path

from svertka import checks, zoo
from svertka.transfer import STRATEGIES


def add_parser(sub) -> None:
    """Register the command on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("finetune", help="adapt a trained network to new classes (transfer)",
                       description=finetune.__doc__)
    p.add_argument("model", help="a saved model file, or a zoo network with shipped weights: "
                                 + ', '.join(zoo.weights.specs()))
    p.add_argument("data", help="a data set name or a folder of class folders (with train/ "
                                "and test/ inside, or not)")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("--classes", type=int, default=None,
                   help="classes of the new head (default: the data's)")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES,
                   help="auto: the notes' rule by the number of training images (<= 100: head "
                        "only; 1,000+: top blocks with growing rates)")
    p.add_argument("--cut", default=None, help="the layer whose output feeds the new head")
    p.add_argument("--top-blocks", type=int, default=None,
                   help="with --strategy top: how many last blocks train")
    p.add_argument("--gradual-unfreeze", action="store_true",
                   help="train the head first, then unfreeze one block per stage")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: about 300 steps, 5 to 50 epochs)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam's rate at the head; lower layers get less")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout before the new head")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="finetuned.svk", help="where to save the model")
    p.set_defaults(run=finetune)


def _check(args) -> None:
    """The numeric options, before any data is read or any model built."""
    for attr, option, check in (
            ("classes", "--classes", checks.positive_int),
            ("top_blocks", "--top-blocks", checks.positive_int),
            ("epochs", "--epochs", checks.positive_int),
            ("batch_size", "--batch-size", checks.positive_int),
            ("seed", "--seed", checks.non_negative_int)):
        value = getattr(args, attr)
        if value is not None:
            check("finetune", option, value)
    checks.finite_float("finetune", "--learning-rate", args.learning_rate, 0.0, low_open=True)
    checks.finite_float("finetune", "--dropout", args.dropout, 0.0, 1.0, high_open=True)


def finetune(args) -> None:
    """Adapt a trained network (a model file, or lenet5:mnist / resnet20:cifar10) to the
    classes of a data set: the new head alone from few images, the upper blocks too with
    learning rates growing towards the output from many (svertka.transfer.fine_tune); print
    what trained, the test accuracy when the data has a test split, and save the model."""
    import numpy as np

    from svertka import datasets, transfer, zoo
    from svertka.cli.commands import _require_images
    from svertka.layers import Rescaling

    _check(args)
    base = zoo.from_spec(args.model, "finetune", "MODEL")
    _, h, w, c = base.input_shape
    kwargs = {}
    if Path(args.data).is_dir() or datasets.images.is_archive(args.data):
        kwargs = {"image_size": (h, w), "color_mode": "grayscale" if c == 1 else "rgb"}
    (x_train, y_train), (x_test, y_test), names = datasets.load(args.data, path=args.data_dir,
                                                                **kwargs)
    _require_images("finetune", args.data, {"train": x_train, "test": x_test})
    classes = len(names) if args.classes is None else args.classes
    result = transfer.fine_tune(
        base, (x_train, y_train), classes, cut=args.cut, strategy=args.strategy,
        top_blocks=args.top_blocks, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, dropout=args.dropout,
        gradual_unfreeze=args.gradual_unfreeze, seed=args.seed, verbose=2)
    print(f"Strategy {result.strategy} ({len(x_train):,} training images): trained "
          f"{_names(result.trainable)}; frozen {_names(result.frozen) or 'nothing'}")
    raw = transfer.takes_raw_pixels(base)
    model = result.model if raw else zoo.with_input_layer(result.model, Rescaling(1 / 255))
    if not raw:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    model.class_names = [str(n) for n in names][:classes]
    if len(x_test):
        x = transfer.adapt_images(x_test, (h, w, c), "finetune", scale=1.0)
        accuracy = float((model.predict(x, batch_size=256).argmax(-1)
                          == np.asarray(y_test).reshape(-1)).mean())
        print(f"Test accuracy: {accuracy:.4f} ({len(x_test):,} images)")
    model.save(args.output)
    print(f"Model saved to {args.output}")


def _names(names: list[str]) -> str:
    """Layer names, the middle elided in a long list."""
    if len(names) <= 6:
        return ", ".join(names)
    return f"{len(names)} layers: {', '.join(names[:2])}, ..., {', '.join(names[-2:])}"
