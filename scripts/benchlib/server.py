"""A real backend process (``python -m papershelf serve``) on a copy of a library, and a
keep-alive HTTP client for it.

The token is read from ``secrets.json`` in the data dir (the builder wrote it), so no
request is needed before the first measured one.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token_of(data_dir: Path) -> str:
    return json.loads((Path(data_dir) / "secrets.json").read_text())["token"]


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Client:
    """One keep-alive HTTP/1.1 connection, authenticated like a paired extension."""

    def __init__(self, port: int, token: str, timeout: float = 3600):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=self.headers)
                answer = self.conn.getresponse()
                return answer.status, answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: open a new one once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def timed(self, method: str, path: str, body: bytes | None = None) -> tuple[float, bytes]:
        """(milliseconds, answer body); anything but 2xx is an error."""
        t0 = time.perf_counter()
        status, data = self.request(method, path, body)
        elapsed = (time.perf_counter() - t0) * 1000
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} answered {status}: {data[:300]!r}")
        return elapsed, data

    def close(self) -> None:
        self.conn.close()


class Backend:
    """``papershelf serve`` on ``data_dir`` with the given backend sources first on
    PYTHONPATH; enrichment off (no network)."""

    def __init__(self, data_dir: Path, python: str, pythonpath: str, log_dir: Path):
        self.data_dir = Path(data_dir)
        self.python = python
        self.pythonpath = pythonpath
        self.port = free_port()
        self.token = token_of(self.data_dir)
        self.log_path = Path(log_dir) / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict:
        env = dict(os.environ, PAPERSHELF_ENRICH="0", PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = self.pythonpath
        return env

    def start(self, timeout: float = 300) -> float:
        """Start and wait until a request that touches the library is answered; returns
        the seconds from process start to that answer (the cold start)."""
        body = json.dumps({"arxiv_ids": ["2501.00001"]}).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.python, "-m", "papershelf", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=log, stderr=subprocess.STDOUT, env=self._env())
        log.close()
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited with {self.proc.returncode}:\n{self.log()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                conn.request("POST", "/api/papers/lookup", body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                if answer.status == 200:
                    return time.perf_counter() - t0
                raise RuntimeError(f"lookup answered {answer.status}:\n{self.log()}")
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.002)
            finally:
                conn.close()
        self.stop()
        raise RuntimeError(f"backend did not answer within {timeout}s:\n{self.log()}")

    def wait_until_indexed(self, timeout: float = 600) -> float:
        """Wait until the backend has built its search, list and duplicate indexes and
        checked its stored BibTeX renderings (background work after start, see
        ``indexes_ready`` and ``renderings_pending``); returns the seconds waited.
        The steady-state figures are measured after this, the cold start before it."""
        client = self.client()
        t0 = time.perf_counter()
        try:
            while time.perf_counter() - t0 < timeout:
                status, body = client.request("GET", "/api/status")
                answer = json.loads(body) if status == 200 else {}
                if answer.get("indexes_ready", True) and not answer.get("renderings_pending"):
                    return time.perf_counter() - t0
                time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"indexes not ready within {timeout}s:\n{self.log()}")

    def client(self) -> Client:
        return Client(self.port, self.token)

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid) if self.proc else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class BareServer:
    """``benchlib.bare_server``: the same waitress set-up as ours, with a WSGI app that
    answers at once. Timing the same requests against it, in the same rounds, gives the
    part of our times that is the transport and the machine's scheduling."""

    def __init__(self, python: str, pythonpath: str):
        env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([python, "-m", "benchlib.bare_server"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the bare server did not start: {line!r}")
        self.port = int(line)

    def client(self) -> Client:
        return Client(self.port, "none")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
