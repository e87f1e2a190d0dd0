"""The library page: static files served at ``/``, signed in by a session cookie.

Loading ``/`` sets an HttpOnly, SameSite=Strict cookie that authenticates the page's own
API calls, so the page works without the user copying a token. Other sites cannot read
the page (no CORS) or frame it (CSP frame-ancestors, X-Frame-Options, and the server
refuses frame requests from other pages); the cookie authorizes only the page's own
same-origin calls (pages on other local ports are the "same site" and would send a
SameSite=Strict cookie), and the host and origin checks in :mod:`papershelf.app` stop
DNS-rebinding pages.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.routing import PathConverter

from . import APP_NAME, security

PAGE_DIR = Path(__file__).with_name("library_page")

web = Blueprint("web", __name__)


@web.get("/")
def index():
    if not (PAGE_DIR / "index.html").exists():
        abort(404)
    response = send_from_directory(PAGE_DIR, "index.html", max_age=0)
    state = current_app.extensions[APP_NAME]
    response.set_cookie(security.SESSION_COOKIE, state.secrets.session_secret, httponly=True,
                        samesite="Strict", path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Frame-Options"] = "DENY"
    return response


class PagePathConverter(PathConverter):
    """A path that is not under /api/: the API's own routes answer 404/405 for those."""
    regex = r"(?!api/)[^/].*?"


@web.record_once
def _register_converter(state):
    state.app.url_map.converters["page_path"] = PagePathConverter


@web.get("/<page_path:name>")
def asset(name: str):
    # The page itself has one address, with its headers (CSP, no framing) and its cookie.
    if name == "index.html":
        return index()
    # send_from_directory refuses paths that leave the folder.
    if not PAGE_DIR.is_dir():
        abort(404)
    return send_from_directory(PAGE_DIR, name, max_age=0)
