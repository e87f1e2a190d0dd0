"""Each paper's BibTeX rendering, kept on disk and reused until the paper changes.

Turning a paper into BibTeX (LaTeX escaping of title, names and abstract) costs far more
than the rest of an export, and gives the same text until the paper changes. This cache
keeps one rendering per paper, under a hash of everything the rendering reads (the whole
paper and the export options), in an append-only file beside the library:

    record = header (paper id, hash, payload length, crc32)
             + payload (entry type, raw characters, math fallbacks, what the entry lacks
               as JSON, field lines; UTF-8)

Held in memory: each stored rendering's place in the file, and, for the few that have
any, its raw characters, math fallbacks and gaps (an export must know those of every
entry before it writes the first: they make its @preamble and its report); and, for a
caller that can tell (the library: its documents are replaced, never changed in place),
which document each stored rendering was checked against, so that an unchanged paper is
not even hashed again. The text itself stays on disk: an export takes a
:meth:`RenderCache.reader` (its own handle on the file) and reads each entry's text only
while sending it. Records are never changed once written and a compaction renames a new
file in, so that handle keeps reading the renderings as they were when it was taken.

The file is derived data: a torn or damaged record (a crash while appending) ends the
readable part, and everything after it is simply rendered again. When more than half
the file is superseded renderings, it is rewritten with the live ones (temp file and
rename).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Iterable, NamedTuple

import orjson

from .bibtex_export import Rendering, render

_HEADER = struct.Struct("<QQII")   # paper id, hash, payload length, crc32 of the payload
FORMAT = b"papershelf-bibtex-renderings 3\n"
_NONE: frozenset[str] = frozenset()
_SEPARATOR = "\x00"  # never in a rendering: export text is cleaned of control characters


class StoredRendering(NamedTuple):
    """What the cache holds in memory of a stored rendering: where it is in the file, and
    what an export must know of every entry before it writes the first (the @preamble's
    raw characters and math fallbacks, the report's gaps). An export is given these as
    stand-ins for the renderings and reads their text with a :class:`StoredTexts` only
    when it sends the entry."""
    digest: int
    offset: int   # of the payload
    length: int   # of the payload
    glyphs: frozenset[str]
    math: frozenset[str]
    missing: tuple[tuple[str, str], ...]


def _parse(payload: bytes) -> Rendering | None:
    try:
        entry_type, glyphs, math, missing, lines = payload.decode("utf-8").split(_SEPARATOR, 4)
        # Most entries have no raw characters, math fallbacks or gaps: no objects for those.
        missing = () if missing == "[]" else tuple(tuple(item) for item in orjson.loads(missing))
    except ValueError:  # orjson's decode error is one too
        return None
    return Rendering(entry_type, lines, frozenset(glyphs) if glyphs else _NONE,
                     frozenset(math.split(" ")) if math else _NONE, missing)


# What follows the entry type in a payload without raw characters, math fallbacks or gaps.
_PLAIN = (_SEPARATOR * 3 + "[]" + _SEPARATOR).encode()


def _stored(digest: int, offset: int, length: int, payload: bytes) -> StoredRendering | None:
    """What is kept in memory of a stored payload; None if it cannot be read back."""
    type_end = payload.find(b"\0")
    if type_end > 0 and payload.startswith(_PLAIN, type_end):
        # Most entries: nothing to decode now (the text is decoded when it is sent).
        return StoredRendering(digest, offset, length, _NONE, _NONE, ())
    rendering = _parse(payload)
    if rendering is None:
        return None
    return StoredRendering(digest, offset, length, rendering.glyphs, rendering.math,
                           rendering.missing)


def _hash(paper: dict, abstract: bool, keywords: bool) -> int:
    try:
        data = orjson.dumps(paper)
    except TypeError:  # not plain JSON: never cached under a hash that could collide
        return 0
    data += b"A" if abstract else b"-"
    data += b"K" if keywords else b"-"
    # Two independent 32-bit checksums: fast, and a stale rendering would need both to
    # collide for the same paper.
    return (zlib.crc32(data) << 32 | zlib.adler32(data)) or 1


class RenderCache:
    """``cache(paper, abstract=..., keywords=...)`` is :func:`bibtex_export.render`, cached.

    Not thread-safe: the library calls it under its lock."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._index: dict[int, StoredRendering] | None = None
        self._checked: dict[int, tuple[object, bool, bool]] = {}  # id -> (token, abstract, keywords)
        self._end = 0
        self._unflushed = False  # appended since the last flush (reads must see it)
        self._reader = None
        self._writer = None
        self.hits = self.misses = 0
        self.failures = 0  # the file failed (full disk, lost file): closed, opened again later

    # ------------------------------------------------------------------ file
    def _open(self) -> None:
        if self._index is not None:
            return
        self._index = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        offset = 0
        try:
            # Read record by record: the file is about as large as the export itself, and
            # holding it whole would double the memory an export needs.
            with open(self.path, "rb") as fh:
                if fh.read(len(FORMAT)) == FORMAT:
                    offset = len(FORMAT)
                    while True:
                        header = fh.read(_HEADER.size)
                        if len(header) < _HEADER.size:
                            break
                        paper_id, digest, length, crc = _HEADER.unpack(header)
                        payload = fh.read(length)
                        if len(payload) != length or zlib.crc32(payload) != crc:
                            break  # torn or damaged from here on: rendered again when needed
                        start = offset + _HEADER.size
                        stored = _stored(digest, start, length, payload)
                        if stored is None:  # cannot be read back: rendered again
                            self._index.pop(paper_id, None)
                        else:
                            self._index[paper_id] = stored
                        offset = start + length
        except FileNotFoundError:
            pass
        if offset == 0:
            self.path.write_bytes(FORMAT)
            offset = len(FORMAT)
        elif offset != self.path.stat().st_size:
            with open(self.path, "r+b") as fh:
                fh.truncate(offset)
        self._end = offset
        self._reader = open(self.path, "rb")
        self._writer = open(self.path, "ab")

    def _failed(self) -> None:
        self.failures += 1
        self.close()

    def close(self) -> None:
        for handle in (self._reader, self._writer):
            if handle is not None:
                try:
                    handle.close()
                except OSError:  # what could not be written out is rendered again
                    pass
        self._reader = self._writer = None
        self._index = None
        self._checked = {}

    def _read(self, offset: int, length: int) -> Rendering | None:
        self._flush()
        return _parse(os.pread(self._reader.fileno(), length, offset))

    def _flush(self) -> None:
        if self._unflushed:
            self._writer.flush()
            self._unflushed = False

    def _append(self, paper_id: int, digest: int, rendering: Rendering) -> bool:
        if any(_SEPARATOR in part for part in (rendering.lines, *rendering.glyphs)) or \
                any(" " in name or _SEPARATOR in name for name in rendering.math):
            return False  # cannot be stored in this layout; rendered again next time
        payload = _SEPARATOR.join((
            rendering.entry_type, "".join(sorted(rendering.glyphs)),
            " ".join(sorted(rendering.math)), orjson.dumps(rendering.missing).decode(),
            rendering.lines)).encode("utf-8")
        self._writer.write(_HEADER.pack(paper_id, digest, len(payload), zlib.crc32(payload)))
        self._writer.write(payload)
        self._unflushed = True
        self._index[paper_id] = StoredRendering(digest, self._end + _HEADER.size, len(payload),
                                                rendering.glyphs or _NONE, rendering.math or _NONE,
                                                rendering.missing or ())
        self._checked.pop(paper_id, None)  # checked against what was stored before
        self._end += _HEADER.size + len(payload)
        return True

    # ------------------------------------------------------------------ use
    def __call__(self, paper: dict, *, abstract: bool = True, keywords: bool = True,
                 token: object = None, stand_in: bool = False) -> Rendering | StoredRendering:
        """``token``: an object that stands for this exact content of the paper as long as
        it is alive (the library's stored document); a paper whose stored rendering was
        checked against the same token is read without being hashed. ``stand_in``: give
        a stored rendering as its :class:`StoredRendering` (its text is not read now; see
        :meth:`reader`), and a Rendering only when it could not be stored."""
        paper_id = paper.get("id")
        if not isinstance(paper_id, int) or paper_id < 0:
            return render(paper, abstract=abstract, keywords=keywords)
        try:
            self._open()
            if token is not None:
                rendering = self.checked(paper_id, token, abstract=abstract, keywords=keywords,
                                         stand_in=stand_in)
                if rendering is not None:
                    return rendering
            known = self._index.get(paper_id)
            digest = _hash(paper, abstract, keywords)
            if not digest:
                return render(paper, abstract=abstract, keywords=keywords)
            if known is not None and known.digest == digest:
                # Records are checked when the file is opened: a stand-in need not read it.
                rendering = known if stand_in else self._read(known.offset, known.length)
                if rendering is not None:
                    self.hits += 1
                    self._check(paper_id, token, abstract, keywords)
                    return rendering
            self.misses += 1
            rendering = render(paper, abstract=abstract, keywords=keywords)
            stored = self._append(paper_id, digest, rendering)
            self._check(paper_id, token if stored else None, abstract, keywords)
            return self._index[paper_id] if stored and stand_in else rendering
        except OSError:
            # The cache is only a speed-up: a full disk or a lost file never fails an export.
            self._failed()
            return render(paper, abstract=abstract, keywords=keywords)

    def checked(self, paper_id: int, token: object, *, abstract: bool = True,
                keywords: bool = True, stand_in: bool = False) -> Rendering | StoredRendering | None:
        """The stored rendering of a paper if it was checked against ``token`` (see
        calling the cache) with these options, else None: the caller need not even make
        the paper's full record for an unchanged paper. ``stand_in``: as for calling the
        cache."""
        try:
            self._open()
            known = self._index.get(paper_id)
            seen = self._checked.get(paper_id)
            if known is None or seen is None or seen[0] is not token or \
                    seen[1] != abstract or seen[2] != keywords:
                return None
            rendering = known if stand_in else self._read(known.offset, known.length)
        except OSError:
            self._failed()
            return None
        if rendering is not None:
            self.hits += 1
        return rendering

    def _check(self, paper_id: int, token: object, abstract: bool, keywords: bool) -> None:
        if token is None:
            self._checked.pop(paper_id, None)
        elif paper_id in self._index:
            self._checked[paper_id] = (token, abstract, keywords)

    def stale(self, paper: dict, *, token: object = None) -> int | None:
        """The paper's hash if its stored rendering (of a full export: abstract and
        keywords) is missing or out of date: render it and :meth:`store` it. None if it is
        up to date, or the paper is never cached. ``token``: as for calling the cache."""
        paper_id = paper.get("id")
        if not isinstance(paper_id, int) or paper_id < 0:
            return None
        digest = _hash(paper, True, True)
        if not digest:
            return None
        try:
            self._open()
        except OSError:
            self._failed()
            return None
        known = self._index.get(paper_id)
        if known is not None and known.digest == digest:
            self._check(paper_id, token, True, True)
            return None
        return digest

    def reader(self) -> StoredTexts:
        """A reader of the renderings stored now, and of those stored from now on until
        the file is compacted, each as its :class:`StoredRendering` says. It has its own
        handle on the file: safe to use from another thread and outside the caller's lock
        while this cache goes on storing and compacting (a compaction renames a new file
        in; the reader keeps the old one). Records appended meanwhile are readable once
        written out (:meth:`finish`), if the cache does not fail before: a caller that
        must read them checks that :attr:`failures` has not changed."""
        handle = None
        try:
            self._open()
            self._flush()
            handle = open(os.dup(self._reader.fileno()), "rb", buffering=0)
        except OSError:
            self._failed()
        return StoredTexts(self.path, handle)

    def store(self, paper_id: int, digest: int, rendering: Rendering, *, token: object = None) -> None:
        """Keep a rendering made elsewhere (see :meth:`stale`), written out at once."""
        try:
            self._open()
            stored = self._append(paper_id, digest, rendering)
            self._writer.flush()
            self._check(paper_id, token if stored else None, True, True)
        except OSError:
            self._failed()

    def finish(self, live_ids: Iterable[int] | None = None) -> None:
        """After an export: write out the buffer, drop renderings of papers no longer in
        the library, and compact the file when most of it is superseded."""
        if self._index is None:
            return
        try:
            if live_ids is not None:
                live = set(live_ids)
                for paper_id in [i for i in self._index if i not in live]:
                    del self._index[paper_id]
                    self._checked.pop(paper_id, None)
            self._writer.flush()
            used = sum(_HEADER.size + stored.length for stored in self._index.values())
            if self._end > 2 * used + (1 << 20):
                self._compact()
        except OSError:
            self._failed()

    def _compact(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(FORMAT)
            for paper_id, stored in sorted(self._index.items(), key=lambda item: item[1].offset):
                payload = os.pread(self._reader.fileno(), stored.length, stored.offset)
                out.write(_HEADER.pack(paper_id, stored.digest, stored.length, zlib.crc32(payload)))
                out.write(payload)
        # A reader taken before keeps its handle on the old file, which lives on until it
        # is closed: what it was given stays readable at the old offsets.
        os.replace(tmp, self.path)
        checked = self._checked  # the same renderings, at new offsets
        self.close()
        self._open()
        self._checked = checked


class StoredTexts:
    """Reads the text of stored renderings (see :meth:`RenderCache.reader`); only reads,
    through its own handle, so it needs no lock. Close it when done (it is closed when let
    go too)."""

    def __init__(self, path: Path, handle):
        self.path = path
        self._handle = handle

    def read(self, stored: StoredRendering) -> tuple[str, str]:
        """``(entry_type, lines)`` of a stored rendering. OSError if it is no longer there
        as stored: if the file was changed behind the cache's back, or the cache failed
        before writing it out (see :meth:`RenderCache.reader`)."""
        if self._handle is None:
            raise OSError(f"{self.path}: closed")
        size = _HEADER.size + stored.length
        data = os.pread(self._handle.fileno(), size, stored.offset - _HEADER.size)
        # The record's own header must be the one expected: it is then the same rendering.
        _, digest, length, _ = _HEADER.unpack_from(data) if len(data) == size else (0, 0, 0, 0)
        if digest != stored.digest or length != stored.length:
            raise OSError(f"{self.path}: the rendering at {stored.offset} is no longer there")
        try:
            entry_type, _, _, _, lines = data[_HEADER.size:].decode("utf-8").split(_SEPARATOR, 4)
        except ValueError:
            raise OSError(f"{self.path}: the rendering at {stored.offset} is damaged") from None
        return entry_type, lines

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
