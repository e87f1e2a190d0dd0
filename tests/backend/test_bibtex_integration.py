"""BibTeX through the library, the CLI and a running server: round trip, keys, auto-export,
enrichment against a local fake of the paper APIs."""

import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import bibtexparser

from papershelf import records
from papershelf.library import Library
from server_process import ServerProcess

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hf-papers"


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "papershelf", *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def fixture_cards(name="000"):
    return json.loads((FIXTURES / f"{name}_records.json").read_text())["records"]


def test_export_import_export_gives_the_same_file(tmp_path):
    first = Library(tmp_path / "one")
    cards, _ = records.clean_batch({"papers": fixture_cards("000") + fixture_cards("001")})
    first.save_cards(cards)
    first.update(1, {"notes": "A note with 50% & $math$", "tags": ["ml/diffusion", "To Read"]})
    text, report = first.export_bibtex()
    assert report["entries"] == first.count()["papers"]
    second = Library(tmp_path / "two")
    result = second.import_bibtex(text)
    assert result["errors"] == [] and result["created"] == report["entries"]
    again, _ = second.export_bibtex()
    assert again == text
    # Importing the same file again merges everything and changes no key.
    repeat = second.import_bibtex(text)
    assert repeat["created"] == 0 and repeat["merged"] == report["entries"]
    assert second.export_bibtex()[0] == text
    first.close(), second.close()


def test_merged_papers_export_their_old_keys_as_ids(tmp_path):
    lib = Library(tmp_path / "lib")
    cards, _ = records.clean_batch({"papers": [
        {"arxiv_id": "2401.00001", "title": "Graph transformers at scale", "authors": ["Jun Park"], "published": "2024-01-01"},
        {"arxiv_id": "2401.00002", "title": "Graph transformers at scale (extended)", "authors": ["Jun Park"], "published": "2024-01-01"}]})
    a, b = [r["paper"] for r in lib.save_cards(cards)["results"]]
    lib.merge(a["id"], b["id"])
    text, _ = lib.export_bibtex()
    entry = bibtexparser.parse_string(text).entries[0]
    assert entry.key == a["citation_key"]
    assert b["citation_key"] in entry.fields_dict["ids"].value
    lib.close()


def test_cli_export_and_import_with_and_without_a_running_server(tmp_path):
    data = tmp_path / "data"
    bib = tmp_path / "in.bib"
    bib.write_text("@misc{smith2024graphs, title={Graphs for Everyone}, author={Smith, Jo},"
                   " year={2024}, eprint={2401.11111}, archivePrefix={arXiv}}\n"
                   "@article{broken, title={No closing brace}\n"
                   "@article{doe2020, title={A Journal Paper Without arXiv}, author={Doe, Jane},"
                   " journal={J. Tests}, year={2020}}\n")
    direct = cli("import", "--data-dir", str(data), str(bib))
    assert direct.returncode == 0, direct.stderr
    assert "created 2" in direct.stdout and "skipped 1" in direct.stdout
    assert "line" in direct.stderr  # the broken entry is reported with its line
    server = ServerProcess(data).start()
    try:
        through = cli("import", "--data-dir", str(data), str(bib))
        assert "created 0, merged 2" in through.stdout, through.stdout + through.stderr
        out = cli("export", "--data-dir", str(data))
        keys = sorted(e.key for e in bibtexparser.parse_string(out.stdout).entries)
        assert keys == ["doe2020", "smith2024graphs"]
        target = tmp_path / "out.bib"
        assert cli("export", "--data-dir", str(data), "-o", str(target)).returncode == 0
        assert target.read_text() == out.stdout
    finally:
        server.stop()
    assert cli("export", "--data-dir", str(data)).stdout == out.stdout


def test_auto_export_rewrites_the_bound_file_after_changes(tmp_path):
    server = ServerProcess(tmp_path / "data").start()
    try:
        s = server.session()
        s.post(server.url + "/api/papers", json={"title": "First paper for the thesis", "tags": ["thesis"],
                                                 "arxiv_id": "2402.00001", "authors": ["Ana Silva"]})
        target = tmp_path / "thesis.bib"
        answer = s.post(server.url + "/api/auto-exports", json={"path": str(target), "tag": "thesis"})
        assert answer.status_code == 201, answer.text
        assert s.post(server.url + "/api/auto-exports", json={"path": "relative.bib"}).status_code == 400
        assert s.post(server.url + "/api/auto-exports", json={"path": str(tmp_path / "x.txt")}).status_code == 400
        wait_for(lambda: target.exists() and "2402.00001" in target.read_text())
        s.post(server.url + "/api/papers", json={"title": "Second paper for the thesis", "tags": ["thesis"],
                                                 "arxiv_id": "2402.00002", "authors": ["Ana Silva"]})
        wait_for(lambda: "2402.00002" in target.read_text())
        s.post(server.url + "/api/papers", json={"title": "Unrelated paper", "arxiv_id": "2402.00003"})
        time.sleep(1.5)
        assert "2402.00003" not in target.read_text()
        assert len(bibtexparser.parse_string(target.read_text()).entries) == 2
    finally:
        server.stop()


class FakePaperApi(http.server.BaseHTTPRequestHandler):
    """Hugging Face's /api/papers/<id> as a local server answers it."""

    def do_GET(self):
        arxiv_id = self.path.rsplit("/", 1)[-1]
        body = json.dumps({"id": arxiv_id, "authors": [{"name": "Grace Hopper"}, {"name": "Alan Turing"}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def test_missing_author_names_are_filled_in_by_enrichment(tmp_path):
    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePaperApi)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    env = {"PAPERSHELF_ENRICH": "1", "PAPERSHELF_HF_API": f"http://127.0.0.1:{fake.server_port}/api",
           # arXiv answers nothing here: the enricher falls back to Hugging Face.
           "PAPERSHELF_ARXIV_API": f"http://127.0.0.1:{fake.server_port}/nothing"}
    server = ServerProcess(tmp_path / "data", extra_env=env).start()
    try:
        s = server.session()
        saved = s.post(server.url + "/api/papers", json={
            "arxiv_id": "2403.00001", "title": "A paper whose card showed only a count", "authors_count": 2})
        assert saved.status_code == 200 and saved.json()["results"][0]["paper"]["authors"] == []
        paper_id = saved.json()["results"][0]["paper"]["id"]
        wait_for(lambda: s.get(f"{server.url}/api/papers/{paper_id}").json()["authors"] != [], timeout=20)
        assert s.get(f"{server.url}/api/papers/{paper_id}").json()["authors"] == ["Grace Hopper", "Alan Turing"]
    finally:
        server.stop()
        fake.shutdown()


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
