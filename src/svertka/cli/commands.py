"""What each ``svertka`` command does; argument parsing lives in ``svertka.cli``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def demo(args) -> None:
    """Train the notes' model (SPEC §7) on full MNIST when $SVERTKA_DATA has it, otherwise on
    the MNIST sample shipped in the package; print the summary, a progress bar, the test
    accuracy, and where the model was saved."""
    from svertka import demo as demo_mod

    demo_mod.run(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                 output=args.output)


def _image_size(text):
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--image-size must look like 32x32, received {text!r}") from None
    return h, w


def _load_data(args, model=None):
    """The data set named on the command line. Folder images are resized to ``--image-size``
    when training, and to the model's own input (size and channels) when using a model."""
    from svertka import datasets

    kwargs = {}
    if Path(args.data).is_dir():
        if model is not None:
            _, h, w, c = model.input_shape
            kwargs = {"image_size": (h, w), "color_mode": "grayscale" if c == 1 else "rgb"}
        else:
            kwargs = {"image_size": _image_size(getattr(args, "image_size", None)),
                      "color_mode": "grayscale" if getattr(args, "grayscale", False) else "rgb"}
    return datasets.load(args.data, path=args.data_dir, **kwargs)


def _with_channels(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


def _require_images(command: str, data: str, splits: dict) -> None:
    """An empty split (the first of ``splits``, name -> images) is an error naming the data
    set, not a loop over nothing, which would report a loss of 0 and save an untrained
    model."""
    (split, x), (other, y) = splits.items()
    if len(x) == 0:
        raise ValueError(f"{command}: the data set {data!r} has an empty {split} split (0 "
                         f"images; its {other} split holds {len(y):,}); nothing to {command}")


def _require_fit(command: str, spec: str, model, data: str, x, class_names) -> None:
    """A trained model goes on training only on images of its input's shape and labels of its
    classes; another data set is an error that says so (and what adapts a network to new
    classes), not a failure inside the first batch."""
    shape = tuple(model.input_shape[1:])
    images = tuple(_with_channels(x[:1]).shape[1:])
    if images != shape or len(class_names) > model.output_shape[-1]:
        raise ValueError(f"{command}: the model {spec} takes {'x'.join(map(str, shape))} "
                         f"images of {model.output_shape[-1]} classes, received {data!r} with "
                         f"{'x'.join(map(str, images))} images of {len(class_names)} classes; "
                         f"'svertka finetune' adapts a trained network to other images and "
                         f"classes")


def train(args) -> None:
    """Train an architecture from the zoo (built for the data's image shape and classes, with
    pixels rescaled to [0, 1] inside the model), go on training a shipped network
    (``resnet20:cifar10``: its weights, a new optimiser) or continue training a saved model."""
    import svertka
    from svertka import distributed, zoo
    from svertka.layers import Rescaling
    from svertka.utils import set_random_seed

    main = distributed.is_main()  # under mpiexec, rank 0 alone prints and saves
    saved = svertka.load_model(args.model) if Path(args.model).is_file() else None
    if saved is None and ":" in args.model:
        # the shipped weights expect [0, 1]; with the Rescaling it takes raw pixels, as the
        # models svertka train saves, and trains from them with the options' optimiser. Built
        # before the seeding, so that its initial weights draw nothing from the run's draws.
        shipped = zoo.from_spec(args.model, "train", "MODEL")
        saved = zoo.with_input_layer(shipped, Rescaling(1 / 255))
    set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test), class_names = _load_data(args, saved)
    if saved is not None:
        _require_fit("train", args.model, saved, args.data, x_train, class_names)
    _require_images("train", args.data, {"train": x_train, "test": x_test})
    x_train, x_test = _with_channels(x_train), _with_channels(x_test)
    # each of the N ranks takes --batch-size samples of a global batch N times larger
    global_batch = args.batch_size * distributed.size()
    steps = -(-int(len(x_train) * (1 - args.validation_split)) // global_batch)
    if saved is not None:
        # a saved model goes on with its own optimiser and state, unless --learning-rate asks
        # for a new run of the options' optimiser and schedule on the trained weights
        model = saved
        if model.optimizer is None or args.learning_rate is not None:
            model.compile(optimizer=_optimizer(args, steps),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        arch = zoo.get(args.model, x_train.shape[1:], len(class_names))
        model = zoo.with_input_layer(arch, Rescaling(1 / 255))
        model.compile(optimizer=_optimizer(args, steps), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    model.class_names = list(class_names)
    if main:
        model.summary()
    augment = None
    if args.augment:
        from svertka import augment as augment_mod

        augment = augment_mod.get(args.augment)
    callbacks = []
    if args.checkpoint:
        from svertka.callbacks import ModelCheckpoint

        callbacks.append(ModelCheckpoint(args.checkpoint))
    if args.backup:
        from svertka.callbacks import BackupAndRestore

        callbacks.append(BackupAndRestore(args.backup))
    monitor = {}
    if args.monitor_test:
        if args.validation_split:
            raise ValueError("train: --monitor-test replaces the validation split; give "
                             "--validation-split 0 with it")
        monitor = {"validation_data": (x_test, y_test)}
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=args.validation_split, augment=augment, callbacks=callbacks,
              **monitor)
    if not main:
        return
    if len(x_test):
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
    model.save(args.output)
    print(f"Model saved to {args.output}")


def _optimizer(args, steps_per_epoch: int):
    """The optimiser the options describe; the rate follows ``--schedule`` over the run."""
    from svertka import optimizers
    from svertka.optimizers.schedules import cosine_with_warmup

    kwargs = {}
    name = args.optimizer.lower()
    if args.momentum is not None:
        if name != "sgd":
            raise ValueError(f"train: --momentum is an option of --optimizer sgd, received "
                             f"--optimizer {args.optimizer}")
        kwargs["momentum"] = args.momentum
    if args.nesterov:
        kwargs["nesterov"] = True
    if args.weight_decay is not None:
        if name not in ("sgd", "adamw"):
            raise ValueError(f"train: --weight-decay is an option of --optimizer sgd or adamw, "
                             f"received --optimizer {args.optimizer}")
        kwargs["weight_decay"] = args.weight_decay
    optimizer = optimizers.get({"class_name": name, **kwargs}) if kwargs else optimizers.get(name)
    rate = optimizer.learning_rate if args.learning_rate is None else args.learning_rate
    if args.schedule == "cosine":
        warmup = args.warmup_epochs * steps_per_epoch
        total = args.epochs * steps_per_epoch
        if warmup >= total:
            raise ValueError(f"train: --warmup-epochs must be less than --epochs, received "
                             f"{args.warmup_epochs} and {args.epochs}")
        rate = cosine_with_warmup(rate, total, warmup)
    optimizer.learning_rate = rate
    return optimizer


def evaluate(args) -> None:
    """Loss and accuracy of a saved model on a data set's test split; with --tta N, also the
    accuracy when each prediction averages N augmented copies of the image (drawn from
    --seed, so that the figure repeats)."""
    import svertka

    model = svertka.load_model(args.model)
    (x_train, _), (x_test, y_test), _ = _load_data(args, model)
    _require_images("evaluate", args.data, {"test": x_test, "train": x_train})
    x_test = _with_channels(x_test)
    if model.optimizer is None:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f"Test loss {loss:.4f}, accuracy {accuracy:.4f} ({len(x_test):,} images)")
    if args.tta > 1:
        from svertka.utils import set_random_seed

        set_random_seed(args.seed)  # the copies' flips and shifts: the same figure every run
        # digits and letters must not be mirrored: grey images get small shifts only
        augment = "shift=0.1" if x_test.shape[-1] == 1 else None
        probs = model.predict(x_test, batch_size=args.batch_size, tta=args.tta,
                              tta_augment=augment)
        tta_accuracy = float((probs.argmax(-1) == np.asarray(y_test).reshape(-1)).mean())
        print(f"Test accuracy with TTA over {args.tta} copies: {tta_accuracy:.4f}")


def predict(args) -> None:
    """Print the top-k classes, with probabilities, for each image file."""
    import svertka
    from svertka.datasets import load_image

    model = svertka.load_model(args.model, compile=False)
    _, h, w, c = model.input_shape
    names = model.class_names
    for path in args.images:
        image = load_image(path, image_size=(h, w),
                           color_mode="grayscale" if c == 1 else "rgb")
        probs = model.predict(image[None])[0]
        top = np.argsort(-probs)[: args.top_k]
        print(path)
        for k in top:
            label = names[k] if names and k < len(names) else str(k)
            print(f"  {label:>12}  {probs[k]:.4f}")


def summary(args) -> None:
    """The layer table (output shapes, parameters, receptive fields) of an architecture or a
    saved model, and which windows do not tile their input."""
    _model_arg(args).summary(flops=args.flops)


def _model_arg(args):
    """The model named by ``args.model``: a saved model file, or an architecture of the zoo
    built for ``--input-shape`` and ``--classes`` (with its initial weights)."""
    import svertka
    from svertka import zoo

    if Path(args.model).is_file():
        return svertka.load_model(args.model, compile=False)
    shape = None
    if args.input_shape is not None:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            raise ValueError(f"--input-shape must look like 28,28,1, received "
                             f"{args.input_shape!r}") from None
    return zoo.get(args.model, shape, args.classes)


def size(args) -> None:
    """Output size of a convolution or pooling window along one axis (SPEC §2, §3):
    O = (I + P - D*(K-1) - 1) / S + 1, and whether the window tiles the input."""
    from svertka.analysis import explain_size

    padding = args.padding if args.padding in ("valid", "same") else _int(args.padding)
    print(explain_size(args.input, args.kernel, args.stride, padding, args.dilation).text())


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--padding must be an int, 'valid' or 'same', received {text!r}") \
            from None


def export(args) -> None:
    """Write a saved model, or an architecture of the zoo (with its initial weights), as an
    ONNX file for onnxruntime and other runtimes: float32 NHWC input with a dynamic batch
    axis (or --batch-size), the model's outputs (svertka.interop.onnx)."""
    from svertka.interop.onnx import export_onnx

    model = _model_arg(args)
    export_onnx(model, args.out, opset=args.opset, batch_size=args.batch_size)
    print(f"Wrote {args.out}: {model.name}, input {model.input_shape}, output "
          f"{model.output_shape}, opset {args.opset}")
