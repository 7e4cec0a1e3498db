"""NetVLAD layer: shapes, unit-length outputs, parameters, config and saving, agreement with
the paper's definition in PyTorch, and the k-means initialisation."""

import json

import numpy as np
import pytest
from helpers import compare_torch

import svertka
from svertka import layers
from svertka.cluster import squared_distances
from svertka.layers import LAYERS, Input, NetVLAD, deserialize, serialize

rng = np.random.default_rng(13)


def torch_layer(x, w, b, c, normalize_input=True):
    """The paper's NetVLAD, residuals written out (N, L, K, D), with the descriptor-wise input
    normalisation of Nanne/pytorch-NetVlad's ``normalize_input``."""
    import torch
    import torch.nn.functional as F

    n, d = x.shape[0], x.shape[-1]
    x = x.reshape(n, -1, d)
    if normalize_input:
        x = F.normalize(x, dim=-1)
    a = torch.softmax(x @ w + b, dim=-1)
    v = (a[..., None] * (x[:, :, None, :] - c)).sum(dim=1)
    return F.normalize(F.normalize(v, dim=-1).reshape(n, -1), dim=-1)


def sphere_clusters(k=4, per=50, d=8, spread=0.05, seed=0):
    """Descriptors around k random unit directions."""
    g = np.random.default_rng(seed)
    centres = g.standard_normal((k, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, per, axis=0) + spread * g.standard_normal((k * per, d))
    return x * g.uniform(0.5, 3.0, (k * per, 1))  # lengths vary: normalize_input removes them


@pytest.mark.parametrize("shape", [(2, 5, 4, 6), (3, 7, 6)])
def test_output_shape_unit_norm_and_parameters(shape):
    layer = NetVLAD(clusters=5)
    y = layer(rng.standard_normal(shape).astype(np.float32))
    assert y.shape == (shape[0], 5 * 6)
    np.testing.assert_allclose(np.linalg.norm(y.numpy(), axis=1), 1.0, rtol=1e-5)
    assert layer.count_params() == 2 * 5 * 6 + 5
    assert [w.shape for w in layer.weights] == [(6, 5), (5,), (5, 6)]
    assert layer.weight_names == ["kernel", "bias", "centroids"]
    assert layer.output_shape == (None, 30)


def test_symbolic_shape_and_the_papers_size():
    t = NetVLAD()(Input((None, None, 512)))  # VGG16's conv5 with 64 clusters: 32768
    assert t.shape == (None, 64 * 512)


@pytest.mark.parametrize("normalize_input", [True, False])
def test_matches_torch_forward_and_gradients(normalize_input):
    layer = NetVLAD(clusters=3, normalize_input=normalize_input)
    x = rng.standard_normal((2, 3, 3, 4))
    layer(x.astype(np.float32))

    def ours(x, w, b, c):  # the layer's call on float64 weights that record gradients
        layer.kernel, layer.bias, layer.centroids = w, b, c
        return layer.call(x)

    compare_torch(ours, lambda *t: torch_layer(*t, normalize_input=normalize_input), x,
                  *(rng.standard_normal(s) for s in [(4, 3), (3,), (3, 4)]), atol=1e-10)


def test_config_round_trip_and_registry():
    assert LAYERS["NetVLAD"] is NetVLAD
    layer = NetVLAD(clusters=4, normalize_input=False, centroids_initializer="he_normal",
                    name="vlad")
    x = rng.standard_normal((2, 3, 3, 5)).astype(np.float32)
    y = layer(x)
    saved = json.loads(json.dumps(serialize(layer)))
    assert saved["config"] == {
        "name": "vlad", "trainable": True, "clusters": 4, "normalize_input": False,
        "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
        "centroids_initializer": "he_normal"}
    rebuilt = deserialize(saved)
    assert rebuilt.get_config() == saved["config"]
    rebuilt = NetVLAD.from_config(layer.get_config())
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(rebuilt(x).numpy(), y.numpy(), rtol=1e-6)


def test_save_and_load_a_model_with_netvlad(tmp_path):
    inp = Input((6, 6, 3))
    feats = layers.Conv2D(8, 3, activation="relu")(inp)
    vlad = NetVLAD(clusters=4, name="vlad")
    model = svertka.Model(inp, vlad(feats))
    x = rng.standard_normal((3, 6, 6, 3)).astype(np.float32)
    vlad.init_from_descriptors(rng.standard_normal((100, 8)))
    model.save(tmp_path / "netvlad.svertka")
    loaded = svertka.load_model(tmp_path / "netvlad.svertka")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-7)
    assert loaded.count_params() == model.count_params()
    for a, b in zip(loaded.get_layer("vlad").get_weights(), vlad.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_gradients_reach_the_input_and_every_weight():
    layer = NetVLAD(clusters=3)
    x = svertka.Tensor(rng.standard_normal((2, 4, 4, 5)).astype(np.float32), requires_grad=True)
    y = layer(x)
    (y * svertka.Tensor(rng.standard_normal(y.shape).astype(np.float32))).sum().backward()
    for t in [x, *layer.weights]:
        assert t.grad is not None and t.grad.shape == t.shape and np.abs(t.grad).sum() > 0


def test_init_from_descriptors_gives_nearest_centroid_hard_assignments():
    x = sphere_clusters()
    layer = NetVLAD(clusters=4)
    alpha = layer.init_from_descriptors(x, seed=0)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)  # what the layer assigns
    c = layer.centroids.numpy().astype(np.float64)
    scores = xn @ layer.kernel.numpy() + layer.bias.numpy()  # (M, K): the 1x1 convolution
    nearest = squared_distances(xn, c).argmin(axis=1)
    np.testing.assert_array_equal(scores.argmax(axis=1), nearest)
    assert len(set(nearest.tolist())) == 4  # the four directions were found
    # the weights are the paper's: 2 alpha c and -alpha |c|^2
    np.testing.assert_allclose(layer.kernel.numpy(), 2 * alpha * c.T, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.numpy(), -alpha * (c * c).sum(axis=1), rtol=1e-6)
    # alpha's rule: on average the second-nearest centroid gets 1/100 of the nearest's weight
    top = np.sort(scores, axis=1)
    assert np.mean(top[:, -1] - top[:, -2]) == pytest.approx(np.log(100), rel=1e-4)


def test_init_from_descriptors_takes_alpha_and_feature_maps():
    layer = NetVLAD(clusters=3, normalize_input=False)
    maps = rng.standard_normal((4, 5, 5, 6))  # (N, H, W, D) feature maps are descriptors too
    assert layer.init_from_descriptors(maps, alpha=2.0) == 2.0
    c = layer.centroids.numpy()
    np.testing.assert_allclose(layer.kernel.numpy(), 4.0 * c.T, rtol=1e-6)
    assert layer(maps.astype(np.float32)).shape == (4, 18)


def test_init_from_descriptors_errors():
    layer = NetVLAD(clusters=8)
    with pytest.raises(ValueError, match="needs at least as many descriptors, received 5"):
        layer.init_from_descriptors(rng.standard_normal((5, 4)))
    layer(np.ones((1, 2, 2, 4), np.float32))
    with pytest.raises(ValueError, match="built for descriptors of size 4"):
        layer.init_from_descriptors(rng.standard_normal((50, 3)))
    with pytest.raises(ValueError, match="argument 'alpha' must be"):
        layer.init_from_descriptors(rng.standard_normal((50, 4)), alpha=-1.0)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="NetVLAD: argument 'clusters'"):
        NetVLAD(clusters=0)
    with pytest.raises(TypeError, match="NetVLAD: argument 'normalize_input'"):
        NetVLAD(normalize_input=1)
    with pytest.raises(ValueError, match=r"NetVLAD: expected local descriptors \(N, H, W, D\)"):
        NetVLAD(clusters=2)(np.ones((2, 3), np.float32))
