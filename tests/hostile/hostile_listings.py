"""Synthetic Hugging Face listing pages with as many distinct papers as a test needs.

The saved fixture pages hold about 130 distinct papers; the outbox tests need more. Each
synthetic page is a real fixture page (tests/fixtures/hf-papers/000_date.html) whose cards
are copies of its own cards with new arXiv ids and numbered titles, in the embedded JSON and
in the DOM alike.
"""

from __future__ import annotations

import copy
import datetime as dt
import html as htmllib
import json
import re
from pathlib import Path

SOURCE = "000_date.html"
ARTICLE = re.compile(r"<article\b.*?</article>", re.S)


def synthetic_id(n: int) -> str:
    return f"2611.{n:05d}"


def synthetic_listings(fixtures_dir: Path, total: int, per_page: int) -> list[tuple[str, str, list[str]]]:
    """[(url, html, arXiv ids)] for `total` distinct papers, `per_page` to a page."""
    page = (fixtures_dir / SOURCE).read_text(encoding="utf-8")
    m = re.search(r'data-target="DailyPapers" data-props="([^"]*)"', page)
    props = json.loads(htmllib.unescape(m.group(1)))
    items = props["dailyPapers"]
    articles = {}
    for a in ARTICLE.findall(page):
        aid = re.search(r'href="/papers/(\d{4}\.\d{4,5})"', a).group(1)
        articles.setdefault(aid, a)
    templates = [(it, articles[it["paper"]["id"]]) for it in items if it["paper"]["id"] in articles]

    out = []
    n = 0
    day = 1
    while n < total:
        new_items, new_articles, ids = [], [], []
        for _ in range(min(per_page, total - n)):
            n += 1
            item, article = templates[(n - 1) % len(templates)]
            old = item["paper"]["id"]
            new = synthetic_id(n)
            title = f"Outbox paper {n}: {item['paper']['title']}"
            item = copy.deepcopy(item)
            item["paper"]["id"] = new
            item["paper"]["title"] = item["title"] = title
            new_items.append(item)
            art = article.replace(f"/papers/{old}", f"/papers/{new}").replace(f"%2Fpapers%2F{old}", f"%2Fpapers%2F{new}")
            art = re.sub(rf'(<h3[^>]*><a href="/papers/{re.escape(new)}"[^>]*>)[^<]*(</a>)',
                         lambda mm: mm.group(1) + htmllib.escape(title) + mm.group(2), art)
            new_articles.append(art)
            ids.append(new)
        p = copy.deepcopy(props)
        p["dailyPapers"] = new_items
        html = page[: m.start(1)] + htmllib.escape(json.dumps(p), quote=True) + page[m.end(1):]
        runs = list(ARTICLE.finditer(html))
        html = html[: runs[0].start()] + "".join(new_articles) + html[runs[-1].end():]
        url = f"https://huggingface.co/papers/date/{dt.date(2026, 1, 1) + dt.timedelta(days=day - 1)}"
        out.append((url, html, ids))
        day += 1
    return out
