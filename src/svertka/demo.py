"""The main job: train the notes' MNIST model (SPEC §7) and print its summary and accuracy.

This is the notes' Keras program, written with svertka: the same layers, ``compile``,
``fit`` and ``evaluate``. It reads full MNIST from ``$SVERTKA_DATA/mnist`` when present, and
otherwise the real MNIST sample shipped inside the package, so it runs offline anywhere.
"""

from __future__ import annotations

import time

import numpy as np

from svertka.datasets import mnist
from svertka.kernels import jit
from svertka.layers import Rescaling
from svertka.models import Sequential
from svertka.utils import set_random_seed, to_categorical
from svertka.zoo import notes_cnn

AUGMENT = "shift=0.1,rotation=10"


def load_mnist():
    """Full MNIST when ``$SVERTKA_DATA`` has it, else the embedded sample; and which it was."""
    try:
        return mnist.load_data(download=False), "full MNIST"
    except FileNotFoundError:
        return mnist.load_sample(), "the embedded MNIST sample"


def run(epochs: int | None = None, batch_size: int = 32, seed: int = 0, verbose="auto",
        output: str | None = None) -> float:
    """Train, evaluate, optionally save to ``output``; returns the test accuracy.

    ``epochs`` defaults to 12 on the embedded sample and 1 on full MNIST. Training batches
    are shifted and rotated a little (online augmentation, SPEC §10): on 6,000 images the
    model would otherwise learn them by heart after about 7 epochs.
    """
    set_random_seed(seed)
    ((x_train, y_train), (x_test, y_test)), source = load_mnist()
    if epochs is None:
        epochs = 1 if len(x_train) > 10_000 else 12
    print(f"Training the notes' model on {source}: {len(x_train):,} training and "
          f"{len(x_test):,} test images, with svertka's {jit.engine()}\n")
    x_train = np.expand_dims(x_train, axis=3) / np.float32(255)
    x_test = np.expand_dims(x_test, axis=3) / np.float32(255)
    model = notes_cnn()
    model.summary()
    print(f"\nOnline augmentation: {AUGMENT}\n")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, to_categorical(y_train, 10), batch_size=batch_size, epochs=epochs,
              validation_split=0.1, verbose=verbose, augment=AUGMENT)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"\nTrained {epochs} epochs in {seconds:.1f} s ({seconds / epochs:.1f} s an epoch)")
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
    if output:  # saved with the scaling inside, so it takes raw 0-255 pixels (svertka predict)
        saved = Sequential([Rescaling(1 / 255, input_shape=(28, 28, 1)), *model.layers])
        saved.class_names = [str(d) for d in range(10)]
        saved.save(output)
        print(f"Model saved to {output} (it takes raw 0-255 pixels)")
    return accuracy
