"""Workloads and oracles of the reliability suite, shared by the tests and ``scripts/stress``.

Clients talk to a real server process over HTTP, as the extension and the library page
do. Each client keeps a log of what it asked and what the server answered:

* *acknowledged*: a 2xx answer; the change must be in the library from then on;
* *refused*: a 4xx answer; the change must not be there;
* *maybe*: no answer (the server was killed mid-request); either outcome is allowed, but
  not a mix of them.

After every restart :class:`Model` compares the whole library with those logs and counts
what was *lost* (an acknowledged change missing), *corrupted* (a record that does not
validate, a change half applied, a duplicate record or tag or sighting, a change that
was refused or undone showing up, a load with warnings) and 5xx answers. Outcomes that
were uncertain are then settled to what the library holds, since that is on disk now.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from server_process import ServerProcess  # noqa: E402

from papershelf import maintenance, security  # noqa: E402
from papershelf import tags as tagmod  # noqa: E402
from papershelf.config import library_dir  # noqa: E402
from papershelf.storage import recover  # noqa: E402

WORDS = ("sparse attention kernel diffusion graph token routing mixture expert latent "
         "contrastive retrieval agent planner reward policy vision language speech audio "
         "protein molecule lattice quantum compiler theorem proof benchmark dataset scaling "
         "distillation pruning quantized federated causal temporal spectral manifold "
         "geodesic symbolic neural operator transport flow energy sampler bandit curriculum "
         "memory cache tokenizer multilingual robotic tactile navigation segmentation "
         "tracking depth radiance hashing sketch streaming").split()
SURNAMES = ("Park Martin Okafor Silva Novak Tanaka Haddad Kowalski Mensah Rossi Larsen "
            "Dubois Ivanova Chen Garcia Murphy").split()
PAGES = [f"https://huggingface.co/papers/date/2026-03-{day:02d}" for day in range(1, 9)]
PAIR_PAGE = "https://huggingface.co/papers/trending"


# ----------------------------------------------------------------------------- cards
def _rng_for(text: str) -> random.Random:
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def pool_id(n: int) -> str:
    return f"2503.{n:05d}"


def pair_id(client: int, n: int) -> str:
    return f"2504.{client * 4000 + n:05d}"


def card_fields(arxiv_id: str) -> dict:
    """The fields of a paper that every save of it carries (a function of its id)."""
    rng = _rng_for(arxiv_id)
    title = " ".join(rng.sample(WORDS, 7)).capitalize() + f" {arxiv_id}"
    return {"title": title,
            "abstract": " ".join(rng.choice(WORDS) for _ in range(60)) + ".",
            "authors": [f"{rng.choice('ABCDEFGHJKLMNPRST')}. {rng.choice(SURNAMES)}"
                        for _ in range(rng.randint(1, 4))],
            "published": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}


def card(arxiv_id: str, rng: random.Random, tags: list[str] | None = None) -> dict:
    out = {"arxiv_id": arxiv_id, **card_fields(arxiv_id), "upvotes": rng.randint(0, 500)}
    if tags:
        out["tags"] = tags
    return out


def spelled(tag: str, rng: random.Random) -> str:
    """The same tag as another user might type it (case differs, identity does not)."""
    return rng.choice((tag, tag.upper(), tag.title(), tag.lower()))


# ----------------------------------------------------------------------------- results
@dataclass
class Result:
    test: str
    size: str
    acked: int = 0
    lost: int = 0
    corrupted: int = 0
    errors_5xx: int = 0
    unexpected: int = 0
    details: list[str] = field(default_factory=list)
    operations: str = ""  # what was done, by kind and outcome (to see the races happened)
    seen: set = field(default_factory=set, repr=False)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.corrupted or self.errors_5xx or self.unexpected)

    def note(self, kind: str, message: str) -> None:
        """Count one finding (the same finding seen again after a later restart counts once)."""
        if (kind, message) in self.seen:
            return
        self.seen.add((kind, message))
        if kind == "lost":
            self.lost += 1
        elif kind == "corrupted":
            self.corrupted += 1
        elif kind == "5xx":
            self.errors_5xx += 1
        else:
            self.unexpected += 1
        if len(self.details) < 200:
            self.details.append(f"{kind}: {message}")

    def summary(self) -> str:
        return format_table([self]) + ("\n" + "\n".join(self.details[:40]) if self.details else "")


def format_table(results: list[Result]) -> str:
    head = ("test", "size", "acknowledged ops", "lost", "corrupted", "5xx", "unexpected")
    rows = [head] + [(r.test, r.size, str(r.acked), str(r.lost), str(r.corrupted),
                      str(r.errors_5xx), str(r.unexpected)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the model
ACKED, REFUSED, MAYBE = "acked", "refused", "maybe"
PRESENT, ABSENT, UNKNOWN = "present", "absent", "unknown"


@dataclass
class Pair:
    """Two papers a client saved in order to merge them."""
    keep: int
    other: int
    keep_arxiv: str
    other_arxiv: str
    outcomes: list[str] = field(default_factory=list)
    merged: str = ABSENT  # settled state: PRESENT once the merge is on disk


class Model:
    """What the clients were told, and what the library must therefore hold."""

    def __init__(self):
        self.lock = threading.Lock()
        self.saved: dict[str, str] = {}                  # arXiv id -> ACKED | MAYBE
        self.sightings: set[tuple[str, str]] = set()     # (arXiv id, page) acknowledged
        self.shared_tags: dict[tuple, str] = {}          # (target, ident) -> PRESENT | UNKNOWN
        self.tag_base: dict[tuple, str] = {}             # (client, target, ident) -> settled
        self.tag_ops: dict[tuple, list] = defaultdict(list)  # -> [(wanted, outcome)] since
        self.ids: dict[str, int] = {}                    # arXiv id -> paper id (pool papers)
        self.pairs: list[Pair] = []
        self.open_pairs: list[Pair] = []
        self.acked = 0
        self.refused = 0
        self.maybe = 0
        self.kinds: Counter = Counter()  # (operation, outcome) -> how many

    # -- recording (client threads) --------------------------------------------------
    def count(self, outcome: str, kind: str) -> None:
        with self.lock:
            self.kinds[(kind, outcome)] += 1
            if outcome == ACKED:
                self.acked += 1
            elif outcome == REFUSED:
                self.refused += 1
            else:
                self.maybe += 1

    def saved_cards(self, cards: list[dict], page: str, outcome: str, answer: dict | None) -> None:
        with self.lock:
            for c in cards:
                if outcome == ACKED:
                    self.saved[c["arxiv_id"]] = ACKED
                    self.sightings.add((c["arxiv_id"], page))
                elif outcome == MAYBE:
                    self.saved.setdefault(c["arxiv_id"], MAYBE)
                if outcome != REFUSED:
                    for tag in c.get("tags", []):
                        key = (("arxiv", c["arxiv_id"]), tagmod.identity(tag))
                        if outcome == ACKED:
                            self.shared_tags[key] = PRESENT
                        else:
                            self.shared_tags.setdefault(key, UNKNOWN)
            if answer:
                for c, result in zip(cards, answer["results"]):
                    self.ids[c["arxiv_id"]] = result["paper"]["id"]

    def tag_op(self, client: int, target: tuple, tag: str, wanted: str, outcome: str) -> None:
        with self.lock:
            self.tag_ops[(client, target, tagmod.identity(tag))].append((wanted, outcome))

    def shared_tag_op(self, target: tuple, tag: str, outcome: str) -> None:
        with self.lock:
            key = (target, tagmod.identity(tag))
            if outcome == ACKED:
                self.shared_tags[key] = PRESENT
            elif outcome == MAYBE:
                self.shared_tags.setdefault(key, UNKNOWN)

    def new_pair(self, pair: Pair) -> None:
        with self.lock:
            self.pairs.append(pair)
            self.open_pairs.append(pair)

    def merged(self, pair: Pair, outcome: str) -> None:
        with self.lock:
            pair.outcomes.append(outcome)
            if outcome == ACKED and pair in self.open_pairs:
                self.open_pairs.remove(pair)

    def pick_pool_ids(self, rng: random.Random, n: int) -> list[tuple[str, int]]:
        with self.lock:
            known = list(self.ids.items())
        return rng.sample(known, min(n, len(known))) if known else []

    def pick_pair(self, rng: random.Random, recent: int = 4) -> Pair | None:
        with self.lock:
            pool = self.open_pairs[-recent:]
        return rng.choice(pool) if pool else None

    def pick_pair_paper(self, rng: random.Random) -> int | None:
        with self.lock:
            pool = self.pairs[-6:]
        if not pool:
            return None
        pair = rng.choice(pool)
        return rng.choice((pair.keep, pair.other))

    # -- checking (no client running) ------------------------------------------------
    @staticmethod
    def _fold(base: str, ops: list[tuple[str, str]]) -> str:
        state = base
        for wanted, outcome in ops:
            if outcome == ACKED:
                state = wanted
            elif outcome == MAYBE and state != wanted:
                state = UNKNOWN
        return state

    def check(self, papers: dict[int, dict], result: Result) -> None:
        """Compare the library (every paper, live and trash, by id) with the logs, then
        settle what was uncertain."""
        by_arxiv: dict[str, list[int]] = defaultdict(list)
        for doc_id, paper in papers.items():
            if paper.get("arxiv_id"):
                by_arxiv[paper["arxiv_id"]].append(doc_id)
        # Records: whole, valid, one per arXiv id, known to a client, with the fields saved.
        for doc_id, paper in papers.items():
            stored = {k: v for k, v in paper.items() if k != "id"}
            for problem in maintenance.paper_problems(stored):
                result.note("corrupted", f"paper {doc_id} {problem}")
            arxiv = paper.get("arxiv_id")
            if arxiv not in self.saved:
                result.note("corrupted", f"paper {doc_id} ({arxiv}) was never saved by a client")
                continue
            want = card_fields(arxiv)
            for name, value in want.items():
                if paper.get(name) != value:
                    result.note("corrupted", f"paper {doc_id} ({arxiv}) has {name}="
                                             f"{str(paper.get(name))[:60]!r}, saved as {str(value)[:60]!r}")
            if paper.get("deleted_at"):
                result.note("corrupted", f"paper {doc_id} is in the trash; no client deleted it")
            days = Counter((s.get("url"), (s.get("seen_at") or "")[:10]) for s in paper.get("sightings", []))
            for (url, day), n in days.items():
                if n > 1:
                    result.note("corrupted", f"paper {doc_id} has {n} sightings of {url} on {day}")
        for arxiv, holders in by_arxiv.items():
            if len(holders) > 1:
                result.note("corrupted", f"arXiv {arxiv} is held by {len(holders)} records {holders}")
        # Merges, and where each pair paper lives now.
        home: dict[int, int] = {}
        merged_away: set[str] = set()
        for pair in self.pairs:
            keep, other = papers.get(pair.keep), papers.get(pair.other)
            if keep is None:
                result.note("lost", f"paper {pair.keep} (kept side of a merge) is gone")
                continue
            took = pair.other in keep.get("merged_from", [])
            if took and other is None:
                observed = PRESENT
            elif not took and other is not None:
                observed = ABSENT
            else:
                result.note("corrupted", f"merge of {pair.other} into {pair.keep} is half applied "
                                         f"(other {'exists' if other else 'gone'}, "
                                         f"merged_from={keep.get('merged_from')})")
                continue
            if pair.merged == PRESENT and observed == ABSENT:
                result.note("lost", f"the merge of {pair.other} into {pair.keep} was undone")
            if ACKED in pair.outcomes and observed == ABSENT:
                result.note("lost", f"acknowledged merge of {pair.other} into {pair.keep} is missing")
            if REFUSED in pair.outcomes and observed == ABSENT:
                result.note("corrupted", f"a merge of {pair.other} into {pair.keep} was refused, "
                                         "yet no other merge of the pair is in the library")
            if pair.outcomes.count(ACKED) > 1:
                result.note("corrupted", f"the pair {pair.keep}/{pair.other} was merged twice")
            if observed == PRESENT:
                home[pair.other] = pair.keep
                merged_away.add(pair.other_arxiv)
                if keep.get("arxiv_id") != pair.keep_arxiv:
                    result.note("corrupted", f"merged paper {pair.keep} took arXiv id {keep.get('arxiv_id')}")
            pair.merged = observed
            pair.outcomes = []
        with self.lock:
            self.open_pairs = [p for p in self.pairs if p.merged == ABSENT]
        # Saves: every acknowledged one is there, with its page as one sighting.
        for arxiv, state in list(self.saved.items()):
            present = bool(by_arxiv.get(arxiv))
            if state == ACKED and not present and arxiv not in merged_away:
                result.note("lost", f"acknowledged save of {arxiv} is missing")
            if present and arxiv in self.ids and by_arxiv[arxiv][0] != self.ids[arxiv]:
                result.note("lost", f"paper {self.ids[arxiv]} ({arxiv}) was acknowledged, yet the "
                                    f"library holds {arxiv} as paper {by_arxiv[arxiv][0]}")
            if state == MAYBE:
                if present:
                    self.saved[arxiv] = ACKED
                    if arxiv.startswith("2503."):
                        self.ids[arxiv] = by_arxiv[arxiv][0]
                else:
                    del self.saved[arxiv]
        for arxiv, page in self.sightings:
            holders = by_arxiv.get(arxiv)
            if holders and not any(s.get("url") == page for s in papers[holders[0]].get("sightings", [])):
                result.note("lost", f"paper {arxiv} lost its sighting on {page}")

        def tags_of(target: tuple) -> set[str] | None:
            kind, value = target
            if kind == "arxiv":
                holders = by_arxiv.get(value)
                paper = papers[holders[0]] if holders else None
            else:
                paper = papers.get(home.get(value, value))
            return None if paper is None else {tagmod.identity(t) for t in paper.get("tags", [])}

        for (target, ident), state in list(self.shared_tags.items()):
            tags = tags_of(target)
            if tags is None:
                continue
            if state == PRESENT and ident not in tags:
                result.note("lost", f"acknowledged tag {ident!r} missing on {target}")
            self.shared_tags[(target, ident)] = PRESENT if ident in tags else ABSENT
        # A client's tag on a paper: its last acknowledged change decides. A merge carries
        # the tags of both papers to the kept one, so the pair is judged together there.
        groups: dict[tuple, list] = defaultdict(list)
        for key in set(self.tag_base) | set(self.tag_ops):
            client, target, ident = key
            expected = self._fold(self.tag_base.get(key, ABSENT), self.tag_ops.get(key, []))
            where = target if target[0] == "arxiv" else ("paper", home.get(target[1], target[1]))
            groups[(client, where, ident)].append((key, expected))
        for (client, where, ident), members in groups.items():
            states = {state for _, state in members}
            expected = PRESENT if PRESENT in states else UNKNOWN if UNKNOWN in states else ABSENT
            tags = tags_of(where)
            if tags is None:
                if expected == PRESENT:
                    result.note("lost", f"paper {where} with acknowledged tag {ident!r} is gone")
                continue
            observed = PRESENT if ident in tags else ABSENT
            if expected == PRESENT and observed == ABSENT:
                result.note("lost", f"acknowledged tag {ident!r} (client {client}) missing on {where}")
            elif expected == ABSENT and observed == PRESENT:
                history = [(key[1], self.tag_base.get(key, ABSENT), self.tag_ops.get(key, []))
                           for key, _ in members]
                result.note("corrupted", f"tag {ident!r} (client {client}) on {where}, "
                                         "though its last acknowledged change removed it or it "
                                         f"was refused; changes since the last check: {history}")
            for key, _ in members:
                self.tag_base[key] = observed
        self.tag_ops.clear()


# ----------------------------------------------------------------------------- reading
def papershelf(*args, timeout=60) -> subprocess.CompletedProcess:
    """The command line, run as a user runs it."""
    return subprocess.run([sys.executable, "-m", "papershelf", *args], capture_output=True,
                          text=True, timeout=timeout)


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under a folder and its bytes (to prove nothing was written)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def all_papers(session: requests.Session, url: str, result: Result) -> dict[int, dict]:
    """Every paper the server has, live and in the trash, by id."""
    out: dict[int, dict] = {}
    for trash in ("false", "true"):
        offset = 0
        while True:
            answer = session.get(url + "/api/papers", timeout=60,
                                 params={"limit": 500, "offset": offset, "trash": trash})
            if answer.status_code != 200:
                result.note("5xx" if answer.status_code >= 500 else "unexpected",
                            f"listing papers answered {answer.status_code}: {answer.text[:200]}")
                return out
            page = answer.json()
            for paper in page["papers"]:
                if paper["id"] in out:
                    result.note("corrupted", f"paper {paper['id']} is listed twice")
                out[paper["id"]] = paper
            offset += len(page["papers"])
            if not page["papers"] or offset >= page["total"]:
                break
    return out


def disk_tables(data_dir: Path) -> dict:
    """What the files hold, read the way a restart reads them (nothing is changed)."""
    return recover(library_dir(data_dir)).tables


def compare_memory_and_disk(papers: dict[int, dict], data_dir: Path, result: Result) -> None:
    """Every paper the server answers is stored exactly so on disk, and nothing more."""
    stored = {int(k): v for k, v in disk_tables(data_dir).get("papers", {}).items()}
    if set(stored) != set(papers):
        only_memory, only_disk = sorted(set(papers) - set(stored)), sorted(set(stored) - set(papers))
        result.note("corrupted", f"memory and disk differ: only in memory {only_memory[:10]}, "
                                 f"only on disk {only_disk[:10]}")
    for doc_id in set(stored) & set(papers):
        for name, value in stored[doc_id].items():
            if papers[doc_id].get(name) != value:
                result.note("corrupted", f"paper {doc_id}: {name} differs between memory and disk")
                break


def check_files(data_dir: Path, result: Result) -> None:
    """`papershelf check` of the library folder (files, records, the rules between them),
    at a quiet moment: just after a start (nothing is being written), or after a stop."""
    report = maintenance.check_library(data_dir)
    for problem in report.problems:
        result.note("corrupted", f"check: {problem}")
    leftovers = maintenance.temp_leftovers(library_dir(data_dir))
    if leftovers:
        result.note("corrupted", f"leftover temporary files after a restart: {[p.name for p in leftovers]}")


def status_warnings(session: requests.Session, url: str, result: Result) -> None:
    answer = session.get(url + "/api/status", timeout=30)
    if answer.status_code != 200:
        result.note("unexpected", f"status answered {answer.status_code}")
        return
    for warning in answer.json()["warnings"]:
        result.note("corrupted", f"the library loaded with a warning: {warning}")


# ----------------------------------------------------------------------------- clients
class Client(threading.Thread):
    """One user agent (an extension on some page, a library tab) doing random work."""

    def __init__(self, number: int, url: str, token: str, model: Model, result: Result,
                 ops: int | None, seed: int, stop: threading.Event, crash_mode: bool,
                 op_counter: dict):
        super().__init__(name=f"client-{number}", daemon=True)
        self.number = number
        self.url = url
        self.model = model
        self.result = result
        self.ops = ops
        self.rng = random.Random(seed * 1000 + number)
        self.stop = stop
        self.crash_mode = crash_mode
        self.op_counter = op_counter  # survives cycles: op numbers and pair numbers go on
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.pool_size = op_counter["pool"]
        self.dead = False

    # -- one request ------------------------------------------------------------------
    def send(self, method: str, path: str, body=None, refusable=(404,)) -> tuple[str, dict | None]:
        try:
            answer = self.http.request(method, self.url + path, json=body, timeout=60)
        except requests.RequestException as exc:
            if not self.crash_mode:
                self.result.note("unexpected", f"{method} {path}: no answer ({exc})")
            self.dead = True
            return MAYBE, None
        if answer.status_code >= 500:
            self.result.note("5xx", f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
            return MAYBE, None
        if answer.status_code >= 400:
            if answer.status_code not in refusable:
                self.result.note("unexpected", f"{method} {path} {json.dumps(body)[:200]} answered "
                                               f"{answer.status_code}: {answer.text[:200]}")
            return REFUSED, None
        try:
            return ACKED, answer.json()
        except ValueError:
            self.result.note("unexpected", f"{method} {path}: answer is not JSON")
            return MAYBE, None

    # -- operations -------------------------------------------------------------------
    def hot_id(self) -> str:
        """The paper every client is saving right now (changes five times a second)."""
        return pool_id(int(time.monotonic() * 5) % self.pool_size)

    def shared_tag(self) -> str:
        epoch = self.op_counter["ops"] // 40
        return spelled(f"topic/{'abcdefgh'[epoch % 8]}{epoch // 8}", self.rng)

    def op_save(self) -> None:
        rng = self.rng
        ids = {pool_id(rng.randrange(self.pool_size)) for _ in range(rng.choice((1, 1, 2, 3, 5)))}
        if rng.random() < 0.4:
            ids.add(self.hot_id())
        cards = [card(i, rng, [self.shared_tag()] if rng.random() < 0.3 else None) for i in sorted(ids)]
        page = rng.choice(PAGES)
        outcome, answer = self.send("POST", "/api/papers", {"papers": cards,
                                                           "source": {"url": page, "view": "daily"}},
                                    refusable=())
        if answer is not None:
            for c, r in zip(cards, answer["results"]):
                if r["paper"]["arxiv_id"] != c["arxiv_id"] or r["status"] not in ("created", "merged"):
                    self.result.note("corrupted", f"saving {c['arxiv_id']} answered {r['status']} "
                                                  f"for {r['paper']['arxiv_id']} ({r.get('duplicate_of')})")
        self.model.saved_cards(cards, page, outcome, answer)
        self.model.count(outcome, "save")

    def op_tag(self) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            paper = self.model.pick_pair_paper(rng)
            if paper is None:
                return self.op_save()
            tag = spelled(f"c{self.number}/pair{rng.randrange(3)}", rng)
            outcome, _ = self.send("POST", f"/api/papers/{paper}/tags", {"add": [tag]})
            self.model.tag_op(self.number, ("paper", paper), tag, PRESENT, outcome)
            return self.model.count(outcome, "tag a paper being merged")
        picked = self.model.pick_pool_ids(rng, 1)
        if not picked:
            return self.op_save()
        arxiv, paper = picked[0]
        if rng.random() < 0.25:
            tag = self.shared_tag()
            outcome, _ = self.send("POST", f"/api/papers/{paper}/tags", {"add": [tag]}, refusable=())
            self.model.shared_tag_op(("arxiv", arxiv), tag, outcome)
            return self.model.count(outcome, "tag (shared name)")
        tag = spelled(f"c{self.number}/t{rng.randrange(4)}", rng)
        wanted = rng.choice((PRESENT, ABSENT))
        body = {"add": [tag]} if wanted == PRESENT else {"remove": [tag]}
        outcome, _ = self.send("POST", f"/api/papers/{paper}/tags", body, refusable=())
        self.model.tag_op(self.number, ("arxiv", arxiv), tag, wanted, outcome)
        self.model.count(outcome, "tag/untag")

    def op_bulk(self) -> None:
        rng = self.rng
        picked = self.model.pick_pool_ids(rng, rng.randint(2, 6))
        if not picked:
            return self.op_save()
        targets = [(("arxiv", a), i) for a, i in picked]
        racing = rng.random() < 0.3 and self.model.pick_pair_paper(rng)
        if racing:
            targets.append((("paper", racing), racing))
        tag = spelled(f"c{self.number}/bulk{rng.randrange(3)}", rng)
        wanted = PRESENT if racing or rng.random() < 0.6 else ABSENT
        action = "tag" if wanted == PRESENT else "untag"
        outcome, _ = self.send("POST", "/api/papers/bulk",
                               {"ids": [i for _, i in targets], "action": action, "tags": [tag]},
                               refusable=(404,) if racing else ())
        for target, _ in targets:
            self.model.tag_op(self.number, target, tag, wanted, outcome)
        self.model.count(outcome, "bulk racing a merge" if racing else "bulk tag/untag")

    def op_pair(self) -> None:
        rng = self.rng
        n = self.op_counter.setdefault(("pairs", self.number), 0)
        self.op_counter[("pairs", self.number)] = n + 2
        ids = [pair_id(self.number, n), pair_id(self.number, n + 1)]
        cards = [card(i, rng) for i in ids]
        outcome, answer = self.send("POST", "/api/papers", {"papers": cards,
                                                           "source": {"url": PAIR_PAGE, "view": "trending"}},
                                    refusable=())
        self.model.saved_cards(cards, PAIR_PAGE, outcome, None)
        self.model.count(outcome, "save a pair")
        if answer is not None:
            keep, other = (r["paper"]["id"] for r in answer["results"])
            if keep == other:
                self.result.note("corrupted", f"two papers with different arXiv ids {ids} became one")
                return
            self.model.new_pair(Pair(keep, other, ids[0], ids[1]))

    def op_merge(self) -> None:
        pair = self.model.pick_pair(self.rng)
        if pair is None:
            return self.op_pair()
        outcome, answer = self.send("POST", "/api/duplicates/merge", {"keep": pair.keep, "other": pair.other})
        if answer is not None and pair.other not in answer["paper"].get("merged_from", []):
            self.result.note("corrupted", f"merge of {pair.other} into {pair.keep} answered without it")
        self.model.merged(pair, outcome)
        self.model.count(outcome, "merge")

    def op_read(self) -> None:
        rng = self.rng
        choice = rng.randrange(4)
        if choice == 0:
            self.send("GET", f"/api/papers?q={rng.choice(WORDS)}&limit=20", refusable=())
        elif choice == 1:
            self.send("GET", "/api/tags?prefix=topic", refusable=())
        elif choice == 2:
            self.send("GET", "/api/duplicates", refusable=())
        else:
            self.send("POST", "/api/papers/lookup",
                      {"arxiv_ids": [pool_id(rng.randrange(self.pool_size)) for _ in range(20)]},
                      refusable=())

    OPS = ((op_save, 35), (op_tag, 25), (op_bulk, 10), (op_pair, 8), (op_merge, 14), (op_read, 8))

    def run(self) -> None:
        functions, weights = zip(*self.OPS)
        done = 0
        while not self.stop.is_set() and not self.dead and (self.ops is None or done < self.ops):
            self.op_counter["ops"] += 1
            self.rng.choices(functions, weights)[0](self)
            done += 1


def run_clients(server: ServerProcess, token: str, model: Model, result: Result, *, clients: int,
                ops: int | None, seed: int, counter: dict, crash_mode: bool,
                stop: threading.Event) -> list[Client]:
    threads = [Client(k, server.url, token, model, result, ops, seed, stop, crash_mode, counter)
               for k in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def verify(server: ServerProcess, token: str, model: Model, result: Result) -> dict[int, dict]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    status_warnings(session, server.url, result)
    papers = all_papers(session, server.url, result)
    model.check(papers, result)
    return papers


def stop_check_and_restart(server: ServerProcess, token: str, model: Model, result: Result) -> None:
    """A clean stop, `check` of the files it leaves, and a start that must load it all."""
    server.stop()
    check_files(server.data_dir, result)
    server.start()
    verify(server, token, model, result)


def server_token(data_dir: Path) -> str:
    return security.Secrets(data_dir).token


# ----------------------------------------------------------------------------- runs
def save_ballast(server: ServerProcess, token: str, model: Model, count: int, seed: int) -> None:
    """Papers no client touches again, so that snapshots take long enough to be caught
    by a kill (and must come through every one of them whole)."""
    rng = random.Random(seed)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    for start in range(0, count, 500):
        cards = [dict(card(f"2502.{n:05d}", rng), ai_summary=" ".join(rng.choices(WORDS, k=300)))
                 for n in range(start, min(count, start + 500))]
        answer = http.post(server.url + "/api/papers", json={"papers": cards}, timeout=300)
        answer.raise_for_status()
        model.saved_cards(cards, "", ACKED, None)
        model.sightings.difference_update({(c["arxiv_id"], "") for c in cards})


def run_crash(workdir: Path, *, cycles: int, clients: int = 4, seed: int = 1,
              snapshot_every: int = 4, pool: int = 150, ballast: int = 400, min_run: float = 0.2,
              max_run: float = 1.2, progress=None) -> Result:
    """kill -9 the server at a random moment of concurrent work, ``cycles`` times."""
    result = Result("crash: kill -9 during saves, tags, bulk, merges",
                    f"{cycles} cycles x {clients} clients")
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(workdir / "data", extra_env={"PAPERSHELF_SNAPSHOT_EVERY": str(snapshot_every)})
    model = Model()
    counter = {"ops": 0, "pool": pool}
    moments: Counter = Counter()
    server.start()
    try:
        token = server_token(server.data_dir)
        save_ballast(server, token, model, ballast, seed)
        for cycle in range(cycles):
            stop = threading.Event()
            threads = run_clients(server, token, model, result, clients=clients, ops=None,
                                  seed=seed * 7919 + cycle, counter=counter, crash_mode=True, stop=stop)
            time.sleep(rng.uniform(min_run, max_run))
            server.kill()
            stop.set()
            caught_in_the_act(server.data_dir, moments)
            for thread in threads:
                thread.join(60)
            server.start()
            verify(server, token, model, result)
            check_files(server.data_dir, result)
            if progress:
                progress(cycle + 1, result, model)
        stop_check_and_restart(server, token, model, result)
    finally:
        server.kill()
    result.acked = model.acked
    result.operations = describe(model) + "; killed " + ", ".join(
        f"{n} times {what}" for what, n in sorted(moments.items()))
    return result


def caught_in_the_act(data_dir: Path, moments: Counter) -> None:
    """What the kill interrupted, as the files show it (to see the risky moments were hit)."""
    folder = library_dir(data_dir)
    if maintenance.temp_leftovers(folder):
        moments["while a snapshot was being written"] += 1
    elif not (folder / "library.json").exists() and (folder / "library.prev.json").exists():
        moments["between two steps of a snapshot"] += 1
    if recover(folder).torn_tail is not None:
        moments["in the middle of a journal line"] += 1
    moments["in all"] += 1


def describe(model: Model) -> str:
    kinds = sorted({k for k, _ in model.kinds})
    return "; ".join(f"{k}: " + ", ".join(f"{model.kinds[(k, o)]} {o}" for o in (ACKED, REFUSED, MAYBE)
                                           if model.kinds[(k, o)]) for k in kinds)


def run_concurrency(workdir: Path, *, clients: int = 16, ops: int = 60, seed: int = 1,
                    pool: int | None = None) -> Result:
    """``clients`` clients doing ``ops`` operations each at once, then every check."""
    result = Result("concurrency: saves, tags, bulk, merges at once", f"{clients} clients x {ops} ops")
    workdir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(workdir / "data")
    model = Model()
    counter = {"ops": 0, "pool": pool or max(40, clients * ops // 12)}
    server.start()
    try:
        token = server_token(server.data_dir)
        stop = threading.Event()
        threads = run_clients(server, token, model, result, clients=clients, ops=ops, seed=seed,
                              counter=counter, crash_mode=False, stop=stop)
        for thread in threads:
            thread.join()
        papers = verify(server, token, model, result)
        compare_memory_and_disk(papers, server.data_dir, result)
        check_tag_counts(server, token, papers, result)
        stop_check_and_restart(server, token, model, result)
    finally:
        server.kill()
    result.acked = model.acked
    result.operations = describe(model)
    return result


def check_tag_counts(server: ServerProcess, token: str, papers: dict[int, dict], result: Result) -> None:
    """The tag list (an index kept in memory) agrees with the papers."""
    counts: Counter = Counter()
    for paper in papers.values():
        if not paper.get("deleted_at"):
            counts.update(tagmod.identity(t) for t in paper.get("tags", []))
    answer = requests.get(server.url + "/api/tags", params={"limit": 100000}, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}).json()["tags"]
    listed = {tagmod.identity(row["name"]): row["count"] for row in answer}
    if listed != dict(counts):
        wrong = {k for k in set(listed) | set(counts) if listed.get(k) != counts.get(k)}
        result.note("corrupted", f"tag counts disagree with the papers for {sorted(wrong)[:10]}")


def ignore_sigxfsz_and_limit(limit: int | None):
    """A preexec_fn: writes past ``limit`` bytes fail with EFBIG instead of killing."""
    def setup():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return setup
