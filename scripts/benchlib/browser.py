"""The figures measured in real Chromium (Debian's, driven by Playwright):

* the content script decorating a 100-card listing page (the extension loaded unpacked,
  paired with the backend under test; huggingface.co answered from the saved fixture
  pages by request routing, nothing reaches the network). The time is read from the
  page: the content script records ``performance.measure("papershelf:scan")`` around its
  pass over the page, and User Timing entries made in the extension's isolated world are
  on the page's own performance timeline.
* the library page: navigation → first rows shown, and keystroke → list showing the new
  query, observed from the page itself (an init script watches the DOM).
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import tempfile
from pathlib import Path

from . import data
from .figures import Result, median, percentile

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_URL = "https://huggingface.co/papers/date/2026-03-10"
DECORATED = "button[data-papershelf-id]"
# Playwright checks a wait's condition every animation frame by default, which keeps the
# page drawing frames while a keystroke is measured; the times are taken in the page, so
# the driver only needs to look now and then.
KEY_POLL_MS = 25

# Installed before any page script: when the first real row appears (navigation → rows),
# and per keystroke in the search box, when the list shows the new query.
LIBRARY_PAGE_WATCH = """
(() => {
  const bench = window.__bench = { firstRows: null, keys: [] };
  const layout = (el) => el && el.getBoundingClientRect();
  const firstRow = () => document.querySelector('#list .row:not(.loading):not([hidden])');
  new MutationObserver(() => {
    if (bench.firstRows === null) {
      const row = firstRow();
      if (row && row.dataset.id) { layout(row); bench.firstRows = performance.now(); }
    }
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener('keydown', (e) => {
    if (e.target && e.target.id === 'search' && e.key.length === 1)
      bench.keys.push({ key: e.key, at: performance.now(), requested: null, shown: null });
  }, true);
  const watchList = () => {
    const list = document.getElementById('list');
    if (!list) return setTimeout(watchList, 5);
    new MutationObserver(() => {
      const k = bench.keys[bench.keys.length - 1];
      if (!k || k.shown !== null) return;
      if (list.dataset.busy === 'true' && k.requested === null) k.requested = performance.now();
      else if (list.dataset.busy === 'false' && k.requested !== null) {
        layout(firstRow());
        k.shown = performance.now();
      }
    }).observe(list, { attributes: true, attributeFilter: ['data-busy'] });
  };
  watchList();
})();
"""


def hundred_card_page() -> str:
    """The 2026-03-10 daily page with the next cards of the other saved daily pages added,
    100 distinct cards in all (markup and embedded JSON both)."""
    fixtures = data.FIXTURES
    wanted = [record["arxiv_id"] for _, record in data.fixture_page_cards(100)]
    base = (fixtures / "000_date.html").read_text()
    articles, entries = {}, {}
    for s in ("000", "001", "002"):
        page = (fixtures / f"{s}_date.html").read_text()
        for art in re.findall(r"<article.*?</article>", page, re.S):
            ids = re.findall(r'href="/papers/(\d{4}\.\d{4,5})', art)
            if ids:
                articles.setdefault(ids[0], art)
        props = _props(page)[1]
        for entry in props["dailyPapers"]:
            entries.setdefault(entry["paper"]["id"], entry)
    missing = [i for i in wanted if i not in articles or i not in entries]
    if missing:
        raise RuntimeError(f"no card markup for {missing[:5]} in the saved daily pages")
    start = base.index("<article")
    end = base.rindex("</article>") + len("</article>")
    page = base[:start] + "".join(articles[i] for i in wanted) + base[end:]
    match, props = _props(page)
    props["dailyPapers"] = [entries[i] for i in wanted]
    escaped = htmllib.escape(json.dumps(props), quote=True)
    return page[:match.start(1)] + escaped + page[match.end(1):]


def _props(page: str):
    match = re.search(r'data-target="DailyPapers" data-props="([^"]*)"', page)
    return match, json.loads(htmllib.unescape(match.group(1)))


class Chromium:
    """One Chromium with the extension (persistent profile) and one without it (fresh
    contexts for the library page and the floor of the decoration), for the whole run."""

    def __init__(self, extension_dir: Path):
        from playwright.sync_api import sync_playwright
        self.page_html = hundred_card_page()
        self.profile = Path(tempfile.mkdtemp(prefix="papershelf-bench-chromium-"))
        self.driver = sync_playwright().start()
        self.ctx = None
        self.plain = None
        try:
            ext = str(extension_dir)
            self.ctx = self.driver.chromium.launch_persistent_context(
                str(self.profile), executable_path=CHROMIUM, headless=True,
                args=[f"--disable-extensions-except={ext}", f"--load-extension={ext}", *ARGS],
                viewport={"width": 1280, "height": 900})
            self.ctx.set_default_timeout(60_000)
            self.ctx.route(re.compile(r"^https://"), self._site)
            worker = self.ctx.service_workers[0] if self.ctx.service_workers \
                else self.ctx.wait_for_event("serviceworker")
            self.ext_id = worker.url.split("/")[2]
            self.plain = self.driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=ARGS)
        except BaseException:
            self.close()
            raise

    def _site(self, route) -> None:
        if route.request.url == PAGE_URL:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self.page_html)
        else:
            route.fulfill(status=404, content_type="text/plain", body="not in the bench fixtures")

    def close(self) -> None:
        for thing in (self.ctx, self.plain):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # noqa: BLE001 - closing goes on
                pass
        try:
            self.driver.stop()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -------------------------------------------------------------- the extension
    def pair(self, url: str, token: str) -> None:
        """Pair through the options page, as a person pastes `papershelf token`."""
        from playwright.sync_api import expect
        page = self.ctx.new_page()
        try:
            page.goto(f"chrome-extension://{self.ext_id}/options.html")
            expect(page.locator("#status")).not_to_have_text("Checking…")
            page.get_by_label("Backend address").fill(url)
            page.get_by_label("Pairing code").fill(token)
            page.get_by_role("button", name="Pair", exact=True).click()
            expect(page.locator("#status")).to_contain_text("Paired")
        finally:
            page.close()

    def decorate(self, loads: int) -> Result:
        scans, lookups, saved = [], [], 0
        for _ in range(loads):
            page = self.ctx.new_page()
            try:
                page.goto(PAGE_URL)
                page.wait_for_function(
                    """() => performance.getEntriesByName('papershelf:lookup').length > 0
                             && document.querySelectorAll('button[data-papershelf-id]').length >= 100""")
                timings = page.evaluate(
                    """() => ['papershelf:scan', 'papershelf:lookup'].map(name =>
                          performance.getEntriesByName(name).map(e =>
                             ({ duration: e.duration, cards: (e.detail || {}).cards })))""")
                first_scan = max(timings[0], key=lambda e: e["cards"] or 0)
                if (first_scan["cards"] or 0) < 100:
                    raise RuntimeError(f"the content script saw {first_scan['cards']} cards, not 100")
                scans.append(first_scan["duration"])
                lookups.append(timings[1][0]["duration"])
                saved = page.eval_on_selector_all(
                    DECORATED, "bs => bs.filter(b => b.dataset.papershelfState === 'saved').length")
            finally:
                page.close()
        floor = self._decorate_floor(loads)
        return Result(median(scans), floor, None,
                      f"{loads} loads; {saved} of 100 cards shown saved; look-up until saved "
                      f"states shown {median(lookups):.1f} ms")

    def _decorate_floor(self, loads: int) -> float:
        """One plain button appended to each of the 100 cards, then a layout: the least
        any in-page decoration costs."""
        out = []
        for _ in range(loads):
            ctx = self.plain.new_context(viewport={"width": 1280, "height": 900})
            try:
                ctx.route(re.compile(r"^https://"), self._site)
                page = ctx.new_page()
                page.goto(PAGE_URL)
                out.append(page.evaluate(
                    """() => { const t0 = performance.now();
                        for (const card of document.querySelectorAll('article')) {
                          const b = document.createElement('button');
                          b.type = 'button'; b.textContent = 'Save';
                          card.appendChild(b);
                        }
                        document.body.getBoundingClientRect();
                        return performance.now() - t0; }"""))
            finally:
                ctx.close()
        return median(out)

    # -------------------------------------------------------------- the library page
    def library_page(self, url: str, loads: int, words: tuple[str, ...]) -> tuple[Result, Result]:
        firsts, keys, requests = [], [], []
        for _ in range(loads):
            ctx = self.plain.new_context(viewport={"width": 1400, "height": 880})
            try:
                ctx.add_init_script(LIBRARY_PAGE_WATCH)
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                page.goto(url + "/")
                page.wait_for_function("() => window.__bench && window.__bench.firstRows !== null")
                firsts.append(page.evaluate("() => window.__bench.firstRows"))
                # Every load types the words: one page's keystrokes are too few to give a
                # steady median on a noisy machine.
                search = page.locator("#search")
                search.click()
                page.wait_for_function("() => document.getElementById('list').dataset.busy === 'false'")
                for word in words:
                    if search.input_value():
                        search.fill("")  # back to the whole library before the next word
                        page.wait_for_function(
                            "() => !location.hash.includes('q=') && "
                            "document.getElementById('list').dataset.busy === 'false'")
                    for i, ch in enumerate(word):
                        before = page.evaluate("() => window.__bench.keys.length")
                        page.keyboard.type(ch)
                        page.wait_for_function(
                            f"() => {{ const k = window.__bench.keys[{before}]; return k && k.shown !== null; }}",
                            polling=KEY_POLL_MS)
                        keys.append(page.evaluate(f"() => window.__bench.keys[{before}]"))
                requests += page.evaluate(
                    """() => performance.getEntriesByType('resource')
                            .filter(e => e.name.includes('/api/papers?') && e.name.includes('q='))
                            .map(e => e.responseEnd - e.startTime)""")
            finally:
                ctx.close()
        first = Result(median(firsts), None, None, f"{loads} loads, a fresh browser context each")
        total = [k["shown"] - k["at"] for k in keys]
        after_debounce = [k["shown"] - k["requested"] for k in keys]
        debounce = [k["requested"] - k["at"] for k in keys]
        # The figure is what a person sees: key pressed → list showing the new query.
        keystroke = Result(
            median(total), None, None,
            f"{len(keys)} keystrokes; p95 {percentile(total, 95):.0f} ms; of which waiting "
            f"before the request {median(debounce):.0f} ms, request sent → rows shown "
            f"{median(after_debounce):.0f} ms; request alone "
            f"{median(requests) if requests else 0:.0f} ms")
        return first, keystroke
