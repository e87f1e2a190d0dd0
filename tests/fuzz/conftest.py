"""Shared setup of the fuzz tests: the backend tests' helpers on the path, the report at the end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The backend tests' HTTP helpers (Api, start_server, fixture pages) serve here too.
BACKEND_TESTS = Path(__file__).resolve().parents[1] / "backend"
if str(BACKEND_TESTS) not in sys.path:
    sys.path.insert(0, str(BACKEND_TESTS))

from .fuzzing import LONG, TALLY  # noqa: E402


def pytest_report_header(config):
    return f"fuzz: {'long run (PAPERSHELF_FUZZ=long)' if LONG else 'short run'}"


def pytest_sessionfinish(session, exitstatus):
    report = os.environ.get("PAPERSHELF_FUZZ_REPORT")
    if report:
        TALLY.write(report)
