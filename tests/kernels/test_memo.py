"""Arrays derived from weights, kept while the weights hold (svertka.kernels.memo): computed
again after any change of the arrays' bytes, shape or identity, read-only, forgotten with
their arrays, bounded; and the Winograd transforms' use of it at inference."""

import gc

import numpy as np
import pytest

from svertka.kernels import jit, memo, winograd, winograd4

rng = np.random.default_rng(3)


class Counted:
    def __init__(self):
        self.calls = 0

    def __call__(self, a, b=None, scale=1.0):
        self.calls += 1
        return (a * scale if b is None else a * scale + b.sum(),)


@pytest.fixture(autouse=True)
def fresh():
    memo.clear()
    yield
    memo.clear()


@pytest.mark.parametrize("size", [3, 5000, 300_000])  # compared as bytes, and as arrays
def test_a_result_is_kept_until_a_byte_changes(size):
    fn, a = Counted(), rng.standard_normal(size).astype(np.float32)
    first = memo.derived(fn, (a,))[0]
    assert memo.derived(fn, (a,))[0] is first and fn.calls == 1
    a[size // 2] = np.nextafter(a[size // 2], np.float32(np.inf))  # one ulp, in place
    again = memo.derived(fn, (a,))[0]
    assert fn.calls == 2 and np.array_equal(again, a)
    a[0] = 0.0
    before = memo.derived(fn, (a,))[0]
    a[0] = -0.0  # equal as a number, not as bytes
    assert memo.derived(fn, (a,))[0] is not before


def test_another_array_shape_or_extra_argument_is_another_entry():
    fn, a = Counted(), np.arange(6.0)
    r = memo.derived(fn, (a, None), (2.0,))[0]
    assert np.array_equal(r, a * 2) and memo.derived(fn, (a, None), (2.0,))[0] is r
    assert np.array_equal(memo.derived(fn, (a, None), (3.0,))[0], a * 3)
    b = a.copy()  # the same values in another array
    assert memo.derived(fn, (b, None), (2.0,))[0] is not r
    a.shape = (2, 3)  # the same bytes, seen as another shape
    assert memo.derived(fn, (a, None), (2.0,))[0].shape == (2, 3)
    assert fn.calls == 4


def test_results_are_read_only_and_a_result_passed_on_is_not_compared():
    fn, a = Counted(), np.ones(4)
    r = memo.derived(fn, (a,))[0]
    with pytest.raises(ValueError, match="read-only"):
        r[0] = 5.0
    g = Counted()
    s = memo.derived(g, (r,))[0]
    assert memo.derived(g, (r,))[0] is s and g.calls == 1


def test_entries_go_with_their_arrays_and_the_limit_holds(monkeypatch):
    fn = Counted()
    a = np.ones(1000)
    memo.derived(fn, (a,))
    assert len(memo._entries) == 1 and memo._bytes > 0
    del a
    gc.collect()
    assert memo._entries == {} and memo._bytes == 0
    monkeypatch.setattr(memo, "LIMIT_BYTES", 20_000)
    kept = [np.ones(1000) for _ in range(3)]  # 8 kB each, copies and results: 16 kB
    for k in kept:
        memo.derived(fn, (k,))
    assert len(memo._entries) == 1 and memo._bytes <= 20_000
    before = fn.calls
    memo.derived(fn, (kept[2],))  # over the limit: computed, not kept
    assert fn.calls == before + 1


def test_no_keep_and_other_arrays_just_call():
    fn = Counted()
    for args, keep in (((np.ones(3),), False), ((np.ones(3, np.int64),), True),
                       ((np.ones(3, complex),), True)):
        memo.derived(fn, args, keep=keep)
    assert fn.calls == 3 and memo._entries == {}


@pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")
@pytest.mark.parametrize("module, c", [(winograd, 8), (winograd4, 16)])
def test_inference_keeps_the_filter_transform_and_training_does_not(module, c):
    x = rng.standard_normal((2, 8, 8, c)).astype(np.float32)
    w = rng.standard_normal((3, 3, c, c)).astype(np.float32)
    pads = ((1, 1), (1, 1))
    y, _ = module.forward(x, w, None, pads, for_backward=False)
    assert len(memo._entries) == 1
    y2, _ = module.forward(x, w, None, pads, for_backward=False)
    assert np.array_equal(y, y2)
    w[0, 0, 0, 0] += 1.0
    y3, _ = module.forward(x, w, None, pads, for_backward=False)
    fresh, _ = module.forward(x, w.copy(), None, pads, for_backward=False)
    assert np.array_equal(y3, fresh) and not np.array_equal(y3, y)
    memo.clear()
    module.forward(x, w, None, pads, for_backward=True)
    assert memo._entries == {}
    u = module.filter_transform(w)
    assert np.array_equal(module.forward(x, w, None, pads, for_backward=False, u=u)[0], y3)
