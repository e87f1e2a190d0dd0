"""Tag names: what a valid tag is and when two spellings are the same tag.

Tags are compared case-insensitively (``Diffusion`` and ``diffusion`` are one tag) while the
spelling the user chose first is kept for display. Hierarchical names use ``/``
(``ml/diffusion``); each level is trimmed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TAG_LENGTH = 100
MAX_TAGS_PER_PAPER = 200
# C0 and C1 control characters (invisible, and dropped by BibTeX export), and commas.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f,]")


def clean(tag: object) -> str:
    """A tag as it is stored: trimmed, inner white space folded, levels tidied."""
    if not isinstance(tag, str):
        raise ValueError("a tag must be a string")
    try:
        tag.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a tag must be valid Unicode text") from None
    tag = unicodedata.normalize("NFC", tag)
    if _FORBIDDEN.search(tag):
        raise ValueError("a tag may not contain commas or control characters")
    levels = [" ".join(level.split()) for level in tag.split("/")]
    if not all(map(_has_visible, levels)):
        if not any(map(_has_visible, levels)):
            raise ValueError("a tag must not be empty")
        raise ValueError(f"a tag level must not be empty ({tag.strip()!r})")
    tag = "/".join(levels)
    if len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"a tag is at most {MAX_TAG_LENGTH} characters")
    return tag


def _has_visible(level: str) -> bool:
    """A level needs something besides white space and invisible (format, private-use,
    unassigned) characters, which BibTeX export drops."""
    if level.isascii():
        return bool(level.strip())
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Co", "Cn")
               for ch in level)


def identity(tag: str) -> str:
    """The key under which spellings of one tag are the same."""
    return tag.casefold()


def unique(tags: Iterable[str]) -> list[str]:
    """Tags in order with later spellings of an earlier tag dropped."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(identity(tag), tag)
    return list(seen.values())


def has(tags: Iterable[str], tag: str) -> bool:
    key = identity(tag)
    return any(identity(t) == key for t in tags)


def without(tags: Iterable[str], remove: Iterable[str]) -> list[str]:
    gone = {identity(t) for t in remove}
    return [t for t in tags if identity(t) not in gone]
