"""svertka.serve.views and cells: the numbers each view of the page shows.

The cell arithmetic is checked against the layer itself: the window, kernel and bias come
from the layer's real input and weights, and their sum plus bias through the activation
must give the layer's own output at that cell (at borders of 'same' padding, with strides,
dilation and a reflecting fill too); a max pool's chosen value must be its output.
"""

import numpy as np
import pytest

import svertka
from svertka.layers import AveragePooling2D, Conv2D, Dense, Flatten, MaxPooling2D
from svertka.serve import cells, views
from svertka.viz import receptive_field

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def net():
    """A small network with every kind of window the cells explain, random weights and
    biases (so that the bias matters), and one input."""
    svertka.utils.set_random_seed(3)
    model = svertka.Sequential([
        Conv2D(4, 3, padding="same", activation="relu", input_shape=(12, 11, 1), name="same"),
        Conv2D(10, 3, strides=2, padding="same", activation="tanh", name="strided"),
        Conv2D(6, 3, dilation_rate=2, padding="same", padding_mode="reflect", name="dilated"),
        MaxPooling2D(2, name="maxpool"),
        AveragePooling2D(2, strides=1, padding="same", name="avgpool"),
        Conv2D(3, 1, groups=3, name="grouped"),
        Flatten(name="flatten"),
        Dense(5, activation="softmax", name="out"),
    ])
    for w in model.weights:
        w.data = RNG.standard_normal(w.shape).astype(np.float32) * 0.5
    x = RNG.random((12, 11, 1)).astype(np.float32)
    return model, x


def layer_output(model, x, name):
    return svertka.viz.feature_maps(model, x, name).maps[name]


@pytest.mark.parametrize("layer", ["same", "strided", "dilated"])
def test_conv_cell_sum_plus_bias_through_activation_is_the_layers_output(net, layer):
    model, x = net
    y = layer_output(model, x, layer)
    oh, ow, oc = y.shape
    corners = [(0, 0), (0, ow - 1), (oh - 1, 0), (oh - 1, ow - 1), (oh // 2, ow // 2)]
    for c in range(oc):
        for row, col in corners:
            r = views.cell(model, x, layer, c, row, col)
            conv = r["conv"]
            products = np.array(conv["products"])
            window, kernel = np.array(conv["window"]), np.array(conv["kernel"])
            np.testing.assert_allclose(products, window * kernel, rtol=1e-12)
            if "per_channel" in conv:
                assert conv["sum"] == pytest.approx(sum(conv["per_channel"]), abs=1e-9)
            else:
                assert conv["sum"] == pytest.approx(products.sum(), abs=1e-9)
            assert conv["pre_activation"] == pytest.approx(conv["sum"] + conv["bias"])
            assert conv["output"] == pytest.approx(float(y[row, col, c]), abs=1e-5)
            assert r["value"] == pytest.approx(float(y[row, col, c]), abs=1e-7)
            bias = model.get_layer(layer).bias.numpy()[c]
            assert conv["bias"] == pytest.approx(float(bias))


def test_same_padding_border_cell_has_zeros_where_the_padding_is(net):
    model, x = net
    r = views.cell(model, x, "same", 1, 0, 0)
    window = np.array(r["conv"]["window"])[..., 0]  # (3, 3)
    assert (window[0, :] == 0).all() and (window[:, 0] == 0).all()
    np.testing.assert_allclose(window[1:, 1:], x[:2, :2, 0], rtol=1e-6)
    assert r["receptive_field"] == {"top": 0, "left": 0, "bottom": 2, "right": 2}


def test_strided_cell_reads_the_previous_layers_output_at_twice_the_position(net):
    model, x = net
    prev = layer_output(model, x, "same")  # the strided layer's input: 12x11x4
    r = views.cell(model, x, "strided", 0, 2, 3)
    # output (2, 3) at stride 2, 'same' padding 1 on top and left on a 12x11 input... of the
    # padding, Keras's rule puts the odd pixel at the bottom/right: top = left = 0 here
    pads = model.get_layer("strided").window()[3]
    top, left = pads[0][0], pads[1][0]
    expected = prev[4 - top:7 - top, 6 - left:9 - left, :]
    np.testing.assert_allclose(np.array(r["conv"]["window"]), expected, rtol=1e-6)
    assert r["conv"]["activation"] == "tanh"
    assert r["conv"]["output"] == pytest.approx(np.tanh(r["conv"]["pre_activation"]))


def test_more_than_eight_input_channels_lists_eight_and_every_channels_sum(net):
    model, x = net
    r = views.cell(model, x, "dilated", 2, 1, 1)["conv"]
    assert r["channels"] == 10 and r["channels_shown"] == 8
    assert np.array(r["window"]).shape == (3, 3, 8) == np.array(r["products"]).shape
    assert len(r["per_channel"]) == 10
    np.testing.assert_allclose(r["per_channel"][:8], np.array(r["products"]).sum(axis=(0, 1)))
    assert r["activation"] == "linear" and r["output"] == r["pre_activation"]


def test_max_pool_cell_chooses_the_largest_value_which_is_the_output(net):
    model, x = net
    y = layer_output(model, x, "maxpool")
    for c in range(y.shape[-1]):
        for row, col in [(0, 0), (2, 1), (y.shape[0] - 1, y.shape[1] - 1)]:
            r = views.cell(model, x, "maxpool", c, row, col)
            pool = r["pool"]
            window = np.array(pool["window"], dtype=float)
            i, j = pool["chosen"]
            assert pool["mode"] == "max"
            assert window[i, j] == window.max() == pool["output"]
            assert pool["output"] == pytest.approx(float(y[row, col, c]), abs=1e-6)


def test_average_pool_with_padding_leaves_the_padding_out(net):
    model, x = net
    y = layer_output(model, x, "avgpool")  # 2x2 windows, stride 1, 'same': padding at the end
    oh, ow, _ = y.shape
    r = views.cell(model, x, "avgpool", 1, oh - 1, ow - 1)["pool"]
    assert r["mode"] == "average" and r["chosen"] is None
    assert r["window"][0][1] is None and r["window"][1][0] is None and r["window"][1][1] is None
    assert r["output"] == pytest.approx(r["window"][0][0])
    assert r["output"] == pytest.approx(float(y[oh - 1, ow - 1, 1]), abs=1e-6)
    inner = views.cell(model, x, "avgpool", 1, 0, 0)["pool"]
    assert inner["output"] == pytest.approx(np.mean(inner["window"]), abs=1e-9)


def test_cells_of_the_shipped_model_agree_with_its_layers():
    from svertka.serve.state import load

    model, _, _ = load("lenet5:mnist")
    x = RNG.random((28, 28, 1)).astype(np.float32)
    for layer, pos in [("C1", (0, 0)), ("C1", (27, 13)), ("C3", (9, 0)), ("S2", (13, 13))]:
        y = layer_output(model, x, layer)
        r = views.cell(model, x, layer, 1, *pos)
        worked = r["conv"]["output"] if "conv" in r else r["pool"]["output"]
        assert worked == pytest.approx(float(y[pos[0], pos[1], 1]), abs=1e-5)


def test_a_cell_of_a_layer_without_its_working_gives_its_value_and_field(net):
    # a grouped convolution is not worked out here: its value and receptive field only
    model, x = net
    r = views.cell(model, x, "grouped", 1, 2, 1)
    (y,) = views.outputs(model, x, [views.node_named(model, "grouped", "t")])
    assert r["cell"] == "other" and "conv" not in r
    assert r["value"] == pytest.approx(float(y[2, 1, 1]))
    top, left, bottom, right = receptive_field(model, "grouped", (2, 1)).clipped
    assert r["receptive_field"] == {"top": top, "left": left, "bottom": bottom, "right": right}


def test_cell_refuses_bad_arguments_naming_them(net):
    model, x = net
    with pytest.raises(ValueError, match=r"argument 'layer' must name a layer .* received 'nope'"):
        views.cell(model, x, "nope", 0, 0, 0)
    with pytest.raises(ValueError, match=r"'layer' must be a layer whose output is an image "
                                         r".* 'out' \(Dense"):
        views.cell(model, x, "out", 0, 0, 0)
    with pytest.raises(ValueError, match=r"'channel' must be an int in \[0, 4\) .* received 4"):
        views.cell(model, x, "same", 4, 0, 0)
    with pytest.raises(ValueError, match=r"'y' must be an int in \[0, 12\) .* received -1"):
        views.cell(model, x, "same", 0, -1, 0)
    with pytest.raises(ValueError, match=r"'x' must be an int in \[0, 11\) .* received 11"):
        views.cell(model, x, "same", 0, 0, 11)


def test_cell_kinds():
    assert cells.kind(Conv2D(2, 3)) == "conv"
    assert cells.kind(Conv2D(2, 3, activation="softmax")) == "other"
    assert cells.kind(Conv2D(4, 3, groups=2)) == "other"
    assert cells.kind(MaxPooling2D()) == "pool" == cells.kind(AveragePooling2D())
    assert cells.kind(svertka.layers.SumPooling2D()) == "other"


def test_layer_rows_describe_each_layer(net):
    model, _ = net
    rows = {r["name"]: r for r in views.layer_rows(model)}
    assert list(rows) == [la.name for la in model.layers]
    assert sum(r["params"] for r in rows.values()) == model.count_params()
    assert rows["same"] == {"name": "same", "type": "Conv2D", "output_shape": [12, 11, 4],
                            "params": 40, "receptive_field": {"size": [3, 3], "jump": [1, 1]},
                            "spatial": True, "cell": "conv", "activation": "relu"}
    assert rows["strided"]["receptive_field"] == {"size": [5, 5], "jump": [2, 2]}
    assert rows["maxpool"]["cell"] == "pool" and rows["grouped"]["cell"] == "other"
    assert rows["out"]["receptive_field"] is None and rows["out"]["spatial"] is False
    assert rows["out"]["output_shape"] == [5]


def test_features_are_the_layers_output_rounded(net):
    model, x = net
    f = views.features(model, x, "strided")
    y = layer_output(model, x, "strided")
    assert f["shape"] == [6, 6, 10] and len(f["maps"]) == 10
    np.testing.assert_allclose(np.array(f["maps"]).transpose(1, 2, 0), y, atol=5.1e-5)
    assert f["min"] == pytest.approx(y.min()) and f["max"] == pytest.approx(y.max())
    d = views.features(model, x, "out")
    assert d["shape"] == [5] and "maps" not in d
    assert sum(d["values"]) == pytest.approx(1.0, abs=1e-3)


def test_predict_ranks_classes_by_probability(net):
    model, x = net
    labels = list("abcde")
    top = views.predict(model, x, labels, top=3)
    p = model.predict(x[None])[0]
    assert [t["index"] for t in top] == list(np.argsort(-p)[:3])
    assert [t["label"] for t in top] == [labels[t["index"]] for t in top]
    assert top[0]["probability"] == pytest.approx(float(p.max()))
    with pytest.raises(ValueError, match=r"argument 'top' must be an int in \[1, 6\)"):
        views.predict(model, x, labels, top=0)


def test_probabilities_of_scores_are_their_softmax():
    p = views.probabilities(np.array([1.0, -2.0, 3.0]))
    e = np.exp([1.0, -2.0, 3.0])
    np.testing.assert_allclose(p, e / e.sum())


def test_filters_give_one_picture_per_output_channel(net):
    import base64
    from io import BytesIO

    from PIL import Image

    model, _ = net
    f = views.filters(model, "strided")
    assert f["shape"] == [3, 3, 4, 10] and f["mode"] == "channels" and len(f["images"]) == 10
    png = Image.open(BytesIO(base64.b64decode(f["images"][0].split(",", 1)[1])))
    assert png.size == (4 * 48 + 3 * 2, 48)  # 4 input channels side by side, 2 px gaps
    with pytest.raises(ValueError, match="must be a convolution"):
        views.filters(model, "maxpool")


def test_attribution_heatmaps_and_gradients_left_clean(net):
    model, x = net
    labels = list("abcde")
    for method in ("gradcam", "saliency"):
        a = views.attribution(model, x, method, None, labels, (0.0, 1.0))
        heat = np.array(a["heatmap"])
        assert heat.shape == (12, 11) and heat.min() >= 0 and heat.max() == pytest.approx(1)
        assert a["class"] == int(model.predict(x[None]).argmax())
        assert a["overlay"].startswith("data:image/png;base64,")
        assert all(w.grad is None for w in model.weights)
    assert views.attribution(model, x, "saliency", 2, labels, (0.0, 1.0))["label"] == "c"
    with pytest.raises(ValueError, match=r"'method' must be one of \['gradcam', 'saliency'\]"):
        views.attribution(model, x, "lime", None, labels, (0.0, 1.0))
    with pytest.raises(ValueError, match=r"argument 'class' must be an int in \[0, 5\)"):
        views.attribution(model, x, "gradcam", 5, labels, (0.0, 1.0))


def test_heat_colours_run_from_blue_to_red():
    c = views.heat_colours(np.array([[0.0, 0.5, 1.0]]))[0]
    assert c[0].argmax() == 2 and c[2].argmax() == 0  # blue at 0, red at 1
    assert c[1][1] == 1.0  # green in the middle


def test_input_view_shows_the_network_input(net):
    _, x = net
    v = views.input_view(x, (0.0, 1.0))
    assert v["shape"] == [12, 11, 1]
    np.testing.assert_allclose(v["values"], x[..., 0], atol=5.1e-5)
