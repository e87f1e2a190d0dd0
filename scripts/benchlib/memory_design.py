"""``scripts/bench --memory-design``: what the backend's memory would be if it kept every
document encoded instead of as a Python dict, measured with the backend's real indexes.

TinyDB's model, and the backend's, is one dict per document held in memory. The design that
could use less keeps each document's JSON (or that JSON compressed) and decodes a document
when it is read. This measures that design's floor in a fresh process per variant:

* the backend's imports (the same interpreter a server starts with);
* the library's documents, read from its snapshot and kept as ``dicts`` (today's model),
  ``json`` bytes, or ``zlib``-compressed JSON bytes;
* the indexes the targets need, built by the backend's own classes from the documents
  (decoded one at a time): the list columns with the arXiv-id and key maps, the search
  index, the duplicate index.

Not included, so the real server would need more: the rendering index, the HTTP layer and
what requests hold while they run. Each variant prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import zlib
from pathlib import Path

VARIANTS = ("dicts", "json", "zlib")
CHUNK = 2000  # documents decoded at a time for the column build


def _memory_mb() -> tuple[float, float]:
    """(resident now, peak resident) of this process, in MB."""
    status = Path("/proc/self/status").read_text()
    field = lambda name: int(status.split(name + ":")[1].split()[0]) / 1024  # noqa: E731
    return field("VmRSS"), field("VmHWM")


def _snapshot_documents(snapshot: Path):
    """(id, JSON bytes) of every paper in a snapshot written one document per line, as the
    storage writes it; without parsing the whole file."""
    table = None
    with open(snapshot, "rb") as fh:
        for line in fh:
            stripped = line.strip()
            if stripped.endswith(b":{") and stripped.startswith(b'"'):
                table = stripped[1:stripped.index(b'"', 1)]
                continue
            if table != b"papers" or not stripped.startswith(b'"'):
                continue
            end = stripped.index(b'"', 1)
            body = stripped[end + 2:]
            yield int(stripped[1:end]), body[:-1] if body.endswith(b",") else body


def measure(snapshot: Path, variant: str) -> dict:
    import orjson
    from papershelf import api, dedupe, heap, server  # noqa: F401 - the server's imports
    from papershelf.listing import Columns
    from papershelf.search import SearchIndex

    gc.collect()
    out = {"variant": variant, "imports_mb": _memory_mb()[0]}
    if variant == "dicts":
        encode, decode = orjson.loads, lambda doc: doc
    elif variant == "json":
        encode, decode = bytes, orjson.loads
    else:
        encode, decode = (lambda raw: zlib.compress(raw, 1)), \
            (lambda raw: orjson.loads(zlib.decompress(raw)))
    with heap.collection_paused():
        t0 = time.perf_counter()
        docs = {doc_id: encode(raw) for doc_id, raw in _snapshot_documents(snapshot)}
        if not docs:
            raise SystemExit(f"{snapshot}: no papers found one per line")
        out["papers"] = len(docs)
        out["load_s"] = time.perf_counter() - t0
        out["documents_mb"] = _memory_mb()[0] - out["imports_mb"]

        def decoded():
            for doc_id, stored in docs.items():
                yield doc_id, decode(stored)

        t0 = time.perf_counter()
        for _ in decoded():
            pass
        out["full_pass_s"] = time.perf_counter() - t0

        before = _memory_mb()[0]
        columns, by_arxiv, by_key, chunk = Columns(), {}, {}, []
        for doc_id, doc in decoded():
            chunk.append((doc_id, doc))
            if doc.get("arxiv_id"):
                by_arxiv[doc["arxiv_id"]] = doc_id
            for key in [doc.get("citation_key"), *doc.get("key_aliases", [])]:
                if key:
                    by_key[key.lower()] = doc_id
            if len(chunk) == CHUNK:
                columns.build(chunk)
                chunk = []
        columns.build(chunk)
        chunk = None
        out["columns_mb"] = _memory_mb()[0] - before

        before = _memory_mb()[0]
        search = SearchIndex()
        search.build(decoded())
        out["search_mb"] = _memory_mb()[0] - before

        before = _memory_mb()[0]
        duplicates = dedupe.DedupeIndex()
        for doc_id, doc in decoded():
            if not doc.get("deleted_at"):
                duplicates.add(doc_id, doc)
        out["duplicates_mb"] = _memory_mb()[0] - before
    gc.collect()
    out["total_mb"], out["peak_mb"] = _memory_mb()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2])))
