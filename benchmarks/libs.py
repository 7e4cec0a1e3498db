"""Which libraries take part, and the header line naming their versions and thread counts.

svertka and PyTorch always run; Keras 3 on TensorFlow runs when it can be imported (its
columns show "-" otherwise). TensorFlow's log chatter is silenced and the Keras backend set
before the first import, so import Keras only through :func:`keras`.
"""

from __future__ import annotations

import functools
import os
import platform

LIBS = ("svertka", "torch", "keras")


@functools.cache
def keras():
    """The ``keras`` module on TensorFlow, or None when it cannot be imported."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras as k
        import tensorflow as tf
    except ImportError:
        return None
    if k.backend.backend() != "tensorflow":
        return None
    tf.get_logger().setLevel("ERROR")
    return k


def available(wanted=LIBS) -> tuple[str, ...]:
    """The libraries of ``wanted`` that can run here, in the order of ``LIBS``."""
    return tuple(lib for lib in LIBS if lib in wanted and (lib != "keras" or keras()))


def header() -> str:
    """Versions, thread counts and the machine, one line each."""
    import numpy as np
    import torch

    import svertka

    blas = _numpy_blas()
    lines = [
        f"python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        f"svertka {svertka.__version__} on numpy {np.__version__} ({blas}), {_jit()}",
        f"torch {torch.__version__} ({torch.get_num_threads()} intra-op threads, "
        f"{torch.get_num_interop_threads()} inter-op)",
    ]
    k = keras()
    if k is None:
        lines.append("keras/tensorflow: not installed, its columns show '-'")
    else:
        import tensorflow as tf

        intra = tf.config.threading.get_intra_op_parallelism_threads() or "one per core"
        lines.append(
            f"keras {k.__version__} on tensorflow {tf.__version__} "
            f"(intra-op threads: {intra}, jit_compile off on CPU)"
        )
    return "\n".join(lines)


def _numpy_blas() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except (TypeError, KeyError):
        return "BLAS unknown"


def _jit() -> str:
    try:
        from svertka.kernels import jit
    except ImportError:
        return "no JIT kernels"
    if not jit.enabled():
        return "JIT kernels off"
    import numba

    return f"JIT kernels on (numba {numba.__version__})"
