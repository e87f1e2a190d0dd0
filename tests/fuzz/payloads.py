"""Hypothesis strategies for JSON as a server decodes it: any value, floats JSON cannot
write, huge integers, lone surrogates (a "\\ud800" escape decodes to one), keys that are
known field names or garbage."""

from __future__ import annotations

from hypothesis import strategies as st

from papershelf import records

from .text import TRICKY, texts

LONE_SURROGATES = ["\ud800", "a\udfffb", "\udc80", "x\udbff"]

any_text = st.one_of(st.text(max_size=8), st.sampled_from(TRICKY), texts(max_pieces=4),
                     st.sampled_from(LONE_SURROGATES))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                    st.floats(), any_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=16)

FIELD_NAMES = sorted(records.METADATA_FIELDS) + [
    "tags", "source", "notes", "read", "starred", "citation_key", "id", "papers", "added_at",
    "arxiv_ids", "ids", "action", "add", "remove", "from", "to", "keep", "other", "fields",
    "a", "b", "client", "bibtex", "path", "tag"]
PLAUSIBLE = st.sampled_from([
    "2401.00001", "2401.00001v3", "arXiv:2401.00001", "hep-th/9802150", "٢٤٠١.٠١٢٣٤",
    "A title", "  padded   title ", "https://x.org/a", "ftp://x.org", "2024-01-02",
    "2024-02-30", "1799-01-01", 0, 1, 3, -1, 10**9 + 1, 1800, 2.5, ["A B"], ["A B", "C D"],
    [""], ["t", "ml/diffusion"], ["a,b"], [1, 2], [1, True], {"url": "https://x.org", "view": "daily"},
    {"view": 0}, {"view": None}, {"editor": "E"}, {"title": "other"}, "tag", "star", "delete",
    "@misc{k, title={T}}", "/x.bib", "~/x.bib", "~nobody-here/x.bib", None, "", True])
field_names = st.sampled_from(FIELD_NAMES)
cards = st.dictionaries(field_names | field_names | any_text,
                        PLAUSIBLE | texts(max_pieces=6) | json_values, max_size=10)
bodies = st.one_of(
    json_values, cards,
    st.fixed_dictionaries({"papers": st.lists(cards | json_values, max_size=4)},
                          optional={"source": PLAUSIBLE | json_values}))
