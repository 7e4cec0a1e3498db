"""Arrays derived from weights alone, kept between inference calls while the weights hold.

At inference a convolution's filters go through work that depends on them alone: the
Winograd filter transforms (:mod:`svertka.kernels.winograd`, :mod:`svertka.kernels.winograd4`)
and the batch normalisation folded into the filters (:mod:`svertka.models.fusion`). For a
large batch that is nothing; for one image it was half of ResNet-20's time (the F(4x4)
transform of a 64-channel layer takes longer than the layer's convolution of one 8x8 image).
:func:`derived` keeps each result with a copy of the arrays it came from, and gives it again
while the same arrays (the same objects) hold the same bytes, compared on every call; so
weights changed in place, by an optimizer or by hand, are seen at the next call. The
compare reads each array once, a small part of the work it saves.

Results are read-only. An argument that is itself a result of :func:`derived` (a folded
filter going on to a Winograd transform) is known unchanged by identity alone.

Only for inference (the callers pass ``keep=False`` when a backward pass will follow: the
weights then change at every step, and keeping them would only add a copy). An entry goes
when one of its arrays is garbage collected; while the kept copies and results pass
``LIMIT_BYTES`` in all, new results are computed and not kept. NumPy arrays only.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

LIMIT_BYTES = 128 << 20  # copies and results kept, at most
_SMALL = 1 << 20  # bytes up to which the compare goes through ``tobytes()``

_entries: dict = {}  # key -> _Entry
_results: dict = {}  # id(result) -> weak reference to it: arrays known unchanged
_lock = threading.RLock()  # re-entrant: a weak reference's callback may run inside
_bytes = 0  # copies and results kept now


class _Entry:
    __slots__ = ("refs", "kinds", "copies", "result", "nbytes")

    def __init__(self, refs, kinds, copies, result, nbytes):
        self.refs, self.kinds, self.copies = refs, kinds, copies
        self.result, self.nbytes = result, nbytes

    def holds(self, arrays) -> bool:
        """Whether ``arrays`` are the entry's arrays (None where it had None), unchanged."""
        for ref, kind, copy, a in zip(self.refs, self.kinds, self.copies, arrays):
            if ref is None:
                if a is not None:
                    return False
            elif ref() is not a or (a.shape, a.dtype) != kind:
                return False
            elif copy is None:  # a kept result: unchanged while it is one
                if not _is_result(a):
                    return False
            elif not _same_bytes(copy, a):
                return False
        return True


def _same_bytes(copy, a) -> bool:
    """Whether ``a`` holds the bytes of ``copy`` (bytes, or a contiguous copy of it)."""
    if type(copy) is bytes:  # one C copy and one compare: the quickest up to a megabyte
        return a.tobytes() == copy
    bits = np.dtype(f"u{a.dtype.itemsize}")  # bit for bit: -0.0 is not 0.0, NaN is NaN
    return bool(np.array_equal(copy.view(bits), a.view(bits)))


def _is_result(a) -> bool:
    ref = _results.get(id(a))
    return ref is not None and ref() is a


def _copy(a):
    """What a later call compares ``a`` with: None for a kept result, bytes for a small
    array, else a copy."""
    if _is_result(a):
        return None
    return a.tobytes() if a.nbytes <= _SMALL else np.ascontiguousarray(a).copy()


def _keepable(a) -> bool:
    return a is None or (type(a) is np.ndarray and a.dtype.kind == "f"
                         and a.dtype.itemsize in (2, 4, 8))


def _forget(entry) -> None:
    global _bytes
    _bytes -= entry.nbytes
    for r in entry.result if isinstance(entry.result, tuple) else (entry.result,):
        _results.pop(id(r), None)


def _drop(key) -> None:
    if _entries is None or _lock is None:  # the interpreter is shutting down
        return
    with _lock:
        entry = _entries.pop(key, None)
        if entry is not None:
            _forget(entry)


def derived(fn, arrays: tuple, extra: tuple = (), keep: bool = True):
    """``fn(*arrays, *extra)``, computed once while ``arrays`` (NumPy arrays, or None) keep
    their identity and bytes; ``extra`` (hashable) is part of the key. ``fn`` returns an
    array or a tuple of arrays, which come back read-only. With ``keep=False``, or for
    arrays of another kind, it is simply called. ``fn`` must be a module's function (it is
    part of the key: a new closure per call would keep a new entry per call).

    >>> calls = []
    >>> def double(a):
    ...     calls.append(1)
    ...     return a * 2
    >>> w = np.arange(3.0)
    >>> derived(double, (w,)).tolist(), derived(double, (w,)).tolist(), len(calls)
    ([0.0, 2.0, 4.0], [0.0, 2.0, 4.0], 1)
    >>> w[0] = 5.0  # changed in place: computed again
    >>> derived(double, (w,)).tolist(), len(calls)
    ([10.0, 2.0, 4.0], 2)
    """
    return lookup(fn, arrays, extra, keep)[0]


def lookup(fn, arrays: tuple, extra: tuple = (), keep: bool = True) -> tuple:
    """``(derived(fn, arrays, extra, keep), its entry)``; the entry is None where nothing
    was kept. A caller that holds the entry checks ``entry.holds(arrays)`` on later calls
    itself, without making and looking up the key (a model's inference plan)."""
    if not keep:
        return fn(*arrays, *extra), None
    key = (fn, *map(id, arrays), *extra)
    entry = _entries.get(key)
    if entry is not None and entry.holds(arrays):
        return entry.result, entry
    if not all(_keepable(a) for a in arrays):
        return fn(*arrays, *extra), None
    result = fn(*arrays, *extra)
    outs = result if isinstance(result, tuple) else (result,)
    for r in outs:
        r.flags.writeable = False
    copies = [None if a is None else _copy(a) for a in arrays]
    nbytes = sum(len(c) if isinstance(c, bytes) else c.nbytes for c in copies if c is not None)
    nbytes += sum(r.nbytes for r in outs)
    global _bytes
    entry = None
    with _lock:
        old = _entries.pop(key, None)
        if old is not None:  # the same arrays, changed in place
            _forget(old)
        if _bytes + nbytes <= LIMIT_BYTES:
            refs = [None if a is None else weakref.ref(a, lambda _, k=key: _drop(k))
                    for a in arrays]
            kinds = [None if a is None else (a.shape, a.dtype) for a in arrays]
            entry = _entries[key] = _Entry(refs, kinds, copies, result, nbytes)
            _bytes += nbytes
            for r in outs:
                _results[id(r)] = weakref.ref(r)
    return result, entry


def clear() -> None:
    """Forget every kept result."""
    global _bytes
    with _lock:
        _entries.clear()
        _results.clear()
        _bytes = 0
