"""torch and torchvision for the interop tests, or a clean skip.

torchvision's wheel links CUDA libraries; with the CPU build of torch its compiled operators
fail to load and ``import torchvision`` raises "operator torchvision::nms does not exist". Its
pure-Python models work once the schemas of ``torchvision::nms`` and ``torchvision::qnms`` are
defined, which ``_shim`` does before the import (only when the real operators are absent)."""

import pytest

_LIBRARY = []  # keeps the torch.library.Library alive: dropping it removes the definitions


def _shim(torch) -> None:
    if _LIBRARY:
        return
    try:
        torch.ops.torchvision.nms  # noqa: B018  (the real operators are there)
        return
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.append(lib)


@pytest.fixture(scope="session")
def tv():
    """``(torch, torchvision)``, skipping the test when either is missing."""
    torch = pytest.importorskip("torch")
    _shim(torch)
    torchvision = pytest.importorskip("torchvision")
    return torch, torchvision
