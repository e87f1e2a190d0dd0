"""Running out of disk, and libraries the server cannot use as they are.

A full disk is made two ways: RLIMIT_FSIZE on the server process (every file it writes is
capped; lifted later from outside, as space coming back) and, where this machine lets a
test mount one, a small tmpfs filled up by a file that is then deleted. A save then fails
with a 507 that says why, the library stays as it was in memory and on disk, saves work
again once there is room, and everything acknowledged survives a restart.

A read-only or missing data folder, a folder in use by another server, and damaged files
stop the server at once with a message on stderr naming the folder and what to do, a
non-zero exit code and no traceback; nothing is overwritten.
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

import reliability_harness as h
from reliability_harness import files_of, papershelf
from server_process import ServerProcess, free_port

from papershelf import records, security
from papershelf.config import library_dir
from papershelf.library import Library
from papershelf.locks import FileLock

UNLIMITED = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)


def serve_once(data_dir: Path) -> subprocess.CompletedProcess:
    """`papershelf serve` that is expected to refuse to start."""
    return papershelf("serve", "--port", str(free_port()), "--data-dir", str(data_dir), timeout=30)


def assert_clear_refusal(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("Error: "), out.stderr
    for needle in needles:
        assert needle in out.stderr, (needle, out.stderr)


def make_library(data_dir: Path, n: int = 5) -> list[str]:
    """A library with n papers, closed cleanly, as a stopped server leaves it; their ids."""
    rng = random.Random(n)
    cards = [records.clean_card(h.card(h.pool_id(i), rng)) for i in range(n)]
    security.Secrets(data_dir)
    (data_dir / "lock").touch()  # a server that ran leaves its (released) lock file
    library = Library(library_dir(data_dir))
    try:
        library.save_cards(cards, None)
    finally:
        library.close()
    return [c["arxiv_id"] for c in cards]


def live_ids(server: ServerProcess) -> set[str]:
    result = h.Result("", "")
    papers = h.all_papers(server.session(), server.url, result)
    assert result.clean, result.summary()
    return {p["arxiv_id"] for p in papers.values()}


# ----------------------------------------------------------------------------- full disk
def save(http, server, n: int, rng) -> requests.Response:
    return http.post(server.url + "/api/papers", timeout=30, json={
        "papers": [h.card(h.pool_id(n), rng)], "source": {"url": h.PAGES[n % 3], "view": "daily"}})


def fill_until_refused(http, server, rng, first: int, limit: int = 600):
    """Save one paper at a time until the disk refuses; (acknowledged, refused answer)."""
    acked = []
    for n in range(first, first + limit):
        answer = save(http, server, n, rng)
        if answer.status_code == 507:
            return acked, answer, n
        assert answer.status_code == 200, answer.text
        acked.append(h.pool_id(n))
    pytest.fail(f"{limit} saves fit; the disk never filled up")


def assert_disk_full_answer(answer: requests.Response) -> None:
    assert answer.status_code == 507
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) >= {"error", "field"} and body["field"] is None
    assert "could not be written" in body["error"] and "free some disk space" in body["error"], body


def exercise_full_disk(server: ServerProcess, rng, make_room, acked_before=()) -> None:
    """Fill the disk, check refusals and consistency, make room, check recovery."""
    http = server.session()
    acked, refusal, refused_n = fill_until_refused(http, server, rng, 0)
    acked += acked_before
    assert len(acked) >= 3
    assert_disk_full_answer(refusal)
    result = h.Result("disk full", "")
    papers = h.all_papers(http, server.url, result)
    first = min(papers)
    # Other writes are refused the same way and change nothing either.
    for method, path, body in [
            ("POST", f"/api/papers/{first}/tags", {"add": ["while-full"]}),
            ("POST", "/api/papers/bulk",
             {"ids": sorted(papers)[:3], "action": "tag", "tags": ["while-full"]}),
            ("POST", "/api/duplicates/merge", {"keep": first, "other": max(papers)}),
            ("PATCH", f"/api/papers/{first}", {"notes": "written while full"}),
            ("POST", "/api/papers", {"papers": [h.card(h.pool_id(900), rng), h.card(h.pool_id(901), rng)]})]:
        answer = http.request(method, server.url + path, json=body, timeout=30)
        assert_disk_full_answer(answer)
    still = h.all_papers(http, server.url, result)
    assert still == papers, "a refused write changed the library in memory"
    h.compare_memory_and_disk(still, server.data_dir, result)
    h.status_warnings(http, server.url, result)
    assert result.clean, result.summary()
    assert live_ids(server) == set(acked)

    make_room()
    answer = save(http, server, refused_n, rng)
    assert answer.status_code == 200, answer.text
    acked.append(h.pool_id(refused_n))
    tagged = http.post(server.url + f"/api/papers/{first}/tags", json={"add": ["after-room"]}, timeout=30)
    assert tagged.status_code == 200
    for n in range(refused_n + 1, refused_n + 4):
        assert save(http, server, n, rng).status_code == 200
        acked.append(h.pool_id(n))

    server.kill()  # no clean stop: only what is on disk counts
    server.popen_options = {}
    server.start()
    http = server.session()
    assert live_ids(server) == set(acked), "acknowledged saves lost, or refused ones back"
    after = h.all_papers(http, server.url, result)
    assert "after-room" in after[first]["tags"] and "while-full" not in after[first]["tags"]
    assert not after[first]["notes"]
    h.status_warnings(http, server.url, result)
    h.compare_memory_and_disk(after, server.data_dir, result)
    h.check_files(server.data_dir, result)
    assert result.clean, result.summary()


def test_file_size_limit_refuses_saves_clearly_and_recovers(tmp_path):
    """Every file the server writes is capped (so the journal fills up first)."""
    server = ServerProcess(tmp_path / "data",
                           popen_options={"preexec_fn": h.ignore_sigxfsz_and_limit(150_000)})
    server.log_path = tmp_path / "server.log"
    server.start()
    rng = random.Random(3)
    try:
        def space_returns():
            resource.prlimit(server.pid, resource.RLIMIT_FSIZE, UNLIMITED)
        exercise_full_disk(server, rng, space_returns)
    finally:
        server.kill()


def test_clean_stop_while_the_disk_is_full_loses_nothing(tmp_path):
    """The closing snapshot cannot be written: the stop is still clean and the journal
    still has every change."""
    server = ServerProcess(tmp_path / "data", extra_env={"PAPERSHELF_SNAPSHOT_EVERY": "8"},
                           popen_options={"preexec_fn": h.ignore_sigxfsz_and_limit(40_000)})
    server.log_path = tmp_path / "server.log"
    server.start()
    rng = random.Random(4)
    http = server.session()
    try:
        acked = []
        for n in range(45):  # past the limit for a snapshot, not for a journal segment
            answer = save(http, server, n, rng)
            if answer.status_code == 200:
                acked.append(h.pool_id(n))
        assert len(acked) > 30
        server.proc.terminate()
        assert server.proc.wait(30) == 0
        assert "Traceback" not in server.log(), server.log()
        server.proc = None
        server.popen_options = {}
        server.start()
        assert live_ids(server) == set(acked)
        result = h.Result("", "")
        h.status_warnings(server.session(), server.url, result)
        assert result.clean, result.summary()
    finally:
        server.kill()


@contextmanager
def small_tmpfs(mount_point: Path, size: str = "1m"):
    mount_point.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({out.stderr.strip() or out.returncode}); "
                    "the RLIMIT_FSIZE tests cover a full disk instead")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_full_tmpfs_refuses_saves_clearly_and_recovers(tmp_path):
    with small_tmpfs(tmp_path / "mnt") as mnt:
        server = ServerProcess(mnt / "data", extra_env={"PAPERSHELF_SNAPSHOT_EVERY": "8"})
        server.log_path = tmp_path / "server.log"
        server.start()
        filler = mnt / "filler"
        rng = random.Random(5)
        try:
            http = server.session()
            for n in range(700, 704):
                assert save(http, server, n, rng).status_code == 200
            with open(filler, "wb", buffering=0) as fh:
                try:
                    while fh.write(b"\0" * 4096):
                        pass
                except OSError:
                    pass  # the disk is full
            exercise_full_disk(server, rng, lambda: filler.unlink(),
                               acked_before=[h.pool_id(n) for n in range(700, 704)])
        finally:
            server.kill()


# ----------------------------------------------------------------------------- bad folders
@contextmanager
def read_only(folder: Path):
    """Make a folder read-only for the server, even for root (a read-only bind mount)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"root cannot be denied writes here without a bind mount ({bind.stderr.strip()})")
    remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, text=True)
    try:
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({remount.stderr.strip()})")
        yield
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_read_only_data_dir_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "data"
    ids = make_library(data)
    before = files_of(data)
    with read_only(data):
        out = serve_once(data)
        assert_clear_refusal(out, str(data), "not writable", "--data-dir")
        # Reading needs no writes: a read-only library can still be checked and backed up.
        checked = papershelf("check", "--data-dir", str(data))
        assert checked.returncode == 0 and "library OK: 5 papers" in checked.stdout, checked.stderr
        backup = papershelf("backup", "--data-dir", str(data), "-o", str(tmp_path / "copy.json"))
        assert backup.returncode == 0, backup.stderr
    assert files_of(data) == before
    assert h.maintenance.parse_backup((tmp_path / "copy.json").read_bytes())["papers"]
    assert len(ids) == 5


def test_read_only_library_folder_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "data"
    make_library(data)
    before = files_of(data)
    with read_only(data / "library"):
        out = serve_once(data)
        assert_clear_refusal(out, str(data / "library"), "--data-dir")
    after = files_of(data)
    assert {k: v for k, v in after.items() if k.startswith("library")} == \
        {k: v for k, v in before.items() if k.startswith("library")}


def test_missing_data_dir_whose_parent_is_not_writable(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    with read_only(parent):
        out = serve_once(parent / "papers")
        assert_clear_refusal(out, str(parent / "papers"), "--data-dir")
    assert list(parent.iterdir()) == []


def test_a_library_in_use_is_not_opened_twice(tmp_path):
    data = tmp_path / "data"
    running = ServerProcess(data).start()
    try:
        http = running.session()
        assert http.post(running.url + "/api/papers", json=h.card(h.pool_id(1), random.Random(1)),
                         timeout=30).status_code == 200
        before = files_of(data / "library")
        out = serve_once(data)
        assert_clear_refusal(out, str(data), running.url, str(running.pid), "stop it first")
        assert files_of(data / "library") == before
        # The running one is unharmed.
        assert http.post(running.url + "/api/papers", json=h.card(h.pool_id(2), random.Random(2)),
                         timeout=30).status_code == 200
    finally:
        running.stop()


def test_a_library_locked_by_another_program_is_not_opened(tmp_path):
    data = tmp_path / "data"
    make_library(data)
    before = files_of(data / "library")
    lock = FileLock(data / "lock")
    assert lock.try_acquire()
    try:
        out = serve_once(data)
        assert_clear_refusal(out, str(data), "already using the library")
    finally:
        lock.release()
    assert files_of(data / "library") == before


def test_damaged_library_file_with_nothing_to_rebuild_from(tmp_path):
    data = tmp_path / "data"
    make_library(data)
    backup = tmp_path / "backup.json"
    backup.write_bytes(h.maintenance.backup_from_files(data)[0])
    snapshot = data / "library" / "library.json"
    for seg in (data / "library" / "journal").glob("*.log"):
        seg.unlink()
    (data / "library" / "library.prev.json").unlink(missing_ok=True)
    snapshot.write_bytes(snapshot.read_bytes()[:200])  # a bad disk sector, a bad edit
    before = files_of(data)
    out = serve_once(data)
    assert_clear_refusal(out, str(snapshot), "damaged", "Nothing was changed", "papershelf restore")
    assert files_of(data) == before, "nothing may be written next to a damaged library"
    # The path the message names.
    restored = papershelf("restore", "--data-dir", str(data), str(backup))
    assert restored.returncode == 0, restored.stderr
    server = ServerProcess(data).start()
    try:
        assert len(live_ids(server)) == 5
    finally:
        server.stop()
    kept = [p for p in data.iterdir() if p.name.startswith("library-before-restore-")]
    assert kept and (kept[0] / "library.json").read_bytes() == before["library/library.json"]


def test_damaged_library_file_is_rebuilt_kept_aside_and_reported(tmp_path):
    data = tmp_path / "data"
    make_library(data, n=0)
    library = Library(library_dir(data), snapshot_every=3, background_snapshots=False)
    rng = random.Random(6)
    for n in range(10):
        library.save_cards([records.clean_card(h.card(h.pool_id(n), rng))], None)
    library.close()
    server = ServerProcess(data)
    snapshot = data / "library" / "library.json"
    damaged = snapshot.read_bytes()[:-30] + b"\x00garbage"
    snapshot.write_bytes(damaged)
    server.start()
    try:
        assert live_ids(server) == {h.pool_id(n) for n in range(10)}
        warnings = server.session().get(server.url + "/api/status", timeout=30).json()["warnings"]
        assert any("library.json could not be read" in w for w in warnings), warnings
        assert any("damaged files were kept in" in w for w in warnings), warnings
        assert "WARNING: library.json could not be read" in server.log()
        kept = list((data / "library").glob("damaged-*/library.json"))
        assert kept and kept[0].read_bytes() == damaged
    finally:
        server.stop()


def test_damaged_secrets_file_is_refused_with_a_way_out(tmp_path):
    data = tmp_path / "data"
    make_library(data)
    (data / "secrets.json").write_text('{"token": ')
    before = files_of(data)
    out = serve_once(data)
    assert_clear_refusal(out, str(data / "secrets.json"), "Move it away")
    assert files_of(data) == before


class FillingDisk:
    """The journal file of a storage on a disk with ``room`` bytes left: a write takes
    what fits, the next one fails with ENOSPC (as write(2) does on a full disk)."""

    def __init__(self, real, room: int):
        self.real, self.room = real, room

    def write(self, data) -> int:
        if self.room is not None and self.room <= 0:
            raise OSError(28, "No space left on device")
        size = len(data) if self.room is None else min(len(data), self.room)
        written = os.write(self.real.fileno(), bytes(data[:size]))
        if self.room is not None:
            self.room -= written
        return written

    def fileno(self) -> int:
        return self.real.fileno()

    def tell(self) -> int:
        return self.real.tell()

    def close(self) -> None:
        self.real.close()


def test_writes_cut_short_by_a_full_disk_leave_no_trace_in_the_journal(tmp_path):
    """Storage level, every step of a disk filling up: part of a line fits, then nothing;
    the refused changes must leave no byte behind, or the next acknowledged line would be
    glued to them and dropped as a torn tail at the next start."""
    from papershelf.storage import LibraryDB, StorageError, recover
    db = LibraryDB(tmp_path, background_snapshots=False)
    papers = db.table("papers")
    papers.insert({"title": "before"})
    disk = db.storage._journal_fh = FillingDisk(db.storage._journal_fh, room=25)
    for title in ("part of me fits", "none of me fits", "nor me"):
        with pytest.raises(StorageError, match="No space left"):
            papers.insert({"title": title})
    assert [d["title"] for d in papers] == ["before"]
    disk.room = None  # space comes back
    papers.insert({"title": "after"})
    disk.close()  # a crash: no closing snapshot
    found = recover(tmp_path)
    assert found.warnings == [] and found.torn_tail is None
    assert sorted(d["title"] for d in found.tables["papers"].values()) == ["after", "before"]
