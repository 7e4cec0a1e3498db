"""Put a model trained by ``svertka train ARCH DATA`` into the package as the shipped weights
of ``svertka.zoo.ARCH(weights=DATA)``, after checking its test accuracy.

    python examples/ship_weights.py lenet5-mnist.svk lenet5 mnist --input-shape 28,28,1

``svertka train`` puts a ``Rescaling(1/255)`` layer (no weights) before the architecture;
the weights that follow it are exactly those of the bare builder, which expects pixels in
[0, 1]. The file is written in ``save_weights`` form to ``src/svertka/zoo/weights/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import svertka
from svertka import datasets, zoo
from svertka.zoo import weights as shipped

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="the model file svertka train saved")
    p.add_argument("arch", choices=sorted(shipped.SHIPPED))
    p.add_argument("data", help="the data set it was trained on (its test split is checked)")
    p.add_argument("--input-shape", default=None, help="H,W,C the builder is called with")
    a = p.parse_args(argv)
    trained = svertka.load_model(a.model, compile=False)
    shape = (tuple(int(v) for v in a.input_shape.split(",")) if a.input_shape
             else trained.input_shape[1:])
    arch = zoo.get(a.arch, shape)
    arch.set_weights(trained.get_weights())
    _, (x, y), _ = datasets.load(a.data)
    x = x[..., None] if x.ndim == 3 else x
    accuracy = float((arch.predict(x / np.float32(255), batch_size=256).argmax(-1) == y).mean())
    out = ROOT / "src" / "svertka" / "zoo" / "weights" / shipped.SHIPPED[a.arch][a.data]
    arch.save_weights(out)
    print(f"{a.arch} on {a.data}: test accuracy {accuracy:.4f} ({len(y):,} images); "
          f"wrote {out.relative_to(ROOT)} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
