"""Running the backend: one writer per library, a production WSGI server, a clean stop.

A library (data dir) is opened by one process at a time: the process holds an exclusive
lock on ``<data dir>/lock`` for as long as it runs, and writes ``server.json`` (pid, port,
URL) so that the CLI and the desktop window can find and use a running server instead of
opening the files themselves.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from waitress.server import create_server

from . import APP_NAME, clean_stop, early_lookups, heap
from .app import create_app
from .config import DEFAULT_PORT, library_dir
from .library import DUPLICATE_INDEX, SEARCH_INDEX, Library
from .locks import FileLock
from .storage import StorageDamaged, write_atomically

LOCK_FILE = "lock"
SERVER_FILE = "server.json"
CACHE_DIR = "cache"   # derived data (renderings, kept look-ups and indexes): never backed up
# Indexes kept at a clean stop (see `clean_stop`), by `Library.indexes_to_keep`'s names.
KEPT_INDEX_FILES = {SEARCH_INDEX: "search-index.bin", DUPLICATE_INDEX: "duplicate-index.bin"}


class AlreadyRunning(RuntimeError):
    """Another process has this library open."""


class StartupError(RuntimeError):
    """The server cannot start; the message says why and what to do."""


class DataDirLock(FileLock):
    """The lock of the one process that has a library open."""

    def __init__(self, data_dir: Path):
        super().__init__(Path(data_dir) / LOCK_FILE)

    def acquire(self) -> None:
        if not self.try_acquire():
            running = read_server_file(self.path.parent)
            where = f" at {running['url']} (pid {running['pid']})" if running else ""
            raise AlreadyRunning(
                f"another Papershelf is already using the library in {self.path.parent}{where}. "
                "Use that one, or stop it first.")

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def read_server_file(data_dir: Path) -> dict | None:
    try:
        with open(Path(data_dir) / SERVER_FILE, encoding="utf-8") as fh:
            info = json.load(fh)
        return info if isinstance(info, dict) and "url" in info else None
    except (OSError, ValueError):
        return None


def find_running(data_dir: Path, timeout: float = 2.0) -> dict | None:
    """The server running on this data dir (its server.json), if it answers."""
    info = read_server_file(data_dir)
    if not info:
        return None
    import requests  # only clients of a running server need it; serving starts without
    try:
        answer = requests.get(info["url"] + "/api/ping", timeout=timeout)
        if answer.ok and answer.json().get("app") == APP_NAME:
            return info
    except (requests.RequestException, ValueError):
        pass
    return None


def _storage_options() -> dict:
    """``PAPERSHELF_SNAPSHOT_EVERY``: changes between snapshots (default 5000); small values
    let crash tests cover snapshot writes and journal trimming on a small library."""
    raw = os.environ.get("PAPERSHELF_SNAPSHOT_EVERY", "")
    return {"snapshot_every": int(raw)} if raw.isdigit() and int(raw) > 0 else {}


def _check_secrets(data_dir: Path) -> None:
    from .security import SECRETS_FILE, Secrets
    try:
        Secrets(data_dir)
    except (OSError, ValueError) as exc:
        raise StartupError(
            f"the secrets file {data_dir / SECRETS_FILE} cannot be read ({exc}). Move it away "
            "and start again: a new token is made and clients pair again; the papers are not "
            "in that file.") from None


def open_library(data_dir: Path, *, background_indexing: bool = False,
                 kept_indexes: dict[str, bytes] | None = None) -> Library:
    """The library of a data folder; ``background_indexing`` for a server: indexes built
    and BibTeX renderings kept up to date in the background (in ``cache/`` beside the
    library folder: derived data, never part of a backup)."""
    try:
        return Library(library_dir(data_dir), background_indexing=background_indexing,
                       keep_renderings=background_indexing, cache_dir=data_dir / CACHE_DIR,
                       kept_indexes=kept_indexes, **_storage_options())
    except StorageDamaged as exc:
        raise StartupError(f"{exc} To put a backup in its place: papershelf restore BACKUP_FILE "
                           f"--data-dir {data_dir}") from None
    except OSError as exc:  # not only permissions: a read-only file system, a full disk
        raise StartupError(f"cannot write to the library folder {library_dir(data_dir)}: "
                           f"{exc.strerror or exc}. Check its permissions or choose another "
                           "--data-dir.") from None


def _open_library_for_serving(data_dir: Path) -> Library:
    # The server answers while the search and duplicate indexes are built, or read back
    # from a clean stop. They are read before the library is opened: they are valid only
    # for the files as they are before anything writes to them.
    kept = {name: clean_stop.kept(data_dir / CACHE_DIR / file, library_dir(data_dir))
            for name, file in KEPT_INDEX_FILES.items()}
    with heap.collection_paused():
        library = open_library(data_dir, background_indexing=True,
                               kept_indexes={k: v for k, v in kept.items() if v is not None})
        heap.freeze()  # the documents; the indexes are frozen once built
    return library


@dataclass
class Backend:
    """Everything one running server holds: the library, its lock, the WSGI server and
    the background helpers. ``close`` releases all of it, in order.

    ``library`` is None while it loads after the server has started answering (see
    `early_lookups`); ``load_error`` says why it could not be opened, if it could not."""
    data_dir: Path
    library: Library | None
    lock: DataDirLock
    wsgi: object
    app: object
    url: str
    port: int
    helpers: list = field(default_factory=list)
    load_error: StartupError | None = None
    _loader: threading.Thread | None = None

    def _opened(self, library: Library, announce) -> None:
        """The library is open: start the helpers and the indexing, let requests in."""
        self.library = library
        self.helpers = _start_helpers(self.app, library, self.data_dir)
        self.app.extensions[APP_NAME].library_opened(library)
        for warning in library.warnings:
            announce(f"WARNING: {warning}")
        # Only now: the indexing thread would otherwise share the CPU with the start-up.
        library.start_indexing()

    def load_library(self, announce=print, on_failure: Callable[[], None] | None = None) -> None:
        """Open the library in a thread if `open_backend` left it to load (else nothing).
        If it cannot be opened, ``load_error`` says why, requests that need the library
        are answered 503, and ``on_failure`` is called (`serve` stops the process)."""
        if self.library is not None or self._loader is not None:
            return

        def load():
            try:
                library = _open_library_for_serving(self.data_dir)
            except Exception as exc:  # noqa: BLE001 - reported by `serve`, as at a plain start
                self.load_error = exc if isinstance(exc, StartupError) else \
                    StartupError(f"the library could not be opened: {exc!r}")
                self.app.extensions[APP_NAME].library_failed(str(self.load_error))
                if on_failure is not None:
                    on_failure()
                return
            self._opened(library, announce)

        self._loader = threading.Thread(target=load, name="papershelf-loading", daemon=True)
        self._loader.start()

    def close(self) -> None:
        if self._loader is not None:
            self._loader.join()  # stopped while loading: close what was opened
        for helper in self.helpers:
            try:
                helper.stop()
            except Exception:  # noqa: BLE001 - stopping must go on to close the library
                pass
        try:
            if self.library is not None:
                self._close_library()
        finally:
            (self.data_dir / SERVER_FILE).unlink(missing_ok=True)
            self.lock.release()

    def _close_library(self) -> None:
        table = self.library.lookup_table()
        self.library.close()
        indexes = self.library.indexes_to_keep()
        try:
            early_lookups.save(self.data_dir / CACHE_DIR, library_dir(self.data_dir), table)
            for name, data in indexes.items():
                clean_stop.keep(self.data_dir / CACHE_DIR / KEPT_INDEX_FILES[name],
                                library_dir(self.data_dir), data)
        except OSError:
            pass  # derived data: the next start works it out from the library instead


@dataclass
class RunningServer:
    """A server started on a thread of this process (the desktop window, tests)."""
    backend: Backend
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def port(self) -> int:
        return self.backend.port

    @property
    def library(self) -> Library:
        return self.backend.library

    @property
    def data_dir(self) -> Path:
        return self.backend.data_dir

    def stop(self) -> None:
        self.backend.wsgi.task_dispatcher.shutdown()
        self.backend.wsgi.close()
        self._thread.join(10)
        self.backend.close()


def _bind(app, host: str, port: int):
    try:
        return create_server(app, host=host, port=port, threads=8, ident="papershelf",
                             clear_untrusted_proxy_headers=True)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use by another program. "
                "Choose another one with --port.") from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _start_helpers(app, library: Library, data_dir: Path) -> list:
    """Background work beside the requests: enrichment and auto-export."""
    from .autoexport import AutoExporter
    from .enrich import Enricher, needs_enrichment

    enricher = Enricher(library.set_enrichment, cache_path=data_dir / "enrich-cache.json")
    library.on_save(lambda papers: enricher.enqueue_many(
        p["arxiv_id"] for p in papers if needs_enrichment(p)))
    enricher.start()
    # Papers saved while enrichment could not finish (the server stopped) are queued
    # again; a thread, so that a large library's first answer does not wait for the scan.
    threading.Thread(target=lambda: enricher.enqueue_many(
        p["arxiv_id"] for p in library.live_views() if needs_enrichment(p)),
        name="papershelf-enrich-scan", daemon=True).start()
    exporter = AutoExporter(library)
    exporter.start()
    app.extensions[APP_NAME].extras.update(enricher=enricher, autoexporter=exporter)
    return [exporter, enricher]


def open_backend(data_dir: Path, port: int, host: str = "127.0.0.1", *,
                 answer_while_loading: bool = False, announce=print) -> Backend:
    """Lock the library, open it, bind the port and start the helpers (not serving yet).

    ``answer_while_loading``: if look-ups kept at the last clean stop are still valid
    (see `early_lookups`), the library is left to `Backend.load_library`, to be loaded
    while the server answers; requests other than look-ups wait for it."""
    heap.fix_large_block_threshold()  # before the library's files are read
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the data folder {data_dir}: {exc.strerror}. Create it "
                           "yourself, or choose another folder with --data-dir.") from None
    if not os.access(data_dir, os.W_OK):
        raise StartupError(f"the data folder {data_dir} is not writable. "
                           "Check its permissions or choose another --data-dir.")
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        _check_secrets(data_dir)
        early = (early_lookups.load(data_dir / CACHE_DIR, library_dir(data_dir))
                 if answer_while_loading else None)
        library = _open_library_for_serving(data_dir) if early is None else None
        try:
            app = create_app(library, data_dir, port, early_lookups=early)
            wsgi = _bind(app, host, port)
        except BaseException:
            if library is not None:
                library.close()
            raise
    except BaseException:
        lock.release()
        raise
    actual_port = int(wsgi.effective_port)
    # Port 0 asks for any free port: the Host check must know the real one.
    app.extensions[APP_NAME].port = actual_port
    url = f"http://127.0.0.1:{actual_port}" if host in ("127.0.0.1", "0.0.0.0") else \
        f"http://{host}:{actual_port}"
    backend = Backend(data_dir=data_dir, library=None, lock=lock, wsgi=wsgi, app=app, url=url,
                      port=actual_port)
    write_atomically(data_dir / SERVER_FILE, json.dumps(
        {"pid": os.getpid(), "port": actual_port, "url": url}).encode())
    if library is not None:
        backend._opened(library, announce)
    return backend


def serve(data_dir: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
          announce=print) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    # Request threads mostly wait on sockets; background work (indexing, snapshots) is
    # CPU-bound. A shorter GIL switch interval keeps answers quick while that work runs.
    sys.setswitchinterval(0.001)
    backend = open_backend(data_dir, port, host, answer_while_loading=True, announce=announce)

    def stop(signum, frame):
        # Answers in progress finish first: closing the sockets under them is a crash.
        backend.wsgi.task_dispatcher.shutdown()
        backend.wsgi.close()
        raise SystemExit(0)

    try:
        signal.signal(signal.SIGTERM, stop)
        announce(f"Papershelf is serving {backend.url} (library: {backend.data_dir})")
        # A library that cannot be opened stops the server the way SIGTERM does.
        backend.load_library(announce, on_failure=lambda: os.kill(os.getpid(), signal.SIGTERM))
        backend.wsgi.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        backend.close()
    if backend.load_error is not None:
        raise backend.load_error


def start_in_thread(data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> RunningServer:
    """Start the server on a background thread (port None or 0: any free port)."""
    backend = open_backend(data_dir, port or 0, host)
    thread = threading.Thread(target=backend.wsgi.run, name="papershelf-server", daemon=True)
    thread.start()
    return RunningServer(backend=backend, _thread=thread)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False
