"""The notes' background ``Trainer`` (seed 000, after DeepLearning.scala's CIFAR-10 tutorial):
training runs in a thread while the notebook stays usable.

::

    trainer = svertka.Trainer(model, batch_size=50, epochs=5)       # a compiled model, or
    trainer = svertka.Trainer(loss_function, 50, params=[w, b], optimizer="adam")
    trainer.start_train(x, y)   # returns at once
    trainer.plot_loss()         # the loss of every iteration so far, at any moment
    trainer.interrupt()         # stop after the current batch; the weights stay as they are
    trainer.join()              # wait; re-raises what the training raised

Two forms. Given a compiled model, each iteration is the model's own training step: the thread
runs ``model.fit(x, y, batch_size, epochs, shuffle=...)`` with a callback that records each
batch's loss and turns ``interrupt()`` into ``model.stop_training`` (what Ctrl-C does in
``fit``), so an uninterrupted run ends on the very weights of that ``fit``. Given, as the notes
write it, a function ``loss_fn(x, y) -> scalar Tensor`` over explicit weight Tensors, each
iteration clears the ``params``' gradients, computes the batch's loss, runs ``backward`` and
``optimizer.apply_gradients(params)``.

Every iteration appends its loss to ``losses`` and logs ``epoch=E iteration=I batch_size=B
loss=L`` (epoch and iteration counted from 0, as the notes log them; B is that batch's size) on
the logger ``"svertka.trainer"``; the end of a run logs ``Done``. An exception in the thread
ends the run, is logged with its traceback and is raised again by ``join()``. Ctrl-C while
``join()`` waits interrupts the training, as in ``fit``.

Reading the weights while the thread trains: each training step runs holding ``lock`` (an
``RLock``), and ``model.predict`` takes it for each of its batches while a Trainer runs on
that model, so a prediction sees whole steps only, never half of an update (nor a batch
norm's moving statistics half updated). ``model(x)`` called directly, or a loss function's
own network, should be called under ``with trainer.lock:``. Without a running Trainer
nothing is locked.

>>> import numpy as np, svertka
>>> from svertka import ops
>>> w = svertka.Tensor(np.zeros((2, 1)), requires_grad=True)
>>> def loss_fn(x, y):
...     return ((ops.matmul(x, w) - y) ** 2).mean()
>>> trainer = svertka.Trainer(loss_fn, batch_size=2, epochs=40, params=[w],
...                           optimizer=svertka.optimizers.SGD(0.5))
>>> trainer.start_train(np.eye(2), np.array([[1.0], [2.0]]))
>>> trainer.join()
>>> np.round(w.numpy().ravel(), 3).tolist(), len(trainer.losses), trainer.done
([1.0, 2.0], 40, True)
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from svertka import optimizers
from svertka import random as _random
from svertka.autograd import Tensor
from svertka.callbacks import Callback
from svertka.checks import flag, non_negative_int, positive_int
from svertka.models import Model
from svertka.parallel import region

logger = logging.getLogger("svertka.trainer")


class Trainer:
    """Train in a background thread: ``start_train``, ``interrupt``, ``plot_loss``, ``join``.

    Args:
        model_or_loss_fn: a compiled svertka ``Model``, or a function ``loss_fn(x, y)``
            returning a scalar Tensor, called with each batch of the arrays given to
            ``start_train``.
        batch_size, epochs: samples a step and passes over the data (5 epochs, as the notes).
        params: for a loss function, the weight Tensors it trains.
        optimizer: for a loss function, an svertka optimizer or its name.
        shuffle: draw a new order of the samples each epoch.
        seed: the seed of that order. For a model, ``start_train`` calls
            ``svertka.utils.set_random_seed(seed)`` (shuffling and dropout then repeat, as a
            ``fit`` after the same call); for a loss function, the order comes from its own
            generator of that seed. None: drawn from svertka's generator.
        **fit_kwargs: for a model, more arguments of ``model.fit`` (``validation_data``,
            ``callbacks``, ``augment``, ``verbose`` (0 unless given), ...).
    """

    def __init__(self, model_or_loss_fn, batch_size, epochs=5, *, params=None, optimizer=None,
                 shuffle=True, seed=None, **fit_kwargs):
        where = "Trainer"
        self.batch_size = positive_int(where, "batch_size", batch_size)
        self.epochs = positive_int(where, "epochs", epochs)
        self.shuffle = flag(where, "shuffle", shuffle)
        self.seed = None if seed is None else non_negative_int(where, "seed", seed)
        target = model_or_loss_fn
        self.model = self.loss_fn = self.optimizer = None
        self.params: list[Tensor] = []
        if isinstance(target, Model):
            if params is not None or optimizer is not None:
                raise TypeError(f"{where}: arguments 'params' and 'optimizer' are for a loss "
                                f"function; model {target.name!r} trains its own weights with "
                                f"the optimizer given to compile()")
            if target.optimizer is None or getattr(target, "_compiled_loss", None) is None:
                raise ValueError(f"{where}: model {target.name!r} is not compiled; call "
                                 f"model.compile(optimizer=..., loss=...) first")
            self.model = target
        elif callable(target):
            if fit_kwargs:
                raise TypeError(f"{where}: unexpected keyword arguments {sorted(fit_kwargs)} "
                                f"(model.fit's, for a compiled model)")
            self.params = list(params) if params is not None else []
            bad = [type(p).__name__ for p in self.params if not isinstance(p, Tensor)]
            if not self.params or bad:
                raise ValueError(f"{where}: argument 'params' must be a non-empty list of the "
                                 f"weight Tensors the loss function trains, received "
                                 f"{bad or params!r}")
            if optimizer is None:
                raise ValueError(f"{where}: argument 'optimizer' is required with a loss "
                                 f"function (an svertka optimizer or its name, e.g. 'adam')")
            self.optimizer = optimizers.get(optimizer)
            self.loss_fn = target
        else:
            raise TypeError(f"{where}: argument 'model_or_loss_fn' must be a compiled svertka "
                            f"Model or a function loss_fn(x, y) -> scalar Tensor, received "
                            f"{type(target).__name__}")
        self.fit_kwargs = fit_kwargs
        self.lock = threading.RLock()
        self.history = None  # what the model's fit returned, for a model
        self.error: BaseException | None = None
        self._losses: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the notes' interface ----------------------------------------------------------------
    def start_train(self, x, y=None) -> None:
        """Start training on ``x, y`` in a background thread and return at once. Training again
        after a run goes on from the weights it left, and ``losses`` keeps growing."""
        if self.running:
            raise RuntimeError("Trainer.start_train: training is already running; call "
                               "interrupt() and join() before starting it again")
        if self.model is not None:
            if self.model.__dict__.get("_trainer_lock") is not None:
                raise RuntimeError(f"Trainer.start_train: another Trainer is training model "
                                   f"{self.model.name!r}")
            if self.seed is not None:
                from svertka.utils import set_random_seed

                set_random_seed(self.seed)
            run, data = self._fit, (x, y)
        else:
            run, data = self._loop, _arrays(x, y)
        self._stop.clear()
        self.error = None
        if self.model is not None:
            self.model._trainer_lock = self.lock  # see svertka.models.training.weights_lock
        self._thread = threading.Thread(target=self._run, args=(run, *data),
                                        name="svertka.Trainer", daemon=True)
        self._thread.start()

    def interrupt(self) -> None:
        """Stop after the current batch; the weights stay as that batch left them."""
        self._stop.set()

    def plot_loss(self, path=None):
        """The loss of every iteration so far (also while training runs): a matplotlib Figure,
        shown by a notebook as a cell's value, saved to ``path`` when given."""
        losses = self.losses
        if not losses:
            raise ValueError("Trainer.plot_loss: no iteration has finished yet, there is no "
                             "loss to plot")
        from svertka.viz import plot_loss

        return plot_loss(losses, path)

    # -- waiting and state -------------------------------------------------------------------
    def join(self, timeout=None) -> None:
        """Wait for the training to end (at most ``timeout`` seconds); raise what it raised.
        Ctrl-C while waiting interrupts it and waits for the current batch to finish."""
        if self._thread is None:
            raise RuntimeError("Trainer.join: start_train() has not been called")
        try:
            self._thread.join(timeout)
        except KeyboardInterrupt:
            self.interrupt()
            self._thread.join()
        if self.error is not None and not self._thread.is_alive():
            raise self.error

    @property
    def losses(self) -> list[float]:
        """A copy of the loss of every iteration so far, in order."""
        return list(self._losses)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def done(self) -> bool:
        """True once a started run has ended: finished, interrupted or failed."""
        return self._thread is not None and not self._thread.is_alive()

    def __repr__(self) -> str:
        state = "running" if self.running else "done" if self.done else "not started"
        return f"<Trainer {state}, {len(self._losses)} iterations>"

    # -- the thread --------------------------------------------------------------------------
    def _run(self, run, x, y) -> None:
        try:
            run(x, y)
        except BaseException as e:  # kept for join(), and logged: never lost silently
            self.error = e
            logger.error("training stopped by %s: %s", type(e).__name__, e, exc_info=e)
        else:
            logger.info("Done")
        finally:
            if self.model is not None:
                self.model.__dict__.pop("_trainer_lock", None)

    def _record(self, epoch: int, iteration: int, size: int, loss: float) -> None:
        self._losses.append(loss)
        logger.info("epoch=%d iteration=%d batch_size=%d loss=%s", epoch, iteration, size, loss)

    def _fit(self, x, y) -> None:
        kwargs = dict(self.fit_kwargs)
        kwargs.setdefault("verbose", 0)
        callbacks = [*(kwargs.pop("callbacks", None) or []), _Recorder(self)]
        self.history = self.model.fit(x, y, batch_size=self.batch_size, epochs=self.epochs,
                                      shuffle=self.shuffle, callbacks=callbacks, **kwargs)

    def _loop(self, x, y) -> None:
        """The notes' loop: for each batch, clear the gradients, loss, backward, update."""
        n, size = len(x), self.batch_size
        rng = _random.generator() if self.seed is None else np.random.default_rng(self.seed)
        with region():  # svertka's threads own the cores (see svertka.parallel)
            for epoch in range(self.epochs):
                order = rng.permutation(n) if self.shuffle else np.arange(n)
                for i, start in enumerate(range(0, n, size)):
                    if self._stop.is_set():
                        return
                    take = order[start:start + size]
                    xb, yb = x[take], y[take]
                    with self.lock:
                        value = self._step(xb, yb)
                    self._record(epoch, i, len(take), value)

    def _step(self, xb, yb) -> float:
        for p in self.params:
            p.grad = None
        loss = self.loss_fn(xb, yb)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            shape = getattr(loss, "shape", None)
            raise TypeError(f"Trainer: the loss function must return a scalar svertka Tensor, "
                            f"received {type(loss).__name__}"
                            + (f" of shape {tuple(shape)}" if shape is not None else ""))
        loss.backward()
        value = float(loss.item())
        self.optimizer.apply_gradients(self.params)
        for p in self.params:
            p.grad = None
        return value


class _Recorder(Callback):
    """In the model's ``fit``: record each batch's loss, and stop when interrupted."""

    def __init__(self, trainer: Trainer):
        super().__init__()
        self.trainer, self.epoch = trainer, 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        logs = logs or {}
        self.trainer._record(self.epoch, batch, int(logs.get("size", 0)), logs["batch_loss"])
        if self.trainer._stop.is_set():  # as Ctrl-C in fit: the partial epoch is not logged
            self.model.stop_training = True
            self.model.interrupted = True


def _arrays(x, y) -> tuple:
    """A loss function's data: two arrays of as many samples, batched along the first axis."""
    if y is None:
        raise ValueError("Trainer.start_train: argument 'y' is required with a loss function "
                         "(it is the loss function's second argument)")
    x = x if isinstance(x, np.ndarray) else np.asarray(x)
    y = y if isinstance(y, np.ndarray) else np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"Trainer.start_train: arguments 'x' and 'y' must hold as many samples "
                         f"(at least one) along their first axis, received shapes {x.shape} and "
                         f"{y.shape}")
    return x, y
