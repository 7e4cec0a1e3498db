"""k-means: recovers well-separated clusters, is repeatable, fills empty clusters."""

import numpy as np
import pytest

from svertka.cluster import kmeans, kmeans_plusplus, squared_distances


def blobs(k=5, per=40, d=3, spread=0.1, seed=0):
    g = np.random.default_rng(seed)
    centres = g.uniform(-10, 10, (k, d))
    labels = np.repeat(np.arange(k), per)
    return centres[labels] + spread * g.standard_normal((k * per, d)), labels, centres


def test_recovers_well_separated_clusters():
    x, truth, centres = blobs()
    c, labels = kmeans(x, 5, seed=1)
    # the same partition up to renaming: each true cluster maps to exactly one found cluster
    pairs = set(zip(truth.tolist(), labels.tolist()))
    assert len(pairs) == 5 and len({p for _, p in pairs}) == 5
    # and every centroid is the mean of its cluster, close to the true centre
    for t, found in pairs:
        np.testing.assert_allclose(c[found], x[labels == found].mean(axis=0))
        assert np.linalg.norm(c[found] - centres[t]) < 0.1


def test_labels_are_the_nearest_centroids_and_seeds_repeat():
    x, _, _ = blobs(k=4, per=30, d=5, spread=2.0, seed=3)
    c, labels = kmeans(x, 6, seed=2)
    np.testing.assert_array_equal(labels, squared_distances(x, c).argmin(axis=1))
    c2, labels2 = kmeans(x, 6, seed=2)
    np.testing.assert_array_equal(c, c2)
    np.testing.assert_array_equal(labels, labels2)


def test_returns_k_clusters_with_duplicate_points():
    x = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5 + [[5.0, 5.0]])
    c, labels = kmeans(x, 3, seed=0)
    assert c.shape == (3, 2) and len(set(labels.tolist())) == 3


def test_plusplus_seeds_are_data_points_in_distinct_blobs():
    x, truth, _ = blobs(k=4, per=25, seed=4)
    seeds = kmeans_plusplus(x, 4, np.random.default_rng(0))
    rows = [int(np.flatnonzero((x == s).all(axis=1))[0]) for s in seeds]
    assert len(set(truth[rows].tolist())) == 4


def test_squared_distances_are_exact_and_non_negative():
    g = np.random.default_rng(0)
    x, c = g.standard_normal((7, 3)), g.standard_normal((4, 3))
    np.testing.assert_allclose(squared_distances(x, c),
                               ((x[:, None] - c[None]) ** 2).sum(axis=-1), atol=1e-12)
    assert (squared_distances(x, x) >= 0).all()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"kmeans: argument 'k' must be at most the number "
                                         r"of points \(3\), received 4"):
        kmeans(np.ones((3, 2)), 4)
    with pytest.raises(ValueError, match="kmeans: argument 'x' must be a non-empty finite"):
        kmeans(np.array([[np.nan, 0.0]]), 1)
    with pytest.raises(ValueError, match="kmeans: argument 'k' must be"):
        kmeans(np.ones((3, 2)), 0)
