"""Full-text search over the library, typo-tolerant, in memory.

Owns the word index: every paper's title, authors, tags, organisation, abstract and notes
broken into folded words, each word pointing at the papers that contain it. A query is
matched word by word (all words must match); a word matches exactly, as a prefix (so
results come while typing) or, when the library has no such word at all, by edit
distance (``trasnformer`` finds ``transformer``). Results are ranked by where the words
were found: title and tags count most, then authors, then abstract and notes.
"""

from __future__ import annotations

import bisect
import re
import sys
import unicodedata
from collections import defaultdict

from rapidfuzz import fuzz, process

_WORD = re.compile(r"\w+")
STRONG_WEIGHT = {"title": 4.0, "tags": 4.0, "authors": 3.0, "org": 2.0, "ids": 4.0}
WEAK_WEIGHT = 1.0
MIN_FUZZY_LENGTH = 4
FUZZY_CUTOFF = 80.0
MAX_QUERY_WORDS = 12


def words(text: str) -> list[str]:
    """Folded words: lower case, accents removed."""
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    return _WORD.findall(text.replace("_", " "))


class SearchIndex:
    """Words of the short fields in an inverted index; abstracts and notes as folded text.

    Titles, tags, authors and organisations are few words per paper: each word points at
    its papers, and the vocabulary answers prefix and typo look-ups. Abstracts and notes
    are most of the words: indexing each of them would cost far more memory than the
    text itself, so they are kept once, folded, and searched as text.
    """

    def __init__(self):
        self._postings: dict[str, set[int]] = defaultdict(set)
        self._strong: dict[int, dict[str, str]] = {}   # doc -> word -> best field
        self._weak: dict[int, str] = {}                 # doc -> " folded abstract and notes "
        self._vocabulary: list[str] = []                # sorted, for prefix look-ups
        self._vocab_set: set[str] = set()

    def __len__(self):
        return len(self._strong)

    # ------------------------------------------------------------------ maintenance
    def add(self, doc_id: int, paper: dict) -> None:
        self.remove(doc_id)
        strong: dict[str, str] = {}
        for field, text in (
            ("title", paper.get("title") or ""),
            ("tags", " ".join(paper.get("tags") or [])),
            ("authors", " ".join(paper.get("authors") or [])),
            ("org", " ".join(filter(None, (paper.get("org_name"), paper.get("org_fullname"))))),
            ("ids", " ".join(filter(None, (paper.get("arxiv_id"), paper.get("citation_key"))))),
        ):
            for word in words(text):
                if word not in strong or STRONG_WEIGHT[field] > STRONG_WEIGHT[strong[word]]:
                    strong[word] = field
        canonical = {}
        for word, field in strong.items():
            if word not in self._vocab_set:
                self._vocab_set.add(word)
                bisect.insort(self._vocabulary, word)
            self._postings[word].add(doc_id)
            canonical[sys.intern(word)] = field
        self._strong[doc_id] = canonical
        weak = " ".join(words(" ".join(filter(None, (paper.get("abstract"), paper.get("notes"))))))
        if weak:
            self._weak[doc_id] = f" {weak} "

    def remove(self, doc_id: int) -> None:
        old = self._strong.pop(doc_id, None)
        if old is None:
            return
        self._weak.pop(doc_id, None)
        for word in old:
            posting = self._postings.get(word)
            if posting is not None:
                posting.discard(doc_id)
                # Empty words stay in the vocabulary: cheaper than re-sorting, harmless.

    # ------------------------------------------------------------------ queries
    def _expand(self, word: str) -> dict[str, float]:
        """Vocabulary words that stand for one query word, with how well they match."""
        out: dict[str, float] = {}
        if self._postings.get(word):
            out[word] = 1.0
        if len(word) >= 2:
            start = bisect.bisect_left(self._vocabulary, word)
            for candidate in self._vocabulary[start:start + 200]:
                if not candidate.startswith(word):
                    break
                if candidate != word and self._postings.get(candidate):
                    out.setdefault(candidate, 0.8)
        if not out and len(word) >= MIN_FUZZY_LENGTH:
            for candidate, score, _ in process.extract(
                    word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF,
                    limit=10):
                if self._postings.get(candidate):
                    out[candidate] = 0.6 * score / 100
        return out

    def search(self, query: str) -> dict[int, float]:
        """Papers matching every word of the query (as a word or a word's beginning),
        with relevance scores."""
        scores: dict[int, float] | None = None
        for word in words(query)[:MAX_QUERY_WORDS]:
            word_scores: dict[int, float] = {}
            for candidate, quality in self._expand(word).items():
                for doc_id in self._postings[candidate]:
                    if scores is not None and doc_id not in scores:
                        continue
                    value = STRONG_WEIGHT[self._strong[doc_id][candidate]] * quality
                    if value > word_scores.get(doc_id, 0.0):
                        word_scores[doc_id] = value
            needle = " " + word
            pool = self._weak if scores is None else {d: self._weak[d] for d in scores if d in self._weak}
            for doc_id, text in pool.items():
                if doc_id not in word_scores and needle in text:
                    word_scores[doc_id] = WEAK_WEIGHT
            scores = word_scores if scores is None else {
                d: scores[d] + s for d, s in word_scores.items()}
            if not scores:
                return {}
        return scores or {}
