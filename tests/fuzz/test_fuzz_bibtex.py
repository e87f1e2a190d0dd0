"""BibTeX on hostile text: export then parse gives back the same title, authors, tags and
arXiv id, for anything the library can hold; both bibtexparser and Papershelf's own
importer read every exported file without an error; keys are valid and unique; the
importer never raises on garbage.

tests/bibtex/test_bibtex_escape.py already round-trips short titles over a fixed alphabet
and names over "safe" letters; these go further: every Unicode category (combining marks,
right-to-left text and bidi controls, emoji sequences, private use, C1 controls), LaTeX
and BibTeX syntax glued in anywhere, lengths up to the record limits, whole libraries.
"""

from __future__ import annotations

import bibtexparser
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from papershelf import bibtex_export, bibtex_import, citekeys, records, tags as tagmod

from .fuzzing import TALLY, fuzz_settings
from .text import TRICKY, texts, visible


def cleaned(field: str, value):
    """``value`` as the library would store it in ``field``, or None if it would refuse."""
    try:
        return records.clean_card({"title": "t", field: value})[field]
    except records.ValidationError:
        return None


def export_and_parse(papers: list[dict]) -> tuple[dict, list[dict]]:
    """Export, check the file with bibtexparser, read it back with Papershelf's importer;
    the export's report and the entries read."""
    text, report = bibtex_export.export(papers)
    assert report["entries"] == len(papers)
    parsed = bibtexparser.parse_string(text)
    assert not parsed.failed_blocks, [b.error for b in parsed.failed_blocks]
    assert len(parsed.entries) == len(papers)
    keys = [entry.key for entry in parsed.entries]
    assert len({k.lower() for k in keys}) == len(keys), keys
    assert all(citekeys.is_usable_key(k) for k in keys), keys
    result = bibtex_import.parse(text)
    assert not result.errors, result.errors
    assert not result.warnings, result.warnings
    assert len(result.entries) == len(papers)
    return report, result.entries


def title_texts(**options) -> st.SearchStrategy[str]:
    return texts(min_pieces=1, **options).map(lambda t: cleaned("title", t)).filter(
        lambda t: t is not None and visible(t) != "")


titles = title_texts()


@fuzz_settings(60, 1_500)
@given(title=titles)
def test_any_title_comes_back(title):
    with TALLY.example("bibtex.title round trip"):
        _, (entry,) = export_and_parse([{"id": 1, "title": title, "authors": ["Ada Lovelace"]}])
        back = entry["title"]
        if "^" in title or "_{" in title:
            # Bare x^2 / x_{i} become math once ($^2$); from then on nothing changes.
            _, (again,) = export_and_parse([{"id": 1, "title": back, "authors": ["A B"]}])
            assert again["title"] == back
        else:
            assert back == visible(title)


name_pieces = st.one_of(st.sampled_from(TRICKY), st.sampled_from(
    ["van ", "de la ", " Jr.", " III", "O'", "J. ", "-", "~", " ", "  ", "Ó", "ñ"]),
    st.text("abcXYZ", min_size=1, max_size=6), texts(max_pieces=2))
names = st.lists(name_pieces, min_size=1, max_size=8).map("".join).map(
    lambda n: cleaned("authors", [n])).filter(bool).map(lambda ns: ns[0]).filter(
    lambda n: visible(n) != "")


@fuzz_settings(60, 1_500)
@given(authors=st.lists(names, min_size=1, max_size=5))
@example(authors=[",", "Ada Lovelace"])  # a name of commas only was dropped
def test_any_author_list_comes_back(authors):
    """Names come back as they are; a name with commas is BibTeX's "Last, First" and
    comes back in display order ("First Last"), stable from then on. None is lost."""
    with TALLY.example("bibtex.authors round trip"):
        _, (entry,) = export_and_parse([{"id": 1, "title": "T", "authors": authors}])
        back = entry.get("authors", [])
        assert len(back) == len(authors), (authors, back)
        for sent, got in zip(authors, back):
            if "," not in sent:
                assert got == visible(sent), (sent, got)
        if any("," in a for a in authors):
            _, (again,) = export_and_parse([{"id": 1, "title": "T", "authors": back}])
            assert again.get("authors", []) == back


def clean_tag(tag: str) -> str | None:
    try:
        return tagmod.clean(tag)
    except ValueError:
        return None


tag_levels = st.one_of(
    st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=",/"),
            min_size=1, max_size=8),
    st.sampled_from(["ml", "C++ & friends", "a;b", "x^2", "$x$", "{x}", "\\", "--", "(a)",
                     "重要", "שלום", "🙂", "\u200b", "e\u0301", "  padded  "]))
tag_lists = st.lists(st.lists(tag_levels, min_size=1, max_size=3).map("/".join),
                     max_size=6).map(lambda tags: [t for t in map(clean_tag, tags) if t])


def tag_visible(tag: str) -> str:
    return clean_tag("/".join(visible(level) for level in tag.split("/")).strip("/")) or ""


short_titles = title_texts(max_pieces=10, long=False)
arxiv_ids = st.from_regex(r"\A(2[0-9]{3}\.[0-9]{5}|hep-th/9[0-9]{6})\Z")


@pytest.mark.parametrize("tag", ["^0", "C^2", "x_{i}", "$x$", "(a)", "a--b", "\\", "{x}"])
def test_tags_come_back_as_typed(tag):
    """A tag is a name: "C^2" came back as "C$^2$" (a new tag on import)."""
    _, (entry,) = export_and_parse([{"id": 1, "title": "T", "authors": ["A B"], "tags": [tag]}])
    assert entry["tags"] == [tag]


@fuzz_settings(8, 150)
@given(data=st.data(), size=st.integers(1, 12))
def test_a_library_of_hostile_papers_comes_back(data, size):
    """Whole files: title, authors, tags and arXiv id of every paper; keys stay unique."""
    with TALLY.example("bibtex.library round trip"):
        papers = []
        for i in range(size):
            paper = {"id": i + 1, "title": data.draw(short_titles), "authors": data.draw(
                st.lists(names, max_size=3)), "tags": tagmod.unique(data.draw(tag_lists))}
            arxiv_id = data.draw(st.none() | arxiv_ids)
            if arxiv_id and arxiv_id not in {p.get("arxiv_id") for p in papers}:
                paper["arxiv_id"] = arxiv_id
            if data.draw(st.booleans()):
                paper["citation_key"] = data.draw(st.sampled_from(
                    ["same", "SAME", "park2024x", "a:b/c+d", "ümlaut", "bad key", "x" * 130]))
            papers.append(paper)
        report, entries = export_and_parse(papers)
        by_key = {entry["citation_key"]: entry for entry in entries}
        renamed = {change["id"]: change["to"] for change in report["renamed_keys"]}
        for paper in papers:
            key = (report["assigned_keys"].get(paper["id"]) or renamed.get(paper["id"])
                   or paper["citation_key"])
            entry = by_key[key]
            if "^" not in paper["title"] and "_{" not in paper["title"]:
                assert entry["title"] == visible(paper["title"])
            assert entry.get("arxiv_id") == paper.get("arxiv_id")
            assert len(entry.get("authors", [])) == len(paper["authors"])
            # Tags, like all text, lose invisible characters on the way; the library cleans
            # imported tags as it cleans typed ones ("a <U+D7C7>/b" comes back "a/b").
            expected = tagmod.unique(v for v in map(tag_visible, paper["tags"]) if v)
            got = tagmod.unique(t for t in map(clean_tag, entry.get("tags", [])) if t)
            assert got == expected, (paper["tags"], entry)
            for sent, got in zip(paper["authors"], entry.get("authors", [])):
                if "," not in sent:
                    assert got == visible(sent)


@fuzz_settings(60, 1_500)
@given(papers=st.lists(st.fixed_dictionaries(
    {"title": texts(max_pieces=8), "authors": st.lists(texts(max_pieces=4), max_size=3)},
    optional={"year": st.one_of(st.integers(1800, 2100), texts(max_pieces=2)),
              "published": st.sampled_from(["2024-01-01", "", "1999-12-31", "abcd", "٢٠٢٤-01-01"])}),
    min_size=1, max_size=40),
    taken=st.sets(st.text(min_size=1, max_size=12), max_size=20))
@example(papers=[{"title": "", "authors": [], "published": "٢٠٢٤-01-01"}], taken=set())
def test_made_citation_keys_are_valid_and_unique(papers, taken):
    with TALLY.example("citekeys.make_key"):
        used = set(taken)
        made = []
        for paper in papers:
            key = citekeys.make_key(paper, used)
            assert citekeys.validate_key(key) is None, (paper, key)
            assert citekeys.is_usable_key(key) and key.isascii()
            assert key.lower() not in {k.lower() for k in used}
            used.add(key)
            made.append(key)
        assert len({k.lower() for k in made}) == len(made)


bib_tokens = st.sampled_from([
    "@", "@article", "@misc", "@string", "@preamble", "@comment", "@Comment{jabref-meta: x;}",
    "{", "}", "(", ")", ",", "=", "#", '"', "\\", "%", "\n", " ", "and", "others", "title",
    "author", "year", "month", "jan", "eprint", "archivePrefix", "arXiv", "2401.00001",
    "٢٤٠١.٠١٢٣٤", "doi", "url", "https://arxiv.org/abs/2401.00002v3", "keywords", "ids",
    "date", "2024-02-30", "pages", "1--2", "$", "^", "_", "~", "{\\'e}", "\\relax", "\\u",
    "99999999999999999999", "0000", "1799", "journal", "arxiv preprint arXiv:2401.00003",
    bibtex_export.PREAMBLE_MARK, "\x00", "\ufeff", "\r\n", "\u202e"])
bib_text = st.lists(bib_tokens | texts(max_pieces=2), max_size=80).map("".join)


@fuzz_settings(100, 3_000)
@given(text=bib_text)
def test_the_importer_never_raises_and_reports_what_it_skips(text):
    with TALLY.example("bibtex.parse garbage"):
        result = bibtex_import.parse(text)
        assert len(result.entries) == len(result.entry_lines)
        for entry in result.entries:
            assert entry.get("title")
            assert entry.get("citation_key") is None or citekeys.is_usable_key(entry["citation_key"])
        for problem in result.errors + result.warnings:
            assert isinstance(problem["message"], str) and problem["message"]
