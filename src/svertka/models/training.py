"""compile / fit / evaluate / predict: the Keras training loop on svertka's engine (SPEC §6).

One training step: forward with ``training=True``, loss (+ weight penalties), ``backward``,
optimiser update in place, gradients cleared. Ctrl-C during ``fit`` sets
``model.stop_training``: the current batch finishes, and the model keeps its weights and the
history so far (the notes' ``interrupt``); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np

from svertka import callbacks as callbacks_mod
from svertka import losses, metrics, optimizers
from svertka import random as _random
from svertka.autograd import Tensor, no_grad
from svertka.backend import asarray, to_numpy
from svertka.parallel import region


def compile_model(model, optimizer, loss, metric_list) -> None:
    if loss is None:
        raise ValueError(f"{model.name}.compile: argument 'loss' is required (a name such as "
                         f"'categorical_crossentropy', or a callable), received None")
    model.optimizer = optimizers.get(optimizer)
    model.loss = losses.get(loss)
    loss_name = loss if isinstance(loss, str) else getattr(model.loss, "__name__", None)
    metric_list = list(metric_list or [])
    model.compiled_metrics = [metrics.get(m, loss=loss_name) for m in metric_list]
    model._compile_config = {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serializable_loss(model.loss),
        "metrics": [m if isinstance(m, str) else m.name for m in metric_list],
    }


def _serializable_loss(loss):
    """The loss as saved with the model; None for a custom callable (save the weights only)."""
    try:
        return losses.serialize(loss)
    except ValueError:
        return None


def _require_compiled(model, what: str) -> None:
    if model.optimizer is None or model.loss is None:
        raise ValueError(f"{model.name}.{what}: call compile(optimizer=..., loss=...) first")


def _as_array(data, what: str, op: str):
    if data is None:
        raise ValueError(f"{op}: argument '{what}' is required, received None")
    if isinstance(data, Tensor):
        return data.data
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return data
    return np.asarray(data)


def _check_xy(model, x, y, op: str):
    x = _as_array(x, "x", op)
    y = _as_array(y, "y", op)
    if len(x) != len(y):
        raise ValueError(f"{op}: arguments 'x' and 'y' must have the same number of samples, "
                         f"received {len(x)} and {len(y)}")
    return x, y


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
    for layer in model.layers:
        for weight, regularizer in layer.regularizers:
            if weight.requires_grad:
                loss = loss + regularizer(weight)
    return loss


def _trainable_params(model) -> list[Tensor]:
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


def _progress(total: int, desc: str, verbose: int):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True)


def _metric_logs(loss_mean, metric_objs, prefix: str = "") -> dict:
    logs = {prefix + "loss": loss_mean.result()}
    for m in metric_objs:
        logs[prefix + m.name] = m.result()
    return logs


def _epoch_batches(x, y, batch_size, shuffle, rng, augment, prefetch):
    """One epoch of ``(xb Tensor, yb)``. Plain arrays are gathered batch by batch; with online
    augmentation a ``BatchLoader`` augments in a background thread (its generator is seeded
    from svertka's, so ``set_random_seed`` still makes the run repeat)."""
    if augment is None:
        order = rng.permutation(len(x)) if shuffle else None
        for idx in _batches(len(x), batch_size, order):
            yield _batch_x(x, idx), y[idx]
        return
    from svertka.datasets.loader import BatchLoader

    loader = BatchLoader(x, y, batch_size, shuffle=shuffle, rng=int(rng.integers(2**63)),
                         augment=augment, prefetch=prefetch)
    with contextlib.closing(iter(loader)) as batches:
        for xb, yb in batches:
            yield Tensor(asarray(xb)), yb


def fit(model, x, y, batch_size=32, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
        augment=None, prefetch=2):
    name = f"{model.name}.fit"
    _require_compiled(model, "fit")
    x, y = _check_xy(model, x, y, name)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"{name}: argument 'batch_size' must be a positive int, received "
                         f"{batch_size!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"{name}: argument 'validation_split' must be in [0, 1), received "
                         f"{validation_split!r}")
    if validation_data is None and validation_split > 0:
        split = int(len(x) * (1.0 - validation_split))  # Keras takes the last part, unshuffled
        x, x_val = x[:split], x[split:]
        y, y_val = y[:split], y[split:]
        validation_data = (x_val, y_val)
    elif validation_data is not None:
        validation_data = _check_xy(model, *validation_data[:2], name + " (validation_data)")
    verbose = 1 if verbose == "auto" else int(verbose)
    if isinstance(augment, str):
        from svertka import augment as augment_mod

        augment = augment_mod.get(augment)
    n = len(x)
    steps = -(-n // batch_size)
    history = callbacks_mod.History()
    cbs = callbacks_mod.CallbackList([*(callbacks or []), history], model=model)
    cbs.set_params({"epochs": epochs, "steps": steps, "verbose": verbose,
                    "batch_size": batch_size})
    params = _trainable_params(model)
    loss_mean = metrics.Mean(name="loss")
    model.stop_training = False
    model.interrupted = False
    rng = _random.generator()
    logs: dict = {}
    with _interrupt_guard(model), region():
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            loss_mean.reset_state()
            for m in model.compiled_metrics:
                m.reset_state()
            cbs.on_epoch_begin(epoch, {})
            bar = _progress(steps, f"Epoch {epoch + 1}/{epochs}", verbose)
            batches = _epoch_batches(x, y, batch_size, shuffle, rng, augment, prefetch)
            for step, (xb, yb) in enumerate(batches):
                cbs.on_train_batch_begin(step, {})
                loss, out = train_step(model, xb, yb, params)
                loss_mean.update_state(loss, sample_weight=len(yb))
                for m in model.compiled_metrics:
                    m.update_state(yb, to_numpy(out))
                running = _metric_logs(loss_mean, model.compiled_metrics)
                # callbacks get this iteration's loss (History keeps them all); the bar shows
                # the epoch's running mean
                cbs.on_train_batch_end(step, {**running, "loss": loss})
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(running, refresh=False)
                if model.stop_training:
                    break
            batches.close()  # stops a loader's background thread at once
            if model.interrupted:  # a partial epoch: its iterations stay in history.batch_losses
                if bar is not None:
                    bar.close()
                break
            logs = _metric_logs(loss_mean, model.compiled_metrics)
            if validation_data is not None:
                logs.update(_evaluate(model, *validation_data, batch_size, prefix="val_"))
            if bar is not None:
                bar.set_postfix(logs, refresh=True)
                bar.close()
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - " +
                      " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            cbs.on_epoch_end(epoch, logs)
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
    name = f"{model.name}.evaluate"
    _require_compiled(model, "evaluate")
    x, y = _check_xy(model, x, y, name)
    logs = _evaluate(model, x, y, batch_size)
    verbose = 1 if verbose == "auto" else int(verbose)
    if verbose:
        print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=32, verbose=0, tta=1, tta_augment=None) -> np.ndarray:
    """Outputs batch by batch; with ``tta > 1`` each is the mean over ``tta`` copies of the
    image, the first unaugmented, the rest augmented by ``tta_augment`` (default: flips and
    small shifts, see ``svertka.augment.tta``)."""
    x = _as_array(x, "x", f"{model.name}.predict")

    def plain(data):
        outs = []
        with no_grad(), region():
            for idx in _batches(len(data), batch_size):
                outs.append(to_numpy(model(_batch_x(data, idx), training=False).data))
        if outs:
            return np.concatenate(outs)
        return np.zeros((0, *model.output_shape[1:]), np.float32)

    if not isinstance(tta, int) or tta < 1:
        raise ValueError(f"{model.name}.predict: argument 'tta' must be an int >= 1, "
                         f"received {tta!r}")
    if tta == 1:
        return plain(x)
    from svertka import augment as augment_mod
    from svertka.augment.tta import tta_predict

    if isinstance(tta_augment, str):
        tta_augment = augment_mod.get(tta_augment)
    return tta_predict(plain, x, n=tta, augment=tta_augment, rng=_random.generator(),
                       batch_size=batch_size)
