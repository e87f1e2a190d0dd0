"""Real Chromium with the unpacked extension, a real backend, saved Hugging Face pages.

Requests to https://huggingface.co are answered from tests/fixtures/hf-papers by request
routing (each page is served for the URL in its og:url tag); every other https request gets
a 404, so nothing reaches the network. The backend is a real `papershelf serve` process on a
temporary data dir (tests/server_process.py); the extension is paired through its options
page exactly as a person does it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from server_process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extension"
FIXTURES = REPO / "tests" / "fixtures" / "hf-papers"
CHROMIUM = "/usr/bin/chromium"
SETS = ("000", "001", "002")
KINDS = ("search", "date", "trending", "legacy2024")


def og_url(html: str) -> str:
    return re.search(r'<meta property="og:url" content="([^"]+)"', html).group(1)


class Fixtures:
    """The saved pages: URL, html and expected records by (set, kind).

    Each page is served for the URL in its og:url tag. The three trending pages all claim
    /papers/trending, so sets 001 and 002 add ?fixture=NNN to theirs.
    """

    def __init__(self) -> None:
        self.pages: dict[tuple[str, str], tuple[str, str]] = {}
        self.records: dict[str, list[dict]] = {}
        for s in SETS:
            self.records[s] = json.loads((FIXTURES / f"{s}_records.json").read_text())["records"]
            for k in KINDS:
                html = (FIXTURES / f"{s}_{k}.html").read_text()
                url = og_url(html)
                if k == "trending" and s != "000":
                    url += f"?fixture={s}"
                self.pages[(s, k)] = (url, html)

    def url(self, s: str, k: str) -> str:
        return self.pages[(s, k)][0]

    def html(self, s: str, k: str) -> str:
        return self.pages[(s, k)][1]

    def ids(self, s: str) -> list[str]:
        return [r["arxiv_id"] for r in self.records[s]]


@pytest.fixture(scope="session")
def fixtures() -> Fixtures:
    return Fixtures()


class Site:
    """Which page answers which huggingface.co URL; tests may add pages. Anything else: 404."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.by_url: dict[str, str] = {url: html for url, html in fixtures.pages.values()}

    def handle(self, route) -> None:
        html = self.by_url.get(route.request.url)
        if html is None:
            route.fulfill(status=404, content_type="text/plain", body="not in the test fixtures")
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    root = tmp_path_factory.mktemp("papershelf")
    server = ServerProcess(root / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory, fixtures, playwright):
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")

    profile = tmp_path_factory.mktemp("chromium-profile")
    ext = str(EXTENSION)
    args = [
        f"--disable-extensions-except={ext}",
        f"--load-extension={ext}",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    site = Site(fixtures)
    ctx = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=args,
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(20_000)
    ctx.route(re.compile(r"^https://"), site.handle)
    sw = ctx.service_workers[0] if ctx.service_workers else ctx.wait_for_event("serviceworker")
    ext_id = sw.url.split("/")[2]
    yield Browser(ctx, ext_id, site)
    ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


class Browser:
    def __init__(self, ctx, ext_id: str, site: Site) -> None:
        self.ctx = ctx
        self.ext_id = ext_id
        self.site = site

    @property
    def worker(self):
        workers = [w for w in self.ctx.service_workers if self.ext_id in w.url]
        return workers[0] if workers else self.ctx.wait_for_event("serviceworker")

    def ext_url(self, page: str) -> str:
        return f"chrome-extension://{self.ext_id}/{page}"

    def storage(self, key: str):
        return self.worker.evaluate(f"async () => (await chrome.storage.local.get({json.dumps(key)}))[{json.dumps(key)}]")

    def badge(self) -> str:
        return self.worker.evaluate("() => chrome.action.getBadgeText({})")


@pytest.fixture(scope="session")
def paired(browser, backend):
    """Pair the extension through its options page with what `papershelf token` prints."""
    page = browser.ctx.new_page()
    page.goto(browser.ext_url("options.html"))
    from playwright.sync_api import expect

    expect(page.locator("#status")).not_to_have_text("Checking…")
    page.get_by_label("Backend address").fill(backend.url)
    page.get_by_label("Pairing code").fill(backend.token)
    page.get_by_role("button", name="Pair", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Paired")
    page.close()
    return browser


def library_text(data_dir: Path) -> str:
    """Everything the backend has written to its library files (snapshot and journal)."""
    parts = []
    for path in sorted((data_dir / "library").rglob("*")):
        if path.is_file():
            parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)
