"""Learning-rate schedules against their closed forms and torch.optim.lr_scheduler."""

import json
import math

import numpy as np
import pytest

from svertka.optimizers import schedules
from svertka.optimizers.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    OneCycle,
    PiecewiseConstantDecay,
)

torch = pytest.importorskip("torch")


def torch_rates(lr0, make_scheduler, n):
    """The learning rate torch uses at steps 0 .. n-1."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler = make_scheduler(opt)
    rates = []
    for _ in range(n):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return rates


def rates(schedule, n):
    return [schedule(t) for t in range(n)]


def test_exponential_decay_closed_form():
    s = ExponentialDecay(0.5, decay_steps=4, decay_rate=0.3)
    for t in [0, 1, 3, 4, 7, 13]:
        assert s(t) == pytest.approx(0.5 * 0.3 ** (t / 4), rel=1e-12)
    st = ExponentialDecay(0.5, decay_steps=4, decay_rate=0.3, staircase=True)
    assert rates(st, 9) == pytest.approx([0.5] * 4 + [0.15] * 4 + [0.045], rel=1e-12)


def test_exponential_decay_matches_exponential_lr_and_step_lr():
    assert rates(ExponentialDecay(0.1, 1, 0.9), 12) == pytest.approx(
        torch_rates(0.1, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), 12), rel=1e-9
    )
    assert rates(ExponentialDecay(0.1, 3, 0.5, staircase=True), 12) == pytest.approx(
        torch_rates(0.1, lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 12), rel=1e-9
    )


def test_piecewise_constant_boundaries_are_inclusive_as_keras():
    s = PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert rates(s, 8) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]
    assert s(2.5) == 0.5 and s(np.int64(5)) == 0.5 and isinstance(s(0), float)
    # torch's MultiStepLR switches one step later: milestone b + 1 is boundary b
    theirs = torch_rates(1.0, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 6], 0.5), 9)
    assert rates(PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.25]), 9) == pytest.approx(theirs)


def test_cosine_decay_closed_form_and_clamp():
    s = CosineDecay(0.2, decay_steps=10, alpha=0.05)
    for t in range(0, 25):
        c = min(t, 10) / 10
        assert s(t) == pytest.approx(
            0.2 * ((1 - 0.05) * 0.5 * (1 + math.cos(math.pi * c)) + 0.05), rel=1e-12
        )
    assert s(10) == s(100) == pytest.approx(0.01)
    # warmup_steps without warmup_target is ignored, as in Keras
    assert CosineDecay(0.2, 10, alpha=0.05, warmup_steps=5)(3) == s(3)


def test_cosine_decay_matches_cosine_annealing_lr_until_t_max():
    theirs = torch_rates(
        0.3, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.3 * 0.1), 9
    )
    assert rates(CosineDecay(0.3, 8, alpha=0.1), 9) == pytest.approx(theirs, rel=1e-9)


def test_cosine_decay_with_linear_warmup():
    s = CosineDecay(0.0, decay_steps=10, alpha=0.0, warmup_target=1.0, warmup_steps=4)
    assert rates(s, 5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert s(9) == pytest.approx(0.5)  # half-way through the decay
    assert s(14) == pytest.approx(0.0, abs=1e-12) and s(40) == s(14)
    peak = CosineDecay(0.1, 10, alpha=0.2, warmup_target=0.5, warmup_steps=2)
    assert peak(1) == pytest.approx(0.3) and peak(12) == pytest.approx(0.1)


def test_inverse_time_decay_closed_form():
    s = InverseTimeDecay(0.6, decay_steps=5, decay_rate=0.5)
    for t in [0, 1, 5, 9, 20]:
        assert s(t) == pytest.approx(0.6 / (1 + 0.5 * t / 5), rel=1e-12)
    st = InverseTimeDecay(0.6, decay_steps=5, decay_rate=0.5, staircase=True)
    assert rates(st, 11) == pytest.approx([0.6] * 5 + [0.4] * 5 + [0.3])
    lam = torch_rates(
        0.6, lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.5 * (t // 5))), 11
    )
    assert rates(st, 11) == pytest.approx(lam, rel=1e-9)


ALL = [
    ExponentialDecay(0.1, 7, 0.96, staircase=True),
    PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001]),
    CosineDecay(0.1, 50, alpha=0.1, warmup_target=0.2, warmup_steps=5, name="cos"),
    InverseTimeDecay(0.1, 3, 0.5),
    OneCycle(0.1, 250, pct_start=0.2, anneal="linear"),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_round_trip(schedule):
    data = json.loads(json.dumps(schedules.serialize(schedule)))
    assert data["class_name"] == type(schedule).__name__
    again = schedules.get(data)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert rates(again, 300) == rates(schedule, 300)
    assert schedules.get(schedule) is schedule
    assert type(schedule).from_config(schedule.get_config()).get_config() == data["config"]


def test_user_subclasses_are_found_by_class_name():
    class HalfEvery(LearningRateSchedule):
        def __init__(self, every):
            self.every = every

        def __call__(self, step):
            return 0.5 ** (step // self.every)

        def get_config(self):
            return {"every": self.every}

    again = schedules.get(schedules.serialize(HalfEvery(2)))
    assert rates(again, 5) == [1.0, 1.0, 0.5, 0.5, 0.25]


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: ExponentialDecay(0.1, 0, 0.5),
            "ExponentialDecay: argument 'decay_steps' must be a finite number > 0.0",
        ),
        (lambda: ExponentialDecay(-0.1, 1, 0.5), "'initial_learning_rate' must be a finite number"),
        (lambda: InverseTimeDecay(0.1, 1, -1.0), "InverseTimeDecay: argument 'decay_rate'"),
        (lambda: CosineDecay(0.1, -5), "CosineDecay: argument 'decay_steps' must be a finite "
                                       "number > 0.0"),
        (
            lambda: PiecewiseConstantDecay([1, 2], [0.1, 0.2]),
            "one more entry than 'boundaries' "
            r"\(3\), received 2",
        ),
        (lambda: PiecewiseConstantDecay([2, 2], [0.1, 0.2, 0.3]), "strictly increasing"),
        (lambda: schedules.get("cosine"), "argument 'identifier'.*received 'cosine'"),
        (
            lambda: schedules.get({"class_name": "Nope", "config": {}}),
            "unknown schedule class_name",
        ),
    ],
)
def test_arguments_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_base_class_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        LearningRateSchedule()(0)
    with pytest.raises(TypeError, match="must be a finite number"):
        ExponentialDecay("0.1", 1, 0.5)


@pytest.mark.parametrize(
    "total, pct_start, div, final_div, anneal",
    [(100, 0.3, 25.0, 1e4, "cos"), (37, 0.25, 10.0, 100.0, "linear"), (10, 0.5, 4.0, 2.0, "cos"),
     (7, 0.1, 25.0, 1e4, "cos"), (1, 0.3, 25.0, 1e4, "cos")],
)
def test_one_cycle_matches_torch_one_cycle_lr(total, pct_start, div, final_div, anneal):
    torch_lr = torch_rates(0.1, lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.4, total_steps=total, pct_start=pct_start, anneal_strategy=anneal,
        div_factor=div, final_div_factor=final_div, cycle_momentum=False), total)
    s = OneCycle(0.4, total, pct_start=pct_start, div_factor=div, final_div_factor=final_div,
                 anneal=anneal)
    assert rates(s, total) == pytest.approx(torch_lr, rel=1e-12, abs=1e-15)


def test_one_cycle_peaks_and_stays_at_the_final_rate():
    s = OneCycle(1.0, total_steps=100, div_factor=25, final_div_factor=1e4)
    values = rates(s, 100)
    assert values[0] == pytest.approx(1 / 25) and max(values) == pytest.approx(1.0, rel=1e-3)
    assert int(np.argmax(values)) == 29  # the peak at pct_start * total_steps - 1
    assert values[-1] == pytest.approx(1 / 25 / 1e4)
    assert s(100) == s(10_000) == pytest.approx(values[-1])  # torch raises past the end


@pytest.mark.parametrize(
    "kwargs, match",
    [({"max_rate": -1.0}, "OneCycle: argument 'max_rate'"),
     ({"total_steps": 0}, "OneCycle: argument 'total_steps'"),
     ({"pct_start": 1.5}, "OneCycle: argument 'pct_start'"),
     ({"div_factor": 0}, "OneCycle: argument 'div_factor'"),
     ({"anneal": "cosine"}, "OneCycle: argument 'anneal' must be 'cos' or 'linear', received "
                            "'cosine'")],
)
def test_one_cycle_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OneCycle(**{"max_rate": 0.1, "total_steps": 10, **kwargs})
