"""Who may talk to the backend: hosts, origins, tokens and pairing.

Any web page the user visits can send requests to 127.0.0.1, so the backend trusts
nothing by default:

* the ``Host`` header must name this server on loopback (a DNS-rebinding page sends its
  own host name);
* a request carrying a web page's ``Origin`` is refused; only browser extensions and the
  backend's own library page may call it;
* every API call but the pairing handshake needs a secret: the install's own token
  (``papershelf token``), a per-client token handed out by an approved pairing, or the
  library page's session cookie (HttpOnly, SameSite=Strict) on the page's own same-origin
  requests only (:func:`session_problem`): pages on other ports of 127.0.0.1/localhost
  are the *same site* and their requests carry the cookie too;
* nothing is shown inside another page's frame (:func:`embedding_problem`, and the
  X-Frame-Options/CSP headers of every answer).

The cookie guards against web pages, not local programs: any program that can connect
to the port may load ``/`` and receive it (cookies are not bound to a port, so another
local server the browser visits is sent it as well).

Secrets live in ``secrets.json`` in the data directory, mode 0600. Client tokens are kept
only as hashes, so a leaked file copy does not reveal them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .storage import write_atomically

SECRETS_FILE = "secrets.json"
SESSION_COOKIE = "papershelf_session"
EXTENSION_ORIGIN = re.compile(r"^(chrome|moz|safari-web|ms-browser)-extension://[A-Za-z0-9._-]+$")
PAIR_REQUEST_TTL = 10 * 60
MAX_PENDING_PAIR_REQUESTS = 20


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "ps_" + secrets.token_urlsafe(32)


class Secrets:
    """The install token, the page session secret and the paired clients."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / SECRETS_FILE
        self._lock = threading.Lock()
        self._data = self._load()

    def _load(self) -> dict:
        if self.path.exists():
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict) or not isinstance(data.get("token"), str):
                raise ValueError(f"{self.path} is not a Papershelf secrets file")
            data.setdefault("clients", {})
            data.setdefault("session", secrets.token_urlsafe(32))
            return data
        data = {"token": new_token(), "session": secrets.token_urlsafe(32), "clients": {}}
        self._save(data)
        return data

    def _save(self, data: dict | None = None) -> None:
        data = data if data is not None else self._data
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(data, indent=2).encode("utf-8")
        old_umask = os.umask(0o077)
        try:
            write_atomically(self.path, payload)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    @property
    def token(self) -> str:
        return self._data["token"]

    @property
    def session_secret(self) -> str:
        return self._data["session"]

    def rotate_token(self) -> str:
        with self._lock:
            self._data["token"] = new_token()
            self._save()
            return self._data["token"]

    # -- checking --------------------------------------------------------
    def client_for(self, token: str) -> str | None:
        """'owner' for the install token, a client id for a paired client, else None."""
        if not token:
            return None
        if hmac.compare_digest(token, self._data["token"]):
            return "owner"
        digest = _hash(token)
        for client_id, client in self._data["clients"].items():
            if hmac.compare_digest(digest, client["token_sha256"]):
                return client_id
        return None

    def is_session(self, value: str) -> bool:
        return bool(value) and hmac.compare_digest(value, self._data["session"])

    def seen(self, client_id: str) -> None:
        client = self._data["clients"].get(client_id)
        if client is not None:
            client["last_seen"] = _now()  # kept in memory; written with the next change

    # -- clients ---------------------------------------------------------
    def add_client(self, name: str) -> tuple[str, str]:
        token = new_token()
        with self._lock:
            client_id = secrets.token_hex(6)
            self._data["clients"][client_id] = {
                "client": name, "token_sha256": _hash(token), "created_at": _now(),
                "last_seen": None}
            self._save()
        return client_id, token

    def clients(self) -> list[dict]:
        return [{"id": cid, "client": c["client"], "created_at": c["created_at"],
                 "last_seen": c.get("last_seen")} for cid, c in self._data["clients"].items()]

    def revoke(self, client_id: str) -> bool:
        with self._lock:
            if self._data["clients"].pop(client_id, None) is None:
                return False
            self._save()
            return True


@dataclass
class PairRequest:
    request_id: str
    client: str
    code: str
    poll_secret_sha256: str
    created: float = field(default_factory=time.time)
    created_at: str = field(default_factory=_now)
    status: str = "pending"
    token: str | None = None

    def public(self) -> dict:
        return {"request_id": self.request_id, "client": self.client, "code": self.code,
                "created_at": self.created_at, "status": self.status}


class Pairing:
    """Pending pair requests (in memory: a restart simply asks the extension to try again)."""

    def __init__(self, secrets_store: Secrets):
        self.secrets = secrets_store
        self._requests: dict[str, PairRequest] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        cutoff = time.time() - PAIR_REQUEST_TTL
        for key in [k for k, r in self._requests.items() if r.created < cutoff]:
            del self._requests[key]

    def request(self, client: str) -> dict:
        with self._lock:
            self._expire()
            pending = [r for r in self._requests.values() if r.status == "pending"]
            if len(pending) >= MAX_PENDING_PAIR_REQUESTS:
                raise OverflowError("too many pairing requests are waiting; approve or deny them first")
            poll_secret = secrets.token_urlsafe(24)
            req = PairRequest(request_id=secrets.token_hex(8), client=client,
                              code=f"{secrets.randbelow(10000):04d}",
                              poll_secret_sha256=_hash(poll_secret))
            self._requests[req.request_id] = req
        return {**req.public(), "poll_secret": poll_secret}

    def poll(self, request_id: str, poll_secret: str) -> dict | None:
        with self._lock:
            self._expire()
            req = self._requests.get(request_id)
            if req is None or not hmac.compare_digest(_hash(poll_secret or ""), req.poll_secret_sha256):
                return None
            answer = {"status": req.status}
            if req.status == "approved" and req.token:
                # The token is handed over once, then forgotten.
                answer["token"] = req.token
                req.token = None
                del self._requests[request_id]
            elif req.status == "denied":
                del self._requests[request_id]
            return answer

    def pending(self) -> list[dict]:
        with self._lock:
            self._expire()
            return [r.public() for r in self._requests.values() if r.status == "pending"]

    def decide(self, request_id: str, approve: bool) -> dict | None:
        with self._lock:
            self._expire()
            req = self._requests.get(request_id)
            if req is None or req.status != "pending":
                return None
            if approve:
                _, req.token = self.secrets.add_client(req.client)
                req.status = "approved"
            else:
                req.status = "denied"
            return req.public()


# ----------------------------------------------------------------------------- request rules
def allowed_hosts(port: int) -> set[str]:
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    if port == 80:
        hosts |= {"127.0.0.1", "localhost", "[::1]"}
    return hosts


def own_origins(port: int) -> set[str]:
    return {f"http://{host}" for host in allowed_hosts(port)}


def host_problem(host: str | None, port: int) -> str | None:
    if not host:
        return "the request has no Host header"
    if host.lower() not in allowed_hosts(port):
        return f"host {host!r} is not this server (only 127.0.0.1, localhost or [::1] on port {port})"
    return None


def origin_problem(origin: str | None, port: int) -> str | None:
    if origin is None:
        return None
    if origin in own_origins(port) or EXTENSION_ORIGIN.match(origin):
        return None
    return f"requests from web pages ({origin}) may not use the Papershelf library"


# Fetch metadata (Sec-Fetch-Site) of requests the library page's cookie may authorize: its
# own pages' calls, and an address the user typed. Pages on other ports of 127.0.0.1 or
# localhost are the *same site* as the backend, so SameSite=Strict alone would let their
# <img>/<script>/no-cors requests carry the cookie.
SESSION_FETCH_SITES = {"same-origin", "none"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Where a page of ours would be shown inside another page (clickjacking).
EMBEDDING_DESTS = {"iframe", "frame", "embed", "object", "fencedframe"}


def session_problem(method: str, origin: str | None, fetch_site: str | None, port: int) -> str | None:
    """Why the session cookie may not authorize this request, or None.

    The cookie is good only for the library page's own requests: browsers that send fetch
    metadata must call it same-origin (or the user typed the address), and a change
    (POST/PUT/PATCH/DELETE) must name the backend's own origin, which every browser sends
    on such requests; a request without one did not come from the library page.
    """
    if fetch_site is not None and fetch_site.lower() not in SESSION_FETCH_SITES:
        return "the library page's session works only on the library page itself"
    if method.upper() in UNSAFE_METHODS and origin not in own_origins(port):
        return "the library page's session works only on the library page itself (no Origin)"
    return None


def embedding_problem(dest: str | None, fetch_site: str | None) -> str | None:
    """Refuse to be framed or embedded by another page (clickjacking)."""
    if dest and dest.lower() in EMBEDDING_DESTS and (fetch_site or "").lower() != "same-origin":
        return "Papershelf may not be shown inside another page"
    return None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
