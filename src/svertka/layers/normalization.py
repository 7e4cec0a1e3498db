"""Normalisation layers: ``BatchNormalization`` (SPEC §6) normalises each channel by batch
statistics while training and by their moving averages at inference;
``LocalResponseNormalization`` (AlexNet's), ``LayerNormalization`` and ``GroupNormalization``
normalise each sample on its own, the same in training and at inference."""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.layers.core import features
from svertka.ops.normalization import normalized_axes


class BatchNormalization(Layer):
    """Batch normalisation over every axis but the channels (last) axis, Keras semantics.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``. In training (``training=True``)
    mean and var are the batch's (biased variance) and the moving statistics are updated in
    place: ``moving = momentum * moving + (1 - momentum) * batch``. At inference the moving
    statistics are used and left alone. As in Keras, a frozen layer (``trainable=False``)
    always runs in inference mode, which is what fine-tuning a pretrained network needs.

    Weights, in Keras's order: gamma (C,) and beta (C,) trainable (absent with
    ``scale=False`` / ``center=False``), moving_mean (C,) and moving_variance (C,)
    non-trainable: 4*C parameters, 2*C of them trainable.

    ``synchronized=True`` (Keras's argument) matters in data-parallel training over several
    processes (``svertka.distributed``): the batch statistics are then the whole global
    batch's, summed over the ranks at every training step (two small allreduces forward, one
    backward), so N ranks train exactly as one process on the global batch would, and every
    rank keeps the same moving statistics. Alone, or at inference, it changes nothing.

    >>> import numpy as np
    >>> bn = BatchNormalization()
    >>> y = bn(np.random.default_rng(0).normal(5, 2, (64, 3)).astype(np.float32), training=True)
    >>> bn.count_params(), len(bn.trainable_weights), len(bn.non_trainable_weights)
    (12, 2, 2)
    >>> bool(np.abs(y.numpy().mean(axis=0)).max() < 1e-5)
    True
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        synchronized: bool = False,
        **kwargs,
    ):
        op = "BatchNormalization"
        self.synchronized = checks.flag(op, "synchronized", synchronized)
        self.axis = checks.integer(op, "axis", axis)
        self.momentum = checks.finite_float(op, "momentum", momentum, 0.0, 1.0)
        self.epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
        self.center = checks.flag(op, "center", center)
        self.scale = checks.flag(op, "scale", scale)
        self.initializers = {
            name: _args.initializer(op, name, value)
            for name, value in (
                ("beta_initializer", beta_initializer),
                ("gamma_initializer", gamma_initializer),
                ("moving_mean_initializer", moving_mean_initializer),
                ("moving_variance_initializer", moving_variance_initializer),
            )
        }
        self.beta_regularizer = _args.regularizer(op, "beta_regularizer", beta_regularizer)
        self.gamma_regularizer = _args.regularizer(op, "gamma_regularizer", gamma_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        c = features("BatchNormalization", input_shape)
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank != rank - 1:
            raise ValueError(
                f"BatchNormalization: argument 'axis' must be the channels axis, "
                f"the last (-1 or {rank - 1}) for channels-last inputs of shape "
                f"{tuple(input_shape)}, received axis={self.axis}"
            )
        return c

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        init = self.initializers
        self.gamma = (
            self.add_weight(
                "gamma", (c,), init["gamma_initializer"], regularizer=self.gamma_regularizer
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(
                "beta", (c,), init["beta_initializer"], regularizer=self.beta_regularizer
            )
            if self.center
            else None
        )
        self.moving_mean = self.add_weight(
            "moving_mean", (c,), init["moving_mean_initializer"], trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", (c,), init["moving_variance_initializer"], trainable=False
        )

    def check_input_shape(self, input_shape) -> None:
        c = self._channels(input_shape)
        if c != self.moving_mean.shape[0]:
            raise ValueError(
                f"BatchNormalization: the layer was built for "
                f"{self.moving_mean.shape[0]} channels, received input shape "
                f"{tuple(input_shape)}"
            )

    def call(self, inputs, training: bool = False, relu: bool = False):
        """The normalised inputs; ``relu=True`` also applies ReLU in the same op (for a
        model that runs this layer and the ReLU after it as one, ``svertka.models.fusion``)."""
        sync = None
        if self.synchronized:
            from svertka.distributed.fit import batch_norm_sync

            sync = batch_norm_sync()
        # the arrays themselves (not copies): ops.batch_norm updates them in place
        return ops.batch_norm(
            inputs,
            self.gamma,
            self.beta,
            self.moving_mean.data,
            self.moving_variance.data,
            training=training and self.trainable,
            momentum=self.momentum,
            epsilon=self.epsilon,
            relu=relu,
            sync=sync,
        )

    def get_config(self) -> dict:
        op = "BatchNormalization"
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **{
                name: _args.initializer_config(op, name, value)
                for name, value in self.initializers.items()
            },
            "beta_regularizer": _args.regularizer_config(
                op, "beta_regularizer", self.beta_regularizer
            ),
            "gamma_regularizer": _args.regularizer_config(
                op, "gamma_regularizer", self.gamma_regularizer
            ),
            "synchronized": self.synchronized,
        }


class LocalResponseNormalization(Layer):
    """Local response normalisation across channels (AlexNet, Krizhevsky et al. 2012 §3.3),
    with exactly PyTorch's ``torch.nn.LocalResponseNorm`` semantics (``ops.local_response_norm``):

    ``y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_{c'}**2) ** beta``

    the window being ``size`` channels around ``c`` on the last axis (``size // 2`` before,
    ``(size - 1) // 2`` after), zero outside the channel range, and ``alpha`` divided by
    ``size``. TensorFlow's ``tf.nn.local_response_normalization(depth_radius, bias, alpha,
    beta)`` does not divide alpha: it is ``size = 2 * depth_radius + 1``,
    ``alpha = alpha_tf * size``, ``k = bias`` here. No weights; any input of rank >= 2.

    >>> import numpy as np
    >>> lrn = LocalResponseNormalization(size=3, alpha=3.0, beta=1.0, k=1.0)
    >>> lrn(np.ones((1, 3))).numpy().round(4).tolist(), lrn.count_params()
    ([[0.3333, 0.25, 0.3333]], 0)
    """

    def __init__(
        self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, **kwargs
    ):
        op = "LocalResponseNormalization"
        self.size = checks.positive_int(op, "size", size)
        self.alpha = checks.finite_float(op, "alpha", alpha, 0.0)
        self.beta = checks.finite_float(op, "beta", beta)
        self.k = checks.finite_float(op, "k", k, 0.0, low_open=True)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        features("LocalResponseNormalization", input_shape)

    def call(self, inputs, training: bool = False):
        return ops.local_response_norm(inputs, self.size, self.alpha, self.beta, self.k)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "size": self.size,
            "alpha": self.alpha,
            "beta": self.beta,
            "k": self.k,
        }


class _AffineNormalization(Layer):
    """What LayerNormalization and GroupNormalization share: epsilon, and an optional learnt
    scale gamma and offset beta (made in that order, Keras's), with their initialisers and
    regularisers."""

    def _affine_args(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                     beta_regularizer, gamma_regularizer) -> None:
        op = type(self).__name__
        self.epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
        self.center = checks.flag(op, "center", center)
        self.scale = checks.flag(op, "scale", scale)
        self.beta_initializer = _args.initializer(op, "beta_initializer", beta_initializer)
        self.gamma_initializer = _args.initializer(op, "gamma_initializer", gamma_initializer)
        self.beta_regularizer = _args.regularizer(op, "beta_regularizer", beta_regularizer)
        self.gamma_regularizer = _args.regularizer(op, "gamma_regularizer", gamma_regularizer)

    def _add_affine_weights(self, shape: tuple) -> None:
        self.gamma = (
            self.add_weight("gamma", shape, self.gamma_initializer,
                            regularizer=self.gamma_regularizer)
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight("beta", shape, self.beta_initializer,
                            regularizer=self.beta_regularizer)
            if self.center
            else None
        )
        self.param_shape = tuple(shape)

    def get_config(self) -> dict:
        op = type(self).__name__
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _args.initializer_config(
                op, "beta_initializer", self.beta_initializer
            ),
            "gamma_initializer": _args.initializer_config(
                op, "gamma_initializer", self.gamma_initializer
            ),
            "beta_regularizer": _args.regularizer_config(
                op, "beta_regularizer", self.beta_regularizer
            ),
            "gamma_regularizer": _args.regularizer_config(
                op, "gamma_regularizer", self.gamma_regularizer
            ),
        }


class LayerNormalization(_AffineNormalization):
    """Layer normalisation (Ba et al. 2016), Keras semantics: each sample standardised over
    ``axis`` (an int or a list of ints, never the batch axis), then scaled and shifted.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``, mean and biased variance over
    ``axis`` (``ops.layer_norm``). gamma and beta are shaped like the input over ``axis``
    (``(C,)`` for the default last axis, ``(H, W, C)`` for ``axis=[1, 2, 3]``), absent with
    ``scale=False`` / ``center=False``; all trainable. With the trailing axes this is
    PyTorch's ``nn.LayerNorm`` (whose default epsilon is 1e-5).

    >>> import numpy as np
    >>> ln = LayerNormalization(axis=[1, 2, 3])
    >>> y = ln(np.random.default_rng(0).normal(5, 2, (2, 4, 4, 3)).astype(np.float32))
    >>> ln.count_params(), ln.gamma.shape, bool(np.abs(y.numpy().mean(axis=(1, 2, 3))).max() < 1e-5)
    (96, (4, 4, 3), True)
    """

    def __init__(
        self,
        axis=-1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        **kwargs,
    ):
        op = "LayerNormalization"
        if isinstance(axis, (list, tuple)):
            if not axis or not all(checks.is_int(a) for a in axis):
                raise TypeError(
                    f"{op}: argument 'axis' must be an int or a non-empty list of ints, "
                    f"received {axis!r}"
                )
            self.axis = [int(a) for a in axis]
        else:
            self.axis = checks.integer(op, "axis", axis)
        self._affine_args(epsilon, center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer)
        super().__init__(**kwargs)

    def _axes(self, input_shape) -> tuple:
        """The normalised axes for ``input_shape`` (sorted, non-negative, known sizes)."""
        op = "LayerNormalization"
        shape = _args.single_shape(op, input_shape)
        if len(shape) < 2:
            raise ValueError(
                f"{op}: expected inputs of rank >= 2 (batch, ...), received input shape {shape}"
            )
        axes = normalized_axes(op, self.axis, len(shape))
        if 0 in axes:
            raise ValueError(
                f"{op}: argument 'axis' must not include the batch axis (0 or {-len(shape)}) "
                f"for inputs of shape {shape}, received axis={self.axis!r}"
            )
        if any(shape[a] is None for a in axes):
            raise ValueError(
                f"{op}: the axes to normalise must have known sizes, received axis="
                f"{self.axis!r} for input shape {shape}"
            )
        return axes

    def build(self, input_shape) -> None:
        axes = self._axes(input_shape)
        self._add_affine_weights(tuple(input_shape[a] for a in axes))

    def check_input_shape(self, input_shape) -> None:
        axes = self._axes(input_shape)
        if len(input_shape) != len(self.input_shape) or tuple(
            input_shape[a] for a in axes
        ) != self.param_shape:
            raise ValueError(
                f"LayerNormalization: the layer was built for inputs of shape "
                f"{tuple(self.input_shape)}, received input shape {tuple(input_shape)}"
            )

    def call(self, inputs, training: bool = False):
        return ops.layer_norm(inputs, self.gamma, self.beta, self.axis, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(_AffineNormalization):
    """Group normalisation (Wu & He 2018), Keras 3 semantics, channels-last: the C channels
    are split into ``groups`` runs of C / groups consecutive channels, and each sample is
    standardised over (every position, the channels of one group) (``ops.group_norm``).

    ``y = gamma * (x - mean_g) / sqrt(var_g + epsilon) + beta`` with gamma and beta (C,) per
    channel, absent with ``scale=False`` / ``center=False``. ``groups`` must divide C;
    ``groups=1`` normalises over everything but the batch, ``groups=C`` is instance
    normalisation. PyTorch's ``nn.GroupNorm`` on the channels-first layout (default epsilon
    1e-5). ``axis`` must be the channels axis, the last.

    >>> import numpy as np
    >>> gn = GroupNormalization(groups=2)
    >>> y = gn(np.random.default_rng(0).normal(5, 2, (2, 4, 4, 6)).astype(np.float32))
    >>> means = y.numpy().reshape(2, 16, 2, 3).mean(axis=(1, 3))  # (N, groups)
    >>> gn.count_params(), bool(np.abs(means).max() < 1e-5)
    (12, True)
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        **kwargs,
    ):
        op = "GroupNormalization"
        self.groups = checks.positive_int(op, "groups", groups)
        self.axis = checks.integer(op, "axis", axis)
        self._affine_args(epsilon, center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        op = "GroupNormalization"
        c = features(op, input_shape)
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank != rank - 1:
            raise ValueError(
                f"{op}: argument 'axis' must be the channels axis, the last (-1 or "
                f"{rank - 1}) for channels-last inputs of shape {tuple(input_shape)}, "
                f"received axis={self.axis}"
            )
        if c % self.groups:
            raise ValueError(
                f"{op}: argument 'groups' must divide the number of channels into equal "
                f"groups, received groups={self.groups}, but the input has {c} channels "
                f"(input shape {tuple(input_shape)})"
            )
        return c

    def build(self, input_shape) -> None:
        self._add_affine_weights((self._channels(input_shape),))

    def check_input_shape(self, input_shape) -> None:
        c = self._channels(input_shape)
        if (c,) != self.param_shape:
            raise ValueError(
                f"GroupNormalization: the layer was built for {self.param_shape[0]} "
                f"channels, received input shape {tuple(input_shape)}"
            )

    def call(self, inputs, training: bool = False):
        return ops.group_norm(inputs, self.groups, self.gamma, self.beta, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}
