"""Hostile pages and hostile data against Papershelf, in Debian's Chromium.

* Attack pages served from other local origins (another port on 127.0.0.1, ``localhost``,
  DNS-rebinding names) try to read or change the library (``test_hostile_pages.py``); the
  same attacks as plain HTTP requests check that the server refuses on its own
  (``test_hostile_requests.py``).
* A listing page full of script/HTML payloads is saved through the real extension and
  shown in every view (``test_script_payloads.py``).
* Saves made while the backend is down survive a browser restart (``test_outbox_restart.py``).

The extension suite's constants (tests/extension/conftest.py: Chromium, the extension, the
saved Hugging Face pages) are reused; the listing pages are built from those saved pages.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from hostile_env import BASE_ARGS, CHROMIUM, REBIND_HOST, need_chromium  # noqa: E402
from hostile_servers import HostileSite, Sink  # noqa: E402


@pytest.fixture(scope="session")
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def hostile_site():
    s = HostileSite().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def attack_browser(playwright):
    """A plain Chromium (no extension) in which `rebind.test` resolves to 127.0.0.1."""
    need_chromium()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=BASE_ARGS + [f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1"])
    yield browser
    browser.close()


@pytest.fixture
def profile_dir(tmp_path):
    path = tmp_path / "chromium-profile"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)
