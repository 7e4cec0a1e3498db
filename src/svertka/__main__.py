"""``python -m svertka``: run the demo (the notes' MNIST model)."""

from __future__ import annotations

import argparse


def main(argv=None) -> None:
    from svertka import demo

    parser = argparse.ArgumentParser(prog="svertka", description=demo.__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="demo", choices=["demo"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    demo.run(epochs=args.epochs, batch_size=args.batch_size)


if __name__ == "__main__":
    main()
