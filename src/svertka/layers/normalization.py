"""``BatchNormalization`` (SPEC §6): normalise each channel by batch statistics while training
and by their moving averages at inference."""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.layers.core import features


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
        **kwargs,
    ):
        op = "BatchNormalization"
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

    def call(self, inputs, training: bool = False):
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
        }
