"""`papershelf backup`, `papershelf check [--repair]` and `papershelf restore`, run as a
user runs them, with and without a server on the library."""

from __future__ import annotations

import json
import random
import threading

import requests

import reliability_harness as h
from reliability_harness import files_of, papershelf
from server_process import ServerProcess

from papershelf.locks import FileLock
from papershelf.maintenance import check_tables, parse_backup, Report
from papershelf.storage import JOURNAL_DIR, LibraryDB, recover


def batch_id(batch: int, k: int) -> str:
    return f"2505.{batch * 5 + k:05d}"


def test_backup_while_saving_is_one_consistent_moment_and_restores(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data, extra_env={"PAPERSHELF_SNAPSHOT_EVERY": "25"}).start()
    try:
        http = server.session()
        rng = random.Random(11)
        pair = [r["paper"]["id"] for r in http.post(server.url + "/api/papers", timeout=30, json={
            "papers": [h.card(h.pool_id(1), rng), h.card(h.pool_id(2), rng)]}).json()["results"]]
        acked_batches: list[int] = []
        acked_generations: list[int] = []
        stop = threading.Event()
        failures: list[str] = []

        def save_batches():
            session = server.session()
            batch = 0
            while not stop.is_set():
                cards = [h.card(batch_id(batch, k), rng) for k in range(5)]
                answer = session.post(server.url + "/api/papers", json={"papers": cards}, timeout=30)
                if answer.status_code != 200:
                    failures.append(answer.text)
                acked_batches.append(batch)
                batch += 1

        def tag_both():
            session = server.session()
            generation = 0
            while not stop.is_set():
                answer = session.post(server.url + "/api/papers/bulk", timeout=30, json={
                    "ids": pair, "action": "tag", "tags": [f"gen/{generation}"]})
                if answer.status_code != 200:
                    failures.append(answer.text)
                acked_generations.append(generation)
                generation += 1

        writers = [threading.Thread(target=save_batches), threading.Thread(target=tag_both)]
        for w in writers:
            w.start()
        try:
            while len(acked_batches) < 15:
                stop.wait(0.05)
            batches_before, generations_before = len(acked_batches), len(acked_generations)
            out = papershelf("backup", "--data-dir", str(data), "-o", str(tmp_path / "backup.json"))
        finally:
            stop.set()
            for w in writers:
                w.join(30)
        assert out.returncode == 0, out.stderr
        assert not failures, failures[:3]
        tables = parse_backup((tmp_path / "backup.json").read_bytes())
        report = Report()
        check_tables(tables, report)
        assert report.ok, report.problems
        held = {p["arxiv_id"] for p in tables["papers"].values()}
        for batch in range(len(acked_batches)):
            ids = {batch_id(batch, k) for k in range(5)}
            assert ids <= held or not ids & held, f"batch {batch} is partly in the backup"
            if batch < batches_before:
                assert ids <= held, f"batch {batch}, acknowledged before the backup, is missing"
        tags = [{t for t in tables["papers"][str(i)]["tags"] if t.startswith("gen/")} for i in pair]
        assert tags[0] == tags[1], "one bulk change is in the backup for one paper only"
        assert {f"gen/{g}" for g in range(generations_before)} <= tags[0]
        assert json.loads((tmp_path / "backup.json").read_bytes())["_storage"]["1"]["seq"] > 0

        # Restoring it gives back exactly that moment, and keeps the newer library aside.
        server.stop()
        restore = papershelf("restore", "--data-dir", str(data), str(tmp_path / "backup.json"))
        assert restore.returncode == 0, restore.stderr
        assert f"restored {len(tables['papers'])} papers" in restore.stdout
        aside = [p for p in data.iterdir() if p.name.startswith("library-before-restore-")]
        assert len(aside) == 1 and len(recover(aside[0]).tables["papers"]) >= len(tables["papers"])
        server.start()
        try:
            result = h.Result("", "")
            papers = h.all_papers(server.session(), server.url, result)
            assert {str(i): {k: v for k, v in p.items() if k in tables["papers"][str(i)]}
                    for i, p in papers.items()} == tables["papers"]
            h.status_warnings(server.session(), server.url, result)
            assert result.clean, result.summary()
            # New papers get new ids after a restore, never one from the backup.
            fresh = server.session().post(server.url + "/api/papers", timeout=30,
                                          json=h.card(h.pool_id(99), rng)).json()
            assert fresh["results"][0]["paper"]["id"] > max(papers)
        finally:
            server.stop()
    finally:
        server.kill()  # whatever failed, no server is left running


def test_backup_endpoint_needs_the_token_and_changes_nothing(tmp_path):
    server = ServerProcess(tmp_path / "data").start()
    try:
        http = server.session()
        title = "Über 日本語の論文 — a résumé 🚀"
        http.post(server.url + "/api/papers", json={"arxiv_id": h.pool_id(3), "title": title},
                  timeout=30)
        before = files_of(server.data_dir / "library")
        assert requests.get(server.url + "/api/backup", timeout=30).status_code == 401
        answer = http.get(server.url + "/api/backup", timeout=30)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.headers["Content-Disposition"].startswith("attachment; filename=\"papershelf-backup-")
        backed_up = list(parse_backup(answer.content)["papers"].values())
        assert [(p["arxiv_id"], p["title"]) for p in backed_up] == [(h.pool_id(3), title)]
        assert files_of(server.data_dir / "library") == before
    finally:
        server.stop()


def test_backup_and_check_of_a_stopped_library(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    rng = random.Random(5)
    try:
        server.session().post(server.url + "/api/papers", timeout=30,
                              json={"papers": [h.card(h.pool_id(n), rng) for n in range(7)]})
    finally:
        server.kill()  # no closing snapshot: the backup must read the journal
    before = files_of(data)
    out = papershelf("backup", "--data-dir", str(data), "-o", str(tmp_path / "b.json"))
    assert out.returncode == 0 and "backup of 7 papers" in out.stdout, out.stderr
    assert parse_backup((tmp_path / "b.json").read_bytes()) == recover(data / "library").tables
    checked = papershelf("check", "--data-dir", str(data))
    assert checked.returncode == 0 and "library OK: 7 papers, 0 in the trash" in checked.stdout
    assert files_of(data) == before, "backup and check only read"
    lock = FileLock(data / "lock")
    assert lock.try_acquire()
    try:
        out = papershelf("backup", "--data-dir", str(data), "-o", str(tmp_path / "c.json"))
        assert out.returncode != 0 and "already using the library" in out.stderr
        assert not (tmp_path / "c.json").exists()
    finally:
        lock.release()


def test_check_through_a_running_server_and_no_repair_or_restore_under_it(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        server.session().post(server.url + "/api/papers", json=h.card(h.pool_id(4), random.Random(4)),
                              timeout=30)
        out = papershelf("check", "--data-dir", str(data))
        assert out.returncode == 0 and "library OK: 1 paper," in out.stdout, out.stderr
        (tmp_path / "b.json").write_text("{}")
        before = files_of(data / "library")
        for args in (["check", "--repair"], ["restore", str(tmp_path / "b.json")]):
            out = papershelf(*args, "--data-dir", str(data))
            assert out.returncode != 0 and "stop it first" in out.stderr and server.url in out.stderr
        assert files_of(data / "library") == before
    finally:
        server.stop()


def paper(n: int, **fields) -> dict:
    doc = {"arxiv_id": f"2501.{n:05d}", "title": f"A study of sparse kernels, part {n}",
           "authors": ["Lea Martin"], "tags": [], "notes": "", "read": False, "starred": False,
           "added_at": f"2026-01-0{n}T10:00:00.000000Z", "updated_at": "2026-01-09T10:00:00.000000Z",
           "rev": 1, "sightings": [], "key_aliases": [], "citation_key": f"martin2025study{n}"}
    doc.update(fields)
    return doc


def damaged_library(data_dir):
    """A library whose files hold every kind of problem `check` looks for."""
    db = LibraryDB(data_dir / "library")
    papers = db.table("papers")
    papers.replace(1, paper(1, tags=["ML/Diffusion"]))
    papers.replace(2, paper(2, tags=["ml/diffusion", "x"]))
    papers.replace(3, paper(3, citation_key="Martin2025Study1"))
    papers.replace(4, paper(4, arxiv_id="2501.00001", tags=["x"]))
    papers.replace(5, paper(5, published="2025-13-45", tags="not a list", read="yes"))
    papers.replace(6, {k: v for k, v in paper(6).items() if k != "title"})
    db.table("meta").replace(1, {"last_paper_id": 3})
    db.table("duplicate_flags").insert({"a": 1, "b": 99, "score": 90.0})
    db.storage.close()
    db = LibraryDB(data_dir / "library")
    for n in range(7, 10):
        db.table("papers").replace(n, paper(n))
    db.table("meta").replace(1, {"last_paper_id": 9})
    db.storage._journal_fh.close()
    segment = max((data_dir / "library" / JOURNAL_DIR).glob("*.log"), key=lambda p: int(p.stem))
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"part 8", b"part 0")  # the checksum no longer matches
    segment.write_bytes(b"".join(lines))
    (data_dir / "library" / ".library.json.1.2.tmp").write_bytes(b'{"papers": {"1"')


def test_check_finds_every_problem_and_repair_fixes_them_keeping_the_original(tmp_path):
    data = tmp_path / "data"
    damaged_library(data)
    original = files_of(data / "library")
    out = papershelf("check", "--data-dir", str(data))
    assert out.returncode == 1
    assert files_of(data / "library") == original, "check only reads"
    for needle in ("journal", "is damaged at byte", "arXiv 2501.00001: is held by 2 papers (1, 4)",
                   "citation key martin2025study1: is used by papers 1, 3",
                   "tag ml/diffusion: is spelled in several ways",
                   "paper 5: published is not a real date", "paper 5: tags is not a list",
                   "paper 5: read is not true or false", "paper 6: has no title",
                   "the id counter (", "duplicate flag 1: refers to a paper that does not exist",
                   "papershelf check --repair"):
        assert needle in out.stderr, (needle, out.stderr)
    assert "leftover of an unfinished snapshot write" in out.stdout

    out = papershelf("check", "--repair", "--data-dir", str(data))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "library OK" in out.stdout and "repaired:" in out.stdout
    kept = [p for p in data.iterdir() if p.name.startswith("before-repair-")]
    assert len(kept) == 1 and files_of(kept[0]) == original, "the damaged original is kept as it was"
    assert not list((data / "library").glob(".*.tmp"))

    server = ServerProcess(data).start()
    try:
        result = h.Result("", "")
        http = server.session()
        papers = h.all_papers(http, server.url, result)
        h.status_warnings(http, server.url, result)
        assert result.clean, result.summary()
        assert 4 not in papers and 4 in papers[1]["merged_from"], "same arXiv id: merged"
        assert set(papers[1]["tags"]) == {"ML/Diffusion", "x"}
        assert papers[2]["tags"] == ["ML/Diffusion", "x"], "one spelling per tag"
        assert papers[3]["citation_key"].lower() != "martin2025study1"
        assert "published" not in papers[5] or papers[5]["published"] is None
        assert papers[5]["tags"] == [] and papers[5]["read"] is True
        assert papers[6]["title"] == "Untitled paper 6"
        assert 7 in papers and 8 not in papers  # the change on the damaged line is lost
        assert http.get(server.url + "/api/duplicates", timeout=30).json()["pairs"] == []
        new = http.post(server.url + "/api/papers", json=h.card(h.pool_id(1), random.Random(1)),
                        timeout=30).json()["results"][0]["paper"]["id"]
        assert new > max(papers), "the id counter was raised past every id"
    finally:
        server.stop()
    again = papershelf("check", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr


def test_repair_of_a_library_that_cannot_be_rebuilt_says_restore(tmp_path):
    data = tmp_path / "data"
    (data / "library" / JOURNAL_DIR).mkdir(parents=True)
    (data / "library" / "library.json").write_bytes(b'{"papers": {"1": {"title": "prec')
    out = papershelf("check", "--repair", "--data-dir", str(data))
    assert out.returncode == 1
    assert "nothing to rebuild it from" in out.stderr and "restore" in out.stderr
    assert (data / "library" / "library.json").read_bytes() == b'{"papers": {"1": {"title": "prec'


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    data = tmp_path / "data"
    bad = tmp_path / "notes.txt"
    bad.write_text("my reading list")
    out = papershelf("restore", "--data-dir", str(data), str(bad))
    assert out.returncode != 0 and "is not a Papershelf backup" in out.stderr
    assert not (data / "library").exists()
