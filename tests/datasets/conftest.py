"""Fixtures for the data set tests: an isolated cache, no internet, a local HTTP mirror."""

import dataclasses
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from svertka.datasets import cifar10, fashion_mnist, mnist, notmnist


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Every test gets its own empty cache and no built-in mirror, so no test ever reaches the
    internet or the user's ~/.cache; tests that want a download set SVERTKA_MIRROR."""
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("SVERTKA_MIRROR", raising=False)
    for module in (mnist, fashion_mnist, notmnist, cifar10):
        monkeypatch.setattr(module, "SOURCE", dataclasses.replace(module.SOURCE, mirrors=()))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: server.truncate.get(self.path, len(body))])

    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror():
    """A web server on 127.0.0.1: put bytes in ``.files['/path']``; ``.truncate['/path'] = n``
    sends only n bytes of a file while announcing its full length; ``.url`` is its base."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.truncate, server.requests = {}, {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
