"""Fixtures for the data set tests: an isolated cache, no internet, a local HTTP mirror."""

import dataclasses
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from svertka.datasets import cifar10, fashion_mnist, mnist, notmnist

sys.path.insert(0, str(Path(__file__).parent))  # data_fuzz, shared with benchmarks/fuzz_data.py


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """Every test gets its own empty cache and no built-in mirror, so no test ever reaches the
    internet or the user's ~/.cache; tests that want a download set SVERTKA_MIRROR."""
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("SVERTKA_MIRROR", raising=False)
    for module in (mnist, fashion_mnist, notmnist, cifar10):
        monkeypatch.setattr(module, "SOURCE", dataclasses.replace(module.SOURCE, mirrors=()))


@pytest.fixture
def made_up_files(monkeypatch):
    """Tests that write small made-up files under the official names of MNIST, Fashion-MNIST
    and notMNIST drop those sets' recorded SHA-256, which such files cannot match."""
    for module in (mnist, fashion_mnist, notmnist):
        files = tuple(dataclasses.replace(f, sha256=None) for f in module.SOURCE.files)
        monkeypatch.setattr(module, "SOURCE", dataclasses.replace(module.SOURCE, files=files))


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
