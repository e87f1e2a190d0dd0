"""Bad input against a real `papershelf serve`: every refusal is a 4xx JSON answer with
`error` and `field`, never a 5xx, never a partly applied batch; the server survives all
of it with the library unchanged.

The module shares one server. Its library (a fixture page and a few papers) is captured
at the start and compared at the end: nothing in this file may change it.
"""

from __future__ import annotations

import json

import pytest
import requests

from api_client import Api, assert_error, fixture_page, page_batch, page_url, unique_card

MIB = 1024 * 1024


SCRATCH = "scratch"  # papers a test may change on purpose; the library check ignores them


def snapshot(api: Api) -> dict:
    papers = api.papers(limit=500)["papers"] + api.papers(limit=500, trash="true")["papers"]
    return {"papers": sorted((p for p in papers if SCRATCH not in p["tags"]),
                             key=lambda p: p["id"]),
            "tags": [t for t in api.ok("GET", "/api/tags")["tags"] if t["name"] != SCRATCH],
            "duplicates": api.ok("GET", "/api/duplicates")["pairs"],
            "clients": api.ok("GET", "/api/clients")["clients"]}


@pytest.fixture(scope="module")
def baseline(api):
    """The library before any bad input: one fixture page and two tagged papers."""
    api.save(page_batch(0))
    a = api.save(unique_card(tags=["alpha"]))["results"][0]["paper"]
    b = api.save(unique_card(tags=["beta"]))["results"][0]["paper"]
    return {"a": a["id"], "b": b["id"], "snapshot": snapshot(api)}


def refused(response, status=400, field="__any__"):
    return assert_error(response, status, field)


# ----------------------------------------------------------------------------- body level
def test_oversized_body_is_413_json(api, baseline):
    huge = json.dumps({"title": "big", "abstract": "x" * (16 * MIB + 10)})
    refused(api.post("/api/papers", raw=huge, headers={"Content-Type": "application/json"}), 413)
    refused(api.patch(f"/api/papers/{baseline['a']}", raw=huge,
                      headers={"Content-Type": "application/json"}), 413)
    # Streamed without a length, it is cut off just the same.
    chunks = iter([b'{"title": "big", "abstract": "', b"x" * (17 * MIB), b'"}'])
    refused(api.post("/api/papers", raw=chunks, headers={"Content-Type": "application/json"}), 413)


def test_a_body_under_the_limit_but_with_absurd_values_is_400(api, baseline):
    big = {"title": "big", "abstract": "x" * (8 * MIB)}
    refused(api.post("/api/papers", big), 400, "abstract")


@pytest.mark.parametrize("raw", [
    '{"title": ', '{title: "x"}', "{'title': 'x'}", '{"title": "x",}', '{"title": "x"} {}',
    '{"title": "x"', "[1, 2", "", " ", "\x00", "undefined", '{"title": "\\x41"}',
    b'{"title": "\xff\xfe"}', b"\xef\xbb\xbf\xff",
])
def test_broken_json_is_400(api, baseline, raw):
    for method, path in [("POST", "/api/papers"), ("PATCH", f"/api/papers/{baseline['a']}"),
                         ("POST", "/api/papers/lookup"), ("POST", "/api/papers/bulk"),
                         ("POST", "/api/tags/rename"), ("POST", "/api/pair/requests")]:
        refused(api.request(method, path, raw=raw, headers={"Content-Type": "application/json"}),
                400, None)


@pytest.mark.parametrize("body", [[], [{"title": "x"}], "x", 3, 3.5, True, None])
def test_a_body_that_is_not_an_object_is_400(api, baseline, body):
    raw = json.dumps(body)
    for method, path in [("POST", "/api/papers"), ("PATCH", f"/api/papers/{baseline['a']}"),
                         ("POST", "/api/papers/lookup"), ("POST", "/api/duplicates/merge")]:
        refused(api.request(method, path, raw=raw, headers={"Content-Type": "application/json"}),
                400, None)


@pytest.mark.parametrize("raw, field", [
    ('{"title": "t", "upvotes": NaN}', "upvotes"),
    ('{"title": "t", "upvotes": Infinity}', "upvotes"),
    ('{"title": "t", "upvotes": -Infinity}', "upvotes"),
    ('{"title": "t", "upvotes": 1e400}', "upvotes"),
    ('{"title": "t", "github_stars": 1e3}', "github_stars"),
])
def test_non_finite_and_float_numbers_are_400(api, baseline, raw, field):
    refused(api.post("/api/papers", raw=raw, headers={"Content-Type": "application/json"}),
            400, field)


def test_deeply_nested_json_is_400(api, baseline):
    raw = "[" * 100_000 + "]" * 100_000
    response = api.http.post(api.url + "/api/papers", data=raw,
                             headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_lone_surrogate_in_a_string_is_400(api, baseline):
    raw = '{"title": "broken \\ud800 surrogate"}'
    response = api.http.post(api.url + "/api/papers", data=raw,
                             headers={"Content-Type": "application/json"})
    assert_error(response, 400, "title")


def test_a_lone_surrogate_does_not_damage_the_library(api, baseline):
    """Whatever the status, the library must still answer and hold no half-saved card."""
    for raw in ('{"title": "broken \\ud800 qzxsurrogate"}',
                '{"papers": [{"title": "fine card qzxfine"},'
                ' {"title": "x", "authors": ["\\udfff"]}]}'):
        response = api.http.post(api.url + "/api/papers", data=raw,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code >= 400
        assert response.headers["Content-Type"].startswith("application/json")
    titles = [p["title"] for p in api.papers(limit=500)["papers"]]
    assert not [t for t in titles if "qzx" in t]
    assert [p for p in api.papers(limit=500)["papers"] if p["title"] == "x"] == []


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "text/json", "application/json-patch+json", "application/javascript"])
def test_a_body_that_is_not_declared_json_is_415(api, baseline, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(unique_card())
    for method, path in [("POST", "/api/papers"), ("PATCH", f"/api/papers/{baseline['a']}"),
                         ("POST", f"/api/papers/{baseline['a']}/tags"),
                         ("POST", "/api/papers/bulk"), ("POST", "/api/pair/requests")]:
        if content_type is None:
            response = requests.request(method, api.url + path, data=body.encode(), headers={
                "Authorization": f"Bearer {api.token}"})
            assert "Content-Type" not in response.request.headers
        else:
            response = api.request(method, path, raw=body, headers=headers)
        refused(response, 415)


def test_json_with_a_charset_is_accepted(api):
    card = unique_card()
    response = api.request("POST", "/api/papers", raw=json.dumps(card),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200
    paper = response.json()["results"][0]["paper"]
    api.ok("DELETE", f"/api/papers/{paper['id']}")
    api.ok("DELETE", "/api/trash")


# ----------------------------------------------------------------------------- card fields
WRONG_TYPES = [
    ("title", ["t"]), ("title", {"t": 1}), ("title", 5), ("title", True),
    ("arxiv_id", 2401.01234), ("arxiv_id", ["2401.01234"]), ("arxiv_id", "not an id"),
    ("arxiv_id", "2401.1"), ("abstract", 5), ("abstract", ["a"]),
    ("authors", "Ada Lovelace, Alan Turing"), ("authors", {"name": "Ada"}), ("authors", 3),
    ("authors_count", "3"), ("authors_count", 2.5), ("authors_count", True),
    ("org_name", 1), ("org_fullname", {"x": 1}), ("published", 20260101),
    ("published", ["2026-01-01"]), ("date_text", 5),
    ("upvotes", "3"), ("upvotes", True), ("upvotes", False), ("upvotes", 1.5),
    ("upvotes", [3]), ("upvotes", {"n": 3}),
    ("comments", "0"), ("comments", True), ("github_repo", 5),
    ("github_repo", "github.com/a/b"), ("github_repo", "javascript:alert(1)"),
    ("github_stars", "1.66k"), ("github_stars", 1.5), ("submitted_by", ["x"]),
    ("thumbnail", 5), ("thumbnail", "data:image/png;base64,AAAA"), ("hf_url", "ftp://x/y"),
    ("hf_url", True), ("ai_summary", 5), ("ai_keywords", "a, b"), ("ai_keywords", {"a": 1}),
    ("tags", "ml"), ("tags", {"ml": True}), ("source", "https://huggingface.co/papers"),
    ("source", ["daily"]),
]


@pytest.mark.parametrize("field, value", WRONG_TYPES,
                         ids=[f"{f}={json.dumps(v)[:20]}" for f, v in WRONG_TYPES])
def test_wrong_type_for_a_card_field_is_400_naming_it(api, baseline, field, value):
    card = unique_card(**{field: value})
    refused(api.post("/api/papers", card), 400, field)
    refused(api.post("/api/papers", {"papers": [unique_card(), card]}), 400, f"papers[1].{field}")


NESTED = [
    ({"authors": ["Ada", 5]}, "authors[1]"), ({"authors": [None]}, "authors[0]"),
    ({"authors": ["Ada", ""]}, "authors[1]"), ({"authors": [["Ada"]]}, "authors[0]"),
    ({"ai_keywords": ["ok", 3]}, "ai_keywords[1]"), ({"tags": ["ok", 3]}, "tags[1]"),
    ({"tags": [""]}, "tags[0]"), ({"tags": ["   "]}, "tags[0]"), ({"tags": ["a,b"]}, "tags[0]"),
    ({"tags": ["ml//diffusion"]}, "tags[0]"), ({"tags": ["/ml"]}, "tags[0]"),
    ({"tags": ["x" * 101]}, "tags[0]"), ({"tags": ["t"] * 201}, "tags"),
    ({"source": {"url": 5}}, "source.url"), ({"source": {"url": "ftp://x"}}, "source.url"),
    ({"source": {"view": "everything"}}, "source.view"),
    ({"source": {"url": "https://huggingface.co/papers", "page": 2}}, "source.page"),
    ({"authors": ["Ada", "Alan"], "authors_count": 1}, "authors_count"),
]


@pytest.mark.parametrize("fields, field", NESTED, ids=[f for _, f in NESTED])
def test_bad_values_inside_card_fields_name_the_path(api, baseline, fields, field):
    refused(api.post("/api/papers", unique_card(**fields)), 400, field)
    refused(api.post("/api/papers", {"papers": [unique_card(**fields)]}), 400, f"papers[0].{field}")


def test_missing_or_empty_title_is_400(api, baseline):
    card = unique_card()
    del card["title"]
    refused(api.post("/api/papers", card), 400, "title")
    for title in ("", "   ", "\n\t", None):
        refused(api.post("/api/papers", unique_card(title=title)), 400, "title")
    refused(api.post("/api/papers", {"papers": [unique_card(), card]}), 400, "papers[1].title")


@pytest.mark.parametrize("name", ["foo", "id", "notes", "read", "starred", "Title", "added_at",
                                  "sightings", "upvote", "__proto__"])
def test_unknown_card_field_is_400_naming_it(api, baseline, name):
    refused(api.post("/api/papers", unique_card(**{name: 1})), 400, name)
    refused(api.post("/api/papers", {"papers": [unique_card(**{name: 1})]}), 400,
            f"papers[0].{name}")


def test_unknown_batch_field_is_400(api, baseline):
    refused(api.post("/api/papers", {"papers": [unique_card()], "page": 2}), 400, "page")
    refused(api.post("/api/papers", {"papers": [unique_card()], "title": "x"}), 400, "title")


@pytest.mark.parametrize("field", ["upvotes", "comments", "github_stars", "authors_count"])
def test_negative_and_absurd_counts_are_400(api, baseline, field):
    refused(api.post("/api/papers", unique_card(**{field: -1})), 400, field)
    refused(api.post("/api/papers", unique_card(**{field: 10**30})), 400, field)


@pytest.mark.parametrize("field, size", [("title", MIB), ("title", 1001), ("abstract", MIB),
                                         ("authors", 5001), ("org_name", 10_000),
                                         ("hf_url", 5000), ("ai_summary", MIB)])
def test_absurdly_long_values_are_400(api, baseline, field, size):
    if field == "authors":
        value = [f"Author {i}" for i in range(size)]
    elif field == "hf_url":
        value = "https://huggingface.co/papers/" + "x" * size
    else:
        value = "x" * size
    refused(api.post("/api/papers", unique_card(**{field: value})), 400, field)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x08", "\x1b", "\x7f", "\x0b", "\x0c"])
def test_control_characters_are_400(api, baseline, char):
    refused(api.post("/api/papers", unique_card(title=f"a{char}b")), 400, "title")
    refused(api.post("/api/papers", unique_card(abstract=f"a{char}b")), 400, "abstract")
    refused(api.post("/api/papers", unique_card(authors=["Ada", f"A{char}"])), 400, "authors[1]")
    refused(api.post("/api/papers", unique_card(tags=[f"t{char}"])), 400, "tags[0]")
    refused(api.patch(f"/api/papers/{baseline['a']}", {"notes": f"n{char}"}), 400, "notes")
    refused(api.post(f"/api/papers/{baseline['a']}/tags", {"add": [f"t{char}"]}), 400, "add[0]")


@pytest.mark.parametrize("value", ["2026-02-30", "20260101", "2025-02-29", "2026-13-01",
                                   "2026-00-10", "2026-1-1", "26-01-01", "yesterday",
                                   "2026-01-01T00:00:00Z", "0001-01-01", "9999-12-31",
                                   "２０２６-01-01"])
def test_invalid_dates_are_400(api, baseline, value):
    refused(api.post("/api/papers", unique_card(published=value)), 400, "published")
    refused(api.patch(f"/api/papers/{baseline['a']}", {"published": value}), 400, "published")


# ----------------------------------------------------------------------------- batches
def test_a_batch_of_1001_cards_is_400_and_stores_nothing(api, baseline):
    cards = [unique_card() for _ in range(1001)]
    refused(api.post("/api/papers", {"papers": cards}), 400, "papers")
    looked = api.ok("POST", "/api/papers/lookup",
                    {"arxiv_ids": [c["arxiv_id"] for c in cards[:1000]]})
    assert looked == {"papers": {}}


def test_an_empty_batch_or_a_batch_that_is_not_a_list_is_400(api, baseline):
    refused(api.post("/api/papers", {"papers": []}), 400, "papers")
    refused(api.post("/api/papers", {"papers": {"0": unique_card()}}), 400, "papers")
    refused(api.post("/api/papers", {"papers": None}), 400, "papers")
    refused(api.post("/api/papers", {"papers": [unique_card(), 5]}), 400, "papers[1]")


@pytest.mark.parametrize("position", [0, 30, 46])
def test_one_bad_card_fails_the_whole_batch(api, baseline, position):
    """A real page's 47 cards, one broken: 400 naming papers[i].field, nothing stored."""
    cards = [dict(c) for c in fixture_page(1)["records"]]
    already = set(api.ok("POST", "/api/papers/lookup",
                         {"arxiv_ids": [c["arxiv_id"] for c in cards]})["papers"])
    before = api.status()["papers"]
    cards[position]["upvotes"] = "12"
    body = {"papers": cards, "source": {"url": "https://huggingface.co/papers?q=x",
                                        "view": "search"}}
    answer = refused(api.post("/api/papers", body), 400, f"papers[{position}].upvotes")
    assert f"papers[{position}].upvotes" in answer["error"]
    assert api.status()["papers"] == before
    looked = api.ok("POST", "/api/papers/lookup", {"arxiv_ids": [c["arxiv_id"] for c in cards]})
    assert set(looked["papers"]) == already  # nothing new, nothing merged into
    for arxiv_id in already:
        paper = api.paper(looked["papers"][arxiv_id]["id"])
        assert [s["url"] for s in paper["sightings"]] == [page_url(0)]


def test_a_bad_batch_source_fails_the_whole_batch(api, baseline):
    cards = [unique_card() for _ in range(3)]
    refused(api.post("/api/papers", {"papers": cards, "source": {"view": "nope"}}), 400,
            "source.view")
    refused(api.post("/api/papers", {"papers": cards, "source": "daily"}), 400, "source")
    looked = api.ok("POST", "/api/papers/lookup", {"arxiv_ids": [c["arxiv_id"] for c in cards]})
    assert looked == {"papers": {}}


# ----------------------------------------------------------------------------- query strings
@pytest.mark.parametrize("params, field", [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"limit": "1.5"}, "limit"), ({"limit": "1e3"}, "limit"),
    ({"limit": "9" * 40}, "limit"), ({"offset": "-1"}, "offset"), ({"offset": "x"}, "offset"),
    ({"sort": "bogus"}, "sort"), ({"sort": "TITLE"}, "sort"), ({"order": "up"}, "order"),
    ({"read": "maybe"}, "read"), ({"starred": "2"}, "starred"), ({"trash": "x"}, "trash"),
    ({"q": "x" * 501}, "q"), ({"tag": "t" * 201}, "tag"), ({"ids": "a,b"}, "ids"),
    ({"ids": "0"}, "ids"), ({"ids": "-4"}, "ids"),
])
def test_bad_list_query_params_are_400(api, baseline, params, field):
    refused(api.get("/api/papers", params=params), 400, field)


@pytest.mark.parametrize("params, field", [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"),
                                           ({"prefix": "p" * 201}, "prefix")])
def test_bad_tag_list_query_params_are_400(api, baseline, params, field):
    refused(api.get("/api/tags", params=params), 400, field)


@pytest.mark.parametrize("q", ["(((", "*", "\\", "!!!", "word " * 30, "%", "é", "🙂", "a:b",
                               "title:x", "' OR 1=1 --", "\u202e"])
def test_odd_search_text_is_just_text(api, baseline, q):
    response = api.get("/api/papers", params={"q": q})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert set(response.json()) == {"papers", "total"}
    else:
        refused(response, 400, "q")


# ----------------------------------------------------------------------------- ids
@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "1.5", "1e3", "%20", "9" * 30, "0x10"])
def test_bad_paper_ids_in_paths_are_4xx_json(api, baseline, bad_id):
    for method, path, body in [("GET", f"/api/papers/{bad_id}", None),
                               ("PATCH", f"/api/papers/{bad_id}", {"read": True}),
                               ("DELETE", f"/api/papers/{bad_id}", None),
                               ("POST", f"/api/papers/{bad_id}/restore", None),
                               ("POST", f"/api/papers/{bad_id}/tags", {"add": ["x"]})]:
        response = api.request(method, path, json_body=body)
        body_json = assert_error(response, response.status_code)
        assert response.status_code in (400, 404, 405), (method, path, response.status_code)
        if bad_id == "0":
            assert response.status_code == 400 and body_json["field"] == "id"


def test_unknown_paper_id_is_404(api, baseline):
    for method, path, body in [("GET", "/api/papers/999999", None),
                               ("PATCH", "/api/papers/999999", {"read": True}),
                               ("DELETE", "/api/papers/999999", None),
                               ("POST", "/api/papers/999999/restore", None),
                               ("POST", "/api/papers/999999/tags", {"add": ["x"]}),
                               ("POST", "/api/papers/bulk", {"ids": [baseline["a"], 999999],
                                                             "action": "star"}),
                               ("POST", "/api/duplicates/merge", {"keep": baseline["a"],
                                                                  "other": 999999}),
                               ("POST", "/api/duplicates/dismiss", {"a": 999999,
                                                                    "b": baseline["a"]})]:
        refused(api.request(method, path, json_body=body), 404)
    assert api.paper(baseline["a"])["starred"] is False  # the bulk did not half-apply


@pytest.mark.parametrize("ids, field", [
    ([], "ids"), ([0], "ids[0]"), ([-3], "ids[0]"), ([1, True], "ids[1]"), (["1"], "ids[0]"),
    ([1.0], "ids[0]"), ([None], "ids[0]"), ("1,2", "ids"), (None, "ids"), ({"1": 1}, "ids")])
def test_bad_bulk_ids_are_400(api, baseline, ids, field):
    refused(api.post("/api/papers/bulk", {"ids": ids, "action": "star"}), 400, field)


@pytest.mark.parametrize("body, field", [
    ({"keep": 0, "other": 2}, "keep"), ({"keep": -1, "other": 2}, "keep"),
    ({"keep": "1", "other": 2}, "keep"), ({"keep": 1, "other": True}, "other"),
    ({"keep": 1.0, "other": 2}, "keep"), ({"keep": 1}, "other"), ({"other": 1}, "keep"),
])
def test_bad_merge_ids_are_400(api, baseline, body, field):
    refused(api.post("/api/duplicates/merge", body), 400, field)


@pytest.mark.parametrize("body, field", [({"a": 0, "b": 2}, "a"), ({"a": 1, "b": -2}, "b"),
                                         ({"a": "1", "b": 2}, "a"), ({"a": 1}, "b")])
def test_bad_dismiss_ids_are_400(api, baseline, body, field):
    refused(api.post("/api/duplicates/dismiss", body), 400, field)


# ----------------------------------------------------------------------------- other bodies
@pytest.mark.parametrize("body, field", [
    ({}, None), ({"read": "yes"}, "read"), ({"read": 1}, "read"), ({"starred": None}, "starred"),
    ({"tags": "ml"}, "tags"), ({"tags": [1]}, "tags[0]"), ({"tags": ["a,b"]}, "tags[0]"),
    ({"notes": 5}, "notes"), ({"notes": "x" * 200_001}, "notes"), ({"title": None}, "title"),
    ({"title": ""}, "title"), ({"title": "x" * 1001}, "title"), ({"upvotes": -5}, "upvotes"),
    ({"published": "2026-02-30"}, "published"), ({"authors": "Ada"}, "authors"),
    ({"id": 7}, "id"), ({"added_at": "2020-01-01T00:00:00Z"}, "added_at"),
    ({"sightings": []}, "sightings"), ({"deleted_at": None}, "deleted_at"),
    ({"bogus": 1}, "bogus"), ({"read": True, "bogus": 1}, "bogus"),
    ({"citation_key": "has space"}, "citation_key"), ({"citation_key": ""}, "citation_key"),
    ({"year": "2020"}, "year"), ({"year": 1700}, "year"),
])
def test_bad_patch_bodies_are_400_and_change_nothing(api, baseline, body, field):
    before = api.paper(baseline["a"])
    refused(api.patch(f"/api/papers/{baseline['a']}", body), 400, field)
    assert api.paper(baseline["a"]) == before


@pytest.mark.parametrize("body, field", [
    ({}, "add"), ({"add": [], "remove": []}, "add"), ({"add": "x"}, "add"),
    ({"add": [1]}, "add[0]"), ({"add": ["ok", ""]}, "add[1]"), ({"remove": [None]}, "remove[0]"),
    ({"add": ["a//b"]}, "add[0]"), ({"add": ["x" * 101]}, "add[0]"), ({"add": ["x"], "y": 1}, "y"),
])
def test_bad_tag_change_bodies_are_400(api, baseline, body, field):
    refused(api.post(f"/api/papers/{baseline['a']}/tags", body), 400, field)


@pytest.mark.parametrize("body, field", [
    ({"ids": [1], "action": "explode"}, "action"), ({"ids": [1], "action": 5}, "action"),
    ({"ids": [1]}, "action"), ({"action": "read"}, "ids"), ({"ids": [1], "action": "tag"}, "tags"),
    ({"ids": [1], "action": "untag", "tags": []}, "tags"),
    ({"ids": [1], "action": "tag", "tags": "x"}, "tags"),
    ({"ids": [1], "action": "tag", "tags": [""]}, "tags[0]"),
    ({"ids": [1], "action": "read", "extra": 1}, "extra"),
])
def test_bad_bulk_bodies_are_400(api, baseline, body, field):
    body = {**body, "ids": [baseline["a"]]} if "ids" in body else body
    refused(api.post("/api/papers/bulk", body), 400, field)


@pytest.mark.parametrize("body, field", [
    ({"arxiv_ids": "2401.00001"}, "arxiv_ids"), ({"arxiv_ids": [1]}, "arxiv_ids[0]"),
    ({"arxiv_ids": ["ok", "bad id"]}, "arxiv_ids[0]"), ({}, "arxiv_ids"),
    ({"arxiv_ids": ["2401.00001"] * 2001}, "arxiv_ids"), ({"arxiv_ids": [], "x": 1}, "x"),
    ({"arxiv_ids": None}, "arxiv_ids"),
])
def test_bad_lookup_bodies_are_400(api, baseline, body, field):
    refused(api.post("/api/papers/lookup", body), 400, field)


@pytest.mark.parametrize("body, field", [
    ({"from": "alpha"}, "to"), ({"to": "x"}, "from"), ({"from": "alpha", "to": "x", "y": 1}, "y"),
])
def test_bad_tag_rename_bodies_are_400(api, baseline, body, field):
    refused(api.post("/api/tags/rename", body), 400, field)


@pytest.mark.parametrize("body, field", [
    ({"from": 5, "to": "x"}, "from"), ({"from": "", "to": "x"}, "from"),
    ({"from": "alpha", "to": ""}, "to"), ({"from": "alpha", "to": "a,b"}, "to"),
    ({"from": "alpha", "to": ["x"]}, "to"),
])
def test_bad_tag_names_in_rename_name_the_field(api, baseline, body, field):
    refused(api.post("/api/tags/rename", body), 400, field)


def test_bad_tag_name_in_delete_names_the_field(api, baseline):
    refused(api.delete("/api/tags/a%2Cb"), 400, "name")


def test_bad_tag_names_in_rename_and_delete_are_400(api, baseline):
    for body in ({"from": 5, "to": "x"}, {"from": "", "to": "x"}, {"from": "alpha", "to": ""},
                 {"from": "alpha", "to": "a,b"}, {"from": "alpha", "to": ["x"]},
                 {"from": "alpha", "to": "x" * 101}):
        refused(api.post("/api/tags/rename", body), 400)
    for name in ("%20", "a%2Cb", "a%00b", "x" * 101):
        refused(api.delete(f"/api/tags/{name}"), 400)
    refused(api.post("/api/tags/rename", {"from": "no-such-tag", "to": "x"}), 404)
    refused(api.delete("/api/tags/no-such-tag"), 404)


@pytest.mark.parametrize("fields, field", [
    ("other", "fields"), (["title"], "fields"), ({"title": "both"}, "fields.title"),
    ({"tags": "other"}, "fields.tags"), ({"notes": "other"}, "fields.notes"),
    ({"bogus": "keep"}, "fields.bogus"), ({"title": 1}, "fields.title"),
])
def test_bad_merge_field_choices_are_400_and_merge_nothing(api, baseline, fields, field):
    body = {"keep": baseline["a"], "other": baseline["b"], "fields": fields}
    refused(api.post("/api/duplicates/merge", body), 400, field)
    assert api.paper(baseline["b"])["deleted_at"] is None


def test_a_falsy_but_wrong_merge_fields_value_is_400(api, baseline):
    for fields in ([], "", 0, False):
        a = api.save(unique_card(tags=[SCRATCH]))["results"][0]["paper"]["id"]
        b = api.save(unique_card(tags=[SCRATCH]))["results"][0]["paper"]["id"]
        refused(api.post("/api/duplicates/merge",
                         {"keep": a, "other": b, "fields": fields}), 400, "fields")
        assert api.paper(b)["id"] == b


def test_merging_or_dismissing_a_paper_with_itself_is_400(api, baseline):
    a = baseline["a"]
    refused(api.post("/api/duplicates/merge", {"keep": a, "other": a}), 400, "other")
    refused(api.post("/api/duplicates/dismiss", {"a": a, "b": a}), 400, "b")


@pytest.mark.parametrize("body, field", [
    ({}, "client"), ({"client": ""}, "client"), ({"client": "   "}, "client"),
    ({"client": 5}, "client"), ({"client": None}, "client"), ({"client": "x" * 101}, "client"),
    ({"client": "ok", "token": "mine"}, "token"),
])
def test_bad_pair_requests_are_400(server, baseline, body, field):
    anonymous = Api(server, None)
    refused(anonymous.post("/api/pair/requests", body), 400, field)


def test_unknown_undo_and_pairing_ids_are_404(api, baseline):
    for undo_id in ("abc", "999999", "-1", "1.5", "0", "9" * 40):
        refused(api.post(f"/api/undo/{undo_id}"), 404)
    refused(api.post("/api/pair/requests/nope/approve"), 404)
    refused(api.post("/api/pair/requests/nope/deny"), 404)
    refused(api.post("/api/pair/requests/nope/maybe"), 404)
    refused(api.get("/api/pair/requests/nope", params={"poll_secret": "x" * 10_000}), 404)
    refused(api.delete("/api/clients/nope"), 404)
    refused(api.get("/api/no/such/endpoint"), 404)


# ----------------------------------------------------------------------------- found by fuzzing
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("method, path, raw, field", [
    ("POST", "/api/papers", '{"\\ud800": 1}', None),
    ("POST", "/api/papers", '{"title": "x", "\\udfff": 1}', None),
    ("POST", "/api/papers", '{"papers": [{"title": "x"}, {"title": "y", "\\ud800": 1}]}', "papers[1]"),
    ("POST", "/api/papers", '{"title": "t", "source": {"\\ud800": "x"}}', "source"),
    ("POST", "/api/papers/lookup", '{"arxiv_ids": [], "\\udfff": 1}', None),
    ("POST", "/api/duplicates/merge", '{"keep": 1, "other": 2, "fields": {"\\ud800": "other"}}',
     "fields"),
    ("POST", "/api/import", '{"bibtex": "@misc{k\\ud800, title={T}}"}', "bibtex"),
    ("POST", "/api/auto-exports", '{"path": "/tmp/\\ud800.bib"}', "path"),
    ("POST", "/api/pair/requests", '{"client": "a\\ud800"}', "client"),
])
def test_a_lone_surrogate_anywhere_in_a_body_is_400(server, api, baseline, method, path, raw, field):
    """Field names and values that UTF-8 cannot encode were answered 500 (the error answer
    itself could not be encoded); a pairing request with one broke the pairing list."""
    client = api if path != "/api/pair/requests" else Api(server, None)
    refused(client.request(method, path, raw=raw, headers=JSON), 400, field)
    assert api.ok("GET", "/api/pair/requests")["requests"] == []


def test_a_pairing_client_name_with_control_characters_is_400(server, baseline):
    refused(Api(server, None).post("/api/pair/requests", {"client": "Chrome\u0007"}), 400, "client")


@pytest.mark.parametrize("path", ["~no-such-user-papershelf/refs.bib", "/tmp/" + "x" * 300 + ".bib",
                                  "/tmp/a\x00.bib", "/tmp/a\x07.bib"])
def test_unusable_auto_export_paths_are_400(api, baseline, path):
    refused(api.post("/api/auto-exports", {"path": path}), 400, "path")


@pytest.mark.parametrize("card, field", [
    ({"title": "\u200b"}, "title"), ({"title": "\u200e \ufeff"}, "title"),
    ({"title": "\ue000"}, "title"), ({"title": "t", "authors": ["Ada", "\u200b"]}, "authors[1]"),
    ({"title": "t", "tags": ["ml/\u200b"]}, "tags[0]"), ({"title": "t", "tags": ["a\x85b"]}, "tags[0]"),
    ({"title": "t", "arxiv_id": "\u0662\u0664\u0660\u0661.\u0660\u0661\u0662\u0663\u0664"},
     "arxiv_id"),
    ({"title": "t", "source": {"view": 0}}, "source.view"),
    ({"title": "t", "source": {"view": ["daily"]}}, "source.view"),
])
def test_invisible_text_foreign_digits_and_odd_views_are_400(api, baseline, card, field):
    """Found by tests/fuzz: an invisible title or tag level (BibTeX export drops it, so the
    paper could not be imported back), a C1 control character in a tag, an arXiv id in
    Arabic-Indic digits, a source view that is not a string."""
    refused(api.post("/api/papers", card), 400, field)


# ----------------------------------------------------------------------------- afterwards
def test_zz_server_is_alive_and_the_library_is_intact(server, api, baseline):
    """Runs last in this module: after all the bad input the library is as it was."""
    assert server.proc is not None and server.proc.poll() is None
    assert api.get("/api/ping").json()["app"] == "papershelf"
    assert snapshot(api) == baseline["snapshot"]
    assert api.status()["warnings"] == []
    # Nothing half-written reached the disk either: a restart loads the same library.
    server.stop()
    server.start()
    assert api.status()["data_dir"] == str(server.data_dir)
    assert api.status()["warnings"] == []
    assert snapshot(api) == baseline["snapshot"]
    # And it still takes good input.
    assert api.save(unique_card())["created"] == 1
