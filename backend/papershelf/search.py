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
import unicodedata
from collections import defaultdict

from rapidfuzz import fuzz, process

_WORD = re.compile(r"\w+")
STRONG_WEIGHT = {"title": 4.0, "tags": 4.0, "authors": 3.0, "org": 2.0}
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
    def __init__(self):
        self._postings: dict[str, set[int]] = defaultdict(set)
        self._strong: dict[int, dict[str, str]] = {}   # doc -> word -> best field
        self._doc_words: dict[int, frozenset[str]] = {}
        self._vocabulary: list[str] = []                 # sorted, for prefix look-ups
        self._vocab_set: set[str] = set()

    def __len__(self):
        return len(self._doc_words)

    # ------------------------------------------------------------------ maintenance
    def add(self, doc_id: int, paper: dict) -> None:
        self.remove(doc_id)
        strong: dict[str, str] = {}
        for field, text in (
            ("title", paper.get("title") or ""),
            ("tags", " ".join(paper.get("tags") or [])),
            ("authors", " ".join(paper.get("authors") or [])),
            ("org", " ".join(filter(None, (paper.get("org_name"), paper.get("org_fullname"))))),
        ):
            for word in words(text):
                if word not in strong or STRONG_WEIGHT[field] > STRONG_WEIGHT[strong[word]]:
                    strong[word] = field
        weak = set(words(paper.get("abstract") or "")) | set(words(paper.get("notes") or ""))
        weak.update(w for w in (paper.get("arxiv_id"), paper.get("citation_key")) if w)
        all_words = frozenset(strong) | weak
        for word in all_words:
            self._postings[word].add(doc_id)
            if word not in self._vocab_set:
                self._vocab_set.add(word)
                bisect.insort(self._vocabulary, word)
        self._strong[doc_id] = strong
        self._doc_words[doc_id] = all_words

    def remove(self, doc_id: int) -> None:
        old = self._doc_words.pop(doc_id, None)
        if old is None:
            return
        self._strong.pop(doc_id, None)
        for word in old:
            posting = self._postings.get(word)
            if posting is not None:
                posting.discard(doc_id)
                # Empty words stay in the vocabulary: cheaper than re-sorting, harmless.

    # ------------------------------------------------------------------ queries
    def _expand(self, word: str, allow_prefix: bool) -> dict[str, float]:
        """Library words that stand for one query word, with how well they match."""
        out: dict[str, float] = {}
        if self._postings.get(word):
            out[word] = 1.0
        if allow_prefix and len(word) >= 2:
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
        """Papers matching every word of the query, with relevance scores."""
        query_words = words(query)[:MAX_QUERY_WORDS]
        if not query_words:
            return {}
        scores: dict[int, float] | None = None
        for index, word in enumerate(query_words):
            # Prefixes for every word: a user types "diff mod" for "diffusion models".
            expansions = self._expand(word, allow_prefix=True)
            if not expansions:
                return {}
            word_scores: dict[int, float] = {}
            for candidate, quality in expansions.items():
                for doc_id in self._postings[candidate]:
                    if scores is not None and doc_id not in scores:
                        continue
                    field = self._strong[doc_id].get(candidate)
                    weight = STRONG_WEIGHT[field] if field else WEAK_WEIGHT
                    value = weight * quality
                    if value > word_scores.get(doc_id, 0.0):
                        word_scores[doc_id] = value
            if scores is None:
                scores = word_scores
            else:
                scores = {d: scores[d] + s for d, s in word_scores.items()}
            if not scores:
                return {}
        return scores or {}
