"""Driving a real server with generated requests: steering them at things that exist,
checking each answer, and keeping the library in a state worth fuzzing.

Every request passes the guard (a loopback ``Host``, no ``Origin``, JSON bodies, the
install's token), so what gets tested is the API behind it, not the 401/403/415 doors.

Invariants checked after every request:

* no 5xx, the server process still runs;
* the guard let it through (no 401, 403 or 415);
* a refused request (4xx) committed nothing: the storage's change counter on disk is
  the same before and after (so no half-applied batch, merge, import or bulk action) --
  unless the only change is citation keys given to papers that had none, which the
  auto-export thread does on its own whenever it writes a .bib file;
* a saved batch has one result per card.

Nothing is excluded: pairing requests are approved and denied, paired clients revoked,
auto-exports bound -- none of that can lock the fuzzer out, since the install token it
uses is not a paired client's and only ``papershelf token --rotate`` (not an API call)
changes it. Auto-export paths are moved under a temporary folder (and ``HOME`` points
there) so that no file is written anywhere else.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

import requests
from hypothesis import strategies as st

from api_client import page_batch
from papershelf import storage

from .fuzzing import PartialChange, ServerCrash, ServerError

GUARD_STATUSES = (401, 403, 415)
MAINTAIN_EVERY = 20
MIN_PAPERS = 15
MAX_AUTO_EXPORTS = 3
MAX_PENDING_PAIRINGS = 12


def only_new_keys(before: dict, after: dict) -> bool:
    """Whether the only difference is citation keys given to papers that had none: the
    auto-export thread does that (once per paper) when it writes a .bib file, at any
    moment -- not a change made by the request being checked."""
    for name in set(before) | set(after):
        old_table, new_table = before.get(name, {}), after.get(name, {})
        if old_table == new_table:
            continue
        if name != "papers":
            return False
        for key in set(old_table) | set(new_table):
            old, new = old_table.get(key), new_table.get(key)
            if old == new:
                continue
            if old is None or new is None or old.get("citation_key") or not new.get("citation_key"):
                return False
            if {**old, "citation_key": None} != {**new, "citation_key": None}:
                return False
    return True


def accepted(response) -> bool:
    """A 2xx answer (of requests or of schemathesis, whose responses lack ``.ok``)."""
    return 200 <= response.status_code < 300


def content_type(response) -> str:
    value = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    return value[0] if isinstance(value, list) else value


class Fuzzer:
    def __init__(self, server, export_dir: Path):
        self.server = server
        self.export_dir = Path(export_dir)
        self.export_dir.mkdir(parents=True, exist_ok=True)
        self.library_dir = server.data_dir / "library"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {server.api_token}"
        self.pools: dict[str, list] = defaultdict(list)
        self.poll_secrets: dict[str, str] = {}
        self.requests_sent = 0
        self.fixture_page = 0
        self.maintain()

    # ------------------------------------------------------------------ plain calls
    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, self.server.url + path, timeout=120, **kwargs)
        self.after(method, path, response)
        return response

    def after(self, method: str, path: str, response: requests.Response) -> None:
        """The checks every answer gets."""
        self.requests_sent += 1
        if self.server.proc is None or self.server.proc.poll() is not None:
            raise ServerCrash(f"the server died after {method} {path}:\n{self.server.log()[-3000:]}")
        if response.status_code >= 500:
            raise ServerError(f"{method} {path} answered {response.status_code}: "
                              f"{response.text[:500]}\n--- server log ---\n{self.server.log()[-3000:]}")
        assert response.status_code not in GUARD_STATUSES, (
            f"{method} {path} did not pass the guard: {response.status_code} {response.text[:300]}")
        self.harvest(method, path, response)

    def committed(self) -> storage.Recovered:
        """What the library holds on disk, and the number of its last change."""
        return storage.recover(self.library_dir)

    def checked(self, send, method: str, path: str) -> requests.Response:
        """Send a request that may change the library; a refusal must change nothing."""
        before = self.committed()
        response = send()
        self.after(method, path, response)
        if response.status_code >= 400:
            after = self.committed()
            if after.seq != before.seq and not only_new_keys(before.tables, after.tables):
                raise PartialChange(f"{method} {path} answered {response.status_code} "
                                    f"but changes {before.seq + 1}..{after.seq} were stored")
        return response

    # ------------------------------------------------------------------ what exists
    def harvest(self, method: str, path: str, response) -> None:
        if not accepted(response) or not content_type(response).startswith("application/json"):
            return
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict):
            if isinstance(body.get("undo"), str):
                self._remember("undo_id", body["undo"])
            if method == "POST" and path.endswith("/api/pair/requests") and "poll_secret" in body:
                self.poll_secrets[body["request_id"]] = body["poll_secret"]
                self._remember("request_id", body["request_id"])

    def _remember(self, pool: str, value, keep: int = 50) -> None:
        values = self.pools[pool]
        if value not in values:
            values.append(value)
            del values[:-keep]

    def maintain(self) -> None:
        """Refresh what exists, and keep the library worth fuzzing: enough papers, few
        auto-export files to rewrite, room for pairing requests."""
        live = self.call("GET", "/api/papers", params={"limit": 500}).json()["papers"]
        if len(live) < MIN_PAPERS:
            self.call("POST", "/api/papers", json=page_batch(self.fixture_page % 3))
            self.fixture_page += 1
            live = self.call("GET", "/api/papers", params={"limit": 500}).json()["papers"]
        trash = self.call("GET", "/api/papers", params={"limit": 500, "trash": "true"}).json()["papers"]
        papers = live + trash
        self.pools["id"] = [p["id"] for p in papers]
        self.pools["live_id"] = [p["id"] for p in live]
        self.pools["arxiv_id"] = [p["arxiv_id"] for p in papers if p.get("arxiv_id")]
        self.pools["tag"] = sorted({t for p in papers for t in p["tags"]})
        if len(self.pools["tag"]) < 3 and live:  # tags to rename, delete and filter by
            self.call("POST", "/api/papers/bulk", json={
                "ids": [p["id"] for p in live[:5]], "action": "tag",
                "tags": ["fuzz", "ml/diffusion", "Ünïcödé tag"]})
            self.pools["tag"] += ["fuzz", "ml/diffusion", "Ünïcödé tag"]
        exports = self.call("GET", "/api/auto-exports").json()["auto_exports"]
        if not exports:  # keep the auto-export thread writing while the fuzzing goes on
            self.call("POST", "/api/auto-exports", json={"path": str(self.export_dir / "all.bib")})
            exports = self.call("GET", "/api/auto-exports").json()["auto_exports"]
        for extra in exports[MAX_AUTO_EXPORTS:]:
            self.call("DELETE", f"/api/auto-exports/{extra['id']}")
        self.pools["export_id"] = [e["id"] for e in exports[:MAX_AUTO_EXPORTS]] + [10**6]
        pending = self.call("GET", "/api/pair/requests").json()["requests"]
        if len(pending) >= MAX_PENDING_PAIRINGS:
            for request in pending:
                self.call("POST", f"/api/pair/requests/{request['request_id']}/deny")
            pending = []
        if not pending:  # something to poll, approve and deny
            request = self.call("POST", "/api/pair/requests", json={"client": "Fuzzer"}).json()
            pending = [request]
        self.pools["request_id"] = [r["request_id"] for r in pending] + self.pools["request_id"][-5:]
        self.pools["client_id"] = [c["id"] for c in self.call("GET", "/api/clients").json()["clients"]]

    # ------------------------------------------------------------------ steering
    def pick(self, data, pool: str, default):
        values = self.pools.get(pool)
        if values and data.draw(st.booleans(), label=f"steer {pool}"):
            return data.draw(st.sampled_from(values), label=pool)
        return default

    def steer(self, case, data, positive: bool) -> None:
        """Point generated ids, tags and pairing requests at ones that exist (sometimes),
        and keep auto-export paths inside the temporary folder (always)."""
        if isinstance(case.body, dict) and "path" in case.body:
            case.body["path"] = self.safe_path(case.body["path"])
            if positive and data.draw(st.booleans(), label="plain export path"):
                case.body["path"] = str(self.export_dir / data.draw(
                    st.sampled_from(["refs.bib", "thesis.bib", "a b.bib", "Ünï.BIB"])))
        if not positive:
            return
        params = case.path_parameters or {}
        if "undo_id" in params and self.pools["live_id"] and data.draw(st.booleans(),
                                                                        label="fresh undo"):
            params["undo_id"] = self.fresh_undo(data)
        for name, pool in (("id", "id"), ("undo_id", "undo_id"), ("request_id", "request_id"),
                           ("client_id", "client_id"), ("export_id", "export_id"), ("name", "tag")):
            if name in params:
                params[name] = self.pick(data, pool, params[name])
        if "request_id" in params and case.query is not None and "poll_secret" in case.query:
            secret = self.poll_secrets.get(params["request_id"])
            if secret and data.draw(st.booleans(), label="right poll secret"):
                case.query["poll_secret"] = secret
        if case.query:
            if "ids" in case.query and self.pools["id"]:
                case.query["ids"] = ",".join(map(str, self.sample(data, "id", case.query["ids"])))
            if "tag" in case.query:
                case.query["tag"] = self.pick(data, "tag", case.query["tag"])
        if isinstance(case.body, dict):
            body = case.body
            for first, second in (("keep", "other"), ("a", "b")):
                if (first in body or second in body) and len(self.pools["live_id"]) > 1 \
                        and data.draw(st.booleans(), label=f"steer {first}/{second}"):
                    body[first], body[second] = data.draw(st.lists(
                        st.sampled_from(self.pools["live_id"]), min_size=2, max_size=2,
                        unique=True), label="two papers")
                else:
                    for name in (first, second):
                        if name in body:
                            body[name] = self.pick(data, "id", body[name])
            if "ids" in body and isinstance(body["ids"], list):
                body["ids"] = self.sample(data, "id", body["ids"])
            if "arxiv_ids" in body and isinstance(body["arxiv_ids"], list):
                body["arxiv_ids"] = body["arxiv_ids"] + self.sample(data, "arxiv_id", [])
            if "from" in body:
                body["from"] = self.pick(data, "tag", body["from"])

    def fresh_undo(self, data) -> str:
        """An undo id that still applies: star or unstar a paper just now."""
        paper_id = data.draw(st.sampled_from(self.pools["live_id"]), label="paper to star")
        action = data.draw(st.sampled_from(["star", "unstar", "read", "tag"]), label="action")
        answer = self.call("POST", "/api/papers/bulk",
                           json={"ids": [paper_id], "action": action, "tags": ["undo me"]})
        return answer.json()["undo"] if accepted(answer) else "none"

    def sample(self, data, pool: str, default):
        values = self.pools.get(pool)
        if values and data.draw(st.booleans(), label=f"steer {pool} list"):
            return data.draw(st.lists(st.sampled_from(values), min_size=1, max_size=5,
                                      unique=True), label=pool)
        return default

    def safe_path(self, path):
        """An auto-export path that cannot leave the temporary folder: absolute paths are
        moved under it, ``~/...`` stays under the server's HOME (also in it), and
        ``~user/...`` names a user that does not exist."""
        if not isinstance(path, str):
            return path
        if path.startswith("~"):
            head, sep, rest = path.partition("/")
            if head != "~":
                head = "~no-such-user-papershelf"
            return head + sep + os.path.normpath("/" + rest).lstrip("/") if sep else head
        if path.startswith("/"):
            return str(self.export_dir) + "/" + os.path.normpath(path).lstrip("/")
        return path

    # ------------------------------------------------------------------ a generated case
    def send_case(self, case, data, positive: bool) -> requests.Response:
        if self.requests_sent and self.requests_sent % MAINTAIN_EVERY == 0:
            self.maintain()
        self.steer(case, data, positive)
        response = self.checked(lambda: case.call(base_url=self.server.url, session=self.http,
                                                  timeout=120),
                                case.method, case.formatted_path)
        if case.method == "POST" and case.path == "/api/papers" and accepted(response):
            sent = case.body.get("papers", [case.body]) if isinstance(case.body, dict) else []
            assert len(response.json()["results"]) == len(sent)
        return response

    def send_json(self, method: str, path: str, body, data) -> requests.Response:
        """A raw JSON body (whatever Python's json writes: NaN, \\ud800 escapes...)."""
        if self.requests_sent and self.requests_sent % MAINTAIN_EVERY == 0:
            self.maintain()
        if isinstance(body, dict) and "path" in body:
            body["path"] = self.safe_path(body["path"])
        path = re.sub(r"\{(\w+)\}", lambda m: str(self.fill(m.group(1), data)), path)
        raw = json.dumps(body)
        return self.checked(lambda: self.http.request(
            method, self.server.url + path, data=raw.encode(), timeout=120,
            headers={"Content-Type": "application/json"}), method, path)

    def fill(self, name: str, data):
        pool = {"name": "tag"}.get(name, name)
        fallback = data.draw(st.sampled_from(["1", "999999", "x"]), label=f"{name} fallback")
        return self.pick(data, pool, fallback)

    def log_size(self) -> int:
        return len(self.server.log())

    def server_log_problems(self, since: int = 0) -> list[str]:
        """Tracebacks and logged errors in the server's log (after ``since`` characters)."""
        return [line for line in self.server.log()[since:].splitlines()
                if "Traceback" in line or "ERROR in app" in line]
