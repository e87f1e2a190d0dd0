"""The attacks of test_hostile_pages.py as plain HTTP requests: the server refuses on its own.

Chromium stops some of these before they leave (CORS preflights, Local/Private Network
Access, mixed content); other browsers, older versions or a different setting may not. Here
each request is sent with exactly the headers such a browser would send, the session cookie
of the library page included, and the library must stay unchanged.
"""

from __future__ import annotations

import socket

import pytest
import requests

from hostile_env import REBIND_HOST, start_backend
from hostile_library import Target, differences


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-requests")
    server = start_backend(root)
    yield Target(server, root).seed()
    server.stop()


def browser_headers(site: str, mode: str, dest: str, origin: str | None = None) -> dict:
    headers = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest,
               "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"}
    if origin:
        headers["Origin"] = origin
    return headers


def attacks(t: Target, other: str) -> list[tuple[str, str, str, dict, bytes | None]]:
    """(name, method, path, headers, body): what a page at `other` makes the browser send."""
    p, tr, undo, pair = t.ids["paper"], t.ids["trashed"], t.undo, t.pair_request
    card = b'{"title": "Injected", "arxiv_id": "2601.99999"}'
    out = []
    # Loads without CORS: <img>, <script>, <link>, a no-cors fetch; GET, no Origin header.
    for path in ("/api/papers?limit=500", "/api/papers/%d" % p, "/api/export.bib", "/api/export",
                 "/api/status", "/api/clients", "/api/tags", "/api/duplicates", "/api/backup",
                 "/api/pair/requests"):
        for dest, mode in (("image", "no-cors"), ("script", "no-cors"), ("style", "no-cors"), ("empty", "no-cors")):
            for site in ("same-site", "cross-site"):
                out.append((f"{dest} GET {path} ({site})", "GET", path, browser_headers(site, mode, dest), None))
    # Frames and form targets (clickjacking): the page, its alias and API answers.
    for path in ("/", "/index.html", "/api/papers"):
        for site in ("same-site", "cross-site"):
            out.append((f"iframe {path} ({site})", "GET", path, browser_headers(site, "navigate", "iframe"), None))
    # Simple POSTs (no preflight) with the page's Origin, as any browser sends them.
    simple = [
        ("save text/plain", "POST", "/api/papers", "text/plain", card),
        ("save urlencoded form", "POST", "/api/papers", "application/x-www-form-urlencoded", b"title=Injected"),
        ("save multipart form", "POST", "/api/papers", "multipart/form-data; boundary=x",
         b'--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nInjected\r\n--x--\r\n'),
        ("bulk delete text/plain", "POST", "/api/papers/bulk", "text/plain", b'{"ids": [%d], "action": "delete"}' % p),
        ("restore, empty", "POST", f"/api/papers/{tr}/restore", "application/x-www-form-urlencoded", b""),
        ("undo, empty", "POST", f"/api/undo/{undo}", "application/x-www-form-urlencoded", b""),
        ("approve pairing, empty", "POST", f"/api/pair/requests/{pair}/approve", "application/x-www-form-urlencoded", b""),
        ("pair request text/plain", "POST", "/api/pair/requests", "text/plain", b'{"client": "Evil"}'),
    ]
    for name, method, path, ctype, body in simple:
        for site, origin in (("same-site", other), ("cross-site", "https://evil.example"), ("cross-site", "null")):
            headers = {**browser_headers(site, "no-cors", "empty", origin), "Content-Type": ctype}
            out.append((f"{name} from {origin}", method, path, headers, body))
            # an old browser that sent no Origin and no fetch metadata on a form POST
            out.append((f"{name}, no Origin (old browser)", method, path, {"Content-Type": ctype}, body))
    # What a preflight would have guarded: the real request, sent anyway.
    preflighted = [
        ("save JSON", "POST", "/api/papers", card),
        ("patch JSON", "PATCH", f"/api/papers/{p}", b'{"title": "Changed"}'),
        ("delete paper", "DELETE", f"/api/papers/{p}", None),
        ("empty trash", "DELETE", "/api/trash", None),
        ("delete tag", "DELETE", f"/api/tags/{t.tag}", None),
        ("auto-export", "POST", "/api/auto-exports", b'{"path": "%s"}' % t.export_path.encode()),
        ("approve pairing JSON", "POST", f"/api/pair/requests/{pair}/approve", b"{}"),
    ]
    for name, method, path, body in preflighted:
        headers = browser_headers("same-site", "cors", "empty", other)
        if body is not None:
            headers["Content-Type"] = "application/json"
        out.append((f"{name} from {other}", method, path, headers, body))
        # the same without Origin but with the JSON type: only the cookie's rules stop it
        out.append((f"{name}, no Origin", method, path,
                    {k: v for k, v in headers.items() if k != "Origin"}, body))
    return out


def test_requests_a_browser_would_send_for_a_hostile_page_are_refused(target):
    other = f"http://127.0.0.1:{target.port + 1}"
    cookie = {"papershelf_session": target.session_cookie()}
    before = target.snapshot()
    allowed, leaked, cors = [], [], []
    tried = attacks(target, other)
    for name, method, path, headers, body in tried:
        answer = requests.request(method, target.url + path, headers=headers, data=body,
                                  cookies=cookie, timeout=10, allow_redirects=False)
        if answer.status_code < 400:
            allowed.append((name, answer.status_code))
        if any(s in answer.text for s in target.secret_strings()):
            leaked.append(name)
        if answer.headers.get("Access-Control-Allow-Origin") is not None:
            cors.append(name)
    changed = differences(before, target.snapshot())
    assert len(tried) >= 140
    assert allowed == [], allowed
    assert leaked == [], leaked
    assert cors == [], cors
    assert changed == [], changed


def test_control_the_librarys_own_requests_still_work_with_the_cookie(target):
    """Positive control: the same cookie on the library page's own requests is accepted,
    so the refusals above are about where the requests come from."""
    cookie = {"papershelf_session": target.session_cookie()}
    own = f"http://127.0.0.1:{target.port}"
    read = requests.get(target.url + "/api/papers", cookies=cookie, timeout=10,
                        headers=browser_headers("same-origin", "cors", "empty"))
    assert read.status_code == 200 and target.canary in read.text
    typed = requests.get(target.url + "/api/papers", cookies=cookie, timeout=10,
                         headers=browser_headers("none", "navigate", "document"))
    assert typed.status_code == 200
    patched = requests.patch(target.url + f"/api/papers/{target.ids['second']}", json={"notes": "mine"},
                             cookies=cookie, headers=browser_headers("same-origin", "cors", "empty", own),
                             timeout=10)
    assert patched.status_code == 200 and patched.json()["notes"] == "mine"
    page = requests.get(target.url + "/", headers=browser_headers("none", "navigate", "document"), timeout=10)
    assert page.status_code == 200 and "papershelf_session" in page.headers.get("Set-Cookie", "")


def test_a_private_network_preflight_from_a_public_page_is_refused(target):
    """What Chromium sends before a public page may reach 127.0.0.1 (Private/Local Network
    Access): the answer must not grant it."""
    for origin in ("https://evil.example", f"http://{REBIND_HOST}:{target.port}", "null"):
        answer = requests.options(target.url + "/api/papers", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
            "Access-Control-Request-Private-Network": "true",
            "Access-Control-Request-Local-Network": "true"})
        assert answer.status_code == 403, origin
        for header in ("Access-Control-Allow-Origin", "Access-Control-Allow-Private-Network",
                       "Access-Control-Allow-Local-Network", "Access-Control-Allow-Credentials"):
            assert header not in answer.headers, (origin, header)


def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= int(length[0].split(b":")[1]):
                    break
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


CHUNK = '{"title": "Injected", "arxiv_id": "2601.99999"}'


def test_rebinding_and_odd_host_headers_are_refused_at_the_socket(target):
    """Host forms a rebinding page or a proxy-confused client can produce."""
    p = target.port
    cookie = f"papershelf_session={target.session_cookie()}"
    auth = f"Bearer {target.token}"
    cases = {
        "rebind name": f"GET /api/papers HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\nAuthorization: {auth}\r\n",
        "*.localhost name": f"GET /api/papers HTTP/1.1\r\nHost: papers.localhost:{p}\r\nAuthorization: {auth}\r\n",
        "trailing dot": f"GET /api/papers HTTP/1.1\r\nHost: localhost.:{p}\r\nAuthorization: {auth}\r\n",
        "two Host headers": f"GET /api/papers HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\nHost: 127.0.0.1:{p}\r\nAuthorization: {auth}\r\n",
        "absolute URI, foreign Host": f"GET http://127.0.0.1:{p}/api/papers HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\nAuthorization: {auth}\r\n",
        "no Host (HTTP/1.0)": f"GET /api/papers HTTP/1.0\r\nAuthorization: {auth}\r\n",
        "rebind name with cookie": f"GET /api/papers HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\nCookie: {cookie}\r\n",
        "rebind page load": f"GET / HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\n",
        "websocket, foreign origin": (f"GET /api/papers HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nUpgrade: websocket\r\n"
                                      f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{p + 1}\r\nCookie: {cookie}\r\n"),
        "websocket, rebind": (f"GET /api/papers HTTP/1.1\r\nHost: {REBIND_HOST}:{p}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              f"Sec-WebSocket-Version: 13\r\nOrigin: http://{REBIND_HOST}:{p}\r\n"),
        "chunked text/plain POST with cookie": (f"POST /api/papers HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nCookie: {cookie}\r\n"
                                                f"Origin: http://127.0.0.1:{p}\r\nContent-Type: text/plain\r\n"
                                                f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                                f"{len(CHUNK):x}\r\n{CHUNK}\r\n0\r\n\r\n"),
    }
    before = target.snapshot()
    for name, text in cases.items():
        raw = text if "chunked" in text else text + "Connection: close\r\n\r\n"
        try:
            status, data = _raw(p, raw.encode())
        except OSError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
        assert status >= 400 or status == 0, (name, data[:300])
        assert b"101 Switching" not in data, name
        assert target.canary.encode() not in data, name
    assert differences(before, target.snapshot()) == []


def test_every_answer_refuses_framing_and_cross_origin_embedding(target):
    """Headers that keep every answer out of other pages' frames and <img>/<script> loads."""
    cookie = {"papershelf_session": target.session_cookie()}
    for path in ("/", "/index.html", "/app.css", "/js/main.js", "/favicon.svg", "/api/ping", "/api/papers",
                 "/api/export.bib", "/nope"):
        answer = requests.get(target.url + path, cookies=cookie, timeout=10,
                              headers={**browser_headers("same-origin", "cors", "empty"),
                                       "Authorization": f"Bearer {target.token}"})
        assert answer.headers.get("X-Frame-Options") == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers.get("Content-Security-Policy", ""), path
        assert answer.headers.get("Cross-Origin-Resource-Policy") == "same-origin", path
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", path
    page = requests.get(target.url + "/index.html", timeout=10)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"], "the page's alias gets the page's CSP"
    export = requests.get(target.url + "/api/export.bib", headers={"Authorization": f"Bearer {target.token}"}, timeout=10)
    assert export.headers["Content-Type"].startswith("application/x-bibtex")
    assert export.headers["Content-Disposition"].startswith("attachment")
