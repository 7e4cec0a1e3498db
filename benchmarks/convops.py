"""The ``ops`` case: conv2d and max-pool forward+backward at the notes' model shapes, and the
arithmetic rate the convolutions reach against the machine's matrix-multiply peak.

Shapes (batch 32 by default): conv1 3x3, 1 -> 32 channels, 28x28, 'same'; conv2 3x3, 32 -> 64,
14x14, 'same'; 2x2/2 max-pooling of 28x28x32 and of 14x14x64. As inside the model, conv1's
input needs no gradient (it is the image) and conv2's does. Each call is one forward and one
backward from a fixed upstream gradient:

- svertka: ``svertka.ops.conv2d`` / ``max_pool2d`` on Tensors, ``.backward(gy)``, inside
  ``svertka.parallel.region()`` as in ``fit`` (NumPy's BLAS single-threaded, svertka's threads
  splitting the batch);
- PyTorch: ``F.conv2d`` / ``F.max_pool2d`` eagerly, channels-first, ``.backward(gy)``;
- Keras: ``keras.ops.conv`` plus the bias (as ``Conv2D.call`` does) / ``keras.ops.max_pool``
  under a ``tf.GradientTape``, the pair compiled by ``tf.function``, as Keras's training step
  runs them.

FLOPs of a convolution: ``2*N*OH*OW*KH*KW*C_in*C_out`` for the forward (a multiply and an
add per tap), as much again for the kernel gradient and again for the input gradient when
one is needed; the bias and its gradient are left out. GFLOP/s = those FLOPs / the median
time. The peak is the best rate of a 2048x2048 float32 matrix product measured in the same
run with NumPy (``np.matmul`` into a preallocated array), PyTorch (``torch.mm``) and, when
present, TensorFlow (``tf.linalg.matmul``); "of peak" compares each library's conv rate with
the best of those. The FLOPs are a direct convolution's: a library that computes a 3x3
convolution with Winograd's F(2x2, 3x3) (svertka for conv2; oneDNN, behind PyTorch and
TensorFlow, may choose it too) does 2.25 times fewer multiplies, so its rate can pass 100%.
"""

from __future__ import annotations

import numpy as np

import svertka
from libs import keras
from report import Result, Row
from steps import to_torch
from svertka import ops
from svertka.parallel import region
from timing import block_times, medians

CONVS = {  # name: (H = W, C_in, C_out, input needs a gradient)
    "conv1 3x3 1->32": (28, 1, 32, False),
    "conv2 3x3 32->64": (14, 32, 64, True),
}
POOLS = {"max_pool1 2x2/2 28x28x32": (28, 32), "max_pool2 2x2/2 14x14x64": (14, 64)}
GEMM_N = 2048


def conv_flops(batch: int, h: int, c_in: int, c_out: int, input_grad: bool) -> int:
    """Forward + backward FLOPs of a 3x3 'same' stride-1 convolution (module note)."""
    forward = 2 * batch * h * h * 3 * 3 * c_in * c_out
    return forward * (3 if input_grad else 2)


def _conv_calls(libs, x, w, b, gy, input_grad: bool) -> dict:
    fns = {}
    if "svertka" in libs:
        sx = svertka.Tensor(x, requires_grad=input_grad)
        sw, sb = (svertka.Tensor(a, requires_grad=True) for a in (w, b))

        def ours():
            sx.grad = sw.grad = sb.grad = None
            with region():  # as fit runs every step (svertka.parallel)
                ops.conv2d(sx, sw, sb, padding="same").backward(gy)

        fns["svertka"] = ours
    if "torch" in libs:
        import torch
        import torch.nn.functional as F

        tx = to_torch(x).requires_grad_(input_grad)
        tw = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).requires_grad_()
        tb = torch.from_numpy(b.copy()).requires_grad_()
        tgy = to_torch(gy)

        def theirs():
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=1).backward(tgy)

        fns["torch"] = theirs
    if "keras" in libs:
        import tensorflow as tf

        k = keras()
        kx, kgy = tf.constant(x), tf.constant(gy)
        kw, kb = tf.Variable(w), tf.Variable(b)

        @tf.function
        def step(x, gy):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = k.ops.add(k.ops.conv(x, kw, strides=1, padding="same"), kb)
            sources = [x, kw, kb] if input_grad else [kw, kb]
            return tape.gradient(y, sources, output_gradients=gy)

        fns["keras"] = lambda: step(kx, kgy)
    return fns


def _pool_calls(libs, x, gy) -> dict:
    fns = {}
    if "svertka" in libs:
        sx = svertka.Tensor(x, requires_grad=True)

        def ours():
            sx.grad = None
            with region():
                ops.max_pool2d(sx, 2, 2).backward(gy)

        fns["svertka"] = ours
    if "torch" in libs:
        import torch.nn.functional as F

        tx, tgy = to_torch(x).requires_grad_(), to_torch(gy)

        def theirs():
            tx.grad = None
            F.max_pool2d(tx, 2, 2).backward(tgy)

        fns["torch"] = theirs
    if "keras" in libs:
        import tensorflow as tf

        k = keras()
        kx, kgy = tf.constant(x), tf.constant(gy)

        @tf.function
        def step(x, gy):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = k.ops.max_pool(x, 2, 2, padding="valid")
            return tape.gradient(y, x, output_gradients=gy)

        fns["keras"] = lambda: step(kx, kgy)
    return fns


def _gemm_calls(libs) -> dict:
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((GEMM_N, GEMM_N), dtype=np.float32) for _ in range(2))
    c = np.empty_like(a)
    fns = {"svertka": lambda: np.matmul(a, b, out=c)}  # svertka's GEMMs are NumPy's
    if "torch" in libs:
        import torch

        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(GEMM_N, GEMM_N)
        fns["torch"] = lambda: torch.mm(ta, tb, out=tc)
    if "keras" in libs:
        import tensorflow as tf

        ka, kb = tf.constant(a), tf.constant(b)
        fns["keras"] = lambda: tf.linalg.matmul(ka, kb)
    return fns


def run(libs, repeats: int, batch: int = 32, per_round: int = 5) -> Result:
    """Median ms of each op's forward+backward per library, conv GFLOP/s and the GEMM peak."""
    rng = np.random.default_rng(0)
    rows, gflops_rows, times_s = [], [], {}
    for name, (h, c_in, c_out, input_grad) in CONVS.items():
        x = rng.standard_normal((batch, h, h, c_in), dtype=np.float32)
        w = (rng.standard_normal((3, 3, c_in, c_out)) * 0.1).astype(np.float32)
        b = np.zeros(c_out, np.float32)
        gy = rng.standard_normal((batch, h, h, c_out), dtype=np.float32)
        times = block_times(_conv_calls(libs, x, w, b, gy, input_grad), repeats, per_round)
        t = medians(times)
        flops = conv_flops(batch, h, c_in, c_out, input_grad)
        rows.append(Row(f"{name} ms", {lib: s * 1e3 for lib, s in t.items()}, headline=True))
        gflops_rows.append((name, {lib: flops / s / 1e9 for lib, s in t.items()}))
        times_s[name] = times
    for name, (h, c) in POOLS.items():
        x = rng.standard_normal((batch, h, h, c), dtype=np.float32)
        gy = rng.standard_normal((batch, h // 2, h // 2, c), dtype=np.float32)
        times = block_times(_pool_calls(libs, x, gy), repeats, per_round)
        rows.append(
            Row(f"{name} ms", {lib: s * 1e3 for lib, s in medians(times).items()}, headline=True)
        )
        times_s[name] = times
    gemm_repeats = max(3, repeats // 3)
    gemm = medians(block_times(_gemm_calls(libs), gemm_repeats, per_round=3, warmup=2))
    peak = {lib: 2 * GEMM_N**3 / s / 1e9 for lib, s in gemm.items()}
    best = max(peak.values())
    for name, rate in gflops_rows:
        rows.append(Row(f"{name.split()[0]} GFLOP/s", rate, "{:.1f}", ratio=False))
    rows.append(Row(f"matmul {GEMM_N} GFLOP/s", peak, "{:.1f}", ratio=False))
    for name, rate in gflops_rows:
        rows.append(
            Row(
                f"{name.split()[0]} % of peak",
                {lib: 100 * r / best for lib, r in rate.items()},
                "{:.0f}%",
                ratio=False,
            )
        )
    notes = [
        f"forward+backward, batch {batch}; conv1 without, conv2 with the input gradient "
        f"(as in the model); median of {repeats} calls per library",
        f"peak = best {GEMM_N}x{GEMM_N} float32 matmul here: {best:.1f} GFLOP/s "
        f"(svertka column: NumPy's, keras column: TensorFlow's); the rates count a direct "
        f"convolution's FLOPs, so Winograd's fewer multiplies can pass 100%",
    ]
    return Result(
        "ops",
        "conv2d and max-pool, forward+backward, notes model shapes",
        rows,
        notes,
        extra={"times_s": times_s, "matmul_gflops": peak},
    )
