"""Importing a .bib file from the library page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BIB = """\
@misc{smith2024graphs,
  title = {Graphs for Everyone},
  author = {Smith, Jo and Müller, Jürgen},
  year = {2024},
  eprint = {2401.11111},
  archivePrefix = {arXiv}
}

@article{broken,
  title = {An entry that never closes}

@article{doe2020journal,
  title = {A Journal Paper Without an arXiv Id},
  author = {Doe, Jane},
  journal = {Journal of Tests},
  year = {2020}
}
"""


def test_import_a_bib_file_reports_counts_and_skipped_lines(open_page, backend, tmp_path):
    before = backend.get("/papers", limit=1)["total"]
    page = open_page(backend)
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB, encoding="utf-8")
    page.locator("#import-file").set_input_files(str(bib))
    report = page.locator("#import-report")
    expect(report).to_be_visible()
    expect(report).to_contain_text("2 new")
    expect(report).to_contain_text("line 9")
    report.get_by_role("button", name="OK").click()
    expect(page.locator("#result-count")).to_contain_text(str(before + 2))
    papers = backend.find(q="graphs everyone")
    assert [p["citation_key"] for p in papers] == ["smith2024graphs"]
    assert papers[0]["authors"] == ["Jo Smith", "Jürgen Müller"]
