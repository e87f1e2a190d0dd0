"""Citation keys: readable, ASCII, unique, and never changed behind the user's back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papershelf import bibtex_export as E
from papershelf import bibtex_import as I
from papershelf import citekeys as C


def paper(title="Diversity-Driven Synthesis", authors=("Jun Park", "Ada Lovelace"),
          published="2024-09-26", **extra):
    return {"title": title, "authors": list(authors), "published": published, **extra}


@pytest.mark.parametrize("record, key", [
    (paper(), "park2024diversity"),
    (paper(title="The Art of Computer Programming"), "park2024art"),
    (paper(title="On the Use of LLMs"), "park2024use"),
    (paper(authors=["Jürgen Müller"]), "muller2024diversity"),
    (paper(authors=["Łukasz Kaiser"], title="Über Ørsted's ß-rule"), "kaiser2024uber"),
    (paper(authors=["Ludwig van Beethoven"]), "beethoven2024diversity"),
    (paper(authors=["Martin Luther King Jr."]), "king2024diversity"),
    (paper(authors=["Jean-Paul Sartre-Dupont"]), "sartredupont2024diversity"),
    (paper(authors=[], authors_count=5), "anon2024diversity"),
    (paper(authors=["小明 张"]), "anon2024diversity"),
    (paper(published=None, year=2015), "park2015diversity"),
    (paper(published=None), "parkdiversity"),
    (paper(title="$O(n)$ sorting in 2024"), "park2024sorting"),
    (paper(title="中文 标题"), "park2024"),
])
def test_default_pattern(record, key):
    assert C.make_key(record, set()) == key
    assert C.validate_key(key) is None


def test_newcomer_gets_the_suffix_and_case_does_not_matter():
    taken = {"Park2024Diversity"}
    assert C.make_key(paper(), taken) == "park2024diversitya"
    taken |= {"park2024diversitya"}
    assert C.make_key(paper(), taken) == "park2024diversityb"
    many = {"k"} | {"k" + c for c in "abcdefghijklmnopqrstuvwxyz"}
    assert C.unique_key("k", many) == "kaa"


def test_library_of_fixture_records_gets_unique_keys(fixture_library):
    taken: set[str] = set()
    for record in fixture_library:
        key = C.make_key(record, taken)
        assert key.lower() not in {k.lower() for k in taken}
        assert C.validate_key(key) is None
        taken.add(key)
    assert len(taken) == len(fixture_library)


@pytest.mark.parametrize("key, ok", [
    ("park2024diversity", True), ("Smith_2020:deep-learning", True), ("doi:10.1000/x.y", True),
    ("_private", True), ("", False), ("has space", False), ("müller2020", False),
    ("a,b", False), ("a{b}", False), ("-leading", False), ("a%b", False), ("x" * 121, False),
])
def test_validate_key(key, ok):
    assert (C.validate_key(key) is None) is ok


def test_validate_key_refuses_keys_in_use():
    assert C.validate_key("Park2024", taken={"park2024"}) is not None
    assert C.validate_key("park2024b", taken={"park2024"}) is None
    assert C.validate_key(42) is not None


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=40), names=st.lists(st.text(max_size=20), max_size=3),
       taken=st.sets(st.from_regex(r"[a-z]{1,6}[0-9]{0,4}[a-z]{0,6}", fullmatch=True), max_size=20))
def test_made_keys_are_always_valid_ascii_and_free(title, names, taken):
    key = C.make_key({"title": title, "authors": names, "published": "2021-01-01"}, taken)
    assert C.validate_key(key) is None
    assert key.isascii()
    assert key.lower() not in {t.lower() for t in taken}


# ----------------------------------------------------------------------------- stability
def test_export_uses_the_stored_key_even_after_edits():
    record = paper(id=1, citation_key="park2024diversity")
    edited = dict(record, title="A Completely Different Title", authors=["Someone Else"])
    text, report = E.export([edited])
    assert text.startswith("@misc{park2024diversity,")
    assert report["assigned_keys"] == {}


def test_keys_survive_reimport_and_repeated_export(full_library):
    keyed = []
    taken: set[str] = set()
    for record in full_library:
        record = dict(record)
        if not record.get("citation_key"):
            record["citation_key"] = C.make_key(record, taken | C.taken_keys(full_library))
        taken.add(record["citation_key"])
        keyed.append(record)
    text, report = E.export(keyed)
    assert report["assigned_keys"] == {} and report["renamed_keys"] == []
    entries = I.parse(text).entries
    assert {e["citation_key"] for e in entries} == {r["citation_key"] for r in keyed}
    by_key = {e["citation_key"]: e for e in entries}
    for record in keyed:
        assert by_key[record["citation_key"]].get("key_aliases", []) == record.get("key_aliases", [])


def test_export_assigns_missing_keys_once_and_reports_them():
    papers = [paper(id=1), paper(id=2), paper(id=3, citation_key="park2024diversity")]
    text, report = E.export(papers)
    assert report["assigned_keys"] == {1: "park2024diversitya", 2: "park2024diversityb"}
    keys = re.findall(r"^@misc\{([^,]+),", text, re.M)
    assert keys == ["park2024diversity", "park2024diversitya", "park2024diversityb"]


def test_clashing_keys_inside_an_export_are_renamed_not_duplicated():
    papers = [paper(id=1, citation_key="same"), paper(id=2, citation_key="SAME", title="Other")]
    text, report = E.export(papers)
    assert re.findall(r"^@misc\{([^,]+),", text, re.M) == ["same", "SAMEa"]
    assert report["renamed_keys"] == [{"id": 2, "from": "SAME", "to": "SAMEa"}]


def test_merge_keeps_the_survivors_key_and_remembers_the_others():
    survivor = {"citation_key": "park2024diversity", "key_aliases": ["old1"]}
    others = [{"citation_key": "du2024diversity", "key_aliases": ["old1", "dup2"]},
              {"citation_key": "Park2024Diversity"}]
    aliases = C.merge_aliases(survivor, others)
    assert aliases == ["old1", "du2024diversity", "dup2"]
    merged = paper(id=1, citation_key="park2024diversity", key_aliases=aliases)
    text, _ = E.export([merged])
    assert "  ids = {old1, du2024diversity, dup2}" in text
    back = I.parse(text).entries[0]
    assert back["citation_key"] == "park2024diversity"
    assert back["key_aliases"] == aliases


def test_alias_that_is_another_entrys_key_is_dropped_and_reported():
    papers = [paper(id=1, citation_key="a2024x", key_aliases=["b2024y", "olda"]),
              paper(id=2, citation_key="b2024y", title="Other")]
    text, report = E.export(papers)
    assert "ids = {olda}" in text
    assert report["dropped_aliases"] == [{"id": 1, "alias": "b2024y"}]


def test_taken_keys_collects_keys_and_aliases():
    assert C.taken_keys([{"citation_key": "a", "key_aliases": ["b"]}, {"citation_key": None}]) == {"a", "b"}
