"""Duplicate detection on the hard cases real libraries meet."""

import random

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from papershelf import dedupe, records
from papershelf.dedupe import MAYBE, SAME, DedupeIndex, Fingerprint, compare, normalize_title
from papershelf.library import Library


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


# ----------------------------------------------------------------------------- the index's shortcuts
# The index scores only some papers: candidates sharing rare words, then only those whose
# letter signature and length leave room for a close score. These shortcuts must never
# change an answer.
_WORDS = ("diffusion transformers attention sparse graph neural networks protein folding "
          "scaling laws language models reasoning vision retrieval benchmark efficient "
          "robust learning image synthesis quality large small fast part ii iii 2 3d v2 "
          "colour optimising the of for with a on").split()


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 9)))


def _mangled(rng: random.Random, title: str) -> str:
    chars = list(title)
    for _ in range(rng.randint(0, 5)):
        at = rng.randrange(len(chars) + 1)
        choice = rng.random()
        if choice < 0.3 and at < len(chars):
            del chars[at]
        elif choice < 0.6:
            chars.insert(at, rng.choice("aeio sntxé0"))
        elif at < len(chars):
            chars[at] = rng.choice("aeiou ")
    return "".join(chars) or "x"


def _library(rng: random.Random, size: int) -> tuple[DedupeIndex, dict[int, dict]]:
    index, papers = DedupeIndex(), {}
    for doc_id in range(1, size + 1):
        papers[doc_id] = paper(_title(rng), year=rng.choice([2023, 2024, None]),
                               authors=rng.choice([("Ada Lovelace",), ("Alan Turing",), ()]))
        index.add(doc_id, papers[doc_id])
    for doc_id in rng.sample(sorted(papers), size // 10):  # papers changed later, as merges do
        papers[doc_id] = dict(papers[doc_id], title=_mangled(rng, papers[doc_id]["title"]))
        index.add(doc_id, papers[doc_id])
    for doc_id in rng.sample(sorted(papers), size // 20):
        index.remove(doc_id)
        del papers[doc_id]
    return index, papers


def test_letter_signature_distance_never_exceeds_the_edit_distance():
    rng = random.Random(7)
    for _ in range(3000):
        a = dedupe.sorted_words(normalize_title(_title(rng) * rng.randint(1, 3)))
        b = _mangled(rng, a) if rng.random() < 0.7 else _title(rng)
        b = dedupe.sorted_words(normalize_title(b))
        apart = int(np.bitwise_count(dedupe.letter_signature(a) ^ dedupe.letter_signature(b)).sum())
        assert apart <= Indel.distance(a, b), (a, b)


def test_letter_signature_of_any_text():
    for text in ("", "e" * 40, "ünïcode ωσ 😀", "a1 b2 c3"):
        signature = dedupe.letter_signature(text)
        assert signature.dtype == np.uint64 and signature.shape == (dedupe._SIGNATURE_WORDS,)
    assert not dedupe.letter_signature("").any()


def test_the_bounds_keep_close_titles_even_at_the_edge():
    """Titles one word long, apart by letters the other lacks (each one edit and one
    signature bit) or by a letter beyond its signature depth (edits only the length
    bound sees): many pairs sit exactly at FLAG_SCORE, where a bound one too strict
    would drop them."""
    rng = random.Random(11)
    index, pairs, at_the_edge = DedupeIndex(), [], 0
    for doc_id in range(1, 3001):
        word = "".join(rng.choice("abcdefghiklmnoprtuvwy") for _ in range(rng.randint(1, 120)))
        if rng.random() < 0.5:
            chars = list(word)
            for extra in rng.sample("jqxz0123456789", rng.randint(0, 13)):
                chars.insert(rng.randint(0, len(chars)), extra)
            other = "".join(chars)
        else:
            word += "e" * 13
            other = word + "e" * rng.randint(0, 30)
        stored, probe = (word, other) if rng.random() < 0.5 else (other, word)
        index.add(doc_id, {"title": stored})
        pairs.append((doc_id, Fingerprint.of({"title": probe}).title))
    for doc_id, probe in pairs:
        stored = index.fingerprint(doc_id).title
        if fuzz.ratio(probe, stored) >= dedupe.FLAG_SCORE:
            edits_allowed = int((len(probe) + len(stored)) * dedupe._EDITS_ALLOWED)
            at_the_edge += Indel.distance(probe, stored) == edits_allowed
            assert index._could_be_close(probe, np.array([doc_id])) == [doc_id], (probe, stored)
    assert at_the_edge > 50


@pytest.mark.parametrize("seed", range(4))
def test_the_bounds_never_drop_a_close_title(seed):
    """matches == scoring every candidate with rapidfuzz, then the rules: the letter
    signature and length bounds only ever skip titles that cannot score FLAG_SCORE."""
    rng = random.Random(seed)
    index, papers = _library(rng, 600)
    probes = [dict(p, title=_mangled(rng, p["title"]), arxiv_id=None)
              for p in rng.sample(list(papers.values()), 150)]
    probes += [paper(_title(rng)) for _ in range(50)]
    close_found = 0
    for probe in probes:
        fp = Fingerprint.of(probe)
        expected = []
        for doc_id in sorted(index.candidates(fp)):
            if fuzz.ratio(fp.title, index.fingerprint(doc_id).title) >= dedupe.FLAG_SCORE:
                close_found += 1
                found = compare(fp, index.fingerprint(doc_id))
                if found.kind:
                    expected.append((doc_id, found.kind, found.score))
        expected.sort(key=lambda item: (item[1] != SAME, -item[2], item[0]))
        assert [(doc_id, v.kind, v.score) for doc_id, v in index.matches(probe)] == expected, probe
    assert close_found > 50  # the probes did test the bounds


def test_index_read_back_from_bytes_answers_as_the_one_written():
    rng = random.Random(7)
    written, papers = _library(rng, 600)  # with papers changed and removed
    read = DedupeIndex.from_bytes(written.to_bytes())
    assert len(read) == len(written) == len(papers)
    assert all(read.fingerprint(doc_id) == written.fingerprint(doc_id) for doc_id in papers)
    probes = [dict(p, title=_mangled(rng, p["title"]), arxiv_id=None)
              for p in rng.sample(list(papers.values()), 150)]
    probes += [paper(_title(rng)) for _ in range(50)]
    found = 0
    for probe in probes:
        expected = [(doc_id, v.kind, v.score) for doc_id, v in written.matches(probe)]
        assert [(doc_id, v.kind, v.score) for doc_id, v in read.matches(probe)] == expected, probe
        found += bool(expected)
    assert found > 50
    # It goes on being kept up to date like any other.
    newest = max(papers) + 1
    read.add(newest, paper("Quokka habitats on small islands"))
    assert [doc_id for doc_id, _ in read.matches(paper("Quokka habitats on small islands"))] \
        == [newest]


@pytest.mark.parametrize("damage", [
    lambda data: data[:-8],                                   # cut short
    lambda data: data.replace(b'"format":3', b'"format":9'),  # another format
    lambda data: data.replace(b'"diffusion"', b'12345678901'),  # a word that is not one
    lambda data: data.replace(b'"beat diffusion', b'["eat diffusion'),  # not a title
    lambda data: b"not an index at all",
    lambda data: b"",
])
def test_index_refuses_bytes_that_are_not_one(damage):
    index = DedupeIndex()
    index.add(1, paper("Diffusion Models Beat GANs on Image Synthesis Quality"))
    with pytest.raises(ValueError):
        DedupeIndex.from_bytes(damage(index.to_bytes()))


def _candidates_by_counting(index: DedupeIndex, fp: Fingerprint) -> list[int]:
    """`_candidate_ids` as first written: every posting counted into one wide array."""
    exact = set(dedupe._multimap_get(index._exact, fp.title))
    postings = index._postings
    rare = sorted((t for t in fp.tokens if t in postings), key=lambda t: len(postings[t]))
    rare = rare[:dedupe.CANDIDATE_TOKENS]
    if len(fp.tokens) >= 4 and len(rare) >= 2:
        shared = np.bincount(np.concatenate(
            [np.frombuffer(postings[t], dtype=np.int32) for t in rare]))
        needed = 2
        found = np.flatnonzero(shared >= needed)
        while len(found) > dedupe.MAX_CANDIDATES and needed < len(rare):
            needed += 1
            found = np.flatnonzero(shared >= needed)
        return sorted(exact | set(found.tolist()))
    chosen, total = set(), len(exact)
    for token in rare:
        size = len(postings[token])
        if size > dedupe.MAX_POSTING or total + size > dedupe.MAX_CANDIDATES:
            break
        chosen.update(postings[token])
        total += size
    return sorted(exact | chosen) if chosen else sorted(exact)


@pytest.mark.parametrize("max_candidates", [dedupe.MAX_CANDIDATES, 40, 5])
def test_candidates_are_the_papers_sharing_the_rarest_words(monkeypatch, max_candidates):
    monkeypatch.setattr(dedupe, "MAX_CANDIDATES", max_candidates)
    rng = random.Random(max_candidates)
    index, papers = _library(rng, 800)
    probes = [Fingerprint.of(p) for p in rng.sample(list(papers.values()), 100)]  # exact titles too
    probes += [Fingerprint.of(paper(_title(rng))) for _ in range(200)]
    for fp in probes:
        found = index._candidate_ids(fp).tolist()
        assert found == _candidates_by_counting(index, fp), fp.title


def test_a_fingerprint_handed_over_is_the_one_worked_out():
    record = paper("Scaling Laws for Sparse Attention: Part II",
                   authors=["Jürgen Müller", "Zoë Çelik"])
    with_it, without = DedupeIndex(), DedupeIndex()
    fp = Fingerprint.of(record)
    assert with_it.matches(record, fingerprint=fp) == without.matches(record) == []
    with_it.add(5, record, fingerprint=fp)
    without.add(5, record)
    assert with_it.fingerprint(5) == without.fingerprint(5) == fp
    assert np.array_equal(with_it._signatures[:, 5], without._signatures[:, 5])
    probe = paper("Scaling laws for sparse attention, part II", authors=["Jurgen Muller"])
    assert [(i, v.kind) for i, v in with_it.matches(probe)] == [(5, SAME)]


def test_a_saved_card_is_indexed_with_the_fingerprint_of_its_stored_paper(tmp_path):
    lib = Library(tmp_path / "library")
    try:
        cards, source = records.clean_batch({"papers": [
            {"title": "Sparse Attention for Long Documents", "authors": ["Ada Lovelace"],
             "published": "2024-05-01"},
            {"title": "Dense Retrieval at Scale, Part 2", "arxiv_id": "2405.00002"},
            {"title": "Diffusion Models  Beat GANs", "authors": ["Alan Turing", "A. Turing"],
             "year": 2023},
            {"title": "Sparse Attention for Long Documents", "authors": ["Ada Lovelace"],
             "published": "2024-05-01"},
        ]})
        saved = lib.save_cards(cards, source)
        assert [r["status"] for r in saved["results"]] == ["created", "created", "created", "merged"]
        for doc_id, doc in lib._docs.items():
            assert lib._dedupe.fingerprint(doc_id) == Fingerprint.of(doc)
    finally:
        lib.close()
