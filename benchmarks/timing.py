"""How every timed case is measured: warm-up, then the libraries take turns in blocks.

Each library's worker threads keep spinning for up to about 0.1 s after a call returns
(OpenBLAS behind NumPy, OpenMP behind PyTorch, Eigen behind TensorFlow), and on a machine
with few cores they slow down whichever library runs next. Calling the libraries strictly in
turn (A, B, A, B ...) therefore measures each one while the other's threads still spin. So
the turns are taken in blocks: for each round, for each library, a settle pause, one untimed
call (to wake its threads and caches), then ``per_round`` timed calls. The median is taken
over all timed calls of a library; the rounds spread slow drift in the machine's load over
every library alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

SETTLE_S = 0.2


def settle(seconds: float = SETTLE_S) -> None:
    """Sleep so that the previous library's worker threads go idle."""
    time.sleep(seconds)


def block_times(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    per_round: int = 5,
    warmup: int = 3,
    settle_s: float = SETTLE_S,
) -> dict[str, list[float]]:
    """Seconds of each timed call of each ``fns[name]()``, ``repeats`` calls per library.

    ``warmup`` untimed calls per library come first (Keras traces its graphs then). The
    timed calls run in rounds of ``per_round`` per library, as the module note describes.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    per_round = max(1, min(per_round, repeats))
    while any(len(t) < repeats for t in times.values()):
        for name, fn in fns.items():
            settle(settle_s)
            fn()
            for _ in range(min(per_round, repeats - len(times[name]))):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    """Median seconds per library."""
    return {name: statistics.median(t) for name, t in times.items()}
