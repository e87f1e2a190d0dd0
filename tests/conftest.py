"""Fixtures shared by every test package."""

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
REPO_DIR = TESTS_DIR.parent
FIXTURES_DIR = TESTS_DIR / "fixtures"

sys.path.insert(0, str(TESTS_DIR))  # so tests can import server_process

# Servers started by tests never look papers up on the internet; the enrichment tests
# point an enricher at a local fake server explicitly.
os.environ["PAPERSHELF_ENRICH"] = "0"


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A fresh, empty library folder."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and files for a person to look at (git-ignored)."""
    path = REPO_DIR / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver for the whole run: its sync API allows only one at a time,
    and the extension and library-page suites both keep a browser open per session."""
    from playwright.sync_api import expect, sync_playwright
    # Assertions wait as long as the pages' actions do (15-20 s), not Playwright's 5 s:
    # on a shared, loaded machine a slow answer is not a wrong one. Tests that claim
    # "at once" pass their own, shorter timeout.
    expect.set_options(timeout=15_000)
    driver = sync_playwright().start()
    yield driver
    driver.stop()
