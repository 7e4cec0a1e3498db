"""``svertka show WHAT MODEL [IMAGE]``: pictures of what a network holds and sees (SPEC §8).

    svertka show filters lenet5:mnist --layer 0 -o filters.png
    svertka show maps model.svk digit.png -o maps.png
    svertka show maximize resnet20:cifar10 --layer conv2d_5 --channel 3 -o wants.png
    svertka show gradcam model.svk cat.png -o cam.png
    svertka show confusion lenet5:mnist mnist -o confusion.png

MODEL is a saved model file (``.svk``) or a zoo network with shipped weights
(``lenet5:mnist``, ``resnet20:cifar10``). IMAGE is an image file, resized to the network's
input; for ``confusion`` the third argument is a data set name or folder instead (its test
split). ``svertka.viz`` does the work; this command only loads and saves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from svertka import checks

KINDS = ("filters", "maps", "maximize", "gradcam", "confusion")
NEEDS_IMAGE = ("maps", "gradcam")


def add_parser(sub) -> None:
    """Register the command on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("show", help="draw filters, feature maps, what a channel wants, Grad-CAM "
                                    "or a confusion matrix", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=KINDS, help="the picture to draw")
    p.add_argument("model", help="a saved model file, or lenet5:mnist / resnet20:cifar10")
    p.add_argument("target", nargs="?", default=None,
                   help="an image file (maps, gradcam) or a data set (confusion)")
    p.add_argument("--layer", default=None,
                   help="a layer name or index (default: filters, maximize: the first "
                        "convolution; gradcam: the last image-shaped layer; maps: all)")
    p.add_argument("--channel", type=int, default=0, help="maximize: the channel")
    p.add_argument("--steps", type=int, default=128, help="maximize: gradient ascent steps")
    p.add_argument("--class-index", type=int, default=None,
                   help="gradcam: the class (default: the predicted one)")
    p.add_argument("--data-dir", default=None, help="confusion: folder holding the data set")
    p.add_argument("--limit", type=int, default=None,
                   help="confusion: use the first N test images only")
    p.add_argument("-o", "--output", default="show.png", help="the picture file (.png, .svg)")
    p.set_defaults(run=show)


# option checks, in the form of svertka.cli._OPTIONS
OPTIONS = (("channel", "--channel", checks.non_negative_int),
           ("steps", "--steps", checks.positive_int),
           ("class_index", "--class-index", checks.non_negative_int),
           ("limit", "--limit", checks.positive_int))


def _layer(value):
    """``--layer``: an index when it is an integer, else a name."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def model_units(model, pixels):
    """uint8-range pixels (0-255) in the units ``model`` takes: 0-255 when it rescales them
    itself (a ``Rescaling`` first), else [0, 1]."""
    import numpy as np

    from svertka.viz._model import pixel_range

    low, high = pixel_range(model)
    return (np.asarray(pixels, np.float32) / 255 * (high - low) + low).astype(np.float32)


def show(args) -> None:
    """Draw the picture named by WHAT for MODEL (and IMAGE or a data set) into --output."""
    from svertka import datasets, viz, zoo
    from svertka.viz._model import conv_layers

    for attr, option, check in OPTIONS:
        if getattr(args, attr) is not None:
            check("show", option, getattr(args, attr))
    if args.what in NEEDS_IMAGE + ("confusion",) and args.target is None:
        what = "a data set" if args.what == "confusion" else "an IMAGE file"
        raise ValueError(f"show {args.what}: needs {what} after MODEL, received none")
    if args.what not in NEEDS_IMAGE + ("confusion",) and args.target is not None:
        raise ValueError(f"show {args.what}: takes no IMAGE, received {args.target!r}")
    model = zoo.from_spec(args.model, "show", "MODEL")
    _, h, w, c = model.input_shape
    layer = _layer(args.layer)
    if args.what == "filters":
        result = viz.filters(model, layer)
    elif args.what == "maximize":
        if layer is None:
            convs = conv_layers(model)
            if not convs:
                raise ValueError(f"show maximize: model {args.model!r} has no convolution; "
                                 f"give --layer")
            layer = convs[0].name
        result = viz.maximize(model, layer, args.channel, steps=args.steps)
    elif args.what in NEEDS_IMAGE:
        if not Path(args.target).is_file():
            raise ValueError(f"show {args.what}: argument IMAGE must be an image file, "
                             f"received {args.target!r} (no such file)")
        image = datasets.load_image(args.target, image_size=(h, w),
                                    color_mode="grayscale" if c == 1 else "rgb")
        x = model_units(model, image)
        if args.what == "maps":
            result = viz.feature_maps(model, x, layer)
        else:
            result = viz.grad_cam(model, x, layer, class_index=args.class_index)
    else:
        result = _confusion(model, args)
    result.plot(args.output)
    print(f"Wrote {args.output}")


def _confusion(model, args):
    from svertka import datasets, viz
    from svertka.transfer import adapt_images

    _, h, w, c = model.input_shape
    kwargs = {}
    if Path(args.target).is_dir() or datasets.images.is_archive(args.target):
        kwargs = {"image_size": (h, w), "color_mode": "grayscale" if c == 1 else "rgb"}
    _, (x, y), names = datasets.load(args.target, path=args.data_dir, **kwargs)
    if args.limit is not None:
        x, y = x[: args.limit], y[: args.limit]
    if len(x) == 0:
        raise ValueError(f"show confusion: data set {args.target!r} has no test images")
    x = model_units(model, adapt_images(x, (h, w, c), "show confusion", scale=1.0))
    result = viz.confusion_matrix(model, x, y, class_names=[str(n) for n in names])
    print(f"Accuracy {result.accuracy:.4f} on {len(x):,} test images")
    return result
