"""BackupAndRestore: a run stopped anywhere (a crash, Ctrl-C, kill -9) and resumed in a new
model object ends bit for bit where the uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from helpers import toy_images

import svertka
from svertka import callbacks, optimizers
from svertka.callbacks import BackupAndRestore
from svertka.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from svertka.utils import set_random_seed

X, Y = toy_images(96)
OPTIMIZERS = {
    "sgd_momentum": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01),
}


def make_model(optimizer="adam", seed=5, dropout=True):
    set_random_seed(seed)
    layers = [Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1))]
    if dropout:  # one layer draws from svertka's generator, the other from its own
        layers += [Dropout(0.3), BatchNormalization(), MaxPooling2D(2), Flatten(),
                   Dropout(0.2, seed=3)]
    else:
        layers += [MaxPooling2D(2), Flatten()]
    model = svertka.Sequential([*layers, Dense(2, activation="softmax")])
    model.compile(OPTIMIZERS[optimizer](), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class Crash(callbacks.Callback):
    """Raise at the end of the ``at``-th batch of the run, as a crash would."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise RuntimeError("crash")


def fit(model, backup=None, extra=(), augment=None, epochs=3):
    cbs = [backup] if backup is not None else []
    return model.fit(X, Y, batch_size=16, epochs=epochs, verbose=0, augment=augment,
                     callbacks=[*cbs, *extra], validation_split=0.25)


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        assert wa.dtype == wb.dtype == np.float32
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("augment", [None, "flip,shift=0.1,noise=0.02"])
@pytest.mark.parametrize("save_freq, crash_at, resumed_at", [
    (4, 9, (1, 3)),  # 5 batches an epoch: the backup after the 8th is mid-epoch 1
    (5, 12, (1, 5)),  # a backup after the last batch of epoch 1, before its validation
    ("epoch", 8, (1, 0)),
])
def test_a_crashed_run_resumes_bit_for_bit(tmp_path, optimizer, augment, save_freq, crash_at,
                                           resumed_at):
    reference = make_model(optimizer)
    expected = fit(reference, augment=augment)

    model = make_model(optimizer)
    with pytest.raises(RuntimeError, match="crash"):
        fit(model, BackupAndRestore(tmp_path, save_freq=save_freq), [Crash(crash_at)], augment)
    assert os.listdir(tmp_path) == ["backup.zip"]

    resumed = make_model(optimizer, seed=99)  # other initial weights, another generator state
    backup = BackupAndRestore(tmp_path, save_freq=save_freq)
    history = fit(resumed, backup, augment=augment)
    assert backup.restored == resumed_at
    assert_same_weights(resumed, reference)
    assert resumed.optimizer.iterations == reference.optimizer.iterations == 15
    assert resumed.epochs_trained == reference.epochs_trained == 3
    for key, values in history.history.items():  # the epochs it ran, with exact logs
        assert values == expected.history[key][-len(values):], key
    assert not tmp_path.exists()  # deleted at the end, with its folder


def test_ctrl_c_saves_the_exact_batch_and_keeps_the_backup(tmp_path):
    reference = make_model()
    fit(reference)

    class CtrlC(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 7:
                os.kill(os.getpid(), signal.SIGINT)

    model = make_model()
    fit(model, BackupAndRestore(tmp_path, save_freq=100), [CtrlC()])
    assert model.interrupted and model.epochs_trained == 1
    resumed = make_model(seed=1)
    backup = BackupAndRestore(tmp_path, save_freq=100)
    fit(resumed, backup)
    assert backup.restored == (1, 2)
    assert_same_weights(resumed, reference)


def test_stopping_early_ends_the_run_and_deletes_the_backup(tmp_path):
    class StopAt(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 7:
                self.model.stop_training = True

    model = make_model()
    fit(model, BackupAndRestore(tmp_path / "b", save_freq=2), [StopAt()])
    assert not (tmp_path / "b").exists()


def test_kept_backup_after_the_end_makes_a_rerun_train_nothing(tmp_path):
    model = make_model()
    fit(model, BackupAndRestore(tmp_path, delete_checkpoint=False))
    weights = model.get_weights()
    again = make_model(seed=3)
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    history = fit(again, backup)
    assert backup.restored == (3, 0) and history.epoch == []
    for a, b in zip(weights, again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_damaged_backup_is_a_model_file_error_naming_it(tmp_path):
    model = make_model()
    with pytest.raises(RuntimeError):
        fit(model, BackupAndRestore(tmp_path, save_freq=2), [Crash(3)])
    path = tmp_path / "backup.zip"
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    state = json.loads(entries["state.json"])
    state["format"] = "svertka-bockup"
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:  # whole, but of another format
        for name, entry in {**entries, "state.json": json.dumps(state)}.items():
            z.writestr(name, entry)
    other = (tmp_path / "other.zip").read_bytes()
    (tmp_path / "other.zip").unlink()
    for damaged, what in ((data[: len(data) // 2], "not a readable zip"),
                          (other, "is not a svertka-backup file"), (b"", "not a readable zip")):
        path.write_bytes(damaged)
        with pytest.raises(svertka.ModelFileError,
                           match=rf"BackupAndRestore: .*backup\.zip: .*{what}.*; delete it"):
            fit(make_model(), BackupAndRestore(tmp_path))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("state.json", "[1, 2")
    with pytest.raises(svertka.ModelFileError, match="delete it to start the run afresh"):
        fit(make_model(), BackupAndRestore(tmp_path))


def test_a_backup_of_another_model_or_batch_size_is_refused(tmp_path):
    with pytest.raises(RuntimeError):
        fit(make_model(), BackupAndRestore(tmp_path, save_freq=2), [Crash(3)])
    with pytest.raises(ValueError, match="is of another model"):
        fit(make_model(dropout=False), BackupAndRestore(tmp_path))
    model = make_model()
    with pytest.raises(ValueError, match="needs the same, received batch_size 8"):
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_split=0.25,
                  callbacks=[BackupAndRestore(tmp_path)])


@pytest.mark.parametrize("bad, error", [(0, ValueError), ("batch", ValueError),
                                        (2.5, ValueError), (True, ValueError)])
def test_save_freq_is_epoch_or_a_positive_count(tmp_path, bad, error):
    with pytest.raises(error, match="'save_freq' must be 'epoch' or a positive number"):
        BackupAndRestore(tmp_path, save_freq=bad)
    assert BackupAndRestore(tmp_path, save_freq=np.int64(3)).save_freq == 3


KILLED_RUN = r"""
import sys, time
import numpy as np
import svertka
from svertka import callbacks
from svertka.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from svertka.utils import set_random_seed

backup_dir, out, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.normal(0, 0.1, (96, 8, 8, 1)).astype(np.float32)
y = rng.integers(0, 2, 96)
x[y == 0, 1:4, 1:4] += 1.0
set_random_seed(0)
model = svertka.Sequential([
    Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)), Dropout(0.2),
    MaxPooling2D(2), Flatten(), Dense(2, activation="softmax")])
model.compile(svertka.optimizers.Adam(0.01), "sparse_categorical_crossentropy")


class Pause(callbacks.Callback):  # a slower machine: room for the kill to land mid-run
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(pause)


backup = callbacks.BackupAndRestore(backup_dir, save_freq=2)
model.fit(x, y, batch_size=8, epochs=3, verbose=0, augment="flip",
          callbacks=[backup, Pause()])
np.savez(out, *model.get_weights())
print("restored", backup.restored)
"""


def test_kill_9_mid_fit_then_rerun_ends_on_the_uninterrupted_weights(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)

    def run(backup, out, pause="0"):
        cmd = [sys.executable, str(script), str(tmp_path / backup), str(tmp_path / out), pause]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # the victim runs alone, so a loaded machine cannot let it finish before the kill
    victim = run("backup", "out.npz", pause="0.03")  # 36 batches: over a second of training
    first = tmp_path / "backup" / "backup.zip"
    deadline = time.monotonic() + 60
    while not first.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)  # a few batches later: between two backups, or during a write
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL, "the run ended before the kill"
    assert first.exists() and not (tmp_path / "out.npz").exists()
    reference = run("ref_backup", "ref.npz")
    assert reference.wait(timeout=120) == 0, reference.stderr.read()

    again = run("backup", "out.npz")
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert "restored (" in stdout  # it resumed, it did not start over
    with np.load(tmp_path / "ref.npz") as ref, np.load(tmp_path / "out.npz") as out:
        assert len(ref.files) == len(out.files) == 4
        for name in ref.files:
            np.testing.assert_array_equal(ref[name], out[name])
    assert not (tmp_path / "backup").exists()


def test_metrics_with_more_state_than_a_mean_resume_exactly(tmp_path):
    """A mid-epoch backup holds every metric's variables (a Precision's true and false
    positives, an AUC's confusion counts), not only a mean's total and count."""
    from svertka import metrics

    def build(seed):
        set_random_seed(seed)
        model = svertka.Sequential([Flatten(input_shape=(8, 8, 1)),
                                    Dense(2, activation="softmax")])
        model.compile(optimizers.Adam(0.01), "categorical_crossentropy",
                      metrics=[metrics.Precision(name="p"), metrics.AUC(num_thresholds=20)])
        return model

    y = np.eye(2, dtype=np.float32)[Y]
    run = dict(x=X, y=y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    expected = build(5).fit(**run).history
    with pytest.raises(RuntimeError, match="crash"):
        build(5).fit(**run, callbacks=[BackupAndRestore(tmp_path, save_freq=4), Crash(9)])
    backup = BackupAndRestore(tmp_path, save_freq=4)
    history = build(99).fit(**run, callbacks=[backup]).history
    assert backup.restored == (1, 2)  # 6 batches an epoch: the backup after the 8th batch
    assert history["p"] == expected["p"][-1:] and history["auc"] == expected["auc"][-1:]
