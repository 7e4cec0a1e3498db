"""Tensor, Function and the backward pass."""

from svertka.autograd.function import Function, grad_enabled, no_grad, unbroadcast
from svertka.autograd.tensor import Tensor, as_tensor

__all__ = ["Function", "Tensor", "as_tensor", "grad_enabled", "no_grad", "unbroadcast"]
