"""A listing page whose papers carry script/HTML payloads, saved through the real extension.

The page (built from tests/fixtures/hf-papers/001_date.html) puts payloads in the embedded
JSON and the DOM: titles, abstracts, author names, organisation names, the submitter,
GitHub repository and thumbnail URLs (``javascript:``, ``data:``, attribute break-outs),
template syntax, CSS, very long strings, RTL overrides and control characters; the page's
URL carries one too. The cards are saved with the Save buttons and "Save all" in the popup,
tagged with payload tags in the page and in the popup, and then looked at everywhere:
the listing page, the popup (opened as a tab), the options page, and the library page
(list, every detail pane, tag sidebar, tags view, duplicates, pairing, search), and the
BibTeX export.

Nothing may run. The browser is deliberately weaker than a real one: Content Security
Policy is bypassed (so only the pages' own care protects them) and Local Network Access
checks are off (so a payload's beacon reaches the sink from any page). The control test
first shows every payload does run when inserted the unsafe way, in the listing page, the
popup and the library page, and that each detector (flag, sink, routed beacon, DOM scan,
dialogs) sees it.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect

from hostile_env import FIXTURES, ExtensionBrowser, start_backend
from hostile_payloads import (BEACON_HOST, INJECT_JS, LISTING_URL, Payloads, build_listing, findings,
                              scan)

pytestmark = pytest.mark.browser

BUTTON = "button[data-papershelf-id]"
CONTROL_URL = "https://huggingface.co/papers/control-page"
REPORT: dict[str, dict] = {}


class World:
    """One backend, one extension browser, the sink and the payload page, for the module."""

    def __init__(self, backend, browser: ExtensionBrowser, sink, beacons, dialogs, pages, tmp):
        self.backend = backend
        self.browser = browser
        self.ctx = browser.ctx
        self.sink = sink
        self.beacons = beacons
        self.dialogs = dialogs
        self.pages = pages
        self.tmp = tmp
        self.http = backend.session()
        self.real = Payloads("real", sink)
        self.listing_html, self.ids, self.specs = build_listing(FIXTURES, self.real)
        # A payload in the page's own address (stored with every sighting).
        self.listing_url = LISTING_URL + "#" + '"><img src=x onerror="top.__pwn=[`real:url`]" data-pwn>'
        pages[LISTING_URL] = self.listing_html
        pages[CONTROL_URL] = "<!doctype html><html><body><h1>Control page</h1></body></html>"
        self.listing = None
        self.popup = None
        self.library = None
        self.paper_ids: dict[str, int] = {}

    def api(self, method, path, **kw):
        answer = self.http.request(method, self.backend.url + path, timeout=30, **kw)
        answer.raise_for_status()
        return answer.json()

    def executed(self, run: str = "real") -> dict:
        return {"sink": self.sink.count(run),
                "beacons": sum(1 for b in self.beacons if f"/{run}/" in b),
                "dialogs": len(self.dialogs)}

    def check(self, page, context: str) -> dict:
        """Scan a page for anything a payload did; record and return the findings."""
        page.wait_for_timeout(150)  # let an onerror/onload that was going to fire, fire
        result = scan(page, "real")
        REPORT[context] = {"findings": findings(result), **{k: len(v) for k, v in result.items()}}
        return result


@pytest.fixture(scope="module")
def world(playwright, sink, tmp_path_factory):
    root = tmp_path_factory.mktemp("payloads")
    backend = start_backend(root)
    beacons: list[str] = []
    dialogs: list[str] = []
    pages: dict[str, str] = {}

    def route(r):
        url = r.request.url
        if url.startswith(f"https://{BEACON_HOST}/"):
            beacons.append(url)
            r.fulfill(status=204, body="")
            return
        body = pages.get(url.split("#")[0])
        if body is None:
            r.fulfill(status=404, content_type="text/plain", body="not in the test pages")
        else:
            r.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    profile = root / "profile"
    profile.mkdir()
    browser = ExtensionBrowser(playwright, profile, bypass_csp=True, route=route)
    try:
        browser.launch()
        browser.ctx.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        browser.pair(backend.url, backend.token)
        yield World(backend, browser, sink, beacons, dialogs, pages, root)
    finally:
        browser.close()
        backend.stop()


def open_popup(w: World, tab_url_prefix: str):
    tabs = w.browser.worker.evaluate("async () => (await chrome.tabs.query({})).map(t => [t.id, t.url])")
    tab_id = next(t for t, u in tabs if u and u.startswith(tab_url_prefix))
    popup = w.ctx.new_page()
    popup.set_viewport_size({"width": 380, "height": 800})
    popup.goto(w.browser.ext_url(f"popup.html?tab={tab_id}"))
    expect(popup.locator("body")).to_have_attribute("data-ready", "true")
    return popup


# ----------------------------------------------------------------------------- control
def test_control_every_payload_runs_when_inserted_unsafely(world):
    """Positive control: inserted the unsafe way, each payload runs, and the detectors see it."""
    w = world
    ctrl = Payloads("ctrl", w.sink)
    page = w.ctx.new_page()
    page.goto(CONTROL_URL)
    payloads = list(ctrl.all().values()) + ctrl.tags()
    for p in payloads:
        if p.how != "none":
            page.evaluate(INJECT_JS, [p.text, p.how])
    page.evaluate(INJECT_JS, ['<img src=x onerror="alert(`ctrl`)">', "html"])
    runs = [p for p in payloads if p.how not in ("none", "markup")]
    page.wait_for_function("n => (window.__pwn || []).length >= n",
                           arg=sum(1 for p in runs if not p.name.startswith("css")))
    page.wait_for_timeout(500)
    flags = set(page.evaluate("() => window.__pwn || []"))
    sink_hits = w.sink.by_payload("ctrl")
    beacon_hits = {b.rsplit("/", 1)[1] for b in w.beacons if "/ctrl/" in b}
    missing = []
    for p in runs:
        ran = f"ctrl:{p.name}" in flags or sink_hits.get(p.name)
        if not ran:
            missing.append(p.name)
        if p.beacon and not p.name.startswith("css"):
            assert sink_hits.get(p.name), f"{p.name}: the sink saw no hit"
            assert p.name in beacon_hits, f"{p.name}: the routed beacon saw no hit"
    assert missing == [], f"payloads that did not run even when inserted unsafely: {missing}"
    assert sink_hits.get("csstag") and sink_hits.get("cssattr"), "CSS payloads reach the sink"
    assert w.dialogs, "the dialog detector saw alert()"
    found = scan(page, "ctrl")
    assert found["markers"] and found["urls"] and found["handlers"] and found["flags"], found
    page.close()
    w.dialogs.clear()

    # The same detectors in the extension's popup and in the library page.
    for name, url in (("popup", w.browser.ext_url("popup.html")), ("library", w.backend.url + "/")):
        run = f"ctrl{name}"
        p = Payloads(run, w.sink).all()["img"]
        page = w.ctx.new_page()
        page.goto(url)
        page.evaluate(INJECT_JS, [p.text, p.how])
        page.wait_for_function("() => (window.__pwn || []).length > 0")
        found = scan(page, run)
        assert found["flags"] and found["markers"] and found["handlers"], (name, found)
        page.wait_for_timeout(300)
        assert w.sink.count(run) >= 1, f"{name}: the sink saw the control payload"
        assert any(f"/{run}/" in b for b in w.beacons), f"{name}: the routed beacon saw the control payload"
        page.close()
    REPORT["control"] = {"payloads run": len(runs) - len(missing),
                         "sink hits": w.sink.count("ctrl"), "dialogs": 1}


# ----------------------------------------------------------------------------- saving
def test_the_payload_cards_are_saved_and_tagged_through_the_extension(world):
    w = world
    page = w.ctx.new_page()
    w.listing = page
    page.goto(w.listing_url)
    expect(page.locator(BUTTON)).to_have_count(len(w.ids))
    page.wait_for_function(
        "() => [...document.querySelectorAll('button[data-papershelf-id]')].every(b => b.dataset.papershelfState === 'idle')")
    # Three with their own Save buttons, the rest with "Save all" in the popup.
    for aid in w.ids[:3]:
        page.locator(f'{BUTTON}[data-papershelf-id="{aid}"]').click()
    for aid in w.ids[:3]:
        expect(page.locator(f'{BUTTON}[data-papershelf-id="{aid}"]')).not_to_have_attribute("data-papershelf-state", "saving")
    w.popup = open_popup(w, LISTING_URL)
    w.popup.get_by_role("button", name="Save all on this page").click()
    expect(w.popup.locator("#progress-box")).to_have_attribute("data-finished", "true")
    states = page.eval_on_selector_all(BUTTON, "bs => bs.map(b => [b.dataset.papershelfId, b.dataset.papershelfState, b.dataset.papershelfError || ''])")
    not_saved = [s for s in states if s[1] != "saved"]
    assert not_saved == [], f"cards the extension could not save: {not_saved}"
    found = w.api("POST", "/api/papers/lookup", json={"arxiv_ids": w.ids})["papers"]
    assert set(found) == set(w.ids)
    w.paper_ids = {aid: found[aid]["id"] for aid in w.ids}

    # What was stored is the page's text (clipped where it was too long for the library),
    # and URL fields hold only http(s) URLs.
    for aid, spec in zip(w.ids, w.specs):
        paper = w.api("GET", f"/api/papers/{w.paper_ids[aid]}")
        assert paper["title"], aid
        if len(spec["title"]) < 900 and "\u0007" not in spec["title"]:
            assert paper["title"] == " ".join(spec["title"].split()), aid
        for field in ("github_repo", "thumbnail", "hf_url"):
            assert paper[field] is None or re.match(r"^https?://", paper[field]), (aid, field, paper[field])
        for sighting in paper["sightings"]:
            assert sighting["url"].startswith(LISTING_URL), sighting

    # Payload tags: two in the page's own tag input, two in the popup, the rest by the API.
    tags = w.real.tags()
    for aid, tag in zip(w.ids[:2], tags[:2]):
        widget = page.locator(f'{BUTTON}[data-papershelf-id="{aid}"]').locator("xpath=..")
        widget.get_by_role("button", name="Add a tag").click()
        box = widget.locator("input")
        box.fill(tag.text)
        box.press("Enter")
        page.wait_for_function(
            "([id, n]) => { const w = document.querySelector(`.papershelf-widget[data-papershelf-for='${id}'] .papershelf-tags`);"
            " return w && w.textContent.length > 0; }", arg=[aid, 1])
    w.popup.reload()
    expect(w.popup.locator("#saved > li")).to_have_count(len(w.ids))
    for aid, tag in zip(w.ids[2:4], tags[2:4]):
        box = w.popup.locator(f'#saved li[data-arxiv-id="{aid}"] input.tag-input')
        box.fill(tag.text)
        box.press("Enter")
        expect(w.popup.locator(f'#saved li[data-arxiv-id="{aid}"] .chip')).to_have_count(1)
    for i, tag in enumerate(tags[4:]):
        w.api("POST", f"/api/papers/{w.paper_ids[w.ids[4 + i % 4]]}/tags", json={"add": [tag.text]})
    # The first paper gets every tag, so its detail pane shows them all.
    w.api("POST", f"/api/papers/{w.paper_ids[w.ids[0]]}/tags", json={"add": [t.text for t in tags]})
    stored = {t["name"] for t in w.api("GET", "/api/tags")["tags"]}
    assert {" ".join(t.text.split()) for t in tags} <= stored

    # A twin of the first card under another arXiv id: flagged as a possible duplicate.
    first = w.api("GET", f"/api/papers/{w.paper_ids[w.ids[0]]}")
    twin = {k: first[k] for k in ("title", "abstract", "authors", "org_name", "submitted_by", "published")}
    saved = w.api("POST", "/api/papers", json={**twin, "arxiv_id": "2601.31337"})
    assert saved["results"][0]["status"] == "possible_duplicate", saved["results"][0]["status"]
    # A pairing request and a paired client named with payloads (any local program may ask).
    for name in ("<img src=x onerror=top.__pwn=[`real:pair`] data-pwn>", '"><svg onload=top.__pwn=[`real:client`] data-pwn>'):
        requests.post(w.backend.url + "/api/pair/requests", json={"client": name}, timeout=10).raise_for_status()
    pending = w.api("GET", "/api/pair/requests")["requests"]
    w.api("POST", f"/api/pair/requests/{pending[-1]['request_id']}/approve")
    assert w.executed() == {"sink": 0, "beacons": 0, "dialogs": 0}


# ----------------------------------------------------------------------------- where they show
def test_nothing_runs_in_the_listing_page(world):
    w = world
    page = w.listing
    page.reload()
    expect(page.locator(f'{BUTTON}[data-papershelf-state="saved"]')).to_have_count(len(w.ids))
    page.wait_for_function("() => document.querySelectorAll('.papershelf-tags').length > 0"
                           " && [...document.querySelectorAll('.papershelf-tags')].some(t => t.textContent)")
    result = w.check(page, "listing page")
    assert findings(result) == 0, result
    assert w.executed() == {"sink": 0, "beacons": 0, "dialogs": 0}


def test_nothing_runs_in_the_popup_or_the_options_page(world):
    w = world
    # A card the backend refused, as the popup lists it (reason and title from the page).
    bad = w.real.all()
    w.browser.worker.evaluate("(e) => chrome.storage.local.set({outboxFailed: [e]})", {
        "key": "arxiv:2601.00007", "card": {"arxiv_id": "2601.00007", "title": bad["img"].text},
        "source": None, "queued_at": 0, "stamp": "x", "attempts": 1, "last_error": bad["svg"].text, "failed_at": 0})
    popup = w.popup
    popup.reload()
    expect(popup.locator("#saved > li")).to_have_count(len(w.ids))
    expect(popup.locator("#failed > li")).to_have_count(1)
    expect(popup.locator("#recent > li")).not_to_have_count(0)
    chips = popup.locator("#saved .chip")
    assert chips.count() >= 4
    result = w.check(popup, "popup (tab)")
    assert findings(result) == 0, result
    options = w.ctx.new_page()
    options.goto(w.browser.ext_url("options.html"))
    expect(options.locator("#status")).to_contain_text("connected")
    result = w.check(options, "options page")
    assert findings(result) == 0, result
    options.close()
    w.browser.worker.evaluate("() => chrome.storage.local.set({outboxFailed: []})")
    assert w.executed() == {"sink": 0, "beacons": 0, "dialogs": 0}


def test_the_content_scripts_channel_cannot_re_pair_or_redirect_the_extension(world):
    """If a listing page ever got code running in the content script's world, the messages
    it could send the background are only look-up, save and tag: pairing, unpairing,
    another backend address and the rejected-saves list answer only the extension's pages."""
    w = world
    page = w.listing
    cdp = w.ctx.new_cdp_session(page)
    contexts = []
    cdp.on("Runtime.executionContextCreated", lambda e: contexts.append(e["context"]))
    cdp.send("Runtime.enable")
    page.wait_for_timeout(200)
    world_id = next(c["id"] for c in contexts
                    if c.get("auxData", {}).get("type") == "isolated" and c.get("origin", "").startswith("chrome-extension://"))

    def send(message: dict) -> dict:
        answer = cdp.send("Runtime.evaluate", {
            "expression": f"chrome.runtime.sendMessage({json.dumps(message)})",
            "contextId": world_id, "awaitPromise": True, "returnByValue": True})
        return answer["result"].get("value") or {}

    # Control: the same channel does carry what a content script is for.
    looked_up = send({"type": "lookup", "ids": w.ids[:2]})
    assert set(looked_up.get("papers", {})) == set(w.ids[:2]), looked_up
    before = {k: w.browser.storage(k) for k in ("backendUrl", "token")}
    refused = []
    for message in ({"type": "pair", "backendUrl": "http://127.0.0.1:9", "token": "evil"},
                    {"type": "pairStart", "backendUrl": "http://127.0.0.1:9"}, {"type": "pairPoll"},
                    {"type": "unpair"}, {"type": "discardFailed", "key": "x"}, {"type": "retryFailed"},
                    {"type": "flush"}, {"type": "status"}, {"type": "pageTab"}):
        answer = send(message)
        if answer.get("ok") is False and "only for the extension" in answer.get("error", ""):
            refused.append(message["type"])
    assert refused == ["pair", "pairStart", "pairPoll", "unpair", "discardFailed", "retryFailed",
                       "flush", "status", "pageTab"]
    assert {k: w.browser.storage(k) for k in ("backendUrl", "token")} == before
    cdp.detach()


def _wait_list(page):
    page.wait_for_function("() => { const l = document.getElementById('list');"
                           " return l && l.dataset.busy === 'false'; }")


def test_nothing_runs_in_the_library_page(world):
    w = world
    page = w.ctx.new_page()
    w.library = page
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(w.backend.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#list .row:not(.loading):not([hidden])")
    _wait_list(page)
    results = {"library list and tag sidebar": w.check(page, "library: list + tag sidebar")}

    # Every payload paper's detail pane.
    for n, aid in enumerate(w.ids):
        pid = w.paper_ids[aid]
        stored = w.api("GET", f"/api/papers/{pid}")
        page.evaluate("id => { location.hash = '#/library'; }", pid)
        row = page.locator(f'#list .row[data-id="{pid}"]:not([hidden])')
        row.scroll_into_view_if_needed()
        row.click()
        page.wait_for_selector(f'#detail[data-id="{pid}"][data-loading="false"]')
        assert page.locator("#detail-title").evaluate("e => e.textContent") == stored["title"], aid
        hrefs = page.eval_on_selector_all("#detail a[href]", "as => as.map(a => a.getAttribute('href'))")
        assert all(re.match(r"^https?://", h) for h in hrefs), hrefs
        results[f"detail {n}"] = w.check(page, f"library: detail pane {n}")

    # A payload tag chosen in the sidebar.
    tag = w.real.tags()[0].text
    page.evaluate("t => [...document.querySelectorAll('#tag-list .tag-item')].find(b => b.dataset.tag === t).click()", tag)
    _wait_list(page)
    results["tag filter"] = w.check(page, "library: a payload tag chosen")
    # Searching for a payload.
    page.locator("#search").fill(w.real.all()["img"].text[:60])
    page.locator("#search").press("Enter")
    _wait_list(page)
    results["search"] = w.check(page, "library: search for a payload")
    for view, ready in (("tags", "#tags-filter"), ("duplicates", ".dup-list"), ("pairing", "#view-pairing")):
        page.goto(w.backend.url + f"/#/{view}")
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
        results[view] = w.check(page, f"library: {view} view")
    assert page.locator(".dup-list .dup-card, .dup-list > *").count() >= 1, "the duplicates view shows the pair"
    bad = {k: v for k, v in results.items() if findings(v)}
    assert bad == {}, json.dumps(bad, indent=1)[:4000]
    assert w.executed() == {"sink": 0, "beacons": 0, "dialogs": 0}


def test_the_bibtex_export_is_a_plain_text_download(world):
    w = world
    page = w.library
    page.goto(w.backend.url + "/#/library")
    page.wait_for_selector("#list .row:not(.loading):not([hidden])")
    page.locator("#export-btn").click()
    page.locator("#export-form input[value=all]").check()
    with page.expect_download() as info:
        page.locator("#export-go").click()
    path = w.tmp / "payloads.bib"
    info.value.save_as(path)
    text = path.read_bytes().decode("utf-8")  # plain UTF-8 text
    assert len(re.findall(r"^@(?!preamble|string|comment)\w+\{", text, re.M | re.I)) == len(w.ids) + 1  # + the twin
    # The papers of a tag named in another script (the file name follows the tag).
    tag = next(t.text for t in w.real.tags() if t.name == "tag-cjk")
    page.evaluate("t => [...document.querySelectorAll('#tag-list .tag-item')].find(b => b.dataset.tag === t).click()", tag)
    _wait_list(page)
    page.locator("#export-btn").click()
    page.locator("#export-form input[value=tag]").check()
    with page.expect_download() as tagged:
        page.locator("#export-go").click()
    tagged.value.save_as(w.tmp / "tag.bib")
    entries = re.findall(r"^@(?!preamble|string|comment)\w+\{", (w.tmp / "tag.bib").read_text(encoding="utf-8"),
                         re.M | re.I)
    count = next(t["count"] for t in w.api("GET", "/api/tags")["tags"] if t["name"] == tag)
    assert len(entries) == count == 2
    answer = w.http.get(w.backend.url + "/api/export.bib", params={"tag": tag}, timeout=30)
    assert answer.status_code == 200, answer.text[:200]
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    # Opened directly, the export downloads instead of rendering.
    tab = w.ctx.new_page()
    with tab.expect_download() as direct:
        try:
            tab.goto(w.backend.url + "/api/export.bib")
        except Exception:
            pass  # "Download is starting": the navigation became a download
    assert direct.value.suggested_filename.endswith(".bib")
    tab.close()
    answer = w.http.get(w.backend.url + "/api/export.bib", timeout=30)
    assert answer.headers["Content-Type"].startswith("application/x-bibtex")
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    REPORT["bibtex export"] = {"bytes": len(text), "entries": len(w.ids) + 1, "tag export entries": count}
    assert w.executed() == {"sink": 0, "beacons": 0, "dialogs": 0}


def test_the_library_page_with_its_own_csp_reports_no_violation(world, attack_browser):
    """The same views in a browser that applies the page's CSP: no inline script or style
    was even attempted (a violation would mean markup got in and was merely blocked)."""
    w = world
    ctx = attack_browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        ctx.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
        page = ctx.new_page()
        page.goto(w.backend.url + "/")
        page.wait_for_selector("#list .row:not(.loading):not([hidden])")
        for aid in w.ids:
            pid = w.paper_ids[aid]
            row = page.locator(f'#list .row[data-id="{pid}"]:not([hidden])')
            row.scroll_into_view_if_needed()
            row.click()
            page.wait_for_selector(f'#detail[data-id="{pid}"][data-loading="false"]')
        violations = page.evaluate("() => window.__csp")
        for view in ("tags", "duplicates", "pairing"):
            page.goto(w.backend.url + f"/#/{view}")
            page.wait_for_timeout(400)
            violations += page.evaluate("() => window.__csp")
        REPORT["library page with CSP"] = {"violations": len(violations)}
        assert violations == []
    finally:
        ctx.close()


def test_zz_nothing_ran_anywhere(world, artifacts_dir):
    """The sink and the routed beacon count hits from every context, the service worker
    included: after all of the above, none."""
    w = world
    executed = w.executed()
    REPORT["total"] = executed
    (artifacts_dir / "hostile-payloads.json").write_text(json.dumps(REPORT, indent=1))
    assert executed == {"sink": 0, "beacons": 0, "dialogs": 0}, executed
