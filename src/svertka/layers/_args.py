"""Argument checks and config (de)serialisation shared by the layers.

Every layer validates its arguments once, in ``__init__``, and its input shape in ``build``;
the messages name the layer class, the argument, what was expected and what was received.
Sizes, counts, rates and flags are checked by ``svertka.checks`` (so ``np.int64(32)`` is an
int everywhere and NaN or infinity is never a hyper-parameter); this module holds the checks
only layers need.
Initialisers, regularisers and activations are kept as given and saved by name (or config
dict), so ``get_config`` stays JSON-serialisable; a callable that has no name in svertka's
tables cannot be saved and says so at ``get_config`` time.
"""

from __future__ import annotations

from svertka import checks, initializers, ops, regularizers
from svertka.ops.shapes import (
    check_window_fits,
    conv_output_size,
    effective_kernel,
    resolve_padding,
)


def as_list(value):
    """Tuples (also nested) as lists, so a config equals its JSON round trip."""
    if isinstance(value, (tuple, list)):
        return [as_list(v) for v in value]
    return value


def activation_fn(layer: str, activation):
    """The function for ``activation``; None for the identity (None or 'linear'), so that
    ``call`` can skip it."""
    from svertka import activations

    try:
        fn = ops.get_activation(activation)
    except (TypeError, ValueError) as e:
        try:  # Keras 3's other names: 'selu', 'relu6', 'mish', ... (svertka.activations)
            fn = activations.get(activation)
        except (TypeError, ValueError):
            raise type(e)(
                f"{layer}: argument 'activation' must be None, one of "
                f"{sorted(set(ops.ACTIVATIONS) | set(activations.ALL_OBJECTS))} or a callable, "
                f"received {activation!r} ({e})"
            ) from None
    return None if fn is ops.ACTIVATIONS["linear"] else fn


def _saved_name(layer: str, arg: str, value, registry: dict, hint: str = ""):
    """What ``get_config`` writes for a name-or-callable option: a string (or None) as given,
    a callable of ``registry`` by its name; any other callable cannot be saved."""
    if value is None or isinstance(value, str):
        return value
    name = getattr(value, "__name__", None)
    if registry.get(name) is value:
        return name
    raise ValueError(
        f"{layer}.get_config: argument '{arg}' must be saved by name, but the callable "
        f"{value!r} is not one of {sorted(registry)}{hint}"
    )


def activation_config(layer: str, activation):
    """The name to save: the string given, or the name of one of ``ops.ACTIVATIONS`` or of
    ``svertka.activations``' functions."""
    from svertka import activations

    if callable(activation) and not isinstance(activation, str):
        try:
            return activations.serialize(activation)
        except ValueError:
            pass
    return _saved_name(
        layer, "activation", activation, ops.ACTIVATIONS,
        "; pass the activation by name, or use an Activation-free layer and apply it yourself",
    )


def initializer(layer: str, arg: str, value):
    try:
        initializers.get(value)
    except ValueError:
        raise ValueError(
            f"{layer}: argument '{arg}' must be one of {sorted(initializers.INITIALIZERS)} or "
            f"a callable (shape, dtype) -> array, received {value!r}"
        ) from None
    return value


def initializer_config(layer: str, arg: str, value):
    """The name to save: the string given, the name of one of ``INITIALIZERS``, or an
    initializer object's Keras config (``initializers.serialize``)."""
    if isinstance(value, dict):
        return value
    if callable(getattr(value, "get_config", None)):
        return initializers.serialize(value)
    return _saved_name(layer, arg, value, initializers.INITIALIZERS)


def regularizer(layer: str, arg: str, value):
    try:
        regularizers.get(value)
    except (TypeError, ValueError) as e:
        raise type(e)(
            f"{layer}: argument '{arg}' must be None, a regularizer's name ('l1', 'l2', "
            f"'l1_l2', ...), its config dict or a callable, "
            f"received {value!r} ({e})"
        ) from None
    return value


def regularizer_config(layer: str, arg: str, value):
    if value is None or isinstance(value, (str, dict)):
        return value
    if callable(getattr(value, "get_config", None)):
        return regularizers.serialize(value)
    raise ValueError(
        f"{layer}.get_config: argument '{arg}' must be saved as a config, but {value!r} has no "
        f"get_config(); use one of svertka.regularizers' classes (L1, L2, L1L2, ...)"
    )


def set_kernel_args(layer, activation, use_bias, kernel_initializer, bias_initializer,
                    kernel_regularizer, bias_regularizer) -> None:
    """Check and keep the options that Dense and Conv2D share: the activation, whether there
    is a bias, and the kernel/bias initialisers and regularisers."""
    op = type(layer).__name__
    layer._activation = activation_fn(op, activation)
    layer.activation = activation
    layer.use_bias = checks.flag(op, "use_bias", use_bias)
    layer.kernel_initializer = initializer(op, "kernel_initializer", kernel_initializer)
    layer.bias_initializer = initializer(op, "bias_initializer", bias_initializer)
    layer.kernel_regularizer = regularizer(op, "kernel_regularizer", kernel_regularizer)
    layer.bias_regularizer = regularizer(op, "bias_regularizer", bias_regularizer)


def add_bias(layer, size: int):
    """The (size,) bias weight of a layer that ``set_kernel_args`` configured, or None
    without ``use_bias``."""
    if not layer.use_bias:
        return None
    return layer.add_weight("bias", (size,), layer.bias_initializer,
                            regularizer=layer.bias_regularizer)


def add_kernel_and_bias(layer, kernel_shape, units: int) -> None:
    """Make ``layer.kernel`` of ``kernel_shape`` and ``layer.bias`` of ``(units,)`` (None
    without ``use_bias``), with the initialisers and regularisers ``set_kernel_args`` kept."""
    layer.kernel = layer.add_weight("kernel", tuple(kernel_shape), layer.kernel_initializer,
                                    regularizer=layer.kernel_regularizer)
    layer.bias = add_bias(layer, units)


def kernel_args_config(layer) -> dict:
    """The JSON form of the options ``set_kernel_args`` keeps."""
    op = type(layer).__name__
    return {
        "activation": activation_config(op, layer.activation),
        "use_bias": layer.use_bias,
        "kernel_initializer": initializer_config(op, "kernel_initializer",
                                                 layer.kernel_initializer),
        "bias_initializer": initializer_config(op, "bias_initializer", layer.bias_initializer),
        "kernel_regularizer": regularizer_config(op, "kernel_regularizer",
                                                 layer.kernel_regularizer),
        "bias_regularizer": regularizer_config(op, "bias_regularizer", layer.bias_regularizer),
    }


def single_shape(layer: str, input_shape) -> tuple:
    """The one input shape of a single-input layer."""
    if isinstance(input_shape, list):
        raise TypeError(
            f"{layer}: expected one input, received a list of {len(input_shape)} inputs"
        )
    return tuple(input_shape)


def channels_last(layer: str, data_format) -> str:
    """Keras's ``data_format`` argument, accepted where it says channels-last (or None): svertka
    is channels-last throughout, so anything else is an error naming the layer."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    raise ValueError(
        f"{layer}: argument 'data_format' must be 'channels_last' or None (svertka is "
        f"channels-last only), received {data_format!r}"
    )


def image_shape(layer: str, input_shape) -> tuple:
    """``(N, H, W, C)`` of a channels-last image input (N, H, W may be None)."""
    shape = single_shape(layer, input_shape)
    if len(shape) != 4:
        raise ValueError(
            f"{layer}: expected 4-D inputs (batch, height, width, channels), received input "
            f"shape {shape}"
        )
    return shape


def image_channels(layer: str, input_shape) -> int:
    """The channel count of a channels-last image input, which must be known (not None)."""
    c = image_shape(layer, input_shape)[3]
    if c is None:
        raise ValueError(f"{layer}: the channel axis of the inputs must be known, received "
                         f"input shape {input_shape}")
    return c


def padding_arg(layer: str, padding, kernel_hw, strides_hw, dilation_hw):
    """``padding`` checked and kept in its own form ('valid'/'same' lower-cased, sequences
    as tuples), so that 'same' is resolved for each input size."""
    if isinstance(padding, str):
        padding = padding.lower()
    elif isinstance(padding, list):
        padding = tuple(tuple(p) if isinstance(p, list) else p for p in padding)
    resolve_padding(padding, (1, 1), kernel_hw, strides_hw, dilation_hw, op=layer)
    return padding


def window_output_shape(
    layer: str,
    input_shape,
    kernel_hw,
    strides_hw,
    dilation_hw,
    padding,
    channels=None,
    arg: str = "kernel",
) -> tuple:
    """``(N, OH, OW, C)`` after a sliding window, checking that the window fits; an unknown
    (None) height or width stays unknown."""
    n, height, width, c = image_shape(layer, input_shape)
    # an unknown axis is checked as if it were exactly one window long: that always fits
    size_hw = tuple(
        effective_kernel(kernel_hw[a], dilation_hw[a]) if s is None else s
        for a, s in enumerate((height, width))
    )
    pads = resolve_padding(padding, size_hw, kernel_hw, strides_hw, dilation_hw, layer)
    check_window_fits(size_hw, pads, kernel_hw, dilation_hw, layer, arg)
    oh, ow = (
        None
        if s is None
        else conv_output_size(s, kernel_hw[a], strides_hw[a], dilation_hw[a], sum(pads[a]))
        for a, s in enumerate((height, width))
    )
    return n, oh, ow, c if channels is None else channels


def resolved_window(layer, input_shape, kernel_hw, strides_hw, dilation_hw, padding) -> tuple:
    """``(kernel, strides, dilation, ((top, bottom), (left, right)))`` for ``input_shape``
    (default: the shape the layer was built for, or the one it declared)."""
    name = type(layer).__name__
    if input_shape is None:
        input_shape = layer.input_shape
    if input_shape is None and layer.declared_input_shape is not None:
        input_shape = (None, *layer.declared_input_shape)
    size_hw = None if input_shape is None else image_shape(name, input_shape)[1:3]
    if size_hw is None or None in size_hw:
        if isinstance(padding, str) and padding == "same":
            raise ValueError(
                f"{name}.window: 'same' padding depends on the input size; build the layer or "
                f"pass input_shape, received input shape {input_shape}"
            )
        size_hw = (1, 1)
    pads = resolve_padding(padding, tuple(size_hw), kernel_hw, strides_hw, dilation_hw, name)
    return tuple(kernel_hw), tuple(strides_hw), tuple(dilation_hw), pads
