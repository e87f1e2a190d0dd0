"""The oracle of the crash and concurrency tests finds what it is meant to find: fed a
library with a lost save, a resurrected tag, a half merge, a duplicate record or sighting,
it counts them; uncertain outcomes are accepted either way."""

import reliability_harness as h
from reliability_harness import ABSENT, ACKED, MAYBE, PRESENT, REFUSED, Model, Pair


def paper(doc_id, arxiv, **fields):
    out = {"id": doc_id, "arxiv_id": arxiv, **h.card_fields(arxiv), "tags": [], "notes": "",
           "read": False, "starred": False, "added_at": "2026-01-01T00:00:00Z",
           "updated_at": "2026-01-01T00:00:00Z", "rev": 1, "sightings": [], "key_aliases": [],
           "citation_key": None, "deleted_at": None}
    out.update(fields)
    return out


def model_with(saves):
    model = Model()
    for arxiv, outcome, page in saves:
        model.saved_cards([{"arxiv_id": arxiv}], page, outcome, None)
    return model


def test_a_library_that_holds_what_was_acknowledged_is_clean():
    model = model_with([("2503.00001", ACKED, h.PAGES[0]), ("2503.00002", MAYBE, h.PAGES[1])])
    model.tag_op(0, ("arxiv", "2503.00001"), "c0/t1", PRESENT, ACKED)
    model.tag_op(0, ("arxiv", "2503.00001"), "c0/t2", PRESENT, MAYBE)
    papers = {1: paper(1, "2503.00001", tags=["c0/t1"],
                       sightings=[{"url": h.PAGES[0], "view": "daily", "seen_at": "2026-01-01T00:00:00Z"}])}
    result = h.Result("", "")
    model.check(papers, result)
    assert result.clean, result.summary()


def test_lost_and_corrupted_changes_are_counted():
    model = model_with([("2503.00001", ACKED, h.PAGES[0]), ("2503.00002", ACKED, h.PAGES[0]),
                        ("2503.00003", ACKED, h.PAGES[0]), ("2504.00001", ACKED, h.PAIR_PAGE),
                        ("2504.00002", ACKED, h.PAIR_PAGE)])
    model.tag_op(0, ("arxiv", "2503.00001"), "c0/t1", PRESENT, ACKED)   # lost below
    model.tag_op(1, ("arxiv", "2503.00001"), "c1/t1", PRESENT, REFUSED)  # yet present
    model.tag_op(2, ("arxiv", "2503.00001"), "c2/t1", PRESENT, ACKED)
    model.tag_op(2, ("arxiv", "2503.00001"), "c2/t1", ABSENT, ACKED)     # removed, yet present
    pair = Pair(keep=10, other=11, keep_arxiv="2504.00001", other_arxiv="2504.00002")
    model.new_pair(pair)
    model.merged(pair, ACKED)
    seen = {"url": h.PAGES[0], "view": "daily", "seen_at": "2026-01-01T00:00:00Z"}
    papers = {
        1: paper(1, "2503.00001", tags=["c1/t1", "C2/T1"], sightings=[seen]),
        2: paper(2, "2503.00002", sightings=[seen, dict(seen)]),            # duplicate sighting
        4: paper(4, "2503.00002", sightings=[seen]),                        # duplicate record
        10: paper(10, "2504.00001", merged_from=[11]),                      # merge half applied:
        11: paper(11, "2504.00002"),                                        # other still there
        12: paper(12, "2503.00009", title="not saved by anyone"),           # phantom
    }                                                                       # 2503.00003: lost
    result = h.Result("", "")
    model.check(papers, result)
    text = "\n".join(result.details)
    assert result.lost >= 2, text             # 2503.00003, tag c0/t1
    assert "acknowledged save of 2503.00003 is missing" in text
    assert "acknowledged tag 'c0/t1'" in text
    assert "'c1/t1'" in text and "'c2/t1'" in text
    assert "2 sightings of" in text
    assert "is held by 2 records" in text
    assert "half applied" in text
    assert "never saved by a client" in text
    assert not result.clean
