"""The web application of ``svertka serve``: Flask routes over ``svertka.serve.views``.

Flask because it is the smallest well-kept Python web framework that has all this needs:
routing, JSON, static files served safely (``send_from_directory`` refuses ``..``), a body
limit (``MAX_CONTENT_LENGTH``, answered with 413) and a test client; waitress (pure Python,
threads, no C compiler, runs on Windows too) serves it. Each route reads its arguments,
hands the model work to the session's one worker thread and answers JSON. Every error is
``{"error": "<sentence>"}`` with a 4xx or 5xx status; see docs/serve-api.md.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from svertka.serve import inputs, views
from svertka.serve.state import Conflict, Session, UnknownInput

STATIC = Path(__file__).parent / "static"
MB = 2 ** 20
LOOPBACK = ("127.0.0.1", "localhost", "::1")
logger = logging.getLogger("svertka.serve")
api = Blueprint("svertka_serve", __name__)


def make_app(model=None, *, max_upload_mb: float = 8, allow_training=None,
             local_only: bool = True) -> Flask:
    """The Flask application serving ``model`` (None: the notes' model with its shipped MNIST
    weights; a ``.svk`` path; a zoo spec ``"NAME:WEIGHTS"``; a Model). Bodies larger than
    ``max_upload_mb`` are refused with 413. ``allow_training``: None lets the page train a
    model that fits the MNIST sample (28x28x1, 10 classes, at most 2M parameters), False
    never, True requires it. ``local_only`` (for a server on 127.0.0.1) answers only
    requests addressed to this machine by name (``Host`` 127.0.0.1, localhost or [::1]: a
    web page elsewhere cannot reach it by DNS rebinding) and POSTs from its own page (no
    other site's ``Origin``), with 403 otherwise. ``app.extensions["svertka.serve"]`` is the
    ``Session``."""
    if not max_upload_mb > 0:
        raise ValueError(f"make_app: argument 'max_upload_mb' must be > 0, received "
                         f"{max_upload_mb!r}")
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * MB)
    app.json.sort_keys = False
    app.extensions["svertka.serve"] = Session(model, allow_training)
    app.config["SVERTKA_LOCAL_ONLY"] = bool(local_only)
    app.register_blueprint(api)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(UnknownInput, lambda e: _error(str(e), 404))
    app.register_error_handler(Conflict, lambda e: _error(str(e), 409))
    app.register_error_handler(ValueError, lambda e: _error(str(e), 400))
    app.register_error_handler(TypeError, lambda e: _error(str(e), 400))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    return app


def serve(model=None, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True,
          **kwargs) -> None:
    """Serve ``model`` (as ``make_app``) at http://host:port/ with waitress until Ctrl-C;
    open the page in the default browser unless ``open_browser`` is False. Binds to this
    machine only unless ``host`` says otherwise."""
    kwargs.setdefault("local_only", host in LOOPBACK)
    app = make_app(model, **kwargs)
    session = app.extensions["svertka.serve"]
    try:
        server = make_server(app, host, port)
    except OSError:
        session.close()
        raise
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{server.effective_port}/"
    print(f"svertka serve: {session.name} at {url} (Ctrl-C stops)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"svertka serve: listening on {host}: other machines can reach this page",
              flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [url]).start()
    try:
        server.run()
    finally:
        session.close()


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 8000):
    """A waitress server for ``app``, bound (port 0: any free one, see ``effective_port``)
    but not running yet: ``.run()`` serves until ``.close()`` or Ctrl-C."""
    import waitress

    try:  # waitress takes bodies well past the limit, so Flask can answer them with a message
        return waitress.create_server(
            app, host=host, port=port, threads=8,
            max_request_body_size=max(128 * MB, 4 * app.config["MAX_CONTENT_LENGTH"]))
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        raise OSError(f"serve: port {port} on {host} is in use by another program; choose "
                      f"another with --port") from None


def _host_name(host: str) -> str:
    """The name in a ``Host`` header or an origin's address, without the port:
    ``[::1]:8000`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@api.before_app_request
def _only_this_machine():
    """``local_only``: refuse a request named for another host, and a POST another site's
    page sent (the browser says which in ``Origin``)."""
    if not current_app.config.get("SVERTKA_LOCAL_ONLY"):
        return None
    if _host_name(request.host) not in LOOPBACK:
        return _error(f"{_where()}: this server answers this machine only (Host 127.0.0.1, "
                      f"localhost or [::1]), received Host {request.host!r}; start it with "
                      f"--host to serve a network", 403)
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin and urlsplit(origin).netloc != request.host:
        return _error(f"{_where()}: a request from another site's page ({origin!r}) is "
                      f"refused; use the page at http://{request.host}/", 403)
    return None


def _session() -> Session:
    return current_app.extensions["svertka.serve"]


def _where() -> str:
    return f"{request.method} {request.path}"


def _error(message: str, status: int):
    return jsonify(error=message), status


def _too_large(e):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    size = request.content_length
    received = f"received {size / MB:.1f} MB" if size else "received more than that"
    return _error(f"{_where()}: the upload is too large: the limit is {limit / MB:g} MB, "
                  f"{received}; send a smaller image", 413)


def _http_error(e: HTTPException):
    return _error(f"{_where()}: {e.description}", e.code or 500)


def _internal_error(e: Exception):
    logger.error("%s failed", _where(), exc_info=e)
    return _error(f"{_where()}: internal error in svertka ({type(e).__name__}: {e})", 500)


def _arg(name: str, default=None) -> str:
    value = request.args.get(name, default)
    if value is None:
        raise ValueError(f"{_where()}: argument '{name}' is required (as ?{name}=...)")
    return value


def _int_arg(name: str, default=None) -> int:
    value = _arg(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{_where()}: argument '{name}' must be an int, received "
                         f"{value!r}") from None


def _held_input():
    return _session().inputs.get(_arg("input"), _where())


@api.get("/")
def page():
    if not (STATIC / "index.html").is_file():
        return _error("GET /: the page (svertka/serve/static/index.html) is not installed; "
                      "the JSON endpoints under /api/ work", 404)
    return send_from_directory(STATIC, "index.html")


@api.get("/api/model")
def model_info():
    s = _session()
    info = views.model_info(s.model, s.name, s.labels, s.kind, s.trainable)
    return jsonify(**info, max_upload_mb=current_app.config["MAX_CONTENT_LENGTH"] / MB)


@api.post("/api/predict")
def predict():
    started = time.perf_counter()
    s, where = _session(), _where()
    source = _arg("source", "upload")
    if source not in ("canvas", "upload"):
        raise ValueError(f"{where}: argument 'source' must be 'canvas' or 'upload', received "
                         f"{source!r}")
    top = _int_arg("top", "5")
    upload = next(iter(request.files.values()), None)
    data = upload.read() if upload is not None else request.get_data(cache=False)
    image = inputs.decode(data, where)
    x = inputs.prepare(image, s.model.input_shape[1:], s.kind, s.value_range, source, where)
    ranked = s.run(views.predict, s.model, x, s.labels, top, where)
    key = s.inputs.put(x)
    return jsonify(id=key, top=ranked, input=views.input_view(x, s.value_range),
                   ms=round((time.perf_counter() - started) * 1000, 2))


@api.get("/api/features")
def features():
    s = _session()
    x = _held_input()
    return jsonify(s.run(views.features, s.model, x, _arg("layer"), _where()))


@api.get("/api/cell")
def cell():
    s = _session()
    x = _held_input()
    args = (_arg("layer"), _int_arg("channel"), _int_arg("y"), _int_arg("x"))
    return jsonify(s.run(views.cell, s.model, x, *args, _where()))


@api.get("/api/filters")
def filters():
    s = _session()
    return jsonify(s.run(views.filters, s.model, _arg("layer"), _where()))


@api.get("/api/attribution")
def attribution():
    s = _session()
    x = _held_input()
    method = _arg("method", "gradcam")
    k = _int_arg("class") if request.args.get("class", "") != "" else None
    return jsonify(s.run(views.attribution, s.model, x, method, k, s.labels, s.value_range,
                         _where()))


@api.post("/api/train/start")
def train_start():
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        raise ValueError(f"{_where()}: the body must be JSON such as {{\"epochs\": 1}}, "
                         f"received {request.get_data()[:40]!r}")
    body = body or {}
    if not isinstance(body, dict):
        raise ValueError(f"{_where()}: the body must be a JSON object, received {body!r}")
    allowed = {"epochs", "batch_size", "learning_rate"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"{_where()}: unknown settings {unknown}; expected some of "
                         f"{sorted(allowed)}")
    _session().training.start(**body, where=_where())
    return jsonify(started=True)


@api.post("/api/train/stop")
def train_stop():
    _session().training.stop()
    return jsonify(stopped=True)


@api.get("/api/train/status")
def train_status():
    return jsonify(_session().training.status())
