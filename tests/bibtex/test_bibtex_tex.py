"""The real thing: bibtex + pdflatex over a document citing every entry, with zero errors.

The library is every fixture record plus the nasty papers, a deterministic batch of random
titles and names, and one title per slice of the characters the exporter writes as LaTeX
commands (so the table of "safe" characters is re-checked under OT1 and T1).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from papershelf import bibtex_export as E

from bibtex_cases import fixture_records, library, nasty_papers

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdflatex") and shutil.which("bibtex")),
    reason="pdflatex/bibtex not installed (Debian: texlive-latex-base)")

# Characters and snippets that have broken BibTeX or LaTeX output somewhere.
TOKENS = list(
    "ab xyzAB01$$$^^__{}{}\\\\~%#&'`-\"!?,.:;()[]|<>@=+*/ éß中ą þ«α∑ℝ🙂Привет"
) + ["\\alpha", "\\frac", "\\mathbb", "\\text", "\\left(", "\\right)", "\\sqrt", "\\log",
     "\\foo", "$x$", "$O(n)$", "^{2}", "_{i}", "--", "``", "''", "$[0,1]$", " and ", "others",
     ",", "-", "~", " van ", "Jr."]
NAMES = ["Ada Lovelace", "Ludwig van Beethoven", "Jürgen Schmidhuber", "小明 张", "Иван Петров",
         "danah boyd", "Martin Luther King Jr.", "Zoë d'Arcy", "Łukasz Kaiser", "García Márquez, Gabriel"]


def fuzz_papers(count: int = 150) -> list[dict]:
    rng = random.Random(20261122)

    def junk(longest: int) -> str:
        return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, longest)))

    papers = []
    for i in range(count):
        title = junk(25)
        if not title.strip():
            title = "x"
        authors = rng.sample(NAMES, rng.randint(0, 2)) + [junk(8) for _ in range(rng.randint(0, 2))]
        papers.append({"title": title, "authors": authors,
                       "published": f"20{10 + i % 15:02d}-{1 + i % 12:02d}-15",
                       "arxiv_id": f"2{i % 10}01.{10000 + i}", "tags": [junk(5)],
                       "abstract": junk(40)})
    return papers


def safe_char_papers() -> list[dict]:
    chars = [chr(cp) for a, b in E._SAFE_RANGES for cp in range(a, b + 1)]
    return [{"title": "Chars " + " ".join(chars[i:i + 40]), "authors": ["Ada Lovelace"],
             "year": 2020} for i in range(0, len(chars), 40)]


def build_library() -> list[dict]:
    return library(fixture_records() + nasty_papers() + fuzz_papers() + safe_char_papers())


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace",
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("style, preamble", [
    ("plain", ""),
    ("alpha", "\\usepackage[T1]{fontenc}"),
    ("abbrv", ""),
    ("plainnat", "\\usepackage{natbib}\\usepackage{url}"),
])
def test_bibtex_and_pdflatex_compile_every_entry(tmp_path, style, preamble):
    papers = build_library()
    text, report = E.export(papers)
    (tmp_path / "library.bib").write_text(text, encoding="utf-8")
    keys = re.findall(r"^@(?!preamble)\w+\{([^,]+),", text, re.M)
    assert len(keys) == len(papers)
    cites = "\n".join(f"\\cite{{{key}}}" for key in keys)
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n" + preamble + "\n\\begin{document}\n" + cites +
        f"\n\\bibliographystyle{{{style}}}\n\\bibliography{{library}}\n\\end{{document}}\n",
        encoding="utf-8")

    latex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
    first = run(latex, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    bibtex = run(["bibtex", "doc"], tmp_path)
    blg = (tmp_path / "doc.blg").read_text(errors="replace")
    assert "error message" not in blg, blg[-3000:]
    assert bibtex.returncode in (0, 1), blg[-3000:]
    # The only warnings allowed are about the entries reported as incomplete.
    incomplete = {item["key"] for item in report["incomplete"] if "no authors" in item["message"]
                  or "unknown" in item["message"]}
    for warning in re.findall(r"^Warning--(.*)$", blg, re.M):
        assert any(warning.endswith(" " + key) for key in incomplete), warning
    for _ in range(2):
        final = run(latex, tmp_path)
        assert final.returncode == 0, final.stdout[-3000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert not re.findall(r"^! .*$", log, re.M), log[-3000:]
    assert "undefined references" not in log and "Citation `" not in log
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert bbl.count("\\bibitem") == len(papers)
