"""Deciding whether two records are the same paper.

Owns title normalisation, the fuzzy comparison (rapidfuzz) and an in-memory candidate
index, so that checking a new record costs a handful of comparisons rather than a scan of
the whole library. The library service feeds the index; nothing here touches storage.

The rules, most certain first:
* the same arXiv id (version ignored) is the same paper (the library checks this itself);
* two *different* arXiv ids are never merged automatically, at most flagged;
* otherwise titles are normalised (case, accents, punctuation, LaTeX, HTML entities and
  British/US spelling folded) and compared with a token-order-insensitive score;
* numbers that tell papers of a series apart ("Part I" / "Part II", "v2", "3D" / "4D") must
  agree, or the records are different papers;
* the year and the authors' surnames, where both records know them, must agree for an
  automatic merge; a high score without that support is only flagged for review;
* short, generic titles ("A Survey") are never merged automatically.
"""

from __future__ import annotations

import html
import operator
import re
import sys
import unicodedata
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import orjson
from rapidfuzz import fuzz, process

from . import packed

SAME = "same"
MAYBE = "maybe"

MERGE_SCORE = 95.0
FLAG_SCORE = 88.0
CANDIDATE_TOKENS = 5
MAX_POSTING = 5000
MAX_CANDIDATES = 2000
INDEX_FORMAT = 3  # of `DedupeIndex.to_bytes`
PACKED_KIND = "duplicate index"
_NO_YEAR = -(2 ** 31)  # a fingerprint without a year, in `DedupeIndex.to_bytes`

STOPWORDS = frozenset(
    "a an the of for and or in on to with via by from at as is are be we our its it "
    "using towards toward into through than that this these their".split())

_BRITISH = {
    "colour": "color", "behaviour": "behavior", "neighbour": "neighbor", "favour": "favor",
    "labour": "labor", "flavour": "flavor", "honour": "honor", "rumour": "rumor",
    "centre": "center", "metre": "meter", "litre": "liter", "fibre": "fiber",
    "defence": "defense", "licence": "license", "analyse": "analyze", "catalogue": "catalog",
    "dialogue": "dialog", "programme": "program", "grey": "gray", "towards": "toward",
    "modelling": "modeling", "modelled": "modeled", "labelling": "labeling",
    "labelled": "labeled", "travelling": "traveling", "signalling": "signaling",
    "cancelled": "canceled", "analysing": "analyzing", "analysed": "analyzed",
    "catalyse": "catalyze", "paralyse": "paralyze", "fuelled": "fueled", "tunnelling": "tunneling",
}
_ISE = re.compile(r"\b(\w{3,}?)is(e|es|ed|ing|er|ers|ation|ations|ational)\b")
_ISE_KEEP = frozenset({"prom", "advert", "exerc", "superv", "comprom", "surpr", "rev",
                       "dev", "adv", "prec", "conc", "wh", "otherw", "cl", "no", "rai",
                       "pra", "wi", "poi", "cru", "premi", "expert", "franch", "merchand",
                       "enterpr", "improv", "televi", "circumc", "disgu", "exc", "incl",
                       "ar", "po", "requ", "dispr", "vi"})

_ROMAN = re.compile(r"^(?=[ivxlc]+$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_VERSION = re.compile(r"^v\d+$")
_DIGIT = re.compile(r"\d")
_LATEX_HINT = re.compile(r"[\\$]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_NOT_WORD = re.compile(r"[^\w]")


def _fold_accents(text: str) -> str:
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("œ", "oe") \
        .replace("ł", "l").replace("đ", "d").replace("ı", "i") \
        .replace("Ø", "O").replace("Æ", "AE").replace("Œ", "OE").replace("Ł", "L").replace("Đ", "D")


@lru_cache(maxsize=1)
def _latex_converter():
    from pylatexenc.latex2text import LatexNodes2Text
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def latex_to_text(text: str) -> str:
    """LaTeX markup (``\\'e``, ``{BERT}``, ``$O(n)$``) as plain text; the input if not LaTeX."""
    if not _LATEX_HINT.search(text) and "{" not in text:
        return text
    try:
        return _latex_converter().latex_to_text(text)
    except Exception:  # noqa: BLE001 - malformed LaTeX: compare the raw text instead
        return text.replace("{", "").replace("}", "")


def _americanise(word: str) -> str:
    if word in _BRITISH:
        return _BRITISH[word]
    if "is" not in word:
        return word
    match = _ISE.fullmatch(word)
    if match and match.group(1) not in _ISE_KEEP and not match.group(1).endswith(("w", "pr")):
        return f"{match.group(1)}iz{match.group(2)}"
    return word


@lru_cache(maxsize=4096)
def normalize_title(title: str) -> str:
    """A title folded for comparison: ``"Modélisation of {BERT}: Part II"`` →
    ``"modelization of bert part ii"``."""
    text = html.unescape(title or "")
    text = latex_to_text(text)
    text = _fold_accents(text).casefold()
    text = _PUNCTUATION.sub(" ", text)
    return " ".join(_americanise(w) for w in text.split())


def sorted_words(normalized: str) -> str:
    """The words of a folded title in sorted order. Titles are compared with rapidfuzz's
    token_sort_ratio, which is the plain ratio of the two titles' sorted words; a library
    sorts each title once, not once per comparison (most of a duplicate check's time)."""
    return " ".join(sorted(normalized.split()))


def content_tokens(normalized: str) -> list[str]:
    return [t for t in normalized.split() if t not in STOPWORDS]


def distinguishing_tokens(normalized: str) -> frozenset[str]:
    """Tokens that set papers of one series apart: numbers, versions, roman numerals."""
    words = normalized.split()
    out = set()
    for i, word in enumerate(words):
        if not word.isalpha():  # a digit (no letter is one), or some other mark
            if _DIGIT.search(word) or _VERSION.match(word):
                out.add(word)
        elif not word.strip("ivxlc") and (  # only letters of roman numerals
                _ROMAN.match(word) and word not in ("i", "c", "l", "v", "x") or (
                word in ("i", "v", "x") and i > 0 and words[i - 1] in ("part", "vol", "volume"))):
            out.add(word)
    return frozenset(out) if out else _NO_NUMBERS


_NO_NUMBERS: frozenset[str] = frozenset()


@lru_cache(maxsize=65536)
def surname(name: str) -> str:
    """The folded family name of ``"Jane Doe"``, ``"Doe, Jane"`` or ``"J. Doe Jr."``."""
    name = name or ""
    if "&" in name or "\\" in name or "{" in name or "$" in name:
        name = html.unescape(latex_to_text(name))
    name = _fold_accents(name).casefold()
    if "," in name:
        name = name.split(",", 1)[0]
    else:
        parts = name.split()
        while len(parts) > 1 and parts[-1].strip(".") in ("jr", "sr", "ii", "iii", "iv"):
            parts.pop()
        name = parts[-1] if parts else ""
    return name if name.isalnum() else _NOT_WORD.sub("", name)  # \w: alphanumeric or _


def year_of(record: dict) -> int | None:
    if record.get("year"):
        return int(record["year"])
    published = record.get("published")
    if published and len(published) >= 4 and published[:4].isdigit():
        return int(published[:4])
    return None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the comparison needs of one record, computed once.

    Kept for every paper of the library, so it is compact: tuples of interned words
    rather than sets (a library repeats the same words and names thousands of times)."""
    title: str                   # the folded title, its words sorted (see `sorted_words`)
    tokens: tuple[str, ...]      # distinct content words
    numbers: frozenset[str]
    year: int | None
    surnames: tuple[str, ...]    # distinct
    arxiv_id: str | None

    @classmethod
    def of(cls, record: dict) -> "Fingerprint":
        norm = normalize_title(record.get("title") or "")
        names = (surname(a) for a in record.get("authors") or [] if isinstance(a, str))
        return cls(
            title=sorted_words(norm),
            tokens=tuple(dict.fromkeys(sys.intern(t) for t in content_tokens(norm))),
            numbers=distinguishing_tokens(norm),
            year=year_of(record),
            surnames=tuple(dict.fromkeys(sys.intern(s) for s in names if s)),
            arxiv_id=record.get("arxiv_id") or None,
        )


@dataclass
class Verdict:
    kind: str | None  # SAME, MAYBE or None
    score: float
    reasons: list[str] = field(default_factory=list)


def compare(a: Fingerprint, b: Fingerprint) -> Verdict:
    """Whether two records are the same paper, might be, or are not."""
    if a.arxiv_id and a.arxiv_id == b.arxiv_id:
        return Verdict(SAME, 100.0, ["same arXiv id"])
    if not a.title or not b.title:
        return Verdict(None, 0.0)
    score = fuzz.ratio(a.title, b.title)  # the titles' token_sort_ratio: words are sorted
    reasons = [f"titles {score:.0f}% alike"]
    if score < FLAG_SCORE:
        return Verdict(None, score, reasons)
    if a.numbers != b.numbers:
        return Verdict(None, score, reasons + ["different numbers in the titles"])

    year_support = year_conflict = False
    if a.year and b.year:
        if abs(a.year - b.year) <= 1:
            year_support = True
            reasons.append("same year" if a.year == b.year else "years one apart")
        else:
            year_conflict = True
            reasons.append(f"years differ ({a.year} / {b.year})")
    author_support = author_conflict = False
    if a.surnames and b.surnames:
        shared = len(set(a.surnames).intersection(b.surnames))
        if shared / min(len(a.surnames), len(b.surnames)) >= 0.5:
            author_support = True
            reasons.append(f"{shared} author surname(s) shared")
        elif shared == 0:
            author_conflict = True
            reasons.append("no author in common")
    generic = len(a.tokens) < 4 or len(b.tokens) < 4
    if generic:
        reasons.append("short, generic title")

    if author_conflict:
        # Same title, different people: usually a different paper. Only a long title
        # matching exactly is worth a look.
        if score == 100 and not generic:
            return Verdict(MAYBE, score, reasons)
        return Verdict(None, score, reasons)
    if a.arxiv_id and b.arxiv_id:
        reasons.append("different arXiv ids")
        return Verdict(MAYBE if score >= MERGE_SCORE and not year_conflict else None, score, reasons)
    if year_conflict:
        return Verdict(MAYBE if score >= MERGE_SCORE else None, score, reasons)
    if score >= MERGE_SCORE and not generic and (author_support or year_support):
        return Verdict(SAME, score, reasons)
    if generic and score < 100:
        return Verdict(None, score, reasons)
    return Verdict(MAYBE, score, reasons)


# token_sort_ratio ≥ FLAG_SCORE needs |a| - |b| ≤ (1 - FLAG_SCORE/100)(|a| + |b|): the
# ratio is 1 - edits/(|a| + |b|) and turning a into b takes at least ||a| - |b|| edits. So
# a candidate whose title length is outside these bounds cannot be close; the tolerance
# keeps rounding from ever dropping one that can.
_SHORTEST = (1 - (100 - FLAG_SCORE) / 100) / (1 + (100 - FLAG_SCORE) / 100) - 1e-9
_LONGEST = 1 / _SHORTEST


_EDITS_ALLOWED = (100 - FLAG_SCORE) / 100   # edits per character of both titles

# Letter signature of a folded title: one bit per (letter, n) saying "the title has at least
# n of this letter", for n up to a depth fitted to how often the letter occurs in English
# titles (space: word count; digits and anything else: present or not). Two titles' bits
# differ in exactly sum(|min(a, depth) - min(b, depth)|) places over the letters, which is
# at most the number of insertions and deletions turning one into the other, the distance
# rapidfuzz's ratio is made of. So popcount(a ^ b) is an exact lower bound on that
# distance: a candidate whose bound already rules out a close score is dropped unscored.
# Three machine words per paper, compared for all candidates at once with numpy.
_SIGNATURE_DEPTH = {
    " ": 12, "e": 12, "a": 12, "i": 13, "n": 13, "o": 11, "r": 12, "t": 11, "s": 9,
    "l": 8, "c": 7, "d": 7, "g": 7, "m": 7, "u": 5, "f": 5, "p": 5, "h": 4, "v": 4,
    "b": 3, "k": 3, "w": 3, "y": 3, "x": 2, "j": 1, "q": 1, "z": 1,
    **{digit: 1 for digit in "0123456789"}, "other": 1,
}
_SIGNATURE_WORDS = 3
_LETTER_INDEX = {letter: index for index, letter in enumerate(_SIGNATURE_DEPTH)}
_OTHER = _LETTER_INDEX["other"]
# Byte of a title encoded as ASCII, every other character replaced by "?" -> letter index.
assert "?" not in _LETTER_INDEX
_LETTER_OF_BYTE = bytes(_LETTER_INDEX.get(chr(code), _OTHER) if code < 128 else _OTHER
                        for code in range(256))
_BIT_LETTER = np.array([_LETTER_INDEX[letter] for letter, depth in _SIGNATURE_DEPTH.items()
                        for _ in range(depth)], dtype=np.intp)
_BIT_AT_LEAST = np.array([n for depth in _SIGNATURE_DEPTH.values()
                          for n in range(1, depth + 1)])
assert len(_BIT_LETTER) == 64 * _SIGNATURE_WORDS


def letter_signature(title: str) -> np.ndarray:
    """The title's letter signature: _SIGNATURE_WORDS unsigned 64-bit words."""
    letters = title.encode("ascii", "replace").translate(_LETTER_OF_BYTE)
    counts = np.bincount(np.frombuffer(letters, dtype=np.uint8), minlength=len(_LETTER_INDEX))
    return np.packbits(counts[_BIT_LETTER] >= _BIT_AT_LEAST, bitorder="little").view(np.uint64)


@lru_cache(maxsize=4096)
def _signature_distance_allowed(size: int) -> np.ndarray:
    """For a title of ``size`` characters, by the length of another title: the largest
    signature distance that still allows a close score, -1 where the lengths alone rule it
    out. One look-up per candidate then applies both bounds (see `DedupeIndex.matches`);
    lengths beyond the table are ruled out too (``take(..., mode="clip")`` reads its last
    entry, -1)."""
    lengths = np.arange(int(size * _LONGEST) + 2)
    allowed = np.floor((size + lengths) * _EDITS_ALLOWED + 1e-9).astype(np.int32)
    allowed[(lengths < size * _SHORTEST) | (lengths > size * _LONGEST)] = -1
    allowed.flags.writeable = False
    return allowed


_NO_IDS = np.zeros(0, dtype=np.intp)   # shared: read-only
_NO_IDS.flags.writeable = False
_BEFORE_ALL_IDS = array("i", (-1,))   # sorts before every paper id


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """What ``np.unique(ids)`` answers. numpy 2's own takes ~100 µs even for a thousand ids
    (it hashes them, then sorts); sorting and comparing neighbours takes a few."""
    ids = np.sort(ids)
    first = np.empty(len(ids), dtype=bool)
    first[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    return ids.compress(first)


def _multimap_add(mapping: dict, key, doc_id: int) -> None:
    """Add to a key → paper(s) map that holds a bare id for the usual single paper."""
    known = mapping.get(key)
    if known is None:
        mapping[key] = doc_id
    elif isinstance(known, set):
        known.add(doc_id)
    else:
        mapping[key] = {known, doc_id}


def _multimap_remove(mapping: dict, key, doc_id: int) -> None:
    known = mapping.get(key)
    if known == doc_id:
        del mapping[key]
    elif isinstance(known, set):
        known.discard(doc_id)
        if len(known) == 1:
            mapping[key] = next(iter(known))


def _multimap_get(mapping: dict, key) -> set[int]:
    known = mapping.get(key)
    return set() if known is None else set(known) if isinstance(known, set) else {known}


class DedupeIndex:
    """Fingerprints of every paper in the library, with a token index for candidates."""

    def __init__(self):
        self._prints: dict[int, Fingerprint] = {}
        # Word → the papers whose title has it. Plain int arrays: compact (a set costs ten
        # times the memory), appended to in C, and counted as a whole with numpy.
        self._postings: dict[str, array] = {}
        self._exact: dict[str, int | set[int]] = {}   # sorted title → paper(s)
        self._arxiv: dict[str, int | set[int]] = {}   # arXiv id → paper(s)
        # By paper id, so that a check gathers its candidates' titles without a dict look-up
        # and object visit per candidate (most of its time at 50,000 papers).
        self._titles: list[str] = []
        self._lengths = np.zeros(0, dtype=np.int32)
        # One row per signature word (see `letter_signature`): a check gathers its
        # candidates' words with one take along the rows.
        self._signatures = np.zeros((_SIGNATURE_WORDS, 0), dtype=np.uint64)
        # The title `matches` checked last and its signature: a new card is checked, then
        # added, and the signature need not be worked out twice.
        self._last_checked: tuple[str, np.ndarray | None] = ("", None)

    def __len__(self):
        return len(self._prints)

    def add(self, doc_id: int, record: dict, fingerprint: Fingerprint | None = None) -> None:
        """Index the paper. ``fingerprint``: ``Fingerprint.of(record)`` when the caller has
        it already (the one `matches` was given for a new card, say)."""
        self.remove(doc_id)
        fp = fingerprint or Fingerprint.of(record)
        if doc_id >= len(self._titles):
            self._titles.extend([""] * (doc_id + 1 - len(self._titles)))
            if doc_id >= len(self._lengths):
                size = max(doc_id + 1, 2 * len(self._lengths), 1024)
                lengths = np.zeros(size, dtype=np.int32)
                lengths[:len(self._lengths)] = self._lengths
                signatures = np.zeros((_SIGNATURE_WORDS, size), dtype=np.uint64)
                signatures[:, :self._signatures.shape[1]] = self._signatures
                self._lengths, self._signatures = lengths, signatures
        self._add_known(doc_id, fp)
        self._lengths[doc_id] = len(fp.title)
        checked_title, signature = self._last_checked
        if checked_title != fp.title or signature is None:
            signature = letter_signature(fp.title)
        self._signatures[:, doc_id] = signature

    # ------------------------------------------------------------------ kept between runs
    def to_bytes(self) -> bytes:
        """The index as bytes, for `from_bytes`: every fingerprint and the letter
        signatures. Working the fingerprints out from the titles and authors takes
        seconds at 50,000 papers; reading them back takes a fraction of that.

        Column by column, words as numbers into one list of distinct words: read back,
        the fingerprints are made without a transient object per paper, which would
        leave the process's memory fragmented (tens of megabytes at 50,000 papers)."""
        prints = self._prints
        words: dict[str, int] = {}
        columns: dict[str, array] = {}
        for part in ("tokens", "numbers", "surnames"):
            counts, flat = array("I"), array("I")
            for fp in prints.values():
                values = getattr(fp, part)
                counts.append(len(values))
                flat.extend(words.setdefault(word, len(words)) for word in values)
            columns[part + "_counts"], columns[part] = counts, flat
        sections = {
            "ids": array("i", prints).tobytes(),
            "years": array("i", (_NO_YEAR if fp.year is None else fp.year
                                 for fp in prints.values())).tobytes(),
            "titles": orjson.dumps([fp.title for fp in prints.values()]),
            "arxiv_ids": orjson.dumps([fp.arxiv_id for fp in prints.values()]),
            "words": orjson.dumps(list(words)),
            **{name: column.tobytes() for name, column in columns.items()},
            "signatures": np.ascontiguousarray(self._signatures).tobytes(),
        }
        return packed.pack(PACKED_KIND, INDEX_FORMAT, sections, size=self._signatures.shape[1])

    @classmethod
    def from_bytes(cls, data: bytes) -> "DedupeIndex":
        """The index `to_bytes` wrote; ValueError if ``data`` is not one."""
        header, sections = packed.unpack(data, PACKED_KIND, INDEX_FORMAT)
        try:
            size = header["size"]
            ints = packed.ints
            ids, years = ints(sections["ids"], "i"), ints(sections["years"], "i")
            titles, arxiv_ids = orjson.loads(sections["titles"]), orjson.loads(sections["arxiv_ids"])
            words = [sys.intern(word) for word in orjson.loads(sections["words"])]
            parts = {}
            for part in ("tokens", "numbers", "surnames"):
                counts, flat = ints(sections[part + "_counts"]), ints(sections[part])
                if sum(counts) != len(flat) or len(counts) != len(ids):
                    raise ValueError("duplicate index data is inconsistent")
                parts[part] = (counts, flat)
            if not (len(ids) == len(years) == len(titles) == len(arxiv_ids)
                    and (not ids or (min(ids) >= 0 and max(ids) < size))
                    and all(isinstance(title, str) for title in titles)
                    and all(a is None or isinstance(a, str) for a in arxiv_ids)):
                raise ValueError("duplicate index data is inconsistent")
            index = cls()
            index._signatures = np.frombuffer(sections["signatures"], dtype=np.uint64).reshape(
                _SIGNATURE_WORDS, size).copy()
            index._lengths = np.zeros(size, dtype=np.int32)
            index._titles = [""] * size
            word = words.__getitem__
            at = {part: 0 for part in parts}

            def take(part: str, i: int) -> tuple[str, ...]:
                counts, flat = parts[part]
                start = at[part]
                at[part] = start + counts[i]
                return tuple(map(word, flat[start:start + counts[i]]))
            for i, doc_id in enumerate(ids):
                year = years[i]
                index._add_known(doc_id, Fingerprint(
                    titles[i], take("tokens", i), frozenset(take("numbers", i)),
                    None if year == _NO_YEAR else year, take("surnames", i), arxiv_ids[i]))
            index._lengths[:] = [len(title) for title in index._titles]
        except (KeyError, TypeError, ValueError, IndexError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"not a {PACKED_KIND} of this format ({exc})") from None
        return index

    def _add_known(self, doc_id: int, fp: Fingerprint) -> None:
        """Index a paper whose letter signature and title length are already in place."""
        self._prints[doc_id] = fp
        postings = self._postings
        for token in fp.tokens:
            posting = postings.get(token)
            if posting is None:
                postings[token] = array("i", (doc_id,))
            else:
                posting.append(doc_id)
        _multimap_add(self._exact, fp.title, doc_id)
        if fp.arxiv_id:
            _multimap_add(self._arxiv, fp.arxiv_id, doc_id)
        self._titles[doc_id] = fp.title

    def remove(self, doc_id: int) -> None:
        fp = self._prints.pop(doc_id, None)
        if fp is None:
            return
        for token in fp.tokens:
            posting = self._postings.get(token)
            if posting is not None and doc_id in posting:
                posting.remove(doc_id)
                if not posting:
                    del self._postings[token]
        _multimap_remove(self._exact, fp.title, doc_id)
        if fp.arxiv_id:
            _multimap_remove(self._arxiv, fp.arxiv_id, doc_id)
        self._titles[doc_id] = ""
        self._lengths[doc_id] = 0
        self._signatures[:, doc_id] = 0

    def fingerprint(self, doc_id: int) -> Fingerprint | None:
        return self._prints.get(doc_id)

    def candidates(self, fp: Fingerprint) -> set[int]:
        """Papers that could score as close (see `_candidate_ids`)."""
        return set(self._candidate_ids(fp).tolist())

    def _candidate_ids(self, fp: Fingerprint) -> np.ndarray:
        """Papers that could score as close: the same words in any order, or, for a title of
        four or more words, papers sharing at least two of its rarest words (a title that
        close shares most of its words; if that is more than MAX_CANDIDATES papers, those
        sharing the most); a shorter title's papers need share only one. Sorted ids.

        Each numpy call costs microseconds here, whatever the size of its arrays, so the
        calls are few."""
        exact = np.fromiter(_multimap_get(self._exact, fp.title), dtype=np.intp) \
            if fp.title in self._exact else _NO_IDS
        postings = self._postings
        sizes = {t: len(posting) for t in fp.tokens if (posting := postings.get(t)) is not None}
        rare = sorted(sizes, key=sizes.__getitem__)[:CANDIDATE_TOKENS]
        if len(fp.tokens) >= 4 and len(rare) >= 2:
            # How many of the rare words each paper shares: with their postings' ids sorted,
            # a paper sharing n of them is a run of n equal ids. Sorting a few thousand ids
            # costs less than counting them into an array as wide as the library. Joined as
            # bytes (one copy, and an array to sort in place) after a -1 that sorts first,
            # so that every id has one before it.
            joined = bytearray().join([_BEFORE_ALL_IDS, *(postings[t] for t in rare)])
            ids = np.frombuffer(joined, dtype=np.int32)
            ids.sort()

            def shared_by(needed: int) -> np.ndarray:
                # ids[i] starts a run (it differs from the one before) that is at least
                # `needed` long (it is still the same id needed - 1 places on). compress,
                # not a boolean index: numpy's is several times slower on int32.
                end = len(ids) - needed + 1
                first, before, last = ids[1:end], ids[:end - 1], ids[needed:]
                return first.compress((first != before) & (first == last))

            needed = 2
            found = shared_by(needed)
            while len(found) > MAX_CANDIDATES and needed < len(rare):
                needed += 1
                found = shared_by(needed)
            return _sorted_unique(np.concatenate([exact, found])) if len(exact) else found
        chosen = []
        total = len(exact)
        for token in rare:
            size = len(postings[token])
            if size > MAX_POSTING or total + size > MAX_CANDIDATES:
                break
            chosen.append(np.frombuffer(postings[token], dtype=np.int32))
            total += size
        return _sorted_unique(np.concatenate([exact, *chosen])) if chosen else exact

    def _could_be_close(self, title: str, ids: np.ndarray) -> list[int]:
        """The papers among ``ids`` whose title could still score FLAG_SCORE against
        ``title``. Two cheap, exact lower bounds on the edits between the titles, their
        letter signatures' difference and their length difference, leave few to score: the
        signature distance must be at most what the two lengths allow, which is -1 (never)
        for lengths too far apart. (Few numpy calls, as in `_candidate_ids`.)"""
        signature = letter_signature(title)
        self._last_checked = (title, signature)
        words = self._signatures.take(ids, axis=1)
        words ^= signature[:, None]
        apart = np.bitwise_count(words).sum(axis=0, dtype=np.int16)
        allowed = _signature_distance_allowed(len(title))
        return ids.compress(apart <= allowed.take(self._lengths.take(ids), mode="clip")).tolist()

    def matches(self, record: dict, exclude: set[int] | frozenset = frozenset(),
                fingerprint: Fingerprint | None = None) -> list[tuple[int, Verdict]]:
        """Library papers that are (SAME) or may be (MAYBE) the record, best first.
        ``fingerprint``: ``Fingerprint.of(record)`` when the caller has it already (and
        will hand it to `add` too)."""
        fp = fingerprint or Fingerprint.of(record)
        out = []
        if fp.arxiv_id:
            for doc_id in sorted(_multimap_get(self._arxiv, fp.arxiv_id) - set(exclude)):
                out.append((doc_id, Verdict(SAME, 100.0, ["same arXiv id"])))
        close = []
        if fp.title:
            ids = self._could_be_close(fp.title, self._candidate_ids(fp))
            if exclude:
                ids = [doc_id for doc_id in ids if doc_id not in exclude]
            titles = operator.itemgetter(*ids)(self._titles) if len(ids) > 1 else \
                [self._titles[doc_id] for doc_id in ids]
            # rapidfuzz scores all candidates in C; only the close ones get the full rules.
            close = process.extract(fp.title, titles,
                                    scorer=fuzz.ratio, score_cutoff=FLAG_SCORE, limit=None)
            close = [ids[position] for _, _, position in close]
        for doc_id in close:
            if any(doc_id == known for known, _ in out):
                continue
            verdict = compare(fp, self._prints[doc_id])
            if verdict.kind:
                out.append((doc_id, verdict))
        out.sort(key=lambda item: (item[1].kind != SAME, -item[1].score, item[0]))
        return out
