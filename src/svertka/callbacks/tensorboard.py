"""TensorBoard: training curves and weight histograms as TensorBoard event files, laid out as
Keras 3 writes them, so ``tensorboard --logdir logs`` shows a svertka run as it shows a Keras
one.

``log_dir/train`` gets ``epoch_loss``, ``epoch_<metric>`` and ``epoch_learning_rate`` at the
end of each epoch (step: the 0-based epoch), ``batch_<key>`` every ``update_freq`` batches
when it is an int (step: the batch counted over the whole run, from 1; the values are the
epoch's running means, as ``fit`` logs them), the weight histograms
``<layer>/<weight>/histogram`` every ``histogram_freq`` epochs and, with ``write_graph``, the
model's JSON description under the tag ``keras`` (the plugin TensorBoard's "graph" tab reads
for Keras models). ``log_dir/validation`` gets the ``val_`` values under the same
``epoch_<name>`` tags, and ``evaluation_<name>_vs_iterations`` at the end of each
validation/evaluation (step: the optimiser's update count).

The files are written with ``tensorboardX`` where it is installed (``pip install
svertka[tensorboard]``), else with ``torch.utils.tensorboard`` (PyTorch plus the
``tensorboard`` package); without either, constructing the callback raises an ImportError
saying what to install.
"""

from __future__ import annotations

import json
import numbers
import os
import time
import warnings

import numpy as np

from svertka.callbacks._checks import _frequency, _get_lr, _plain
from svertka.callbacks.base import Callback
from svertka.checks import flag, non_negative_int

_NOT_LOGGED = ("size", "batch_loss")  # svertka's own batch keys; Keras has no such log


def summary_writer_class():
    """The ``SummaryWriter`` class of tensorboardX, else of ``torch.utils.tensorboard``."""
    try:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    except ImportError:
        pass
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter
    except ImportError:
        pass
    raise ImportError(
        "TensorBoard: writing event files needs the 'tensorboardX' package (pip install "
        "tensorboardX, or pip install svertka[tensorboard]) or PyTorch with the 'tensorboard' "
        "package; neither is installed")


def _protos(writer):
    """The ``summary_pb2`` and ``tensor_pb2`` modules that go with ``writer``'s package."""
    if type(writer).__module__.startswith("tensorboardX"):
        from tensorboardX.proto import summary_pb2, tensor_pb2
    else:
        from tensorboard.compat.proto import summary_pb2, tensor_pb2
    return summary_pb2, tensor_pb2


def _model_json(model) -> str:
    to_json = getattr(model, "to_json", None)
    if callable(to_json):
        return to_json()
    return json.dumps({"class_name": type(model).__name__, "config": model.get_config()})


class TensorBoard(Callback):
    """Write TensorBoard event files for the run under ``log_dir`` (see the module for what,
    where and under which tags).

    Args:
        log_dir: the run's folder; ``train/`` and ``validation/`` are made under it.
        histogram_freq: write weight histograms every that many epochs (0: never).
        write_graph: write the model's JSON description once, when training starts.
        write_images: also write each weight as an image at the histogram epochs (biases and
            dense kernels as Keras draws them; a convolution kernel as one image per filter
            when it has 1, 3 or 4 input channels).
        write_steps_per_second: add ``epoch_steps_per_second``.
        update_freq: ``"epoch"``, ``"batch"`` (every batch) or a number of batches.
        profile_batch, embeddings_freq, embeddings_metadata: Keras's; profiling and the
            embedding projector are not supported, so only their "off" values (0, 0, None)
            are accepted.

    >>> import svertka, numpy as np, os, tempfile
    >>> from svertka.layers import Dense
    >>> _ = __import__("pytest").importorskip("tensorboardX")  # pip install svertka[tensorboard]
    >>> model = svertka.Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    >>> model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> logs = tempfile.mkdtemp()
    >>> _ = model.fit(np.ones((8, 3)), np.zeros(8), epochs=2, verbose=0, validation_split=0.25,
    ...               callbacks=[TensorBoard(logs, histogram_freq=1)])
    >>> sorted(os.listdir(logs))
    ['train', 'validation']
    """

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq="epoch", profile_batch=0, embeddings_freq: int = 0,
                 embeddings_metadata=None):
        super().__init__()
        owner = "TensorBoard"
        self._writer_class = summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = non_negative_int(owner, "histogram_freq", histogram_freq)
        self.write_graph = flag(owner, "write_graph", write_graph)
        self.write_images = flag(owner, "write_images", write_images)
        self.write_steps_per_second = flag(owner, "write_steps_per_second",
                                           write_steps_per_second)
        update_freq = _frequency(owner, "update_freq", update_freq, ("epoch", "batch"))
        self.update_freq = 1 if update_freq == "batch" else update_freq
        for name, value, off in (("profile_batch", profile_batch, 0),
                                 ("embeddings_freq", embeddings_freq, 0),
                                 ("embeddings_metadata", embeddings_metadata, None)):
            if value != off:
                raise ValueError(f"{owner}: argument '{name}' is not supported by svertka "
                                 f"(no profiler, no embedding projector); expected {off!r}, "
                                 f"received {value!r}")
        self._writers: dict = {}
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0

    # -- writers -----------------------------------------------------------------------------
    def _writer(self, which: str):
        if which not in self._writers:
            self._writers[which] = self._writer_class(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _scalars(self, which: str, logs: dict, prefix: str, step: int,
                 suffix: str = "") -> None:
        writer = None
        for name, value in logs.items():
            value = _plain(value)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                continue  # Keras logs scalars only
            writer = writer or self._writer(which)
            writer.add_scalar(f"{prefix}{name}{suffix}", float(value), step)

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _write_model(self) -> None:
        try:
            text = _model_json(self.model)
        except Exception as e:  # as Keras: a model that cannot be described is skipped
            warnings.warn(f"TensorBoard: the model could not be written as JSON ({e!r}); "
                          f"write_graph skipped", stacklevel=3)
            return
        writer = self._writer("train")
        summary_pb2, tensor_pb2 = _protos(writer)
        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "graph_keras_model"
        metadata.plugin_data.content = b"1"
        tensor = tensor_pb2.TensorProto(dtype="DT_STRING", string_val=[text.encode()])
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer._get_file_writer().add_summary(summary, 0)

    # -- hooks -------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0
        if self.write_graph:
            self._write_model()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start, self._epoch_batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        logs = {k: v for k, v in (logs or {}).items() if k not in _NOT_LOGGED}
        self._scalars("train", logs, "batch_", self._global_train_batch)

    def on_test_end(self, logs: dict | None = None) -> None:
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is not None and logs:
            self._scalars("validation", logs, "evaluation_", int(iterations),
                          suffix="_vs_iterations")
            self._writer("validation").flush()  # evaluate() outside fit never ends training

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        rate = self._learning_rate()
        if rate is not None:
            train["learning_rate"] = rate
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = self._epoch_batches / elapsed if elapsed > 0 else 0.0
        self._scalars("train", train, "epoch_", epoch)
        if val:
            self._scalars("validation", val, "epoch_", epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _learning_rate(self):
        try:
            return _get_lr("TensorBoard", self.model)
        except ValueError:  # no optimiser with a rate: nothing to log
            return None

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self.model.layers:
            for name, w in zip(layer.weight_names, layer.get_weights()):
                tag = f"{layer.name}/{name}"
                w = np.asarray(w, dtype=np.float64)
                writer.add_histogram(f"{tag}/histogram", w, epoch)
                if self.write_images:
                    image = _weight_image(w)
                    if image is not None:
                        writer.add_images(f"{tag}/image", image, epoch, dataformats="NHWC")


def _weight_image(w: np.ndarray):
    """A weight as TensorBoard images ``(N, H, W, C)``, as Keras draws it, or None: a bias as
    one row, a dense kernel wider than tall, a convolution kernel ``(KH, KW, C_in, C_out)`` as
    ``C_out`` images of ``C_in`` channels when that is 1, 3 or 4."""
    w = np.squeeze(w)
    if w.ndim == 1:
        w = w.reshape(1, -1, 1, 1)
    elif w.ndim == 2:
        w = w.T if w.shape[0] > w.shape[1] else w
        w = w.reshape(1, *w.shape, 1)
    elif w.ndim == 3:  # (KH, KW, C) after the squeeze: one image per last-axis entry
        w = np.transpose(w, (2, 0, 1))[..., None]
    elif w.ndim == 4:  # (KH, KW, C_in, C_out): C_out images of C_in channels
        w = np.transpose(w, (3, 0, 1, 2))
    if w.ndim != 4 or w.shape[-1] not in (1, 3, 4):
        return None
    low, high = w.min(), w.max()
    return (w - low) / (high - low) if high > low else np.zeros_like(w)
