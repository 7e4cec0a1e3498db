"""Keras-style callbacks: hooks ``fit`` calls at the start and end of training, of each epoch
and of each batch, and that ``evaluate`` and ``predict`` call around their batches.

What a callback may rely on from the model (``set_model`` hands it over):

- ``model.stop_training``: a bool; setting it True ends ``fit`` after the current batch/epoch.
- ``model.optimizer.learning_rate``: a settable float; ``model.optimizer.current_learning_rate``
  is the rate in effect, also when a schedule drives it (read first when present).
- ``model.get_weights()`` / ``model.set_weights(list)``, ``model.save(path)`` and
  ``model.save_weights(path)``; ``model.epochs_trained``, the complete epochs so far.
- ``model._fit_position`` (for ``BackupAndRestore``): where ``fit`` stands, see
  ``svertka.models.training.FitPosition``; a callback sets ``model._fit_resume`` in
  ``on_train_begin`` to make ``fit`` continue from a saved position.

``params`` holds ``epochs``, ``steps`` (batches an epoch), ``batch_size``, ``samples`` and
``verbose``. ``logs`` at the end of an epoch is a dict such as ``{'loss': 0.3, 'accuracy':
0.9, 'val_loss': 0.35, 'val_accuracy': 0.88}``; at the end of a training batch ``{'loss': ...,
'accuracy': ..., 'batch_loss': ..., 'size': 32}`` (the epoch's running loss and metrics, as
Keras 3 gives them, plus svertka's own: the batch's loss and its number of samples). The
``on_test_*`` hooks (``evaluate``, and ``fit``'s validation) see the running ``loss`` and
metrics at each batch's end and the final ones in ``on_test_end``; ``on_predict_batch_end``
sees ``{'outputs': the batch's predictions}``. Epochs are 0-based in the hooks (as Keras) and
1-based in checkpoint file names and messages. ``ReduceLROnPlateau`` and
``LearningRateScheduler`` add ``'learning_rate'`` to the epoch logs, so ``History`` (placed
last) records it.

>>> class Model:
...     stop_training = False
>>> stopper = EarlyStopping(monitor="loss", patience=1)
>>> callbacks = CallbackList([stopper], add_history=True, model=Model())
>>> callbacks.on_train_begin()
>>> for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.7]):
...     callbacks.on_epoch_end(epoch, {"loss": loss})
...     if callbacks.model.stop_training:
...         break
>>> stopper.stopped_epoch, callbacks.history.history["loss"]
(2, [0.9, 0.5, 0.6])
"""

from svertka.callbacks.backup import BackupAndRestore
from svertka.callbacks.base import Callback, CallbackList, History
from svertka.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from svertka.callbacks.monitoring import EarlyStopping, ModelCheckpoint
from svertka.callbacks.records import CSVLogger, TerminateOnNaN
from svertka.callbacks.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard",
    "TerminateOnNaN",
]
