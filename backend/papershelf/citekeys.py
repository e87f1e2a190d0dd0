"""Citation keys: the readable default pattern, uniqueness, validation, aliases.

Owns everything about a paper's ``citation_key`` and ``key_aliases`` that does not
need storage:

* ``make_key(paper, taken)`` -- the default key: first author's surname + year + first
  significant title word, folded to ASCII ("Jürgen Müller", 2024, "The Über-Model" ->
  ``muller2024uber``; no author known -> ``anon2024uber``), made unique against
  ``taken`` by suffixing ``a``, ``b``, ..., ``z``, ``aa``, ... to the newcomer only.
* ``validate_key(key, taken=None)`` -- error message for a hand-set key, or None.
* ``is_usable_key(key)`` -- the looser rule for keys that come from an imported file
  (non-ASCII letters allowed, as BibTeX and biber accept them).
* ``unique_key(base, taken)``, ``taken_keys(papers)``, ``merge_aliases(...)`` -- helpers the
  library service uses when it saves, imports and merges papers.

Keys are assigned once and never recomputed: callers store the result of
``make_key`` in ``paper["citation_key"]`` and never call it again for that paper.
All comparisons are case-insensitive, as BibTeX's are.

Pure functions over paper dicts; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Iterator

__all__ = [
    "fold_ascii",
    "split_name",
    "surname",
    "make_key",
    "unique_key",
    "validate_key",
    "is_usable_key",
    "taken_keys",
    "LoweredKeys",
    "merge_aliases",
    "KEY_MAX_LENGTH",
]

KEY_MAX_LENGTH = 120

# Letters that NFKD does not decompose into ASCII.
_FOLD_EXTRA = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
    "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "ng", "Ŋ": "NG", "ĸ": "q", "ſ": "s", "ŀ": "l",
    "Ŀ": "L", "ŧ": "t", "Ŧ": "T", "ƒ": "f", "‐": "-", "‑": "-", "‒": "-", "–": "-",
    "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
}


def fold_ascii(text: str) -> str:
    """Best-effort ASCII transliteration of Latin text: accents dropped, ß -> ss, ...

    Characters with no Latin reading (CJK, Cyrillic, ...) are dropped.
    """
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
            continue
        if ch in _FOLD_EXTRA:
            out.append(_FOLD_EXTRA[ch])
            continue
        decomposed = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in decomposed if ord(c) < 128))
    return "".join(out)


_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v", "vi"}


def split_name(name: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Split a display name ("Ludwig van Beethoven") into (first, von, last, jr) words.

    A name that already has a comma is read as "von Last, First" or
    "von Last, Jr, First".  Otherwise the last word is the surname, a run of
    lowercase words right before it is the "von" part (never the first word), and a
    trailing "Jr."/"III"-style word is the suffix.  The four lists, joined in order
    first + von + last + jr, give back the words of the name.
    """
    name = " ".join(name.split())
    if not name:
        return [], [], [], []
    if "," in name:
        parts = [p.strip() for p in name.split(",")]
        last_part = parts[0].split()
        if len(parts) >= 3:
            jr = parts[1].split()
            first = " ".join(parts[2:]).split()
        else:
            jr = []
            first = parts[1].split()
        von: list[str] = []
        while len(last_part) > 1 and _starts_lower(last_part[0]):
            von.append(last_part.pop(0))
        return first, von, last_part, jr
    words = name.split()
    jr = []
    if len(words) > 2 and words[-1].lower() in _SUFFIXES:
        jr = [words.pop()]
    if len(words) == 1:
        return [], [], words, jr
    last = [words[-1]]
    rest = words[:-1]
    von = []
    while len(rest) > 1 and _starts_lower(rest[-1]):
        von.insert(0, rest.pop())
    return rest, von, last, jr


def _starts_lower(word: str) -> bool:
    for ch in word:
        if ch.isalpha():
            return ch.islower()
    return False


def surname(name: str) -> str:
    """The surname ("Last" part, without "von" particles) of a display name."""
    _, _, last, _ = split_name(name)
    return " ".join(last)


_STOPWORDS = {
    "a", "an", "the", "and", "or", "but", "nor", "of", "on", "in", "into", "onto", "for",
    "to", "at", "by", "with", "without", "from", "via", "vs", "versus", "as", "is", "are",
    "be", "do", "does", "how", "what", "when", "where", "which", "who", "why", "we", "our",
    "your", "its", "it", "this", "that", "these", "those", "can", "not", "towards",
    "toward", "over", "under", "up", "out", "about", "beyond", "through", "all", "any",
}

_MATH_RE = re.compile(r"\$[^$]*\$")
_COMMAND_RE = re.compile(r"\\[A-Za-z]+|\\.")
_KEY_WORD = re.compile(r"[a-z0-9]+")
_YEAR_RE = re.compile(r"\s*[0-9]{4}\s*")
_LEADING_YEAR_RE = re.compile(r"([0-9]{4})")


def _key_words(text: str) -> Iterator[str]:
    """The words of ``text`` a key is made of (math and commands dropped, folded to
    lower-case ASCII), one by one: the first significant word of a title is all a key
    takes of it."""
    if "$" in text:
        text = _MATH_RE.sub(" ", text)
    if "\\" in text:
        text = _COMMAND_RE.sub(" ", text)
    return (match.group() for match in _KEY_WORD.finditer(fold_ascii(text).lower()))


def _year(paper: dict) -> str:
    year = paper.get("year")
    # ASCII digits only: a key is ASCII ("\d" would take "٢٠٢٤" too).
    if year is not None and _YEAR_RE.fullmatch(str(year)):
        return str(year).strip()
    published = paper.get("published") or ""
    match = _LEADING_YEAR_RE.match(str(published))
    return match.group(1) if match else ""


def base_key(paper: dict) -> str:
    """The key pattern before uniqueness: surname + year + first significant title word."""
    author = ""
    for name in paper.get("authors") or []:
        if isinstance(name, str) and name.strip():
            author = "".join(_key_words(surname(name)))
            break
    word = first_word = ""
    for w in _key_words(paper.get("title") or ""):
        first_word = first_word or w
        if w not in _STOPWORDS and not w.isdigit():
            word = w
            break
    word = word or first_word
    year = _year(paper)
    if not author:
        author = "anon"
    key = f"{author}{year}{word}"[:KEY_MAX_LENGTH - 4]
    return key


def _suffixes():
    letters = "abcdefghijklmnopqrstuvwxyz"
    for c in letters:
        yield c
    for c1 in letters:
        for c2 in letters:
            yield c1 + c2
    n = 0
    while True:  # practically unreachable
        n += 1
        yield f"x{n}"


class LoweredKeys:
    """Keys already lower-cased, looked up in place: the library passes its key index
    this way so that a new key costs a few look-ups, not a copy of every key."""

    def __init__(self, keys) -> None:
        self._keys = keys

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)


def unique_key(base: str, taken: Iterable[str]) -> str:
    """``base`` if free, else ``base`` + a, b, ..., z, aa, ab, ... (case-insensitive)."""
    lowered = taken if isinstance(taken, LoweredKeys) else {k.lower() for k in taken}
    if base.lower() not in lowered:
        return base
    for suffix in _suffixes():
        candidate = base + suffix
        if candidate.lower() not in lowered:
            return candidate
    raise AssertionError("unreachable")


def make_key(paper: dict, taken: Iterable[str]) -> str:
    """The default citation key for ``paper``, unique against ``taken``.

    ``taken`` should hold every key and alias already in the library (see
    ``taken_keys``).  Only the newcomer gets a suffix; existing keys are never touched.
    """
    return unique_key(base_key(paper), taken)


_STRICT_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-:./+]*")
_FORBIDDEN_IN_KEY = set(' \t\r\n,{}()"#%\'=\\~@')
_FORBIDDEN_IN_KEY_RE = re.compile("[" + re.escape("".join(sorted(_FORBIDDEN_IN_KEY))) + "]")


def validate_key(key: object, taken: Iterable[str] | None = None) -> str | None:
    """Check a hand-set key.  Returns an error message, or None when the key is fine.

    Allowed: ASCII letters, digits and ``_ - : . / +``, not starting with a
    punctuation character other than ``_``, at most KEY_MAX_LENGTH characters.
    When ``taken`` is given, a key already used (case-insensitively) is refused too;
    leave the paper's own current key out of ``taken``.
    """
    if not isinstance(key, str):
        return "citation key must be a string"
    if not key:
        return "citation key must not be empty"
    if len(key) > KEY_MAX_LENGTH:
        return f"citation key is longer than {KEY_MAX_LENGTH} characters"
    if any(ch.isspace() for ch in key):
        return "citation key must not contain spaces"
    if not _STRICT_KEY_RE.fullmatch(key):
        bad = sorted({ch for ch in key if not (ch.isascii() and (ch.isalnum() or ch in "_-:./+"))})
        if bad:
            return "citation key may only contain ASCII letters, digits and _ - : . / + (not " + " ".join(
                repr(c) for c in bad) + ")"
        return "citation key must start with a letter, a digit or _"
    if taken is not None and key.lower() in {k.lower() for k in taken}:
        return f"citation key {key!r} is already used by another paper"
    return None


def is_usable_key(key: object) -> bool:
    """True for a key from a .bib file that BibTeX, biber and our export can carry.

    Looser than ``validate_key``: non-ASCII letters and other punctuation are allowed,
    only characters that break .bib syntax are not.
    """
    return (
        isinstance(key, str)
        and 0 < len(key) <= 250
        and key.isprintable()
        and not _FORBIDDEN_IN_KEY_RE.search(key)
    )


def taken_keys(papers: Iterable[dict]) -> set[str]:
    """Every citation key and alias used by ``papers`` (keep trashed papers in: they
    may come back)."""
    taken: set[str] = set()
    for paper in papers:
        key = paper.get("citation_key")
        if key:
            taken.add(key)
        for alias in paper.get("key_aliases") or []:
            if alias:
                taken.add(alias)
    return taken


def merge_aliases(survivor: dict, others: Iterable[dict]) -> list[str]:
    """``key_aliases`` for the survivor of a merge: its own aliases, then each merged
    paper's key and aliases, in order, without repeats and without the survivor's key.

    The survivor keeps its ``citation_key``; write the returned list to its
    ``key_aliases`` so that existing ``\\cite`` commands keep working (export writes
    them as biblatex ``ids``).  A survivor without a key takes the first other's key:
    callers do that themselves (``survivor.get("citation_key") or other_key``).
    """
    own = survivor.get("citation_key") or ""
    result: list[str] = []
    seen = {own.lower()} if own else set()

    def add(key: str | None) -> None:
        if key and key.lower() not in seen:
            seen.add(key.lower())
            result.append(key)

    for alias in survivor.get("key_aliases") or []:
        add(alias)
    for other in others:
        add(other.get("citation_key"))
        for alias in other.get("key_aliases") or []:
            add(alias)
    return result
