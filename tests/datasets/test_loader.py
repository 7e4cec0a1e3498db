"""BatchLoader: batches, labels, determinism, conversion, normalisation, the prefetch thread."""

import gc
import threading
import time

import numpy as np
import pytest

from svertka.augment import Brightness, HorizontalFlip
from svertka.datasets import loader as loader_mod
from svertka.datasets.loader import BatchLoader, Normalizer, channel_stats
from svertka.utils import set_random_seed


def indexed_images(n=50, h=4, w=4, c=3):
    """Image i holds the value i everywhere, so a batch says which samples it holds."""
    return np.repeat(np.arange(n, dtype=np.uint8), h * w * c).reshape(n, h, w, c)


def loader_threads():
    return [t for t in threading.enumerate() if t.name == "svertka-BatchLoader" and t.is_alive()]


def wait_no_threads(timeout=5.0):
    end = time.monotonic() + timeout
    while loader_threads() and time.monotonic() < end:
        time.sleep(0.01)
    return loader_threads()


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    yield
    assert not wait_no_threads(), "a BatchLoader thread outlived its test"


def test_batches_cover_every_sample_once_with_its_label():
    x, y = indexed_images(), np.arange(50)
    loader = BatchLoader(x, y, batch_size=16, rng=0, augment="flip", scale=255)
    assert len(loader) == 4
    seen = []
    for xb, yb in loader:
        assert xb.dtype == np.float32 and xb.shape[1:] == (4, 4, 3)
        np.testing.assert_array_equal(np.rint(xb[:, 0, 0, 0] * 255), yb)  # labels follow images
        seen.extend(yb.tolist())
    assert [len(b[1]) for b in loader] == [16, 16, 16, 2]
    assert sorted(seen) == list(range(50)) and seen != list(range(50))


def test_drop_last_and_no_shuffle():
    x, y = indexed_images(), np.arange(50)
    batches = list(BatchLoader(x, y, batch_size=16, shuffle=False, drop_last=True))
    assert len(batches) == len(BatchLoader(x, y, 16, drop_last=True)) == 3
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), np.arange(48))


def test_without_labels_batches_are_arrays():
    batches = list(BatchLoader(indexed_images(10), batch_size=4, shuffle=False, dtype=None))
    assert [b.shape[0] for b in batches] == [4, 4, 2] and batches[0].dtype == np.uint8


def epoch(loader):
    return [(xb.copy(), yb.copy()) for xb, yb in loader]


def rgb_set(n=40, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def test_same_seed_same_batches_with_or_without_the_thread():
    x, y = rgb_set(), np.arange(40)
    spec = "flip,crop=2,rotation=10,brightness=0.1"
    a = BatchLoader(x, y, 8, rng=5, augment=spec, prefetch=3)
    b = BatchLoader(x, y, 8, rng=5, augment=spec, prefetch=0)
    for _ in range(2):  # epoch by epoch
        for (xa, ya), (xb, yb) in zip(epoch(a), epoch(b), strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_different_seeds_and_epochs_differ():
    x, y = rgb_set(), np.arange(40)
    a = BatchLoader(x, y, 8, rng=1, augment="flip")
    first, second = epoch(a), epoch(a)
    other = epoch(BatchLoader(x, y, 8, rng=2, augment="flip"))
    assert not np.array_equal(first[0][1], second[0][1])
    assert not np.array_equal(first[0][1], other[0][1])


def test_augmentation_changes_images_but_not_labels():
    x, y = rgb_set(), np.arange(40)
    plain = dict(
        (int(l), img)
        for xb, yb in BatchLoader(x, y, 8, rng=0, dtype=None)
        for l, img in zip(yb, xb)
    )
    for xb, yb in BatchLoader(x, y, 8, rng=0, augment=HorizontalFlip(p=1.0), dtype=None):
        for label, img in zip(yb, xb):
            np.testing.assert_array_equal(img, plain[int(label)][:, ::-1])


def test_the_global_seed_governs_a_loader_without_rng():
    x, y = rgb_set(), np.arange(40)
    set_random_seed(11)
    a = epoch(BatchLoader(x, y, 8, augment="shift"))
    set_random_seed(11)
    b = epoch(BatchLoader(x, y, 8, augment="shift"))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_float_conversion_and_per_channel_normalisation():
    x = rgb_set()
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    (xb,) = list(BatchLoader(x, batch_size=40, shuffle=False, scale=255, mean=mean, std=std))
    expected = (x.astype(np.float64) / 255 - mean) / std
    assert xb.dtype == np.float32
    np.testing.assert_allclose(xb, expected, rtol=1e-5, atol=1e-5)
    (xb,) = list(BatchLoader(x, batch_size=40, shuffle=False, dtype=np.float64))
    np.testing.assert_array_equal(xb, x.astype(np.float64))


def test_float_data_are_scaled_before_augmentation_and_normalised_after():
    x = rgb_set().astype(np.float32)  # [0, 255] floats
    (xb,) = list(
        BatchLoader(
            x,
            batch_size=40,
            shuffle=False,
            scale=255,
            mean=0.5,
            std=0.5,
            augment=Brightness((0.1, 0.1)),
        )
    )
    np.testing.assert_allclose(xb, (x / 255 + 0.1 - 0.5) / 0.5, atol=1e-5)


def test_uint8_data_are_augmented_as_uint8():
    x = np.full((4, 2, 2, 1), 250, np.uint8)
    (xb,) = list(BatchLoader(x, batch_size=4, scale=255, augment=Brightness((0.1, 0.1))))
    np.testing.assert_allclose(xb, 1.0)  # clipped at 255 before conversion


@pytest.mark.parametrize("shape", [(30, 5, 6, 3), (7, 9, 2), (100, 1)])
def test_channel_stats_match_numpy(shape, monkeypatch):
    monkeypatch.setattr(loader_mod, "_CHUNK_ELEMENTS", 50)  # many small chunks
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    mean, std = channel_stats(x, scale=255)
    axes = tuple(range(x.ndim - 1))
    np.testing.assert_allclose(mean, (x / 255).mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(std, (x / 255).std(axis=axes), rtol=1e-10)
    f = np.random.default_rng(1).normal(1e3, 0.5, shape)  # a large offset: no cancellation
    kept = f.copy()
    np.testing.assert_allclose(channel_stats(f)[1], f.std(axis=axes), rtol=1e-7)
    np.testing.assert_array_equal(f, kept)  # float64 chunks are copies, not views


def test_normalizer_adapt_json_and_invert(tmp_path):
    x = rgb_set()
    norm = Normalizer.adapt(x, scale=255)
    z = norm(x)
    np.testing.assert_allclose(z.reshape(-1, 3).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.reshape(-1, 3).std(0), 1, atol=1e-5)
    norm.save(tmp_path / "norm.json")
    back = Normalizer.load(tmp_path / "norm.json")
    assert back.get_config() == norm.get_config()
    np.testing.assert_array_equal(back(x), z)
    np.testing.assert_allclose(back.invert(z), x, atol=1e-3)


def test_prefetch_thread_runs_ahead_of_the_consumer():
    calls = []

    def counting(x, rng):
        calls.append(len(x))
        return x

    batches = iter(BatchLoader(rgb_set(), batch_size=4, augment=counting, prefetch=2))
    next(batches)
    end = time.monotonic() + 5
    while len(calls) < 4 and time.monotonic() < end:  # 1 taken + 2 queued + 1 in hand
        time.sleep(0.01)
    assert len(calls) == 4  # and no further: the queue is full
    batches.close()


def test_thread_stops_when_the_loop_breaks():
    for _ in BatchLoader(rgb_set(), batch_size=2, prefetch=2):
        assert len(loader_threads()) == 1
        break
    assert not wait_no_threads()


def test_thread_stops_when_the_training_step_raises():
    with pytest.raises(RuntimeError, match="diverged"):
        for _ in BatchLoader(rgb_set(), batch_size=2):
            raise RuntimeError("diverged")
    assert not wait_no_threads()


def test_thread_stops_when_an_abandoned_iterator_is_collected():
    batches = iter(BatchLoader(rgb_set(), batch_size=2))
    next(batches)
    cycle = [batches]
    cycle.append(cycle)  # only the cyclic collector can free it
    del batches, cycle
    gc.collect()
    assert not wait_no_threads()


def test_with_statement_closes_the_iterator():
    with iter(BatchLoader(rgb_set(), batch_size=2)) as batches:
        next(batches)
    assert not wait_no_threads()
    with pytest.raises(StopIteration):
        next(batches)


def test_an_error_in_the_producer_reaches_the_consumer():
    def broken(x, rng):
        raise ArithmeticError("augmentation failed")

    with pytest.raises(ArithmeticError, match="augmentation failed"):
        list(BatchLoader(rgb_set(), batch_size=4, augment=broken))
    assert not wait_no_threads()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"y": np.arange(3)},
            ValueError,
            "'x' and 'y' must have the same number of samples, received 40 and 3",
        ),
        ({"batch_size": 0}, ValueError, "'batch_size' must be an int >= 1, received 0"),
        ({"prefetch": -1}, ValueError, "'prefetch' must be an int >= 0"),
        ({"dtype": None, "scale": 255}, ValueError, "need a float 'dtype'"),
        ({"rng": "seed"}, TypeError, "'rng' must be a non-negative int seed"),
        ({"std": [1, 0, 1]}, ValueError, "'std' must be positive"),
        ({"scale": -1}, ValueError, "'scale' must be a positive number"),
        ({"augment": "mirror"}, ValueError, "unknown augmentation 'mirror'"),
        ({"batch_size": 50, "drop_last": True}, ValueError, "leaves no batch"),
    ],
)
def test_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchLoader(rgb_set(), **kwargs)


def test_augmentation_needs_4d_images_and_stats_need_the_channel_count():
    with pytest.raises(
        ValueError, match=r"augmentation needs images \(N, H, W, C\).*x\[\.\.\., None\]"
    ):
        BatchLoader(np.zeros((5, 28, 28), np.uint8), augment="shift")
    with pytest.raises(ValueError, match="'mean' has 2 values, but the data have 3 channels"):
        list(BatchLoader(rgb_set(), mean=[0.5, 0.5]))
    with pytest.raises(ValueError, match="channel_stats: argument 'x' must hold samples"):
        channel_stats(np.zeros((0, 3)))
