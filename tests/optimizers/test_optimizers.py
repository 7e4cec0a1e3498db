"""Optimisers against torch.optim step by step, plus clipping, schedules, config, state."""

import json
import tracemalloc

import numpy as np
import pytest

import svertka
from svertka import optimizers
from svertka.optimizers import SGD, Adam, AdamW, RMSprop, schedules

torch = pytest.importorskip("torch")

SHAPES = [(5,), (4, 3), (3, 3, 2, 4)]  # bias, dense kernel, conv kernel (KH, KW, C_in, C_out)
STEPS = 5
SCALES = [1.0, 0.1, 2.0, 0.05, 0.3]  # gradients shrink and grow, so amsgrad's max matters


def make_problem(dtype, seed=0):
    """Initial parameters and one gradient per parameter per step."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[(rng.standard_normal(s) * k).astype(dtype) for s in SHAPES] for k in SCALES]
    return params, grads


def run_ours(opt, params, grads):
    """Parameter values after every step."""
    ts = [svertka.Tensor(p.copy()) for p in params]
    history = []
    for step_grads in grads:
        for t, g in zip(ts, step_grads):
            t.grad = g.copy()
        opt.apply_gradients(ts)
        history.append([t.data.copy() for t in ts])
    return history


def run_torch(make_opt, params, grads, make_scheduler=None):
    ts = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = make_opt(ts)
    scheduler = make_scheduler(opt) if make_scheduler else None
    history = []
    for step_grads in grads:
        for t, g in zip(ts, step_grads):
            t.grad = torch.tensor(g.copy())
        opt.step()
        if scheduler:
            scheduler.step()
        history.append([t.detach().numpy().copy() for t in ts])
    return history


def assert_histories_close(ours, theirs, dtype):
    atol = 1e-6 if dtype == np.float32 else 1e-12
    for step, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for a, b in zip(a_step, b_step):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=f"step {step + 1}")


T = torch.optim
CASES = {
    "sgd": (lambda: SGD(0.1), lambda p: T.SGD(p, lr=0.1)),
    "sgd_momentum": (lambda: SGD(0.1, momentum=0.9), lambda p: T.SGD(p, lr=0.1, momentum=0.9)),
    "sgd_nesterov": (
        lambda: SGD(0.1, momentum=0.9, nesterov=True),
        lambda p: T.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    ),
    "sgd_weight_decay": (
        lambda: SGD(0.1, momentum=0.5, weight_decay=0.05),
        lambda p: T.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.05),
    ),
    "sgd_weight_decay_plain": (
        lambda: SGD(0.1, weight_decay=0.05),
        lambda p: T.SGD(p, lr=0.1, weight_decay=0.05),
    ),
    "adam": (lambda: Adam(0.01), lambda p: T.Adam(p, lr=0.01, eps=1e-7)),
    "adam_betas": (
        lambda: Adam(0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-4),
        lambda p: T.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-4),
    ),
    "adam_amsgrad": (
        lambda: Adam(0.01, amsgrad=True),
        lambda p: T.Adam(p, lr=0.01, eps=1e-7, amsgrad=True),
    ),
    "adam_weight_decay": (
        lambda: Adam(0.01, weight_decay=0.1),
        lambda p: T.Adam(p, lr=0.01, eps=1e-7, weight_decay=0.1),
    ),
    "adamw": (
        lambda: AdamW(0.01, weight_decay=0.1),
        lambda p: T.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1),
    ),
    "adamw_amsgrad": (
        lambda: AdamW(0.01, amsgrad=True),
        lambda p: T.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.004, amsgrad=True),
    ),
    "rmsprop": (lambda: RMSprop(0.01), lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7)),
    "rmsprop_momentum": (
        lambda: RMSprop(0.01, rho=0.8, momentum=0.9),
        lambda p: T.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7, momentum=0.9),
    ),
    "rmsprop_centered": (
        lambda: RMSprop(0.01, centered=True),
        lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, centered=True),
    ),
    "rmsprop_centered_momentum": (
        lambda: RMSprop(0.01, momentum=0.5, centered=True),
        lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5, centered=True),
    ),
    "rmsprop_weight_decay": (
        lambda: RMSprop(0.01, weight_decay=0.1),
        lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_step_matches_torch_optim(case, dtype):
    ours, theirs = CASES[case]
    params, grads = make_problem(dtype)
    assert_histories_close(run_ours(ours(), params, grads), run_torch(theirs, params, grads), dtype)


@pytest.mark.parametrize(
    "plain, variant",
    [
        ("adam", "adam_amsgrad"),
        ("sgd", "sgd_nesterov"),
        ("rmsprop", "rmsprop_centered"),
        ("adam", "adam_weight_decay"),
    ],
)
def test_options_change_the_steps(plain, variant):
    params, grads = make_problem(np.float64)
    a = run_ours(CASES[plain][0](), params, grads)[-1]
    b = run_ours(CASES[variant][0](), params, grads)[-1]
    assert max(np.abs(x - y).max() for x, y in zip(a, b)) > 1e-6


@pytest.mark.parametrize(
    "case",
    ["sgd_nesterov", "adam_amsgrad", "adamw", "rmsprop_centered_momentum", "sgd_weight_decay"],
)
def test_update_is_in_place_and_leaves_grad_alone(case):
    opt = CASES[case][0]()
    params, grads = make_problem(np.float32)
    ts = [svertka.Tensor(p) for p in params]
    arrays = [t.data for t in ts]
    for step_grads in grads:
        for t, g in zip(ts, step_grads):
            t.grad = g
        opt.apply_gradients(ts)
    assert all(t.data is a for t, a in zip(ts, arrays))
    assert all(t.grad is g for t, g in zip(ts, grads[-1]))
    np.testing.assert_array_equal(ts[0].grad, make_problem(np.float32)[1][-1][0])


@pytest.mark.parametrize(
    "case",
    ["sgd_nesterov", "adam_amsgrad", "adamw", "rmsprop_centered_momentum", "sgd_weight_decay"],
)
def test_a_step_allocates_no_parameter_sized_arrays(case):
    opt = CASES[case][0]()
    w = svertka.Tensor(np.ones(100_000, np.float32))  # 400 kB
    w.grad = np.full(100_000, 0.5, np.float32)
    opt.apply_gradients([w])  # the first step creates the state and scratch buffers
    tracemalloc.start()
    opt.apply_gradients([w])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000


def test_schedule_drives_the_learning_rate_like_torch_schedulers():
    params, grads = make_problem(np.float32)
    ours = SGD(schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.8), momentum=0.9)
    theirs = run_torch(
        lambda p: T.SGD(p, lr=0.1, momentum=0.9),
        params,
        grads,
        lambda o: T.lr_scheduler.ExponentialLR(o, gamma=0.8),
    )
    assert_histories_close(run_ours(ours, params, grads), theirs, np.float32)

    ours = Adam(schedules.CosineDecay(0.05, decay_steps=4, alpha=0.1))
    theirs = run_torch(
        lambda p: T.Adam(p, lr=0.05, eps=1e-7),
        params,
        grads,
        lambda o: T.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.005),
    )
    assert_histories_close(run_ours(ours, params, grads)[:4], theirs[:4], np.float32)


def test_current_learning_rate_follows_the_schedule_and_setting_replaces_it():
    schedule = schedules.PiecewiseConstantDecay([1], [0.5, 0.25])
    opt = SGD(schedule)
    w = svertka.Tensor(np.zeros(2))
    rates = []
    for _ in range(3):
        rates.append(opt.current_learning_rate)
        w.grad = np.ones(2)
        opt.apply_gradients([w])
    assert rates == [0.5, 0.5, 0.25]
    np.testing.assert_allclose(w.data, -1.25)
    assert opt.learning_rate is schedule

    opt.learning_rate = 0.125  # what ReduceLROnPlateau does
    assert opt.learning_rate == 0.125 and opt.current_learning_rate == 0.125
    w.grad = np.ones(2)
    opt.apply_gradients([w])
    np.testing.assert_allclose(w.data, -1.375)
    assert opt.get_config()["learning_rate"] == 0.125
    with pytest.raises(ValueError, match="SGD: argument 'learning_rate' must be a finite number"):
        opt.learning_rate = -0.1
    opt.learning_rate = lambda step: 1.0 / (step + 1)
    assert opt.current_learning_rate == 1.0 / (opt.iterations + 1) == 0.2
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.get_config()


def sgd_step(w0, g, **kwargs):
    w = svertka.Tensor(np.array(w0, np.float64))
    w.grad = np.array(g, np.float64)
    SGD(1.0, **kwargs).apply_gradients([w])
    return np.array(w0) - w.data  # the applied update


def test_clipnorm_rescales_each_tensor_to_the_norm():
    np.testing.assert_allclose(sgd_step([0.0, 0.0], [3.0, 4.0], clipnorm=1.0), [0.6, 0.8])
    np.testing.assert_allclose(sgd_step([0.0, 0.0], [0.3, 0.4], clipnorm=1.0), [0.3, 0.4])
    # per tensor, unlike a global norm: each is clipped by its own norm
    opt = SGD(1.0, clipnorm=2.0)
    a, b = svertka.Tensor(np.zeros(1)), svertka.Tensor(np.zeros(1))
    a.grad, b.grad = np.array([10.0]), np.array([1.0])
    opt.apply_gradients([a, b])
    assert (a.data[0], b.data[0]) == (-2.0, -1.0)


def test_clipvalue_clips_element_wise_and_keeps_the_grad():
    np.testing.assert_allclose(
        sgd_step([0.0] * 3, [3.0, -0.2, -7.0], clipvalue=0.5), [0.5, -0.2, -0.5]
    )
    w = svertka.Tensor(np.zeros(2, np.float32))
    w.grad = np.array([5.0, -5.0], np.float32)
    Adam(0.1, clipvalue=1.0).apply_gradients([w])
    assert w.grad.tolist() == [5.0, -5.0]
    with pytest.raises(ValueError, match="only one of 'clipnorm' and 'clipvalue'"):
        SGD(clipnorm=1.0, clipvalue=1.0)


def test_clipping_matches_torch_clip_grad_norm_then_adam():
    params, grads = make_problem(np.float32)
    ours = run_ours(Adam(0.01, clipnorm=0.5), params, grads)
    ts = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = T.Adam(ts, lr=0.01, eps=1e-7)
    for step_grads, expected in zip(grads, ours):
        for t, g in zip(ts, step_grads):
            t.grad = torch.tensor(g)
            torch.nn.utils.clip_grad_norm_([t], 0.5)  # one tensor at a time = per-tensor norm
        opt.step()
        for t, e in zip(ts, expected):
            np.testing.assert_allclose(e, t.detach().numpy(), atol=1e-6)


def test_params_without_grad_are_skipped():
    opt = Adam(0.1)
    a, b = svertka.Tensor(np.ones(3)), svertka.Tensor(np.ones(2))
    a.grad = np.ones(3)
    opt.apply_gradients([a, b])
    assert b.data.tolist() == [1.0, 1.0] and opt.iterations == 1
    state = opt.get_state([a, b])
    assert [len(s) for s in state["slots"]] == [2, 0]
    opt.zero_grad([a, b])
    assert a.grad is None


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip_through_json(case):
    opt = CASES[case][0]()
    opt.clipnorm = 3.0
    text = json.dumps(optimizers.serialize(opt))
    again = optimizers.get(json.loads(text))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    params, grads = make_problem(np.float64)
    np.testing.assert_array_equal(
        run_ours(opt, params, grads)[-1][2], run_ours(again, params, grads)[-1][2]
    )


def test_config_round_trip_with_a_schedule():
    opt = RMSprop(
        schedules.CosineDecay(0.1, 100, alpha=0.2, warmup_target=0.2, warmup_steps=5),
        momentum=0.5,
        name="rms",
    )
    config = json.loads(json.dumps(opt.get_config()))
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    again = RMSprop.from_config(config)
    assert isinstance(again.learning_rate, schedules.CosineDecay)
    assert again.get_config() == opt.get_config() and again.name == "rms"
    flat = optimizers.get({"class_name": "rmsprop", **config})
    assert flat.get_config() == opt.get_config()


def step_all(opt, ts, grads):
    for t, g in zip(ts, grads):
        t.grad = g.copy()
    opt.apply_gradients(ts)


@pytest.mark.parametrize(
    "case",
    [
        "sgd_nesterov",
        "adam_amsgrad",
        "adamw",
        "rmsprop_centered",
        "rmsprop_centered_momentum",
        "sgd",
    ],
)
def test_state_round_trip_continues_training_identically(case, tmp_path):
    make = CASES[case][0]
    params, grads = make_problem(np.float32)
    opt = make()
    ts = [svertka.Tensor(p.copy()) for p in params]
    for g in grads[:3]:
        step_all(opt, ts, g)
    state = opt.get_state(ts)
    assert state["iterations"] == 3
    assert all(len(s) == len(opt.slot_names) for s in state["slots"])

    # through an .npz file, arrays only, loaded without pickle
    arrays = {f"{i}_{j}": a for i, s in enumerate(state["slots"]) for j, a in enumerate(s)}
    np.savez(tmp_path / "state.npz", **arrays)
    with np.load(tmp_path / "state.npz", allow_pickle=False) as f:
        slots = [[f[f"{i}_{j}"] for j in range(len(s))] for i, s in enumerate(state["slots"])]

    restored = make()
    ts2 = [svertka.Tensor(t.data.copy()) for t in ts]
    restored.set_state(ts2, {"iterations": state["iterations"], "slots": slots})
    for g in grads[3:]:
        step_all(opt, ts, g)
        step_all(restored, ts2, g)
        for a, b in zip(ts, ts2):
            np.testing.assert_array_equal(a.data, b.data)
    assert restored.iterations == opt.iterations == 5


def test_exported_state_is_a_copy_and_set_state_validates():
    opt = SGD(0.1, momentum=0.9)
    w = svertka.Tensor(np.ones((2, 3), np.float32))
    w.grad = np.ones((2, 3), np.float32)
    opt.apply_gradients([w])
    state = opt.get_state([w])
    state["slots"][0][0][:] = 100.0
    assert opt.get_state([w])["slots"][0][0].max() == 1.0
    with pytest.raises(ValueError, match="one list per parameter"):
        opt.set_state([w, w], state)
    with pytest.raises(ValueError, match="needs 1 state arrays"):
        opt.set_state([w], {"iterations": 1, "slots": [[np.zeros((2, 3))] * 2]})
    with pytest.raises(ValueError, match=r"shape \(2, 3\), received \(3, 2\)"):
        opt.set_state([w], {"iterations": 1, "slots": [[np.zeros((3, 2))]]})
    opt.set_state([w], {"iterations": 7, "slots": [[np.full((2, 3), 2.0)]]})
    assert opt.iterations == 7 and opt.get_state([w])["slots"][0][0].dtype == np.float32


def test_get_names_instances_and_errors():
    for name, cls in [("sgd", SGD), ("Adam", Adam), ("ADAMW", AdamW), ("rmsprop", RMSprop)]:
        opt = optimizers.get(name)
        assert type(opt) is cls
    assert optimizers.get("adam").epsilon == 1e-7 and optimizers.get("sgd").learning_rate == 0.01
    assert optimizers.get("adamw").weight_decay == 0.004
    opt = SGD()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match=r"argument 'identifier'.*'adam'.*received 'adagrad'"):
        optimizers.get("adagrad")
    with pytest.raises(ValueError, match="received 3"):
        optimizers.get(3)
    with pytest.raises(ValueError, match="unknown optimizer class_name 'Nadam'"):
        optimizers.get({"class_name": "Nadam", "config": {}})


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: SGD(-0.1),
            ValueError,
            "SGD: argument 'learning_rate' must be a finite number >= 0.0, received -0.1",
        ),
        (
            lambda: SGD(momentum=1.0),
            ValueError,
            r"SGD: argument 'momentum' must be a finite number >= 0.0 and < 1.0, "
            r"received 1.0",
        ),
        (lambda: SGD(momentum=-0.5), ValueError, "'momentum'"),
        (lambda: SGD(weight_decay=-1), ValueError, "'weight_decay' must be a finite number >= 0.0"),
        (lambda: Adam(beta_1=1.0), ValueError, "Adam: argument 'beta_1' must be a finite number "
                                               ">= 0.0 and < 1.0"),
        (lambda: Adam(beta_2=-0.1), ValueError, "Adam: argument 'beta_2'"),
        (
            lambda: Adam(epsilon=0.0),
            ValueError,
            "Adam: argument 'epsilon' must be a finite number > 0.0, received 0.0",
        ),
        (lambda: AdamW(weight_decay=-0.1), ValueError, "AdamW: argument 'weight_decay'"),
        (lambda: AdamW(beta_2=1.5), ValueError, "AdamW: argument 'beta_2'"),
        (lambda: RMSprop(rho=1.0), ValueError, "RMSprop: argument 'rho'"),
        (lambda: RMSprop(momentum=2), ValueError, "RMSprop: argument 'momentum'"),
        (lambda: RMSprop(epsilon=-1e-7), ValueError, "RMSprop: argument 'epsilon' must be a "
                                                     "finite number > 0.0"),
        (lambda: SGD(clipnorm=0.0), ValueError, "'clipnorm' must be a finite number > 0.0"),
        (lambda: SGD("fast"), TypeError, "SGD: argument 'learning_rate' must be a finite number"),
        (lambda: Adam(beta_1=float("nan")), ValueError, "beta_1"),
    ],
)
def test_hyperparameters_are_validated(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_apply_gradients_rejects_wrong_inputs():
    w = svertka.Tensor(np.zeros(3))
    w.grad = np.zeros(4)
    with pytest.raises(ValueError, match=r"shape \(4,\) for a parameter of shape \(3,\)"):
        SGD().apply_gradients([w])
    with pytest.raises(TypeError, match="must hold svertka Tensors, received ndarray"):
        SGD().apply_gradients([np.zeros(3)])


def test_state_is_per_parameter_object():
    # Two tensors with equal values keep separate moments; a new tensor gets fresh state.
    opt = Adam(0.1)
    a, b = svertka.Tensor(np.zeros(2)), svertka.Tensor(np.zeros(2))
    a.grad, b.grad = np.ones(2), -np.ones(2)
    opt.apply_gradients([a, b])
    m_a, m_b = (s[0] for s in opt.get_state([a, b])["slots"])
    np.testing.assert_allclose(m_a, 0.1)
    np.testing.assert_allclose(m_b, -0.1)
    assert opt.get_state([svertka.Tensor(np.zeros(2))])["slots"] == [[]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_adam_gives_the_numpy_numbers(dtype, monkeypatch):
    from svertka.kernels import jit

    if not jit.enabled():
        pytest.skip("Numba is not installed")
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((50, 3)).astype(dtype)
    grads = [rng.standard_normal(w0.shape).astype(dtype) for _ in range(4)]
    results = []
    for flag in ("1", "0"):
        monkeypatch.setenv("SVERTKA_JIT", flag)
        w = svertka.Tensor(w0.copy())
        opt = optimizers.Adam(learning_rate=0.01)
        for g in grads:
            w.grad = g
            opt.apply_gradients([w])
        results.append(w.data)
    assert results[0].dtype == dtype
    np.testing.assert_allclose(results[0], results[1], rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_runs_the_maths_of_its_definition(dtype, amsgrad):
    """optim_jit.adam (the definition, new arrays) gives the optimiser's numbers exactly on
    the NumPy path, and to rounding on the compiled one."""
    from svertka.kernels import optim_jit

    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((40, 5)).astype(dtype)
    grads = [rng.standard_normal(w0.shape).astype(dtype) for _ in range(3)]
    w, m, v = w0, np.zeros_like(w0), np.zeros_like(w0)
    v_max = np.zeros_like(w0) if amsgrad else None
    for t, g in enumerate(grads, start=1):
        w, m, v, v_max = optim_jit.adam(w, g, m, v, 0.9, 0.999, 1e-7, 0.01, t, v_max)
    assert w.dtype == dtype
    tensor = svertka.Tensor(w0.copy())
    opt = optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad)
    for g in grads:
        tensor.grad = g
        opt.apply_gradients([tensor])
    compiled = optim_jit.plan(w0, w0, w0, w0, amsgrad) == "compiled"
    np.testing.assert_allclose(tensor.data, w, rtol=4 * np.finfo(dtype).eps if compiled else 0,
                               atol=0)
