"""maximize climbs the activation; saliency and Grad-CAM match their definitions by hand and
find the region a trained model looks at."""

import numpy as np
import pytest

import svertka as keras
from svertka import layers, zoo
from svertka.viz import grad_cam, maximize, saliency


def edge_model():
    """One 3x3 vertical-edge filter (its weights sum to 0, so a flat image gives nothing)."""
    m = keras.Sequential([layers.Input((12, 12, 1)),
                          layers.Conv2D(2, 3, activation="relu", name="edge")])
    w = np.zeros((3, 3, 1, 2), np.float32)
    w[:, 0, 0, 1], w[:, 2, 0, 1] = -1, 1
    w[1, 1, 0, 0] = 1
    m.set_weights([w, np.zeros(2, np.float32)])
    return m


def test_maximize_raises_the_activation_tenfold_over_its_random_start():
    r = maximize(edge_model(), "edge", 1, steps=64)
    assert r.start_activation > 0
    assert r.activation >= 10 * r.start_activation
    assert r.image.shape == (12, 12, 1) and r.image.min() >= 0 and r.image.max() <= 1
    # the image is what the reported activation belongs to
    y = edge_model().get_layer("edge")(r.image[None]).numpy()
    assert y[..., 1].mean() == pytest.approx(r.activation, rel=1e-5)
    # and what it found is an edge: dark on the left of bright, columns differ
    assert np.ptp(r.image.mean(axis=(0, 2))) > 0.5


def test_maximize_one_neuron_draws_the_filter_inside_its_field():
    r = maximize(edge_model(), "edge", 1, steps=48, position="center")
    assert r.activation >= 10 * r.start_activation > 0
    y = edge_model().get_layer("edge")(r.image[None]).numpy()
    assert y[0, 5, 5, 1] == pytest.approx(r.activation, rel=1e-5)
    field = r.image[5:8, 5:8, 0]  # the input window of output (5, 5)
    assert field[:, 2].mean() - field[:, 0].mean() > 0.9  # dark left, bright right
    with pytest.raises(ValueError, match=r"viz.maximize.*'position'.*10x10.*\(10, 0\)"):
        maximize(edge_model(), "edge", 1, position=(10, 0))


def test_maximize_on_random_weights_and_in_the_pixel_units_of_a_rescaling_model():
    keras.random.seed(3)
    m = keras.Sequential([layers.Input((10, 10, 1)), layers.Rescaling(1 / 255),
                          layers.Conv2D(4, 3, activation="relu", name="c1"),
                          layers.Conv2D(4, 3, activation="relu", name="c2")])
    r = maximize(m, "c2", 2, steps=32)
    assert r.value_range == (0.0, 255.0)
    assert r.image.max() > 1 and r.image.max() <= 255
    assert r.activation > r.start_activation > 0
    assert len(r.history) == 32


def test_maximize_says_what_is_wrong():
    m = edge_model()
    with pytest.raises(ValueError, match=r"viz.maximize.*'channel'.*\[0, 2\).*received 5"):
        maximize(m, "edge", 5)
    with pytest.raises(ValueError, match="viz.maximize.*'steps'.*>= 1.*received 0"):
        maximize(m, "edge", 0, steps=0)
    with pytest.raises(ValueError, match="no such layer: 'nope'"):
        maximize(m, "nope", 0)


def linear_model():
    keras.random.seed(1)
    return keras.Sequential([layers.Input((6, 6, 1)),
                             layers.Conv2D(3, 3, name="conv"), layers.Flatten(),
                             layers.Dense(4, activation="softmax", name="out")])


def test_saliency_of_a_linear_model_is_its_weights():
    m = linear_model()
    x = np.random.default_rng(0).random((6, 6, 1)).astype(np.float32)
    r = saliency(m, x, class_index=2)
    # score = conv(x) @ W + b is linear in x: its gradient is the conv's transpose of W[:, 2]
    k = m.get_layer("conv").kernel.numpy()  # (3, 3, 1, 3)
    wd = m.get_layer("out").kernel.numpy()[:, 2].reshape(4, 4, 3)
    g = np.zeros((6, 6))
    for i in range(4):
        for j in range(4):
            g[i:i + 3, j:j + 3] += (k[:, :, 0, :] * wd[i, j]).sum(axis=-1)
    np.testing.assert_allclose(r.heatmap, np.abs(g) / np.abs(g).max(), rtol=1e-4, atol=1e-6)
    assert r.class_index == 2
    assert saliency(m, x).class_index == int(np.argmax(m.predict(x[None])[0]))


def test_grad_cam_by_hand_on_a_linear_model():
    m = linear_model()
    x = np.random.default_rng(4).random((6, 6, 1)).astype(np.float32)
    r = grad_cam(m, x, "conv", class_index=1)
    a = m.get_layer("conv")(x[None]).numpy()[0]  # (4, 4, 3)
    grads = m.get_layer("out").kernel.numpy()[:, 1].reshape(4, 4, 3)  # d logit / d a
    cam = np.maximum((a * grads.mean(axis=(0, 1))).sum(axis=-1), 0)
    np.testing.assert_allclose(r.cam, cam / cam.max(), rtol=1e-4, atol=1e-6)
    assert r.heatmap.shape == (6, 6) and r.heatmap.max() == pytest.approx(1.0)
    assert r.layer == "conv"
    with pytest.raises(ValueError, match="viz.grad_cam.*'layer'.*image.*'out'"):
        grad_cam(m, x, "out")
    with pytest.raises(ValueError, match=r"viz.grad_cam.*'class_index'.*\[0, 4\).*received 9"):
        grad_cam(m, x, class_index=9)


def blob_images(n, rng):
    """16x16 faint noise; class 1 has a bright 3x3 blob somewhere in the top-left quadrant,
    class 0 has none. Returns the images, the classes and the blobs' centres."""
    y = rng.integers(0, 2, n)
    x = 0.2 * rng.random((n, 16, 16, 1)).astype(np.float32)
    centres = rng.integers(1, 7, (n, 2))
    for i in np.flatnonzero(y):
        r, c = centres[i]
        x[i, r - 1:r + 2, c - 1:c + 2, 0] = 1.0
    return x, y, centres


def test_grad_cam_by_default_skips_a_one_pixel_layer_like_lenet5s_c5():
    m = zoo.lenet5((28, 28, 1))
    r = grad_cam(m, np.random.default_rng(0).random((28, 28, 1)))
    assert r.layer == "S4" and r.cam.shape == (5, 5)


def test_grad_cam_of_a_trained_model_peaks_where_the_class_is_decided():
    rng = np.random.default_rng(0)
    keras.random.seed(0)
    x, y, _ = blob_images(400, rng)
    m = keras.Sequential([layers.Input((16, 16, 1)),
                          layers.Conv2D(8, 3, padding="same", activation="relu"),
                          layers.MaxPooling2D(2),
                          layers.Conv2D(8, 3, padding="same", activation="relu", name="last"),
                          layers.GlobalAveragePooling2D(),
                          layers.Dense(2, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=3, batch_size=32, verbose=0)
    xt, yt, centres = blob_images(40, rng)
    assert (m.predict(xt).argmax(axis=1) == yt).mean() >= 0.95
    for img, centre in zip(xt[yt == 1][:8], centres[yt == 1]):
        r = grad_cam(m, img, class_index=1)
        peak = np.unravel_index(np.argmax(r.heatmap), r.heatmap.shape)
        assert np.abs(np.subtract(peak, centre)).max() <= 2, (peak, centre)
        # saliency is noisier (spread over the noise of the whole image): its peak is in the
        # quadrant
        sal = saliency(m, img, class_index=1).heatmap
        assert max(np.unravel_index(np.argmax(sal), sal.shape)) < 8


def test_plots_overlay_the_heat_map(tmp_path):
    pytest.importorskip("matplotlib")
    m = linear_model()
    r = grad_cam(m, np.ones((6, 6, 1)), class_index=0)
    fig = r.plot(tmp_path / "cam.png")
    np.testing.assert_allclose(fig.axes[1].images[1].get_array(), r.heatmap)
    assert (tmp_path / "cam.png").stat().st_size > 0
    fig = maximize(edge_model(), "edge", 1, steps=4).plot()
    assert len(fig.axes) == 2
