"""What the hostile tests share: how Chromium is started, the extension browser, a backend."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent

from server_process import ServerProcess  # noqa: E402


def _extension_conftest():
    """tests/extension/conftest.py as a module of its own name (its classes, not its fixtures)."""
    name = "papershelf_extension_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / "extension" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


ext_conftest = _extension_conftest()
CHROMIUM = ext_conftest.CHROMIUM
EXTENSION = ext_conftest.EXTENSION
FIXTURES = ext_conftest.FIXTURES

# What Debian's chromium is started with in every test of this package. Local Network Access
# checks are off: the browser then lets every request through to 127.0.0.1, so what stops an
# attack is the server, and a payload's beacon reaches the sink from any page.
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=LocalNetworkAccessChecks",
]
REBIND_HOST = "rebind.test"


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")


class ExtensionBrowser:
    """A persistent Chromium profile with the unpacked extension; can be closed and
    launched again on the same profile (the outbox lives in the profile)."""

    def __init__(self, playwright, profile: Path, *, bypass_csp: bool = False, route=None):
        self.playwright = playwright
        self.profile = Path(profile)
        self.bypass_csp = bypass_csp
        self.route = route
        self.ctx = None
        self.ext_id = None

    def launch(self) -> "ExtensionBrowser":
        need_chromium()
        ext = str(EXTENSION)
        self.ctx = self.playwright.chromium.launch_persistent_context(
            str(self.profile), executable_path=CHROMIUM, headless=True,
            args=[f"--disable-extensions-except={ext}", f"--load-extension={ext}", *BASE_ARGS],
            viewport={"width": 1280, "height": 900}, bypass_csp=self.bypass_csp,
            accept_downloads=True)
        self.ctx.set_default_timeout(20_000)
        if self.route:
            self.ctx.route(re.compile(r"^https://"), self.route)
        sw = self.ctx.service_workers[0] if self.ctx.service_workers else self.ctx.wait_for_event("serviceworker")
        self.ext_id = sw.url.split("/")[2]
        return self

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None

    @property
    def worker(self):
        workers = [w for w in self.ctx.service_workers if self.ext_id in w.url]
        return workers[0] if workers else self.ctx.wait_for_event("serviceworker")

    def ext_url(self, page: str) -> str:
        return f"chrome-extension://{self.ext_id}/{page}"

    def storage(self, key: str):
        return self.worker.evaluate("async (k) => (await chrome.storage.local.get(k))[k]", key)

    def badge(self) -> str:
        return self.worker.evaluate("() => chrome.action.getBadgeText({})")

    def pair(self, backend_url: str, token: str) -> None:
        """Pair as the options page does with a pasted code (the background's own handler)."""
        answer = self.worker.evaluate(
            "([u, t]) => papershelfBackground.handlers.pair({backendUrl: u, token: t})",
            [backend_url, token])
        assert answer.get("ok"), answer


def start_backend(root: Path) -> ServerProcess:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    return ServerProcess(data).start()
