"""The table (markdown) and the description of the machine it was measured on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .figures import Result


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    target: float | None = None     # at 50k: ours must be ≤ this
    target_text: str = ""
    floor_text: str = ""             # why there is no floor, when there is none
    naive_text: str = ""


FIGURES = (
    Figure("save1_p50", "save one new card, end to end (HTTP 2xx): p50", "ms"),
    Figure("save1_p95", "save one new card, end to end (HTTP 2xx): p95", "ms", 10, "p95 ≤ 10 ms"),
    Figure("save50_p50", "save a page of 50 cards in one request: p50", "ms"),
    Figure("save50_p95", "save a page of 50 cards in one request: p95", "ms", 60, "p95 ≤ 60 ms"),
    Figure("dedupe", "fuzzy duplicate check of a card without arXiv id: median per card", "ms",
           2, "≤ 2 ms"),
    Figure("lookup_p95", "look-up of 100 saved arXiv ids: p95", "ms", 5, "≤ 5 ms"),
    Figure("search_p95", "search over title/abstract/authors/tags: p95 of varied queries", "ms",
           30, "≤ 30 ms"),
    Figure("export", "export the whole library to BibTeX: wall", "s", 2, "≤ 2 s",
           floor_text="no floor: nothing simpler produces a .bib file"),
    Figure("cold", "cold start: process start → first answered look-up, median", "s", 1.5,
           "≤ 1.5 s"),
    Figure("rss", "memory of the backend process: peak RSS", "MB", 300, "≤ 300 MB"),
    Figure("decorate", "content script: decorate a 100-card page, in-page, Chromium", "ms", 16,
           "≤ 16 ms", naive_text="no naive design defined for the content script"),
    Figure("page_first", "library page: navigation → first rows shown, Chromium", "ms", 1000,
           "≤ 1 s", floor_text="no floor", naive_text="no naive page"),
    Figure("page_key", "library page: filter per keystroke (key pressed → rows shown), Chromium",
           "ms", 50, "≤ 50 ms", floor_text="no floor", naive_text="no naive page"),
)

METHODS = """\
How each figure is taken (every figure in several rounds; the table shows the median of
the rounds' values; ours is measured over HTTP against `python -m papershelf serve` on a
copy of the library, PAPERSHELF_ENRICH=0, one keep-alive connection, the token from
`secrets.json`). The backend answers look-ups at once after start but builds its list,
search and duplicate indexes in a background thread; every figure but the cold start is
taken once that is done (`indexes_ready` in `/api/status`), and the cold start's notes give
when it was:

- **save one / save a page of 50**: new cards (never in the library), `POST /api/papers`,
  each round on a fresh copy of the library (a round adds at most its own cards).
  Floor: the same card bytes appended to a file as a JSON line, `fsync` per save (per page
  of 50 lines). Naive: `TinyDB(path)` with its default JSONStorage holding the same papers,
  `insert` (`insert_multiple` for a page) per save; it rewrites the whole file each time
  (without fsync, which flatters it), so it takes fewer samples at large sizes (counts in
  the notes).
- **the transport alone** (notes of save one p95 and of the look-up): right after each
  round of single saves and of look-ups, the same request bodies are posted to a bare
  waitress server set up as ours (8 threads, 1 ms switch interval) whose app reads the body
  and answers `{"ok":true}`. Its p95 is what this machine charges for a request before any
  Papershelf code runs; on a shared machine it moves from run to run.
- **duplicate check**: in-process, against the backend's own duplicate index of the
  library (`DedupeIndex.matches`, as saving a card without arXiv id does), over cards
  without arXiv id, half near-duplicates of library titles (case, punctuation, spelling, an
  added word), half new titles. Floor: one `rapidfuzz.process.extractOne` over every
  normalised title (token_sort_ratio, score_cutoff 90). Naive: a Python loop calling
  `fuzz.token_sort_ratio` on every normalised title (what a first cut without a candidate
  index or rapidfuzz's batch scan does; titles kept in memory, so it measures the scan,
  not file reading).
- **look-up of 100 ids**: `POST /api/papers/lookup` with 100 saved arXiv ids (another set
  per request). Floor: the same 100 look-ups in an in-process dict. Naive: TinyDB
  `search(where('arxiv_id').one_of(ids))` on JSONStorage (reads the file per query).
- **search**: `GET /api/papers?q=…` (first page of 50) over varied queries: title words,
  system names, author surnames, tags, abstract phrases, misspelled words, two-word
  queries. Floor: a substring scan of one pre-lowered text (title, abstract, authors,
  tags) per paper. Naive: TinyDB search on JSONStorage with a Python predicate doing
  case-insensitive substring matching over those fields.
- **export**: `GET /api/export.bib` of the whole library, wall time. The backend keeps
  each paper's rendering up to date in the background as papers change, so the library,
  as in use, has them stored (the build makes them as the server would). Naive: reading
  the JSONStorage file with TinyDB, then the project's own exporter
  (`bibtex_export.export`), rendering every paper: also about what our export costs when
  no rendering is stored yet (the first minutes after importing a large .bib file).
- **cold start**: from starting the process to the first answered `POST /api/papers/lookup`,
  when the server restarts on a library it stopped cleanly (it then answers look-ups from
  what that stop kept while it loads the library, and reads the search and duplicate
  indexes that stop kept rather than building them; the notes give when the library was
  loaded, when a save of a new card sent right then and a search sent after it were
  answered (a save waits for the duplicate index, a search for the search index), and the
  first start of the freshly built library, which has nothing kept, as after a crash: it
  waits for the whole library and builds every index; the same save and search are timed
  there too). Floor: a
  bare `python -c` that json-loads the snapshot file. Naive: a process opening `TinyDB(path)` and reading the table. The files are in
  the page cache (a cold process, not a cold disk).
- **peak RSS**: VmHWM of every backend process of the size (the largest shown). Floor: a
  bare Python process holding the json-loaded snapshot. Naive: a process holding the
  TinyDB JSONStorage table loaded.
- **content script**: the unpacked extension in Debian's Chromium (headless), paired with
  the backend; a daily listing page of 100 cards made from the saved fixture pages, half of
  them saved in the library. Ours: the `papershelf:scan` User Timing measure the content
  script records around its pass over the page (parse, place and render 100 buttons; the
  look-up round trip is after it and shown in the notes). Floor: appending one plain button
  to each of the 100 cards and a layout, in the same page without the extension.
- **library page**: a fresh browser context per load; navigation start → the first row
  with a paper in the DOM, laid out. Per keystroke: typing a word letter by letter into the
  search box, in every load; ours is the median from the key being pressed to the rows
  showing the new query (any wait of the page before it sends the query included); the
  notes split it. Times are taken in the page; the driver looks for the result every 25 ms
  rather than every frame, so the page draws only the frames it would draw for a person.
"""


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.4f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    r = a / b
    return f"{r:.0f}" if r >= 100 else f"{r:.1f}" if r >= 1 else f"{r:.2f}"


def table(results: dict[int, dict[str, Result]], target_size: int = 50000) -> str:
    lines = ["| figure | papers | ours | floor | naive | ours/floor | naive/ours | target at 50k | met |",
             "|---|---:|---:|---:|---:|---:|---:|---|:-:|"]
    sizes = sorted(results)
    for fig in FIGURES:
        for size in sizes:
            r = results[size].get(fig.key) or Result(None)
            met = ""
            target = fig.target_text if size == target_size or (size == sizes[-1] and target_size not in sizes) else ""
            if size == target_size and fig.target is not None and r.ours is not None:
                met = "✓" if r.ours <= fig.target else "✗"
            lines.append(f"| {fig.label} ({fig.unit}) | {size} | {fmt(r.ours)} | {fmt(r.floor)} | "
                         f"{fmt(r.naive)} | {ratio(r.ours, r.floor)} | {ratio(r.naive, r.ours)} | "
                         f"{target} | {met} |")
    return "\n".join(lines)


def notes(results: dict[int, dict[str, Result]], phases: dict[int, dict[str, float]],
          errors: list[str] = ()) -> str:
    out = []
    if errors:
        out += ["**Failed (their figures show —):**", ""] + [f"- {e}" for e in errors] + [""]
    out += ["Notes per figure and size (samples, what the reference columns leave out):", ""]
    for fig in FIGURES:
        parts = []
        for size in sorted(results):
            r = results[size].get(fig.key)
            if r is not None and r.note:
                parts.append(f"{size}: {r.note}")
        extra = "; ".join(t for t in (fig.floor_text, fig.naive_text) if t)
        if parts or extra:
            out.append(f"- {fig.label}: " + " · ".join(parts) + (f" ({extra})" if extra else ""))
    out.append("")
    out.append("Time spent per size (s): " + "; ".join(
        f"{size}: " + ", ".join(f"{k} {v:.0f}" for k, v in ph.items())
        for size, ph in sorted(phases.items())))
    return "\n".join(out)


# ----------------------------------------------------------------------------- machine
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os() -> str:
    name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return f"{name}, kernel {platform.release()}"


def _filesystem(path: Path) -> str:
    path = Path(path).resolve()
    best = ("", "unknown", "unknown")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, fstype = line.split()[:3]
            if (str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")) \
                    and len(mount) > len(best[0]):
                best = (mount, fstype, device)
    except OSError:
        pass
    return f"{best[1]} on {best[2]} (mounted at {best[0] or '?'})"


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _source(path: Path) -> str:
    head = _run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"])
    if not head:
        return str(path)
    dirty = _run(["git", "-C", str(path), "status", "--porcelain", "--", "."])
    return f"{path} (git {head}{', with uncommitted changes' if dirty else ''})"


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def machine(work: Path, backend_src: Path, extension: Path, chromium: str | None,
            loads: tuple[str, str] = ("?", "?")) -> str:
    rows = [
        ("CPU", f"{_cpu_model()}, {os.cpu_count()} logical cores"),
        ("RAM", _ram()),
        ("OS", _os()),
        ("Python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("disk (library copies)", _filesystem(work)),
        ("Chromium", chromium or "not used"),
        ("backend", _source(backend_src)),
        ("extension", _source(extension)),
        ("load average (1, 5, 15 min) at start / end", f"{loads[0]} / {loads[1]}"),
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
    ]
    return "\n".join(f"- {k}: {v}" for k, v in rows)


def document(title: str, machine_text: str, table_text: str, notes_text: str,
             command: str) -> str:
    return (f"# {title}\n\n"
            f"Written by `scripts/bench` (`{command}`); run it again to refresh. The bench is not a "
            "test: the numbers move with the machine and its load. The targets are judged at "
            "50,000 papers.\n\n"
            f"## Machine\n\n{machine_text}\n\n"
            f"## Results\n\n{table_text}\n\n{notes_text}\n\n"
            f"## Method\n\n{METHODS}")
