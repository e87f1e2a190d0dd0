"""The paper record: which fields a card or an edit may carry, and what values are sane.

Everything that enters the library passes through here first, so the library service can
trust its input. A bad value raises :class:`ValidationError` naming the field; nothing is
ever half-accepted. No HTTP and no storage here.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Any, Callable

from . import tags as tagmod

# ASCII digits only: "\d" would also take other scripts' digits ("٢٤٠١.٠١٢٣٤").
ARXIV_NEW = re.compile(r"^([0-9]{4}\.[0-9]{4,5})(v[0-9]+)?$")
ARXIV_OLD = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/[0-9]{7})(v[0-9]+)?$")
VIEWS = ("daily", "weekly", "monthly", "trending", "search", "paper", "import", "other")

MAX_TITLE = 1000
MAX_ABSTRACT = 50_000
MAX_NAME = 300
MAX_AUTHORS = 5000
MAX_URL = 2048
MAX_NOTES = 200_000
MAX_COUNT = 10**9
MAX_BATCH = 1000


class ValidationError(ValueError):
    """Input that cannot be accepted; ``field`` is a path such as ``papers[3].title``."""

    def __init__(self, field: str | None, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def under(self, prefix: str) -> "ValidationError":
        return ValidationError(f"{prefix}.{self.field}" if self.field else prefix, self.message)


# ----------------------------------------------------------------------------- values
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTTP_URL = re.compile(r"^https?://[^\s/]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text(value: Any, field: str, limit: int, *, multiline: bool = False,
          required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {_type_name(value)}")
    if _CONTROL.search(value):
        raise ValidationError(field, "contains control characters")
    if not value.isascii():  # ASCII text is valid Unicode and in NFC already
        if not _encodable(value):
            raise ValidationError(field, "contains characters that are not valid Unicode text")
        value = unicodedata.normalize("NFC", value)
    if multiline:
        value = value.replace("\r\n", "\n").strip()
    else:
        value = " ".join(value.split())
    if len(value) > limit:
        raise ValidationError(field, f"is too long ({len(value)} characters; at most {limit})")
    if required:
        _check_visible(value, field)
    return value


def _check_visible(value: str, field: str) -> None:
    if not has_visible(value):
        raise ValidationError(field, "must not be empty" if not value else
                              "must not be empty (it has no visible characters)")


# Characters that show nothing (and that BibTeX export drops): control, format (zero-width
# space, bidi marks), surrogate, private-use and unassigned code points.
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn"))
_INVISIBLE_ASCII = "".join(map(chr, range(ord(" ") + 1))) + "\x7f"


def has_visible(text: str) -> bool:
    """Whether ``text`` holds something besides white space and invisible characters."""
    if text.isascii():
        return bool(text.strip(_INVISIBLE_ASCII))  # what is left has a visible character
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE for ch in text)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates such as "\ud800"
        return False
    return True


def check_unicode(value: Any, field: str | None = None) -> None:
    """Refuse a decoded JSON body holding a string, or an object key, that is not valid
    Unicode text (a lone surrogate such as ``"\\ud800"``): it could not be stored, nor even
    named in an error answer."""
    stack = [(value, field)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                raise ValidationError(where, ("" if where else "the body ")
                                      + "contains characters that are not valid Unicode text")
        elif isinstance(item, dict):
            for key in item:
                if not _encodable(key):
                    raise ValidationError(where, ("" if where else "the body ")
                                          + "has a field name that is not valid Unicode text")
            stack.extend((sub, f"{where}.{key}" if where else key)
                         for key, sub in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]" if where else f"[{i}]")
                         for i, sub in reversed(list(enumerate(item))))


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be a whole number, not {_type_name(value)}")
    if value < 0:
        raise ValidationError(field, "must not be negative")
    if value > MAX_COUNT:
        raise ValidationError(field, "is implausibly large")
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"must be true or false, not {_type_name(value)}")
    return value


def _url(value: Any, field: str) -> str | None:
    value = _text(value, field, MAX_URL)
    if value is None or value == "":
        return None
    if not _HTTP_URL.match(value):
        raise ValidationError(field, "must be an http(s) URL")
    return value


def _date(value: Any, field: str) -> str | None:
    value = _text(value, field, 10)
    if not value:
        return None
    if not _ISO_DATE.fullmatch(value):
        raise ValidationError(field, "must be a date as YYYY-MM-DD")
    try:
        day = _dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"is not a real date ({value})") from None
    if day.year < 1800 or day > _dt.date.today() + _dt.timedelta(days=366):
        raise ValidationError(field, f"is out of range ({value})")
    return value


def _names(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(field, f"must be a list of names, not {_type_name(value)}")
    if len(value) > MAX_AUTHORS:
        raise ValidationError(field, f"has too many entries (at most {MAX_AUTHORS})")
    return [_text(name, f"{field}[{i}]", MAX_NAME, required=True) for i, name in enumerate(value)]


def _string_list(value: Any, field: str, limit: int = 200) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError(field, f"must be a list of strings, not {_type_name(value)}")
    if len(value) > limit:
        raise ValidationError(field, f"has too many entries (at most {limit})")
    return [_text(v, f"{field}[{i}]", MAX_NAME, required=True) for i, v in enumerate(value)]


def _tag_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(field, f"must be a list of tags, not {_type_name(value)}")
    if len(value) > tagmod.MAX_TAGS_PER_PAPER:
        raise ValidationError(field, f"has too many tags (at most {tagmod.MAX_TAGS_PER_PAPER})")
    out = []
    for i, tag in enumerate(value):
        try:
            out.append(tagmod.clean(tag))
        except ValueError as exc:
            raise ValidationError(f"{field}[{i}]", str(exc)) from None
    return tagmod.unique(out)


def arxiv_id(value: Any, field: str = "arxiv_id") -> str | None:
    """The arXiv id without its version suffix (``2401.01234v3`` → ``2401.01234``)."""
    if type(value) is str:
        # The usual case, a plain new-style id, needs none of the cleaning below (a look-up
        # checks a hundred at a time).
        match = ARXIV_NEW.fullmatch(value)
        if match:
            return match.group(1)
    value = _text(value, field, 64)
    if not value:
        return None
    value = re.sub(r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)", "", value, flags=re.I)
    for pattern in (ARXIV_NEW, ARXIV_OLD):
        match = pattern.match(value)
        if match:
            return match.group(1)
    raise ValidationError(field, f"is not an arXiv id ({value[:40]})")


def _source(value: Any, field: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(field, "must be an object with url and view")
    unknown = set(value) - {"url", "view"}
    if unknown:
        raise ValidationError(f"{field}.{sorted(unknown)[0]}", "is not a known field")
    view = value.get("view")
    if view is None or view == "":
        view = "other"
    if not isinstance(view, str) or view not in VIEWS:
        raise ValidationError(f"{field}.view", f"must be one of {', '.join(VIEWS)}")
    return {"url": _url(value.get("url"), f"{field}.url"), "view": view}


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


# ----------------------------------------------------------------------------- cards
# The metadata a card carries, each with its checker. Bibliographic fields (doi, venue…)
# come from imports and edits.
def _year(value: Any, field: str) -> int | None:
    value = _count(value, field)
    if value is not None and not 1800 <= value <= _dt.date.today().year + 1:
        raise ValidationError(field, f"is out of range ({value})")
    return value


def _short(limit: int) -> Callable[[Any, str], str | None]:
    return lambda value, field: _text(value, field, limit)


METADATA_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "arxiv_id": arxiv_id,
    "title": lambda v, f: _text(v, f, MAX_TITLE),
    "abstract": lambda v, f: _text(v, f, MAX_ABSTRACT, multiline=True),
    "authors": _names,
    "authors_count": _count,
    "org_name": _short(MAX_NAME),
    "org_fullname": _short(MAX_NAME),
    "published": _date,
    "date_text": _short(64),
    "upvotes": _count,
    "comments": _count,
    "github_repo": _url,
    "github_stars": _count,
    "submitted_by": _short(MAX_NAME),
    "thumbnail": _url,
    "hf_url": _url,
    "ai_summary": lambda v, f: _text(v, f, MAX_ABSTRACT, multiline=True),
    "ai_keywords": _string_list,
    # Bibliographic fields (imports, edits, enrichment).
    "entry_type": _short(32),
    "doi": _short(256),
    "url": _url,
    "venue": _short(MAX_NAME),
    "journal": _short(MAX_NAME),
    "booktitle": _short(MAX_NAME),
    "publisher": _short(MAX_NAME),
    "volume": _short(64),
    "number": _short(64),
    "pages": _short(64),
    "year": _year,
    "month": _short(16),
    "primary_class": _short(64),
    "authors_others": lambda v, f: None if v is None else _flag(v, f),
    "bib_extra": lambda v, f: _bib_extra(v, f),
}

def _bib_extra(value: Any, field: str) -> dict | None:
    """Other BibTeX fields an imported entry had (editor, series, note…), kept for export."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(field, "must be an object of BibTeX field names to text")
    if len(value) > 100:
        raise ValidationError(field, "has too many fields")
    out = {}
    for name, text in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]{0,40}", name):
            raise ValidationError(field, f"has a field name that BibTeX cannot use ({str(name)[:40]!r})")
        out[name.lower()] = _text(text, f"{field}.{name}", MAX_ABSTRACT, multiline=True)
    return out


CARD_EXTRA_FIELDS = {"tags", "source"}
USER_FIELDS = {"tags", "notes", "read", "starred", "citation_key"}
_CARD_FIELDS = frozenset(METADATA_FIELDS) | CARD_EXTRA_FIELDS


def _check_object(value: Any, field: str | None) -> dict:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be an object, not {_type_name(value)}")
    return value


def clean_card(card: Any) -> dict:
    """A posted card → a clean record with only known fields (unknown ones are an error)."""
    card = _check_object(card, None)
    unknown = card.keys() - _CARD_FIELDS
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a known field")
    out: dict[str, Any] = {}
    for name, check in METADATA_FIELDS.items():
        if name in card:
            out[name] = check(card[name], name)
    # The title was cleaned above, in its turn; only now may it be found missing or empty.
    if out.get("title") is None:
        raise ValidationError("title", "is required")
    _check_visible(out["title"], "title")
    if out.get("authors") is not None and out.get("authors_count") is not None:
        if out["authors"] and out["authors_count"] < len(out["authors"]):
            raise ValidationError("authors_count", "is smaller than the number of authors given")
    out["tags"] = _tag_list(card.get("tags"), "tags")
    out["source"] = _source(card.get("source"), "source")
    return out


def clean_batch(body: Any) -> tuple[list[dict], dict | None]:
    """A POST /api/papers body: one card, or ``{"papers": [...], "source": {...}}``."""
    body = _check_object(body, None)
    if "papers" not in body:
        return [clean_card(body)], None
    unknown = set(body) - {"papers", "source"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a known field")
    papers = body["papers"]
    if not isinstance(papers, list):
        raise ValidationError("papers", f"must be a list of cards, not {_type_name(papers)}")
    if not papers:
        raise ValidationError("papers", "must not be empty")
    if len(papers) > MAX_BATCH:
        raise ValidationError("papers", f"has too many cards ({len(papers)}; at most {MAX_BATCH})")
    source = _source(body.get("source"), "source")
    cards = []
    for i, card in enumerate(papers):
        try:
            cards.append(clean_card(card))
        except ValidationError as exc:
            raise exc.under(f"papers[{i}]") from None
    return cards, source


def clean_patch(body: Any) -> dict:
    """A PATCH /api/papers/<id> body: user fields and corrected metadata."""
    body = _check_object(body, None)
    if not body:
        raise ValidationError(None, "nothing to change: the body is empty")
    allowed = set(METADATA_FIELDS) | USER_FIELDS
    unknown = set(body) - allowed
    if unknown:
        name = sorted(unknown)[0]
        reason = "cannot be changed" if name in {"id", "added_at", "updated_at", "sightings",
                                                  "deleted_at", "key_aliases"} else "is not a known field"
        raise ValidationError(name, reason)
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "tags":
            out["tags"] = _tag_list(value, "tags")
        elif name == "notes":
            out["notes"] = _text(value, "notes", MAX_NOTES, multiline=True) or ""
        elif name in ("read", "starred"):
            out[name] = _flag(value, name)
        elif name == "citation_key":
            out[name] = _text(value, name, 128)
        elif name == "title":
            out[name] = _text(value, name, MAX_TITLE, required=True)
        else:
            out[name] = METADATA_FIELDS[name](value, name)
    return out


def clean_ids(value: Any, field: str = "ids", limit: int = 100_000) -> list[int]:
    if not isinstance(value, list):
        raise ValidationError(field, f"must be a list of paper ids, not {_type_name(value)}")
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > limit:
        raise ValidationError(field, f"has too many ids (at most {limit})")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ValidationError(f"{field}[{i}]", "must be a positive whole number")
        out.append(item)
    return list(dict.fromkeys(out))


def clean_tag(value: Any, field: str) -> str:
    try:
        return tagmod.clean(value)
    except ValueError as exc:
        raise ValidationError(field, str(exc)) from None


def clean_tags(value: Any, field: str = "tags") -> list[str]:
    return _tag_list(value, field)
