"""The benchmark scripts still run against the library as it is now (a quick smoke run of
svertka's side only; what they measure is read from their output, never asserted here).

One more run builds the zoo cases' PyTorch twins at their ``--quick`` sizes, one timed call
each: the cases check, before timing, that svertka's ResNet-20, ResNet-50, VGG-16 and
depthwise-separable blocks agree with their PyTorch twins (``benchmarks/cases.py``), and a
run whose twins disagree fails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ZOO_CASES = "resnet20,resnet50_1,vgg16_1,separable"


@pytest.mark.parametrize("args", [
    ["run.py", "--quick", "--no-memory", "--libs", "svertka",
     "--cases", "train32,infer1,ops,resnet,latency"],
    ["run.py", "--quick", "--no-memory", "--repeats", "1", "--libs", "svertka,torch",
     "--cases", ZOO_CASES],
    ["fuzz_models.py", "--cases", "40"],
    ["fuzz_data.py", "--cases", "30"],
    ["ocr.py", "--difficulty", "easy", "--pages", "1", "--lines", "2"],
    ["notes_functional.py", "--repeats", "1"],
    ["distributed.py", "--steps", "2", "--batch", "4"],  # one process, then two (mpiexec)
    ["distributed.py", "--scaling", "--models", "notes_cnn", "--steps", "1", "--batch", "4"],
    ["serve.py", "--loads", "2", "--predictions", "5", "--strokes", "2"],  # svertka serve
])
def test_benchmark_script_runs(args):
    env = {**os.environ, "SVERTKA_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    if ZOO_CASES in args:
        assert done.stdout.count("twins agree") == 4, done.stdout[-3000:]
