"""What ``fit`` asks of the world when it trains on several ranks: the same start, disjoint
shards of each global batch, and logs that are the same on every rank.

- ``prepare``: rank 0's weights go to every rank (each built its own random ones), and the
  training and validation arrays are sharded.
- ``local``: a rank's share of a global batch, a contiguous ``np.array_split`` part of the
  batch's (shuffled) indices, so the shares differ by at most one sample and partition it.
- ``global_logs``: the running loss and metrics over all ranks' samples. Every metric's
  state is a sum over samples (a mean's total and count, a confusion matrix's counts), so the
  sums of the ranks' states are the state one process would have.
- ``broadcast``, ``any_rank``: one value, or decisions (stop training), shared.

>>> local(slice(0, 10), (2, 3)).tolist()  # rank 2 of 3, a batch of ten samples
[7, 8, 9]
"""

from __future__ import annotations

import numpy as np

from svertka.distributed import world


def prepare(where: str, model, data, validation) -> None:
    """Start every rank from rank 0's weights and shard ``data`` (and ``validation`` when it
    is arrays): each rank's ``batch_size`` stays its own, the global batch is
    ``batch_size * size()``."""
    from svertka.models import sources
    from svertka.models.training import trainable_params

    if not isinstance(data, sources.Arrays):
        raise ValueError(f"{where}: data-parallel training over {world.size()} ranks needs "
                         f"arrays in memory (each rank takes its shard of every shuffled "
                         f"batch), received a dataset, generator or iterable of batches; "
                         f"give x and y as arrays")
    comm = world.communicator()
    weights = [np.ascontiguousarray(w) for w in model.get_weights()]
    for w in weights:  # buffers, not pickles: a large model's weights go at wire speed
        comm.Bcast(w, root=0)
    model.set_weights(weights)
    extra = [p for p in trainable_params(model) if all(p is not w for w in
                                                        model.trainable_weights)]
    for p in extra:  # a trainable loss's weights (RobustLoss(adaptive=True))
        a = np.ascontiguousarray(p.data)
        comm.Bcast(a, root=0)
        p.data[...] = a
    for source in (data, validation):
        if isinstance(source, sources.Arrays):
            shard(source)


def shard(data) -> None:
    """Make an ``Arrays`` source yield this rank's part of global batches of
    ``batch_size * size()`` samples; its ``steps`` become the global batches'."""
    data.batch_size *= world.size()
    data.steps = min(data.steps, -(-data.n // data.batch_size))
    data.part = (world.rank(), world.size())


def local(idx, part: tuple[int, int]) -> np.ndarray:
    """Rank ``part[0]``'s share (of ``part[1]``) of a batch's sample indices ``idx`` (an
    array, or a slice of a range)."""
    if isinstance(idx, slice):
        idx = np.arange(idx.start, idx.stop)
    r, p = part
    q, extra = divmod(len(idx), p)  # the first ``extra`` ranks take one sample more
    start = r * q + min(r, extra)
    return idx[start:start + q + (r < extra)]


def _sum(values: np.ndarray) -> np.ndarray:
    from mpi4py import MPI

    out = np.array(values, dtype=np.float64)
    world.communicator().Allreduce(MPI.IN_PLACE, out, op=MPI.SUM)
    return out


def global_logs(tracker, prefix: str = "") -> dict:
    """The tracker's logs over every rank's samples: its metrics' states summed, read, then
    put back."""
    variables = [v for m in tracker.states for v in m.variables]
    local_values = [v.numpy() for v in variables]
    parts = [np.asarray(a, dtype=np.float64).reshape(-1) for a in local_values]
    summed = _sum(np.concatenate(parts) if parts else np.zeros(0))
    at = 0
    for v, a in zip(variables, local_values):
        v.assign(summed[at:at + a.size].reshape(a.shape))
        at += a.size
    try:
        return tracker.logs(prefix)
    finally:
        for v, a in zip(variables, local_values):
            v.assign(a)


def metric_state(metrics: list) -> list:
    """The metrics' states summed over the ranks, as JSON-ready lists (what a backup keeps:
    resumed on rank 0 alone, with the other ranks' states zero, the sums stay right)."""
    local_values = [[np.asarray(v.numpy()) for v in m.variables] for m in metrics]
    flat = [a.reshape(-1) for values in local_values for a in values]
    summed = _sum(np.concatenate(flat) if flat else np.zeros(0))
    out, at = [], 0
    for values in local_values:
        out.append([])
        for a in values:
            out[-1].append(summed[at:at + a.size].reshape(a.shape).astype(a.dtype).tolist())
            at += a.size
    return out


def broadcast(value):
    """Rank 0's ``value`` on every rank (an epoch's shuffling seed, say)."""
    return world.communicator().bcast(value, root=0)


def any_rank(*flags: bool) -> tuple[bool, ...]:
    """Whether each flag is true on any rank: a stop decided by one (a callback, Ctrl-C) is
    taken by all at the same step, or the others would wait for it in the next allreduce."""
    from mpi4py import MPI

    mine = np.array(flags, dtype=np.uint8)
    world.communicator().Allreduce(MPI.IN_PLACE, mine, op=MPI.MAX)
    return tuple(bool(f) for f in mine)
