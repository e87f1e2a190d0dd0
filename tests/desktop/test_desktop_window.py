"""The real desktop window: pywebview (Qt) under Xvfb, against a real backend."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from page_library import build_library
from server_process import ServerProcess, free_port

pytestmark = pytest.mark.desktop

REPO = Path(__file__).resolve().parents[2]


class Desktop:
    """`python -m papershelf_desktop` as a child process, driven through its control port."""

    def __init__(self, data_dir: Path, env: dict, port: int | None = None, log: Path | None = None):
        self.data_dir = data_dir
        self.env = env
        self.port = port
        self.log_path = log or data_dir.parent / "desktop.log"
        self.proc: subprocess.Popen | None = None

    def command(self):
        cmd = [sys.executable, "-m", "papershelf_desktop", "--data-dir", str(self.data_dir)]
        if self.port is not None:
            cmd += ["--port", str(self.port)]
        return cmd

    def start(self) -> "Desktop":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def send(self, cmd, **fields):
        from papershelf_desktop import single
        return single.send(self.data_dir, cmd, timeout=30, **fields)

    def wait_state(self, predicate, timeout=90.0):
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the desktop process exited with {self.proc.returncode}:\n{self.log()}")
            try:
                state = self.send("state")
                if state.get("ok") and state.get("page") and predicate(state):
                    return state
            except (ConnectionError, OSError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"the window never got there; last state {state}\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def library_server(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = ServerProcess(data).start()
    build_library(server.session(), server.url)
    yield server
    server.stop()


def test_window_attaches_renders_and_second_launch_focuses_it(library_server, desktop_env, artifacts_dir):
    data = library_server.data_dir
    total = library_server.session().get(library_server.url + "/api/papers", params={"limit": 1}).json()["total"]
    first = Desktop(data, desktop_env).start()
    try:
        state = first.wait_state(lambda s: s["page"]["ready"] and s["page"]["sidebar"]
                                 and s["page"]["rows"] > 0 and s["page"]["total"] == total)
        assert state["url"].startswith(library_server.url)  # attached to the running server
        assert state["windows"] == 1
        assert state["page"]["desktop"] is True
        assert state["page"]["rendered"] < total  # only visible rows exist
        shot = first.send("screenshot", path=str(artifacts_dir / "desktop-window.png"))
        assert shot["ok"], shot
        png = Path(shot["path"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

        # a second launch on the same library: no second window, the first is focused
        second = Desktop(data, desktop_env, log=data.parent / "desktop-2.log").start()
        assert second.proc.wait(60) == 0, second.log()
        assert "already open" in second.log()
        state = first.send("state")
        assert state["focus_requests"] == 1 and state["windows"] == 1
        assert first.proc.poll() is None

        # close cleanly: the window goes, the attached server stays
        assert first.send("close")["ok"]
        assert first.proc.wait(30) == 0, first.log()
        assert not (data / "desktop.json").exists()
        assert requests.get(library_server.url + "/api/ping", timeout=5).ok
    finally:
        first.stop()


def test_window_starts_its_own_backend_and_stops_it(tmp_path, desktop_env, artifacts_dir):
    data = tmp_path / "data"
    port = free_port()
    desk = Desktop(data, desktop_env, port=port).start()
    try:
        state = desk.wait_state(lambda s: s["page"]["ready"] and s["page"]["sidebar"] and s["page"]["empty"])
        info = json.loads((data / "server.json").read_text())
        assert info["pid"] == desk.proc.pid and int(info["port"]) == port
        assert state["url"].startswith(f"http://127.0.0.1:{port}")
        desk.send("screenshot", path=str(artifacts_dir / "desktop-empty.png"))
        # the in-process server is a real one: the CLI's token works against it
        server = ServerProcess(data, port=port)
        assert requests.get(f"http://127.0.0.1:{port}/api/status",
                            headers={"Authorization": f"Bearer {server.token}"}, timeout=5).ok
        # SIGTERM (logout, `kill`) closes the window the same clean way
        desk.proc.terminate()
        assert desk.proc.wait(30) == 0, desk.log()
        assert not (data / "desktop.json").exists()
        assert not (data / "server.json").exists()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/api/ping", timeout=5)
    finally:
        desk.stop()


def test_export_in_the_window_goes_through_the_save_dialog(library_server, desktop_env, tmp_path):
    """The page's export is a download; the window saves it where the save dialog says
    (the test answers the dialog through PAPERSHELF_TEST_SAVE_AS)."""
    if requests.get(library_server.url + "/api/export.bib", headers=library_server.session().headers,
                    timeout=30).status_code == 404:
        pytest.fail("the backend does not serve GET /api/export.bib")
    target = tmp_path / "chosen" / "my-export.bib"
    target.parent.mkdir()
    env = dict(desktop_env, PAPERSHELF_TEST_SAVE_AS=str(target))
    desk = Desktop(library_server.data_dir, env).start()
    try:
        desk.wait_state(lambda s: s["page"]["ready"] and s["page"]["rows"] > 0)
        desk.send("eval", script="document.getElementById('export-btn').click()")
        desk.send("eval", script="document.getElementById('export-go').click()")
        state = desk.wait_state(lambda s: s["saved"])
        assert state["saved"] == [str(target)]
        from pybtex.database import parse_string
        total = library_server.session().get(library_server.url + "/api/papers",
                                             params={"limit": 1}).json()["total"]
        assert len(parse_string(target.read_text(encoding="utf-8"), "bibtex").entries) == total
        assert desk.send("close")["ok"]
        assert desk.proc.wait(30) == 0
    finally:
        desk.stop()
