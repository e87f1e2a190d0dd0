"""Papers for the BibTeX tests: the captured fixture records plus nasty ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hf-papers"
DATA = Path(__file__).resolve().parent / "data"


def fixture_records() -> list[dict]:
    """Every record of tests/fixtures/hf-papers/*_records.json, one per arXiv id."""
    seen: set[str] = set()
    papers: list[dict] = []
    for path in sorted(FIXTURES.glob("*_records.json")):
        for record in json.loads(path.read_text(encoding="utf-8"))["records"]:
            if record["arxiv_id"] in seen:
                continue
            seen.add(record["arxiv_id"])
            papers.append(dict(record))
    return papers


NASTY = [
    {"title": "S^{2}FT: x^2 and $O(n \\log n)$ & 100% of #1 {braces} ~tilde^ back\\slash <tag> | pipe_under",
     "authors": ["Ludwig van Beethoven", "Martin Luther King Jr.", "Jürgen Schmidhuber"],
     "published": "2024-09-26", "arxiv_id": "2409.99001", "primary_class": "cs.LG",
     "tags": ["ml/diffusion", "To read", "C++ & friends", "a,b; c", "重要"],
     "abstract": "We show $O(n)$ bounds.\n\nSecond paragraph: 50% faster, costs $5 & more_things.",
     "citation_key": "beethoven2024sft", "key_aliases": ["old:key-1", "Beethoven2024"]},
    {"title": "Ümlauts, façade, naïve — “quotes” … € α-β γ Ω ≤ ∞ and Ærøskøbing",
     "authors": ["Łukasz Kaiser", "José García-Márquez", "Søren Kierkegaard", "Zoë d'Arcy"],
     "published": "2023-01-05", "arxiv_id": "2301.99002"},
    {"title": "中文大模型: 大规模预训练 and a Русский заголовок with العربية",
     "authors": ["小明 张", "Иван Петров", "محمد علي", "王"],
     "published": "2022-03-04", "arxiv_id": "2203.99003"},
    {"title": "🙂 Emoji in titles ✓ and ligatures ﬁ, ą ę ð þ Ű",
     "authors": ["Dąbrowski Zbigniew", "Þórr Óðinsson"], "published": "2021-12-31",
     "arxiv_id": "2112.99004"},
    {"title": "On $\\mathbb{R}^n$ and $\\text{SAM}^2$: costs $5 and $10 -- or --- ``quoted'' ?` !`",
     "authors": ["The LLaMA Team and Friends", "others"], "published": "2020-06-15",
     "arxiv_id": "2006.99005"},
    {"title": "A survey of Gaussian processes in Paris and the iPhone era",
     "authors": [], "authors_count": 5, "published": "2024-02-29", "arxiv_id": "2402.99006"},
    {"title": "Partially known authors", "authors": ["Ada Lovelace", "Alan Turing"],
     "authors_count": 5, "published": "2019-11-11", "arxiv_id": "1911.99007"},
    {"title": "Anti-de Sitter space and holography", "authors": ["Edward Witten"],
     "published": "1998-02-20", "arxiv_id": "hep-th/9802150"},
    {"title": "Deep Learning for the Journal of Machine Learning & Data", "entry_type": "article",
     "authors": ["Yann LeCun", "Yoshua Bengio"], "year": 2015, "month": "5",
     "journal": "Journal of ML & Data", "volume": "521", "number": "7553", "pages": "436--444",
     "publisher": "Nature Publishing Group", "doi": "10.1000/abc_def(12)",
     "url": "https://example.org/paper%20one.pdf#page=2", "key_aliases": ["lecun2015"],
     "citation_key": "LeCun_2015:deep"},
    {"title": "Proceedings paper without arXiv", "entry_type": "inproceedings",
     "authors": ["Kaiming He", "Jian Sun"], "year": 2016, "booktitle": "Proc. of CVPR",
     "pages": "770--778", "bib_extra": {"address": "Las Vegas, NV, USA", "note": "Best paper"}},
]


def nasty_papers() -> list[dict]:
    return copy.deepcopy(NASTY)


def library(papers: list[dict]) -> list[dict]:
    """Give papers ids (as the library answers them)."""
    return [dict(p, id=i + 1) for i, p in enumerate(papers)]
