"""How the process's cyclic garbage collector is treated around a large library.

A library of 50,000 papers is millions of small, long-lived objects (documents and the
index entries built from them), plain data without reference cycles: reference counting
frees them when they are replaced. Python's cyclic collector nevertheless walks them
every time a full collection runs, and it runs most while they are being made: parsing
the snapshot with collection on takes two to three times as long as without, and later
collections pause saves and exports for a fraction of a second at random moments.

* `collection_paused()` — no collection while a bulk load makes objects (thread-safe:
  collection resumes when the last of several overlapping pauses ends);
* `freeze()` — everything alive now is left out of later collections (a long-running
  process, once its library is loaded and indexed).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_pauses = 0
_was_enabled = True


@contextmanager
def collection_paused() -> Iterator[None]:
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def freeze() -> None:
    # No collection first: it would walk everything once more, and there is next to no
    # garbage at the moments this is called.
    gc.freeze()
