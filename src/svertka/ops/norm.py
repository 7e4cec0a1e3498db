"""Batch normalisation and dropout: the regularising layers' differentiable cores.

Both take their mode (``training``) and, for dropout, the random generator as arguments;
``batch_norm`` updates the running statistics it is given in place, so the layer that owns
those arrays only has to hold them.

>>> import numpy as np, svertka
>>> from svertka import ops
>>> x = svertka.Tensor(np.arange(8.0).reshape(4, 2))
>>> ops.batch_norm(x, None, None, None, None, training=True).numpy().mean(axis=0).tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from svertka import backend, checks
from svertka.autograd import Function, Tensor
from svertka.backend import get_array_module
from svertka.kernels import norm as K
from svertka.ops._inputs import float_input


class BatchNorm(Function):
    """Training mode normalises with the batch statistics (kept on ``self.mean``/``self.var``
    for the caller's moving average); inference mode with the given constant statistics."""

    def __init__(self, training: bool, epsilon: float, has_gamma: bool, has_beta: bool, stats=None,
                 relu: bool = False, sync=None):
        self.training, self.epsilon, self.stats, self.sync = training, epsilon, stats, sync
        self.has_gamma, self.has_beta, self.relu = has_gamma, has_beta, relu

    def forward(self, x, *params):
        gamma = params[0] if self.has_gamma else None
        beta = params[-1] if self.has_beta else None
        if self.training and self.sync is not None:
            y, self.mean, self.var, self.cache = K.batch_norm_sync_forward(
                x, gamma, beta, self.epsilon, self.relu, *self.sync
            )
        elif self.training:
            y, self.mean, self.var, self.cache = K.batch_norm_train_forward(
                x, gamma, beta, self.epsilon, self.relu
            )
        else:
            y, self.cache = K.batch_norm_infer_forward(x, gamma, beta, *self.stats, self.epsilon,
                                                       self.relu)
        return y

    def backward(self, gy):
        if self.training and self.sync is not None:
            bwd = K.batch_norm_sync_backward
        else:
            bwd = K.batch_norm_train_backward if self.training else K.batch_norm_infer_backward
        gx, ggamma, gbeta = bwd(gy, self.cache)
        return (gx,) + ((ggamma,) if self.has_gamma else ()) + ((gbeta,) if self.has_beta else ())


class Dropout(Function):
    def __init__(self, keep, scale: float):
        self.keep, self.scale = keep, scale

    def forward(self, x):
        return K.dropout_forward(x, self.keep, self.scale)

    def backward(self, gy):
        return (K.dropout_backward(gy, self.keep, self.scale),)


def _check_running(name: str, value, channels: int):
    op = "batch_norm"
    if value is None:
        return
    if isinstance(value, Tensor) or not hasattr(value, "shape") or not hasattr(value, "dtype"):
        raise TypeError(
            f"batch_norm: argument '{name}' must be an array (it is updated in "
            f"place), received {type(value).__name__}"
        )
    if tuple(value.shape) != (channels,) or value.dtype.kind != "f":
        raise ValueError(
            f"{op}: argument '{name}' must be a float array of shape "
            f"({channels},), received shape {tuple(value.shape)} and dtype "
            f"{value.dtype}"
        )


def batch_norm(
    x,
    gamma,
    beta,
    running_mean,
    running_var,
    training: bool,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    relu: bool = False,
    sync=None,
) -> Tensor:
    """Batch normalisation over every axis but the last (channels-last), Keras semantics.

    x: (..., C), e.g. (N, H, W, C) (statistics over N, H, W) or (N, C) (over N).
    gamma, beta: (C,) scale and offset (Tensors to learn them), or None for none.
    running_mean, running_var: (C,) float arrays — NOT Tensors.

    ``training=True`` normalises with the batch mean and the biased batch variance and
    updates ``running_mean`` and ``running_var`` IN PLACE:
    ``running = momentum * running + (1 - momentum) * batch_stat`` (Keras's update with the
    biased variance; torch's ``momentum`` is ``1 - momentum`` here and its running variance is
    unbiased). They may be None in training mode, to track nothing. ``training=False``
    normalises with the running statistics (required then) and leaves them untouched.
    ``y = gamma (x - mean) / sqrt(var + epsilon) + beta``; backward is the fused closed form
    in both modes. ``relu=True`` returns ``relu(y)``, the same values and gradients as
    ``ops.relu(batch_norm(...))`` with one array and one pass fewer.

    ``sync=(reduce, samples)`` synchronises the training statistics over several processes
    (data-parallel training, ``svertka.distributed``): ``reduce(a)`` returns the array ``a``
    summed over the processes and ``samples`` is this process's share of the global batch
    (0 if empty), so the mean and variance are the global batch's and the gradients those of
    the global mean loss (``kernels.norm.batch_norm_sync_forward``).

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.array([[1.0], [3.0]]))
    >>> mean, var = np.zeros(1), np.ones(1)
    >>> batch_norm(x, None, None, mean, var, training=True, epsilon=1e-9).numpy().round(6).tolist()
    [[-1.0], [1.0]]
    >>> mean.round(4).tolist(), var.round(4).tolist()  # 0.99 * old + 0.01 * (2.0, 1.0)
    ([0.02], [1.0])
    """
    op = "batch_norm"
    x = float_input(op, x)
    if x.ndim < 2:
        raise ValueError(
            f"{op}: argument 'x' must be a float array of rank >= 2 (N, ..., C), "
            f"received shape {x.shape} and dtype {x.dtype}"
        )
    channels = x.shape[-1]
    if x.size == 0:
        raise ValueError(f"{op}: argument 'x' must not be empty, received shape {x.shape}")
    momentum = checks.finite_float(op, "momentum", momentum, 0.0, 1.0)
    epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
    params = []
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is None:
            continue
        p = p if isinstance(p, Tensor) else Tensor(backend.asarray(p, dtype=x.dtype))
        if p.shape != (channels,):
            raise ValueError(
                f"{op}: argument '{name}' must have shape ({channels},) to match "
                f"the {channels} channels of x, received {p.shape}"
            )
        params.append(p)
    _check_running("running_mean", running_mean, channels)
    _check_running("running_var", running_var, channels)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(
                f"{op}: arguments 'running_mean' and 'running_var' are required "
                f"when training=False, received None"
            )
        xp = get_array_module(x.data)
        stats = tuple(xp.asarray(s, dtype=x.dtype) for s in (running_mean, running_var))
        return BatchNorm(False, epsilon, gamma is not None, beta is not None, stats,
                         checks.flag(op, "relu", relu))(x, *params)
    fn = BatchNorm(True, epsilon, gamma is not None, beta is not None,
                   relu=checks.flag(op, "relu", relu), sync=sync)
    y = fn(x, *params)
    for running, batch in ((running_mean, fn.mean), (running_var, fn.var)):
        if running is not None:
            running[...] = K.moving_average(running, batch, momentum)
    return y


def dropout(x, rate: float, rng, training: bool = True) -> Tensor:
    """Inverted dropout: zero each unit with probability ``rate``, scale the rest by 1/(1-rate).

    The scaling keeps the expected value of every unit, so inference needs no correction:
    ``training=False`` or ``rate == 0`` returns ``x`` itself and draws nothing from ``rng``.
    ``rng`` is a ``numpy.random.Generator`` (``np.random.default_rng(seed)``): the same seed
    gives the same mask. Backward multiplies by the same mask and scale.

    >>> import numpy as np, svertka
    >>> y = dropout(svertka.Tensor(np.ones((2, 4))), 0.5, np.random.default_rng(0))
    >>> sorted(set(y.numpy().ravel().tolist()))  # dropped units are 0, kept ones 1 / 0.5
    [0.0, 2.0]
    """
    op = "dropout"
    rate = checks.finite_float(op, "rate", rate, 0.0, 1.0, high_open=True)
    if not callable(getattr(rng, "random", None)) or isinstance(rng, np.random.RandomState):
        raise TypeError(
            f"{op}: argument 'rng' must be a numpy.random.Generator "
            f"(np.random.default_rng(seed)), received {type(rng).__name__}"
        )
    x = float_input(op, x)
    if not training or rate == 0:
        return x
    keep = K.dropout_mask(x.shape, rate, rng, get_array_module(x.data))
    return Dropout(keep, 1 / (1 - rate))(x)
