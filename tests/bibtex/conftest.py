"""Fixtures for the BibTeX tests (the papers themselves live in bibtex_cases.py)."""

from __future__ import annotations

import pytest

from bibtex_cases import fixture_records, library, nasty_papers


@pytest.fixture
def fixture_library() -> list[dict]:
    return library(fixture_records())


@pytest.fixture
def full_library() -> list[dict]:
    return library(fixture_records() + nasty_papers())
