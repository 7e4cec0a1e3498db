"""Each builder's parameter count against the reference figure (torchvision's, or the
paper's), output shapes, and the options."""

import numpy as np
import pytest

import svertka
from svertka import applications, zoo


def trainable(model):
    return sum(int(w.size) for w in model.trainable_weights)


@pytest.mark.parametrize("builder, kwargs, expected", [
    (zoo.lenet5, {}, 61_706),
    (zoo.lenet5, {"c3_table": True}, 60_806),
    (zoo.alexnet, {}, 61_100_840),
    (zoo.alexnet, {"original": True}, 60_965_224),
    (zoo.vgg11, {}, 132_863_336),
    (zoo.vgg13, {}, 133_047_848),
    (zoo.vgg16, {}, 138_357_544),
    (zoo.vgg19, {}, 143_667_240),
    (zoo.vgg16, {"batch_norm": True}, 138_365_992),   # torchvision's vgg16_bn
    (zoo.resnet18, {}, 11_689_512),
    (zoo.resnet34, {}, 21_797_672),
    (zoo.resnet50, {}, 25_557_032),
    (zoo.resnet101, {}, 44_549_160),
    (zoo.resnet152, {}, 60_192_808),
    (zoo.resnet20, {}, 269_722),    # He et al. 2015 Table 6: 0.27M
    (zoo.resnet32, {}, 464_154),    # 0.46M
    (zoo.resnet44, {}, 658_586),    # 0.66M
    (zoo.resnet56, {}, 853_018),    # 0.85M
])
def test_parameter_counts(builder, kwargs, expected):
    model = builder(**kwargs)
    count = model.count_params() if builder is zoo.lenet5 else trainable(model)
    assert count == expected


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "vgg11", "resnet18", "alexnet"])
def test_builders_run_and_name_their_blocks(name):
    small = {"lenet5": (32, 32, 1), "resnet20": (32, 32, 3), "vgg11": (32, 32, 3),
             "resnet18": (64, 64, 3), "alexnet": (127, 127, 3)}[name]
    model = zoo.get(name, small, 7) if name != "alexnet" else zoo.alexnet(
        small, 7, include_top=False, pooling="avg")
    y = model.predict(np.random.default_rng(0).random((2, *small)).astype(np.float32))
    assert y.shape[0] == 2
    if name != "alexnet":
        assert y.shape == (2, 7)
        np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
    names = [layer.name for layer in model.layers]
    expected = {"lenet5": "C3", "resnet20": "conv4_block3_add", "vgg11": "block5_conv2",
                "resnet18": "conv5_block2_add", "alexnet": "conv5"}[name]
    assert expected in names


def test_lenet5_pads_mnist_to_the_papers_32x32():
    model = zoo.lenet5((28, 28, 1))
    assert model.layers[0].name == "pad_to_32"
    assert model.get_layer("C1").output_shape == (None, 28, 28, 6)
    assert model.count_params() == 61_706


def test_cifar_resnet_depths_and_shortcuts():
    model = zoo.resnet20()
    convs = [la for la in model.layers if type(la).__name__ == "Conv2D"]
    assert len(convs) + 1 == 20          # 19 convolutions and the dense layer
    shortcuts = [la for la in model.layers if type(la).__name__ == "IdentityShortcut"]
    assert len(shortcuts) == 2           # option A where the stages change the shape
    with pytest.raises(ValueError, match="resnet_cifar: argument 'depth' must be 6n \\+ 2"):
        zoo.resnet.resnet_cifar(21)


def test_headless_builders_pool_or_keep_the_maps():
    assert zoo.resnet50(include_top=False, input_shape=(64, 64, 3)).output_shape == \
        (None, 2, 2, 2048)
    assert zoo.resnet50(include_top=False, pooling="avg", input_shape=(64, 64, 3)) \
        .output_shape == (None, 2048)
    assert zoo.vgg16(include_top=False, pooling="max", input_shape=(32, 32, 3)) \
        .output_shape == (None, 512)
    with pytest.raises(ValueError, match="vgg: argument 'pooling'"):
        zoo.vgg16(include_top=False, pooling="median")


def test_get_names_the_choices():
    with pytest.raises(ValueError, match="zoo.get: argument 'name' must be one of"):
        zoo.get("resnet19")


def test_with_input_layer_shares_the_weights():
    from svertka.layers import Rescaling

    arch = zoo.resnet20()
    model = zoo.with_input_layer(arch, Rescaling(1 / 255))
    x = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), arch.predict(x / 255), rtol=1e-4, atol=1e-6)
    assert model.count_params() == arch.count_params()


def test_saved_zoo_models_load(tmp_path):
    model = zoo.resnet20()
    x = np.random.default_rng(2).random((2, 32, 32, 3)).astype(np.float32)
    model.save(tmp_path / "r.svk")
    np.testing.assert_array_equal(svertka.load_model(tmp_path / "r.svk").predict(x),
                                  model.predict(x))


def test_applications_take_keras_arguments():
    model = applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3),
                               pooling="avg")
    assert model.output_shape == (None, 512)
    logits = applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=5,
                                   classifier_activation=None)
    y = logits.predict(np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32))
    assert y.shape == (2, 5) and not np.allclose(y.sum(axis=1), 1)
    from svertka.layers import Input

    x = Input((48, 48, 3))
    assert applications.VGG19(include_top=False, input_tensor=x).inputs[0] is x
    with pytest.raises(ValueError, match="VGG16: svertka ships no ImageNet weights"):
        applications.VGG16(weights="imagenet")


def test_a_keras_program_reaches_the_applications_through_the_package():
    import svertka as keras

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(base.outputs[0])
    model = keras.Model(base.inputs[0], keras.layers.Dense(3, activation="softmax")(x))
    assert model.output_shape == (None, 3)


def test_netvlad_cuts_the_backbone_at_its_last_convolution():
    model = zoo.netvlad(base="vgg16", clusters=8, input_shape=(64, 64, 3))
    vlad = model.get_layer("netvlad")
    assert vlad.input_shape == (None, 4, 4, 512)      # conv5_3's map, before the last pooling
    assert model.output_shape == (None, 8 * 512)
    small = zoo.netvlad(base=zoo.vgg11(include_top=False, input_shape=(32, 32, 3)), clusters=4,
                        input_shape=(32, 32, 3), whitening=16)
    y = small.predict(np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32))
    assert y.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="netvlad: argument 'base' must be"):
        zoo.netvlad(base="resnet9000")


def test_pca_whitening_decorrelates_and_scales_to_unit_variance():
    from svertka.zoo.netvlad import pca_whitening

    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((6, 6))
    vectors = rng.standard_normal((2000, 6)) @ mixing + 3.0
    kernel, bias = pca_whitening(vectors, 4)
    projected = vectors @ kernel + bias
    np.testing.assert_allclose(projected.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.cov(projected.T), np.eye(4), atol=1e-3)
    with pytest.raises(ValueError, match="pca_whitening: argument 'vectors' must be"):
        pca_whitening(vectors[:3], 4)
