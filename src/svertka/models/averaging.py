"""Weight averaging (SWA: Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and
Better Generalization"): the mean of the weights of several points of one training run, and
the batch-norm statistics computed again for those averaged weights.

The points of one run (the models saved at the end of its last epochs, say) lie in one
valley of the loss; their mean lies nearer its middle, where test accuracy tends to be higher
than at any of them. No batch was ever normalised with the averaged weights, so each
``BatchNormalization`` layer's moving mean and variance are recomputed by one pass over
training images (as ``torch.optim.swa_utils.update_bn`` does): the plain average of every
batch's statistics, with the augmentation the training used, since the layers after it were
trained on statistics of augmented images.

>>> import numpy as np, svertka
>>> from svertka.layers import BatchNormalization, Dense
>>> a = svertka.Sequential([Dense(2, input_shape=(3,)), BatchNormalization()])
>>> b = svertka.models.clone_model(a)
>>> a.set_weights([w + 1 for w in b.get_weights()])
>>> mean = average_weights([a, b])
>>> bool(np.allclose(mean[0], b.get_weights()[0] + 0.5))
True
"""

from __future__ import annotations

import numpy as np

from svertka.autograd.function import no_grad


def average_weights(models, where: str = "average_weights") -> list[np.ndarray]:
    """The element-wise mean of the models' weights, in ``get_weights()`` order (trainable
    and not: the batch-norm statistics are averaged too, until ``update_batch_norm``). Every
    model must hold weights of the same shapes in the same order."""
    models = list(models)
    if not models:
        raise ValueError(f"{where}: argument 'models' must hold at least one model, "
                         f"received none")
    sets = [m.get_weights() for m in models]
    first = sets[0]
    for k, weights in enumerate(sets[1:], 1):
        shapes = [w.shape for w in weights]
        if shapes != [w.shape for w in first]:
            raise ValueError(f"{where}: every model must have the weights of the first "
                             f"({len(first)} arrays, shapes {[w.shape for w in first][:4]}...), "
                             f"received model {k} ({models[k].name!r}) with {len(weights)} "
                             f"arrays, shapes {shapes[:4]}...")
    return [np.mean([w[i].astype(np.float64) for w in sets], axis=0).astype(first[i].dtype)
            for i in range(len(first))]


def batch_norms(model) -> list:
    """The ``BatchNormalization`` layers of ``model``, inside nested models too, that
    normalise by batch statistics in training (the frozen ones keep their statistics)."""
    from svertka.layers import BatchNormalization

    found = []
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            if layer.trainable:
                found.append(layer)
        elif hasattr(layer, "layers"):
            found += batch_norms(layer)
    return found


def update_batch_norm(model, x, batch_size: int = 128, augment=None, seed: int = 0,
                      where: str = "update_batch_norm") -> int:
    """Recompute the moving mean and variance of every trainable ``BatchNormalization`` layer
    of ``model`` as the plain average of their batch statistics over one pass of ``x`` (the
    model's own input: raw pixels for a model that rescales them), in batches of
    ``batch_size`` in an order drawn from ``seed``, each batch through ``augment`` (a callable
    ``t(x, rng)``, as ``svertka.augment.get`` returns) first. Nothing else changes: the layers'
    momenta are put back. Returns how many layers were updated."""
    from svertka import checks

    checks.positive_int(where, "batch_size", batch_size)
    layers = batch_norms(model)
    if not layers or len(x) == 0:
        return 0
    saved = [(la.momentum, la.moving_mean.data.copy(), la.moving_variance.data.copy())
             for la in layers]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    try:
        with no_grad():
            for k, start in enumerate(range(0, len(x), batch_size)):
                for la in layers:  # moving = k/(k+1) moving + 1/(k+1) batch: the mean so far
                    la.momentum = k / (k + 1)
                xb = x[order[start:start + batch_size]]
                if augment is not None:
                    xb = augment(xb, rng)
                model(np.asarray(xb, np.float32), training=True)
    except BaseException:
        for la, (_, mean, var) in zip(layers, saved):
            la.moving_mean.data[...], la.moving_variance.data[...] = mean, var
        raise
    finally:
        for la, (momentum, _, _) in zip(layers, saved):
            la.momentum = momentum
    return len(layers)
