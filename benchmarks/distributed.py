"""Data-parallel training speed: steps per second of one process and of two under
``mpiexec`` (one thread each), and the bytes each rank sends into its allreduces per step;
and a model of the speed-up on N machines.

    python benchmarks/distributed.py [--model notes_cnn|resnet20] [--batch 32] [--steps 20]
    python benchmarks/distributed.py --scaling [--models notes_cnn,resnet20,resnet50,vgg16]

Each process trains on its own ``--batch`` samples per step (the global batch grows with the
processes, as in ``svertka.distributed``), on random images, with SGD and categorical
cross-entropy; the first epoch (``--steps`` steps) warms up, the second is timed. One line per
process count: steps/s, samples/s, the speed-up over one process, and the bytes each rank
allreduces per step (the gradients, 4 bytes per float32 parameter, and a small header; a ring
allreduce sends and receives about 2(N-1)/N times that per rank).
The two-process line also gives two single processes' steps/s when run at once without
joining (what sharing the machine costs), the time of one allreduce of the step's bytes
alone, and the steps/s predicted from both (that step time plus the allreduce), against the
measured.

``--scaling`` times one training step of each zoo model in this process (all its threads: the
compute of one machine like this one) and models N such machines joined by a network of
10 and 100 Gbit/s with a ring allreduce, which sends and receives ``2 (N-1)/N G`` bytes per
rank (G the gradients' bytes) in ``2 (N-1)`` hops of latency ``--latency`` each, per bucket:
``t_comm = 2 (N-1)/N G / bandwidth + 2 (N-1) latency buckets``. Not overlapped, a step takes
``t_step + t_comm`` and N machines give ``N t_step / (t_step + t_comm)`` times one machine's
samples/s; overlapped with backward (about two thirds of a step) the bound is
``N t_step / (t_step + max(0, t_comm - 2/3 t_step))``.
Needs mpi4py and mpiexec (``pip install 'svertka[distributed]'``) except for ``--scaling``.
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
    allreduce_s = 0.0
    if ranks > 1:  # the step's bytes alone, the same buffers as one step's buckets
        from mpi4py import MPI

        buf = np.ones(int(clock.sent / steps) // 4, np.float32)
        comm = distributed.communicator()
        for _ in range(3):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        distributed.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        allreduce_s = (time.perf_counter() - start) / steps
    if distributed.is_main():
        print(json.dumps({"ranks": ranks, "params": model.count_params(),
                          "steps_per_s": steps / clock.seconds, "allreduce_s": allreduce_s,
                          "bytes_per_step": clock.sent / steps if ranks > 1 else 0}))


INPUTS = {"notes_cnn": (28, 28, 1), "lenet5": (32, 32, 1), "resnet20": (32, 32, 3),
          "resnet50": (224, 224, 3), "vgg16": (224, 224, 3)}


def step_seconds(name: str, batch: int, steps: int) -> tuple[float, int]:
    """One process's training step (the mean of ``steps`` in one ``fit``, after a warm-up
    step) and the number of trainable parameters, on random data."""
    import svertka
    from svertka import zoo

    classes = 1000 if INPUTS[name][0] == 224 else 10  # ImageNet's heads for ImageNet's nets
    model = getattr(zoo, name)(input_shape=INPUTS[name], classes=classes)
    model.compile(svertka.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, *INPUTS[name]), dtype=np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch * steps)]
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    seconds = (time.perf_counter() - start) / steps
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return seconds, trainable


def scaling(models: list[str], batches: dict, steps: int, latency: float) -> None:
    from svertka.distributed.gradients import BUCKET_BYTES

    ns = (2, 4, 8, 16, 64)
    print(f"one machine = this process ({os.cpu_count()} cores); ring allreduce, latency "
          f"{latency * 1e6:.0f} us per hop, buckets of {BUCKET_BYTES >> 20} MiB; speed-up over "
          f"one machine, not overlapped / overlapped with backward")
    print("| model | batch per machine | step (s) | gradients (MB) | network | "
          + " | ".join(f"N={n}" for n in ns) + " |")
    print("|---|---:|---:|---:|---|" + "---:|" * len(ns))
    for name in models:
        batch = batches.get(name, 32)
        t, params = step_seconds(name, batch, steps)
        g = 4.0 * params
        buckets = max(1, -(-int(g) // BUCKET_BYTES))
        for gbit in (10, 100):
            cells = []
            for n in ns:
                comm = 2 * (n - 1) / n * g / (gbit * 1e9 / 8) + 2 * (n - 1) * latency * buckets
                plain = n * t / (t + comm)
                overlapped = n * t / (t + max(0.0, comm - 2 / 3 * t))
                cells.append(f"{plain:.1f} / {overlapped:.1f}")
            print(f"| {name} | {batch} | {t:.3f} | {g / 1e6:.1f} | {gbit} Gbit/s | "
                  + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="notes_cnn", choices=["notes_cnn", "resnet20"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, help="timed steps (default 20; 5 with --scaling)")
    parser.add_argument("--ranks", default="1,2", help="process counts, comma-separated")
    parser.add_argument("--scaling", action="store_true",
                        help="model the speed-up on N machines for several zoo models")
    parser.add_argument("--models", default="notes_cnn,lenet5,resnet20,resnet50,vgg16")
    parser.add_argument("--latency", type=float, default=50e-6,
                        help="seconds per message hop of the network (--scaling)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.steps = args.steps or (5 if args.scaling else 20)
    if args.worker:
        worker(args.model, args.batch, args.steps)
        return
    if args.scaling:
        models = args.models.split(",")
        unknown = sorted(set(models) - set(INPUTS))
        if unknown:
            parser.error(f"--models: unknown {unknown}, choose from {sorted(INPUTS)}")
        big = {"resnet50": 8, "vgg16": 8}  # a few seconds a step on two cores
        scaling(models, {m: big.get(m, args.batch) for m in models}, args.steps, args.latency)
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

    def together(count: int) -> float:
        """Steps/s of ``count`` single processes started at once, not joined: what sharing
        the machine costs without any communication."""
        runs = [subprocess.Popen([sys.executable, *command[1:]], env=env, text=True,
                                 stdout=subprocess.PIPE) for _ in range(count)]
        rates = [json.loads(r.communicate()[0].strip().splitlines()[-1])["steps_per_s"]
                 for r in runs]
        return sum(rates) / len(rates)

    for ranks in [int(r) for r in args.ranks.split(",")]:
        done = subprocess.run([mpiexec, "-n", str(ranks), *command], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"benchmarks/distributed.py: {ranks} processes failed:\n{done.stderr}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        base = base or r["steps_per_s"] * args.batch
        samples = r["steps_per_s"] * args.batch * ranks
        line = (f"{ranks} process(es): {r['steps_per_s']:.2f} steps/s, {samples:.1f} samples/s "
                f"(x{samples / base:.2f}), {r['bytes_per_step'] / 1e6:.2f} MB per step per rank "
                f"({r['params']:,} parameters)")
        if ranks > 1:
            alone = together(ranks)
            predicted = 1 / (1 / alone + r["allreduce_s"])
            line += (f"\n  {ranks} processes alone at once (no allreduce): {alone:.2f} steps/s "
                     f"each; one allreduce of the step's bytes alone: "
                     f"{r['allreduce_s'] * 1e3:.2f} ms; predicted from both "
                     f"{predicted:.2f} steps/s, measured {r['steps_per_s']:.2f}")
        print(line)


if __name__ == "__main__":
    main()
