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
from svertka.layers.base import Layer, _is_users, unique_name
from svertka.layers.calling import call_scope, in_call
from svertka.layers.symbolic import SymbolicTensor
from svertka.models import fusion, inference
from svertka.naming import snake_case
from svertka.parallel import over_batch, region

MIN_SLICE = 16  # the fewest samples per thread when inference splits a batch


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _is_users_model(model) -> bool:
    """A user's ``Model`` subclass that runs its own ``call`` (not a graph)."""
    return type(model).call is not Model.call and not model._nodes


class Model(Layer):
    """Layers wired from ``inputs`` to ``outputs`` (SymbolicTensors from ``svertka.layers.Input``).

    ``model(x)`` runs the graph on arrays or Tensors; ``compile``/``fit``/``evaluate``/``predict``
    train and use it; ``summary()`` prints its table; ``save`` writes one file.

    A model is a layer (as in Keras): called on symbolic tensors it is one node of another
    graph, its weights shared; it can sit in a ``Sequential``. ``inputs`` and ``outputs`` may
    be single tensors, lists or dicts. Subclassing is Keras's too: layers assigned in
    ``__init__``, ``call(inputs, training=False)`` run by ``model(x)``, built on the first
    call.

    >>> import numpy as np
    >>> from svertka.layers import Dense, Input
    >>> x = Input((4,))
    >>> encoder = Model(x, Dense(2, name="code")(x), name="encoder")
    >>> y = Input((4,))
    >>> outer = Model(y, Dense(1)(encoder(y)))
    >>> [layer.name for layer in outer.layers][:1], outer.count_params()
    (['encoder'], 13)
    >>> class TwoLayers(Model):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.hidden = Dense(8, activation="relu")
    ...         self.out = Dense(1)
    ...     def call(self, inputs, training=False):
    ...         return self.out(self.hidden(inputs))
    >>> m = TwoLayers()
    >>> m(np.ones((3, 4), np.float32)).shape, len(m.layers), m.count_params()
    ((3, 1), 2, 49)
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None,
                 trainable: bool = True, **kwargs):
        kwargs.pop("dtype", None)  # accepted for Keras compatibility; weights are float32
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        self.name = name or unique_name(self._default_name())
        self._trainable = bool(trainable)
        self.declared_input_shape = None
        self._layer_input_shape = self._layer_output_shape = None
        self._input_keys: list | None = None  # Model(inputs={"a": ...}): the keys, in order
        self._output_keys: list | None = None
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
        self._plans = inference.Plans()  # inference plans by input signature
        self.inputs: list[SymbolicTensor] = []
        self.outputs: list[SymbolicTensor] = []
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError(f"Model: arguments 'inputs' and 'outputs' must both be given, "
                                 f"received inputs={inputs!r}, outputs={outputs!r}")
            if isinstance(inputs, dict):
                self._input_keys, inputs = list(inputs), list(inputs.values())
            if isinstance(outputs, dict):
                self._output_keys, outputs = list(outputs), list(outputs.values())
            self._set_graph(_as_list(inputs), _as_list(outputs))
            self._single_input = not isinstance(inputs, (list, tuple))
            self._single_output = not isinstance(outputs, (list, tuple))
            self.built = True

    @classmethod
    def _default_name(cls) -> str:
        """``functional``; a user's subclass is named after its class (``custom_model``)."""
        return snake_case(cls.__name__) if _is_users(cls) else "functional"

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
        self._plans = inference.Plans()

    # -- structure -----------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers in graph order, each once (a model used as a layer is one of them); for
        a subclassed model, the layers assigned as attributes, in assignment order."""
        if not self._nodes:
            return Layer._children(self)
        seen, layers = set(), []
        for n in self._nodes:
            if id(n.layer) not in seen:
                seen.add(id(n.layer))
                layers.append(n.layer)
        return layers

    def _children(self) -> list[Layer]:
        return self.layers

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer named ``name`` or at ``index`` in ``layers``, as Keras's ``get_layer``.

        >>> from svertka.layers import Dense, Input
        >>> x = Input((3,))
        >>> m = Model(x, Dense(2, name="out")(Dense(4, name="hidden")(x)))
        >>> m.get_layer("out").units, m.get_layer(index=0).name
        (2, 'hidden')
        """
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError(f"{self.name}.get_layer: provide only a layer name or a layer "
                             f"index, received index={index}, name={name!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
                raise TypeError(f"{self.name}.get_layer: argument 'index' must be an int, "
                                f"received {index!r}")
            if len(layers) <= index:
                raise ValueError(f"{self.name}.get_layer: was asked to retrieve the layer at "
                                 f"index {index} but the model only has {len(layers)} layers")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"{self.name}.get_layer: no such layer: {name!r}; existing layers "
                             f"are {[la.name for la in layers]}")
        raise ValueError(f"{self.name}.get_layer: provide either a layer name or a layer index")

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
        Layer.trainable.fset(self, value)  # its own weights and its layers (_children)

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
        if not self.inputs:  # a subclassed model: the shape of its first call
            return self._layer_input_shape
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @input_shape.setter
    def input_shape(self, value) -> None:
        self._layer_input_shape = value

    @property
    def output_shape(self):
        if not self.outputs:
            return self._layer_output_shape
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @output_shape.setter
    def output_shape(self, value) -> None:
        self._layer_output_shape = value

    # weights, trainable_weights, get/set_weights and count_params are Layer's: the model's
    # own weights (a subclassed model may add some), then its layers', each shared one once

    def _build_for(self, x) -> None:
        """Make the weights before training on ``x`` if the model has none yet: a graph model
        is built when wired (``Sequential`` overrides this); a subclassed model runs one
        forward pass on the first sample, so that ``fit`` finds its weights."""
        if self.built or not _is_users_model(self):
            return
        if not (hasattr(x, "shape") or isinstance(x, (list, tuple, dict))):
            return  # batches from an iterable: the caller builds on the first batch
        first = ([v[:1] for v in x] if isinstance(x, (list, tuple))
                 else {k: v[:1] for k, v in x.items()} if isinstance(x, dict) else x[:1])
        with no_grad():
            self(first, training=False)

    def _ensure_built(self, input_shape) -> None:
        """A subclassed model's first call builds its layers as it runs them; a ``build`` of
        the subclass's own runs first, as in Keras."""
        if self.built:
            return
        self.input_shape = input_shape
        if type(self).build is not Model.build:
            self.build(input_shape)
        self.built = True

    def build(self, input_shape) -> None:
        """Build a subclassed model for inputs of ``input_shape`` (batch axis first or not;
        unknown sizes run as 32) by calling it once on zeros, as Keras's ``build``."""
        if not _is_users_model(self):
            self.built = True
            return
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        xs = [np.zeros((1, *(32 if d is None else d for d in tuple(s)[1:])), np.float32)
              for s in shapes]  # Keras's shapes include the batch axis
        with no_grad():
            self(xs if isinstance(input_shape, list) else xs[0], training=False)

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

    def call(self, inputs, training=False):
        """Run the graph on Tensors (what ``model(x)`` does without the inference paths)."""
        outs = self._run([t if isinstance(t, Tensor) else Tensor(asarray(t))
                          for t in self._input_list(inputs)], training)
        return self._structure(outs)

    def _input_list(self, x) -> list:
        if isinstance(x, dict):
            keys = self._input_keys
            if keys is None:  # Keras: a dict's keys name the Input(name=...) tensors
                keys = [getattr(t, "_name", None) for t in self.inputs]
                if None in keys:
                    raise ValueError(f"{self.name}: received a dict of inputs, but the "
                                     f"model's inputs are neither a dict nor all named "
                                     f"(Input(name=...))")
            missing = [k for k in keys if k not in x]
            if missing:
                raise ValueError(f"{self.name}: the dict of inputs lacks {missing}; expected "
                                 f"the keys {keys}")
            return [x[k] for k in keys]
        return _as_list(x)

    def _structure(self, outs: list):
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outs))
        return outs[0] if len(outs) == 1 else outs

    def _symbolic_model_call(self, x):
        """One node of the enclosing graph (one per output for several outputs)."""
        xs = self._input_list(x)
        if len(xs) != len(self.inputs):
            raise ValueError(f"{self.name}: expected {len(self.inputs)} input(s), received "
                             f"{len(xs)}")
        for sym, t in zip(self.inputs, xs):
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"{self.name}: called on a mix of symbolic tensors and "
                                f"{type(t).__name__}; pass symbolic tensors only")
            if len(t.shape) != len(sym.shape) or any(
                    s is not None and d is not None and s != d
                    for s, d in zip(sym.shape[1:], t.shape[1:])):
                raise ValueError(f"{self.name}: input must have shape {sym.shape}, received "
                                 f"{t.shape}")
        many = len(xs) > 1 or isinstance(x, (list, tuple, dict))
        shapes = [t.shape for t in self.outputs]
        nodes = self._make_nodes(shapes if len(shapes) > 1 else shapes[0], xs, many)
        nodes = nodes if isinstance(nodes, list) else [nodes]
        return self._structure(nodes)

    def __call__(self, x, training=None, **kwargs):
        """Run the graph on ``x`` (one array or Tensor per input; a list, or a dict for a
        model whose inputs are a dict). Called on symbolic tensors, the model becomes one
        node of the enclosing graph. A subclassed model runs its ``call``.

        In inference (``training=False`` under ``no_grad``) the batch is cut into one slice
        per core (:mod:`svertka.parallel`), and each core runs its slice through the whole
        graph in chunks of ``inference_chunk`` samples; the outputs are concatenated. The
        same outputs, as every layer treats samples independently at inference, in bounded
        memory (a large batch's window matrices would not fit otherwise), and faster than
        splitting each layer's work: each core keeps its chunk's activations in its own
        cache, and the cores meet once per call, not once per layer. Convolution + pooling
        pairs run fused there (:mod:`svertka.models.fusion`).
        """
        if _is_users_model(self):
            return Layer.__call__(self, x, training=training, **kwargs)
        if kwargs:
            raise TypeError(f"{self.name}: unexpected keyword arguments {sorted(kwargs)}")
        xs = self._input_list(x)
        if any(isinstance(t, SymbolicTensor) for t in xs):
            return self._symbolic_model_call(x)
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
        nested = in_call()  # a model inside another's call runs plainly, in the caller's thread
        with call_scope(self, training) as training, region(n):
            training = bool(training)
            if (training or nested or grad_enabled() or n == 0
                    or any(len(t) != n for t in ts)):
                outs = self._run(ts, training)
            else:
                outs = self._infer(ts, n)
        return self._structure(outs)

    def _infer(self, ts, n):
        """Inference over slices of the batch in parallel, chunk by chunk (see __call__)."""
        step = self.inference_chunk
        if n <= step and n < 2 * MIN_SLICE:  # one slice of one chunk: this thread runs it
            return self._run(ts, False)
        xp = get_array_module(ts[0].data)

        def run(s):
            with no_grad():  # the flag is per thread
                return [self._run([Tensor(t.data[i:min(i + step, s.stop)]) for t in ts], False)
                        for i in range(s.start, s.stop, step)]

        parts = [chunk for part in over_batch(run, n, min_size=MIN_SLICE, xp=xp) for chunk in part]
        if len(parts) == 1:
            return parts[0]
        return [Tensor(xp.concatenate([p[k].data for p in parts])) for k in range(len(parts[0]))]

    def _run(self, ts, training):
        """The layers in graph order on input Tensors ``ts``; the output Tensors.

        The layer pairs of :mod:`svertka.models.fusion` run as one op each where they can,
        unless ``fuse_inference`` (gradients off) or ``fuse_training`` (on) is False. At
        inference (gradients off, ``fuse_inference`` on) a signature's first call also makes
        its plan, and later calls run that (:mod:`svertka.models.inference`)."""
        if training or grad_enabled() or not self.fuse_inference:
            return self._run_nodes(ts, training)
        key = inference.signature(ts)
        plan = self._plans.get(key) if key is not None else None
        if plan is not None:
            try:
                return [Tensor(y) for y in plan.run([t.data for t in ts])]
            except inference.Stale:  # a weight changed shape: the usual run, and a new plan
                self._plans.pop(key, None)
        values = {}
        outs = self._run_nodes(ts, False, values)
        if key is not None and len(self._plans) < inference.MAX_PLANS:
            plan = inference.build(self, values)
            if plan is not None:
                self._plans[key] = plan
        return outs

    def _run_nodes(self, ts, training, values=None):
        """:meth:`_run` node by node; ``values`` (a dict) receives every node's output."""
        values = {} if values is None else values
        values.update((id(sym), t) for sym, t in zip(self.inputs, ts))
        fuse = self.fuse_training if grad_enabled() else self.fuse_inference
        fused = self._fused if fuse else {}
        at_inference = self.fuse_inference and not training and not grad_enabled()
        folded = self._folded if at_inference else {}
        for node in self._nodes:
            if id(node) in values:  # a later layer of a fused group: already done
                continue
            self._run_node(node, values, training, fuse, fused, folded)
        return [values[id(o)] for o in self.outputs]

    def _run_node(self, node, values, training, fuse, fused, folded) -> None:
        """Run ``node`` (with the nodes fused to it) on ``values``, into ``values``."""
        args = [values[id(p)] for p in node.parents]
        chain = folded.get(id(node))
        if chain is not None:  # conv -> batch norm (-> ReLU), folded into one conv
            bn, act = chain
            y = fusion.conv_bn(node.layer, bn.layer, act is not None, args[0])
            values[id(bn)] = y if act is None else None  # None: its only reader is fused
            if act is not None:
                values[id(act)] = y
            return
        act = self._relu_pairs.get(id(node)) if fuse else None
        if act is not None:  # Add or batch norm -> ReLU as one op
            values[id(act)] = fusion.with_relu(node.layer, args, training)
            values[id(node)] = None  # read by no one but the ReLU, now done
            return
        follower = fused.get(id(node))
        if follower is not None:
            y = fusion.conv_maxpool(node.layer, follower.layer, args[0])
            if y is not None:
                values[id(follower)] = y
                return
        if node.positional:  # layer(a, b, ...)
            y = node.layer(*args, training=training, **node.call_kwargs)
        else:
            y = node.layer(args if node.many else args[0], training=training,
                           **node.call_kwargs)
        if node.index is None:
            values[id(node)] = y
        else:  # one call of a layer of several outputs gives all its nodes' values
            ys = list(y.values()) if isinstance(y, dict) else list(y)
            for sibling in node.siblings:
                values[id(sibling)] = ys[sibling.index]

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, tta: int = 1,
                tta_augment=None):
        """Outputs for ``x`` as a NumPy array (a list of them for several outputs),
        ``batch_size`` (default 32) samples at a time; ``x`` may also be a ``PyDataset``, a
        generator or an iterable of batches (``steps`` of them). ``tta=n`` averages each
        prediction over n augmented copies (test-time augmentation)."""
        from svertka.models.training import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                       callbacks=callbacks, tta=tta, tta_augment=tta_augment)

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, **kwargs) -> None:
        """Choose the optimiser, loss and metrics (names or objects), as in Keras 3: for a
        model of several outputs, ``loss``, ``loss_weights`` and ``metrics`` may be lists or
        dicts keyed by output name (see :mod:`svertka.models.compiled`); ``loss=None`` when
        ``add_loss`` gives the loss. Keras's execution options (``run_eagerly``,
        ``steps_per_execution``, ``jit_compile``, ``auto_scale_loss``) are accepted and
        change nothing: svertka always runs eagerly."""
        from svertka.models.training import compile_model

        unknown = sorted(set(kwargs) - {"run_eagerly", "steps_per_execution", "jit_compile",
                                        "auto_scale_loss"})
        if unknown:
            raise TypeError(f"{self.name}.compile: unexpected keyword arguments {unknown}")
        compile_model(self, optimizer, loss, metrics, loss_weights=loss_weights,
                      weighted_metrics=weighted_metrics)

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose="auto",
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, class_weight=None, sample_weight=None,
            initial_epoch: int = 0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq: int = 1, augment=None,
            prefetch: int = 2):
        """Train; returns a ``History``. Ctrl-C stops cleanly after the current batch.

        Keras 3's arguments: ``x``/``y`` arrays (lists or dicts of them for several inputs
        or outputs), or ``x`` a ``PyDataset``, a generator or an iterable of ``(x, y[, sw])``
        batches (a torch ``DataLoader`` too), ``steps_per_epoch`` of them per epoch;
        ``batch_size`` (default 32) for arrays; ``sample_weight`` and ``class_weight``
        weigh the loss and the ``weighted_metrics``.
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
                   class_weight=class_weight, sample_weight=sample_weight,
                   initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                   validation_steps=validation_steps,
                   validation_batch_size=validation_batch_size,
                   validation_freq=validation_freq, augment=augment, prefetch=prefetch)

    def fit_generator(self, generator, steps_per_epoch=None, epochs: int = 1, workers=None,
                      use_multiprocessing=None, max_queue_size=None, **kwargs):
        """Keras 2's name for ``fit`` on a generator (``ImageDataGenerator.flow``); its
        ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted and change
        nothing (the batches are made in this process, as a ``PyDataset`` gives them)."""
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, **kwargs)

    def evaluate_generator(self, generator, steps=None, workers=None,
                           use_multiprocessing=None, max_queue_size=None, **kwargs):
        """Keras 2's name for ``evaluate`` on a generator (see ``fit_generator``)."""
        return self.evaluate(generator, steps=steps, **kwargs)

    def predict_generator(self, generator, steps=None, workers=None,
                          use_multiprocessing=None, max_queue_size=None, **kwargs):
        """Keras 2's name for ``predict`` on a generator (see ``fit_generator``)."""
        return self.predict(generator, steps=steps, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict: bool = False):
        """Loss (and metrics) on ``x, y``: a float, or a list ``[loss, metric, ...]`` (a dict
        with ``return_dict``); ``x`` as in ``fit``; ``callbacks`` get the ``on_test_*``
        calls."""
        from svertka.models.training import evaluate

        return evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                        sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                        return_dict=return_dict)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One gradient step on one batch; its loss and metrics (reset before it, as Keras
        3 does): a float, a list ``[loss, metric, ...]``, or a dict with ``return_dict``."""
        from svertka.models.training import train_on_batch

        return train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """``evaluate`` on one batch, taken whole: its loss and metrics."""
        from svertka.models.training import batch_rows

        rows = batch_rows(f"{self.name}.test_on_batch", x)
        return self.evaluate(x, y, batch_size=rows, verbose=0, sample_weight=sample_weight,
                             return_dict=return_dict)

    def predict_on_batch(self, x):
        """``predict`` on one batch, taken whole."""
        from svertka.models.training import batch_rows

        return self.predict(x, batch_size=batch_rows(f"{self.name}.predict_on_batch", x))

    @property
    def metrics_names(self) -> list[str]:
        """The names of ``evaluate``'s values, in order (Keras's ``metrics_names``)."""
        compiled = getattr(self, "_compiled_loss", None)
        if compiled is None:
            return []
        return ["loss", *compiled.log_names, *self._compiled_metrics.log_names]

    def summary(self, line_length=None, positions=None, print_fn=None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range=None,
                flops: bool = False) -> None:
        """Print the layer table with output shapes, parameters and receptive fields;
        ``show_trainable`` adds Keras's Trainable column, ``expand_nested`` the layers of
        nested models, ``layer_range`` (two layer names) a slice of the table;
        ``flops=True`` adds each layer's multiply-accumulates per image. ``line_length``
        and ``positions`` are accepted for Keras's signature (the table sizes itself)."""
        from svertka.models.summary import summary_text

        (print_fn or print)(summary_text(self, flops=flops, show_trainable=show_trainable,
                                         expand_nested=expand_nested, layer_range=layer_range))

    # -- saving --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The graph's config (``functional_config``); for a subclassed model without its own
        ``get_config``, Keras 3's automatic config of its constructor arguments."""
        if _is_users_model(self):
            config = {"name": self.name, "trainable": self.trainable}
            if type(self).get_config is Model.get_config:
                config.update(self._auto_config())
            return config
        from svertka.models.architecture import functional_config, sequential_config
        from svertka.models.sequential import Sequential

        # a Sequential's: its name, input shape and layers (also for a subclass of either)
        if isinstance(self, Sequential):
            return sequential_config(self)
        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A new model (fresh weights) from ``get_config()``'s dict; custom classes come
        from ``custom_objects``, the active ``custom_object_scope`` or the registry. A
        subclassed model is ``cls(**config)``, as Keras."""
        from svertka.models.sequential import Sequential

        if cls in (Model, Sequential):
            from svertka.models.architecture import config_to_model

            return config_to_model(cls, config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture as a JSON string (``svertka.models.model_from_json`` reads it)."""
        from svertka.saving.cloning import model_to_json

        return model_to_json(self, **kwargs)

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

