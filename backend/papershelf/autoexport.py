"""Auto-export: ``.bib`` files kept in step with the library.

A binding (a path, optionally a tag) is stored in the library. Whenever the library
changes, the bound files are rewritten atomically (temp file, fsync, rename) a moment
later, so a LaTeX project that cites from them always sees current keys and never a
half-written file. A file whose content would not change is not touched.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from .bibtex_export import write_atomic
from .library import Library
from .records import ValidationError

log = logging.getLogger(__name__)
QUIET_SECONDS = 0.5


def check_path(path: str) -> str:
    """An absolute .bib path in an existing folder (auto-export writes nothing else)."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("path", "must be the path of a .bib file")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise ValidationError("path", "contains control characters")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no file can have that name
        raise ValidationError("path", "contains characters that are not valid Unicode text") from None
    try:
        target = Path(path).expanduser()
    except RuntimeError:  # "~someone/refs.bib" for a user this machine does not know
        raise ValidationError("path", "names the home folder of an unknown user") from None
    if not target.is_absolute():
        raise ValidationError("path", "must be an absolute path")
    if target.suffix.lower() != ".bib":
        raise ValidationError("path", "must end in .bib (auto-export writes only BibTeX files)")
    try:
        if not target.parent.is_dir():
            raise ValidationError("path", f"the folder {target.parent} does not exist")
        if target.exists() and not target.is_file():
            raise ValidationError("path", "is not a regular file")
    except OSError as exc:  # e.g. a name too long for the file system
        raise ValidationError("path", f"cannot be used: {exc.strerror or exc}") from None
    return str(target)


def _content(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


class AutoExporter:
    """Rewrites bound .bib files after changes, on its own thread."""

    def __init__(self, library: Library, quiet_seconds: float = QUIET_SECONDS):
        self.library = library
        self.quiet_seconds = quiet_seconds
        self._wake = threading.Event()
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._last_written: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="papershelf-autoexport", daemon=True)
        library.on_change(self.poke)

    def start(self) -> None:
        self._thread.start()
        self.poke()  # bring files up to date after a restart

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def poke(self) -> None:
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            # Let a burst of changes (a page of saves, a bulk edit) settle first.
            while self._wake.is_set() and not self._stopping:
                self._wake.clear()
                if self._wake.wait(self.quiet_seconds):
                    continue
            if self._stopping:
                break
            self.write_all()
            if not self._wake.is_set():
                self._idle.set()

    def write_all(self) -> None:
        for binding in self.library.list_auto_exports():
            path = binding["path"]
            try:
                text, _ = self.library.export_bibtex(tag=binding.get("tag"))
                if self._last_written.get(path) == text and os.path.exists(path):
                    continue
                if self._last_written.get(path) is None and _content(path) == text:
                    self._last_written[path] = text  # up to date from an earlier run
                    continue
                write_atomic(path, text)
                self._last_written[path] = text
                self.errors.pop(path, None)
            except Exception as exc:  # noqa: BLE001 - reported, retried at the next change
                self.errors[path] = str(exc)
                log.warning("auto-export to %s failed: %s", path, exc)
