"""``svertka serve [MODEL] [--port 8000]``: a local web page to draw a digit and watch the
network see it, layer by layer (``svertka.serve``).

MODEL is a saved model file (``.svk``) or a zoo network with shipped weights
(``lenet5:mnist``, ``resnet20:cifar10``); without it, the notes' MNIST model. The page binds
to 127.0.0.1 (this machine only) unless ``--host`` says otherwise, and opens in the browser
unless ``--no-browser``. Needs Flask and waitress: ``pip install svertka[serve]``.
"""

from __future__ import annotations

import argparse

from svertka import checks


def add_parser(sub) -> None:
    """Register the command on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("serve", help="a local web page: draw a digit, see inside the network",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", default=None,
                   help="a saved model file, or lenet5:mnist / resnet20:cifar10 (default: the "
                        "notes' MNIST model)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (0.0.0.0: every network of this machine)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page")
    p.set_defaults(run=serve)


def serve(args) -> None:
    """Serve the page for MODEL until Ctrl-C."""
    checks.integer("serve", "--port", args.port, 1, 65535)
    try:
        from svertka.serve.app import serve as run
    except ImportError as e:
        raise ImportError(f"serve: needs Flask and waitress, which are not installed "
                          f"({e}); pip install 'svertka[serve]'") from None
    run(args.model, host=args.host, port=args.port, open_browser=not args.no_browser)
