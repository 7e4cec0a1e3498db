"""One training step and one inference call per library, each by its idiomatic fast path.

All three get the same data: svertka and Keras the channels-last float32 arrays, PyTorch the
same values transposed to channels-first once, outside the timed calls; targets are one-hot
for svertka and Keras (categorical cross-entropy) and the matching class indices for PyTorch
(``cross_entropy`` on logits, the same loss).

- svertka: ``svertka.models.training.train_step``, the step ``fit`` runs for each batch
  (forward, loss, backward, Adam update, gradients cleared), without fit's per-epoch setup.
  Inference: ``model(x)`` under ``svertka.no_grad()``; ``predict`` would only add a batch
  slice and a copy.
- PyTorch: the eager loop (``zero_grad``, ``cross_entropy(net(x), y).backward()``, Adam with
  lr 1e-3 and eps 1e-7 as Keras's defaults; or, for a model compiled with SGD,
  ``optimizer="sgd"``: SGD with lr 0.1 and momentum 0.9, as ``zoo_models.resnet20_svertka``).
  Inference under ``torch.inference_mode`` with the softmax applied, as the other two
  include it in the model.
- Keras: ``train_on_batch`` and ``predict_on_batch``, which run the compiled ``tf.function``
  (XLA is off on a CPU-only machine, Keras's default there). ``predict_on_batch`` is the
  fastest call measured here: ``model(x)`` runs eagerly (6x slower at batch 1, 2x at 1,000)
  and ``predict`` builds a dataset on every call (about 0.1 s).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import svertka


def train_step(
    lib: str, model, x: np.ndarray, y: np.ndarray, optimizer: str = "adam"
) -> Callable[[], object]:
    """A no-argument training step of ``model`` (of library ``lib``) on one batch.

    ``x`` is (N, H, W, C) float32, ``y`` one-hot (N, classes) float32. svertka and Keras
    step with the optimizer the model was compiled with; PyTorch with ``optimizer``, 'adam'
    or 'sgd' (see the module note), which should match it.
    """
    if lib == "svertka":
        from svertka.models.training import train_step as step
        from svertka.models.training import trainable_params

        params = trainable_params(model)
        return lambda: step(model, svertka.Tensor(x), y, params)
    if lib == "keras":
        return lambda: model.train_on_batch(x, y)
    import torch
    import torch.nn.functional as F

    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    tx, ty = to_torch(x), torch.from_numpy(y.argmax(1))
    model.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(tx), ty)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def infer(lib: str, model, x: np.ndarray) -> Callable[[], object]:
    """A no-argument inference call of ``model`` on ``x`` (N, H, W, C) float32: class
    probabilities, with the model in inference mode."""
    if lib == "svertka":

        def forward():
            with svertka.no_grad():
                return model(x).data

        return forward
    if lib == "keras":
        return lambda: model.predict_on_batch(x)
    import torch

    tx = to_torch(x)
    model.eval()

    def forward():
        with torch.inference_mode():
            return torch.softmax(model(tx), 1)

    return forward


def to_torch(x: np.ndarray):
    """(N, H, W, C) array -> contiguous (N, C, H, W) float32 tensor."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))
