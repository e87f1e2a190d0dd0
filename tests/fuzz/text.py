"""Hypothesis strategies for hostile text: every Unicode category, plus the pieces that
trip up LaTeX, BibTeX, HTML entities and title folding, glued together."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

# Any code point but surrogates (no str that came from JSON text can hold one).
any_char = st.characters(exclude_categories=("Cs",))

TRICKY = [
    # LaTeX and BibTeX syntax
    "\\", "{", "}", "$", "%", "&", "#", "_", "^", "~", "<", ">", "|", "[", "]", "@", "=", ",",
    '"', "'", "`", "\\'e", "{\\'e}", "\\relax", "\\\\", "\\{", "\\}", "{}", "}{", "\\x", "\\ss",
    "\\&", "\\%", "$\\alpha$", "$O(n \\log n)$", "$x^2$", "x_{i}", "\\mathbb{R}", "$$", "\\emph{",
    "--", "---", "``", "''", "?`", "!`", ",,", " and ", " AND ", "others", "\\u", "%comment",
    # HTML entities and markup
    "&amp;", "&#x41;", "&lt;b&gt;", "<script>", "&nbsp;",
    # Unicode that folds, combines, reorders or hides
    "\u0301", "\u0307", "\u0308\u0301", "e\u0301", "İ", "ı", "ß", "ẞ", "Æ", "æ", "Ø", "ø", "Œ",
    "Ł", "ł", "Đ", "đ", "Þ", "ð", "ǰ", "ŉ", "ﬁ", "①", "Ⅱ", "ℌ", "Ω", "K", "µ",
    "\u200b", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\u00ad", "\u0085",
    "\u00a0", "\u2028", "\u3000", "\t", "\n", "\r\n",
    "שלום", "مرحبا", "\u0645\u0651", "Привет", "中文模型", "日本語", "한국어", "ελληνικά",
    "🙂", "👩\u200d💻", "🇫🇷", "👍🏽", "\ufe0f", "\U0001d400", "\U000e0041",
    # Series numbers and spellings the duplicate detector folds
    "Part II", "v2", "3D", "analyse", "organisation", "colour", "towards", "modelling",
]
tricky = st.sampled_from(TRICKY)
piece = st.one_of(st.text(any_char, max_size=4), tricky, st.text("abcXYZ 0129", max_size=6))


def texts(max_pieces: int = 30, min_pieces: int = 0, long: bool = True) -> st.SearchStrategy[str]:
    """Text built from hostile pieces (and, if ``long``, sometimes a long run)."""
    glued = st.lists(piece, min_size=min_pieces, max_size=max_pieces).map("".join)
    if not long:
        return glued
    return st.one_of(glued, glued, glued, st.tuples(glued, long_runs, glued).map("".join))


# Long text, cheap to generate: one word (plain, accented, CJK, LaTeX) many times.
long_runs = st.builds(lambda word, n: (word + " ") * n,
                      st.sampled_from(["word", "Ünïcödé", "中文", "$x$", "{\\'e}", "&amp;", "🙂"]),
                      st.integers(30, 250))


def visible(text: str) -> str:
    """What survives export and import: NFC, no control/format/unassigned characters,
    white space folded (the rules the exporter and importer document)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    # Composed again: "A<U+200B>\u0300" is "A\u0300" once the invisible character is gone.
    return unicodedata.normalize("NFC", " ".join(text.split()))
