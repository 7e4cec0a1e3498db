"""Synchronised batch norm's passes (kernels.norm.batch_norm_sync_*) with several "processes"
played by threads whose ``reduce`` sums through a barrier: the statistics are the global
batch's (kernels.norm.naive_batch_norm of the whole batch), and the input gradients, once
weighed by each share's samples / N as the data-parallel step weighs them, are the global
mean loss's."""

import threading

import numpy as np
import pytest

from svertka.kernels import norm


class Reducer:
    """``reduce(a)`` for ``parties`` threads: every party gets the sum of all their ``a``."""

    def __init__(self, parties: int):
        self.barrier = threading.Barrier(parties)
        self.lock = threading.Lock()
        self.total = None

    def __call__(self, a):
        with self.lock:
            self.total = a.copy() if self.total is None else self.total + a
        self.barrier.wait()
        out = self.total.copy()
        self.barrier.wait()  # everyone has read it: the next sum starts from nothing
        self.total = None
        self.barrier.wait()
        return out


def run_shares(x, gy_global, cuts, gamma, beta, relu=False):
    """Each share of ``x`` in its own thread; ``gy`` of a share is the gradient of that
    share's mean loss, i.e. the global mean loss's gradient times N / samples."""
    n = len(x)
    shares = np.split(np.arange(n), cuts)
    reduce = Reducer(len(shares))
    results = [None] * len(shares)

    def work(i, idx):
        samples = len(idx)
        xs = x[idx] if samples else np.zeros((1, *x.shape[1:]))  # an idle share's stand-in
        gy = gy_global[idx] * n / samples if samples else np.zeros_like(xs)
        y, mean, var, cache = norm.batch_norm_sync_forward(xs.copy(), gamma, beta, 1e-3, relu,
                                                           reduce, samples)
        gx, ggamma, gbeta = norm.batch_norm_sync_backward(gy, cache)
        results[i] = (idx, y, mean, var, gx * samples / n, ggamma, gbeta)

    threads = [threading.Thread(target=work, args=(i, idx)) for i, idx in enumerate(shares)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("cuts", [[4], [3, 5], [2, 2]])  # even, uneven, an empty share
@pytest.mark.parametrize("shape", [(8, 3, 3, 4), (8, 5)])
def test_shares_give_the_global_batch_statistics_and_gradients(cuts, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, shape)
    gy = rng.normal(size=shape)
    gamma, beta = rng.normal(size=shape[-1]), rng.normal(size=shape[-1])
    y, mean, var, gx, ggamma, gbeta = norm.naive_batch_norm(x, gamma, beta, 1e-3, gy)
    results = run_shares(x, gy, cuts, gamma, beta)
    total_ggamma = sum(r[5] * len(r[0]) for r in results) / len(x)  # weighed as fit does
    total_gbeta = sum(r[6] * len(r[0]) for r in results) / len(x)
    for idx, ys, means, vars_, gxs, _, _ in results:
        np.testing.assert_allclose(means, mean, rtol=1e-12)
        np.testing.assert_allclose(vars_, var, rtol=1e-12)
        if len(idx):
            np.testing.assert_allclose(ys, y[idx], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(gxs, gx[idx], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(total_ggamma, ggamma, rtol=1e-10)
    np.testing.assert_allclose(total_gbeta, gbeta, rtol=1e-10)


def test_one_share_is_plain_batch_norm_with_relu():
    rng = np.random.default_rng(1)
    x, gy = rng.normal(size=(6, 4, 4, 3)), rng.normal(size=(6, 4, 4, 3))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)

    def alone(a):
        return a

    y, mean, var, cache = norm.batch_norm_sync_forward(x.copy(), gamma, beta, 1e-3, True,
                                                       alone, 6)
    y0, mean0, var0, cache0 = norm.batch_norm_train_forward(x.copy(), gamma, beta, 1e-3, True)
    for a, b in ((y, y0), (mean, mean0), (var, var0)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(norm.batch_norm_sync_backward(gy, cache),
                    norm.batch_norm_train_backward(gy, cache0)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
