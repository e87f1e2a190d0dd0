"""Batches with one bad card at a random place: the whole batch is refused (400 naming
that card) and the library files are byte-for-byte what they were; the same batch without
the bad card is then saved whole.

tests/backend/test_bad_input.py breaks one field (upvotes) of a fixture page at three fixed
places; here the batch (realistic cards with hostile text, new papers and ones already
saved), the kind of damage, its place and the batch size are all generated.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_client import Api, fixture_page, page_batch, start_server
from papershelf import records

from .fuzzing import TALLY, PartialChange, ServerCrash, fuzz_settings
from .text import texts

C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable(text: str) -> str:
    return C0.sub("", text)


SAVED_IDS = [r["arxiv_id"] for r in fixture_page(0)["records"]]
plain_text = texts(max_pieces=12).map(storable)
titles = plain_text.filter(lambda t: t.strip() and len(" ".join(t.split())) <= records.MAX_TITLE)
names = texts(max_pieces=4).map(storable).filter(lambda n: n.strip() and len(n) <= 300)
tags = st.lists(st.sampled_from(["ml", "ml/diffusion", "To read", "重要", "C++ & friends",
                                 "a;b", "Ünïcödé/ŁØ"]), max_size=4)
arxiv_ids = st.one_of(st.from_regex(r"\A2[0-9]{3}\.[0-9]{5}(v[1-9])?\Z"),
                      st.sampled_from(SAVED_IDS))  # ids already saved: merges
urls = st.sampled_from(["https://github.com/a/b", "http://example.org/x?y=1#z", None])


@st.composite
def good_cards(draw) -> dict:
    card = {"title": draw(titles)}
    if draw(st.booleans()):
        card["arxiv_id"] = draw(arxiv_ids)
    if draw(st.booleans()):
        card["authors"] = draw(st.lists(names, max_size=5))
        if draw(st.booleans()):
            card["authors_count"] = len(card["authors"]) + draw(st.integers(0, 3))
    optional = {"abstract": plain_text, "upvotes": st.integers(0, 10**6),
                "comments": st.none() | st.integers(0, 500), "github_repo": urls,
                "published": st.dates().filter(lambda d: 1990 <= d.year <= 2025).map(str),
                "submitted_by": names, "tags": tags, "ai_keywords": st.lists(names, max_size=3),
                "source": st.just({"url": "https://huggingface.co/papers/trending",
                                   "view": "trending"})}
    for name, strategy in optional.items():
        if draw(st.booleans()):
            card[name] = draw(strategy)
    return card


# One way to break a card: (what to change, the bad value).
BREAKS = st.one_of(
    st.tuples(st.just("title"), st.sampled_from(["", "   ", None, 5, ["t"], "a\x00b", "x" * 1001,
                                                  "broken \ud800 text"])),
    st.tuples(st.just("arxiv_id"), st.sampled_from(["not an id", "2401.1", 2401.00001,
                                                     "٢٤٠١.٠١٢٣٤", ["2401.00001"]])),
    st.tuples(st.just("authors"), st.sampled_from([["Ada", 5], "Ada Lovelace", [""], ["A\x07"],
                                                    [None], ["x" * 301]])),
    st.tuples(st.just("upvotes"), st.sampled_from(["12", -1, 1.5, True, 10**30, [3]])),
    st.tuples(st.just("published"), st.sampled_from(["2026-02-30", "yesterday", "1799-12-31",
                                                      20260101])),
    st.tuples(st.just("github_repo"), st.sampled_from(["javascript:alert(1)", "github.com/a/b", 5])),
    st.tuples(st.just("tags"), st.sampled_from([["a,b"], ["x" * 101], "ml", [""], ["a//b"],
                                                 ["t\x85"]])),
    st.tuples(st.just("source"), st.sampled_from([{"view": "everything"}, "daily",
                                                   {"url": "ftp://x"}, {"view": 0}])),
    st.tuples(st.sampled_from(["bogus", "__proto__", "id", "notes", "Title", "\ud800"]),
              st.just(1)),
    st.tuples(st.just("authors_count"), st.just("fewer than the authors")),
    st.tuples(st.just(None), st.sampled_from([5, "card", [], None, True])),
)


def broken(card: dict, damage: tuple) -> object:
    field, value = damage
    if field is None:
        return value  # not an object at all
    card = dict(card)
    if field == "authors_count":
        card["authors"] = ["Ada Lovelace", "Alan Turing"]
        card["authors_count"] = 1
    else:
        card[field] = value
    return card


@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fuzz-batches"))
    api = Api(server, server.api_token)
    api.save(page_batch(0))
    yield api
    server.stop()


def library_status(api: Api) -> dict:
    """/api/status without what background work changes on its own time."""
    status = api.status()
    status.pop("renderings_pending", None)
    return status


def library_files(api: Api) -> dict[str, bytes]:
    root = api.server.data_dir / "library"
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


@fuzz_settings(8, 150)
@given(cards=st.lists(good_cards(), max_size=30), damage=BREAKS, data=st.data())
def test_one_bad_card_anywhere_fails_the_whole_batch(shelf, cards, damage, data):
    target = "api POST /api/papers (batch with one bad card)"
    with TALLY.example(target):
        position = data.draw(st.integers(0, len(cards)), label="bad card at")
        bad = broken(data.draw(good_cards(), label="card to break"), damage)
        batch = cards[:position] + [bad] + cards[position:]
        source = {"url": "https://huggingface.co/papers?q=fuzz", "view": "search"}
        files, status = library_files(shelf), library_status(shelf)

        answer = shelf.post("/api/papers", {"papers": batch, "source": source})
        assert answer.status_code == 400, (answer.status_code, answer.text[:300], bad)
        field = answer.json()["field"]
        assert field == f"papers[{position}]" or field.startswith(f"papers[{position}]."), \
            (field, position, bad)
        if library_files(shelf) != files or library_status(shelf) != status:
            raise PartialChange(f"the refused batch changed the library (bad card {position} "
                                f"of {len(batch)}: {bad!r:.200})")

        if cards:  # the same batch without the bad card is taken whole
            saved = shelf.post("/api/papers", {"papers": cards, "source": source})
            assert saved.status_code == 200, saved.text[:500]
            TALLY.add(target, "2xx")
            summary = saved.json()
            assert len(summary["results"]) == len(cards)
            assert summary["created"] + summary["merged"] + summary["possible_duplicates"] \
                == len(cards)
            for card, result in zip(cards, summary["results"]):
                if card.get("arxiv_id"):
                    assert result["paper"]["arxiv_id"] == records.arxiv_id(card["arxiv_id"])
            assert library_files(shelf) != files


def test_zz_the_server_logged_no_error_and_still_loads_the_library(shelf):
    with TALLY.example("api POST /api/papers (batch with one bad card)"):
        log = shelf.server.log()
        if "Traceback" in log or "ERROR in app" in log:
            raise ServerCrash(log[-5000:])
        before = shelf.papers(limit=500)
        shelf.server.stop()
        shelf.server.start()
        assert library_status(shelf)["warnings"] == []
        assert shelf.papers(limit=500) == before
