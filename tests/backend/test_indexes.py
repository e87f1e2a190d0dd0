"""The in-memory indexes against plain reference implementations: the list columns
(filters, sorts, pages), the search index kept up to date change by change, the BibTeX
rendering cache, and a library whose indexes are built in the background."""

from __future__ import annotations

import os
import random
import threading
import time

import numpy as np
import pytest

from papershelf import bibtex_export, records
from papershelf import tags as tagmod
from papershelf.library import DUPLICATE_INDEX, SEARCH_INDEX, Library
from papershelf.listing import Columns
from papershelf.render_cache import RenderCache
from papershelf.search import SearchIndex, words
from papershelf.storage import SNAPSHOT_NAME

WORDS = ("diffusion transformer model language video agent survey graph neural learning "
         "reinforcement vision speech robot planning memory attention sparse quantum").split()
TAGS = ["ml", "ml/diffusion", "ML/LLM", "vision", "to-read", "Étude/Δ", "ml/diffusion/video"]
NAMES = ["Jun Park", "Ana Souza", "Li Wei", "Zoë Müller", "Omar Haddad"]


def random_doc(rng: random.Random, i: int) -> dict:
    return {
        "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))),
        "abstract": " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30))),
        "authors": rng.sample(NAMES, rng.randint(0, 3)),
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "read": rng.random() < 0.3, "starred": rng.random() < 0.2,
        "deleted_at": "2026-01-01T00:00:00Z" if rng.random() < 0.1 else None,
        "upvotes": rng.choice([None, *range(0, 30)]),
        "published": rng.choice([None, f"202{rng.randint(0, 6)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"]),
        "added_at": f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:0{rng.randint(0, 9)}.000000Z",
        "updated_at": f"2026-1{rng.randint(0, 2)}-1{rng.randint(0, 9)}T10:00:00.000000Z",
        "arxiv_id": f"2601.{i:05d}" if rng.random() < 0.8 else None,
    }


def reference_select(docs: dict[int, dict], *, trash=False, read=None, starred=None, tag=None,
                     ids=None, scores=None, sort=None, order=None, offset=0, limit=50):
    """The obvious Python version of a list query."""
    rows = []
    for doc_id, doc in docs.items():
        if bool(doc.get("deleted_at")) != trash:
            continue
        if read is not None and bool(doc.get("read")) != read:
            continue
        if starred is not None and bool(doc.get("starred")) != starred:
            continue
        if tag and not any(tagmod.identity(t) == tagmod.identity(tag)
                           or tagmod.identity(t).startswith(tagmod.identity(tag) + "/")
                           for t in doc.get("tags") or []):
            continue
        if ids is not None and doc_id not in ids:
            continue
        if scores is not None and not scores.get(doc_id):
            continue
        rows.append(doc_id)
    sort = sort or ("relevance" if scores is not None else "added")
    descending = (order or ("asc" if sort == "title" else "desc")) == "desc"

    def key(i):
        doc = docs[i]
        if sort == "relevance" and scores is not None:
            return (scores[i], doc.get("upvotes") or 0, i)
        if sort == "title":
            return ((doc.get("title") or "").casefold(), i)
        if sort == "upvotes":
            return (doc.get("upvotes") or 0, i)
        if sort == "published":
            published = doc.get("published")
            return (int(published.replace("-", "")) if published else -1, i)
        if sort == "updated":
            return (doc.get("updated_at") or "", i)
        return (doc.get("added_at") or "", i)

    rows.sort(key=key, reverse=descending)
    return rows[offset:offset + limit], len(rows)


def test_list_columns_agree_with_a_plain_filter_and_sort():
    rng = random.Random(7)
    docs = {i: random_doc(rng, i) for i in range(1, 400)}
    columns = Columns()
    columns.build(docs.items())
    # Changes after the build: edits, removals, new papers beyond the first allocation.
    for _ in range(200):
        doc_id = rng.randint(1, 1500)
        if rng.random() < 0.2 and doc_id in docs:
            del docs[doc_id]
            columns.set(doc_id, None)
        else:
            docs[doc_id] = random_doc(rng, doc_id)
            columns.set(doc_id, docs[doc_id])
    checked = 0
    for _ in range(300):
        query = {
            "trash": rng.random() < 0.2,
            "read": rng.choice([None, True, False]),
            "starred": rng.choice([None, None, True, False]),
            "tag": rng.choice([None, None, "ml", "ML/diffusion", "vision", "étude", "nothing"]),
            "ids": rng.choice([None, None, set(rng.sample(range(1, 1500), 300))]),
            "sort": rng.choice([None, "added", "published", "upvotes", "title", "updated", "relevance"]),
            "order": rng.choice([None, "asc", "desc"]),
            "offset": rng.choice([0, 0, 5, 40]),
            "limit": rng.choice([1, 10, 50, 2000]),
        }
        scores = None
        if rng.random() < 0.3:
            scores = {i: float(rng.randint(0, 3)) for i in docs}
            dense = np.zeros(columns.size, dtype=np.float32)
            for i, value in scores.items():
                dense[i] = value
        else:
            dense = None
        expected = reference_select(docs, scores=scores, **query)
        assert columns.select(scores=dense, **query) == expected, query
        checked += len(expected[0])
    assert checked > 1000  # the queries were not all empty
    live = sum(1 for d in docs.values() if not d.get("deleted_at"))
    assert columns.counts() == (live, len(docs) - live)


def reference_search(docs: dict[int, dict], query: str) -> set[int]:
    """Papers where every query word begins one of the paper's words (no typos here)."""
    found = set()
    for doc_id, doc in docs.items():
        text = " ".join(filter(None, [doc.get("title"), doc.get("abstract"), doc.get("notes"),
                                      doc.get("arxiv_id"), *(doc.get("tags") or []),
                                      *(doc.get("authors") or [])]))
        paper_words = words(text)
        if all(any(w.startswith(q) for w in paper_words) for q in words(query)):
            found.add(doc_id)
    return found


def test_search_kept_up_to_date_change_by_change_matches_a_fresh_build():
    rng = random.Random(11)
    docs = {i: random_doc(rng, i) for i in range(1, 300)}
    incremental = SearchIndex()
    incremental.build(docs.items())
    for _ in range(400):
        doc_id = rng.randint(1, 400)
        old = docs.get(doc_id)
        if old is not None and rng.random() < 0.25:
            del docs[doc_id]
            incremental.update(doc_id, old, None)
        else:
            new = random_doc(rng, doc_id)
            if rng.random() < 0.3:
                new["notes"] = "handwritten margin remarks"
            docs[doc_id] = new
            incremental.update(doc_id, old, new)
    fresh = SearchIndex()
    fresh.build(docs.items())
    queries = [*WORDS, "diff", "trans model", "park", "zoe", "ml", "etude", "2601", "margin",
               "handwritten remarks", "robot vision learning", "nothing-like-this"]
    for query in queries:
        size = 401
        a, b = incremental.scores(query, size), fresh.scores(query, size)
        assert np.array_equal(a, b), query
        assert set(np.flatnonzero(a).tolist()) == reference_search(docs, query), query
    assert len(incremental) == len(fresh) == len(docs)


def test_search_index_read_back_from_bytes_answers_as_the_one_written():
    rng = random.Random(12)
    docs = {i: random_doc(rng, i) for i in range(1, 300)}
    docs[7]["notes"] = "Überraschung naïve café"  # words that are not ASCII
    written = SearchIndex()
    written.build(docs.items())
    for doc_id in (3, 4):  # postings emptied by changes are not written
        written.update(doc_id, docs[doc_id], None)
        del docs[doc_id]
    read = SearchIndex.from_bytes(written.to_bytes())
    assert len(read) == len(written) == len(docs)
    queries = [*WORDS, "diff", "trans model", "park", "zoe", "etude", "2601", "cafe",
               "uberraschung", "robot vision learning", "nothing-like-this"]
    for query in [*queries, "atention", "difusion"]:  # the last two by their typos
        a, b = written.scores(query, 301), read.scores(query, 301)
        assert np.array_equal(a, b), query
        assert a.any() == (query != "nothing-like-this"), query
        if query in queries:
            assert set(np.flatnonzero(a).tolist()) == reference_search(docs, query), query
    # It goes on being kept up to date like any other.
    read.update(5, docs[5], {"title": "zebra crossing"})
    assert read.search("zebra") == {5: pytest.approx(4.0)}


@pytest.mark.parametrize("damage", [
    lambda data: data[:len(data) // 2],                       # cut short
    lambda data: data + b"\0\0\0\0",                         # trailing bytes
    lambda data: data.replace(b'"format":2', b'"format":9'),  # another format
    lambda data: b"not an index at all",
    lambda data: b"",
])
def test_search_index_refuses_bytes_that_are_not_one(damage):
    index = SearchIndex()
    index.build([(1, {"title": "Sparse attention", "abstract": "about transformers"})])
    with pytest.raises(ValueError):
        SearchIndex.from_bytes(damage(index.to_bytes()))


def test_library_uses_a_kept_search_index_only_if_it_has_every_paper(tmp_path):
    lib = Library(tmp_path / "lib")
    cards, _ = records.clean_batch({"papers": [_card(i, f"{w} networks") for i, w in enumerate(WORDS)]})
    lib.save_cards(cards)
    kept = lib.indexes_to_keep()
    lib.close()
    assert set(kept) == {SEARCH_INDEX, DUPLICATE_INDEX}
    # The kept index is what searches answer from: a word only it has is found.
    marked = SearchIndex.from_bytes(kept[SEARCH_INDEX])
    marked._postings[0]["okapi"] = marked._postings[0]["diffusion"]  # same papers, one word more
    reopened = Library(tmp_path / "lib", background_indexing=True,
                       kept_indexes={SEARCH_INDEX: marked.to_bytes()})
    assert reopened.list_papers(q="okapi")["total"] == 1
    reopened.close()
    # One that does not cover every paper is built again from the papers.
    short = SearchIndex()
    short.build([(1, {"title": "okapi"})])
    for kept_search in (short.to_bytes(), b"damaged"):
        reopened = Library(tmp_path / "lib", background_indexing=True,
                           kept_indexes={**kept, SEARCH_INDEX: kept_search})
        assert reopened.list_papers(q="okapi")["total"] == 0
        assert reopened.list_papers(q="networks")["total"] == len(WORDS)
        reopened.close()


def test_an_index_that_cannot_be_written_is_not_kept(tmp_path):
    """A lone surrogate (the storage can keep one, if a file brought it in) cannot be
    written by orjson: that index is built again at the next start, and the stop goes on."""
    lib = Library(tmp_path / "lib")
    lib.save_cards(records.clean_batch(_card(1, "diffusion networks"))[0])
    lib._dedupe.add(99, {"title": "Lone surrogate studies", "arxiv_id": "2601.\ud800"})
    try:
        kept = lib.indexes_to_keep()
    finally:
        lib.close()
    assert set(kept) == {SEARCH_INDEX}


def test_kept_indexes_are_not_used_when_a_damaged_file_was_set_aside(tmp_path):
    """A bad disk block leaves a file's size and time as they were, so the kept indexes
    look valid; the papers are then rebuilt from the previous snapshot and the journal,
    and may not be those the indexes were kept for."""
    lib = Library(tmp_path / "lib")
    for i, word in enumerate(WORDS):
        lib.save_cards(records.clean_batch(_card(i, f"{word} networks"))[0])
    kept = lib.indexes_to_keep()
    lib.close()
    marked = SearchIndex.from_bytes(kept[SEARCH_INDEX])
    marked._postings[0]["okapi"] = marked._postings[0]["diffusion"]
    snapshot = tmp_path / "lib" / SNAPSHOT_NAME
    before = snapshot.stat()
    content = bytearray(snapshot.read_bytes())
    content[len(content) // 2] = ord("\x00")
    snapshot.write_bytes(bytes(content))
    os.utime(snapshot, ns=(before.st_atime_ns, before.st_mtime_ns))
    reopened = Library(tmp_path / "lib", background_indexing=True,
                       kept_indexes={**kept, SEARCH_INDEX: marked.to_bytes()})
    try:
        assert reopened.warnings
        assert reopened.list_papers(q="okapi")["total"] == 0
        assert reopened.list_papers(q="networks")["total"] == len(WORDS)
    finally:
        reopened.close()


def test_search_ranks_title_over_abstract_and_forgives_typos():
    index = SearchIndex()
    index.build([(1, {"title": "Sparse attention", "abstract": "about transformers"}),
                 (2, {"title": "Transformers for speech", "abstract": "sparse"}),
                 (3, {"title": "Graphs", "authors": ["Ana Transformer"]})])
    scores = index.search("transformers")
    assert scores[2] > scores[1] > 0 and 3 not in scores  # "transformer" ≠ "transformers"
    assert set(index.search("transformer")) == {1, 2, 3}   # a prefix
    assert index.search("trasnformers") and 2 in index.search("trasnformers")  # typo, in a title
    assert index.search("sparse transformers") == {1: pytest.approx(5.0), 2: pytest.approx(5.0)}
    assert index.search("") == {}


def _papers_for_export(rng: random.Random, n: int) -> list[dict]:
    papers = []
    for i in range(1, n + 1):
        doc = random_doc(rng, i)
        doc["id"] = i
        doc["authors"] = doc["authors"] or ["Anonymous Author"]
        doc["title"] = rng.choice(["", "Über $O(n^2)$ & 50% of {BERT}", "中文 title", doc["title"]])
        doc["citation_key"] = f"key{i}"
        papers.append(doc)
    return papers


def test_render_cache_gives_the_same_file_and_renders_only_what_changed(tmp_path):
    rng = random.Random(3)
    papers = _papers_for_export(rng, 60)
    cache = RenderCache(tmp_path / "cache" / "renderings.bin")
    plain, _ = bibtex_export.export(papers)
    first, _ = bibtex_export.export(papers, renderer=cache)
    cache.finish()
    assert first == plain and cache.misses == 60 and cache.hits == 0
    papers[5] = {**papers[5], "title": "A new title"}
    second, _ = bibtex_export.export(papers, renderer=cache)
    assert second == bibtex_export.export(papers)[0]
    assert cache.misses == 61 and cache.hits == 59
    cache.close()
    # A new process reads the file back.
    again = RenderCache(tmp_path / "cache" / "renderings.bin")
    assert bibtex_export.export(papers, renderer=again)[0] == second
    assert again.hits == 60 and again.misses == 0
    again.close()


def test_render_cache_survives_a_torn_or_damaged_file(tmp_path):
    rng = random.Random(5)
    papers = _papers_for_export(rng, 30)
    path = tmp_path / "renderings.bin"
    cache = RenderCache(path)
    expected, _ = bibtex_export.export(papers, renderer=cache)
    cache.close()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 7])  # a crash while appending
    torn = RenderCache(path)
    assert bibtex_export.export(papers, renderer=torn)[0] == expected
    assert torn.misses == 1 and torn.hits == 29
    torn.close()
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # a flipped byte in the middle
    path.write_bytes(bytes(damaged))
    broken = RenderCache(path)
    assert bibtex_export.export(papers, renderer=broken)[0] == expected
    assert broken.misses >= 1
    broken.close()
    path.write_bytes(b"not a cache at all")
    foreign = RenderCache(path)
    assert bibtex_export.export(papers, renderer=foreign)[0] == expected
    foreign.close()


def test_render_cache_compacts_superseded_renderings(tmp_path):
    rng = random.Random(9)
    papers = _papers_for_export(rng, 20)
    path = tmp_path / "renderings.bin"
    cache = RenderCache(path)
    for round_ in range(40):
        papers = [{**p, "abstract": f"round {round_} " + "x" * 3000} for p in papers]
        text, _ = bibtex_export.export(papers, renderer=cache)
        cache.finish(live_ids=[p["id"] for p in papers[:10]])
    assert text == bibtex_export.export(papers)[0]
    # 40 rounds of 20 renderings of ~3 kB, but only the last round of 10 is kept.
    assert path.stat().st_size < 2 * 10 * 3500 + (1 << 20) + 200_000
    cache.close()


def _card(i: int, title: str) -> dict:
    return {"arxiv_id": f"2602.{i:05d}", "title": title, "authors": ["Jun Park", "Ana Souza"],
            "abstract": "a study of sparse attention", "published": "2026-02-01"}


def test_library_with_background_indexes_saves_and_searches_correctly(tmp_path):
    lib = Library(tmp_path / "lib")
    titles = [f"{a} {b} {c} networks" for a in WORDS[:8] for b in WORDS[8:14] for c in ("one", "two")]
    cards, _ = records.clean_batch({"papers": [_card(i, t) for i, t in enumerate(titles)]})
    lib.save_cards(cards)
    lib.close()

    reopened = Library(tmp_path / "lib", background_indexing=True)
    looked_up = reopened.lookup(["2602.00000"])  # answers whether or not indexing is done
    assert looked_up["2602.00000"]["title"] == titles[0]
    # A save waits for the duplicate index: the same paper without its arXiv id merges.
    same, _ = records.clean_batch({**_card(999, titles[3]), "arxiv_id": None})
    result = reopened.save_cards(same)
    assert result["merged"] == 1 and result["results"][0]["paper"]["id"] == 4
    assert reopened.indexes_ready
    # A change is searchable at once, even before the search thread has caught up.
    reopened.update(5, {"notes": "zebra crossing"})
    assert [p["id"] for p in reopened.list_papers(q="zebra")["papers"]] == [5]
    assert reopened.list_papers(q="diffusion networks")["total"] == 12
    reopened.close()


def test_saves_go_on_while_the_search_index_is_still_being_built(tmp_path, monkeypatch):
    """After a start, a change waits for the duplicate index only; what it changes reaches
    the search index once that is built, and a search waits for it."""
    lib = Library(tmp_path / "lib")
    titles = [f"{a} {b} graphs" for a in WORDS[:6] for b in WORDS[6:12]]
    cards, _ = records.clean_batch({"papers": [_card(i, t) for i, t in enumerate(titles)]})
    lib.save_cards(cards)
    lib.close()

    release, building = threading.Event(), threading.Event()
    real_build = SearchIndex.build

    def held_build(self, papers):
        building.set()
        assert release.wait(30), "the search build was never released"
        real_build(self, papers)
    monkeypatch.setattr(SearchIndex, "build", held_build)

    reopened = Library(tmp_path / "lib", background_indexing=True)
    reopened.start_indexing()
    assert building.wait(30)
    assert not reopened.indexes_ready
    # a new paper, the same paper again without its arXiv id, an edit and a deletion
    new, _ = records.clean_batch({"papers": [_card(500, "quokka habitats of rottnest")]})
    assert reopened.save_cards(new)["created"] == 1
    again, _ = records.clean_batch({**_card(998, titles[2]), "arxiv_id": None})
    outcome = reopened.save_cards(again)["results"][0]
    # found by the duplicate index: merged into paper 3, or flagged as possibly it
    assert outcome["paper"]["id"] == 3 or outcome.get("duplicate_of") == [3], outcome
    reopened.update(4, {"notes": "zebra crossing"})
    reopened.delete([6])
    assert not reopened.indexes_ready  # all of it before the search index was built

    searched = []
    searcher = threading.Thread(target=lambda: searched.append(reopened.list_papers(q="zebra")))
    searcher.start()
    time.sleep(0.2)
    assert not searched  # the search waits for its index
    release.set()
    searcher.join(30)
    assert [p["id"] for p in searched[0]["papers"]] == [4]
    assert [p["title"] for p in reopened.list_papers(q="quokka")["papers"]] == \
        ["quokka habitats of rottnest"]
    deleted_title = reopened.get(6)["title"]
    found = reopened.list_papers(q=deleted_title, limit=100)["papers"]
    assert 6 not in [p["id"] for p in found]
    # the search index equals one built from scratch over the library as it is now
    fresh = SearchIndex()
    real_build(fresh, list(reopened._docs.items()))
    for query in ("graphs", "zebra", "quokka", WORDS[0], WORDS[7]):
        assert np.array_equal(reopened._search.scores(query, reopened._columns.size),
                              fresh.scores(query, reopened._columns.size)), query
    reopened.close()


def test_changes_made_before_a_kept_search_index_is_read_reach_it(tmp_path, monkeypatch):
    """The same with a search index kept at a clean stop: changes made while it is still
    being read back are applied to it once it is in place."""
    lib = Library(tmp_path / "lib")
    titles = [f"{a} {b} graphs" for a in WORDS[:6] for b in WORDS[6:12]]
    cards, _ = records.clean_batch({"papers": [_card(i, t) for i, t in enumerate(titles)]})
    lib.save_cards(cards)
    kept = lib.indexes_to_keep()
    lib.close()

    release, reading = threading.Event(), threading.Event()
    real_from_bytes = SearchIndex.from_bytes.__func__

    def held_from_bytes(cls, data):
        reading.set()
        assert release.wait(30), "the kept index was never released"
        return real_from_bytes(cls, data)
    monkeypatch.setattr(SearchIndex, "from_bytes", classmethod(held_from_bytes))

    reopened = Library(tmp_path / "lib", background_indexing=True, kept_indexes=kept)
    reopened.start_indexing()
    assert reading.wait(30)
    reopened.update(5, {"notes": "walrus colonies"})
    new, _ = records.clean_batch({"papers": [_card(501, "okapi sightings in ituri")]})
    assert reopened.save_cards(new)["created"] == 1
    assert not reopened.indexes_ready
    release.set()
    assert [p["id"] for p in reopened.list_papers(q="walrus")["papers"]] == [5]
    assert [p["title"] for p in reopened.list_papers(q="okapi")["papers"]] == \
        ["okapi sightings in ituri"]
    fresh = SearchIndex()
    fresh.build(list(reopened._docs.items()))
    for query in ("graphs", "walrus", "okapi", WORDS[1]):
        assert np.array_equal(reopened._search.scores(query, reopened._columns.size),
                              fresh.scores(query, reopened._columns.size)), query
    reopened.close()


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "background work did not finish"
        time.sleep(0.02)


def test_library_keeps_bibtex_renderings_up_to_date_in_the_background(tmp_path):
    cache_dir = tmp_path / "derived"
    lib = Library(tmp_path / "lib", keep_renderings=True, cache_dir=cache_dir)
    titles = [f"{a} {b} of {c}" for a in WORDS[:5] for b in WORDS[5:9] for c in ("graphs", "sets")]
    cards, _ = records.clean_batch({"papers": [_card(i, t) for i, t in enumerate(titles)]})
    lib.save_cards(cards)
    _wait_for(lambda: lib.renderings_pending == 0)
    assert (cache_dir / "bibtex-renderings.bin").stat().st_size > 0
    assert not (tmp_path / "lib" / "cache").exists(), "derived files stay out of the library"
    cache = lib._renderings
    text, _ = lib.export_bibtex()   # papers get their citation keys here: they change...
    _wait_for(lambda: lib.renderings_pending == 0)
    misses = cache.misses
    again, _ = lib.export_bibtex()  # ...and are rendered again in the background
    assert again == text and cache.misses == misses
    # A change: the paper is rendered again, outside any export.
    lib.update(3, {"title": "A wholly new title"})
    assert lib.renderings_pending >= 1
    _wait_for(lambda: lib.renderings_pending == 0)
    changed, _ = lib.export_bibtex()
    assert cache.misses == misses and "A wholly new title" in changed
    assert changed == bibtex_export.export(
        [lib._view(i) for i in sorted(lib._docs)], renderer=bibtex_export.render)[0]
    lib.close()
    # Another process finds them stored.
    reopened = Library(tmp_path / "lib", keep_renderings=True, cache_dir=cache_dir)
    reopened._wait_for_indexes()
    _wait_for(lambda: reopened.renderings_pending == 0)
    assert reopened.export_bibtex()[0] == changed
    assert reopened._renderings.misses == 0 and reopened._renderings.hits == len(titles)
    reopened.close()


def test_library_without_background_rendering_renders_at_export(tmp_path):
    lib = Library(tmp_path / "lib")
    cards, _ = records.clean_batch({"papers": [_card(i, f"{w} networks") for i, w in enumerate(WORDS[:6])]})
    lib.save_cards(cards)
    assert lib.renderings_pending == 0
    text, _ = lib.export_bibtex()
    assert lib._renderings.misses == 6 and "@" in text
    lib.close()
