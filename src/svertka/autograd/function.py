"""Define-by-run differentiation: a ``Function`` records its inputs and runs ``backward``.

A subclass implements ``forward(*arrays) -> array | tuple`` and
``backward(*gys) -> tuple`` of one gradient per input (``None`` where an input needs none).
Both work on raw arrays; the base class wraps them in Tensors and links the graph. Anything
backward needs is kept on ``self`` by forward (the cs231n "cache").
"""

from __future__ import annotations

import contextlib
import threading
import weakref

from svertka.backend import get_array_module

_state = threading.local()


def grad_enabled() -> bool:
    """Whether operations currently record the graph."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad():
    """Context in which operations record nothing (inference, optimiser updates).

    >>> import svertka
    >>> with svertka.no_grad():
    ...     y = svertka.Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """
    previous = grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


class Function:
    """One differentiable operation; each call of an op makes a fresh instance."""

    inputs: tuple
    outputs: list
    recording: bool = True  # set by __call__: whether backward may run for this call

    def __call__(self, *inputs):
        from svertka.autograd.tensor import Tensor, as_tensor

        like = next((t for t in inputs if isinstance(t, Tensor)), None)
        tensors = tuple(as_tensor(t, like=like) for t in inputs)
        # forward may skip what only backward needs when nothing will be recorded
        record = self.recording = grad_enabled() and any(t.requires_grad for t in tensors)
        ys = self.forward(*(t.data for t in tensors))
        single = not isinstance(ys, tuple)
        ys = (ys,) if single else ys
        outs = [Tensor(y, requires_grad=record) for y in ys]
        if record:
            self.inputs = tensors
            self.outputs = [weakref.ref(o) for o in outs]
            self.output_meta = [(y.shape, y.dtype) for y in ys]
            for o in outs:
                o.creator = self
        return outs[0] if single else tuple(outs)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the gradient of NumPy broadcasting."""
    if g.shape == tuple(shape):
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, s in enumerate(shape) if s == 1 and g.shape[i + extra] != 1
    )
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def run_backward(root, grad=None, leaf_ready=None) -> None:
    """Propagate from ``root`` to every leaf that requires a gradient.

    Functions are visited in reverse topological order, so a tensor used several times has
    collected all its gradient contributions before its creator runs. Leaves accumulate into
    ``.grad`` across calls (zero them between steps); intermediate gradients are freed unless
    the tensor asked for ``retain_grad()``.

    ``leaf_ready(leaf)``, if given, is called as soon as a leaf's ``.grad`` is final: right
    after the last Function that uses it has run, while the rest of the backward pass is
    still to come (data-parallel training starts summing those gradients over the processes
    there, ``svertka.distributed.gradients``).
    """
    xp = get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: argument 'grad' is required for a non-scalar tensor of shape "
                f"{root.shape}; received None"
            )
        grad = xp.ones_like(root.data)
    order, seen = [], set()
    stack = [(root.creator, False)] if root.creator is not None else []
    while stack:  # iterative DFS: deep nets must not hit the recursion limit
        f, done = stack.pop()
        if done:
            order.append(f)
            continue
        if id(f) in seen:
            continue
        seen.add(id(f))
        stack.append((f, True))
        for t in f.inputs:
            if t.creator is not None and id(t.creator) not in seen:
                stack.append((t.creator, False))
    grads = {id(root): grad}
    last_use = {}  # position in the backward pass -> the leaves it is the last to feed
    if leaf_ready is not None:
        seen_leaves = set()
        for i, f in enumerate(order):  # ``order`` runs backwards: first seen = last used
            for t in f.inputs:
                if t.creator is None and t.requires_grad and id(t) not in seen_leaves:
                    seen_leaves.add(id(t))
                    last_use.setdefault(len(order) - 1 - i, []).append(t)
    for i, f in enumerate(reversed(order)):
        outs = [o() for o in f.outputs]
        gys = []
        for o, (shape, dtype) in zip(outs, f.output_meta):
            g = grads.pop(id(o), None) if o is not None else None
            if g is None:  # an output that did not reach the root contributes nothing
                g = xp.zeros(shape, dtype)
            gys.append(g)
            if o is not None and o.retains_grad and g is not None:
                o.grad = g
        gxs = f.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for t, gx in zip(f.inputs, gxs):
            if gx is None or not t.requires_grad:
                continue
            if t.creator is None:
                t.grad = gx.copy() if t.grad is None else t.grad + gx
            else:
                prev = grads.get(id(t))
                grads[id(t)] = gx if prev is None else prev + gx
        for t in last_use.get(i, ()):
            leaf_ready(t)
    if root.creator is None and root.requires_grad:
        root.grad = grad if root.grad is None else root.grad + grad
