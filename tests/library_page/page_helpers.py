"""Small helpers for driving the library page."""

from __future__ import annotations

import re

ROWS = "#list .row:not([hidden]):not(.loading)"

VISIBLE_ROWS_JS = """() => [...document.querySelectorAll('#list .row:not([hidden]):not(.loading)')]
  .sort((a, b) => a.dataset.index - b.dataset.index)
  .map(r => ({index: Number(r.dataset.index), id: Number(r.dataset.id),
              title: r.querySelector('.c-title').textContent,
              upvotes: r.querySelector('.c-upvotes').textContent,
              tags: [...r.querySelectorAll('.c-tags .chip')].map(c => c.textContent),
              cursor: r.classList.contains('cursor'), selected: r.classList.contains('selected')}))"""


def visible_rows(page) -> list[dict]:
    return page.evaluate(VISIBLE_ROWS_JS)


def row(page, index: int):
    return page.locator(f'#list .row[data-index="{index}"]:not([hidden])')


def row_by_id(page, paper_id: int):
    return page.locator(f'#list .row[data-id="{paper_id}"]:not([hidden])')


def count_text(total: int, what: str = "paper") -> re.Pattern:
    word = what if total == 1 else what + "s"
    return re.compile(rf"^{total:,} {word}")


def wait_count(page, total: int) -> None:
    """The list shows `total` papers and the rows on screen hold fresh data."""
    from playwright.sync_api import expect
    expect(page.locator("#result-count")).to_have_text(count_text(total))
    page.wait_for_function(
        "t => { const l = document.getElementById('list');"
        " return t === 0 || (l.dataset.total === String(t) && l.dataset.busy === 'false'); }", arg=total)


def wait_list_settled(page) -> None:
    """No list page is loading (every rendered row has fresh data)."""
    page.wait_for_function(
        "() => document.getElementById('list').dataset.busy === 'false' && "
        "document.querySelectorAll('#list .row:not([hidden])').length > 0")
