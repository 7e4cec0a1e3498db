"""Data sets in their usual formats."""

from svertka.datasets import mnist
from svertka.datasets.idx import read_idx

__all__ = ["mnist", "read_idx"]
