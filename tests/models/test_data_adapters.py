"""Data sources other than arrays (Keras 3's data adapters): PyDatasets, generators, iterables,
class_weight and sample_weight, with Keras's documented behaviour stated directly."""

import threading
import warnings

import numpy as np
import pytest

import svertka
from svertka import Tensor
from svertka.datasets.pydataset import PyDataset
from svertka.models.data_adapters import (
    adapt,
    check_sample_weight,
    class_sample_weights,
    is_plain,
    numpy_data,
)

W = "model.fit"


class Counting(PyDataset):
    """n batches of 2 samples; x holds the batch index; records epoch callbacks and reads."""

    def __init__(self, n=3, **kwargs):
        super().__init__(**kwargs)
        self.n, self.events, self.reads = n, [], []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads.append(i)
        return np.full((2, 3), i, np.float32), np.array([i, i])

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


class Endless(PyDataset):
    """The issue's object: __getitem__ for every index, no __len__."""

    @property
    def num_batches(self):
        return None

    def __getitem__(self, i):
        return np.full((1, 2), i, np.float32), np.array([i % 2])


def epoch(adapter, e=0):
    return [(x, y, sw) for x, y, sw in adapter.batches()]


def first_values(batches):
    return [int(x.ravel()[0]) for x, _, _ in batches]


def test_is_plain_takes_arrays_and_lists_of_arrays_only():
    x = np.zeros((4, 2))
    assert is_plain(x) and is_plain(Tensor(x))
    assert is_plain([x, x]) and is_plain((x, x)) and is_plain({"a": x}) and is_plain([[0, 1]])
    assert not is_plain(Counting()) and not is_plain(Endless())
    assert not is_plain(iter([(x, x)])) and not is_plain([(x, x)]) and not is_plain({})


def test_pydataset_reads_in_order_and_calls_the_epoch_hooks():
    data = Counting(3)
    adapter = adapt(W, data)
    assert adapter.steps == 3
    batches = epoch(adapter)
    adapter.on_epoch_end()
    assert first_values(batches) == [0, 1, 2]
    assert batches[0][1].tolist() == [0, 0] and batches[0][2] is None
    assert data.events == ["begin", "end"]
    assert first_values(epoch(adapter, 1)) == [0, 1, 2]  # a fresh pass per epoch


def test_pydataset_shuffle_reorders_batches_per_pass_and_keeps_them_all():
    data = Counting(8)
    adapter = adapt(W, data, shuffle=True)
    a, b = first_values(epoch(adapter)), first_values(epoch(adapter, 1))
    assert sorted(a) == sorted(b) == list(range(8)) and a != b


def test_pydataset_with_steps_continues_where_the_last_epoch_stopped():
    # Keras: steps_per_epoch=2 over 3 batches: [0, 1], then [2] cut short with a warning
    adapter = adapt(W, Counting(3), steps=2)
    assert adapter.steps == 2
    assert first_values(epoch(adapter)) == [0, 1]
    with pytest.warns(UserWarning, match="ran out of data"):
        assert first_values(epoch(adapter, 1)) == [2]
    assert first_values(epoch(adapter, 2)) == [0, 1]  # a new pass


def test_endless_pydataset_is_indexed_never_turned_into_an_array():
    data = Endless()
    with pytest.raises(ValueError, match="model.fit: argument 'steps_per_epoch'.*without an end"):
        adapt(W, data)
    adapter = adapt(W, data, steps=4)
    assert first_values(epoch(adapter)) == [0, 1, 2, 3]
    assert first_values(epoch(adapter, 1)) == [4, 5, 6, 7]


def test_pydataset_without_len_or_num_batches_names_what_is_missing():
    class NoLength(PyDataset):
        def __getitem__(self, i):
            return np.zeros((1, 1)), np.zeros(1)

    with pytest.raises(TypeError, match=r"model.fit: argument 'x'.*NoLength.*__len__"):
        adapt(W, NoLength())


def test_pydataset_defaults_and_checked_arguments():
    data = Counting()
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (1, False, 10)
    with pytest.raises(ValueError, match="Counting: argument 'workers' must be a positive int"):
        Counting(workers=0)

    class Forgot(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, i):
            return np.zeros((1, 1)), np.zeros(1)

    with pytest.warns(UserWarning, match=r"super\(\).__init__"):
        assert Forgot().workers == 1


def test_workers_read_in_threads_and_keep_the_order():
    class Slow(Counting):
        def __getitem__(self, i):
            self.reads.append(threading.current_thread().name)
            return super().__getitem__(i)

    data = Slow(6, workers=3)
    adapter = adapt(W, data)
    assert first_values(epoch(adapter)) == list(range(6))
    adapter.close()
    assert any(name.startswith("svertka-pydataset") for name in data.reads)


def test_keras2_style_sequence_without_base_class_is_indexed():
    class Seq:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.full((3, 1), i), np.zeros(3)

    assert first_values(epoch(adapt(W, Seq()))) == [0, 1]


def gen(n, size=2):
    for i in range(n):
        yield np.full((size, 3), i, np.float32), np.arange(size)


def test_generator_without_steps_ends_at_stopiteration_then_warns_exhausted():
    adapter = adapt(W, gen(3))
    assert adapter.steps is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert first_values(epoch(adapter)) == [0, 1, 2]
    assert adapter.steps == 3 and adapter.exhausted
    with pytest.warns(UserWarning, match="model.fit: Your input ran out of data"):
        assert epoch(adapter, 1) == []


def test_generator_with_steps_is_one_pass_shared_by_the_epochs():
    adapter = adapt(W, gen(5), steps=2)
    assert first_values(epoch(adapter)) == [0, 1]
    assert first_values(epoch(adapter, 1)) == [2, 3]
    with pytest.warns(UserWarning, match="ran out of data"):
        assert first_values(epoch(adapter, 2)) == [4]
    assert adapter.exhausted


def test_reiterable_gets_a_fresh_iterator_each_epoch():
    batches = [(np.full((2, 1), i), np.zeros(2)) for i in range(3)]
    adapter = adapt(W, batches)
    assert adapter.steps == 3
    assert first_values(epoch(adapter)) == first_values(epoch(adapter, 1)) == [0, 1, 2]
    assert not adapter.exhausted


def test_torch_tensors_are_plain_data_converted_by_numpy_data():
    torch = pytest.importorskip("torch")
    x = torch.arange(6.0).reshape(3, 2)
    assert is_plain(x) and is_plain([x, x]) and is_plain({"a": x})
    converted = numpy_data([x, {"b": x}])
    assert isinstance(converted[0], np.ndarray) and converted[0].tolist() == x.tolist()
    assert isinstance(converted[1]["b"], np.ndarray)


def test_torch_dataloader_batches_become_numpy():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.arange(10, dtype=torch.float32).reshape(5, 2)
    y = torch.tensor([0, 1, 0, 1, 1])
    loader = DataLoader(TensorDataset(x, y), batch_size=2)
    adapter = adapt(W, loader)
    assert adapter.steps == 3
    got = epoch(adapter)
    assert all(isinstance(a, np.ndarray) for xb, yb, _ in got for a in (xb, yb))
    assert [len(xb) for xb, _, _ in got] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _, _ in got]), x.numpy())
    assert [len(xb) for xb, _, _ in epoch(adapter, 1)] == [2, 2, 1]


def test_batch_forms_x_only_lists_dicts_and_weights():
    x = np.zeros((2, 3), np.float32)
    forms = [x, (x,), [x, np.ones(2)], ({"a": x, "b": x}, np.ones(2), np.array([1.0, 0.5])),
             ([x, x], np.ones(2))]
    got = epoch(adapt(W, forms, kind="predict"))
    assert got[0][1] is None and got[1][1] is None and got[2][1].tolist() == [1.0, 1.0]
    assert set(got[3][0]) == {"a", "b"} and got[3][2].tolist() == [1.0, 0.5]
    assert isinstance(got[4][0], list) and len(got[4][0]) == 2


def test_bad_batches_name_the_method_argument_and_batch():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"model.fit: argument 'x' must yield batches \(x,\), "
                                         r"\(x, y\).*a tuple of 4 items as batch 0"):
        epoch(adapt(W, [(x, x, x, x)]))
    with pytest.raises(ValueError, match=r"model.fit: batch 1 of argument 'x' holds arrays with "
                                         r"different numbers of samples.*\(2, 3\).*\(3,\)"):
        epoch(adapt(W, [(x, np.zeros(2)), (x, np.zeros(3))]))
    with pytest.raises(ValueError, match="model.fit: argument 'x' gave no batch in the first "
                                         "epoch"):
        epoch(adapt(W, gen(0)))
    with pytest.raises(TypeError, match="model.fit: a batch must hold arrays.*str"):
        epoch(adapt(W, [(x, "labels")]))


def test_y_or_sample_weight_beside_a_dataset_are_errors_as_keras():
    with pytest.raises(ValueError, match="model.fit: argument 'y' is not supported when using "
                                         "a PyDataset"):
        adapt(W, Counting(), y=np.zeros(6))
    with pytest.raises(ValueError, match="argument 'y' is not supported when using a generator"):
        adapt(W, gen(1), y=np.zeros(2))
    with pytest.raises(ValueError, match="argument 'sample_weight' is not supported"):
        adapt(W, gen(1), sample_weight=np.zeros(2))
    with pytest.raises(TypeError, match="model.fit: argument 'x' must be an array.*int"):
        adapt(W, 3)
    with pytest.raises(ValueError, match="model.fit: argument 'steps_per_epoch' must be a "
                                         "positive int"):
        adapt(W, gen(1), steps=0)


def test_class_weight_follows_keras3():
    # Keras 3's class_weight_to_sample_weights: weight of the class, 1.0 when absent;
    # (N, 1) labels squeezed, one-hot rows by argmax, float labels rounded
    cw = {0: 0.5, 2: 4.0}
    assert class_sample_weights(W, np.array([0, 1, 2]), cw).tolist() == [0.5, 1.0, 4.0]
    assert class_sample_weights(W, np.array([[2], [0]]), cw).tolist() == [4.0, 0.5]
    assert class_sample_weights(W, np.eye(3)[[1, 2]], cw).tolist() == [1.0, 4.0]
    assert class_sample_weights(W, np.array([1.9, 0.2]), cw).tolist() == [4.0, 0.5]
    assert class_sample_weights(W, np.array([0]), cw).dtype == np.float32
    with pytest.raises(ValueError, match="class_weight' must map each class to a finite "
                                         "weight >= 0, received 1: -1"):
        class_sample_weights(W, np.array([0]), {1: -1})
    with pytest.raises(TypeError, match="integer class indices as keys, received key 'cat'"):
        class_sample_weights(W, np.array([0]), {"cat": 1.0})


def test_class_weight_on_a_dataset_weights_each_batch_as_on_arrays():
    from svertka.models import sources

    model = svertka.Sequential([svertka.Input((3,))])
    data = sources.Adapted(W, model, adapt(W, Counting(3)), ["out"], class_weight={1: 2.0})
    assert [sw.tolist() for _, _, sw in data.batches()] == [[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]]
    x = np.zeros((1, 1))
    with_weights = sources.Adapted(W, model, adapt(W, [(x, np.zeros(1), np.ones(1))]),
                                   ["out"], class_weight={0: 1.0})
    with pytest.raises(ValueError, match="class_weight' cannot be used together with sample "
                                         "weights"):
        list(with_weights.batches())


def test_sample_weight_checks():
    assert check_sample_weight(W, np.array([[1], [2]]), 2).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"'sample_weight' must have shape \(3,\) or \(3, 1\).*"
                                         r"received shape \(2,\)"):
        check_sample_weight(W, np.ones(2), 3)
    with pytest.raises(ValueError, match="finite weights >= 0"):
        check_sample_weight(W, np.array([1.0, np.nan]), 2)
    with pytest.raises(ValueError, match="finite weights >= 0"):
        check_sample_weight(W, np.array([1.0, -1.0]), 2)
    with pytest.raises(TypeError, match="array of numbers"):
        check_sample_weight(W, np.array(["a", "b"]), 2)
