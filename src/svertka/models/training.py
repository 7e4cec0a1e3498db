"""compile / fit / evaluate / predict: the Keras training loop on svertka's engine (SPEC §6).

One training step: forward with ``training=True``, loss (+ weight penalties), ``backward``,
optimiser update in place, gradients cleared. Ctrl-C during ``fit`` sets
``model.stop_training``: the current batch finishes, and the model keeps its weights and the
history so far (the notes' ``interrupt``); a second Ctrl-C aborts at once.

Randomness: each epoch that shuffles or augments draws one seed from svertka's generator and
takes its order (and its ``BatchLoader``'s augmentation) from that seed; dropout draws from
the generator batch by batch. ``FitPosition`` (epoch, batch, that seed) is all it takes to
redraw an epoch part-way, which is how ``BackupAndRestore`` resumes a run exactly.

fit's own divergence guard (``svertka.callbacks.divergence``): a NaN or infinite loss, a loss
stuck at a cross-entropy's clamp, or a non-finite weight ends the run with a
``RuntimeWarning`` naming the cause, kept in ``model.divergence``; the history so far is
returned. Keras trains on silently there; a run that cannot recover gains nothing from it
(``model.stop_on_divergence = False`` trains on all the same).
Arguments are checked in ``svertka.models.arguments``, output written by
``svertka.models.progress``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings

import numpy as np

from svertka import callbacks as callbacks_mod
from svertka import losses, metrics, ops, optimizers
from svertka import random as _random
from svertka.autograd import Tensor, no_grad
from svertka.backend import asarray, to_numpy
from svertka.callbacks.divergence import DivergenceCheck
from svertka.checks import flag, non_negative_int, positive_int
from svertka.models import arguments
from svertka.models.progress import EpochProgress, format_logs
from svertka.parallel import region


def compile_model(model, optimizer, loss, metric_list) -> None:
    if loss is None:
        raise ValueError(f"{model.name}.compile: argument 'loss' is required (a name such as "
                         f"'categorical_crossentropy', or a callable), received None")
    model.optimizer = optimizers.get(optimizer)
    model.optimizer.bind(model)  # per-layer rates (LayerRates) learn the model's layers
    model.loss = losses.get(loss)
    if metric_list is not None and not isinstance(metric_list, (list, tuple)):
        raise TypeError(f"{model.name}.compile: argument 'metrics' must be a list of names or "
                        f"metrics, received {metric_list!r}")
    metric_list = list(metric_list or [])
    # the loss object itself, so "accuracy" after BinaryCrossentropy(from_logits=True)
    # thresholds the logits at 0
    model.compiled_metrics = [metrics.get(m, loss=loss if isinstance(loss, str) else model.loss)
                              for m in metric_list]
    model._compile_config = {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serializable_loss(model.loss),
        "metrics": [_serializable_metric(m, obj)
                    for m, obj in zip(metric_list, model.compiled_metrics)],
    }


def _serializable_metric(identifier, metric):
    """The metric as saved with the model: its name as given, or, for one of svertka's own
    metric classes, its class and config (so ``Precision(thresholds=[0.3])`` comes back as it
    was); a custom metric is saved by its name only (its code is never saved)."""
    if isinstance(identifier, str):
        return identifier
    if getattr(metrics, type(metric).__name__, None) is type(metric):
        try:
            config = metrics.serialize(metric)
            metrics.deserialize(config)  # a wrapped custom function is saved by name only
            return config
        except (TypeError, ValueError):
            pass
    return metric.name


def _serializable_loss(loss):
    """The loss as saved with the model; None for a custom callable (save the weights only)."""
    try:
        return losses.serialize(loss)
    except ValueError:
        return None


def _require_compiled(model, what: str) -> None:
    if model.optimizer is None or model.loss is None:
        raise ValueError(f"{model.name}.{what}: call compile(optimizer=..., loss=...) first")


def _batch_x(x, idx, dtype=np.float32):
    """One batch as a float32 Tensor: user data stays as given (uint8, float64...) and is
    converted a batch at a time, so the whole set is never copied."""
    xb = x[idx]
    if xb.dtype != dtype:
        xb = xb.astype(dtype)
    return Tensor(asarray(xb))


def _batches(n: int, batch_size: int, order=None):
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


def _loss_value(model, yb, out) -> Tensor:
    loss = model.loss(yb, out)
    if isinstance(loss, Tensor) and loss.ndim:  # a loss per sample, as Keras's guides write
        loss = ops.mean(loss)
    for layer in model.layers:
        for weight, regularizer in layer.regularizers:
            if weight.requires_grad:
                loss = loss + regularizer(weight)
    return loss


def trainable_params(model) -> list[Tensor]:
    return model.trainable_weights + list(getattr(model.loss, "trainable_weights", []))


def train_step(model, xb: Tensor, yb, params) -> tuple[float, object]:
    """One optimisation step; returns the loss value and the model's output array."""
    with region():  # svertka's threads own the cores (see svertka.parallel)
        out = model(xb, training=True)
        loss = _loss_value(model, yb, out)
        loss.backward()
        model.optimizer.apply_gradients(params)
    for p in params:
        p.grad = None
    return float(loss.item()), out.data


@contextlib.contextmanager
def _interrupt_guard(model):
    """Turn the first Ctrl-C into ``model.stop_training = True`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits = []

    def handler(signum, frame):
        hits.append(signum)
        if len(hits) > 1:
            raise KeyboardInterrupt
        model.stop_training = True
        model.interrupted = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _metric_logs(loss_mean, metric_objs, prefix: str = "") -> dict:
    logs = {prefix + "loss": loss_mean.result()}
    for m in metric_objs:
        logs[prefix + m.name] = m.result()
    return logs


class FitPosition:
    """Where ``fit`` stands, kept as ``model._fit_position`` for ``BackupAndRestore``.

    ``epoch`` and ``batch`` (batches of it done) say what comes next; ``epoch_seed`` is the
    seed the epoch's shuffle and augmentation were drawn from (drawn from svertka's generator
    at the epoch's start), so a resumed epoch redraws the same order and skips ``batch``
    batches. The epoch's running loss and metric sums come along, so its logs are exact too.
    After a complete epoch the position is the next epoch's start (``batch`` 0, no seed).
    """

    def __init__(self, epoch: int, loss_mean, metric_objs):
        self.epoch, self.batch, self.epoch_seed = epoch, 0, None
        self._metrics = [loss_mean, *metric_objs]

    def metric_state(self) -> list:
        """Every metric's variables as JSON-ready lists (a mean's are its total and count)."""
        return [[np.asarray(v.numpy()).tolist() for v in m.variables] for m in self._metrics]

    def set_metric_state(self, state) -> None:
        for m, values in zip(self._metrics, state):
            for v, value in zip(m.variables, values):
                v.assign(np.asarray(value, dtype=v.dtype))


def _epoch_seed(shuffle: bool, augment) -> int | None:
    """One draw from svertka's generator per epoch that shuffles or augments."""
    if not shuffle and augment is None:
        return None
    return int(_random.generator().integers(2**63))


def _epoch_batches(x, y, batch_size, shuffle, seed, augment, prefetch, skip=0):
    """One epoch of ``(xb Tensor, yb)``, the first ``skip`` batches left out. Plain arrays are
    gathered batch by batch in the order ``seed`` shuffles them into; with online augmentation
    a ``BatchLoader`` seeded with ``seed`` augments in a background thread (skipped batches are
    still made, as the augmentation draws run in sequence)."""
    if augment is None:
        order = np.random.default_rng(seed).permutation(len(x)) if shuffle else None
        for b, idx in enumerate(_batches(len(x), batch_size, order)):
            if b >= skip:
                yield _batch_x(x, idx), y[idx]
        return
    from svertka.datasets.loader import BatchLoader

    loader = BatchLoader(x, y, batch_size, shuffle=shuffle, rng=seed, augment=augment,
                         prefetch=prefetch)
    with contextlib.closing(iter(loader)) as batches:
        for b, (xb, yb) in enumerate(batches):
            if b >= skip:
                yield Tensor(asarray(xb)), yb


def _diverged(model, guard_reason: str | None, where: str) -> None:
    """fit's own guard: stop, keep the history, record and warn (unless a callback such as
    ``TerminateOnNaN`` stopped the run already and said so)."""
    if guard_reason is None or not model.stop_on_divergence:
        return
    model.divergence = guard_reason
    if not model.stop_training:
        warnings.warn(f"{model.name}.fit: training stopped at {where}: {guard_reason}",
                      RuntimeWarning, stacklevel=4)
        model.stop_training = True


def fit(model, x, y, batch_size=32, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
        augment=None, prefetch=2):
    name = f"{model.name}.fit"
    _require_compiled(model, "fit")
    x, y = arguments.xy(name, x, y)
    batch_size = positive_int(name, "batch_size", batch_size)
    epochs, initial_epoch = arguments.epochs_range(name, epochs, initial_epoch)
    split = arguments.validation_fraction(name, validation_split)
    shuffle = flag(name, "shuffle", shuffle)
    prefetch = non_negative_int(name, "prefetch", prefetch)
    verbose = arguments.verbosity(name, verbose)
    if validation_data is not None:
        validation_data = arguments.validation_pair(name, validation_data)
    elif split > 0:
        (x, y), validation_data = arguments.split_validation(name, x, y, split)
    if isinstance(augment, str):
        from svertka import augment as augment_mod

        augment = augment_mod.get(augment)
    model._build_for(x)  # an unbuilt Sequential: its weights must exist before the first step
    n = len(x)
    steps = -(-n // batch_size)
    history = callbacks_mod.History()
    cbs = callbacks_mod.CallbackList([*(callbacks or []), history], model=model)
    cbs.set_params({"epochs": epochs, "steps": steps, "verbose": verbose,
                    "batch_size": batch_size, "samples": n})
    loss_mean = metrics.Mean(name="loss")
    model.stop_training = False
    model.interrupted = False
    model.divergence = None
    guard = DivergenceCheck(model)
    position = model._fit_position = FitPosition(initial_epoch, loss_mean, model.compiled_metrics)
    logs: dict = {}
    with _interrupt_guard(model), region():
        cbs.on_train_begin({})
        resume = model.__dict__.pop("_fit_resume", None)  # set by BackupAndRestore
        for epoch in range(initial_epoch if resume is None else resume["epoch"], epochs):
            loss_mean.reset_state()
            for m in model.compiled_metrics:
                m.reset_state()
            cbs.on_epoch_begin(epoch, {})
            if resume is not None and resume["batch"] > 0:
                seed, done = resume["epoch_seed"], resume["batch"]
                position.set_metric_state(resume["metrics"])
            else:
                seed, done = _epoch_seed(shuffle, augment), 0
            resume = None
            position.epoch, position.batch, position.epoch_seed = epoch, done, seed
            progress = EpochProgress(epoch, epochs, steps, verbose, done)
            batches = _epoch_batches(x, y, batch_size, shuffle, seed, augment, prefetch, done)
            for step, (xb, yb) in enumerate(batches, start=done):
                cbs.on_train_batch_begin(step, {})
                # taken every step: a layer frozen or unfrozen since (by a callback, say)
                # stops or starts training at once
                loss, out = train_step(model, xb, yb, trainable_params(model))
                loss_mean.update_state(loss, sample_weight=len(yb))
                for m in model.compiled_metrics:
                    m.update_state(yb, to_numpy(out))
                position.batch = step + 1
                running = _metric_logs(loss_mean, model.compiled_metrics)
                # as Keras, "loss" is the epoch's running mean; "batch_loss" is this
                # iteration's (History keeps them all) and "size" the batch's
                cbs.on_train_batch_end(step, {**running, "batch_loss": loss, "size": len(yb)})
                progress.update(running)
                _diverged(model, guard.batch(loss, len(yb)),
                          f"epoch {epoch + 1}, batch {step + 1}")
                if model.stop_training:
                    break
            batches.close()  # stops a loader's background thread at once
            if model.interrupted:  # a partial epoch: its iterations stay in history.batch_losses
                progress.interrupted()
                break
            logs = _metric_logs(loss_mean, model.compiled_metrics)
            if validation_data is not None:
                logs.update(_evaluate(model, *validation_data, batch_size, prefix="val_"))
            if position.batch == steps:  # a complete epoch: counted, and the next one is due
                model.epochs_trained += 1
                position.epoch, position.batch, position.epoch_seed = epoch + 1, 0, None
            progress.end(logs)
            cbs.on_epoch_end(epoch, logs)
            _diverged(model, guard.epoch_end(), f"the end of epoch {epoch + 1}")
            if model.stop_training:
                break
        cbs.on_train_end(logs)
    model.history = history
    return history


def _evaluate(model, x, y, batch_size: int, prefix: str = "") -> dict:
    loss_mean = metrics.Mean(name="loss")
    states = model.compiled_metrics  # the epoch's training values were read before this
    for m in states:
        m.reset_state()
    with no_grad(), region():
        for idx in _batches(len(x), batch_size):
            yb = y[idx]
            out = model(_batch_x(x, idx), training=False)
            loss = float(_loss_value(model, yb, out).item())
            loss_mean.update_state(loss, sample_weight=len(yb))
            for m in states:
                m.update_state(yb, to_numpy(out.data))
    return _metric_logs(loss_mean, states, prefix)


def evaluate(model, x, y, batch_size=32, verbose="auto", return_dict=False):
    """Loss and metrics over ``x, y``; ``verbose`` 1, 2 or "auto" prints them on one line."""
    name = f"{model.name}.evaluate"
    _require_compiled(model, "evaluate")
    x, y = arguments.xy(name, x, y)
    batch_size = positive_int(name, "batch_size", batch_size)
    verbose = arguments.verbosity(name, verbose)
    return_dict = flag(name, "return_dict", return_dict)
    logs = _evaluate(model, x, y, batch_size)
    if verbose:
        print(format_logs(logs), flush=True)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=32, verbose=0, tta=1, tta_augment=None) -> np.ndarray:
    """Outputs batch by batch; with ``tta > 1`` each is the mean over ``tta`` copies of the
    image, the first unaugmented, the rest augmented by ``tta_augment`` (default: flips and
    small shifts, see ``svertka.augment.tta``). Prints nothing (``verbose`` is checked and
    accepted for Keras's signature)."""
    name = f"{model.name}.predict"
    x = arguments.samples(name, "x", x)
    batch_size = positive_int(name, "batch_size", batch_size)
    arguments.verbosity(name, verbose)
    tta = positive_int(name, "tta", tta)

    def plain(data):
        outs = []
        with no_grad(), region():
            for idx in _batches(len(data), batch_size):
                outs.append(to_numpy(model(_batch_x(data, idx), training=False).data))
        return np.concatenate(outs)

    if tta == 1:
        return plain(x)
    from svertka import augment as augment_mod
    from svertka.augment.tta import tta_predict

    if isinstance(tta_augment, str):
        tta_augment = augment_mod.get(tta_augment)
    return tta_predict(plain, x, n=tta, augment=tta_augment, rng=_random.generator(),
                       batch_size=batch_size)
