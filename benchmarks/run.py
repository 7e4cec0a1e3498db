"""svertka against PyTorch (and Keras on TensorFlow when installed): the benchmark suite.

    python benchmarks/run.py [--cases train32,ops,...] [--repeats N] [--epochs E] [--quick]
                             [--no-memory] [--json FILE]

Cases (all by default, in this order; ``--cases`` picks some):

- ``train32``, ``train128``: the notes' model, one training step at batch 32 and 128;
- ``infer1``, ``infer1000``: the notes' model, inference at batch 1 and 1,000;
- ``latency``: one image through the notes' model and the zoo's ResNet-20 by ``predict(x)``
  and ``model(x)``, svertka and PyTorch only (``latency.py``);
- ``ops``: conv2d and max-pool forward+backward at the model's shapes, the convolutions'
  GFLOP/s and the machine's matmul peak (``convops.py``);
- ``resnet``: a training step of a small CIFAR-10 ResNet (basic and downsampling blocks);
- ``resnet20``: a training step of the zoo's ResNet-20 (SGD with momentum) at batch 128;
- ``resnet50_1``, ``resnet50_16``, ``vgg16_1``, ``vgg16_16``: the zoo's ResNet-50 and VGG-16,
  inference at 224x224, batch 1 and 16, against their torchvision layouts written out;
- ``separable``: a training step of MobileNet-style depthwise-separable blocks, batch 16;
- ``epoch``: the notes' MNIST program, ``--epochs`` epochs (1 by default; 5 is the notes'
  run), seconds per epoch and test accuracy (``epoch.py``).

Every library runs in this one process on the same data and the same initial weights, after
a warm-up, alternating in blocks (``timing.py``); a table per case gives the median time per
library and the ratios svertka/rival (below 1.0: svertka is faster), and for the step cases
the peak memory each library's calls add, measured in fresh processes (``memory.py``).
The zoo cases (``resnet20`` to ``separable``, ``zoo_models.py``) run svertka and PyTorch
only, and check first that the two networks agree (``cases.py``).
``--quick`` is a smoke run: few repeats, the epoch case on 6,000 images, the zoo cases on
smaller images or batches (``cases.QUICK``). Data come from
``$SVERTKA_DATA`` (default: ``../shared/data`` beside the repository, when it exists, as the
tests assume); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the sibling modules, however run.py is run

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
if "SVERTKA_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SVERTKA_DATA"] = str(SHARED_DATA)

import cases  # noqa: E402 - after the data folder is set
import libs  # noqa: E402
from report import Result, Row, format_table, summary, write_json  # noqa: E402

ORDER = (
    "train32",
    "train128",
    "infer1",
    "infer1000",
    "latency",
    "ops",
    "resnet",
    "resnet20",
    "resnet50_1",
    "resnet50_16",
    "vgg16_1",
    "vgg16_16",
    "separable",
    "epoch",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        default=",".join(ORDER),
        help=f"comma-separated, from {', '.join(ORDER)} (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed calls per library and case (default 20, quick 4)",
    )
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the epoch case")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument(
        "--libs",
        default=",".join(libs.LIBS),
        help="comma-separated, from svertka, torch, keras (default: all here)",
    )
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    parser.add_argument("--probe-memory", nargs=2, metavar=("LIB", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe_memory:
        return args  # a child process: import nothing it does not need
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(args.cases) - set(ORDER))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    if args.repeats is None:
        args.repeats = 4 if args.quick else 20
    args.libs = libs.available([lib.strip() for lib in args.libs.split(",")])
    if "svertka" not in args.libs:
        parser.error("--libs must include svertka (the ratios are svertka/rival)")
    return args


def with_memory(result: Result, records: dict[str, dict]) -> None:
    """Add the memory probes' row (and any failure) to a case's result."""
    growth = {lib: rec.get("growth_mib") for lib, rec in records.items()}
    result.rows.append(Row("peak memory MiB", growth, "{:.1f}", ratio=False))
    result.extra["memory"] = records
    result.notes += [
        f"memory probe failed, {lib}: {rec['error']}"
        for lib, rec in records.items()
        if rec.get("error")
    ]


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.probe_memory:
        import memory

        print(json.dumps(memory.probe(*args.probe_memory, quick=args.quick)))
        return
    header = libs.header()
    print(header)
    print(
        f"data: {os.environ.get('SVERTKA_DATA', 'SVERTKA_DATA unset')}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}\n",
        flush=True,
    )
    mem = {}
    probed = [c for c in args.cases if c in cases.CASES]
    if probed and not args.no_memory:
        import memory

        start = time.perf_counter()
        print(
            f"measuring peak memory ({memory.count(probed, args.libs)} fresh processes) ...",
            flush=True,
        )
        mem = memory.measure(probed, args.libs, quick=args.quick)
        print(f"  done in {time.perf_counter() - start:.0f} s\n", flush=True)
    results = []
    for name in args.cases:
        start = time.perf_counter()
        if name == "ops":
            import convops

            result = convops.run(args.libs, args.repeats)
        elif name == "latency":
            import latency

            result = latency.run(args.libs, args.repeats, args.quick)
        elif name == "epoch":
            import epoch

            result = epoch.run(args.libs, args.epochs, args.quick)
        else:
            result = cases.run(name, args.libs, args.repeats, quick=args.quick)
        if name in mem:
            with_memory(result, mem[name])
        result.notes.append(f"case took {time.perf_counter() - start:.0f} s")
        results.append(result)
        print(format_table(result) + "\n", flush=True)
    if len(results) > 1:
        print(format_table(summary(results)))
    if args.json:
        write_json(args.json, header, sys.argv, results)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
