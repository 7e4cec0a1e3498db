"""``notes_cnn``: the reference model of the notes (SPEC §7).

>>> notes_cnn().count_params()
421642
"""

from __future__ import annotations

from svertka.layers import Conv2D, Dense, Flatten, MaxPooling2D
from svertka.models import Sequential
from svertka.zoo.weights import load


def notes_cnn(input_shape=(28, 28, 1), classes: int = 10, weights=None) -> Sequential:
    """Conv(32) - pool - Conv(64) - pool - Dense(128) - Dense(classes, softmax).
    ``weights="mnist"`` loads the shipped weights (trained here on MNIST, pixels scaled to
    [0, 1]; ``svertka serve``'s default model)."""
    return load(Sequential([
        Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=tuple(input_shape)),
        MaxPooling2D((2, 2), strides=2),
        Conv2D(64, (3, 3), padding="same", activation="relu"),
        MaxPooling2D((2, 2), strides=2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(classes, activation="softmax"),
    ]), "notes", weights)

