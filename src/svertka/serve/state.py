"""What the server holds: one model, the inputs it was shown, one worker thread, a training.

- ``load``: the model given at start: the notes' model with its shipped MNIST weights by
  default, a ``.svk`` file, a zoo network with shipped weights (``"lenet5:mnist"``) or a
  Model. Nothing else is ever read from disk.
- ``Inputs``: each prepared input under a short hex id, the 32 most recent kept.
- ``Session``: the above, plus the worker: every piece of model work (predict, maps, cells,
  filters, Grad-CAM) runs on one thread, which request threads hand their work to and wait
  on, holding the lock of a running ``svertka.Trainer`` (``Session.run``); and ``Training``.
- ``Training``: the notes' background ``Trainer`` on the MNIST sample that ships with the
  package, started, watched and interrupted from the page.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from svertka.datasets.mnist import load_sample
from svertka.serve import inputs as _inputs

logger = logging.getLogger("svertka.serve")
KEPT_INPUTS = 32
MAX_TRAIN_PARAMS = 2_000_000
MAX_EPOCHS = 100


class UnknownInput(KeyError):
    """An input id the server does not hold (never given, or pushed out by newer ones)."""

    def __str__(self) -> str:
        return str(self.args[0])


class Conflict(RuntimeError):
    """A request that the server's state refuses now (training running, or not allowed)."""


def load(model=None):
    """``(model, name, dataset)``: the model to serve, how to call it, and the data set its
    weights were trained on (None when not known). See the module note for ``model``."""
    from svertka import zoo
    from svertka.models import Model

    if model is None:
        return default_model()
    if isinstance(model, Model):
        return model, model.name, None
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"serve: argument 'model' must be None, a .svk file, a zoo spec such "
                        f"as 'lenet5:mnist' or a svertka Model, received {type(model).__name__}")
    spec = os.fspath(model)
    net = zoo.from_spec(spec, "serve", "'model'")
    if os.path.isfile(spec):
        return net, os.path.basename(spec), None
    return net, spec, spec.partition(":")[2]


def default_model():
    """The notes' model with its shipped MNIST weights; LeNet-5's until those ship."""
    from svertka import zoo

    if "mnist" in zoo.weights.SHIPPED.get("notes", {}) \
            and zoo.weights.path("notes", "mnist").is_file():
        return load("notes:mnist")
    return load("lenet5:mnist")


def class_labels(model, dataset: str | None, kind: str) -> list[str]:
    """A name for each class: the model's own ``class_names``, the data set's, digits for
    a digits model, A-Z for 26 letters, else the class numbers."""
    from svertka.datasets import cifar10

    classes = int(model.output_shape[-1])
    names = getattr(model, "class_names", None)
    if names and len(names) == classes:
        return [str(n) for n in names]
    if dataset == "cifar10" and classes == len(cifar10.CLASS_NAMES):
        return list(cifar10.CLASS_NAMES)
    if kind == "digits":
        return [str(k) for k in range(10)]
    if kind == "letters" and classes == 26:
        return [chr(ord("A") + k) for k in range(26)]
    return [str(k) for k in range(classes)]


class Inputs:
    """The prepared inputs, (H, W, C) float32, by id: the ``size`` most recently stored."""

    def __init__(self, size: int = KEPT_INPUTS):
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, x: np.ndarray) -> str:
        key = secrets.token_hex(6)
        with self._lock:
            self._items[key] = x
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return key

    def get(self, key: str, where: str) -> np.ndarray:
        with self._lock:
            if key not in self._items:
                raise UnknownInput(f"{where}: argument 'input' must be the id of a recent "
                                   f"prediction (the server keeps the last {self.size}), "
                                   f"received {key!r}; predict the image again")
            self._items.move_to_end(key)
            return self._items[key]


class Session:
    """The served model and everything the endpoints share (see the module note)."""

    def __init__(self, model=None, allow_training=None):
        from svertka.viz._model import pixel_range

        self.model, self.name, dataset = load(model)
        shape = tuple(int(s) for s in self.model.input_shape[1:])
        classes = int(self.model.output_shape[-1])
        self.kind = _inputs.model_kind(shape, classes, getattr(self.model, "class_names", None))
        self.labels = class_labels(self.model, dataset, self.kind)
        self.value_range = pixel_range(self.model)
        self.inputs = Inputs()
        why_not = training_refusal(self.model)
        if allow_training and why_not:
            raise ValueError(f"serve: argument 'allow_training' is True, but {why_not}")
        self.trainable = allow_training is not False and why_not is None
        self.training = Training(self)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="svertka-serve")
        self._worker.submit(self._warm_up)  # the first drawing then answers at full speed

    def _warm_up(self) -> None:
        """One prediction of a blank input: compiles and caches what the first one needs."""
        try:
            self.model.predict(np.zeros((1, *self.model.input_shape[1:]), np.float32))
        except Exception as e:  # a model that cannot predict fails the first request instead
            logger.warning("warming up %s failed: %s", self.name, e)

    def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on the worker thread, holding a running Trainer's lock (a
        view sees whole training steps); waits for it and returns what it returns."""
        return self._worker.submit(self._locked, fn, args, kwargs).result()

    def _locked(self, fn, args, kwargs):
        from svertka.models.training import weights_lock

        with weights_lock(self.model):
            return fn(*args, **kwargs)

    def close(self) -> None:
        """Stop a training and the worker thread."""
        self.training.stop()
        self._worker.shutdown(wait=True)


def training_refusal(model) -> str | None:
    """Why ``model`` cannot train on the MNIST sample here, or None when it can."""
    shape = tuple(model.input_shape[1:])
    classes = model.output_shape[-1]
    params = model.count_params()
    if shape != (28, 28, 1) or classes != 10:
        return (f"model {model.name!r} takes {shape} and gives {classes} classes; the MNIST "
                f"sample needs (28, 28, 1) and 10")
    if params > MAX_TRAIN_PARAMS:
        return (f"model {model.name!r} has {params:,} parameters; training from the page is "
                f"for models of at most {MAX_TRAIN_PARAMS:,}")
    return None


def sample():
    """The MNIST sample shipped with the package (``svertka.datasets.mnist.load_sample``:
    6,000 training and 1,000 test digits): ``(x_train, y_train), (x_test, y_test)``, uint8
    (N, 28, 28) and (N,)."""
    return load_sample()


class Training:
    """The notes' ``Trainer`` on the shipped MNIST sample, for one ``Session``'s model."""

    def __init__(self, session: Session):
        self.session = session
        self.trainer = None
        self.steps_per_epoch = 1
        self.epochs = 0
        self.test_accuracy = None
        self._lock = threading.Lock()

    def start(self, epochs: int = 1, batch_size: int = 32, learning_rate: float = 1e-3,
              where: str = "POST /api/train/start") -> None:
        """Compile the model with Adam at ``learning_rate`` and start training it in the
        Trainer's thread; returns at once."""
        from svertka import Trainer, checks, losses, optimizers

        s = self.session
        if not s.trainable:
            why = training_refusal(s.model) or "the server was started with training off"
            raise Conflict(f"{where}: this model cannot be trained here: {why}")
        epochs = checks.integer(where, "epochs", epochs, 1, MAX_EPOCHS)
        batch_size = checks.integer(where, "batch_size", batch_size, 1, 2000)
        learning_rate = checks.finite_float(where, "learning_rate", learning_rate, 0.0,
                                            low_open=True)
        with self._lock:
            if self.trainer is not None and self.trainer.running:
                raise Conflict(f"{where}: a training is already running; stop it first")
            (x, y), _ = sample()
            low, high = s.value_range
            x = (x[..., None].astype(np.float32) / 255 * (high - low) + low).astype(np.float32)
            model = s.model
            softmax = getattr(model.outputs[0].layer, "activation", None) == "softmax"
            loss = losses.SparseCategoricalCrossentropy(from_logits=not softmax)
            s.run(model.compile, optimizer=optimizers.Adam(learning_rate), loss=loss,
                  metrics=["accuracy"])
            self.trainer = Trainer(model, batch_size=batch_size, epochs=epochs, seed=0)
            self.steps_per_epoch = -(-len(x) // batch_size)
            self.epochs = epochs
            self.test_accuracy = None
            self.trainer.start_train(x, y.astype(np.int64))

    def stop(self) -> None:
        """Interrupt the training after its current batch and wait for it to end."""
        trainer = self.trainer
        if trainer is not None and trainer.running:
            trainer.interrupt()
            try:
                trainer.join()
            except Exception:  # kept in trainer.error, reported by status()
                pass

    def status(self) -> dict:
        """Where the training stands; the test accuracy once it has ended."""
        trainer = self.trainer
        if trainer is None:
            return {"running": False, "done": False, "losses": [], "iteration": 0, "epoch": 0,
                    "epochs": 0, "test_accuracy": None, "error": None}
        losses = trainer.losses
        running = trainer.running
        error = trainer.error
        if not running and error is None and self.test_accuracy is None:
            self.test_accuracy = self.session.run(self._accuracy)
        return {"running": running, "done": trainer.done, "losses": losses,
                "iteration": len(losses), "epoch": len(losses) // self.steps_per_epoch,
                "epochs": self.epochs,
                "test_accuracy": None if running else self.test_accuracy,
                "error": None if error is None else f"{type(error).__name__}: {error}"}

    def _accuracy(self) -> float:
        _, (x, y) = sample()
        low, high = self.session.value_range
        x = (x[..., None].astype(np.float32) / 255 * (high - low) + low).astype(np.float32)
        predicted = np.asarray(self.session.model.predict(x, batch_size=250)).argmax(axis=-1)
        return float((predicted == y).mean())
