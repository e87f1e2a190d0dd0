"""The background enricher against a real local HTTP server standing in for arXiv and HF."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import pytest

from papershelf import enrich
from papershelf.enrich import Enricher, needs_enrichment, parse_arxiv_atom, parse_hf_paper

ARXIV_KNOWS = {
    "2409.21039": {"authors": ["Jiawei Du", "Xin Zhang", "Juncheng Hu", "Wenxin Huang", "Joey Tianyi Zhou"],
                   "primary": "cs.CV", "doi": None},
    "2401.00001": {"authors": ["Ada Lovelace", "Jürgen Müller"], "primary": "cs.LG",
                   "doi": "10.1000/xyz.1"},
    "hep-th/9802150": {"authors": ["Edward Witten"], "primary": "hep-th", "doi": None},
}
HF_KNOWS = {
    "2409.21039": ["Jiawei Du", "Xin Zhang", "Juncheng Hu", "Wenxin Huang", "Joey Tianyi Zhou"],
    "2502.00002": ["Only On Hugging Face", "Second Author"],
}


def atom(ids: list[str]) -> str:
    entries = []
    for arxiv_id in ids:
        if arxiv_id not in ARXIV_KNOWS:
            if not arxiv_id[:1].isdigit() and "/" not in arxiv_id:
                entries.append(f"""<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_{arxiv_id}</id>
<title>Error</title><summary>incorrect id format for {arxiv_id}</summary></entry>""")
            continue
        info = ARXIV_KNOWS[arxiv_id]
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in info["authors"])
        doi = (f'<arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">{info["doi"]}</arxiv:doi>'
               if info["doi"] else "")
        entries.append(f"""<entry>
    <id>http://arxiv.org/abs/{arxiv_id}v2</id>
    <updated>2024-10-01T17:59:59Z</updated>
    <published>2024-09-30T17:59:59Z</published>
    <title>Some title</title>
    <summary>Some abstract.</summary>
    {authors}
    {doi}
    <link href="http://arxiv.org/abs/{arxiv_id}v2" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{info["primary"]}" scheme="http://arxiv.org/schemas/atom"/>
    <category term="{info["primary"]}" scheme="http://arxiv.org/schemas/atom"/>
  </entry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: id_list={",".join(ids)}</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>2024-10-01T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{len(entries)}</opensearch:totalResults>
  {"".join(entries)}
</feed>"""


class FakeServices:
    """arXiv's /api/query and HF's /api/papers/<id> on 127.0.0.1, with switches."""

    def __init__(self, port: int = 0):
        self.requests: list[tuple[float, str]] = []
        self.arxiv_status = 200
        self.hf_status = 200
        self.delay = 0.0
        services = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                services.requests.append((time.monotonic(), self.path))
                if services.delay:
                    time.sleep(services.delay)
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/arxiv/api/query":
                    if services.arxiv_status != 200:
                        return self.answer(services.arxiv_status, "text/plain", "busy")
                    ids = urllib.parse.parse_qs(url.query)["id_list"][0].split(",")
                    return self.answer(200, "application/atom+xml", atom(ids))
                if url.path.startswith("/hf/api/papers/"):
                    if services.hf_status != 200:
                        return self.answer(services.hf_status, "text/plain", "busy")
                    arxiv_id = urllib.parse.unquote(url.path[len("/hf/api/papers/"):])
                    if arxiv_id not in HF_KNOWS:
                        return self.answer(404, "application/json", '{"error": "Not Found"}')
                    body = {"id": arxiv_id, "title": "t", "publishedAt": "2024-09-26T00:00:00.000Z",
                            "authors": [{"_id": f"x{i}", "name": n, "hidden": False}
                                        for i, n in enumerate(HF_KNOWS[arxiv_id])]}
                    return self.answer(200, "application/json", json.dumps(body))
                return self.answer(404, "text/plain", "no")

            def answer(self, status, kind, body):
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def arxiv_api(self):
        return f"http://127.0.0.1:{self.port}/arxiv/api/query"

    @property
    def hf_api(self):
        return f"http://127.0.0.1:{self.port}/hf/api"

    def paths(self, prefix: str) -> list[str]:
        return [p for _, p in self.requests if p.startswith(prefix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def services():
    fake = FakeServices()
    yield fake
    fake.close()


class Recorder:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.event = threading.Event()

    def __call__(self, arxiv_id, fields):
        self.calls.append((arxiv_id, fields))
        self.event.set()

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.calls) >= count:
                return True
            time.sleep(0.01)
        return False


def make(services, recorder, **kw):
    kw.setdefault("min_interval", 0.0)
    kw.setdefault("retry_delay", 0.05)
    kw.setdefault("timeout", 2.0)
    return Enricher(recorder, arxiv_api=services.arxiv_api, hf_api=services.hf_api,
                    enabled=True, **kw)


def test_fills_authors_and_primary_class_in_the_background(services):
    services.delay = 1.0
    recorder = Recorder()
    enricher = make(services, recorder)
    enricher.enqueue("2401.00001")
    enricher.enqueue("2409.21039v3")  # versions are dropped
    enricher.start()
    try:
        time.sleep(0.2)  # the worker is now waiting for the slow service
        started = time.monotonic()
        enricher.enqueue("hep-th/9802150")
        assert time.monotonic() - started < 0.5  # a save never waits for the services
        assert recorder.calls == []
        assert recorder.wait_for(3)
    finally:
        enricher.stop()
    got = dict(recorder.calls)
    assert got["2401.00001"] == {"authors": ["Ada Lovelace", "Jürgen Müller"], "authors_count": 2,
                                 "primary_class": "cs.LG", "doi": "10.1000/xyz.1"}
    assert got["2409.21039"]["primary_class"] == "cs.CV"
    assert len(got["2409.21039"]["authors"]) == 5
    assert got["hep-th/9802150"]["authors"] == ["Edward Witten"]
    assert services.paths("/hf/") == []  # arXiv answered everything
    first = services.paths("/arxiv/")[0]
    assert "id_list=2401.00001,2409.21039" in first  # batched: one request for both


def test_hugging_face_fills_in_what_arxiv_does_not_know(services):
    recorder = Recorder()
    enricher = make(services, recorder)
    assert enricher.enqueue("2502.00002") is None
    assert enricher.run_once() == 1
    assert recorder.calls == [("2502.00002", {"authors": ["Only On Hugging Face", "Second Author"],
                                              "authors_count": 2})]
    assert services.paths("/hf/api/papers/2502.00002")


def test_arxiv_down_falls_back_to_hugging_face(services):
    services.arxiv_status = 503
    recorder = Recorder()
    enricher = make(services, recorder)
    enricher.enqueue("2409.21039")
    enricher.run_once()
    assert recorder.calls and recorder.calls[0][1]["authors"][0] == "Jiawei Du"


def test_requests_are_rate_limited(services):
    recorder = Recorder()
    enricher = make(services, recorder, min_interval={"arxiv": 0.2, "hf": 0.2}, batch_size=1)
    for arxiv_id in ("2401.00001", "2409.21039", "hep-th/9802150"):
        enricher.enqueue(arxiv_id)
    enricher.start()
    try:
        assert recorder.wait_for(3)
    finally:
        enricher.stop()
    times = [t for t, p in services.requests if p.startswith("/arxiv/")]
    assert len(times) == 3
    assert all(b - a >= 0.15 for a, b in zip(times, times[1:])), times
    assert ("hep-th/9802150", {"authors": ["Edward Witten"], "authors_count": 1,
                               "primary_class": "hep-th"}) in recorder.calls


def test_answers_are_cached_in_memory_and_on_disk(services, tmp_path):
    cache = tmp_path / "enrich-cache.json"
    recorder = Recorder()
    enricher = make(services, recorder, cache_path=cache)
    enricher.enqueue("2401.00001")
    enricher.run_once()
    enricher.enqueue("2401.00001")
    enricher.run_once()
    assert len(recorder.calls) == 2 and recorder.calls[0] == recorder.calls[1]
    assert len(services.requests) == 1
    assert enricher.cached("2401.00001")["primary_class"] == "cs.LG"

    again = Recorder()
    fresh = make(services, again, cache_path=cache)
    fresh.enqueue("2401.00001")
    fresh.run_once()
    assert again.calls == recorder.calls[:1]
    assert len(services.requests) == 1  # came from the file


def test_unknown_papers_are_not_asked_again(services):
    recorder = Recorder()
    enricher = make(services, recorder)
    enricher.enqueue("2501.99999")
    assert enricher.run_once() == 1
    asked = len(services.requests)
    assert asked == 2  # arXiv, then Hugging Face
    enricher.enqueue("2501.99999")
    enricher.run_once()
    assert recorder.calls == [] and len(services.requests) == asked
    assert enricher.stats["not_found"] == 1


def test_offline_then_back_online_retries_later():
    probe = FakeServices()
    port = probe.port
    probe.close()  # nothing listens there now: "offline"
    recorder = Recorder()
    enricher = Enricher(recorder, arxiv_api=f"http://127.0.0.1:{port}/arxiv/api/query",
                        hf_api=f"http://127.0.0.1:{port}/hf/api", min_interval=0.0,
                        retry_delay=0.1, max_retry_delay=0.2, timeout=1.0, enabled=True)
    enricher.start()
    back = None
    try:
        enricher.enqueue("2401.00001")
        time.sleep(0.5)
        assert recorder.calls == []
        assert enricher.stats["failures"] >= 2
        assert enricher.pending() == ["2401.00001"]
        back = FakeServices(port=port)
        assert recorder.wait_for(1, timeout=5)
        assert recorder.calls[0][1]["authors"] == ["Ada Lovelace", "Jürgen Müller"]
        assert enricher.wait_idle(2)
    finally:
        enricher.stop()
        if back:
            back.close()


def test_gives_up_after_max_attempts(services):
    services.arxiv_status = 503
    services.hf_status = 500
    recorder = Recorder()
    enricher = make(services, recorder, max_attempts=2, retry_delay=0.01)
    enricher.enqueue("2401.00001")
    enricher.run_once()
    assert enricher.pending() == ["2401.00001"]
    time.sleep(0.05)
    enricher.run_once()
    assert enricher.pending() == [] and recorder.calls == []


def test_callback_errors_do_not_stop_the_worker(services):
    calls = []

    def apply(arxiv_id, fields):
        calls.append(arxiv_id)
        if len(calls) == 1:
            raise RuntimeError("library closed")

    enricher = make(services, apply, batch_size=1)
    enricher.start()
    try:
        enricher.enqueue("2401.00001")
        enricher.enqueue("2409.21039")
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        enricher.stop()
    assert sorted(calls) == ["2401.00001", "2409.21039"]


def test_base_urls_and_switch_come_from_the_environment(services, monkeypatch):
    monkeypatch.setenv("PAPERSHELF_ARXIV_API", services.arxiv_api)
    monkeypatch.setenv("PAPERSHELF_HF_API", services.hf_api)
    recorder = Recorder()
    enricher = Enricher(recorder, min_interval=0.0)
    assert (enricher.arxiv_api, enricher.hf_api) == (services.arxiv_api, services.hf_api)
    enricher.enqueue("2401.00001")
    enricher.run_once()
    assert recorder.calls
    monkeypatch.setenv("PAPERSHELF_ENRICH", "0")
    off = Enricher(recorder)
    assert off.enabled is False
    off.start()
    assert off._thread is None


def test_defaults_point_at_the_real_services(monkeypatch):
    for name in ("PAPERSHELF_ARXIV_API", "PAPERSHELF_HF_API"):
        monkeypatch.delenv(name, raising=False)
    enricher = Enricher(lambda *a: None, enabled=False)
    assert enricher.arxiv_api == enrich.DEFAULT_ARXIV_API == "https://export.arxiv.org/api/query"
    assert enricher.hf_api == enrich.DEFAULT_HF_API == "https://huggingface.co/api"


def test_bad_ids_are_ignored():
    enricher = Enricher(lambda *a: None, enabled=False)
    for bad in ("", None, "not an id", "1234", "http://example.org"):
        enricher.enqueue(bad)
    assert enricher.pending() == []


def test_needs_enrichment():
    assert needs_enrichment({"arxiv_id": "2401.00001", "authors": [], "authors_count": 3})
    assert needs_enrichment({"arxiv_id": "2401.00001", "authors": ["A B"], "authors_count": 3,
                             "primary_class": "cs.LG"})
    assert needs_enrichment({"arxiv_id": "2401.00001", "authors": ["A B"]})  # no primary class
    assert not needs_enrichment({"arxiv_id": "2401.00001", "authors": ["A B"], "authors_count": 1,
                                 "primary_class": "cs.LG"})
    assert not needs_enrichment({"arxiv_id": None, "authors": []})


def test_parsers():
    found = parse_arxiv_atom(atom(["2401.00001", "hep-th/9802150", "garbage", "2501.99999"]))
    assert set(found) == {"2401.00001", "hep-th/9802150"}
    assert found["2401.00001"]["doi"] == "10.1000/xyz.1"
    with pytest.raises(enrich.TemporaryFailure):
        parse_arxiv_atom("<html>oops")
    assert parse_hf_paper({"authors": [{"name": " Ada  Lovelace "}, {"name": ""}, "Alan Turing"]}) == {
        "authors": ["Ada Lovelace", "Alan Turing"], "authors_count": 2}
