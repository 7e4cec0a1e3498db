"""Peak memory of each library in a step case, measured in a fresh process per library and case.

The child process (``run.py --probe-memory LIB CASE``) imports everything and builds the
case's model and data for that one library. It then resets the kernel's high-water mark of
its resident set (writing 5 to ``/proc/self/clear_refs``), so that the peak of imports and
building does not hide what follows, reads its resident set size (``VmRSS``) as the
baseline, makes ``CALLS`` calls, and reads the high-water mark (``VmHWM``): the figure is
their difference, in MiB. ``VmHWM`` is the peak that ``getrusage``'s ``ru_maxrss`` reports,
read directly because ``ru_maxrss`` also keeps the peak recorded whenever a thread exits
(TensorFlow's import ends threads), which the reset does not clear. Where the reset is not
possible, the figure is the rise of ``ru_maxrss`` over its value after setup, which can
understate.

What the figure holds, besides the activations, gradients and workspaces of a step: what a
library sets up on first use and keeps (optimizer state, Keras's traced graphs, BLAS buffers),
and what the memory allocators keep for reuse. svertka's compiled kernels are loaded before
the baseline, as part of setup (``svertka.kernels.jit.compile_all``): Numba and LLVM take
about 120 MiB once per process, whatever the model, which would otherwise swamp the figure.
A second measurement over warmed-up calls was tried and
dropped: the allocators keep the freed memory resident, so it read zero for every library.

Probes run two at a time, before any timing, so that they do not disturb it.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CALLS = 8
RUN = Path(__file__).with_name("run.py")


def status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset the process's peak-memory mark (VmHWM) to its current size; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_growth(fn, calls: int = 1, collect: bool = True) -> tuple[float, str]:
    """MiB the peak RSS rises above the current RSS while ``fn`` runs ``calls`` times; with
    ``collect``, garbage is collected first (a full collection: too slow to run before each of
    thousands of small cases)."""
    if collect:
        gc.collect()
    if reset_peak() and (rss := status_kib("VmRSS")) is not None:
        for _ in range(calls):
            fn()
        return (status_kib("VmHWM") - rss) / 1024, "VmHWM over VmRSS, high-water mark reset"
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024, "ru_maxrss"


def probe(lib: str, case: str, quick: bool = False) -> dict:
    """In this (fresh) process: how far ``lib``'s peak RSS rises over ``CALLS`` calls of
    ``case`` (at ``--quick`` sizes with ``quick``) above the RSS after setup, in MiB."""
    import cases

    fn = cases.CASES[case].build((lib,), quick)[0][lib]
    if lib == "svertka":
        from svertka.kernels.jit import compile_all

        compile_all()  # a one-off per process, like the imports (see the module note)
    growth, method = peak_growth(fn, CALLS)
    return {"lib": lib, "case": case, "growth_mib": growth, "method": method}


def _child(lib: str, case: str, quick: bool = False) -> dict:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--probe-memory", lib, case, *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"lib": lib, "case": case, "growth_mib": None, "error": tail[0]}
    return json.loads(lines[-1])


def _pairs(case_names, libs) -> list[tuple[str, str]]:
    """(library, case) for every case and every library that case has a network for."""
    import cases

    return [(lib, case) for case in case_names for lib in libs if lib in cases.CASES[case].libs]


def count(case_names, libs) -> int:
    """How many probes :func:`measure` runs."""
    return len(_pairs(case_names, libs))


def measure(case_names, libs, jobs: int = 2, quick: bool = False) -> dict[str, dict[str, dict]]:
    """``{case: {lib: probe record}}`` for every pair, each in its own process."""
    pairs = _pairs(case_names, libs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        records = list(pool.map(lambda pair: _child(*pair, quick), pairs))
    out: dict[str, dict[str, dict]] = {case: {} for case in case_names}
    for record in records:
        out[record["case"]][record["lib"]] = record
    return out
