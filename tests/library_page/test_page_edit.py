"""Editing from the page: tags (with autocomplete), notes, bulk actions, delete + undo,
the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from page_helpers import row, row_by_id, visible_rows, wait_count, wait_list_settled

pytestmark = pytest.mark.browser


def _open_first(page):
    first = visible_rows(page)[0]
    row(page, 0).click()
    expect(page.locator("#detail-title")).to_have_text(first["title"])
    expect(page.locator("#detail")).to_have_attribute("data-loading", "false")
    return first


def test_tag_editor_with_autocomplete(page, backend):
    first = _open_first(page)
    tag_input = page.locator("#detail-tags .tag-input")
    tag_input.click()
    tag_input.press_sequentially("par", delay=30)
    suggestion = page.locator("#detail-tags .ac-item", has_text="parallel")
    expect(suggestion).to_be_visible()
    expect(suggestion.locator(".ac-count")).to_have_text(re.compile(r"^\d+$"))
    tag_input.press("ArrowDown")
    tag_input.press("Enter")
    expect(page.locator('#detail-tags .chip[data-tag="parallel"]')).to_be_visible()
    # a new tag, typed and confirmed with Enter
    tag_input.fill("reading-group/2026")
    tag_input.press("Enter")
    expect(page.locator('#detail-tags .chip[data-tag="reading-group/2026"]')).to_be_visible()
    saved = backend.paper(first["id"])["tags"]
    assert "parallel" in saved and "reading-group/2026" in saved
    # the row and the sidebar follow
    expect(row_by_id(page, first["id"]).locator(".c-tags")).to_contain_text("reading-group/2026")
    expect(page.locator('#tag-list .tag-item[data-tag="reading-group/2026"] .side-count')).to_have_text("1")
    # remove one with its × button
    page.locator('#detail-tags .chip[data-tag="parallel"] .chip-x').click()
    expect(page.locator('#detail-tags .chip[data-tag="parallel"]')).to_have_count(0)
    assert "parallel" not in backend.paper(first["id"])["tags"]


def _hold_first_read(page, paper_id: int) -> list:
    """Hold the page's first read of the paper: [(route, response as of now)] once made."""
    held = []

    def hold(route):
        if route.request.method == "GET" and not held:
            held.append((route, route.fetch()))  # the paper as it is now, answered later
        else:
            route.continue_()
    page.route(re.compile(rf"/api/papers/{paper_id}$"), hold)
    return held


def _open_and_add_tag(page, paper: dict, tag: str) -> None:
    row(page, 0).click()
    expect(page.locator("#detail-title")).to_have_text(paper["title"])
    tag_input = page.locator("#detail-tags .tag-input")
    tag_input.click()
    tag_input.fill(tag)
    tag_input.press("Enter")


def test_a_late_answer_to_opening_a_paper_does_not_undo_a_tag_added_meanwhile(page, backend):
    """Opening a paper asks for it in full; a tag added before that answer comes (the answer
    then holds the paper without it) stays shown."""
    wait_list_settled(page)
    first = visible_rows(page)[0]
    held = _hold_first_read(page, first["id"])
    _open_and_add_tag(page, first, "early-bird")
    chip = page.locator('#detail-tags .chip[data-tag="early-bird"]')
    expect(chip).to_be_visible()
    assert "early-bird" in backend.paper(first["id"])["tags"]
    assert len(held) == 1, "opening the paper should have asked for it"
    route, stale = held[0]
    route.fulfill(response=stale)
    expect(page.locator("#detail")).to_have_attribute("data-loading", "false")
    expect(chip).to_be_visible()
    expect(row_by_id(page, first["id"]).locator(".c-tags")).to_contain_text("early-bird")


def test_a_tag_added_while_the_paper_is_being_read_stays_shown(page, backend):
    """The paper's full answer may come in while a tag added at once is on its way: the pane
    drawn from that answer (without the tag) then shows the tag when its answer comes."""
    wait_list_settled(page)
    first = visible_rows(page)[0]
    reads, edits = _hold_first_read(page, first["id"]), []
    page.route(re.compile(rf"/api/papers/{first['id']}/tags$"), lambda route: edits.append(route))
    _open_and_add_tag(page, first, "mid-flight")
    page.wait_for_function("() => true")  # let the route handlers run
    assert len(reads) == 1 and len(edits) == 1, (reads, edits)
    route, before = reads[0]
    route.fulfill(response=before)  # the read answers first, without the tag
    expect(page.locator("#detail")).to_have_attribute("data-loading", "false")
    edits[0].continue_()
    expect(page.locator('#detail-tags .chip[data-tag="mid-flight"]')).to_be_visible()
    assert "mid-flight" in backend.paper(first["id"])["tags"]


def test_sidebar_entries_stay_the_same_buttons_when_counts_change(page, backend):
    """A click on "Trash" as the counts refresh must reach a button still on the page."""
    wait_list_settled(page)
    trash = page.locator("#smart-trash")
    expect(trash.locator(".side-count")).to_have_text("0")
    handle = trash.element_handle()
    row(page, 0).locator(".c-check input").click()
    page.locator("#bulk-delete").click()
    expect(trash.locator(".side-count")).to_have_text("1")
    assert handle.evaluate("b => b.isConnected"), "the Trash button was replaced"
    handle.click()
    wait_count(page, 1)
    # the same for a tag's entry
    page.locator("#smart-all").click()
    tag = page.locator('#tag-list .tag-item[data-tag="scaling"]')
    count = int(tag.locator(".side-count").inner_text())
    handle = tag.element_handle()
    wait_list_settled(page)
    untagged = next(r for r in visible_rows(page) if "scaling" not in r["tags"])
    row(page, untagged["index"]).locator(".c-check input").click()
    page.locator("#bulk-tag").click()
    page.get_by_role("dialog").locator("input").fill("scaling")
    page.get_by_role("dialog").locator("input").press("Enter")
    expect(tag.locator(".side-count")).not_to_have_text(str(count))
    assert handle.evaluate("b => b.isConnected"), "the tag's button was replaced"


def test_notes_autosave_and_star_read(page, backend):
    first = _open_first(page)
    notes = page.locator("#detail-notes")
    notes.click()
    notes.press_sequentially("Compare with the DAG scheduler.\nCheck table 3.", delay=5)
    expect(page.locator("#notes-status")).to_have_text("Saved")
    assert backend.paper(first["id"])["notes"] == "Compare with the DAG scheduler.\nCheck table 3."
    # switching papers right after typing still saves (pending save is flushed)
    notes.press_sequentially(" Later.", delay=5)
    row(page, 1).click()
    expect(page.locator("#detail-title")).to_have_text(visible_rows(page)[1]["title"])
    page.wait_for_function("async id => (await (await fetch('/api/papers/' + id)).json()).notes.endsWith('Later.')",
                           arg=first["id"])
    page.locator("#detail-star").click()
    expect(page.locator("#detail-star")).to_have_attribute("aria-pressed", "true")
    page.locator("#detail-read").click()
    expect(page.locator("#detail-read")).to_have_attribute("aria-pressed", "true")
    second = backend.paper(visible_rows(page)[1]["id"])
    assert second["starred"] is True and second["read"] is True
    # after a reload the notes are there
    page.reload()
    wait_list_settled(page)
    row_by_id(page, first["id"]).click()
    expect(page.locator("#detail-notes")).to_have_value("Compare with the DAG scheduler.\nCheck table 3. Later.")


def test_bulk_tag_untag_and_mark_read(page, backend):
    wait_list_settled(page)
    rows = visible_rows(page)
    row(page, 0).locator(".c-check input").click()
    row(page, 3).locator(".c-check input").click(modifiers=["Shift"])  # range 0..3
    expect(page.locator("#bulk-count")).to_have_text("4 selected")
    ids = [r["id"] for r in rows[:4]]
    page.locator("#bulk-tag").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input").fill("bulk-x")
    dialog.locator("input").press("Enter")
    expect(page.locator(".toast", has_text="Tagged 4 papers")).to_be_visible()
    expect(page.locator('#tag-list .tag-item[data-tag="bulk-x"] .side-count')).to_have_text("4")
    for i in ids:
        assert "bulk-x" in backend.paper(i)["tags"]
    page.locator("#bulk-read").click()
    expect(page.locator(".toast", has_text="Marked 4 papers read")).to_be_visible()
    assert all(backend.paper(i)["read"] for i in ids)
    # untag two of them (ctrl-click changes the selection)
    page.locator("#bulk-clear").click()
    expect(page.locator("#bulk-bar")).to_be_hidden()
    row(page, 0).click(modifiers=["Control"])
    row(page, 1).click(modifiers=["Control"])
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.locator("#bulk-untag").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input").fill("bulk-x")
    dialog.locator("input").press("Enter")
    expect(page.locator('#tag-list .tag-item[data-tag="bulk-x"] .side-count')).to_have_text("2")
    assert "bulk-x" not in backend.paper(ids[0])["tags"]
    assert "bulk-x" in backend.paper(ids[3])["tags"]


def test_bulk_delete_and_undo(page, backend):
    total = backend.get("/papers", limit=1)["total"]
    wait_count(page, total)
    rows = visible_rows(page)
    for i in (0, 2):
        row(page, i).locator(".c-check input").click()
    page.locator("#bulk-delete").click()
    wait_count(page, total - 2)
    toast = page.locator(".toast", has_text="Moved 2 papers to the trash")
    expect(toast).to_be_visible()
    assert backend.get("/papers", limit=1)["total"] == total - 2
    # they are in the trash view
    page.locator("#smart-trash").click()
    wait_count(page, 2)
    page.locator("#smart-all").click()
    wait_count(page, total - 2)
    toast.get_by_role("button", name="Undo").click()
    wait_count(page, total)
    expect(page.locator(f'#list .row[data-id="{rows[0]["id"]}"]')).to_be_visible()
    expect(page.locator(f'#list .row[data-id="{rows[2]["id"]}"]')).to_be_visible()
    assert backend.get("/papers", limit=1)["total"] == total


def test_delete_from_detail_and_undo_with_ctrl_z(page, backend):
    total = backend.get("/papers", limit=1)["total"]
    first = _open_first(page)
    page.locator("#detail-delete").click()
    wait_count(page, total - 1)
    expect(page.locator("#detail")).to_be_hidden()
    assert backend.get("/papers", ids=str(first["id"]))["total"] == 0
    page.locator("#list").focus()
    page.keyboard.press("Control+z")
    wait_count(page, total)
    assert backend.paper(first["id"]).get("deleted_at") is None
    # Delete key on the paper under the cursor, then restore it from the trash
    page.keyboard.press("j")
    doomed = int(page.locator("#list .row.cursor").get_attribute("data-id"))
    page.keyboard.press("Delete")
    wait_count(page, total - 1)
    page.locator("#smart-trash").click()
    wait_count(page, 1)
    row(page, 0).locator(".c-check input").click()
    page.locator("#bulk-restore").click()
    expect(page.locator("#no-match")).to_contain_text("The trash is empty")
    assert backend.paper(doomed).get("deleted_at") is None


def test_keys_typed_as_a_dialog_opens_are_kept(page, backend):
    """A key that arrives in the same moment the tag dialog opens lands in its field and
    stays there: nothing selects it away afterwards (a fast typist's "t", "k"...)."""
    wait_list_settled(page)
    rows = visible_rows(page)
    row(page, 0).locator(".c-check input").click()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    # `t` opens the dialog and "q" is typed in the same task, before any timer of the page
    field = page.evaluate("""async () => {
        document.activeElement.dispatchEvent(
            new KeyboardEvent("keydown", {key: "t", bubbles: true, cancelable: true}));
        document.execCommand("insertText", false, "q");
        await new Promise((resolve) => setTimeout(resolve, 100));
        const f = document.activeElement;
        return {tag: f.tagName, value: f.value, start: f.selectionStart, end: f.selectionEnd};
    }""")
    assert field == {"tag": "INPUT", "value": "q", "start": 1, "end": 1}
    page.keyboard.type("uick-tag")
    page.keyboard.press("Enter")
    expect(page.locator('#tag-list .tag-item[data-tag="quick-tag"] .side-count')).to_have_text("1")
    assert "quick-tag" in backend.paper(rows[0]["id"])["tags"]


def test_t_puts_the_caret_in_the_tag_field_at_once(page, backend):
    """With the pane closed, `t` opens the paper under the cursor with the caret already in
    its tag field, so the keys typed next name the tag instead of working as shortcuts."""
    wait_list_settled(page)
    rows = visible_rows(page)
    before = backend.paper(rows[0]["id"])
    page.locator("#list").focus()
    page.keyboard.press("j")
    expect(page.locator("#list .row.cursor")).to_have_attribute("data-index", "0")
    expect(page.locator("#detail")).to_be_hidden()
    focused = page.evaluate("""() => {
        document.activeElement.dispatchEvent(
            new KeyboardEvent("keydown", {key: "t", bubbles: true, cancelable: true}));
        return document.activeElement.matches("#detail-tags .tag-input");
    }""")
    assert focused, "the tag field should have the caret in the same task as the `t`"
    page.keyboard.type("star-gazing")  # as shortcuts, "s" would star and "r" mark read
    page.keyboard.press("Enter")
    expect(page.locator('#detail-tags .chip[data-tag="star-gazing"]')).to_be_visible()
    saved = backend.paper(rows[0]["id"])
    assert "star-gazing" in saved["tags"]
    assert (saved["starred"], saved["read"]) == (before["starred"], before["read"])


def test_keyboard_paths(page, backend):
    wait_list_settled(page)
    rows = visible_rows(page)
    # `/` focuses the search
    page.locator("body").press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type("hierarchical memories")
    page.keyboard.press("Enter")  # search now, move to the list
    expect(page.locator("#search")).not_to_be_focused()
    wait_count(page, 1)
    page.locator("#chip-q").click()
    wait_count(page, backend.get("/papers", limit=1)["total"])
    wait_list_settled(page)
    # j / k move the cursor, Enter opens
    page.locator("#list").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator("#list .row.cursor")).to_have_attribute("data-index", "1")
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text(rows[1]["title"])
    # with the pane open, j moves and shows the next paper
    page.locator("#list").focus()
    page.keyboard.press("j")
    expect(page.locator("#detail-title")).to_have_text(rows[2]["title"])
    # t: tag the open paper
    page.keyboard.press("t")
    expect(page.locator("#detail-tags .tag-input")).to_be_focused()
    page.keyboard.type("kbd-tag")
    page.keyboard.press("Enter")
    expect(page.locator('#detail-tags .chip[data-tag="kbd-tag"]')).to_be_visible()
    assert "kbd-tag" in backend.paper(rows[2]["id"])["tags"]
    page.keyboard.press("Escape")  # leave the input
    page.keyboard.press("Escape")  # close the pane
    expect(page.locator("#detail")).to_be_hidden()
    # x selects, t then tags the selection
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.keyboard.press("t")
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("input")).to_be_focused()
    page.keyboard.type("kbd-bulk")
    page.keyboard.press("Enter")
    expect(page.locator('#tag-list .tag-item[data-tag="kbd-bulk"] .side-count')).to_have_text("2")
    # s stars the paper under the cursor
    page.keyboard.press("s")
    expect(page.locator("#list .row.cursor")).to_have_class(re.compile(r"\bstarred\b"))
    # e opens export, ? opens help; Escape closes each
    page.keyboard.press("e")
    expect(page.get_by_role("dialog", name="Export BibTeX")).to_be_visible()
    expect(page.locator("#export-form input[value=selection]")).to_be_checked()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    expect(page.locator("#help-keys")).to_contain_text("Export BibTeX")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Escape clears the selection
    page.keyboard.press("Escape")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    # shortcuts still work after clicking a row's checkbox (focus is on the checkbox)
    row(page, 0).locator(".c-check input").click()
    page.keyboard.press("e")
    expect(page.get_by_role("dialog", name="Export BibTeX")).to_be_visible()
    page.keyboard.press("Escape")
