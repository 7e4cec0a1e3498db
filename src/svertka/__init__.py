"""svertka (свёртка, "convolution"): convolutional neural networks from first principles.

>>> import svertka
>>> x = svertka.Tensor([[1.0, -2.0]], requires_grad=True)
>>> svertka.ops.relu(x).sum().backward()
>>> x.grad.tolist()
[[1.0, 0.0]]
"""

from svertka import backend, ops
from svertka.autograd import Function, Tensor, no_grad

__version__ = "0.1.0"

__all__ = ["Function", "Tensor", "backend", "no_grad", "ops", "__version__"]
