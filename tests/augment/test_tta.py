"""Test-time augmentation: copy 0 is the image, the rest are augmented, the mean is returned."""

import numpy as np
import pytest

import svertka
from svertka.augment import Compose, HorizontalFlip, Shift, default_tta, tta_predict


def images(n=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def linear_model(z):
    """A fixed 'classifier' that sees position: not invariant to flips or shifts."""
    w = np.random.default_rng(42).standard_normal((8 * 8 * 3, 4))
    # a sum per row, not a BLAS product: the result must not depend on the batch size
    return (z.reshape(len(z), -1, 1).astype(np.float64) * w).sum(axis=1)


def test_n1_is_plain_prediction():
    x = images()
    np.testing.assert_array_equal(tta_predict(linear_model, x, n=1, batch_size=3), linear_model(x))


def test_a_flip_invariant_model_gives_the_same_result():
    x = images()

    def column_sums(z):  # the same for an image and its mirror
        return z.astype(np.float64).sum(axis=2).reshape(len(z), -1)

    p = tta_predict(column_sums, x, n=5, augment=HorizontalFlip(p=0.5), rng=0)
    np.testing.assert_allclose(p, column_sums(x), rtol=1e-12)


def test_the_result_is_the_mean_over_the_original_and_its_augmented_copies():
    x = images(n=4)
    p = tta_predict(linear_model, x, n=2, augment=HorizontalFlip(p=1.0))
    np.testing.assert_allclose(p, (linear_model(x) + linear_model(x[:, :, ::-1])) / 2)


def test_batched_one_call_per_group_with_batch_size_times_n_images():
    x = images(n=10)
    calls = []

    def record(z):
        calls.append(z.copy())
        return linear_model(z)

    p = tta_predict(record, x, n=3, augment=Shift(0.25), rng=1, batch_size=4)
    assert [len(z) for z in calls] == [12, 12, 6]
    np.testing.assert_array_equal(calls[0][:4], x[:4])  # copy 0: the images themselves
    np.testing.assert_array_equal(calls[2][:2], x[8:])
    assert calls[0].dtype == np.uint8  # in x's dtype: predict_fn does its own scaling
    manual = [linear_model(z).reshape(3, len(z) // 3, -1).mean(0) for z in calls]
    np.testing.assert_allclose(p, np.concatenate(manual))
    assert p.shape == (10, 4)


def test_same_seed_same_answer_and_the_default_augmentation():
    x = images()
    a = tta_predict(linear_model, x, n=4, rng=3)
    b = tta_predict(linear_model, x, n=4, rng=3)
    c = tta_predict(linear_model, x, n=4, rng=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    t = default_tta()
    assert isinstance(t, Compose) and [type(s) for s in t] == [HorizontalFlip, Shift]


def test_a_model_predict_works_as_predict_fn():
    model = svertka.Sequential(
        [
            svertka.layers.Input((8, 8, 3)),
            svertka.layers.Flatten(),
            svertka.layers.Dense(3, activation="softmax"),
        ]
    )
    x = images(n=5)
    p = tta_predict(lambda z: model.predict(z / 255), x, n=3, augment="shift=0.1", rng=0)
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(
        tta_predict(lambda z: model(z / 255), x, n=1), model.predict(x / 255), rtol=1e-5
    )


def test_errors():
    x = images()
    with pytest.raises(ValueError, match="tta_predict: argument 'n' must be a positive int"):
        tta_predict(linear_model, x, n=0)
    with pytest.raises(ValueError, match=r"one prediction per image, \(20, \.\.\.\) for 20"):
        tta_predict(lambda z: z[:1], x, n=2, batch_size=10)
    with pytest.raises(ValueError, match="'augment' builds no augmentation"):
        tta_predict(linear_model, x, n=2, augment="")
    with pytest.raises(TypeError, match="'predict_fn' must be callable"):
        tta_predict("model", x, n=2)
