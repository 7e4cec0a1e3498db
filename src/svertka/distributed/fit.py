"""What ``fit`` asks of the world when it trains on several ranks: the same start, disjoint
shards of each global batch, and logs that are the same on every rank.

- ``prepare``: rank 0's weights go to every rank (each built its own random ones), and the
  training and validation arrays are sharded (a PyDataset: its batches, by index).
- ``local``: a rank's share of a global batch, a contiguous ``np.array_split`` part of the
  batch's (shuffled) indices, so the shares differ by at most one sample and partition it.
- ``global_logs``: the running loss and metrics over all ranks' samples. Every metric's
  state is a sum over samples (a mean's total and count, a confusion matrix's counts), so the
  sums of the ranks' states are the state one process would have.
- ``broadcast``, ``any_rank``: one value, or decisions (stop training), shared.
- ``step_share``, ``batch_norm_sync``, ``stand_in``: a synchronised BatchNormalization's
  statistics summed over the ranks within a training step, every rank taking part (one
  whose share is empty runs a stand-in sample that counts for nothing).

>>> local(slice(0, 10), (2, 3)).tolist()  # rank 2 of 3, a batch of ten samples
[7, 8, 9]
"""

from __future__ import annotations

import contextlib

import numpy as np

from svertka.distributed import world


def prepare(where: str, model, data, validation) -> None:
    """Start every rank from rank 0's weights and shard ``data`` (and ``validation`` when it
    is arrays or a PyDataset): each rank's ``batch_size`` (a PyDataset's batch) stays its
    own, the global batch is ``size()`` times it."""
    from svertka.models import sources
    from svertka.models.training import trainable_params

    if not (isinstance(data, sources.Arrays) or _indexed(data)):
        raise ValueError(f"{where}: data-parallel training over {world.size()} ranks needs "
                         f"arrays in memory or a PyDataset (each rank takes its shard of "
                         f"every shuffled global batch), received a generator or iterable of "
                         f"batches; give x and y as arrays, or a PyDataset read by index")
    if _indexed(data) and not model.weights:  # built on a batch first: then rank 0's weights
        from svertka.models.data_adapters import standardize_batch

        model._build_for(standardize_batch(where, data.adapter._source[0], 0)[0])
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
        elif _indexed(source):  # a PyDataset: each rank reads its batches by index
            source.adapter.shard(world.rank(), world.size(), _shuffle_seed())


def _shuffle_seed() -> int:
    """Rank 0's draw from svertka's generator, on every rank: a PyDataset's orders."""
    from svertka import random as _random

    return broadcast(int(_random.generator().integers(2**31)) if world.is_main() else None)


def _indexed(source) -> bool:
    from svertka.models import data_adapters, sources

    return (isinstance(source, sources.Adapted)
            and isinstance(source.adapter, data_adapters.PyDatasetAdapter))


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


_share: list = [None]  # this rank's sample count in the training step being taken


@contextlib.contextmanager
def step_share(samples: int):
    """Within a data-parallel training step in which this rank has ``samples`` samples."""
    _share[0] = samples
    try:
        yield
    finally:
        _share[0] = None


def batch_norm_sync():
    """``ops.batch_norm``'s ``sync`` for a ``BatchNormalization(synchronized=True)``: the sum
    over the ranks and this rank's sample count, inside a data-parallel training step; None
    elsewhere (one process, inference, evaluation), where the layer is a plain one."""
    if _share[0] is None or not world.active():
        return None
    return _sum, _share[0]


def synchronised(model) -> bool:
    """Whether the model has a batch norm layer that sums its statistics over the ranks: then
    every rank must run every step's forward and backward, in the same order."""
    return any(getattr(layer, "synchronized", False) for layer in model._flatten_layers())


def stand_in(arrays: list) -> list:
    """One sample of zeros shaped like each of ``arrays`` (None stays None): what a rank whose
    share of the batch is empty runs, so that it takes part in the synchronised sums (with a
    count of zero) and its gradients, weighed by zero samples, add nothing."""
    return [None if a is None else np.zeros((1, *a.shape[1:]), a.dtype) for a in arrays]
