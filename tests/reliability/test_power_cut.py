"""A power cut during the storage's last write, at every byte of it.

The journaled storage writes two kinds of file: journal lines (appended, fsync'ed before a
change is acknowledged) and snapshots (a temporary file, fsync, rename). Each test builds a
library, makes one more write, and then rebuilds the folder as a power cut at each byte of
that write would leave it; loading must give the state before the write or after it,
never a mix, and nothing acknowledged before it may be missing.

(tests/backend/test_storage.py cuts a single insert in a journal without snapshots; here
the write is a transaction over several documents and tables, the library has snapshots
and several journal segments, and snapshot writes are cut too.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from papershelf.storage import (JOURNAL_DIR, PREVIOUS_SNAPSHOT_NAME, SNAPSHOT_NAME, LibraryDB,
                                recover)

# Opening the storage for real (truncating, copying damage aside, writing on) costs more
# than reading; it is done at every STRIDE-th offset and at the edges, reading at all.
STRIDE = 13


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class Workdir:
    """A folder made to hold exactly given files; only what differs is rewritten."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, bytes] | None = None

    def lay_out(self, files: dict[str, bytes]) -> Path:
        if self.files is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            (self.folder / JOURNAL_DIR).mkdir(parents=True)
            self.files = {}
        for name in set(self.files) - set(files):
            (self.folder / name).unlink()
        for name, data in files.items():
            if self.files.get(name) != data:
                path = self.folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        self.files = dict(files)
        return self.folder

    def touched(self) -> None:
        """Something else changed the folder: lay it out from scratch next time."""
        self.files = None


def tables_now(folder: Path) -> dict:
    return json.loads(json.dumps(recover(folder).tables))


def crash(db: LibraryDB) -> None:
    """Stop using the storage without a clean close (no final snapshot)."""
    db.storage._wait_for_snapshot()
    db.storage._journal_fh.close()


def build_library(folder: Path, changes: int = 40) -> LibraryDB:
    """A library with both snapshots and several journal segments."""
    db = LibraryDB(folder, snapshot_every=15, background_snapshots=False)
    papers, flags = db.table("papers"), db.table("duplicate_flags")
    for i in range(changes):
        papers.insert({"title": f"Paper {i} on sparse kernels", "tags": [f"t{i % 3}"],
                       "abstract": "words " * 20})
        if i % 7 == 0:
            flags.insert({"a": 1, "b": i + 1, "score": 90.0})
    assert (folder / SNAPSHOT_NAME).exists() and (folder / PREVIOUS_SNAPSHOT_NAME).exists()
    assert len(list((folder / JOURNAL_DIR).glob("*.log"))) >= 2
    return db


def last_write(db: LibraryDB) -> None:
    """One transaction over several documents of two tables (like a merge)."""
    papers, flags = db.table("papers"), db.table("duplicate_flags")
    with db.transaction():
        papers.update({"tags": ["t0", "merged"], "title": "Kept paper, merged"}, doc_ids=[2])
        papers.remove(doc_ids=[3])
        papers.update({"notes": "read twice"}, doc_ids=[5])
        papers.insert({"title": "A paper saved in the same breath", "tags": []})
        flags.remove(doc_ids=[1])


@pytest.mark.parametrize("where", ["inside a segment", "first line of a new segment"])
def test_journal_cut_at_every_byte_of_the_last_write(tmp_path, where):
    folder = tmp_path / "lib"
    db = build_library(folder, changes=40 if where == "inside a segment" else 45)
    if where == "first line of a new segment":
        db.storage.snapshot()  # the next line opens a fresh segment
    before = tables_now(folder)
    last_write(db)
    crash(db)
    after = tables_now(folder)
    assert before != after
    image = snapshot_of(folder)
    segment = max((folder / JOURNAL_DIR).glob("*.log"), key=lambda p: int(p.stem))
    name = str(segment.relative_to(folder))
    full = image[name]
    start = full.rstrip(b"\n").rfind(b"\n") + 1
    if where == "first line of a new segment":
        assert start == 0
    work = Workdir(tmp_path / "work")
    checked = opened = 0
    for cut in range(start, len(full) + 1):
        for variant in ("cut", "zeros"):
            if variant == "zeros" and (cut == len(full) or cut % STRIDE):
                continue
            torn = full[:cut] if variant == "cut" else full[:cut] + b"\0" * (len(full) - cut)
            folder2 = work.lay_out({**image, name: torn})
            want = after if cut == len(full) else before
            found = recover(folder2)
            assert found.tables == want, f"{variant} at byte {cut - start} of {len(full) - start}"
            assert found.warnings == [], (cut, found.warnings)
            checked += 1
            if cut % STRIDE and cut not in (start, start + 1, len(full) - 1, len(full)):
                continue
            # The real start: the torn tail is cut off and the journal goes on cleanly.
            work.touched()
            db2 = LibraryDB(folder2)
            assert db2.storage.warnings == []
            assert json.loads(json.dumps(db2.storage.read())) == want
            db2.table("papers").insert({"title": "written after the restart"})
            crash(db2)
            again = recover(folder2)
            assert again.warnings == [], (cut, again.warnings)
            titles = [d["title"] for d in again.tables["papers"].values()]
            assert titles.count("written after the restart") == 1
            assert {k: v for k, v in again.tables["papers"].items()
                    if v["title"] != "written after the restart"} == want["papers"]
            opened += 1
    assert checked > len(full) - start and opened > 10


def test_snapshot_cut_at_every_byte(tmp_path):
    """Every state a power cut during a snapshot write can leave: the temporary file at any
    length (before and after the current snapshot became the previous one), and the
    renamed snapshot at any length (a file system that reordered the writes)."""
    folder = tmp_path / "lib"
    db = LibraryDB(folder, snapshot_every=10**9, background_snapshots=False)
    papers = db.table("papers")
    for i in range(8):
        papers.insert({"title": f"Paper {i}", "tags": ["x"]})
    db.storage.snapshot()
    for i in range(8, 14):
        papers.insert({"title": f"Paper {i}", "tags": ["y"]})
    papers.remove(doc_ids=[2])
    state = tables_now(folder)
    image_before = snapshot_of(folder)
    db.storage.snapshot()  # the write under test
    image_after = snapshot_of(folder)
    crash(db)
    payload = image_after[SNAPSHOT_NAME]
    assert payload != image_before[SNAPSHOT_NAME]
    new_segment = next(n for n in image_after if n not in image_before)
    tmp_name = f".{SNAPSHOT_NAME}.4242.4242.tmp"
    rotated = {**image_before, new_segment: b""}
    rotated[PREVIOUS_SNAPSHOT_NAME] = rotated.pop(SNAPSHOT_NAME)
    renamed = {**image_before, new_segment: b"", PREVIOUS_SNAPSHOT_NAME: image_before[SNAPSHOT_NAME]}
    work = Workdir(tmp_path / "work")
    cases = []
    for k in range(len(payload) + 1):
        cases.append(("temp file left, nothing renamed", k, {**image_before, tmp_name: payload[:k]}))
        cases.append(("temp file left, current became previous", k, {**rotated, tmp_name: payload[:k]}))
        if k < len(payload):
            cases.append(("renamed, then cut", k, {**renamed, SNAPSHOT_NAME: payload[:k]}))
    cases.append(("finished", len(payload), image_after))
    for label, k, files in cases:
        folder2 = work.lay_out(files)
        found = recover(folder2)
        assert found.tables == state, f"{label} at byte {k}"
        damaged = label == "renamed, then cut"
        assert bool(found.warnings) == damaged, (label, k, found.warnings)
        if k % STRIDE and k not in (0, 1, len(payload) - 1, len(payload)):
            continue
        work.touched()
        db2 = LibraryDB(folder2)
        assert json.loads(json.dumps(db2.storage.read())) == state, (label, k)
        assert not list(folder2.glob(".*.tmp")), f"{label} at {k}: the leftover temp file stays"
        if damaged:
            kept = list(folder2.glob(f"damaged-*/{SNAPSHOT_NAME}"))
            assert kept and kept[0].read_bytes() == payload[:k], "the damaged file is kept as it was"
        db2.table("papers").insert({"title": "after"})
        crash(db2)
        again = LibraryDB(folder2)
        assert again.storage.warnings == [], (label, k, again.storage.warnings)
        assert len(again.table("papers")) == len(state["papers"]) + 1
        crash(again)


def test_damage_is_reported_once_not_at_every_start(tmp_path):
    """A damaged journal segment is kept aside and rebuilt around once; a crash right
    after that start must not find (and report, and copy) the same damage again."""
    folder = tmp_path / "lib"
    db = LibraryDB(folder)
    for i in range(6):
        db.table("papers").insert({"title": f"paper {i}"})
    crash(db)
    segment = max((folder / JOURNAL_DIR).glob("*.log"), key=lambda p: int(p.stem))
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"paper 2", b"paper X")  # the checksum no longer matches
    segment.write_bytes(b"".join(lines))
    first = LibraryDB(folder)
    assert any("is damaged at byte" in w for w in first.storage.warnings)
    first.table("papers").insert({"title": "after the first start"})
    crash(first)
    second = LibraryDB(folder)
    assert second.storage.warnings == []
    assert sorted(d["title"] for d in second.table("papers")) == \
        ["after the first start", "paper 0", "paper 1"]
    assert len(list(folder.glob("damaged-*"))) == 1
    crash(second)
