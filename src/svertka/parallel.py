"""Spread a batch over the CPU cores: contiguous slices of samples, one per thread.

Most of a CNN's work is independent per sample: the convolutions' window copies, GEMMs and
bias/ReLU passes, pooling, their gradients. A kernel hands that work to :func:`over_batch`
as a function of a slice of the batch; each core runs one slice, and the kernel combines
what must be combined (the weight gradients, partial sums over the slices).

Why not leave it to the BLAS library, whose GEMMs already use every core? It splits the
tall, narrow im2col GEMMs of a convolution poorly, and everything around the GEMM (the window
copy, bias, ReLU, pooling) runs on one core (figures in docs/performance.md).

While svertka's threads run, BLAS must run single-threaded: its own threads would fight
ours for the same cores, and OpenBLAS's idle threads keep spinning for a while after each
multi-threaded call. Toggling it around every split costs more than the split gains, so
:func:`region` sets it once for a whole stretch of work (``fit``, ``evaluate``,
``predict``, a model call, a training step) and restores it after, via threadpoolctl.
:func:`over_batch` enters a region itself when called alone.

NumPy releases the GIL inside its array loops and BLAS calls, and the compiled kernels run
without it (:mod:`svertka.kernels.jit`), so Python threads give real parallelism here.

With one thread per CPU (the default), each worker keeps to a CPU of its own, and the
calling thread to the remaining one while it hands out slices (:func:`_cores`): left to
Linux, a worker woken after a pause runs on its caller's core for a while, at half speed.

``SVERTKA_THREADS`` sets the number of threads (default: the cores this process may use);
``SVERTKA_THREADS=1`` runs everything in the calling thread, BLAS included (the choice for
several processes at once); ``SVERTKA_PIN=0`` leaves thread placement to the operating
system. CuPy arrays are never split:
the GPU runs the whole batch.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from svertka import allocator

_workers: list = []  # the worker threads; the calling thread runs the first slice itself
_dispatch = threading.Lock()  # held while the workers run a call's slices
_inside = threading.local()  # set in a thread while it runs a slice: nested calls run serially
_blas = None  # threadpoolctl's controllers of NumPy's BLAS, once looked up
_depth = 0  # regions entered and not left; BLAS is limited while it is above 0
_saved = []  # (controller, its thread count) to restore when the last region ends
_lock = threading.Lock()
_placement = None  # the CPUs threads keep to ([]: none), looked up once (_cores)
WORTH_A_THREAD = 1 << 18  # element operations that take a core about as long as a wake-up


def threads() -> int:
    """How many slices a batch is cut into: ``SVERTKA_THREADS`` or the usable cores.

    >>> threads() >= 1
    True
    """
    value = os.environ.get("SVERTKA_THREADS")
    if value:
        count = int(value) if value.strip().isdigit() else 0
        if count < 1:
            raise ValueError(f"svertka.parallel: environment variable SVERTKA_THREADS must be "
                             f"a positive integer, received {value!r}")
        return count
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def slices(n: int, parts: int, min_size: int = 1) -> list[slice]:
    """``range(n)`` cut into at most ``parts`` contiguous slices of at least ``min_size``.

    >>> slices(10, 3)
    [slice(0, 3, None), slice(3, 6, None), slice(6, 10, None)]
    >>> slices(3, 2, min_size=2)
    [slice(0, 3, None)]
    """
    k = max(1, min(parts, n // max(min_size, 1)))
    bounds = [n * i // k for i in range(k + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(k)]


def min_samples(work_per_sample: int) -> int:
    """The fewest samples a slice should hold for its work to be worth a thread.

    ``WORTH_A_THREAD`` element operations (or multiply-adds) take a core about as long as
    waking a worker thread; a kernel passes its work per sample and gets the slice size below
    which it runs in one piece.

    >>> min_samples(100_000), min_samples(1_000)
    (3, 263)
    """
    return max(1, -(-WORTH_A_THREAD // max(1, work_per_sample)))


def blas_controllers() -> list:
    """threadpoolctl's controllers of the BLAS library NumPy calls (looked up once): the
    one inside NumPy's package folders, or every loaded BLAS where none is (a NumPy linked
    to a system library). Empty without threadpoolctl.
    """
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = []
        else:
            found = ThreadpoolController().select(user_api="blas").lib_controllers
            home = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
            own = [
                c
                for c in found
                if os.path.abspath(c.filepath).startswith(os.path.join(home, "numpy"))
            ]
            _blas = own or found
    return _blas


def region(samples: int | None = None) -> _Region:
    """A stretch of work in which svertka owns the cores: BLAS single-threaded, restored
    when the outermost region ends. Re-entrant, from any thread. The first region also keeps
    freed memory for reuse (:func:`svertka.allocator.on_first_use`).

    Also with ``SVERTKA_THREADS=1``: one thread means one, not OpenBLAS's own besides
    (several such processes would otherwise fight over the cores).

    ``samples=1`` (a model called on one image): svertka's threads split nothing then (each
    :func:`over_batch` is one slice), so BLAS keeps its threads, which do split a one-row
    product (the notes' Dense layer reads a 1.6 MB matrix for each image), unless
    ``SVERTKA_THREADS=1``; an enclosing region still limits it.

    >>> from svertka import parallel
    >>> with region():
    ...     inside = parallel._depth > 0
    >>> inside, parallel._depth
    (True, 0)
    """
    return _Region(samples != 1 or threads() == 1)


class _Region:
    """:func:`region`'s context manager (a class: a generator's costs a few microseconds
    more, on every model call)."""

    __slots__ = ("limits",)

    def __init__(self, limits: bool):
        self.limits = limits  # whether this region limits BLAS

    def __enter__(self) -> None:
        global _depth, _saved
        allocator.on_first_use()
        if self.limits:
            with _lock:
                _depth += 1
                if _depth == 1:
                    blas = blas_controllers()
                    _saved = [(c, c.get_num_threads()) for c in blas]
                    for c in blas:
                        c.set_num_threads(1)

    def __exit__(self, *exc) -> None:
        global _depth, _saved
        if self.limits:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    for c, count in _saved:
                        c.set_num_threads(count)
                    _saved = []


def _run_item(fn, item):
    _inside.active = True
    try:
        return fn(item)
    finally:
        _inside.active = False


def over_batch(fn, n: int, min_size: int = 1, xp=None) -> list:
    """``[fn(s) for s in slices(n, threads(), min_size)]``, the slices run in parallel.

    ``fn`` must only read shared arrays and write to disjoint parts of shared outputs (its
    own rows); whatever it returns comes back in slice order, for the caller to combine.
    Runs serially in the calling thread when there is one slice, when ``xp`` is not NumPy,
    or when called from inside a slice. An exception in any slice is raised here.
    """
    if n < 2 * max(min_size, 1):  # one slice whatever the threads (one image, say)
        return [fn(slice(0, n))]
    return in_parallel(fn, slices(n, threads(), min_size), xp)


def _cores() -> list[int]:
    """The CPUs the threads keep to: the caller of :func:`in_parallel` the first, worker
    ``k`` the ``k + 1``-th; empty to leave placement to the operating system.

    Left to itself, Linux wakes a thread on the waker's CPU when the machine was idle, and
    the calling thread and its worker then share one core until the load balancer parts
    them. Only where svertka's threads take every CPU this process may use (the default,
    :func:`threads`): with fewer, keeping them to the first few CPUs could crowd them onto
    cores another program is using. ``SVERTKA_PIN=0`` leaves placement to the system.
    Decided at the first parallel call, for the life of the process.

    Kept threads cannot dodge another busy program: for several processes at once,
    ``SVERTKA_THREADS=1`` each is the best choice (one thread per process, nothing to place).
    """
    global _placement
    if _placement is None:
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            allowed = []
        wanted = os.environ.get("SVERTKA_PIN", "1") != "0"
        _placement = allowed if wanted and len(allowed) > 1 and len(allowed) == threads() else []
    return _placement


def _pin(cores: set) -> set | None:
    """Keep the calling thread to ``cores``; its mask before, or None where it cannot."""
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, cores)
    except OSError:  # a CPU went offline, or a container forbids it: leave it be
        return None
    return before


def _after_fork() -> None:
    """In a forked child only the forking thread lives on: the workers are gone (new ones
    start on demand), and so is any other thread that held ``_lock`` at the fork (never the
    forking thread itself: no code that could fork runs while it is held). Regions the
    forking thread is inside go on."""
    global _lock
    _workers.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class _Worker:
    """A thread that runs one job at a time, handed over through two locks.

    A job costs two wake-ups: the worker's, blocked on ``_go``, and the caller's, blocked on
    ``_done``; a ``ThreadPoolExecutor``'s queue and future would add lock round trips to
    each of the jobs a training step hands out.
    """

    def __init__(self, core: int | None):
        self._core = core  # the CPU this thread keeps to (see _cores), or None
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._job = self._outcome = None
        threading.Thread(target=self._loop, name="svertka", daemon=True).start()

    def _loop(self):
        if self._core is not None:
            _pin({self._core})
        while True:
            self._go.acquire()
            fn, item = self._job
            try:
                self._outcome = (True, _run_item(fn, item))
            except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
                self._outcome = (False, e)
            self._job = None
            self._done.release()

    def start(self, fn, item) -> None:
        self._job = (fn, item)
        self._go.release()

    def outcome(self) -> tuple:
        """(True, result) or (False, exception), once the job has ended."""
        self._done.acquire()
        outcome, self._outcome = self._outcome, None
        return outcome


def in_parallel(fn, items: list, xp=None) -> list:
    """``[fn(item) for item in items]``, one thread per item (the caller takes the first),
    under the same rules as :func:`over_batch`, which calls it with slices of a batch. While
    another thread of the program has the workers, this call runs serially."""
    if len(items) == 1 or (xp is not None and xp is not np) or getattr(_inside, "active", False):
        return [fn(item) for item in items]
    if not _dispatch.acquire(blocking=False):
        return [fn(item) for item in items]
    try:
        cores = _cores()
        while len(_workers) < len(items) - 1:
            k = len(_workers) + 1
            _workers.append(_Worker(cores[k] if k < len(cores) else None))
        workers = _workers[: len(items) - 1]
        with region():
            mask = _pin({cores[0]}) if 1 < len(items) <= len(cores) else None
            for worker, item in zip(workers, items[1:]):
                worker.start(fn, item)
            try:
                first = _run_item(fn, items[0])
            finally:  # no item may still be writing when the caller sees an exception
                outcomes = [worker.outcome() for worker in workers]
                if mask:
                    _pin(mask)
    finally:
        _dispatch.release()
    for ok, value in outcomes:
        if not ok:
            raise value
    return [first] + [value for _, value in outcomes]
