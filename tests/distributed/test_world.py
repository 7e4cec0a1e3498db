"""The world of one process (no mpiexec), shards of a batch, and the gradient buckets."""

import numpy as np
import pytest

from svertka import distributed
from svertka.autograd import Tensor
from svertka.distributed import fit as dist_fit
from svertka.distributed import gradients


def test_alone_the_world_is_one_process_and_init_is_idempotent():
    distributed.init()
    distributed.init()
    assert (distributed.rank(), distributed.size(), distributed.is_main()) == (0, 1, True)
    assert not distributed.active() and distributed.communicator() is None
    distributed.barrier()  # returns at once
    with distributed.abort_on_error(), pytest.raises(ValueError, match="kept"):
        raise ValueError("kept: alone, an error goes on as usual")


def test_launched_reads_the_launchers_environment(monkeypatch):
    for key in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                "PMIX_RANK", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert not distributed.launched()
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    assert distributed.launched()


@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 9, 10])
def test_the_shares_partition_a_batch_in_order_and_nearly_evenly(n, size):
    idx = np.random.default_rng(n).permutation(20)[:n]
    shares = [dist_fit.local(idx, (r, size)) for r in range(size)]
    assert np.array_equal(np.concatenate(shares), idx)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert np.array_equal(np.concatenate([dist_fit.local(slice(3, 3 + n), (r, size))
                                          for r in range(size)]), np.arange(3, 3 + n))


def test_buckets_are_consecutive_of_one_dtype_and_bounded():
    ps = [Tensor(np.zeros(k, dtype)) for k, dtype in
          [(4, np.float32), (4, np.float32), (100, np.float32), (2, np.float64), (2, np.float32)]]
    assert gradients.buckets(ps, limit=32) == [[0, 1], [2], [3], [4]]
    assert gradients.buckets(ps, limit=10**6) == [[0, 1, 2], [3], [4]]


def test_alone_gradients_are_left_as_they_are():
    w = Tensor(np.ones(3), requires_grad=True)
    w.grad = np.array([1.0, 2.0, 3.0])
    assert gradients.average_gradients([w], 4, 0.25) == (0.25, 4)
    assert w.grad.tolist() == [1.0, 2.0, 3.0]
