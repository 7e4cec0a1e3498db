"""The architectures of the notes (SPEC §9), each a plain function that builds the network
the way its paper draws it, with the blocks named as the paper names them:

=======================  =========================================  =====================
builder                  network                                    parameters
=======================  =========================================  =====================
``notes_cnn``            the notes' MNIST model (SPEC §7)                          421,642
``lenet5``               LeCun et al. 1998, digits                                  61,706
``alexnet``              Krizhevsky et al. 2012 (torchvision's)                 61,100,840
``vgg11/13/16/19``       Simonyan & Zisserman 2014                 138,357,544 (VGG-16)
``resnet18/34/50/...``   He et al. 2015, ImageNet (torchvision's)   11,689,512 (ResNet-18)
``resnet20/32/44/56``    He et al. 2015 §4.2, CIFAR-10               269,722 (ResNet-20)
``netvlad``              Arandjelović et al. 2016, place recognition
=======================  =========================================  =====================

Parameter counts are the trainable ones, as torchvision counts them. Each builder takes
``input_shape``, ``classes`` and ``include_top`` (and ``pooling`` for a headless network);
``lenet5`` and ``resnet20`` also take ``weights`` (see ``svertka.zoo.weights``); ``alexnet``,
``vgg*`` and ``resnet18..152`` take ``weights`` (a torchvision or timm state dict,
``.safetensors`` or ``.pth``, see ``svertka.interop``) and ``classifier_activation``.
``svertka.applications`` gives the same networks under Keras's names.

>>> notes_cnn().count_params()
421642
"""

from __future__ import annotations

from svertka.layers import Input
from svertka.models import Model, Sequential
from svertka.zoo import weights
from svertka.zoo.alexnet import alexnet
from svertka.zoo.lenet import lenet5
from svertka.zoo.netvlad import netvlad
from svertka.zoo.notes import notes_cnn
from svertka.zoo.resnet import (
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet152,
)
from svertka.zoo.vgg import vgg11, vgg13, vgg16, vgg19

ARCHITECTURES = {
    "notes": notes_cnn,
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg11": vgg11,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet44": resnet44,
    "resnet56": resnet56,
    "netvlad": netvlad,
}


def with_input_layer(model, layer):
    """``model`` with ``layer`` (a ``Rescaling``, say) run on its input first: a new model
    sharing ``model``'s layers and weights.

    >>> from svertka.layers import Rescaling
    >>> with_input_layer(notes_cnn(), Rescaling(1 / 255)).layers[0].scale
    0.00392156862745098
    """
    if isinstance(model, Sequential):
        layer.declared_input_shape = tuple(model.input_shape[1:])
        return Sequential([layer, *model.layers], name=model.name)
    inputs = Input(model.input_shape[1:])
    return Model(inputs, call_on(model, layer(inputs)), name=model.name)


def call_on(model, x):
    """The output of ``model``'s graph (one input, one output) run on the symbolic tensor x:
    the same layers and weights, recorded anew on x, as Keras's calling a model on a tensor.

    >>> call_on(notes_cnn(), Input((28, 28, 1))).shape
    (None, 10)
    """
    values = {id(model.inputs[0]): x}
    for node in model._nodes:
        args = [values[id(p)] for p in node.parents]
        values[id(node)] = node.layer(args if node.many else args[0])
    return values[id(model.outputs[0])]


def pretrained(spec: str, where: str = "zoo.pretrained"):
    """The network ``spec`` names as ``"arch:weights"`` (one of ``weights.specs()``), built for
    the images its shipped weights were trained on and loaded with them; ``where`` names the
    caller in the error for any other spec.

    >>> pretrained("lenet5:mnist").input_shape
    (None, 28, 28, 1)
    """
    arch, _, name = str(spec).partition(":")
    if f"{arch}:{name}" not in weights.specs():
        raise ValueError(f"{where}: argument 'spec' must be a zoo network with shipped weights "
                         f"({', '.join(weights.specs())}), received {spec!r}")
    return ARCHITECTURES[arch](input_shape=weights.INPUTS[name], weights=name)


def from_spec(spec, where: str = "zoo.from_spec", argument: str = "'spec'"):
    """The trained model ``spec`` names, in the forms the command line and ``svertka serve``
    take: a saved model file (loaded without its optimiser), or ``"arch:weights"``, a shipped
    network (``pretrained``). ``where`` and ``argument`` name the caller in the error."""
    import os

    from svertka.models import load_model

    if os.path.isfile(spec):
        return load_model(spec, compile=False)
    if spec not in weights.specs():
        raise ValueError(f"{where}: argument {argument} must be a saved model file or a zoo "
                         f"network with shipped weights ({', '.join(weights.specs())}), "
                         f"received {spec!r} (no such file)")
    return pretrained(spec, where)


def get(name: str, input_shape=None, num_classes: int | None = None):
    """Build an architecture by name, for ``input_shape`` and ``num_classes`` (None: the
    builder's own defaults)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"zoo.get: argument 'name' must be one of {sorted(ARCHITECTURES)}, "
                         f"received {name!r}")
    kwargs = {}
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    if num_classes is not None:
        kwargs["classes"] = num_classes
    return ARCHITECTURES[name](**kwargs)
