"""The one global random generator (weights, shuffling, dropout), reseeded by
``svertka.utils.set_random_seed`` so that a CPU training run repeats exactly.

``get_state``/``set_state`` export and restore it as a JSON-ready dict (the bit generator's
state), which is how ``BackupAndRestore`` resumes a run on the very draws it would have made.

>>> seed(0); state = get_state(); a = generator().random()
>>> set_state(state); generator().random() == a
True
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def generator() -> np.random.Generator:
    return _rng


def seed(n: int) -> None:
    global _rng
    _rng = np.random.default_rng(n)


def get_state(rng: np.random.Generator | None = None) -> dict:
    """The state of ``rng`` (the global generator by default): ``numpy``'s
    ``bit_generator.state`` as a dict of str, int and dicts that ``json`` writes and reads
    back exactly. PCG64's 128-bit integers are written as decimal strings, because model and
    backup files refuse integers outside the 64-bit range (other readers would round them)."""
    return _encode((_rng if rng is None else rng).bit_generator.state)


def _encode(value):
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return str(value)
    return value


def _decode(value):
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def set_state(state: dict, rng: np.random.Generator | None = None) -> None:
    """Put ``rng`` (the global generator by default) back in a state from ``get_state``.

    The generator object stays the same (code holding it sees the new state); only if the
    state is of another bit generator kind is the global one replaced by a new generator."""
    global _rng
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    bit_generator = getattr(np.random, kind, None) if isinstance(kind, str) else None
    if not (isinstance(bit_generator, type) and issubclass(bit_generator, np.random.BitGenerator)):
        raise ValueError(f"svertka.random.set_state: argument 'state' must be a generator state "
                         f"from get_state, received {state!r:.200}")
    target = _rng if rng is None else rng
    if type(target.bit_generator) is not bit_generator:
        if rng is not None:
            raise ValueError(f"svertka.random.set_state: the state is of a {kind} generator, "
                             f"the generator given is {type(rng.bit_generator).__name__}")
        target = _rng = np.random.Generator(bit_generator())
    try:
        target.bit_generator.state = _decode(state)
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"svertka.random.set_state: argument 'state' is not a valid {kind} "
                         f"state ({e})") from e
