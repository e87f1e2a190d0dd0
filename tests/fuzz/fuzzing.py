"""What the fuzz tests share: how many examples to run, Hypothesis settings, and the tally
of what each target saw (``scripts/fuzz`` prints it as a table).

Two sizes:

* the normal suite (``PAPERSHELF_FUZZ`` unset): few examples, ``derandomize=True`` and no
  example database, so every run of the suite tries the same inputs -- a failure in CI
  is repeatable from the log alone, and a green run stays green unless the code changes;
* ``PAPERSHELF_FUZZ=long`` (``scripts/fuzz``): many more examples from a fresh random seed
  each time (printed, and reusable with ``--hypothesis-seed``), so each long run explores
  new inputs. A failure prints the shrunk example and a ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

LONG = os.environ.get("PAPERSHELF_FUZZ", "").lower() == "long"
# Multiplies the long run's example counts (e.g. 0.5 for a quicker long run).
LONG_SCALE = float(os.environ.get("PAPERSHELF_FUZZ_SCALE", "1") or 1)


def examples(short: int, long: int) -> int:
    """How many examples a target gets in this run."""
    return max(1, int(long * LONG_SCALE)) if LONG else short


def fuzz_settings(short: int, long: int, **overrides) -> settings:
    """Hypothesis settings for one target (used as a decorator)."""
    options = dict(
        max_examples=examples(short, long),
        deadline=None,
        database=None,
        derandomize=not LONG,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.function_scoped_fixture],
    )
    options.update(overrides)
    return settings(**options)


# ----------------------------------------------------------------------------- the tally
COLUMNS = ("examples", "2xx", "5xx", "crashes", "partial", "failed_checks")


class Tally:
    """Counts per target, written to ``PAPERSHELF_FUZZ_REPORT`` at the end of the session.

    * ``examples`` -- inputs tried (including Hypothesis's replays while it shrinks);
    * ``2xx`` -- requests the server accepted (how deep the fuzzing got);
    * ``5xx`` -- server errors;
    * ``crashes`` -- an unexpected exception in a pure function, or a traceback in the
      server's log, or the server process gone;
    * ``partial`` -- a refused request or batch that still changed the library;
    * ``failed_checks`` -- any other broken property (answer not as the spec says, a
      round trip that lost something, a wrong error field...).
    """

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
        self.lock = threading.Lock()

    def add(self, target: str, column: str, n: int = 1) -> None:
        with self.lock:
            self.counts[target][column] += n

    @contextmanager
    def example(self, target: str):
        """Count one example of ``target``; classify the exception that ends it, if any."""
        self.add(target, "examples")
        try:
            yield
        except ServerError:
            self.add(target, "5xx")
            raise
        except PartialChange:
            self.add(target, "partial")
            raise
        except ServerCrash:
            self.add(target, "crashes")
            raise
        except (AssertionError, BaseExceptionGroup):
            self.add(target, "failed_checks")
            raise
        except Exception:
            self.add(target, "crashes")
            raise

    def write(self, path: str | os.PathLike) -> None:
        with self.lock:
            data = {target: dict(counts) for target, counts in sorted(self.counts.items())}
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


TALLY = Tally()


class ServerError(AssertionError):
    """The server answered 5xx."""


class PartialChange(AssertionError):
    """A refused request changed the library anyway."""


class ServerCrash(AssertionError):
    """The server process died or logged a traceback."""
