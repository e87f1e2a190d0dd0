"""Keeping a library safe: backups, consistency checks, repairs and restores.

Owns the whole-library operations a user runs rarely and must be able to trust:

* a *backup* is one self-contained file, plain TinyDB JSON (the format of
  ``library.json``), holding every table as of one moment between two changes. A running
  server takes it under its storage's write lock (``GET /api/backup``); a stopped library
  is read from its files without changing them.
* a *check* verifies the files (journal checksums and change numbers, both snapshots) and
  what they hold (every paper record, ids against the stored counter, one live paper per
  arXiv id, unique citation keys, one spelling per tag). Reading only.
* a *repair* copies the library folder aside first (``before-repair-<time>/``), then
  rebuilds what the storage can recover and fixes the records it can; what it cannot fix
  it reports.
* a *restore* puts a backup in place of the library, moving the current library folder
  aside (``library-before-restore-<time>/``), never deleting it.

Nothing here speaks HTTP or parses command lines; the CLI and the API call in.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import __version__, citekeys, records
from . import tags as tagmod
from .config import library_dir
from .storage import (JOURNAL_DIR, META_TABLE, PREVIOUS_SNAPSHOT_NAME, SNAPSHOT_NAME,
                      LibraryDB, StorageDamaged, _decode_line, recover, write_atomically)

BACKUP_KIND = "papershelf-backup"
PAPERS = "papers"
META = "meta"
FLAGS = "duplicate_flags"
CHUNK = 64 * 1024


class MaintenanceError(Exception):
    """The operation cannot be done; the message says why and what to do instead."""


# ----------------------------------------------------------------------------- backups
def _backup_document(tables: dict, seq: int) -> dict:
    data = dict(tables)
    data[META_TABLE] = {"1": {"seq": seq, "written_at": time.time(), "kind": BACKUP_KIND,
                              "app_version": __version__}}
    return data


def backup_chunks(storage) -> Iterator[bytes]:
    """A running library's backup, as chunks of bytes to stream.

    The tables are copied under the storage's write lock (a moment between two changes);
    encoding happens afterwards, while changes go on."""
    tables, seq = storage.consistent_copy()
    # ASCII with escapes, as TinyDB writes its files: any text at all survives the trip.
    encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
    pending: list[str] = []
    size = 0
    for piece in encoder.iterencode(_backup_document(tables, seq)):
        pending.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode("utf-8")


def backup_from_files(data_dir: Path) -> tuple[bytes, list[str]]:
    """A stopped library's backup, read from its files without changing them; and the
    warnings of that reading (damage that was worked around)."""
    folder = library_dir(data_dir)
    try:
        found = recover(folder)
    except StorageDamaged as exc:
        raise MaintenanceError(str(exc)) from None
    payload = json.dumps(_backup_document(found.tables, found.seq), ensure_ascii=True,
                         separators=(",", ":")).encode("utf-8")
    return payload, list(found.warnings)


def parse_backup(payload: bytes, name: str = "the backup") -> dict:
    """The tables of a backup (or of any library.json); raises MaintenanceError if it is
    not one."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MaintenanceError(f"{name} is not a Papershelf backup: it is not complete JSON "
                               f"({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise MaintenanceError(f"{name} is not a Papershelf backup: it is not a TinyDB file of tables")
    data.pop(META_TABLE, None)
    return data


def backup_seq(payload: bytes) -> int:
    meta = json.loads(payload).get(META_TABLE) or {}
    entry = meta.get("1") if isinstance(meta, dict) else None
    seq = entry.get("seq", 0) if isinstance(entry, dict) else 0
    return seq if isinstance(seq, int) and seq >= 0 else 0


def write_backup(path: Path, payload: bytes) -> None:
    """Check the payload is a whole backup, then write it atomically to ``path``."""
    parse_backup(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, payload)


def default_backup_name() -> str:
    return time.strftime("papershelf-backup-%Y%m%d-%H%M%S.json")


# ----------------------------------------------------------------------------- checking
@dataclass
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Report:
    """What a check found; ``problems`` empty means the library is sound."""
    problems: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    papers: int = 0
    trash: int = 0
    kept_in: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Finding(where, message))


_STRING_OR_NULL = ("added_at", "updated_at", "deleted_at", "citation_key")


def _invalid_fields(doc: dict) -> dict[str, records.ValidationError]:
    """The metadata fields (but the title) whose value a card could not carry."""
    out = {}
    for name, check in records.METADATA_FIELDS.items():
        if name in doc and name != "title":
            try:
                check(doc[name], name)
            except records.ValidationError as exc:
                out[name] = exc
    return out


def paper_problems(doc: Any) -> list[str]:
    """What is wrong with one stored paper record (empty: it is whole and valid)."""
    if not isinstance(doc, dict):
        return [f"is not a record (a {type(doc).__name__})"]
    out = []
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        out.append("has no title")
    out.extend(f"{exc.field} {exc.message}" for exc in _invalid_fields(doc).values())
    tags = doc.get("tags", [])
    if not isinstance(tags, list):
        out.append("tags is not a list")
    else:
        idents = set()
        for tag in tags:
            try:
                if tagmod.clean(tag) != tag:
                    out.append(f"tag {tag!r} is not in its stored form")
            except ValueError as exc:
                out.append(f"tag {str(tag)[:40]!r}: {exc}")
                continue
            if tagmod.identity(tag) in idents:
                out.append(f"tag {tag!r} is on the paper twice")
            idents.add(tagmod.identity(tag))
    if not isinstance(doc.get("notes", ""), str):
        out.append("notes is not text")
    for name in ("read", "starred"):
        if not isinstance(doc.get(name, False), bool):
            out.append(f"{name} is not true or false")
    for name in _STRING_OR_NULL:
        if doc.get(name) is not None and not isinstance(doc.get(name), str):
            out.append(f"{name} is not text")
    sightings = doc.get("sightings", [])
    if not isinstance(sightings, list) or not all(
            isinstance(s, dict) and isinstance(s.get("seen_at"), str) for s in sightings):
        out.append("sightings are not a list of dated sightings")
    aliases = doc.get("key_aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        out.append("key_aliases is not a list of keys")
    rev = doc.get("rev", 1)
    if isinstance(rev, bool) or not isinstance(rev, int):
        out.append("rev is not a number")
    return out


def check_tables(tables: dict, report: Report) -> None:
    """Check what a library holds (records and the rules between them)."""
    papers = tables.get(PAPERS, {})
    if not isinstance(papers, dict):
        report.problem("papers", "the papers table is not a table")
        return
    ids: list[int] = []
    live_arxiv: dict[str, list[int]] = {}
    keys: dict[str, list[int]] = {}
    spellings: dict[str, Counter] = {}
    for skey, doc in papers.items():
        if not skey.isdigit() or int(skey) <= 0:
            report.problem(f"paper {skey!r}", "has an id that is not a positive whole number")
            continue
        doc_id = int(skey)
        ids.append(doc_id)
        for message in paper_problems(doc):
            report.problem(f"paper {doc_id}", message)
        if not isinstance(doc, dict):
            continue
        if doc.get("deleted_at"):
            report.trash += 1
        else:
            report.papers += 1
            if isinstance(doc.get("arxiv_id"), str):
                live_arxiv.setdefault(doc["arxiv_id"], []).append(doc_id)
            if isinstance(doc.get("tags"), list):
                for tag in doc["tags"]:
                    if isinstance(tag, str):
                        spellings.setdefault(tagmod.identity(tag), Counter())[tag] += 1
        aliases = doc.get("key_aliases")
        own = [doc.get("citation_key")] + (aliases if isinstance(aliases, list) else [])
        for key in dict.fromkeys(k.lower() for k in own if isinstance(k, str) and k):
            keys.setdefault(key, []).append(doc_id)
    meta = tables.get(META, {}).get("1") if isinstance(tables.get(META), dict) else None
    counter = meta.get("last_paper_id", 0) if isinstance(meta, dict) else 0
    if ids and (not isinstance(counter, int) or counter < max(ids)):
        report.problem("ids", f"the id counter ({counter}) is below the highest paper id "
                              f"({max(ids)}): a new paper could reuse an id")
    for arxiv, holders in sorted(live_arxiv.items()):
        if len(holders) > 1:
            report.problem(f"arXiv {arxiv}", f"is held by {len(holders)} papers "
                                             f"({', '.join(map(str, sorted(holders)))})")
    for key, holders in sorted(keys.items()):
        if len(holders) > 1:
            report.problem(f"citation key {key}", "is used by papers "
                                                  f"{', '.join(map(str, sorted(holders)))}")
    for ident, used in sorted(spellings.items()):
        if len(used) > 1:
            report.problem(f"tag {ident}", "is spelled in several ways: "
                                           + ", ".join(repr(s) for s in sorted(used)))
    flags = tables.get(FLAGS, {})
    if isinstance(flags, dict):
        known = set(ids)
        for skey, row in flags.items():
            if not isinstance(row, dict) or row.get("a") not in known or row.get("b") not in known:
                report.problem(f"duplicate flag {skey}", "refers to a paper that does not exist")


def _snapshot_problem(path: Path) -> str | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return f"cannot be read ({exc})"
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        return "is not a TinyDB file of tables"
    return None


def _snapshot_seq(path: Path) -> int | None:
    try:
        meta = json.loads(path.read_bytes()).get(META_TABLE) or {}
        return int(meta["1"]["seq"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def temp_leftovers(folder: Path) -> list[Path]:
    """Temporary files of snapshot writes that were cut short (never part of the data)."""
    return sorted(p for p in folder.glob(".*.tmp") if p.is_file())


def check_files(folder: Path, report: Report, *, server_running: bool = False) -> dict | None:
    """Check the storage files of a library folder; the recovered tables, or None if
    nothing can be recovered (or a server has the folder open)."""
    if not folder.exists():
        report.notes.append(f"{folder} does not exist yet: an empty library")
        return {}
    base_seq = None
    for name in (SNAPSHOT_NAME, PREVIOUS_SNAPSHOT_NAME):
        path = folder / name
        if not path.exists():
            continue
        problem = _snapshot_problem(path)
        if problem:
            report.problem(name, problem)
        elif base_seq is None:
            base_seq = _snapshot_seq(path) or 0
    segments = sorted((p for p in (folder / JOURNAL_DIR).glob("*.log") if p.stem.isdigit()),
                      key=lambda p: int(p.stem))
    last_seq = None
    for index, seg in enumerate(segments):
        try:
            content = seg.read_bytes()
        except FileNotFoundError:
            continue  # trimmed by the running server after a snapshot, just now
        offset = 0
        for line in content.splitlines(keepends=True):
            record = _decode_line(line)
            if record is None:
                if index == len(segments) - 1 and offset + len(line) == len(content):
                    report.notes.append(
                        f"journal {seg.name} ends in an unfinished change "
                        + ("(being written now)" if server_running else
                           "(cut short by a crash, never acknowledged; dropped at the next start)"))
                elif index + 1 < len(segments) and int(segments[index + 1].stem) - 1 <= (base_seq or 0):
                    report.notes.append(f"journal {seg.name} is damaged at byte {offset}, but the "
                                        "snapshot holds every change in it")
                else:
                    report.problem(f"journal {seg.name}", f"is damaged at byte {offset} "
                                                          "(checksum or format)")
                last_seq = None  # said once: the jump to the next segment follows from it
                break
            seq = record["seq"]
            if last_seq is not None and seq != last_seq + 1:
                report.problem(f"journal {seg.name}", f"change numbers jump from {last_seq} to {seq}")
            elif last_seq is None and base_seq is not None and seq > base_seq + 1:
                report.problem(f"journal {seg.name}", f"starts at change {seq} but the snapshot "
                                                      f"holds changes up to {base_seq} only")
            last_seq = seq
            offset += len(line)
    for leftover in temp_leftovers(folder):
        report.notes.append(f"{leftover.name} is a leftover of an unfinished snapshot write")
    if server_running:
        return None  # the files change under us; the server's own copy is checked instead
    try:
        return recover(folder).tables
    except StorageDamaged as exc:
        report.problem("library", f"{exc}")
        return None


def check_library(data_dir: Path, *, tables: dict | None = None,
                  server_running: bool = False) -> Report:
    """Check a library folder. ``tables``: a consistent copy to check instead of the
    recovered files (a running server's backup)."""
    report = Report()
    recovered = check_files(library_dir(data_dir), report, server_running=server_running)
    if tables is None:
        tables = recovered
    if tables is not None:
        check_tables(tables, report)
    return report


# ----------------------------------------------------------------------------- repair
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _repair_paper(doc_id: int, doc: dict, changes: list[str]) -> dict:
    doc = json.loads(json.dumps(doc))
    where = f"paper {doc_id}"
    for name, exc in _invalid_fields(doc).items():
        changes.append(f"{where}: removed {name} ({exc.message})")
        doc.pop(name)
    if not isinstance(doc.get("title"), str) or not doc["title"].strip():
        doc["title"] = f"Untitled paper {doc_id}"
        changes.append(f"{where}: had no title; now {doc['title']!r}")
    tags = doc.get("tags", [])
    clean = []
    for tag in tags if isinstance(tags, list) else []:
        try:
            clean.append(tagmod.clean(tag))
        except ValueError:
            pass
    clean = tagmod.unique(clean)
    if clean != tags:
        changes.append(f"{where}: tags tidied ({len(clean)} kept)")
        doc["tags"] = clean
    if not isinstance(doc.get("notes", ""), str):
        doc["notes"] = ""
        changes.append(f"{where}: notes were not text; cleared")
    for name in ("read", "starred"):
        if not isinstance(doc.get(name, False), bool):
            doc[name] = bool(doc[name])
            changes.append(f"{where}: {name} set to {doc[name]}")
    for name in _STRING_OR_NULL:
        if doc.get(name) is not None and not isinstance(doc[name], str):
            doc[name] = _now() if name in ("added_at", "updated_at") else None
            changes.append(f"{where}: {name} was not text; reset")
    sightings = doc.get("sightings", [])
    good = [s for s in sightings if isinstance(s, dict) and isinstance(s.get("seen_at"), str)] \
        if isinstance(sightings, list) else []
    if good != sightings:
        doc["sightings"] = good
        dropped = len(sightings) - len(good) if isinstance(sightings, list) else "all"
        changes.append(f"{where}: dropped {dropped} unreadable sightings")
    aliases = doc.get("key_aliases", [])
    good_aliases = [a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []
    if good_aliases != aliases:
        doc["key_aliases"] = good_aliases
        changes.append(f"{where}: key aliases tidied")
    rev = doc.get("rev", 1)
    if isinstance(rev, bool) or not isinstance(rev, int):
        doc["rev"] = 1
        changes.append(f"{where}: revision number reset")
    return doc


def _repair_records(db: LibraryDB, changes: list[str]) -> list[list[int]]:
    """Fix records in one transaction; the groups of papers sharing an arXiv id (merged
    afterwards by the library's own merge)."""
    storage = db.storage
    papers = dict(storage.table_for_reading(PAPERS))
    fixed: dict[int, dict] = {}
    removed: list[int] = []
    for skey, doc in papers.items():
        if not skey.isdigit() or int(skey) <= 0 or not isinstance(doc, dict):
            removed.append(skey)
            changes.append(f"paper {skey!r}: not a paper record; removed")
            continue
        new = _repair_paper(int(skey), doc, changes)
        if new != doc:
            fixed[int(skey)] = new
    current = {int(k): fixed.get(int(k), d) for k, d in papers.items() if k not in removed}
    # One spelling per tag: the most used one among live papers (ties: the oldest paper's).
    used: dict[str, Counter] = {}
    first: dict[str, str] = {}
    for doc_id in sorted(current):
        doc = current[doc_id]
        if doc.get("deleted_at"):
            continue
        for tag in doc.get("tags", []):
            used.setdefault(tagmod.identity(tag), Counter())[tag] += 1
            first.setdefault(tagmod.identity(tag), tag)
    chosen = {ident: max(c, key=lambda s: (c[s], s == first[ident])) for ident, c in used.items()}
    for doc_id, doc in current.items():
        tags = doc.get("tags", [])
        respelled = tagmod.unique(chosen.get(tagmod.identity(t), t) for t in tags)
        if respelled != tags:
            doc = fixed[doc_id] = current[doc_id] = {**doc, "tags": respelled}
            changes.append(f"paper {doc_id}: tags respelled as elsewhere in the library")
    # Citation keys: the oldest paper keeps a key; later holders get a new one.
    taken: set[str] = set()
    for doc_id in sorted(current):
        doc = current[doc_id]
        key = doc.get("citation_key")
        if isinstance(key, str) and key:
            if key.lower() in taken:
                new_key = citekeys.make_key(doc, taken)
                doc = fixed[doc_id] = current[doc_id] = {**doc, "citation_key": new_key}
                changes.append(f"paper {doc_id}: citation key {key} was taken; now {new_key}")
            taken.add(doc["citation_key"].lower())
    for doc_id in sorted(current):
        doc = current[doc_id]
        aliases = doc.get("key_aliases", [])
        kept = [a for a in aliases if a.lower() not in taken]
        taken.update(a.lower() for a in kept)
        if kept != aliases:
            fixed[doc_id] = current[doc_id] = {**doc, "key_aliases": kept}
            changes.append(f"paper {doc_id}: key aliases used by other papers dropped")
    meta_table = db.table(META)
    meta = dict(meta_table.get(doc_id=1) or {})
    highest = max(current, default=0)
    flags_table = db.table(FLAGS)
    dangling = [row.doc_id for row in flags_table
                if row.get("a") not in current or row.get("b") not in current]
    with db.transaction():
        table = db.table(PAPERS)
        for doc_id, doc in fixed.items():
            table.replace(doc_id, doc)
        if removed:
            def drop(table):
                for skey in removed:
                    del table[skey]
            storage.update_table(PAPERS, drop, str)
        if not isinstance(meta.get("last_paper_id"), int) or meta["last_paper_id"] < highest:
            meta["last_paper_id"] = highest
            meta_table.replace(1, meta)
            changes.append(f"id counter raised to {highest}")
        if dangling:
            flags_table.remove(doc_ids=dangling)
            changes.append(f"removed {len(dangling)} duplicate flags of missing papers")
    groups: dict[str, list[int]] = {}
    for doc_id in sorted(current):
        doc = current[doc_id]
        if doc.get("arxiv_id") and not doc.get("deleted_at"):
            groups.setdefault(doc["arxiv_id"], []).append(doc_id)
    return [ids for ids in groups.values() if len(ids) > 1]


def repair_library(data_dir: Path) -> Report:
    """Repair a library that no process has open (the caller holds its lock)."""
    folder = library_dir(data_dir)
    before = check_library(data_dir)
    leftovers = temp_leftovers(folder) if folder.exists() else []
    if before.ok and not leftovers and not any("unfinished" in n for n in before.notes):
        return before
    aside = data_dir / time.strftime("before-repair-%Y%m%d-%H%M%S")
    if folder.exists():
        shutil.copytree(folder, aside, dirs_exist_ok=True)
    changes: list[str] = []
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
        changes.append(f"removed {leftover.name}")
    try:
        db = LibraryDB(folder)
    except StorageDamaged as exc:
        after = check_library(data_dir)
        after.kept_in = aside
        after.problem("repair", f"{exc} The library as it was is kept in {aside}.")
        return after
    try:
        changes.extend(db.storage.warnings)
        groups = _repair_records(db, changes)
    finally:
        db.storage.close()
    if groups:
        from .library import Library
        library = Library(folder)
        try:
            for ids in groups:
                keep, *others = ids
                for other in others:
                    library.merge(keep, other)
                    changes.append(f"paper {other} merged into paper {keep} (same arXiv id)")
        finally:
            library.close()
    after = check_library(data_dir)
    after.repaired = changes
    after.kept_in = aside
    return after


# ----------------------------------------------------------------------------- restore
def restore_library(data_dir: Path, payload: bytes, name: str) -> Report:
    """Put a backup in place of the library (no process has it open: the caller holds its
    lock). The current library folder is moved aside, never deleted."""
    tables = parse_backup(payload, name)
    report = Report()
    check_tables(tables, report)
    if any(f.where == "papers" for f in report.problems):
        raise MaintenanceError(f"{name} has no usable papers table; nothing was changed")
    folder = library_dir(data_dir)
    aside = None
    if folder.exists():
        aside = data_dir / time.strftime("library-before-restore-%Y%m%d-%H%M%S")
        os.rename(folder, aside)
    try:
        (folder / JOURNAL_DIR).mkdir(parents=True)
        seq = backup_seq(payload)
        document = {**tables, META_TABLE: {"1": {"seq": seq, "written_at": time.time(),
                                                 "restored_from": str(name)}}}
        write_atomically(folder / SNAPSHOT_NAME, json.dumps(
            document, ensure_ascii=True, separators=(",", ":")).encode("utf-8"))
        from .library import Library
        Library(folder).close()  # it must open as a library before it replaces one
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if aside is not None:
            os.rename(aside, folder)
        raise
    report.kept_in = aside
    return report
