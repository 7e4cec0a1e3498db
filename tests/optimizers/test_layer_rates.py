"""Per-layer learning rates (LayerRates) against torch.optim parameter groups."""

import json

import numpy as np
import pytest

import svertka
from svertka.layers import Conv2D, Dense, Flatten
from svertka.optimizers import SGD, Adam, LayerRates, RMSprop
from svertka.optimizers.layer_rates import spread
from svertka.optimizers.schedules import OneCycle

torch = pytest.importorskip("torch")

LAYERS = ["conv", "d1", "d2"]


def tiny_net(seed=0):
    """A conv -> dense -> dense net on 6x6x2 images, with random (non-zero) biases."""
    rng = np.random.default_rng(seed)
    model = svertka.Sequential([
        Conv2D(3, 3, activation="relu", input_shape=(6, 6, 2), name="conv"),
        Flatten(name="flat"),
        Dense(5, activation="relu", name="d1"),
        Dense(2, name="d2"),
    ])
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.weights])
    return model


def data(seed=1, n=8):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 6, 6, 2)).astype(np.float32),
            rng.normal(size=(n, 2)).astype(np.float32))


class TorchNet(torch.nn.Module):
    """The same net in torch (NCHW inside, NHWC at the boundary), weights copied."""

    def __init__(self, model):
        super().__init__()
        kernel, bias, w1, b1, w2, b2 = (torch.tensor(a) for a in model.get_weights())
        self.conv = torch.nn.Conv2d(2, 3, 3)
        self.d1, self.d2 = torch.nn.Linear(w1.shape[0], 5), torch.nn.Linear(5, 2)
        with torch.no_grad():
            self.conv.weight.copy_(kernel.permute(3, 2, 0, 1))  # (KH,KW,Ci,Co) -> (Co,Ci,KH,KW)
            self.conv.bias.copy_(bias)
            self.d1.weight.copy_(w1.T)
            self.d1.bias.copy_(b1)
            self.d2.weight.copy_(w2.T)
            self.d2.bias.copy_(b2)

    def forward(self, x):
        y = torch.relu(self.conv(x.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)  # back to NHWC
        return self.d2(torch.relu(self.d1(y.reshape(len(x), -1))))

    def groups(self, rates):
        return [{"params": list(getattr(self, name).parameters()), "lr": rates[name]}
                for name in LAYERS]

    def svertka_weights(self):
        return [self.conv.weight.permute(2, 3, 1, 0), self.conv.bias, self.d1.weight.T,
                self.d1.bias, self.d2.weight.T, self.d2.bias]


def train_torch(net, opt, x, y, steps, scheduler=None):
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        torch.mean((net(xt) - yt) ** 2).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return [w.detach().numpy() for w in net.svertka_weights()]


OPTIMIZERS = {
    "sgd_momentum": (lambda lr: SGD(lr, momentum=0.9),
                     lambda groups: torch.optim.SGD(groups, lr=1.0, momentum=0.9)),
    "adam": (lambda lr: Adam(lr, epsilon=1e-8),
             lambda groups: torch.optim.Adam(groups, lr=1.0, eps=1e-8)),
    "rmsprop": (lambda lr: RMSprop(lr, rho=0.9, epsilon=1e-8),
                lambda groups: torch.optim.RMSprop(groups, lr=1.0, alpha=0.9, eps=1e-8)),
}


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("rates, expected", [
    (lambda: LayerRates(1e-3, 1e-1), {"conv": 1e-3, "d1": 1e-2, "d2": 1e-1}),
    (lambda: LayerRates(1e-3, 1e-1, groups=2), {"conv": 1e-3, "d1": 1e-3, "d2": 1e-1}),
    (lambda: LayerRates(1e-2, multipliers={"conv": 0.0, "d2": 3.0}),
     {"conv": 0.0, "d1": 1e-2, "d2": 3e-2}),
], ids=["spread", "groups", "multipliers"])
def test_per_layer_rates_match_torch_param_groups(kind, rates, expected):
    ours, theirs = OPTIMIZERS[kind]
    x, y = data()
    model = tiny_net()
    net = TorchNet(model)
    lr = rates()
    model.compile(ours(lr), loss="mse")
    assert lr.layer_rates() == pytest.approx(expected, rel=1e-12)
    model.fit(x, y, batch_size=len(x), epochs=4, shuffle=False, verbose=0)
    want = train_torch(net, theirs(net.groups(expected)), x, y, 4)
    for got, ref in zip(model.get_weights(), want):
        np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)
    if expected["conv"] == 0.0:  # a zero multiplier leaves the layer as it was
        np.testing.assert_array_equal(model.get_layer("conv").get_weights()[0],
                                      tiny_net().get_layer("conv").get_weights()[0])


@pytest.mark.parametrize("kind", ["sgd_momentum", "adam"])
def test_schedule_multiplies_every_layer_rate_as_one_cycle_per_group(kind):
    """fastai's fit_one_cycle(lr_max=slice(lo, hi)): torch's OneCycleLR with one max per
    group is LayerRates with OneCycle(1.0) as the schedule."""
    ours, theirs = OPTIMIZERS[kind]
    x, y = data()
    model = tiny_net()
    net = TorchNet(model)
    steps = 6
    model.compile(ours(LayerRates(1e-3, 1e-1, schedule=OneCycle(1.0, steps))), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0)
    peaks = dict(zip(LAYERS, spread(1e-3, 1e-1, 3)))
    opt = theirs(net.groups(peaks))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[peaks[n] for n in LAYERS], total_steps=steps, cycle_momentum=False)
    want = train_torch(net, opt, x, y, steps, scheduler)
    for got, ref in zip(model.get_weights(), want):
        np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)


def test_spread_is_geometric():
    rates = spread(1e-5, 1e-1, 5)
    assert rates == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1], rel=1e-12)
    assert np.allclose(np.diff(np.log(rates)), np.log(10))
    assert spread(1e-5, 1e-1, 1) == [1e-1]  # one group alone: the highest rate, as fastai


def test_groups_are_consecutive_and_as_even_as_can_be():
    model = svertka.Sequential([Dense(2, input_shape=(2,), name=f"l{i}") for i in range(1)]
                               + [Dense(2, name=f"l{i}") for i in range(1, 7)])
    lr = LayerRates(1e-4, 1e-1, groups=3)
    model.compile(SGD(lr), loss="mse")
    rates = lr.layer_rates()
    assert list(rates) == [f"l{i}" for i in range(7)]
    assert list(rates.values()) == pytest.approx([1e-4] * 3 + [10 ** -2.5] * 2 + [1e-1] * 2)


def test_weightless_and_frozen_layers():
    """Layers without weights take no rate; frozen ones keep theirs (rates follow the
    architecture), so freezing does not shift the others."""
    model = tiny_net()
    lr = LayerRates(1e-3, 1e-1)
    model.compile(SGD(lr), loss="mse")
    before = lr.layer_rates()
    model.freeze("conv")
    assert lr.layer_rates() == before and "flat" not in before


def test_current_learning_rate_is_the_highest_rate():
    model = tiny_net()
    opt = SGD(LayerRates(1e-3, 1e-1, schedule=OneCycle(1.0, 10, div_factor=10)))
    assert opt.current_learning_rate == pytest.approx(1e-2)  # unbound: high * schedule(0)
    model.compile(opt, loss="mse")
    assert opt.current_learning_rate == pytest.approx(1e-2)
    lr = LayerRates(1e-2, multipliers={"d1": 0.5})
    model.compile(Adam(lr), loss="mse")
    assert model.optimizer.current_learning_rate == pytest.approx(1e-2)


def test_a_layer_added_after_compile_gets_its_rate():
    model = svertka.Sequential([Dense(3, name="a"), Dense(2, name="b")])  # built by fit
    lr = LayerRates(1e-3, 1e-1)
    model.compile(SGD(lr), loss="mse")
    x, y = np.ones((4, 5), np.float32), np.zeros((4, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    assert lr.rate_of(model.get_layer("b").kernel) == pytest.approx(1e-1)
    assert lr.rate_of(model.get_layer("a").kernel, step=0) == pytest.approx(1e-3)


@pytest.mark.parametrize("make, error, match", [
    (lambda: LayerRates(1e-3), ValueError, "LayerRates: give 'high'"),
    (lambda: LayerRates(0.0, 1e-2), ValueError, "LayerRates: argument 'low' must be a finite "
                                                "number > 0.0, received 0.0"),
    (lambda: LayerRates(1e-3, 1e-2, multipliers={"a": 1.0}), ValueError,
     "'multipliers' replaces the spread"),
    (lambda: LayerRates(1e-3, multipliers=["a"]), TypeError, "argument 'multipliers' must be"),
    (lambda: LayerRates(1e-3, multipliers={"a": -1.0}), ValueError, r"multipliers\['a'\]"),
    (lambda: LayerRates(1e-3, 1e-2, groups=0), ValueError, "argument 'groups'"),
    (lambda: LayerRates(1e-3, 1e-2, schedule=0.5), TypeError, "argument 'schedule'"),
])
def test_arguments_are_validated(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_unknown_multiplier_name_fails_at_compile():
    model = tiny_net()
    with pytest.raises(ValueError, match=r"multipliers name no layer of model .*\['dd1'\]"):
        model.compile(SGD(LayerRates(1e-2, multipliers={"dd1": 0.1})), loss="mse")


def test_too_many_groups_is_an_error():
    model = tiny_net()
    model.compile(SGD(LayerRates(1e-3, 1e-2, groups=4)), loss="mse")
    with pytest.raises(ValueError, match="groups=4, but model .* has only 3 layers"):
        model.fit(*data(), verbose=0)


def test_unbound_layer_rates_cannot_update():
    w = svertka.Tensor(np.ones(2, np.float32), requires_grad=True)
    w.grad = np.ones(2, np.float32)
    with pytest.raises(ValueError, match="SGD.apply_gradients: the LayerRates learning rate is "
                                         "not bound to a model; pass the optimiser to "
                                         "model.compile"):
        SGD(LayerRates(1e-3, 1e-2)).apply_gradients([w])


@pytest.mark.parametrize("lr", [
    LayerRates(1e-3, 1e-1, groups=2, schedule=OneCycle(1.0, 20)),
    LayerRates(1e-2, multipliers={"conv": 0.1}),
], ids=["spread", "multipliers"])
def test_config_round_trip_and_saved_model_trains_on_identically(tmp_path, lr):
    opt = Adam(lr)
    config = json.loads(json.dumps(svertka.optimizers.serialize(opt)))
    again = svertka.optimizers.get(config)
    assert type(again.learning_rate) is LayerRates
    assert again.get_config() == opt.get_config()

    x, y = data()
    model = tiny_net()
    model.compile(opt, loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.svk")
    loaded = svertka.models.load_model(tmp_path / "m.svk")
    assert loaded.optimizer.learning_rate.layer_rates() == lr.layer_rates()
    for m in (model, loaded):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
