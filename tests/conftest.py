import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def split_batches(monkeypatch):
    """``split_batches(k)``: kernels cut every batch into up to k slices, however small the
    work (by default a slice must hold enough work to be worth a thread)."""
    from svertka import parallel

    def set_threads(count):
        monkeypatch.setenv("SVERTKA_THREADS", str(count))
        monkeypatch.setattr(parallel, "WORTH_A_THREAD", 1)

    return set_threads
