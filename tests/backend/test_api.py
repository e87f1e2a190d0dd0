"""Every endpoint of docs/api.md with good input, against a real `papershelf serve`.

Each test checks the answer (status, shape) and that the effect shows in a follow-up GET.
Servers: `api`, shared by the module (each test keeps to the papers it creates and looks
them up by id or by tag names of its own); `shelf`, the three fixture pages saved in order
(read-mostly: listing, search, sort, pagination); a fresh one for the test that restarts.
"""

from __future__ import annotations

import random
import re

import pytest

from api_client import (PAGES, Api, assert_error, fixture_page, page_batch, page_url,
                      start_server, unique_card)

PAPER_KEYS = {"id", "arxiv_id", "title", "abstract", "authors", "authors_count", "published",
              "upvotes", "comments", "hf_url", "tags", "notes", "read", "starred", "added_at",
              "updated_at", "sightings", "deleted_at"}
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def save_one(api: Api, **fields) -> dict:
    """Save a unique card and answer the stored paper."""
    answer = api.save(unique_card(**fields))
    assert answer["results"][0]["status"] == "created", answer
    return answer["results"][0]["paper"]


def tagged(api: Api, tag: str, **params) -> list[dict]:
    return api.papers(tag=tag, limit=500, **params)["papers"]


def ids_of(papers) -> list[int]:
    return [p["id"] for p in papers]


# ----------------------------------------------------------------------------- a library of
# the three fixture pages, shared by the read-only listing tests
@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    """A library made by saving the three fixture pages in order; `.saved` holds the
    answers and `.totals` the library total after each page."""
    srv = start_server(tmp_path_factory.mktemp("shelf"))
    client = Api(srv, srv.api_token)
    client.saved, client.totals = [], []
    for n in PAGES:
        client.saved.append(client.save(page_batch(n)))
        client.totals.append(client.total())
    yield client
    srv.stop()


def tag_counts(api: Api, prefix: str) -> dict[str, int]:
    return {t["name"]: t["count"] for t in api.ok("GET", "/api/tags",
                                                  params={"prefix": prefix})["tags"]}


def distinct_fixture_ids() -> set[str]:
    return {r["arxiv_id"] for n in PAGES for r in fixture_page(n)["records"]}


# ----------------------------------------------------------------------------- ping, status
def test_ping_names_the_app_and_versions(api):
    response = api.get("/api/ping")
    assert response.status_code == 200
    assert response.json() == {"app": "papershelf", "version": response.json()["version"],
                               "api_version": 1}
    assert re.match(r"^\d+\.\d+\.\d+", response.json()["version"])


def test_status_counts_papers_and_trash(api):
    before = api.status()
    assert before["warnings"] == []
    assert before["data_dir"] == str(api.server.data_dir)
    assert before["papers"] == api.total()
    assert before["trash"] == api.total(trash="true")
    a, b = save_one(api), save_one(api)
    api.ok("DELETE", f"/api/papers/{b['id']}")
    after = api.status()
    assert (after["papers"], after["trash"]) == (before["papers"] + 1, before["trash"] + 1)
    assert a["id"] != b["id"]


# ----------------------------------------------------------------------------- saving
def test_save_one_card_answers_created_and_stores_it(api):
    card = unique_card(abstract="We study things.\nOn two lines.", comments=2,
                       org_name="acme", org_fullname="Acme Research", github_repo=
                       "https://github.com/acme/probe", github_stars=12, submitted_by="someone",
                       date_text="Jan 15, 2025", authors_count=3,
                       authors=["Ada Lovelace", "Émilie du Châtelet"],
                       thumbnail="https://cdn.example.org/t.png", ai_summary="Short.",
                       ai_keywords=["kernels", "sparsity"], tags=["To read"],
                       source={"url": "https://huggingface.co/papers/date/2026-03-10",
                               "view": "daily"})
    card["arxiv_id"] += "v3"
    answer = api.save(card)
    assert (answer["created"], answer["merged"], answer["possible_duplicates"]) == (1, 0, 0)
    [result] = answer["results"]
    assert result["status"] == "created"
    paper = result["paper"]
    assert PAPER_KEYS <= set(paper)
    assert isinstance(paper["id"], int) and paper["id"] > 0
    assert paper["arxiv_id"] == card["arxiv_id"][:-2]  # version suffix dropped
    assert paper["hf_url"] == f"https://huggingface.co/papers/{paper['arxiv_id']}"
    assert paper["title"] == card["title"]
    assert paper["authors"] == ["Ada Lovelace", "Émilie du Châtelet"]
    assert paper["authors_count"] == 3 and paper["upvotes"] == card["upvotes"]
    assert paper["github_stars"] == 12 and paper["org_fullname"] == "Acme Research"
    assert paper["tags"] == ["To read"]
    assert (paper["notes"], paper["read"], paper["starred"], paper["deleted_at"]) == \
        ("", False, False, None)
    assert ISO_TIME.match(paper["added_at"]) and ISO_TIME.match(paper["updated_at"])
    [sighting] = paper["sightings"]
    assert sighting["url"] == "https://huggingface.co/papers/date/2026-03-10"
    assert sighting["view"] == "daily" and sighting["upvotes"] == card["upvotes"]
    assert ISO_TIME.match(sighting["seen_at"])

    stored = api.paper(paper["id"])
    assert stored == paper
    looked = api.ok("POST", "/api/papers/lookup", {"arxiv_ids": [paper["arxiv_id"]]})
    assert looked["papers"][paper["arxiv_id"]]["id"] == paper["id"]


def test_save_accepts_null_for_every_optional_field(api):
    optional = ["arxiv_id", "abstract", "authors", "authors_count", "org_name", "org_fullname",
                "published", "date_text", "upvotes", "comments", "github_repo", "github_stars",
                "submitted_by", "thumbnail", "hf_url", "ai_summary", "ai_keywords", "tags",
                "source"]
    card = {name: None for name in optional}
    card["title"] = "A paper known only by its title, number 424242"
    paper = api.save(card)["results"][0]["paper"]
    assert paper["title"] == card["title"]
    assert paper.get("arxiv_id") is None and paper["authors"] == [] and paper["tags"] == []
    assert paper["sightings"] == [] and paper.get("upvotes") is None
    assert api.paper(paper["id"])["title"] == card["title"]


DOCUMENTED_KEYS = {"id", "arxiv_id", "title", "abstract", "authors", "authors_count", "org_name",
                   "org_fullname", "published", "upvotes", "comments", "github_repo",
                   "github_stars", "submitted_by", "thumbnail", "hf_url", "tags", "notes", "read",
                   "starred", "added_at", "updated_at", "sightings", "deleted_at"}


def test_paper_record_carries_every_documented_key(api):
    paper = api.save({"title": "A paper known only by its title, number 515151"})
    paper = paper["results"][0]["paper"]
    assert DOCUMENTED_KEYS <= set(paper), sorted(DOCUMENTED_KEYS - set(paper))
    assert paper["arxiv_id"] is None and paper["published"] is None
    assert paper["authors_count"] is None and paper["upvotes"] is None


def test_fixture_pages_batch_save_merges_overlapping_arxiv_ids(shelf):
    api = shelf
    first = fixture_page(0)["records"]
    assert len(first) == 53
    answer = api.saved[0]
    assert len(answer["results"]) == 53
    assert answer["merged"] == 0
    assert answer["created"] + answer["possible_duplicates"] == 53
    assert [r["paper"]["arxiv_id"] for r in answer["results"]] == [c["arxiv_id"] for c in first]
    assert api.totals[0] == 53

    seen = {c["arxiv_id"] for c in first}
    for n, answer, total in zip(PAGES[1:], api.saved[1:], api.totals[1:]):
        cards = fixture_page(n)["records"]
        overlap = [c["arxiv_id"] for c in cards if c["arxiv_id"] in seen]
        assert answer["merged"] == len(overlap)
        assert answer["created"] + answer["possible_duplicates"] == len(cards) - len(overlap)
        for card, result in zip(cards, answer["results"], strict=True):
            assert result["paper"]["arxiv_id"] == card["arxiv_id"]
            if card["arxiv_id"] in seen:
                assert result["status"] == "merged"
            else:
                assert result["status"] in ("created", "possible_duplicate")
        seen |= {c["arxiv_id"] for c in cards}
        assert total == len(seen)

    distinct = distinct_fixture_ids()
    assert len(distinct) < 53 + 47 + 56  # the pages do overlap
    assert api.total() == len(distinct) == api.status()["papers"]

    # A paper on two pages was seen twice: two sightings, one per page.
    pages_of: dict[str, list[int]] = {}
    for n in PAGES:
        for card in fixture_page(n)["records"]:
            pages_of.setdefault(card["arxiv_id"], []).append(n)
    looked = api.ok("POST", "/api/papers/lookup", {"arxiv_ids": sorted(distinct)})["papers"]
    assert set(looked) == distinct
    twice = [a for a, ns in pages_of.items() if len(ns) > 1]
    assert twice
    for arxiv_id in twice[:5]:
        paper = api.paper(looked[arxiv_id]["id"])
        assert [s["url"] for s in paper["sightings"]] == [page_url(n) for n in pages_of[arxiv_id]]
    once = next(a for a, ns in pages_of.items() if ns == [0])
    once_id = looked[once]["id"]
    assert len(api.paper(once_id)["sightings"]) == 1

    # Saving the same page again duplicates nothing and does not repeat the sighting...
    again = api.save(page_batch(0))
    assert (again["created"], again["possible_duplicates"], again["merged"]) == (0, 0, 53)
    assert api.total() == len(distinct)
    assert len(api.paper(once_id)["sightings"]) == 1
    # ...and the same cards seen on another page add a sighting.
    other = "https://huggingface.co/papers/date/2026-03-10"
    api.save({"papers": first, "source": {"url": other, "view": "daily"}})
    sightings = api.paper(once_id)["sightings"]
    assert [s["url"] for s in sightings] == [page_url(0), other]
    assert sightings[-1]["view"] == "daily"
    assert api.total() == len(distinct)


def test_saving_again_refreshes_counts_and_keeps_user_fields(api):
    paper = save_one(api, upvotes=3, tags=["keep-me-1"])
    api.ok("PATCH", f"/api/papers/{paper['id']}", {"notes": "mine", "read": True})
    card = {"arxiv_id": paper["arxiv_id"], "title": paper["title"], "upvotes": 40,
            "comments": 5, "tags": ["added-on-save-1"]}
    answer = api.save(card)
    assert answer["results"][0]["status"] == "merged"
    assert answer["results"][0]["paper"]["id"] == paper["id"]
    stored = api.paper(paper["id"])
    assert stored["upvotes"] == 40 and stored["comments"] == 5
    assert stored["notes"] == "mine" and stored["read"] is True
    assert stored["tags"] == ["keep-me-1", "added-on-save-1"]


def test_a_batch_can_hold_the_same_paper_twice(api):
    card = unique_card()
    answer = api.save({"papers": [card, {**card, "upvotes": 99}]})
    first, second = answer["results"]
    assert first["status"] == "created" and second["status"] == "merged"
    assert first["paper"]["id"] == second["paper"]["id"]
    assert api.paper(first["paper"]["id"])["upvotes"] == 99


# ----------------------------------------------------------------------------- lookup
def test_lookup_answers_only_saved_ids_with_their_tags(shelf):
    cards = fixture_page(0)["records"]
    wanted = [c["arxiv_id"] for c in cards] + ["2001.00001", cards[0]["arxiv_id"] + "v7"]
    looked = shelf.ok("POST", "/api/papers/lookup", {"arxiv_ids": wanted})["papers"]
    assert set(looked) == {c["arxiv_id"] for c in cards}
    entry = looked[cards[0]["arxiv_id"]]
    assert set(entry) == {"id", "title", "tags", "read", "starred"}
    assert entry["title"] == cards[0]["title"]
    assert entry["tags"] == [] and entry["read"] is False and entry["starred"] is False
    assert shelf.ok("POST", "/api/papers/lookup", {"arxiv_ids": []}) == {"papers": {}}


def test_lookup_shows_tags_and_hides_trashed_papers(api):
    kept, gone = save_one(api, tags=["lookup-tag"]), save_one(api)
    api.ok("PATCH", f"/api/papers/{kept['id']}", {"starred": True})
    api.ok("DELETE", f"/api/papers/{gone['id']}")
    looked = api.ok("POST", "/api/papers/lookup",
                    {"arxiv_ids": [kept["arxiv_id"], gone["arxiv_id"]]})["papers"]
    assert list(looked) == [kept["arxiv_id"]]
    assert looked[kept["arxiv_id"]]["tags"] == ["lookup-tag"]
    assert looked[kept["arxiv_id"]]["starred"] is True


# ----------------------------------------------------------------------------- listing
def test_list_answers_papers_and_total(shelf):
    listing = shelf.papers()
    assert set(listing) == {"papers", "total"}
    assert listing["total"] == len(distinct_fixture_ids())
    assert len(listing["papers"]) == 50  # the default page
    assert PAPER_KEYS <= set(listing["papers"][0])


def test_search_by_title_word_finds_the_paper_first(shelf):
    card = fixture_page(0)["records"][0]  # "EdgeJury: Cross-Reviewed Small-Model Ensembles..."
    word = card["title"].split(":")[0]
    found = shelf.papers(q=word)
    assert found["total"] >= 1
    assert found["papers"][0]["arxiv_id"] == card["arxiv_id"]
    # Case does not matter, and all words must match.
    assert shelf.papers(q=word.upper())["papers"][0]["arxiv_id"] == card["arxiv_id"]
    assert shelf.papers(q=f"{word} zzzqqqxxnotaword")["total"] == 0


def test_search_reaches_the_abstract(shelf):
    card = fixture_page(0)["records"][0]
    found = shelf.papers(q="TruthfulQA Cloudflare")  # both words only in its abstract
    assert card["arxiv_id"] in [p["arxiv_id"] for p in found["papers"]]


@pytest.mark.parametrize("sort, key, default_order", [
    ("added", lambda p: p["added_at"], "desc"),
    ("updated", lambda p: p["updated_at"], "desc"),
    ("published", lambda p: p["published"] or "", "desc"),
    ("upvotes", lambda p: p["upvotes"] or 0, "desc"),
    ("title", lambda p: p["title"].casefold(), "asc"),
])
def test_sort_each_way_and_order(shelf, sort, key, default_order):
    total = shelf.total()
    for order in ("asc", "desc", None):
        params = {"sort": sort, "limit": 500}
        if order:
            params["order"] = order
        papers = shelf.papers(**params)["papers"]
        assert len(papers) == total
        values = [key(p) for p in papers]
        wanted = sorted(values, reverse=(order or default_order) == "desc")
        assert values == wanted, f"sort={sort} order={order}"


def test_sort_by_relevance_ranks_title_hits_first(shelf):
    card = fixture_page(0)["records"][0]
    word = card["title"].split(":")[0]
    found = shelf.papers(q=word, sort="relevance")
    assert found["papers"][0]["arxiv_id"] == card["arxiv_id"]
    assert shelf.papers(sort="relevance")["total"] == shelf.total()  # without q: all


def test_limit_and_offset_page_through_everything_once(shelf):
    total = shelf.total()
    everything = ids_of(shelf.papers(sort="title", limit=500)["papers"])
    pages, offset = [], 0
    while offset < total:
        page = shelf.papers(sort="title", limit=50, offset=offset)
        assert page["total"] == total
        assert len(page["papers"]) == min(50, total - offset)
        pages += ids_of(page["papers"])
        offset += 50
    assert pages == everything and len(set(pages)) == total
    beyond = shelf.papers(offset=total + 10)
    assert beyond == {"papers": [], "total": total}
    assert len(shelf.papers(limit=1)["papers"]) == 1
    assert len(shelf.papers(limit=500)["papers"]) == total


def test_filters_read_starred_tag_and_trash(api):
    tag = "filters-probe"
    a, b, c = (save_one(api, tags=[tag]) for _ in range(3))
    api.ok("PATCH", f"/api/papers/{a['id']}", {"read": True})
    api.ok("PATCH", f"/api/papers/{b['id']}", {"starred": True})
    api.ok("DELETE", f"/api/papers/{c['id']}")
    assert set(ids_of(tagged(api, tag))) == {a["id"], b["id"]}
    assert ids_of(tagged(api, tag, read="true")) == [a["id"]]
    assert ids_of(tagged(api, tag, read="false")) == [b["id"]]
    assert ids_of(tagged(api, tag, starred="true")) == [b["id"]]
    assert ids_of(tagged(api, tag, starred="false")) == [a["id"]]
    assert ids_of(tagged(api, tag, read="true", starred="true")) == []
    trash = api.papers(trash="true", tag=tag)
    assert ids_of(trash["papers"]) == [c["id"]] and trash["total"] == 1
    assert trash["papers"][0]["deleted_at"]
    assert c["id"] not in ids_of(api.papers(limit=500)["papers"])


# ----------------------------------------------------------------------------- get, patch
def test_get_answers_the_paper(api):
    paper = save_one(api)
    assert api.paper(paper["id"]) == paper


def test_patch_changes_user_fields(api):
    paper = save_one(api, tags=["before"])
    changed = api.ok("PATCH", f"/api/papers/{paper['id']}",
                     {"tags": ["After", "cv/vision", "after"], "notes": "Read §3 again.\nThen 4.",
                      "read": True, "starred": True})
    assert changed["tags"] == ["After", "cv/vision"]
    assert changed["notes"] == "Read §3 again.\nThen 4."
    assert changed["read"] is True and changed["starred"] is True
    assert changed["updated_at"] >= paper["updated_at"]
    stored = api.paper(paper["id"])
    assert stored == changed
    api.ok("PATCH", f"/api/papers/{paper['id']}", {"read": False, "tags": []})
    stored = api.paper(paper["id"])
    assert stored["read"] is False and stored["tags"] == [] and stored["starred"] is True


def test_patch_metadata_and_an_edited_title_survives_a_recapture(api):
    paper = save_one(api, upvotes=5)
    edited = api.ok("PATCH", f"/api/papers/{paper['id']}",
                    {"title": "My corrected title", "published": "2024-02-29",
                     "authors": ["A. Person", "B. Person"]})
    assert edited["title"] == "My corrected title" and edited["published"] == "2024-02-29"
    assert edited["authors"] == ["A. Person", "B. Person"]
    # The extension sees the card again, with the site's title and more upvotes.
    answer = api.save({"arxiv_id": paper["arxiv_id"], "title": paper["title"], "upvotes": 77,
                       "published": "2025-01-15"})
    assert answer["results"][0]["status"] == "merged"
    stored = api.paper(paper["id"])
    assert stored["title"] == "My corrected title"
    assert stored["published"] == "2024-02-29"
    assert stored["upvotes"] == 77  # counts are still refreshed
    assert api.total(q="corrected") >= 1


# ----------------------------------------------------------------------------- trash, undo
def test_delete_moves_to_trash_and_restore_brings_back(api):
    paper = save_one(api, tags=["trash-probe"])
    answer = api.ok("DELETE", f"/api/papers/{paper['id']}")
    assert answer["deleted"] == [paper["id"]] and isinstance(answer["undo"], str)
    gone = api.paper(paper["id"])  # still there, in the trash
    assert gone["deleted_at"]
    assert tagged(api, "trash-probe") == []
    assert ids_of(tagged(api, "trash-probe", trash="true")) == [paper["id"]]
    restored = api.ok("POST", f"/api/papers/{paper['id']}/restore")
    assert restored["id"] == paper["id"] and restored["deleted_at"] is None
    assert ids_of(tagged(api, "trash-probe")) == [paper["id"]]
    assert tagged(api, "trash-probe", trash="true") == []


def test_delete_then_undo(api):
    paper = save_one(api, tags=["undo-probe"])
    undo = api.ok("DELETE", f"/api/papers/{paper['id']}")["undo"]
    answer = api.ok("POST", f"/api/undo/{undo}")
    assert answer["restored"] == [paper["id"]]
    stored = api.paper(paper["id"])
    assert stored["deleted_at"] is None and stored["tags"] == ["undo-probe"]
    assert ids_of(tagged(api, "undo-probe")) == [paper["id"]]
    assert_error(api.post(f"/api/undo/{undo}"), 404)  # an undo is used once


def test_undo_refuses_after_a_later_edit(api):
    paper = save_one(api)
    undo = api.ok("POST", "/api/papers/bulk", {"ids": [paper["id"]], "action": "read"})["undo"]
    api.ok("PATCH", f"/api/papers/{paper['id']}", {"notes": "written after"})
    assert_error(api.post(f"/api/undo/{undo}"), 409)
    stored = api.paper(paper["id"])
    assert stored["notes"] == "written after" and stored["read"] is True


def test_empty_trash_purges_only_the_trash(api):
    keep, a, b = save_one(api), save_one(api), save_one(api)
    for p in (a, b):
        api.ok("DELETE", f"/api/papers/{p['id']}")
    live = api.total()
    in_trash = api.total(trash="true")
    assert in_trash >= 2
    assert api.ok("DELETE", "/api/trash") == {"purged": in_trash}
    for p in (a, b):
        assert_error(api.get(f"/api/papers/{p['id']}"), 404)
    assert api.papers(trash="true") == {"papers": [], "total": 0}
    assert api.total() == live
    assert api.paper(keep["id"])["deleted_at"] is None
    assert (api.status()["papers"], api.status()["trash"]) == (live, 0)
    assert api.ok("DELETE", "/api/trash") == {"purged": 0}


def test_an_old_undo_never_overwrites_a_paper_saved_after_a_purge(fresh_server, fresh_api):
    api = fresh_api
    save_one(api)
    old = save_one(api, tags=["purged-one"])
    undo = api.ok("DELETE", f"/api/papers/{old['id']}")["undo"]
    assert api.ok("DELETE", "/api/trash") == {"purged": 1}
    fresh_server.stop()
    fresh_server.start()
    assert api.status()["data_dir"] == str(fresh_server.data_dir)
    new = save_one(api, tags=["brand-new"])
    api.ok("PATCH", f"/api/papers/{new['id']}", {"notes": "important"})
    before = api.paper(new["id"])
    response = api.post(f"/api/undo/{undo}")
    assert response.status_code in (404, 409), response.text
    assert api.paper(new["id"]) == before


# ----------------------------------------------------------------------------- tags
def test_tags_add_and_remove_case_insensitively_keeping_the_first_spelling(api):
    a, b = save_one(api), save_one(api)
    first = api.ok("POST", f"/api/papers/{a['id']}/tags",
                   {"add": ["Sampling", "  gen /  sampling ", "SAMPLING"]})
    assert first["tags"] == ["Sampling", "gen/sampling"]
    # The library already knows the tag as "Sampling": another paper gets that spelling.
    second = api.ok("POST", f"/api/papers/{b['id']}/tags", {"add": ["sampling"]})
    assert second["tags"] == ["Sampling"]
    assert tag_counts(api, "sampl") == {"Sampling": 2, "gen/sampling": 1}
    removed = api.ok("POST", f"/api/papers/{a['id']}/tags",
                     {"remove": ["sAmPlInG"], "add": ["Gen/Vision"]})
    assert removed["tags"] == ["gen/sampling", "Gen/Vision"]  # a new tag: spelled as given
    assert api.paper(a["id"])["tags"] == ["gen/sampling", "Gen/Vision"]
    assert api.paper(b["id"])["tags"] == ["Sampling"]
    assert tag_counts(api, "gen") == {"gen/sampling": 1, "Gen/Vision": 1}
    assert tag_counts(api, "sampl") == {"Sampling": 1, "gen/sampling": 1}


def test_a_tag_spelling_is_forgotten_once_no_paper_has_it(api):
    a, b = save_one(api), save_one(api)
    api.ok("POST", f"/api/papers/{a['id']}/tags", {"add": ["SpellX"]})
    api.ok("POST", f"/api/papers/{a['id']}/tags", {"remove": ["spellx"]})
    assert tag_counts(api, "spellx") == {}
    assert api.ok("POST", f"/api/papers/{b['id']}/tags", {"add": ["spellx"]})["tags"] == ["spellx"]
    assert tag_counts(api, "spellx") == {"spellx": 1}
    assert api.ok("POST", f"/api/papers/{a['id']}/tags", {"add": ["SPELLX"]})["tags"] == ["spellx"]


def test_hierarchical_tags_filter_and_list_by_prefix(api):
    diffusion = save_one(api, tags=["ml/diffusion", "ml"])
    diffusion2 = save_one(api, tags=["ml/diffusion", "NLP"])
    diffusion3 = save_one(api, tags=["ML/Diffusion"])
    nlp = save_one(api, tags=["ml/NLP"])
    mlops = save_one(api, tags=["mlops"])
    save_one(api, tags=["physics/ml"])
    ml = {diffusion["id"], diffusion2["id"], diffusion3["id"], nlp["id"]}

    # Filtering by `ml` takes in `ml/diffusion` and `ml/NLP`, but not `mlops`.
    assert set(ids_of(tagged(api, "ml"))) == ml
    assert set(ids_of(tagged(api, "ML"))) == ml
    assert api.papers(tag="ml")["total"] == 4
    assert set(ids_of(tagged(api, "ml/Diffusion"))) == {diffusion["id"], diffusion2["id"],
                                                       diffusion3["id"]}
    assert ids_of(tagged(api, "mlops")) == [mlops["id"]]
    assert tagged(api, "ml/diff") == []  # a tag, not a prefix of one

    # Listing by prefix, case-insensitive, by count then name.
    assert api.ok("GET", "/api/tags", params={"prefix": "ML"})["tags"][:1] == \
        [{"name": "ml/diffusion", "count": 3}]
    assert tag_counts(api, "ML") == {"ml/diffusion": 3, "ml": 1, "ml/NLP": 1, "mlops": 1,
                                     "physics/ml": 1}
    # A later level matches too: "diff" finds "ml/diffusion".
    assert api.ok("GET", "/api/tags", params={"prefix": "diff"})["tags"] == \
        [{"name": "ml/diffusion", "count": 3}]
    assert tag_counts(api, "nl") == {"NLP": 1, "ml/NLP": 1}
    assert api.ok("GET", "/api/tags", params={"prefix": "zzqq"})["tags"] == []
    assert len(api.ok("GET", "/api/tags", params={"prefix": "ml", "limit": 2})["tags"]) == 2

    everything = api.ok("GET", "/api/tags")["tags"]
    counts = [t["count"] for t in everything]
    assert counts == sorted(counts, reverse=True)
    for count in set(counts):
        names = [t["name"].casefold() for t in everything if t["count"] == count]
        assert names == sorted(names)


def test_tag_list_counts_only_live_papers(api):
    a, b = save_one(api, tags=["counted"]), save_one(api, tags=["counted"])
    assert tag_counts(api, "counted") == {"counted": 2}
    api.ok("DELETE", f"/api/papers/{b['id']}")
    assert tag_counts(api, "counted") == {"counted": 1}
    api.ok("POST", f"/api/papers/{b['id']}/restore")
    assert tag_counts(api, "counted") == {"counted": 2}
    assert a["id"] != b["id"]


def test_rename_tag_merging_into_an_existing_tag_and_undo(api):
    p1 = save_one(api, tags=["rnold"])
    p2 = save_one(api, tags=["rnold", "RnNew"])
    p3 = save_one(api, tags=["RnNew"])
    p4 = save_one(api, tags=["rnother"])
    answer = api.ok("POST", "/api/tags/rename", {"from": "RNOLD", "to": "RnNew"})
    assert answer["tag"] == "RnNew" and answer["papers"] == 2 and answer["undo"]
    assert [api.paper(p["id"])["tags"] for p in (p1, p2, p3, p4)] == \
        [["RnNew"], ["RnNew"], ["RnNew"], ["rnother"]]
    assert tag_counts(api, "rn") == {"RnNew": 3, "rnother": 1}
    assert set(ids_of(tagged(api, "rnnew"))) == {p1["id"], p2["id"], p3["id"]}
    assert tagged(api, "rnold") == []

    undone = api.ok("POST", f"/api/undo/{answer['undo']}")
    assert set(undone["restored"]) >= {p1["id"], p2["id"]}
    assert [api.paper(p["id"])["tags"] for p in (p1, p2, p3, p4)] == \
        [["rnold"], ["rnold", "RnNew"], ["RnNew"], ["rnother"]]
    assert tag_counts(api, "rn") == {"rnold": 2, "RnNew": 2, "rnother": 1}


def test_rename_tag_to_a_new_name_and_a_new_spelling(api):
    p = save_one(api, tags=["tongue", "keep-tongue"])
    assert api.ok("POST", "/api/tags/rename",
                  {"from": "tongue", "to": "language/TONGUE"})["papers"] == 1
    assert api.paper(p["id"])["tags"] == ["language/TONGUE", "keep-tongue"]
    api.ok("POST", "/api/tags/rename", {"from": "language/tongue", "to": "Language/Tongue"})
    assert api.paper(p["id"])["tags"] == ["Language/Tongue", "keep-tongue"]
    assert tag_counts(api, "tongue") == {"Language/Tongue": 1}
    assert tag_counts(api, "keep-tongue") == {"keep-tongue": 1}


def test_delete_tag_everywhere_and_undo(api):
    a = save_one(api, tags=["deltag/diffusion", "deltag-x"])
    b = save_one(api, tags=["DelTag/Diffusion"])
    answer = api.ok("DELETE", "/api/tags/deltag/diffusion")
    assert answer["papers"] == 2 and answer["undo"]
    assert api.paper(a["id"])["tags"] == ["deltag-x"] and api.paper(b["id"])["tags"] == []
    assert tag_counts(api, "deltag") == {"deltag-x": 1}
    api.ok("POST", f"/api/undo/{answer['undo']}")
    assert api.paper(a["id"])["tags"] == ["deltag/diffusion", "deltag-x"]
    assert api.paper(b["id"])["tags"] == ["deltag/diffusion"]


# ----------------------------------------------------------------------------- bulk
def test_bulk_each_action(api):
    papers = [save_one(api) for _ in range(3)]
    ids = ids_of(papers)

    def bulk(action, **extra):
        answer = api.ok("POST", "/api/papers/bulk", {"ids": ids, "action": action, **extra})
        assert ids_of(answer["papers"]) == ids and "undo" in answer
        return answer

    def stored(field):
        return [api.paper(i)[field] for i in ids]

    bulk("tag", tags=["bulk-probe", "Second"])
    assert stored("tags") == [["bulk-probe", "Second"]] * 3
    assert set(ids_of(tagged(api, "bulk-probe"))) == set(ids)
    bulk("untag", tags=["SECOND"])
    assert stored("tags") == [["bulk-probe"]] * 3
    bulk("read")
    assert stored("read") == [True] * 3
    bulk("unread")
    assert stored("read") == [False] * 3
    bulk("star")
    assert stored("starred") == [True] * 3
    bulk("unstar")
    assert stored("starred") == [False] * 3
    deleted = bulk("delete")
    assert deleted["undo"]
    assert all(stored("deleted_at"))
    assert tagged(api, "bulk-probe") == []
    assert set(ids_of(tagged(api, "bulk-probe", trash="true"))) == set(ids)
    bulk("restore")
    assert stored("deleted_at") == [None] * 3
    assert set(ids_of(tagged(api, "bulk-probe"))) == set(ids)


def test_bulk_undo_restores_every_paper(api):
    ids = ids_of([save_one(api) for _ in range(2)])
    undo = api.ok("POST", "/api/papers/bulk", {"ids": ids, "action": "star"})["undo"]
    assert all(api.paper(i)["starred"] for i in ids)
    assert sorted(api.ok("POST", f"/api/undo/{undo}")["restored"]) == sorted(ids)
    assert not any(api.paper(i)["starred"] for i in ids)


# ----------------------------------------------------------------------------- duplicates
DUPLICATE_TITLES = {
    "dismiss": "Gradient Noise Shapes the Implicit Regularisation of Very Deep Residual Networks",
    "merge": "Calibrated Uncertainty for Retrieval Augmented Question Answering over Legal Codes",
}


def pairs_of(api: Api, *ids: int) -> list[dict]:
    """The listed duplicate pairs that involve any of these papers."""
    return [p for p in api.ok("GET", "/api/duplicates")["pairs"]
            if {p["a"]["id"], p["b"]["id"]} & set(ids)]


def _flagged_pair(api: Api, title: str) -> tuple[dict, dict, dict]:
    """Two non-arXiv records of one paper, different enough to be flagged, not merged:
    the second spells the title differently, has another year and no authors."""
    a = api.save({"title": title, "published": "2021-03-01",
                  "authors": ["Ada Lovelace", "Alan Turing"], "tags": ["from-a"],
                  "source": {"url": "https://example.org/a", "view": "other"}})
    assert a["results"][0]["status"] == "created", a
    b = api.save({"title": title.upper().replace("REGULARISATION", "Regularization"),
                  "published": "2023-06-01", "tags": ["from-b"],
                  "source": {"url": "https://example.org/b", "view": "other"}})
    [result] = b["results"]
    assert result["status"] == "possible_duplicate", b
    assert b["possible_duplicates"] == 1 and b["created"] == 0
    a_paper, b_paper = a["results"][0]["paper"], result["paper"]
    assert a_paper["id"] != b_paper["id"]
    assert result["duplicate_of"] == [a_paper["id"]]
    pairs = pairs_of(api, a_paper["id"], b_paper["id"])
    assert len(pairs) == 1
    return a_paper, b_paper, pairs[0]


def test_possible_duplicates_are_listed_and_dismissed_for_good(api):
    a, b, pair = _flagged_pair(api, DUPLICATE_TITLES["dismiss"])
    assert {pair["a"]["id"], pair["b"]["id"]} == {a["id"], b["id"]}
    assert {"id", "title", "tags", "sightings"} <= set(pair["a"]) & set(pair["b"])
    assert isinstance(pair["score"], (int, float)) and 88 <= pair["score"] <= 100
    assert pair["reasons"] and all(isinstance(r, str) for r in pair["reasons"])
    assert api.paper(a["id"])["deleted_at"] is None and api.paper(b["id"])["deleted_at"] is None

    listed = len(api.ok("GET", "/api/duplicates")["pairs"])
    assert api.ok("GET", "/api/duplicates/count") == {"count": listed}
    assert api.ok("POST", "/api/duplicates/dismiss", {"a": b["id"], "b": a["id"]}) == \
        {"dismissed": [b["id"], a["id"]]}
    assert pairs_of(api, a["id"], b["id"]) == []
    assert api.ok("GET", "/api/duplicates/count") == {"count": listed - 1}
    total = api.total()
    # Seeing either record again merges it into itself and flags nothing.
    again_b = api.save({"title": b["title"], "published": "2023-06-01"})
    assert again_b["results"][0]["status"] == "merged"
    assert again_b["results"][0]["paper"]["id"] == b["id"]
    again_a = api.save({"title": a["title"], "published": "2021-03-01",
                        "authors": ["Ada Lovelace", "Alan Turing"]})
    assert again_a["results"][0]["status"] == "merged"
    assert again_a["results"][0]["paper"]["id"] == a["id"]
    assert pairs_of(api, a["id"], b["id"]) == []
    assert api.total() == total


def test_merge_duplicates_with_a_field_choice_and_undo(api):
    a, b, _ = _flagged_pair(api, DUPLICATE_TITLES["merge"])
    total = api.total()
    api.ok("PATCH", f"/api/papers/{a['id']}", {"notes": "note of a", "starred": True})
    api.ok("PATCH", f"/api/papers/{b['id']}", {"notes": "note of b", "read": True})
    answer = api.ok("POST", "/api/duplicates/merge",
                    {"keep": a["id"], "other": b["id"],
                     "fields": {"title": "other", "published": "keep"}})
    merged = answer["paper"]
    assert merged["id"] == a["id"] and answer["undo"]
    assert merged["title"] == b["title"] != a["title"]   # chosen from the other record
    assert merged["published"] == "2021-03-01"           # kept
    assert merged["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert set(merged["tags"]) == {"from-a", "from-b"}
    assert "note of a" in merged["notes"] and "note of b" in merged["notes"]
    assert merged["read"] is True and merged["starred"] is True
    assert sorted(s["url"] for s in merged["sightings"]) == \
        ["https://example.org/a", "https://example.org/b"]
    assert api.paper(a["id"]) == merged
    assert_error(api.get(f"/api/papers/{b['id']}"), 404)
    assert api.total() == total - 1
    assert pairs_of(api, a["id"], b["id"]) == []

    undone = api.ok("POST", f"/api/undo/{answer['undo']}")
    assert sorted(undone["restored"]) == sorted([a["id"], b["id"]])
    back_a, back_b = api.paper(a["id"]), api.paper(b["id"])
    assert back_a["title"] == a["title"] and back_a["tags"] == ["from-a"]
    assert back_a["notes"] == "note of a" and back_a["read"] is False
    assert back_b["title"] == b["title"] and back_b["tags"] == ["from-b"]
    assert back_b["notes"] == "note of b" and back_b["deleted_at"] is None
    assert api.total() == total
    assert [{p["a"]["id"], p["b"]["id"]} for p in pairs_of(api, a["id"], b["id"])] == \
        [{a["id"], b["id"]}]


# ----------------------------------------------------------------------------- pairing
def _pair_request(server, client="Papershelf for Chrome") -> tuple[Api, dict]:
    anonymous = Api(server, None)
    answer = anonymous.ok("POST", "/api/pair/requests", {"client": client}, status=(200, 201),
                          headers={"Origin": "chrome-extension://abcdefghijklmnop"})
    assert set(answer) >= {"request_id", "poll_secret", "code"}
    assert re.fullmatch(r"\d{4}", answer["code"])
    return anonymous, answer


def _poll(anonymous: Api, request: dict, secret=None):
    return anonymous.get(f"/api/pair/requests/{request['request_id']}",
                         params={"poll_secret": secret or request["poll_secret"]})


def test_pairing_approve_hands_out_a_token_once_and_revoke_ends_it(server, api):
    anonymous, request = _pair_request(server)
    assert _poll(anonymous, request).json() == {"status": "pending"}

    assert_error(anonymous.get("/api/pair/requests"), 401)
    pending = api.ok("GET", "/api/pair/requests")["requests"]
    mine = [r for r in pending if r["request_id"] == request["request_id"]]
    assert len(mine) == 1
    assert mine[0]["client"] == "Papershelf for Chrome" and mine[0]["code"] == request["code"]
    assert mine[0]["created_at"]
    assert request["poll_secret"] not in str(pending)

    assert_error(anonymous.post(f"/api/pair/requests/{request['request_id']}/approve"), 401)
    decided = api.ok("POST", f"/api/pair/requests/{request['request_id']}/approve")
    assert decided["status"] == "approved"
    assert request["request_id"] not in str(api.ok("GET", "/api/pair/requests"))

    polled = _poll(anonymous, request)
    assert polled.status_code == 200
    body = polled.json()
    assert body["status"] == "approved" and body["token"]
    token = body["token"]
    assert token != api.token
    again = _poll(anonymous, request)  # handed out once only
    assert again.status_code == 404 or "token" not in again.json()

    paired = Api(server, token)
    assert paired.ok("GET", "/api/papers", headers={
        "Origin": "chrome-extension://abcdefghijklmnop"})["total"] >= 0
    saved = paired.save(unique_card())
    assert saved["results"][0]["status"] == "created"

    clients = api.ok("GET", "/api/clients")["clients"]
    [client] = [c for c in clients if c["client"] == "Papershelf for Chrome"]
    assert set(client) >= {"id", "client", "created_at", "last_seen"}
    assert token not in str(clients)

    assert api.delete(f"/api/clients/{client['id']}").status_code == 200
    assert client["id"] not in [c["id"] for c in api.ok("GET", "/api/clients")["clients"]]
    assert_error(paired.get("/api/papers"), 401)
    assert_error(paired.post("/api/papers", unique_card()), 401)
    assert api.ok("GET", "/api/papers")["total"] >= 1  # the install token still works


def test_pairing_deny_and_a_wrong_poll_secret(server, api):
    anonymous, request = _pair_request(server, "Papershelf for Firefox")
    assert_error(_poll(anonymous, request, secret="not-the-secret"), 404)
    assert_error(anonymous.get(f"/api/pair/requests/{request['request_id']}"), 404)
    assert_error(_poll(anonymous, {"request_id": "0123456789abcdef",
                                   "poll_secret": request["poll_secret"]}), 404)
    assert _poll(anonymous, request).json() == {"status": "pending"}

    assert api.ok("POST", f"/api/pair/requests/{request['request_id']}/deny")["status"] == "denied"
    polled = _poll(anonymous, request).json()
    assert polled["status"] == "denied" and "token" not in polled
    # A decided request cannot be approved afterwards.
    assert_error(api.post(f"/api/pair/requests/{request['request_id']}/approve"), 404)
    assert "Papershelf for Firefox" not in [c["client"] for c in
                                           api.ok("GET", "/api/clients")["clients"]]


def test_export_stream_joins_its_pieces_exactly():
    from papershelf.api import _encoded
    rng = random.Random(4)
    for count in (0, 1, 2, 7, 60):
        pieces = ["".join(rng.choice("ab\né{}") for _ in range(rng.randint(0, 40))) for _ in range(count)]
        for size in (1, 5, 64, 1 << 20):
            assert b"".join(_encoded(list(pieces), size)) == "\n".join(pieces).encode("utf-8")
