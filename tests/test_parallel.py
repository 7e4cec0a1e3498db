"""Slices of the batch over threads: order, coverage, nesting, errors, BLAS's threads, where
the threads run, and a forked child."""

import multiprocessing
import os
import threading

import numpy as np
import pytest

from svertka import parallel


def test_slices_cover_the_range_in_order_and_nearly_equal():
    for n in range(0, 40):
        for parts in (1, 2, 3, 7):
            s = parallel.slices(n, parts)
            assert s[0].start == 0 and s[-1].stop == n
            assert all(a.stop == b.start for a, b in zip(s, s[1:]))
            sizes = [x.stop - x.start for x in s]
            assert len(s) == max(1, min(parts, n))
            assert max(sizes) - min(sizes) <= 1


def test_slices_keep_a_minimum_size():
    assert parallel.slices(10, 4, min_size=4) == [slice(0, 5), slice(5, 10)]
    assert parallel.slices(3, 8, min_size=16) == [slice(0, 3)]


def test_threads_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "3")
    assert parallel.threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("SVERTKA_THREADS", bad)
        with pytest.raises(
            ValueError, match=f"SVERTKA_THREADS must be a positive integer, received '{bad}'"
        ):
            parallel.threads()


def test_over_batch_runs_slices_on_several_threads_and_keeps_their_order(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "3")
    barrier = threading.Barrier(3, timeout=10)  # passes only if 3 slices run at once

    def fn(s):
        barrier.wait()
        return s.start, threading.get_ident()

    out = parallel.over_batch(fn, 9)
    assert [start for start, _ in out] == [0, 3, 6]
    assert len({tid for _, tid in out}) == 3


def test_in_parallel_takes_any_items_and_keeps_their_order(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "2")
    barrier = threading.Barrier(2, timeout=10)

    def fn(item):
        barrier.wait()  # both items run at once
        return item[0] * item[1]

    assert parallel.in_parallel(fn, [(2, 3), (4, 5)]) == [6, 20]


def test_one_thread_or_another_array_module_runs_in_the_caller(monkeypatch):
    me = threading.get_ident()
    monkeypatch.setenv("SVERTKA_THREADS", "1")
    assert parallel.over_batch(lambda s: threading.get_ident(), 8) == [me]
    monkeypatch.setenv("SVERTKA_THREADS", "2")
    assert parallel.over_batch(lambda s: threading.get_ident(), 8, xp=object()) == [me, me]


def test_a_call_from_inside_a_slice_runs_serially(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "2")

    def outer(s):
        here = threading.get_ident()
        inner = parallel.over_batch(lambda t: threading.get_ident(), 4)
        return all(tid == here for tid in inner)

    assert parallel.over_batch(outer, 4) == [True, True]


def test_an_error_in_a_slice_is_raised_after_every_slice_ended(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "2")
    done = []

    def fn(s):
        if s.start == 0:
            raise RuntimeError("slice 0 failed")
        threading.Event().wait(0.05)
        done.append(s.start)

    with pytest.raises(RuntimeError, match="slice 0 failed"):
        parallel.over_batch(fn, 4)
    assert done == [2]


def test_an_error_in_a_workers_slice_reaches_the_caller_and_the_workers_go_on(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "2")

    def fn(s):
        if s.start == 2:
            raise ValueError("slice 2 failed")
        return s.start

    with pytest.raises(ValueError, match="slice 2 failed"):
        parallel.over_batch(fn, 4)
    assert parallel.over_batch(lambda s: s.start, 4) == [0, 2]


def test_calls_from_several_program_threads_at_once_all_get_their_results(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "2")
    errors, start = [], threading.Barrier(4, timeout=10)

    def caller(k):
        start.wait()
        try:
            for i in range(200):  # the workers are busy for another caller now and then
                data = np.arange(10) * k + i
                parts = parallel.over_batch(lambda s, d=data: d[s].sum(), 10)
                assert sum(parts) == data.sum()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)


@pytest.fixture
def blas_at_two():
    """NumPy's BLAS controllers set to 2 threads, put back as they were afterwards."""
    pytest.importorskip("threadpoolctl")
    blas = parallel.blas_controllers()
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can see")
    saved = [c.get_num_threads() for c in blas]
    for c in blas:
        c.set_num_threads(2)
    yield blas
    for c, count in zip(blas, saved):
        c.set_num_threads(count)


@pytest.mark.parametrize("count", ["1", "2"])
def test_region_makes_numpys_blas_single_threaded_and_restores_it(monkeypatch, count,
                                                                   blas_at_two):
    monkeypatch.setenv("SVERTKA_THREADS", count)  # 1 too: one thread, not BLAS's besides
    blas = blas_at_two
    with parallel.region():
        with parallel.region():  # nested: still limited, nothing restored yet
            assert [c.get_num_threads() for c in blas] == [1] * len(blas)
        assert [c.get_num_threads() for c in blas] == [1] * len(blas)
    assert [c.get_num_threads() for c in blas] == [2] * len(blas)


needs_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux's CPU affinity and two CPUs")


@needs_cpus
def test_with_a_thread_per_cpu_each_keeps_to_its_own_and_the_caller_gets_its_mask_back(
        monkeypatch):
    allowed = os.sched_getaffinity(0)
    monkeypatch.setenv("SVERTKA_THREADS", str(len(allowed)))
    monkeypatch.setattr(parallel, "_placement", None)
    monkeypatch.setattr(parallel, "_workers", [])  # fresh workers, placed by this call
    barrier = threading.Barrier(len(allowed), timeout=10)

    def fn(item):
        barrier.wait()
        return os.sched_getaffinity(0)

    for _ in range(2):
        assert parallel.in_parallel(fn, list(allowed)) == [{c} for c in sorted(allowed)]
        assert os.sched_getaffinity(0) == allowed


@needs_cpus
@pytest.mark.parametrize("more_threads, pin", [(1, "1"), (0, "0")])
def test_with_other_thread_counts_or_pin_off_the_system_places_the_threads(
        monkeypatch, more_threads, pin):
    allowed = os.sched_getaffinity(0)
    monkeypatch.setenv("SVERTKA_THREADS", str(len(allowed) + more_threads))
    monkeypatch.setenv("SVERTKA_PIN", pin)
    monkeypatch.setattr(parallel, "_placement", None)
    monkeypatch.setattr(parallel, "_workers", [])
    masks = parallel.in_parallel(lambda item: os.sched_getaffinity(0), [0, 1])
    assert masks == [allowed, allowed]


def _parallel_sums():
    return parallel.in_parallel(lambda k: k * 2, [1, 2, 3])


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork here")
def test_a_forked_child_starts_its_own_workers(monkeypatch):
    monkeypatch.setenv("SVERTKA_THREADS", "3")
    assert _parallel_sums() == [2, 4, 6]  # the parent's workers exist; the child's copy
    with multiprocessing.get_context("fork").Pool(1) as pool:  # of them would never answer
        assert pool.apply_async(_parallel_sums).get(timeout=60) == [2, 4, 6]


def test_results_do_not_depend_on_the_number_of_threads(split_batches):
    """A training step of a small CNN gives the same loss and weights on 1 and 3 threads."""
    import svertka
    from svertka.layers import Conv2D, Dense, Flatten, MaxPooling2D

    x = np.random.default_rng(0).random((7, 8, 8, 2), np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2, 0]]
    results = []
    for count in ("1", "3"):
        split_batches(count)
        svertka.utils.set_random_seed(1)
        model = svertka.Sequential(
            [
                Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
                MaxPooling2D(2),
                Flatten(),
                Dense(5, activation="relu"),
                Dense(3, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        history = model.fit(x, y, batch_size=7, epochs=2, verbose=0)
        results.append((history.history["loss"], model.get_weights(), model.predict(x)))
    (loss1, w1, p1), (loss3, w3, p3) = results
    np.testing.assert_allclose(loss1, loss3, rtol=1e-5)
    for a, b in zip(w1, w3):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p1, p3, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("count, limited", [("2", False), ("1", True)])
def test_a_region_for_one_sample_leaves_blas_its_threads(monkeypatch, count, limited,
                                                         blas_at_two):
    monkeypatch.setenv("SVERTKA_THREADS", count)
    blas = blas_at_two
    with parallel.region(samples=1):  # svertka's threads split nothing: BLAS's may
        assert [c.get_num_threads() for c in blas] == [1 if limited else 2] * len(blas)
        with parallel.region():  # an inner region of a batch limits it all the same
            assert [c.get_num_threads() for c in blas] == [1] * len(blas)
    with parallel.region(), parallel.region(samples=1):  # and an outer one stays
        assert [c.get_num_threads() for c in blas] == [1] * len(blas)
    assert [c.get_num_threads() for c in blas] == [2] * len(blas)


def test_one_slice_runs_in_the_caller_without_asking_for_threads(monkeypatch):
    def no_threads():
        raise AssertionError("one sample needs no thread count")

    monkeypatch.setattr(parallel, "threads", no_threads)
    me = threading.get_ident()
    assert parallel.over_batch(lambda s: (s, threading.get_ident()), 1) == [(slice(0, 1), me)]
    assert parallel.over_batch(lambda s: s, 31, min_size=16) == [slice(0, 31)]
    with pytest.raises(AssertionError, match="no thread count"):
        parallel.over_batch(lambda s: s, 32, min_size=16)
