import json
import os
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import svertka
from svertka.layers import (
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    Input,
    MaxPooling2D,
    PReLU,
)
from svertka.models import load_model
from svertka.utils import set_random_seed


def trained_model():
    set_random_seed(0)
    model = svertka.Sequential([
        Conv2D(4, 3, padding="same", padding_mode="reflect", activation="relu",
               input_shape=(8, 8, 1)),
        BatchNormalization(), MaxPooling2D(2), Flatten(), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8, 8, 1)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 40), batch_size=8, epochs=1, verbose=0)
    return model, x


def test_save_load_predict_gives_identical_outputs(tmp_path):
    model, x = trained_model()
    path = tmp_path / "model.svk"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    assert loaded.optimizer.iterations == model.optimizer.iterations


def test_saved_file_has_no_pickle_and_json_architecture(tmp_path):
    model, _ = trained_model()
    path = tmp_path / "model.svk"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert "svertka.json" in names
        assert all(n == "svertka.json" or n.endswith(".npy") for n in names)
        for n in names:
            if n.endswith(".npy"):  # every array loads with pickle forbidden
                import io
                np.lib.format.read_array(io.BytesIO(z.read(n)), allow_pickle=False)


def test_training_resumes_identically_after_load(tmp_path):
    model, x = trained_model()
    y = np.arange(40) % 3
    model.save(tmp_path / "m.svk")
    loaded = load_model(tmp_path / "m.svk")
    set_random_seed(9)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    set_random_seed(9)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_functional_model_round_trip(tmp_path):
    set_random_seed(1)
    inp = Input((6, 6, 2))
    a = Conv2D(3, 3, padding="same")(inp)
    b = PReLU()(Conv2D(3, 1)(inp))
    out = Dense(2)(Flatten()(Concatenate()([a, b])))
    model = svertka.Model(inp, out)
    model.save(tmp_path / "f.svk")
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "f.svk").predict(x), model.predict(x))


def test_save_weights_load_weights(tmp_path):
    model, x = trained_model()
    model.save_weights(tmp_path / "w.svw")
    set_random_seed(5)
    other, _ = trained_model()
    other.set_weights([w * 0 for w in other.get_weights()])
    other.load_weights(tmp_path / "w.svw")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_a_crash_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model, _ = trained_model()
    path = tmp_path / "model.svk"
    model.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.svk"]  # no temporary left behind


def test_damaged_and_foreign_files_give_clear_errors(tmp_path):
    model, _ = trained_model()
    path = tmp_path / "model.svk"
    model.save(path)
    truncated = tmp_path / "truncated.svk"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a svertka file or is damaged"):
        load_model(truncated)
    foreign = tmp_path / "foreign.svk"
    foreign.write_text("hello")
    with pytest.raises(ValueError, match="not a svertka file"):
        load_model(foreign)
    weights = tmp_path / "w.svw"
    model.save_weights(weights)
    with pytest.raises(ValueError, match="is not a svertka-model file"):
        load_model(weights)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.svk")


def test_load_weights_into_a_different_architecture_names_the_weight(tmp_path):
    model, _ = trained_model()
    model.save_weights(tmp_path / "w.svw")
    other = svertka.Sequential([
        Conv2D(4, 5, padding="same", input_shape=(8, 8, 1)), BatchNormalization(),
        MaxPooling2D(2), Flatten(), Dense(3)])
    with pytest.raises(ValueError, match=r"weight '.*conv2d.*/kernel' has shape \(3, 3, 1, 4\)"):
        other.load_weights(tmp_path / "w.svw")
    with pytest.raises(ValueError, match="the architectures differ"):
        svertka.Sequential([Dense(2, input_shape=(3,))]).load_weights(tmp_path / "w.svw")


def test_the_epoch_count_is_saved_and_restored(tmp_path):
    model, x = trained_model()
    model.fit(x, np.arange(40) % 3, batch_size=8, epochs=2, verbose=0)
    assert model.epochs_trained == 3
    model.save(tmp_path / "m.svk")
    assert load_model(tmp_path / "m.svk").epochs_trained == 3


def test_a_file_without_an_epoch_count_loads_with_zero(tmp_path):
    from model_fuzz import build, entries

    svertka.Sequential([Dense(2, input_shape=(3,))]).save(tmp_path / "m.svk")
    items = entries((tmp_path / "m.svk").read_bytes())
    index = json.loads(items[0][1])
    del index["epochs_trained"]
    (tmp_path / "old.svk").write_bytes(build([(items[0][0], json.dumps(index).encode(),
                                               items[0][2]), *items[1:]]))
    assert load_model(tmp_path / "old.svk").epochs_trained == 0


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    model = svertka.Sequential([Dense(2, input_shape=(3,))])
    killed = tmp_path / f".model.svk.{dead_pid()}.{'0' * 16}.tmp"
    old = tmp_path / f".model.svk.{os.getpid()}.{'1' * 16}.tmp"
    running = tmp_path / f".model.svk.{os.getpid()}.{'2' * 16}.tmp"  # a save under way
    other = tmp_path / f".other.svk.{dead_pid()}.{'3' * 16}.tmp"  # another target's
    for p in (killed, old, running, other):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    model.save(tmp_path / "model.svk")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.svk", running.name, other.name])


def test_saved_files_get_the_umask_permissions(tmp_path):
    model = svertka.Sequential([Dense(2, input_shape=(3,))])
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "m.svk")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.svk").stat().st_mode) == 0o640
    (tmp_path / "m.svk").chmod(0o600)
    model.save_weights(tmp_path / "m.svk")  # replacing a file keeps its permissions
    assert stat.S_IMODE((tmp_path / "m.svk").stat().st_mode) == 0o600


def test_metric_classes_are_saved_with_their_config_and_functions_by_name(tmp_path):
    from svertka import metrics

    def my_error(y_true, y_pred):
        return np.abs(y_true - y_pred).mean(axis=-1)

    model = svertka.Sequential([svertka.Input((3,)), svertka.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse",
                  metrics=["mae", metrics.Precision(thresholds=[0.3, 0.7], name="p"), my_error])
    path = tmp_path / "m.svk"
    model.save(path)
    with pytest.warns(UserWarning, match="'my_error' is not one of svertka's"):
        loaded = svertka.models.load_model(path)
    assert [m.name for m in loaded.compiled_metrics] == ["mae", "p"]
    assert loaded.compiled_metrics[1].thresholds == [0.3, 0.7]
