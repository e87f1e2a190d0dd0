"""One desktop window per library.

The first window on a data dir holds an exclusive lock on ``<data dir>/desktop.lock``
(released by the OS if the process dies) and listens on a loopback control port for
messages from later launches. It writes ``<data dir>/desktop.json`` (pid, port and a
random secret; readable by the owner only). A second launch fails to take the lock,
reads desktop.json and sends ``focus``: the first window comes to the front and the
second launch exits.

Messages are one JSON object per line, each carrying the secret; the answer is one JSON
line. Commands: ``focus``, ``state`` (window and page state, for tests and scripts),
``screenshot`` (PNG of the window to a path) and ``close``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from papershelf.locks import FileLock

LOCK_NAME = "desktop.lock"
INFO_NAME = "desktop.json"


class DesktopLock(FileLock):
    """The lock a library's first window holds."""

    def __init__(self, data_dir: Path):
        super().__init__(Path(data_dir) / LOCK_NAME)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_info(data_dir: Path) -> dict | None:
    try:
        info = json.loads((Path(data_dir) / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(info, dict) and isinstance(info.get("port"), int) and info.get("secret"):
        return info
    return None


class ControlServer:
    """The first window's loopback listener. ``handler(command, message) -> dict``."""

    def __init__(self, data_dir: Path, handler: Callable[[str, dict], dict]):
        self.data_dir = Path(data_dir)
        self.handler = handler
        self.secret = secrets.token_urlsafe(32)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="papershelf-desktop-control",
                                        daemon=True)

    def start(self) -> "ControlServer":
        self._thread.start()
        _write_private(self.data_dir / INFO_NAME, json.dumps(
            {"pid": os.getpid(), "port": self.port, "secret": self.secret}).encode())
        return self

    def stop(self) -> None:
        self._stopped.set()
        info = read_info(self.data_dir)
        if info and info.get("pid") == os.getpid():
            (self.data_dir / INFO_NAME).unlink(missing_ok=True)
        try:
            self._sock.close()
        except OSError:
            pass

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                line = _read_line(conn)
                message = json.loads(line)
                if not isinstance(message, dict) or not secrets.compare_digest(
                        str(message.get("secret", "")), self.secret):
                    answer = {"ok": False, "error": "wrong secret"}
                else:
                    conn.settimeout(60)
                    answer = self.handler(str(message.get("cmd", "")), message)
            except Exception as exc:  # noqa: BLE001 - answer, don't die
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            try:
                conn.sendall(json.dumps(answer).encode() + b"\n")
            except OSError:
                pass


def _read_line(conn: socket.socket, limit: int = 65536) -> str:
    buf = b""
    while b"\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) > limit:
            raise ValueError("message too long")
    return buf.split(b"\n", 1)[0].decode("utf-8")


def send(data_dir: Path, cmd: str, timeout: float = 10.0, **fields) -> dict:
    """Send a command to the window that owns ``data_dir``; retries while it starts up."""
    deadline = time.monotonic() + timeout
    last_error = "no desktop window is running for this library"
    while True:
        info = read_info(data_dir)
        if info:
            try:
                with socket.create_connection(("127.0.0.1", info["port"]), timeout=5) as conn:
                    conn.settimeout(max(5.0, timeout))
                    conn.sendall(json.dumps({"secret": info["secret"], "cmd": cmd, **fields}).encode() + b"\n")
                    return json.loads(_read_line(conn))
            except (OSError, ValueError) as exc:
                last_error = str(exc)
        if time.monotonic() >= deadline:
            raise ConnectionError(last_error)
        time.sleep(0.1)
