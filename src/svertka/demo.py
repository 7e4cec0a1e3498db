"""The main job: train the notes' MNIST model (SPEC §7) and print its summary and accuracy.

This is the notes' Keras program, written with svertka: the same layers, ``compile``,
``fit`` and ``evaluate``. It reads full MNIST from ``$SVERTKA_DATA/mnist`` when present, and
otherwise the real MNIST sample shipped inside the package, so it runs offline anywhere.
"""

from __future__ import annotations

import time

import numpy as np

import svertka
from svertka.datasets import mnist
from svertka.layers import Conv2D, Dense, Flatten, MaxPooling2D
from svertka.utils import set_random_seed, to_categorical


def notes_model() -> svertka.Sequential:
    """The reference model of the notes (SPEC §7)."""
    return svertka.Sequential([
        Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D((2, 2), strides=2),
        Conv2D(64, (3, 3), padding="same", activation="relu"),
        MaxPooling2D((2, 2), strides=2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(10, activation="softmax"),
    ])


def load_mnist():
    """Full MNIST when ``$SVERTKA_DATA`` has it, else the embedded sample; and which it was."""
    try:
        return mnist.load_data(), "full MNIST"
    except FileNotFoundError:
        return mnist.load_sample(), "the embedded MNIST sample"


def run(epochs: int = 3, batch_size: int = 32, seed: int = 0, verbose: int = 1) -> float:
    set_random_seed(seed)
    ((x_train, y_train), (x_test, y_test)), source = load_mnist()
    print(f"Training the notes' model on {source}: {len(x_train):,} training and "
          f"{len(x_test):,} test images\n")
    x_train = np.expand_dims(x_train, axis=3) / np.float32(255)
    x_test = np.expand_dims(x_test, axis=3) / np.float32(255)
    model = notes_model()
    model.summary()
    print()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, to_categorical(y_train, 10), batch_size=batch_size, epochs=epochs,
              validation_split=0.1, verbose=verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"\nTrained {epochs} epochs in {seconds:.1f} s ({seconds / epochs:.1f} s an epoch)")
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
    return accuracy
