"""Gradients averaged over the ranks: each rank's gradient, weighted by its number of samples,
summed with ``Allreduce`` on a few large contiguous buffers (buckets), divided by the global
number of samples. This is the gradient of the mean loss over the global batch, what one
process computes on that batch, however unevenly the batch was shared out.

A bucket holds the gradients of consecutive parameters of one dtype, up to ``BUCKET_BYTES``
(the last parameter of a bucket may take it over): one large message costs one latency
where a message per parameter would cost dozens. Buckets are filled from the last parameter
back, the order in which backward finishes them, and a bucket's allreduce (``Iallreduce``)
starts as soon as backward has finished its gradients (``Averager.ready``, the autograd's
``leaf_ready`` hook), so the sums of the last layers travel while the first layers' gradients
are still being computed; MPI is prodded as each bucket starts to move them on (once per
gradient made a two-process step a third slower: each prod costs more than it moves). Buckets
start in a fixed order on every rank (a bucket ready early waits for the ones before it), as
MPI requires of collectives; a rank with no samples starts them all at the end.

A small float64 header travels beside them: the rank's sample count, its loss times that
count, and one flag per parameter saying the rank has a gradient for it (a parameter no rank
touched keeps ``grad=None``, so the optimiser skips it as it would alone).

>>> from svertka.autograd import Tensor
>>> w = Tensor(np.ones(3), requires_grad=True)
>>> w.grad = np.array([1.0, 2.0, 3.0])
>>> average_gradients([w], n=4, loss=0.5)  # a world of one: nothing to do
(0.5, 4)
"""

from __future__ import annotations

import numpy as np

from svertka.distributed import world

BUCKET_BYTES = 16 << 20
"""The largest bucket, in bytes (PyTorch's DDP takes 25 MB; a few buckets per model)."""

stats = {"steps": 0, "bytes": 0}
"""Steps averaged and the bytes each rank put into its allreduces over them."""


def buckets(params: list, limit: int | None = None) -> list[list[int]]:
    """The parameters' positions grouped into buckets: consecutive, one dtype, at most
    ``limit`` bytes each unless a single parameter is larger.

    >>> from svertka.autograd import Tensor
    >>> ps = [Tensor(np.zeros(n, np.float32)) for n in (4, 4, 4, 1)]
    >>> buckets(ps, limit=32)
    [[0, 1], [2, 3]]
    """
    limit = BUCKET_BYTES if limit is None else limit
    groups: list[list[int]] = []
    used, dtype = 0, None
    for i, p in enumerate(params):
        nbytes = p.data.nbytes
        if not groups or p.data.dtype != dtype or used + nbytes > limit:
            groups.append([])
            used, dtype = 0, p.data.dtype
        groups[-1].append(i)
        used += nbytes
    return groups


class Averager:
    """One step's gradient sums: ``ready(p)`` as backward finishes each parameter's gradient
    (where this rank ran backward), then ``finish(loss)``."""

    def __init__(self, params: list, n: int):
        self.params, self.n = params, n
        back = params[::-1]
        self.groups = [[len(params) - 1 - i for i in g] for g in buckets(back)]
        self.bucket_of = {id(params[i]): k for k, g in enumerate(self.groups) for i in g}
        self.left = [len(g) for g in self.groups]
        self.has_grad = np.zeros(len(params))
        self.started: list = []  # (group, buffer)
        self.requests: list = []

    def ready(self, p) -> None:
        """``p``'s gradient is final: start every bucket, in order, whose gradients all are."""
        k = self.bucket_of.get(id(p))
        if k is None:
            return
        self.left[k] -= 1
        while len(self.started) < len(self.groups) and not self.left[len(self.started)]:
            self._start(len(self.started))

    def _start(self, k: int) -> None:
        from mpi4py import MPI

        group = self.groups[k]
        buf = np.zeros(sum(self.params[i].data.size for i in group),
                       self.params[group[0]].data.dtype)
        at = 0
        for i in group:
            g, size = self.params[i].grad, self.params[i].data.size
            if g is not None:
                np.multiply(np.asarray(g).reshape(-1), self.n, out=buf[at:at + size])
                self.has_grad[i] = 1
            at += size
        self.started.append((group, buf))
        self.requests.append(world.communicator().Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM))
        MPI.Request.Testall(self.requests)  # MPI moves the sums under way on at its calls

    def finish(self, loss: float) -> tuple[float, int]:
        """Start what is left, wait for every sum, and put the global averages in the
        parameters' ``grad``; returns the global batch's mean loss and size."""
        from mpi4py import MPI

        while len(self.started) < len(self.groups):
            self._start(len(self.started))
        header = np.concatenate([[self.n, self.n * loss], self.has_grad])
        requests = [*self.requests, world.communicator().Iallreduce(MPI.IN_PLACE, header,
                                                                     op=MPI.SUM)]
        MPI.Request.Waitall(requests)
        total = header[0]
        for group, buf in self.started:
            at = 0
            for i in group:
                p, size = self.params[i], self.params[i].data.size
                p.grad = None if not header[2 + i] else (buf[at:at + size] / float(total)
                                                         ).reshape(p.data.shape)
                at += size
        stats["steps"] += 1
        stats["bytes"] += header.nbytes + sum(buf.nbytes for _, buf in self.started)
        return float(header[1] / total), int(total)


def average_gradients(params: list, n: int, loss: float) -> tuple[float, int]:
    """Replace each parameter's ``grad`` by the average over all ranks' samples, where this
    rank's ``grad`` is the mean over its ``n`` samples (``n`` may be 0: its share of an
    uneven last batch was empty). Returns the global batch's mean loss and its size. (The
    gradients all computed already: ``fit`` uses an ``Averager`` to overlap.)"""
    if world.communicator() is None:
        return loss, n
    return Averager(params, n).finish(loss)
