"""Data-parallel training over several processes, on one machine or many, through MPI
(mpi4py; ``pip install 'svertka[distributed]'`` brings it and the mpich wheel, whose
``mpiexec`` starts the processes)::

    import svertka
    svertka.distributed.init()          # a world of one when not started by mpiexec
    ...
    model.fit(x, y, batch_size=32)      # each of the N ranks: its 32 of a global batch of 32N

    $ mpiexec -n 4 python my_script.py  # or: python my_script.py, unchanged, alone

How ``fit`` trains on N ranks (``svertka.distributed.fit`` and ``.gradients``):

- ``batch_size`` is each rank's; the global batch is ``batch_size * N`` (Horovod's and
  ChainerMN's convention, so a script keeps its memory per process). Every rank draws the
  epoch's order from the same seed (rank 0's) and takes a contiguous ``np.array_split`` share
  of each global batch; the last, short batch is shared as evenly as it goes (a rank may get
  none of it). Callbacks' ``params`` report the global ``batch_size`` and ``steps``.
- Each rank runs forward and backward on its share; the gradients, each weighted by its
  rank's sample count, are summed by ``Allreduce`` on a few large buffers and divided by the
  global count, and every rank applies the same update. A buffer's sum starts as soon as
  backward has finished its gradients, while backward goes on (``gradients.Averager``). One
  process fitting with ``batch_size * N`` on the same data and seed reaches the same weights
  (to rounding: the sums are added in another order).
- ``BatchNormalization(synchronized=True)`` normalises with the global batch's statistics,
  summed over the ranks at each training step: the run is then one process's on the global
  batch, moving statistics included. A plain ``BatchNormalization`` uses its rank's share
  (each rank keeps its own moving statistics; rank 0's are saved), as Keras and PyTorch do
  without a synchronised layer. Dropout draws on each rank. Those two make the run differ
  from the single-process one; the rest does not.
- ``fit`` starts every rank from rank 0's weights. The logs (running and per epoch, with
  validation sharded the same way) are over all ranks' samples, so every rank's ``History``
  holds the same numbers; a stop decided on one rank (a callback) is taken by all.
- Rank 0 alone prints progress and writes files (``ModelCheckpoint``, ``BackupAndRestore``);
  all ranks restore from the same backup, on a file system they share.
- An exception on one rank prints its traceback and stops every rank (``MPI_Abort``), in
  ``fit`` and, after ``init()``, anywhere it goes uncaught.
- Training data are arrays, sharded sample by sample, or a ``PyDataset`` (anything read by
  batch index), sharded batch by batch: step s is batches ``order[s*N:(s+1)*N]`` and rank r
  reads the r-th, ``order`` shuffled alike on every rank from rank 0's seed; a generator
  cannot be sharded and is refused. ``evaluate`` and ``predict`` run whole on every rank
  (rank 0 prints).
- Not done: NCCL on GPUs.

>>> import svertka
>>> svertka.distributed.init()
>>> svertka.distributed.size()
1
"""

from svertka.distributed.world import (
    abort,
    abort_on_error,
    active,
    barrier,
    communicator,
    init,
    is_main,
    launched,
    rank,
    size,
)

__all__ = ["abort", "abort_on_error", "active", "barrier", "communicator", "init", "is_main",
           "launched", "rank", "size"]
