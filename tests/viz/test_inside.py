"""filters and feature_maps return the layer's own numbers: its kernel, its output."""

import numpy as np
import pytest

import svertka as keras
from svertka import layers
from svertka.viz import feature_maps, filters


def small_model(channels=3):
    keras.random.seed(0)
    return keras.Sequential([
        layers.Input((10, 10, channels)),
        layers.Conv2D(4, 3, activation="relu", name="c1"),
        layers.MaxPooling2D(2, name="p1"),
        layers.Conv2D(6, 3, padding="same", name="c2"),
        layers.Conv2D(80, 1, name="c3"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax", name="out"),
    ])


def test_first_layer_of_an_rgb_model_in_colour_holds_each_kernel_scaled():
    m = small_model()
    f = filters(m)
    w = m.get_layer("c1").kernel.numpy()
    assert f.mode == "rgb" and f.layer == "c1"
    assert f.images.shape == (4, 3, 3, 3)
    np.testing.assert_array_equal(f.kernel, w)
    for o in range(4):
        k = w[..., o]
        np.testing.assert_allclose(f.images[o], (k - k.min()) / (k.max() - k.min()), atol=1e-6)


def test_deeper_layer_per_input_channel_is_the_raw_kernel():
    m = small_model()
    f = filters(m, "c2")
    w = m.get_layer("c2").kernel.numpy()
    assert f.mode == "channels" and f.images.shape == (6, 4, 3, 3)
    np.testing.assert_allclose(f.images[5, 2], w[:, :, 2, 5], rtol=1e-6)


def test_many_filters_become_a_norm_summary():
    m = small_model()
    f = filters(m, 3)  # c3: 6 x 80 pictures, too many
    w = m.get_layer("c3").kernel.numpy()
    assert f.mode == "norm" and f.images.shape == (80, 1, 1)
    np.testing.assert_allclose(f.images[7, 0, 0], np.linalg.norm(w[0, 0, :, 7]), rtol=1e-5)


def test_grey_input_is_not_shown_in_colour_and_bad_arguments_say_why():
    m = small_model(channels=1)
    assert filters(m).mode == "channels"
    with pytest.raises(ValueError, match="viz.filters.*'mode'.*'rgb'"):
        filters(m, mode="rgb")
    with pytest.raises(ValueError, match="viz.filters.*'mode'.*received 'colour'"):
        filters(m, mode="colour")
    with pytest.raises(ValueError, match="viz.filters.*convolution.*'out'"):
        filters(m, "out")
    with pytest.raises(ValueError, match="viz.filters.*'layer'.*index.*received 99"):
        filters(m, 99)


def test_feature_map_equals_the_layer_output():
    m = small_model()
    x = np.random.default_rng(1).random((10, 10, 3)).astype(np.float32)
    fm = feature_maps(m, x)
    assert list(fm.maps) == ["c1", "p1", "c2", "c3"]
    c1 = m.get_layer("c1")
    by_hand = c1(x[None]).numpy()[0]
    np.testing.assert_allclose(fm.maps["c1"], by_hand, rtol=1e-5, atol=1e-6)
    pooled = by_hand.reshape(4, 2, 4, 2, 4).max(axis=(1, 3))
    np.testing.assert_allclose(fm.maps["p1"], pooled, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fm.image, x)


def test_feature_maps_of_chosen_layers_and_a_wrong_image():
    m = small_model()
    x = np.random.default_rng(2).random((1, 10, 10, 3))
    fm = feature_maps(m, x, layers="c2")
    assert list(fm.maps) == ["c2"] and fm.maps["c2"].shape == (4, 4, 6)
    with pytest.raises(ValueError, match=r"viz.feature_maps.*'image'.*\(10, 10, 3\).*\(9, 9\)"):
        feature_maps(m, np.zeros((9, 9)))


def test_plots_draw_the_arrays(tmp_path):
    pytest.importorskip("matplotlib")
    m = small_model()
    fig = filters(m).plot(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), filters(m).images[0])
    fm = feature_maps(m, np.zeros((10, 10, 3)), layers=["c1", "c2"])
    fig = fm.plot(tmp_path / "m.png", max_channels=4)
    assert len(fig.axes) == 2 * 5
    fig = filters(m, "c2").plot()
    assert len(fig.axes) == 6 * 4


def test_norm_summary_plot_draws_each_filter_norm():
    pytest.importorskip("matplotlib")
    f = filters(small_model(), "c3")
    fig = f.plot(max_filters=9)
    assert len(fig.axes) == 9
    np.testing.assert_allclose(fig.axes[4].images[0].get_array(), f.images[4])
