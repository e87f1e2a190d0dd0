"""`scripts/bench --smoke` runs every figure on a small library and prints the full table.

The bench is not a test: nothing here judges a number. This only keeps it from rotting:
every figure row is there, with a number for ours and for the floor and the naive design
wherever the bench defines them, and the smoke run leaves docs/benchmarks.md alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from benchlib.report import FIGURES  # noqa: E402

pytestmark = pytest.mark.browser
NUMBER = re.compile(r"^\d+(\.\d+)?$")


def rows(table: str) -> dict[str, list[str]]:
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[1].isdigit():
            out[cells[0]] = cells
    return out


def test_smoke_run_prints_every_figure(tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    docs = REPO / "docs" / "benchmarks.md"
    before = docs.stat().st_mtime_ns if docs.exists() else None
    out = tmp_path / "bench.md"
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "bench"), "--smoke", "--out", str(out),
         "--cache", str(tmp_path / "cache")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the bench stops its servers and browsers on SIGTERM
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"the smoke run did not finish:\n{stderr[-4000:]}")
    assert proc.returncode == 0, stderr[-4000:]

    printed = rows(stdout)
    written = out.read_text(encoding="utf-8")
    assert rows(written) == printed
    for heading in ("## Machine", "## Results", "## Method", "CPU", "RAM", "Python", "OS", "disk"):
        assert heading in written
    for fig in FIGURES:
        label = f"{fig.label} ({fig.unit})"
        assert label in printed, f"no row for {label!r}:\n{stdout}"
        _, papers, ours, floor, naive, *_ = printed[label]
        assert papers == "200"
        assert NUMBER.match(ours), (label, ours)
        assert NUMBER.match(floor) if not fig.floor_text else floor == "—", (label, floor)
        assert NUMBER.match(naive) if not fig.naive_text else naive == "—", (label, naive)

    # the transport alone, beside the save and look-up figures
    bare = re.findall(r"bare waitress round trip of the same requests, same rounds: "
                      r"p50 (\d+\.\d+) ms, p95 (\d+\.\d+) ms", written)
    assert len(bare) == 2, written
    assert all(0 < float(p50) <= float(p95) for p50, p95 in bare), bare
    # the first start (nothing kept) is timed up to a save, a search and every index
    first = re.search(r"first start after the build \(nothing kept, as after a crash\): first "
                      r"answer (\d+\.\d+) s, a save answered after (\d+\.\d+) s, a search after "
                      r"(\d+\.\d+) s, every index built after (\d+\.\d+) s", written)
    assert first, written

    after = docs.stat().st_mtime_ns if docs.exists() else None
    assert after == before, "a smoke run must not write docs/benchmarks.md"


def test_memory_design_measures_each_way_of_keeping_documents(tmp_path):
    done = subprocess.run(
        [str(REPO / "scripts" / "bench"), "--memory-design", "--sizes", "200",
         "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| 200 |")]
    kept = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    assert [row[1] for row in kept] == ["dicts", "json", "zlib"], done.stdout
    for row in kept:
        for cell in row[2:]:
            assert re.fullmatch(r"-?\d+(\.\d+)? (MB|s)", cell), (row, cell)
