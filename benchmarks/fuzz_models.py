"""Fuzzed model files: every load must end in a correct model or ``ModelFileError``, within
5 s and within 10 times the memory of the weights the file declares.

``python benchmarks/fuzz_models.py [--cases 10000] [--workers 2] [--seed 0]``

Each case damages one of three small valid files (a compiled Sequential model with
optimiser state, a functional model, a weights file loaded into a model) one way, from the
families of ``tests/models/model_fuzz.py`` in turn (bit flips and truncation, JSON, ``.npy``
headers and data, zip tricks), and loads it; ``fuzzing.outcome`` judges the result against a
plain reading of the file. Half the model cases load with ``allow_nonfinite=True``.

Cases run in worker processes (``--workers``, 2 by default), each making its own cases from
the seed and the case number, so a case is reproduced by its number alone. The parent gives
each case ``--timeout`` seconds (5): a worker that takes longer is killed and replaced, and
the case counts as a hang.

Memory: before each load the worker resets the kernel's high-water mark of its resident set
(writing 5 to ``/proc/self/clear_refs``, as ``benchmarks/memory.py`` does) and reads its
resident set; after the load it reads the high-water mark. The difference is the case's
peak. It must stay under 10 times the bytes of the weight arrays the file's index declares
(0 where the index cannot be read), with a floor of ``FLOOR_MB`` (16 MiB): the interpreter
allocates a few MiB for any load (the zip directory, the parsed JSON, the layer objects)
whatever the weights. Where the reset is not possible, the rise of ``ru_maxrss`` is used,
which can understate.

Everything is written to a temporary directory, nothing into the repository. Exit status 1
when any case is other, wrong, a hang or over its memory limit.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
import zipfile
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np

from memory import peak_growth

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "models"))  # model_fuzz, the test suite's fuzzer

FLOOR_MB = 16
NAMES = ["functional", "sequential", "weights"]  # the originals of fuzzing.originals
OUTCOMES = ("loaded", "ModelFileError", "other", "wrong", "hang", "memory")


def declared_bytes(path) -> int:
    """Bytes of the weight arrays the file's index declares; 0 where it cannot be read."""
    try:
        with zipfile.ZipFile(path) as z:
            index = json.loads(z.read("svertka.json"))
        return sum(math.prod(e["shape"]) * (8 if e["dtype"] == "float64" else 4)
                   for e in index["weights"])
    except Exception:
        return 0


def case_plan(case: int, seed: int, names: list[str]):
    """``(original, family, rng)`` of case number ``case``."""
    import model_fuzz as fuzzing

    original = names[case % len(names)]
    family = fuzzing.FAMILIES[(case // len(names)) % len(fuzzing.FAMILIES)]
    return original, family, np.random.default_rng([seed, case])


def work(conn, directory: str, seed: int) -> None:
    """A worker: make, load and judge the cases the parent sends, one at a time."""
    import model_fuzz as fuzzing

    originals = fuzzing.originals(directory)
    assert sorted(originals) == NAMES
    datas = {name: Path(path).read_bytes() for name, (path, _) in originals.items()}
    for path, load in originals.values():  # warm up: first-use set-up is not a case's
        load(path)
    conn.send("ready")
    while True:
        case = conn.recv()
        if case is None:
            return
        original, family, rng = case_plan(case, seed, NAMES)
        path, load = originals[original]
        damaged = Path(directory) / f"case{Path(path).suffix}"
        damaged.write_bytes(fuzzing.mutate(datas[original], rng, family))
        allow = original != "weights" and bool(rng.integers(2))
        declared = declared_bytes(damaged)
        answer = {}

        def judge(damaged=damaged, load=load, allow=allow, answer=answer):
            start = time.perf_counter()
            answer["outcome"] = fuzzing.outcome(
                damaged, (lambda p: load(p, allow_nonfinite=True)) if allow else load, allow)
            answer["seconds"] = time.perf_counter() - start

        peak_mib, method = peak_growth(judge, collect=False)
        peak_mib = max(0.0, peak_mib)
        (kind, detail), seconds = answer["outcome"], answer["seconds"]
        reset = method != "ru_maxrss"
        conn.send({"case": case, "original": original, "family": family, "kind": kind,
                   "detail": detail, "seconds": seconds, "peak_mib": peak_mib,
                   "declared": declared, "exact_peak": reset})


class Pool:
    """Worker processes with a per-case time limit; a worker past it is killed and replaced."""

    def __init__(self, workers: int, directory: Path, seed: int):
        self.ctx = mp.get_context("spawn")
        self.directory, self.seed = directory, seed
        self.workers = [self._start(i) for i in range(workers)]

    def _start(self, i: int) -> dict:
        parent, child = self.ctx.Pipe()
        sub = self.directory / f"worker{i}-{time.monotonic_ns()}"
        sub.mkdir()
        proc = self.ctx.Process(target=work, args=(child, str(sub), self.seed), daemon=True)
        proc.start()
        if not parent.poll(300) or parent.recv() != "ready":
            raise RuntimeError("a worker did not start")
        return {"i": i, "proc": proc, "conn": parent, "case": None, "since": 0.0}

    def run(self, cases: int, timeout: float):
        """Yield each case's result dict (hangs as ``{"kind": "hang", ...}``)."""
        todo = iter(range(cases))
        done = 0
        while done < cases:
            for w in self.workers:
                if w["case"] is None:
                    w["case"] = next(todo, None)
                    if w["case"] is not None:
                        w["since"] = time.perf_counter()
                        w["conn"].send(w["case"])
            busy = [w for w in self.workers if w["case"] is not None]
            for conn in wait([w["conn"] for w in busy], timeout=0.1):
                w = next(w for w in busy if w["conn"] is conn)
                w["case"] = None
                done += 1
                yield conn.recv()
            now = time.perf_counter()
            for k, w in enumerate(self.workers):
                if w["case"] is not None and now - w["since"] > timeout:
                    w["proc"].kill()
                    w["proc"].join()
                    done += 1
                    original, family, _ = case_plan(w["case"], self.seed, NAMES)
                    yield {"case": w["case"], "kind": "hang", "family": family,
                           "original": original,
                           "detail": f"no answer in {timeout} s", "seconds": now - w["since"],
                           "peak_mib": 0.0, "declared": 0, "exact_peak": True}
                    self.workers[k] = self._start(w["i"])

    def close(self) -> None:
        for w in self.workers:
            w["conn"].send(None)
            w["proc"].join(10)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per case")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    table = collections.Counter()
    problems, worst, slowest, exact, peak = [], None, 0.0, True, 0.0
    with tempfile.TemporaryDirectory(prefix="svertka-fuzz-") as tmp:
        pool = Pool(args.workers, Path(tmp), args.seed)
        for r in pool.run(args.cases, args.timeout):
            limit_mib = max(10 * r["declared"] / 2**20, FLOOR_MB)
            kind = r["kind"]
            if kind in ("loaded", "ModelFileError") and r["peak_mib"] > limit_mib:
                kind = "memory"
                r["detail"] = f"peak {r['peak_mib']:.1f} MiB, limit {limit_mib:.1f} MiB"
            table[r["family"], kind] += 1
            if kind not in ("loaded", "ModelFileError"):
                problems.append(r)
            ratio = r["peak_mib"] / limit_mib
            if worst is None or ratio > worst[0]:
                worst = (ratio, r)
            slowest = max(slowest, r["seconds"])
            peak = max(peak, r["peak_mib"])
            exact = exact and r["exact_peak"]
        pool.close()
    wall = time.perf_counter() - start
    families = sorted({f for f, _ in table})
    print(f"{args.cases:,} fuzzed model files, seed {args.seed}, {args.workers} workers, "
          f"{args.timeout:g} s per case, memory limit max(10 x declared weights, "
          f"{FLOOR_MB} MiB){'' if exact else ' (peaks from ru_maxrss: may understate)'}")
    print(f"{'family':<8}" + "".join(f"{o:>16}" for o in OUTCOMES))
    for f in families:
        print(f"{f:<8}" + "".join(f"{table[f, o]:>16,}" for o in OUTCOMES))
    print(f"{'total':<8}" + "".join(
        f"{sum(table[f, o] for f in families):>16,}" for o in OUTCOMES))
    ratio, r = worst
    print(f"largest peak {peak:.2f} MiB; closest to its limit: {r['peak_mib']:.2f} MiB, "
          f"{ratio:.1%} of it (case {r['case']}, {r['family']}, {r['original']}, {r['kind']})")
    print(f"slowest case {slowest:.2f} s; wall time {wall:.0f} s")
    for r in problems[:20]:
        print(f"  case {r['case']} ({r['family']}, {r['original']}): {r['kind']}: {r['detail']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
