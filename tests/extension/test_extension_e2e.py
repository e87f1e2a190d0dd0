"""End to end: the unpacked extension in real Chromium, a real backend, saved HF pages.

Run: .venv/bin/python -m pytest tests/extension -m browser
Screenshots land in test-artifacts/ (page light/dark, trending, popup, options).
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BUTTON = "button[data-papershelf-id]"
SETS = ("000", "001", "002")
KINDS = ("search", "date", "trending", "legacy2024")


# ---------------------------------------------------------------- helpers
def library_text(data_dir: Path) -> str:
    """Everything the backend wrote to its library files (TinyDB snapshot and journal)."""
    return "\n".join(
        p.read_text(errors="replace") for p in sorted((data_dir / "library").rglob("*")) if p.is_file()
    )


def lookup(backend, ids):
    r = backend.session().post(backend.url + "/api/papers/lookup", json={"arxiv_ids": list(ids)})
    r.raise_for_status()
    return r.json()["papers"]


def all_papers(backend):
    r = backend.session().get(backend.url + "/api/papers", params={"limit": 500})
    r.raise_for_status()
    return r.json()["papers"]


def open_page(browser, url):
    page = browser.ctx.new_page()
    page.goto(url)
    return page


def button(page, arxiv_id):
    return page.locator(f'{BUTTON}[data-papershelf-id="{arxiv_id}"]')


def settle(page):
    """Wait until every button has its looked-up state (none is still being saved)."""
    page.wait_for_function(
        """() => { const b = [...document.querySelectorAll('button[data-papershelf-id]')];
                   return b.length > 0 && b.every(x => x.dataset.papershelfState !== 'saving'
                                                    || x.dataset.papershelfQueued === 'true'); }"""
    )


def open_popup(browser):
    popup = browser.ctx.new_page()
    popup.set_viewport_size({"width": 380, "height": 640})
    popup.goto(browser.ext_url("popup.html"))
    expect(popup.locator("body")).to_have_attribute("data-ready", "true")
    return popup


def only_in(fixtures, s):
    others = {i for t in SETS if t != s for i in fixtures.ids(t)}
    return [i for i in fixtures.ids(s) if i not in others]


def props_of(page_html):
    m = re.search(r'data-target="DailyPapers" data-props="([^"]*)"', page_html)
    return m, json.loads(htmllib.unescape(m.group(1)))


def with_props(page_html, m, props):
    escaped = htmllib.escape(json.dumps(props), quote=True)
    return page_html[: m.start(1)] + escaped + page_html[m.end(1):]


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("s,k", [(s, k) for s in SETS for k in KINDS])
def test_one_button_per_card_on_every_page_kind(paired, fixtures, s, k):
    page = open_page(paired, fixtures.url(s, k))
    try:
        ids = fixtures.ids(s)
        expect(page.locator(BUTTON)).to_have_count(len(ids))
        got = page.eval_on_selector_all(BUTTON, "bs => bs.map(b => b.dataset.papershelfId)")
        assert sorted(got) == sorted(ids)
        facts = page.evaluate(
            """() => ({
                perCard: [...document.querySelectorAll('article')]
                           .map(a => a.querySelectorAll('button[data-papershelf-id]').length),
                insideLinks: document.querySelectorAll(
                   'a button[data-papershelf-id], h3 button[data-papershelf-id]').length,
                visible: [...document.querySelectorAll('button[data-papershelf-id]')]
                           .filter(b => b.getClientRects().length > 0).length,
                realButtons: [...document.querySelectorAll('button[data-papershelf-id]')]
                           .filter(b => b.type === 'button' && b.getAttribute('aria-label')).length,
            })"""
        )
        assert facts["perCard"] == [1] * len(ids), "exactly one button per card (twins included)"
        assert facts["insideLinks"] == 0, "never inside the title link or another link"
        assert facts["visible"] == len(ids)
        assert facts["realButtons"] == len(ids)
        settle(page)
        states = set(page.eval_on_selector_all(BUTTON, "bs => bs.map(b => b.dataset.papershelfState)"))
        assert states <= {"idle", "saved"}
        # the title links still go where they went
        hrefs = page.eval_on_selector_all("h3 a", "as => as.map(a => a.getAttribute('href'))")
        assert all(re.fullmatch(r"/papers/\d{4}\.\d{4,5}", h) for h in hrefs)
    finally:
        page.close()


def test_keyboard_focus_ring_and_click_saves_and_reload_shows_saved(paired, backend, fixtures):
    rec = fixtures.records["001"][0]
    aid = rec["arxiv_id"]
    page = open_page(paired, fixtures.url("001", "date"))
    try:
        btn = button(page, aid)
        expect(btn).to_have_attribute("data-papershelf-state", "idle")
        # reachable by keyboard, with a visible focus ring
        btn.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        outline = btn.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
        assert outline.startswith("solid") and not outline.endswith(" 0px"), outline

        page.keyboard.press("Enter")
        expect(btn).to_have_attribute("data-papershelf-state", "saved")
        assert aid in library_text(backend.data_dir)
        found = lookup(backend, [aid])
        paper = backend.session().get(f"{backend.url}/api/papers/{found[aid]['id']}").json()
        for field in ("title", "abstract", "authors", "published", "upvotes", "submitted_by"):
            assert paper[field] == rec[field], field
        assert paper["hf_url"] == f"https://huggingface.co/papers/{aid}"

        # tag it right away, in the page
        widget = btn.locator("xpath=..")
        widget.get_by_role("button", name="Add a tag").click()
        tag_input = widget.locator("input")
        expect(tag_input).to_be_focused()
        tag_input.press_sequentially("quick")
        tag_input.press("Enter")
        expect(widget.locator(".papershelf-tags")).to_have_text("quick")
        assert lookup(backend, [aid])[aid]["tags"] == ["quick"]

        page.reload()
        btn = button(page, aid)
        expect(btn).to_have_attribute("data-papershelf-state", "saved")
        expect(btn.locator("xpath=..").locator(".papershelf-tags")).to_have_text("quick")
        # saving a saved card again creates no duplicate
        btn.click()
        expect(btn).to_have_attribute("data-papershelf-state", "saved")
        assert [p["arxiv_id"] for p in all_papers(backend)].count(aid) == 1
    finally:
        page.close()


def test_save_all_from_the_popup_then_tag_in_the_popup(paired, backend, fixtures, artifacts_dir):
    ids = fixtures.ids("002")
    page = open_page(paired, fixtures.url("002", "search"))
    popup = None
    try:
        expect(page.locator(BUTTON)).to_have_count(len(ids))
        settle(page)
        popup = open_popup(paired)
        expect(popup.locator("#pill")).to_have_text("Connected")
        expect(popup.locator("#page-text")).to_contain_text(f"{len(ids)} papers on this page")
        popup.get_by_role("button", name="Save all on this page").click()
        expect(popup.locator("#progress-text")).to_contain_text("Saved")
        expect(page.locator(f'{BUTTON}[data-papershelf-state="saved"]')).to_have_count(len(ids))
        assert set(lookup(backend, ids)) == set(ids)
        text = library_text(backend.data_dir)
        assert all(i in text for i in ids)

        # the popup lists the papers saved from this tab, each with a tag editor
        popup.reload()
        expect(popup.locator("#saved > li")).to_have_count(len(ids))
        first, second = ids[0], ids[1]
        box1 = popup.locator(f'#saved li[data-arxiv-id="{first}"] input.tag-input')
        box1.click()
        box1.press_sequentially("ml/diffusion")
        box1.press("Enter")
        expect(popup.locator(f'#saved li[data-arxiv-id="{first}"] .chip')).to_have_text(["ml/diffusion×"])
        box1.press_sequentially("To read")
        box1.press("Enter")
        expect(popup.locator(f'#saved li[data-arxiv-id="{first}"] .chip')).to_have_count(2)
        box1.press("Backspace")  # empty input: removes the last tag
        expect(popup.locator(f'#saved li[data-arxiv-id="{first}"] .chip')).to_have_count(1)
        # autocomplete from the library's tags, keyboard only
        box2 = popup.locator(f'#saved li[data-arxiv-id="{second}"] input.tag-input')
        box2.focus()
        box2.press_sequentially("ML/")
        expect(popup.locator(f'#saved li[data-arxiv-id="{second}"] [role="option"]')).to_contain_text(
            ["ml/diffusion"]
        )
        box2.press("ArrowDown")
        box2.press("Enter")
        expect(popup.locator(f'#saved li[data-arxiv-id="{second}"] .chip')).to_have_text(["ml/diffusion×"])
        papers = lookup(backend, [first, second])
        assert papers[first]["tags"] == ["ml/diffusion"]
        assert papers[second]["tags"] == ["ml/diffusion"]
        # the page shows the tags too
        expect(button(page, first).locator("xpath=..").locator(".papershelf-tags")).to_have_text("ml/diffusion")
        box1.focus()
        popup.screenshot(path=str(artifacts_dir / "popup-light.png"))
        popup.emulate_media(color_scheme="dark")
        popup.screenshot(path=str(artifacts_dir / "popup-dark.png"))
    finally:
        if popup:
            popup.close()
        page.close()


def test_keyboard_command_saves_all_on_the_active_tab(paired, backend, fixtures):
    ids = fixtures.ids("001")
    page = open_page(paired, fixtures.url("001", "trending"))
    try:
        expect(page.locator(BUTTON)).to_have_count(len(ids))
        settle(page)
        page.bring_to_front()
        # what the manifest's "save-all" command (Alt+Shift+S) runs
        result = paired.worker.evaluate("() => papershelfBackground.onCommand('save-all')")
        assert result["finished"] and result["total"] == len(ids)
        expect(page.locator(f'{BUTTON}[data-papershelf-state="saved"]')).to_have_count(len(ids))
        assert set(lookup(backend, ids)) == set(ids)
    finally:
        page.close()


def test_options_choose_which_views_get_buttons(paired, fixtures):
    options = paired.ctx.new_page()
    page = None
    try:
        options.goto(paired.ext_url("options.html"))
        box = options.get_by_label("Trending")
        expect(box).to_be_checked()
        box.uncheck()
        page = open_page(paired, fixtures.url("000", "date"))  # other views keep their buttons
        expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids("000")))
        page.goto(fixtures.url("000", "trending"))
        popup = open_popup(paired)  # answers only once the page's content script has run
        expect(popup.locator("#page-text")).to_contain_text("turned off for this view")
        popup.close()
        assert page.locator(BUTTON).count() == 0
        options.bring_to_front()
        options.get_by_label("Trending").check()
        expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids("000")))  # live, no reload
    finally:
        options.close()
        if page:
            page.close()


def test_saves_wait_in_the_outbox_while_the_backend_is_down(paired, backend, fixtures, artifacts_dir):
    aids = only_in(fixtures, "000")[:2]
    page = open_page(paired, fixtures.url("000", "legacy2024"))
    popup = None
    try:
        expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids("000")))
        settle(page)
        backend.stop()
        for aid in aids:
            button(page, aid).click()
        for aid in aids:
            expect(button(page, aid)).to_have_attribute("data-papershelf-queued", "true")
            expect(button(page, aid)).to_have_attribute("data-papershelf-state", "saving")
        assert sorted(e["card"]["arxiv_id"] for e in paired.storage("outbox")) == sorted(aids)
        assert paired.badge() == "2"
        popup = open_popup(paired)
        expect(popup.locator("#pill")).to_have_text("Not running")
        expect(popup.locator("#conn-text")).to_contain_text("papershelf serve")
        expect(popup.locator("#outbox-text")).to_contain_text("2 saves waiting")
        popup.screenshot(path=str(artifacts_dir / "popup-backend-down.png"))
        popup.close()
        page.bring_to_front()
        button(page, aids[0]).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "page-queued.png"))
        popup = None
        # a reload while the backend is still down keeps showing them as waiting
        page.reload()
        for aid in aids:
            expect(button(page, aid)).to_have_attribute("data-papershelf-queued", "true")

        backend.start()
        page.reload()  # the page's look-up finds the backend back: the outbox is delivered
        for aid in aids:
            expect(button(page, aid)).to_have_attribute("data-papershelf-state", "saved")
        assert set(lookup(backend, aids)) == set(aids)
        assert all(a in library_text(backend.data_dir) for a in aids)
        assert paired.storage("outbox") == []
        assert paired.badge() == ""
        saved = [p["arxiv_id"] for p in all_papers(backend)]
        assert all(saved.count(a) == 1 for a in aids), "delivered exactly once in effect"
    finally:
        if backend.proc is None:
            backend.start()
        if popup:
            popup.close()
        page.close()


def test_broken_cards_do_not_stop_the_good_ones(paired, fixtures):
    source = fixtures.html("000", "date")
    recs = fixtures.records["000"]
    broken = recs[1]["arxiv_id"]
    # card 2: no title, and the embedded JSON does not know it
    page_html = re.sub(
        rf'(<h3[^>]*><a href="/papers/{re.escape(broken)}"[^>]*>)[^<]*(</a>)', r"\1\2", source
    )
    m, props = props_of(page_html)
    props["dailyPapers"] = [i for i in props["dailyPapers"] if i["paper"]["id"] != broken]
    page_html = with_props(page_html, m, props)
    # card 4: its markup is mostly gone (only the title survives)
    gutted = recs[3]["arxiv_id"]
    page_html = re.sub(
        rf'<article[^>]*>(?:(?!</article>).)*?<h3([^>]*)><a href="/papers/{re.escape(gutted)}"([^>]*)>([^<]*)</a></h3>(?:(?!</article>).)*</article>',
        rf'<article><h3\1><a href="/papers/{gutted}"\2>\3</a></h3></article>',
        page_html,
        flags=re.S,
    )
    assert page_html.count(f'href="/papers/{gutted}"') == 1
    url = "https://huggingface.co/papers/date/2026-03-11"
    paired.site.by_url[url] = page_html
    page = open_page(paired, url)
    try:
        expect(page.locator(BUTTON)).to_have_count(len(recs) - 1)
        assert button(page, broken).count() == 0
        expect(button(page, gutted)).to_have_count(1)
        popup = open_popup(paired)
        expect(popup.locator("#page-text")).to_contain_text("1 could not be read")
        popup.close()
    finally:
        page.close()


ADD_CARDS_JS = """([markup, selector]) => {
    const tpl = document.createElement('template');
    tpl.innerHTML = markup;
    const list = document.querySelector('article').parentElement;
    for (const a of tpl.content.querySelectorAll(selector)) list.appendChild(a);
}"""


def test_page_changes_get_buttons_without_duplicates(paired, fixtures):
    base = fixtures.ids("000")
    extra = [i for i in fixtures.ids("001") if i not in base][:3]
    other = fixtures.html("001", "date")
    articles = []
    for aid in extra:
        m = re.search(
            rf'<article(?:(?!<article).)*?href="/papers/{re.escape(aid)}"(?:(?!<article).)*?</article>', other, re.S
        )
        articles.append(m.group(0))
    page = open_page(paired, fixtures.url("000", "date"))
    try:
        expect(page.locator(BUTTON)).to_have_count(len(base))
        # infinite scroll: cards appended without a page load
        page.evaluate(ADD_CARDS_JS, ["".join(articles), "article"])
        expect(page.locator(BUTTON)).to_have_count(len(base) + 3)
        for aid in extra:
            expect(button(page, aid)).to_have_count(1)
        # re-rendering: a card replaced by a fresh copy of itself
        page.evaluate(
            """() => { const a = document.querySelector('article');
                       const copy = a.cloneNode(true);
                       copy.querySelectorAll('.papershelf-widget').forEach(w => w.remove());
                       a.replaceWith(copy); }"""
        )
        expect(button(page, base[0])).to_have_count(1)
        expect(page.locator(BUTTON)).to_have_count(len(base) + 3)
        # in-page navigation: the whole list replaced by another listing, URL changed
        new_list = fixtures.html("002", "date")
        new_ids = fixtures.ids("002")
        page.evaluate(
            """([markup]) => {
                const list = document.querySelector('article').parentElement;
                const tpl = document.createElement('template'); tpl.innerHTML = markup;
                list.replaceChildren(...tpl.content.querySelectorAll('article'));
                history.pushState({}, '', '/papers/week/2026-W06');
            }""",
            [new_list],
        )
        expect(page.locator(BUTTON)).to_have_count(len(new_ids))
        got = page.eval_on_selector_all(BUTTON, "bs => bs.map(b => b.dataset.papershelfId)")
        assert sorted(got) == sorted(new_ids)
        # quiet once settled: our own changes do not wake the observer into a loop
        settle(page)
        page.evaluate(
            """() => { window.__mutations = 0;
                       new MutationObserver(m => { window.__mutations += m.length; })
                         .observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true}); }"""
        )
        page.wait_for_timeout(800)
        assert page.evaluate("() => window.__mutations") == 0
    finally:
        page.close()


def test_trending_button_follows_the_visible_copy(paired, fixtures):
    ids = fixtures.ids("000")
    page = open_page(paired, fixtures.url("000", "trending"))
    try:
        expect(page.locator(BUTTON)).to_have_count(len(ids))
        desktop = page.locator("article").first.locator("div.md\\:flex " + BUTTON)
        mobile = page.locator("article").first.locator("div.md\\:hidden " + BUTTON)
        expect(desktop).to_have_count(1)
        page.set_viewport_size({"width": 600, "height": 900})
        expect(mobile).to_have_count(1)
        expect(desktop).to_have_count(0)
        expect(page.locator(BUTTON)).to_have_count(len(ids))
        assert mobile.is_visible()
    finally:
        page.close()


FIT_STATE_JS = """() => [...document.querySelectorAll('.papershelf-widget')].map(w => {
    const card = w.closest('article').getBoundingClientRect();
    const box = w.getBoundingClientRect();
    return { id: w.dataset.papershelfFor, ownLine: w.classList.contains('papershelf-own-line'),
             top: card.top + window.scrollY, fits: box.right <= card.right + 1 }; })"""


def test_widgets_fit_their_cards_on_screen_at_once_and_below_when_scrolled_to(paired, backend, fixtures):
    # Saved legacy cards with long tags at this width leave some rows too narrow: those
    # widgets go on a line of their own. The ones on the first screen are placed for good
    # before anything is scrolled; the others by the time they are scrolled to.
    tags = ["reading group/this week", "long-tag-for-the-row"]
    s = backend.session()
    answer = s.post(backend.url + "/api/papers", json={"papers": [dict(r, tags=tags) for r in fixtures.records["001"]]})
    answer.raise_for_status()
    ids = [r["paper"]["id"] for r in answer.json()["results"]]
    page = paired.ctx.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    try:
        page.goto(fixtures.url("001", "legacy2024"))
        expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids("001")))
        expect(page.locator(f'{BUTTON}[data-papershelf-state="saved"]')).to_have_count(len(fixtures.ids("001")))
        page.wait_for_timeout(300)
        first = {w["id"]: w for w in page.evaluate(FIT_STATE_JS)}
        height = page.evaluate("() => document.documentElement.scrollHeight")
        for y in range(0, height, 450):
            page.evaluate("(y) => window.scrollTo(0, y)", y)
            page.wait_for_timeout(30)
        page.wait_for_timeout(300)
        final = page.evaluate(FIT_STATE_JS)
        assert len(final) == len(first)
        assert all(w["fits"] for w in final), "a widget sticks out of its card"
        own = [w for w in final if w["ownLine"]]
        assert any(w["top"] > 2 * 900 for w in own), "rows too narrow far down the page"
        for w in final:
            if first[w["id"]]["top"] < 900:
                assert first[w["id"]]["ownLine"] == w["ownLine"], f"{w['id']} moved after it was shown"
    finally:
        page.close()
        s.post(backend.url + "/api/papers/bulk", json={"ids": ids, "action": "untag", "tags": tags})


def test_one_click_pairing_and_options(paired, backend, artifacts_dir):
    page = paired.ctx.new_page()
    try:
        page.goto(paired.ext_url("options.html"))
        expect(page.locator("#status")).to_contain_text("connected")
        expect(page.get_by_label("Backend address")).to_have_value(backend.url)
        page.get_by_role("button", name="Unpair").click()
        expect(page.locator("#status")).to_contain_text("Not paired")
        page.get_by_role("button", name="Pair with one click").click()
        code = page.locator("#pair-request .code")
        expect(code).to_have_text(re.compile(r"^\d{4}$"))
        s = backend.session()
        pending = s.get(backend.url + "/api/pair/requests").json()["requests"]
        req = next(r for r in pending if r["code"] == code.inner_text())
        s.post(f"{backend.url}/api/pair/requests/{req['request_id']}/approve").raise_for_status()
        expect(page.locator("#pair-request")).to_contain_text("paired")
        expect(page.locator("#status")).to_contain_text("connected")
        page.screenshot(path=str(artifacts_dir / "options.png"), full_page=True)
    finally:
        page.close()


def go_dark(page):
    page.evaluate("() => document.documentElement.classList.add('dark')")
    # let the buttons' colour transition finish before the picture
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.papershelf-btn')).backgroundColor !== 'rgb(255, 255, 255)'"
    )
    page.wait_for_timeout(300)


def test_screenshots_light_and_dark(paired, fixtures, artifacts_dir):
    page = open_page(paired, fixtures.url("001", "date"))
    try:
        expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids("001")))
        settle(page)
        page.locator(BUTTON).nth(2).focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        page.screenshot(path=str(artifacts_dir / "page-date-light.png"))
        go_dark(page)
        page.screenshot(path=str(artifacts_dir / "page-date-dark.png"))
        for s, k, name in (("000", "trending", "page-trending"), ("000", "legacy2024", "page-legacy2024")):
            page.goto(fixtures.url(s, k))
            expect(page.locator(BUTTON)).to_have_count(len(fixtures.ids(s)))
            settle(page)
            page.screenshot(path=str(artifacts_dir / f"{name}-light.png"))
            go_dark(page)
            page.screenshot(path=str(artifacts_dir / f"{name}-dark.png"))
    finally:
        page.close()


def test_chromium_reports_no_extension_errors(paired, artifacts_dir):
    page = paired.ctx.new_page()
    page.set_viewport_size({"width": 1100, "height": 520})
    try:
        page.goto("chrome://extensions")
        page.evaluate(
            """() => { const m = document.querySelector('extensions-manager');
                       const t = m.shadowRoot.querySelector('extensions-toolbar').shadowRoot.querySelector('#devMode');
                       if (!t.checked) t.click(); }"""
        )
        errors = page.wait_for_function(
            """(id) => { const m = document.querySelector('extensions-manager');
                         const list = m && m.shadowRoot.querySelector('extensions-item-list');
                         const item = list && list.shadowRoot.querySelector('extensions-item#' + id);
                         if (!item) return null;
                         const b = item.shadowRoot.querySelector('#errors-button');
                         return {errors: Boolean(b && !b.hidden && b.offsetParent)}; }""",
            arg=paired.ext_id,
        ).json_value()
        assert errors == {"errors": False}, "Chromium lists errors or warnings for the extension"
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "chrome-extensions.png"))
    finally:
        page.close()
