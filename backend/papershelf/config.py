"""Where a library lives and which port its server uses."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DEFAULT_PORT = 27311
DATA_DIR_ENV = "PAPERSHELF_DATA_DIR"


def default_data_dir() -> Path:
    """``$PAPERSHELF_DATA_DIR``, else the platform's user data folder (e.g.
    ``~/.local/share/papershelf`` on Linux)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("papershelf", appauthor=False))


def library_dir(data_dir: Path) -> Path:
    """The storage folder inside a data dir (snapshot and journal)."""
    return Path(data_dir) / "library"
