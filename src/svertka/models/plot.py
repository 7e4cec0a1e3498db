"""``plot_model`` and ``model_to_dot``: the model's graph as Graphviz draws it, as Keras 3's
``keras.utils`` functions of these names do (same arguments, same boxes: an HTML-like table per
layer with its name and class, optionally its activation, input/output shapes, dtype and
whether it trains).

Both need the optional ``pydot`` package (``pip install pydot``); rendering an image also needs
Graphviz's ``dot`` program (https://graphviz.org/download/). Without them the error says
which to install. Unlike Keras, a ``.dot`` file is written without Graphviz: it is the graph's
text, which pydot writes alone.

One node per layer (a layer called twice is one box with several edges, as Keras), plus one
``InputLayer`` box per ``Input`` of a functional model (a Sequential's input is not drawn, as
in Keras); a subclassed model without a graph is one box.
"""

from __future__ import annotations

import os

_EXTENSIONS_WITHOUT_GRAPHVIZ = ("dot", "raw")


def _pydot():
    for name in ("pydot", "pydot_ng", "pydotplus"):  # the forks Keras also accepts
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


def _require_pydot(owner: str):
    pydot = _pydot()
    if pydot is None:
        raise ImportError(f"{owner}: you must install pydot (`pip install pydot`) for {owner} "
                          f"to work")
    return pydot


def _has_graphviz(pydot) -> bool:
    try:
        pydot.Dot.create(pydot.Dot())  # renders an empty graph with Graphviz's dot program
        return True
    except (OSError, getattr(pydot, "PydotException", OSError)):
        return False


def _shape_text(shapes) -> str:
    if not shapes:
        return "?"
    texts = [str(tuple(s)) for s in shapes]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _activation_name(layer):
    """The activation's name, "linear" for none (Keras's default object), or None for a layer
    without an ``activation`` attribute."""
    if not hasattr(layer, "activation"):
        return None
    activation = layer.activation
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    return getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(
        activation)


def _label(layer, name: str, class_name: str, inputs, outputs, dtype, show_shapes: bool,
           show_dtype: bool, show_layer_names: bool, show_layer_activations: bool,
           show_trainable: bool) -> str:
    """The box of one layer: Keras's HTML-like table, row by row."""
    colspan = max(1, int(show_dtype) + int(show_trainable) + 2 * int(show_shapes))
    title = f"<b>{name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    table = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" '
             f'color="white">{title}</font></td></tr>')
    activation = _activation_name(layer) if layer is not None else None
    if show_layer_activations and activation is not None:
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">'
                  f"Activation: <b>{activation}</b></font></td></tr>")
    cols = []
    cell = '<td bgcolor="white"><font point-size="14">{}: <b>{}</b></font></td>'
    if show_shapes:
        if class_name != "InputLayer":
            cols.append(cell.format("Input shape", _shape_text(inputs)))
        cols.append(cell.format("Output shape", _shape_text(outputs)))
    if show_dtype:
        cols.append(cell.format("Output dtype", dtype or "?"))
    if show_trainable and layer is not None and getattr(layer, "weights", None):
        if getattr(layer, "trainable", True):
            cols.append('<td bgcolor="forestgreen"><font point-size="14" color="white">'
                        "<b>Trainable</b></font></td>")
        else:
            cols.append('<td bgcolor="firebrick"><font point-size="14" color="white">'
                        "<b>Non-trainable</b></font></td>")
    if cols:
        table += f"<tr>{''.join(cols)}</tr>"
    return table + "</table>>"


def _add_node(pydot, dot, key: str, label: str) -> None:
    node = pydot.Node(key, label=label)
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    dot.add_node(node)


def _add_edge(pydot, dot, src: str, dst: str) -> None:
    if not dot.get_edge(src, dst):
        edge = pydot.Edge(src, dst)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _is_graph_model(layer) -> bool:
    return bool(getattr(layer, "_nodes", None)) and bool(getattr(layer, "inputs", None))


def _draw(pydot, dot, model, options: dict, expand_nested: bool) -> tuple[dict, dict]:
    """Add ``model``'s boxes and edges to ``dot``. Returns the keys where edges into each of
    its inputs should land and where edges out of each of its outputs start (for nesting)."""
    from svertka.models.sequential import Sequential

    sequential = isinstance(model, Sequential)
    layer_nodes: dict[int, list] = {}  # id(layer) -> its nodes, in call order
    for node in model._nodes:
        layer_nodes.setdefault(id(node.layer), []).append(node)
    inner: dict[int, tuple[dict, dict]] = {}  # id(nested model) -> its entry/exit keys
    source_key: dict[int, str] = {}  # id(symbolic tensor) -> the box it comes out of
    entry: dict[int, list[str]] = {}  # id(model input) -> the boxes that read it

    for i, t in enumerate(model.inputs):
        if sequential:
            continue
        key = str(id(t))
        source_key[id(t)] = key
        name = getattr(t, "name", None) or f"input_layer_{i}"
        _add_node(pydot, dot, key, _label(None, name, "InputLayer", [], [t.shape],
                                          getattr(t, "dtype", None), **options))
    for node in model._nodes:
        layer = node.layer
        if id(layer) in inner or (layer_nodes[id(layer)][0] is not node):
            pass
        elif expand_nested and _is_graph_model(layer):
            cluster = pydot.Cluster(graph_name=layer.name, style="dashed")
            cluster.set("label", layer.name)
            cluster.set("labeljust", "l")
            inner[id(layer)] = _draw(pydot, cluster, layer, options, expand_nested)
            dot.add_subgraph(cluster)
        else:
            nodes = layer_nodes[id(layer)]
            calls = [n for n in nodes if n.index in (None, 0)]
            outputs = [s.shape for n in calls[:1] for s in (n.siblings or (n,))]
            _add_node(pydot, dot, str(id(layer)),
                      _label(layer, layer.name, type(layer).__name__,
                             [p.shape for p in node.parents], outputs,
                             getattr(node, "dtype", None), **options))
        if id(layer) in inner:
            exits = inner[id(layer)][1]
            source_key[id(node)] = exits.get(node.index or 0, str(id(layer)))
        else:
            source_key[id(node)] = str(id(layer))
    for node in model._nodes:
        layer = node.layer
        for position, parent in enumerate(node.parents):
            if id(layer) in inner:
                targets = inner[id(layer)][0].get(position, [])
            else:
                targets = [str(id(layer))]
            if parent.layer is None and sequential:  # the undrawn input of a Sequential
                for target in targets:
                    entry.setdefault(id(parent), []).append(target)
                continue
            if parent.layer is None:
                entry.setdefault(id(parent), []).append(source_key[id(parent)])
            for target in targets:
                _add_edge(pydot, dot, source_key[id(parent)], target)
    entries = {i: entry.get(id(t), []) for i, t in enumerate(model.inputs)}
    exits = {i: source_key[id(t)] for i, t in enumerate(model.outputs) if id(t) in source_key}
    return entries, exits


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
                 dpi: int = 200, subgraph: bool = False, show_layer_activations: bool = False,
                 show_trainable: bool = False, splines: str = "ortho", **kwargs):
    """The model's graph as a ``pydot.Dot`` (a ``pydot.Cluster`` with ``subgraph=True``);
    arguments as Keras's ``keras.utils.model_to_dot``. ``expand_nested`` draws a model used
    as a layer as a dashed cluster of its own layers.

    >>> import svertka
    >>> from svertka.layers import Dense
    >>> model = svertka.Sequential([Dense(4, input_shape=(3,), name="hidden"),
    ...                             Dense(2, name="out")])
    >>> pydot = __import__("pytest").importorskip("pydot")  # optional: pip install pydot
    >>> dot = model_to_dot(model, show_shapes=True)
    >>> len(dot.get_edges()), "Output shape: <b>(None, 2)</b>" in dot.to_string()
    (1, True)
    """
    owner = "model_to_dot"
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError(f"{owner}: argument 'layer_range' is no longer supported (Keras 3)")
    if kwargs:
        raise ValueError(f"{owner}: unrecognized keyword arguments {sorted(kwargs)}")
    pydot = _require_pydot(owner)
    from svertka.models.sequential import Sequential

    if isinstance(model, Sequential) and not model._nodes:
        raise ValueError(f"{owner}: the model {model.name!r} has not yet been built; build it "
                         f"first by calling build(), giving its first layer input_shape=..., "
                         f"or calling it on a batch of data")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype,
               "show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations,
               "show_trainable": show_trainable}
    if not _is_graph_model(model):  # a subclassed model: one box, as Keras
        _add_node(pydot, dot, str(id(model)),
                  _label(model, model.name, type(model).__name__, [], [], None, **options))
        return dot
    _draw(pydot, dot, model, options, expand_nested)
    return dot


def plot_model(model, to_file="model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = False, rankdir: str = "TB", expand_nested: bool = False,
               dpi: int = 200, show_layer_activations: bool = False, show_trainable: bool = False,
               splines: str = "ortho", **kwargs):
    """Draw the model's graph into ``to_file``, in the format its extension names (``png``
    when it has none), as Keras's ``keras.utils.plot_model`` (whose ``show_layer_names``
    default is False in Keras 3). Needs pydot and, except for a ``.dot`` file, Graphviz;
    otherwise raises an ImportError saying what to install. Returns an IPython image where
    IPython is installed (except for PDF), as Keras does, else None.
    """
    owner = "plot_model"
    pydot = _require_pydot(owner)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    # the graph first: a model it cannot draw says so before Graphviz is asked for
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines, **kwargs)
    if extension not in _EXTENSIONS_WITHOUT_GRAPHVIZ and not _has_graphviz(pydot):
        raise ImportError(f"{owner}: you must install Graphviz (its 'dot' program; see "
                          f"https://graphviz.org/download/) for plot_model to write "
                          f"{extension!r} images; a '.dot' file needs only pydot")
    if extension in _EXTENSIONS_WITHOUT_GRAPHVIZ:
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(dot.to_string())
        return None
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display

            return display.Image(filename=to_file)
        except ImportError:
            pass
    return None
