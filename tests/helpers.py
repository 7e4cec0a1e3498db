"""Shared test tools: a float64 numerical gradient check and a PyTorch oracle.

``check_grad(fn, *arrays)`` compares svertka's analytic gradients with central differences.
``compare_torch(our_fn, torch_fn, *arrays)`` compares forward and every input gradient with
PyTorch; tests calling it skip cleanly where torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import svertka


def _weighted_sum(y, weights):
    return (y.data * weights).sum() if isinstance(y, svertka.Tensor) else (y * weights).sum()


def check_grad(fn, *arrays, wrt=None, eps=1e-6, rtol=1e-5, atol=1e-7, full_max=400, seed=0):
    """Analytic vs central-difference gradients of ``sum(fn(*tensors) * r)`` for random r.

    ``arrays`` are float64 NumPy arrays (or non-array constants passed through untouched);
    ``wrt`` lists the indices to check (every float array by default). Inputs with at most
    ``full_max`` elements are checked element by element; larger ones along three random
    directions.
    """
    rng = np.random.default_rng(seed)
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays)
               if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    for i in wrt:
        assert arrays[i].dtype == np.float64, "gradient checks run in float64"
    tensors = [svertka.Tensor(a, requires_grad=(i in wrt)) if isinstance(a, np.ndarray) else a
               for i, a in enumerate(arrays)]
    y = fn(*tensors)
    weights = rng.standard_normal(y.shape)
    (y * svertka.Tensor(weights)).sum().backward()

    def value(i, a):
        args = list(tensors)
        args[i] = svertka.Tensor(a)
        with svertka.no_grad():
            return _weighted_sum(fn(*args), weights)

    for i in wrt:
        x = arrays[i]
        analytic = tensors[i].grad
        assert analytic is not None, f"input {i} received no gradient"
        assert analytic.shape == x.shape
        if x.size <= full_max:
            numeric = np.zeros_like(x)
            for k in range(x.size):
                d = np.zeros(x.size)
                d[k] = eps
                d = d.reshape(x.shape)
                numeric.flat[k] = (value(i, x + d) - value(i, x - d)) / (2 * eps)
            np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
        else:
            for _ in range(3):
                v = rng.standard_normal(x.shape)
                numeric = (value(i, x + eps * v) - value(i, x - eps * v)) / (2 * eps)
                np.testing.assert_allclose((analytic * v).sum(), numeric, rtol=rtol * 10,
                                           atol=atol * 10, err_msg=f"directional grad {i}")


def compare_torch(our_fn, torch_fn, *arrays, wrt=None, atol=1e-5, rtol=1e-5, seed=0):
    """Forward and every input gradient of ``our_fn`` equal those of ``torch_fn``.

    Both functions receive the same arrays (as svertka Tensors and torch tensors). Inputs
    that are not float arrays are passed through unchanged. The upstream gradient is random.
    """
    torch = pytest.importorskip("torch")
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays)
               if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    ours = [svertka.Tensor(a, requires_grad=(i in wrt)) if isinstance(a, np.ndarray) else a
            for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=(i in wrt)) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(arrays)]
    y = our_fn(*ours)
    ty = torch_fn(*theirs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg="forward")
    gy = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    for i in wrt:
        np.testing.assert_allclose(ours[i].grad, theirs[i].grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")


# svertka's padding modes by PyTorch's names for them (PyTorch has no 'symmetric')
TORCH_MODE = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect",
              "circular": "circular"}


def nhwc_to_nchw(t):
    """Channels-last (N, H, W, C) torch tensor -> channels-first (N, C, H, W)."""
    return t.permute(0, 3, 1, 2)


def nchw_to_nhwc(t):
    return t.permute(0, 2, 3, 1)


def toy_images(n=256, seed=0):
    """Two classes told apart by where the bright blob is, on 8x8 grey images: a task a small
    CNN learns in a few epochs. ``(x (n, 8, 8, 1) float32, y (n,) int)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[y == 0, 1:4, 1:4] += 1.0
    x[y == 1, 4:7, 4:7] += 1.0
    return x, y


def naive_conv_relu(x, w, b, pads, relu):
    """A stride-1 convolution by its definition in float64 (``kernels.conv.naive_conv``), then
    ReLU when asked (``np.maximum`` keeps NaN): the reference of the Winograd and fused tests."""
    from svertka.kernels.conv import naive_conv

    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    y = naive_conv(*f64, (1, 1), pads)
    return np.maximum(y, 0) if relu else y


def dark_light_tree(root, size: int = 12, train: int = 16, test: int = 4) -> str:
    """``root/data/{train,test}/{dark,light}/*.png``: size x size colour noise, 150 brighter for
    *light* (``train`` and ``test`` images a class); a task any network learns from
    brightness. Returns the tree's path. Needs Pillow."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        for label, name in enumerate(("dark", "light")):
            folder = root / "data" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 100, (size, size, 3)) + 150 * label
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    return str(root / "data")
