"""The callback protocol, the list that fans calls out, and History."""

from __future__ import annotations

from svertka.callbacks._checks import _plain


class Callback:
    """Base class: every hook is a no-op; subclasses override the ones they need.

    The hooks are Keras 3's: ``on_train_*``, ``on_epoch_*``, ``on_train_batch_*``, and the
    ``on_test_*`` / ``on_predict_*`` ones that ``evaluate`` and ``predict`` call (``fit``'s
    validation too, as ``evaluate`` does). As in Keras, the default ``on_train_batch_begin`` /
    ``on_train_batch_end`` call ``on_batch_begin`` / ``on_batch_end``, so a callback written
    against the older names runs during training.

    ``self.model`` and ``self.params`` (``{'epochs': ..., 'steps': ..., ...}`` from ``fit``)
    are set through ``set_model`` and ``set_params`` before training starts.
    """

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Keras's older name: ``on_train_batch_begin`` calls it unless overridden."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Keras's older name: ``on_train_batch_end`` calls it unless overridden."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        pass

    def on_test_end(self, logs: dict | None = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_predict_begin(self, logs: dict | None = None) -> None:
        pass

    def on_predict_end(self, logs: dict | None = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

class CallbackList:
    """Calls each hook on every callback, in order, passing all of them the same ``logs`` dict
    (so keys one callback adds, like ``learning_rate``, reach the ones after it).

    ``add_history=True`` appends a ``History`` (last, so it records those keys) unless one is
    already among ``callbacks``; it is ``self.history`` either way.
    """

    def __init__(
        self, callbacks=None, *, add_history: bool = False, model=None, params: dict | None = None
    ):
        self.callbacks: list[Callback] = []
        self.model = None
        for cb in callbacks or []:
            self.append(cb)
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"CallbackList: every callback must be a Callback instance, "
                f"received {type(callback).__name__}"
            )
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook: str, *args, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_end", batch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs=logs)

class History(Callback):
    """What ``fit`` returns: ``history`` maps each log key to its list of per-epoch values,
    ``epoch`` lists the epoch indices (0-based), ``batch_losses`` every batch's loss in order
    (the loss per iteration, for ``svertka.viz.plot_loss``). Values are stored as Python floats.
    Nothing is cleared between ``fit`` calls, so a continued run extends the same curves.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.batch_losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_plain(value))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = logs.get("batch_loss", logs.get("loss"))  # the iteration's own, where given
        if loss is not None:
            self.batch_losses.append(float(_plain(loss)))
