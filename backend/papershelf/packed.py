"""The byte layout of the indexes a clean stop keeps (see `clean_stop`).

One JSON header line (what the bytes are, in which format, on which byte order, plus the
owner's own facts), then named sections of bytes one after the other, their lengths in the
header. The owners (the search and duplicate indexes) decide what the sections hold;
this module only checks that the bytes are whole and meant for this machine.
"""

from __future__ import annotations

import sys
from array import array

import orjson


def pack(kind: str, version: int, sections: dict[str, bytes], **facts) -> bytes:
    """``sections`` behind a header naming ``kind`` and ``version``; ``facts`` are kept in
    the header (JSON values)."""
    header = {"kind": kind, "format": version, "byteorder": sys.byteorder,
              "sections": [[name, len(data)] for name, data in sections.items()], **facts}
    return orjson.dumps(header) + b"\n" + b"".join(sections.values())


def unpack(data: bytes, kind: str, version: int) -> tuple[dict, dict[str, memoryview]]:
    """The header and the sections `pack` wrote; ValueError if ``data`` is not that: another
    kind or format, another byte order, cut short or with bytes left over."""
    end = data.find(b"\n")
    try:
        header = orjson.loads(data[:end]) if end > 0 else None
    except orjson.JSONDecodeError:
        header = None
    if (not isinstance(header, dict) or header.get("kind") != kind
            or header.get("format") != version or header.get("byteorder") != sys.byteorder
            or array("i").itemsize != 4 or array("I").itemsize != 4
            or not isinstance(header.get("sections"), list)):
        raise ValueError(f"not a {kind} of this format")
    sections, at = {}, end + 1
    view = memoryview(data)
    for entry in header["sections"]:
        if (not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str)
                or not isinstance(entry[1], int) or entry[1] < 0):
            raise ValueError(f"not a {kind} of this format")
        name, length = entry
        sections[name] = view[at:at + length]
        at += length
    if at != len(data):
        raise ValueError(f"{kind} data is cut short or has bytes left over")
    return header, sections


def ints(section: memoryview, code: str = "I") -> array:
    """A section of 4-byte integers (``code``: ``"I"`` unsigned, ``"i"`` signed)."""
    column = array(code)
    column.frombytes(section)
    return column
