"""``svertka serve``: a local web page where a reader draws a digit and watches the network
see it, layer by layer, with the notes' arithmetic on the model's real numbers.

    svertka serve                      # the notes' MNIST model, at http://127.0.0.1:8000/
    svertka serve model.svk --port 8001

``make_app(model=None, *, max_upload_mb=8, allow_training=None, local_only=True)`` gives the
Flask application; ``serve(model=None, host="127.0.0.1", port=8000, open_browser=True)``
runs it with waitress. The JSON endpoints (documented in docs/serve-api.md) work from a
notebook too. The parts:

- ``inputs``: image bytes to the network's input (MNIST-centred for digits and letters);
- ``views`` and ``cells``: each view's numbers, plain functions of the model and an input;
- ``state``: the model held, the inputs held, the one worker thread, the training;
- ``app``: the routes; ``static/``: the page (plain HTML, CSS and JS, nothing fetched);

Flask and waitress are optional dependencies (``pip install svertka[serve]``), imported
only by ``make_app`` and ``serve``: the views work without them.
"""

from __future__ import annotations

__all__ = ["make_app", "serve"]


def __getattr__(name: str):
    if name in __all__:
        from svertka.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'svertka.serve' has no attribute {name!r}")
