"""``scripts/bench``: build (or reuse) the synthetic libraries, measure, print the table
and write it with the machine's description."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import data, report
from .figures import Plan, Result, SizeRun

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
KEEP_PER_SIZE = 3  # cached libraries kept per (size, seed): e.g. before and after a change


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure Papershelf on synthetic libraries and write the table "
                    "(docs/benchmarks.md unless --smoke or --out).")
    ap.add_argument("--sizes", default="1000,10000,50000",
                    help="library sizes, comma-separated (default: 1000,10000,50000)")
    ap.add_argument("--smoke", action="store_true",
                    help="a quick run on a 200-paper library with few samples (every figure); "
                         "writes to a temporary file unless --out is given")
    ap.add_argument("--out", type=Path, help="where to write the table (markdown)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    ap.add_argument("--backend-src", type=Path, default=REPO / "backend",
                    help="the folder holding the papershelf package to measure, e.g. another "
                         "checkout's backend/ (default: this checkout's)")
    ap.add_argument("--extension", type=Path, default=REPO / "extension",
                    help="the unpacked extension to load (default: this checkout's)")
    ap.add_argument("--cache", type=Path, default=REPO / ".bench-cache",
                    help="where built libraries are kept (default: .bench-cache/)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium figures")
    ap.add_argument("--reuse", action="store_true",
                    help="take the figures of a size from an earlier run on the same backend "
                         "sources when there are some (to finish an interrupted run)")
    ap.add_argument("--build-only", action="store_true",
                    help="build (or find) the cached libraries of the sizes, measure nothing")
    ap.add_argument("--memory-design", action="store_true",
                    help="measure only the memory of documents kept as dicts, JSON or "
                         "compressed JSON, with the real indexes (see benchlib/memory_design.py)")
    args = ap.parse_args(argv)
    args.sizes = [200] if args.smoke and args.sizes == ap.get_default("sizes") else \
        [int(s.replace("_", "").replace("k", "000")) for s in args.sizes.split(",") if s.strip()]
    args.backend_src = args.backend_src.resolve()
    args.extension = args.extension.resolve()
    if not (args.backend_src / "papershelf" / "__init__.py").exists():
        ap.error(f"no papershelf package in {args.backend_src}")
    if any(s < 100 or s > data.MAX_LIBRARY for s in args.sizes):
        ap.error(f"sizes must be between 100 and {data.MAX_LIBRARY}")
    return args


# ----------------------------------------------------------------------------- the cache
def sources_hash(backend_src: Path) -> str:
    """The backend's sources and the generator's version: a change to either (the storage
    format may change with the backend) means a new library."""
    digest = hashlib.sha256(f"library v{data.LIBRARY_VERSION}\0".encode())
    for path in sorted((backend_src / "papershelf").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def cached_library(args, size: int, python: str, pythonpath: str) -> Path:
    key = f"{size}-seed{args.seed}-{sources_hash(args.backend_src)}"
    entry = args.cache / key
    if (entry / "meta.json").exists():
        log(f"{size} papers: cached library {entry.name}")
        os.utime(entry)
        return entry
    args.cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=args.cache))
    log(f"{size} papers: building the library in-process ({key})")
    try:
        run = SizeRun(size, args.seed, staging, staging, python, pythonpath, Plan())
        meta = run.worker("build", {"data": str(staging / "data"), "size": size,
                                    "seed": args.seed, "dump": str(staging / "papers.json")})
        meta.update(size=size, seed=args.seed, backend=str(args.backend_src))
        (staging / "meta.json").write_text(json.dumps(meta, indent=1))
        staging.rename(entry)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"{size} papers: built in {meta['seconds']} s ({meta['possible_duplicates']} flagged, "
        f"{meta['merged']} merged)")
    _prune(args.cache, size, args.seed)
    return entry


def _prune(cache: Path, size: int, seed: int) -> None:
    entries = sorted(cache.glob(f"{size}-seed{seed}-*"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in entries[KEEP_PER_SIZE:]:
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- running
def measure_size(args, size: int, plan: Plan, python: str, pythonpath: str, chromium) -> tuple:
    """Every figure at one size. A phase that fails is reported in the notes and the run
    goes on with the next one (its figures show "—")."""
    entry = cached_library(args, size, python, pythonpath)
    stored = entry / f"figures-{'smoke' if args.smoke else 'full'}.json"
    if args.reuse and stored.exists():
        log(f"{size} papers: figures measured earlier on these backend sources ({stored.name})")
        saved = json.loads(stored.read_text())
        return {k: Result(**v) for k, v in saved["results"].items()}, saved["phases"], \
            saved["errors"]
    work = Path(tempfile.mkdtemp(prefix=f"papershelf-bench-{size}-"))
    run = SizeRun(size, args.seed, entry, work, python, pythonpath, plan)
    phases: dict[str, float] = {}
    errors: list[str] = []

    def phase(name, fn):
        t0 = time.perf_counter()
        log(f"{size} papers: {name}")
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - reported; the other figures go on
            errors.append(f"{size} papers, {name}: {type(exc).__name__}: {str(exc)[:300]}")
            log(f"{size} papers: {name} FAILED: {exc!r}"[:2000])
        phases[name] = time.perf_counter() - t0

    def reads_and_browser():
        data_dir = run.fresh_copy()
        server = run.backend(data_dir)
        try:
            server.start()
            server.wait_until_indexed()  # steady state: the cold start is measured apart
            phase("reads", lambda: run.reads(server))
            if chromium is not None:
                def browser():
                    chromium.pair(server.url, server.token)
                    run.results["decorate"] = chromium.decorate(plan.browser_loads)
                    first, key = chromium.library_page(server.url, plan.browser_loads,
                                                       plan.keystroke_words)
                    run.results["page_first"] = first
                    run.results["page_key"] = key
                phase("browser", browser)
            run.rss.append(server.peak_rss_mb() or 0)
        finally:
            server.stop()
            run.drop_copy(data_dir)

    try:
        phase("server for reads", reads_and_browser)
        phases.pop("server for reads", None)
        phase("saves", run.saves)
        phase("duplicate check", run.dedupe)
        phase("cold starts", run.cold_start)
        run.memory()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stored.write_text(json.dumps({"results": {k: vars(v) for k, v in run.results.items()},
                                  "phases": phases, "errors": errors}, indent=1))
    return run.results, phases, errors


def memory_design_table(args, python: str, pythonpath: str) -> str:
    """One row per size and way of keeping the documents; each measured in its own process."""
    from .memory_design import VARIANTS
    rows = ["| papers | documents kept as | imports | documents | list columns + id maps "
            "| search index | duplicate index | resident at end | peak | load | one full pass |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    env = dict(os.environ, PYTHONPATH=pythonpath)
    for size in args.sizes:
        snapshot = cached_library(args, size, python, pythonpath) / "data" / "library" / "library.json"
        for variant in VARIANTS:
            log(f"{size} papers: memory with documents as {variant}")
            done = subprocess.run([python, "-m", "benchlib.memory_design", str(snapshot), variant],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                raise SystemExit(f"memory design ({variant}) failed:\n{done.stderr[-3000:]}")
            m = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(f"| {m['papers']} | {variant} | {m['imports_mb']:.0f} MB "
                        f"| {m['documents_mb']:.0f} MB | {m['columns_mb']:.0f} MB "
                        f"| {m['search_mb']:.0f} MB | {m['duplicates_mb']:.0f} MB "
                        f"| {m['total_mb']:.0f} MB | {m['peak_mb']:.0f} MB "
                        f"| {m['load_s']:.2f} s | {m['full_pass_s']:.2f} s |")
    return "\n".join(rows)


def _stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds, so every server and browser is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    plan = Plan.smoke() if args.smoke else Plan()
    python = sys.executable
    pythonpath = os.pathsep.join([str(args.backend_src), str(SCRIPTS)])
    started = time.perf_counter()
    if args.build_only:
        for size in args.sizes:
            print(cached_library(args, size, python, pythonpath))
        return 0
    if args.memory_design:
        print(memory_design_table(args, python, pythonpath))
        return 0
    out = args.out
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="papershelf-bench-")) / "benchmarks.md" \
            if args.smoke else DEFAULT_OUT
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ("scripts/bench " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    load_before = report.load_average()
    chromium = None
    chromium_version = None
    if not args.no_browser:
        from .browser import CHROMIUM, Chromium
        if not Path(CHROMIUM).exists():
            log(f"no Chromium at {CHROMIUM}: skipping the browser figures")
        else:
            chromium = Chromium(args.extension)
            chromium_version = chromium.plain.version
    results, phases, errors = {}, {}, []

    def write() -> tuple[str, str]:
        table = report.table(results)
        notes = report.notes(results, phases, errors)
        text = report.document("Papershelf benchmarks" + (" (smoke run)" if args.smoke else ""),
                               report.machine(Path(tempfile.gettempdir()), args.backend_src,
                                              args.extension, chromium_version,
                                              (load_before, report.load_average())),
                               table, notes, command)
        out.write_text(text, encoding="utf-8")
        return table, notes

    try:
        for size in args.sizes:
            results[size], phases[size], more = measure_size(args, size, plan, python,
                                                             pythonpath, chromium)
            errors.extend(more)
            write()  # what is measured so far survives a later failure
    finally:
        if chromium is not None:
            chromium.close()
    table, notes = write()
    print(table)
    print()
    print(notes)
    log(f"done in {time.perf_counter() - started:.0f} s; written to {out}")
    return 1 if errors else 0
    return 0

