"""``Embedding``: a trainable table of vectors looked up by integer ids, as Keras 3's.

Integer ids of any shape (N, ...) become vectors (N, ..., output_dim): row ``i`` of the
(input_dim, output_dim) table for id ``i``. The lookup is ``ops.getitem(table, ids)``, whose
backward scatter-adds (``np.add.at``) the output gradient into the rows that were read, so an
id met twice in a batch collects both gradients. Ids must lie in ``[0, input_dim)``; any other
value is an error naming the layer, the range and the bad id (NumPy would silently read row
``input_dim - 1`` for -1). Float ids holding whole numbers (what a float32 batch of tokens
carries) are accepted, as Keras casts its inputs to int.

Masks are not supported in svertka, so ``mask_zero=True`` is refused; ``input_length`` is
accepted and ignored, as Keras 3 does.
"""

from __future__ import annotations

import warnings

import numpy as np

from svertka import checks, ops
from svertka.autograd import Tensor
from svertka.backend import asarray, to_numpy
from svertka.layers import _args
from svertka.layers.base import Layer


class Embedding(Layer):
    """A lookup table (input_dim, output_dim): integer ids (N, ...) -> (N, ..., output_dim).

    ``input_dim`` is the vocabulary size (largest id + 1), ``output_dim`` the vector size;
    ``input_dim * output_dim`` parameters, the table initialised by ``embeddings_initializer``
    (default Keras's ``"uniform"``: U(-0.05, 0.05)). ``weights`` optionally gives the initial
    table (an array, or a list holding one).

    >>> import numpy as np
    >>> emb = Embedding(10, 4, weights=[np.arange(40.0).reshape(10, 4)], name="emb")
    >>> emb(np.array([[0, 2], [9, 2]])).numpy()[1].tolist()
    [[36.0, 37.0, 38.0, 39.0], [8.0, 9.0, 10.0, 11.0]]
    >>> emb.compute_output_shape((None, 20)), emb.count_params()
    ((None, 20, 4), 40)
    >>> emb(np.array([[3, 10]]))
    Traceback (most recent call last):
    ValueError: Embedding 'emb': ids must lie in [0, 10) (input_dim=10), received 10
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        mask_zero: bool = False,
        weights=None,
        **kwargs,
    ):
        op = "Embedding"
        self.input_dim = checks.positive_int(op, "input_dim", input_dim)
        self.output_dim = checks.positive_int(op, "output_dim", output_dim)
        self.embeddings_initializer = _args.initializer("Embedding", "embeddings_initializer",
                                                         embeddings_initializer)
        self.embeddings_regularizer = _args.regularizer(op, "embeddings_regularizer",
                                                        embeddings_regularizer)
        if checks.flag(op, "mask_zero", mask_zero):
            raise ValueError(
                "Embedding: argument 'mask_zero' must be False: svertka does not support masks "
                "(no layer would consume one), received mask_zero=True; reserve id 0 for "
                "padding yourself, or pool over all steps"
            )
        self.mask_zero = False
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: argument 'input_length' is deprecated in Keras 3 and "
                          "ignored; just remove it", stacklevel=2)
        self._initial = None
        if weights is not None:
            table = weights[0] if isinstance(weights, (list, tuple)) else weights
            self._initial = np.asarray(table)
            if self._initial.shape != (self.input_dim, self.output_dim):
                raise ValueError(
                    f"Embedding: argument 'weights' must hold one table of shape "
                    f"({self.input_dim}, {self.output_dim}), received shape "
                    f"{self._initial.shape}"
                )
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        _args.single_shape("Embedding", input_shape)
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)
        if self._initial is not None:
            self.set_weights([self._initial])
            self._initial = None

    def compute_output_shape(self, input_shape):
        return (*_args.single_shape("Embedding", input_shape), self.output_dim)

    def check_input_shape(self, input_shape) -> None:
        _args.single_shape("Embedding", input_shape)

    def _ids(self, inputs) -> np.ndarray:
        """The ids as an int64 array, checked to be whole numbers in [0, input_dim)."""
        ids = to_numpy(inputs.data if isinstance(inputs, Tensor) else inputs)
        if ids.dtype.kind == "f":
            bad = ids[ids != np.round(ids)]  # also NaN; infinity is out of range below
            if bad.size:
                raise ValueError(f"Embedding {self.name!r}: ids must be whole numbers, received "
                                 f"{float(bad.flat[0])}")
        elif ids.dtype.kind not in "iub":
            raise TypeError(f"Embedding {self.name!r}: ids must be integers, received dtype "
                            f"{ids.dtype}")
        if ids.size:
            low, high = ids.min(), ids.max()
            if low < 0 or high >= self.input_dim:
                bad = low if low < 0 else high
                bad = int(bad) if np.isfinite(bad) else float(bad)
                raise ValueError(
                    f"Embedding {self.name!r}: ids must lie in [0, {self.input_dim}) "
                    f"(input_dim={self.input_dim}), received {bad}"
                )
        return ids.astype(np.int64)

    def call(self, inputs, training: bool = False):
        return ops.getitem(self.embeddings, asarray(self._ids(inputs)))

    def get_config(self) -> dict:
        init = self.embeddings_initializer
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": init if isinstance(init, str) else
            _args.initializer_config("Embedding", "embeddings_initializer", init),
            "embeddings_regularizer": _args.regularizer_config(
                "Embedding", "embeddings_regularizer", self.embeddings_regularizer),
            "mask_zero": self.mask_zero,
        }


__all__ = ["Embedding"]
