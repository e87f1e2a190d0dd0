"""The Flask application factory: wires the library, the security rules and the blueprints.

Every request passes :func:`_guard` first (host, origin, content type, token), and every
error leaves as JSON with a 4xx status naming the problem.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from . import APP_NAME, security
from .library import Conflict, Library, NotFound
from .records import ValidationError
from .storage import StorageError

MAX_BODY_BYTES = 16 * 1024 * 1024
# Calls that work before pairing: how else would a client find us and ask to pair?
OPEN_ENDPOINTS = {"api.ping", "api.pair_request", "api.pair_poll"}


class LibraryUnavailable(RuntimeError):
    """The library could not be opened; the server is stopping."""


class AppState:
    """What the request handlers share; reached as ``current_app.extensions['papershelf']``.

    A server may answer before its library has loaded (see `early_lookups`): then
    ``library`` waits for it, and ``early_lookups`` holds the look-ups that can be answered
    meanwhile."""

    def __init__(self, library: Library | None, secrets: security.Secrets,
                 pairing: security.Pairing, port: int, data_dir: Path,
                 early_lookups: dict[str, dict] | None = None):
        self.secrets = secrets
        self.pairing = pairing
        self.port = port
        self.data_dir = data_dir
        self.extras: dict[str, Any] = {}
        self.early_lookups = early_lookups
        self._library = library
        self._load_error: str | None = None
        self._loaded = threading.Event()
        if library is not None:
            self._loaded.set()

    @property
    def library(self) -> Library:
        """The library (waiting for it while it loads)."""
        self._loaded.wait()
        if self._library is None:
            raise LibraryUnavailable(self._load_error or "the library is not open")
        return self._library

    @property
    def library_loaded(self) -> bool:
        return self._library is not None

    def library_opened(self, library: Library) -> None:
        self._library = library
        self._loaded.set()
        self.early_lookups = None  # the library answers from now on

    def library_failed(self, message: str) -> None:
        self._load_error = message
        self._loaded.set()


class FastJSON(DefaultJSONProvider):
    """Request bodies and answers through orjson: a page of 50 papers in and out is a
    quarter of a megabyte of JSON, and the standard module takes several milliseconds
    each way. What orjson refuses (a lone surrogate, numbers beyond 64 bits, NaN, nesting
    deeper than it allows) goes to the standard module, which behaves as before."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
        except TypeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            return super().loads(s, **kwargs)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        try:
            data = orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            return super().response(obj)
        return self._app.response_class(data, mimetype=self.mimetype)


def create_app(library: Library | None, data_dir: Path, port: int,
               early_lookups: dict[str, dict] | None = None) -> Flask:
    """The app; ``library`` None: it is still loading, given later to ``AppState``."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = FastJSON(app)
    secrets_store = security.Secrets(data_dir)
    app.extensions[APP_NAME] = AppState(library=library, secrets=secrets_store,
                                        pairing=security.Pairing(secrets_store), port=port,
                                        data_dir=Path(data_dir), early_lookups=early_lookups)

    # Browser extensions get CORS answers (Firefox asks for them); web pages never do.
    CORS(app, resources={r"/api/*": {"origins": [security.EXTENSION_ORIGIN.pattern]}},
         allow_headers=["Authorization", "Content-Type"], supports_credentials=False,
         max_age=600)

    from .api import api
    from .web import web
    app.register_blueprint(api)
    app.register_blueprint(web)
    app.before_request(_guard)
    app.after_request(_no_store)
    _register_errors(app)
    return app


def error(status: int, message: str, field_name: str | None = None):
    response = jsonify({"error": message, "field": field_name})
    response.status_code = status
    return response


def _guard():
    state: AppState = current_app.extensions[APP_NAME]
    problem = security.host_problem(request.headers.get("Host"), state.port)
    if problem:
        return error(403, problem)
    problem = security.origin_problem(request.headers.get("Origin"), state.port)
    if problem:
        return error(403, problem)
    problem = security.embedding_problem(request.headers.get("Sec-Fetch-Dest"),
                                         request.headers.get("Sec-Fetch-Site"))
    if problem:
        return error(403, problem)
    if request.method == "OPTIONS":
        return None  # CORS preflight from an extension; flask-cors answers it
    is_api = request.path.startswith("/api/")
    has_body = request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if is_api and request.method in ("POST", "PUT", "PATCH", "DELETE") and has_body:
        if request.mimetype != "application/json":
            return error(415, "the body must be JSON (Content-Type: application/json)")
    if not is_api or request.endpoint in OPEN_ENDPOINTS:
        return None
    token = security.bearer_token(request.headers.get("Authorization"))
    if token is not None:
        client = state.secrets.client_for(token)
        if client is None:
            return error(401, "the token is not valid: pair the extension again")
        state.secrets.seen(client)
        return None
    if state.secrets.is_session(request.cookies.get(security.SESSION_COOKIE, "")):
        problem = security.session_problem(request.method, request.headers.get("Origin"),
                                           request.headers.get("Sec-Fetch-Site"), state.port)
        return error(403, problem) if problem else None
    if request.endpoint is None:
        return None  # unknown path: let it be a 404
    return error(401, "a token is required: pair this client with Papershelf first")


def _no_store(response):
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # No page may frame any answer (clickjacking) or load one as an image/script/style.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        return error(400, exc.message if not exc.field else f"{exc.field} {exc.message}", exc.field)

    @app.errorhandler(NotFound)
    def _missing(exc: NotFound):
        return error(404, str(exc))

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return error(409, str(exc))

    @app.errorhandler(StorageError)
    def _storage(exc: StorageError):
        # The library did not change; the user has to free space or fix permissions.
        return error(507, f"the library could not be written: {exc}. Nothing was changed; "
                          "free some disk space (or fix the folder's permissions) and try again")

    @app.errorhandler(LibraryUnavailable)
    def _unavailable(exc: LibraryUnavailable):
        return error(503, f"the library could not be opened: {exc}")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {413: f"the body is too large (at most {MAX_BODY_BYTES // (1024 * 1024)} MiB)",
                    404: "no such address", 405: f"{request.method} is not allowed here"}
        return error(exc.code or 400, messages.get(exc.code, exc.description))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # pragma: no cover - a bug; logged, answered as JSON
        app.logger.exception("unexpected error")
        return error(500, "internal error; the library was not changed by this request")
