"""Who may talk to the backend, checked with real HTTP requests against `papershelf serve`.

Any web page in the user's browser can send requests to 127.0.0.1, so: foreign Host
headers (DNS rebinding) and web-page Origins are refused, every API call but the pairing
handshake needs a token, a cross-site form cannot post, GET changes nothing, and no answer
opens CORS to everyone. The library page authenticates with an HttpOnly SameSite=Strict
cookie.
"""

from __future__ import annotations

import http.client
import json
import os
import stat

import pytest
import requests

from api_client import Api, assert_error, unique_card

EXTENSION_ORIGINS = ["chrome-extension://abcdefghijklmnop",
                     "moz-extension://3f0d5b8e-1c2a-4e7b-9d6f-0a1b2c3d4e5f"]


@pytest.fixture(scope="module")
def anonymous(server) -> Api:
    return Api(server, None)


@pytest.fixture(scope="module")
def seeded(api):
    """A paper in the library (and one in the trash) so that a state change would show."""
    paper = api.save(unique_card(tags=["seed"]))["results"][0]["paper"]
    trashed = api.save(unique_card())["results"][0]["paper"]
    undo = api.ok("DELETE", f"/api/papers/{trashed['id']}")["undo"]
    return {"paper": paper, "trashed": trashed, "undo": undo}


def snapshot(api: Api) -> dict:
    """Everything a request could have changed, as the owner sees it."""
    papers = api.papers(limit=500)["papers"] + api.papers(limit=500, trash="true")["papers"]
    return {"papers": sorted(papers, key=lambda p: p["id"]),
            "tags": api.ok("GET", "/api/tags")["tags"],
            "clients": api.ok("GET", "/api/clients")["clients"],
            "duplicates": api.ok("GET", "/api/duplicates")["pairs"]}


def no_wildcard_cors(response: requests.Response) -> None:
    assert response.headers.get("Access-Control-Allow-Origin") != "*", dict(response.headers)
    assert "*" not in response.headers.get("Access-Control-Allow-Origin", "")


# ----------------------------------------------------------------------------- Host
def foreign_hosts(port: int) -> list[str]:
    return [f"evil.com:{port}", f"127.0.0.1:{port + 1}", f"attacker.example:{port}",
            "127.0.0.1", f"localhost:{port - 1}", f"localhost.attacker.example:{port}",
            f"127.0.0.2:{port}", f"0.0.0.0:{port}", f"[::2]:{port}", "evil.com"]


def test_foreign_host_is_refused_everywhere(api, anonymous, seeded):
    before = snapshot(api)
    for host in foreign_hosts(api.port):
        headers = {"Host": host}
        assert_error(anonymous.get("/api/ping", headers=headers), 403, None)
        assert_error(api.get("/api/papers", headers=headers), 403)
        assert_error(api.get(f"/api/papers/{seeded['paper']['id']}", headers=headers), 403)
        assert_error(api.post("/api/papers", unique_card(), headers=headers), 403)
        assert_error(api.post(f"/api/undo/{seeded['undo']}", headers=headers), 403)
        assert_error(anonymous.post("/api/pair/requests", {"client": "x"}, headers=headers), 403)
        page = anonymous.get("/", headers=headers)
        assert page.status_code == 403
        assert "papershelf_session" not in page.headers.get("Set-Cookie", "")
    assert snapshot(api) == before


def test_loopback_hosts_on_the_right_port_are_accepted(api, anonymous):
    for host in (f"127.0.0.1:{api.port}", f"localhost:{api.port}", f"[::1]:{api.port}",
                 f"LocalHost:{api.port}"):
        assert anonymous.get("/api/ping", headers={"Host": host}).status_code == 200, host
        assert api.get("/api/papers", headers={"Host": host}).status_code == 200, host


# ----------------------------------------------------------------------------- Origin
def web_origins(port: int) -> list[str]:
    return ["https://evil.com", "http://evil.com", f"http://localhost:{port + 1}",
            f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}", "null",
            f"http://127.0.0.1:{port}.evil.com", "http://127.0.0.1", "file://",
            "chrome-extension://abc/../evil", "https://huggingface.co"]


def test_web_page_origins_are_refused_on_get_post_and_ping(api, anonymous, seeded):
    before = snapshot(api)
    for origin in web_origins(api.port):
        headers = {"Origin": origin}
        for response in (
                anonymous.get("/api/ping", headers=headers),
                api.get("/api/papers", headers=headers),
                api.get("/api/status", headers=headers),
                api.post("/api/papers", unique_card(), headers=headers),
                api.patch(f"/api/papers/{seeded['paper']['id']}", {"notes": "pwned"},
                          headers=headers),
                api.delete(f"/api/papers/{seeded['paper']['id']}", headers=headers),
                api.post(f"/api/undo/{seeded['undo']}", headers=headers),
                anonymous.post("/api/pair/requests", {"client": "evil"}, headers=headers)):
            assert_error(response, 403)
            no_wildcard_cors(response)
            assert "Access-Control-Allow-Origin" not in response.headers, origin
    assert snapshot(api) == before


@pytest.mark.parametrize("origin", EXTENSION_ORIGINS)
def test_extension_origin_with_token_is_accepted(api, anonymous, origin):
    headers = {"Origin": origin}
    listing = api.get("/api/papers", headers=headers)
    assert listing.status_code == 200
    assert listing.headers.get("Access-Control-Allow-Origin") == origin
    saved = api.post("/api/papers", unique_card(), headers=headers)
    assert saved.status_code == 200
    assert saved.headers.get("Access-Control-Allow-Origin") == origin
    paper = saved.json()["results"][0]["paper"]
    assert api.paper(paper["id"])["title"] == paper["title"]
    assert anonymous.get("/api/ping", headers=headers).status_code == 200
    # The origin alone is not a key.
    assert_error(anonymous.get("/api/papers", headers=headers), 401)
    assert_error(anonymous.post("/api/papers", unique_card(), headers=headers), 401)


def test_the_backends_own_origin_is_accepted(api):
    for origin in (f"http://127.0.0.1:{api.port}", f"http://localhost:{api.port}"):
        assert api.get("/api/papers", headers={"Origin": origin}).status_code == 200
        assert api.post("/api/papers", unique_card(),
                        headers={"Origin": origin}).status_code == 200


# ----------------------------------------------------------------------------- tokens
PROTECTED = [
    ("GET", "/api/papers", None), ("GET", "/api/papers/1", None),
    ("POST", "/api/papers", {"title": "Sneaked in"}),
    ("POST", "/api/papers/lookup", {"arxiv_ids": ["2601.00001"]}),
    ("PATCH", "/api/papers/1", {"notes": "x"}), ("DELETE", "/api/papers/1", None),
    ("POST", "/api/papers/1/restore", None), ("POST", "/api/papers/1/tags", {"add": ["x"]}),
    ("POST", "/api/papers/bulk", {"ids": [1], "action": "delete"}),
    ("POST", "/api/undo/1", None), ("DELETE", "/api/trash", None),
    ("GET", "/api/tags", None), ("POST", "/api/tags/rename", {"from": "seed", "to": "x"}),
    ("DELETE", "/api/tags/seed", None), ("GET", "/api/duplicates", None),
    ("POST", "/api/duplicates/merge", {"keep": 1, "other": 2}),
    ("POST", "/api/duplicates/dismiss", {"a": 1, "b": 2}),
    ("GET", "/api/pair/requests", None), ("POST", "/api/pair/requests/abc/approve", None),
    ("POST", "/api/pair/requests/abc/deny", None),
    ("GET", "/api/clients", None), ("DELETE", "/api/clients/abc", None),
    ("GET", "/api/status", None),
]


def bad_credentials(token: str) -> list[dict]:
    return [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Bearer "},
            {"Authorization": f"Bearer {token}x"}, {"Authorization": f"Bearer {token[:-1]}"},
            {"Authorization": f"Token {token}"}, {"Authorization": f"Basic {token}"},
            {"Authorization": token}, {"X-Api-Key": token},
            {"Cookie": f"papershelf_session={token}"}]


def test_every_protected_endpoint_needs_a_valid_token(api, anonymous, seeded):
    before = snapshot(api)
    checks = [(headers, endpoint) for headers in bad_credentials(api.token)[:2]
              for endpoint in PROTECTED]
    # Every kind of wrong credential, on a read, a write and an admin call.
    checks += [(headers, endpoint) for headers in bad_credentials(api.token)[2:]
               for endpoint in (PROTECTED[0], PROTECTED[2], PROTECTED[-1])]
    for headers, (method, path, body) in checks:
        response = anonymous.request(method, path, json_body=body, headers=headers)
        assert_error(response, 401)
        assert api.token not in response.text
    # Nor does a token in the query string count.
    assert_error(anonymous.get("/api/papers", params={"token": api.token}), 401)
    assert_error(anonymous.get("/api/papers", params={"access_token": api.token}), 401)
    assert snapshot(api) == before


def test_the_install_token_is_accepted(api):
    assert api.get("/api/papers").status_code == 200
    lower = api.get("/api/papers", headers={"Authorization": f"bearer {api.token}"})
    assert lower.status_code == 200  # the scheme name is case-insensitive (RFC 7235)


# ----------------------------------------------------------------------------- CORS
def test_preflight_from_a_web_origin_is_refused(api):
    for origin in web_origins(api.port):
        response = requests.options(api.url + "/api/papers", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Headers" not in response.headers


@pytest.mark.parametrize("origin", EXTENSION_ORIGINS)
def test_preflight_from_an_extension_names_that_origin_only(api, origin):
    for path in ("/api/papers", "/api/papers/1", "/api/ping"):
        response = requests.options(api.url + path, headers={
            "Origin": origin, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert response.status_code in (200, 204)
        assert response.headers["Access-Control-Allow-Origin"] == origin
        allowed = response.headers.get("Access-Control-Allow-Headers", "").lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "PATCH" in response.headers.get("Access-Control-Allow-Methods", "")
        assert response.headers.get("Access-Control-Allow-Credentials") != "true"


def test_no_answer_allows_every_origin(api, anonymous, seeded):
    origins = [None, *EXTENSION_ORIGINS, f"http://127.0.0.1:{api.port}", "https://evil.com"]
    for origin in origins:
        headers = {"Origin": origin} if origin else {}
        for client, method, path, body in [
                (anonymous, "GET", "/api/ping", None), (anonymous, "GET", "/", None),
                (anonymous, "GET", "/api/papers", None), (api, "GET", "/api/papers", None),
                (api, "GET", "/api/papers/999999", None), (api, "POST", "/api/papers", {}),
                (api, "GET", "/api/tags", None), (api, "GET", "/api/status", None),
                (api, "OPTIONS", "/api/papers", None), (api, "GET", "/no/such/page", None)]:
            no_wildcard_cors(client.request(method, path, json_body=body, headers=headers))


# ----------------------------------------------------------------------------- forms, GET
FORM_BODIES = [
    ("application/x-www-form-urlencoded", "title=Sneaked+in"),
    ("multipart/form-data; boundary=xyz",
     '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nSneaked in\r\n--xyz--\r\n'),
    # The classic trick: a form with enctype=text/plain can send a JSON-looking body.
    ("text/plain", '{"title": "Sneaked in", "x": "="}'),
]


@pytest.mark.parametrize("content_type, body", FORM_BODIES)
def test_a_cross_site_form_post_is_refused_with_415(api, seeded, content_type, body):
    before = snapshot(api)
    paper_id = seeded["paper"]["id"]
    for method, path in [("POST", "/api/papers"), ("POST", "/api/papers/bulk"),
                         ("PATCH", f"/api/papers/{paper_id}"),
                         ("POST", f"/api/papers/{paper_id}/tags"),
                         ("POST", "/api/tags/rename")]:
        # Even carrying a valid token (a form could not), the body type is refused.
        response = api.request(method, path, raw=body, headers={"Content-Type": content_type})
        assert_error(response, 415)
        # Without a token, as a real cross-site form would be: refused as well.
        tokenless = requests.request(method, api.url + path, data=body,
                                     headers={"Content-Type": content_type})
        assert tokenless.status_code in (401, 415)
        # And with the Origin a browser adds to a cross-site form post.
        foreign = requests.request(method, api.url + path, data=body, headers={
            "Content-Type": content_type, "Origin": "https://evil.com"})
        assert foreign.status_code == 403
    assert snapshot(api) == before


GET_ON_WRITE_ENDPOINTS = ["/api/papers/bulk", "/api/undo/{undo}", "/api/papers/{trashed}/restore",
                          "/api/papers/{paper}/tags", "/api/tags/rename", "/api/trash",
                          "/api/duplicates/merge", "/api/duplicates/dismiss",
                          "/api/papers/lookup", "/api/pair/requests/abc/approve"]


def _write_paths(seeded) -> list[str]:
    return [p.format(undo=seeded["undo"], trashed=seeded["trashed"]["id"],
                     paper=seeded["paper"]["id"]) for p in GET_ON_WRITE_ENDPOINTS]


def test_get_on_write_endpoints_changes_nothing(api, seeded):
    before = snapshot(api)
    for path in _write_paths(seeded):
        for params in ({}, {"action": "delete", "ids": seeded["paper"]["id"], "from": "seed",
                            "to": "x"}):
            response = api.get(path, params=params)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.headers["Content-Type"].startswith("application/json")
    assert snapshot(api) == before
    # The undo record was not consumed by the GET: it still works with POST.
    assert api.ok("POST", f"/api/undo/{seeded['undo']}")["restored"] == [seeded["trashed"]["id"]]
    seeded["undo"] = api.ok("DELETE", f"/api/papers/{seeded['trashed']['id']}")["undo"]


def test_get_on_write_endpoints_answers_405(api, seeded):
    for path in _write_paths(seeded):
        assert_error(api.get(path), 405)


def test_head_and_options_change_nothing(api, seeded):
    before = snapshot(api)
    for path in _write_paths(seeded):
        for method in ("HEAD", "OPTIONS"):
            assert api.request(method, path).status_code < 500
    assert snapshot(api) == before


# ----------------------------------------------------------------------------- library page
def test_library_page_cookie_is_httponly_strict_and_authenticates_the_page(api, seeded):
    browser = requests.Session()
    page = browser.get(api.url + "/")
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    cookie_header = page.headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in cookie_header.split(";")]
    assert attributes[0].startswith("papershelf_session=")
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert api.token not in cookie_header  # not the install token itself
    cookie = browser.cookies.get("papershelf_session")
    assert cookie

    own = {"Origin": api.url}
    listing = browser.get(api.url + "/api/papers", headers=own)
    assert listing.status_code == 200 and listing.json()["total"] >= 1
    assert browser.get(api.url + "/api/papers").status_code == 200  # a GET sends no Origin
    saved = browser.post(api.url + "/api/papers", json=unique_card(), headers=own)
    assert saved.status_code == 200
    paper_id = saved.json()["results"][0]["paper"]["id"]
    assert browser.patch(api.url + f"/api/papers/{paper_id}", json={"read": True},
                         headers=own).status_code == 200
    assert api.paper(paper_id)["read"] is True

    # The same cookie sent from another site's page is refused by the Origin rule...
    evil = browser.post(api.url + "/api/papers", json=unique_card(),
                        headers={"Origin": "https://evil.com"})
    assert evil.status_code == 403
    # ...and a forged or stale cookie is no key.
    forged = requests.get(api.url + "/api/papers", cookies={"papershelf_session": "forged"})
    assert_error(forged, 401)
    assert_error(requests.get(api.url + "/api/papers",
                              cookies={"papershelf_session": cookie + "x"}), 401)


def test_library_page_refuses_framing(anonymous):
    page = anonymous.get("/")
    assert page.headers.get("X-Frame-Options", "").upper() == "DENY" or \
        "frame-ancestors 'none'" in page.headers.get("Content-Security-Policy", "")


# ----------------------------------------------------------------------------- secrets, ping
def test_secrets_file_is_private(server, api):
    path = server.data_dir / "secrets.json"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == api.token  # the file `papershelf token` reads


def test_secrets_file_stays_private_after_pairing(server, api):
    anonymous = Api(server, None)
    request = anonymous.ok("POST", "/api/pair/requests", {"client": "Mode check"})
    api.ok("POST", f"/api/pair/requests/{request['request_id']}/approve")
    token = anonymous.ok("GET", f"/api/pair/requests/{request['request_id']}",
                         params={"poll_secret": request["poll_secret"]})["token"]
    path = server.data_dir / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert token not in path.read_text()  # client tokens are kept hashed


def test_ping_reveals_nothing_of_the_library(server, api, anonymous, seeded):
    first = anonymous.get("/api/ping")
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"app", "version", "api_version"}
    api.save({"papers": [unique_card() for _ in range(3)]})
    second = anonymous.get("/api/ping")
    assert second.json() == body
    text = first.text + json.dumps(dict(first.headers))
    for secret in (str(server.data_dir), server.data_dir.name, api.token, "papers\":", "trash"):
        assert secret not in text
    assert "Set-Cookie" not in first.headers


def test_pairing_handshake_refuses_web_pages(api, anonymous):
    request = anonymous.ok("POST", "/api/pair/requests", {"client": "Origin check"})
    for origin in ("https://evil.com", "null"):
        assert_error(anonymous.post("/api/pair/requests", {"client": "evil"},
                                    headers={"Origin": origin}), 403)
        assert_error(anonymous.get(f"/api/pair/requests/{request['request_id']}",
                                   params={"poll_secret": request["poll_secret"]},
                                   headers={"Origin": origin}), 403)
    pending = api.ok("GET", "/api/pair/requests")["requests"]
    assert "evil" not in [r["client"] for r in pending]
    api.ok("POST", f"/api/pair/requests/{request['request_id']}/deny")


def test_static_files_do_not_leave_the_page_folder(server, api):
    for path in ["/../secrets.json", "/%2e%2e/secrets.json", "/..%2fsecrets.json",
                 "/js/../../secrets.json", "/..%2f..%2fdata%2fsecrets.json", "/../app.py",
                 "/%2e%2e/papershelf/app.py", "//etc/passwd", "/%2Fetc%2Fpasswd",
                 "/api/../secrets.json"]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Authorization": f"Bearer {api.token}"})
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        assert 400 <= response.status < 500, (path, response.status)
        assert api.token not in body and '"session"' not in body and "root:" not in body, path
