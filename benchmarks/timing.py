"""How both benchmark scripts time a case: alternate the rivals after a warm-up, take medians."""

from __future__ import annotations

import statistics
import time


def median_times(ours, theirs, repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Median seconds of ``ours()`` and ``theirs()``, called in turns so that drift in the
    machine's load hits both alike."""
    for _ in range(warmup):
        ours()
        theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        for fn, times in ((ours, t_ours), (theirs, t_theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(t_ours), statistics.median(t_theirs)
