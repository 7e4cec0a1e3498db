"""``ops.batch_norm(..., relu=True)``: batch norm and the ReLU after it as one op."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels import norm

rng = np.random.default_rng(11)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_gradients_in_float64(training, affine):
    x = rng.standard_normal((3, 4, 4, 5))
    params = [rng.standard_normal(5), rng.standard_normal(5)] if affine else []
    mean, var = rng.standard_normal(5), rng.uniform(0.5, 2, 5)

    def fn(x, *p):
        gamma, beta = p if p else (None, None)
        return ops.batch_norm(x, gamma, beta, mean.copy(), var.copy(), training=training,
                              relu=True)

    check_grad(fn, x, *params)


def test_agrees_with_pytorch_in_training():
    torch = pytest.importorskip("torch")
    x, gamma, beta = rng.standard_normal((4, 3, 3, 6)), rng.standard_normal(6), \
        rng.standard_normal(6)

    def theirs(x, g, b):
        y = torch.nn.functional.batch_norm(nhwc_to_nchw(x), None, None, g, b, training=True,
                                           eps=1e-3)
        return y.relu().permute(0, 2, 3, 1)

    compare_torch(lambda x, g, b: ops.batch_norm(x, g, b, None, None, training=True,
                                                 relu=True), theirs, x, gamma, beta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_and_numpy_passes_agree_with_relu_of_batch_norm(monkeypatch, dtype):
    x = rng.standard_normal((6, 5, 5, 16)).astype(dtype)
    gamma, beta = rng.standard_normal(16).astype(dtype), rng.standard_normal(16).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    results = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(norm, "_compiled", lambda *a: False)
        y, _, _, cache = norm.batch_norm_train_forward(x, gamma, beta, 1e-3, relu=True)
        results.append((y, *norm.batch_norm_train_backward(gy, cache)))
    y_ref, _, _, gx_ref, gg_ref, gb_ref = norm.naive_batch_norm(
        x, gamma, beta, 1e-3, gy * (norm.naive_batch_norm(x, gamma, beta, 1e-3)[0] > 0))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for y, gx, gg, gb in results:
        np.testing.assert_allclose(y, np.maximum(y_ref, 0), rtol=tol, atol=tol)
        np.testing.assert_allclose(gx, gx_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(gg, gg_ref, rtol=tol, atol=tol * 10)
        np.testing.assert_allclose(gb, gb_ref, rtol=tol, atol=tol * 10)


def test_the_layer_fused_in_a_model_equals_the_layers_one_by_one():
    from svertka.layers import Activation, BatchNormalization, Conv2D, Input

    x = Input((6, 6, 3))
    model = svertka.Model(x, Activation("relu")(BatchNormalization()(Conv2D(8, 3)(x))))
    data = rng.standard_normal((4, 6, 6, 3)).astype(np.float32)
    fused = model(data, training=True).numpy()
    model.fuse_training = False
    plain = model(data, training=True).numpy()
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-6)
    assert fused.min() == 0.0
