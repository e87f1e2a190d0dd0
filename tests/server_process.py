"""A real Papershelf backend process for tests: start, stop, kill -9, restart.

Tests that need the backend talk to it over HTTP exactly as the extension and the
library page do; nothing here reaches into the server's memory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`papershelf serve` on a free loopback port and a given data dir."""

    def __init__(self, data_dir: Path, port: int | None = None, extra_env: dict | None = None,
                 popen_options: dict | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        # e.g. {"preexec_fn": ...} to set resource limits on the server process
        self.popen_options = popen_options or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "ServerProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "papershelf", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, **self.popen_options,
        )
        self._log.close()  # the server has its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/api/ping", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass  # not listening yet, or still loading the library
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- talking to it ---------------------------------------------------
    @property
    def token(self) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "papershelf", "token", "--data-dir", str(self.data_dir)],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def session(self) -> requests.Session:
        """A client authenticated the way a paired extension is."""
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s
