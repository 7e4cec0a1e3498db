"""The switch between compiled and NumPy kernels."""

import numpy as np
import pytest

from svertka.kernels import jit


def test_env_switch_turns_compiled_kernels_off(monkeypatch):
    monkeypatch.setenv("SVERTKA_JIT", "0")
    assert not jit.enabled()
    assert not jit.usable(np.zeros(3, np.float32))
    assert jit.compile_all() is False


def test_only_numpy_floats_are_usable():
    if not jit.enabled():
        pytest.skip("Numba is not installed")
    assert jit.usable(np.zeros(3, np.float32), np.zeros(2))
    assert not jit.usable(np.zeros(3, np.int64))
    assert not jit.usable(np.zeros(3, np.float32), [1.0])


def test_compile_all_readies_every_kernel():
    if not jit.enabled():
        pytest.skip("Numba is not installed")
    assert jit.compile_all() is True
