"""Web pages from other local origins attack the library, in Debian's Chromium.

The user has the library page open (so the browser holds its session cookie for both
127.0.0.1 and localhost). A page from another origin then tries everything in
hostile_attacks.py. Origins: another port on 127.0.0.1, another port on localhost, and two
names that resolve to 127.0.0.1 on the backend's own port, so the page is same-origin with
the backend by name (DNS rebinding): `rebind.test` (host-resolver rule) and a
`*.localhost` subdomain. Local Network Access checks are off in this browser, so every
request reaches the server and it is the server that must refuse.

Every attempt must fail: the library is unchanged (compared through the API with the real
token), the page read nothing of it, and no answer of the backend to the page was a 2xx.
A control runs the same page from the backend's own origin and must both read and change
the library: that is what proves the three counters can see an attack that works.
"""

from __future__ import annotations

import json

import pytest

from hostile_env import REBIND_HOST, start_backend
from hostile_attacks import attack_page, leaks
from hostile_library import Target, differences

pytestmark = pytest.mark.browser

SCENARIOS = {
    # name: (page origin, base the page uses for the backend, served by)
    "other port on 127.0.0.1": ("site", "127.0.0.1"),
    "other port on localhost": ("site", "localhost"),
    "DNS rebinding: rebind.test on the backend's port": ("route", REBIND_HOST),
    "DNS rebinding: a *.localhost name on the backend's port": ("route", "papers.localhost"),
}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-target")
    server = start_backend(root)
    yield Target(server, root).seed()
    server.stop()


class AttackRun:
    def __init__(self, results, responses, frames, cookie_requests, backend_requests):
        self.results = results
        self.responses = responses          # [(url, status)] of the backend's answers
        self.frames = frames                # [(url, rendered library page?)]
        self.cookie_requests = cookie_requests
        self.backend_requests = backend_requests

    def authorized(self) -> list[tuple[str, int]]:
        return [(u, s) for u, s in self.responses if 200 <= s < 300]


def run_attack(browser, target: Target, page_url: str, base: str, backend_origins: list[str],
               served_by_route: bool, site=None) -> AttackRun:
    html = attack_page(base, target.secrets_for_page())
    ctx = browser.new_context()
    try:
        # The user has the library open: the session cookie is in the browser for both names.
        page = ctx.new_page()
        for host in ("127.0.0.1", "localhost"):
            page.goto(f"http://{host}:{target.port}/", wait_until="domcontentloaded")
        page.close()
        assert {c["domain"] for c in ctx.cookies() if c["name"] == "papershelf_session"} == {"127.0.0.1", "localhost"}

        responses = []
        requests_seen = []
        ctx.on("response", lambda r: responses.append(r))
        ctx.on("request", lambda r: requests_seen.append(r))
        if served_by_route:
            ctx.route(page_url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        else:
            site.pages["/attack.html"] = html
        page = ctx.new_page()
        page.goto(page_url, wait_until="commit")
        page.wait_for_function("() => window.__attack !== undefined")
        results = page.evaluate("() => window.__attack")
        page.wait_for_timeout(300)  # let the beacon's request go out

        def ours(url: str) -> bool:
            return any(url.startswith(o) for o in backend_origins)

        backend_requests = [r for r in requests_seen if ours(r.url) and r.url != page_url]
        cookie_requests = [r.url for r in backend_requests
                           if "papershelf_session=" in (r.all_headers().get("cookie") or "")]
        answered = [(r.url, r.status) for r in responses if ours(r.url) and r.url != page_url]
        frames = []
        for frame in page.frames[1:]:
            rendered = False
            if ours(frame.url):
                try:
                    rendered = bool(frame.evaluate(
                        "() => !!(document.body && (document.body.dataset.ready || document.querySelector('#app .topbar')))"))
                except Exception:
                    rendered = False  # an error page the test cannot even look into
            frames.append((frame.url, rendered))
        return AttackRun(results, answered, frames, cookie_requests, backend_requests)
    finally:
        ctx.close()


def _expected_attempts() -> int:
    from hostile_attacks import ATTACK_JS
    calls = ("tryFetch(\"", "xhr(\"", "element(\"", "socket(\"", "eventSource(\"", "form(\"", "frame(\"")
    body = ATTACK_JS.split("window.__attack =", 1)[1]
    return sum(body.count(c) for c in calls) + 2  # + sendBeacon, document.cookie


REPORT: dict[str, dict] = {}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_hostile_page_can_neither_read_nor_change_the_library(attack_browser, hostile_site, target, scenario,
                                                                 artifacts_dir):
    how, host = SCENARIOS[scenario]
    backend_origins = [f"http://127.0.0.1:{target.port}", f"http://localhost:{target.port}",
                       f"http://{host}:{target.port}", f"ws://127.0.0.1:{target.port}",
                       f"ws://localhost:{target.port}", f"ws://{host}:{target.port}"]
    if how == "site":
        page_url = f"http://{host}:{hostile_site.port}/attack.html"
        base = f"http://{host}:{target.port}"
    else:
        page_url = f"http://{host}:{target.port}/attack.html"
        base = ""  # same-origin by name: the page uses relative URLs
    before = target.snapshot()
    run = run_attack(attack_browser, target, page_url, base, backend_origins, how == "route", hostile_site)
    after = target.snapshot()

    changed = differences(before, after)
    leaked = leaks(run.results, target.secret_strings())
    framed = [u for u, rendered in run.frames if rendered]
    authorized = run.authorized()
    REPORT[scenario] = {"attempts": len(run.results), "backend requests": len(run.backend_requests),
                        "changed": len(changed), "leaked": len(leaked) + len(framed),
                        "authorized": len(authorized), "cookie requests": len(run.cookie_requests),
                        # cookies are not port-bound: the other local server receives it (any
                        # local program can also get one by loading "/"; see security.py)
                        "cookie seen by the hostile server": any(
                            "papershelf_session" in c for c in hostile_site.cookies_received())}
    (artifacts_dir / f"hostile-{host}.json").write_text(json.dumps(
        {"scenario": scenario, "summary": REPORT[scenario], "results": run.results,
         "responses": run.responses, "frames": run.frames}, indent=1))

    assert len(run.results) == _expected_attempts(), "every attempt ran and settled"
    assert len(run.backend_requests) >= 30, "the attempts reached the backend (nothing blocked them in the browser)"
    if how == "site":
        # The browser did send the session cookie along (127.0.0.1:other and localhost:other are
        # the same site as the backend): the cookie alone must authorize nothing.
        assert run.cookie_requests, "the cookie-carrying path was exercised"
    assert changed == [], changed
    assert leaked == [], json.dumps(leaked, indent=1)[:4000]
    assert framed == [], f"the library page rendered inside a foreign page: {framed}"
    assert authorized == [], authorized


def test_control_the_same_page_from_the_backends_own_origin_reads_and_changes_the_library(
        attack_browser, tmp_path, artifacts_dir):
    """Positive control: served from the backend's own origin the attack page is trusted,
    and every counter the real test relies on sees it."""
    server = start_backend(tmp_path)
    try:
        target = Target(server, tmp_path).seed()
        page_url = f"http://127.0.0.1:{target.port}/__control-attack.html"
        origins = [f"http://127.0.0.1:{target.port}", f"ws://127.0.0.1:{target.port}"]
        before = target.snapshot()
        run = run_attack(attack_browser, target, page_url, "", origins, True)
        after = target.snapshot()
        changed = differences(before, after)
        leaked = leaks(run.results, target.secret_strings())
        REPORT["control: backend's own origin"] = {
            "attempts": len(run.results), "backend requests": len(run.backend_requests),
            "changed": len(changed), "leaked": len(leaked), "authorized": len(run.authorized()),
            "cookie requests": len(run.cookie_requests)}
        (artifacts_dir / "hostile-control.json").write_text(json.dumps(
            {"summary": REPORT["control: backend's own origin"], "changed": changed,
             "leaked": [r["name"] for r in leaked]}, indent=1))
        assert len(run.results) == _expected_attempts()
        assert changed, "the control must change the library"
        assert leaked, "the control must read the library"
        assert any(target.canary in (r.get("text") or "") for r in leaked)
        assert run.authorized(), "the backend answered the control with 2xx"
        assert run.cookie_requests
    finally:
        server.stop()
