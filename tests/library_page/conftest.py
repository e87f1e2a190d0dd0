"""Browser tests of the library page: Debian's chromium (Playwright) against a real
`papershelf serve` process with a library built from the fixture records."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from page_library import build_library  # noqa: E402
from server_process import ServerProcess  # noqa: E402

CHROMIUM = os.environ.get("PAPERSHELF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser(playwright):
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


class Backend:
    def __init__(self, server: ServerProcess):
        self.server = server
        self.url = server.url
        self.http = server.session()

    def get(self, path, **params):
        answer = self.http.get(self.url + "/api" + path, params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def post(self, path, body):
        answer = self.http.post(self.url + "/api" + path, json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def paper(self, paper_id):
        return self.get(f"/papers/{paper_id}")

    def find(self, **params):
        return self.get("/papers", limit=500, **params)["papers"]

    def by_title(self, needle):
        for p in self.find():
            if needle in p["title"]:
                return p
        raise AssertionError(f"no paper with {needle!r} in its title")


@pytest.fixture(scope="session")
def library_template(tmp_path_factory):
    """A data dir holding the fixture library, built once through the API; tests run on
    copies of it."""
    data = tmp_path_factory.mktemp("template") / "data"
    data.mkdir()
    server = ServerProcess(data).start()
    try:
        summary = build_library(Backend(server).http, server.url)
    finally:
        server.stop()
    return data, summary


def _serve_copy(template, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(template[0], data)
    server = ServerProcess(data).start()
    b = Backend(server)
    b.summary = template[1]
    return server, b


@pytest.fixture
def backend(library_template, tmp_path):
    """A fresh server on a copy of the fixture library (the test may change it)."""
    server, b = _serve_copy(library_template, tmp_path)
    yield b
    server.stop()


@pytest.fixture(scope="module")
def shared_backend(library_template, tmp_path_factory):
    """One server per module for tests that only read."""
    server, b = _serve_copy(library_template, tmp_path_factory.mktemp("shared"))
    yield b
    server.stop()


@pytest.fixture
def empty_backend(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = ServerProcess(data).start()
    yield Backend(server)
    server.stop()


def _new_page(browser, url, color_scheme="light", **kw):
    ctx = browser.new_context(viewport={"width": 1400, "height": 880}, color_scheme=color_scheme,
                              accept_downloads=True, **kw)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    page.set_default_timeout(15_000)
    return ctx, page


@pytest.fixture
def open_page(browser):
    """open_page(backend, hash="", color_scheme="light") -> page with the list loaded."""
    contexts = []

    def opener(b, hash_="", color_scheme="light", wait_rows=True):
        ctx, page = _new_page(browser, b.url, color_scheme)
        contexts.append(ctx)
        page.goto(b.url + "/" + hash_)
        page.wait_for_selector("body[data-ready=true]")
        if wait_rows:
            page.wait_for_selector("#list .row:not(.loading):not([hidden])")
        return page

    yield opener
    for ctx in contexts:
        ctx.close()


def _checked(p):
    yield p
    # Errors the page logged (uncaught exceptions, failed requests) fail the test.
    real = [e for e in p.errors if "favicon" not in e]
    assert not real, real


@pytest.fixture
def page(open_page, backend):
    """The page on a fresh copy of the library."""
    yield from _checked(open_page(backend))


@pytest.fixture
def ro_page(open_page, shared_backend):
    """The page on the module's shared library: for tests that change nothing."""
    yield from _checked(open_page(shared_backend))
