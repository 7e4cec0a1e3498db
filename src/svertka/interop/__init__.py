"""Weights and models across the border with other frameworks.

- ``load_torch_state_dict(model, state, mapping=None)``: a PyTorch state dict (a dict, or a
  ``.safetensors``/``.pth`` file) into any svertka model, layouts converted and everything
  checked first (see ``svertka.interop.torch_state``);
- ``read_state_file(path)``: such a file as NumPy arrays;
- ``torchvision_mapping(arch, model)``: the names of torchvision's (and timm's) AlexNet, VGG and
  ResNet against the zoo's; ``svertka.zoo.resnet50(weights="resnet50.safetensors")`` uses it;
- ``imagenet_preprocess(x)``: the input normalisation those weights were trained with;
- ``export_onnx(model, path)`` (``model.export(path)``, ``svertka export``): the model as an
  ONNX file for onnxruntime and other runtimes (see ``svertka.interop.onnx``).

Nothing here downloads: the file comes from the user.
"""

from __future__ import annotations

from svertka.interop.onnx import export_onnx
from svertka.interop.torch_state import (
    LoadResult,
    default_mapping,
    load_torch_state_dict,
    read_state_file,
)
from svertka.interop.torchvision_names import (
    imagenet_preprocess,
    load_torchvision,
    torchvision_mapping,
)

__all__ = [
    "LoadResult",
    "default_mapping",
    "export_onnx",
    "imagenet_preprocess",
    "load_torch_state_dict",
    "load_torchvision",
    "read_state_file",
    "torchvision_mapping",
]
