"""TensorBoard: the event files read back (TFRecord framing parsed here), with Keras 3's layout:
train/ and validation/ folders, epoch_<name> and batch_<name> scalars, weight histograms."""

import glob
import json
import os
import struct
import sys

import numpy as np
import pytest

import svertka
from svertka.callbacks import TensorBoard
from svertka.layers import Conv2D, Dense, Flatten


@pytest.fixture
def writer():
    """The event files need tensorboardX (the test extra installs it)."""
    pytest.importorskip("tensorboardX")


def events(folder):
    """Every Event in the folder's event files: records of (u64 length, u32 crc, data, u32
    crc)."""
    from tensorboardX.proto import event_pb2

    out = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[i + 12:i + 12 + n])
            out.append(event)
            i += 12 + n + 4
    return out


def scalars(folder):
    """{tag: [(step, value), ...]}"""
    table = {}
    for e in events(folder):
        for v in e.summary.value:
            if v.HasField("simple_value"):
                table.setdefault(v.tag, []).append((e.step, v.simple_value))
    return table


def values(folder, kind):
    return {(e.step, v.tag): v for e in events(folder) for v in e.summary.value
            if v.WhichOneof("value") == kind}


def small_model():
    model = svertka.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1), name="conv"),
                                Flatten(name="flat"), Dense(2, activation="softmax", name="out")])
    model.compile(svertka.optimizers.SGD(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.random((8, 5, 5, 1)).astype("float32"), np.arange(8) % 2


def test_epoch_scalars_in_train_and_validation_folders_match_the_history(tmp_path, writer):
    model = small_model()
    x, y = data()
    history = model.fit(x, y, batch_size=2, epochs=3, verbose=0, validation_data=(x[:4], y[:4]),
                        callbacks=[TensorBoard(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert not any(tag.startswith("batch_") for tag in train)  # update_freq="epoch"
    steps = [0, 1, 2]
    for key in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{key}"]] == steps
        np.testing.assert_allclose([v for _, v in train[f"epoch_{key}"]],
                                   history.history[key], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{key}"]],
                                   history.history[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.05] * 3,
                               rtol=1e-6)
    # Keras 3 also writes each validation's values against the optimiser's update count
    assert [s for s, _ in val["evaluation_loss_vs_iterations"]] == [4, 8, 12]


def test_batch_scalars_every_update_freq_batches_counted_over_the_run(tmp_path, writer):
    model = small_model()
    x, y = data()
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[TensorBoard(
        tmp_path, update_freq=3, write_graph=False)])
    train = scalars(tmp_path / "train")
    assert [s for s, _ in train["batch_loss"]] == [3, 6]  # 8 batches: the 3rd and the 6th
    assert "batch_accuracy" in train
    assert "batch_size" not in train and "batch_batch_loss" not in train  # svertka's extras
    assert not (tmp_path / "validation").exists()


def test_histograms_every_histogram_freq_epochs_and_the_model_json(tmp_path, writer):
    model = small_model()
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[TensorBoard(
        tmp_path, histogram_freq=2, write_images=True)])
    histos = values(tmp_path / "train", "histo")
    tags = {"conv/kernel/histogram", "conv/bias/histogram", "out/kernel/histogram",
            "out/bias/histogram"}
    assert set(histos) == {(step, tag) for step in (0, 2) for tag in tags}
    kernel = histos[(2, "out/kernel/histogram")]
    w = model.get_layer("out").get_weights()[0]
    assert kernel.histo.num == w.size
    np.testing.assert_allclose([kernel.histo.min, kernel.histo.max], [w.min(), w.max()],
                               rtol=1e-6)
    images = values(tmp_path / "train", "image")
    assert (0, "conv/kernel/image") in images  # one input channel: 2 images of 3x3
    graph = values(tmp_path / "train", "tensor")[(0, "keras")]
    assert graph.metadata.plugin_data.plugin_name == "graph_keras_model"
    description = json.loads(graph.tensor.string_val[0])
    assert description["class_name"] == "Sequential"


def test_bad_arguments(tmp_path, writer):
    with pytest.raises(ValueError, match="TensorBoard: argument 'update_freq'"):
        TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="TensorBoard: argument 'profile_batch' is not"):
        TensorBoard(tmp_path, profile_batch=2)


def test_without_a_writer_package_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard(tmp_path)
