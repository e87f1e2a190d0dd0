"""Desktop-window tests: the real pywebview window (Qt) under Xvfb, started by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "library_page"))


@pytest.fixture(scope="session")
def xvfb():
    """A private X server; yields its DISPLAY value."""
    exe = shutil.which("Xvfb")
    if not exe:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def desktop_env(xvfb):
    """The environment a desktop process runs in during tests (no sandbox as root)."""
    env = dict(os.environ)
    # PAPERSHELF_DESKTOP_TEST enables the control channel's "eval" command and
    # PAPERSHELF_TEST_SAVE_AS (the answer the save dialog would give).
    env.update(DISPLAY=xvfb, QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox", PYTHONUNBUFFERED="1",
               QT_QPA_PLATFORM="xcb", PAPERSHELF_DESKTOP_TEST="1")
    env.pop("WAYLAND_DISPLAY", None)
    return env
