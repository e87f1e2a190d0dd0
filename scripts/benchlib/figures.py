"""The figures of one library size: ours over HTTP (or in-process where the brief says
so), the floor and the naive design, in the same run on the same data.

Each figure is measured in several rounds and the median of the rounds' values is kept.
Saves run on a fresh copy of the library per round, so a round adds at most one round's
cards to the library it measures.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinydb import TinyDB, where

from . import data
from .server import Backend, BareServer


# ----------------------------------------------------------------------------- statistics
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


# ----------------------------------------------------------------------------- settings
@dataclass
class Plan:
    """How many samples each figure takes (``--smoke`` makes a small one)."""
    rounds: int = 3
    single_saves: int = 200          # per round (3 rounds: 600 ≥ 500)
    page_saves: int = 20             # requests of 50 cards per round
    lookups: int = 100               # requests per round
    search_repeats: int = 2          # each query this many times per round
    exports: int = 3
    cold_starts: int = 5
    dedupe_probes: int = 200
    dedupe_reps: int = 3
    browser_loads: int = 5
    keystroke_words: tuple[str, ...] = ("diffusion",)
    naive_budget_s: float = 25.0     # per naive figure at one size, roughly

    @classmethod
    def smoke(cls) -> "Plan":
        return cls(rounds=1, single_saves=20, page_saves=3, lookups=10, search_repeats=1,
                   exports=1, cold_starts=1, dedupe_probes=20, dedupe_reps=1, browser_loads=1,
                   keystroke_words=("agent",), naive_budget_s=2.0)


@dataclass
class Result:
    ours: float | None
    floor: float | None = None
    naive: float | None = None
    note: str = ""


@dataclass
class SizeRun:
    """Everything measured at one library size."""
    size: int
    seed: int
    cache: Path                      # the cached library: data/, papers.json, meta.json
    work: Path                       # scratch space for copies (same file system)
    python: str
    pythonpath: str
    plan: Plan
    log: callable = print
    results: dict[str, Result] = field(default_factory=dict)
    rss: list[float] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    _copies: int = 0

    # -------------------------------------------------------------- helpers
    @property
    def papers(self) -> list[dict]:
        if not hasattr(self, "_papers"):
            self._papers = json.loads((self.cache / "papers.json").read_text(encoding="utf-8"))
        return self._papers

    def fresh_copy(self) -> Path:
        self._copies += 1
        target = self.work / f"copy-{self._copies}"
        shutil.copytree(self.cache / "data", target / "data")
        return target / "data"

    def drop_copy(self, data_dir: Path) -> None:
        shutil.rmtree(data_dir.parent, ignore_errors=True)

    def backend(self, data_dir: Path) -> Backend:
        return Backend(data_dir, self.python, self.pythonpath, self.work)

    def naive_db_path(self) -> Path:
        """The same papers in TinyDB's default JSONStorage (one JSON file)."""
        path = self.work / "naive" / "db.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            table = {str(p["id"]): {k: v for k, v in p.items() if k != "id"} for p in self.papers}
            path.write_text(json.dumps({"_default": table}), encoding="utf-8")
        return path

    def naive_samples(self, one_cost_s: float, wanted: int) -> int:
        return max(3, min(wanted, int(self.plan.naive_budget_s / max(one_cost_s, 1e-6))))

    def snapshot_path(self) -> Path:
        snap = self.cache / "data" / "library" / "library.json"
        return snap if snap.exists() else self.cache / "papers.json"

    def worker(self, command: str, args: dict) -> dict:
        env = dict(os.environ, PYTHONPATH=self.pythonpath, PAPERSHELF_ENRICH="0")
        out = subprocess.run([self.python, "-m", "benchlib.worker", command, json.dumps(args)],
                             capture_output=True, text=True, env=env)
        if out.returncode:
            raise RuntimeError(f"worker {command} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def bare_round_trips(self, path: str, bodies: list[bytes]) -> tuple[float, float]:
        """(p50, p95) in ms of POSTing ``bodies`` to a bare waitress server: the transport
        and the machine, without Papershelf. Taken right after a round of ours."""
        with BareServer(self.python, self.pythonpath) as bare:
            client = bare.client()
            times = [client.timed("POST", path, body)[0] for body in bodies]
            client.close()
        return percentile(times, 50), percentile(times, 95)

    # -------------------------------------------------------------- 1, 2: saves
    def saves(self) -> None:
        plan = self.plan
        singles = [data.probe_card(self.seed, k) for k in range(plan.single_saves)]
        pages = [[data.probe_card(self.seed, plan.single_saves + p * 50 + j) for j in range(50)]
                 for p in range(plan.page_saves)]
        source = {"url": "https://huggingface.co/papers/date/2026-03-10", "view": "daily"}
        one_p50, one_p95, page_p50, page_p95 = [], [], [], []
        bare_one = []
        for _ in range(plan.rounds):
            for kind in ("one", "page"):
                data_dir = self.fresh_copy()
                server = self.backend(data_dir)
                try:
                    server.start()
                    server.wait_until_indexed()  # steady state: the cold start is figure 7
                    client = server.client()
                    times = []
                    if kind == "one":
                        bodies = [data.json_line(card) for card in singles]
                        for body in bodies:
                            times.append(client.timed("POST", "/api/papers", body)[0])
                        one_p50.append(percentile(times, 50))
                        one_p95.append(percentile(times, 95))
                        bare_one.append(self.bare_round_trips("/api/papers", bodies))
                    else:
                        for page in pages:
                            body = json.dumps({"papers": page, "source": source}).encode()
                            times.append(client.timed("POST", "/api/papers", body)[0])
                        page_p50.append(percentile(times, 50))
                        page_p95.append(percentile(times, 95))
                    client.close()
                    self.rss.append(server.peak_rss_mb() or 0)
                finally:
                    server.stop()
                    self.drop_copy(data_dir)

        # Floor: the same bytes appended to a file, fsync'ed per save (per page).
        floor_path = self.work / "floor.log"
        f_one, f_page = [], []
        one_lines = [data.json_line(card) for card in singles]
        page_lines = [b"".join(data.json_line(c) for c in page) for page in pages]
        with open(floor_path, "ab") as fh:
            for _ in range(plan.rounds):
                f_one.append(_appended_and_synced(fh, one_lines))
                f_page.append(_appended_and_synced(fh, page_lines))
        floor_path.unlink()

        # Naive: TinyDB(path) with its default JSONStorage rewrites the file per insert.
        path = self.naive_db_path()
        backup = path.with_suffix(".orig")
        shutil.copyfile(path, backup)
        db = TinyDB(path)
        t0 = time.perf_counter()
        db.insert(dict(singles[0]))
        n = self.naive_samples(time.perf_counter() - t0, plan.single_saves)
        n_one = n
        naive_one = []
        for card in singles[1:n + 1]:
            t0 = time.perf_counter()
            db.insert(dict(card))
            naive_one.append((time.perf_counter() - t0) * 1000)
        n_page = min(n, plan.page_saves)
        naive_page = []
        for page in pages[:n_page]:
            t0 = time.perf_counter()
            db.insert_multiple([dict(c) for c in page])
            naive_page.append((time.perf_counter() - t0) * 1000)
        db.close()
        shutil.move(backup, path)

        total_one = plan.rounds * plan.single_saves
        total_page = plan.rounds * plan.page_saves
        self.facts["naive_write_samples"] = (len(naive_one), len(naive_page))
        self.results["save1_p50"] = Result(median(one_p50), median(x[0] for x in f_one),
                                           percentile(naive_one, 50),
                                           f"{total_one} saves in {plan.rounds} rounds; naive {len(naive_one)}")
        self.results["save1_p95"] = Result(median(one_p95), median(x[1] for x in f_one),
                                           percentile(naive_one, 95),
                                           bare_note(bare_one))
        self.results["save50_p50"] = Result(median(page_p50), median(x[0] for x in f_page),
                                            percentile(naive_page, 50),
                                            f"{total_page} pages in {plan.rounds} rounds; naive {len(naive_page)}")
        self.results["save50_p95"] = Result(median(page_p95), median(x[1] for x in f_page),
                                            percentile(naive_page, 95))

    # -------------------------------------------------------------- 3: duplicate check
    def dedupe(self) -> None:
        data_dir = self.fresh_copy()
        try:
            out = self.worker("dedupe", {"data": str(data_dir), "size": self.size, "seed": self.seed,
                                         "probes": self.plan.dedupe_probes,
                                         "reps": self.plan.dedupe_reps})
        finally:
            self.drop_copy(data_dir)
        self.facts["dedupe"] = out
        self.results["dedupe"] = Result(out["ours"], out["floor"], out["naive"],
                                        f"{out['probes']} cards, {out['with_match']} with a match; "
                                        f"naive on {out['naive_probes']}")

    # -------------------------------------------------------------- 4, 5, 6: reads
    def reads(self, server: Backend) -> None:
        plan = self.plan
        client = server.client()
        rng = random.Random(f"{self.seed}/lookups/{self.size}")
        saved = [p["arxiv_id"] for p in self.papers if p.get("arxiv_id")]
        id_sets = [rng.sample(saved, min(100, len(saved))) for _ in range(plan.lookups)]

        # 4. look-up of 100 saved arXiv ids
        p95s, bare = [], []
        bodies = [json.dumps({"arxiv_ids": ids}).encode() for ids in id_sets]
        for _ in range(plan.rounds):
            times = []
            for request in bodies:
                elapsed, body = client.timed("POST", "/api/papers/lookup", request)
                times.append(elapsed)
            p95s.append(percentile(times, 95))
            bare.append(self.bare_round_trips("/api/papers/lookup", bodies))
        found = len(json.loads(body)["papers"])
        table = {p["arxiv_id"]: {"id": p["id"], "title": p["title"], "tags": p["tags"],
                                 "read": p.get("read"), "starred": p.get("starred")}
                 for p in self.papers if p.get("arxiv_id")}
        floor = []
        for _ in range(plan.rounds):
            times = []
            for ids in id_sets:
                t0 = time.perf_counter()
                {i: table[i] for i in ids if i in table}
                times.append((time.perf_counter() - t0) * 1000)
            floor.append(percentile(times, 95))
        db = TinyDB(self.naive_db_path())
        naive = []
        for ids in id_sets:
            t0 = time.perf_counter()
            db.table("_default").clear_cache()
            db.search(where("arxiv_id").one_of(ids))
            naive.append((time.perf_counter() - t0) * 1000)
            if len(naive) >= self.naive_samples(naive[0] / 1000, len(id_sets)):
                break
        self.results["lookup_p95"] = Result(median(p95s), median(floor), percentile(naive, 95),
                                            f"{plan.rounds}×{len(id_sets)} requests, {found}/100 "
                                            f"found; naive {len(naive)}; {bare_note(bare)}")

        # 5. search
        queries = data.search_queries(self.seed, self.size)
        from urllib.parse import quote
        p95s, totals = [], {}
        for _ in range(plan.rounds):
            times = []
            for _ in range(plan.search_repeats):
                for q in queries:
                    elapsed, body = client.timed("GET", f"/api/papers?q={quote(q)}")
                    totals[q] = json.loads(body)["total"]
                    times.append(elapsed)
            p95s.append(percentile(times, 95))
        texts = [data.queried_fields(p).lower() for p in self.papers]
        floor = []
        for _ in range(plan.rounds):
            times = []
            for q in queries:
                words = q.lower().split()
                t0 = time.perf_counter()
                [i for i, t in enumerate(texts) if all(w in t for w in words)]
                times.append((time.perf_counter() - t0) * 1000)
            floor.append(percentile(times, 95))

        def naive_search(words):
            def matches(doc):
                text = data.queried_fields(doc).lower()
                return all(w in text for w in words)
            return db.search(matches)

        naive = []
        order = queries[::2] + queries[1::2]  # spread over the kinds if cut short
        for q in order:
            t0 = time.perf_counter()
            naive_search(q.lower().split())
            naive.append((time.perf_counter() - t0) * 1000)
            if len(naive) >= self.naive_samples(naive[0] / 1000, len(order)):
                break
        db.close()
        self.facts["search_totals"] = totals
        self.results["search_p95"] = Result(
            median(p95s), median(floor), percentile(naive, 95),
            f"{len(queries)} queries ×{plan.search_repeats}×{plan.rounds}; naive {len(naive)}")

        # 6. export
        walls = []
        for _ in range(plan.exports):
            elapsed, body = client.timed("GET", "/api/export.bib")
            walls.append(elapsed / 1000)
            if sum(walls) > plan.naive_budget_s:
                break  # a slow exporter is measured fewer times
        self.facts["export_bytes"] = len(body)
        client.close()
        naive = self.worker("export", {"tinydb": str(self.naive_db_path()),
                                       "reps": 1 if walls[0] > 2 else max(1, plan.exports - 1)})
        self.results["export"] = Result(median(walls), None, naive["seconds"],
                                        f"{len(walls)} exports, {len(body) / 1e6:.1f} MB")

    # -------------------------------------------------------------- 7, 8: cold start, memory
    def cold_start(self) -> None:
        data_dir = self.fresh_copy()
        ours, loaded, indexed, saved, searched = [], [], [], [], []
        try:
            # The built library has never been served: its first start has nothing kept
            # from a clean stop (look-ups, indexes), so it waits for the whole library and
            # builds every index (reported in the notes). The figure is a restart, the
            # usual case: the server was stopped cleanly (logout, update) and started again.
            for start in range(1 + self.plan.cold_starts):
                server = self.backend(data_dir)
                try:
                    first_answer = server.start()
                    client = server.client()
                    library_loaded = first_answer + client.timed("GET", "/api/status")[0] / 1000
                    # What a person does first after a start: save a card, search.
                    # Both may wait for indexes still being built in the background.
                    card = data.json_line(data.probe_card(self.seed, RESTART_CARDS + start))
                    card_saved = library_loaded + client.timed("POST", "/api/papers", card)[0] / 1000
                    searched_at = card_saved + client.timed(
                        "GET", "/api/papers?q=diffusion&limit=30")[0] / 1000
                    client.close()
                    indexed_at = searched_at + server.wait_until_indexed()  # from process start
                    if start == 0:
                        first_start = (first_answer, card_saved, searched_at, indexed_at)
                    else:
                        ours.append(first_answer)
                        loaded.append(library_loaded)
                        saved.append(card_saved)
                        searched.append(searched_at)
                        indexed.append(indexed_at)
                    self.rss.append(server.peak_rss_mb() or 0)
                finally:
                    server.stop()
        finally:
            self.drop_copy(data_dir)
        snapshot = self.snapshot_path()
        floor_code = ("import json, sys; json.load(open(sys.argv[1], 'rb'))\n" + _PRINT_HWM)
        naive_code = ("import sys; from tinydb import TinyDB; db = TinyDB(sys.argv[1]); "
                      "rows = db.all()\n" + _PRINT_HWM)
        floor, naive, floor_rss, naive_rss = [], [], [], []
        for _ in range(self.plan.cold_starts):
            seconds, rss = _timed_process([self.python, "-c", floor_code, str(snapshot)])
            floor.append(seconds)
            floor_rss.append(rss)
            seconds, rss = _timed_process([self.python, "-c", naive_code, str(self.naive_db_path())])
            naive.append(seconds)
            naive_rss.append(rss)
        self.results["cold"] = Result(median(ours), median(floor), median(naive),
                                      f"restart after a clean stop, median of {len(ours)}; "
                                      f"files in the page cache; library loaded (every "
                                      f"request answered) after {median(loaded):.2f} s, "
                                      f"every index built after {median(indexed):.2f} s; "
                                      f"a save right after it answered after "
                                      f"{median(saved):.2f} s and a search then after "
                                      f"{median(searched):.2f} s (from process start); "
                                      f"first start after the build (nothing kept, as "
                                      f"after a crash): first answer {first_start[0]:.2f} s, "
                                      f"a save answered after {first_start[1]:.2f} s, a "
                                      f"search after {first_start[2]:.2f} s, every index "
                                      f"built after {first_start[3]:.2f} s")
        self.facts["rss_refs"] = (max(floor_rss), max(naive_rss))

    def memory(self) -> None:
        floor_rss, naive_rss = self.facts.get("rss_refs", (None, None))
        self.results["rss"] = Result(max(self.rss) if self.rss else None, floor_rss, naive_rss,
                                     f"max over {len(self.rss)} backend processes")


RESTART_CARDS = 10_000  # probe cards saved after the restarts: beyond those the saves use

_PRINT_HWM = ("for line in open('/proc/self/status'):\n"
              "    if line.startswith('VmHWM:'): print(int(line.split()[1]) / 1024)\n")


def bare_note(rounds: list[tuple[float, float]]) -> str:
    """The bare server's round trips, medians of the rounds, for a figure's notes."""
    return (f"bare waitress round trip of the same requests, same rounds: "
            f"p50 {median(r[0] for r in rounds):.2f} ms, p95 {median(r[1] for r in rounds):.2f} ms")


def _appended_and_synced(fh, payloads: list[bytes]) -> tuple[float, float]:
    """p50 and p95 (ms) of appending each payload to ``fh`` and fsync'ing it."""
    times = []
    for payload in payloads:
        t0 = time.perf_counter()
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
        times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 95)


def _timed_process(argv: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, float(out.stdout.strip().splitlines()[-1])

