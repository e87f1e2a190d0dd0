"""How the process's memory is managed around a large library: the cyclic garbage
collector, and the C allocator's handling of large blocks.

A library of 50,000 papers is millions of small, long-lived objects (documents and the
index entries built from them), plain data without reference cycles: reference counting
frees them when they are replaced. Python's cyclic collector nevertheless walks them
every time a full collection runs, and it runs most while they are being made: parsing
the snapshot with collection on takes two to three times as long as without, and later
collections pause saves and exports for a fraction of a second at random moments.

* `collection_paused()` — no collection while a bulk load makes objects (thread-safe:
  collection resumes when the last of several overlapping pauses ends);
* `freeze()` — everything alive now is left out of later collections (a long-running
  process, once its library is loaded and indexed);
* `fix_large_block_threshold()` — see there: about 50 MB less resident at 50,000 papers.
"""

from __future__ import annotations

import ctypes
import gc
import platform
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


# glibc's mallopt parameter, and the threshold it is fixed at: a block this large or larger
# gets its own pages, given back to the system when it is freed (and faulted in anew each
# time one is made: a buffer made again and again should stay below it). 256 KiB and 1 MiB
# measured the same at 50,000 papers; 4 MiB keeps the 50 MB.
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 1 << 20


def fix_large_block_threshold() -> bool:
    """Keep glibc's threshold for large blocks fixed (True if it could be set).

    By default glibc raises the threshold to the size of any large block freed (up to
    32 MB), so that later blocks below it come from the heap, which is rarely given back.
    One read of a kept file of a few megabytes is enough: at 50,000 papers the server then
    stays about 50 MB larger for its whole life (measured: 545 against 490 MB resident
    after a restart). Only on glibc; elsewhere nothing is changed."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))
    except (OSError, AttributeError):
        return False
