"""Duplicate detection on the hard cases real libraries meet."""

import pytest

from papershelf import dedupe
from papershelf.dedupe import MAYBE, SAME, DedupeIndex, Fingerprint, compare, normalize_title


def verdict(a: dict, b: dict):
    return compare(Fingerprint.of(a), Fingerprint.of(b)).kind


def paper(title, authors=("Ada Lovelace", "Alan Turing"), year=2024, arxiv=None):
    return {"title": title, "authors": list(authors), "published": f"{year}-05-01" if year else None,
            "arxiv_id": arxiv}


@pytest.mark.parametrize("raw, folded", [
    ("Attention Is All You Need", "attention is all you need"),
    ("Modélisation of {BERT}", "modelization of bert"),
    ("Scaling Laws \\& Friends: $O(n)$ Attention", "scaling laws friends o n attention"),
    ("Optimising &amp; Regularising Nets", "optimizing regularizing nets"),
    ("The Colour of Noise", "the color of noise"),
    ("Na\\\"ive Bayes", "naive bayes"),
])
def test_titles_fold_case_accents_latex_entities_spelling(raw, folded):
    assert normalize_title(raw) == folded


def test_reordered_subtitle_is_the_same_paper():
    a = paper("Diffusion Models Beat GANs: A Study of Image Synthesis Quality")
    b = paper("A Study of Image Synthesis Quality: Diffusion Models Beat GANs")
    assert verdict(a, b) == SAME


def test_british_and_american_spelling_is_the_same_paper():
    a = paper("Optimising Neural Network Regularisation for Colour Image Modelling")
    b = paper("Optimizing Neural Network Regularization for Color Image Modeling")
    assert verdict(a, b) == SAME


def test_latex_and_plain_title_are_the_same_paper():
    a = paper("Learning in $O(n \\log n)$ Time with Sparse Transformers for Long Sequences")
    b = paper("Learning in O(n log n) Time with Sparse Transformers for Long Sequences")
    assert verdict(a, b) == SAME


def test_series_parts_never_merge():
    a = paper("Mathematical Foundations of Reinforcement Learning, Part I")
    b = paper("Mathematical Foundations of Reinforcement Learning, Part II")
    assert verdict(a, b) is None


def test_numbered_versions_are_different_papers():
    assert verdict(paper("Llama 2: Open Foundation and Fine-Tuned Chat Models"),
                   paper("Llama 3: Open Foundation and Fine-Tuned Chat Models")) is None
    assert verdict(paper("YOLO v2: Better, Faster, Stronger Object Detection"),
                   paper("YOLO v3: Better, Faster, Stronger Object Detection")) is None


def test_generic_short_titles_never_merge_automatically():
    a = paper("A Survey", authors=["Jun Park"])
    b = paper("A Survey", authors=["Jun Park"])
    assert verdict(a, b) != SAME


def test_same_title_different_people_is_not_merged():
    a = paper("Towards Robust Evaluation of Large Language Models", authors=["Jun Park", "Lea Martin"])
    b = paper("Towards Robust Evaluation of Large Language Models", authors=["Yuki Sato", "Ana Silva"])
    assert verdict(a, b) != SAME


def test_non_ascii_author_names_match_their_ascii_spelling():
    a = paper("Graph Neural Networks for Protein Folding at Scale", authors=["Jürgen Müller", "Zoë Çelik"])
    b = paper("Graph Neural Networks for Protein Folding at Scale", authors=["Jurgen Muller", "Zoe Celik"])
    assert verdict(a, b) == SAME


def test_different_arxiv_ids_are_never_merged_automatically():
    a = paper("Graph Neural Networks for Protein Folding at Scale", arxiv="2401.00001")
    b = paper("Graph Neural Networks for Protein Folding at Scale", arxiv="2401.00002")
    assert verdict(a, b) == MAYBE


def test_typo_is_flagged_or_merged_but_not_missed():
    a = paper("Efficient Transformers for Long Document Summarization")
    b = paper("Efficient Transfomers for Long Document Summarization")
    assert verdict(a, b) in (SAME, MAYBE)


def test_years_far_apart_are_not_merged():
    a = paper("Efficient Transformers for Long Document Summarization", year=2019)
    b = paper("Efficient Transformers for Long Document Summarization", year=2024)
    assert verdict(a, b) != SAME


def test_unrelated_titles_are_not_candidates():
    assert verdict(paper("Efficient Transformers for Long Document Summarization"),
                   paper("Protein Structure Prediction with Evolutionary Scale Models")) is None


def test_index_finds_candidates_without_scanning_everything():
    index = DedupeIndex()
    for i in range(3000):
        index.add(i, paper(f"Study number {i} of topic{i} with method{i * 7}", year=2020))
    index.add(99999, paper("Diffusion Models Beat GANs on Image Synthesis Quality"))
    target = paper("Image Synthesis Quality: Diffusion Models Beat GANs")
    fp = Fingerprint.of(target)
    assert len(index.candidates(fp)) < 50
    found = index.matches(target)
    assert found and found[0][0] == 99999 and found[0][1].kind == SAME


def test_index_forgets_removed_papers():
    index = DedupeIndex()
    index.add(1, paper("Diffusion Models Beat GANs on Image Synthesis Quality"))
    index.remove(1)
    assert index.matches(paper("Diffusion Models Beat GANs on Image Synthesis Quality")) == []
    assert len(index) == 0
