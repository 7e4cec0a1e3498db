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
``svertka.models.progress``. Under ``mpiexec`` after ``svertka.distributed.init()``, ``fit``
is data-parallel: its few hooks here call into ``svertka.distributed`` (see there).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings

import numpy as np

from svertka import callbacks as callbacks_mod
from svertka import distributed, losses, metrics, optimizers
from svertka import random as _random
from svertka.autograd import Tensor, no_grad
from svertka.backend import asarray, to_numpy
from svertka.callbacks.divergence import DivergenceCheck
from svertka.checks import flag, non_negative_int, positive_int
from svertka.distributed import fit as dist_fit
from svertka.distributed.gradients import Averager
from svertka.models import arguments, compiled, sources
from svertka.models.progress import EpochProgress, format_logs
from svertka.parallel import region


def compile_model(model, optimizer, loss, metric_list, loss_weights=None,
                  weighted_metrics=None) -> None:
    """Keras 3's ``compile``: see :mod:`svertka.models.compiled` for the per-output rules.
    ``loss=None`` is allowed (the model's ``add_loss`` terms are then the loss); ``fit``
    refuses to start when there is no loss at all."""
    where = f"{model.name}.compile"
    model.optimizer = optimizers.get(optimizer)
    model.optimizer.bind(model)  # per-layer rates (LayerRates) learn the model's layers
    names = compiled.output_names(model)
    if isinstance(loss, dict) and "class_name" in loss and "class_name" not in names:
        loss = losses.get(loss)  # one loss's saved config, not a dict per output
    model._compiled_loss = cl = compiled.CompiledLoss(where, loss, loss_weights, names)
    model.loss = cl.fns[0] if len(names) == 1 else loss
    # the loss object itself, so "accuracy" after BinaryCrossentropy(from_logits=True)
    # thresholds the logits at 0
    fns = [loss if isinstance(loss, str) and len(names) == 1 else f for f in cl.fns]
    cm = model._compiled_metrics = compiled.CompiledMetrics(where, metric_list,
                                                            weighted_metrics, names, fns)
    model.compiled_metrics = cm.objects
    model._compile_config = {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serializable_losses(loss, cl, names),
        "metrics": _serializable_metrics(metric_list, cm, names, weighted=False),
    }
    if loss_weights is not None:
        model._compile_config["loss_weights"] = (
            dict(zip(names, cl.weights)) if len(names) > 1 else cl.weights[0])
    if weighted_metrics:
        model._compile_config["weighted_metrics"] = _serializable_metrics(
            weighted_metrics, cm, names, weighted=True)


def _serializable_losses(loss, cl, names):
    """The loss as saved: one loss's description, or a dict of them keyed by output name."""
    if len(names) == 1 or not isinstance(loss, (list, tuple, dict)):
        return None if cl.fns[0] is None else _serializable_loss(cl.fns[0])
    return {name: None if f is None else _serializable_loss(f) for name, f in zip(names, cl.fns)}


def _serializable_metrics(given, cm, names, weighted: bool):
    """Metrics as saved: a list for one output, a dict of lists keyed by output name for
    several (see ``_serializable_metric``)."""
    if given is None:
        return [] if not weighted else None
    saved = [(i, _serializable_metric(ident, obj))
             for (i, ident, w), obj in zip(cm.entries, cm.objects)
             if w == weighted]
    if len(names) == 1:
        return [s for _, s in saved]
    return {name: [s for i, s in saved if i == k] for k, name in enumerate(names)}


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
    if model.optimizer is None or getattr(model, "_compiled_loss", None) is None:
        raise ValueError(f"{model.name}.{what}: call compile(optimizer=..., loss=...) first")


def _outputs(model, out) -> list:
    """The model's outputs as a list, in ``output_names`` order."""
    if isinstance(out, dict):
        return [out[k] for k in compiled.output_names(model)]
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _forward(model, xts: list, training: bool) -> list:
    return _outputs(model, model(xts[0] if len(xts) == 1 else xts, training=training))


def _penalties(model) -> list:
    """The ``add_loss`` terms of the latest forward pass and the weight penalties: Keras's
    ``model.losses``."""
    return model.losses


def _loss_terms(model, ys, outs, sample_weight=None) -> tuple[Tensor, list]:
    """The total loss (compiled losses, weighted, plus penalties and ``add_loss`` terms) and
    each output's term."""
    cl = model._compiled_loss
    if len(outs) != len(cl.names):
        raise ValueError(f"{model.name}: the model returned {len(outs)} outputs, compile() "
                         f"was given losses for {len(cl.names)} ({cl.names})")
    total, parts = cl(ys, outs, sample_weight)
    for term in _penalties(model):
        total = term if total is None else total + term
    if total is None:
        raise ValueError(f"{model.name}: no loss to compute; give compile() a 'loss', or "
                         f"add one in the model with add_loss()")
    return total, parts


def weights_lock(model):
    """The lock a running ``svertka.Trainer`` holds over each training step of ``model``, and
    ``predict`` over each batch, so a prediction made while it trains sees whole steps; a
    no-op otherwise."""
    return model.__dict__.get("_trainer_lock") or contextlib.nullcontext()


def trainable_params(model) -> list[Tensor]:
    """The model's trainable weights, then those of its losses (``AdaptiveRobustLoss``)."""
    fns = getattr(getattr(model, "_compiled_loss", None), "fns", [model.loss])
    _build_losses(model, fns)
    return model.trainable_weights + [w for f in fns for w in getattr(f, "trainable_weights", [])]


def _build_losses(model, fns: list) -> None:
    """A loss with weights per output dimension not made yet (``AdaptiveRobustLoss()``
    without ``num_dims``) gets them for its output's size, before the optimiser, a backup or
    the other ranks list the weights; an output whose size is not known yet (a subclassed
    model) leaves its loss to make them on the first batch."""
    if all(getattr(f, "built", True) for f in fns):
        return
    outputs = getattr(model, "outputs", None) or []
    for f, out in zip(fns, outputs if len(outputs) == len(fns) else []):
        shape = tuple(out.shape)
        if not getattr(f, "built", True) and callable(getattr(f, "build", None)) and (
                shape[-1] is not None):
            f.build(shape[-1] if len(shape) >= 2 else 1)


def _step(model, xts: list, ys, sample_weight, params) -> tuple[float, list, list, tuple]:
    """One optimisation step: the loss value, the output Tensors, each output's term, and the
    whole batch's ``(mean loss, size)``. On several ranks (``svertka.distributed``) the
    gradients are averaged over all ranks' samples before the update, and that pair is the
    global batch's (the first three stay this rank's); a rank whose share of the batch is
    empty has no outputs."""
    n = len(xts[0])
    many = distributed.active()
    share = dist_fit.step_share(n) if many else contextlib.nullcontext()
    sums = Averager(params, n) if many else None  # started as backward finishes each bucket
    # svertka's threads own the cores (see svertka.parallel); a Trainer's lock, if one runs
    with region(), share, weights_lock(model):
        if n or not many:
            outs = _forward(model, xts, True)
            loss, parts = _loss_terms(model, ys, outs, sample_weight)
            value = float(loss.item())
            loss.backward(leaf_ready=sums.ready if many else None)
        else:
            outs, parts, value = None, [], 0.0
            if dist_fit.synchronised(model):  # take part in the batch norms' sums, in order
                stand_in = _forward(model, dist_fit.stand_in(xts), True)
                _loss_terms(model, dist_fit.stand_in(ys), stand_in)[0].backward(
                    leaf_ready=sums.ready)
        batch = sums.finish(value) if many else (value, n)
        model.optimizer.apply_gradients(params)
        for p in params:
            p.grad = None
            if getattr(p, "constraint", None) is not None:
                _constrain(p)
    return value, outs, parts, batch


def _constrain(p: Tensor) -> None:
    """Keras's weight constraint (``add_weight(constraint=...)``): the updated weight is
    replaced by ``constraint(weight)``, of the same shape."""
    with no_grad():
        value = p.constraint(p)
    data = value.data if isinstance(value, Tensor) else value
    if tuple(data.shape) != tuple(p.shape):
        raise ValueError(f"{p.name}: its constraint returned shape {tuple(data.shape)}, the "
                         f"weight has shape {tuple(p.shape)}")
    p.data = asarray(data, dtype=p.dtype)


def train_step(model, xb, yb, params) -> tuple[float, object]:
    """One optimisation step on one batch (a Tensor, or a list for several inputs); returns
    the loss value and the model's output array (the list of them for several outputs)."""
    xts = list(xb) if isinstance(xb, (list, tuple)) else [xb]
    many = len(model._compiled_loss.names) > 1
    loss, outs, _, _ = _step(model, xts, list(yb) if many else [yb], None, params)
    return loss, [o.data for o in outs] if many else outs[0].data


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


class _Tracker:
    """The running means of an epoch or an evaluation: the loss, each output's loss (when
    there are several) and the compiled metrics, with their log names."""

    def __init__(self, model):
        cl, self.cm = model._compiled_loss, model._compiled_metrics
        self.loss = metrics.Mean(name="loss")
        self.parts = [metrics.Mean(name=n) for n in cl.log_names]

    @property
    def states(self) -> list:
        return [self.loss, *self.parts, *self.cm.objects]

    def reset(self) -> None:
        for m in self.states:
            m.reset_state()

    def update(self, loss: float, parts: list, ys, outs, sw) -> None:
        if outs is None:  # this rank's share of the batch was empty
            return
        n = len(outs[0])
        self.loss.update_state(loss, sample_weight=n)
        for m, p in zip(self.parts, parts):
            m.update_state(float(p.item()), sample_weight=n)
        if ys is not None:
            self.cm.update(ys, outs, sw)

    def global_logs(self, prefix: str = "") -> dict:
        """The logs over every rank's samples when training is sharded over several."""
        return dist_fit.global_logs(self, prefix) if distributed.active() else self.logs(prefix)

    def logs(self, prefix: str = "") -> dict:
        logs = {prefix + "loss": self.loss.result()}
        for m in self.parts:
            logs[prefix + m.name] = m.result()
        for name, m in zip(self.cm.log_names, self.cm.objects):
            logs[prefix + name] = m.result()
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
        """Every metric's variables as JSON-ready lists (a mean's are its total and count),
        summed over the ranks when there are several."""
        if distributed.active():
            return dist_fit.metric_state(self._metrics)
        return [[np.asarray(v.numpy()).tolist() for v in m.variables] for m in self._metrics]

    def set_metric_state(self, state) -> None:
        if not distributed.is_main():  # rank 0 holds the sums of all ranks
            return
        for m, values in zip(self._metrics, state):
            for v, value in zip(m.variables, values):
                v.assign(np.asarray(value, dtype=v.dtype))


def _epoch_seed(shuffle: bool, augment) -> int | None:
    """One draw from svertka's generator per epoch that shuffles or augments."""
    if not shuffle and augment is None:
        return None
    seed = int(_random.generator().integers(2**63))
    return dist_fit.broadcast(seed) if distributed.active() else seed


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


def _stop(model) -> bool:
    """``model.stop_training``, agreed by every rank when there are several (and
    ``model.interrupted``: a Ctrl-C seen by one rank is taken by all)."""
    if distributed.active():
        model.stop_training, model.interrupted = dist_fit.any_rank(model.stop_training,
                                                                   model.interrupted)
    return model.stop_training


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1, augment=None, prefetch=2):
    name = f"{model.name}.fit"
    _require_compiled(model, "fit")
    if batch_size is not None:
        batch_size = positive_int(name, "batch_size", batch_size)
    epochs, initial_epoch = arguments.epochs_range(name, epochs, initial_epoch)
    split = arguments.validation_fraction(name, validation_split)
    shuffle = flag(name, "shuffle", shuffle)
    prefetch = non_negative_int(name, "prefetch", prefetch)
    verbose = arguments.verbosity(name, verbose)
    if not distributed.is_main():  # on several ranks, rank 0 alone prints
        verbose = 0
    validation_freq = positive_int(name, "validation_freq", validation_freq)
    if steps_per_epoch is not None:
        steps_per_epoch = positive_int(name, "steps_per_epoch", steps_per_epoch)
    names = compiled.output_names(model)
    need_y = bool(model._compiled_loss.terms)
    data = sources.source(name, model, names, x, y, sample_weight, batch_size, steps_per_epoch,
                          class_weight, need_y=need_y, shuffle=shuffle)
    if isinstance(augment, str):
        from svertka import augment as augment_mod

        augment = augment_mod.get(augment)
    if augment is not None and not (isinstance(data, sources.Arrays) and len(data.xs) == 1):
        raise ValueError(f"{name}: argument 'augment' works on one input array; augment a "
                         f"dataset or generator in its own code")
    val_size = validation_batch_size if validation_batch_size is not None else batch_size
    if validation_data is not None:
        validation = _validation_source(model, name, names, validation_data, val_size,
                                        validation_steps, need_y)
    elif split > 0:
        if not isinstance(data, sources.Arrays):
            raise ValueError(f"{name}: argument 'validation_split' needs arrays; for a "
                             f"{type(x).__name__} give validation_data")
        data, validation = data.split(name, split)
        if val_size is not None:
            validation.batch_size = val_size
    else:
        validation = None
    if data.first_x is not None:
        model._build_for(data.first_x)  # an unbuilt model: weights before the first step
    if distributed.active():
        dist_fit.prepare(name, model, data, validation)
    steps = data.steps
    history = callbacks_mod.History()
    cbs = callbacks_mod.CallbackList([*(callbacks or []), history], model=model)
    cbs.set_params({"epochs": epochs, "steps": steps, "verbose": verbose,
                    "batch_size": getattr(data, "batch_size", None),
                    "samples": getattr(data, "n", None)})
    tracker = _Tracker(model)
    model.stop_training = False
    model.interrupted = False
    model.divergence = None
    guard = DivergenceCheck(model)
    position = model._fit_position = FitPosition(initial_epoch, tracker.loss,
                                                 tracker.states[1:])
    logs: dict = {}
    built = data.first_x is not None
    with distributed.abort_on_error(), _interrupt_guard(model), region():
        cbs.on_train_begin({})
        resume = model.__dict__.pop("_fit_resume", None)  # set by BackupAndRestore
        for epoch in range(initial_epoch if resume is None else resume["epoch"], epochs):
            tracker.reset()
            cbs.on_epoch_begin(epoch, {})
            if resume is not None and resume["batch"] > 0:
                seed, done = resume["epoch_seed"], resume["batch"]
                position.set_metric_state(resume["metrics"])
            else:
                seed, done = _epoch_seed(shuffle, augment), 0
            resume = None
            position.epoch, position.batch, position.epoch_seed = epoch, done, seed
            progress = EpochProgress(epoch, epochs, steps, verbose, done)
            batches = data.batches(shuffle, seed, augment, prefetch, done)
            step = done - 1
            for step, (xts, ys, sw) in enumerate(batches, start=done):
                if not built:  # a dataset's first batch tells an unbuilt model its input
                    model._build_for(xts[0].data if len(xts) == 1 else [t.data for t in xts])
                    built = True
                cbs.on_train_batch_begin(step, {})
                # taken every step: a layer frozen or unfrozen since (by a callback, say)
                # stops or starts training at once
                loss, outs, parts, (batch_loss, size) = _step(model, xts, ys, sw,
                                                              trainable_params(model))
                tracker.update(loss, parts, ys, outs, sw)
                position.batch = step + 1
                running = tracker.global_logs()  # over all ranks' samples, on several
                # as Keras, "loss" is the epoch's running mean; "batch_loss" is this
                # iteration's (History keeps them all) and "size" the batch's
                cbs.on_train_batch_end(step, {**running, "batch_loss": batch_loss,
                                              "size": size})
                progress.update(running)
                _diverged(model, guard.batch(batch_loss, size),
                          f"epoch {epoch + 1}, batch {step + 1}")
                if _stop(model):
                    break
            batches.close()  # stops a loader's background thread at once
            _stop(model)
            if model.interrupted:  # a partial epoch: its iterations stay in history.batch_losses
                progress.interrupted()
                break
            if step < 0 and getattr(data, "exhausted", False):  # the adapter warned
                break
            logs = tracker.global_logs()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                logs.update(_evaluate(model, validation, prefix="val_", cbs=cbs))
            if steps is None or position.batch == steps:  # a complete epoch
                model.epochs_trained += 1
                position.epoch, position.batch, position.epoch_seed = epoch + 1, 0, None
            data.on_epoch_end()
            progress.end(logs)
            cbs.on_epoch_end(epoch, logs)
            _diverged(model, guard.epoch_end(), f"the end of epoch {epoch + 1}")
            if _stop(model):
                break
        cbs.on_train_end(logs)
    data.close()
    model.history = history
    return history


def _validation_source(model, where, names, validation_data, batch_size, steps, need_y):
    from svertka.models import data_adapters

    if not data_adapters.is_plain(validation_data) and not isinstance(validation_data, tuple):
        return sources.source(where, model, names, validation_data, steps=steps,
                              kind="evaluate")
    if not isinstance(validation_data, (tuple, list)) or not 2 <= len(validation_data) <= 3:
        raise ValueError(f"{where}: argument 'validation_data' must be a tuple (x_val, y_val) "
                         f"or (x_val, y_val, val_sample_weight), or a dataset, received "
                         f"{type(validation_data).__name__}")
    x, y, *sw = validation_data
    return sources.source(where, model, names, x, y, sw[0] if sw else None, batch_size, steps,
                          kind="evaluate", need_y=need_y,
                          args=("validation_data[0]", "validation_data[1]",
                                "validation_data[2]"))


def _evaluate(model, data, prefix: str = "", cbs=None) -> dict:
    """Loss and metrics over a source's batches; ``cbs`` get Keras's ``on_test_*`` calls."""
    tracker = _Tracker(model)  # the compiled metrics: the epoch's values were read before
    tracker.reset()
    sharded = getattr(data, "part", None) is not None  # see svertka.distributed
    if cbs is not None:
        cbs.on_test_begin({})
    with no_grad(), region():
        for b, (xts, ys, sw) in enumerate(data.batches()):
            if sharded and not len(xts[0]):  # this rank's empty share of the last batch
                continue
            if cbs is not None:
                cbs.on_test_batch_begin(b, {})
            outs = _forward(model, xts, False)
            loss, parts = _loss_terms(model, ys, outs, sw)
            tracker.update(float(loss.item()), parts, ys, outs, sw)
            if cbs is not None:
                cbs.on_test_batch_end(b, tracker.logs())
    data.on_epoch_end()
    logs = tracker.global_logs(prefix) if sharded else tracker.logs(prefix)
    if cbs is not None:
        cbs.on_test_end(tracker.logs())
    return logs


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False):
    """Loss and metrics over ``x, y``; ``verbose`` 1, 2 or "auto" prints them on one line."""
    name = f"{model.name}.evaluate"
    _require_compiled(model, "evaluate")
    if batch_size is not None:
        batch_size = positive_int(name, "batch_size", batch_size)
    if steps is not None:
        steps = positive_int(name, "steps", steps)
    verbose = arguments.verbosity(name, verbose)
    return_dict = flag(name, "return_dict", return_dict)
    names = compiled.output_names(model)
    data = sources.source(name, model, names, x, y, sample_weight, batch_size, steps,
                          kind="evaluate", need_y=bool(model._compiled_loss.terms))
    cbs = callbacks_mod.CallbackList(callbacks, model=model,
                                     params={"epochs": 1, "steps": data.steps,
                                             "verbose": verbose})
    try:
        logs = _evaluate(model, data, cbs=cbs)
    finally:
        data.close()
    if verbose and distributed.is_main():
        print(format_logs(logs), flush=True)
    return _returned(logs, return_dict)


def batch_rows(where: str, x) -> int:
    """The samples in one batch ``x`` (an array, or a list or dict of them): the batch size
    that takes it whole."""
    first = next(iter(x.values()), None) if isinstance(x, dict) else (
        x[0] if isinstance(x, (list, tuple)) and x else x)
    shape = getattr(first, "shape", None)
    if shape is None or len(shape) == 0 or shape[0] == 0:
        raise ValueError(f"{where}: argument 'x' must be one non-empty batch (an array, or a "
                         f"list or dict of arrays), received {type(x).__name__}"
                         f"{'' if shape is None else f' of shape {tuple(shape)}'}")
    return int(shape[0])


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None,
                   return_dict=False):
    """One gradient step on the batch ``x, y``, as Keras 3's: the metrics are reset first, so
    the loss and metrics returned are this batch's (a float, a list, or a dict)."""
    name = f"{model.name}.train_on_batch"
    _require_compiled(model, "train_on_batch")
    return_dict = flag(name, "return_dict", return_dict)
    data = sources.source(name, model, compiled.output_names(model), x, y, sample_weight,
                          batch_rows(name, x), class_weight=class_weight,
                          need_y=bool(model._compiled_loss.terms))
    if data.first_x is not None:
        model._build_for(data.first_x)
    tracker = _Tracker(model)
    tracker.reset()
    for xts, ys, sw in data.batches():
        loss, outs, parts, _ = _step(model, xts, ys, sw, trainable_params(model))
        tracker.update(loss, parts, ys, outs, sw)
    return _returned(tracker.global_logs(), return_dict)


def _returned(logs: dict, return_dict: bool):
    """Keras's answer of ``evaluate`` and ``*_on_batch``: the logs, or the loss alone, or the
    list ``[loss, metric, ...]``."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _joined(model, parts: list):
    """The batches' outputs (``parts[b][k]``: batch b, output k) joined per output: one array,
    a list of them, or a dict for a model built on a dict of outputs, as Keras's."""
    joined = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]  # copies
    keys = getattr(model, "_output_keys", None)
    if keys:
        return dict(zip(keys, joined))
    return joined[0] if len(joined) == 1 else joined


def predict(model, x, batch_size=None, verbose=0, steps=None, callbacks=None, tta=1,
            tta_augment=None):
    """Outputs batch by batch (a list of arrays for a model of several outputs, a dict for
    one built on a dict of outputs); with
    ``tta > 1`` each is the mean over ``tta`` copies of the image, the first unaugmented, the
    rest augmented by ``tta_augment`` (default: flips and small shifts, see
    ``svertka.augment.tta``). Prints nothing (``verbose`` is checked and accepted for
    Keras's signature). ``callbacks`` get Keras's ``on_predict_*`` calls."""
    name = f"{model.name}.predict"
    if batch_size is not None:
        batch_size = positive_int(name, "batch_size", batch_size)
    if steps is not None:
        steps = positive_int(name, "steps", steps)
    arguments.verbosity(name, verbose)
    tta = positive_int(name, "tta", tta)
    if (type(x) is np.ndarray and x.ndim and 0 < len(x) <= (batch_size or 32) and steps is None
            and not callbacks and tta == 1 and len(getattr(model, "inputs", None) or ()) == 1):
        # one array of one batch for a model of one input (one image, say): what the batch
        # source and callback machinery below would come to, without their cost
        with no_grad(), region(len(x)), weights_lock(model):
            xts = [sources.batch_tensor(x)]
            return _joined(model, [[to_numpy(o.data) for o in _forward(model, xts, False)]])
    names = compiled.output_names(model)
    data = sources.source(name, model, names, x, None, None, batch_size, steps,
                          kind="predict")
    cbs = callbacks_mod.CallbackList(callbacks, model=model,
                                     params={"epochs": 1, "steps": data.steps,
                                             "verbose": verbose})

    def one_batch(source) -> bool:
        """Arrays that make one whole batch, and no callback to call."""
        return (not len(cbs) and type(source) is sources.Arrays and source.steps == 1
                and source.n <= source.batch_size and source.part is None)

    def plain(source):
        parts = []
        if one_batch(source):  # the loop below, without its machinery (one image, say)
            with no_grad(), region(source.n), weights_lock(model):
                xts = [sources.batch_tensor(v, slice(0, source.n)) for v in source.xs]
                parts.append([to_numpy(o.data) for o in _forward(model, xts, False)])
        else:
            cbs.on_predict_begin({})
            with no_grad(), region(getattr(source, "n", None)):  # one sample: see region
                for b, (xts, _, _) in enumerate(source.batches()):
                    cbs.on_predict_batch_begin(b, {})
                    with weights_lock(model):
                        outs = [to_numpy(o.data) for o in _forward(model, xts, False)]
                    parts.append(outs)
                    cbs.on_predict_batch_end(b, {"outputs": outs[0] if len(outs) == 1
                                                 else outs})
            cbs.on_predict_end({})
        if not parts:
            raise ValueError(f"{name}: argument 'x' gave no batch")
        return _joined(model, parts)

    try:
        if tta == 1:
            return plain(data)
        if not isinstance(data, sources.Arrays) or len(data.xs) != 1:
            raise ValueError(f"{name}: argument 'tta' works on one input array")
        from svertka import augment as augment_mod
        from svertka.augment.tta import tta_predict

        if isinstance(tta_augment, str):
            tta_augment = augment_mod.get(tta_augment)
        size = data.batch_size
        return tta_predict(lambda a: plain(sources.Arrays([a], None, None, size)), data.xs[0],
                           n=tta, augment=tta_augment, rng=_random.generator(),
                           batch_size=size)
    finally:
        data.close()
