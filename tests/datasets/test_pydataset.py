"""PyDataset, Keras 3's base class for datasets read batch by batch (keras.utils.PyDataset)."""

import itertools

import numpy as np
import pytest

import svertka
from svertka.datasets.pydataset import PyDataset, Sequence


class Batches(PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def test_len_num_batches_and_iteration():
    data = Batches(np.arange(7.0)[:, None], np.arange(7), 3)
    assert len(data) == data.num_batches == 3
    assert [yb.tolist() for _, yb in data] == [[0, 1, 2], [3, 4, 5], [6]]
    data.on_epoch_begin()  # the base hooks do nothing
    data.on_epoch_end()


def test_keras_constructor_arguments_and_sequence_alias():
    data = Batches(np.zeros((2, 1)), np.zeros(2), 1, workers=4, use_multiprocessing=True,
                   max_queue_size=3)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (4, True, 3)
    data.workers = 2
    assert data.workers == 2
    assert Sequence is PyDataset
    with pytest.raises(TypeError, match="Batches: argument 'use_multiprocessing' must be True "
                                        "or False"):
        Batches(np.zeros((2, 1)), np.zeros(2), 1, use_multiprocessing="yes")
    with pytest.raises(ValueError, match="argument 'max_queue_size' must be a positive int"):
        Batches(np.zeros((2, 1)), np.zeros(2), 1, max_queue_size=0)


def test_endless_dataset_iterates_without_end():
    class Endless(PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, i):
            return np.full((1, 1), i)

    first = [int(b[0, 0]) for b in itertools.islice(Endless(), 5)]
    assert first == [0, 1, 2, 3, 4]


def test_missing_methods_name_the_class_and_what_to_write():
    class Empty(PyDataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty: a PyDataset subclass must implement "
                                                  "__len__"):
        _ = Empty().num_batches
    with pytest.raises(NotImplementedError, match=r"Empty: .*__getitem__\(index\)"):
        Empty()[0]


def test_cifar10_labels_are_keras_shaped_while_load_stays_flat(tmp_path):
    from svertka.datasets import cifar10, load

    rng = np.random.default_rng(0)
    for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES:
        records = np.concatenate([rng.integers(0, 10, (2, 1)), rng.integers(0, 256, (2, 3072))],
                                 axis=1)
        (tmp_path / name).write_bytes(records.astype(np.uint8).tobytes())
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(tmp_path)
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1) and y_train.dtype == np.uint8
    (_, flat_train), (_, flat_test), names = load("cifar10", path=tmp_path)
    assert flat_train.shape == (10,) and flat_test.shape == (2,)
    np.testing.assert_array_equal(flat_train, y_train[:, 0])
    assert names[0] == "airplane"
    # Keras's (N, 1) sparse labels work with the sparse loss and accuracy as they are
    logits = rng.normal(size=(10, 10)).astype(np.float32)
    loss = svertka.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(float(loss(y_train, logits).item()),
                               float(loss(y_train[:, 0], logits).item()), rtol=1e-6)
