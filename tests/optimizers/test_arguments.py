"""Every hyper-parameter of every optimiser and schedule is checked when it is set: the error
names the class and the argument, a wrong type is a TypeError, a value out of range (NaN and
infinity included) a ValueError, and NumPy scalars pass wherever Python ones do."""

import json

import numpy as np
import pytest

import svertka
from svertka.optimizers import SGD, Adam, AdamW, RMSprop
from svertka.optimizers.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
)

NAN, INF = float("nan"), float("inf")

BAD = {
    "learning_rate": [(NAN, ValueError), (INF, ValueError), (-0.1, ValueError),
                      (True, TypeError), ("fast", TypeError), (None, TypeError)],
    "unit_open": [(NAN, ValueError), (INF, ValueError), (-0.1, ValueError), (1.0, ValueError),
                  (True, TypeError), ("0.9", TypeError)],
    "positive": [(0.0, ValueError), (-1.0, ValueError), (NAN, ValueError), (INF, ValueError),
                 (True, TypeError), ("1e-7", TypeError)],
    "non_negative": [(-1e-3, ValueError), (NAN, ValueError), (INF, ValueError),
                     (False, TypeError), ("0", TypeError)],
    "flag": [(1, TypeError), ("yes", TypeError), (None, TypeError)],
}

CASES = [
    (SGD, "learning_rate", "learning_rate"), (SGD, "momentum", "unit_open"),
    (SGD, "weight_decay", "non_negative"), (SGD, "nesterov", "flag"),
    (SGD, "clipnorm", "positive"), (SGD, "clipvalue", "positive"),
    (Adam, "learning_rate", "learning_rate"), (Adam, "beta_1", "unit_open"),
    (Adam, "beta_2", "unit_open"), (Adam, "epsilon", "positive"),
    (Adam, "weight_decay", "non_negative"), (Adam, "amsgrad", "flag"),
    (AdamW, "learning_rate", "learning_rate"), (AdamW, "weight_decay", "non_negative"),
    (AdamW, "beta_2", "unit_open"), (AdamW, "epsilon", "positive"),
    (RMSprop, "learning_rate", "learning_rate"), (RMSprop, "rho", "unit_open"),
    (RMSprop, "momentum", "unit_open"), (RMSprop, "epsilon", "positive"),
    (RMSprop, "centered", "flag"), (RMSprop, "weight_decay", "non_negative"),
]


@pytest.mark.parametrize(
    "cls, arg, value, error",
    [pytest.param(cls, arg, value, error, id=f"{cls.__name__}-{arg}={value!r}")
     for cls, arg, kind in CASES for value, error in BAD[kind]],
)
def test_bad_hyperparameters_name_the_optimizer_and_the_argument(cls, arg, value, error):
    with pytest.raises(error) as info:
        cls(**{arg: value})
    assert str(info.value).startswith(f"{cls.__name__}: argument '{arg}' must be")


def test_the_issue_example_adam_with_an_infinite_rate():
    with pytest.raises(ValueError, match="Adam: argument 'learning_rate' must be a finite "
                                         "number >= 0.0, received inf"):
        Adam(learning_rate=INF)
    opt = Adam()
    with pytest.raises(ValueError, match="Adam: argument 'learning_rate'"):
        opt.learning_rate = NAN  # what a callback assigns is checked too
    assert opt.learning_rate == 0.001


def test_numpy_scalars_are_accepted_and_saved_as_python_numbers():
    opt = Adam(learning_rate=np.float32(0.01), beta_1=np.float64(0.8), epsilon=np.float32(1e-6),
               amsgrad=np.bool_(True), clipnorm=np.int64(1))
    config = opt.get_config()
    json.dumps(config)
    assert config["beta_1"] == 0.8 and config["amsgrad"] is True and config["clipnorm"] == 1.0
    assert SGD(np.int64(1), momentum=np.float16(0.5), nesterov=np.bool_(True)).nesterov is True


def test_a_schedule_that_returns_nan_stops_the_update_before_it_touches_a_weight():
    w = svertka.Tensor(np.ones(2))
    w.grad = np.ones(2)
    opt = SGD(learning_rate=lambda step: NAN if step >= 1 else 0.1)
    opt.apply_gradients([w])
    with pytest.raises(ValueError, match=r"SGD: argument 'learning_rate \(its schedule at step "
                                         r"1\)' must be a finite number >= 0.0, received nan"):
        opt.apply_gradients([w])
    np.testing.assert_allclose(w.data, 0.9)


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda v: ExponentialDecay(v, 10, 0.5), "initial_learning_rate"),
        (lambda v: ExponentialDecay(0.1, v, 0.5), "decay_steps"),
        (lambda v: InverseTimeDecay(0.1, 10, v), "decay_rate"),
        (lambda v: CosineDecay(0.1, 10, alpha=v), "alpha"),
        (lambda v: CosineDecay(0.1, 10, warmup_target=v), "warmup_target"),
        (lambda v: PiecewiseConstantDecay([10], [0.1, v]), "values[1]"),
    ],
)
@pytest.mark.parametrize("value", [NAN, INF, -1.0])
def test_schedules_reject_non_finite_and_negative_values(make, arg, value):
    with pytest.raises(ValueError, match=rf"argument '{arg.replace('[', '.').replace(']', '.')}'"
                                         rf" must be a finite number"):
        make(value)


def test_schedules_keep_numpy_ints_as_ints_in_their_config():
    s = ExponentialDecay(np.float32(0.5), np.int64(10), 0.5, staircase=np.bool_(True))
    config = s.get_config()
    assert type(config["decay_steps"]) is int and config["staircase"] is True
    json.dumps(config)
    with pytest.raises(TypeError, match="ExponentialDecay: argument 'staircase'"):
        ExponentialDecay(0.1, 10, 0.5, staircase="yes")
