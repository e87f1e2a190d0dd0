"""Screenshots of the list, the detail pane and the duplicates view, light and dark, for a
person to look at (test-artifacts/, git-ignored)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from page_helpers import row_by_id, wait_list_settled

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(open_page, backend, artifacts_dir, scheme):
    # a lived-in library: some papers read, starred, tagged, annotated (and without the
    # test paper whose title is a script payload)
    xss = backend.by_title("Robust <b>bold</b>")
    backend.http.delete(f"{backend.url}/api/papers/{xss['id']}", timeout=10).raise_for_status()
    papers = backend.find(sort="added", order="desc")
    backend.post("/papers/bulk", {"ids": [p["id"] for p in papers[3:9]], "action": "read"})
    backend.post("/papers/bulk", {"ids": [papers[2]["id"], papers[5]["id"]], "action": "star"})
    backend.post("/papers/bulk", {"ids": [p["id"] for p in papers[1:12:3]], "action": "tag", "tags": ["to-read"]})
    paper = next(p for p in papers if p.get("github_repo") and p.get("arxiv_id") and len(p["authors"]) > 3)
    backend.post(f"/papers/{paper['id']}/tags", {"add": ["to-read", "systems/parallelism"]})
    backend.http.patch(f"{backend.url}/api/papers/{paper['id']}", timeout=10,
                       json={"notes": "Compare their pipeline schedule with ours (section 4).", "starred": True})
    page = open_page(backend, color_scheme=scheme)
    page.wait_for_selector("body[data-sidebar=loaded]")
    wait_list_settled(page)
    # a realistic selection: one starred, one read, a few selected
    page.locator("#list").focus()
    page.keyboard.press("j")
    page.screenshot(path=str(artifacts_dir / f"library-list-{scheme}.png"))

    index = next(i for i, p in enumerate(papers) if p["id"] == paper["id"])
    page.locator("#list").evaluate("(el, i) => el.scrollTop = Math.max(0, i - 4) * 36", index)
    expect(row_by_id(page, paper["id"])).to_be_visible()
    row_by_id(page, paper["id"]).click()
    expect(page.locator("#detail")).to_have_attribute("data-loading", "false")
    expect(page.locator("#detail .l-github")).to_be_visible()
    page.locator("#detail-notes").evaluate("el => el.blur()")
    page.screenshot(path=str(artifacts_dir / f"library-detail-{scheme}.png"))

    page.goto(backend.url + "/#/duplicates")
    page.wait_for_selector(".dup-card")
    page.screenshot(path=str(artifacts_dir / f"library-duplicates-{scheme}.png"))
