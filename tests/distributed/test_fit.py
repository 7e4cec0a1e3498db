"""Data-parallel ``fit`` under ``mpiexec -n 2`` and ``-n 3`` (worker.py is the program each
rank runs): the weights equal one process's on the same global batches (float64, to 1e-12),
every rank's History agrees with it, a rank that raises stops all, rank 0 alone writes."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

WORKER = Path(__file__).with_name("worker.py")
_here = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_here) if _here.exists() else shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)


def _worker():
    spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launch(ranks: int, case: str, out: Path, timeout: float = 60, **env):
    """``mpiexec -n ranks python worker.py case out`` with one thread per rank."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MV2_"))}
    environ.update(SVERTKA_THREADS="1", **env)
    launcher = [MPIEXEC, "-n", str(ranks)] if ranks else []  # 0: plain python, alone
    return subprocess.run([*launcher, sys.executable, str(WORKER), case, str(out)],
                          env=environ, capture_output=True, text=True, timeout=timeout)


def read(out: Path, rank: int):
    arrays = np.load(out / f"rank{rank}.npz")
    weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    return weights, json.loads((out / f"rank{rank}.json").read_text())


@pytest.fixture
def reference(monkeypatch):
    """``reference(case, ranks)``: one process fitting the case with the global batch."""
    monkeypatch.setenv("SVERTKA_THREADS", "1")
    worker = _worker()

    def run(case: str, ranks: int):
        model, history = worker.train(case, worker.CASES[case][1] * ranks)
        return model.get_weights(), history

    return run


def assert_same_run(out: Path, ranks: int, weights, history):
    for r in range(ranks):
        got, logs = read(out, r)
        assert [w.dtype for w in got] == [np.dtype(np.float64)] * len(weights)
        for a, b in zip(got, weights):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        assert logs["history"].keys() == history.history.keys()
        for key, values in history.history.items():
            np.testing.assert_allclose(logs["history"][key], values, rtol=1e-12)
        np.testing.assert_allclose(logs["batch_losses"], history.batch_losses[-len(
            logs["batch_losses"]):], rtol=1e-12)
    first = read(out, 0)[0]
    for r in range(1, ranks):  # every rank applied the very same updates
        assert all(np.array_equal(a, b) for a, b in zip(read(out, r)[0], first))


def test_the_same_script_runs_alone_without_mpiexec(tmp_path, reference):
    done = launch(0, "even", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "rank 0 of 1 done" in done.stdout
    assert_same_run(tmp_path, 1, *reference("even", 1))


def test_two_ranks_equal_one_process_on_the_global_batches(tmp_path, reference):
    done = launch(2, "even", tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_run(tmp_path, 2, *reference("even", 2))


def test_three_ranks_share_uneven_last_batches_and_validation(tmp_path, reference):
    # 19 samples in global batches of 9: the last one (1 sample) leaves two ranks empty;
    # 7 validation samples shared 3, 2, 2; buckets of 256 bytes: several per step
    done = launch(3, "uneven", tmp_path, BUCKET_BYTES="256")
    assert done.returncode == 0, done.stderr
    assert_same_run(tmp_path, 3, *reference("uneven", 3))


@pytest.mark.parametrize("ranks, case", [(2, "syncbn"), (3, "syncbn-uneven")])
def test_synchronised_batch_norm_trains_as_one_process_on_the_global_batch(
        tmp_path, reference, ranks, case):
    # batch statistics over all ranks' samples: the weights, the moving statistics and the
    # logs equal one process's; with three ranks the last step of each epoch has one sample,
    # and the two idle ranks take part in the sums through a stand-in that counts for nothing;
    # with buckets of 256 bytes the gradients' sums start between the batch norm's
    done = launch(ranks, case, tmp_path, BUCKET_BYTES="256")
    assert done.returncode == 0, done.stderr
    weights, history = reference(case, ranks)
    assert len(weights) == 8  # conv 2, batch norm 4 (2 moving), dense 2
    assert_same_run(tmp_path, ranks, weights, history)


def test_unsynchronised_batch_norm_differs_from_one_process(tmp_path, reference):
    # the contrast: each rank normalising by its own share's statistics is another run
    done = launch(2, "plainbn", tmp_path)
    assert done.returncode == 0, done.stderr
    got, _ = read(tmp_path, 0)
    weights, _ = reference("syncbn", 2)
    assert max(float(np.abs(a - b).max()) for a, b in zip(got, weights)) > 1e-3


@pytest.mark.parametrize("ranks, case", [(2, "pydataset"), (3, "pydataset-uneven")])
def test_a_pydataset_is_read_by_index_and_trains_as_one_process(tmp_path, monkeypatch, ranks,
                                                                  case):
    # each rank reads batch order[s*N + r] of step s; the last step of the uneven case has
    # one batch, read by rank 0 alone; the validation PyDataset is sharded the same way
    done = launch(ranks, case, tmp_path)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("SVERTKA_THREADS", "1")
    m, history, _ = _worker().train_pydataset(case, ranks=ranks)
    assert_same_run(tmp_path, ranks, m.get_weights(), history)
    batches = -(-_worker().PYDATASETS[case][0] // _worker().PYDATASETS[case][1])
    reads = [json.loads((tmp_path / f"read{r}.json").read_text()) for r in range(ranks)]
    first_epoch = [i for r in range(ranks) for i in reads[r][:len(reads[r]) // 2]]
    assert sorted(first_epoch) == list(range(batches))  # disjoint shares, every batch once
    assert reads[0][:2] == [0, ranks]  # not shuffled: rank 0 reads steps' first batches


def test_a_shuffled_pydataset_is_shuffled_the_same_on_every_rank(tmp_path):
    done = launch(2, "pydataset-shuffle", tmp_path)
    assert done.returncode == 0, done.stderr
    reads = [json.loads((tmp_path / f"read{r}.json").read_text()) for r in range(2)]
    epochs = [[reads[r][e * 3:(e + 1) * 3] for r in range(2)] for e in range(2)]
    for shares in epochs:  # 6 batches, 3 steps: each epoch the ranks read all, disjointly
        assert sorted(shares[0] + shares[1]) == list(range(6))
    assert epochs[0] != epochs[1]  # a new order each epoch
    assert epochs[0][0] + epochs[0][1] != [0, 2, 4, 1, 3, 5]  # and not the plain one


def test_a_rank_that_raises_stops_every_rank_with_its_message(tmp_path):
    done = launch(2, "raise", tmp_path, timeout=30)  # 50 epochs if it did not stop
    assert done.returncode != 0
    assert "svertka.distributed: rank 1 of 2 failed" in done.stderr
    assert "RuntimeError: boom on rank 1" in done.stderr
    assert not (tmp_path / "rank0.npz").exists()


def test_a_generator_is_refused_with_a_message(tmp_path):
    done = launch(2, "dataset", tmp_path, timeout=30)
    assert done.returncode != 0
    assert "needs arrays in memory or a PyDataset" in done.stderr


def test_rank_zero_alone_writes_checkpoints(tmp_path):
    done = launch(2, "files", tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["r0-e1.weights.h5",
                                                               "r0-e2.weights.h5"]


def test_a_stop_on_one_rank_and_a_backup_resume_the_same_run(tmp_path, reference):
    # stopped by the last rank alone after step 4 (epoch 2, batch 1), backed up by rank 0,
    # restored by both into fresh models: the end equals the uninterrupted run
    done = launch(2, "resume", tmp_path)
    assert done.returncode == 0, done.stderr
    weights, history = reference("even", 2)
    history.history = {k: v[-1:] for k, v in history.history.items()}  # the resumed epoch
    assert_same_run(tmp_path, 2, weights, history)
    assert not (tmp_path / "backup").exists()  # deleted by rank 0 at the end
