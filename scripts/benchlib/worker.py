"""Work that needs the backend's Python code, run in a child process so that the backend
under test (``--backend-src``) is the first ``papershelf`` on ``PYTHONPATH``.

    python -m benchlib.worker build   '{"data": DIR, "size": N, "seed": S, "dump": FILE}'
    python -m benchlib.worker dedupe  '{"data": DIR, "size": N, "seed": S, "probes": K, "reps": R}'
    python -m benchlib.worker export  '{"tinydb": FILE, "reps": R}'

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import inspect
import json
import statistics
import sys
import time
from pathlib import Path

from . import data

BATCH = 1000  # the API's limit for one request, kept here too


def _open_library(data_dir: Path, **fast):
    from papershelf.config import library_dir
    from papershelf.library import Library
    accepted = inspect.signature(Library.__init__).parameters
    options = {k: v for k, v in fast.items() if k in accepted}
    return Library(library_dir(data_dir), **options)


def _save(library, cards: list[dict], view: str, url: str) -> dict:
    from papershelf import records
    clean, source = records.clean_batch({"papers": cards, "source": {"url": url, "view": view}})
    return library.save_cards(clean, source)


def build(args: dict) -> dict:
    """A library of ``size`` live papers: the saved fixture cards, then the synthetic
    stream (topped up if the library merged any), saved in batches through the backend's
    own save path; writes ``secrets.json`` and dumps the papers as the API shows them."""
    from papershelf import security
    data_dir = Path(args["data"])
    size, seed = args["size"], args["seed"]
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    security.Secrets(data_dir)  # the token, as `papershelf serve` would make it
    # Derived files where `papershelf serve` keeps them (beside the library folder).
    library = _open_library(data_dir, durable=False, cache_dir=data_dir / "cache")
    totals = {"created": 0, "merged": 0, "possible_duplicates": 0}

    def add(result):
        for key in totals:
            totals[key] += result.get(key, 0)

    views = ("daily", "weekly", "monthly", "trending", "search")
    add(_save(library, data.fixture_saved_cards(seed), "daily",
              "https://huggingface.co/papers/date/2026-03-10"))
    i = 0
    while True:
        missing = size - library.count()["papers"]
        if missing <= 0:
            break
        batch = [data.library_card(seed, i + k) for k in range(min(BATCH, missing))]
        view = views[(i // BATCH) % len(views)]
        add(_save(library, batch, view, f"https://huggingface.co/papers/date/{batch[0]['published']}"))
        i += len(batch)
    papers = library.all_papers()
    count = library.count()
    if hasattr(library, "refresh_renderings"):
        # A library in use has its BibTeX renderings kept up to date as papers arrive
        # (the server does it in the background): the built one has them too.
        library.refresh_renderings()
    library.close()
    Path(args["dump"]).write_text(json.dumps(papers, ensure_ascii=False), encoding="utf-8")
    return {"papers": count["papers"], "cards_used": i, **totals,
            "seconds": round(time.perf_counter() - started, 2)}


def _dedupe_index(library):
    from papershelf import dedupe
    for value in vars(library).values():
        if isinstance(value, dedupe.DedupeIndex):
            return value
    index = dedupe.DedupeIndex()  # the library keeps it elsewhere: build one the same way
    for paper in library.all_papers():
        index.add(paper["id"], paper)
    return index


def dedupe_check(args: dict) -> dict:
    """Per-card time of the duplicate check of cards without an arXiv id: ours (the
    library's candidate index and rules), the floor (one rapidfuzz extractOne over every
    normalised title) and a naive Python loop scoring every title."""
    from rapidfuzz import fuzz, process
    from papershelf import dedupe
    library = _open_library(Path(args["data"]), durable=False)
    index = _dedupe_index(library)
    titles = [dedupe.normalize_title(p.get("title") or "") for p in library.all_papers()]
    library.close()
    probes = data.dedupe_probes(args["seed"], args["size"], args["probes"])
    normalized = [dedupe.normalize_title(p["title"]) for p in probes]
    clear = getattr(dedupe.normalize_title, "cache_clear", lambda: None)
    naive_probes = probes[:max(4, len(probes) // 10)]

    def per_card(fn, items) -> float:
        clear()
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        return (time.perf_counter() - t0) / len(items) * 1000

    def naive(title: str):
        found = []
        for other in titles:
            if fuzz.token_sort_ratio(title, other) >= 90:
                found.append(other)
        return found

    ours, floor, slow, flagged = [], [], [], 0
    for rep in range(args["reps"]):
        ours.append(per_card(index.matches, probes))
        floor.append(per_card(lambda t: process.extractOne(
            t, titles, scorer=fuzz.token_sort_ratio, score_cutoff=90), normalized))
        if rep < 2:
            slow.append(per_card(naive, [dedupe.normalize_title(p["title"]) for p in naive_probes]))
    flagged = sum(1 for p in probes if index.matches(p))
    return {"ours": statistics.median(ours), "floor": statistics.median(floor),
            "naive": statistics.median(slow), "probes": len(probes),
            "naive_probes": len(naive_probes), "with_match": flagged, "titles": len(titles)}


def export_naive(args: dict) -> dict:
    """Naive export: read the TinyDB JSONStorage file, then the project's exporter."""
    from tinydb import TinyDB
    from papershelf import bibtex_export
    times = []
    for _ in range(args["reps"]):
        t0 = time.perf_counter()
        db = TinyDB(args["tinydb"])
        papers = [dict(doc, id=doc.doc_id) for doc in db.all()]
        db.close()
        text, report = bibtex_export.export(papers)
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "entries": report["entries"], "bytes": len(text)}


COMMANDS = {"build": build, "dedupe": dedupe_check, "export": export_naive}


def main() -> None:
    command, raw = sys.argv[1], sys.argv[2]
    result = COMMANDS[command](json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
