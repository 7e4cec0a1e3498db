"""Pictures of how a deep network sees (SPEC §8) for the notes' model (SPEC §7, trained here
for one epoch on MNIST first), the shipped LeNet-5 (MNIST) and ResNet-20 (CIFAR-10), written
into docs/: filters of the first layers, the feature maps of one image,
what channels of layers 1, 2, 3 and 5 "want to see" (activation maximisation), and Grad-CAM.

    SVERTKA_DATA=/work/shared/data python examples/inside_network.py
    python examples/inside_network.py --resnet20 runs/resnet20-cifar10-50.svk --out docs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import svertka
from svertka import viz, zoo
from svertka.datasets import cifar10, mnist
from svertka.viz._figure import _figure
from svertka.viz._model import pixel_range, to_display

DPI = 72


def save(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


def maximisations(model, layers, channels: int, steps: int, title: str, path: Path,
                  neurons=()) -> list:
    """One row per layer: what ``channels`` of its channels respond to most (for layers in
    ``neurons``: the neuron at the centre, whose field shows the filter's pattern). Returns
    the (layer, channel, start activation, reached activation) of each."""
    fig = _figure(figsize=(1.3 * channels + 1.0, 1.4 * len(layers) + 0.5), layout="constrained")
    axes = fig.subplots(len(layers), channels, squeeze=False)
    rows = []
    for r, layer in enumerate(layers):
        for ax in axes[r, model.get_layer(layer).output_shape[-1]:]:
            ax.axis("off")
        for c in range(min(channels, model.get_layer(layer).output_shape[-1])):
            m = viz.maximize(model, layer, c, steps=steps, seed=c,
                             position="center" if layer in neurons else None)
            rows.append((layer, c, m.start_activation, m.activation))
            ax = axes[r, c]
            grey = m.image.shape[-1] == 1
            ax.imshow(to_display(m.image), cmap="gray" if grey else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(layer, fontsize=7)
    fig.suptitle(title, fontsize=9)
    save(fig, path)
    return rows


def grad_cams(model, images, layer, names, title: str, path: Path) -> None:
    """Each image over its Grad-CAM for the predicted class."""
    n = len(images)
    fig = _figure(figsize=(1.6 * n, 3.4), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    low, high = pixel_range(model)
    for i, img in enumerate(images):
        r = viz.grad_cam(model, img, layer)
        grey = img.shape[-1] == 1
        for ax in axes[:, i]:
            ax.imshow(to_display(img, (low, high)), cmap="gray" if grey else None)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[1, i].imshow(r.heatmap, cmap="jet", alpha=0.5, vmin=0, vmax=1)
        axes[0, i].set_title(names[r.class_index], fontsize=8)
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def lenet5_pictures(out: Path, steps: int) -> list:
    model = zoo.lenet5((28, 28, 1), weights="mnist")
    (_, _), (x, y) = mnist.load_data()
    digits = (x[:8, ..., None] / 255).astype(np.float32)  # the shipped weights take [0, 1]
    save(viz.filters(model, "C1").plot(), out / "lenet5_filters_C1.png")
    save(viz.filters(model, "C3").plot(max_filters=16), out / "lenet5_filters_C3.png")
    save(viz.feature_maps(model, digits[0], ["C1", "S2", "C3", "S4"]).plot(max_channels=12),
         out / "lenet5_maps.png")
    rows = maximisations(model, ["C1", "C3", "C5"], 8, steps,
                         "LeNet-5: what C1 (centre neuron), C3 and C5 respond to most",
                         out / "lenet5_maximize.png", neurons=("C1",))
    grad_cams(model, digits, "C3", [str(k) for k in range(10)],
              "LeNet-5: Grad-CAM at C3 for the predicted digit", out / "lenet5_gradcam.png")
    return rows


def notes_pictures(out: Path, steps: int, epochs: int = 1) -> list:
    """The notes' model (two convolutions of 32 and 64 3x3 filters), trained ``epochs`` on
    MNIST here (no weights ship for it), inputs scaled to [0, 1]."""
    svertka.utils.set_random_seed(0)
    model = zoo.notes_cnn()
    (x_train, y_train), (x, y) = mnist.load_data()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit((x_train[..., None] / 255).astype(np.float32), y_train, batch_size=128,
              epochs=epochs, verbose=0)
    digits = (x[:8, ..., None] / 255).astype(np.float32)
    conv1, conv2 = (la.name for la in model.layers if type(la).__name__ == "Conv2D")
    save(viz.filters(model, conv1).plot(), out / "notes_filters_conv1.png")
    save(viz.filters(model, conv2).plot(max_filters=16), out / "notes_filters_conv2.png")
    save(viz.feature_maps(model, digits[0], [conv1, conv2]).plot(max_channels=12),
         out / "notes_maps.png")
    rows = maximisations(model, [conv1, conv2], 8, steps,
                         "The notes' model: what conv 1 (centre neuron) and conv 2 respond to",
                         out / "notes_maximize.png", neurons=(conv1,))
    grad_cams(model, digits, conv2, [str(k) for k in range(10)],
              "The notes' model: Grad-CAM at conv 2 for the predicted digit",
              out / "notes_gradcam.png")
    return rows


def resnet20_pictures(out: Path, path: str | None, steps: int) -> list:
    if path:
        model = svertka.load_model(path, compile=False)
    else:
        model = zoo.resnet20(weights="cifar10")
    (_, _), (x, y) = cifar10.load_data()
    low, high = pixel_range(model)
    images = (x[:8] / 255 * (high - low) + low).astype(np.float32)
    names = [str(n) for n in cifar10.CLASS_NAMES]
    first = "conv1_conv"
    save(viz.filters(model, first).plot(), out / "resnet20_filters_conv1.png")
    save(viz.filters(model, "conv2_block1_1_conv").plot(max_filters=16),
         out / "resnet20_filters_layer2.png")
    save(viz.filters(model, "conv2_block1_2_conv").plot(max_filters=16),
         out / "resnet20_filters_layer3.png")
    save(viz.feature_maps(model, images[0], ["conv1_relu", "conv2_block3_out",
                                             "conv3_block3_out", "conv4_block3_out"]
                          ).plot(max_channels=12), out / "resnet20_maps.png")
    rows = maximisations(model, ["conv1_relu", "conv2_block1_out", "conv2_block3_out",
                                 "conv3_block3_out", "conv4_block3_out"], 6, steps,
                         "ResNet-20: what channels want to see, layer 1 (centre neuron) upwards",
                         out / "resnet20_maximize.png", neurons=("conv1_relu",))
    grad_cams(model, images, "conv4_block3_out", names,
              "ResNet-20: Grad-CAM at the last block for the predicted class",
              out / "resnet20_gradcam.png")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNGs")
    parser.add_argument("--resnet20", default=None,
                        help="a ResNet-20 model file (default: the shipped weights)")
    parser.add_argument("--steps", type=int, default=96, help="gradient ascent steps")
    parser.add_argument("--skip-resnet20", action="store_true")
    parser.add_argument("--skip-notes", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = [] if args.skip_notes else notes_pictures(out, args.steps)
    rows += lenet5_pictures(out, args.steps)
    if not args.skip_resnet20:
        rows += resnet20_pictures(out, args.resnet20, args.steps)
    print(f"{'layer':>18} {'ch':>3} {'start':>9} {'reached':>9} {'ratio':>7}")
    for layer, c, a0, a1 in rows:
        ratio = a1 / a0 if a0 > 0 else float("inf")
        print(f"{layer:>18} {c:>3} {a0:9.3g} {a1:9.3g} {ratio:7.1f}")
    print(f"done in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
