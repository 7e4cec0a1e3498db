import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import layers
from svertka.layers import IdentityShortcut, Input, TableConv2D


def test_identity_shortcut_shape_and_round_trip(tmp_path):
    inputs = Input((7, 7, 4))
    model = svertka.Model(inputs, IdentityShortcut(8, strides=2)(inputs))
    assert model.output_shape == (None, 4, 4, 8)
    x = np.random.default_rng(0).random((2, 7, 7, 4)).astype(np.float32)
    model.save(tmp_path / "m.svk")
    again = svertka.load_model(tmp_path / "m.svk")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="IdentityShortcut: argument 'filters' must be >= the 4"):
        IdentityShortcut(2)(Input((7, 7, 4)))


def test_table_conv_cuts_the_connections_and_keeps_them_cut():
    table = [[0], [1, 2]]
    layer = TableConv2D(3, table)
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 3))
    y = layer(svertka.Tensor(x))
    kernel = layer.kernel.numpy()
    assert np.all(kernel[:, :, 1:, 0] == 0) and np.all(kernel[:, :, 0, 1] == 0)
    assert layer.count_params() == 9 * 1 + 9 * 2 + 2
    # output map 0 depends only on input map 0
    x2 = x.copy()
    x2[..., 1:] += 1.0
    y2 = layer(svertka.Tensor(x2))
    np.testing.assert_allclose(y2.numpy()[..., 0], y.numpy()[..., 0], atol=1e-6)
    # no gradient reaches the cut weights
    layer.kernel.grad = None
    layer(svertka.Tensor(x)).sum().backward()
    assert np.all(layer.kernel.grad[:, :, 1:, 0] == 0)
    assert np.any(layer.kernel.grad[:, :, 0, 0] != 0)


def test_table_conv_gradient_in_float64():
    layer = TableConv2D(2, [[0, 1], [1]])
    layer(np.zeros((1, 4, 4, 2)))
    mask = layer.mask.astype(np.float64)
    from svertka import ops

    check_grad(lambda x, w: ops.conv2d(x, ops.mul(w, mask)),
               np.random.default_rng(2).standard_normal((1, 4, 4, 2)),
               np.random.default_rng(3).standard_normal((2, 2, 2, 2)))


def test_table_conv_config_and_errors():
    layer = TableConv2D(5, [[0, 2], [1]], activation="tanh", name="c3")
    layer(Input((8, 8, 3)))
    again = layers.deserialize(layers.serialize(layer))
    assert again.table == [[0, 2], [1]] and again.filters == 2
    with pytest.raises(ValueError, match="TableConv2D: argument 'table' row 0 names input maps"):
        TableConv2D(3, [[0, 5]])(Input((8, 8, 3)))
    with pytest.raises(ValueError, match="TableConv2D: argument 'table' must be"):
        TableConv2D(3, [])
