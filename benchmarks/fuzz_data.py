"""Fuzzed data files: N damaged IDX, gzip, tar, tar.gz and CIFAR-10 files, each loaded in a
worker process watched for hangs, with its peak memory measured.

    python benchmarks/fuzz_data.py [--cases 2000] [--seed 0] [--workers 2] [--timeout 5]

The cases are those of the test suite's fuzzer (``tests/datasets/data_fuzz.py``: six kinds of
file, damaged by bit flips, truncation or header changes), with another seed and as many as
asked. Each worker (at most two) builds the same undamaged templates, then runs the cases
it is handed one at a time; a case that gives no answer within ``--timeout`` seconds is a
hang, and its worker is killed and replaced. Before each case the worker resets the kernel's
high-water mark of its resident set (``/proc/self/clear_refs``); the case's peak memory is
``VmHWM`` after it minus ``VmRSS`` before it. A case is over the memory bound when that peak
exceeds ten times the undamaged data's size, plus 4 MiB for the interpreter's own churn.

The table counts, per kind: correct loads, faithful loads of bytes the format leaves
unprotected (``changed``), DataFileError, any other exception, garbage (a wrong load, or a
cache written after an error), hangs and cases over the memory bound. Files are written to
a temporary folder, removed at the end; nothing is written into the repository. Exit status
1 when there is any other exception, garbage, hang or memory excess.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from memory import peak_growth

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "datasets"))  # data_fuzz, the test suite's fuzzer

MEMORY_SLACK_MIB = 4.0


def worker(seed: int, work: Path) -> None:
    """Answer case numbers read from stdin with one JSON line each on stdout."""
    import gzip

    import data_fuzz

    from svertka.datasets import sources

    os.environ["SVERTKA_CACHE"] = str(work / "cache")
    pool = data_fuzz.templates(seed, work / "templates")
    sizes = [sum(len(gzip.decompress(d)) if d[:2] == b"\x1f\x8b" else len(d)
                 for d in t.files.values()) for t in pool]
    cache = sources.cache_dir("cifar10")

    def decoded():
        return len(list(cache.glob("decoded-*")))

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        i = int(line)
        (_, template, case), = data_fuzz.cases(seed, i + 1, pool, start=i)
        counter = decoded if template.kind == "cifar_tgz" else None
        answer = {}

        def load(template=template, case=case, counter=counter, answer=answer):
            start = time.perf_counter()
            answer["run"] = data_fuzz.run_case(template, case, work / "case", counter)
            answer["seconds"] = time.perf_counter() - start

        peak, _ = peak_growth(load)
        (outcome, note), seconds = answer["run"], answer["seconds"]
        bound = 10 * sizes[pool.index(template)] / 2**20 + MEMORY_SLACK_MIB
        print(json.dumps({"i": i, "kind": case.kind, "damage": case.damage,
                          "target": case.target, "detail": case.detail, "outcome": outcome,
                          "note": note, "seconds": seconds, "peak_mib": peak,
                          "bound_mib": bound}), flush=True)


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, seed: int, work: Path, startup: float):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(seed), str(work)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        if self.answer(startup) is None:
            self.kill()
            raise RuntimeError("fuzz_data: a worker did not start")

    def answer(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def run(self, i: int, timeout: float) -> dict | None:
        self.proc.stdin.write(f"{i}\n")
        self.proc.stdin.flush()
        return self.answer(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_all(args, work: Path) -> list[dict]:
    """Every case's record, in order, the cases shared out to the workers."""
    results: list[dict | None] = [None] * args.cases
    pending = iter(range(args.cases))
    lock = threading.Lock()

    def drive(slot: int) -> None:
        folder = work / f"worker-{slot}"
        proc = Worker(args.seed, folder, startup=120)
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                break
            record = proc.run(i, args.timeout)
            if record is None:  # no answer in time (or the worker died): a hang
                proc.kill()
                results[i] = {"i": i, "outcome": "hang", "kind": "?", "note":
                              f"no answer within {args.timeout:g} s", "peak_mib": 0.0,
                              "bound_mib": 0.0, "seconds": args.timeout}
                shutil.rmtree(folder, ignore_errors=True)
                proc = Worker(args.seed, folder, startup=120)
                continue
            results[i] = record
        proc.close()

    threads = [threading.Thread(target=drive, args=(s,)) for s in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def report(records: list[dict], seconds: float, args) -> int:
    import data_fuzz

    columns = ("correct", "changed", "error", "other", "garbage", "hang", "memory")
    counts: dict[str, Counter] = {}
    peaks: dict[str, float] = {}
    for r in records:
        kind = r["kind"]
        counts.setdefault(kind, Counter())[r["outcome"]] += 1
        if r["peak_mib"] > r["bound_mib"] and r["outcome"] != "hang":
            counts[kind]["memory"] += 1
        peaks[kind] = max(peaks.get(kind, 0.0), r["peak_mib"])
    print(f"\nFuzzed data files: {len(records):,} cases, seed {args.seed}, {args.workers} "
          f"worker(s), hang after {args.timeout:g} s; {seconds:.1f} s wall\n")
    header = f"{'kind':<10}" + "".join(f"{c:>9}" for c in columns) + f"{'peak MiB':>10}"
    print(header)
    print("-" * len(header))
    total = Counter()
    for kind in [*data_fuzz.KINDS, "?"]:
        if kind not in counts:
            continue
        total.update(counts[kind])
        print(f"{kind:<10}" + "".join(f"{counts[kind][c]:>9,}" for c in columns)
              + f"{peaks.get(kind, 0.0):>10.1f}")
    print("-" * len(header))
    print(f"{'all':<10}" + "".join(f"{total[c]:>9,}" for c in columns)
          + f"{max(peaks.values(), default=0.0):>10.1f}")
    print("\ncorrect: equals the undamaged data; changed: a faithful load of bytes the format "
          "does not protect;\nerror: DataFileError; memory: peak over 10x the data's size + "
          f"{MEMORY_SLACK_MIB:g} MiB (counted besides the outcome)")
    bad = [r for r in records if r["outcome"] in ("other", "garbage", "hang")
           or r["peak_mib"] > r["bound_mib"] > 0]
    for r in bad[:20]:
        print(f"  case {r['i']}: {r['kind']} {r.get('damage', '')} {r.get('detail', '')}: "
              f"{r['outcome']}: {r['note']} (peak {r['peak_mib']:.1f} MiB)")
    slowest = max(records, key=lambda r: r["seconds"], default=None)
    if slowest:
        print(f"slowest case: {slowest['seconds'] * 1000:.0f} ms ({slowest['kind']}); "
              f"median {sorted(r['seconds'] for r in records)[len(records) // 2] * 1000:.1f} ms")
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="damaged files to load")
    parser.add_argument("--seed", type=int, default=0, help="the fuzzer's seed")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2),
                        help="worker processes (at most 2)")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds after which a case is a hang")
    parser.add_argument("--worker", nargs=2, metavar=("SEED", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(int(args.worker[0]), Path(args.worker[1]))
        return 0
    work = Path(tempfile.mkdtemp(prefix="svertka-fuzz-data-"))
    try:
        start = time.perf_counter()
        records = run_all(args, work)
        return report(records, time.perf_counter() - start, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
