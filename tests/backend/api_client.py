"""HTTP helpers for the backend tests: a client that fails on any 5xx, error checks,
fixture cards and a real server process that is surely ours."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from urllib.parse import quote

import requests

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from server_process import ServerProcess  # noqa: E402

FIXTURES = TESTS_DIR / "fixtures" / "hf-papers"
PAGES = (0, 1, 2)


# ----------------------------------------------------------------------------- fixture pages
def fixture_page(n: int) -> dict:
    """One saved listing page's parsed cards: ``{"query", "header_date", "records"}``."""
    return json.loads((FIXTURES / f"{n:03d}_records.json").read_text(encoding="utf-8"))


def page_url(n: int) -> str:
    return "https://huggingface.co/papers?q=" + quote(fixture_page(n)["query"])


def page_batch(n: int, url: str | None = None) -> dict:
    """The body the extension posts for a whole fixture page."""
    return {"papers": fixture_page(n)["records"],
            "source": {"url": url or page_url(n), "view": "search"}}


# ----------------------------------------------------------------------------- the client
class Api:
    """requests against one server, with its token; every answer is checked for 5xx."""

    def __init__(self, server: ServerProcess, token: str | None):
        self.server = server
        self.url = server.url
        self.port = server.port
        self.token = token
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, *, json_body=None, raw=None, headers=None,
                **kw) -> requests.Response:
        headers = dict(headers or {})
        data = raw
        if json_body is not None:
            data = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        response = self.http.request(method, self.url + path, data=data, headers=headers,
                                     timeout=60, **kw)
        assert response.status_code < 500, (
            f"{method} {path} answered {response.status_code}: {response.text[:500]}\n"
            f"--- server log ---\n{self.server.log()[-3000:]}")
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, json_body=body, **kw)

    def ok(self, method: str, path: str, body=None, status: int | tuple = (200, 201), **kw):
        """The JSON of a request that must succeed."""
        response = self.request(method, path, json_body=body, **kw)
        wanted = status if isinstance(status, tuple) else (status,)
        assert response.status_code in wanted, (
            f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    # -- shortcuts ------------------------------------------------------------
    def save(self, body) -> dict:
        return self.ok("POST", "/api/papers", body)

    def paper(self, paper_id: int) -> dict:
        return self.ok("GET", f"/api/papers/{paper_id}")

    def papers(self, **params) -> dict:
        return self.ok("GET", "/api/papers", params=params)

    def total(self, **params) -> int:
        return self.papers(limit=1, **params)["total"]

    def status(self) -> dict:
        return self.ok("GET", "/api/status")


def assert_error(response: requests.Response, status: int, field="__any__") -> dict:
    """A refused request: the status wanted and a JSON body with `error` and `field`."""
    assert response.status_code == status, (
        f"wanted {status}, got {response.status_code}: {response.text[:300]}")
    assert response.headers.get("Content-Type", "").startswith("application/json"), \
        response.headers.get("Content-Type")
    body = response.json()
    assert isinstance(body, dict) and set(body) >= {"error", "field"}, body
    assert isinstance(body["error"], str) and body["error"]
    if field != "__any__":
        assert body["field"] == field, body
    return body


_numbers = itertools.count(1)


def unique_card(**fields) -> dict:
    """A card no other card in the session resembles (its title carries a unique number)."""
    n = next(_numbers)
    card = {"arxiv_id": f"2601.{n:05d}",
            "title": f"Synthetic probe paper number {n} about sparse kernels",
            "authors": ["Test Author"], "upvotes": n, "published": "2025-01-15"}
    card.update(fields)
    return card


# ----------------------------------------------------------------------------- servers
def start_server(directory: Path, extra_env: dict | None = None) -> ServerProcess:
    """Start a server and make sure the one answering on its port is really it.

    ``free_port()`` can hand out a port that another process (a parallel test run) takes
    before our server binds it; then the ping that `start()` waits for is answered by the
    other server. Our token and data dir tell the two apart; on a mix-up, try a new port.
    ``extra_env`` is added to the server's environment (kept for restarts).
    """
    problem = ""
    for attempt in range(4):
        server = ServerProcess(directory / f"data{attempt or ''}", extra_env=extra_env)
        try:
            server.start()
        except RuntimeError as exc:  # e.g. the port was taken meanwhile
            problem = str(exc)
            server.kill()
            continue
        server.api_token = server.token
        try:
            status = requests.get(server.url + "/api/status", timeout=30,
                                  headers={"Authorization": f"Bearer {server.api_token}"})
            if status.ok and status.json().get("data_dir") == str(server.data_dir) \
                    and server.proc.poll() is None:
                return server
            problem = f"{status.status_code} {status.text[:200]}"
        except requests.RequestException as exc:
            problem = str(exc)
        server.kill()
    raise RuntimeError(f"could not start a server of our own: {problem}")


