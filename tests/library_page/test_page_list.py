"""The list: rendering, text-only rendering of web data, search, filters, sort, empty
library, virtualisation at 50,000 papers, themes."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from page_helpers import ROWS, row, row_by_id, visible_rows, wait_count, wait_list_settled
from page_library import XSS_TAG, XSS_TITLE

pytestmark = pytest.mark.browser


def test_list_shows_the_library(ro_page, shared_backend):
    page, backend = ro_page, shared_backend
    total = backend.get("/papers", limit=1)["total"]
    wait_count(page, total)
    rows = visible_rows(page)
    first = backend.find(sort="added", order="desc")[0]
    assert rows[0]["id"] == first["id"]
    # columns: title, first authors, date, upvotes, tags, added
    r0 = row(page, 0)
    expect(r0.locator(".c-title")).to_have_text(first["title"])
    some = next(p for p in backend.find() if len(p["authors"]) > 2 and p["tags"])
    target = row_by_id(page, some["id"])
    page.locator("#list").evaluate("(el, i) => el.scrollTop = i * 36",
                                   next(i for i, p in enumerate(backend.find(sort="added", order="desc")) if p["id"] == some["id"]))
    expect(target.locator(".c-authors")).to_have_text(f"{some['authors'][0]}, {some['authors'][1]} +{len(some['authors']) - 2}")
    expect(target.locator(".c-date")).to_have_text(some.get("published") or "")
    expect(target.locator(".c-upvotes")).to_have_text(str(some["upvotes"]))
    expect(target.locator(".c-tags .chip").first).to_have_text(some["tags"][0])
    # sidebar: tag counts from the backend
    for tag in backend.get("/tags")["tags"]:
        expect(page.locator(f'#tag-list .tag-item[data-tag="{tag["name"]}"] .side-count')).to_have_text(str(tag["count"]))


def test_web_text_is_rendered_as_text(ro_page, shared_backend):
    page, backend = ro_page, shared_backend
    xss = backend.by_title("Robust <b>bold</b>")
    wait_list_settled(page)
    r = row_by_id(page, xss["id"])
    expect(r.locator(".c-title")).to_have_text(XSS_TITLE)
    r.click()
    expect(page.locator("#detail-title")).to_have_text(XSS_TITLE)
    expect(page.locator("#detail-abstract")).to_contain_text("<b>not bold</b>")
    expect(page.locator("#detail .d-authors")).to_contain_text("<svg onload=alert(1)>")
    expect(page.locator(f'#detail .chip[data-tag="{XSS_TAG}"] .chip-label')).to_have_text(XSS_TAG)
    expect(page.locator(f'#tag-list .tag-item[data-tag="{XSS_TAG}"] .side-label')).to_have_text(XSS_TAG)
    # nothing was interpreted as markup, nothing ran
    assert page.evaluate("window.__xss") is None
    assert page.locator("#app img, #app script, #app b, #app i, #detail svg:not(.icon)").count() == 0
    assert page.locator("#detail a[href^='javascript:']").count() == 0


def test_search_as_you_type_is_typo_tolerant(ro_page, shared_backend):
    page, backend = ro_page, shared_backend
    total = backend.get("/papers", limit=1)["total"]
    page.locator("#search").press_sequentially("hierarchcal memries", delay=20)
    wait_count(page, 1)
    expect(row(page, 0).locator(".c-title")).to_contain_text("Pretraining with hierarchical memories")
    # the address follows once the typing pauses
    expect(page).to_have_url(re.compile(r"q=hierarchcal"))
    # sort follows relevance while searching
    expect(page.locator("#sort")).to_have_value("relevance")
    # the filter chip clears the search
    page.locator("#chip-q").click()
    wait_count(page, total)
    expect(page.locator("#search")).to_have_value("")


def test_search_over_authors_and_tags(ro_page, shared_backend):
    page, backend = ro_page, shared_backend
    author = backend.find()[5]["authors"][0]
    expected = backend.get("/papers", q=author, limit=1)["total"]
    page.locator("#search").fill(author)
    wait_count(page, expected)
    rows = visible_rows(page)
    assert rows, "no result"


def test_filter_by_tag_read_and_starred(page, backend):
    tags = {t["name"]: t["count"] for t in backend.get("/tags")["tags"]}
    page.locator('#tag-list .tag-item[data-tag="parallel"]').click()
    wait_count(page, tags["parallel"])
    assert all("parallel" in r["tags"] for r in visible_rows(page))
    expect(page.locator("#chip-tag")).to_have_text(re.compile("tag: parallel"))

    # mark the first one read from the detail pane, star the second from its row
    row(page, 0).click()
    page.locator("#detail-read").click()
    expect(page.locator("#detail-read")).to_have_attribute("aria-pressed", "true")
    second = visible_rows(page)[1]
    row(page, 1).locator(".star-btn").click()
    expect(row(page, 1)).to_have_class(re.compile(r"\bstarred\b"))
    page.locator("#detail-close").click()

    page.locator("#read-filter").select_option("true")
    wait_count(page, 1)
    page.locator("#read-filter").select_option("false")
    wait_count(page, tags["parallel"] - 1)
    page.locator("#read-filter").select_option("")
    page.locator("#starred-filter").click()
    wait_count(page, 1)
    assert visible_rows(page)[0]["id"] == second["id"]
    # filters survive a reload (they live in the address)
    page.reload()
    wait_count(page, 1)
    expect(page.locator("#starred-filter")).to_have_attribute("aria-pressed", "true")
    # the sidebar's smart lists
    page.locator("#smart-all").click()
    total = backend.get("/papers", limit=1)["total"]
    wait_count(page, total)
    page.locator("#smart-starred").click()
    wait_count(page, 1)
    page.locator("#smart-unread").click()
    wait_count(page, total - 1)
    assert backend.paper(second["id"])["starred"] is True


def test_sort_by_title_upvotes_published_and_order(ro_page, shared_backend):
    page, backend = ro_page, shared_backend
    page.locator("#sort").select_option("title")
    expected = [p["id"] for p in backend.find(sort="title", order="asc")[:5]]
    page.wait_for_function("ids => { const r = [...document.querySelectorAll('#list .row:not([hidden]):not(.loading)')]"
                           ".sort((a,b)=>a.dataset.index-b.dataset.index).slice(0,5).map(r=>Number(r.dataset.id));"
                           " return JSON.stringify(r) === JSON.stringify(ids); }", arg=expected)
    page.locator("#order").click()
    expected = [p["id"] for p in backend.find(sort="title", order="desc")[:5]]
    page.wait_for_function("ids => { const r = [...document.querySelectorAll('#list .row:not([hidden]):not(.loading)')]"
                           ".sort((a,b)=>a.dataset.index-b.dataset.index).slice(0,5).map(r=>Number(r.dataset.id));"
                           " return JSON.stringify(r) === JSON.stringify(ids); }", arg=expected)
    # clicking a column header sorts by it
    page.locator(".list-head .head[data-sort=upvotes]").click()
    top = max(p.get("upvotes") or 0 for p in backend.find())
    expect(row(page, 0).locator(".c-upvotes")).to_have_text(str(top))
    ups = [int(r["upvotes"] or 0) for r in visible_rows(page)]
    assert ups == sorted(ups, reverse=True)
    page.locator("#sort").select_option("published")
    newest = max(p.get("published") or "" for p in backend.find())
    expect(row(page, 0).locator(".c-date")).to_have_text(newest)


def test_empty_library_explains_extension_and_pairing(open_page, empty_backend):
    page = open_page(empty_backend, wait_rows=False)
    box = page.locator("#empty-library")
    expect(box).to_be_visible()
    expect(box).to_contain_text("Install the extension")
    expect(box).to_contain_text("Pair it")
    expect(box.locator("a[href='#/pairing']")).to_be_visible()
    expect(page.locator("#result-count")).to_have_text("0 papers")
    # a search with no result is not the empty-library message
    page.locator("#search").fill("nothing")
    expect(page.locator("#no-match")).to_be_visible()
    expect(page.locator("#empty-library")).to_have_count(0)


def test_fifty_thousand_papers_render_only_visible_rows(open_page, shared_backend):
    """The backend's list endpoint is replaced by a synthetic 50,000-paper answer (feeding
    50k papers through the API takes too long for a test); the page must page through it
    with limit/offset and keep the DOM small."""
    total = 50_000
    requests = []

    def fake(route):
        q = parse_qs(urlparse(route.request.url).query)
        limit, offset = int(q.get("limit", ["50"])[0]), int(q.get("offset", ["0"])[0])
        requests.append((limit, offset))
        papers = [{"id": i + 1, "title": f"Synthetic paper {i}", "authors": ["A. Author", "B. Author"],
                   "authors_count": 2, "published": "2025-01-01", "upvotes": i % 500, "tags": ["synthetic"],
                   "added_at": "2025-01-01T00:00:00Z", "read": bool(i % 2), "starred": False}
                  for i in range(offset, min(total, offset + limit))]
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({"papers": papers, "total": total}))

    ctx_page = open_page(shared_backend, wait_rows=False)
    ctx_page.route(re.compile(r".*/api/papers\?.*"), fake)
    page = ctx_page
    page.reload()
    page.wait_for_selector(ROWS)
    wait_count(page, total)
    assert int(page.locator("#list").get_attribute("data-rendered")) < 80
    assert page.locator("#list .row").count() < 120
    # jump to the middle and to the end: only those pages are fetched
    for target in (25_000, total - 1):
        page.locator("#list").evaluate("(el, i) => el.scrollTop = i * 36", target)
        expect(page.locator(f'#list .row[data-index="{target}"] .c-title')).to_have_text(
            f"Synthetic paper {target}" if target < total - 1 else f"Synthetic paper {total - 1}")
    assert page.locator("#list .row").count() < 160
    offsets = {o for _, o in requests}
    assert 0 in offsets and (total - 1) // 100 * 100 in offsets
    assert len(requests) < 30, requests
    assert all(limit <= 500 for limit, _ in requests)
    # keyboard navigation works deep in the list
    page.locator("#list").focus()
    page.keyboard.press("k")
    expect(page.locator("#list .row.cursor")).to_have_count(1)


def test_theme_toggle_and_system_preference(open_page, shared_backend):
    dark = open_page(shared_backend, color_scheme="dark")
    bg = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(15, 17, 21)", bg
    toggle = dark.locator("#theme-toggle")
    toggle.click()  # auto -> light
    expect(dark.locator("html")).to_have_attribute("data-theme", "light")
    assert dark.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    toggle.click()  # light -> dark
    expect(dark.locator("html")).to_have_attribute("data-theme", "dark")
    dark.reload()
    expect(dark.locator("html")).to_have_attribute("data-theme", "dark")
    toggle = dark.locator("#theme-toggle")
    toggle.click()  # dark -> auto
    expect(dark.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
