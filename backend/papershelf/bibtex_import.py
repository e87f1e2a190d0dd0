"""BibTeX import: a .bib text -> paper dicts, with malformed entries reported.

Owns the LaTeX -> text direction (``latex_to_unicode``) and the reading of .bib files
written by Zotero (Better BibTeX, BibTeX and biblatex flavours), JabRef, arXiv, Google
Scholar or by hand.  ``parse(text)`` returns an ``ImportResult``:

* ``entries`` -- paper dicts in file order (shape below), ready for the library's
  capture/dedupe rules; each keeps the file's key as ``citation_key``;
* ``errors`` -- ``{"line", "key", "message"}`` for every entry that was skipped
  (syntax errors, no title); the rest of the file is still imported;
* ``warnings`` -- same shape, for things imported with a caveat (duplicate keys or
  fields, undefined @string macros, a foreign @preamble that was dropped, ...);
* ``entry_lines`` -- the line each entry starts on, parallel to ``entries``.

Entry dict fields (only those the file has): ``citation_key``, ``key_aliases`` (from
biblatex ``ids``), ``entry_type``, ``title``, ``authors`` (display order "First
Last"), ``authors_count`` (when the list is complete), ``authors_others`` (True when
the list ended with "and others"), ``arxiv_id`` (no version; from eprint /
archivePrefix / eprinttype, arxiv.org URLs, the 10.48550 DOI, or "arXiv preprint
arXiv:..." / "ArXiv abs/..." journals), ``primary_class``, ``year`` (int),
``month`` (string "1".."12"), ``published`` (YYYY-MM-DD, only from a full biblatex
``date``), ``journal``, ``booktitle``, ``volume``, ``number``, ``pages``,
``publisher``, ``doi`` (bare, no resolver prefix), ``url`` (http/https only),
``abstract``, ``tags`` (from ``keywords``), and ``bib_extra`` -- a dict of the other
standard fields kept for export (editor, series, edition, chapter, organization,
institution, school, address, howpublished, type, isbn, issn, note, and year/month/url
values that do not fit the fields above).

LaTeX is turned into Unicode with pylatexenc; ``$...$`` math is kept verbatim, since
titles carry it that way.  ``@string`` macros (and the standard month macros) are
resolved, ``#`` concatenation is honoured, ``@comment`` blocks -- JabRef's
``@Comment{jabref-meta: ...}`` included -- are ignored, and the ``@preamble`` that
Papershelf's own export writes is recognised and skipped.  Pure functions: no I/O.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from . import citekeys

__all__ = ["ImportResult", "parse", "latex_to_unicode", "decode_bytes", "find_arxiv_id"]


@dataclass
class ImportResult:
    entries: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    # The 1-based line where each entry starts, in the order of ``entries``.
    entry_lines: list[int | None] = field(default_factory=list)


# ----------------------------------------------------------------------------- LaTeX
@functools.lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import (LatexNodes2Text, MacroTextSpec,
                                       get_default_latex_context_db)

    db = get_default_latex_context_db()
    db.add_context_category("papershelf", prepend=True, macros=[
        MacroTextSpec("textbraceleft", "{"),
        MacroTextSpec("textbraceright", "}"),
        MacroTextSpec("textasciicircum", "^"),
        MacroTextSpec("textasciitilde", "~"),
        MacroTextSpec("textbackslash", "\\"),
        MacroTextSpec("textless", "<"),
        MacroTextSpec("textgreater", ">"),
        MacroTextSpec("textbar", "|"),
        MacroTextSpec("textasciigrave", "`"),
        MacroTextSpec("textquotesingle", "'"),
        MacroTextSpec("textquotedbl", '"'),
        MacroTextSpec("textunderscore", "_"),
        MacroTextSpec("relax", ""),
        MacroTextSpec("url", "%(1)s"),
        MacroTextSpec("href", "%(2)s"),
    ])
    return LatexNodes2Text(latex_context=db, math_mode="verbatim")


_LOCK = threading.Lock()
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")


def latex_to_unicode(value: str | None) -> str:
    """LaTeX (as found in a .bib field) -> plain Unicode text, math kept as ``$...$``.

    Protective braces go, accents and symbols become characters, whitespace is
    collapsed, and a bare ``%`` (a comment to LaTeX, always a mistake in a field) is
    read as a percent sign.
    """
    if not value:
        return ""
    value = _UNESCAPED_PERCENT.sub(lambda m: m.group(1) + r"\%", value)
    pieces = []
    for chunk in _chunks(value):
        if _SPECIAL.search(chunk):
            pieces.append(_convert(chunk))
        else:
            pieces.append(chunk)
    text = " ".join(pieces)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():
        text = "".join(ch for ch in text
                       if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())


# What pylatexenc has to look at; anything else is plain text.
_SPECIAL = re.compile(r"[\\{}$%~#&^_]|--|``|''|[?!]`|,,")
_CONTROL_WORD_END = re.compile(r"\\[A-Za-z]+$")


def _chunks(value: str) -> list[str]:
    """Split at spaces outside braces and math, so that pylatexenc (slow, one character
    at a time) only sees the words that need it.  A control word keeps the space after
    it, since TeX eats that space (``\\ss x``)."""
    if not any(c in value for c in "\\{$"):
        return value.split()
    chunks: list[str] = []
    buf: list[str] = []
    depth = 0
    math = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "$":
            math = not math
        if ch.isspace() and depth == 0 and not math and not escaped:
            word = "".join(buf)
            if word and not _CONTROL_WORD_END.search(word):
                chunks.append(word)
                buf = []
            elif word:
                buf.append(" ")
            continue
        buf.append(ch)
    if buf:
        chunks.append("".join(buf))
    return chunks


def _convert(latex: str) -> str:
    with _LOCK:  # pylatexenc walkers are not documented as thread-safe
        try:
            return _converter().latex_to_text(latex)
        except Exception:  # pylatexenc is lenient, but never let a field kill an import
            return latex


def decode_bytes(data: bytes) -> str:
    """Bytes of a .bib file -> text: UTF-8 (with or without BOM), else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ----------------------------------------------------------------------------- values
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH_MACROS = {m[:3]: m.capitalize() for m in _MONTHS}


def _month_number(text: str) -> int | None:
    value = text.strip().lower().rstrip(".")
    if value.isdigit():
        number = int(value)
        return number if 1 <= number <= 12 else None
    for i, name in enumerate(_MONTHS):
        if value == name or value == name[:3] or (value == "sept" and i == 8):
            return i + 1
    return None


def _split_top(raw: str, sep: str) -> list[str]:
    """Split at ``sep`` outside braces and quotes."""
    if sep not in raw:
        return [raw]
    parts, buf, depth, quoted = [], [], 0, False
    for ch in raw:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return parts


def _evaluate(raw: str, strings: dict[str, str], problems: list[str]) -> str:
    """A raw field value (``{..}``, ``".."``, number, macro, joined by ``#``) -> LaTeX."""
    out = []
    for piece in _split_top(raw, "#"):
        piece = piece.strip()
        if not piece:
            continue
        if piece.startswith("{") and piece.endswith("}"):
            out.append(piece[1:-1])
        elif piece.startswith('"') and piece.endswith('"') and len(piece) >= 2:
            out.append(piece[1:-1])
        elif piece.isdigit():
            out.append(piece)
        else:
            name = piece.lower()
            if name in strings:
                out.append(strings[name])
            elif name in _MONTH_MACROS:
                out.append(_MONTH_MACROS[name])
            else:
                problems.append(f"undefined @string macro {piece!r} kept as text")
                out.append(piece)
    return "".join(out)


# ----------------------------------------------------------------------------- arXiv
# ASCII digits, as records.arxiv_id wants them ("\d" also takes other scripts' digits).
_NEW_ID = r"[0-9]{4}\.[0-9]{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/[0-9]{7}"
_ID_RE = re.compile(rf"^(?:arxiv:)?\s*({_NEW_ID}|{_OLD_ID})(?:v\d+)?$", re.I)
_URL_ID_RE = re.compile(rf"arxiv\.org/(?:abs|pdf|html)/({_NEW_ID}|{_OLD_ID})(?:v\d+)?", re.I)
_DOI_ID_RE = re.compile(rf"10\.48550/arxiv\.({_NEW_ID}|{_OLD_ID})", re.I)
_TEXT_ID_RE = re.compile(
    rf"(?:arxiv:\s*|arxiv\s+abs/|^abs/|arxiv\s+preprint\s+)({_NEW_ID}|{_OLD_ID})(?:v\d+)?", re.I)
_CLASS_RE = re.compile(r"\[([a-z\-]+(?:\.[A-Za-z\-]+)?)\]")


def _fix_old_id(found: str) -> str:
    # Old-style ids are lowercase archive names with an optional upper-case subject.
    archive, _, number = found.partition("/")
    if "." in archive:
        name, _, subject = archive.partition(".")
        archive = f"{name.lower()}.{subject.upper()}"
    else:
        archive = archive.lower()
    return f"{archive}/{number}" if number else found


def find_arxiv_id(fields: dict[str, str]) -> str | None:
    """The arXiv id (no version) an entry points at, from decoded field values."""
    eprint = (fields.get("eprint") or "").strip()
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint and prefix in ("", "arxiv"):
        match = _ID_RE.match(eprint)
        if match:
            return _fix_old_id(match.group(1))
    for name in ("url", "doi", "pdf", "howpublished", "note", "journal", "volume"):
        value = fields.get(name) or ""
        for regex in (_URL_ID_RE, _DOI_ID_RE, _TEXT_ID_RE):
            match = regex.search(value)
            if match:
                return _fix_old_id(match.group(1))
    journal = (fields.get("journal") or "").strip().lower()
    if journal in ("arxiv", "corr", "arxiv preprint"):
        for name in ("volume", "number", "pages"):
            match = re.match(rf"^(?:abs/)?({_NEW_ID}|{_OLD_ID})(?:v\d+)?$",
                             (fields.get(name) or "").strip(), re.I)
            if match:
                return _fix_old_id(match.group(1))
    return None


_ARXIV_JOURNAL = re.compile(
    rf"^(?:arxiv|corr)(?:\s+preprint)?(?:\s*,)?(?:\s+(?:arxiv:\s*|abs/)?(?:{_NEW_ID}|{_OLD_ID})(?:v\d+)?)?\.?$",
    re.I)


# ----------------------------------------------------------------------------- names
def _split_depth0(raw: str, pattern: re.Pattern) -> list[str]:
    """Split ``raw`` where ``pattern`` matches outside braces (as BibTeX does)."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            match = pattern.match(raw, i)
            if match:
                parts.append(raw[start:i])
                start = i = match.end()
                continue
        i += 1
    parts.append(raw[start:])
    return parts


_AND = re.compile(r"\s+and\s+", re.I)
_COMMA = re.compile(r",")


def _names(raw: str) -> tuple[list[str], bool]:
    """A raw author/editor value -> (display names "First von Last Jr", had "others").

    "von Last, First" and "von Last, Jr, First" are turned around; a name without a
    comma is already in display order.  Braces only group, so ``{Org and Co}`` stays
    one name.
    """
    names: list[str] = []
    others = False
    for person in _split_depth0(" " + raw.strip() + " ", _AND):
        person = person.strip()
        if not person:
            continue
        if person.lower() == "others":
            others = True
            continue
        parts = [latex_to_unicode(p) for p in _split_depth0(person, _COMMA)]
        if len(parts) == 1:
            display = parts[0]
        else:
            last, jr, first = parts[0], (parts[1] if len(parts) > 2 else ""), parts[-1]
            if len(parts) > 3:
                first = " ".join(parts[2:])
            display = " ".join(p for p in (first, last, jr) if p)
            # Keep "Last, First" when the display order would lose where the surname
            # starts ("García Márquez, Gabriel"), so that export writes it back as is.
            f, v, l, j = citekeys.split_name(display)
            if (" ".join(f), " ".join(v + l), " ".join(j)) != (first, last, jr):
                display = ", ".join(p for p in (last, jr, first) if p)
        display = " ".join(display.split())
        if display:
            names.append(display)
    return names, others


# ----------------------------------------------------------------------------- parse
_EXTRA_FIELDS = ("editor", "series", "edition", "chapter", "organization", "institution",
                 "school", "address", "howpublished", "type", "isbn", "issn", "note")
_VERBATIM = {"url", "doi", "eprint", "archiveprefix", "eprinttype", "primaryclass",
             "eprintclass", "isbn", "issn", "ids", "pdf"}
_ALIASES = {"journaltitle": "journal", "location": "address", "annotation": "annote"}
# Fields read (besides title, author, editor, pages, keywords, handled on their own).
_USED = {"journal", "booktitle", "volume", "number", "publisher", "abstract", "year", "month",
         "date", "doi", "url", "pdf", "eprint", "archiveprefix", "eprinttype", "primaryclass",
         "eprintclass", *_EXTRA_FIELDS}


@contextlib.contextmanager
def _quiet_bibtexparser():
    """bibtexparser logs every syntax error; we report them ourselves."""
    loggers = [logging.getLogger(name) for name in
               ("bibtexparser", "bibtexparser.splitter", "bibtexparser.entrypoint")]

    def drop(record: logging.LogRecord) -> bool:
        return False

    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


def _line(block) -> int | None:
    start = getattr(block, "start_line", None)
    return start + 1 if isinstance(start, int) else None


def _raw_key(raw: str | None) -> str | None:
    match = re.match(r"\s*@\s*\w+\s*[{(]\s*([^,\s{}()=]+)\s*(?:,|\n|$)", raw or "")
    return match.group(1) if match else None


def _verbatim_value(value: str) -> str:
    value = value.strip()
    while value.startswith("{") and value.endswith("}") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    value = re.sub(r"\\([_%#&$~])", r"\1", value)
    value = value.replace("{", "").replace("}", "")
    return " ".join(value.split())


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            return False
    return depth == 0


def _pages(value: str) -> str:
    # "--" is a page range, not an en dash to convert: decode around the dashes.
    return "".join(piece if set(piece) == {"-"} else latex_to_unicode(piece)
                   for piece in re.split(r"(-+)", value))


def _tags(value: str) -> list[str]:
    tags: list[str] = []
    buf: list[str] = []
    depth = 0
    pieces = []
    for ch in value:
        depth += ch == "{"
        depth -= ch == "}"
        if ch in ",;" and depth == 0:
            pieces.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    pieces.append("".join(buf))
    seen = set()
    for piece in pieces:
        tag = latex_to_unicode(piece)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


def _date(value: str) -> tuple[int | None, int | None, str | None]:
    match = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value.strip())
    if not match:
        return None, None, None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    published = None
    if match.group(3):
        try:
            published = _dt.date(year, month or 1, int(match.group(3))).isoformat()
        except ValueError:
            published = None
    if month is not None and not 1 <= month <= 12:
        month = None
    return year, month, published


def _entry(block, strings: dict[str, str], warnings: list[dict]) -> tuple[dict | None, str | None]:
    """One bibtexparser Entry -> (paper dict, None) or (None, error message)."""
    key = block.key
    line = _line(block)
    raw_fields: dict[str, str] = {}
    problems: list[str] = []
    for fld in block.fields:
        name = fld.key.strip().lower()
        name = _ALIASES.get(name, name)
        if name in raw_fields:
            problems.append(f"field {name!r} appears twice; the first one was kept")
            continue
        raw_fields[name] = _evaluate(str(fld.value), strings, problems)
    for message in problems:
        warnings.append({"line": line, "key": key, "message": message})

    paper: dict = {"citation_key": key}
    entry_type = block.entry_type.strip().lower()
    paper["entry_type"] = entry_type

    title = latex_to_unicode(raw_fields.get("title"))
    if not title:
        return None, "entry has no title"
    paper["title"] = title

    decoded = {name: (_verbatim_value(value) if name in _VERBATIM else latex_to_unicode(value))
               for name, value in raw_fields.items() if name in _USED}

    if "author" in raw_fields:
        authors, others = _names(raw_fields["author"])
        paper["authors"] = authors
        if others:
            paper["authors_others"] = True
        elif authors:
            paper["authors_count"] = len(authors)
    else:
        paper["authors"] = []

    extra: dict = {}
    arxiv_id = find_arxiv_id(decoded)
    if arxiv_id:
        paper["arxiv_id"] = arxiv_id
        pclass = decoded.get("primaryclass") or decoded.get("eprintclass")
        if not pclass:
            match = _CLASS_RE.search(decoded.get("note", "") + " " + decoded.get("eprint", ""))
            pclass = match.group(1) if match else None
        if pclass:
            paper["primary_class"] = pclass
        journal = decoded.get("journal", "")
        if journal and _ARXIV_JOURNAL.match(journal):
            decoded.pop("journal", None)
            if re.match(r"^(?:abs/)?\S+$", decoded.get("volume", "")) and \
                    find_arxiv_id({"volume": decoded.get("volume", "")}):
                decoded.pop("volume", None)
            if entry_type == "article":
                paper["entry_type"] = "misc"
        note = decoded.get("note", "")
        if note and re.fullmatch(rf"(?:arxiv:\s*)?(?:{_NEW_ID}|{_OLD_ID})(?:v\d+)?(?:\s*\[[^\]]*\])?",
                                 note.strip(), re.I):
            decoded.pop("note", None)  # Zotero's "arXiv:2401.00001 [cs]" says nothing new

    year_text = decoded.get("year", "")
    month_text = decoded.get("month", "")
    published = None
    if decoded.get("date") and not year_text:
        year, month, published = _date(decoded["date"])
        if year:
            year_text = str(year)
        if month and not month_text:
            month_text = str(month)
    if year_text:
        if re.fullmatch(r"\d{4}", year_text) and 1800 <= int(year_text) <= _dt.date.today().year + 1:
            paper["year"] = int(year_text)
        else:
            extra["year"] = year_text
    if month_text:
        number = _month_number(month_text)
        if number:
            paper["month"] = str(number)
        else:
            extra["month"] = month_text
    if published:
        paper["published"] = published

    for name in ("journal", "booktitle", "volume", "number", "publisher", "abstract"):
        if decoded.get(name):
            paper[name] = decoded[name]
    if raw_fields.get("pages"):
        pages = _pages(raw_fields["pages"])
        if pages:
            paper["pages"] = pages
    if decoded.get("doi"):
        doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", decoded["doi"], flags=re.I)
        if doi:
            paper["doi"] = doi
    url = decoded.get("url")
    if url:
        if re.match(r"^https?://[^\s/]+", url):
            paper["url"] = url
        else:
            extra["url"] = url
    if raw_fields.get("keywords"):
        tags = _tags(raw_fields["keywords"])
        if tags:
            paper["tags"] = tags
    if raw_fields.get("ids"):
        aliases = [a.strip() for a in _verbatim_value(raw_fields["ids"]).split(",")]
        aliases = [a for a in dict.fromkeys(aliases) if a and a.lower() != key.lower()]
        if aliases:
            paper["key_aliases"] = aliases
    if raw_fields.get("editor"):
        extra["editor"] = latex_to_unicode(raw_fields["editor"])
    for name in _EXTRA_FIELDS:
        if name != "editor" and decoded.get(name):
            extra[name] = decoded[name]
    if extra:
        paper["bib_extra"] = {name: extra[name] for name in sorted(extra)}
    return paper, None


def parse(text: str) -> ImportResult:
    """Read a .bib text.  Never raises on bad input: problems go to errors/warnings."""
    import bibtexparser
    from bibtexparser import model

    from .bibtex_export import PREAMBLE_MARK

    result = ImportResult()
    if not isinstance(text, str):
        raise TypeError("parse() takes the .bib file's text (use decode_bytes for bytes)")
    text = text.lstrip("\ufeff")
    with _quiet_bibtexparser():
        library = bibtexparser.parse_string(text, parse_stack=[])

    strings: dict[str, str] = {}
    keys_seen: dict[str, int | None] = {}
    for block in library.blocks:
        line = _line(block)
        if isinstance(block, model.String):
            problems: list[str] = []
            strings[block.key.strip().lower()] = _evaluate(str(block.value), strings, problems)
            for message in problems:
                result.warnings.append({"line": line, "key": block.key, "message": message})
        elif isinstance(block, model.Preamble):
            value = str(block.value).strip().strip('"').strip()
            if not value.startswith(PREAMBLE_MARK):
                result.warnings.append({"line": line, "key": None,
                                        "message": "@preamble ignored (Papershelf does not keep it)"})
        elif isinstance(block, (model.ExplicitComment, model.ImplicitComment)):
            continue
        elif isinstance(block, model.DuplicateBlockKeyBlock):
            entry_block = block.ignore_error_block
            if isinstance(entry_block, model.Entry):
                result.warnings.append({
                    "line": line, "key": block.key,
                    "message": f"key {block.key!r} is used twice in the file "
                               f"(first on line {keys_seen.get(block.key.lower())}); imported anyway"})
                _add_entry(entry_block, strings, result)
            else:
                result.errors.append({"line": line, "key": block.key,
                                      "message": f"duplicate key {block.key!r}"})
        elif isinstance(block, model.DuplicateFieldKeyBlock):
            entry_block = block.ignore_error_block
            _add_entry(entry_block, strings, result)
        elif isinstance(block, model.ParsingFailedBlock):
            error = block.error
            reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
            reason = " ".join(str(reason).split())
            result.errors.append({"line": line, "key": _raw_key(block.raw),
                                  "message": f"malformed entry skipped: {reason}"})
        elif isinstance(block, model.Entry):
            keys_seen.setdefault(block.key.lower(), line)
            _add_entry(block, strings, result)
    return result


def _add_entry(block, strings: dict[str, str], result: ImportResult) -> None:
    paper, error = _entry(block, strings, result.warnings)
    line = _line(block)
    if error:
        result.errors.append({"line": line, "key": block.key, "message": f"skipped: {error}"})
        return
    if not citekeys.is_usable_key(paper.get("citation_key")):
        result.warnings.append({"line": line, "key": block.key,
                                "message": "the key cannot be kept (bad characters); a new one will be made"})
        paper.pop("citation_key", None)
    result.entries.append(paper)
    result.entry_lines.append(line)
