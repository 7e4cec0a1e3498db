"""The data adapters against Keras 3.15's EpochIterator on the same sources: which batches each
epoch sees (with and without steps_per_epoch), and class_weight's per-sample weights."""

import os
import warnings

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

from keras.src.trainers.data_adapters import data_adapter_utils  # noqa: E402
from keras.src.trainers.epoch_iterator import EpochIterator  # noqa: E402

from svertka.datasets.pydataset import PyDataset  # noqa: E402
from svertka.models.data_adapters import adapt, class_sample_weights  # noqa: E402


def make_dataset(base, n):
    class Numbered(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def __len__(self):
            return n

        def __getitem__(self, i):
            return np.full((2, 1), i, np.float32), np.array([i % 2, 0])

    return Numbered()


def gen(n):
    for i in range(n):
        yield np.full((2, 1), i, np.float32), np.array([0, 1])


def keras_epochs(source, epochs, steps=None):
    it = EpochIterator(source, steps_per_epoch=steps, batch_size=None)
    it.reset()
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            seen.append([int(np.asarray(data[0][0]).ravel()[0]) for _, _, data in it])
    return seen


def our_epochs(source, epochs, steps=None):
    adapter = adapt("model.fit", source, steps=steps)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            seen.append([int(x.ravel()[0]) for x, _, _ in adapter.batches()])
            adapter.on_epoch_end()
    return seen


@pytest.mark.parametrize("n, steps", [(3, None), (3, 2), (4, 2), (2, 5)])
def test_pydataset_epochs_match_keras(n, steps):
    want = keras_epochs(make_dataset(keras.utils.PyDataset, n), 4, steps)
    assert our_epochs(make_dataset(PyDataset, n), 4, steps) == want


def test_generator_with_steps_matches_keras():
    assert our_epochs(gen(5), 2, steps=2) == keras_epochs(gen(5), 2, steps=2) == [[0, 1], [2, 3]]


def test_generator_without_steps_first_epoch_matches_keras():
    # Keras re-yields its two peeked batches in later epochs of an exhausted generator; svertka
    # warns that the input ran out instead (tested in test_data_adapters.py)
    assert our_epochs(gen(3), 1) == keras_epochs(gen(3), 1) == [[0, 1, 2]]


def test_reiterable_torch_dataloader_matches_keras():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.arange(6.0)[:, None], torch.zeros(6)),
                        batch_size=2)
    assert our_epochs(loader, 2) == keras_epochs(loader, 2) == [[0, 2, 4], [0, 2, 4]]
    assert our_epochs(loader, 3, steps=2) == keras_epochs(loader, 3, steps=2)


@pytest.mark.parametrize("y", [np.array([0, 1, 2, 1]), np.array([[2], [0], [1], [3]]),
                               np.eye(4)[[3, 1, 0, 2]], np.array([0.2, 1.7, 2.0, 3.4])])
def test_class_weight_matches_keras(y):
    cw = {0: 0.25, 1: 2.0, 2: 3.5}  # class 3 left out: weight 1.0 in Keras 3
    want = data_adapter_utils.class_weight_to_sample_weights(y, cw)
    np.testing.assert_array_equal(class_sample_weights("model.fit", y, cw), want)
