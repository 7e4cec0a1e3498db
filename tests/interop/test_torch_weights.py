"""PyTorch state dicts into svertka: torchvision's AlexNet, VGG-16, ResNet-18 and ResNet-50
(and timm's ResNet-18), saved as .safetensors and .pth, give torchvision's outputs once loaded
into the zoo's builders; a small user model through ``load_torch_state_dict`` matches torch;
every kind of bad state dict is refused, naming what is wrong, before a weight changes."""

import numpy as np
import pytest

from svertka import ModelFileError, applications, zoo
from svertka.interop import (
    default_mapping,
    imagenet_preprocess,
    load_torch_state_dict,
    read_state_file,
    torchvision_mapping,
)
from svertka.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    Input,
)
from svertka.models import Model

TOLERANCE = 1e-4


def relative_error(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def perturb_batch_norms(torch, model):
    """Random running statistics, scales and offsets: with the defaults (0, 1, 1, 0) a batch
    norm mapped to the wrong tensors would still pass."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.normal_(0.0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)


def torch_output(torch, model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()


def save_both(torch, state, folder, name):
    """The state dict as ``name.safetensors`` (NumPy API) and ``name.pth``."""
    from safetensors.numpy import save_file

    files = {"safetensors": folder / f"{name}.safetensors", "pth": folder / f"{name}.pth"}
    save_file({k: v.numpy() for k, v in state.items()}, str(files["safetensors"]))
    torch.save(state, files["pth"])
    return files


# -- torchvision's networks ----------------------------------------------------------------
# (architecture, file kind); each network is built once for both kinds. The whole grid takes
# about 55 s on two cores: VGG-16's and AlexNet's .pth forms (the same tensors by another
# reader) are left to the slow runs.
CASES = [
    ("resnet18", "safetensors"), ("resnet18", "pth"), ("resnet50", "safetensors"),
    ("resnet50", "pth"), ("vgg16", "safetensors"),
    pytest.param("vgg16", "pth", marks=pytest.mark.slow), ("alexnet", "safetensors"),
    pytest.param("alexnet", "pth", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def torchvision_files(tmp_path_factory, tv):
    """``files(arch)``: the files of a seeded, perturbed torchvision ``arch`` (both kinds), two
    random 224x224 images and torchvision's eval-mode logits on them; built once per module."""
    pytest.importorskip("safetensors")
    torch, torchvision = tv
    built = {}

    def files(arch):
        if arch not in built:
            torch.manual_seed(0)
            model = getattr(torchvision.models, arch)().eval()
            perturb_batch_norms(torch, model)
            x = np.random.default_rng(1).random((2, 224, 224, 3)).astype(np.float32)
            paths = save_both(torch, model.state_dict(), tmp_path_factory.mktemp(arch), arch)
            built[arch] = paths, x, torch_output(torch, model, imagenet_preprocess(x))
        return built[arch]
    return files


@pytest.mark.parametrize("arch, kind", CASES)
def test_zoo_network_gives_torchvisions_outputs(torchvision_files, arch, kind):
    files, x, expected = torchvision_files(arch)
    model = getattr(zoo, arch)(weights=files[kind], classifier_activation=None)
    y = model.predict(imagenet_preprocess(x))
    assert y.shape == expected.shape == (2, 1000)
    assert relative_error(y, expected) < TOLERANCE
    assert (y.argmax(1) == expected.argmax(1)).all()


def test_headless_resnet_skips_the_classifier(tmp_path, tv):
    torch, torchvision = tv
    torch.manual_seed(2)
    model = torchvision.models.resnet18().eval()
    perturb_batch_norms(torch, model)
    torch.save(model.state_dict(), tmp_path / "r18.pth")
    features = torch.nn.Sequential(*list(model.children())[:-2])  # up to layer4
    x = np.random.default_rng(3).normal(size=(2, 64, 64, 3)).astype(np.float32)
    ours = zoo.resnet18(input_shape=(64, 64, 3), include_top=False, weights=tmp_path / "r18.pth")
    expected = torch_output(torch, features, x).transpose(0, 2, 3, 1)
    assert relative_error(ours.predict(x), expected) < TOLERANCE


def test_vgg_with_batch_norm_maps_its_feature_indices(tmp_path, tv):
    torch, torchvision = tv
    torch.manual_seed(4)
    model = torchvision.models.vgg11_bn().eval()
    perturb_batch_norms(torch, model)
    torch.save(model.state_dict(), tmp_path / "vgg11_bn.pth")
    x = np.random.default_rng(5).normal(size=(1, 32, 32, 3)).astype(np.float32)
    ours = zoo.vgg11(input_shape=(32, 32, 3), include_top=False, batch_norm=True,
                     weights=tmp_path / "vgg11_bn.pth")
    expected = torch_output(torch, model.features, x).transpose(0, 2, 3, 1)
    assert relative_error(ours.predict(x), expected) < TOLERANCE


def test_keras_application_loads_a_torchvision_file(tmp_path, tv):
    torch, torchvision = tv
    torch.manual_seed(6)
    model = torchvision.models.resnet50().eval()
    perturb_batch_norms(torch, model)
    files = save_both(torch, model.state_dict(), tmp_path, "r50")
    x = np.random.default_rng(7).normal(size=(1, 64, 64, 3)).astype(np.float32)
    ours = applications.ResNet50(weights=str(files["safetensors"]), input_shape=(64, 64, 3),
                                 classifier_activation=None)
    assert relative_error(ours.predict(x), torch_output(torch, model, x)) < TOLERANCE


def test_timm_resnet_uses_torchvisions_names(tmp_path, tv):
    torch, _ = tv
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    torch.manual_seed(8)
    model = timm.create_model("resnet18").eval()
    perturb_batch_norms(torch, model)
    save_file(model.state_dict(), str(tmp_path / "timm_resnet18.safetensors"))
    x = np.random.default_rng(9).normal(size=(1, 96, 96, 3)).astype(np.float32)
    ours = zoo.resnet18(input_shape=(96, 96, 3), classifier_activation=None,
                        weights=tmp_path / "timm_resnet18.safetensors")
    assert relative_error(ours.predict(x), torch_output(torch, model, x)) < TOLERANCE


def test_classes_that_differ_from_the_file_are_named(tmp_path, tv):
    torch, torchvision = tv
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(ValueError, match=r"fc\.weight: shape \(1000, 512\), expected "
                                         r"\(10, 512\) for predictions/kernel"):
        zoo.resnet18(input_shape=(32, 32, 3), classes=10, weights=tmp_path / "r18.pth")


def test_torch_file_for_a_network_torchvision_lacks():
    with pytest.raises(ValueError, match="lenet5: argument 'weights' is a PyTorch state dict"):
        zoo.lenet5(weights="lenet.safetensors")


def test_mapping_of_the_zoo_against_torchvision_keys(tv):
    torch, torchvision = tv
    for arch, model in [("resnet101", zoo.resnet101(input_shape=(32, 32, 3))),
                        ("vgg19_bn", zoo.vgg19(batch_norm=True, input_shape=(32, 32, 3),
                                               include_top=False)),
                        ("vgg13", zoo.vgg13(input_shape=(32, 32, 3), include_top=False)),
                        ("alexnet", zoo.alexnet())]:
        with torch.device("meta"):  # the names only: no memory, no initialisation
            keys = getattr(torchvision.models, arch)().state_dict().keys()
        modules = {k.rsplit(".", 1)[0] for k in keys}
        mapping, ignore = torchvision_mapping(arch, model)
        assert set(mapping.values()) == {m for m in modules if not m.startswith(ignore or "!")}


# -- a user's model --------------------------------------------------------------------------
def small_pair(torch):
    """A torch net and the same net in svertka: Conv2d, BatchNorm, ReLU, flatten (of a 5x6
    map: not square, so rows and columns swapped would show), Linear."""
    torch.manual_seed(10)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 6, 3))
    perturb_batch_norms(torch, net)
    net.eval()
    x = Input((5, 6, 3))
    y = Conv2D(4, 3, padding=1, name="conv")(x)
    y = Activation("relu", name="relu")(BatchNormalization(epsilon=1e-5, name="bn")(y))
    y = Dense(3, name="fc")(Dropout(0.5, name="drop")(Flatten(name="flat")(y)))
    return net, Model(x, y)


def test_user_model_with_a_mapping_matches_torch():
    torch = pytest.importorskip("torch")
    net, model = small_pair(torch)
    result = load_torch_state_dict(model, net.state_dict(), {"conv": "0", "bn": "1", "fc": "4"})
    assert result.missing_keys == result.unexpected_keys == []
    assert len(result.loaded) == 8
    x = np.random.default_rng(11).normal(size=(2, 5, 6, 3)).astype(np.float32)
    assert relative_error(model.predict(x), torch_output(torch, net, x)) < 1e-5


def test_without_a_mapping_layers_pair_in_order():
    torch = pytest.importorskip("torch")
    net, model = small_pair(torch)
    assert default_mapping(model, net.state_dict()) == {"conv": "0", "bn": "1", "fc": "4"}
    load_torch_state_dict(model, net.state_dict())
    x = np.random.default_rng(12).normal(size=(1, 5, 6, 3)).astype(np.float32)
    assert relative_error(model.predict(x), torch_output(torch, net, x)) < 1e-5


def test_grouped_and_depthwise_convolutions():
    torch = pytest.importorskip("torch")
    torch.manual_seed(13)
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, groups=2),
                              torch.nn.Conv2d(6, 12, 3, groups=6, padding=1))
    x = Input((7, 7, 4))
    model = Model(x, DepthwiseConv2D(3, padding=1, depth_multiplier=2, name="dw")(
        Conv2D(6, 3, groups=2, name="grouped")(x)))
    load_torch_state_dict(model, net.state_dict())
    images = np.random.default_rng(14).normal(size=(2, 7, 7, 4)).astype(np.float32)
    expected = torch_output(torch, net, images).transpose(0, 2, 3, 1)
    assert relative_error(model.predict(images), expected) < 1e-5


def numpy_state(torch):
    net, model = small_pair(torch)
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}, model


MAPPING = {"conv": "0", "bn": "1", "fc": "4"}


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("1.running_var"), r"missing key 1\.running_var \(for bn/moving_variance, "
                                        r"expected shape \(4,\)\)"),
    (lambda s: s.update({"5.weight": np.ones((2, 2))}), r"unexpected key 5\.weight \(2, 2\)"),
    (lambda s: s.update({"4.weight": np.ones((3, 100))}),
     r"4\.weight: shape \(3, 100\), expected \(3, 120\) for fc/kernel \(120, 3\)"),
    (lambda s: s["0.weight"].__setitem__((0, 0, 0, 0), np.nan),
     r"0\.weight: 1 of its 108 values are NaN or infinite"),
    (lambda s: s.update({"0.bias": np.full(4, 1e300)}), r"0\.bias: 4 of its 4 values"),
])
def test_each_bad_tensor_is_named_and_nothing_changes(change, message):
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    before = model.get_weights()
    change(state)
    with pytest.raises(ValueError, match=message):
        load_torch_state_dict(model, state, MAPPING)
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))


def test_all_problems_in_one_error():
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    state.pop("0.bias")
    state["4.bias"] = np.ones(7)
    state["extra.weight"] = np.ones(1)
    with pytest.raises(ValueError, match=r"\(3 problems\)") as info:
        load_torch_state_dict(model, state, MAPPING)
    for name in ("missing key 0.bias", "4.bias: shape (7,)", "unexpected key extra.weight"):
        assert name in str(info.value)


def test_not_strict_loads_what_fits_and_reports_the_rest():
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    state.pop("1.running_var")
    state["head.weight"] = np.ones(2)
    result = load_torch_state_dict(model, state, {"conv": "0", "bn": "1"}, strict=False)
    assert result.missing_keys == ["1.running_var (for bn/moving_variance, expected shape (4,))"]
    assert result.unexpected_keys == ["4.weight (3, 120)", "4.bias (3,)", "head.weight (2,)"]
    assert "fc/kernel" not in result.loaded
    np.testing.assert_array_equal(model.get_layer("bn").moving_mean.numpy(),
                                  state["1.running_mean"].astype(np.float32))


def test_strict_mapping_must_cover_every_layer_and_name_real_ones():
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    with pytest.raises(ValueError, match=r"layer 'fc' \(Dense\) has no entry in the mapping"):
        load_torch_state_dict(model, state, {"conv": "0", "bn": "1"})
    with pytest.raises(ValueError, match=r"mapping names layer 'conv9'"):
        load_torch_state_dict(model, state, {**MAPPING, "conv9": "7"})
    with pytest.raises(ValueError, match=r"the model has 3 such layers"):
        load_torch_state_dict(model, {**state, "9.weight": np.ones(1)})


def test_one_weight_mapped_by_its_key():
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    state["head.w"] = state.pop("4.weight")
    load_torch_state_dict(model, state, {**MAPPING, "fc/kernel": "head.w"})
    assert model.get_layer("fc").kernel.shape == (120, 3)


def test_batch_norm_epsilon_other_than_torchs_warns():
    torch = pytest.importorskip("torch")
    state, _ = numpy_state(torch)
    x = Input((5, 6, 3))
    y = BatchNormalization(name="bn")(Conv2D(4, 3, padding=1, name="conv")(x))
    model = Model(x, Dense(3, name="fc")(Flatten()(y)))
    with pytest.warns(UserWarning, match="layer 'bn' has epsilon=0.001"):
        load_torch_state_dict(model, state, MAPPING)


def test_tensor_values_must_be_arrays():
    torch = pytest.importorskip("torch")
    state, model = numpy_state(torch)
    state["1.num_batches_tracked"] = 3
    with pytest.raises(TypeError, match=r"the value of '1\.num_batches_tracked' must be a "
                                        r"tensor or an array, received int"):
        load_torch_state_dict(model, state, MAPPING)


# -- files -----------------------------------------------------------------------------------
def test_pth_wrappers_and_data_parallel_prefix(tmp_path):
    torch = pytest.importorskip("torch")
    net, _ = small_pair(torch)
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}
    torch.save(wrapped, tmp_path / "checkpoint.pt")
    state = read_state_file(tmp_path / "checkpoint.pt")
    assert set(state) == set(net.state_dict())
    np.testing.assert_array_equal(state["0.weight"], net.state_dict()["0.weight"].numpy())


@pytest.mark.parametrize("name", ["weights.h5", "weights.npz", "weights"])
def test_unsupported_file_type(name):
    with pytest.raises(ValueError, match=f"read_state_file: argument 'path' must name a "
                                         f"\\.safetensors, .*received '{name}'"):
        read_state_file(name)


def test_missing_and_damaged_files(tmp_path):
    torch = pytest.importorskip("torch")
    x = Input((2,))
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        load_torch_state_dict(Model(x, Dense(1)(x)), str(tmp_path / "nothing.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(ModelFileError, match="junk.safetensors' is not a readable safetensors"):
        read_state_file(tmp_path / "junk.safetensors")
    torch.save(torch.nn.Linear(2, 1), tmp_path / "whole_model.pth")  # a pickled module
    with pytest.raises(ModelFileError, match="whole_model.pth' is not a loadable PyTorch"):
        read_state_file(tmp_path / "whole_model.pth")


# -- preprocessing ---------------------------------------------------------------------------
def test_preprocessing_matches_torchvisions_normalize(tv):
    torch, torchvision = tv
    from torchvision.transforms import Normalize

    x = np.random.default_rng(15).integers(0, 256, (2, 8, 8, 3)).astype(np.float32)
    normalize = Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    expected = normalize(torch.from_numpy(x.transpose(0, 3, 1, 2) / 255)).numpy()
    ours = applications.preprocess_input(x, mode="torch")
    np.testing.assert_allclose(ours, expected.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(imagenet_preprocess(x / 255), ours, rtol=1e-6)


def test_preprocess_modes_and_errors():
    x = np.array([[[[0.0, 127.5, 255.0]]]], np.float32)
    np.testing.assert_allclose(applications.preprocess_input(x, mode="tf"), [[[[-1, 0, 1]]]])
    np.testing.assert_allclose(applications.preprocess_input(x, mode="caffe"),
                               [[[[255 - 103.939, 127.5 - 116.779, -123.68]]]], rtol=1e-6)
    with pytest.raises(ValueError, match="argument 'mode' must be 'torch', 'tf' or 'caffe', "
                                         "received 'bgr'"):
        applications.preprocess_input(x, mode="bgr")
    with pytest.raises(ValueError, match=r"imagenet_preprocess: argument 'x' must be RGB .* "
                                         r"received shape \(2, 4\)"):
        imagenet_preprocess(np.zeros((2, 4)))
