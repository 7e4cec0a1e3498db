"""fit/evaluate/predict on what Keras 3 takes besides arrays: a PyDataset, a generator with
steps_per_epoch, any iterable of batches (a torch DataLoader), an ImageDataGenerator's flow
through Keras 2's fit_generator; and the same numbers as the arrays they hold."""

import warnings

import numpy as np
import pytest

import svertka
from svertka import layers
from svertka.utils import PyDataset

RNG = np.random.default_rng(3)
X = RNG.normal(size=(24, 5)).astype("float32")
Y = (X[:, :1] - X[:, 1:2] > 0).astype("int64")[:, 0]


def model():
    svertka.utils.set_random_seed(0)
    m = svertka.Sequential([svertka.Input((5,)), layers.Dense(4, activation="relu"),
                            layers.Dense(2, activation="softmax")])
    m.compile(svertka.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


class Batches(PyDataset):
    def __init__(self, batch_size=6, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = batch_size
        self.ended = 0

    def __len__(self):
        return -(-len(X) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return X[s], Y[s]

    def on_epoch_end(self):
        self.ended += 1


def arrays_history(epochs=3):
    return model().fit(X, Y, batch_size=6, epochs=epochs, shuffle=False, verbose=0).history


def test_a_pydataset_trains_as_the_arrays_it_holds():
    data = Batches()
    m = model()
    h = m.fit(data, epochs=3, shuffle=False, verbose=0).history
    assert h["loss"] == pytest.approx(arrays_history()["loss"], rel=1e-6)
    assert data.ended == 3
    logs = m.evaluate(Batches(), verbose=0, return_dict=True)
    assert logs == pytest.approx(m.evaluate(X, Y, verbose=0, return_dict=True), rel=1e-6)
    np.testing.assert_allclose(m.predict(Batches()), m.predict(X), rtol=1e-6)


def test_a_generator_with_steps_per_epoch_and_the_progress_without_a_length(capsys):
    def endless():
        while True:
            for i in range(0, 24, 6):
                yield X[i:i + 6], Y[i:i + 6]

    h = model().fit(endless(), steps_per_epoch=4, epochs=3, verbose=2).history
    assert h["loss"] == pytest.approx(arrays_history()["loss"], rel=1e-6)
    assert "Epoch 3/3 - 4/4" in capsys.readouterr().out


def test_a_generator_without_steps_runs_one_pass_then_stops_as_keras():
    gen = ((X[i:i + 6], Y[i:i + 6]) for i in range(0, 24, 6))
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model().fit(gen, epochs=3, verbose=0).history
    assert h["loss"] == pytest.approx(arrays_history(1)["loss"], rel=1e-6)


def test_an_endless_getitem_is_only_indexed_never_made_an_array():
    """fit on a PyDataset-like object used to call np.asarray on it: an endless __getitem__
    took 11 GB before it was killed. It is indexed batch by batch now."""

    class Endless:  # duck-typed: not a PyDataset subclass, and no IndexError at the end
        def __len__(self):
            return 4

        def __getitem__(self, i):
            j = (i % 4) * 6
            return X[j:j + 6], Y[j:j + 6]

    m = model()
    h = m.fit(Endless(), epochs=2, verbose=0, shuffle=False).history
    assert h["loss"] == pytest.approx(arrays_history(2)["loss"], rel=1e-6)


def test_an_iterable_of_batches_and_a_torch_dataloader():
    batches = [(X[i:i + 6], Y[i:i + 6]) for i in range(0, 24, 6)]
    assert model().fit(batches, epochs=3, verbose=0).history["loss"] == pytest.approx(
        arrays_history()["loss"], rel=1e-6)
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), batch_size=6)
    # as Keras, a batch_size beside a dataset is ignored
    h = model().fit(loader, epochs=3, batch_size=99, verbose=0).history
    assert h["loss"] == pytest.approx(arrays_history()["loss"], rel=1e-6)
    m = model()
    h = m.fit(torch.from_numpy(X), torch.from_numpy(Y), batch_size=6, epochs=3, shuffle=False,
              verbose=0).history  # torch tensors as arrays
    assert h["loss"] == pytest.approx(arrays_history()["loss"], rel=1e-6)


def test_validation_data_as_a_dataset_and_weights_inside_the_batches():
    class Weighted(Batches):
        def __getitem__(self, i):
            xb, yb = super().__getitem__(i)
            return xb, yb, np.full(len(yb), 2.0, np.float32)

    m = model()
    h = m.fit(Batches(), validation_data=Weighted(), epochs=1, verbose=0).history
    plain = m.evaluate(X, Y, verbose=0)
    # validation ran on the epoch's final weights, with the weights its batches carry
    assert h["val_loss"][0] == pytest.approx(2 * plain[0], rel=1e-5)
    assert m.evaluate(Weighted(), verbose=0)[0] == pytest.approx(2 * plain[0], rel=1e-5)


def test_per_output_sample_weights_inside_a_datasets_batches():
    x = svertka.Input((5,))
    m = svertka.Model(x, [layers.Dense(2, name="a")(x), layers.Dense(1, name="b")(x)])
    m.compile("sgd", loss="mse")
    ya, yb = RNG.normal(size=(24, 2)), RNG.normal(size=(24, 1))
    wa, wb = RNG.uniform(0, 2, 24), RNG.uniform(0, 2, 24)
    arrays = m.evaluate(X, [ya, yb], sample_weight=[wa, wb], batch_size=6, verbose=0)
    batches = [(X[i:i + 6], [ya[i:i + 6], yb[i:i + 6]], [wa[i:i + 6], wb[i:i + 6]])
               for i in range(0, 24, 6)]
    assert m.evaluate(batches, verbose=0) == pytest.approx(arrays, rel=1e-6)
    by_name = [(xb, {"a": a, "b": b}, {"a": u, "b": v}) for xb, (a, b), (u, v) in batches]
    assert m.evaluate(by_name, verbose=0) == pytest.approx(arrays, rel=1e-6)


def test_y_beside_a_dataset_is_an_error_as_in_keras():
    with pytest.raises(ValueError, match="argument 'y' is not supported when using"):
        model().fit(Batches(), Y, verbose=0)


def test_image_data_generator_flow_through_fit_generator():
    images = RNG.uniform(0, 255, size=(16, 8, 8, 3)).astype("float32")
    labels = svertka.utils.to_categorical(np.arange(16) % 2, 2)
    gen = svertka.preprocessing.image.ImageDataGenerator(rescale=1 / 255, horizontal_flip=True,
                                                        width_shift_range=0.1)
    m = svertka.Sequential([svertka.Input((8, 8, 3)), layers.Conv2D(2, 3), layers.Flatten(),
                            layers.Dense(2, activation="softmax")])
    m.compile("adam", "categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = m.fit_generator(gen.flow(images, labels, batch_size=4, seed=0), steps_per_epoch=4,
                            epochs=2, workers=4, use_multiprocessing=False, verbose=0)
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
    assert m.predict_generator(gen.flow(images, batch_size=4, shuffle=False)).shape == (16, 2)
