"""Build a test library from the fixture records, through the real HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hf-papers"
SHARED_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "hf-papers"

XSS_TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> Robust <b>bold</b> claims'
XSS_TAG = "<i>x</i>"


def fixture_files() -> list[Path]:
    files = sorted(FIXTURES.glob("*_records.json"))
    if not files:  # the copy is missing: fall back to the shared originals
        files = sorted(SHARED_FIXTURES.glob("*_records.json"))
    assert files, f"no *_records.json fixtures in {FIXTURES}"
    return files


def fixture_batches() -> list[tuple[str, list[dict]]]:
    out = []
    for f in fixture_files():
        data = json.loads(f.read_text(encoding="utf-8"))
        out.append((data["query"], data["records"]))
    return out


def _near_duplicates(records: list[dict]) -> list[dict]:
    """Records the backend should flag (not merge): a second arXiv id for the same title,
    and a retitled copy without an id."""
    a, b = dict(records[0]), dict(records[1])
    a["arxiv_id"] = "2601.00042"
    a["abstract"] = "Revised version. " + (a.get("abstract") or "")
    a["upvotes"] = (a.get("upvotes") or 0) + 7
    words = b["title"].split()
    # change one word in the middle: similar enough to flag, not to merge
    mid = len(words) // 2
    words[mid] = words[mid] + "s"
    words.insert(mid + 1, "Revisited")
    b["title"] = " ".join(words)
    b["arxiv_id"] = None
    b["published"] = None
    b["github_repo"] = "https://github.com/example/revisited"
    return [a, b]


def build_library(session, url: str) -> dict:
    """POST every fixture record (tagged with its search query), two near duplicates and
    one paper whose title, abstract and tag are HTML/script payloads."""
    summary = {"created": 0, "merged": 0, "possible_duplicates": 0}
    first_records = None
    for query, records in fixture_batches():
        first_records = first_records or records
        body = {"papers": [dict(r, tags=[query]) for r in records],
                "source": {"url": f"https://huggingface.co/papers?q={query}", "view": "search"}}
        answer = session.post(url + "/api/papers", json=body, timeout=60)
        answer.raise_for_status()
        for k in summary:
            summary[k] += answer.json()[k]
    answer = session.post(url + "/api/papers", json={"papers": _near_duplicates(first_records)}, timeout=60)
    answer.raise_for_status()
    for k in summary:
        summary[k] += answer.json()[k]
    answer = session.post(url + "/api/papers", json={
        "title": XSS_TITLE, "abstract": "<b>not bold</b> <a href='javascript:alert(1)'>x</a>",
        "authors": ["<svg onload=alert(1)>"], "tags": [XSS_TAG],
        "github_repo": None, "published": "2025-01-01", "upvotes": 1}, timeout=30)
    answer.raise_for_status()
    summary["created"] += answer.json()["created"]
    return summary
