"""Query speed of svertka.search's exact cosine search: NumPy (blocked matrix products, at most
64 MB of scores at a time) against faiss's ``IndexFlatIP`` (exact too), on random unit
vectors: 10^5 and 10^6 of 128 values, 1,000 queries, k = 10.

    python benchmarks/search.py                    # the README's table
    python benchmarks/search.py --sizes 20000 --queries 200   # a quick look

Without faiss (``pip install faiss-cpu``) NumPy is measured alone. Each time is the best of
``--repeat`` runs of the whole query batch; faiss's index is built before the clock starts,
and the two are checked to return the same neighbours.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from svertka.search import Index, l2_normalize


def best_time(index, q, k: int, backend: str, repeat: int) -> tuple[float, np.ndarray]:
    """The best of ``repeat`` timings of the whole query batch, and the neighbours found."""
    times, ids = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        _, ids = index.query(q, k, backend=backend)
        times.append(time.perf_counter() - t)
    return min(times), ids


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    try:
        import faiss
        version = faiss.__version__
    except ImportError:
        faiss, version = None, None
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy "
          f"{np.__version__}, faiss {version or 'not installed: NumPy alone'}; "
          f"{args.queries} queries of {args.dim} values, k={args.k}")
    print("| vectors | NumPy exact (s) | queries/s | faiss IndexFlatIP (s) | queries/s | "
          "same neighbours |")
    print("|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for n in args.sizes:
        index = Index(rng.standard_normal((n, args.dim), np.float32))
        q = l2_normalize(rng.standard_normal((args.queries, args.dim), np.float32))
        t_np, i_np = best_time(index, q, args.k, "numpy", args.repeat)
        row = f"| {n:,} | {t_np:.2f} | {args.queries / t_np:,.0f} |"
        if faiss is not None:
            index.query(q[:1], 1, backend="faiss")  # builds the faiss index off the clock
            t_f, i_f = best_time(index, q, args.k, "faiss", args.repeat)
            row += f" {t_f:.2f} | {args.queries / t_f:,.0f} | {(i_f == i_np).mean():.4f} |"
        else:
            row += " - | - | - |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
