"""Quick forms of the example programs (their full runs give the README's figures)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


def test_recall_at_counts_a_query_right_when_a_same_label_image_is_among_its_nearest():
    from netvlad_retrieval import recall_at

    queries = np.array([[0.0, 0.0], [10.0, 0.0]])
    database = np.array([[1.0, 0.0], [2.0, 0.0], [9.0, 0.0]])
    labels = np.array([0, 1, 1])
    # query 0 (label 1): nearest are db 0 (label 0), db 1 (label 1); query 1 (label 0): db 2, 1, 0
    r = recall_at(queries, np.array([1, 0]), database, labels, ns=(1, 2, 3))
    assert r == {1: 0.0, 2: 0.5, 3: 1.0}


def test_triplets_pair_each_anchor_with_its_class_and_another():
    from netvlad_retrieval import triplets

    y = np.repeat(np.arange(4), 5)
    a, p, n = triplets(y, np.random.default_rng(0), 50)
    assert np.all(y[a] == y[p]) and np.all(y[a] != y[n])


@pytest.mark.slow
def test_netvlad_retrieval_runs_end_to_end():
    from netvlad_retrieval import run

    from svertka.datasets.sources import DatasetNotFoundError

    try:
        results = run(steps=3, batch=16, clusters=4, train_size=600, queries=100,
                      whiten_fit=300, log=lambda *a: None)
    except DatasetNotFoundError:
        pytest.skip("fashion_mnist is not in $SVERTKA_DATA")
    assert set(results) == {"avg", "netvlad", "netvlad_pca"}
    assert results["netvlad"]["dim"] == 4 * 64 and results["netvlad_pca"]["dim"] == 64
    for r in results.values():
        assert 0 <= r[1] <= r[5] <= r[10] <= 1
        assert r[10] > 0.3  # far above chance (0.1 per guess) even untrained


def test_transfer_notmnist_splits_fixed_and_stratified_and_its_quick_run_prints_a_table(capsys):
    from transfer_notmnist import draw, main, split, table

    from svertka.datasets import notmnist
    from svertka.datasets.sources import DatasetNotFoundError

    y = np.repeat(np.arange(10), 1000)
    test, pool = split(y)
    assert len(test) == 4000 and np.all(np.bincount(y[test]) == 400)
    assert len(np.intersect1d(test, pool)) == 0 and len(test) + len(pool) == len(y)
    assert np.array_equal(split(y)[0], test)  # the same fixed test split every run
    train = draw(pool, y, 10, seed=0)
    assert np.all(np.bincount(y[train]) == 10) and np.all(np.isin(train, pool))
    assert len(set(train)) == 100 and not np.array_equal(train, draw(pool, y, 10, seed=1))
    text = table({("net", "head", 10): [0.5, 0.7], ("net", "top", 10): [0.8]}, (10,),
                 ("head", "top"))
    assert "| net | head | 60.0 ± 10.0 * |" in text and "| net | top | 80.0 |" in text
    try:
        notmnist.load_data(download=False)
    except DatasetNotFoundError:
        pytest.skip("notmnist is not in $SVERTKA_DATA")
    results = main(["--quick"])
    accuracies = [a for k, v in results.items() if k[0] != "time" for a in v]
    assert len(accuracies) == 3 and all(0 <= a <= 1 for a in accuracies)  # 3 rows, 1 size
    assert "| LeNet-5 / MNIST | scratch |" in capsys.readouterr().out


def test_notes_cifar10_functional_trains_the_notes_network_in_the_background(tmp_path):
    pytest.importorskip("torch")
    from notes_cifar10_functional import main

    from svertka.datasets.sources import DatasetNotFoundError

    try:
        result = main(["--limit", "256", "--epochs", "1", "--torch", "--output",
                       str(tmp_path)], log=lambda *a, **k: None)
    except DatasetNotFoundError:
        pytest.skip("cifar10 is not in $SVERTKA_DATA")
    assert result["iterations"] == len(result["losses"]) == 6  # 256 images, batches of 50
    # near-uniform probabilities at the start: the notes' mean is the cross-entropy / 10
    assert abs(result["losses"][0] - np.log(10) / 10) < 0.01
    # the same network, weights and batches in PyTorch give the same losses
    np.testing.assert_allclose(result["torch"]["losses"], result["losses"], rtol=1e-4)
    assert 0 <= result["accuracy"] <= 1
    assert (tmp_path / "loss.png").exists() and (tmp_path / "weights.npz").exists()


def test_plot_robust_loss_draws_barrons_family_and_its_derivative(tmp_path):
    pytest.importorskip("matplotlib")
    from plot_robust_loss import main

    out = tmp_path / "robust_loss.png"
    family = main(["--output", str(out), "--scale", "0.5"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(family) == [-np.inf, -2.0, 0.0, 1.0, 2.0]
    x = np.linspace(-6, 6, 1201)
    s = (x / 0.5) ** 2
    np.testing.assert_allclose(family[2.0], (s / 2, x / 0.25), atol=1e-12)  # L2
    np.testing.assert_allclose(family[0.0][0], np.log1p(s / 2), atol=1e-12)  # Cauchy
    np.testing.assert_allclose(family[-np.inf][1], x / 0.25 * np.exp(-s / 2), atol=1e-12)


def test_resnet20_torch_reference_resumes_onto_the_same_run(
        tmp_path):
    pytest.importorskip("torch")
    from resnet20_torch_reference import run

    from svertka.datasets.sources import DatasetNotFoundError

    quiet = dict(limit=128, batch_size=32, augment="flip,crop=4,cutout=16", log=lambda s: None)
    try:
        straight = run(epochs=3, **quiet)
    except DatasetNotFoundError:
        pytest.skip("cifar10 is not in $SVERTKA_DATA")
    state = tmp_path / "ref.pt"
    first = run(epochs=3, checkpoint=str(state), **quiet, stop_after=2)
    resumed = run(epochs=3, checkpoint=str(state), **quiet)
    assert [r["epoch"] for r in first] == [1, 2] and [r["epoch"] for r in resumed] == [3]
    for a, b in zip(straight, first + resumed):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    assert all(np.isfinite(r["loss"]) and 0 <= r["val_accuracy"] <= 1 for r in straight)
