"""``svertka.Sequential``: a plain stack of layers, each feeding the next (SPEC §7).

>>> import svertka
>>> from svertka.layers import Conv2D, MaxPooling2D, Flatten, Dense
>>> model = svertka.Sequential([
...     Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)),
...     MaxPooling2D((2, 2), strides=2),
...     Flatten(),
...     Dense(10, activation="softmax"),
... ])
>>> model.count_params()
63050
"""

from __future__ import annotations

from svertka.layers.base import Layer
from svertka.layers.symbolic import SymbolicTensor
from svertka.models.model import Model


class Sequential(Model):
    """Layers applied in order. The input shape comes from the first layer's ``input_shape``,
    an ``Input(...)`` placed first, ``build(input_shape)``, or the first batch it is called on."""

    def __init__(self, layers=None, name: str | None = None, trainable: bool = True,
                 **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._layers: list[Layer] = []
        self._input: SymbolicTensor | None = None
        self._single_input = self._single_output = True
        for layer in layers or []:
            self.add(layer)

    @classmethod
    def _default_name(cls) -> str:
        return "sequential"

    def add(self, layer) -> None:
        """Append a layer (or an ``Input`` as the very first item)."""
        if isinstance(layer, SymbolicTensor) and layer.layer is None:
            if self._layers or self._input is not None:
                raise ValueError(f"{self.name}.add: an Input can only come first")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}.add: argument 'layer' must be a svertka Layer, "
                            f"received {layer!r}")
        if any(layer is other for other in self._layers):
            raise ValueError(f"{self.name}.add: layer {layer.name!r} is already in the model")
        if not self._layers and self._input is None and layer.declared_input_shape is not None:
            self._input = SymbolicTensor((None, *layer.declared_input_shape))
        if (not self._layers and self._input is None and isinstance(layer, Model)
                and len(layer.inputs) == 1):  # a model first: its input is the input (Keras)
            self._input = SymbolicTensor((None, *layer.inputs[0].shape[1:]))
        self._layers.append(layer)
        if self._input is not None:
            self._rebuild_graph()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer (transfer learning: replace the classifier).

        As Keras, ``rebuild=True`` rewires the model at once (its ``output`` is then the new
        last layer's); with ``rebuild=False`` the model is rewired on its next use.

        >>> from svertka.layers import Dense
        >>> m = Sequential([Dense(4, input_shape=(3,)), Dense(2, name="head")])
        >>> m.pop().name, m.output_shape
        ('head', (None, 4))
        """
        if not self._layers:
            raise ValueError(f"{self.name}.pop: the model has no layers")
        layer = self._layers.pop()
        if self._input is not None:
            if rebuild:
                self._rebuild_graph()
            else:
                self._stale = True
        return layer

    def build(self, input_shape) -> None:
        """Fix the input shape ``(None, H, W, C)`` (or without the batch axis) and build."""
        shape = tuple(input_shape)
        self._input = SymbolicTensor(shape if shape[0] is None else (None, *shape))
        self._rebuild_graph()

    def _rebuild_graph(self) -> None:
        self._stale = False
        node = self._input
        for layer in self._layers:
            node = layer(node)
        self._set_graph([self._input], [node])

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def __call__(self, x, training=None, **kwargs):
        if self._input is None:  # deferred build: the first batch tells the input shape
            shape = x.shape if hasattr(x, "shape") else None
            if shape is None:
                raise ValueError(f"{self.name}: call it on an array or give the first layer "
                                 f"an input_shape")
            self.build((None, *shape[1:]))
        elif getattr(self, "_stale", False):
            self._rebuild_graph()
        return super().__call__(x, training=training, **kwargs)

    def _build_for(self, x) -> None:
        """Build from the data's shape if no input shape was given: ``fit`` takes the
        trainable weights before its first batch, and a model built only by that batch would
        train nothing in its first ``fit`` (its loss stayed the same every epoch)."""
        if self._input is None:
            self.build((None, *x.shape[1:]))
        elif getattr(self, "_stale", False):
            self._rebuild_graph()

    def _require_built(self, what: str) -> None:
        if self._input is None:
            raise ValueError(f"{self.name}.{what}: the model has no input shape yet; give the "
                             f"first layer input_shape=..., call build(), or call it on data")
