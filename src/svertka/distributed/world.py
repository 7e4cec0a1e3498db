"""The world of processes svertka trains in: which rank this process is, how many there are,
and the MPI communicator they talk over (mpi4py's; imported only when launched by ``mpiexec``).

Without mpi4py, or run as a plain ``python script.py``, the world is one process of rank 0,
and every function here answers as such: a script calling ``init()`` runs unchanged alone.

>>> init()  # not launched by mpiexec: a world of one process
>>> rank(), size(), is_main(), active()
(0, 1, True, False)
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

# what the common launchers set in each process they start: MPICH/Intel MPI's Hydra (PMI),
# Open MPI, PMIx (Open MPI 5, Slurm), MVAPICH
_LAUNCH_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE")
_LAUNCH_RANK = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")

_comm = None  # the communicator once init() found several processes
_rank, _size, _initialised = 0, 1, False


def launched() -> bool:
    """Whether this process was started by an MPI launcher (``mpiexec``, ``mpirun``, ``srun``
    with PMI): read from the environment the launcher sets, before MPI is touched.

    >>> launched() in (True, False)
    True
    """
    return any(k in os.environ for k in _LAUNCH_SIZE + _LAUNCH_RANK)


def init(comm=None) -> None:
    """Join the world: under ``mpiexec`` (or given ``comm``, an mpi4py communicator) take
    this process's rank and the number of processes; otherwise a world of one. Idempotent.

    svertka's collectives run on a duplicate of the communicator, so they never meet the
    user's own messages. An exception that no one catches then stops every rank (its
    traceback printed first) instead of leaving the others waiting in a collective forever.
    """
    global _comm, _rank, _size, _initialised
    if _initialised:
        return
    if comm is None:
        if not launched():
            _initialised = True
            return
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError("svertka.distributed.init: this process was started by an MPI "
                              "launcher but mpi4py is not installed; pip install "
                              "'svertka[distributed]' (mpi4py and the mpich wheel)") from e
        comm = MPI.COMM_WORLD
    _rank, _size = comm.Get_rank(), comm.Get_size()
    if _size > 1:
        _comm = comm.Dup()
        _chain_excepthook()
    _initialised = True


def rank() -> int:
    """This process's rank, 0 to ``size() - 1`` (0 alone)."""
    return _rank


def size() -> int:
    """The number of processes training together (1 alone)."""
    return _size


def is_main() -> bool:
    """Whether this is rank 0: the one that prints progress and writes files."""
    return _rank == 0


def active() -> bool:
    """Whether ``init()`` joined a world of more than one process (``fit`` is then
    data-parallel)."""
    return _comm is not None


def communicator():
    """The mpi4py communicator svertka's collectives use (a duplicate of the one ``init``
    took), or None in a world of one."""
    return _comm


def barrier() -> None:
    """Wait until every rank reaches this point (returns at once in a world of one)."""
    if _comm is not None:
        _comm.Barrier()


def abort(message: str, code: int = 1) -> None:
    """Print ``message`` on stderr, prefixed by this rank, and stop every rank of the world
    (``MPI_Abort``): a rank that fails cannot leave the others waiting in an allreduce."""
    sys.stderr.write(f"svertka.distributed: rank {_rank} of {_size} failed:\n{message}\n")
    sys.stderr.flush()
    if _comm is None:
        raise SystemExit(code)
    _comm.Abort(code)


@contextlib.contextmanager
def abort_on_error():
    """Within it, an exception on one rank stops all of them with its traceback (a world of
    one: the exception goes on as usual)."""
    if _comm is None:
        yield
        return
    try:
        yield
    except (Exception, KeyboardInterrupt):
        abort(traceback.format_exc().rstrip())


def _chain_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        abort(f"{kind.__name__}: {value}")

    sys.excepthook = hook
