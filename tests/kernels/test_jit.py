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
    import importlib
    import pkgutil

    import svertka.kernels

    kernels = []
    for info in pkgutil.iter_modules(svertka.kernels.__path__):
        module = importlib.import_module(f"svertka.kernels.{info.name}")
        kernels += [f for name, f in vars(module).items()
                    if callable(f) and hasattr(f, "compiled") and f.__module__ == module.__name__]
    # (rules, kernels.jit.rule, are inlined into these and compiled with them)
    assert len(kernels) > 20
    missed = [f.__qualname__ for f in kernels
              if f.compiled is None or not any(np.dtype(np.float32) in map(_dtype, sig)
                                               for sig in f.compiled.signatures)]
    assert missed == []


def _dtype(numba_type):
    """The NumPy dtype of a Numba array type (None for scalars)."""
    dtype = getattr(numba_type, "dtype", None)
    try:
        return np.dtype(str(dtype))
    except TypeError:
        return None
