"""``python -m svertka``: the same as the ``svertka`` command."""

from svertka.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
