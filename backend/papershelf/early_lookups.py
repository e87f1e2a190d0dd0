"""Look-ups answered while a starting server is still loading its library.

The first thing a browser asks after the server starts is usually a look-up: which papers
of the listing page it shows are saved. Loading a large library takes seconds (50,000
papers: the JSON alone takes over a second to parse), so a server that stops cleanly
leaves behind the look-up table (arXiv id → what a look-up answers for it), kept the
`clean_stop` way: the next start answers look-ups from it until the library has loaded,
and only if the library's files are exactly as they were. Otherwise the start waits for
the library as before. Every other request waits for the library.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from . import clean_stop

FILE_NAME = "lookups.json"
FORMAT = 2


def save(cache_dir: Path, library_dir: Path, table: dict[str, dict]) -> None:
    """Keep ``table`` for the next start; call after the library is closed."""
    try:
        encoded = orjson.dumps({"format": FORMAT, "papers": table})
    except TypeError:
        return  # a title orjson cannot write (a lone surrogate): the next start just waits
    clean_stop.keep(Path(cache_dir) / FILE_NAME, library_dir, encoded)


def load(cache_dir: Path, library_dir: Path) -> dict[str, dict] | None:
    """The table kept at the last clean stop, if the library has not changed since;
    otherwise (or if there is none, or it cannot be read) None."""
    content = clean_stop.kept(Path(cache_dir) / FILE_NAME, library_dir)
    try:
        data = orjson.loads(content) if content is not None else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    papers = data.get("papers")
    return papers if isinstance(papers, dict) else None
