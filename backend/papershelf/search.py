"""Full-text search over the library, typo-tolerant, in memory.

Owns the word index: every paper's title, authors, tags, organisation, abstract and notes
broken into folded words, each word pointing at the papers that contain it. A query is
matched word by word (all words must match); a word matches exactly, as a prefix (so
results come while typing) or, when the library has no such word at all, by edit
distance (``trasnformer`` finds ``transformer``). Results are ranked by where the words
were found: title, tags and ids count most, then authors, then organisation, then
abstract and notes.

Posting lists are compact arrays of paper ids, one per word and field class, and a query
is scored with numpy over them: a library of 50,000 papers has millions of (word, paper)
pairs, which as Python sets or per-paper texts would cost several times the memory and
make every query a Python loop over the library.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from array import array
from typing import Iterable

import numpy as np
from rapidfuzz import fuzz, process

from . import packed

_WORD = re.compile(r"\w+")
# Field classes, best first: a word found in several fields counts for the best one.
CLASS_WEIGHTS = (4.0, 3.0, 2.0, 1.0)  # title/tags/ids, authors, organisation, abstract/notes
WEAK_CLASS = 3
MIN_FUZZY_LENGTH = 4
FUZZY_CUTOFF = 80.0
MAX_QUERY_WORDS = 12
MAX_PREFIX_WORDS = 2000
INDEX_FORMAT = 2  # of `SearchIndex.to_bytes`
PACKED_KIND = "search index"


def words(text: str) -> list[str]:
    """Folded words: lower case, accents removed."""
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    return _WORD.findall(text.replace("_", " "))


def class_words(paper: dict | None) -> tuple[set[str], ...]:
    """The paper's distinct words per field class; each word only in its best class."""
    if not paper:
        return (set(), set(), set(), set())
    best = set(words(" ".join(filter(None, (
        paper.get("title") or "", " ".join(paper.get("tags") or []),
        paper.get("arxiv_id"), paper.get("citation_key"))))))
    authors = set(words(" ".join(a for a in paper.get("authors") or [] if isinstance(a, str))))
    authors -= best
    org = set(words(" ".join(filter(None, (paper.get("org_name"), paper.get("org_fullname"))))))
    org -= best
    org -= authors
    text = set(words(" ".join(filter(None, (paper.get("abstract"), paper.get("notes"))))))
    text -= best
    text -= authors
    text -= org
    return best, authors, org, text


class SearchIndex:
    """Posting arrays per field class, a sorted vocabulary for prefixes, and scoring."""

    def __init__(self):
        self._postings: tuple[dict[str, array], ...] = tuple({} for _ in CLASS_WEIGHTS)
        self._vocabulary: list[str] = []      # every word ever indexed, sorted
        self._new_words: list[str] = []       # learnt since the last sort
        self._vocab_set: set[str] = set()
        # Typo look-ups: words of the strong classes by first letter and length. A close
        # word has a close length, and most typos keep the first letter, so a typo'd word
        # is first compared with a small share of the vocabulary.
        self._fuzzy_words: dict[tuple[str, int], list[str]] = {}
        self._fuzzy_set: set[str] = set()
        self._papers = 0

    def __len__(self):
        return self._papers

    # ------------------------------------------------------------------ maintenance
    def update(self, doc_id: int, old: dict | None, new: dict | None) -> None:
        """Re-index one paper: ``old`` as it was indexed (None: new), ``new`` (None: gone).

        Only the words that changed are touched, so a tag edit costs a few words, not the
        whole abstract."""
        before, after = class_words(old), class_words(new)
        self._papers += (new is not None) - (old is not None)
        for postings, gone, came in zip(self._postings, before, after):
            for word in gone - came:
                posting = postings.get(word)
                if posting is not None:
                    try:
                        posting.remove(doc_id)
                    except ValueError:
                        pass
                    # An empty word stays in the vocabulary: cheaper than re-sorting, harmless.
            for word in came - gone:
                posting = postings.get(word)
                if posting is None:
                    postings[word] = array("i", (doc_id,))
                    self._learn(word, strong=postings is not self._postings[WEAK_CLASS])
                else:
                    posting.append(doc_id)

    def build(self, papers: Iterable[tuple[int, dict]]) -> None:
        """Index many papers at once (an empty index): one sort of the vocabulary at the end."""
        for doc_id, paper in papers:
            self._papers += 1
            for postings, found in zip(self._postings, class_words(paper)):
                for word in found:
                    posting = postings.get(word)
                    if posting is None:
                        postings[word] = array("i", (doc_id,))
                    else:
                        posting.append(doc_id)
        self._vocab_set = set().union(*self._postings)
        self._vocabulary = sorted(self._vocab_set)
        self._new_words = []
        for word in set().union(*self._postings[:WEAK_CLASS]):
            self._learn_fuzzy(word)

    # ------------------------------------------------------------------ kept between runs
    def to_bytes(self) -> bytes:
        """The index as bytes, for `from_bytes`: for each field class its words and, in
        the same order, their posting arrays one after the other. Indexing a large
        library's words takes seconds (most of it splitting abstracts into words);
        reading them back takes a fraction of that."""
        sections: dict[str, bytes] = {}
        for number, postings in enumerate(self._postings):
            kept = [(word, posting) for word, posting in postings.items() if posting]
            sections[f"words{number}"] = "\n".join(word for word, _ in kept).encode("utf-8")
            sections[f"counts{number}"] = array("I", (len(posting) for _, posting in kept)).tobytes()
            sections[f"ids{number}"] = b"".join(posting.tobytes() for _, posting in kept)
        return packed.pack(PACKED_KIND, INDEX_FORMAT, sections, papers=self._papers)

    @classmethod
    def from_bytes(cls, data: bytes) -> "SearchIndex":
        """The index `to_bytes` wrote; ValueError if ``data`` is not one."""
        header, sections = packed.unpack(data, PACKED_KIND, INDEX_FORMAT)
        if not isinstance(header.get("papers"), int):
            raise ValueError(f"not a {PACKED_KIND} of this format")
        index = cls()
        try:
            for number, postings in enumerate(index._postings):
                counts = packed.ints(sections[f"counts{number}"])
                ids = sections[f"ids{number}"]
                blob = bytes(sections[f"words{number}"])
                class_words_ = blob.decode("utf-8").split("\n") if counts else []
                if len(class_words_) != len(counts) or 4 * sum(counts) != len(ids):
                    raise ValueError(f"{PACKED_KIND} data is inconsistent")
                start = 0
                for word, n in zip(class_words_, counts):
                    postings[word] = packed.ints(ids[start:start + 4 * n], "i")
                    start += 4 * n
        except KeyError as exc:
            raise ValueError(f"{PACKED_KIND} data has no section {exc}") from None
        index._papers = header["papers"]
        index._vocab_set = set().union(*index._postings)
        index._vocabulary = sorted(index._vocab_set)
        for word in set().union(*index._postings[:WEAK_CLASS]):
            index._learn_fuzzy(word)
        return index

    def _learn(self, word: str, strong: bool) -> None:
        if word not in self._vocab_set:
            self._vocab_set.add(word)
            self._new_words.append(word)  # sorted in at the next query, not per word
        if strong:
            self._learn_fuzzy(word)

    def _learn_fuzzy(self, word: str) -> None:
        if word not in self._fuzzy_set:
            self._fuzzy_set.add(word)
            self._fuzzy_words.setdefault((word[0], len(word)), []).append(word)

    # ------------------------------------------------------------------ queries
    def _known(self, word: str) -> bool:
        return any(postings.get(word) for postings in self._postings)

    def _fuzzy_candidates(self, word: str, same_initial: bool) -> list[str]:
        # Typos are forgiven in titles, tags, ids, authors and organisations; abstracts'
        # long tail of words would make every typo'd query slow and noisy. A word scoring
        # FUZZY_CUTOFF or more has a length within these bounds.
        share = FUZZY_CUTOFF / 100
        lengths = range(int(len(word) * share / (2 - share)),
                        int(len(word) * (2 - share) / share) + 2)
        return [w for (initial, length), group in self._fuzzy_words.items()
                if length in lengths and (initial == word[0]) == same_initial for w in group]

    def _typo_matches(self, word: str) -> list[tuple[str, float]]:
        for same_initial in (True, False):
            found = process.extract(word, self._fuzzy_candidates(word, same_initial),
                                    scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=10)
            if found:
                return [(candidate, score) for candidate, score, _ in found]
        return []

    def _expand(self, word: str) -> dict[str, float]:
        """Vocabulary words that stand for one query word, with how well they match."""
        out: dict[str, float] = {}
        if self._known(word):
            out[word] = 1.0
        if len(word) >= 2:
            if self._new_words:
                self._vocabulary.extend(self._new_words)
                self._vocabulary.sort()
                self._new_words = []
            start = bisect.bisect_left(self._vocabulary, word)
            for candidate in self._vocabulary[start:start + MAX_PREFIX_WORDS]:
                if not candidate.startswith(word):
                    break
                if candidate != word and self._known(candidate):
                    out.setdefault(candidate, 0.8)
        if not out and len(word) >= MIN_FUZZY_LENGTH:
            for candidate, score in self._typo_matches(word):
                if self._known(candidate):
                    out[candidate] = 0.6 * score / 100
        return out

    def scores(self, query: str, size: int) -> np.ndarray:
        """Relevance of every paper id below ``size`` (0: no match). A paper matches when
        every query word matches one of its words."""
        total: np.ndarray | None = None
        for word in words(query)[:MAX_QUERY_WORDS]:
            word_scores = np.zeros(size, dtype=np.float32)
            for candidate, quality in self._expand(word).items():
                for postings, weight in zip(self._postings, CLASS_WEIGHTS):
                    posting = postings.get(candidate)
                    if not posting:
                        continue
                    ids = np.frombuffer(posting, dtype=np.int32)
                    _raise_to(word_scores, ids, weight * quality)
                    del ids  # releases the array's buffer before anyone appends to it
            if total is None:
                total = word_scores
            else:
                total = np.where((total > 0) & (word_scores > 0), total + word_scores, 0)
            if not total.any():
                break
        return total if total is not None else np.zeros(size, dtype=np.float32)

    def search(self, query: str, size: int | None = None) -> dict[int, float]:
        """Matching paper ids and their scores (a convenience over :meth:`scores`)."""
        if size is None:
            size = 1 + max((max(p) for postings in self._postings for p in postings.values() if p),
                           default=0)
        found = self.scores(query, size)
        hits = np.flatnonzero(found)
        return {int(i): float(found[i]) for i in hits}


def _raise_to(target: np.ndarray, ids: np.ndarray, value: float) -> None:
    """``target[ids] = max(target[ids], value)``; ids within one posting are distinct."""
    target[ids] = np.maximum(target[ids], value)
