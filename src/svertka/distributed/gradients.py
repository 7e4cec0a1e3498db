"""Gradients averaged over the ranks: each rank's gradient, weighted by its number of samples,
summed with ``Allreduce`` on a few large contiguous buffers (buckets), divided by the global
number of samples. This is the gradient of the mean loss over the global batch, what one
process computes on that batch, however unevenly the batch was shared out.

A bucket holds the gradients of consecutive parameters of one dtype, up to ``BUCKET_BYTES``
(the last parameter of a bucket may take it over): one large message costs one latency
where a message per parameter would cost dozens. The buckets' allreduces are started
together (``Iallreduce``) and waited on together. They are not overlapped with backward:
svertka's autograd has no hook telling when a parameter's gradient is final.

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


def average_gradients(params: list, n: int, loss: float) -> tuple[float, int]:
    """Replace each parameter's ``grad`` by the average over all ranks' samples, where this
    rank's ``grad`` is the mean over its ``n`` samples (``n`` may be 0: its share of an
    uneven last batch was empty). Returns the global batch's mean loss and its size."""
    comm = world.communicator()
    if comm is None:
        return loss, n
    from mpi4py import MPI

    header = np.zeros(2 + len(params))
    header[0], header[1] = n, n * loss
    flat = []
    for group in buckets(params):
        dtype = params[group[0]].data.dtype
        buf = np.zeros(sum(params[i].data.size for i in group), dtype)
        at = 0
        for i in group:
            g, k = params[i].grad, params[i].data.size
            if g is not None:
                np.multiply(np.asarray(g).reshape(-1), n, out=buf[at:at + k])
                header[2 + i] = 1
            at += k
        flat.append((group, buf))
    requests = [comm.Iallreduce(MPI.IN_PLACE, header, op=MPI.SUM)]
    requests += [comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM) for _, buf in flat]
    MPI.Request.Waitall(requests)
    total = header[0]
    for group, buf in flat:
        at = 0
        for i in group:
            p, k = params[i], params[i].data.size
            p.grad = None if not header[2 + i] else (buf[at:at + k] / float(total)).reshape(
                p.data.shape)
            at += k
    stats["steps"] += 1
    stats["bytes"] += header.nbytes + sum(buf.nbytes for _, buf in flat)
    return float(header[1] / total), int(total)
