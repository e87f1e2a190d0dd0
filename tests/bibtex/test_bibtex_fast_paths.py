"""The ASCII fast paths of the exporter give exactly what the per-character rules give."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from papershelf import bibtex_export as be

ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=80)


def escape_char_by_char(text, ligatures, table):
    out, prev = [], ""
    for ch in text:
        if ligatures and (prev, ch) in be._LIGATURE_PAIRS:
            out.append("{}")
        out.append(table.get(ch, ch))
        prev = ch
    return "".join(out)


def clean_char_by_char(text):
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return " ".join(text.split())


@settings(max_examples=500, deadline=None)
@given(ASCII_TEXT, st.booleans(), st.sampled_from(["plain", "names"]))
def test_escape_fast_path(text, ligatures, which):
    table = be._ASCII_ESCAPES if which == "plain" else be._NAME_ESCAPES
    if "\x00" in text:
        text = text.replace("\x00", "")
    assert be._escape(text, None, ligatures, table) == escape_char_by_char(text, ligatures, table)


@settings(max_examples=500, deadline=None)
@given(ASCII_TEXT)
def test_clean_fast_path(text):
    assert be._clean(text) == clean_char_by_char(text)


def test_ligatures_are_broken_in_runs():
    assert be._escape("a---b ``q'' ?` !` ,,", None) == "a-{}-{}-b `{}`q'{}' ?{}` !{}` ,{},"
