"""``svertka average MODEL [MODEL ...] DATA``: one model from several points of a training run
(SWA, ``svertka.models.averaging``).

The MODELs are saved models of one architecture, typically ``svertka train --checkpoint``'s
files of a run's last epochs. Their weights are averaged, the batch-norm statistics are
recomputed over DATA's training images (through ``--augment``, the training's augmentation),
the test accuracy is printed when DATA has a test split, and the model is saved.
"""

from __future__ import annotations

from svertka import checks


def add_parser(sub) -> None:
    """Register the command on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("average", help="average the weights of a run's saved models (SWA)",
                       description=average.__doc__)
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="saved model files of one architecture (svertka train --checkpoint)")
    p.add_argument("data", help="the data set (or image folder) the models were trained on: "
                                "its training images give the batch-norm statistics")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("--augment", default=None,
                   help="the training's augmentation, e.g. 'flip,crop=4,cutout=16', applied "
                        "to the images the batch-norm statistics are computed on")
    p.add_argument("--batch-size", type=int, default=128,
                   help="the batch size of the batch-norm pass (the training's)")
    p.add_argument("--seed", type=int, default=0, help="the pass's order and augmentation")
    p.add_argument("--output", required=True, help="where to save the averaged model")
    p.set_defaults(run=average)


def average(args) -> None:
    """Average the weights of saved models of one run (SWA: Izmailov et al. 2018), recompute
    the batch-norm statistics over the data's training images, print the test accuracy and
    save the model."""
    import svertka
    from svertka.cli.commands import _load_data, _require_fit, _require_images, _with_channels
    from svertka.models.averaging import average_weights, update_batch_norm

    checks.positive_int("average", "--batch-size", args.batch_size)
    checks.non_negative_int("average", "--seed", args.seed)
    models = [svertka.load_model(path, compile=False) for path in args.models]
    model = models[-1]
    model.set_weights(average_weights(models, "average"))
    (x_train, _), (x_test, y_test), class_names = _load_data(args, model)
    _require_fit("average", args.models[-1], model, args.data, x_train, class_names)
    _require_images("average", args.data, {"train": x_train, "test": x_test})
    augment = None
    if args.augment:
        from svertka import augment as augment_mod

        augment = augment_mod.get(args.augment)
    updated = update_batch_norm(model, _with_channels(x_train), args.batch_size, augment,
                                args.seed, "average")
    print(f"Averaged the weights of {len(models)} model{'s' * (len(models) > 1)}; "
          f"recomputed the statistics of "
          f"{updated} batch-norm layers over {len(x_train):,} training images"
          + (f" ({args.augment})" if args.augment else ""))
    if len(x_test):
        import numpy as np

        probs = model.predict(_with_channels(x_test), batch_size=256)
        accuracy = float((probs.argmax(-1) == np.asarray(y_test).reshape(-1)).mean())
        print(f"Test accuracy: {accuracy:.4f} ({len(x_test):,} images)")
    model.save(args.output)
    print(f"Model saved to {args.output}")
