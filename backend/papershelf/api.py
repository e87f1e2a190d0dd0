"""The JSON API (``/api/*``), version 1: thin handlers that check input and call the library.

The contract is written down in ``openapi.yaml`` beside this file; change both together.
"""

from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from . import API_VERSION, APP_NAME, __version__, records
from .records import ValidationError

api = Blueprint("api", __name__, url_prefix="/api")

MAX_LOOKUP = 2000
MAX_PAGE = 500


def _state():
    return current_app.extensions[APP_NAME]


def _library():
    return _state().library


# A \uD800-\uDFFF escape: the body may hold a lone surrogate (checked then, not always).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _body() -> Any:
    data = request.get_data(cache=True)
    if not data:
        raise ValidationError(None, "the request has no body")
    try:
        body = request.get_json(silent=True, cache=True)
    except RecursionError:
        raise ValidationError(None, "the body is nested too deeply") from None
    if body is None:
        raise ValidationError(None, "the body is not valid JSON")
    if _SURROGATE_ESCAPE.search(data):
        records.check_unicode(body)
    return body


def _object_body(*allowed: str, required: tuple[str, ...] = ()) -> dict:
    body = _body()
    if not isinstance(body, dict):
        raise ValidationError(None, "the body must be a JSON object")
    unknown = set(body) - set(allowed)
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a known field")
    for name in required:
        if name not in body:
            raise ValidationError(name, "is required")
    return body


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(name, f"must be a whole number, not {raw[:20]!r}") from None
    if not low <= value <= high:
        raise ValidationError(name, f"must be between {low} and {high}")
    return value


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationError(name, "must be true or false")


def _choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ValidationError(name, f"must be one of {', '.join(choices)}")
    return raw


def _text_arg(name: str, limit: int) -> str:
    raw = request.args.get(name, "")
    if len(raw) > limit:
        raise ValidationError(name, f"is too long (at most {limit} characters)")
    return raw


def _ids_arg(name: str = "ids") -> list[int] | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return records.clean_ids([int(p) for p in raw.split(",") if p.strip()], name)
    except ValueError:
        raise ValidationError(name, "must be paper ids separated by commas") from None


def _paper_id(value: int) -> int:
    if value <= 0:
        raise ValidationError("id", "must be a positive whole number")
    return value


# ----------------------------------------------------------------------------- basics
@api.get("/ping")
def ping():
    return {"app": APP_NAME, "version": __version__, "api_version": API_VERSION}


@api.get("/status")
def status():
    state = _state()
    return {**state.library.count(), "data_dir": str(state.data_dir),
            "warnings": state.library.warnings, "indexes_ready": state.library.indexes_ready,
            "renderings_pending": state.library.renderings_pending,
            "version": __version__,
            "api_version": API_VERSION}


@api.get("/backup")
def backup():
    """A consistent copy of the whole library, one TinyDB JSON file, streamed."""
    from .maintenance import backup_chunks, default_backup_name
    response = Response(backup_chunks(_library().db.storage), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{default_backup_name()}"'
    return response


# ----------------------------------------------------------------------------- papers
@api.post("/papers")
def save_papers():
    cards, source = records.clean_batch(_body())
    return jsonify(_library().save_cards(cards, source))


@api.post("/papers/lookup")
def lookup():
    body = _object_body("arxiv_ids", required=("arxiv_ids",))
    ids = body["arxiv_ids"]
    if not isinstance(ids, list):
        raise ValidationError("arxiv_ids", "must be a list of arXiv ids")
    if len(ids) > MAX_LOOKUP:
        raise ValidationError("arxiv_ids", f"has too many ids (at most {MAX_LOOKUP})")
    clean = [records.arxiv_id(v, f"arxiv_ids[{i}]") for i, v in enumerate(ids)]
    state = _state()
    early = state.early_lookups
    if early is not None and not state.library_loaded:
        # The library is still loading and was not changed since the table was kept.
        return {"papers": {c: early[c] for c in clean if c and c in early}}
    return {"papers": state.library.lookup([c for c in clean if c])}


@api.get("/papers")
def list_papers():
    from .library import SORTS
    return _library().list_papers(
        q=_text_arg("q", 500), tag=_text_arg("tag", 200) or None, read=_bool_arg("read"),
        starred=_bool_arg("starred"), sort=_choice_arg("sort", SORTS),
        order=_choice_arg("order", ("asc", "desc")),
        limit=_int_arg("limit", 50, 1, MAX_PAGE), offset=_int_arg("offset", 0, 0, 10**9),
        trash=bool(_bool_arg("trash")), ids=_ids_arg())


@api.get("/papers/<int:paper_id>")
def get_paper(paper_id: int):
    return _library().get(_paper_id(paper_id))


@api.patch("/papers/<int:paper_id>")
def update_paper(paper_id: int):
    changes = records.clean_patch(_body())
    return _library().update(_paper_id(paper_id), changes)


@api.delete("/papers/<int:paper_id>")
def delete_paper(paper_id: int):
    papers, undo = _library().delete([_paper_id(paper_id)])
    return {"deleted": [p["id"] for p in papers], "undo": undo}


@api.post("/papers/<int:paper_id>/restore")
def restore_paper(paper_id: int):
    return _library().restore([_paper_id(paper_id)])[0][0]


@api.post("/papers/<int:paper_id>/tags")
def change_tags(paper_id: int):
    body = _object_body("add", "remove")
    add = records.clean_tags(body.get("add"), "add")
    remove = records.clean_tags(body.get("remove"), "remove")
    if not add and not remove:
        raise ValidationError("add", "give tags to add or to remove")
    return _library().change_tags(_paper_id(paper_id), add, remove)


@api.post("/papers/bulk")
def bulk():
    body = _object_body("ids", "action", "tags", required=("ids", "action"))
    ids = records.clean_ids(body["ids"])
    action = body["action"]
    if not isinstance(action, str):
        raise ValidationError("action", "must be a string")
    tags = records.clean_tags(body.get("tags"))
    papers, undo = _library().bulk(ids, action, tags)
    return {"papers": papers, "undo": undo}


@api.post("/undo/<undo_id>")
def undo(undo_id: str):
    return _library().undo(undo_id)


@api.delete("/trash")
def empty_trash():
    return {"purged": _library().empty_trash()}


# ----------------------------------------------------------------------------- tags
@api.get("/tags")
def list_tags():
    prefix = _text_arg("prefix", 200)
    limit = _int_arg("limit", 1000, 1, 100_000)
    return {"tags": _library().list_tags(prefix, limit)}


@api.post("/tags/rename")
def rename_tag():
    body = _object_body("from", "to", required=("from", "to"))
    old = records.clean_tag(body["from"], "from")
    new = records.clean_tag(body["to"], "to")
    return _library().rename_tag(old, new)


@api.delete("/tags/<path:name>")
def delete_tag(name: str):
    tag = records.clean_tag(name, "name")
    return _library().delete_tag(tag)


# ----------------------------------------------------------------------------- duplicates
@api.get("/duplicates")
def duplicates():
    return {"pairs": _library().duplicates()}


@api.get("/duplicates/count")
def duplicate_count():
    """The number of pairs alone: the whole list is megabytes in a large library."""
    return {"count": _library().duplicate_count()}


def _id_field(body: dict, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(name, "must be a paper id (a positive whole number)")
    return value


@api.post("/duplicates/merge")
def merge():
    body = _object_body("keep", "other", "fields", required=("keep", "other"))
    fields = body.get("fields")
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ValidationError("fields", 'must be an object like {"title": "other"}')
    paper, undo = _library().merge(_id_field(body, "keep"), _id_field(body, "other"), fields)
    return {"paper": paper, "undo": undo}


@api.post("/duplicates/dismiss")
def dismiss():
    body = _object_body("a", "b", required=("a", "b"))
    a, b = _id_field(body, "a"), _id_field(body, "b")
    _library().dismiss_duplicate(a, b)
    return {"dismissed": [a, b]}


# ----------------------------------------------------------------------------- pairing
@api.post("/pair/requests")
def pair_request():
    body = _object_body("client", required=("client",))
    client = body["client"]
    if not isinstance(client, str) or not client.strip() or len(client) > 100:
        raise ValidationError("client", "must be a name of 1 to 100 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in client):
        raise ValidationError("client", "contains control characters")
    try:
        answer = _state().pairing.request(" ".join(client.split()))
    except OverflowError as exc:
        return jsonify({"error": str(exc), "field": None}), 429
    return answer, 201


@api.get("/pair/requests/<request_id>")
def pair_poll(request_id: str):
    answer = _state().pairing.poll(request_id, request.args.get("poll_secret", ""))
    if answer is None:
        return jsonify({"error": "no such pairing request (it may have expired)",
                        "field": "request_id"}), 404
    return answer


@api.get("/pair/requests")
def pair_pending():
    return {"requests": _state().pairing.pending()}


@api.post("/pair/requests/<request_id>/<decision>")
def pair_decide(request_id: str, decision: str):
    if decision not in ("approve", "deny"):
        return jsonify({"error": "no such address", "field": None}), 404
    answer = _state().pairing.decide(request_id, decision == "approve")
    if answer is None:
        return jsonify({"error": "no pending pairing request with that id",
                        "field": "request_id"}), 404
    return answer


@api.get("/clients")
def clients():
    return {"clients": _state().secrets.clients()}


@api.delete("/clients/<client_id>")
def revoke_client(client_id: str):
    if not _state().secrets.revoke(client_id):
        return jsonify({"error": "no paired client with that id", "field": "client_id"}), 404
    return {"revoked": client_id}


# ----------------------------------------------------------------------------- BibTeX
MAX_BIB_CHARS = 15 * 1024 * 1024


def _export_args() -> dict:
    abstract = _bool_arg("abstract")
    return {"tag": _text_arg("tag", 200) or None, "ids": _ids_arg(),
            "abstract": True if abstract is None else abstract}


def _encoded(pieces: Iterable[str], size: int = 1 << 16):
    """The pieces joined by newlines, as UTF-8, about ``size`` characters at a time. A
    large library's file is ~100 MB: it is never joined or encoded whole, and an export's
    pieces are made only as they are sent (and let go once sent). Chunks stay well below
    `heap.LARGE_BLOCK_BYTES`: megabyte chunks made the export of 50,000 papers 20-30 %
    slower, each one mapped and faulted in anew."""
    batch: list[str] = []
    length = 0
    separator = ""  # later pieces are preceded by their newline
    for piece in pieces:
        batch.append(separator)
        batch.append(piece)
        separator = "\n"
        length += len(piece) + 1
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch.clear()
            length = 0
    if batch:
        yield "".join(batch).encode("utf-8")


@api.get("/export.bib")
def export_file():
    """The .bib file as a download (the library page's Export button)."""
    args = _export_args()
    pieces, report = _library().export_bibtex(**args, pieces=True)
    name = "papershelf"
    if args["tag"]:
        name += "-" + "".join(ch if ch.isalnum() else "-" for ch in args["tag"]).strip("-")
    response = Response(_encoded(pieces), mimetype="application/x-bibtex")
    # Lets go of the export's handle on the rendering file even if the download stops.
    response.call_on_close(pieces.close)
    # Header values are Latin-1: an ASCII name, and the real one (a tag in any script) as
    # RFC 6266 filename*.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "papershelf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}.bib"; filename*=UTF-8\'\'{quote(name + ".bib")}')
    response.headers["X-Papershelf-Entries"] = str(report.get("entries", 0))
    response.headers["X-Papershelf-Incomplete"] = str(len(report.get("incomplete", [])))
    return response


@api.get("/export")
def export_json():
    """The .bib text with the report of incomplete entries (the CLI prints it)."""
    text, report = _library().export_bibtex(**_export_args())
    return {"bibtex": text, "report": report}


@api.post("/import")
def import_bib():
    body = _object_body("bibtex", required=("bibtex",))
    text = body["bibtex"]
    if not isinstance(text, str):
        raise ValidationError("bibtex", "must be the text of a .bib file")
    if len(text) > MAX_BIB_CHARS:
        raise ValidationError("bibtex", "is too large")
    return _library().import_bibtex(text)


@api.get("/auto-exports")
def list_auto_exports():
    state = _state()
    exporter = state.extras.get("autoexporter")
    rows = state.library.list_auto_exports()
    for row in rows:
        row["error"] = exporter.errors.get(row["path"]) if exporter else None
    return {"auto_exports": rows}


@api.post("/auto-exports")
def add_auto_export():
    from .autoexport import check_path
    body = _object_body("path", "tag", required=("path",))
    path = check_path(body["path"])
    tag = records.clean_tag(body["tag"], "tag") if body.get("tag") is not None else None
    binding = _library().add_auto_export(path, tag)
    exporter = _state().extras.get("autoexporter")
    if exporter:
        exporter.poke()
    return binding, 201


@api.delete("/auto-exports/<int:export_id>")
def remove_auto_export(export_id: int):
    _library().remove_auto_export(export_id)
    return {"removed": export_id}
