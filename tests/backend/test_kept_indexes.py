"""The search and duplicate indexes a clean stop keeps (see `clean_stop`), against a real
`papershelf serve`.

Building them from the papers takes seconds at 50,000 papers, and saves and searches wait
for them; a start after a clean stop reads the kept ones instead, but only while the
library's files are exactly as the stop left them."""

from __future__ import annotations

from api_client import Api, start_server, unique_card
from papershelf import clean_stop, server
from papershelf.config import library_dir
from papershelf.dedupe import DedupeIndex
from papershelf.library import DUPLICATE_INDEX, SEARCH_INDEX, Library
from papershelf.search import SearchIndex


def _kept_path(data_dir, name=SEARCH_INDEX):
    return data_dir / server.CACHE_DIR / server.KEPT_INDEX_FILES[name]


def _rewrite_kept(data_dir, name, index_type, change) -> None:
    """Change what a kept index holds, leaving the files' state it was kept with."""
    path = _kept_path(data_dir, name)
    content = path.read_bytes()
    state = content[:content.index(b"\n") + 1]
    index = index_type.from_bytes(clean_stop.kept(path, library_dir(data_dir)))
    change(index)
    path.write_bytes(state + index.to_bytes())


def _found(api: Api, query: str) -> set[str]:
    answer = api.ok("GET", f"/api/papers?q={query}&limit=100")
    return {paper["arxiv_id"] for paper in answer["papers"]}


def test_restart_uses_the_kept_indexes_until_the_library_changes_without_them(tmp_path):
    srv = start_server(tmp_path)
    data_dir = srv.data_dir
    api = Api(srv, srv.api_token)
    quokka = unique_card(title="Quokka habitats on small islands")
    other = unique_card(title="Sparse attention for long documents")
    saved = api.ok("POST", "/api/papers", {"papers": [quokka, other]})
    other_id = [r["paper"]["id"] for r in saved["results"]
                if r["paper"]["arxiv_id"] == other["arxiv_id"]][0]
    # A change the search index may not have caught up with when the server stops.
    api.ok("PATCH", f"/api/papers/{other_id}", {"notes": "wombat burrows"})
    srv.stop()
    for name in server.KEPT_INDEX_FILES:
        assert clean_stop.kept(_kept_path(data_dir, name), library_dir(data_dir)) is not None

    # Marks that only the kept indexes carry: the quokka paper is found by a word it does
    # not have, and a card with the "sparse attention" paper's new title is that paper.
    def mark_search(index):
        index._postings[0]["okapi"] = index._postings[0]["quokka"]
    renamed = "Dense passage retrieval with learned sparse representations at web scale"

    def mark_duplicates(index):
        index.add(other_id, {**other, "title": renamed})
    _rewrite_kept(data_dir, SEARCH_INDEX, SearchIndex, mark_search)
    _rewrite_kept(data_dir, DUPLICATE_INDEX, DedupeIndex, mark_duplicates)
    srv.start()
    try:
        assert _found(api, "okapi") == {quokka["arxiv_id"]}, "the kept search index was not used"
        merged = api.ok("POST", "/api/papers", {**other, "arxiv_id": None, "title": renamed})
        assert merged["merged"] == 1 and merged["results"][0]["paper"]["id"] == other_id, \
            "the kept duplicate index was not used"
        assert _found(api, "wombat") == {other["arxiv_id"]}
        assert _found(api, "islands") == {quokka["arxiv_id"]}
        later = unique_card(title="Okapi sightings in the Ituri forest")
        api.save(later)
        assert _found(api, "okapi") == {quokka["arxiv_id"], later["arxiv_id"]}
    finally:
        srv.kill()  # after a save: the kept indexes no longer match the files

    for name in server.KEPT_INDEX_FILES:
        assert clean_stop.kept(_kept_path(data_dir, name), library_dir(data_dir)) is None
    srv.start()
    try:
        assert _found(api, "okapi") == {later["arxiv_id"]}, "a stale kept index was used"
        assert _found(api, "wombat") == {other["arxiv_id"]}
    finally:
        srv.stop()

    # What the last clean stop kept is what fresh builds from the papers give.
    def kept(name, index_type):
        return index_type.from_bytes(clean_stop.kept(_kept_path(data_dir, name),
                                                     library_dir(data_dir)))
    kept_search, kept_duplicates = kept(SEARCH_INDEX, SearchIndex), kept(DUPLICATE_INDEX, DedupeIndex)
    library = Library(library_dir(data_dir))
    try:
        papers = [(paper["id"], paper) for paper in library.all_papers()]
    finally:
        library.close()
    fresh_search, fresh_duplicates = SearchIndex(), DedupeIndex()
    fresh_search.build(papers)
    for doc_id, paper in papers:
        fresh_duplicates.add(doc_id, paper)
    assert len(kept_search) == len(fresh_search) == len(kept_duplicates) == 3
    for query in ("okapi", "wombat", "quokka islands", "sparse", "ituri"):
        assert kept_search.search(query) == fresh_search.search(query), query
    for doc_id, _ in papers:
        assert kept_duplicates.fingerprint(doc_id) == fresh_duplicates.fingerprint(doc_id)
