"""Each loss's per-sample value from differentiable ``svertka.ops`` (the last axis reduced,
as Keras does); the classes and the function forms share them."""

from __future__ import annotations

import math

from svertka import ops
from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.kernels.losses import KERAS_EPSILON as EPSILON
from svertka.losses.base import _abs, _axis, _clip, _maximum, _same_shape
from svertka.ops.losses import class_ids


def _mse(t, p):
    d = p - t
    return ops.mean(d * d, axis=-1)


def _mae(t, p):
    return ops.mean(_abs(p - t), axis=-1)


def _mape(t, p):
    return 100.0 * ops.mean(_abs((t - p) / _maximum(_abs(t), EPSILON)), axis=-1)


def _msle(t, p):
    d = ops.log(_maximum(p, EPSILON) + 1.0) - ops.log(_maximum(t, EPSILON) + 1.0)
    return ops.mean(d * d, axis=-1)


def _l2_normalize(x, axis):
    """``x / max(||x||, eps)`` along ``axis`` (Keras's ``normalize``; zero stays zero)."""
    s = ops.sum(x * x, axis=axis, keepdims=True)
    return x / _maximum(s, EPSILON * EPSILON) ** 0.5


def _cosine_similarity(t, p, axis=-1):
    axis = _axis("cosine_similarity", axis, p.ndim)
    return -ops.sum(_l2_normalize(t, axis) * _l2_normalize(p, axis), axis=axis)


def _huber(t, p, delta=1.0):
    a = _abs(p - t)
    q = _clip(a, 0.0, delta)  # min(|e|, delta): 0.5 e^2 inside, delta |e| - 0.5 delta^2 outside
    return ops.mean(0.5 * q * q + delta * (a - q), axis=-1)


def _log_cosh(t, p):
    x = p - t
    return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def _hinge_labels(t):
    """Keras's hinge losses take labels -1/1; labels that are all 0/1 become -1/1."""
    xp = get_array_module(t.data)
    if bool(xp.all((t.data == 0) | (t.data == 1))):
        return 2.0 * t - 1.0
    return t


def _hinge(t, p):
    return ops.mean(ops.relu(1.0 - _hinge_labels(t) * p), axis=-1)


def _squared_hinge(t, p):
    h = ops.relu(1.0 - _hinge_labels(t) * p)
    return ops.mean(h * h, axis=-1)


def _categorical_hinge(t, p):
    pos = ops.sum(t * p, axis=-1)
    neg = ops.max((1.0 - t) * p, axis=-1)
    return ops.relu(neg - pos + 1.0)


def _kl_divergence(t, p):
    t = _clip(t, EPSILON, 1.0)
    return ops.sum(t * ops.log(t / _clip(p, EPSILON, 1.0)), axis=-1)


def _poisson(t, p):
    return ops.mean(p - t * ops.log(p + EPSILON), axis=-1)


def _binary_crossentropy(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    where = "binary_crossentropy"
    _same_shape(where, t, p)
    axis = _axis(where, axis, p.ndim)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:  # softplus(z) - t z = max(z, 0) - t z + log1p(exp(-|z|)), stable
        values = ops.softplus(p) - p * t
    else:
        p = _clip(p, EPSILON, 1.0 - EPSILON)
        values = -(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
    return ops.mean(values, axis=axis)


def _log_probabilities(p, axis, from_logits):
    """log softmax(p) from logits; from probabilities Keras's ``log(clip(p / sum p))``."""
    if from_logits:
        return ops.log_softmax(p, axis=axis)
    p = p / ops.sum(p, axis=axis, keepdims=True)
    return ops.log(_clip(p, EPSILON, 1.0 - EPSILON))


def _categorical_crossentropy(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    where = "categorical_crossentropy"
    _same_shape(where, t, p)
    axis = _axis(where, axis, p.ndim)
    if label_smoothing:  # Keras counts the classes on the last axis, whatever 'axis' is
        t = t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]
    return -ops.sum(t * _log_probabilities(p, axis, from_logits), axis=axis)


def _sparse_categorical_crossentropy(t, p, from_logits=False, ignore_class=None, axis=-1):
    """Integer class ids ``t`` (the shape of ``p`` without its class axis, or with a 1
    there); with ``ignore_class`` those positions give 0 and a mask that leaves them out of
    the mean."""
    where = "sparse_categorical_crossentropy"
    if p.ndim == 0:
        raise ValueError(f"{where}: argument 'y_pred' must have rank >= 1, received a scalar")
    axis = _axis(where, axis, p.ndim) % p.ndim
    xp = get_array_module(p.data)
    labels = t.data
    if labels.ndim == p.ndim and labels.shape[axis] == 1:
        labels = xp.squeeze(labels, axis=axis)
    expected = p.shape[:axis] + p.shape[axis + 1:]
    if labels.shape != expected:
        raise ValueError(f"{where}: argument 'y_true' must hold one class id per position of "
                         f"y_pred {p.shape} without its class axis {axis}: shape {expected}, "
                         f"received {t.shape}")
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = xp.where(valid, labels, 0)
        keep = xp.expand_dims(valid, axis).astype(p.dtype)
        # ignored rows become uniform, so that p / sum(p) stays finite; their loss is masked
        p = p * Tensor(keep) + Tensor(1.0 - keep)
    k = p.shape[axis]
    ids = class_ids(where, "y_true", labels, k)
    classes = xp.arange(k).reshape([k if i == axis else 1 for i in range(p.ndim)])
    onehot = (xp.expand_dims(ids, axis) == classes).astype(p.dtype)
    values = -ops.sum(Tensor(onehot) * _log_probabilities(p, axis, from_logits), axis=axis)
    if valid is not None:
        values = values * Tensor(valid.astype(p.dtype))
        values._loss_mask = valid
    return values


# The classes, as Keras 3 defines them (arguments, defaults, names, configs).
