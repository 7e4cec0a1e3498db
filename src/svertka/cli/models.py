"""The MODEL argument of the commands that start from a trained network (``train``,
``finetune``, ``index``, ``search``, ``show``): a saved model file (``.svk``), or
``arch:weights``, a zoo network with the weights the package ships (``svertka.zoo.pretrained``).
"""

from __future__ import annotations

from pathlib import Path

from svertka.zoo import weights

SHIPPED_NAMES = ", ".join(weights.specs())


def load(spec: str, command: str, compile: bool = False):
    """The model ``spec`` names: a saved model file, or a zoo network with its shipped weights
    (expecting pixels in [0, 1], as the zoo's builders do). ``command`` names the caller in
    the error for anything else."""
    import svertka
    from svertka import zoo

    if Path(spec).is_file():
        return svertka.load_model(spec, compile=compile)
    if spec not in weights.specs():
        raise ValueError(f"{command}: argument MODEL must be a saved model file or a zoo "
                         f"network with shipped weights ({SHIPPED_NAMES}), received {spec!r} "
                         f"(no such file)")
    return zoo.pretrained(spec, command)
