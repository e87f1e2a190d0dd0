"""Look-ups answered while a starting server still loads its library (early_lookups).

A clean stop keeps the look-up table beside the library; the next start answers look-ups
from it before the library has loaded, but only if the library's files are unchanged."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from api_client import Api, start_server, unique_card
from papershelf import early_lookups, server
from papershelf.config import library_dir
from papershelf.library import Library


def _lookups_file(data_dir):
    return data_dir / server.CACHE_DIR / early_lookups.FILE_NAME


def _keep_table(data_dir) -> dict:
    """What a clean stop keeps, made the way the server makes it."""
    library = Library(library_dir(data_dir))
    table = library.lookup_table()
    library.close()
    early_lookups.save(data_dir / server.CACHE_DIR, library_dir(data_dir), table)
    return table


def _library_with(data_dir, cards) -> None:
    library = Library(library_dir(data_dir))
    library.save_cards(cards)
    library.close()


def test_kept_table_is_what_lookup_answers(tmp_path):
    cards = [unique_card(), unique_card(), unique_card(arxiv_id=None)]
    _library_with(tmp_path, cards)
    table = _keep_table(tmp_path)
    assert set(table) == {cards[0]["arxiv_id"], cards[1]["arxiv_id"]}
    assert early_lookups.load(tmp_path / server.CACHE_DIR, library_dir(tmp_path)) == table
    library = Library(library_dir(tmp_path))
    try:
        assert table == library.lookup([cards[0]["arxiv_id"], cards[1]["arxiv_id"]])
    finally:
        library.close()


def test_any_change_after_the_stop_makes_the_table_stale(tmp_path):
    _library_with(tmp_path, [unique_card()])
    _keep_table(tmp_path)
    # Another program (a command-line import, a crash after a save) writes the library.
    _library_with(tmp_path, [unique_card()])
    assert early_lookups.load(tmp_path / server.CACHE_DIR, library_dir(tmp_path)) is None


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": 99, "papers": {}}',
                                     b'{"format": 1, "papers": [], "library_files": []}'])
@pytest.mark.parametrize("files_state", ["kept", "missing"])
def test_unreadable_table_is_not_used(tmp_path, content, files_state):
    _library_with(tmp_path, [unique_card()])
    _keep_table(tmp_path)
    kept = _lookups_file(tmp_path).read_bytes()
    state = kept[:kept.index(b"\n") + 1] if files_state == "kept" else b""
    _lookups_file(tmp_path).write_bytes(state + content)
    assert early_lookups.load(tmp_path / server.CACHE_DIR, library_dir(tmp_path)) is None


def test_lookups_are_answered_while_the_library_loads(tmp_path, monkeypatch):
    """The library's loading is held back: look-ups answer from the kept table, every
    other request waits for the library, and answers from it once it is there."""
    saved, deleted = unique_card(), unique_card()
    _library_with(tmp_path, [saved, deleted])
    library = Library(library_dir(tmp_path))
    [deleted_id] = [p["id"] for p in library.all_papers() if p["arxiv_id"] == deleted["arxiv_id"]]
    library.delete([deleted_id])
    library.close()
    table = _keep_table(tmp_path)

    release = threading.Event()
    real_open = server._open_library_for_serving

    def held_back(data_dir):
        release.wait(60)
        return real_open(data_dir)

    monkeypatch.setattr(server, "_open_library_for_serving", held_back)
    backend = server.open_backend(tmp_path, 0, answer_while_loading=True, announce=lambda _: None)
    threading.Thread(target=backend.wsgi.run, daemon=True).start()
    backend.load_library(announce=lambda _: None)
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {_token(tmp_path)}"
        ids = [saved["arxiv_id"], deleted["arxiv_id"], "2601.99999"]
        answer = http.post(backend.url + "/api/papers/lookup", json={"arxiv_ids": ids}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["papers"] == {saved["arxiv_id"]: table[saved["arxiv_id"]]}
        assert backend.library is None, "the library loaded although it was held back"

        status = {}
        waiting = threading.Thread(target=lambda: status.update(
            answer=http.get(backend.url + "/api/status", timeout=60)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "a request that needs the library did not wait for it"
        release.set()
        waiting.join(60)
        assert status["answer"].status_code == 200 and status["answer"].json()["papers"] == 1

        later = unique_card()
        assert http.post(backend.url + "/api/papers", json=later, timeout=30).status_code in (200, 201)
        answer = http.post(backend.url + "/api/papers/lookup",
                           json={"arxiv_ids": [later["arxiv_id"]]}, timeout=10)
        assert set(answer.json()["papers"]) == {later["arxiv_id"]}
    finally:
        release.set()
        backend.wsgi.task_dispatcher.shutdown()
        backend.wsgi.close()
        backend.close()
    # The clean stop kept the table again, with the paper saved since.
    kept = early_lookups.load(tmp_path / server.CACHE_DIR, library_dir(tmp_path))
    assert kept is not None and later["arxiv_id"] in kept


def _token(data_dir) -> str:
    return json.loads((data_dir / "secrets.json").read_text())["token"]


def test_real_server_restart_after_a_clean_stop_and_after_kill_9(tmp_path):
    """`papershelf serve` keeps the table at a clean stop; a save followed by kill -9
    makes it stale, so the restarted server answers from the library, the save included."""
    srv = start_server(tmp_path)
    data_dir = srv.data_dir
    api = Api(srv, srv.api_token)
    first = unique_card()
    api.save(first)
    srv.stop()
    kept = early_lookups.load(data_dir / server.CACHE_DIR, library_dir(data_dir))
    assert kept is not None and set(kept) == {first["arxiv_id"]}

    srv.start()
    assert api.ok("POST", "/api/papers/lookup", {"arxiv_ids": [first["arxiv_id"]]})["papers"] \
        == kept
    second = unique_card()
    api.save(second)
    srv.kill()
    assert early_lookups.load(data_dir / server.CACHE_DIR, library_dir(data_dir)) is None

    srv.start()
    try:
        answer = api.ok("POST", "/api/papers/lookup",
                        {"arxiv_ids": [first["arxiv_id"], second["arxiv_id"]]})["papers"]
        assert set(answer) == {first["arxiv_id"], second["arxiv_id"]}
    finally:
        srv.stop()


def test_a_library_that_cannot_be_opened_after_answering_early(tmp_path, monkeypatch):
    """Loading fails after the server already answered: look-ups still answer from the
    table, requests needing the library get a 503 naming the problem, `serve` is told."""
    card = unique_card()
    _library_with(tmp_path, [card])
    _keep_table(tmp_path)

    def broken(data_dir):
        raise server.StartupError("the library file is unreadable (test)")

    monkeypatch.setattr(server, "_open_library_for_serving", broken)
    backend = server.open_backend(tmp_path, 0, answer_while_loading=True, announce=lambda _: None)
    threading.Thread(target=backend.wsgi.run, daemon=True).start()
    failed = threading.Event()
    backend.load_library(announce=lambda _: None, on_failure=failed.set)
    try:
        assert failed.wait(30)
        assert "unreadable (test)" in str(backend.load_error)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {_token(tmp_path)}"
        answer = http.get(backend.url + "/api/status", timeout=10)
        assert answer.status_code == 503
        assert "unreadable (test)" in answer.json()["error"]
        answer = http.post(backend.url + "/api/papers/lookup",
                           json={"arxiv_ids": [card["arxiv_id"]]}, timeout=10)
        assert answer.status_code == 200 and set(answer.json()["papers"]) == {card["arxiv_id"]}
    finally:
        backend.wsgi.task_dispatcher.shutdown()
        backend.wsgi.close()
        backend.close()
    assert not (tmp_path / server.SERVER_FILE).exists()
