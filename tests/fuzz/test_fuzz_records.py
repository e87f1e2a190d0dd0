"""Input validation on arbitrary JSON: it refuses with ValidationError (naming a field the
answer can carry) and nothing else, and what it accepts is clean and stays the same when
cleaned again."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import example, given

from papershelf import records

from .fuzzing import TALLY, fuzz_settings
from .payloads import PLAUSIBLE, bodies, json_values
from .text import visible


def refused_properly(clean, *args):
    """Run a cleaner as the API does (after ``check_unicode`` on the whole body); a refusal
    must be a ValidationError an HTTP answer can carry."""
    try:
        records.check_unicode(args[0])
        return clean(*args), None
    except records.ValidationError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert exc.field is None or isinstance(exc.field, str)
        json.dumps({"error": str(exc), "field": exc.field}, ensure_ascii=False).encode("utf-8")
        return None, exc


def assert_clean_text(value, path="") -> None:
    """Accepted text is valid Unicode in NFC without control characters."""
    if isinstance(value, str):
        value.encode("utf-8")
        assert unicodedata.is_normalized("NFC", value), (path, value)
        assert not any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in value), path
    elif isinstance(value, dict):
        for key, sub in value.items():
            assert_clean_text(key, path)
            assert_clean_text(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            assert_clean_text(sub, f"{path}[{i}]")


@fuzz_settings(120, 3_000)
@given(body=bodies)
@example(body={"title": "\u200b"})  # an invisible title was taken (and lost in BibTeX)
@example(body={"title": "t", "arxiv_id": "٢٤٠١.٠١٢٣٤"})  # so were Arabic-Indic digits
@example(body={"title": "t", "source": {"view": 0}})  # and a view of 0, as "other"
def test_cleaning_a_batch_accepts_clean_cards_or_raises_validation_error(body):
    with TALLY.example("records.clean_batch"):
        out, _ = refused_properly(records.clean_batch, body)
        if out is None:
            return
        cards_out, source = out
        assert cards_out and len(cards_out) <= records.MAX_BATCH
        for card in cards_out:
            json.dumps(card, allow_nan=False)
            assert_clean_text(card)
            assert visible(card["title"]) and len(card["title"]) <= records.MAX_TITLE
            assert all(visible(name) for name in card.get("authors") or [])
            if card.get("arxiv_id"):
                assert card["arxiv_id"].isascii() and "v" not in card["arxiv_id"].split(".")[-1]
            assert records.clean_card(card) == card  # cleaning is idempotent
        assert source is None or source["view"] in records.VIEWS
        for card in cards_out:
            assert card["source"] is None or card["source"]["view"] in records.VIEWS


@fuzz_settings(100, 3_000)
@given(body=bodies)
def test_cleaning_a_patch_accepts_clean_changes_or_raises_validation_error(body):
    with TALLY.example("records.clean_patch"):
        out, _ = refused_properly(records.clean_patch, body)
        if out is not None:
            assert out and set(out) <= set(records.METADATA_FIELDS) | records.USER_FIELDS
            json.dumps(out, allow_nan=False)
            assert_clean_text(out)


@fuzz_settings(100, 3_000)
@given(value=json_values | PLAUSIBLE)
@example(value=["a\x85b", "ml/\u200b"])  # a C1 control, an invisible level
@example(value="٢٤٠١.٠١٢٣٤")
def test_small_cleaners_raise_only_validation_errors(value):
    with TALLY.example("records.cleaners"):
        ids, _ = refused_properly(records.clean_ids, value)
        if ids is not None:
            assert ids and all(type(i) is int and i > 0 for i in ids)
            assert len(set(ids)) == len(ids)
        tags, _ = refused_properly(records.clean_tags, value)
        if tags is not None:
            assert_clean_text(tags)
            assert len({t.casefold() for t in tags}) == len(tags)
            for tag in tags:
                assert 0 < len(tag) <= 100 and "," not in tag
                assert all(visible(level) and level == level.strip() for level in tag.split("/"))
                assert not any("\x80" <= ch <= "\x9f" for ch in tag)
        tag, _ = refused_properly(records.clean_tag, value, "tag")
        if tag is not None:
            assert records.clean_tag(tag, "tag") == tag
        arxiv, _ = refused_properly(records.arxiv_id, value)
        if arxiv is not None:
            assert arxiv.isascii()
            assert records.ARXIV_NEW.match(arxiv) or records.ARXIV_OLD.match(arxiv)
            assert records.arxiv_id(arxiv) == arxiv
