"""Derived data a server keeps when it stops cleanly, for its next start.

Some of what a server derives from the library takes seconds to work out again at 50,000
papers (the look-up table, the search index). A clean stop writes it to the data folder's
``cache/`` together with the state of the library's files at that moment
(`storage.files_state`); the next start uses it only if the library's files are exactly
as they were. Anything written since (a save before a crash, a restore, a command-line
import) makes it stale, and the start works it out from the library as before.

A kept file is one JSON line (the files' state) and the data, as its owner wrote it.
Deleting one only makes the next start slower.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .storage import files_state, write_atomically


def keep(path: Path, library_dir: Path, data: bytes) -> None:
    """Keep ``data`` for the next start; call after the library is closed (its last
    snapshot written), so the files' state is the one the next start will find."""
    state = orjson.dumps({"library_files": files_state(library_dir)})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(Path(path), [state, b"\n", data])


def kept(path: Path, library_dir: Path) -> bytes | None:
    """The data kept at the last clean stop, if the library has not changed since;
    otherwise (or if there is none, or it cannot be read) None."""
    try:
        content = Path(path).read_bytes()
    except OSError:
        return None
    end = content.find(b"\n")
    try:
        state = orjson.loads(content[:end]) if end > 0 else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(state, dict) or state.get("library_files") != files_state(library_dir):
        return None
    return content[end + 1:]
