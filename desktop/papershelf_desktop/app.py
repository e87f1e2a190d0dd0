"""``papershelf desktop``: the library page in a native window.

- One window per library: the first launch on a data dir takes ``desktop.lock``; a second
  launch finds it taken, asks the first window to come to the front and exits
  (:mod:`papershelf_desktop.single`).
- The window shows the page a backend serves at ``/``. If a backend already runs on the
  data dir (its ``server.json`` answers), the window attaches to it; otherwise the backend
  runs in this process on a thread and stops when the window closes.
- Export: the page downloads a .bib file and the window asks where to save it with the
  native save dialog. (pywebview's ``js_api`` bridge cannot be used: it builds its
  functions with ``new Function``, which the page's Content-Security-Policy forbids.)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from . import single

WINDOW_TITLE = "Papershelf"
# Read by the page's own code: a fixed expression, never text from a message.
_STATE_JS = """(() => {
  const list = document.getElementById("list");
  return {
    ready: document.body ? document.body.dataset.ready === "true" : false,
    sidebar: document.body ? document.body.dataset.sidebar === "loaded" : false,
    view: document.body ? document.body.dataset.view || null : null,
    total: list ? Number(list.dataset.total || 0) : null,
    rendered: list ? Number(list.dataset.rendered || 0) : null,
    rows: document.querySelectorAll("#list .row:not([hidden]):not(.loading)").length,
    empty: !!document.getElementById("empty-library") && !document.getElementById("empty").hidden,
    desktop: !!window.pywebview,
    title: document.title,
  };
})()"""


def _log(message: str) -> None:
    print(f"papershelf desktop: {message}", file=sys.stderr, flush=True)


class _Backend:
    """The server the window shows: attached to a running one, or started here."""

    def __init__(self, url: str, handle=None):
        self.url = url
        self.handle = handle

    @property
    def owned(self) -> bool:
        return self.handle is not None

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None


def _choose_port(port: int | None) -> int:
    """The port for a server started here: the given one, else the default port the
    browser extension looks for (if free), else any free port."""
    from papershelf.config import DEFAULT_PORT
    from papershelf.server import port_is_free
    if port is not None:
        return port
    return DEFAULT_PORT if port_is_free(DEFAULT_PORT) else 0


def _backend_for(data_dir: Path, port: int | None) -> _Backend:
    from papershelf.server import AlreadyRunning, find_running, start_in_thread
    running = find_running(data_dir)
    if running:
        _log(f"using the Papershelf server already running at {running['url']}")
        return _Backend(running["url"])
    try:
        handle = start_in_thread(data_dir, _choose_port(port))
    except AlreadyRunning:
        # Another process holds the library but did not answer yet (starting up): wait.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            running = find_running(data_dir)
            if running:
                return _Backend(running["url"])
            time.sleep(0.2)
        raise
    _log(f"started the Papershelf server at {handle.url}")
    return _Backend(handle.url, handle)


class _Window:
    """The pywebview window plus what the control channel asks of it."""

    def __init__(self, url: str, use_qt: bool):
        import webview
        self.webview = webview
        self.use_qt = use_qt
        self.focus_requests = 0
        self.saved: list[str] = []
        self.test_mode = os.environ.get("PAPERSHELF_DESKTOP_TEST") == "1"
        self.window = webview.create_window(
            WINDOW_TITLE, url, width=1320, height=840, min_size=(760, 480),
            background_color="#F6F7F9", text_select=True)
        self.closed = threading.Event()
        self.window.events.closed += self.closed.set
        if use_qt:
            self.window.events.shown += self._install_qt_downloads

    # -- running code on the GUI thread (Qt) --------------------------------------------
    def _native_qt(self):
        native = getattr(self.window, "native", None)
        return native if native is not None and hasattr(native, "create_window_trigger") else None

    def _on_gui(self, fn, timeout: float = 10.0, wait_callback: bool = False):
        """Run ``fn(native, done)`` on the GUI thread; ``done(value)`` ends the wait (called
        at once unless ``wait_callback``: then ``fn`` hands it to an asynchronous Qt call)."""
        native = self._native_qt()
        if native is None:
            raise RuntimeError("not available with this GUI toolkit")
        finished = threading.Event()
        box = {}

        def done(value=None):
            box["value"] = value
            finished.set()

        def run():
            try:
                value = fn(native, done)
                if not wait_callback:
                    done(value)
            except Exception as exc:  # noqa: BLE001
                box["error"] = exc
                finished.set()

        native.create_window_trigger.emit(run)
        if not finished.wait(timeout):
            raise TimeoutError("the window did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def run_js(self, script: str, timeout: float = 20.0):
        """Evaluate ``script`` (an expression whose value is JSON-serialisable) in the page.

        Qt's runJavaScript is used directly: pywebview's evaluate_js wraps code in eval(),
        which the page's Content-Security-Policy (script-src 'self') refuses."""
        if self._native_qt() is None:
            return self.window.evaluate_js(script)
        wrapped = f"JSON.stringify(({script}))"

        def start(native, done):
            native.webview.page().runJavaScript(wrapped, 0, lambda result: done(result))
        raw = self._on_gui(start, timeout=timeout, wait_callback=True)
        return json.loads(raw) if isinstance(raw, str) else raw

    # -- export: the native save dialog -------------------------------------------------
    def _install_qt_downloads(self, *args) -> None:
        """The page downloads its BibTeX export; Qt asks where to save it (the page's
        suggested name, the Downloads folder, then the last folder used)."""
        def install(native, done):
            profile = native.webview.page().profile()
            profile.downloadRequested.connect(lambda request: self._on_download(native, request))
        try:
            self._on_gui(install)
        except Exception as exc:  # noqa: BLE001 - the window still works without it
            _log(f"downloads are not available: {exc}")

    def _on_download(self, native, request) -> None:
        from qtpy.QtCore import QStandardPaths
        from qtpy.QtWidgets import QFileDialog
        name = request.suggestedFileName() or request.downloadFileName() or "papershelf.bib"
        preset = os.environ.get("PAPERSHELF_TEST_SAVE_AS") if self.test_mode else None
        if preset:
            path = preset
        else:
            folder = getattr(self, "_last_folder", None) or QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.DownloadLocation) or str(Path.home())
            path, _ = QFileDialog.getSaveFileName(
                native, "Save the BibTeX export", str(Path(folder) / name),
                "BibTeX files (*.bib);;All files (*)")
        if not path:
            request.cancel()
            return
        target = Path(path)
        self._last_folder = str(target.parent)
        request.setDownloadDirectory(str(target.parent))
        request.setDownloadFileName(target.name)

        def finished():
            if request.isFinished() and request.state() == request.DownloadState.DownloadCompleted:
                self.saved.append(str(target))
        request.isFinishedChanged.connect(finished)
        request.accept()

    # -- control channel ----------------------------------------------------------------
    def focus(self) -> None:
        self.focus_requests += 1
        if self._native_qt() is not None:
            def raise_window(native, done):
                from qtpy.QtWidgets import QApplication
                if native.isMinimized():
                    native.showNormal()
                native.show()
                native.raise_()
                native.activateWindow()
                QApplication.alert(native)
            self._on_gui(raise_window)
        else:
            self.window.show()
            self.window.restore()

    def screenshot(self, path: str) -> str:
        """PNG of the window as the window system shows it, once the picture is stable
        (the web view paints a moment after the page's DOM changes)."""
        from qtpy.QtWidgets import QApplication
        target = str(Path(path).resolve())

        def grab(native, done):
            handle = native.windowHandle()
            screen = (handle.screen() if handle else None) or QApplication.primaryScreen()
            image = screen.grabWindow(int(native.winId())) if screen else native.grab()
            return native.grab() if image.isNull() else image

        image = self._on_gui(grab, timeout=20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.25)
            again = self._on_gui(grab, timeout=20)
            if again.toImage() == image.toImage():
                break
            image = again
        if not image.save(target, "PNG"):
            raise OSError(f"could not save {target}")
        return target

    def state(self) -> dict:
        return {"ok": True, "pid": os.getpid(), "windows": len(self.webview.windows),
                "focus_requests": self.focus_requests, "saved": list(self.saved),
                "url": self.window.get_current_url(), "page": self.run_js(_STATE_JS)}

    def handle(self, cmd: str, message: dict) -> dict:
        if cmd == "focus":
            self.focus()
            return {"ok": True, "pid": os.getpid()}
        if cmd == "state":
            return self.state()
        if cmd == "screenshot":
            return {"ok": True, "path": self.screenshot(str(message.get("path") or "papershelf.png"))}
        if cmd == "close":
            threading.Thread(target=self.window.destroy, daemon=True).start()
            return {"ok": True}
        if cmd == "eval" and self.test_mode:
            return {"ok": True, "value": self.run_js(str(message.get("script", "null")))}
        return {"ok": False, "error": f"unknown command {cmd!r}"}


def run(data_dir: Path, port: int | None = None) -> int:
    """Open the library in ``data_dir`` in a window; returns the process exit code."""
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _log(f"cannot create the data folder {data_dir}: {exc.strerror}")
        return 1

    lock = single.DesktopLock(data_dir)
    if not lock.try_acquire():
        try:
            answer = single.send(data_dir, "focus", timeout=15)
        except ConnectionError as exc:
            _log(f"another Papershelf window has this library open but does not answer ({exc}).")
            return 1
        if answer.get("ok"):
            _log("Papershelf is already open for this library: brought its window to the front.")
            return 0
        _log(f"the open Papershelf window refused: {answer.get('error')}")
        return 1

    control = None
    backend = None
    try:
        try:
            backend = _backend_for(data_dir, port)
        except Exception as exc:  # StartupError, AlreadyRunning: the message says what to do
            _log(str(exc))
            return 1

        try:
            import webview
        except ImportError as exc:
            _log(f"the desktop window needs pywebview: {exc}")
            return 1
        # Export is a download; the toolkit's save dialog asks where to put it. On Linux the
        # window uses Qt, and this module installs its own handler (pywebview's uses a Qt 5
        # call); elsewhere pywebview's download support shows the system's save panel.
        use_qt = sys.platform.startswith("linux") and os.environ.get("PYWEBVIEW_GUI", "qt") == "qt"
        webview.settings["ALLOW_DOWNLOADS"] = not use_qt
        webview.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = True

        win = _Window(backend.url + "/", use_qt)
        control = single.ControlServer(data_dir, win.handle).start()

        def on_term(signum, frame):
            threading.Thread(target=win.window.destroy, daemon=True).start()
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, on_term)

        storage = data_dir / "desktop-webview"
        webview.start(gui="qt" if use_qt else None, private_mode=False, storage_path=str(storage))
        return 0
    finally:
        if control is not None:
            control.stop()
        if backend is not None and backend.owned:
            try:
                backend.stop()
            except Exception as exc:  # noqa: BLE001 - report, still release the lock
                _log(f"stopping the server: {exc}")
        lock.release()
