"""confusion_matrix counts by hand, top_losses sorts the losses, receptive_field draws the
window computed by hand."""

import numpy as np
import pytest

import svertka as keras
from svertka import layers
from svertka.models.summary import receptive_fields
from svertka.viz import confusion_matrix, receptive_field, top_losses


def classifier(classes=3, softmax=True):
    keras.random.seed(5)
    return keras.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                             layers.Dense(classes, activation="softmax" if softmax else None)])


def test_confusion_matrix_equals_a_hand_count():
    m = classifier()
    rng = np.random.default_rng(0)
    x = rng.random((50, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    pred = m.predict(x).argmax(axis=1)
    c = confusion_matrix(m, x, y)
    for i in range(3):
        for j in range(3):
            assert c.matrix[i, j] == np.sum((y == i) & (pred == j))
    assert c.accuracy == pytest.approx(np.mean(pred == y))
    assert c.class_names == ["0", "1", "2"]
    # one-hot labels count the same
    np.testing.assert_array_equal(confusion_matrix(m, x, np.eye(3)[y]).matrix, c.matrix)
    worst = c.most_confused(1)
    off = c.matrix - np.diag(np.diag(c.matrix))
    assert worst[0][2] == off.max()


def test_confusion_matrix_says_what_is_wrong():
    m = classifier()
    x = np.zeros((4, 6, 6, 1), np.float32)
    with pytest.raises(ValueError, match="viz.confusion_matrix.*as many.*4 images and 3 labels"):
        confusion_matrix(m, x, [0, 1, 2])
    with pytest.raises(ValueError, match=r"viz.confusion_matrix.*'y'.*\[0, 3\).*to 7"):
        confusion_matrix(m, x, [0, 1, 2, 7])


@pytest.mark.parametrize("softmax", [True, False])
def test_top_losses_are_the_largest_cross_entropies_in_order(softmax):
    m = classifier(softmax=softmax)
    rng = np.random.default_rng(1)
    x = rng.random((30, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    out = m.predict(x).astype(np.float64)
    if not softmax:  # logits: the losses are those of their softmax
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    losses = -np.log(out[np.arange(30), y])
    t = top_losses(m, x, y, k=5)
    order = np.argsort(-losses)[:5]
    np.testing.assert_array_equal(t.indices, order)
    np.testing.assert_allclose(t.losses, losses[order], rtol=1e-4)
    np.testing.assert_allclose(t.probability, out[order, y[order]], rtol=1e-4)
    np.testing.assert_array_equal(t.actual, y[order])
    np.testing.assert_array_equal(t.predicted, out[order].argmax(axis=1))
    np.testing.assert_array_equal(t.images, x[order])
    with pytest.raises(ValueError, match="viz.top_losses.*'k'.*>= 1.*received 0"):
        top_losses(m, x, y, k=0)


def two_conv_model():
    return keras.Sequential([
        layers.Input((20, 20, 1)),
        layers.Conv2D(1, 3, strides=2, padding=1, name="a"),   # size 3, jump 2, starts at -1
        layers.Conv2D(1, 3, dilation_rate=2, name="b"),        # size 3 + 2*2*2 = 11, jump 2
        layers.Flatten(),
    ])


def test_receptive_field_of_two_convolutions_by_hand():
    m = two_conv_model()
    r = receptive_field(m, "a", (0, 3))
    assert (r.size, r.jump) == ((3, 3), (2, 2))
    assert r.box == (-1, 5, 2, 8) and r.clipped == (0, 5, 2, 8)
    # b at (2, 1): a's positions 2..6 and 1..5 (dilation 2 over 3 taps), so input rows
    # -1 + 2*2 = 3 to -1 + 2*6 + 3 = 14 and columns 1 to 12
    r = receptive_field(m, "b", (2, 1))
    assert r.size == (11, 11) and r.box == (3, 1, 14, 12)
    node = [n for n in m._nodes if n.layer.name == "b"][0]
    assert receptive_fields(m)[id(node)] == (r.size, r.jump)


@pytest.mark.parametrize("position", [(0, 0), (3, 5), (6, 6)])
def test_receptive_field_through_zero_padding_and_cropping_is_the_pixels_that_matter(position):
    # LeNet-5's first layers on a 28x28 digit: ZeroPadding2D(2), then a 5x5 convolution;
    # a Cropping2D after moves the field the other way. The field's clipped box must be
    # exactly the input pixels whose change changes that output
    keras.random.seed(3)
    m = keras.Sequential([layers.Input((12, 12, 1)), layers.ZeroPadding2D(((2, 1), (3, 0))),
                          layers.Conv2D(1, 5, name="c"), layers.Cropping2D(((1, 0), (2, 0)),
                                                                           name="crop")])
    x = np.random.default_rng(0).random((1, 12, 12, 1)).astype(np.float64)
    base = m.predict(x)[0, position[0], position[1], 0]
    matter = np.zeros((12, 12), bool)
    for i in range(12):
        for j in range(12):
            moved = x.copy()
            moved[0, i, j, 0] += 1.0
            matter[i, j] = m.predict(moved)[0, position[0], position[1], 0] != base
    top, left, bottom, right = receptive_field(m, "crop", position).clipped
    expected = np.zeros((12, 12), bool)
    expected[top:bottom, left:right] = True
    assert matter.any() and (matter == expected).all()


def test_receptive_field_says_what_is_wrong_and_draws_the_box(tmp_path):
    m = two_conv_model()
    with pytest.raises(ValueError, match=r"viz.receptive_field.*'position'.*6x6.*\(6, 0\)"):
        receptive_field(m, "b", (6, 0))
    with pytest.raises(ValueError, match="viz.receptive_field.*'layer'.*whole input"):
        receptive_field(m, -1)
    pytest.importorskip("matplotlib")
    r = receptive_field(m, "b", (2, 1), image=np.zeros((20, 20, 1)))
    fig = r.plot(tmp_path / "rf.png")
    box = fig.axes[0].patches[0]
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (0.5, 2.5, 11, 11)
    c = confusion_matrix(classifier(), np.zeros((3, 6, 6, 1)), [0, 1, 2])
    assert c.plot(tmp_path / "c.png").axes[0].images[0].get_array().sum() == 3


def test_top_losses_plot_titles_each_image(tmp_path):
    pytest.importorskip("matplotlib")
    m = classifier()
    x = np.random.default_rng(3).random((6, 6, 6, 1)).astype(np.float32)
    t = top_losses(m, x, [0, 1, 2, 0, 1, 2], k=3)
    fig = t.plot(tmp_path / "top.png")
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith(f"{t.predicted[0]}/{t.actual[0]} {t.losses[0]:.2f}")
