"""kill -9 of a real server during a stream of saves loses no acknowledged save."""

import random
import threading
import time

import requests

from server_process import ServerProcess


def card(n: int) -> dict:
    return {"arxiv_id": f"2501.{n:05d}", "title": f"Crash-test paper number {n} on topic {n * 7919 % 1000}",
            "abstract": "An abstract. " * 40, "authors": ["Jun Park", "Lea Martin"],
            "upvotes": n % 300, "published": "2025-01-15", "tags": [f"batch/{n % 5}"]}


def stream_saves(server: ServerProcess, token: str, start: int, acked: list, stop: threading.Event):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    n = start
    while not stop.is_set():
        batch = [card(n + i) for i in range(random.choice((1, 1, 1, 5, 20)))]
        try:
            answer = session.post(server.url + "/api/papers", json={"papers": batch}, timeout=5)
        except requests.RequestException:
            return  # the server died under us: this batch was never acknowledged
        if answer.status_code == 200:
            acked.extend(c["arxiv_id"] for c in batch)
        n += len(batch)


def test_kill_9_during_saves_loses_nothing_acknowledged(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    token = server.token
    acked: list[str] = []
    rng = random.Random(7)
    next_number = 0
    for cycle in range(4):
        stop = threading.Event()
        writers = [threading.Thread(target=stream_saves,
                                    args=(server, token, next_number + k * 100_000, acked, stop))
                   for k in range(2)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.3, 1.2))
        server.kill()
        stop.set()
        for w in writers:
            w.join(10)
        next_number += 1000 * (cycle + 1)
        server.start()  # the library must load after the crash
        status = server.session().get(server.url + "/api/status").json()
        assert status["warnings"] == [], status
        found = server.session().post(server.url + "/api/papers/lookup",
                                      json={"arxiv_ids": sorted(set(acked))}).json()["papers"]
        missing = set(acked) - set(found)
        assert not missing, f"cycle {cycle}: {len(missing)} acknowledged saves lost"
    assert len(set(acked)) > 20, "the test saved too little to mean anything"
    server.stop()
