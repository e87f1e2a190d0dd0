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
from rapidfuzz import fuzz, process

SAME = "same"
MAYBE = "maybe"

MERGE_SCORE = 95.0
FLAG_SCORE = 88.0
CANDIDATE_TOKENS = 5
MAX_POSTING = 5000
MAX_CANDIDATES = 2000

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
    text = re.sub(r"[^\w\s]|_", " ", text)
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
        if _DIGIT.search(word) or _VERSION.match(word):
            out.add(word)
        elif _ROMAN.match(word) and word not in ("i", "c", "l", "v", "x") or (
                word in ("i", "v", "x") and i > 0 and words[i - 1] in ("part", "vol", "volume")):
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
        parts = [p for p in re.split(r"\s+", name.strip()) if p]
        while len(parts) > 1 and parts[-1].strip(".") in ("jr", "sr", "ii", "iii", "iv"):
            parts.pop()
        name = parts[-1] if parts else ""
    return re.sub(r"[^\w]", "", name)


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

# Letter counts of a folded title: a-z, 0-9, space, anything else (capped at 255; capping
# both sides never makes two titles look further apart than they are).
_LETTER_KINDS = 38
_LETTER_KIND = np.full(128, 37, dtype=np.int64)
_LETTER_KIND[ord("a"):ord("z") + 1] = np.arange(26)
_LETTER_KIND[ord("0"):ord("9") + 1] = np.arange(26, 36)
_LETTER_KIND[ord(" ")] = 36


def _letter_counts(title: str) -> np.ndarray:
    codes = np.frombuffer(title.encode("utf-32-le"), dtype=np.uint32)
    kinds = np.where(codes < 128, _LETTER_KIND[np.minimum(codes, 127)], 37)
    return np.minimum(np.bincount(kinds, minlength=_LETTER_KINDS), 255).astype(np.uint8)


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
        self._letters = np.zeros((0, _LETTER_KINDS), dtype=np.uint8)   # see `_letter_counts`

    def __len__(self):
        return len(self._prints)

    def add(self, doc_id: int, record: dict) -> None:
        self.remove(doc_id)
        fp = Fingerprint.of(record)
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
        if doc_id >= len(self._titles):
            self._titles.extend([""] * (doc_id + 1 - len(self._titles)))
            if doc_id >= len(self._lengths):
                size = max(doc_id + 1, 2 * len(self._lengths), 1024)
                lengths = np.zeros(size, dtype=np.int32)
                lengths[:len(self._lengths)] = self._lengths
                letters = np.zeros((size, _LETTER_KINDS), dtype=np.uint8)
                letters[:len(self._letters)] = self._letters
                self._lengths, self._letters = lengths, letters
        self._titles[doc_id] = fp.title
        self._lengths[doc_id] = len(fp.title)
        self._letters[doc_id] = _letter_counts(fp.title)

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
        self._letters[doc_id] = 0

    def fingerprint(self, doc_id: int) -> Fingerprint | None:
        return self._prints.get(doc_id)

    def candidates(self, fp: Fingerprint) -> set[int]:
        """Papers that could score as close (see `_candidate_ids`)."""
        return set(self._candidate_ids(fp).tolist())

    def _candidate_ids(self, fp: Fingerprint) -> np.ndarray:
        """Papers that could score as close: the same words in any order, or, for a title of
        four or more words, papers sharing at least two of its rarest words (a title that
        close shares most of its words; if that is more than MAX_CANDIDATES papers, those
        sharing the most); a shorter title's papers need share only one."""
        exact = np.fromiter(_multimap_get(self._exact, fp.title), dtype=np.int64)
        postings = self._postings
        rare = sorted((t for t in fp.tokens if t in postings), key=lambda t: len(postings[t]))
        rare = rare[:CANDIDATE_TOKENS]
        if len(fp.tokens) >= 4 and len(rare) >= 2:
            # How many of the rare words each paper shares: one pass over their postings.
            shared = np.bincount(np.concatenate(
                [np.frombuffer(postings[t], dtype=np.int32) for t in rare]))
            needed = 2
            found = np.flatnonzero(shared >= needed)
            while len(found) > MAX_CANDIDATES and needed < len(rare):
                needed += 1
                found = np.flatnonzero(shared >= needed)
            return np.union1d(exact, found) if len(exact) else found
        chosen = []
        total = len(exact)
        for token in rare:
            size = len(postings[token])
            if size > MAX_POSTING or total + size > MAX_CANDIDATES:
                break
            chosen.append(np.frombuffer(postings[token], dtype=np.int32))
            total += size
        return np.unique(np.concatenate([exact, *chosen])) if chosen else exact

    def matches(self, record: dict, exclude: set[int] | frozenset = frozenset()) -> list[tuple[int, Verdict]]:
        """Library papers that are (SAME) or may be (MAYBE) the record, best first."""
        fp = Fingerprint.of(record)
        out = []
        if fp.arxiv_id:
            for doc_id in sorted(_multimap_get(self._arxiv, fp.arxiv_id) - set(exclude)):
                out.append((doc_id, Verdict(SAME, 100.0, ["same arXiv id"])))
        close = []
        if fp.title:
            ids = self._candidate_ids(fp)
            lengths = self._lengths[ids]
            size = len(fp.title)
            close_length = (lengths >= size * _SHORTEST) & (lengths <= size * _LONGEST)
            ids, lengths = ids[close_length], lengths[close_length]
            # Turning one title into the other takes at least as many edits as their
            # letter counts differ by: a cheap, exact bound that leaves few to score.
            apart = np.abs(self._letters[ids].astype(np.int16)
                           - _letter_counts(fp.title).astype(np.int16)).sum(axis=1)
            ids = ids[apart <= (size + lengths) * _EDITS_ALLOWED + 1e-9]
            if exclude:
                ids = ids[~np.isin(ids, np.fromiter(exclude, dtype=np.int64))]
            ids = ids.tolist()
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
