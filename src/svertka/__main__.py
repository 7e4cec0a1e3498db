"""``svertka`` / ``python -m svertka``: the command line (for now, the demo)."""

from __future__ import annotations

import argparse


def main(argv=None) -> None:
    from svertka import demo

    parser = argparse.ArgumentParser(prog="svertka", description="svertka command line")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("demo", help=demo.__doc__.splitlines()[0])
    run.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    run.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        demo.run(epochs=getattr(args, "epochs", 3), batch_size=getattr(args, "batch_size", 32),
                 seed=getattr(args, "seed", 0))


if __name__ == "__main__":
    main()
