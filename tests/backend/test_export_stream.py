"""The whole-library BibTeX export sent as a stream: each entry's text is read from the
rendering cache only as it is sent, outside the library's lock, and the file is still the
library as it was when the export was asked for."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from papershelf import bibtex_export, records
from papershelf.api import _encoded
from papershelf.library import Library
from papershelf.render_cache import RenderCache, StoredRendering

WORDS = "sparse attention graph diffusion model agent vision memory survey robust".split()


def _cards(rng: random.Random, n: int, start: int = 0) -> list[dict]:
    cards = []
    for i in range(start, start + n):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
        card = {"arxiv_id": f"2601.{i:05d}", "title": title,
                "authors": rng.sample(["Jun Park", "Ana Souza", "Zoë Müller", "Li Wei"], 2),
                "abstract": " ".join(rng.choice(WORDS) for _ in range(20)),
                "published": f"2025-0{1 + i % 9}-1{i % 10}", "tags": [rng.choice(["ml", "vision"])]}
        kind = i % 6
        if kind == 1:    # raw characters: kept as UTF-8, set up by the @preamble
            card["title"] += " 中文 þorn"
        elif kind == 2:  # a math fallback the @preamble defines
            card["title"] += r" over $\mathbb{R}^n$"
        elif kind == 3:  # incomplete: no authors (and so no key until the first export)
            card["authors"] = []
        elif kind == 4:  # incomplete: only an author count
            card["authors"], card["authors_count"] = [], 9
        cards.append(card)
    cleaned, _ = records.clean_batch({"papers": cards})
    return cleaned


def _library(tmp_path: Path, n: int = 36) -> Library:
    lib = Library(tmp_path / "lib", keep_renderings=True, cache_dir=tmp_path / "derived")
    lib.save_cards(_cards(random.Random(7), n))
    lib.export_bibtex()  # papers without a key get theirs (and are rendered again)
    _settle(lib)
    return lib


def _settle(lib: Library) -> None:
    """Wait until the background thread has rendered every changed paper."""
    deadline = time.monotonic() + 30
    while lib.renderings_pending:
        assert time.monotonic() < deadline, "background rendering did not finish"
        time.sleep(0.02)
    lib.refresh_renderings()


def _reference(lib: Library, ids: list[int] | None = None, **options) -> str:
    """The same export rendered from scratch, without the cache."""
    chosen = ids or [i for i, doc in sorted(lib._docs.items()) if not doc.get("deleted_at")]
    return bibtex_export.export([lib._view(i) for i in chosen], renderer=bibtex_export.render,
                                **options)[0]


def _open_handles(directory) -> int:
    """Handles this process has open on files in ``directory`` (the rendering cache's),
    including files renamed over since (" (deleted)"). Only these: other tests' threads
    may open and close unrelated files meanwhile."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        count += target.startswith(str(directory) + os.sep)
    return count


def test_streamed_export_equals_the_joined_text_for_every_option(tmp_path):
    lib = _library(tmp_path)
    some = sorted(lib._docs)[3:20:2]
    for options in ({}, {"abstract": False}, {"tag": "ml"}, {"tag": "vision", "abstract": False},
                    {"ids": some}):
        pieces, report = lib.export_bibtex(pieces=True, **options)
        streamed = b"".join(_encoded(pieces, 256)).decode("utf-8")
        text, joined_report = lib.export_bibtex(**options)
        assert streamed == text and report == joined_report, options
        assert report["entries"] == text.count("\n@") + 1 - text.startswith("@preamble")
    full, report = lib.export_bibtex()
    assert full.startswith("@preamble{") and r"\mathbb" in full.split("\n", 1)[0]
    assert "中" in report["raw_characters"] and "þ" in report["raw_characters"]
    assert {m for item in report["incomplete"] for m in item["missing"]} == {"authors"}
    assert full == _reference(lib)
    assert lib.export_bibtex(abstract=False)[0] == _reference(lib, abstract=False)
    assert lib.export_bibtex(ids=some)[0] == _reference(lib, ids=some)
    assert lib._renderings.failures == 0
    lib.close()


def test_export_is_the_library_as_asked_while_papers_change_and_the_cache_compacts(tmp_path):
    lib = _library(tmp_path)
    cache_file = tmp_path / "derived" / "bibtex-renderings.bin"
    expected, expected_report = lib.export_bibtex()
    handles = _open_handles(cache_file.parent)
    pieces, report = lib.export_bibtex(pieces=True)
    assert report == expected_report
    sent = [next(pieces) for _ in range(report["entries"] // 2)]
    # Meanwhile: every paper changes (those sent and those still to send), one is purged,
    # new ones arrive, the background thread renders them all, and the file is compacted
    # (a new file renamed over the one the export reads).
    inode = cache_file.stat().st_ino
    for doc_id in sorted(lib._docs):
        lib.update(doc_id, {"title": f"Changed title {doc_id}"})
    purged = sorted(lib._docs)[-1]
    lib.delete([purged])
    lib.empty_trash()
    lib.save_cards(_cards(random.Random(8), 5, start=500))
    _settle(lib)
    with lib._lock:
        lib._renderings._compact()
    assert cache_file.stat().st_ino != inode
    rest = list(pieces)
    assert "\n".join(sent + rest) == expected
    assert _open_handles(cache_file.parent) == handles  # the export's own handle is let go
    changed, changed_report = lib.export_bibtex()
    assert "Changed title" in changed and "Changed title" not in expected
    assert changed_report["entries"] == expected_report["entries"] + 4
    assert changed == _reference(lib)
    lib.close()


def test_a_stream_closed_half_way_lets_go_of_its_file(tmp_path):
    lib = _library(tmp_path, n=12)
    cache_dir = tmp_path / "derived"
    handles = _open_handles(cache_dir)
    pieces, _ = lib.export_bibtex(pieces=True)
    assert _open_handles(cache_dir) == handles + 1
    next(pieces), next(pieces)
    pieces.close()
    assert _open_handles(cache_dir) == handles
    pieces, _ = lib.export_bibtex(pieces=True)
    del pieces  # never started: let go all the same
    assert _open_handles(cache_dir) == handles
    lib.close()


def test_export_stays_whole_when_the_cache_fails_during_it(tmp_path, monkeypatch):
    lib = _library(tmp_path, n=18)
    cache = lib._renderings
    cache_file = tmp_path / "derived" / "bibtex-renderings.bin"
    size = cache_file.stat().st_size
    real_append = cache._append
    calls = []

    def append_until_the_disk_is_full(*args):
        calls.append(1)
        if len(calls) == 3:  # what this export stored so far never reaches the disk
            cache._writer.flush()
            os.truncate(cache_file, size)
            raise OSError(28, "No space left on device")
        return real_append(*args)

    monkeypatch.setattr(cache, "_append", append_until_the_disk_is_full)
    # Without the abstract every paper is rendered now and stored for this export.
    failures = cache.failures
    pieces, report = lib.export_bibtex(pieces=True, abstract=False)
    assert cache.failures == failures + 1
    assert "\n".join(pieces) == _reference(lib, abstract=False)
    assert report["entries"] == 18
    monkeypatch.undo()
    assert lib.export_bibtex(abstract=False)[0] == _reference(lib, abstract=False)
    lib.close()


def test_stand_ins_know_what_the_preamble_and_report_need_and_where_the_text_is(tmp_path):
    rng = random.Random(11)
    papers = []
    for i in range(1, 41):
        title = rng.choice(["", "Über $O(n^2)$ & 50% of {BERT}", r"Sets over $\mathbb{Z}$",
                            "中文 title", "Plain words"])
        papers.append({"id": i, "title": title, "citation_key": f"key{i}",
                       "authors": rng.choice([[], ["Ana Souza"]]),
                       "published": rng.choice([None, "2024-05-01"])})
    path = tmp_path / "renderings.bin"
    cache = RenderCache(path)
    for paper in papers:  # stored now, then found by hash
        for _ in range(2):
            stored = cache(paper, stand_in=True)
            assert isinstance(stored, StoredRendering)
    cache.finish()
    assert cache.misses == len(papers) and cache.hits == len(papers)
    reader = cache.reader()
    reopened = RenderCache(path)  # a new process: what is kept in memory read from the file
    for paper in papers:
        rendering = bibtex_export.render(paper)
        for stored in (cache(paper, stand_in=True), reopened(paper, stand_in=True)):
            assert (stored.glyphs, stored.math, stored.missing) == \
                (rendering.glyphs, rendering.math, rendering.missing)
            assert reader.read(stored) == (rendering.entry_type, rendering.lines)
    assert any(s.glyphs for s in reopened._index.values())
    assert any(s.math for s in reopened._index.values())
    assert any(s.missing for s in reopened._index.values())
    # Through stand-ins and a reader, export gives the same file and report as without.
    plain = bibtex_export.export(papers)
    pieces, report = bibtex_export.export(
        papers, pieces=True, fetch=reader.read,
        renderer=lambda paper, **options: reopened(paper, stand_in=True, **options))
    assert ("\n".join(pieces), report) == plain
    # A record changed behind the cache's back is never sent as if it were the rendering.
    stored = reopened(papers[0], stand_in=True)
    with open(path, "r+b") as handle:
        handle.truncate(stored.offset)
    with pytest.raises(OSError):
        reader.read(stored)
    reader.close(), reopened.close(), cache.close()


def test_export_pieces_come_one_by_one_from_the_renderer_given_stand_ins():
    papers = [{"id": i, "citation_key": f"k{i:02d}", "title": f"T{i}",
               "authors": ["A B"], "published": "2020-01-01", "key_aliases": [f"old{i}"]}
              for i in range(5, 0, -1)]
    texts = {p["id"]: bibtex_export.render(p) for p in papers}
    fetched = []

    class StandIn:
        def __init__(self, paper_id):
            rendering = texts[paper_id]
            self.paper_id = paper_id
            self.glyphs, self.math, self.missing = rendering.glyphs, rendering.math, rendering.missing

    def fetch(stand_in):
        fetched.append(stand_in.paper_id)
        return texts[stand_in.paper_id].entry_type, texts[stand_in.paper_id].lines

    pieces, report = bibtex_export.export(papers, pieces=True, fetch=fetch,
                                          renderer=lambda paper, **_: StandIn(paper["id"]))
    assert fetched == []  # nothing read before it is sent
    first = next(pieces)
    assert first.startswith("@misc{k01,") and fetched == [1]
    assert "\n".join([first, *pieces]) == bibtex_export.export(papers)[0]
    assert fetched == [1, 2, 3, 4, 5] and report == bibtex_export.export(papers)[1]


def test_encoded_stream_takes_pieces_as_they_are_made():
    rng = random.Random(2)
    for count in (0, 1, 3, 40):
        pieces = ["".join(rng.choice("ab\né{}") for _ in range(rng.randint(0, 30)))
                  for _ in range(count)]
        for size in (1, 7, 1 << 20):
            assert b"".join(_encoded(iter(pieces), size)) == "\n".join(pieces).encode("utf-8")
