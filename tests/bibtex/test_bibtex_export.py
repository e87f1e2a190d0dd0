"""Export layout (lined up with arXiv's own export), parser cleanliness, round trip."""

from __future__ import annotations

import logging
import random

import bibtexparser
import pybtex.database
import pybtex.errors
from bibtexparser import model

from papershelf import bibtex_export as E
from papershelf import bibtex_import as I

from bibtex_cases import library


def assert_parsers_accept(text: str, expected_entries: int) -> None:
    """bibtexparser and pybtex read the file completely and without a single warning."""
    records: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Catch(level=logging.DEBUG)
    logger = logging.getLogger("bibtexparser")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        lib = bibtexparser.parse_string(text)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert lib.failed_blocks == []
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []
    assert len(lib.entries) == expected_entries
    assert not [b for b in lib.blocks if isinstance(b, model.ImplicitComment) and b.comment.strip()]

    with pybtex.errors.capture() as errors:
        data = pybtex.database.parse_string(text, "bibtex")
        for entry in data.entries.values():  # names are parsed lazily in places
            for person in entry.persons.get("author", []):
                str(person)
    assert errors == []
    assert len(data.entries) == expected_entries


ATTENTION = {
    "id": 7, "arxiv_id": "1706.03762", "title": "Attention Is All You Need",
    "authors": ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit", "Llion Jones",
                "Aidan N. Gomez", "Lukasz Kaiser", "Illia Polosukhin"],
    "authors_count": 8, "published": "2017-06-12", "primary_class": "cs.CL",
    "citation_key": "vaswani2017attention", "tags": [], "abstract": None,
}


def test_arxiv_paper_lines_up_with_arxivs_own_export():
    assert E.entry(ATTENTION) == """\
@misc{vaswani2017attention,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob and Jones, Llion and Gomez, Aidan N. and Kaiser, Lukasz and Polosukhin, Illia},
  year = {2017},
  month = jun,
  eprint = {1706.03762},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL},
  url = {https://arxiv.org/abs/1706.03762}
}
"""


def test_optional_fields_and_their_switches():
    paper = dict(ATTENTION, doi="10.48550/arXiv.1706.03762", abstract="We propose the Transformer.",
                 tags=["nlp/attention", "To read"], key_aliases=["vaswani2023attentionneed"],
                 bib_extra={"note": "NeurIPS 2017"})
    text = E.entry(paper)
    assert "  doi = {10.48550/arXiv.1706.03762},\n" in text
    assert "  abstract = {We propose the Transformer.},\n" in text
    assert "  keywords = {nlp/attention, To read},\n" in text
    assert "  note = {NeurIPS 2017},\n" in text
    assert text.endswith("  ids = {vaswani2023attentionneed}\n}\n")
    bare = E.entry(paper, abstract=False, keywords=False)
    assert "abstract" not in bare and "keywords" not in bare
    fields = [line.split(" = ")[0].strip() for line in text.splitlines()[1:-1]]
    assert fields == ["title", "author", "year", "month", "eprint", "archivePrefix", "primaryClass",
                      "url", "doi", "abstract", "keywords", "note", "ids"]


def test_journal_article_keeps_its_type_and_fields(full_library):
    lecun = next(p for p in full_library if p.get("citation_key") == "LeCun_2015:deep")
    text = E.entry(lecun)
    assert text.startswith("@article{LeCun_2015:deep,\n")
    for line in ["  journal = {Journal of ML {\\&} Data},", "  volume = {521},", "  number = {7553},",
                 "  pages = {436--444},", "  publisher = {Nature Publishing Group},",
                 "  year = {2015},", "  month = may,", "  doi = {10.1000/abc_def(12)},",
                 "  url = {https://example.org/paper%20one.pdf#page=2},", "  ids = {lecun2015}"]:
        assert line in text


def test_incomplete_entries_are_exported_and_reported(full_library):
    text, report = E.export(full_library)
    incomplete = {item["title"]: item for item in report["incomplete"]}
    unknown = incomplete["A survey of Gaussian processes in Paris and the iPhone era"]
    assert unknown["missing"] == ["authors"]
    assert "count: 5" in unknown["message"]
    partial = incomplete["Partially known authors"]
    assert "2 of 5" in partial["message"]
    assert "author = {Lovelace, Ada and Turing, Alan and others}" in text
    assert "@misc{anon2024survey," in text  # still exported, with what is known
    assert report["entries"] == len(full_library)


def test_fixture_and_nasty_exports_parse_cleanly(full_library):
    text, report = E.export(full_library)
    assert_parsers_accept(text, len(full_library))
    assert report["raw_characters"]  # the CJK/Cyrillic/emoji papers are in there


def test_export_is_deterministic_and_order_independent(full_library):
    text, _ = E.export(full_library)
    shuffled = list(full_library)
    random.Random(5).shuffle(shuffled)
    assert E.export(shuffled)[0] == text
    assert E.export(full_library)[0] == text


def test_round_trip_export_import_export(full_library):
    text, _ = E.export(full_library)
    result = I.parse(text)
    assert result.errors == [] and result.warnings == []
    assert len(result.entries) == len(full_library)
    again, report = E.export(library(result.entries))
    assert again == text
    assert report["assigned_keys"] == {}


def test_round_trip_of_imported_real_world_files():
    from bibtex_cases import DATA

    for name in ("zotero_better_bibtex.bib", "zotero_better_biblatex.bib", "jabref.bib", "arxiv.bib"):
        first, _ = E.export(library(I.parse((DATA / name).read_text(encoding="utf-8")).entries))
        assert_parsers_accept(first, first.count("\n@") + first.startswith("@"))
        second, _ = E.export(library(I.parse(first).entries))
        assert second == first, name


def test_write_atomic(tmp_path):
    target = tmp_path / "library.bib"
    target.write_text("old", encoding="utf-8")
    E.write_atomic(target, "@misc{a, title={é}}\n")
    assert target.read_text(encoding="utf-8") == "@misc{a, title={é}}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["library.bib"]


# ----------------------------------------------------------------------------- properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
PAPERS = st.lists(st.fixed_dictionaries(
    {"title": TEXT.filter(lambda t: E._clean(t) != ""), "authors": st.lists(TEXT, max_size=4),
     "tags": st.lists(TEXT, max_size=3), "abstract": TEXT,
     "published": st.dates().map(lambda d: f"{max(d.year, 1900):04d}-{d.month:02d}-{d.day:02d}"),
     "arxiv_id": st.one_of(st.none(), st.from_regex(r"2[0-9]{3}\.[0-9]{5}", fullmatch=True))},
    optional={"citation_key": st.from_regex(r"[A-Za-z][A-Za-z0-9_:.-]{0,12}", fullmatch=True),
              "key_aliases": st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), max_size=2),
              "authors_count": st.integers(0, 9)}),
    min_size=1, max_size=4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers=PAPERS)
def test_any_library_exports_to_a_clean_file_that_round_trips(papers):
    text, report = E.export(library(papers))
    keyed = text.count("\n@") + text.startswith("@") - text.startswith("@preamble")
    assert keyed == len(papers)
    assert_parsers_accept(text, len(papers))
    result = I.parse(text)
    assert result.errors == []
    assert len(result.entries) == len(papers)
    assert E.export(library(result.entries))[0] == text
