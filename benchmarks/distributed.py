"""Data-parallel training speed: steps per second of one process and of two under
``mpiexec`` (one thread each), and the bytes each rank sends into its allreduces per step.

    python benchmarks/distributed.py [--model notes_cnn|resnet20] [--batch 32] [--steps 20]

Each process trains on its own ``--batch`` samples per step (the global batch grows with the
processes, as in ``svertka.distributed``), on random images, with SGD and categorical
cross-entropy; the first epoch (``--steps`` steps) warms up, the second is timed. One line per
process count: steps/s, samples/s, the speed-up over one process, and the bytes each rank
allreduces per step (the gradients, 4 bytes per float32 parameter, and a small header; a ring
allreduce sends and receives about 2(N-1)/N times that per rank).
Needs mpi4py and mpiexec (``pip install 'svertka[distributed]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def worker(model_name: str, batch: int, steps: int) -> None:
    import svertka
    from svertka import distributed, zoo
    from svertka.callbacks import Callback
    from svertka.distributed import gradients

    distributed.init()
    ranks = distributed.size()
    model = getattr(zoo, model_name)()
    model.compile(svertka.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
    shape = tuple(model.input_shape[1:])
    rng = np.random.default_rng(0)
    n = batch * ranks * steps
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]

    class Clock(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            distributed.barrier()
            self.start, self.bytes = time.perf_counter(), gradients.stats["bytes"]

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start
            self.sent = gradients.stats["bytes"] - self.bytes

    clock = Clock()
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, callbacks=[clock])
    if distributed.is_main():
        print(json.dumps({"ranks": ranks, "params": model.count_params(),
                          "steps_per_s": steps / clock.seconds,
                          "bytes_per_step": clock.sent / steps if ranks > 1 else 0}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="notes_cnn", choices=["notes_cnn", "resnet20"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--ranks", default="1,2", help="process counts, comma-separated")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model, args.batch, args.steps)
        return
    here = Path(sys.executable).with_name("mpiexec")
    mpiexec = str(here) if here.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("benchmarks/distributed.py: no mpiexec; pip install 'svertka[distributed]'")
    env = {**os.environ, "SVERTKA_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--worker", "--model", args.model, "--batch",
               str(args.batch), "--steps", str(args.steps)]
    print(f"{args.model}, batch {args.batch} per process, {args.steps} timed steps, "
          f"one thread per process")
    base = None
    for ranks in [int(r) for r in args.ranks.split(",")]:
        done = subprocess.run([mpiexec, "-n", str(ranks), *command], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"benchmarks/distributed.py: {ranks} processes failed:\n{done.stderr}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        base = base or r["steps_per_s"] * args.batch
        samples = r["steps_per_s"] * args.batch * ranks
        print(f"{ranks} process(es): {r['steps_per_s']:.2f} steps/s, {samples:.1f} samples/s "
              f"(x{samples / base:.2f}), {r['bytes_per_step'] / 1e6:.2f} MB per step per rank "
              f"({r['params']:,} parameters)")


if __name__ == "__main__":
    main()
