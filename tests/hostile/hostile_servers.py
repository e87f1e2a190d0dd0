"""Small local HTTP servers for the hostile-page tests.

* :class:`HostileSite` serves attack pages from another local origin (another port on
  127.0.0.1, reachable as ``localhost`` too) and keeps every request it receives, so a test
  can see which cookies the browser sent along.
* :class:`Sink` counts beacon hits: a payload that runs anywhere (a page, an extension page,
  a stylesheet) calls it, and the count is how a test knows.

Both run in a thread of the test process and are stopped by the fixture that started them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _Server:
    handler_class: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.lock = threading.Lock()
        outer = self

        class Handler(self.handler_class):  # type: ignore[misc, valid-type]
            server_state = outer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/plain",
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""


# ----------------------------------------------------------------------------- the sink
class _SinkHandler(_QuietHandler):
    server_state: "Sink"

    def do_OPTIONS(self) -> None:  # a payload's fetch may ask first; say yes to everything
        self.server_state.record(self.path, "OPTIONS")
        self._send(204, headers={"Access-Control-Allow-Origin": "*",
                                 "Access-Control-Allow-Headers": "*",
                                 "Access-Control-Allow-Private-Network": "true"})

    def do_GET(self) -> None:
        self.server_state.record(self.path, "GET")
        # A 1x1 GIF: works as an image, a stylesheet background and a fetch target.
        gif = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c"
                            "00000000010001000002024401003b")
        self._send(200, gif, "image/gif", {"Access-Control-Allow-Origin": "*"})

    def do_POST(self) -> None:
        self._body()
        self.server_state.record(self.path, "POST")
        self._send(204, headers={"Access-Control-Allow-Origin": "*"})


class Sink(_Server):
    """Counts hits; ``url(run, payload)`` is the beacon address a payload calls."""

    handler_class = _SinkHandler

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[dict] = []

    def record(self, path: str, method: str) -> None:
        # /hit/<run>/<payload>[/<anything>]
        parts = urlsplit(path).path.strip("/").split("/")
        hit = {"path": urlsplit(path).path, "method": method,
               "run": parts[1] if len(parts) > 1 else None, "p": parts[2] if len(parts) > 2 else None}
        with self.lock:
            self.hits.append(hit)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, run: str, payload: str) -> str:
        """The beacon address (no '&' or quotes: it goes into HTML attributes and CSS)."""
        return f"{self.base}/hit/{run}/{payload}"

    def count(self, run: str | None = None) -> int:
        with self.lock:
            return sum(1 for h in self.hits if h["method"] != "OPTIONS"
                       and (run is None or h.get("run") == run))

    def by_payload(self, run: str) -> Counter:
        with self.lock:
            return Counter(h.get("p") for h in self.hits if h["method"] != "OPTIONS" and h.get("run") == run)


# ----------------------------------------------------------------------------- attack pages
class _SiteHandler(_QuietHandler):
    server_state: "HostileSite"

    def _note(self, body: bytes = b"") -> None:
        with self.server_state.lock:
            self.server_state.requests.append({"method": self.command, "path": self.path,
                                               "headers": dict(self.headers), "body": body})

    def do_GET(self) -> None:
        self._note()
        page = self.server_state.pages.get(urlsplit(self.path).path)
        if page is None:
            self._send(404, b"not here")
        else:
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        body = self._body()
        self._note(body)
        if urlsplit(self.path).path == "/report":
            try:
                report = json.loads(body.decode("utf-8"))
            except ValueError:
                report = {"unreadable": body[:200].decode("utf-8", "replace")}
            with self.server_state.lock:
                self.server_state.reports.append(report)
        self._send(204)


class HostileSite(_Server):
    """Pages of a web site the user happens to visit, on another local port."""

    handler_class = _SiteHandler

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, str] = {}
        self.requests: list[dict] = []
        self.reports: list[dict] = []

    def origin(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def cookies_received(self) -> list[str]:
        with self.lock:
            return [r["headers"].get("Cookie", "") for r in self.requests if r["headers"].get("Cookie")]
