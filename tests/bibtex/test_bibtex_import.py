"""Import of real-world shaped .bib files: Zotero, JabRef, arXiv, Google Scholar, DBLP, broken."""

from __future__ import annotations

import logging

import pytest

from papershelf import bibtex_import as I

from bibtex_cases import DATA


def parse_file(name: str) -> I.ImportResult:
    return I.parse((DATA / name).read_text(encoding="utf-8"))


def by_key(result: I.ImportResult) -> dict[str, dict]:
    return {e["citation_key"]: e for e in result.entries}


def test_zotero_better_bibtex_export():
    result = parse_file("zotero_better_bibtex.bib")
    assert result.errors == [] and result.warnings == []
    entries = by_key(result)
    assert list(entries) == ["lecunDeepLearning2015", "heDeepResidualLearning2016",
                             "vaswaniAttentionAllYou2023", "scholkopfNonlinearComponentAnalysis1998",
                             "openaiGPT4TechnicalReport2023"]
    lecun = entries["lecunDeepLearning2015"]
    assert lecun["entry_type"] == "article"
    assert lecun["authors"] == ["Yann LeCun", "Yoshua Bengio", "Geoffrey Hinton"]
    assert lecun["authors_count"] == 3
    assert (lecun["year"], lecun["month"]) == (2015, "5")
    assert lecun["journal"] == "Nature" and lecun["volume"] == "521" and lecun["number"] == "7553"
    assert lecun["pages"] == "436--444"
    assert lecun["publisher"] == "Nature Publishing Group"
    assert lecun["doi"] == "10.1038/nature14539"
    assert lecun["tags"] == ["Computer science", "Mathematics and computing"]
    assert lecun["bib_extra"] == {"issn": "1476-4687"}
    assert "arxiv_id" not in lecun and "file" not in lecun

    he = entries["heDeepResidualLearning2016"]
    assert he["title"] == "Deep Residual Learning for Image Recognition"
    assert he["booktitle"] == ("Proceedings of the IEEE Conference on Computer Vision and "
                               "Pattern Recognition (CVPR)")
    assert he["bib_extra"] == {"address": "Las Vegas, NV, USA", "isbn": "978-1-4673-8851-1"}

    vaswani = entries["vaswaniAttentionAllYou2023"]
    assert vaswani["arxiv_id"] == "1706.03762"
    assert vaswani["primary_class"] == "cs"
    assert vaswani["authors"][6] == "Łukasz Kaiser"
    assert vaswani["doi"] == "10.48550/arXiv.1706.03762"
    assert vaswani["bib_extra"]["note"] == "Comment: 15 pages, 5 figures"

    scholkopf = entries["scholkopfNonlinearComponentAnalysis1998"]
    assert scholkopf["authors"] == ["Bernhard Schölkopf", "Alexander Smola", "Klaus-Robert Müller"]
    assert scholkopf["title"] == "Nonlinear Component Analysis as a Kernel Eigenvalue Problem"

    openai = entries["openaiGPT4TechnicalReport2023"]
    assert openai["authors"] == ["OpenAI"] and openai["title"] == "GPT-4 Technical Report"
    assert openai["entry_type"] == "techreport"


def test_zotero_better_biblatex_export():
    result = parse_file("zotero_better_biblatex.bib")
    assert result.errors == [] and result.warnings == []
    brown, jumper = result.entries
    assert brown["arxiv_id"] == "2005.14165" and brown["primary_class"] == "cs"
    assert (brown["year"], brown["month"], brown["published"]) == (2020, "7", "2020-07-22")
    assert brown["url"] == "http://arxiv.org/abs/2005.14165"
    assert brown["title"] == "Language Models Are Few-Shot Learners"
    assert jumper["journal"] == "Nature" and (jumper["year"], jumper["month"]) == (2021, "8")
    assert "published" not in jumper
    assert "Augustin Žídek" in jumper["authors"]


def test_jabref_file_with_meta_comments():
    result = parse_file("jabref.bib")
    assert result.errors == [] and result.warnings == []
    entries = by_key(result)
    assert list(entries) == ["Srivastava2014", "Kingma2015", "Goodfellow2016"]
    assert entries["Srivastava2014"]["journal"] == "Journal of Machine Learning Research"  # @String
    assert entries["Srivastava2014"]["tags"] == ["dropout", "regularization"]
    assert entries["Srivastava2014"]["pages"] == "1929--1958"
    kingma = entries["Kingma2015"]
    assert (kingma["arxiv_id"], kingma["primary_class"]) == ("1412.6980", "cs.LG")
    assert kingma["booktitle"] == "3rd International Conference on Learning Representations, ICLR 2015"
    assert entries["Goodfellow2016"]["bib_extra"] == {"note": "http://www.deeplearningbook.org"}
    assert entries["Goodfellow2016"]["entry_type"] == "book"


def test_arxiv_own_entries_and_scholar_and_dblp_shapes():
    result = parse_file("arxiv.bib")
    assert result.errors == [] and result.warnings == []
    entries = by_key(result)
    vaswani = entries["vaswani2023attentionneed"]
    assert vaswani == {
        "citation_key": "vaswani2023attentionneed", "entry_type": "misc",
        "title": "Attention Is All You Need",
        "authors": ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit",
                    "Llion Jones", "Aidan N. Gomez", "Lukasz Kaiser", "Illia Polosukhin"],
        "authors_count": 8, "arxiv_id": "1706.03762", "primary_class": "cs.CL", "year": 2023,
        "url": "https://arxiv.org/abs/1706.03762"}
    witten = entries["witten1998adsft"]
    assert witten["arxiv_id"] == "hep-th/9802150"
    assert witten["entry_type"] == "misc" and "journal" not in witten  # the placeholder journal goes
    devlin = entries["devlin2018bert"]
    assert devlin["arxiv_id"] == "1810.04805" and "journal" not in devlin
    dblp = entries["DBLP:journals/corr/abs-2005-14165"]
    assert dblp["arxiv_id"] == "2005.14165" and "volume" not in dblp
    assert dblp["authors"] == ["Tom B. Brown", "Benjamin Mann", "Nick Ryder"]


def test_broken_file_reports_line_numbers_and_imports_the_rest(caplog):
    with caplog.at_level(logging.DEBUG):
        result = parse_file("broken.bib")
    assert [e["citation_key"] for e in result.entries] == [
        "good2020first", "good2021second", "good2022third", "good2021second", "good2024last"]
    errors = {(e["line"], e["key"]) for e in result.errors}
    assert errors == {(10, "unbalanced2021"), (23, "nocomma2022"), (29, "notitle2022"),
                      (47, "missingequals2023")}
    assert all(e["message"] for e in result.errors)
    warnings = {(w["line"], w["key"]) for w in result.warnings}
    assert warnings == {(34, "good2022third"), (41, "good2021second")}
    assert not [r for r in caplog.records if r.name.startswith("bibtexparser")]


@pytest.mark.parametrize("raw, field, value", [
    ("title = {Caf{\\'e} M{\\\"u}ller {\\ss} {\\o} \\L{}od\\'z}", "title", "Café Müller ß ø Łodź"),
    ("title = {{\\relax 中文} and $O(n)$ \\& 50\\% {\\textbackslash}}", "title", "中文 and $O(n)$ & 50% \\"),
    ("title = \"Quoted \" # {and} # \" joined\"", "title", "Quoted and joined"),
    ("title = {Bare 50% percent}", "title", "Bare 50% percent"),
    ("title = {T}, month = {September}", "month", "9"),
    ("title = {T}, month = 11", "month", "11"),
    ("title = {T}, month = dec", "month", "12"),
    ("title = {T}, year = {in press}", "bib_extra", {"year": "in press"}),
    ("title = {T}, doi = {https://doi.org/10.1000/x_y}", "doi", "10.1000/x_y"),
    ("title = {T}, url = {www.example.org}", "bib_extra", {"url": "www.example.org"}),
    ("title = {T}, keywords = {a, b; c, a}", "tags", ["a", "b", "c"]),
    ("title = {T}, ids = {old1, old2}", "key_aliases", ["old1", "old2"]),
    ("title = {T}, author = {Doe, Jane and others}", "authors_others", True),
    ("title = {T}, eprint = {arXiv:2401.01234v3}", "arxiv_id", "2401.01234"),
    ("title = {T}, url = {https://arxiv.org/pdf/2401.01234v2.pdf}", "arxiv_id", "2401.01234"),
    ("title = {T}, doi = {10.48550/arXiv.2401.01234}", "arxiv_id", "2401.01234"),
    ("title = {T}, note = {arXiv:2401.01234 [cs.LG]}", "primary_class", "cs.LG"),
])
def test_field_decoding(raw, field, value):
    result = I.parse("@misc{k, %s}" % raw)
    assert result.errors == []
    assert result.entries[0][field] == value


def test_string_macros_comments_and_foreign_preambles():
    text = """
@STRING{ nips = "Advances in Neural Information Processing Systems" }
@preamble{ "\\newcommand{\\noopsort}[1]{}" }
@comment{ anything {goes} here }
@InProceedings{k1, Title = {T}, BookTitle = nips # " 30", Year = 2017}
"""
    result = I.parse(text)
    assert result.errors == []
    assert result.entries[0]["booktitle"] == "Advances in Neural Information Processing Systems 30"
    assert [w["message"] for w in result.warnings] == [
        "@preamble ignored (Papershelf does not keep it)"]


def test_duplicate_fields_keep_the_first_and_warn():
    result = I.parse("@misc{k, title = {One}, title = {Two}, year = 2020}")
    assert result.entries[0]["title"] == "One"
    assert "appears twice" in result.warnings[0]["message"]


def test_empty_and_garbage_input():
    assert I.parse("").entries == []
    assert I.parse("just some text, no entries").entries == []
    result = I.parse("@misc{")
    assert result.entries == [] and len(result.errors) == 1


def test_decode_bytes():
    assert I.decode_bytes("\ufeff@misc{k, title={é}}".encode("utf-8")).startswith("@misc")
    assert I.decode_bytes("é".encode("latin-1")) == "é"


def test_entry_lines_point_at_each_entry():
    result = parse_file("broken.bib")
    assert result.entry_lines == [3, 16, 34, 41, 52]
