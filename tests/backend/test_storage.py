"""The journaled storage: durable, atomic, loadable after any crash, cheap per write."""

import json
import os
from pathlib import Path

import pytest
from tinydb import TinyDB

from papershelf.storage import (JOURNAL_DIR, PREVIOUS_SNAPSHOT_NAME, SNAPSHOT_NAME,
                                LibraryDB, StorageDamaged, StorageError)


def journal_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in (directory / JOURNAL_DIR).glob("*.log"))


def reopen(directory, **options):
    db = LibraryDB(directory, **options)
    return db, db.table("papers")


def test_changes_survive_without_a_clean_close(tmp_path):
    db, papers = reopen(tmp_path)
    ids = [papers.insert({"title": f"paper {i}"}) for i in range(20)]
    papers.update({"title": "edited"}, doc_ids=[ids[3]])
    papers.remove(doc_ids=[ids[4]])
    # No close(): the process "dies" here.
    db2, papers2 = reopen(tmp_path)
    assert len(papers2) == 19
    assert papers2.get(doc_id=ids[3])["title"] == "edited"
    assert papers2.get(doc_id=ids[4]) is None
    assert db2.storage.warnings == []


def test_a_transaction_is_all_or_nothing(tmp_path):
    db, papers = reopen(tmp_path)
    papers.insert({"title": "kept"})
    with pytest.raises(RuntimeError):
        with db.transaction():
            papers.insert({"title": "half"})
            papers.update({"title": "changed"}, doc_ids=[1])
            raise RuntimeError("crash in the middle")
    assert [d["title"] for d in papers] == ["kept"]
    _, again = reopen(tmp_path)
    assert [d["title"] for d in again] == ["kept"]


def test_a_value_json_cannot_hold_changes_nothing(tmp_path):
    db, papers = reopen(tmp_path)
    papers.insert({"title": "kept"})
    with pytest.raises(TypeError):
        papers.insert({"title": object()})
    assert len(papers) == 1
    papers.insert({"title": "next"})  # the journal is still usable
    _, again = reopen(tmp_path)
    assert sorted(d["title"] for d in again) == ["kept", "next"]


def test_torn_last_line_is_cut_at_every_offset(tmp_path):
    """A power cut at any byte of the last write loses only that unacknowledged write."""
    db, papers = reopen(tmp_path, background_snapshots=False)
    for i in range(5):
        papers.insert({"title": f"paper {i}", "abstract": "x" * 50})
    segment = max((tmp_path / JOURNAL_DIR).glob("*.log"), key=lambda p: p.stat().st_size)
    full = segment.read_bytes()
    last_start = full.rstrip(b"\n").rfind(b"\n") + 1
    db.storage.close()
    for cut in range(last_start, len(full)):
        segment.write_bytes(full[:cut])
        for other in (tmp_path / JOURNAL_DIR).glob("*.log"):
            if other != segment:
                other.unlink()
        (tmp_path / SNAPSHOT_NAME).unlink(missing_ok=True)
        (tmp_path / PREVIOUS_SNAPSHOT_NAME).unlink(missing_ok=True)
        db2, again = reopen(tmp_path)
        assert len(again) == 4, f"cut at byte {cut}"
        assert db2.storage.warnings == []
        db2.storage._journal_fh.close()


def test_write_cost_does_not_grow_with_the_library(tmp_path):
    db, papers = reopen(tmp_path, snapshot_every=10**9, snapshot_bytes=10**12)
    record = {"title": "t" * 200, "abstract": "a" * 1200, "authors": ["A B"] * 5}
    papers.insert_multiple([dict(record) for _ in range(50)])
    before = journal_bytes(tmp_path)
    papers.update({"upvotes": 1}, doc_ids=[10])
    small = journal_bytes(tmp_path) - before
    papers.insert_multiple([dict(record) for _ in range(5000)])
    before = journal_bytes(tmp_path)
    papers.update({"upvotes": 2}, doc_ids=[10])
    large = journal_bytes(tmp_path) - before
    # Equal but for the digits of the sequence number.
    assert small > 0 and abs(small - large) <= 8, (small, large)
    assert not (tmp_path / SNAPSHOT_NAME).exists()


def test_snapshot_is_plain_tinydb_json(tmp_path):
    db, papers = reopen(tmp_path, snapshot_every=10)
    for i in range(25):
        papers.insert({"title": f"paper {i}"})
    db.storage.close()
    plain = TinyDB(tmp_path / SNAPSHOT_NAME)
    assert len(plain.table("papers")) == 25
    plain.close()


def test_journal_is_trimmed_after_snapshots(tmp_path):
    db, papers = reopen(tmp_path, snapshot_every=50, background_snapshots=False)
    for i in range(400):
        papers.insert({"title": f"paper {i}"})
    segments = list((tmp_path / JOURNAL_DIR).glob("*.log"))
    assert len(segments) <= 3
    _, again = reopen(tmp_path)
    assert len(again) == 400


def test_damaged_snapshot_is_kept_aside_and_rebuilt_from_the_previous_one(tmp_path):
    db, papers = reopen(tmp_path, snapshot_every=30, background_snapshots=False)
    for i in range(100):
        papers.insert({"title": f"paper {i}"})
    db.storage._journal_fh.close()
    snapshot = tmp_path / SNAPSHOT_NAME
    damaged_bytes = snapshot.read_bytes()[:-40] + b"garbage"
    snapshot.write_bytes(damaged_bytes)
    db2, again = reopen(tmp_path)
    assert len(again) == 100
    assert any("could not be read" in w for w in db2.storage.warnings)
    kept = list(tmp_path.glob("damaged-*/" + SNAPSHOT_NAME))
    assert kept and kept[0].read_bytes() == damaged_bytes, "the damaged file is kept as it was"


def test_damaged_file_with_nothing_to_rebuild_from_is_not_overwritten(tmp_path):
    snapshot = tmp_path / SNAPSHOT_NAME
    snapshot.write_bytes(b'{"papers": {"1": {"title": "precious"')
    with pytest.raises(StorageDamaged) as info:
        LibraryDB(tmp_path)
    assert "Nothing was changed" in str(info.value)
    assert snapshot.read_bytes() == b'{"papers": {"1": {"title": "precious"'


def test_corrupt_line_in_the_middle_of_the_journal_is_reported(tmp_path):
    db, papers = reopen(tmp_path)
    for i in range(6):
        papers.insert({"title": f"paper {i}"})
    db.storage._journal_fh.close()
    segment = max((tmp_path / JOURNAL_DIR).glob("*.log"), key=lambda p: p.stat().st_size)
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"paper 2", b"paper X")  # checksum no longer matches
    segment.write_bytes(b"".join(lines))
    db2, again = reopen(tmp_path)
    assert len(again) == 2
    assert any("damaged" in w for w in db2.storage.warnings)
    assert list(tmp_path.glob("damaged-*/*.log")), "the damaged journal is kept aside"


def test_failed_disk_write_leaves_memory_and_disk_unchanged(tmp_path, monkeypatch):
    db, papers = reopen(tmp_path)
    papers.insert({"title": "kept"})
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match="No space left"):
        papers.insert({"title": "lost"})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert [d["title"] for d in papers] == ["kept"]
    papers.insert({"title": "after"})
    _, again = reopen(tmp_path)
    assert sorted(d["title"] for d in again) == ["after", "kept"]


def test_read_tables_changes_nothing_on_disk(tmp_path):
    from papershelf.storage import read_tables
    db, papers = reopen(tmp_path)
    papers.insert({"title": "one"})
    segment = max((tmp_path / JOURNAL_DIR).glob("*.log"), key=lambda p: p.stat().st_size)
    with open(segment, "ab") as fh:
        fh.write(b"0000abcd {\"seq\": 99, \"chan")  # a write in progress
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    tables = read_tables(tmp_path)
    assert [d["title"] for d in tables["papers"].values()] == ["one"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_snapshot_is_plain_json_one_document_a_line_and_a_cut_one_is_refused(tmp_path):
    db, papers = reopen(tmp_path)
    for i in range(5):
        papers.insert({"title": f"paper {i}\nwith a newline", "tags": ["a", "b"]})
    db.table("flags")  # an empty table is written too
    db.storage.snapshot()
    db.close()
    raw = (tmp_path / SNAPSHOT_NAME).read_bytes()
    whole = json.loads(raw)  # any JSON reader takes it
    assert [d["title"] for d in whole["papers"].values()] == [f"paper {i}\nwith a newline" for i in range(5)]
    lines = raw.split(b"\n")
    assert lines[0] == b"{" and sum(line.startswith(b'"') and b'"title"' in line for line in lines) == 5
    db, papers = reopen(tmp_path)
    assert len(papers) == 5
    db.close()
    # Cut at a line boundary (every line whole, the end missing): damaged, not a shorter library.
    from papershelf.storage import _read_snapshot
    cut = tmp_path / "cut.json"
    cut.write_bytes(b"\n".join(lines[:4]) + b"\n")
    with pytest.raises(ValueError):
        _read_snapshot(cut)
    # A snapshot written whole on one line (older versions, other programs) still loads.
    cut.write_bytes(json.dumps(whole).encode())
    assert len(_read_snapshot(cut)[0]["papers"]) == 5
