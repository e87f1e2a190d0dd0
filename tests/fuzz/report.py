"""Print the fuzz tally (written by the tests when PAPERSHELF_FUZZ_REPORT is set) as a
table; exit 1 if any 5xx, crash, partial change or failed check was counted, or if a
target ran no examples at all.

    python tests/fuzz/report.py REPORT.json [--markdown]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BAD = ("5xx", "crashes", "partial", "failed_checks")
HEADERS = ("target", "examples", "2xx", "5xx", "crashes", "partial batches", "failed checks")


def rows(tally: dict) -> list[tuple]:
    out = []
    for target, counts in sorted(tally.items()):
        accepted = counts["2xx"] if target.startswith("api ") else "-"  # pure functions
        out.append((target, counts["examples"], accepted, counts["5xx"], counts["crashes"],
                    counts["partial"], counts["failed_checks"]))
    totals = tuple(sum(row[i] for row in out if isinstance(row[i], int))
                   for i in range(1, len(HEADERS)))
    return out + [("total", *totals)]


def render(table: list[tuple], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [HEADERS, *table]) for i in range(len(HEADERS))]
    def line(row):
        return "  ".join(str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i])
                         for i, cell in enumerate(row))
    return "\n".join([line(HEADERS), line(tuple("-" * w for w in widths))]
                     + [line(row) for row in table])


def main(argv: list[str]) -> int:
    if not argv or not Path(argv[0]).exists() or not Path(argv[0]).read_text().strip():
        print("no fuzz report was written (did the tests run?)", file=sys.stderr)
        return 1
    tally = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    table = rows(tally)
    print(render(table, markdown="--markdown" in argv))
    bad = {column: sum(counts[column] for counts in tally.values()) for column in BAD}
    idle = [target for target, counts in tally.items() if counts["examples"] == 0]
    if any(bad.values()) or idle:
        print(f"\nFAILED: {bad}" + (f"; no examples for {idle}" if idle else ""), file=sys.stderr)
        return 1
    print("\nall zero: no 5xx, no crash, no partial change, no failed check")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
