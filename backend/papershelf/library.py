"""The library service: everything a user can do with their papers, and nothing of HTTP.

Owns the meaning of the data: saving cards (merging a paper seen again, flagging possible
duplicates), editing, the trash, tags, merging duplicates, undo. It keeps in-memory
indexes (arXiv id, duplicate candidates, search, tag counts) next to the stored documents
and changes both under one lock, so every operation sees a consistent library. Every
operation that changes several documents is one storage transaction: all or nothing.

Input is expected to be cleaned by :mod:`papershelf.records` already.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from tinydb.table import Document

from . import bibtex_export, citekeys, dedupe, heap, records
from . import tags as tagmod
from .listing import SORTS, Columns
from .render_cache import RenderCache
from .search import SearchIndex
from .storage import LibraryDB, json_copy

PAPERS = "papers"
FLAGS = "duplicate_flags"
NOT_DUPLICATES = "not_duplicates"
UNDO = "undo"
META = "meta"
AUTO_EXPORTS = "auto_exports"
MAX_SIGHTINGS = 100
MAX_UNDO = 200
CATCH_UP_PAUSE = 0.2  # seconds without changes before background indexing and rendering go on
RENDER_BATCH = 8       # papers rendered per turn of the background rendering
# The indexes `indexes_to_keep` gives, by name.
SEARCH_INDEX = "search"
DUPLICATE_INDEX = "duplicates"

# Capture may refresh these; it never overwrites a field the user corrected by hand.
CAPTURE_REFRESHED = ("upvotes", "comments", "github_stars")
USER_DEFAULTS = {"tags": [], "notes": "", "read": False, "starred": False}
# Every answered paper has the card's fields, null where unknown.
CARD_DEFAULTS = {name: None for name in (
    "arxiv_id", "abstract", "authors_count", "org_name", "org_fullname", "published",
    "upvotes", "comments", "github_repo", "github_stars", "submitted_by", "thumbnail")}


class NotFound(LookupError):
    """No paper (or undo record) with that id."""


class Conflict(Exception):
    """The operation no longer applies (e.g. undo after the papers changed again)."""


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hf_url(arxiv_id: str | None) -> str | None:
    return f"https://huggingface.co/papers/{arxiv_id}" if arxiv_id else None


_copy = json_copy


class Library:
    """One user's library in one data directory. Thread-safe."""

    def __init__(self, directory: str | Path, *, durable: bool = True,
                 background_indexing: bool = False, keep_renderings: bool = False,
                 cache_dir: str | Path | None = None,
                 kept_indexes: dict[str, bytes] | None = None, **storage_options):
        """Open the library. With ``background_indexing`` the duplicate and search indexes
        are built in a thread: look-ups and lists answer at once, changes wait for the
        duplicate index and searches for the search index (seconds, for a large library).
        With ``keep_renderings`` (a long-running server) every paper's BibTeX rendering is
        kept up to date in the background, so that an export only reads them. Derived
        files (the renderings) go to ``cache_dir``, by default ``cache`` in the library
        folder. ``kept_indexes``: the search and duplicate indexes as `indexes_to_keep`
        gave them when the library was last closed, if its files are unchanged since (see
        `clean_stop`); they spare the seconds of building them from the papers."""
        self.directory = Path(directory)
        self.db = LibraryDB(self.directory, durable=durable, **storage_options)
        self.papers = self.db.table(PAPERS)
        self.flags = self.db.table(FLAGS)
        self.not_duplicates = self.db.table(NOT_DUPLICATES)
        self.undo_log = self.db.table(UNDO)
        self.meta = self.db.table(META)
        self.auto_exports = self.db.table(AUTO_EXPORTS)
        self._save_listeners: list[Callable[[list[dict]], None]] = []
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._lists_ready = threading.Event()
        self._duplicates_ready = threading.Event()
        self._indexes_ready = threading.Event()
        self._indexing_error: BaseException | None = None
        self._work_wanted = threading.Event()
        self._last_write = 0.0
        cache_dir = Path(cache_dir) if cache_dir is not None else self.directory / "cache"
        self._renderings = RenderCache(cache_dir / "bibtex-renderings.bin")
        self._keep_renderings = keep_renderings
        # Papers whose stored BibTeX rendering may be out of date. Rendering is most of an
        # export's cost (about a millisecond a paper), so it is kept up to date in the
        # background as papers change, the way the search index is, and an export only
        # reads; an export that finds some still to do renders them itself.
        self._render_pending: dict[int, None] = {}
        self._closed = False
        self._kept_indexes = dict(kept_indexes or {})
        threading.Thread(target=self._catch_up_loop, name="papershelf-background",
                         daemon=True).start()
        with heap.collection_paused():
            self._rebuild_indexes(background=background_indexing)

    @property
    def warnings(self) -> list[str]:
        return list(self.db.storage.warnings)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._work_wanted.set()  # ends the background thread
            self._renderings.close()
            self.db.storage.close()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (outside the lock) after every committed change."""
        self._listeners.append(listener)

    def on_save(self, listener: Callable[[list[dict]], None]) -> None:
        """Call ``listener`` with the papers after every capture or import."""
        self._save_listeners.append(listener)

    def _saved(self, papers: list[dict]) -> None:
        for listener in list(self._save_listeners):
            try:
                listener(papers)
            except Exception:  # noqa: BLE001 - a listener never breaks a save
                pass

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - a listener never breaks a save
                pass

    # ------------------------------------------------------------------ indexes
    def _rebuild_indexes(self, background: bool = False) -> None:
        """Every in-memory index from the stored documents.

        Only the arXiv-id index is built at once (look-ups answer from it). The list
        columns, keys and tags, then the duplicate and search indexes, may be built in a
        thread; the operations that need them wait (``_lists_ready``, ``_duplicates_ready``,
        ``_indexes_ready``)."""
        self._lists_ready.clear()
        self._duplicates_ready.clear()
        self._indexes_ready.clear()
        self._by_arxiv: dict[str, int] = {}
        self._by_key: dict[str, int] = {}
        self._tag_counts: Counter[str] = Counter()   # identity -> live papers
        self._tag_spelling: dict[str, str] = {}     # identity -> preferred spelling
        self._columns = Columns()
        self._opening_counts: tuple[int, int] | None = None  # see `count`
        self._dedupe = dedupe.DedupeIndex()
        self._search = SearchIndex()
        # Papers changed since the search index last saw them, with the version it holds:
        # indexing an abstract's words is a third of a save's cost, so it is done after
        # the answer (by the indexing thread) or by the next search, whichever comes first.
        self._search_pending: dict[int, dict | None] = {}
        # The stored documents themselves, shared rather than copied: documents are
        # replaced, never changed in place, by the storage and by this service.
        stored = self.papers.storage.table_for_reading(PAPERS)
        self._docs: dict[int, dict] = {int(key): doc for key, doc in stored.items()}
        self._by_arxiv = {doc["arxiv_id"]: doc_id for doc_id, doc in self._docs.items()
                          if doc.get("arxiv_id")}
        meta = self.meta.get(doc_id=1) or {}
        self._last_paper_id = max(meta.get("last_paper_id", 0), max(self._docs, default=0))
        papers = list(self._docs.items())
        if background:
            # Started by start_indexing (the server calls it once it listens), or by the
            # first caller that needs the indexes.
            self._unindexed = papers
        else:
            self._unindexed = None
            self._build_slow_indexes(papers)

    def start_indexing(self) -> None:
        """Build the search and duplicate indexes in a thread, if that is still to do."""
        with self._lock:
            papers, self._unindexed = self._unindexed, None
        if papers is not None:
            threading.Thread(target=self._build_slow_indexes, args=(papers, True),
                             name="papershelf-indexing", daemon=True).start()

    def _build_slow_indexes(self, papers: list[tuple[int, dict]], freeze: bool = False) -> None:
        """``freeze``: a long-running process (see `heap.freeze`); done before collection
        resumes, or the first collection would walk everything just built."""
        try:
            with heap.collection_paused():
                self._columns.build(papers)
                for doc_id, doc in papers:
                    self._index_cheap(doc_id, None, doc, columns=False, arxiv=False)
                self._lists_ready.set()
                live = sum(not doc.get("deleted_at") for _, doc in papers)
                kept_duplicates = self._take_kept(DUPLICATE_INDEX, dedupe.DedupeIndex, live)
                if kept_duplicates is not None:
                    self._dedupe = kept_duplicates
                else:
                    for doc_id, doc in papers:
                        if not doc.get("deleted_at"):
                            self._dedupe.add(doc_id, doc)
                # Changes need the duplicate index, not the search index (they leave search
                # indexing for later anyway), so they go on from here rather than wait for
                # the slowest index (seconds at 50,000 papers). What they change is queued
                # in ``_search_pending`` for the index below, which takes it once built. If a
                # failed write rebuilds every index meanwhile, this one is left unused.
                search = self._search
                self._duplicates_ready.set()
                kept_search = self._take_kept(SEARCH_INDEX, SearchIndex, len(papers))
                if kept_search is not None:
                    search = kept_search
                else:
                    search.build(papers)
                with self._lock:
                    if not self._indexes_ready.is_set():  # else rebuilt meanwhile (see above)
                        self._search = search
                if freeze:
                    heap.freeze()
            if self._keep_renderings:
                with self._lock:
                    # Renderings kept from an earlier run are checked (made if missing).
                    self._render_pending.update(
                        (doc_id, None) for doc_id, doc in papers if not doc.get("deleted_at"))
                self._work_wanted.set()
        except BaseException as exc:  # noqa: BLE001 - the next caller rebuilds and sees it
            self._indexing_error = exc
        finally:
            self._lists_ready.set()
            self._duplicates_ready.set()
            self._indexes_ready.set()

    def _take_kept(self, name: str, index_type, papers: int):
        """The kept index ``name`` (once only), if it reads back and has ``papers``."""
        kept = self._kept_indexes.pop(name, None)
        if kept is None or self.db.storage.warnings:
            # A damaged file was set aside on opening, so the papers are not those the
            # index was kept for, even if the files looked unchanged (a bad disk block).
            return None
        try:
            index = index_type.from_bytes(kept)
        except (ValueError, UnicodeDecodeError):
            return None  # derived data: built again from the papers
        return index if len(index) == papers else None

    def indexes_to_keep(self) -> dict[str, bytes]:
        """The search and duplicate indexes, brought up to date, as their ``to_bytes``
        write them (for ``kept_indexes``); nothing while they are still being built."""
        with self._lock:
            if not self._indexes_ready.is_set() or self._indexing_error is not None:
                return {}
            self._catch_up_search()
            kept = {}
            for name, index in ((SEARCH_INDEX, self._search), (DUPLICATE_INDEX, self._dedupe)):
                try:
                    kept[name] = index.to_bytes()
                except (TypeError, ValueError, OverflowError):
                    pass  # a word orjson cannot write (a lone surrogate): built at the next start
            return kept

    def _wait_for_lists(self) -> None:
        self._wait_for_indexes(self._lists_ready)

    def _wait_for_indexes(self, ready: threading.Event | None = None) -> None:
        ready = ready or self._indexes_ready
        if not ready.is_set():
            self.start_indexing()
        ready.wait()
        if self._indexing_error is not None:
            with self._lock:
                if self._indexing_error is not None:
                    self._indexing_error = None
                    self._rebuild_indexes()

    @property
    def indexes_ready(self) -> bool:
        return self._indexes_ready.is_set()

    def _index_cheap(self, doc_id: int, old: dict | None, doc: dict | None,
                     columns: bool = True, arxiv: bool = True) -> None:
        if old is not None:
            if old.get("arxiv_id") and self._by_arxiv.get(old["arxiv_id"]) == doc_id:
                del self._by_arxiv[old["arxiv_id"]]
            for key in [old.get("citation_key"), *old.get("key_aliases", [])]:
                if key and self._by_key.get(key.lower()) == doc_id:
                    del self._by_key[key.lower()]
            if not old.get("deleted_at"):
                for tag in old.get("tags", []):
                    ident = tagmod.identity(tag)
                    self._tag_counts[ident] -= 1
                    if self._tag_counts[ident] <= 0:
                        # No paper uses it any more: the next one to use it chooses its spelling.
                        del self._tag_counts[ident]
                        self._tag_spelling.pop(ident, None)
        if columns:
            self._columns.set(doc_id, doc)
        if doc is None:
            return
        if arxiv and doc.get("arxiv_id"):
            self._by_arxiv[doc["arxiv_id"]] = doc_id
        for key in [doc.get("citation_key"), *doc.get("key_aliases", [])]:
            if key:
                self._by_key[key.lower()] = doc_id
        if not doc.get("deleted_at"):
            for tag in doc.get("tags", []):
                ident = tagmod.identity(tag)
                self._tag_counts[ident] += 1
                self._tag_spelling.setdefault(ident, tag)

    def _index(self, doc_id: int, doc: dict | None,
               fingerprint: dedupe.Fingerprint | None = None) -> None:
        """Bring every index in line with the stored document (None: it is gone).
        ``fingerprint``: the document's duplicate-check fingerprint, if already known."""
        old = self._docs.pop(doc_id, None)
        if doc is not None:
            self._docs[doc_id] = doc
        self._index_cheap(doc_id, old, doc)
        self._dedupe.remove(doc_id)
        if doc is not None and not doc.get("deleted_at"):
            self._dedupe.add(doc_id, doc, fingerprint)
        self._search_pending.setdefault(doc_id, old)
        if self._keep_renderings and doc is not None and not doc.get("deleted_at"):
            self._render_pending[doc_id] = None

    def _catch_up_search(self, limit: int | None = None) -> None:
        """Bring the search index up to date (at most ``limit`` papers); under the lock."""
        while self._search_pending and limit != 0:
            doc_id, indexed = next(iter(self._search_pending.items()))
            del self._search_pending[doc_id]
            self._search.update(doc_id, indexed, self._docs.get(doc_id))
            if limit is not None:
                limit -= 1

    def _catch_up_loop(self) -> None:
        """The background thread: search indexing, then BibTeX renderings, of the papers
        changed since. Only in a pause between changes, a few papers per turn: a burst of
        saves is never slowed down by work on its own papers."""
        while not self._closed:
            self._work_wanted.wait()
            self._work_wanted.clear()
            while (self._search_pending or self._render_pending) and not self._closed:
                quiet = time.monotonic() - self._last_write
                if quiet < CATCH_UP_PAUSE:
                    time.sleep(CATCH_UP_PAUSE - quiet)
                    continue
                if self._search_pending and self._indexes_ready.is_set():
                    with self._lock:
                        self._catch_up_search(limit=10)
                elif self._render_pending:
                    self._render_some(RENDER_BATCH)
                else:
                    self._indexes_ready.wait(CATCH_UP_PAUSE)  # the search index is being built
                time.sleep(0)  # let a waiting request thread have the interpreter

    def _render_some(self, limit: int) -> None:
        """Render up to ``limit`` pending papers whose stored rendering is out of date.
        The rendering itself runs outside the lock: documents are never changed in place,
        and a paper changed meanwhile is simply queued again."""
        todo = []
        with self._lock:
            while self._render_pending and len(todo) < limit and not self._closed:
                doc_id = next(iter(self._render_pending))
                del self._render_pending[doc_id]
                doc = self._docs.get(doc_id)
                if doc is None or doc.get("deleted_at"):
                    continue
                view = self._view(doc_id)
                digest = self._renderings.stale(view, token=doc)
                if digest is not None:
                    todo.append((doc_id, doc, digest, view))
        done = [(doc_id, doc, digest, bibtex_export.render(view))
                for doc_id, doc, digest, view in todo]
        with self._lock:
            for doc_id, doc, digest, rendering in done:
                if self._docs.get(doc_id) is doc and not self._closed:
                    self._renderings.store(doc_id, digest, rendering, token=doc)

    @property
    def renderings_pending(self) -> int:
        """Papers whose BibTeX rendering the background thread has still to check."""
        return len(self._render_pending)

    def refresh_renderings(self) -> None:
        """Bring every stored BibTeX rendering up to date now (with ``keep_renderings``
        the background thread does it in pauses between changes)."""
        self._wait_for_indexes()
        with self._lock:
            self._render_pending.update(
                (doc_id, None) for doc_id, doc in self._docs.items() if not doc.get("deleted_at"))
        while self._render_pending and not self._closed:
            self._render_some(64)
        with self._lock:
            self._renderings.finish(live_ids=self._docs)

    def _stored(self, doc_id: int) -> dict:
        doc = self._docs.get(doc_id)
        if doc is None:
            raise NotFound(f"no paper with id {doc_id}")
        return doc

    def _put(self, doc_id: int | None, doc: dict, touched: list[int], *,
             owned: bool = False) -> int:
        """Store a whole document (insert when doc_id is None); index it after commit.
        ``owned``: ``doc`` is the library's own copy already, never changed after (so it
        need not be copied again)."""
        if doc_id is None:
            doc_id = self._new_paper_id()
        self.papers.replace(doc_id, doc if owned else _copy(doc))
        touched.append(doc_id)
        return doc_id

    def _new_paper_id(self) -> int:
        """A paper id never used before, even by a paper purged from the trash: ids are
        stable names (undo records and links refer to them).

        Only counted here: `_write` stores the last id given once per transaction, in that
        same transaction (so a crash can never give an id again); a failed transaction
        rebuilds the count from what was stored."""
        self._last_paper_id += 1
        return self._last_paper_id

    def _drop(self, doc_id: int, touched: list[int]) -> None:
        self.papers.remove(doc_ids=[doc_id])
        touched.append(doc_id)

    def _write(self, operation: Callable[[list[int]], Any]) -> Any:
        """Run ``operation`` as one transaction, then re-index what it touched.

        If the transaction fails (disk full, bad value), nothing was stored and the
        indexes are rebuilt from the stored documents so they cannot drift.
        """
        touched: list[int] = []
        self._wait_for_indexes(self._duplicates_ready)
        with self._lock:
            try:
                with self.db.transaction():
                    last_paper_id = self._last_paper_id
                    result = operation(touched)
                    if self._last_paper_id != last_paper_id:  # new papers: see _new_paper_id
                        counter = {"last_paper_id": self._last_paper_id}
                        if self.meta.contains(doc_id=1):
                            self.meta.update(counter, doc_ids=[1])
                        else:
                            self.meta.insert(Document(counter, doc_id=1))
            except BaseException:
                self._rebuild_indexes()
                raise
            stored_papers = self.papers.storage.table_for_reading(PAPERS)
            for doc_id in dict.fromkeys(touched):
                stored = stored_papers.get(str(doc_id))
                if stored is not None and self._docs.get(doc_id) == stored:
                    self._docs[doc_id] = stored  # indexed already while the operation ran
                    continue
                self._index(doc_id, stored)
        self._last_write = time.monotonic()
        if self._search_pending or self._render_pending:
            self._work_wanted.set()
        self._changed()
        return result

    # ------------------------------------------------------------------ output
    def public(self, doc_id: int, doc: dict | None = None) -> dict:
        doc = doc if doc is not None else self._stored(doc_id)
        out = {"id": doc_id, **CARD_DEFAULTS, **USER_DEFAULTS, **_copy(doc)}
        out.setdefault("authors", [])
        out.setdefault("hf_url", hf_url(out.get("arxiv_id")))
        out.setdefault("key_aliases", [])
        out.setdefault("deleted_at", None)
        return out

    def _view(self, doc_id: int) -> dict:
        """What ``public`` answers, sharing the stored values (callers must not change it)."""
        out = {"id": doc_id, **CARD_DEFAULTS, **USER_DEFAULTS, **self._docs[doc_id]}
        for name, default in (("authors", []), ("key_aliases", []), ("deleted_at", None)):
            out.setdefault(name, default)
        out.setdefault("hf_url", hf_url(out.get("arxiv_id")))
        return out

    def get(self, doc_id: int) -> dict:
        with self._lock:
            return self.public(doc_id)

    def count(self) -> dict:
        with self._lock:
            if self._lists_ready.is_set():
                papers, trash = self._columns.counts()
            else:
                # Still opening: the documents are counted once (a status request may come
                # every few milliseconds, and counting 50,000 papers holds the interpreter
                # for tens of them); nothing changes them until the indexes are ready.
                if self._opening_counts is None:
                    trash = sum(1 for doc in self._docs.values() if doc.get("deleted_at"))
                    self._opening_counts = (len(self._docs) - trash, trash)
                papers, trash = self._opening_counts
            return {"papers": papers, "trash": trash}

    # ------------------------------------------------------------------ tags
    def _spell(self, tag: str) -> str:
        return self._tag_spelling.get(tagmod.identity(tag), tag) \
            if self._tag_counts.get(tagmod.identity(tag)) else tag

    def _with_tags(self, current: list[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
        kept = tagmod.without(current, remove)
        return tagmod.unique([*kept, *(self._spell(t) for t in add)])

    def list_tags(self, prefix: str = "", limit: int = 1000) -> list[dict]:
        self._wait_for_lists()
        with self._lock:
            folded = prefix.casefold().strip()
            rows = []
            for ident, count in self._tag_counts.items():
                if folded:
                    levels = ident.split("/")
                    if ident.startswith(folded):
                        rank = 0
                    elif any(level.startswith(folded) for level in levels):
                        rank = 1
                    else:
                        continue
                else:
                    rank = 0
                rows.append((rank, -count, ident, {"name": self._tag_spelling[ident], "count": count}))
            rows.sort(key=lambda r: r[:3])
            return [r[3] for r in rows[:limit]]

    # ------------------------------------------------------------------ saving cards
    def save_cards(self, cards: list[dict], source: dict | None = None) -> dict:
        """Save cleaned cards; each is created, merged into a known paper, or flagged."""
        seen_at = now()

        def operation(touched):
            return [self._save_one(card, source, seen_at, touched) for card in cards]

        results = self._write(operation)
        with self._lock:
            for result in results:
                result["paper"] = self.public(result.pop("doc_id"))
        self._saved([r["paper"] for r in results])
        summary = Counter(r["status"] for r in results)
        return {"results": results, "created": summary["created"], "merged": summary["merged"],
                "possible_duplicates": summary["possible_duplicate"]}

    def _save_one(self, card: dict, source: dict | None, seen_at: str, touched: list[int]) -> dict:
        card = dict(card)
        card_tags = card.pop("tags", [])
        card_source = card.pop("source", None) or source
        sighting = None
        if card_source and (card_source.get("url") or card_source.get("view")):
            sighting = {"url": card_source.get("url"), "view": card_source.get("view"),
                        "seen_at": seen_at, "upvotes": card.get("upvotes")}

        target = self._by_arxiv.get(card["arxiv_id"]) if card.get("arxiv_id") else None
        flagged: list[tuple[int, dedupe.Verdict]] = []
        reasons: list[str] = []
        fingerprint = None
        if target is None:
            # Worked out once: a card that becomes a new paper is indexed with it too (the
            # paper has the card's title, authors, dates and arXiv id, all it reads).
            fingerprint = dedupe.Fingerprint.of(card)
            for doc_id, verdict in self._dedupe.matches(card, fingerprint=fingerprint):
                if verdict.kind == dedupe.SAME and target is None:
                    target = doc_id
                    reasons = verdict.reasons
                elif verdict.kind == dedupe.MAYBE:
                    flagged.append((doc_id, verdict))
        else:
            reasons = ["same arXiv id"]

        if target is not None:
            doc = _copy(self._stored(target))
            self._merge_card_into(doc, card, card_tags, sighting)
            self._put(target, doc, touched)
            # Index at once, as a new paper is: a tag this card brings is then spelled
            # the same way by the rest of the batch.
            self._index(target, _copy(doc))
            return {"status": "merged", "doc_id": target, "reasons": reasons}

        doc = {k: v for k, v in card.items() if v is not None}
        doc.setdefault("authors", [])
        doc.setdefault("hf_url", hf_url(doc.get("arxiv_id")))
        stamp = now()
        doc.update(tags=self._with_tags([], card_tags), notes="", read=False, starred=False,
                   added_at=stamp, updated_at=stamp, rev=1,
                   sightings=[sighting] if sighting else [], key_aliases=[])
        # A key is given once the first author is known, and never changed after: a card
        # showing only an author count gets its key from enrichment or the first export.
        doc["citation_key"] = (citekeys.make_key(doc, citekeys.LoweredKeys(self._by_key))
                               if doc["authors"] else None)
        doc = _copy(doc)  # the library's own from here on: stored and indexed as it is
        doc_id = self._put(None, doc, touched, owned=True)
        # Index at once so the rest of this batch can merge into it.
        self._index(doc_id, doc, fingerprint)
        dismissed = self._dismissed_with(doc_id) if flagged else set()
        duplicate_of = []
        for other, verdict in flagged:
            if other in dismissed:
                continue
            self.flags.insert({"a": min(other, doc_id), "b": max(other, doc_id),
                               "score": round(verdict.score, 1), "reasons": verdict.reasons,
                               "created_at": stamp})
            duplicate_of.append(other)
        if duplicate_of:
            return {"status": "possible_duplicate", "doc_id": doc_id, "duplicate_of": duplicate_of}
        return {"status": "created", "doc_id": doc_id}

    def _merge_card_into(self, doc: dict, card: dict, card_tags: list[str], sighting: dict | None) -> None:
        edited = set(doc.get("edited_fields", []))
        for name, value in card.items():
            if value is None or value == [] or name in edited:
                continue
            if name == "authors" and doc.get("authors") and len(value) < len(doc["authors"]):
                continue  # a page showing fewer names than we know is not news
            if name in CAPTURE_REFRESHED or not doc.get(name):
                doc[name] = value
            elif name not in ("arxiv_id",):
                doc[name] = value
        if not doc.get("arxiv_id") and card.get("arxiv_id"):
            doc["arxiv_id"] = card["arxiv_id"]
        doc["hf_url"] = doc.get("hf_url") or hf_url(doc.get("arxiv_id"))
        doc["tags"] = self._with_tags(doc.get("tags", []), card_tags)
        if sighting:
            # One sighting per page and day, wherever it is in the list (saves from
            # several pages interleave): seen again, it moves to the end with fresh figures.
            day = sighting["seen_at"][:10]
            sightings = [s for s in doc.get("sightings", [])
                         if s.get("url") != sighting["url"] or (s.get("seen_at") or "")[:10] != day]
            sightings.append(sighting)
            doc["sightings"] = sightings[-MAX_SIGHTINGS:]
        if doc.get("deleted_at"):
            doc["deleted_at"] = None  # saving a paper again takes it out of the trash
        self._touch(doc)

    @staticmethod
    def _touch(doc: dict) -> None:
        doc["updated_at"] = now()
        doc["rev"] = doc.get("rev", 0) + 1

    def lookup(self, arxiv_ids: list[str]) -> dict:
        with self._lock:
            out = {}
            for arxiv_id in arxiv_ids:
                doc_id = self._by_arxiv.get(arxiv_id)
                if doc_id is None:
                    continue
                doc = self._docs[doc_id]
                if doc.get("deleted_at"):
                    continue
                out[arxiv_id] = {"id": doc_id, "title": doc.get("title"),
                                 "tags": list(doc.get("tags", [])), "read": doc.get("read", False),
                                 "starred": doc.get("starred", False)}
            return out

    def lookup_table(self) -> dict:
        """What `lookup` answers for every saved arXiv id (see `early_lookups`)."""
        with self._lock:
            return self.lookup(list(self._by_arxiv))

    # ------------------------------------------------------------------ listing
    def list_papers(self, *, q: str = "", tag: str | None = None, read: bool | None = None,
                    starred: bool | None = None, sort: str | None = None, order: str | None = None,
                    limit: int = 50, offset: int = 0, trash: bool = False,
                    ids: list[int] | None = None) -> dict:
        if q.strip():
            self._wait_for_indexes()
        self._wait_for_lists()
        with self._lock:
            if q.strip():
                self._catch_up_search()
            scores = self._search.scores(q, self._columns.size) if q.strip() else None
            page, total = self._columns.select(
                trash=trash, read=read, starred=starred, tag=tag, ids=ids or None, scores=scores,
                sort=sort, order=order, offset=offset, limit=limit)
            return {"papers": [self.public(i) for i in page], "total": total}

    def live_views(self) -> list[dict]:
        """Every paper out of the trash, sharing stored values: read them, never change them."""
        with self._lock:
            return [self._view(i) for i, d in self._docs.items() if not d.get("deleted_at")]

    def all_papers(self, *, tag: str | None = None, ids: list[int] | None = None) -> list[dict]:
        """Every live paper (optionally of a tag or of given ids), oldest first."""
        with self._lock:
            result = self.list_papers(tag=tag, ids=ids, sort="added", order="asc",
                                      limit=len(self._docs) + 1)
            return result["papers"]

    # ------------------------------------------------------------------ editing
    def update(self, doc_id: int, changes: dict) -> dict:
        def operation(touched):
            doc = _copy(self._stored(doc_id))
            for name, value in changes.items():
                if name == "tags":
                    doc["tags"] = self._with_tags([], value)
                elif name == "citation_key":
                    self._set_key(doc_id, doc, value)
                else:
                    doc[name] = value
                    if name in records.METADATA_FIELDS:
                        edited = doc.setdefault("edited_fields", [])
                        if name not in edited:
                            edited.append(name)
            if "arxiv_id" in changes:
                other = self._by_arxiv.get(changes["arxiv_id"]) if changes["arxiv_id"] else None
                if other is not None and other != doc_id:
                    raise Conflict(f"paper {other} already has arXiv id {changes['arxiv_id']}; "
                                   "merge the two instead")
                if "hf_url" not in changes:
                    doc["hf_url"] = hf_url(changes["arxiv_id"])
            self._touch(doc)
            self._put(doc_id, doc, touched)
            # The answer is the paper as written: read later, another request (a merge)
            # may have removed it, and the client would be told "not found" for a change made.
            return self.public(doc_id, doc)
        return self._write(operation)

    def _set_key(self, doc_id: int, doc: dict, key: str | None) -> None:
        if not key:
            raise records.ValidationError("citation_key", "must not be empty")
        problem = citekeys.validate_key(key)
        if problem:
            raise records.ValidationError("citation_key", problem)
        owner = self._by_key.get(key.lower())
        if owner is not None and owner != doc_id:
            raise Conflict(f"citation key {key!r} is already used by paper {owner}")
        old = doc.get("citation_key")
        if old and old != key:
            aliases = doc.setdefault("key_aliases", [])
            if old not in aliases:
                aliases.append(old)
        doc["citation_key"] = key
        doc["key_aliases"] = [a for a in doc.get("key_aliases", []) if a != key]

    def change_tags(self, doc_id: int, add: list[str], remove: list[str]) -> dict:
        def operation(touched):
            doc = _copy(self._stored(doc_id))
            doc["tags"] = self._with_tags(doc.get("tags", []), add, remove)
            self._touch(doc)
            self._put(doc_id, doc, touched)
            return self.public(doc_id, doc)  # as written (see update)
        return self._write(operation)

    # ------------------------------------------------------------------ undo
    def _undoable(self, label: str, doc_ids: Iterable[int], operation: Callable[[list[int]], Any],
                  undo_extra: dict | None = None):
        """Run an operation on papers so that it can be undone; returns (result, undo id).
        ``undo_extra``: more for the undo record, filled in by the operation."""
        holder: dict[str, Any] = {}

        def wrapped(touched):
            before = {str(i): (_copy(self._docs[i]) if i in self._docs else None) for i in doc_ids}
            result = operation(touched)
            after = {}
            for key in before:
                stored = self.papers.storage.table_for_reading(PAPERS).get(key)
                after[key] = stored.get("rev") if stored is not None else None
            undo_id = self.undo_log.insert({"label": label, "created_at": now(),
                                            "before": before, "after_rev": after,
                                            **(undo_extra or {})})
            holder["undo"] = str(undo_id)
            self._prune_undo()
            return result

        result = self._write(wrapped)
        return result, holder["undo"]

    def _prune_undo(self) -> None:
        if len(self.undo_log) > MAX_UNDO:
            ids = sorted(int(k) for k in self.undo_log.storage.table_for_reading(UNDO).keys())
            self.undo_log.remove(doc_ids=ids[:len(ids) - MAX_UNDO])

    def undo(self, undo_id: str) -> dict:
        try:
            key = int(undo_id)
        except (TypeError, ValueError):
            raise NotFound(f"no undo record {undo_id!r}") from None

        def operation(touched):
            entry = self.undo_log.get(doc_id=key)
            if entry is None:
                raise NotFound(f"no undo record {undo_id!r} (it may be too old or already used)")
            for skey, rev in entry["after_rev"].items():
                current = self._docs.get(int(skey))
                current_rev = current.get("rev") if current is not None else None
                if current_rev != rev:
                    raise Conflict(f"paper {skey} has changed since; undo would lose that change")
            restored = []
            for skey, doc in entry["before"].items():
                doc_id = int(skey)
                if doc is None:
                    if doc_id in self._docs:
                        self._drop(doc_id, touched)
                else:
                    doc = _copy(doc)
                    self._touch(doc)
                    self._put(doc_id, doc, touched)
                restored.append(doc_id)
            self.flags.insert_multiple(entry.get("flags", []))
            self.undo_log.remove(doc_ids=[key])
            return restored

        return {"restored": self._write(operation), "label": None}

    # ------------------------------------------------------------------ trash
    def delete(self, doc_ids: list[int]) -> tuple[list[dict], str]:
        with self._lock:
            for doc_id in doc_ids:
                self._stored(doc_id)

        def operation(touched):
            stamp = now()
            out = []
            for doc_id in doc_ids:
                doc = _copy(self._stored(doc_id))
                if not doc.get("deleted_at"):
                    doc["deleted_at"] = stamp
                    self._touch(doc)
                    self._put(doc_id, doc, touched)
                out.append(self.public(doc_id, doc))  # as written (see update)
            return out
        label = f"delete {len(doc_ids)} paper(s)"
        return self._undoable(label, doc_ids, operation)

    def restore(self, doc_ids: list[int]) -> tuple[list[dict], str]:
        with self._lock:
            for doc_id in doc_ids:
                self._stored(doc_id)

        def operation(touched):
            out = []
            for doc_id in doc_ids:
                doc = _copy(self._stored(doc_id))
                if doc.get("deleted_at"):
                    doc["deleted_at"] = None
                    self._touch(doc)
                    self._put(doc_id, doc, touched)
                out.append(self.public(doc_id, doc))  # as written (see update)
            return out
        return self._undoable(f"restore {len(doc_ids)} paper(s)", doc_ids, operation)

    def empty_trash(self) -> int:
        with self._lock:
            gone = [i for i, d in self._docs.items() if d.get("deleted_at")]

        def operation(touched):
            for doc_id in gone:
                if doc_id in self._docs and self._docs[doc_id].get("deleted_at"):
                    self._drop(doc_id, touched)
            purged = {str(i) for i in gone}
            self._drop_flags_of(set(gone))
            stale = [r.doc_id for r in self.undo_log if purged & set(r.get("before", {}))]
            if stale:
                self.undo_log.remove(doc_ids=stale)
            stale = [r.doc_id for r in self.not_duplicates if r["a"] in gone or r["b"] in gone]
            if stale:
                self.not_duplicates.remove(doc_ids=stale)
        self._write(operation)
        return len(gone)

    # ------------------------------------------------------------------ bulk
    BULK_ACTIONS = ("tag", "untag", "read", "unread", "star", "unstar", "delete", "restore")

    def bulk(self, doc_ids: list[int], action: str, tag_list: list[str]) -> tuple[list[dict], str | None]:
        if action not in self.BULK_ACTIONS:
            raise records.ValidationError("action", f"must be one of {', '.join(self.BULK_ACTIONS)}")
        with self._lock:
            for doc_id in doc_ids:
                self._stored(doc_id)
        if action == "delete":
            return self.delete(doc_ids)
        if action == "restore":
            return self.restore(doc_ids)
        if action in ("tag", "untag") and not tag_list:
            raise records.ValidationError("tags", f"are needed to {action}")

        def change(doc):
            if action == "tag":
                doc["tags"] = self._with_tags(doc.get("tags", []), tag_list)
            elif action == "untag":
                doc["tags"] = self._with_tags(doc.get("tags", []), (), tag_list)
            elif action in ("read", "unread"):
                doc["read"] = action == "read"
            else:
                doc["starred"] = action == "star"

        def operation(touched):
            out = []
            for doc_id in doc_ids:
                doc = _copy(self._stored(doc_id))
                before = json.dumps(doc, sort_keys=True)
                change(doc)
                if json.dumps(doc, sort_keys=True) != before:
                    self._touch(doc)
                    self._put(doc_id, doc, touched)
                out.append(self.public(doc_id, doc))  # as written (see update)
            return out
        return self._undoable(f"{action} {len(doc_ids)} paper(s)", doc_ids, operation)

    # ------------------------------------------------------------------ tag management
    def _papers_with_tag(self, tag: str) -> list[int]:
        ident = tagmod.identity(tag)
        return [i for i, d in self._docs.items()
                if any(tagmod.identity(t) == ident for t in d.get("tags", []))]

    def rename_tag(self, old: str, new: str) -> dict:
        """Rename a tag everywhere; if ``new`` exists already the two become one."""
        with self._lock:
            ids = self._papers_with_tag(old)
            if not ids:
                raise NotFound(f"no paper has the tag {old!r}")
            new_ident = tagmod.identity(new)

        def operation(touched):
            for doc_id in ids:
                if doc_id not in self._docs:
                    continue  # merged away or purged since the ids were gathered
                doc = _copy(self._docs[doc_id])
                tags_now = []
                for t in doc.get("tags", []):
                    tags_now.append(new if tagmod.identity(t) == tagmod.identity(old) else t)
                # The new spelling wins over any other spelling of the same tag.
                doc["tags"] = tagmod.unique(
                    [new if tagmod.identity(t) == new_ident else t for t in tags_now])
                self._touch(doc)
                self._put(doc_id, doc, touched)
            self._tag_spelling[new_ident] = new
            for doc_id, doc in self._docs.items():
                if doc_id not in ids and tagmod.has(doc.get("tags", []), new) and \
                        new not in doc.get("tags", []):
                    doc2 = _copy(doc)
                    doc2["tags"] = [new if tagmod.identity(t) == new_ident else t for t in doc2["tags"]]
                    self._touch(doc2)
                    self._put(doc_id, doc2, touched)
        affected = set(ids) | set(self._papers_with_tag(new))
        _, undo_id = self._undoable(f"rename tag {old} to {new}", sorted(affected), operation)
        self._tag_spelling[new_ident] = new
        return {"tag": new, "papers": len(ids), "undo": undo_id}

    def delete_tag(self, tag: str) -> dict:
        with self._lock:
            ids = self._papers_with_tag(tag)
            if not ids:
                raise NotFound(f"no paper has the tag {tag!r}")

        def operation(touched):
            for doc_id in ids:
                if doc_id not in self._docs:
                    continue  # merged away or purged since the ids were gathered
                doc = _copy(self._docs[doc_id])
                doc["tags"] = tagmod.without(doc.get("tags", []), [tag])
                self._touch(doc)
                self._put(doc_id, doc, touched)
        _, undo_id = self._undoable(f"delete tag {tag}", ids, operation)
        return {"papers": len(ids), "undo": undo_id}

    # ------------------------------------------------------------------ duplicates
    def _dismissed_with(self, doc_id: int) -> set[int]:
        out = set()
        for row in self.not_duplicates:
            if row["a"] == doc_id:
                out.add(row["b"])
            elif row["b"] == doc_id:
                out.add(row["a"])
        return out

    def _drop_flags_of(self, doc_ids: set[int]) -> list[dict]:
        dropped = []
        remove = []
        for row in self.flags:
            if row["a"] in doc_ids or row["b"] in doc_ids:
                dropped.append(dict(row))
                remove.append(row.doc_id)
        if remove:
            self.flags.remove(doc_ids=remove)
        return dropped

    def _open_flags(self) -> list[dict]:
        """The flagged pairs still to review (under the lock): both papers live, not
        dismissed, each pair once."""
        dismissed = {(r["a"], r["b"]) for r in self.not_duplicates}
        rows, seen = [], set()
        for row in self.flags:
            a, b = row["a"], row["b"]
            if (a, b) in seen or (a, b) in dismissed:
                continue
            doc_a, doc_b = self._docs.get(a), self._docs.get(b)
            if not doc_a or not doc_b or doc_a.get("deleted_at") or doc_b.get("deleted_at"):
                continue
            seen.add((a, b))
            rows.append(row)
        return rows

    def duplicates(self) -> list[dict]:
        with self._lock:
            pairs = [{"a": self.public(row["a"]), "b": self.public(row["b"]),
                      "score": row["score"], "reasons": row.get("reasons", [])}
                     for row in self._open_flags()]
            pairs.sort(key=lambda p: -p["score"])
            return pairs

    def duplicate_count(self) -> int:
        """How many pairs `duplicates` would list (the library page's badge)."""
        with self._lock:
            return len(self._open_flags())

    def dismiss_duplicate(self, a: int, b: int) -> None:
        with self._lock:
            self._stored(a), self._stored(b)
        if a == b:
            raise records.ValidationError("b", "must be a different paper from a")
        a, b = min(a, b), max(a, b)

        def operation(touched):
            if not any(r["a"] == a and r["b"] == b for r in self.not_duplicates):
                self.not_duplicates.insert({"a": a, "b": b, "created_at": now()})
            remove = [r.doc_id for r in self.flags if r["a"] == a and r["b"] == b]
            if remove:
                self.flags.remove(doc_ids=remove)
        self._write(operation)

    def merge(self, keep: int, other: int, fields: dict[str, str] | None = None) -> tuple[dict, str]:
        """Merge ``other`` into ``keep``; ``fields`` picks values from ``other``."""
        if keep == other:
            raise records.ValidationError("other", "must be a different paper from keep")
        with self._lock:
            self._stored(keep), self._stored(other)
        fields = fields or {}
        for name, side in fields.items():
            if name not in records.METADATA_FIELDS:
                raise records.ValidationError(f"fields.{name}", "is not a field that can be chosen")
            if side not in ("keep", "other"):
                raise records.ValidationError(f"fields.{name}", 'must be "keep" or "other"')

        def operation(touched):
            # Checked again here: another request may have merged or purged one meanwhile.
            a, b = _copy(self._stored(keep)), _copy(self._stored(other))
            keep_arxiv, other_arxiv = a.get("arxiv_id"), b.get("arxiv_id")
            for name, side in fields.items():
                if side == "other":
                    if b.get(name) is None:
                        a.pop(name, None)
                    else:
                        a[name] = b[name]
            for name in records.METADATA_FIELDS:
                if a.get(name) in (None, "", []) and b.get(name) not in (None, "", []):
                    a[name] = b[name]
            if keep_arxiv and other_arxiv and "arxiv_id" not in fields:
                a["arxiv_id"] = keep_arxiv
            a["tags"] = tagmod.unique([*a.get("tags", []), *b.get("tags", [])])
            notes = [n for n in (a.get("notes"), b.get("notes")) if n]
            a["notes"] = "\n\n".join(dict.fromkeys(notes))
            a["read"] = bool(a.get("read") or b.get("read"))
            a["starred"] = bool(a.get("starred") or b.get("starred"))
            a["added_at"] = min(filter(None, (a.get("added_at"), b.get("added_at"))), default=now())
            sightings = a.get("sightings", []) + b.get("sightings", [])
            sightings.sort(key=lambda s: s.get("seen_at") or "")
            # One sighting per page and day, as when saving: the later one stays.
            latest = {(s.get("url"), (s.get("seen_at") or "")[:10]): s for s in sightings}
            sightings = sorted(latest.values(), key=lambda s: s.get("seen_at") or "")
            a["sightings"] = sightings[-MAX_SIGHTINGS:]
            aliases = [*a.get("key_aliases", []), b.get("citation_key"), *b.get("key_aliases", [])]
            a["key_aliases"] = [k for k in dict.fromkeys(filter(None, aliases))
                                if k != a.get("citation_key")]
            a["merged_from"] = [*a.get("merged_from", []), other, *b.get("merged_from", [])]
            a["deleted_at"] = None
            self._touch(a)
            self._drop(other, touched)
            self._put(keep, a, touched)
            # Flags of the other paper go away with it; undo must bring them back. Kept in
            # the undo record by the same transaction: a merge is never half recorded.
            lost_flags = self._drop_flags_of({other})
            if lost_flags:
                undo_extra["flags"] = lost_flags
            remove = [r.doc_id for r in self.flags if {r["a"], r["b"]} == {keep, other}]
            if remove:
                self.flags.remove(doc_ids=remove)
            return self.public(keep, a)  # as written (see update)

        undo_extra: dict = {}
        return self._undoable(f"merge paper {other} into {keep}", [keep, other], operation,
                              undo_extra)

    # ------------------------------------------------------------------ BibTeX
    def export_bibtex(self, *, tag: str | None = None, ids: list[int] | None = None,
                      abstract: bool = True, pieces: bool = False) -> tuple[str | Iterable[str], dict]:
        """The .bib text of the library (or a tag, or some papers) and a report; with
        ``pieces``, the text as an iterator of pieces to be joined by newlines (see
        bibtex_export), each entry's text read from the rendering cache only as it is
        reached, outside the lock: still the library as it was when asked, whatever
        changes meanwhile. Close the iterator if it is not used up."""
        self._wait_for_lists()
        with self._lock:
            if ids:
                for doc_id in ids:
                    if self._stored(doc_id).get("deleted_at"):
                        raise NotFound(f"paper {doc_id} is in the trash")
            # Read-only views of the documents: an export copies nothing it does not change.
            chosen, _ = self._columns.select(tag=tag, ids=ids or None, sort="added",
                                             order="asc", limit=len(self._docs) + 1)
            docs, renderings = self._docs, self._renderings

            def record(doc_id: int) -> dict:
                # What the export reads of a paper with a key and a stored rendering: the
                # full record is made only for papers rendered now or given a key now.
                doc = docs[doc_id]
                if citekeys.is_usable_key(doc.get("citation_key")):
                    return {"id": doc_id, "citation_key": doc["citation_key"],
                            "key_aliases": doc.get("key_aliases") or (), "title": doc.get("title")}
                return self._view(doc_id)

            def renderer(paper: dict, *, stand_in: bool = True, **options):
                # The stored document stands for the paper's content (never changed in
                # place): a rendering checked against it is found without hashing. A
                # stored rendering comes as a stand-in: its text is read when it is sent.
                doc_id = paper["id"]
                token = docs[doc_id]
                stored = renderings.checked(doc_id, token, stand_in=stand_in, **options)
                if stored is not None:
                    return stored
                return renderings(self._view(doc_id), token=token, stand_in=stand_in, **options)

            def plan(**how):
                # No collection while the plan is made: it makes objects for every paper,
                # kept until sent, and the collector would walk them again and again.
                with heap.collection_paused():
                    return bibtex_export.export(
                        (record(i) for i in chosen), abstract=abstract, pieces=True,
                        taken=citekeys.LoweredKeys(self._by_key), **how)

            # The export's own handle on the rendering file, taken before it stores or
            # compacts anything: the stand-ins are read through it while the file is sent
            # (outside the lock), and still read as stored if the file is compacted
            # (renamed over) meanwhile.
            failures = renderings.failures
            stored_texts = renderings.reader()
            try:
                entries, report = plan(renderer=renderer, fetch=stored_texts.read)
                renderings.finish(live_ids=self._docs)  # writes out what the export stored
                if renderings.failures != failures:
                    # The file failed (a full disk): renderings stored for this export may
                    # be lost. Rare: planned again with every entry's text read now, under
                    # the lock, and kept until sent.
                    stored_texts.close()
                    entries = None  # let go of the first plan before the second is made
                    entries, report = plan(renderer=lambda paper, **options: renderer(
                        paper, stand_in=False, **options))
            except BaseException:
                stored_texts.close()
                raise
            assigned = {int(k): v for k, v in (report.get("assigned_keys") or {}).items()}

        def sent() -> Iterable[str]:
            try:
                yield from entries
            finally:
                stored_texts.close()

        text = sent()
        if not pieces:
            text = "\n".join(text)  # outside the lock: it reads the same renderings
        if assigned:
            # Papers without a key get one now, once: the next export must cite the same.
            def operation(touched):
                for doc_id, key in assigned.items():
                    if doc_id not in self._docs:
                        continue  # merged away or purged since the ids were gathered
                    doc = _copy(self._docs[doc_id])
                    if not doc.get("citation_key"):
                        doc["citation_key"] = key
                        self._put(doc_id, doc, touched)
            try:
                self._write(operation)
            except BaseException:
                stored_texts.close()
                raise
        return text, report

    def import_bibtex(self, text: str) -> dict:
        """Import a .bib text: dedupe like capture, keep the file's keys, report problems."""
        from . import bibtex_import  # bibtexparser is only needed when a file is imported
        parsed = bibtex_import.parse(text)
        errors = list(parsed.errors)
        entries = []
        for entry, line in zip(parsed.entries, parsed.entry_lines):
            entry = dict(entry)
            key = entry.pop("citation_key", None)
            aliases = entry.pop("key_aliases", None) or []
            try:
                clean = records.clean_card(entry)
            except records.ValidationError as exc:
                errors.append({"line": line, "key": key,
                               "message": f"skipped: {exc}"})
                continue
            clean["citation_key"] = key
            clean["key_aliases"] = [a for a in aliases if isinstance(a, str)]
            entries.append(clean)
        report = self.import_records(entries) if entries else {
            "created": 0, "merged": 0, "possible_duplicates": 0, "ids": [], "key_changes": []}
        report["errors"] = errors
        report["warnings"] = list(parsed.warnings)
        return report

    def import_records(self, entries: list[dict]) -> dict:
        """Save cleaned bibliography entries with the capture rules (also against each
        other); keep their citation keys where they are free."""
        seen_at = now()

        def operation(touched):
            results, key_changes = [], []
            for entry in entries:
                entry = dict(entry)
                wanted = entry.pop("citation_key", None)
                aliases = entry.pop("key_aliases", []) or []
                result = self._save_one(entry, {"url": None, "view": "import"}, seen_at, touched)
                doc_id = result["doc_id"]
                doc = _copy(self._docs[doc_id])
                file_keys = [k for k in [wanted, *aliases] if k and citekeys.is_usable_key(k)]
                if result["status"] != "merged" and wanted and wanted in file_keys:
                    owner = self._by_key.get(wanted.lower())
                    if owner is None or owner == doc_id:
                        if doc.get("citation_key"):
                            self._by_key.pop(doc["citation_key"].lower(), None)
                        doc["citation_key"] = wanted
                    else:
                        if not doc.get("citation_key"):
                            doc["citation_key"] = citekeys.make_key(
                                doc, citekeys.LoweredKeys(self._by_key))
                        key_changes.append({"key": wanted, "id": doc_id, "now": doc["citation_key"],
                                            "message": f"key {wanted} is used by paper {owner}"})
                known = doc.setdefault("key_aliases", [])
                for key in file_keys:
                    owner = self._by_key.get(key.lower())
                    if key != doc["citation_key"] and key not in known and owner in (None, doc_id):
                        known.append(key)
                for key in [doc.get("citation_key"), *known]:
                    if key:
                        self._by_key[key.lower()] = doc_id
                self._put(doc_id, doc, touched)
                self._index(doc_id, _copy(doc))
                results.append(result)
            return results, key_changes

        results, key_changes = self._write(operation)
        with self._lock:
            self._saved([self.public(r["doc_id"]) for r in results if r["doc_id"] in self._docs])
        summary = Counter(r["status"] for r in results)
        return {"created": summary["created"], "merged": summary["merged"],
                "possible_duplicates": summary["possible_duplicate"],
                "ids": [r["doc_id"] for r in results], "key_changes": key_changes}

    # ------------------------------------------------------------------ auto-export
    def add_auto_export(self, path: str, tag: str | None) -> dict:
        def operation(touched):
            for row in self.auto_exports:
                if row["path"] == path:
                    raise Conflict(f"{path} is already written by auto-export {row.doc_id}")
            doc_id = self.auto_exports.insert({"path": path, "tag": tag, "created_at": now()})
            return doc_id
        doc_id = self._write(operation)
        return {"id": doc_id, "path": path, "tag": tag}

    def list_auto_exports(self) -> list[dict]:
        with self._lock:
            return [{"id": row.doc_id, **row} for row in self.auto_exports]

    def remove_auto_export(self, export_id: int) -> None:
        def operation(touched):
            if not self.auto_exports.contains(doc_id=export_id):
                raise NotFound(f"no auto-export {export_id}")
            self.auto_exports.remove(doc_ids=[export_id])
        self._write(operation)

    def set_enrichment(self, arxiv_id: str, fields: dict) -> bool:
        """Fill in metadata found online (author names, primary class) where it is missing."""
        with self._lock:
            doc_id = self._by_arxiv.get(arxiv_id)
            if doc_id is None:
                return False

        def operation(touched):
            if doc_id not in self._docs:
                return False  # merged away meanwhile
            doc = _copy(self._docs[doc_id])
            changed = False
            edited = set(doc.get("edited_fields", []))
            for name, value in fields.items():
                if name in edited or value in (None, "", []):
                    continue
                if name == "authors" and len(doc.get("authors") or []) >= len(value):
                    continue
                if name != "authors" and doc.get(name) not in (None, "", []):
                    continue
                doc[name] = value
                changed = True
            if changed and doc.get("authors") and not doc.get("citation_key"):
                doc["citation_key"] = citekeys.make_key(doc, citekeys.LoweredKeys(self._by_key))
            if changed:
                self._touch(doc)
                self._put(doc_id, doc, touched)
            return changed
        return self._write(operation)

