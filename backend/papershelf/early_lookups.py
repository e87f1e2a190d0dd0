"""Look-ups answered while a starting server is still loading its library.

The first thing a browser asks after the server starts is usually a look-up: which papers
of the listing page it shows are saved. Loading a large library takes seconds (50,000
papers: the JSON alone takes over a second to parse), so a server that stops cleanly
leaves behind the look-up table (arXiv id → what a look-up answers for it), together with
the state of the library's files at that moment (`storage.files_state`). The next start
answers look-ups from that table until the library has loaded, and only if the library's
files are exactly as they were: anything written since (a save before a crash, a restore,
a command-line import) makes the table stale, and the start waits for the library as
before. Every other request waits for the library.

The table is derived data, kept in the data folder's ``cache/`` with the BibTeX
renderings: deleting it only makes the next start wait for the whole library.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .storage import files_state, write_atomically

FILE_NAME = "lookups.json"
FORMAT = 1


def save(cache_dir: Path, library_dir: Path, table: dict[str, dict]) -> None:
    """Keep ``table`` for the next start; call after the library is closed (its last
    snapshot written), so the files' state is the one the next start will find."""
    data = {"format": FORMAT, "library_files": files_state(library_dir), "papers": table}
    try:
        encoded = orjson.dumps(data)
    except TypeError:
        return  # a title orjson cannot write (a lone surrogate): the next start just waits
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    write_atomically(Path(cache_dir) / FILE_NAME, encoded)


def load(cache_dir: Path, library_dir: Path) -> dict[str, dict] | None:
    """The table kept at the last clean stop, if the library has not changed since;
    otherwise (or if there is none, or it cannot be read) None."""
    try:
        data = orjson.loads((Path(cache_dir) / FILE_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    papers = data.get("papers")
    if not isinstance(papers, dict) or data.get("library_files") != files_state(library_dir):
        return None
    return papers
