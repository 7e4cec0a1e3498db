"""Callbacks driven by a fake model through scripted epoch logs, as ``fit`` would call them."""

import csv
import math
import warnings

import numpy as np
import pytest

from svertka.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


class FakeOptimizer:
    """Stores the rate in float32, as a real optimizer might."""

    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate

    @property
    def learning_rate(self):
        return float(self._lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = np.float32(value)

    @property
    def current_learning_rate(self):
        return float(self._lr)


class FakeModel:
    """The callback contract: stop_training, optimizer, get/set_weights, save/save_weights.

    ``get_weights`` hands out the live arrays, which training updates in place, so a callback
    that keeps them without copying would see them change.
    """

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.zeros(2), np.zeros(1)]
        self.saved = []

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        for w, v in zip(self.weights, weights):
            w[...] = v

    def save(self, path):
        self.saved.append(("model", str(path), self.weights[0][0]))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path):
        self.saved.append(("weights", str(path), self.weights[0][0]))
        with open(path, "w") as f:
            f.write("weights")


def fit(callbacks, epoch_logs, model=None, batch_losses=None):
    """Drive the hooks like ``fit``: after epoch e the weights hold e + 1. Returns the model,
    the History and the number of epochs run."""
    model = model or FakeModel()
    cbs = CallbackList(callbacks, add_history=True, model=model, params={"epochs": 99})
    cbs.on_train_begin()
    epochs_run = 0
    for epoch, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        for batch, loss in enumerate((batch_losses or [[]] * len(epoch_logs))[epoch]):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                break
        for w in model.weights:
            w += 1  # "training", in place
        cbs.on_epoch_end(epoch, dict(logs))
        epochs_run += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, cbs.history, epochs_run


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def test_early_stopping_stops_after_patience_and_restores_best_weights():
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    model, history, run = fit([stopper], val_losses(1.0, 0.8, 0.85, 0.9, 0.7, 0.6))
    assert run == 4 and stopper.stopped_epoch == 3
    assert (stopper.best, stopper.best_epoch) == (0.8, 1)
    assert model.weights[0].tolist() == [2.0, 2.0]  # the weights after epoch 1
    assert history.history["val_loss"] == [1.0, 0.8, 0.85, 0.9]


def test_early_stopping_without_restore_keeps_last_weights():
    model, _, run = fit([EarlyStopping(patience=1)], val_losses(1.0, 1.1, 0.5))
    assert run == 2 and model.weights[0][0] == 2.0


def test_early_stopping_restores_even_when_training_runs_to_the_end():
    stopper = EarlyStopping(patience=5, restore_best_weights=True)
    model, _, run = fit([stopper], val_losses(1.0, 0.5, 0.7))
    assert run == 3 and stopper.stopped_epoch is None
    assert model.weights[0][0] == 2.0


@pytest.mark.parametrize("patience", [0, 1])
def test_early_stopping_patience_zero_and_one_stop_at_first_stall(patience):
    _, _, run = fit([EarlyStopping(patience=patience)], val_losses(1.0, 0.9, 0.9, 0.8))
    assert run == 3


def test_early_stopping_min_delta():
    # 0.95 is better than 1.0 but not by more than 0.1
    _, _, run = fit([EarlyStopping(min_delta=0.1, patience=1)], val_losses(1.0, 0.95, 0.5))
    assert run == 2
    _, _, run = fit([EarlyStopping(min_delta=0.01, patience=1)], val_losses(1.0, 0.95, 0.95))
    assert run == 3


def test_early_stopping_auto_mode_maximises_accuracy():
    logs = [{"val_accuracy": a} for a in (0.5, 0.6, 0.55, 0.7)]
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    assert stopper.mode == "max"
    _, _, run = fit([stopper], logs)
    assert run == 3 and stopper.best == 0.6
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, mode="min")
    _, _, run = fit([stopper], logs)
    assert run == 2


def test_early_stopping_baseline_must_be_beaten():
    stopper = EarlyStopping(patience=2, baseline=0.5, restore_best_weights=True)
    model, _, run = fit([stopper], val_losses(0.9, 0.8, 0.7, 0.4))
    assert run == 2 and stopper.stopped_epoch == 1
    assert model.weights[0][0] == 1.0  # never beaten: back to the first monitored epoch
    stopper = EarlyStopping(patience=2, baseline=0.5)
    _, _, run = fit([stopper], val_losses(0.9, 0.45, 0.7, 0.6, 0.6))
    assert run == 4 and stopper.best == 0.45


def test_early_stopping_start_from_epoch_ignores_warm_up():
    stopper = EarlyStopping(patience=1, start_from_epoch=2, restore_best_weights=True)
    model, _, run = fit([stopper], val_losses(1.0, 2.0, 3.0, 4.0, 5.0))
    assert run == 4 and stopper.best_epoch == 2
    assert model.weights[0][0] == 3.0


def test_early_stopping_nan_never_improves():
    stopper = EarlyStopping(patience=2)
    _, _, run = fit([stopper], val_losses(float("nan"), float("nan"), 1.0))
    assert run == 2 and stopper.best is None


def test_early_stopping_warns_when_monitor_missing():
    stopper = EarlyStopping(patience=0)
    with pytest.warns(UserWarning, match=r"EarlyStopping: monitor 'val_loss'.*\['loss'\]"):
        _, _, run = fit([stopper], [{"loss": 1.0}, {"loss": 2.0}])
    assert run == 2


def test_early_stopping_state_resets_between_fits():
    stopper = EarlyStopping(patience=1)
    fit([stopper], val_losses(0.1, 0.2))
    _, _, run = fit([stopper], val_losses(0.9, 0.8, 0.7))
    assert run == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patience": -1}, "'patience' must be a non-negative int, received -1"),
        ({"patience": 1.5}, "'patience'"),
        ({"mode": "bigger"}, r"'mode' must be one of \['auto', 'min', 'max'\], received 'bigger'"),
        ({"min_delta": -0.1}, "'min_delta'"),
        ({"min_delta": float("nan")}, "'min_delta'"),
        ({"start_from_epoch": -2}, "'start_from_epoch'"),
        ({"baseline": "low"}, "'baseline'"),
        ({"baseline": float("inf")}, "'baseline'"),
    ],
)
def test_early_stopping_bad_arguments(kwargs, match):
    # a wrong type is a TypeError, a value out of range a ValueError (svertka.checks)
    with pytest.raises((TypeError, ValueError), match="EarlyStopping: argument " + match):
        EarlyStopping(**kwargs)


def test_model_checkpoint_formats_names_with_one_based_epochs(tmp_path):
    path = tmp_path / "run" / "ckpt-{epoch:02d}-{val_loss:.2f}.npz"
    checkpoint = ModelCheckpoint(path)
    model, _, _ = fit([checkpoint], val_losses(0.9, 0.95, 0.812))
    names = ["ckpt-01-0.90.npz", "ckpt-02-0.95.npz", "ckpt-03-0.81.npz"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == names
    assert [kind for kind, _, _ in model.saved] == ["model"] * 3
    assert checkpoint.last_saved == str(tmp_path / "run" / names[-1])


def test_model_checkpoint_save_best_only_saves_on_strict_improvement(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    model, _, _ = fit([checkpoint], val_losses(0.9, 0.95, 0.8, 0.8, 0.7))
    assert [weight for _, _, weight in model.saved] == [1.0, 3.0, 5.0]  # epochs 0, 2, 4
    assert checkpoint.best == 0.7
    assert (tmp_path / "best.npz").read_text() == "model"


def test_model_checkpoint_best_only_with_epoch_in_name_and_max_mode(tmp_path):
    logs = [{"val_acc": a} for a in (0.5, 0.7, 0.6, 0.9)]
    checkpoint = ModelCheckpoint(
        tmp_path / "e{epoch}.w", monitor="val_acc", save_best_only=True, save_weights_only=True
    )
    model, _, _ = fit([checkpoint], logs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.w", "e2.w", "e4.w"]
    assert {kind for kind, _, _ in model.saved} == {"weights"}


def test_model_checkpoint_initial_threshold_and_best_kept_across_fits(tmp_path):
    checkpoint = ModelCheckpoint(
        tmp_path / "b.npz", save_best_only=True, initial_value_threshold=0.85
    )
    model, _, _ = fit([checkpoint], val_losses(0.9, 0.8))
    assert len(model.saved) == 1
    model, _, _ = fit([checkpoint], val_losses(0.82, 0.75))  # 0.82 is worse than 0.8
    assert [weight for _, _, weight in model.saved] == [2.0]


def test_model_checkpoint_missing_monitor_warns_and_skips(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "b.npz", save_best_only=True)
    with pytest.warns(UserWarning, match="val_loss"):
        model, _, _ = fit([checkpoint], [{"loss": 0.3}])
    assert model.saved == []


def test_model_checkpoint_format_errors(tmp_path):
    with pytest.raises(ValueError, match="ModelCheckpoint: argument 'filepath' is not a valid"):
        ModelCheckpoint(tmp_path / "x{epoch")
    checkpoint = ModelCheckpoint(tmp_path / "x{val_acc:.2f}")
    with pytest.raises(ValueError, match=r"field 'val_acc'.*\['epoch', 'loss', 'val_loss'\]"):
        fit([checkpoint], val_losses(0.5))
    with pytest.raises(ValueError, match="ModelCheckpoint: argument 'mode'"):
        ModelCheckpoint("x", mode="up")
    for bad in (0, "batch", 2.5, True):
        with pytest.raises(ValueError, match="'save_freq' must be 'epoch' or a positive"):
            ModelCheckpoint("x", save_freq=bad)


def lr_trace(history):
    return [round(lr, 6) for lr in history.history["learning_rate"]]


def test_reduce_lr_with_patience_cooldown_and_min_lr():
    reducer = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.2, min_delta=0)
    model, history, _ = fit([reducer], val_losses(*[1.0] * 10), model=FakeModel(1.0))
    # Reductions at the ends of epochs 2, 4 and 6; the third is clipped to min_lr.
    assert lr_trace(history) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    assert model.optimizer.learning_rate == pytest.approx(0.2)


def test_reduce_lr_improvement_resets_waiting():
    reducer = ReduceLROnPlateau(factor=0.1, patience=2)
    _, history, _ = fit([reducer], val_losses(1.0, 1.0, 0.9, 0.9, 0.95, 0.95), FakeModel(1.0))
    assert lr_trace(history) == [1.0, 1.0, 1.0, 1.0, 1.0, 0.1]


def test_reduce_lr_min_delta_and_max_mode():
    # Gains of 5e-5 are below the default min_delta of 1e-4: every epoch counts as a stall.
    reducer = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    logs = [{"val_accuracy": 0.5 + 5e-5 * i} for i in range(4)]
    _, history, _ = fit([reducer], logs, FakeModel(1.0))
    assert lr_trace(history) == [1.0, 1.0, 0.5, 0.25]
    reducer = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    logs = [{"val_accuracy": a} for a in (0.5, 0.6, 0.7, 0.6)]
    _, history, _ = fit([reducer], logs, FakeModel(1.0))
    assert history.history["learning_rate"] == [1.0, 1.0, 1.0, 1.0]


def test_reduce_lr_reads_the_effective_rate_of_a_schedule():
    class ScheduledOptimizer:
        learning_rate = "a schedule object"
        current_learning_rate = 0.04

    model = FakeModel()
    model.optimizer = ScheduledOptimizer()
    reducer = ReduceLROnPlateau(patience=0, factor=0.5)
    fit([reducer], val_losses(1.0, 1.0), model)
    assert model.optimizer.learning_rate == pytest.approx(0.02)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"factor": 1.0}, r"'factor' must be a finite number > 0.0 and < 1.0, received 1.0"),
        ({"factor": 0}, "'factor'"),
        ({"patience": -1}, "'patience'"),
        ({"cooldown": -1}, "'cooldown'"),
        ({"min_lr": -1e-3}, "'min_lr'"),
        ({"min_delta": -1}, "'min_delta'"),
        ({"mode": "smaller"}, "'mode'"),
    ],
)
def test_reduce_lr_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match="ReduceLROnPlateau: argument " + match):
        ReduceLROnPlateau(**kwargs)


def test_callbacks_need_an_optimizer():
    model = FakeModel()
    model.optimizer = None
    with pytest.raises(ValueError, match="ReduceLROnPlateau: the model needs an optimizer"):
        fit([ReduceLROnPlateau()], val_losses(1.0), model)


def test_learning_rate_scheduler_sets_rate_at_epoch_begin():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, round(lr, 6)))
        return lr * 0.5 if epoch >= 2 else lr

    _, history, _ = fit([LearningRateScheduler(schedule)], val_losses(1, 1, 1, 1), FakeModel(0.1))
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.05)]
    assert lr_trace(history) == [0.1, 0.1, 0.05, 0.025]


def test_learning_rate_scheduler_one_argument_form():
    model, history, _ = fit(
        [LearningRateScheduler(lambda epoch: 1.0 / (epoch + 1))], val_losses(1, 1, 1)
    )
    assert lr_trace(history) == [1.0, 0.5, round(1 / 3, 6)]


@pytest.mark.parametrize("bad", ["0.1", float("nan"), -0.1, None, True])
def test_learning_rate_scheduler_rejects_bad_rates(bad):
    with pytest.raises(ValueError, match="LearningRateScheduler: argument 'schedule' must return"):
        fit([LearningRateScheduler(lambda epoch, lr: bad)], val_losses(1))
    with pytest.raises(TypeError, match="'schedule' must be callable"):
        LearningRateScheduler(0.1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_terminate_on_nan_stops_after_the_bad_batch(bad, capsys):
    model, history, run = fit(
        [TerminateOnNaN()], val_losses(1, 1), batch_losses=[[0.5, 0.4, bad, 0.3], [0.2]]
    )
    assert model.stop_training and run == 1
    assert len(history.batch_losses) == 3 and not math.isfinite(history.batch_losses[-1])
    assert "Batch 2: invalid loss" in capsys.readouterr().out


def test_terminate_on_nan_leaves_finite_losses_alone(capsys):
    model, _, run = fit([TerminateOnNaN()], val_losses(1, 1), batch_losses=[[0.5, 1e30], [0.1]])
    assert not model.stop_training and run == 2
    assert capsys.readouterr().out == ""


EPOCH_LOGS = [
    {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75},
    {"loss": np.float32(0.25), "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.85},
]


def read_rows(path, separator=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_csv_logger_writes_sorted_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], EPOCH_LOGS)
    rows = read_rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[1:] == [["0", "0.8", "0.5", "0.75", "0.6"], ["1", "0.9", "0.25", "0.85", "0.4"]]


def test_csv_logger_rows_are_on_disk_before_training_ends(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path, separator=";")
    logger.on_train_begin()
    logger.on_epoch_end(0, dict(EPOCH_LOGS[0]))
    assert read_rows(path, ";") == [
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
        ["0", "0.8", "0.5", "0.75", "0.6"],
    ]
    logger.on_train_end()


def test_csv_logger_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path, append=True)], EPOCH_LOGS[:1])  # no file yet: writes the header
    fit([CSVLogger(path, append=True)], EPOCH_LOGS[1:])
    rows = read_rows(path)
    assert len(rows) == 3 and rows[0][0] == "epoch" and rows[2][2] == "0.25"
    fit([CSVLogger(path)], EPOCH_LOGS[1:])
    assert len(read_rows(path)) == 2


def test_csv_logger_append_follows_existing_columns(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,0.9,1.0\n")
    fit([CSVLogger(path, append=True)], [{"val_loss": 0.7, "loss": 0.5, "accuracy": 0.9}])
    assert read_rows(path)[-1] == ["0", "0.5", "0.7"]


def test_csv_logger_adds_val_columns_when_first_epoch_has_none(tmp_path):
    path = tmp_path / "log.csv"
    fit([CSVLogger(path)], [{"loss": 0.5}, {"loss": 0.4, "val_loss": 0.45}])
    assert read_rows(path) == [
        ["epoch", "loss", "val_loss"],
        ["0", "0.5", "NA"],
        ["1", "0.4", "0.45"],
    ]


def test_csv_logger_bad_separator():
    with pytest.raises(ValueError, match="CSVLogger: argument 'separator' must be a single"):
        CSVLogger("x.csv", separator="||")


def test_history_records_epochs_batches_params_and_model():
    model, history, _ = fit([], EPOCH_LOGS, batch_losses=[[0.7, np.float32(0.5)], [0.3]])
    assert history.epoch == [0, 1]
    assert history.history["loss"] == [0.5, 0.25]
    assert type(history.history["loss"][1]) is float
    assert history.history["val_accuracy"] == [0.75, 0.85]
    assert history.batch_losses == [0.7, 0.5, pytest.approx(0.3)]
    assert history.params == {"epochs": 99} and history.model is model


def test_history_keeps_growing_across_fits():
    history = History()
    fit([history], EPOCH_LOGS[:1], batch_losses=[[1.0]])
    fit([history], EPOCH_LOGS[1:], batch_losses=[[2.0]])
    assert history.history["loss"] == [0.5, 0.25] and history.batch_losses == [1.0, 2.0]


def test_callback_list_fans_out_in_order_with_shared_logs():
    calls = []

    class Recorder(Callback):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def on_epoch_end(self, epoch, logs=None):
            calls.append((self.tag, epoch, sorted(logs)))
            logs[self.tag] = 1.0

    cbs = CallbackList([Recorder("a"), Recorder("b")], add_history=True, model=FakeModel())
    assert len(cbs) == 3 and isinstance(list(cbs)[-1], History)
    cbs.on_epoch_end(0, {"loss": 1.0})
    assert calls == [("a", 0, ["loss"]), ("b", 0, ["a", "loss"])]
    assert sorted(cbs.history.history) == ["a", "b", "loss"]
    assert all(cb.model is cbs.model for cb in cbs)


def test_callback_list_reuses_a_given_history_and_checks_types():
    history = History()
    cbs = CallbackList([history], add_history=True)
    assert cbs.history is history and len(cbs) == 1
    with pytest.raises(TypeError, match="must be a Callback instance, received function"):
        CallbackList([lambda: None])


def test_base_callback_hooks_are_no_ops():
    cb = Callback()
    cb.set_model("m")
    cb.set_params({"epochs": 1})
    for hook in ("on_train_begin", "on_train_end"):
        assert getattr(cb, hook)({}) is None
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end"):
        assert getattr(cb, hook)(0, {}) is None
    assert (cb.model, cb.params) == ("m", {"epochs": 1})


def test_callbacks_ignore_missing_monitor_without_crashing_other_hooks():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, history, run = fit([ReduceLROnPlateau(monitor="val_auc", patience=0)], val_losses(1, 1))
    assert run == 2 and history.history["learning_rate"] == [pytest.approx(0.1)] * 2
    assert any("val_auc" in str(w.message) for w in caught)
