"""``svertka.Model``: a graph of layers built with the functional API.

>>> import svertka
>>> from svertka.layers import Input, Conv2D, Add, Flatten, Dense
>>> x = Input((8, 8, 4))
>>> y = Add()([x, Conv2D(4, 3, padding="same")(x)])          # a residual block is plain code
>>> model = svertka.Model(x, Dense(2)(Flatten()(y)))
>>> model.output_shape
(None, 2)
"""

from __future__ import annotations

import numpy as np

from svertka.autograd import Tensor
from svertka.autograd.function import grad_enabled, no_grad
from svertka.backend import asarray, get_array_module
from svertka.layers.base import Layer, SymbolicTensor, unique_name
from svertka.models import fusion
from svertka.parallel import over_batch, region


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Model:
    """Layers wired from ``inputs`` to ``outputs`` (SymbolicTensors from ``svertka.layers.Input``).

    ``model(x)`` runs the graph on arrays or Tensors; ``compile``/``fit``/``evaluate``/``predict``
    train and use it; ``summary()`` prints its table; ``save`` writes one file.
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None):
        self.name = name or unique_name(self._default_name())
        self.stop_training = False
        self.interrupted = False  # set by fit when Ctrl-C stopped it
        self.divergence: str | None = None  # why fit's guard stopped the last run, if it did
        self.epochs_trained = 0  # complete epochs of fit over the model's life (saved with it)
        self.optimizer = None
        self.loss = None
        self.compiled_metrics: list = []
        self.history = None
        self.class_names: list[str] | None = None  # saved with the model, used by predict CLIs
        self._compile_config: dict | None = None
        self._nodes: list[SymbolicTensor] = []
        self._fused: dict = {}  # layer pairs run as one op (fusion.pairs)
        self._folded: dict = {}  # conv -> batch norm (-> ReLU) run as one at inference
        self._relu_pairs: dict = {}  # Add or batch norm -> ReLU run as one op
        self.inputs: list[SymbolicTensor] = []
        self.outputs: list[SymbolicTensor] = []
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError(f"Model: arguments 'inputs' and 'outputs' must both be given, "
                                 f"received inputs={inputs!r}, outputs={outputs!r}")
            self._set_graph(_as_list(inputs), _as_list(outputs))
            self._single_input = not isinstance(inputs, (list, tuple))
            self._single_output = not isinstance(outputs, (list, tuple))

    @classmethod
    def _default_name(cls) -> str:
        return "functional"

    def _set_graph(self, inputs: list, outputs: list) -> None:
        for t in inputs + outputs:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"{type(self).__name__}: inputs and outputs must be the "
                                f"symbolic tensors of Input(...) and layers, received {t!r}")
        order, seen = [], set()

        def visit(node):  # depth-first post-order gives a topological order of the nodes
            stack = [(node, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                elif id(n) not in seen:
                    seen.add(id(n))
                    stack.append((n, True))
                    stack.extend((p, False) for p in reversed(n.parents))

        for out in outputs:
            visit(out)
        for n in order:
            if n.layer is None and not any(n is i for i in inputs):
                raise ValueError(f"{type(self).__name__}: output depends on an Input that is not "
                                 f"in 'inputs' (shape {n.shape})")
        self.inputs, self.outputs = inputs, outputs
        self._nodes = [n for n in order if n.layer is not None]
        self._fused = fusion.pairs(self._nodes, outputs)  # {id(conv node): its pool node}
        self._folded = fusion.batch_norm_chains(self._nodes, outputs)
        self._relu_pairs = fusion.relu_pairs(self._nodes, outputs)

    # -- structure -----------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        seen, layers = set(), []
        for n in self._nodes:
            if id(n.layer) not in seen:
                seen.add(id(n.layer))
                layers.append(n.layer)
        return layers

    def get_layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}.get_layer: no layer named {name!r}; layers are "
                         f"{[la.name for la in self.layers]}")

    @property
    def input(self):
        """The input SymbolicTensor (the list of them for a model of several inputs), for
        wiring a new model onto this one's layers: ``Model(base.input, base.get_layer(
        "fc2").output)`` shares the layers, and so the weights, of ``base``."""
        if not self.inputs:
            raise ValueError(f"{self.name}.input: the model has no input yet; give the first "
                             f"layer input_shape=..., call build(), or call it on data")
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        """The output SymbolicTensor (the list of them for several outputs); see ``input``."""
        if not self.outputs:
            raise ValueError(f"{self.name}.output: the model has no output yet; give the first "
                             f"layer input_shape=..., call build(), or call it on data")
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    # -- freezing ------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether any layer is trainable (True for a model without layers). Setting it sets
        every layer's ``trainable``, as Keras's flag does; a frozen batch normalisation runs
        in inference mode (its moving statistics stay as they are)."""
        layers = self.layers
        return not layers or any(layer.trainable for layer in layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = value

    def _layer_index(self, what: str, argument: str, key) -> int:
        """The index in ``layers`` of ``key``, a layer name or an int (negative from the end)."""
        layers = self.layers
        if isinstance(key, str):
            for i, layer in enumerate(layers):
                if layer.name == key:
                    return i
            raise ValueError(f"{self.name}.{what}: argument '{argument}' names no layer of the "
                             f"model, received {key!r}; layers are {[la.name for la in layers]}")
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            if -len(layers) <= key < len(layers):
                return int(key) % len(layers)
            raise ValueError(f"{self.name}.{what}: argument '{argument}' must index one of the "
                             f"{len(layers)} layers (-{len(layers)} to {len(layers) - 1}), "
                             f"received {key}")
        raise TypeError(f"{self.name}.{what}: argument '{argument}' must be a layer name or an "
                        f"int index into model.layers, received {key!r}")

    def freeze(self, up_to=None) -> list[str]:
        """Freeze the layers from the first up to and including ``up_to`` (a layer name or an
        index into ``layers``; None: every layer); returns the names of the frozen layers.

        Frozen weights get no gradient and no update (from the next training step on, also
        after ``compile``), and a frozen batch normalisation keeps its moving statistics.

        >>> import svertka
        >>> from svertka.layers import Dense
        >>> m = svertka.Sequential([Dense(4, input_shape=(3,), name="a"), Dense(2, name="b")])
        >>> m.freeze("a"), len(m.trainable_weights)
        (['a'], 2)
        """
        layers = self.layers
        stop = len(layers) - 1 if up_to is None else self._layer_index("freeze", "up_to", up_to)
        for layer in layers[:stop + 1]:
            layer.trainable = False
        return [layer.name for layer in layers[:stop + 1]]

    def unfreeze(self, from_layer=None) -> list[str]:
        """Make every layer from ``from_layer`` (a name or an index; None: the first) to the
        last trainable; returns their names."""
        layers = self.layers
        start = 0 if from_layer is None else self._layer_index("unfreeze", "from_layer",
                                                               from_layer)
        for layer in layers[start:]:
            layer.trainable = True
        return [layer.name for layer in layers[start:]]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def weights(self) -> list[Tensor]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        return [a for layer in self.layers for a in layer.get_weights()]

    def set_weights(self, arrays) -> None:
        arrays, i = list(arrays), 0
        if len(arrays) != len(self.weights):
            raise ValueError(f"{self.name}.set_weights: expected {len(self.weights)} arrays, "
                             f"received {len(arrays)}")
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(arrays[i:i + n])
            i += n

    def _build_for(self, x) -> None:
        """Make the weights before training on ``x`` if the model has none yet (a graph model
        is built when wired; ``Sequential`` overrides this)."""

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # -- running -------------------------------------------------------------------------
    # samples per pass in inference: bounds the memory a large batch takes
    inference_chunk = 128
    # run layer pairs as one op at inference, and in training where a fused kernel can
    # train them (svertka.models.fusion)
    fuse_inference = True
    fuse_training = True
    # fit stops a diverged run (NaN loss, loss stuck at the clamp, non-finite weight) with a
    # warning; False trains on regardless, as Keras does
    stop_on_divergence = True

    def __call__(self, x, training: bool = False):
        """Run the graph on ``x`` (one array or Tensor per input).

        In inference (``training=False`` under ``no_grad``) the batch is cut into one slice
        per core (:mod:`svertka.parallel`), and each core runs its slice through the whole
        graph in chunks of ``inference_chunk`` samples; the outputs are concatenated. The
        same outputs, as every layer treats samples independently at inference, in bounded
        memory (a large batch's window matrices would not fit otherwise), and faster than
        splitting each layer's work: each core keeps its chunk's activations in its own
        cache, and the cores meet once per call, not once per layer. Convolution + pooling
        pairs run fused there (:mod:`svertka.models.fusion`).
        """
        xs = _as_list(x)
        if len(xs) != len(self.inputs):
            raise ValueError(f"{self.name}: expected {len(self.inputs)} input(s), received "
                             f"{len(xs)}")
        ts = []
        for sym, value in zip(self.inputs, xs):
            t = value if isinstance(value, Tensor) else Tensor(asarray(value))
            if t.ndim != len(sym.shape) or any(
                    s is not None and s != d for s, d in zip(sym.shape[1:], t.shape[1:])):
                raise ValueError(f"{self.name}: input must have shape {sym.shape}, received "
                                 f"{tuple(t.shape)}")
            ts.append(t)
        n = len(ts[0])
        with region():
            if training or grad_enabled() or n == 0 or any(len(t) != n for t in ts):
                outs = self._run(ts, training)
            else:
                outs = self._infer(ts, n)
        return outs[0] if len(outs) == 1 else outs

    def _infer(self, ts, n):
        """Inference over slices of the batch in parallel, chunk by chunk (see __call__)."""
        step = self.inference_chunk
        xp = get_array_module(ts[0].data)

        def run(s):
            with no_grad():  # the flag is per thread
                return [self._run([Tensor(t.data[i:min(i + step, s.stop)]) for t in ts], False)
                        for i in range(s.start, s.stop, step)]

        parts = [chunk for part in over_batch(run, n, min_size=16, xp=xp) for chunk in part]
        if len(parts) == 1:
            return parts[0]
        return [Tensor(xp.concatenate([p[k].data for p in parts])) for k in range(len(parts[0]))]

    def _run(self, ts, training):
        """The layers in graph order on input Tensors ``ts``; the output Tensors.

        The layer pairs of :mod:`svertka.models.fusion` run as one op each where they can,
        unless ``fuse_inference`` (gradients off) or ``fuse_training`` (on) is False."""
        values = {id(sym): t for sym, t in zip(self.inputs, ts)}
        fuse = self.fuse_training if grad_enabled() else self.fuse_inference
        fused = self._fused if fuse else {}
        inference = self.fuse_inference and not training and not grad_enabled()
        folded = self._folded if inference else {}
        for node in self._nodes:
            if id(node) in values:  # a later layer of a fused group: already done
                continue
            args = [values[id(p)] for p in node.parents]
            chain = folded.get(id(node))
            if chain is not None:  # conv -> batch norm (-> ReLU), folded into one conv
                bn, act = chain
                y = fusion.conv_bn(node.layer, bn.layer, act is not None, args[0])
                values[id(bn)] = y if act is None else None  # None: its only reader is fused
                if act is not None:
                    values[id(act)] = y
                continue
            act = self._relu_pairs.get(id(node)) if fuse else None
            if act is not None:  # Add or batch norm -> ReLU as one op
                values[id(act)] = fusion.with_relu(node.layer, args, training)
                values[id(node)] = None  # read by no one but the ReLU, now done
                continue
            follower = fused.get(id(node))
            if follower is not None:
                y = fusion.conv_maxpool(node.layer, follower.layer, args[0])
                if y is not None:
                    values[id(follower)] = y
                    continue
            values[id(node)] = node.layer(args if node.many else args[0], training=training)
        return [values[id(o)] for o in self.outputs]

    def predict(self, x, batch_size: int = 32, verbose=0, tta: int = 1,
                tta_augment=None) -> np.ndarray:
        """Outputs for ``x`` as a NumPy array, ``batch_size`` samples at a time; ``tta=n``
        averages each prediction over n augmented copies (test-time augmentation)."""
        from svertka.models.training import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, tta=tta,
                       tta_augment=tta_augment)

    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimiser, loss and metrics (names or objects), as in Keras."""
        from svertka.models.training import compile_model

        compile_model(self, optimizer, loss, metrics)

    def fit(self, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose="auto",
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, initial_epoch: int = 0, augment=None, prefetch: int = 2):
        """Train; returns a ``History``. Ctrl-C stops cleanly after the current batch.

        ``epochs`` is the index of the epoch to stop before, ``initial_epoch`` the one to start
        at (``0 <= initial_epoch < epochs``), as Keras. ``verbose``: 0 silent, 1 a progress
        bar, 2 one line per epoch, ``"auto"`` 1 on a terminal and 2 otherwise (a log file).
        ``augment`` (a ``svertka.augment`` transform or a spec string such as
        ``"flip,crop=4"``) augments every training batch online, in a background thread.

        Each complete epoch adds one to ``epochs_trained``. A diverged run stops by itself
        with a ``RuntimeWarning`` (NaN loss, loss stuck at a cross-entropy's clamp, or a
        non-finite weight: see ``svertka.callbacks.divergence``); the reason is kept in
        ``divergence`` and the history so far is returned. With
        ``svertka.callbacks.BackupAndRestore`` a killed run resumes exactly where it stopped.
        """
        from svertka.models.training import fit

        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                   callbacks=callbacks, validation_split=validation_split,
                   validation_data=validation_data, shuffle=shuffle,
                   initial_epoch=initial_epoch, augment=augment, prefetch=prefetch)

    def evaluate(self, x=None, y=None, batch_size: int = 32, verbose="auto",
                 return_dict: bool = False):
        """Loss (and metrics) on ``x, y``: a float, or a list ``[loss, metric, ...]``."""
        from svertka.models.training import evaluate

        return evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                        return_dict=return_dict)

    def summary(self, print_fn=print, flops: bool = False) -> None:
        """Print the layer table with output shapes, parameters and receptive fields;
        ``flops=True`` adds each layer's multiply-accumulates per image."""
        from svertka.models.summary import summary_text

        print_fn(summary_text(self, flops=flops))

    # -- saving --------------------------------------------------------------------------
    def get_config(self) -> dict:
        from svertka.models.saving import functional_config

        return functional_config(self)

    def save(self, path) -> None:
        """Write architecture, compile config, weights and optimiser state to one file."""
        from svertka.models.saving import save_model

        save_model(self, path)

    def save_weights(self, path) -> None:
        from svertka.models.saving import save_weights

        save_weights(self, path)

    def load_weights(self, path, allow_nonfinite: bool = False) -> None:
        """Set the weights from a ``save_weights`` file; NaN or infinite weights raise
        ``ModelFileError`` unless ``allow_nonfinite``."""
        from svertka.models.saving import load_weights

        load_weights(self, path, allow_nonfinite=allow_nonfinite)

    def export(self, path, **kwargs):
        """Write the model as ONNX (see svertka.interop.onnx)."""
        from svertka.interop.onnx import export_onnx

        return export_onnx(self, path, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, {len(self.layers)} layers>"

