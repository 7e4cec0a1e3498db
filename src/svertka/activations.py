"""Keras 3's ``keras.activations``: the activation functions by Keras's names and signatures.

Built on the differentiable ops of ``svertka.ops.activations``: where Keras's signature is
the op's own (``sigmoid``, ``tanh``, ``softmax``, ``elu``, ``gelu``, ``silu``, ...) the function
*is* that op, so layers save it by name; ``relu`` (with ``negative_slope``, ``max_value``,
``threshold``, as Keras computes them), ``leaky_relu`` (Keras 3's default slope 0.2),
``selu``, ``relu6``, ``hard_sigmoid``, ``hard_silu``, ``mish``, ``exponential`` and
``log_sigmoid`` are short compositions of them.

>>> import svertka
>>> relu(svertka.Tensor([-1.0, 2.0, 9.0]), max_value=6.0).numpy().tolist()
[0.0, 2.0, 6.0]
>>> get("swish") is silu, serialize(silu)
(True, 'silu')
"""

from __future__ import annotations

import inspect

import numpy as np

from svertka import ops
from svertka.autograd import Tensor
from svertka.ops._inputs import float_input
from svertka.ops.activations import (
    elu,
    gelu,
    linear,
    log_softmax,
    sigmoid,
    softmax,
    softplus,
    softsign,
    tanh,
)
from svertka.ops.activations import swish as silu
from svertka.ops.keras_names import clip, where

swish = silu

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``, with Keras's options as Keras computes them: ``x`` where it exceeds a
    non-zero ``threshold`` (else 0), clipped to ``[0, max_value]``, minus
    ``negative_slope * relu(threshold - x)``.

    >>> import svertka
    >>> relu(svertka.Tensor([-2.0, 1.0]), negative_slope=0.5).numpy().tolist()
    [-1.0, 1.0]
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    x = float_input("relu", x)
    if threshold != 0.0:
        y = where(x.data > threshold, x, Tensor(np.zeros_like(x.data)))
    else:
        y = ops.relu(x)
    if max_value is not None:
        y = clip(y, 0.0, float(max_value))
    if negative_slope != 0.0:
        y = y - ops.relu(threshold - x) * negative_slope
    return y


def leaky_relu(x, negative_slope=0.2):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (Keras 3's default slope 0.2)."""
    return ops.leaky_relu(x, alpha=negative_slope)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return relu(x, max_value=6.0)


def selu(x):
    """``scale * elu(x, alpha)`` with the self-normalising constants of Klambauer et al.

    >>> import svertka
    >>> round(float(selu(svertka.Tensor([1.0])).item()), 4)
    1.0507
    """
    return elu(x, alpha=_SELU_ALPHA) * _SELU_SCALE


def exponential(x):
    return ops.exp(x)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's definition)."""
    return relu6(float_input("hard_sigmoid", x) + 3.0) * (1.0 / 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    x = float_input("hard_silu", x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x):
    """``x * tanh(softplus(x))``."""
    x = float_input("mish", x)
    return x * tanh(softplus(x))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large |x|."""
    return -softplus(-float_input("log_sigmoid", x))


ALL_OBJECTS = {fn.__name__ if fn is not silu else "silu": fn for fn in (
    relu, leaky_relu, relu6, softmax, elu, selu, softplus, softsign, silu, gelu, tanh,
    sigmoid, exponential, hard_sigmoid, hard_silu, linear, mish, log_softmax, log_sigmoid)}
ALIASES = {"swish": silu, "hard_swish": hard_silu}
_NAMES_OF = {id(fn): name for name, fn in ALL_OBJECTS.items()}


def serialize(activation) -> str:
    """The name a saved config holds: the Keras name of one of these functions, or the
    registered name (``"package>name"``) of a function decorated with
    ``svertka.saving.register_keras_serializable`` (its code is never saved).

    >>> serialize(relu)
    'relu'
    """
    from svertka.saving import registration

    name = _NAMES_OF.get(id(activation))
    if name is None:
        name = registration.registered_name(activation)
    if name is None:
        raise ValueError(f"activations.serialize: argument 'activation' must be one of "
                         f"{sorted(ALL_OBJECTS)} or a registered function, received "
                         f"{activation!r}; decorate custom activations with "
                         f"@svertka.saving.register_keras_serializable() to save them by name")
    return name


def deserialize(config, custom_objects=None):
    """The function for a name (or ``{'class_name': 'function', 'config': name}``): one of
    these, or a custom one from ``custom_objects``, the active
    ``svertka.saving.custom_object_scope`` or the registry."""
    from svertka.saving import registration

    name = config.get("config") if isinstance(config, dict) else config
    if isinstance(name, str):
        if name in ALL_OBJECTS or name in ALIASES:
            found = registration.get_registered_object(name, custom_objects)
            return found if found is not None else ALL_OBJECTS.get(name) or ALIASES[name]
        found = registration.resolve(name, custom_objects)
        if found is not None and callable(found):
            return found
    raise ValueError(f"activations.deserialize: argument 'config' must name one of "
                     f"{sorted({*ALL_OBJECTS, *ALIASES})} or a custom activation (given in "
                     f"custom_objects, a custom_object_scope or registered with "
                     f"@svertka.saving.register_keras_serializable()), received {config!r}")


def get(identifier):
    """The activation for a Keras name, a config, a callable, or None (``linear``).

    >>> get(None) is linear, get("relu") is relu
    (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise TypeError(f"activations.get: argument 'identifier' must be a name, a config dict, a "
                    f"callable or None, received {type(identifier).__name__}")


__all__ = [*sorted(ALL_OBJECTS), "deserialize", "get", "hard_swish", "serialize", "swish"]
