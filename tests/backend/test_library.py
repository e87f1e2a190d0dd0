"""The library service's own rules, below HTTP."""

import json
from pathlib import Path

import pytest

from papershelf import records
from papershelf.library import Conflict, Library

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hf-papers"


@pytest.fixture
def library(tmp_path):
    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


def save(lib, *cards, source=None):
    clean, src = records.clean_batch({"papers": list(cards), **({"source": source} if source else {})})
    return lib.save_cards(clean, src)


def test_fixture_pages_merge_by_arxiv_id(library):
    seen = set()
    for name in ("000", "001", "002"):
        cards = json.loads((FIXTURES / f"{name}_records.json").read_text())["records"]
        save(library, *cards, source={"url": f"https://huggingface.co/papers?q={name}", "view": "search"})
        seen |= {c["arxiv_id"] for c in cards}
    assert library.count()["papers"] == len(seen)
    again = save(library, *json.loads((FIXTURES / "000_records.json").read_text())["records"])
    assert again["created"] == 0 and again["merged"] == len(again["results"])


def test_near_duplicate_without_arxiv_id_merges_into_the_captured_paper(library):
    captured = save(library, {"arxiv_id": "2405.01234", "title": "Optimising Sparse Attention for Long-Context Language Models",
                              "authors": ["Jun Park", "Lea Martin"], "published": "2024-05-02"})
    paper_id = captured["results"][0]["paper"]["id"]
    imported = save(library, {"title": "Optimizing sparse attention for long-context language models",
                              "authors": ["Park, Jun", "Martin, Lea"], "year": 2024, "doi": "10.1000/xyz"})
    assert imported["results"][0]["status"] == "merged"
    assert imported["results"][0]["paper"]["id"] == paper_id
    assert library.get(paper_id)["doi"] == "10.1000/xyz"


def test_uncertain_match_is_saved_and_flagged_then_dismissed_for_good(library):
    a = save(library, {"title": "Robust Evaluation of Multimodal Reasoning in Large Vision-Language Models",
                       "published": "2023-01-01"})["results"][0]["paper"]["id"]
    result = save(library, {"title": "Robust Evaluation of Multimodal Reasoning in Large Vision-Language Models",
                            "published": "2025-06-01"})["results"][0]
    assert result["status"] == "possible_duplicate" and result["duplicate_of"] == [a]
    b = result["paper"]["id"]
    assert [(p["a"]["id"], p["b"]["id"]) for p in library.duplicates()] == [(a, b)]
    library.dismiss_duplicate(a, b)
    assert library.duplicates() == []


def test_series_papers_are_both_kept_unflagged(library):
    save(library, {"title": "Foundations of Reinforcement Learning for Robotics, Part I", "authors": ["Jun Park"]},
         {"title": "Foundations of Reinforcement Learning for Robotics, Part II", "authors": ["Jun Park"]})
    assert library.count()["papers"] == 2 and library.duplicates() == []


def test_merge_unites_and_undo_splits(library):
    ids = [r["paper"]["id"] for r in save(
        library,
        {"arxiv_id": "2401.00001", "title": "Alpha paper about graph transformers at scale", "tags": ["graphs"],
         "authors": ["Jun Park"]},
        {"arxiv_id": "2401.00002", "title": "Alpha paper about graph transformer at scale", "tags": ["to read"],
         "authors": ["Jun Park"]},
    )["results"]]
    library.update(ids[1], {"notes": "from the workshop"})
    key_b = library.get(ids[1])["citation_key"]
    merged, undo = library.merge(ids[0], ids[1], {"title": "other"})
    assert merged["title"] == "Alpha paper about graph transformer at scale"
    assert sorted(merged["tags"]) == ["graphs", "to read"] and merged["notes"] == "from the workshop"
    assert key_b and key_b in merged["key_aliases"]
    assert library.count()["papers"] == 1
    library.undo(undo)
    assert library.count()["papers"] == 2
    assert library.get(ids[1])["notes"] == "from the workshop"
    assert library.get(ids[0])["tags"] == ["graphs"]


def test_undo_refuses_to_clobber_a_later_change(library):
    paper_id = save(library, {"title": "A paper that will be deleted and then edited"})["results"][0]["paper"]["id"]
    _, undo = library.delete([paper_id])
    library.restore([paper_id])
    library.update(paper_id, {"notes": "new note"})
    with pytest.raises(Conflict):
        library.undo(undo)
    assert library.get(paper_id)["notes"] == "new note"


def test_edited_title_survives_a_new_capture(library):
    card = {"arxiv_id": "2402.00042", "title": "Original title from the listing page", "upvotes": 3}
    paper_id = save(library, card)["results"][0]["paper"]["id"]
    library.update(paper_id, {"title": "My corrected title"})
    save(library, {**card, "upvotes": 10})
    paper = library.get(paper_id)
    assert paper["title"] == "My corrected title" and paper["upvotes"] == 10


def test_tags_keep_the_first_spelling_and_match_case_insensitively(library):
    a, b = [r["paper"]["id"] for r in save(
        library, {"title": "First paper on diffusion", "tags": ["ML/Diffusion"]},
        {"title": "Second paper on transformers", "tags": ["ml/diffusion", "Transformers"]})["results"]]
    assert library.get(b)["tags"] == ["ML/Diffusion", "Transformers"]
    assert library.list_tags("diff") == [{"name": "ML/Diffusion", "count": 2}]
    assert library.list_papers(tag="ml")["total"] == 2
    library.rename_tag("ml/diffusion", "generative/diffusion")
    assert library.get(a)["tags"] == ["generative/diffusion"]


def test_a_card_without_author_names_gets_its_key_once_the_names_are_known(library):
    paper = save(library, {"arxiv_id": "2404.00009", "title": "Sparse experts at scale",
                           "authors_count": 3, "published": "2024-04-01"})["results"][0]["paper"]
    assert paper["citation_key"] is None
    library.set_enrichment("2404.00009", {"authors": ["Ada Lovelace", "Alan Turing", "Grace Hopper"]})
    assert library.get(paper["id"])["citation_key"] == "lovelace2024sparse"


def test_citation_keys_are_unique_and_stable(library):
    ids = [r["paper"]["id"] for r in save(
        library, *({"title": "Scaling laws for sparse mixtures", "authors": ["Jun Park"], "published": "2024-01-01",
                    "arxiv_id": f"2401.0000{i}"} for i in range(3)))["results"]]
    keys = [library.get(i)["citation_key"] for i in ids]
    assert len(set(k.casefold() for k in keys)) == 3
    library.update(ids[0], {"title": "A completely different title"})
    assert library.get(ids[0])["citation_key"] == keys[0]
    with pytest.raises(Conflict):
        library.update(ids[1], {"citation_key": keys[0]})


def test_a_batch_with_a_failing_write_stores_nothing(library, monkeypatch):
    import os
    save(library, {"title": "Already there before the failure"})

    def no_space(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(Exception, match="No space"):
        save(library, {"title": "Lost one"}, {"title": "Lost two"})
    monkeypatch.undo()
    assert library.count()["papers"] == 1
    assert library.list_papers(q="lost")["total"] == 0
    save(library, {"title": "Saved after space returned"})
    assert library.count()["papers"] == 2
