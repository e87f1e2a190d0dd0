"""Typing while answers are on their way: the search box's newest text wins, Enter waits
for rows to move to, tag suggestions narrow before the backend answers. Answers are held
back by request routing, so the order of events is fixed, not a matter of timing."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from page_helpers import row

pytestmark = pytest.mark.browser

# Every title a row with a paper has shown, from a MutationObserver (a row shown for a
# moment is caught too).
RECORD_TITLES_JS = """() => {
  window.__titles = new Set();
  const list = document.getElementById('list');
  const grab = () => {
    for (const t of list.querySelectorAll('.row[data-id]:not([data-id=""]):not([hidden]) .c-title'))
      window.__titles.add(t.textContent);
  };
  new MutationObserver(grab).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
}"""


def _answer(q: str, n: int) -> str:
    papers = [{"id": 900_000 + i, "title": f"Answer for {q} {i}", "authors": ["A. Author"],
               "authors_count": 1, "published": "2025-01-01", "upvotes": i, "tags": [],
               "added_at": "2025-01-01T00:00:00Z", "read": True, "starred": False}
              for i in range(n)]
    return json.dumps({"papers": papers, "total": n})


def _route_searches(page, answers: dict, held: list):
    """Searches for a text in `answers` get that many made-up papers; None holds the
    request back (appended to `held`); other requests go to the backend."""
    def handler(route):
        q = parse_qs(urlparse(route.request.url).query).get("q", [""])[0]
        if q not in answers:
            route.continue_()
        elif answers[q] is None:
            held.append((q, route))
        else:
            route.fulfill(status=200, content_type="application/json", body=_answer(q, answers[q]))
    page.route(re.compile(r".*/api/papers\?.*"), handler)


def _wait_held(page, held: list, n: int = 1):
    for _ in range(250):
        if len(held) >= n:
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"{n} request(s) expected to be held, got {len(held)}")


def test_an_answer_typed_past_is_not_shown(ro_page):
    page = ro_page
    held = []
    _route_searches(page, {"zz": None, "zzy": 3}, held)
    page.evaluate(RECORD_TITLES_JS)
    search = page.locator("#search")
    search.fill("zz")
    _wait_held(page, held)
    search.press("y")  # typed while the answer for "zz" is on its way
    held[0][1].fulfill(status=200, content_type="application/json", body=_answer("zz", 3))
    expect(row(page, 0).locator(".c-title")).to_have_text("Answer for zzy 0")
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^3 papers"))
    titles = page.evaluate("() => [...window.__titles]")
    assert not [t for t in titles if t.startswith("Answer for zz ")], titles
    # the address follows the newest text once the typing pauses
    expect(page).to_have_url(re.compile(r"q=zzy(&|$)"))


def test_enter_moves_to_the_rows_of_the_newer_answer(ro_page):
    """Nothing matched the text shown; Enter pressed while a newer query is on its way
    moves to its rows when they come."""
    page = ro_page
    held = []
    _route_searches(page, {"zq": 0, "zqw": None}, held)
    search = page.locator("#search")
    search.fill("zq")
    expect(page.locator("#no-match")).to_be_visible()
    search.press("w")
    _wait_held(page, held)
    search.press("Enter")
    expect(search).to_be_focused()  # no rows to move to yet
    held[0][1].fulfill(status=200, content_type="application/json", body=_answer("zqw", 2))
    expect(page.locator("#list")).to_be_focused()
    expect(page.locator("#list .row.cursor .c-title")).to_have_text("Answer for zqw 0")


def test_tag_suggestions_narrow_before_the_backend_answers(ro_page):
    page = ro_page
    row(page, 0).click()
    expect(page.locator("#detail")).to_have_attribute("data-loading", "false")
    held = []
    tags = [{"name": "xalpha", "count": 3}, {"name": "xbeta", "count": 2}, {"name": "xbravo", "count": 1}]

    def handler(route):
        prefix = parse_qs(urlparse(route.request.url).query).get("prefix", [""])[0]
        if prefix:
            held.append(route)  # the answer for what is typed stays on its way
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"tags": tags}))
    page.route(re.compile(r".*/api/tags\?.*"), handler)
    tag_input = page.locator("#detail-tags .tag-input")
    tag_input.click()
    items = page.locator("#detail-tags .ac-item .ac-name")
    expect(items).to_have_text(["xalpha", "xbeta", "xbravo"])
    tag_input.press("ArrowDown")
    tag_input.press("ArrowDown")  # xbeta chosen
    tag_input.press_sequentially("xb")
    expect(items).to_have_text(["xbeta", "xbravo"])
    expect(page.locator("#detail-tags .ac-item.active .ac-name")).to_have_text("xbeta")
    _wait_held(page, held)
    for route in held:
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"tags": tags[1:]}))
    expect(items).to_have_text(["xbeta", "xbravo"])


# Every change made inside the rows' cells, by row index (a cell rewritten with the same text
# counts: that is what makes the browser lay the row out again).
RECORD_CELL_CHANGES_JS = """() => {
  window.__changed = {};
  const list = document.getElementById('list');
  new MutationObserver((records) => {
    for (const r of records) {
      const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const row = node && node.closest('.row');
      if (!row || !node.closest('.cell')) continue;
      const i = row.dataset.index;
      (window.__changed[i] = window.__changed[i] || []).push(r.type + ' ' + (r.attributeName || ''));
    }
  }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true,
                     attributeFilter: ['title'] });
}"""


def test_a_new_answer_rewrites_only_the_cells_that_changed(ro_page):
    """Typing on often keeps the same first rows: a row whose paper shows the same is left
    alone, and a row whose paper differs shows the new values."""
    page = ro_page
    first = json.loads(_answer("same", 3))
    second = json.loads(json.dumps(first))
    second["papers"][1].update(title="A changed title", tags=["new-tag"], upvotes=42)
    answers = {"sam": json.dumps(first), "same": json.dumps(second)}

    def handler(route):
        q = parse_qs(urlparse(route.request.url).query).get("q", [""])[0]
        if q in answers:
            route.fulfill(status=200, content_type="application/json", body=answers[q])
        else:
            route.continue_()
    page.route(re.compile(r".*/api/papers\?.*"), handler)
    search = page.locator("#search")
    search.fill("sam")
    expect(row(page, 1).locator(".c-title")).to_have_text("Answer for same 1")
    page.wait_for_function("() => document.getElementById('list').dataset.busy === 'false'")
    page.evaluate(RECORD_CELL_CHANGES_JS)
    search.press("e")
    expect(row(page, 1).locator(".c-title")).to_have_text("A changed title")
    expect(row(page, 1).locator(".c-tags .chip")).to_have_text(["new-tag"])
    expect(row(page, 1).locator(".c-upvotes")).to_have_text("42")
    expect(row(page, 2).locator(".c-title")).to_have_text("Answer for same 2")
    page.wait_for_function("() => document.getElementById('list').dataset.busy === 'false'")
    changed = page.evaluate("() => window.__changed")
    assert set(changed) == {"1"}, changed
