"""Answering list queries: which papers pass the filters, in which order, which page.

Owns per-paper columns held as numpy arrays indexed by paper id (in the trash or not,
read, starred, upvotes, dates), the set of papers under each tag (a tag also covers its
sub-tags: ``ml`` holds ``ml/diffusion``'s papers) and the order of titles. A list request
is then a few vectorised mask operations and one sort of the matching ids, instead of a
Python loop over every paper of the library on every request. Knows nothing of storage
or HTTP; the library service keeps it in line with the documents.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import Iterable

import numpy as np

from . import tags as tagmod

SORTS = ("added", "published", "upvotes", "title", "updated", "relevance")


def _timestamp(value: object) -> int:
    """Microseconds since the epoch of an ISO time; 0 when unknown or unreadable."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return int(moment.timestamp() * 1_000_000)


def _published(doc: dict) -> int:
    """2024-09-26 -> 20240926; a year only -> 20240000; unknown -> -1."""
    published = doc.get("published")
    if isinstance(published, str) and len(published) >= 10 and published[:4].isdigit():
        digits = published[:4] + published[5:7] + published[8:10]
        if digits.isdigit():
            return int(digits)
    year = str(doc.get("year") or "")[:4]
    return int(year) * 10000 if year.isdigit() else -1


def tag_scopes(tag: str) -> list[str]:
    """Every tag a filter may name to include this one: ``ML/Diffusion`` -> ml, ml/diffusion."""
    levels = tagmod.identity(tag).split("/")
    return ["/".join(levels[:i]) for i in range(1, len(levels) + 1)]


class Columns:
    """What list queries need of every paper, kept per paper id."""

    def __init__(self):
        self._size = 0
        self._allocate(1024)
        self._tagged: dict[str, set[int]] = defaultdict(set)   # tag scope -> paper ids
        self._tags_of: dict[int, tuple[str, ...]] = {}
        self._titles: dict[int, str] = {}
        self._title_rank: np.ndarray | None = None

    _COLUMNS = {"present": bool, "trashed": bool, "read": bool, "starred": bool,
                "upvotes": np.int64, "added": np.int64, "updated": np.int64,
                "published": np.int64}

    def _allocate(self, capacity: int) -> None:
        for name, dtype in self._COLUMNS.items():
            column = np.zeros(capacity, dtype=dtype)
            old = getattr(self, name, None)
            if old is not None:
                column[:len(old)] = old
            setattr(self, name, column)

    @property
    def size(self) -> int:
        """One more than the highest paper id seen: the length of score vectors."""
        return self._size

    # ------------------------------------------------------------------ maintenance
    def set(self, doc_id: int, doc: dict | None) -> None:
        """Record the paper as it is now (None: it is gone)."""
        if doc_id >= len(self.present):
            self._allocate(max(2 * len(self.present), doc_id + 1))
        self._size = max(self._size, doc_id + 1)
        for scope in self._tags_of.pop(doc_id, ()):
            members = self._tagged.get(scope)
            if members is not None:
                members.discard(doc_id)
                if not members:
                    del self._tagged[scope]
        if self._titles.pop(doc_id, None) is not None or doc is not None:
            self._title_rank = None
        if doc is None:
            self.present[doc_id] = False
            self.trashed[doc_id] = False
            return
        self.present[doc_id] = True
        self.trashed[doc_id] = bool(doc.get("deleted_at"))
        self.read[doc_id] = bool(doc.get("read"))
        self.starred[doc_id] = bool(doc.get("starred"))
        upvotes = doc.get("upvotes")
        self.upvotes[doc_id] = upvotes if isinstance(upvotes, int) and abs(upvotes) < 2 ** 62 else 0
        self.added[doc_id] = _timestamp(doc.get("added_at"))
        self.updated[doc_id] = _timestamp(doc.get("updated_at"))
        self.published[doc_id] = _published(doc)
        self._titles[doc_id] = (doc.get("title") or "").casefold()
        scopes = tuple(dict.fromkeys(s for tag in doc.get("tags") or [] for s in tag_scopes(tag)))
        self._tags_of[doc_id] = scopes
        for scope in scopes:
            self._tagged[scope].add(doc_id)

    def build(self, docs: Iterable[tuple[int, dict]]) -> None:
        """Record many papers at once (into empty columns): one array write per column."""
        items = list(docs)
        if not items:
            return
        ids = np.array([doc_id for doc_id, _ in items], dtype=np.int64)
        top = int(ids.max()) + 1
        if top > len(self.present):
            self._allocate(top)
        self._size = max(self._size, top)
        self.present[ids] = True
        self.trashed[ids] = [bool(doc.get("deleted_at")) for _, doc in items]
        self.read[ids] = [bool(doc.get("read")) for _, doc in items]
        self.starred[ids] = [bool(doc.get("starred")) for _, doc in items]
        self.upvotes[ids] = [v if isinstance(v := doc.get("upvotes"), int) and abs(v) < 2 ** 62
                             else 0 for _, doc in items]
        self.added[ids] = [_timestamp(doc.get("added_at")) for _, doc in items]
        self.updated[ids] = [_timestamp(doc.get("updated_at")) for _, doc in items]
        self.published[ids] = [_published(doc) for _, doc in items]
        self._titles.update((doc_id, (doc.get("title") or "").casefold()) for doc_id, doc in items)
        self._title_rank = None
        for doc_id, doc in items:
            if doc.get("tags"):
                scopes = tuple(dict.fromkeys(s for tag in doc["tags"] for s in tag_scopes(tag)))
                self._tags_of[doc_id] = scopes
                for scope in scopes:
                    self._tagged[scope].add(doc_id)

    # ------------------------------------------------------------------ queries
    def _title_ranks(self) -> np.ndarray:
        if self._title_rank is None or len(self._title_rank) < self._size:
            ranks = np.zeros(self._size, dtype=np.int64)
            ordered = sorted(self._titles, key=lambda i: (self._titles[i], i))
            ranks[np.array(ordered, dtype=np.int64)] = np.arange(len(ordered), dtype=np.int64)
            self._title_rank = ranks
        return self._title_rank

    def select(self, *, trash: bool = False, read: bool | None = None,
               starred: bool | None = None, tag: str | None = None,
               ids: Iterable[int] | None = None, scores: np.ndarray | None = None,
               sort: str | None = None, order: str | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list[int], int]:
        """The ids of one page of matching papers, and how many match in all."""
        n = self._size
        mask = self.present[:n] & (self.trashed[:n] == trash)
        if read is not None:
            mask &= self.read[:n] == read
        if starred is not None:
            mask &= self.starred[:n] == starred
        if tag:
            members = self._tagged.get(tagmod.identity(tag), ())
            tagged = np.zeros(n, dtype=bool)
            if members:
                tagged[np.fromiter(members, dtype=np.int64, count=len(members))] = True
            mask &= tagged
        if ids is not None:
            wanted = np.zeros(n, dtype=bool)
            chosen = np.array([i for i in ids if 0 <= i < n], dtype=np.int64)
            wanted[chosen] = True
            mask &= wanted
        if scores is not None:
            mask &= scores[:n] > 0
        matching = np.flatnonzero(mask)
        total = len(matching)
        sort = sort or ("relevance" if scores is not None else "added")
        descending = (order or ("asc" if sort == "title" else "desc")) == "desc"
        if sort == "relevance" and scores is not None:
            keys = (matching, self.upvotes[matching], scores[matching])
        elif sort == "title":
            keys = (self._title_ranks()[matching],)
        elif sort == "upvotes":
            keys = (matching, self.upvotes[matching])
        elif sort == "published":
            keys = (matching, self.published[matching])
        elif sort == "updated":
            keys = (matching, self.updated[matching])
        else:
            keys = (matching, self.added[matching])
        ordered = matching[np.lexsort(keys)]
        if descending:
            ordered = ordered[::-1]
        return ordered[offset:offset + limit].tolist(), total

    def counts(self) -> tuple[int, int]:
        """(papers in the library, papers in the trash)."""
        n = self._size
        trash = int(np.count_nonzero(self.present[:n] & self.trashed[:n]))
        return int(np.count_nonzero(self.present[:n])) - trash, trash
