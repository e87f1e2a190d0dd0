"""Crash-safe, incremental storage under TinyDB.

Owns the bytes on disk and nothing of what they mean. TinyDB's own JSONStorage rewrites
the whole file in place on every change: slow as the data grows and unsafe if the process
dies mid-write. Here instead:

* a *snapshot* (``library.json``, plain TinyDB JSON: any TinyDB can open it) is only ever
  replaced atomically: temp file, fsync, rename, fsync of the directory;
* every change is appended to a *journal* segment (``journal/<first seq>.log``) as one line,
  ``<crc32> <json>``, and fsync'ed before the change is acknowledged; one line carries one
  whole transaction, so a batch is applied entirely or not at all;
* a snapshot is written in a background thread when the journal has grown enough; journal
  segments are deleted only once two snapshots cover them, so a damaged newest snapshot
  can still be rebuilt from the previous one (``library.prev.json``) plus the journal.

On load, a torn last journal line (the process died while writing it, so it was never
acknowledged) is cut off. Anything else unreadable is *damage*: the damaged files are moved
into ``damaged-<time>/`` untouched and the data is rebuilt from what remains; the storage
reports this in ``warnings``.

TinyDB works on whole tables through ``Table._update_table``; :class:`JournaledTable`
replaces that with an update of only the documents the operation touched, so a write costs
the size of the change, not the size of the library.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import zlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from . import heap

SNAPSHOT_NAME = "library.json"
PREVIOUS_SNAPSHOT_NAME = "library.prev.json"
JOURNAL_DIR = "journal"
META_TABLE = "_storage"

_DELETED = object()


class StorageError(Exception):
    """The storage could not do what was asked; the data on disk is unchanged."""


class StorageDamaged(StorageError):
    """What is on disk cannot be loaded at all (nothing was changed or removed)."""


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. orjson is several times faster on a whole library; the standard
    encoder takes what orjson refuses (a lone surrogate, an integer beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass")


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8", "surrogatepass"))


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (and proof that it is one: anything else raises)."""
    return _loads(_dumps(value))


def _encode_line(record: dict) -> bytes:
    body = _dumps(record)
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def _decode_line(line: bytes) -> dict | None:
    """The record on one journal line, or None if the line is not intact."""
    if len(line) < 10 or line[8:9] != b" " or not line.endswith(b"\n"):
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = _loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("seq"), int) else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces of them) so that a crash leaves
    either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            if isinstance(data, (bytes, bytearray)):
                fh.write(data)
            else:
                for piece in data:
                    fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class _TableOverlay(MutableMapping):
    """A table as TinyDB's updaters see it: reads fall through to the stored documents,
    writes are kept aside until the transaction is committed.

    Keys are TinyDB document ids (ints) on the outside and strings on the inside, as in
    TinyDB's JSON. A document read through the overlay is copied first, because TinyDB's
    ``update`` changes documents in place and the stored one must stay untouched until
    the change is on disk.
    """

    def __init__(self, base: dict[str, dict], key_type: Callable[[str], Any] = int):
        self.base = base
        self.changes: dict[str, Any] = {}
        self.key_type = key_type

    def __getitem__(self, key):
        skey = str(key)
        if skey in self.changes:
            doc = self.changes[skey]
            if doc is _DELETED:
                raise KeyError(key)
            return doc
        doc = self.base[skey]
        copy = json_copy(doc)
        self.changes[skey] = copy
        return copy

    def get_raw(self, skey: str, default=None):
        if skey in self.changes:
            doc = self.changes[skey]
            return default if doc is _DELETED else doc
        return self.base.get(skey, default)

    def __setitem__(self, key, value):
        self.changes[str(key)] = value

    def __delitem__(self, key):
        skey = str(key)
        if skey not in self:
            raise KeyError(key)
        self.changes[skey] = _DELETED

    def __contains__(self, key):
        skey = str(key)
        if skey in self.changes:
            return self.changes[skey] is not _DELETED
        return skey in self.base

    def _string_keys(self) -> Iterator[str]:
        for skey in self.base:
            if self.changes.get(skey, None) is not _DELETED:
                yield skey
        for skey, doc in self.changes.items():
            if skey not in self.base and doc is not _DELETED:
                yield skey

    def __iter__(self):
        for skey in list(self._string_keys()):
            yield self.key_type(skey)

    def __len__(self):
        return sum(1 for _ in self._string_keys())

    def raw_items(self) -> Iterator[tuple[str, dict]]:
        for skey in self._string_keys():
            yield skey, self.get_raw(skey)


class _ReadView(MutableMapping):
    """String-keyed read view of an overlay, for TinyDB's read paths inside a transaction."""

    def __init__(self, overlay: _TableOverlay):
        self.overlay = overlay

    def __getitem__(self, skey):
        doc = self.overlay.get_raw(str(skey), _DELETED)
        if doc is _DELETED:
            raise KeyError(skey)
        return doc

    def __iter__(self):
        return iter(list(self.overlay._string_keys()))

    def __len__(self):
        return len(self.overlay)

    def __setitem__(self, key, value):  # pragma: no cover - TinyDB never writes here
        raise TypeError("read-only view")

    def __delitem__(self, key):  # pragma: no cover
        raise TypeError("read-only view")

    def items(self):
        return list(self.overlay.raw_items())


# The snapshot is one JSON object of tables of documents, written one document per line:
#
#     {
#     "papers":{
#     "1":{"title":...},
#     "2":{"title":...}
#     },
#     "_meta":{
#     "1":{"seq":...}
#     }
#     }
#
# Still plain JSON (TinyDB's own layout, readable by anything), but it is written and read a
# line at a time: a large library is never held as one ~100 MB string beside its documents.
_SNAPSHOT_START = b"{\n"


def _snapshot_lines(data: dict) -> Iterator[bytes]:
    yield _SNAPSHOT_START
    names = list(data)
    for number, name in enumerate(names, 1):
        yield _dumps(name) + b":{\n"
        items = list(data[name].items())
        for position, (key, document) in enumerate(items, 1):
            yield _dumps(str(key)) + b":" + _dumps(document) + (b",\n" if position < len(items) else b"\n")
        yield b"},\n" if number < len(names) else b"}\n"
    yield b"}\n"


def _parse_snapshot_lines(lines: Iterable[bytes]) -> dict:
    """The tables of a snapshot in the layout above (after its first line); ValueError if
    it is not exactly that (a torn or edited file)."""
    tables: dict[str, dict] = {}
    table: dict | None = None
    more_tables = True      # the last table line ended with a comma (or none was read yet)
    more_documents = False  # the last document line ended with a comma
    ended = False
    for line in lines:
        if ended:
            if line.strip():
                raise ValueError("text after the end of the snapshot")
            continue
        if not line.endswith(b"\n"):
            raise ValueError("the snapshot ends in the middle of a line")
        if table is None:
            if line == b"}\n" and not (more_tables and tables):
                ended = True
                continue
            if not more_tables or not line.endswith(b":{\n"):
                raise ValueError("a table was expected in the snapshot")
            name = _loads(line[:-3])
            if not isinstance(name, str):
                raise ValueError("a table name was expected in the snapshot")
            table = tables[name] = {}
            more_documents = False
            continue
        if line in (b"}\n", b"},\n") and not more_documents:
            table = None
            more_tables = line == b"},\n"
            continue
        more_documents = line.endswith(b",\n")
        entry = _loads(b"{" + line[:-2 if more_documents else -1] + b"}")
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError("one document per line was expected in the snapshot")
        table.update(entry)
    if not ended:
        raise ValueError("the snapshot ends early")
    return tables


def _read_snapshot(path: Path) -> tuple[dict, int]:
    with open(path, "rb") as fh, heap.collection_paused():
        first = fh.readline()
        if first == _SNAPSHOT_START:
            data = _parse_snapshot_lines(fh)
        else:  # written whole (older versions, other programs): any JSON layout
            data = _loads(first + fh.read())
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise ValueError("not a TinyDB document: tables must be objects")
    meta = data.pop(META_TABLE, {}) or {}
    seq = meta.get("1", {}).get("seq", 0) if isinstance(meta.get("1"), dict) else 0
    return data, int(seq)


def _segments(directory: Path) -> list[Path]:
    segs = [p for p in (Path(directory) / JOURNAL_DIR).glob("*.log") if p.stem.isdigit()]
    return sorted(segs, key=lambda p: int(p.stem))


def files_state(directory: str | os.PathLike) -> list[list]:
    """Name, size and modification time of every file the stored data is read from.

    Equal states mean nothing was written in between (every change appends to a journal
    segment or replaces a snapshot), so data derived from the library at one moment can
    be trusted at the other without reading the library itself."""
    directory = Path(directory)
    state = []
    for path in [directory / SNAPSHOT_NAME, directory / PREVIOUS_SNAPSHOT_NAME,
                 *_segments(directory)]:
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        state.append([str(path.relative_to(directory)), info.st_size, info.st_mtime_ns])
    return state


@dataclass
class Recovered:
    """What a storage folder holds, read without changing anything."""
    tables: dict
    seq: int
    snapshot_seq: int | None
    warnings: list[str] = field(default_factory=list)
    damaged: list[Path] = field(default_factory=list)
    torn_tail: tuple[Path, int] | None = None


def recover(directory: str | os.PathLike) -> Recovered:
    """Read the newest readable snapshot and replay the journal after it (read-only).

    Raises :class:`StorageDamaged` when a snapshot is unreadable and nothing else can
    rebuild it.
    """
    directory = Path(directory)
    found = Recovered(tables={}, seq=0, snapshot_seq=None)
    loaded = False
    for name in (SNAPSHOT_NAME, PREVIOUS_SNAPSHOT_NAME):
        path = directory / name
        if not path.exists():
            continue
        try:
            found.tables, found.seq = _read_snapshot(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            found.damaged.append(path)
            found.warnings.append(f"{path.name} could not be read ({exc}); using older data")
            continue
        loaded = True
        if name == SNAPSHOT_NAME:
            found.snapshot_seq = found.seq
        break
    segments = _segments(directory)
    if not loaded and found.damaged and not segments:
        raise StorageDamaged(
            f"the library file {found.damaged[0]} is damaged and there is nothing to rebuild "
            "it from. Nothing was changed. Move it away to start an empty library, or restore "
            "a backup into its place.")
    expected = None
    for index, seg in enumerate(segments):
        is_last = index == len(segments) - 1
        if not is_last and int(segments[index + 1].stem) - 1 <= found.seq:
            continue  # a segment is named by its first change: this one ends before the snapshot
        content = seg.read_bytes()
        offset = 0
        for line in content.splitlines(keepends=True):
            record = _decode_line(line)
            if record is None:
                if is_last and offset + len(line) == len(content):
                    # The process died while writing this line: it was never acknowledged.
                    found.torn_tail = (seg, offset)
                    break
                found.damaged.append(seg)
                found.warnings.append(
                    f"journal {seg.name} is damaged at byte {offset}; changes after that "
                    "point in it could not be recovered")
                break
            offset += len(line)
            rseq = record["seq"]
            if rseq <= found.seq:
                continue
            if expected is not None and rseq != expected:
                found.warnings.append(f"journal gap before change {rseq}")
            JournalStorage._apply_record(found.tables, record)
            found.seq = rseq
            expected = rseq + 1
    found.damaged = list(dict.fromkeys(found.damaged))
    return found


def read_tables(directory: str | os.PathLike) -> dict:
    """Every table of a storage folder, read-only (safe while a server has it open)."""
    return recover(directory).tables


class JournalStorage(Storage):
    """A TinyDB storage: an in-memory copy of all tables, a journal and snapshots on disk."""

    def __init__(self, directory: str | os.PathLike, *, snapshot_every: int = 5000,
                 snapshot_bytes: int = 64 * 1024 * 1024, background_snapshots: bool = True,
                 durable: bool = True):
        self.directory = Path(directory)
        self.snapshot_every = snapshot_every
        self.snapshot_bytes = snapshot_bytes
        self.background_snapshots = background_snapshots
        self.durable = durable
        self.warnings: list[str] = []
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, dict]] = {}
        self._seq = 0
        self._txn: dict[str, _TableOverlay] | None = None
        self._txn_depth = 0
        self._journal_fh = None
        self._journal_records = 0
        self._journal_bytes = 0
        self._snapshot_thread: threading.Thread | None = None
        self._snapshot_error: str | None = None
        self._snapshot_seq: int | None = None  # seq of library.json as it is on disk
        self._closed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / JOURNAL_DIR).mkdir(exist_ok=True)
        self._load()
        self._open_new_segment()

    # ------------------------------------------------------------------ loading
    def _segments(self) -> list[Path]:
        return _segments(self.directory)

    def _load(self) -> None:
        found = recover(self.directory)
        self.warnings.extend(found.warnings)
        self._tables, self._seq, self._snapshot_seq = found.tables, found.seq, found.snapshot_seq
        if found.damaged:
            aside = self.directory / time.strftime("damaged-%Y%m%d-%H%M%S")
            aside.mkdir(exist_ok=True)
            for path in found.damaged:
                shutil.copy2(path, aside / path.name)
            self.warnings.append(f"damaged files were kept in {aside}")
        if found.torn_tail is not None:
            seg, offset = found.torn_tail
            with open(seg, "r+b") as fh:
                fh.truncate(offset)
                os.fsync(fh.fileno())
        for leftover in self.directory.glob(".*.tmp"):
            # A snapshot write that a crash cut short: never part of the data.
            leftover.unlink(missing_ok=True)
        if found.damaged:
            # Make what was recovered the new base, so the damaged files are not read again.
            self._write_snapshot_now()
            for path in found.damaged:
                if path.parent.name == JOURNAL_DIR:
                    path.unlink(missing_ok=True)  # its copy is kept with the other damage

    @staticmethod
    def _apply_record(tables: dict, record: dict) -> None:
        if "replace" in record:
            tables.clear()
            tables.update(json.loads(json.dumps(record["replace"])))
            return
        for table_name, docs in record.get("changes", {}).items():
            table = tables.setdefault(table_name, {})
            for skey, doc in docs.items():
                if doc is None:
                    table.pop(skey, None)
                else:
                    table[skey] = doc

    # ------------------------------------------------------------------ TinyDB interface
    def read(self) -> dict:
        if self._txn is not None:
            merged = dict(self._tables)
            for name, overlay in self._txn.items():
                merged[name] = dict(overlay.raw_items())
            return merged
        return self._tables

    def write(self, data: dict) -> None:
        """Whole-database write: only TinyDB's rare table drops come here."""
        with self._lock:
            if self._txn is not None:
                raise StorageError("whole-database writes are not allowed inside a transaction")
            data = json_copy(data)
            self._append({"replace": data})
            self._tables = data

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wait_for_snapshot()
        with self._lock:
            if self._journal_records:
                try:
                    self._write_snapshot_now()
                except OSError as exc:
                    # Nothing is lost: the journal holds every change and the next start
                    # reads it. (A full disk must not turn a clean stop into a crash.)
                    self.warnings.append(f"the closing snapshot could not be written "
                                         f"({exc.strerror or exc}); the journal has every change")
            if self._journal_fh:
                self._journal_fh.close()
                self._journal_fh = None

    # ------------------------------------------------------------------ table access
    def table_for_reading(self, name: str) -> MutableMapping | dict:
        if self._txn is not None and name in self._txn:
            return _ReadView(self._txn[name])
        return self._tables.get(name, {})

    def update_table(self, name: str, updater: Callable[[MutableMapping], None],
                     key_type: Callable[[str], Any] = int) -> None:
        with self.transaction():
            overlay = self._txn.get(name)
            if overlay is None:
                overlay = self._txn[name] = _TableOverlay(self._tables.get(name, {}), key_type)
            updater(overlay)

    @contextmanager
    def transaction(self):
        """Group several table updates into one journal record: all of them or none."""
        with self._lock:
            if self._closed:
                raise StorageError("the storage is closed")
            outer = self._txn is None
            if outer:
                self._txn = {}
            try:
                yield
            except BaseException:
                if outer:
                    self._txn = None
                raise
            if not outer:
                return
            txn, self._txn = self._txn, None
            changes: dict[str, dict] = {}
            for name, overlay in txn.items():
                table_changes = {}
                for skey, doc in overlay.changes.items():
                    if doc is _DELETED:
                        if skey in overlay.base:
                            table_changes[skey] = None
                    elif overlay.base.get(skey) != doc:
                        table_changes[skey] = doc
                if table_changes:
                    changes[name] = table_changes
            if not changes:
                return
            record = {"changes": changes}
            # Serialising first means a value JSON cannot hold fails here, before disk.
            stored = json_copy(changes)
            self._append(record)
            for name, docs in stored.items():
                table = self._tables.setdefault(name, {})
                for skey, doc in docs.items():
                    if doc is None:
                        table.pop(skey, None)
                    else:
                        table[skey] = doc
            self._maybe_snapshot()

    @property
    def seq(self) -> int:
        return self._seq

    # ------------------------------------------------------------------ journal
    def _open_new_segment(self) -> None:
        if self._journal_fh:
            self._journal_fh.close()
        path = self.directory / JOURNAL_DIR / f"{self._seq + 1:012d}.log"
        # Unbuffered: a write that failed (disk full) must not linger in a buffer and reach
        # the file later, after the change was refused.
        self._journal_fh = open(path, "ab", buffering=0)
        self._journal_records = 0
        self._journal_bytes = 0
        _fsync_dir(path.parent)

    def _append(self, record: dict) -> None:
        record = {"seq": self._seq + 1, "time": round(time.time(), 3), **record}
        line = _encode_line(record)
        fh = self._journal_fh
        # The true end of the file: after a failed write the file position may be past it.
        start = os.lseek(fh.fileno(), 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:  # a full disk can take part of a write before it refuses the rest
                view = view[fh.write(view):]
            if self.durable:
                os.fsync(fh.fileno())
        except OSError as exc:
            # Leave no partial line behind: the next append must start on a clean line.
            try:
                os.ftruncate(fh.fileno(), start)
            except OSError:
                pass
            raise StorageError(f"could not write to the library journal: {exc.strerror or exc}") from exc
        self._seq += 1
        self._journal_records += 1
        self._journal_bytes += len(line)

    # ------------------------------------------------------------------ snapshots
    def _maybe_snapshot(self) -> None:
        if self._journal_records < self.snapshot_every and self._journal_bytes < self.snapshot_bytes:
            return
        if self._snapshot_thread is not None and self._snapshot_thread.is_alive():
            return
        if not self.background_snapshots:
            self._write_snapshot_now()
            return
        frozen, seq = self._freeze()
        self._open_new_segment()
        self._snapshot_thread = threading.Thread(
            target=self._snapshot_worker, args=(frozen, seq), name="papershelf-snapshot",
            daemon=True)
        self._snapshot_thread.start()

    def _freeze(self) -> tuple[dict, int]:
        # Documents are replaced, never changed in place, so shallow copies are a
        # consistent picture even while later transactions go on.
        return {name: dict(table) for name, table in self._tables.items()}, self._seq

    def _snapshot_worker(self, frozen: dict, seq: int) -> None:
        try:
            self._store_snapshot(frozen, seq)
            self._snapshot_error = None
        except Exception as exc:  # noqa: BLE001 - reported, retried at the next threshold
            self._snapshot_error = str(exc)

    def _write_snapshot_now(self) -> None:
        frozen, seq = self._freeze()
        self._open_new_segment()
        self._store_snapshot(frozen, seq)

    def _store_snapshot(self, frozen: dict, seq: int) -> None:
        data = dict(frozen)
        data[META_TABLE] = {"1": {"seq": seq, "written_at": time.time()}}
        current = self.directory / SNAPSHOT_NAME
        previous = self.directory / PREVIOUS_SNAPSHOT_NAME
        previous_seq = 0
        if self._snapshot_seq is not None and current.exists():
            # The current snapshot becomes the fallback; a damaged one is never kept as such.
            previous_seq = self._snapshot_seq
            os.replace(current, previous)
        write_atomically(current, _snapshot_lines(data))
        self._snapshot_seq = seq
        # A segment may go once the previous snapshot (the fallback) covers all of it.
        segments = self._segments()
        for seg, nxt in zip(segments, segments[1:]):
            if int(nxt.stem) - 1 <= previous_seq:
                seg.unlink(missing_ok=True)

    def _wait_for_snapshot(self) -> None:
        thread = self._snapshot_thread
        if thread is not None:
            thread.join()

    def snapshot(self) -> None:
        """Write a snapshot now (used by backup and at shutdown)."""
        self._wait_for_snapshot()
        with self._lock:
            self._write_snapshot_now()

    def consistent_copy(self) -> tuple[dict, int]:
        """Every table as of one moment between transactions, and the number of the last
        change it holds (for backups). Taken under the write lock; documents are replaced,
        never changed in place, so the copy can be serialised after the lock is released."""
        with self._lock:
            return self._freeze()


class JournaledTable(Table):
    """A TinyDB table whose writes touch only the changed documents."""

    def _read_table(self):
        return self._storage.table_for_reading(self.name)

    def _update_table(self, updater):
        self.clear_cache()
        self._storage.update_table(self.name, updater, self.document_id_class)

    def replace(self, doc_id: int, document: dict) -> None:
        """Store ``document`` as the whole of document ``doc_id`` (inserted if new).

        Unlike ``update``, nothing is read first: the old document is not copied only to
        be cleared."""
        def updater(table):
            table[doc_id] = dict(document)
        self._update_table(updater)


class LibraryDB(TinyDB):
    """TinyDB on a :class:`JournalStorage` directory."""

    table_class = JournaledTable

    def __init__(self, directory: str | os.PathLike, **storage_options):
        super().__init__(str(directory), storage=JournalStorage, **storage_options)

    def transaction(self):
        return self.storage.transaction()
