"""Background metadata enrichment: fill in what a listing page did not show.

Hugging Face listing pages sometimes show only an author count; BibTeX needs the names.
The ``Enricher`` looks papers up by arXiv id -- first in the arXiv API (Atom; many ids
per request; gives authors, primary class and DOI), then, for ids arXiv did not answer,
in Hugging Face's ``/api/papers/{id}`` (authors) -- and hands what it found to a
callback ``apply(arxiv_id, fields)``, where ``fields`` holds only non-empty values
among ``authors`` (list of "First Last"), ``authors_count``, ``primary_class``, ``doi``.
The callback decides what to keep (the library only fills what is missing and never
overrides a user's edit).

Never blocks a save: ``enqueue`` only records the id and wakes the worker thread.
Rate-limited: at most one request per ``min_interval`` seconds per service (arXiv asks
for 3 s).  Cached: answers are kept in memory (and in ``cache_path`` when given) so an
id is fetched once; ids neither service knows are remembered for a day.  Offline or
failing services: the id is retried later with exponential backoff (``retry_delay``
doubling up to ``max_retry_delay``), for ``max_attempts`` tries.

Base URLs come from the constructor or the environment, so tests can point at a local
server:

* ``PAPERSHELF_ARXIV_API`` -- default ``https://export.arxiv.org/api/query``
  (queried as ``?id_list=ID,ID&max_results=N``);
* ``PAPERSHELF_HF_API`` -- default ``https://huggingface.co/api``
  (queried as ``/papers/ID``);
* ``PAPERSHELF_ENRICH=0`` (or ``off``/``false``/``no``) turns the enricher off:
  ``start`` does nothing and ``enabled`` is False.

Usage::

    enricher = Enricher(library.set_enrichment, cache_path=data_dir / "enrich-cache.json")
    enricher.start()
    ...
    if needs_enrichment(paper):
        enricher.enqueue(paper["arxiv_id"])
    ...
    enricher.stop()
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Callable, Iterable

from . import __version__

__all__ = ["Enricher", "needs_enrichment", "parse_arxiv_atom", "parse_hf_paper",
           "DEFAULT_ARXIV_API", "DEFAULT_HF_API"]

log = logging.getLogger(__name__)

DEFAULT_ARXIV_API = "https://export.arxiv.org/api/query"
DEFAULT_HF_API = "https://huggingface.co/api"
USER_AGENT = f"papershelf/{__version__} (metadata enrichment)"

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_ID_RE = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")


class TemporaryFailure(Exception):
    """The service could not be asked now (offline, timeout, 5xx, 429, garbage)."""


def needs_enrichment(paper: dict) -> bool:
    """True when a paper has an arXiv id and lacks author names or its primary class."""
    if not paper.get("arxiv_id") or paper.get("deleted_at"):
        return False
    authors = [a for a in paper.get("authors") or [] if a]
    count = paper.get("authors_count")
    if not authors or (isinstance(count, int) and count > len(authors)):
        return True
    return not paper.get("primary_class")


def _env_enabled() -> bool:
    return os.environ.get("PAPERSHELF_ENRICH", "1").strip().lower() not in ("0", "off", "false", "no")


# ----------------------------------------------------------------------------- parsing
def _clean_name(name: str) -> str:
    return " ".join(str(name).split())


def parse_arxiv_atom(xml_text: str | bytes) -> dict[str, dict]:
    """An arXiv API Atom feed -> {arxiv id without version: fields}."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise TemporaryFailure(f"arXiv answered something that is not Atom: {exc}") from None
    found: dict[str, dict] = {}
    for item in root.findall(f"{_ATOM}entry"):
        ident = (item.findtext(f"{_ATOM}id") or "").strip()
        match = re.search(r"arxiv\.org/abs/(.+)$", ident)
        if not match:
            continue  # arXiv's error entries have ids like http://arxiv.org/api/errors#...
        id_match = _ID_RE.search(match.group(1))
        if not id_match:
            continue
        fields: dict = {}
        authors = [_clean_name(a.findtext(f"{_ATOM}name") or "")
                   for a in item.findall(f"{_ATOM}author")]
        authors = [a for a in authors if a]
        if authors:
            fields["authors"] = authors
            fields["authors_count"] = len(authors)
        primary = item.find(f"{_ARXIV}primary_category")
        if primary is not None and primary.get("term"):
            fields["primary_class"] = primary.get("term")
        doi = (item.findtext(f"{_ARXIV}doi") or "").strip()
        if doi:
            fields["doi"] = doi.split()[0]
        found[id_match.group(1)] = fields
    return found


def parse_hf_paper(data: object) -> dict:
    """Hugging Face's /api/papers/{id} JSON -> fields."""
    if not isinstance(data, dict):
        raise TemporaryFailure("Hugging Face answered something that is not a paper")
    fields: dict = {}
    authors = []
    for author in data.get("authors") or []:
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and name.strip():
            authors.append(_clean_name(name))
    if authors:
        fields["authors"] = authors
        fields["authors_count"] = len(authors)
    return fields


# ----------------------------------------------------------------------------- worker
class _Pending:
    __slots__ = ("arxiv_id", "due", "attempts", "delay")

    def __init__(self, arxiv_id: str, due: float) -> None:
        self.arxiv_id = arxiv_id
        self.due = due
        self.attempts = 0
        self.delay = 0.0


class Enricher:
    """Fetches missing metadata for arXiv ids in a background thread.

    ``apply(arxiv_id, fields)`` is called from the worker thread; exceptions it raises
    are logged and do not stop the worker.
    """

    def __init__(
        self,
        apply: Callable[[str, dict], object],
        *,
        arxiv_api: str | None = None,
        hf_api: str | None = None,
        sources: Iterable[str] = ("arxiv", "hf"),
        min_interval: dict[str, float] | float | None = None,
        retry_delay: float = 60.0,
        max_retry_delay: float = 3600.0,
        max_attempts: int = 12,
        not_found_ttl: float = 86400.0,
        timeout: float = 15.0,
        batch_size: int = 20,
        cache_path: str | os.PathLike | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.apply = apply
        self.arxiv_api = (arxiv_api or os.environ.get("PAPERSHELF_ARXIV_API") or DEFAULT_ARXIV_API)
        self.hf_api = (hf_api or os.environ.get("PAPERSHELF_HF_API") or DEFAULT_HF_API).rstrip("/")
        self.sources = tuple(s for s in sources if s in ("arxiv", "hf"))
        intervals = {"arxiv": 3.0, "hf": 1.0}
        if isinstance(min_interval, (int, float)):
            intervals = {name: float(min_interval) for name in intervals}
        elif isinstance(min_interval, dict):
            intervals.update({k: float(v) for k, v in min_interval.items()})
        self.min_interval = intervals
        self.retry_delay = float(retry_delay)
        self.max_retry_delay = float(max_retry_delay)
        self.max_attempts = int(max_attempts)
        self.not_found_ttl = float(not_found_ttl)
        self.timeout = float(timeout)
        self.batch_size = max(1, int(batch_size))
        self.cache_path = os.fspath(cache_path) if cache_path else None
        self.enabled = _env_enabled() if enabled is None else bool(enabled)
        self._clock = clock

        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._inflight: set[str] = set()
        self._found: dict[str, dict] = {}
        self._missing: dict[str, float] = {}     # id -> wall-clock time it was not found
        self._last_request: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.stats = {"requests": 0, "applied": 0, "failures": 0, "not_found": 0, "cache_hits": 0}
        self._load_cache()

    # -------------------------------------------------------------- public API
    def enqueue(self, arxiv_id: str) -> None:
        """Ask for metadata of ``arxiv_id`` (no version).  Returns at once."""
        if not arxiv_id or not isinstance(arxiv_id, str):
            return
        arxiv_id = arxiv_id.strip()
        match = _ID_RE.fullmatch(arxiv_id)
        if not match:
            return
        arxiv_id = match.group(1)
        with self._cond:
            if arxiv_id not in self._pending and arxiv_id not in self._inflight:
                self._pending[arxiv_id] = _Pending(arxiv_id, self._clock())
            self._cond.notify_all()

    def enqueue_many(self, arxiv_ids: Iterable[str]) -> None:
        for arxiv_id in arxiv_ids:
            self.enqueue(arxiv_id)

    def start(self) -> None:
        """Start the worker thread (no-op when disabled or already running)."""
        if not self.enabled:
            return
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="papershelf-enricher",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; pending ids are kept (``pending()``) for a later start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._thread = None

    def poke(self) -> None:
        """Retry everything that waits for a retry now (e.g. the network came back)."""
        with self._cond:
            now = self._clock()
            for item in self._pending.values():
                item.due = min(item.due, now)
            self._cond.notify_all()

    def pending(self) -> list[str]:
        with self._cond:
            return sorted(set(self._pending) | self._inflight)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending or in flight (tests, CLI one-shots)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def cached(self, arxiv_id: str) -> dict | None:
        with self._cond:
            value = self._found.get(arxiv_id)
            return dict(value) if value is not None else None

    def run_once(self) -> int:
        """Process every id that is due now, in the calling thread.  Returns how many
        ids were settled (applied or given up)."""
        settled = 0
        while True:
            batch = self._take_due()
            if not batch:
                return settled
            settled += self._process(batch)

    # -------------------------------------------------------------- worker
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = self._clock()
                    if any(p.due <= now for p in self._pending.values()):
                        break
                    wait = 1.0
                    if self._pending:
                        wait = max(0.01, min(p.due for p in self._pending.values()) - now)
                    self._cond.wait(wait)
                if self._stopping:
                    return
            batch = self._take_due()
            if not batch:
                continue
            try:
                self._process(batch)
            except Exception:  # never let the worker die
                log.exception("enrichment failed")
                self._reschedule(batch)

    def _take_due(self) -> list[_Pending]:
        with self._cond:
            now = self._clock()
            due = sorted((p for p in self._pending.values() if p.due <= now),
                         key=lambda p: (p.due, p.arxiv_id))[: self.batch_size]
            for item in due:
                del self._pending[item.arxiv_id]
                self._inflight.add(item.arxiv_id)
            return due

    def _reschedule(self, items: list[_Pending]) -> None:
        with self._cond:
            for item in items:
                item.attempts += 1
                if item.attempts < self.max_attempts:
                    item.delay = min(self.max_retry_delay,
                                     self.retry_delay if item.delay <= 0 else item.delay * 2)
                    item.due = self._clock() + item.delay
                    self._pending.setdefault(item.arxiv_id, item)
                self._inflight.discard(item.arxiv_id)
            self._cond.notify_all()

    def _process(self, items: list[_Pending]) -> int:
        results: dict[str, dict] = {}
        failed: set[str] = set()
        settled_ids: list[str] = []
        todo: list[str] = []
        now_wall = time.time()
        for item in items:
            with self._cond:
                hit = self._found.get(item.arxiv_id)
                miss = self._missing.get(item.arxiv_id)
            if hit is not None:
                self.stats["cache_hits"] += 1
                results[item.arxiv_id] = hit
                self._call_apply(item.arxiv_id, hit)
                settled_ids.append(item.arxiv_id)
            elif miss is not None and now_wall - miss < self.not_found_ttl:
                self.stats["cache_hits"] += 1
                settled_ids.append(item.arxiv_id)
            else:
                todo.append(item.arxiv_id)

        remaining = list(todo)
        for source in self.sources:
            if not remaining:
                break
            try:
                got = self._fetch_arxiv(remaining) if source == "arxiv" else self._fetch_hf(remaining)
            except TemporaryFailure as exc:
                log.info("enrichment from %s failed: %s", source, exc)
                self.stats["failures"] += 1
                failed.update(remaining)
                continue
            for arxiv_id in remaining:
                if got.get(arxiv_id):
                    results[arxiv_id] = _merge(results.get(arxiv_id), got[arxiv_id])
            remaining = [a for a in remaining if not (results.get(a) or {}).get("authors")]

        found: dict[str, dict] = {}
        missing: list[str] = []
        retry: list[_Pending] = []
        by_id = {item.arxiv_id: item for item in items}
        for arxiv_id in todo:
            fields = results.get(arxiv_id)
            if fields and fields.get("authors"):
                found[arxiv_id] = fields
            elif arxiv_id in failed:
                item = by_id[arxiv_id]
                if item.attempts + 1 >= self.max_attempts:
                    log.info("giving up enrichment of %s after %d tries", arxiv_id, item.attempts + 1)
                    if fields:
                        found[arxiv_id] = fields
                    settled_ids.append(arxiv_id)
                else:
                    retry.append(item)
            elif fields:
                found[arxiv_id] = fields  # known, but no service has the names
            else:
                missing.append(arxiv_id)
                self.stats["not_found"] += 1
                settled_ids.append(arxiv_id)

        with self._cond:
            self._found.update(found)
            stamp = time.time()
            for arxiv_id in missing:
                self._missing[arxiv_id] = stamp
        if found or missing:
            self._save_cache()
        for arxiv_id, fields in found.items():
            self._call_apply(arxiv_id, fields)
            if arxiv_id not in settled_ids:
                settled_ids.append(arxiv_id)
        self._reschedule(retry)
        with self._cond:
            for arxiv_id in settled_ids:
                self._inflight.discard(arxiv_id)
            self._cond.notify_all()
        return len(settled_ids)

    def _call_apply(self, arxiv_id: str, fields: dict) -> None:
        try:
            self.apply(arxiv_id, dict(fields))
            self.stats["applied"] += 1
        except Exception:
            log.exception("applying enrichment of %s failed", arxiv_id)

    # -------------------------------------------------------------- HTTP
    def _throttle(self, source: str) -> None:
        interval = self.min_interval.get(source, 1.0)
        with self._cond:
            last = self._last_request.get(source)
        if last is not None:
            wait = last + interval - time.monotonic()
            if wait > 0:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=wait)
                if self._stopping:
                    raise TemporaryFailure("stopping")
        with self._cond:
            self._last_request[source] = time.monotonic()

    def _get(self, source: str, url: str) -> bytes | None:
        """GET ``url``; None for 404; TemporaryFailure for anything worth retrying."""
        self._throttle(source)
        self.stats["requests"] += 1
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                       "Accept": "*/*"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                return None
            raise TemporaryFailure(f"HTTP {exc.code} from {url}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc} ({url})") from None

    def _fetch_arxiv(self, ids: list[str]) -> dict[str, dict]:
        query = urllib.parse.urlencode({"id_list": ",".join(ids), "max_results": len(ids)},
                                       safe=",/")
        sep = "&" if "?" in self.arxiv_api else "?"
        body = self._get("arxiv", f"{self.arxiv_api}{sep}{query}")
        if body is None:
            return {}
        return parse_arxiv_atom(body)

    def _fetch_hf(self, ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for arxiv_id in ids:
            body = self._get("hf", f"{self.hf_api}/papers/{urllib.parse.quote(arxiv_id, safe='/')}")
            if body is None:
                continue
            try:
                data = json.loads(body)
            except ValueError:
                raise TemporaryFailure("Hugging Face answered something that is not JSON") from None
            found[arxiv_id] = parse_hf_paper(data)
        return found

    # -------------------------------------------------------------- cache file
    def _load_cache(self) -> None:
        if not self.cache_path:
            return
        try:
            with open(self.cache_path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            found = data.get("found")
            missing = data.get("missing")
            if isinstance(found, dict):
                self._found.update({k: v for k, v in found.items() if isinstance(v, dict)})
            if isinstance(missing, dict):
                self._missing.update({k: float(v) for k, v in missing.items()
                                      if isinstance(v, (int, float))})

    def _save_cache(self) -> None:
        if not self.cache_path:
            return
        with self._cond:
            data = {"version": 1, "found": dict(sorted(self._found.items())),
                    "missing": dict(sorted(self._missing.items()))}
        folder = os.path.dirname(os.path.abspath(self.cache_path))
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".enrich-", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, indent=0)
            os.replace(tmp, self.cache_path)
        except OSError:
            log.warning("could not write the enrichment cache %s", self.cache_path)


def _merge(old: dict | None, new: dict) -> dict:
    out = dict(old or {})
    for name, value in new.items():
        if value not in (None, "", []) and not out.get(name):
            out[name] = value
    return out
