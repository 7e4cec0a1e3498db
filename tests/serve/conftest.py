"""Fixtures of the browser tests: the served app on a free port of 127.0.0.1 (waitress in a
daemon thread of this process), Debian's headless Chromium driven by Playwright, and a
folder for the screenshots.

Without Playwright or ``/usr/bin/chromium`` the browser tests skip, saying which is missing,
unless ``SVERTKA_REQUIRE_BROWSER=1`` (CI): then they fail. Screenshots go to
``$SVERTKA_SCREENSHOTS`` (``docs/serve`` makes the README's pictures) or else to a temporary
folder, so an ordinary test run never writes into the repository.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 900}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright (Python) is not installed: pip install playwright"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: apt-get install chromium"
    return None


def skip_or_fail(reason: str):
    if os.environ.get("SVERTKA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SVERTKA_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


class Served:
    """A WSGI app served by waitress on 127.0.0.1, on a port the system picks."""

    def __init__(self, app):
        import waitress

        self.app = app
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def close(self):
        from waitress import wasyncore

        self.server.task_dispatcher.shutdown()
        self.server.close()
        wasyncore.close_all(self.server._map)  # open keep-alive channels end the loop too
        self.thread.join(timeout=5)
        session = self.app.extensions.get("svertka.serve")  # its worker thread, its training
        if hasattr(session, "close"):
            session.close()


@pytest.fixture(scope="session")
def serve_model():
    """``serve_model(spec)``: the app of ``make_app(spec)`` served, one per spec for the
    whole session (None: the default model, the notes' one)."""
    from svertka.serve import make_app

    servers = {}

    def served(spec=None) -> Served:
        if spec not in servers:
            servers[spec] = Served(make_app(spec))
        return servers[spec]

    yield served
    for server in servers.values():
        server.close()


@pytest.fixture(scope="session")
def served_app(serve_model):
    return serve_model(None)


@pytest.fixture
def fresh_app():
    """An app of its own, for a test that changes the model (training)."""
    from svertka.serve import make_app

    served = Served(make_app())
    yield served
    served.close()


@pytest.fixture(scope="session")
def browser():
    reason = browser_missing()
    if reason:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageRecord:
    """What a page did that a test may want to check afterwards: uncaught script errors,
    every request's URL and the JSON answers of /api/predict (passed through a route, so
    that their bodies are read before the page sees them: Chromium's inspector may have
    dropped them by the time a test asks), in the order they came back, and the answer to
    the newest request among them (``latest``: the one the page shows, since it drops an
    older request's answer that comes back late)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.predictions: list[dict] = []
        self.latest: dict | None = None
        self.pending = 0
        self._asked = self._latest_asked = 0
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda request: self.urls.append(request.url))
        page.route("**/api/predict*", self._predict)

    def _predict(self, route):
        self.pending += 1
        self._asked += 1
        asked = self._asked
        try:
            response = route.fetch()
            if response.ok:
                self.predictions.append(response.json())
                if asked > self._latest_asked:
                    self.latest, self._latest_asked = self.predictions[-1], asked
            route.fulfill(response=response)
        finally:
            self.pending -= 1


def open_page(browser, url: str, has_touch: bool = True):
    """``(context, page, record)``: a fresh page at ``url`` in a browser context of its own."""
    context = browser.new_context(viewport=VIEWPORT, has_touch=has_touch,
                                  device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    record = PageRecord(page)
    page.goto(url + "/")
    return context, page, record


@contextlib.contextmanager
def browsing(browser, served: Served):
    """A fresh page of ``served`` with its ``record`` and ``base_url``; closed afterwards,
    and an uncaught error in the page's scripts fails the test."""
    context, page, record = open_page(browser, served.url)
    page.record, page.base_url = record, served.url
    try:
        yield page
    finally:
        context.close()
    assert not record.errors, f"uncaught errors in the page's scripts: {record.errors}"


@pytest.fixture
def page(browser, served_app):
    """A fresh page of the default app."""
    with browsing(browser, served_app) as p:
        yield p


@pytest.fixture
def page_of(browser):
    """``with page_of(served) as page``: a fresh page of another served app."""
    return lambda served: browsing(browser, served)


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    """``shots(name, target)``: a PNG of ``target`` (a page or a locator) saved as
    ``<folder>/<name>.png``; the folder is ``$SVERTKA_SCREENSHOTS`` or a temporary one."""
    folder = os.environ.get("SVERTKA_SCREENSHOTS")
    folder = Path(folder) if folder else tmp_path_factory.mktemp("serve-screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def shot(name: str, target, **options):
        path = folder / f"{name}.png"
        target.screenshot(path=str(path), **options)
        return path

    shot.folder = folder
    return shot
