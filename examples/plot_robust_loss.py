"""Barron's robust loss family and its derivative (his Figure 1): rho(x, alpha, c) and
psi(x, alpha, c) = d rho / d x for alpha in {-inf, -2, 0, 1, 2} (Welsch, Geman-McClure,
Cauchy, pseudo-Huber, L2), computed by ``svertka.ops.robust_loss`` and its backward pass.

    python examples/plot_robust_loss.py --output robust_loss.png
"""

from __future__ import annotations

import argparse

import numpy as np

import svertka
from svertka import ops

ALPHAS = (-np.inf, -2.0, 0.0, 1.0, 2.0)
NAMES = {-np.inf: "Welsch", -2.0: "Geman-McClure", 0.0: "Cauchy", 1.0: "pseudo-Huber",
         2.0: "L2"}


def curves(x: np.ndarray, scale: float = 1.0) -> dict:
    """``{alpha: (rho, psi)}`` on the residuals ``x``: the loss and its x-derivative."""
    out = {}
    for alpha in ALPHAS:
        t = svertka.Tensor(x.copy(), requires_grad=True)
        rho = ops.robust_loss(t, alpha, scale)
        rho.sum().backward()  # element-wise: the sum's gradient is each psi(x)
        out[alpha] = (rho.numpy(), t.grad)
    return out


def plot(x: np.ndarray, family: dict, path: str, scale: float = 1.0) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_rho, ax_psi = fig.subplots(1, 2)
    for alpha, (rho, psi) in family.items():
        value = r"-\infty" if alpha == -np.inf else f"{alpha:g}"
        label = rf"$\alpha = {value}$ ({NAMES[alpha]})"
        ax_rho.plot(x, rho, label=label)
        ax_psi.plot(x, psi, label=label)
    ax_rho.set(title=rf"loss $\rho(x, \alpha, c)$, $c = {scale:g}$", xlabel="x",
               ylim=(0, 4))
    ax_psi.set(title=r"its derivative $\psi(x, \alpha, c) = \partial\rho / \partial x$",
               xlabel="x", ylim=(-3, 3))
    for ax in (ax_rho, ax_psi):
        ax.grid(alpha=0.3)
        ax.axvline(0, color="0.5", lw=0.5)
    ax_psi.legend(fontsize=8, loc="upper left")
    fig.savefig(path, dpi=100)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="robust_loss.png", help="the PNG to write")
    parser.add_argument("--scale", type=float, default=1.0, help="the scale c")
    args = parser.parse_args(argv)
    x = np.linspace(-6, 6, 1201)
    family = curves(x, args.scale)
    plot(x, family, args.output, args.scale)
    print(f"wrote {args.output}")
    return family


if __name__ == "__main__":
    main()
